//! The `receive!` macro: Erlang's selective receive.
//!
//! The arms are tried in order against each message in arrival order; the first
//! message some arm accepts is taken, and messages no arm accepts stay where they
//! are. An arm's test runs *inside* the mailbox scan (its pattern and guard, with
//! the payload moved out of the envelope and back); its body runs *after* the
//! scan returned, outside any closure or loop of the macro, so `break`,
//! `continue`, `return` and `?` in a body act on the code around the `receive!`.
//!
//! The pattern `pat: Type` cannot be parsed by a `$p:pat` fragment (a pattern may
//! not be followed by `:` in `macro_rules!`), so the arms are read token by token
//! (`__receive_arms!`): pattern tokens up to the first top-level `:`, type tokens
//! up to `if` or `=>`. Deep patterns may need a higher `#![recursion_limit]`.
//! An arm whose pattern reaches `=>` with no `:` is the catch-all: it takes any
//! message, as a [`Message`](crate::Message).
//!
//! The macro also hands `select` the names of its arms' types
//! (`core::any::type_name`), for the unmatched-message warning (receive.rs).

/// Selective receive: waits for the first message, in arrival order, that one
/// of the arms accepts, and evaluates that arm.
///
/// ```text
/// receive! {
///     [marker r;]                      // optional: scan only what arrived after make_ref() gave r
///     pattern: Type [if guard] => body,
///     ...
///     [name => body,]                  // optional catch-all: any message, as a bream::Message
///     [after duration => body]         // optional: give up after `duration`
/// }
/// ```
///
/// Each arm takes messages of `Type` that match `pattern` and for which `guard`
/// holds. The guard sees the pattern's bindings (by value for `Copy` fields, as a
/// `match` guard does) and is evaluated once per message tried. `after
/// Duration::ZERO` only looks at what is already in the mailbox; any duration
/// is "at most that long", and `Duration::MAX` waits forever.
///
/// Messages match by their exact Rust type: `21` is an `i32`, so an arm
/// `n: u64` never takes it (send `21u64`). An arm with no type, `other =>` (or
/// `_ =>`), is a catch-all, as Erlang's `Other ->` clause: it takes the first
/// message no earlier arm takes, whatever its type, as a
/// [`Message`](crate::Message) — to log (`other.type_name()`), drop, downcast or
/// [`forward`](crate::Message::forward). It takes no guard; arms after it never
/// match.
///
/// ```
/// use bream::receive;
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, "not a number");
///     bream::send(me, 5u32);
///     let mut strays = Vec::new();
///     let n = loop {
///         receive! {
///             n: u32 => break n,
///             other => strays.push(other.type_name()),
///         }
///     };
///     assert_eq!((n, strays), (5, vec!["&str"]));
/// });
/// ```
///
/// ```
/// use std::time::Duration;
/// use bream::receive;
///
/// #[derive(Debug)]
/// enum Tag { Small, Big }
///
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, (Tag::Small, 1u32));
///     bream::send(me, "ignored for now");
///     bream::send(me, (Tag::Big, 9u32));
///     let n = receive! {
///         (Tag::Big, n): (Tag, u32) if n > 3 => n,
///         s: &str if s.is_empty() => 0,
///     };
///     assert_eq!(n, 9);
///     let left = receive! {
///         (t, n): (Tag, u32) => format!("{t:?} {n}"),
///         after Duration::ZERO => String::from("nothing"),
///     };
///     assert_eq!(left, "Small 1");
///     // The &str is still there, in order.
///     assert_eq!(bream::receive::<&str>(), "ignored for now");
/// });
/// ```
///
/// Bodies may leave the surrounding loop or function:
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     for i in 0..3u8 { bream::send(me, i); }
///     bream::send(me, "stop");
///     let mut sum = 0;
///     loop {
///         bream::receive! {
///             i: u8 => sum += i,
///             _: &str => break,
///         }
///     }
///     assert_eq!(sum, 3);
/// });
/// ```
///
/// # Panics
/// Outside a bream process, or when called from inside another `receive!`'s guard.
#[macro_export]
macro_rules! receive {
    (marker $r:expr; $($rest:tt)*) => {
        $crate::__receive_arms!(@parse (::core::option::Option::Some(&$r)) [] $($rest)*)
    };
    ($($rest:tt)*) => {
        $crate::__receive_arms!(@parse (::core::option::Option::None) [] $($rest)*)
    };
}

