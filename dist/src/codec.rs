//! Which Rust types cross the wire: a registry of encoders and decoders by
//! `TypeId` (ADR dist-0001, point 5).
//!
//! `bream::send<T: Send + 'static>` has no serde bound, so a message to a
//! remote pid arrives here as `Box<dyn Any>`. A type opts in once with
//! [`register`] (any serde type); [`Term`] and the common primitives are
//! registered from the start, and `bream::Pid` maps to an Erlang pid. A send of
//! a type nobody registered is logged as an error at the send, naming the type
//! and the fix — never lost silently.
//!
//! Receiving is the same table read backwards: a `receive!` arm of type `T`
//! asks for `T`'s decoder, and `Term` takes any term.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::Node;
use crate::Term;

type Encode = fn(&dyn Any, &Node) -> Result<Term, String>;
type Decode = fn(&Term, &Node) -> Option<Box<dyn Any + Send>>;

#[derive(Clone, Copy)]
struct Codec {
    encode: Encode,
    decode: Decode,
}

fn registry() -> &'static RwLock<HashMap<TypeId, Codec>> {
    static R: OnceLock<RwLock<HashMap<TypeId, Codec>>> = OnceLock::new();
    R.get_or_init(|| {
        let mut m = HashMap::new();
        builtins(&mut m);
        RwLock::new(m)
    })
}

fn enc_serde<T: Serialize + 'static>(v: &dyn Any, _: &Node) -> Result<Term, String> {
    let v = v.downcast_ref::<T>().ok_or("type mismatch")?;
    crate::to_term(v).map_err(|e| e.to_string())
}

fn dec_serde<T: DeserializeOwned + Send + 'static>(
    t: &Term,
    _: &Node,
) -> Option<Box<dyn Any + Send>> {
    crate::from_term::<T>(t)
        .ok()
        .map(|v| Box::new(v) as Box<dyn Any + Send>)
}

fn serde_codec<T: Serialize + DeserializeOwned + Send + 'static>() -> Codec {
    Codec {
        encode: enc_serde::<T>,
        decode: dec_serde::<T>,
    }
}

fn builtins(m: &mut HashMap<TypeId, Codec>) {
    m.insert(
        TypeId::of::<Term>(),
        Codec {
            encode: |v, _| {
                v.downcast_ref::<Term>()
                    .cloned()
                    .ok_or_else(|| "type mismatch".into())
            },
            decode: |t, _| Some(Box::new(t.clone())),
        },
    );
    m.insert(
        TypeId::of::<bream::Pid>(),
        Codec {
            encode: |v, n| {
                let p = v.downcast_ref::<bream::Pid>().ok_or("type mismatch")?;
                n.pid_to_term(*p)
                    .ok_or_else(|| format!("{p} names a node that is gone"))
            },
            decode: |t, n| match t {
                Term::Pid(p) => Some(Box::new(n.pid_from_external(p))),
                _ => None,
            },
        },
    );
    m.insert(
        TypeId::of::<&'static str>(),
        Codec {
            encode: |v, _| {
                let s = v.downcast_ref::<&'static str>().ok_or("type mismatch")?;
                crate::to_term(*s).map_err(|e| e.to_string())
            },
            // A `&'static str` cannot be made from bytes that arrive.
            decode: |_, _| None,
        },
    );
    macro_rules! serde_types {
        ($($t:ty),*) => { $( m.insert(TypeId::of::<$t>(), serde_codec::<$t>()); )* };
    }
    serde_types!(
        (),
        bool,
        i8,
        i16,
        i32,
        i64,
        u8,
        u16,
        u32,
        u64,
        f32,
        f64,
        String,
        Vec<String>,
        Vec<i64>,
        Vec<u8>,
        (String, i64),
        (i64, i64)
    );
}

/// Lets values of `T` cross nodes: sent to a remote pid they are encoded with
/// serde to natural Erlang terms (docs/terms.md), and a `receive!` arm of type
/// `T` matches a remote message that decodes as a `T`. Idempotent; call it
/// once at start, before the first send.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Point { x: i64, y: i64 }
/// bream_dist::register::<Point>();
/// ```
pub fn register<T: Serialize + DeserializeOwned + Send + 'static>() {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(TypeId::of::<T>(), serde_codec::<T>());
}

fn get(t: TypeId) -> Option<Codec> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&t)
        .copied()
}

/// Encodes a message given as `dyn Any`; the error says what went wrong.
pub(crate) fn encode(v: &dyn Any, type_name: &str, node: &Node) -> Result<Term, String> {
    match get(v.type_id()) {
        Some(c) => (c.encode)(v, node),
        None => Err(format!(
            "the type {type_name} is not registered for distribution \
             (call bream_dist::register::<{type_name}>() at start, or send a bream_dist::Term)"
        )),
    }
}

/// Decodes `t` as the type `want`, if it is registered and `t` fits.
pub(crate) fn decode(t: &Term, want: TypeId, node: &Node) -> Option<Box<dyn Any + Send>> {
    (get(want)?.decode)(t, node)
}
