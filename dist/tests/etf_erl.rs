//! The codec against a real Erlang node (OTP's `term_to_binary`/`binary_to_term`,
//! ERTS User's Guide, "External Term Format"): what erl encodes, bream decodes,
//! prints as erl prints it and re-encodes to the same bytes; what bream encodes,
//! erl decodes to the term bream meant. Skips visibly without `erl` (see
//! tests/etf_support/erl.rs).

#[path = "etf_support/erl.rs"]
mod erl;

use bream_dist::{decode, encode_to_vec, Atom, ExternalPid, Term};
use erl::{hex, run_erl, unhex};

/// Erlang terms covering every tag erl emits. The list is the Erlang source.
const ERL_TERMS: &str = r#"[
    0, 1, 255, 256, -1, 2147483647, 2147483648, -2147483648, -2147483649,
    9223372036854775807, 9223372036854775808, -9223372036854775808,
    -9223372036854775809, 1 bsl 64, -(1 bsl 64), 1 bsl 2100, -(1 bsl 2100),
    1.5, -0.0, 0.1, 1.0e300, 123.456, 1.0e-5, 5.0e-324, 1.0e10,
    ok, 'EXIT', '', 'hello world', 'it\'s', a@b, list_to_atom([233]),
    list_to_atom([1078, 1078]), list_to_atom(lists:duplicate(255, $a)),
    <<>>, <<1,2,3>>, <<"text">>, <<1:3>>, <<"ab",5:4>>, binary:copy(<<7>>, 300),
    {}, {a}, {a,b,c}, list_to_tuple(lists:seq(1, 300)),
    [], "hi", [1,2,3], [a,b], [1|2], [a,b|c], [[]], [256, 1], lists:seq(1000, 1300),
    #{}, #{a => 1}, #{1 => [], <<"k">> => {v}}, #{[] => #{}},
    self(), make_ref(), hd(erlang:ports()), fun lists:map/2, fun(X) -> X end,
    {ok, [{nested, #{deep => [1, {2, <<3>>, 4.25}]}}]}
]"#;

/// Does `~w` print this term the way bream's Display can (no node-table indexes,
/// no Latin-1 bytes)?
fn printable(t: &Term, text: &[u8]) -> bool {
    let s = t.to_string();
    text.is_ascii()
        && !s.contains("#Ref<")
        && !s.contains("#Port<")
        && !s.contains("#Fun<")
        && !s.contains("nonode@nohost")
}

#[test]
fn what_erl_encodes_bream_decodes_prints_and_reencodes_byte_for_byte() {
    let code = format!(
        "Terms = {ERL_TERMS},
         lists:foreach(fun(T) ->
             io:format(\"~s ~w~n\", [binary:encode_hex(term_to_binary(T, [{{minor_version, 2}}])), T])
         end, Terms),
         halt()."
    );
    let Some(out) = run_erl("etf_erl::erl_to_bream", &code, &[]) else {
        return;
    };
    let mut seen = 0;
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let space = line.iter().position(|b| *b == b' ').expect("hex then text");
        let bytes = unhex(std::str::from_utf8(&line[..space]).unwrap());
        let text = &line[space + 1..];
        let (term, used) = decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", hex(&bytes)));
        assert_eq!(used, bytes.len());
        assert_eq!(
            encode_to_vec(&term).unwrap(),
            bytes,
            "re-encoding {term} differs from erl's bytes"
        );
        if printable(&term, text) {
            assert_eq!(term.to_string().as_bytes(), text, "Display of {term}");
        }
        seen += 1;
    }
    assert_eq!(seen, 63, "one line per term in ERL_TERMS");
}

#[test]
fn what_bream_encodes_erl_decodes_to_the_same_term() {
    let pid = ExternalPid {
        node: Atom::new("bream@localhost"),
        id: 42,
        serial: 1,
        creation: 7,
    };
    // (term, what erl's ~w prints for it). Multi-key maps are left out: erl
    // prints keys sorted, bream keeps wire order.
    let cases: Vec<(Term, &str)> = vec![
        (Term::from(-7), "-7"),
        (Term::from(u64::MAX), "18446744073709551615"),
        (
            Term::from(i128::MIN),
            "-170141183460469231731687303715884105728",
        ),
        (Term::Float(2.5), "2.5"),
        (Term::atom("ok"), "ok"),
        (Term::atom("жx"), "'\\x{436}x'"),
        (Term::from("héllo"), "<<104,195,169,108,108,111>>"),
        (
            Term::Tuple(vec![Term::atom("point"), Term::from(1), Term::from(2)]),
            "{point,1,2}",
        ),
        (
            Term::ImproperList {
                head: vec![Term::from(1)],
                tail: Box::new(Term::atom("t")),
            },
            "[1|t]",
        ),
        (
            Term::List(vec![Term::from(104), Term::from(105)]),
            "[104,105]",
        ),
        (Term::List(vec![Term::from(1000); 3]), "[1000,1000,1000]"),
        (
            Term::Map(vec![(Term::atom("k"), Term::nil())]),
            "#{k => []}",
        ),
        (Term::Pid(pid), "pid"),
    ];
    let hexes: Vec<String> = cases
        .iter()
        .map(|(t, _)| hex(&encode_to_vec(t).unwrap()))
        .collect();
    let code = "lists:foreach(fun(H) ->
             T = binary_to_term(binary:decode_hex(list_to_binary(H))),
             Shown = case is_pid(T) of true -> \"pid\"; false -> io_lib:format(\"~w\", [T]) end,
             io:format(\"~s ~s~n\", [binary:encode_hex(term_to_binary(T, [{minor_version, 2}])), Shown])
         end, init:get_plain_arguments()),
         halt().";
    let args: Vec<&str> = hexes.iter().map(String::as_str).collect();
    let Some(out) = run_erl("etf_erl::bream_to_erl", code, &args) else {
        return;
    };
    let out = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{out}");
    for ((term, want), line) in cases.iter().zip(lines) {
        let (bytes, shown) = line.split_once(' ').expect("hex then text");
        assert_eq!(shown, *want, "erl's view of {term}");
        assert_eq!(
            unhex(bytes),
            encode_to_vec(term).unwrap(),
            "erl re-encodes {term} differently"
        );
    }
}

#[test]
fn terms_sort_as_erlang_sorts_them() {
    // Erlang Reference Manual, "Term Comparisons". Pids, ports and refs are left
    // out: bream orders them by node and numbers, not as a BEAM would.
    let code = r#"
        L = [<<1,2>>, [1|a], 3.5, [], {b}, #{b => 1, a => 2}, a, -(1 bsl 70), [1,2],
             {a, b}, #{a => 1}, "abc", 2, <<1>>, <<1:3>>, fun lists:map/2, zz, [1|<<>>],
             1 bsl 80, {}, #{}, 2.5, [[]], -1.5, #{a => 2, b => 0}, <<>>, [1], 'A'],
        io:format("~s~n~s~n", [binary:encode_hex(term_to_binary(L, [{minor_version, 2}])),
                               binary:encode_hex(term_to_binary(lists:sort(L), [{minor_version, 2}]))]),
        halt()."#;
    let Some(out) = run_erl("etf_erl::term_order", code, &[]) else {
        return;
    };
    let out = String::from_utf8_lossy(&out);
    let mut lines = out.lines();
    let (list, _) = decode(&unhex(lines.next().unwrap())).unwrap();
    let (erl_sorted, _) = decode(&unhex(lines.next().unwrap())).unwrap();
    let Term::List(mut items) = list else {
        panic!("not a list: {list}")
    };
    items.sort();
    assert_eq!(Term::List(items).to_string(), erl_sorted.to_string());
}

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_floats_and_atoms_print_as_erlang_prints_them() {
    // io_lib_format:fwrite_g/1 (shortest round-trip digits, plain or exponent
    // form) and io_lib:write_atom/1 (quoting), on inputs nobody picked by hand.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut terms = Vec::new();
    while terms.len() < 400 {
        let bits = rng.next();
        let v = match terms.len() % 4 {
            0 => f64::from_bits(bits), // any magnitude
            1 => (bits % 2_000_000) as f64 / 10f64.powi((bits >> 40) as i32 % 12), // decimals
            2 => (bits >> 11) as f64 * 2f64.powi((bits % 40) as i32), // around 2^53
            _ => ((bits % 100_000) as f64) * 10f64.powi((bits >> 50) as i32 % 30 - 15),
        };
        if v.is_finite() {
            terms.push(Term::Float(if bits & 1 == 0 { v } else { -v }));
        }
    }
    let alphabet = b"abzAZ09_@ .'\\-";
    for i in 0..200 {
        let len = 1 + (rng.next() % 6) as usize;
        let name: String = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize] as char)
            .collect();
        let name = if i % 20 == 0 {
            "receive".to_string()
        } else {
            name
        };
        terms.push(Term::atom(&name));
    }
    let bytes = encode_to_vec(&Term::List(terms.clone())).unwrap();
    let code = "[H] = init:get_plain_arguments(),
        L = binary_to_term(binary:decode_hex(list_to_binary(H))),
        lists:foreach(fun(T) -> io:format(\"~w~n\", [T]) end, L),
        halt().";
    let Some(out) = run_erl("etf_erl::random_printing", code, &[&hex(&bytes)]) else {
        return;
    };
    let out = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), terms.len(), "{out}");
    for (t, line) in terms.iter().zip(lines) {
        assert_eq!(
            t.to_string(),
            line,
            "bream prints {t:?} differently from erl"
        );
    }
}