/// The parser and code generator behind [`receive!`]. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __receive_arms {
    // ── after arm: the end ──────────────────────────────────────────────────
    (@parse $m:tt [$($arms:tt)*] after $d:expr => $b:block $(,)?) => {
        $crate::__receive_arms!(@emit $m [$($arms)*] (::core::option::Option::Some($d)) ($b))
    };
    (@parse $m:tt [$($arms:tt)*] after $d:expr => $b:expr $(,)?) => {
        $crate::__receive_arms!(@emit $m [$($arms)*] (::core::option::Option::Some($d)) ($b))
    };
    // ── no more arms ────────────────────────────────────────────────────────
    (@parse $m:tt [$($arms:tt)*]) => {
        $crate::__receive_arms!(@emit $m [$($arms)*] (::core::option::Option::None)
            (::core::unreachable!("receive! without `after` does not time out")))
    };
    // ── an arm: pattern tokens up to `:` ─────────────────────────────────────
    (@parse $m:tt [$($arms:tt)*] $($rest:tt)+) => {
        $crate::__receive_arms!(@pat $m [$($arms)*] [] $($rest)+)
    };
    (@pat $m:tt $arms:tt [$($p:tt)*] : $($rest:tt)*) => {
        $crate::__receive_arms!(@ty $m $arms [$($p)*] [] $($rest)*)
    };
    // ── no `:` before `=>`: the catch-all ───────────────────────────────────
    (@pat $m:tt $arms:tt [$($p:tt)*] => $($rest:tt)*) => {
        $crate::__receive_arms!(@body $m $arms [$($p)*] {any} (true) $($rest)*)
    };
    (@pat $m:tt $arms:tt [$($p:tt)*] if $($rest:tt)*) => {
        ::core::compile_error!(
            "receive!: a catch-all arm (`other => ...`) takes no guard; give the arm a type \
             (`x: T if ... =>`) or test the message in the body"
        )
    };
    (@pat $m:tt $arms:tt [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__receive_arms!(@pat $m $arms [$($p)* $t] $($rest)*)
    };
    // ── type tokens up to `if` or `=>` ──────────────────────────────────────
    (@ty $m:tt $arms:tt $p:tt [$($t:tt)*] if $g:expr => $($rest:tt)*) => {
        $crate::__receive_arms!(@body $m $arms $p [$($t)*] ($g) $($rest)*)
    };
    (@ty $m:tt $arms:tt $p:tt [$($t:tt)*] => $($rest:tt)*) => {
        $crate::__receive_arms!(@body $m $arms $p [$($t)*] (true) $($rest)*)
    };
    (@ty $m:tt $arms:tt $p:tt [$($t:tt)*] $x:tt $($rest:tt)*) => {
        $crate::__receive_arms!(@ty $m $arms $p [$($t)* $x] $($rest)*)
    };
    // ── the body ────────────────────────────────────────────────────────────
    (@body $m:tt [$($arms:tt)*] $p:tt $t:tt $g:tt $b:block , $($rest:tt)*) => {
        $crate::__receive_arms!(@parse $m [$($arms)* [$p $t $g ($b)]] $($rest)*)
    };
    (@body $m:tt [$($arms:tt)*] $p:tt $t:tt $g:tt $b:block $($rest:tt)*) => {
        $crate::__receive_arms!(@parse $m [$($arms)* [$p $t $g ($b)]] $($rest)*)
    };
    (@body $m:tt [$($arms:tt)*] $p:tt $t:tt $g:tt $b:expr , $($rest:tt)*) => {
        $crate::__receive_arms!(@parse $m [$($arms)* [$p $t $g ($b)]] $($rest)*)
    };
    (@body $m:tt [$($arms:tt)*] $p:tt $t:tt $g:tt $b:expr) => {
        $crate::__receive_arms!(@parse $m [$($arms)* [$p $t $g ($b)]])
    };
    // ── code ────────────────────────────────────────────────────────────────
    (@emit ($($m:tt)*) [$($arm:tt)*] ($($after:tt)*) $after_body:tt) => {
        match $crate::__private::select($($m)*, $($after)*,
            $crate::__receive_arms!(@names [] $($arm)*), |__env| {
            $crate::__receive_arms!(@tests __env (0usize) $($arm)*);
            ::core::option::Option::None
        }) {
            $crate::__private::Selected::Arm(__idx, __env) => {
                $crate::__receive_arms!(@bodies __idx __env (0usize) $($arm)*)
            }
            $crate::__private::Selected::Timeout => $after_body,
        }
    };
    (@names [$($acc:tt)*] [$p:tt {any} $g:tt $b:tt] $($more:tt)*) => {
        $crate::__receive_arms!(@names [$($acc)*] $($more)*)
    };
    (@names [$($acc:tt)*] [$p:tt [$($t:tt)*] $g:tt $b:tt] $($more:tt)*) => {
        $crate::__receive_arms!(@names
            [$($acc)* (::core::any::type_name::<$($t)*> as $crate::__private::ArmType),]
            $($more)*)
    };
    (@names [$($acc:tt)*]) => {
        &[$($acc)*]
    };
    (@tests $env:ident $i:tt [$p:tt {any} $g:tt $b:tt] $($more:tt)*) => {
        if $crate::__private::any($env) {
            return ::core::option::Option::Some($i);
        }
        $crate::__receive_arms!(@tests $env ($i + 1) $($more)*);
    };
    (@tests $env:ident $i:tt [[$($p:tt)*] [$($t:tt)*] ($g:expr) $b:tt] $($more:tt)*) => {
        if let ::core::option::Option::Some(__v) = $crate::__private::take::<$($t)*>($env) {
            let mut __hit = false;
            let __v = match __v {
                #[allow(unused_variables)]
                $($p)* if { __hit = $g; false } => ::core::unreachable!(),
                __v => __v,
            };
            $crate::__private::put::<$($t)*>($env, __v);
            if __hit {
                return ::core::option::Option::Some($i);
            }
        }
        $crate::__receive_arms!(@tests $env ($i + 1) $($more)*);
    };
    (@tests $env:ident $i:tt) => {};
    (@bodies $idx:ident $env:ident $i:tt [[$($p:tt)*] {any} $g:tt ($b:expr)] $($more:tt)*) => {
        if $idx == $i {
            match $crate::__private::message($env) {
                $($p)* => $b,
            }
        } else {
            $crate::__receive_arms!(@bodies $idx $env ($i + 1) $($more)*)
        }
    };
    (@bodies $idx:ident $env:ident $i:tt [[$($p:tt)*] [$($t:tt)*] $g:tt ($b:expr)] $($more:tt)*) => {
        if $idx == $i {
            match $crate::__private::downcast::<$($t)*>($env) {
                // The guard, evaluated in the test, may have been the only use.
                #[allow(unused_variables)]
                $($p)* => $b,
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!("receive!: the arm matched when tested"),
            }
        } else {
            $crate::__receive_arms!(@bodies $idx $env ($i + 1) $($more)*)
        }
    };
    (@bodies $idx:ident $env:ident $i:tt) => {{
        let _ = $env;
        ::core::unreachable!("receive!: no such arm")
    }};
}
