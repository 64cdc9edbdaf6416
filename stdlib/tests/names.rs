//! `via` names, tested against OTP's gen_server(3) "ServerName" (`{local,
//! Name}`, `{via, Module, ViaName}`: "the process is registered ... via
//! Module:register_name/2"; `{error, {already_started, Pid}}`) and Elixir's
//! Registry "Using in :via".

mod watchdog;

use bream::ExitReason;
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, Init, NamedRef, ReplyTo, INFINITY,
};
use bream_stdlib::gen_statem::{self, CallbackMode, Event, GenStatem, Transition};
use bream_stdlib::name::{Name, NameError};
use bream_stdlib::registry::{Keys, Registry};
use bream_stdlib::supervisor::{self, ChildSpec, Strategy, Supervisor, SupervisorRef};
use bream_stdlib::StartError;
use watchdog::{down, run, wait_until, PATIENCE};

/// A counter that can be told to crash.
struct Counter(u64);

enum Req {
    Add(u64),
    Crash,
}

impl GenServer for Counter {
    type Args = u64;
    type Call = Req;
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    fn init(start: u64) -> Init<Self> {
        Init::Ready(Counter(start), gen_server::Next::Wait)
    }

    fn handle_call(&mut self, req: Req, _from: ReplyTo<u64>) -> CallResult<Self> {
        match req {
            Req::Add(n) => {
                self.0 += n;
                CallResult::reply(self.0)
            }
            Req::Crash => panic!("counter crash"),
        }
    }

    fn handle_cast(&mut self, n: u64) -> gen_server::Next<Self> {
        self.0 += n;
        gen_server::Next::Wait
    }
}

/// gen_server:start_link({via, Registry, Key}, ...), then call/cast by name.
#[test]
fn a_gen_server_started_and_called_by_registry_key() {
    run(|| {
        let reg: Registry<(String, u32)> = Registry::new(Keys::Unique).start_link().unwrap();
        let name = Name::via(&reg, ("room".to_string(), 7));
        let server = gen_server::start_link_named::<Counter>(name.clone(), 10).unwrap();
        assert_eq!(name.whereis(), server.pid());
        let by_name = NamedRef::<Counter>::new(name.clone());
        assert_eq!(gen_server::call(&by_name, Req::Add(1), PATIENCE), Ok(11));
        gen_server::cast(&by_name, 5);
        assert_eq!(gen_server::call(&by_name, Req::Add(0), PATIENCE), Ok(16));
        // The key's entry is the server's, registered before init ran.
        assert_eq!(reg.lookup(&("room".to_string(), 7)).len(), 1);
        gen_server::stop(&by_name, ExitReason::Normal, PATIENCE).unwrap();
        wait_until("the name is released", || name.whereis().is_none());
        assert_eq!(
            gen_server::call(&by_name, Req::Add(1), PATIENCE),
            Err(CallError::NoProc)
        );
    });
}

/// `{error, {already_started, Pid}}` for a via name that is taken.
#[test]
fn a_taken_via_name_is_already_started() {
    run(|| {
        let reg: Registry<&str> = Registry::new(Keys::Unique).start_link().unwrap();
        let name = Name::via(&reg, "one");
        let first = gen_server::start_named::<Counter>(name.clone(), 0).unwrap();
        let again = gen_server::start_named::<Counter>(name.clone(), 0);
        assert_eq!(again, Err(StartError::AlreadyStarted(first.pid().unwrap())));
        // The failed start left the first server's entry alone.
        assert_eq!(name.whereis(), first.pid());
        gen_server::stop(&first, ExitReason::Normal, PATIENCE).unwrap();
    });
}

/// A via name of a stopped registry: the start fails and says why.
#[test]
fn a_via_name_in_a_stopped_registry_fails_to_start() {
    run(|| {
        let reg: Registry<&str> = Registry::new(Keys::Unique);
        let name = Name::via(&reg, "nowhere");
        assert!(matches!(
            name.register_self(),
            Err(NameError::Unavailable(_))
        ));
        match gen_server::start_named::<Counter>(name, 0) {
            Err(StartError::Spawn(why)) => assert!(why.contains("not running"), "{why}"),
            other => panic!("expected a start error, got {other:?}"),
        }
    });
}

