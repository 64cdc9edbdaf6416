//! The decoder against hostile input: deep nesting, lying length prefixes,
//! truncated and mutated frames. Nothing may panic, overflow a stack or allocate
//! what the input does not hold (issue 12, "Bad input and faults").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use bream_dist::etf::{DecodeOptions, DEFAULT_MAX_DEPTH};
use bream_dist::{decode, encode_to_vec, from_term, to_term, DecodeErrorKind, Term};
use proptest::prelude::*;

/// Counts the largest single allocation, to prove a length prefix is not trusted.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// The stack a bream process gets by default.
const PROCESS_STACK: usize = 64 * 1024;

/// Runs `f` on a thread with a process-sized stack, failing (not hanging) after 20 s.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(PROCESS_STACK)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn");
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the body panicked, overflowed or hung on a 64 KiB stack")
}

/// `depth` nested one-element containers around `0`, cycling list, tuple, map value.
fn nested(depth: usize) -> Vec<u8> {
    let mut bytes = vec![131];
    build(&mut bytes, 0, depth);
    bytes
}

fn build(out: &mut Vec<u8>, level: usize, depth: usize) {
    if level == depth {
        out.extend_from_slice(&[97, 0]);
        return;
    }
    match level % 3 {
        0 => {
            out.extend_from_slice(&[108, 0, 0, 0, 1]);
            build(out, level + 1, depth);
            out.push(106);
        }
        1 => {
            out.extend_from_slice(&[104, 1]);
            build(out, level + 1, depth);
        }
        _ => {
            out.extend_from_slice(&[116, 0, 0, 0, 1, 97, 1]);
            build(out, level + 1, depth);
        }
    }
}

#[test]
fn a_term_nested_100_000_deep_is_refused_cleanly_on_a_process_stack() {
    for opener in [
        &[108u8, 0, 0, 0, 1][..],
        &[104, 1],
        &[116, 0, 0, 0, 1, 97, 1],
    ] {
        let mut bytes = vec![131];
        for _ in 0..100_000 {
            bytes.extend_from_slice(opener);
        }
        bytes.extend_from_slice(&[97, 0]);
        let err = on_small_stack(move || decode(&bytes).unwrap_err());
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::TooDeep {
                max_depth: DEFAULT_MAX_DEPTH
            }
        );
    }
}

#[test]
fn a_term_at_the_depth_limit_decodes_and_is_usable_on_a_process_stack() {
    let bytes = nested(DEFAULT_MAX_DEPTH);
    on_small_stack(move || {
        let (term, used) = decode(&bytes).expect("at the limit decodes");
        assert_eq!(used, bytes.len());
        // Everything that recurses over a term, at the deepest decodable term.
        let copy = term.clone();
        assert_eq!(copy, term);
        assert!(term.to_string().len() > DEFAULT_MAX_DEPTH);
        assert!(!format!("{term:?}").is_empty());
        assert_eq!(encode_to_vec(&term).unwrap(), bytes);
        let via_serde: Term = from_term(&term).unwrap();
        assert_eq!(to_term(&via_serde).unwrap(), term);
        drop(copy);
        drop(term);
    });
    let one_more = nested(DEFAULT_MAX_DEPTH + 1);
    assert!(matches!(
        decode(&one_more).unwrap_err().kind(),
        DecodeErrorKind::TooDeep { .. }
    ));
}

#[test]
fn max_depth_is_configurable() {
    let bytes = nested(10);
    let opts = DecodeOptions::new().max_depth(9);
    assert!(bream_dist::decode_with(&bytes, &opts).is_err());
    let opts = DecodeOptions::new().max_depth(10);
    assert!(bream_dist::decode_with(&bytes, &opts).is_ok());
}

