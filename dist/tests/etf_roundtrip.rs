//! Encode → decode is the identity on every term, and the legacy tags OTP may
//! still send decode to the same terms as their modern forms (ERTS User's Guide,
//! "External Term Format").

use bream_dist::etf::tag;
use bream_dist::{
    decode, decode_body, encode, encode_body, encode_to_vec, Atom, BigInt, BitBinary, ExternalFun,
    ExternalPid, ExternalPort, ExternalRef, Term,
};
use proptest::prelude::*;

fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        "[a-z][a-z0-9_@]{0,12}".prop_map(|s| Atom::new(&s)),
        "\\PC{0,40}".prop_map(|s| Atom::new(&s)),
    ]
}

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        any::<i64>().prop_map(Term::from),
        any::<i128>().prop_map(Term::from),
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(neg, mag)| Term::from(BigInt::from_sign_magnitude(neg, mag))),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Term::Float),
        atom().prop_map(Term::Atom),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Term::Binary),
        (proptest::collection::vec(any::<u8>(), 1..8), 1u8..=7).prop_map(|(mut bytes, bits)| {
            *bytes.last_mut().unwrap() &= 0xff << (8 - bits);
            Term::BitBinary(BitBinary {
                bytes,
                last_bits: bits,
            })
        }),
        (atom(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
            |(node, id, serial, creation)| {
                Term::Pid(ExternalPid {
                    node,
                    id,
                    serial,
                    creation,
                })
            }
        ),
        (atom(), any::<u64>(), any::<u32>())
            .prop_map(|(node, id, creation)| Term::Port(ExternalPort { node, id, creation })),
        (
            atom(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 1..=5)
        )
            .prop_map(|(node, creation, id)| Term::Ref(ExternalRef { node, creation, id })),
        (atom(), atom(), any::<u8>()).prop_map(|(module, function, arity)| {
            Term::Fun(ExternalFun::Export {
                module,
                function,
                arity,
            })
        }),
        proptest::collection::vec(0i64..=255, 0..20)
            .prop_map(|v| Term::List(v.into_iter().map(Term::Int).collect())),
    ]
}