/// `{local, Name}` still works through the same Name type.
#[test]
fn a_local_name_is_a_name_too() {
    run(|| {
        let server = gen_server::start_named::<Counter>("names_local_counter", 1).unwrap();
        let by_name = NamedRef::<Counter>::new("names_local_counter");
        assert_eq!(by_name.pid(), server.pid());
        assert_eq!(gen_server::call(&by_name, Req::Add(1), PATIENCE), Ok(2));
        gen_server::stop(&server, ExitReason::Normal, INFINITY).unwrap();
    });
}

/// A supervised server named by a Registry key: after a crash the supervisor
/// restarts it under the same key, and a NamedRef reaches the new process.
#[test]
fn a_supervised_via_server_is_found_again_after_a_restart() {
    run(|| {
        let reg: Registry<u64> = Registry::new(Keys::Unique).start_link().unwrap();
        let name = Name::via(&reg, 42);
        let spec_name = name.clone();
        let spec = ChildSpec::worker("counter", move || {
            gen_server::start_link_named::<Counter>(spec_name.clone(), 0)
                .map(|s| s.pid().expect("a started server has a pid"))
        });
        let _sup = Supervisor::new(Strategy::OneForOne)
            .child(spec)
            .start_link()
            .unwrap();
        let counter = NamedRef::<Counter>::new(name.clone());
        let first = counter.pid().unwrap();
        assert_eq!(gen_server::call(&counter, Req::Add(3), PATIENCE), Ok(3));
        let m = bream::monitor(first);
        assert!(matches!(
            gen_server::call(&counter, Req::Crash, PATIENCE),
            Err(CallError::Exit(ExitReason::Panic(_)))
        ));
        down(m);
        wait_until("the restarted server took the name", || {
            counter.pid().is_some_and(|p| p != first)
        });
        assert_eq!(gen_server::call(&counter, Req::Add(1), PATIENCE), Ok(1));
    });
}

/// supervisor:start_link({via, Registry, Key}, ...): a supervisor named by a
/// Registry key, found by it, and its name taken while it runs.
#[test]
fn a_supervisor_started_by_registry_key() {
    run(|| {
        let reg: Registry<String> = Registry::new(Keys::Unique).start_link().unwrap();
        let name = Name::via(&reg, "workers".to_string());
        let sup = Supervisor::new(Strategy::OneForOne)
            .name(name.clone())
            .start_link()
            .unwrap();
        let found = SupervisorRef::whereis(&name).expect("registered under the key");
        assert_eq!(found.pid(), sup.pid());
        assert_eq!(supervisor::count_children(&found).unwrap().specs, 0);
        let again = Supervisor::new(Strategy::OneForOne)
            .name(name.clone())
            .start();
        assert_eq!(
            again.err(),
            Some(StartError::AlreadyStarted(sup.pid().unwrap()))
        );
        supervisor::stop(&found, ExitReason::Normal, PATIENCE).unwrap();
        wait_until("the key is free", || name.whereis().is_none());
    });
}

/// A switch: a gen_statem with two states, to start by via name.
struct Switch;

impl GenStatem for Switch {
    type Args = ();
    type State = bool;
    type Call = ();
    type Reply = bool;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init((): ()) -> gen_statem::Init<Self> {
        gen_statem::Init::ok(false, Switch)
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(|_, on: &bool, event| match event {
            Event::Cast(()) => Transition::next_state(!*on),
            Event::Call((), from) => Transition::keep_state().reply(from, *on),
            _ => Transition::keep_state(),
        })
    }
}

/// gen_statem:start_link({via, Registry, Key}, ...), then call/cast by name
/// (gen_statem(3) "server_name()": `{via, RegMod, ViaName}`).
#[test]
fn a_gen_statem_started_and_called_by_registry_key() {
    run(|| {
        let reg: Registry<(&str, u8)> = Registry::new(Keys::Unique).start_link().unwrap();
        let name = Name::via(&reg, ("switch", 1));
        let machine = gen_statem::start_link_named::<Switch>(name.clone(), ()).unwrap();
        let by_name = NamedRef::<Switch>::new(name.clone());
        assert_eq!(by_name.pid(), machine.pid());
        assert_eq!(gen_statem::call(&by_name, (), PATIENCE), Ok(false));
        gen_statem::cast(&by_name, ());
        assert_eq!(gen_statem::call(&by_name, (), PATIENCE), Ok(true));
        let again = gen_statem::start_named::<Switch>(name.clone(), ());
        assert_eq!(
            again.err(),
            Some(StartError::AlreadyStarted(machine.pid().unwrap()))
        );
        gen_statem::stop(&by_name, ExitReason::Normal, PATIENCE).unwrap();
        wait_until("the key is free", || name.whereis().is_none());
    });
}
