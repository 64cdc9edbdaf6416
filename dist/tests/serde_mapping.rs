//! The serde mapping, row by row of docs/terms.md: each Rust shape becomes the
//! Erlang term the table promises, and comes back from it (and from the other
//! spellings Erlang uses for the same thing).

use std::collections::{BTreeMap, HashMap};

use bream_dist::{
    from_bytes, from_term, to_bytes, to_term, Atom, ExternalPid, ExternalRef, SerdeError, Term,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// `to_term(v)` prints as `erl` in Erlang syntax and decodes back to `v`.
fn both_ways<T>(v: T, erl: &str)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let t = to_term(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    assert_eq!(t.to_string(), erl, "{v:?}");
    let back: T = from_term(&t).unwrap_or_else(|e| panic!("{erl}: {e}"));
    assert_eq!(back, v);
    let via_bytes: T = from_bytes(&to_bytes(&v).unwrap()).unwrap();
    assert_eq!(via_bytes, v);
}

fn term(bytes: &[u8]) -> Term {
    bream_dist::decode(bytes).unwrap().0
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Ping;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Meters(f64);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Pair(u8, String);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Request {
    Get,
    GetAll,
    Set(i64),
    Move(i32, i32),
    Put {
        key: String,
        value: Option<u32>,
    },
    #[serde(rename = "'EXIT'")]
    Exit(ExternalPid, Term),
}

#[test]
fn scalars() {
    both_ways(0u8, "0");
    both_ways(-5i32, "-5");
    both_ways(u64::MAX, "18446744073709551615");
    both_ways(i128::MIN, "-170141183460469231731687303715884105728");
    both_ways(u128::MAX, "340282366920938463463374607431768211455");
    both_ways(2.5f64, "2.5");
    both_ways(1.0f32, "1.0");
    both_ways(true, "true");
    both_ways(false, "false");
    both_ways('é', "233");
    both_ways((), "ok");
    both_ways(String::from("hi"), "<<104,105>>");
    both_ways(Atom::new("an_atom"), "an_atom");
}

#[test]
fn options_are_undefined_or_the_value() {
    both_ways(None::<u32>, "undefined");
    both_ways(Some(3u32), "3");
    both_ways(Some(()), "ok");
    // Elixir's nil is None too.
    assert_eq!(from_term::<Option<u8>>(&Term::atom("nil")).unwrap(), None);
}

#[test]
fn structs_are_records_and_newtypes_are_transparent() {
    both_ways(Point { x: 1, y: 2 }, "{point,1,2}");
    both_ways(Ping, "ping");
    both_ways(Meters(1.5), "1.5");
    both_ways(Pair(1, "a".into()), "{1,<<97>>}");
    both_ways((1u8, true, "s".to_string()), "{1,true,<<115>>}");
}

#[test]
fn enums_are_atoms_and_tagged_tuples() {
    both_ways(Request::Get, "get");
    both_ways(Request::GetAll, "get_all");
    both_ways(Request::Set(-1), "{set,-1}");
    both_ways(Request::Move(3, 4), "{move,3,4}");
    both_ways(
        Request::Put {
            key: "k".into(),
            value: None,
        },
        "{put,<<107>>,undefined}",
    );
    let pid = ExternalPid {
        node: Atom::new("erl@host"),
        id: 80,
        serial: 0,
        creation: 3,
    };
    both_ways(
        Request::Exit(pid, Term::atom("normal")),
        "{'EXIT',<erl@host.80.0>,normal}",
    );
}

#[test]
fn collections_are_lists_and_maps() {
    both_ways(vec![1u16, 2, 300], "[1,2,300]");
    both_ways(Vec::<i32>::new(), "[]");
    let mut m = BTreeMap::new();
    m.insert("a".to_string(), vec![Point { x: 0, y: 0 }]);
    both_ways(m, "#{<<97>> => [{point,0,0}]}");
    let mut h = HashMap::new();
    h.insert(Atom::new("k"), 1u8);
    both_ways(h, "#{k => 1}");
}

#[test]
fn terms_and_pids_embed_exactly() {
    let r = ExternalRef {
        node: Atom::new("a@b"),
        creation: 1,
        id: vec![1, 2, 3],
    };
    let t = Term::Tuple(vec![Term::Ref(r.clone()), Term::Float(0.5), Term::nil()]);
    both_ways(t.clone(), "{#Ref<a@b.3.2.1>,0.5,[]}");
    both_ways(r, "#Ref<a@b.3.2.1>");
    // A Term field matches anything.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Envelope {
        from: ExternalPid,
        body: Term,
    }
    let from = ExternalPid {
        node: Atom::new("n@h"),
        id: 1,
        serial: 2,
        creation: 3,
    };
    both_ways(
        Envelope { from, body: t },
        "{envelope,<n@h.1.2>,{#Ref<a@b.3.2.1>,0.5,[]}}",
    );
}

#[test]
fn erlang_spellings_of_the_same_thing_are_accepted() {
    // A charlist for a String ("hi" as erl's STRING_EXT).
    assert_eq!(
        from_term::<String>(&term(&[131, 107, 0, 2, b'h', b'i'])).unwrap(),
        "hi"
    );
    assert_eq!(from_term::<String>(&Term::nil()).unwrap(), "");
    // A list of bytes for bytes, a binary for Vec<u8>.
    assert_eq!(
        from_term::<Vec<u8>>(&Term::Binary(vec![1, 2])).unwrap(),
        [1, 2]
    );
    // An integer where a float is expected.
    assert_eq!(from_term::<f64>(&Term::from(3)).unwrap(), 3.0);
    // A map keyed by field atoms for a struct, in any order.
    let m = Term::Map(vec![
        (Term::atom("y"), Term::from(2)),
        (Term::atom("x"), Term::from(1)),
    ]);
    assert_eq!(from_term::<Point>(&m).unwrap(), Point { x: 1, y: 2 });
    // A struct variant's fields as a map: {put, #{key => ..., value => ...}}.
    let v = Term::Tuple(vec![
        Term::atom("put"),
        Term::Map(vec![
            (Term::atom("key"), Term::from("k")),
            (Term::atom("value"), Term::from(9)),
        ]),
    ]);
    assert_eq!(
        from_term::<Request>(&v).unwrap(),
        Request::Put {
            key: "k".into(),
            value: Some(9)
        }
    );
}

fn err<T: for<'de> Deserialize<'de> + std::fmt::Debug>(t: Term) -> String {
    from_term::<T>(&t).unwrap_err().to_string()
}

#[test]
fn mismatches_are_errors_that_say_what_was_found() {
    assert!(err::<u8>(Term::from(256)).contains("256"));
    assert!(err::<i64>(Term::from(u64::MAX)).contains("does not fit"));
    assert!(err::<bool>(Term::atom("yes")).contains("yes"));
    assert!(err::<Point>(Term::Tuple(vec![Term::atom("point"), Term::from(1)])).contains("record"));
    assert!(err::<Point>(Term::Tuple(vec![
        Term::atom("pt"),
        Term::from(1),
        Term::from(2)
    ]))
    .contains("{pt,1,2}"));
    assert!(err::<Request>(Term::atom("delete")).contains("unknown variant `delete`"));
    assert!(
        err::<Request>(Term::Tuple(vec![Term::atom("move"), Term::from(1)])).contains("takes 2")
    );
    assert!(err::<String>(Term::Binary(vec![0xff])).contains("UTF-8"));
    assert!(err::<(u8, u8)>(Term::Tuple(vec![Term::from(1)])).contains("tuple of 2"));
    assert!(err::<ExternalPid>(Term::atom("x")).contains("pid"));
}

#[test]
fn values_erlang_cannot_hold_are_errors_not_losses() {
    assert!(matches!(to_term(&f64::NAN), Err(SerdeError::Message(_))));
    assert!(to_term(&vec![1.0, f64::INFINITY]).is_err());
    #[derive(Serialize)]
    struct Sparse {
        a: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<u8>,
    }
    let e = to_term(&Sparse { a: 1, b: None }).unwrap_err();
    assert!(e.to_string().contains("field `b` skipped"), "{e}");
    #[derive(Serialize)]
    #[serde(rename = "'a very long name'")]
    struct Long;
    assert!(to_term(&Long).is_ok());
    let long = format!("'{}'", "x".repeat(256));
    let leaked: &'static str = Box::leak(long.into_boxed_str());
    struct Named(&'static str);
    impl Serialize for Named {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_unit_struct(self.0)
        }
    }
    assert!(to_term(&Named(leaked))
        .unwrap_err()
        .to_string()
        .contains("atom"));
    // Bytes after the term are refused, not ignored.
    let mut bytes = to_bytes(&1u8).unwrap();
    bytes.push(0);
    assert!(from_bytes::<u8>(&bytes).is_err());
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Dot,
    Circle { r: f64 },
    Poly(Vec<(i64, i64)>),
    Label(String, Option<Box<Shape>>),
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        Just(Shape::Dot),
        (-1e9f64..1e9).prop_map(|r| Shape::Circle { r }),
        proptest::collection::vec(any::<(i64, i64)>(), 0..5).prop_map(Shape::Poly),
    ];
    leaf.prop_recursive(3, 8, 1, |inner| {
        ("\\PC{0,10}", proptest::option::of(inner))
            .prop_map(|(s, i)| Shape::Label(s, i.map(Box::new)))
    })
}

proptest! {
    #[test]
    fn rust_values_round_trip_through_etf(
        shapes in proptest::collection::vec(shape(), 0..6),
        names in proptest::collection::btree_map("\\PC{0,8}", any::<i128>(), 0..4),
    ) {
        let bytes = to_bytes(&(shapes.clone(), names.clone())).unwrap();
        let back: (Vec<Shape>, BTreeMap<String, i128>) = from_bytes(&bytes).unwrap();
        prop_assert_eq!(back, (shapes, names));
    }
}

/// What `#[serde(with = "serde_bytes")]` does: serialize_bytes / deserialize_bytes.
#[derive(Debug, PartialEq)]
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Blob, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

#[test]
fn bytes_are_binaries() {
    both_ways(Blob(vec![1, 2, 3]), "<<1,2,3>>");
    both_ways(Blob(vec![]), "<<>>");
    // A list of bytes is accepted back; a list with 256 in it is not.
    assert_eq!(
        from_term::<Blob>(&Term::List(vec![Term::from(7), Term::from(8)])).unwrap(),
        Blob(vec![7, 8])
    );
    assert!(from_term::<Blob>(&Term::List(vec![Term::from(256)])).is_err());
}
