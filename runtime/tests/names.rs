//! Registered names: `erlang:register/2`, `erlang:unregister/1`,
//! `erlang:whereis/1`, `erlang:registered/0` (ERTS reference manual), and the
//! Erlang Reference Manual, "Processes" chapter, §"Registered Processes".

use bream::{Exit, ExitReason, RegisterError};

#[test]
fn register_whereis_unregister() {
    bream::run(|| {
        let me = bream::self_pid();
        assert_eq!(bream::whereis("svc"), None);
        bream::register("svc", me).unwrap();
        assert_eq!(bream::whereis("svc"), Some(me));
        assert_eq!(bream::registered(), ["svc"]);
        assert!(bream::unregister("svc"));
        assert!(!bream::unregister("svc"));
        assert_eq!(bream::whereis("svc"), None);
        bream::register("svc", me).unwrap();
    });
}

#[test]
fn register_refuses_a_taken_name_a_named_process_and_a_dead_pid() {
    bream::run(|| {
        let me = bream::self_pid();
        let other = bream::spawn(bream::receive::<()>);
        bream::register("a", me).unwrap();
        assert_eq!(
            bream::register("a", other),
            Err(RegisterError::NameTaken(me))
        );
        assert_eq!(
            bream::register("b", me),
            Err(RegisterError::AlreadyNamed("a"))
        );
        let (dead, _) = bream::spawn_monitor(|| {});
        let _: bream::Down = bream::receive();
        assert_eq!(bream::register("c", dead), Err(RegisterError::NoProc));
        assert_eq!(bream::whereis("c"), None);
        bream::send(other, ());
    });
}

#[test]
fn a_name_is_released_when_its_process_exits_before_its_links_fire() {
    bream::run(|| {
        bream::trap_exit(true);
        let child = bream::spawn_link(|| {
            bream::register("short-lived", bream::self_pid()).unwrap();
            bream::exit_self(ExitReason::Other("gone".into()));
        });
        let e: Exit = bream::receive();
        assert_eq!(e.from, child);
        // The exit signal came after the name was released.
        assert_eq!(bream::whereis("short-lived"), None);
        let me = bream::self_pid();
        bream::register("short-lived", me).unwrap();
    });
}

#[test]
fn a_name_given_at_spawn_exists_before_the_process_runs() {
    bream::run(|| {
        let me = bream::self_pid();
        let opts = bream::SpawnOpts {
            name: Some("early"),
            ..Default::default()
        };
        let (pid, _) = bream::spawn_opt(opts, move || {
            bream::send(me, bream::whereis("early"));
            bream::receive::<()>();
        })
        .unwrap();
        assert_eq!(bream::whereis("early"), Some(pid));
        assert_eq!(bream::receive::<Option<bream::Pid>>(), Some(pid));
        assert_eq!(
            bream::process_info(pid).unwrap().registered_name,
            Some("early")
        );
        bream::send_named("early", ()).unwrap();
    });
}
