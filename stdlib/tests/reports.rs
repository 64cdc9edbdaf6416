//! Supervisor reports, tested against OTP's documentation: OTP Design
//! Principles, "Supervisor Behaviour" and the SASL User's Guide, "Supervisor
//! Report" (a report when a child terminates, when it is restarted, when it
//! fails to start, and when the restart intensity is reached).
//!
//! bream's reports are `tracing` events with target `bream_stdlib::supervisor`.
//! This file installs a global subscriber that records every event, so each test
//! picks the events of its own child ids.

mod common;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use bream::ExitReason;
use bream_stdlib::supervisor::{ChildSpec, Strategy, Supervisor};
use bream_stdlib::StartError;
use common::*;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One recorded event: its message and fields, as text.
#[derive(Clone, Debug)]
struct Record {
    target: String,
    fields: BTreeMap<String, String>,
}

impl Record {
    fn get(&self, field: &str) -> &str {
        self.fields.get(field).map(String::as_str).unwrap_or("")
    }
}

struct Recorder;

impl Visit for Record {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut record = Record {
            target: event.metadata().target().to_owned(),
            fields: BTreeMap::new(),
        };
        event.record(&mut record);
        records().lock().unwrap().push(record);
    }
}

fn records() -> &'static Mutex<Vec<Record>> {
    static RECORDS: OnceLock<Mutex<Vec<Record>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        Mutex::new(Vec::new())
    })
}

/// The supervisor reports about `child_id` so far, as (message, record).
fn reports_about(child_id: &str) -> Vec<(String, Record)> {
    records()
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target == "bream_stdlib::supervisor" && r.get("child_id") == child_id)
        .map(|r| (r.get("message").to_owned(), r.clone()))
        .collect()
}

#[test]
fn a_crash_and_its_restart_give_one_report_each() {
    records();
    bream::run(|| {
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(tracked("reported", bream::self_pid()))
            .start_link()
            .unwrap();
        let old = started("reported");
        crash(old);
        let new = started("reported");
        no_more_events(&sup);
        let reports = reports_about("reported");
        let messages: Vec<_> = reports.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(messages, vec!["child terminated", "child restarted"]);
        let (terminated, restarted) = (&reports[0].1, &reports[1].1);
        assert_eq!(terminated.get("pid"), format!("{old:?}"));
        assert_eq!(
            terminated.get("reason"),
            format!("{:?}", ExitReason::Other("crash".into()))
        );
        assert_eq!(restarted.get("pid"), format!("{new:?}"));
        assert_eq!(restarted.get("reason"), terminated.get("reason"));
        assert_eq!(
            terminated.get("supervisor"),
            format!("{:?}", sup.pid().unwrap())
        );
    });
}

#[test]
fn a_failed_start_and_reaching_the_intensity_are_reported() {
    records();
    bream::run(|| {
        let failing = ChildSpec::worker("never", || {
            Err(StartError::Init(ExitReason::Other("no".into())))
        });
        let r = Supervisor::new(Strategy::OneForOne).child(failing).start();
        assert!(r.is_err());
        let reports = reports_about("never");
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].0, "child failed to start");

        let sup = Supervisor::new(Strategy::OneForOne)
            .intensity(0)
            .child(tracked("fragile", bream::self_pid()))
            .start()
            .unwrap();
        let monitor = bream::monitor(sup.pid().unwrap());
        crash(started("fragile"));
        assert_eq!(down(monitor), ExitReason::Shutdown);
        let messages: Vec<_> = reports_about("fragile")
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(
            messages,
            vec![
                "child terminated",
                "reached max restart intensity; shutting down"
            ]
        );
    });
}