#[test]
fn a_4_gb_length_prefix_is_an_error_not_an_allocation() {
    // binary, list, tuple, map, string-less bignum, bitstring: all claim u32::MAX.
    let frames: [&[u8]; 6] = [
        &[131, 109, 255, 255, 255, 255, 1, 2, 3],
        &[131, 108, 255, 255, 255, 255, 97, 1],
        &[131, 105, 255, 255, 255, 255, 97, 1],
        &[131, 116, 255, 255, 255, 255, 97, 1, 97, 2],
        &[131, 111, 255, 255, 255, 255, 0, 1, 2],
        &[131, 77, 255, 255, 255, 255, 3, 1, 2],
    ];
    for frame in frames {
        LARGEST.store(0, Ordering::Relaxed);
        let err = decode(frame).unwrap_err();
        let largest = LARGEST.load(Ordering::Relaxed);
        assert!(
            matches!(err.kind(), DecodeErrorKind::LengthTooLarge { .. }),
            "{frame:?}: {err}"
        );
        // Other test threads allocate too; none of them near a gigabyte.
        assert!(largest < 1 << 30, "{frame:?} allocated {largest} bytes");
    }
}

#[test]
fn every_truncation_of_a_valid_frame_is_an_error() {
    let t = Term::Tuple(vec![
        Term::atom("reply"),
        Term::List(vec![Term::from(1), Term::Float(2.5), Term::from(u64::MAX)]),
        Term::Map(vec![(Term::from("k"), Term::nil())]),
    ]);
    let bytes = encode_to_vec(&t).unwrap();
    for n in 0..bytes.len() {
        let err = decode(&bytes[..n]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                DecodeErrorKind::UnexpectedEnd | DecodeErrorKind::LengthTooLarge { .. }
            ),
            "prefix {n}: {err}"
        );
    }
    assert_eq!(decode(&bytes).unwrap(), (t, bytes.len()));
}

#[test]
fn a_map_with_a_duplicate_key_is_refused() {
    // #{a => 1, a => 2}: OTP's binary_to_term refuses it; so does bream.
    let dup = [
        131, 116, 0, 0, 0, 2, 119, 1, b'a', 97, 1, 119, 1, b'a', 97, 2,
    ];
    let err = decode(&dup).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::Invalid("map with a duplicate key")
    );
    // The same with 40 keys (the sorted check).
    let mut big = vec![131, 116, 0, 0, 0, 40];
    for k in 0..40u8 {
        big.extend_from_slice(&[97, k.min(38), 97, 0]); // keys 38 and 39 collide
    }
    assert!(decode(&big).is_err());
    big[6 + 39 * 4 + 1] = 39;
    assert!(decode(&big).is_ok());
}

#[test]
fn unsupported_and_unknown_tags_say_what_they_are() {
    let cases: [(&[u8], DecodeErrorKind); 5] = [
        (
            &[131, 80, 0, 0, 0, 1, 0],
            DecodeErrorKind::Unsupported("a COMPRESSED term"),
        ),
        (&[131, 1], DecodeErrorKind::UnknownTag(1)),
        (&[130, 97, 1], DecodeErrorKind::BadVersion(130)),
        (
            &[131, 70, 127, 240, 0, 0, 0, 0, 0, 0],
            DecodeErrorKind::BadFloat,
        ),
        (
            &[131, 110, 1, 2, 5],
            DecodeErrorKind::Invalid("integer sign byte is not 0 or 1"),
        ),
    ];
    for (bytes, kind) in cases {
        let err = decode(bytes).unwrap_err();
        assert_eq!(err.kind(), &kind, "{bytes:?}");
        assert!(!err.to_string().is_empty());
    }
}

/// Terms of every kind, nested a few levels.
fn any_term() -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Term::from),
        any::<i128>().prop_map(Term::from),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Term::Float),
        "[a-z]{0,8}".prop_map(|s| Term::atom(&s)),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Term::Binary),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::Tuple),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::List),
            proptest::collection::btree_map(inner.clone(), inner, 0..4)
                .prop_map(|m| Term::Map(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_frames_never_panic(
        t in any_term(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode_to_vec(&t).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let cut = cut.index(bytes.len() + 1);
        // Any result is fine; a panic fails the test.
        let _ = decode(&bytes);
        let _ = decode(&bytes[..cut]);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(&bytes);
        bytes.insert(0, 131);
        if let Ok((t, _)) = decode(&bytes) {
            // Whatever decodes re-encodes and prints.
            let _ = encode_to_vec(&t);
            let _ = t.to_string();
        }
    }
}
