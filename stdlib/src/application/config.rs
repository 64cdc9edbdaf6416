//! Configuration values: where `get_env` finds them, and the config file.
//!
//! OTP reads an application's parameters from its `.app` file (the defaults),
//! then a `sys.config` file given with `erl -config`, then `erl -App Par Val`
//! on the command line, each overriding the one before; `application:set_env`
//! overrides them all at run time. bream keeps that order, with values as
//! strings (parse them with `str::parse`):
//!
//! 1. the program's defaults, [`Application::default_env`](super::Application::default_env);
//! 2. a config file: [`load_config`](super::load_config), or the file named by
//!    the environment variable `BREAM_CONFIG`, read when the application
//!    controller starts;
//! 3. an environment variable `BREAM_<APP>__<KEY>` (the application's name and
//!    the key upper-cased, every character other than a letter or digit
//!    written `_`): `BREAM_WEB__PORT=8080` sets `web`'s `port`;
//! 4. [`set_env`](super::set_env).
//!
//! # The file format
//!
//! INI-like, a small subset of TOML: a `[section]` per application, then
//! `key = value` lines. A value is the rest of the line, trimmed; one pair of
//! surrounding double quotes is removed (so `"  padded "` keeps its spaces).
//! Lines starting with `#` or `;` are comments, blank lines are skipped.
//! Anything else is an error that names its line.
//!
//! ```text
//! # bream.conf
//! [web]
//! port = 8080
//! greeting = "hello, world"
//!
//! [db]
//! pool_size = 10
//! ```

use std::collections::HashMap;
use std::fmt;

/// Configuration values by (application, key).
pub(crate) type Values = HashMap<(String, String), String>;

/// Why a config file was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read: its path and the OS's message.
    Io {
        /// The file's path.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// A line is not a comment, a `[section]` or a `key = value`.
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            ConfigError::Syntax { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Parse a config file's text.
pub(crate) fn parse(text: &str) -> Result<Values, ConfigError> {
    let mut values = Values::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let error = |message: &str| ConfigError::Syntax {
            line: i + 1,
            message: message.to_owned(),
        };
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| error("a section header needs a closing ]"))?
                .trim();
            if name.is_empty() {
                return Err(error("an empty section name"));
            }
            section = Some(name.to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| error("expected `key = value`, `[section]` or a # comment"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(error("an empty key"));
        }
        let app = section
            .clone()
            .ok_or_else(|| error("a key before any [section]"))?;
        values.insert((app, key.to_owned()), unquote(value.trim()).to_owned());
    }
    Ok(values)
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Read and parse the config file at `path`.
pub(crate) fn read(path: &str) -> Result<Values, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    parse(&text)
}

/// The environment variable that overrides `app`'s `key`.
pub fn env_var_name(app: &str, key: &str) -> String {
    let upper = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("BREAM_{}__{}", upper(app), upper(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(v: &'a Values, app: &str, key: &str) -> Option<&'a str> {
        v.get(&(app.to_owned(), key.to_owned())).map(String::as_str)
    }

    #[test]
    fn sections_keys_comments_and_quotes() {
        let v = parse(
            "# top\n\n[web]\nport = 8080\n; note\ngreeting = \"  hi = there \"\n[db]\n  pool_size=3  \n",
        )
        .unwrap();
        assert_eq!(get(&v, "web", "port"), Some("8080"));
        assert_eq!(get(&v, "web", "greeting"), Some("  hi = there "));
        assert_eq!(get(&v, "db", "pool_size"), Some("3"));
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("[a]\nx = 1\nnonsense\n").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { line: 3, .. }), "{e:?}");
        assert!(matches!(
            parse("k = v").unwrap_err(),
            ConfigError::Syntax { line: 1, .. }
        ));
        assert!(parse("[open\n").is_err());
        assert!(parse("[]\n").is_err());
        assert!(parse("[a]\n = v\n").is_err());
    }

    #[test]
    fn env_var_names_are_upper_case_with_a_double_underscore() {
        assert_eq!(env_var_name("web", "port"), "BREAM_WEB__PORT");
        assert_eq!(
            env_var_name("my-app", "max.conns"),
            "BREAM_MY_APP__MAX_CONNS"
        );
    }
}
