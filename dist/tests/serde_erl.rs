//! The serde mapping against a real Erlang node: an Erlang `case` pattern-matches
//! what bream's serde types encode to, and terms written in Erlang decode into
//! the Rust types (the promise of issue 12's "Messages"). Skips visibly without
//! `erl` (see tests/etf_support/erl.rs).

#[path = "etf_support/erl.rs"]
mod erl;

use std::collections::BTreeMap;

use bream_dist::{from_bytes, to_bytes, Atom, ExternalPid, Term};
use erl::{hex, run_erl, unhex};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

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
fn erlang_pattern_matches_what_bream_sends() {
    let pid = ExternalPid {
        node: Atom::new("bream@localhost"),
        id: 1,
        serial: 0,
        creation: 1,
    };
    let mut map = BTreeMap::new();
    map.insert("a".to_string(), vec![Point { x: 0, y: 0 }]);
    let messages: Vec<Vec<u8>> = vec![
        to_bytes(&Point { x: 1, y: 2 }).unwrap(),
        to_bytes(&Request::GetAll).unwrap(),
        to_bytes(&Request::Set(-1)).unwrap(),
        to_bytes(&Request::Put {
            key: "k".into(),
            value: None,
        })
        .unwrap(),
        to_bytes(&map).unwrap(),
        to_bytes(&vec![1u32, 2, 300]).unwrap(),
        to_bytes(&Request::Exit(pid, Term::atom("normal"))).unwrap(),
        to_bytes("héllo").unwrap(),
        to_bytes(&(true, (), Some(2.5f64), None::<u8>)).unwrap(),
        to_bytes(&Request::Move(3, -4)).unwrap(),
    ];
    let code = r#"
        Check = fun
            (1, {point, 1, 2}) -> ok;
            (2, get_all) -> ok;
            (3, {set, -1}) -> ok;
            (4, {put, <<"k">>, undefined}) -> ok;
            (5, #{<<"a">> := [{point, 0, 0}]}) -> ok;
            (6, [1, 2, 300]) -> ok;
            (7, {'EXIT', P, normal}) when is_pid(P), node(P) =:= 'bream@localhost' -> ok;
            (8, <<"h", 16#c3, 16#a9, "llo">>) -> ok;
            (9, {true, ok, 2.5, undefined}) -> ok;
            (10, {move, 3, -4}) -> ok;
            (N, T) -> {mismatch, N, T}
        end,
        Args = init:get_plain_arguments(),
        Numbered = lists:zip(lists:seq(1, length(Args)), Args),
        lists:foreach(fun({N, H}) ->
            T = binary_to_term(binary:decode_hex(list_to_binary(H))),
            io:format("~w~n", [Check(N, T)])
        end, Numbered),
        halt()."#;
    let hexes: Vec<String> = messages.iter().map(|m| hex(m)).collect();
    let args: Vec<&str> = hexes.iter().map(String::as_str).collect();
    let Some(out) = run_erl("serde_erl::erlang_matches", code, &args) else {
        return;
    };
    let out = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), messages.len(), "{out}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(
            *line,
            "ok",
            "message {} did not match its pattern: {line}",
            i + 1
        );
    }
}

#[test]
fn what_erlang_writes_decodes_into_rust_types() {
    let code = r#"
        Terms = [{point, 10, -20}, #{y => 2, x => 1}, get, {set, 1 bsl 40},
                 {move, 1, 2}, {put, "charlist", 7}, {put, <<"bin">>, undefined},
                 "a charlist", [{point, 1, 1}], #{<<"k">> => [1, 2]}],
        lists:foreach(fun(T) ->
            io:format("~s~n", [binary:encode_hex(term_to_binary(T))])
        end, Terms),
        halt()."#;
    let Some(out) = run_erl("serde_erl::erlang_writes", code, &[]) else {
        return;
    };
    let out = String::from_utf8_lossy(&out);
    let frames: Vec<Vec<u8>> = out.lines().map(unhex).collect();
    assert_eq!(frames.len(), 10, "{out}");
    let point = |i: usize| from_bytes::<Point>(&frames[i]).unwrap();
    let request = |i: usize| from_bytes::<Request>(&frames[i]).unwrap();
    assert_eq!(point(0), Point { x: 10, y: -20 });
    assert_eq!(point(1), Point { x: 1, y: 2 });
    assert_eq!(request(2), Request::Get);
    assert_eq!(request(3), Request::Set(1 << 40));
    assert_eq!(request(4), Request::Move(1, 2));
    assert_eq!(
        request(5),
        Request::Put {
            key: "charlist".into(),
            value: Some(7)
        }
    );
    assert_eq!(
        request(6),
        Request::Put {
            key: "bin".into(),
            value: None
        }
    );
    assert_eq!(from_bytes::<String>(&frames[7]).unwrap(), "a charlist");
    assert_eq!(
        from_bytes::<Vec<Point>>(&frames[8]).unwrap(),
        [Point { x: 1, y: 1 }]
    );
    let m: BTreeMap<String, Vec<u8>> = from_bytes(&frames[9]).unwrap();
    assert_eq!(m["k"], [1, 2]);
}
