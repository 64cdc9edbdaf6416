//! gen_server, tested against OTP's documentation: gen_server(3) (start/3,
//! start_link/3, call/3, cast/2, reply/2, stop/3, and the callbacks init/1,
//! handle_call/3, handle_cast/2, handle_info/2, handle_continue/2, terminate/2)
//! and OTP Design Principles, "gen_server Behaviour".
//!
//! No test sleeps to wait for something: waits are messages (with a generous
//! timeout that only turns a hang into a failure), and nothing asserts on time.

use std::time::Duration;

use bream::{Down, Exit, ExitReason, Pid};
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, Info, Init, Next, ReplyTo, ServerRef, INFINITY,
};
use bream_stdlib::StartError;

/// Long enough that only a bug hits it.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a test server reports to its observer.
#[derive(Debug, PartialEq)]
enum Seen {
    Terminated(ExitReason),
    Info(u32),
    Exit(Exit),
    Down(Down),
    Timeout,
    Continued(u32),
    Deferred,
}

/// How the test server's `init` behaves.
#[derive(Clone)]
enum Start {
    Ok,
    Stop(ExitReason),
    Ignore,
    Panic,
    Continue(u32),
    TrapExits,
}

struct Args {
    observer: Pid,
    start: Start,
}

enum Req {
    Get,
    Add(u64),
    /// Keep the ReplyTo; answer on `Cast::ReplyNow`.
    Defer,
    /// Exit with this reason without answering.
    Die(ExitReason),
    /// Answer, then stop with this reason.
    ReplyThenStop(ExitReason),
    /// Panic in handle_call.
    Panic,
    /// Hand the ReplyTo to another process, which answers.
    Delegate,
    /// Return Next::Timeout(d).
    ArmTimeout(Duration),
    Hibernate,
}

enum Cast {
    Set(u64),
    ReplyNow(u64),
    /// Wait for a `Go` (so that what the test sent before it is queued), then
    /// return Next::Timeout(d).
    ArmTimeoutAfterGo(Duration),
}

/// Lets a server blocked in `Cast::ArmTimeoutAfterGo` go on.
struct Go;

struct Test {
    observer: Pid,
    count: u64,
    deferred: Vec<ReplyTo<u64>>,
}

impl GenServer for Test {
    type Args = Args;
    type Call = Req;
    type Reply = u64;
    type Cast = Cast;
    type Info = u32;
    type Continue = u32;

    fn init(args: Args) -> Init<Self> {
        let state = Test {
            observer: args.observer,
            count: 0,
            deferred: Vec::new(),
        };
        match args.start {
            Start::Ok => Init::ok(state),
            Start::Stop(reason) => Init::Stop(reason),
            Start::Ignore => Init::Ignore,
            Start::Panic => panic!("init exploded"),
            Start::Continue(n) => Init::Ready(state, Next::Continue(n)),
            Start::TrapExits => {
                bream::trap_exit(true);
                Init::ok(state)
            }
        }
    }

    fn handle_call(&mut self, req: Req, from: ReplyTo<u64>) -> CallResult<Self> {
        match req {
            Req::Get => CallResult::reply(self.count),
            Req::Add(n) => {
                self.count += n;
                CallResult::reply(self.count)
            }
            Req::Defer => {
                bream::send(self.observer, Seen::Deferred);
                self.deferred.push(from);
                CallResult::no_reply()
            }
            Req::Die(reason) => bream::exit_self(reason),
            Req::ReplyThenStop(reason) => CallResult::Reply(self.count, Next::Stop(reason)),
            Req::Panic => panic!("handle_call exploded"),
            Req::Delegate => {
                let count = self.count;
                bream::spawn(move || gen_server::reply(&from, count + 1000));
                CallResult::no_reply()
            }
            Req::ArmTimeout(d) => CallResult::Reply(self.count, Next::Timeout(d)),
            Req::Hibernate => CallResult::Reply(self.count, Next::Hibernate),
        }
    }

    fn handle_cast(&mut self, cast: Cast) -> Next<Self> {
        match cast {
            Cast::Set(n) => self.count = n,
            Cast::ArmTimeoutAfterGo(d) => {
                bream::receive::<Go>();
                return Next::Timeout(d);
            }
            Cast::ReplyNow(n) => {
                for from in self.deferred.drain(..) {
                    gen_server::reply(&from, n);
                }
            }
        }
        Next::Wait
    }

    fn handle_info(&mut self, info: Info<u32>) -> Next<Self> {
        let seen = match info {
            Info::Message(n) => Seen::Info(n),
            Info::Exit(e) => Seen::Exit(e),
            Info::Down(d) => Seen::Down(d),
            Info::Timeout => Seen::Timeout,
            Info::Response(_) => unreachable!("the test server sends no requests"),
        };
        bream::send(self.observer, seen);
        Next::Wait
    }