fn any_term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(5, 128, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::Tuple),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::List),
            (proptest::collection::vec(inner.clone(), 1..4), leaf())
                .prop_filter("tail is not a list", |(_, t)| !matches!(t, Term::List(_)))
                .prop_map(|(head, tail)| Term::ImproperList {
                    head,
                    tail: Box::new(tail),
                }),
            proptest::collection::btree_map(inner.clone(), inner, 0..5)
                .prop_map(|m| Term::Map(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_the_identity(t in any_term(), trailing in proptest::collection::vec(any::<u8>(), 0..4)) {
        let mut bytes = Vec::new();
        encode(&t, &mut bytes).unwrap();
        let len = bytes.len();
        bytes.extend_from_slice(&trailing); // the decoder stops at the term's end
        let (back, used) = decode(&bytes).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(&back, &t);

        let mut body = Vec::new();
        encode_body(&t, &mut body).unwrap();
        prop_assert_eq!(&body[..], &bytes[1..len]);
        prop_assert_eq!(decode_body(&body).unwrap(), (t, body.len()));
    }
}

fn dec(bytes: &[u8]) -> Term {
    let (t, used) = decode(bytes).unwrap_or_else(|e| panic!("{bytes:?}: {e}"));
    assert_eq!(used, bytes.len());
    t
}

#[test]
fn integers_take_the_smallest_form_as_term_to_binary_does() {
    let cases: [(Term, &[u8]); 7] = [
        (Term::from(255), &[131, 97, 255]),
        (Term::from(256), &[131, 98, 0, 0, 1, 0]),
        (Term::from(-1), &[131, 98, 255, 255, 255, 255]),
        (Term::from(i32::MIN), &[131, 98, 128, 0, 0, 0]),
        (Term::from(1i64 << 31), &[131, 110, 4, 0, 0, 0, 0, 128]),
        (
            Term::from(1u128 << 64),
            &[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        (
            Term::from(i64::MIN),
            &[131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128],
        ),
    ];
    for (t, bytes) in cases {
        assert_eq!(encode_to_vec(&t).unwrap(), bytes, "{t}");
        assert_eq!(dec(bytes), t);
    }
    let mut large = vec![131, tag::LARGE_BIG, 0, 0, 1, 0, 1];
    large.extend(std::iter::repeat_n(0xff, 256));
    let t = dec(&large);
    assert!(matches!(&t, Term::BigInt(b) if b.is_negative() && b.magnitude_le().len() == 256));
    assert_eq!(encode_to_vec(&t).unwrap(), large);
    // A bignum that fits i64 decodes to the canonical Int.
    assert_eq!(dec(&[131, 110, 2, 1, 1, 0]), Term::Int(-1));
}

#[test]
fn legacy_tags_decode_to_the_modern_terms() {
    let node = Atom::new("n@h");
    let n = [tag::ATOM, 0, 3, b'n', b'@', b'h'];
    let cat = |parts: &[&[u8]]| -> Vec<u8> {
        let mut v = vec![131];
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    };
    // Latin-1 atoms: byte 233 is 'é'.
    assert_eq!(dec(&[131, tag::ATOM, 0, 2, b'o', b'k']), Term::atom("ok"));
    assert_eq!(dec(&[131, tag::SMALL_ATOM, 2, b'a', 233]), Term::atom("aé"));
    assert_eq!(
        dec(&[131, tag::SMALL_ATOM_UTF8, 3, b'a', 0xc3, 0xa9]),
        Term::atom("aé")
    );
    // PID_EXT / NEW_PID_EXT.
    let pid = ExternalPid {
        node: node.clone(),
        id: 5,
        serial: 1,
        creation: 2,
    };
    assert_eq!(
        dec(&cat(&[&[tag::PID], &n, &[0, 0, 0, 5, 0, 0, 0, 1, 2]])),
        Term::Pid(pid.clone())
    );
    assert_eq!(
        dec(&cat(&[
            &[tag::NEW_PID],
            &n,
            &[0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2]
        ])),
        Term::Pid(pid)
    );
    // REFERENCE_EXT / NEW_REFERENCE_EXT.
    let r = |id: Vec<u32>| {
        Term::Ref(ExternalRef {
            node: node.clone(),
            creation: 3,
            id,
        })
    };
    assert_eq!(
        dec(&cat(&[&[tag::REFERENCE], &n, &[0, 0, 0, 9, 3]])),
        r(vec![9])
    );
    assert_eq!(
        dec(&cat(&[
            &[tag::NEW_REFERENCE, 0, 2],
            &n,
            &[3, 0, 0, 0, 9, 0, 0, 0, 8]
        ])),
        r(vec![9, 8])
    );
    // PORT_EXT / V4_PORT_EXT.
    let p = |id| {
        Term::Port(ExternalPort {
            node: node.clone(),
            id,
            creation: 4,
        })
    };
    assert_eq!(dec(&cat(&[&[tag::PORT], &n, &[0, 0, 0, 6, 4]])), p(6));
    let v4 = cat(&[&[tag::V4_PORT], &n, &[1, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 4]]);
    assert_eq!(dec(&v4), p((1 << 56) + 6));
    // FLOAT_EXT: 31 bytes of "%.20e".
    let mut f = vec![131, tag::FLOAT];
    let text = b"1.50000000000000000000e+00";
    f.extend_from_slice(text);
    f.extend(std::iter::repeat_n(0, 31 - text.len()));
    assert_eq!(dec(&f), Term::Float(1.5));
    // STRING_EXT is a list of small integers.
    assert_eq!(
        dec(&[131, tag::STRING, 0, 2, b'h', b'i']),
        Term::List(vec![Term::from(104), Term::from(105)])
    );
    // A BIT_BINARY_EXT of whole bytes is a binary.
    assert_eq!(
        dec(&[131, tag::BIT_BINARY, 0, 0, 0, 1, 8, 7]),
        Term::Binary(vec![7])
    );
}

#[test]
fn a_list_whose_tail_is_a_list_is_one_list() {
    // [1 | [2]] sent as LIST_EXT(1, 1, tail = LIST_EXT(1, 2, NIL)): the list [1,2].
    let bytes = [131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106];
    assert_eq!(dec(&bytes), Term::List(vec![Term::from(1), Term::from(2)]));
    // [1 | [2 | x]]: the improper list [1,2|x].
    let bytes = [
        131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 119, 1, b'x',
    ];
    assert_eq!(dec(&bytes).to_string(), "[1,2|x]");
}

#[test]
fn what_erlang_cannot_hold_is_an_encode_error() {
    assert!(encode_to_vec(&Term::Float(f64::NAN)).is_err());
    assert!(encode_to_vec(&Term::List(vec![Term::Float(f64::INFINITY)])).is_err());
    let bad_ref = Term::Ref(ExternalRef {
        node: Atom::new("n@h"),
        creation: 0,
        id: vec![1; 6],
    });
    assert!(encode_to_vec(&bad_ref).is_err());
    let dup = Term::Map(vec![
        (Term::from(1), Term::nil()),
        (Term::from(1), Term::nil()),
    ]);
    assert!(encode_to_vec(&dup).is_err());
    let bad_bits = Term::BitBinary(BitBinary {
        bytes: vec![1],
        last_bits: 8,
    });
    assert!(encode_to_vec(&bad_bits).is_err());
}
