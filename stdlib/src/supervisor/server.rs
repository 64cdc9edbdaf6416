//! The supervisor process: a [`GenServer`] that traps exits, as OTP's
//! `supervisor` is a `gen_server`.
//!
//! Its state is the list of children in start order. Its whole job is one
//! message: `Exit { from: child, reason }`. For that it
//!
//! 1. reports the crash (one `tracing` event),
//! 2. decides by the child's [`Restart`] whether it restarts at all
//!    (Temporary: never; Transient: not after `Normal`/`Shutdown`),
//! 3. counts the restart: more than `intensity` in `period` and it terminates
//!    every child (last started first) and exits `Shutdown`, which its own
//!    supervisor sees as the exit of one of *its* children, so the failure climbs
//!    the tree one level at a time,
//! 4. terminates the siblings the [`Strategy`] names (last first), drops the
//!    Temporary ones among them, and starts the group again in start order.
//!
//! A restart that fails leaves the child `Restarting` and sends the supervisor a
//! [`Retry`] message; each retry counts as a restart, so a child that can never
//! start ends in "intensity exceeded" rather than a busy loop (OTP's
//! `try_again_restart`).
//!
//! The exit signal of the supervisor's own parent never gets here: the gen_server
//! loop turns it into `terminate`, which stops the children last-first.

use std::any::Any;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use bream::{ExitReason, Pid};

use super::api::{ChildCounts, ChildError, ChildInfo, ChildKey};
use super::child::{self, Child, ChildState};
use super::report;
use super::spec::{ChildSpec, ChildType, Restart, Starter, Strategy};
use super::Supervisor;
use crate::gen_server::{CallResult, GenServer, Info, Init, Next, ReplyTo};
use crate::start::StartError;

/// A request to a supervisor (the `Call` type of its gen_server).
pub(crate) enum Request {
    StartChild(ChildSpec),
    StartDynamic(Box<dyn Any + Send>),
    Terminate(ChildKey),
    Restart(String),
    Delete(String),
    Which,
    Count,
}

/// The supervisor's answer to a [`Request`].
pub(crate) enum Response {
    Started(Result<Pid, ChildError>),
    Done(Result<(), ChildError>),
    Which(Vec<ChildInfo>),
    Count(ChildCounts),
}

/// "Try the failed restarts again" (sent to itself).
pub(crate) struct Retry;

/// The supervisor's state. Owned by its process only.
pub(crate) struct SupServer {
    strategy: Strategy,
    /// The restarts that count against the intensity.
    restarts: RestartWindow,
    /// The children in start order (for `SimpleOneForOne`: the dynamic ones).
    children: Vec<Child>,
    /// `SimpleOneForOne`'s template.
    template: Option<ChildSpec>,
    /// The exit that caused the restarts in progress (for the reports).
    cause: ExitReason,
}

impl GenServer for SupServer {
    type Args = Supervisor;
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Info = Retry;
    type Continue = ();

    fn init(spec: Supervisor) -> Init<Self> {
        bream::trap_exit(true);
        if let Err(why) = spec.validate() {
            return Init::Fail(StartError::BadSpec(why));
        }
        let mut sup = SupServer {
            strategy: spec.strategy,
            restarts: RestartWindow::new(spec.intensity, spec.period),
            children: Vec::new(),
            template: None,
            cause: ExitReason::Normal,
        };
        if spec.strategy == Strategy::SimpleOneForOne {
            sup.template = spec.children.into_iter().next();
            return Init::ok(sup);
        }
        for child_spec in spec.children {
            let id = child_spec.id.clone();
            if let Err(error) = sup.add_and_start(child_spec) {
                if error != StartError::Ignore {
                    sup.terminate_range(0..sup.children.len());
                    return Init::Fail(StartError::ChildFailed {
                        id,
                        error: Box::new(error),
                    });
                }
            }
        }
        Init::ok(sup)
    }

    fn handle_call(&mut self, request: Request, _from: ReplyTo<Response>) -> CallResult<Self> {
        CallResult::reply(match request {
            Request::StartChild(spec) => Response::Started(self.start_child(spec)),
            Request::StartDynamic(arg) => Response::Started(self.start_dynamic(arg)),
            Request::Terminate(key) => Response::Done(self.terminate_child(key)),
            Request::Restart(id) => Response::Started(self.restart_child(&id)),
            Request::Delete(id) => Response::Done(self.delete_child(&id)),
            Request::Which => Response::Which(self.which_children()),
            Request::Count => Response::Count(self.count_children()),
        })
    }

    fn handle_info(&mut self, info: Info<Retry>) -> Next<Self> {
        match info {
            Info::Exit(exit) => self.child_exited(exit.from, exit.reason),
            Info::Message(Retry) => self.retry(),
            Info::Down(_) | Info::Timeout | Info::Response(_) => Next::Wait,
        }
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        if self.simple() {
            child::terminate_all(&mut self.children);
        } else {
            self.terminate_range(0..self.children.len());
        }
    }
}

