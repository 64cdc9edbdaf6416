//! Chapter 9: a key-value store under a supervisor, used by many clients.
//!
//! What it teaches: a gen_server registered under a name (`start_link_named`),
//! so clients reach it by name (`ServerRef::named`) and keep reaching it after
//! its supervisor restarted it; `cast` for writes, `call` for reads; what a
//! client sees when the store crashes under it (`CallError::Exit`), and how it
//! carries on. The store's state is lost in a crash: a supervisor restarts a
//! process from a known good state, it does not save data.
//!
//! What it prints: each client's writes and reads, the crash (with the crash
//! and restart reports on stderr) and the restart, and the store's size at the
//! end.
//!
//! Run: `cargo run -p bream-stdlib --example 09_kv_store`

use std::collections::HashMap;

use bream::ExitReason;
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, HandleCall, Init, Next, ReplyTo, ServerRef,
};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Strategy, Supervisor};

const NAME: &str = "kv";
const CLIENTS: u32 = 8;
const KEYS_PER_CLIENT: u32 = 100;

struct Kv(HashMap<String, u64>);

/// Reads: each request is its own type and names its reply type, so a
/// client's `call` returns exactly that (no reply enum to unpack).
struct Get(String);
/// The number of keys.
struct Len;
/// A bug in the store: the handler panics.
struct Explode;

enum Write {
    Put(String, u64),
}

impl GenServer for Kv {
    type Args = ();
    type Call = (); // every read has its own type: see the HandleCall impls
    type Reply = ();
    type Cast = Write;
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        println!("kv: started as {}", bream::self_pid());
        Init::ok(Kv(HashMap::new()))
    }
    fn handle_cast(&mut self, Write::Put(key, value): Write) -> Next<Self> {
        self.0.insert(key, value);
        Next::Wait
    }
}

impl HandleCall<Get> for Kv {
    type Reply = Option<u64>;
    fn handle_call(
        &mut self,
        Get(key): Get,
        _: ReplyTo<Option<u64>>,
    ) -> CallResult<Self, Option<u64>> {
        CallResult::reply(self.0.get(&key).copied())
    }
}

impl HandleCall<Len> for Kv {
    type Reply = usize;
    fn handle_call(&mut self, _: Len, _: ReplyTo<usize>) -> CallResult<Self, usize> {
        CallResult::reply(self.0.len())
    }
}

impl HandleCall<Explode> for Kv {
    type Reply = ();
    fn handle_call(&mut self, _: Explode, _: ReplyTo<()>) -> CallResult<Self, ()> {
        panic!("disk on fire")
    }
}

/// One client: write its keys, read them back, report how many it found.
fn client(n: u32, report: bream::Pid) {
    let kv = ServerRef::<Kv>::named(NAME);
    for k in 0..KEYS_PER_CLIENT {
        gen_server::cast(&kv, Write::Put(format!("{n}/{k}"), u64::from(n * 1000 + k)));
    }
    let mut found: u32 = 0;
    for k in 0..KEYS_PER_CLIENT {
        match gen_server::call(&kv, Get(format!("{n}/{k}")), gen_server::DEFAULT_TIMEOUT) {
            Ok(Some(v)) if v == u64::from(n * 1000 + k) => found += 1,
            Ok(_) => {}
            Err(e) => panic!("client {n}: {e}"),
        }
    }
    bream::send(report, (n, found));
}

fn main() {
    // Crash reports (the store's crash) and the supervisor's restart report go
    // to stderr: tracing_subscriber's fmt writes to stdout unless told. (With no
    // subscriber at all, bream prints its crash reports to stderr itself.)
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
    bream::run(|| {
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(ChildSpec::worker("kv", || {
                gen_server::start_link_named::<Kv>(NAME, ()).map(|kv| kv.pid().unwrap())
            }))
            .start_link()
            .expect("the store starts");

        let me = bream::self_pid();
        for n in 0..CLIENTS {
            bream::spawn(move || client(n, me));
        }
        let mut total = 0;
        for _ in 0..CLIENTS {
            let (n, found): (u32, u32) = bream::receive();
            println!("client {n}: wrote {KEYS_PER_CLIENT} keys, read {found} back");
            total += found;
        }
        let kv = ServerRef::<Kv>::named(NAME);
        let len = gen_server::call(&kv, Len, gen_server::DEFAULT_TIMEOUT);
        println!("{CLIENTS} clients read {total} values; the store holds {len:?} keys");

        // Crash the store while a client is waiting on it: the call returns
        // the store's exit reason instead of waiting for the timeout.
        let old = kv.pid().unwrap();
        let seen = gen_server::call(&kv, Explode, gen_server::DEFAULT_TIMEOUT);
        println!("the client whose call crashed the store got: {seen:?}");
        assert!(matches!(seen, Err(CallError::Exit(ExitReason::Panic(_)))));

        // The supervisor restarted it under the same name; clients carry on.
        let mut new = kv.pid();
        while new.is_none() || new == Some(old) {
            bream::sleep(std::time::Duration::from_millis(1));
            new = kv.pid();
        }
        println!(
            "kv: {old} crashed, the supervisor restarted it as {}",
            new.unwrap()
        );
        gen_server::cast(&kv, Write::Put("after".into(), 1));
        let after = gen_server::call(&kv, Get("after".into()), gen_server::DEFAULT_TIMEOUT);
        println!("a write and a read after the restart: {after:?}");
        let len = gen_server::call(&kv, Len, gen_server::DEFAULT_TIMEOUT);
        println!("the restarted store holds {len:?} keys (state is not kept across a crash)");
        let children = supervisor::which_children(&sup).unwrap();
        assert!(matches!(children[0].state, ChildState::Running(_)));
    });
}