    fn handle_continue(&mut self, n: u32) -> Next<Self> {
        bream::send(self.observer, Seen::Continued(n));
        Next::Wait
    }

    fn terminate(&mut self, reason: &ExitReason) {
        bream::send(self.observer, Seen::Terminated(reason.clone()));
    }
}

fn args(start: Start) -> Args {
    Args {
        observer: bream::self_pid(),
        start,
    }
}

fn seen() -> Seen {
    bream::receive_timeout::<Seen>(PATIENCE).expect("the server reports")
}

fn started() -> ServerRef<Test> {
    gen_server::start::<Test>(args(Start::Ok)).expect("starts")
}

fn pid(server: &ServerRef<Test>) -> Pid {
    server.pid().expect("a pid")
}

// ---- start/3, start_link/3, init/1 ------------------------------------------

#[test]
fn call_and_cast_reach_their_callbacks() {
    bream::run(|| {
        let s = started();
        assert_eq!(gen_server::call(&s, Req::Add(2), PATIENCE), Ok(2));
        gen_server::cast(&s, Cast::Set(40));
        assert_eq!(gen_server::call(&s, Req::Add(2), PATIENCE), Ok(42));
    });
}

#[test]
fn init_stop_makes_start_return_the_reason() {
    bream::run(|| {
        let reason = ExitReason::Other("no config".into());
        let r = gen_server::start::<Test>(args(Start::Stop(reason.clone())));
        assert_eq!(r.unwrap_err(), StartError::Init(reason));
    });
}

#[test]
fn init_ignore_makes_start_return_ignore() {
    bream::run(|| {
        let r = gen_server::start_link::<Test>(args(Start::Ignore));
        assert_eq!(r.unwrap_err(), StartError::Ignore);
    });
}

#[test]
fn init_panic_makes_start_return_the_panic() {
    bream::run(|| {
        let r = gen_server::start::<Test>(args(Start::Panic));
        assert_eq!(
            r.unwrap_err(),
            StartError::Init(ExitReason::Panic("init exploded".into()))
        );
    });
}

#[test]
fn start_link_with_failing_init_returns_the_error_without_killing_the_caller() {
    // gen_server(3), start_link/3: "If Module:init/1 fails with Reason, the
    // function returns {error, Reason}". The caller does not trap exits here: it
    // survives because the server unlinks before it exits.
    bream::run(|| {
        let reason = ExitReason::Other("bad".into());
        let r = gen_server::start_link::<Test>(args(Start::Stop(reason.clone())));
        assert_eq!(r.unwrap_err(), StartError::Init(reason));
        let r = gen_server::start_link::<Test>(args(Start::Panic));
        assert!(matches!(r, Err(StartError::Init(ExitReason::Panic(_)))));
        // Still alive, and no stray Exit came: trap now and look.
        bream::trap_exit(true);
        assert_eq!(bream::receive_timeout::<Exit>(Duration::ZERO), None);
    });
}

#[test]
fn start_named_registers_and_a_second_start_is_already_started() {
    bream::run(|| {
        let s = gen_server::start_named::<Test>("gs_named", args(Start::Ok)).unwrap();
        assert_eq!(bream::whereis("gs_named"), s.pid());
        let by_name = ServerRef::<Test>::named("gs_named");
        assert_eq!(gen_server::call(&by_name, Req::Add(7), PATIENCE), Ok(7));
        let again = gen_server::start_named::<Test>("gs_named", args(Start::Ok));
        assert_eq!(again.unwrap_err(), StartError::AlreadyStarted(pid(&s)));
    });
}

#[test]
fn start_returns_a_spawn_failure_instead_of_panicking() {
    let rt = bream::Runtime::builder().max_processes(2).build().unwrap();
    rt.block_on(|| {
        let _first = started(); // the test process and this server: the limit
        match gen_server::start::<Test>(args(Start::Ok)) {
            Err(StartError::Spawn(why)) => assert!(why.contains("max_processes"), "{why}"),
            other => panic!("expected a spawn error, got {other:?}"),
        }
    });
    rt.shutdown();
}

#[test]
fn init_continue_runs_handle_continue_before_any_message() {
    bream::run(|| {
        let s = gen_server::start::<Test>(args(Start::Continue(9))).unwrap();
        assert_eq!(seen(), Seen::Continued(9));
        assert_eq!(gen_server::call(&s, Req::Get, PATIENCE), Ok(0));
    });
}

// ---- call/3 -------------------------------------------------------------------

#[test]
fn call_to_a_dead_server_is_noproc() {
    bream::run(|| {
        let s = started();
        gen_server::stop(&s, ExitReason::Normal, PATIENCE).unwrap();
        assert_eq!(
            gen_server::call(&s, Req::Get, PATIENCE),
            Err(CallError::NoProc)
        );
        let nobody = ServerRef::<Test>::named("gs_nobody");
        assert_eq!(
            gen_server::call(&nobody, Req::Get, PATIENCE),
            Err(CallError::NoProc)
        );
    });
}