impl SupServer {
    fn simple(&self) -> bool {
        self.strategy == Strategy::SimpleOneForOne
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.id == id)
    }

    fn position_of_pid(&self, pid: Pid) -> Option<usize> {
        self.children.iter().position(|c| c.pid() == Some(pid))
    }

    /// Append a child made from `spec` and start it. An ignored child is kept
    /// (as `Undefined`) unless it is Temporary or dynamic; a failed one is not.
    fn add_and_start(&mut self, spec: ChildSpec) -> Result<Pid, StartError> {
        let Starter::Fixed(start) = spec.start else {
            return Err(StartError::BadSpec(
                "a dynamic spec needs SimpleOneForOne".into(),
            ));
        };
        self.push_and_start(Child {
            id: spec.id,
            start,
            restart: spec.restart,
            shutdown: spec.shutdown,
            kind: spec.kind,
            state: ChildState::Undefined,
        })
    }

    fn push_and_start(&mut self, mut child: Child) -> Result<Pid, StartError> {
        let result = child.start();
        match &result {
            Ok(_) => self.children.push(child),
            Err(StartError::Ignore) => {
                if child.restart != Restart::Temporary && !self.simple() {
                    self.children.push(child);
                }
            }
            Err(error) => report::start_error(&child.id, error),
        }
        result
    }

    /// Terminate the running children in `range`, last first.
    fn terminate_range(&mut self, range: Range<usize>) {
        for child in self.children[range].iter_mut().rev() {
            child.terminate();
        }
    }

    // ---- the restart logic ------------------------------------------------

    fn child_exited(&mut self, pid: Pid, reason: ExitReason) -> Next<Self> {
        let Some(i) = self.position_of_pid(pid) else {
            return Next::Wait; // not ours (any more): ignore, as OTP does
        };
        let simple = self.simple();
        let child = &mut self.children[i];
        child.state = ChildState::Undefined;
        let abnormal = !reason.is_normal();
        if abnormal || child.restart == Restart::Permanent {
            report::child_terminated(&child.id, pid, &reason);
        }
        let restart = match child.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        if !restart {
            if child.restart == Restart::Temporary || simple {
                self.children.remove(i);
            }
            return Next::Wait;
        }
        if !self.add_restart() {
            report::max_intensity(&self.children[i].id, pid, &reason);
            return Next::Stop(ExitReason::Shutdown);
        }
        self.cause = reason;
        self.restart_group(i)
    }

    /// Record a restart now; false if that is one too many.
    fn add_restart(&mut self) -> bool {
        self.restarts.add(Instant::now())
    }

    /// Restart child `failed` and the siblings its strategy names.
    fn restart_group(&mut self, failed: usize) -> Next<Self> {
        let group = match self.strategy {
            Strategy::OneForOne | Strategy::SimpleOneForOne => failed..failed + 1,
            Strategy::OneForAll => 0..self.children.len(),
            Strategy::RestForOne => failed..self.children.len(),
        };
        self.terminate_range(group.clone());
        // Temporary children are never restarted: they leave with the group.
        let mut i = group.start;
        let mut end = group.end;
        while i < end {
            if self.children[i].restart == Restart::Temporary {
                self.children.remove(i);
                end -= 1;
            } else {
                self.children[i].state = ChildState::Restarting;
                i += 1;
            }
        }
        self.start_restarting()
    }

    /// Start every `Restarting` child, in start order. On a failure, the rest stay
    /// `Restarting` and a [`Retry`] is queued.
    fn start_restarting(&mut self) -> Next<Self> {
        let simple = self.simple();
        let mut i = 0;
        while i < self.children.len() {
            let child = &mut self.children[i];
            if child.state != ChildState::Restarting {
                i += 1;
                continue;
            }
            match child.start() {
                Ok(pid) => report::child_restarted(&child.id, pid, &self.cause),
                Err(StartError::Ignore) if simple => {
                    self.children.remove(i);
                    continue;
                }
                Err(StartError::Ignore) => {}
                Err(error) => {
                    report::start_error(&child.id, &error);
                    child.state = ChildState::Restarting;
                    bream::send(bream::self_pid(), Retry);
                    return Next::Wait;
                }
            }
            i += 1;
        }
        Next::Wait
    }

    fn retry(&mut self) -> Next<Self> {
        let waiting = self
            .children
            .iter()
            .position(|c| c.state == ChildState::Restarting);
        let Some(i) = waiting else {
            return Next::Wait; // restarted meanwhile
        };
        if !self.add_restart() {
            let child = &self.children[i];
            report::max_intensity(&child.id, bream::self_pid(), &self.cause);
            return Next::Stop(ExitReason::Shutdown);
        }
        self.start_restarting()
    }

    // ---- the requests -----------------------------------------------------

    fn start_child(&mut self, spec: ChildSpec) -> Result<Pid, ChildError> {
        if self.simple() {
            return Err(ChildError::SimpleOneForOne);
        }
        if spec.is_template() {
            return Err(ChildError::Start(StartError::BadSpec(
                "a dynamic spec needs SimpleOneForOne".into(),
            )));
        }
        if let Some(i) = self.position(&spec.id) {
            return Err(match self.children[i].pid() {
                Some(pid) => ChildError::AlreadyStarted(pid),
                None => ChildError::AlreadyPresent,
            });
        }
        self.add_and_start(spec).map_err(ChildError::Start)
    }

    fn start_dynamic(&mut self, arg: Box<dyn Any + Send>) -> Result<Pid, ChildError> {
        let Some(template) = &self.template else {
            return Err(ChildError::NotSimpleOneForOne);
        };
        let Starter::Template(bind) = &template.start else {
            return Err(ChildError::NotSimpleOneForOne);
        };
        let start = bind(arg).ok_or(ChildError::WrongArgumentType)?;
        let child = Child {
            id: template.id.clone(),
            start,
            restart: template.restart,
            shutdown: template.shutdown,
            kind: template.kind,
            state: ChildState::Undefined,
        };
        self.push_and_start(child).map_err(ChildError::Start)
    }

    fn terminate_child(&mut self, key: ChildKey) -> Result<(), ChildError> {
        let i = match key {
            ChildKey::Pid(pid) => self.position_of_pid(pid),
            ChildKey::Id(_) if self.simple() => return Err(ChildError::SimpleOneForOne),
            ChildKey::Id(id) => self.position(&id),
        }
        .ok_or(ChildError::NotFound)?;
        self.children[i].terminate();
        if self.simple() || self.children[i].restart == Restart::Temporary {
            self.children.remove(i);
        }
        Ok(())
    }

    fn restart_child(&mut self, id: &str) -> Result<Pid, ChildError> {
        let i = self.stopped_child(id)?;
        let child = &mut self.children[i];
        child.start().map_err(|error| {
            report::start_error(&child.id, &error);
            ChildError::Start(error)
        })
    }

    fn delete_child(&mut self, id: &str) -> Result<(), ChildError> {
        let i = self.stopped_child(id)?;
        self.children.remove(i);
        Ok(())
    }

    /// The index of the child `id`, which must exist and not be running
    /// (the checks `restart_child` and `delete_child` share with OTP).
    fn stopped_child(&self, id: &str) -> Result<usize, ChildError> {
        if self.simple() {
            return Err(ChildError::SimpleOneForOne);
        }
        let i = self.position(id).ok_or(ChildError::NotFound)?;
        match self.children[i].state {
            ChildState::Running(_) => Err(ChildError::Running),
            ChildState::Restarting => Err(ChildError::Restarting),
            ChildState::Undefined => Ok(i),
        }
    }

    fn which_children(&self) -> Vec<ChildInfo> {
        self.children
            .iter()
            .map(|c| ChildInfo {
                id: c.id.clone(),
                state: c.state,
                kind: c.kind,
            })
            .collect()
    }

    fn count_children(&self) -> ChildCounts {
        let count = |kind| self.children.iter().filter(|c| c.kind == kind).count();
        ChildCounts {
            specs: self.children.len(),
            active: self.children.iter().filter(|c| c.pid().is_some()).count(),
            supervisors: count(ChildType::Supervisor),
            workers: count(ChildType::Worker),
        }
    }
}

