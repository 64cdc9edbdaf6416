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
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::Node;
use crate::Term;

/// Appends the value as a whole term (version byte first) to the buffer.
type Encode = fn(&dyn Any, &Node, &mut Vec<u8>) -> Result<(), String>;
type Decode = fn(&Term, &Node) -> Option<Box<dyn Any + Send>>;

#[derive(Clone, Copy)]
struct Codec {
    encode: Encode,
    decode: Decode,
}

/// A `TypeId` is a hash already: the table keys on its bits as they are
/// (SipHash over them was a few percent of a remote send). Small integer
/// keys (the connection table's node indexes) get an FNV-style mix. Not for
/// keys a peer chooses: nothing here resists collisions made on purpose.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

type Table = HashMap<TypeId, Codec, BuildHasherDefault<FastHasher>>;

fn registry() -> &'static RwLock<Table> {
    static R: OnceLock<RwLock<Table>> = OnceLock::new();
    R.get_or_init(|| {
        let mut m = Table::default();
        builtins(&mut m);
        RwLock::new(m)
    })
}

fn enc_serde<T: Serialize + 'static>(
    v: &dyn Any,
    _: &Node,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let v = v.downcast_ref::<T>().ok_or("type mismatch")?;
    let t = crate::to_term(v).map_err(|e| e.to_string())?;
    enc_term(&t, out)
}

fn enc_term(t: &Term, out: &mut Vec<u8>) -> Result<(), String> {
    crate::encode(t, out).map_err(|e| e.to_string())
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

fn builtins(m: &mut Table) {
    m.insert(
        TypeId::of::<Term>(),
        Codec {
            // Encoded where it is: no clone of the term.
            encode: |v, _, out| enc_term(v.downcast_ref::<Term>().ok_or("type mismatch")?, out),
            decode: |t, _| Some(Box::new(t.clone())),
        },
    );
    m.insert(
        TypeId::of::<bream::Pid>(),
        Codec {
            encode: |v, n, out| {
                let p = v.downcast_ref::<bream::Pid>().ok_or("type mismatch")?;
                let t = n
                    .pid_to_term(*p)
                    .ok_or_else(|| format!("{p} names a node that is gone"))?;
                enc_term(&t, out)
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
            encode: |v, _, out| {
                let s = v.downcast_ref::<&'static str>().ok_or("type mismatch")?;
                enc_term(&crate::to_term(*s).map_err(|e| e.to_string())?, out)
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
    // After the insert: a thread that reads the new generation finds it.
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Bumped by every [`register`]: an entry a thread cached before is stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Slots in each thread's cache of the table ([`get`]).
const CACHED: usize = 8;

type Slot = Cell<Option<(u64, TypeId, Codec)>>;

thread_local! {
    /// The entries this thread looked up lately, direct-mapped by type, each
    /// with the generation it was read in. Touched only by `get`, which never
    /// yields, so a process moving between workers sees no torn slot.
    static CACHE: [Slot; CACHED] = const { [const { Cell::new(None) }; CACHED] };
}

/// The codec of type `t`: from this thread's cache when it was looked up in
/// the current generation, else from the table (a lock per lookup was a few
/// percent of every remote send and receive).
fn get(t: TypeId) -> Option<Codec> {
    let generation = GENERATION.load(Ordering::Acquire);
    let mut h = FastHasher::default();
    t.hash(&mut h);
    let i = h.finish() as usize % CACHED;
    if let Some((g, id, c)) = CACHE.with(|s| s[i].get()) {
        if g == generation && id == t {
            return Some(c);
        }
    }
    let c = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&t)
        .copied();
    if let Some(c) = c {
        CACHE.with(|s| s[i].set(Some((generation, t, c))));
    }
    c
}

/// Appends a message given as `dyn Any` to `out`, as a whole term (version
/// byte first); the error says what went wrong (and `out` may then hold part
/// of the term: the caller drops it).
pub(crate) fn encode_into(
    v: &dyn Any,
    type_name: &str,
    node: &Node,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match get(v.type_id()) {
        Some(c) => (c.encode)(v, node, out),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Late(i64);

    #[test]
    fn the_per_thread_cache_sees_every_registration() {
        let t = TypeId::of::<Late>();
        assert!(
            get(t).is_none(),
            "not registered yet (and a miss is not cached)"
        );
        register::<Late>();
        let first = get(t).expect("registered").decode as usize;
        assert_eq!(get(t).unwrap().decode as usize, first, "a cached hit");
        // Another codec for the same type, as a later registration would
        // install: the entry this thread cached is stale and not used.
        let other = Codec {
            encode: |_, _, _| Err("other".into()),
            decode: |_, _| None,
        };
        registry().write().unwrap().insert(t, other);
        GENERATION.fetch_add(1, Ordering::Release);
        assert_eq!(get(t).unwrap().decode as usize, other.decode as usize);
    }
}