#[test]
fn call_to_a_server_that_dies_mid_call_is_exit_with_its_reason() {
    bream::run(|| {
        let s = started();
        let reason = ExitReason::Other("crashed".into());
        assert_eq!(
            gen_server::call(&s, Req::Die(reason.clone()), INFINITY),
            Err(CallError::Exit(reason))
        );
    });
}

#[test]
fn call_times_out_and_the_caller_goes_on() {
    bream::run(|| {
        let s = started();
        assert_eq!(
            gen_server::call(&s, Req::Defer, Duration::from_millis(20)),
            Err(CallError::Timeout)
        );
        assert_eq!(seen(), Seen::Deferred);
        // The server is fine and answers the next call.
        assert_eq!(gen_server::call(&s, Req::Get, PATIENCE), Ok(0));
    });
}

#[test]
fn deferred_reply_from_the_server_later() {
    bream::run(|| {
        let s = started();
        let me = bream::self_pid();
        bream::spawn_link(move || {
            let r = gen_server::call(&s, Req::Defer, PATIENCE);
            bream::send(me, r);
        });
        // The server has the call parked (it said so): release it.
        assert_eq!(seen(), Seen::Deferred);
        gen_server::cast(&s, Cast::ReplyNow(77));
        let r = bream::receive_timeout::<Result<u64, CallError>>(PATIENCE);
        assert_eq!(r, Some(Ok(77)));
    });
}

#[test]
fn deferred_reply_from_another_process() {
    bream::run(|| {
        let s = started();
        gen_server::cast(&s, Cast::Set(1));
        assert_eq!(gen_server::call(&s, Req::Delegate, PATIENCE), Ok(1001));
    });
}

#[test]
fn late_reply_after_a_timeout_is_not_left_in_the_mailbox() {
    // OTP 24+ gen_server:call/3 uses an alias, so that a reply arriving after
    // the timeout is not left in the caller's queue. bream drops it in the runtime.
    bream::run(|| {
        let s = started();
        assert_eq!(
            gen_server::call(&s, Req::Defer, Duration::from_millis(1)),
            Err(CallError::Timeout)
        );
        assert_eq!(seen(), Seen::Deferred);
        // Now the server answers the abandoned call; the Get after it returns
        // only once that late reply has been sent.
        gen_server::cast(&s, Cast::ReplyNow(5));
        assert_eq!(gen_server::call(&s, Req::Get, PATIENCE), Ok(0));
        let info = bream::process_info(bream::self_pid()).unwrap();
        assert_eq!(info.message_queue_len, 0, "the late reply was dropped");
    });
}

#[test]
fn reply_then_stop_answers_the_caller_after_terminate() {
    bream::run(|| {
        let s = started();
        gen_server::cast(&s, Cast::Set(5));
        let server = pid(&s);
        let monitor = bream::monitor(server);
        let reason = ExitReason::Other("done".into());
        assert_eq!(
            gen_server::call(&s, Req::ReplyThenStop(reason.clone()), PATIENCE),
            Ok(5)
        );
        assert_eq!(seen(), Seen::Terminated(reason.clone()));
        let down: Down = bream::receive();
        assert_eq!((down.monitor, down.reason), (monitor, reason));
    });
}

#[test]
fn call_behind_a_deep_mailbox_still_works() {
    bream::run(|| {
        let s = started();
        let me = bream::self_pid();
        for i in 0..10_000u64 {
            bream::send(me, i);
        }
        assert_eq!(gen_server::call(&s, Req::Add(3), PATIENCE), Ok(3));
        // The backlog is untouched and in order.
        assert_eq!(bream::receive::<u64>(), 0);
        assert_eq!(bream::process_info(me).unwrap().message_queue_len, 9_999);
    });
}

#[test]
fn calling_self_is_an_error_not_a_deadlock() {
    struct Selfish;
    impl GenServer for Selfish {
        type Args = ();
        type Call = ();
        type Reply = Option<CallError>;
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn init(_: ()) -> Init<Self> {
            Init::ok(Selfish)
        }
        fn handle_call(&mut self, _: (), _: ReplyTo<Self::Reply>) -> CallResult<Self> {
            let me = ServerRef::<Selfish>::from_pid(bream::self_pid());
            CallResult::reply(gen_server::call(&me, (), PATIENCE).err())
        }
    }
    bream::run(|| {
        let s = gen_server::start::<Selfish>(()).unwrap();
        assert_eq!(
            gen_server::call(&s, (), PATIENCE),
            Ok(Some(CallError::CallingSelf))
        );
    });
}