/// Restart intensity: at most `intensity` restarts within any `period`
/// (OTP's `add_restart/1`, which keeps the restart times of the last period).
pub(crate) struct RestartWindow {
    intensity: u32,
    period: Duration,
    /// When the restarts within the last `period` happened, oldest first.
    times: VecDeque<Instant>,
}

impl RestartWindow {
    pub(crate) fn new(intensity: u32, period: Duration) -> Self {
        RestartWindow {
            intensity,
            period,
            times: VecDeque::new(),
        }
    }

    /// Record a restart at `now`; false if that makes more than `intensity`
    /// restarts within the last `period`.
    pub(crate) fn add(&mut self, now: Instant) -> bool {
        self.times.push_back(now);
        while let Some(&oldest) = self.times.front() {
            if now.duration_since(oldest) > self.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.len() <= self.intensity as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_defaults_allow_one_restart_in_five_seconds() {
        let t0 = Instant::now();
        let mut w = RestartWindow::new(1, Duration::from_secs(5));
        assert!(w.add(t0));
        assert!(
            !w.add(t0 + Duration::from_secs(4)),
            "a second within 5 s is one too many"
        );
    }

    #[test]
    fn restarts_older_than_the_period_no_longer_count() {
        let t0 = Instant::now();
        let mut w = RestartWindow::new(2, Duration::from_secs(1));
        assert!(w.add(t0));
        assert!(w.add(t0 + Duration::from_millis(500)));
        assert!(
            w.add(t0 + Duration::from_millis(1_200)),
            "the first has aged out"
        );
        assert!(!w.add(t0 + Duration::from_millis(1_400)));
    }

    #[test]
    fn intensity_zero_allows_no_restart() {
        let mut w = RestartWindow::new(0, Duration::from_secs(5));
        assert!(!w.add(Instant::now()));
    }
}
