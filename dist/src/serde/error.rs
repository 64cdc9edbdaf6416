//! The error of the serde mapping, both directions.

use std::fmt;

use crate::etf::{DecodeError, EncodeError};

/// Why a Rust value did not become a term, or a term a Rust value.
///
/// ```
/// use bream_dist::{from_term, to_term, Term};
/// assert!(to_term(&f64::NAN).is_err()); // Erlang has no NaN
/// let err = from_term::<u8>(&Term::from(300)).unwrap_err();
/// assert!(err.to_string().contains("300"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A message from serde or from the mapping (a type mismatch, an unknown
    /// variant, a value Erlang cannot hold).
    Message(String),
    /// The term could not be written as ETF.
    Encode(EncodeError),
    /// The bytes were not a valid external term.
    Decode(DecodeError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Message(m) => f.write_str(m),
            Error::Encode(e) => write!(f, "{e}"),
            Error::Decode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Message(_) => None,
            Error::Encode(e) => Some(e),
            Error::Decode(e) => Some(e),
        }
    }
}

impl ::serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Message(msg.to_string())
    }
}

impl ::serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Message(msg.to_string())
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}