// ---- handle_info/2, timeouts, hibernate --------------------------------------

#[test]
fn other_messages_exits_and_downs_reach_handle_info() {
    bream::run(|| {
        let s = gen_server::start::<Test>(args(Start::TrapExits)).unwrap();
        bream::send(pid(&s), 5u32);
        assert_eq!(seen(), Seen::Info(5));
        // An exit signal from a linked process that is not the parent.
        bream::exit(pid(&s), ExitReason::Other("hey".into()));
        assert_eq!(
            seen(),
            Seen::Exit(Exit {
                from: bream::self_pid(),
                reason: ExitReason::Other("hey".into())
            })
        );
    });
}

#[test]
fn a_timeout_return_fires_handle_info_timeout_unless_a_message_comes() {
    bream::run(|| {
        let s = started();
        gen_server::call(&s, Req::ArmTimeout(Duration::from_millis(1)), PATIENCE).unwrap();
        assert_eq!(seen(), Seen::Timeout);
        // A message already queued when the timeout is armed cancels it.
        gen_server::cast(&s, Cast::ArmTimeoutAfterGo(Duration::from_millis(1)));
        bream::send(pid(&s), 1u32);
        bream::send(pid(&s), Go);
        assert_eq!(seen(), Seen::Info(1));
        bream::sleep(Duration::from_millis(20));
        assert_eq!(bream::receive_timeout::<Seen>(Duration::ZERO), None);
    });
}

#[test]
fn a_hibernated_server_wakes_on_its_next_message_with_its_state() {
    bream::run(|| {
        let s = started();
        gen_server::cast(&s, Cast::Set(12));
        assert_eq!(gen_server::call(&s, Req::Hibernate, PATIENCE), Ok(12));
        // It gave its stack back and waits without one.
        let status = || bream::process_info(pid(&s)).map(|i| i.status);
        let mut waited = Duration::ZERO;
        while status() != Some(bream::Status::Hibernating) {
            assert!(waited < PATIENCE, "the server never hibernated");
            bream::sleep(Duration::from_millis(1));
            waited += Duration::from_millis(1);
        }
        assert_eq!(gen_server::call(&s, Req::Add(1), PATIENCE), Ok(13));
        assert_ne!(status(), Some(bream::Status::Hibernating));
    });
}

// ---- terminate/2, stop/3 -----------------------------------------------------

#[test]
fn stop_runs_terminate_and_waits_for_the_exit() {
    bream::run(|| {
        let s = started();
        let reason = ExitReason::Other("bye".into());
        assert_eq!(gen_server::stop(&s, reason.clone(), PATIENCE), Ok(()));
        assert_eq!(seen(), Seen::Terminated(reason));
        assert!(!bream::is_alive(pid(&s)));
        assert_eq!(
            gen_server::stop(&s, ExitReason::Normal, PATIENCE),
            Err(CallError::NoProc)
        );
    });
}

#[test]
fn a_parents_shutdown_runs_terminate_when_trapping() {
    bream::run(|| {
        let me = bream::self_pid();
        let (parent, _) = bream::spawn_monitor(move || {
            let s = gen_server::start_link::<Test>(Args {
                observer: me,
                start: Start::TrapExits,
            })
            .unwrap();
            bream::send(me, pid(&s));
            bream::receive::<()>();
        });
        let server: Pid = bream::receive();
        let monitor = bream::monitor(server);
        bream::exit(parent, ExitReason::Shutdown);
        assert_eq!(seen(), Seen::Terminated(ExitReason::Shutdown));
        let down = bream::receive! {
            d: Down if d.monitor == monitor => d,
            after PATIENCE => panic!("the server did not exit"),
        };
        assert_eq!(down.reason, ExitReason::Shutdown);
    });
}

#[test]
fn a_panicking_callback_runs_terminate_and_the_server_exits_with_the_panic() {
    bream::run(|| {
        let s = started();
        let monitor = bream::monitor(pid(&s));
        let r = gen_server::call(&s, Req::Panic, PATIENCE);
        let panic = ExitReason::Panic("handle_call exploded".into());
        assert_eq!(r, Err(CallError::Exit(panic.clone())));
        assert_eq!(seen(), Seen::Terminated(panic.clone()));
        let down: Down = bream::receive();
        assert_eq!((down.monitor, down.reason), (monitor, panic));
    });
}

#[test]
fn a_killed_server_does_not_run_terminate() {
    bream::run(|| {
        let s = started();
        let server = pid(&s);
        let monitor = bream::monitor(server);
        bream::exit(server, ExitReason::Kill);
        let down: Down = bream::receive();
        assert_eq!((down.monitor, down.reason), (monitor, ExitReason::Killed));
        assert_eq!(
            bream::receive_timeout::<Seen>(Duration::from_millis(20)),
            None
        );
    });
}
