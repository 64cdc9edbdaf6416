//! The supervisor process: a [`GenServer`] that traps exits, as OTP's
//! `supervisor` is a `gen_server`.
//!
//! Its `init` traps exits, then calls the user's init callback (OTP's
//! `Module:init/1`), which returns the flags and child specs, or `Ignore`; so
//! every start, and every restart by a parent supervisor, reads the spec
//! afresh. Then it checks the spec and starts the children in order.
//!
//! Its state is the list of children in start order. Its whole job is one
//! message: `Exit { from: child, reason }`. For that it
//!
//! 1. reports the crash (one `tracing` event),
//! 2. decides by the child's [`Restart`] whether it restarts at all
//!    (Temporary: never; Transient: not after `Normal`/`Shutdown`); a child
//!    that is not restarted and is significant may shut the supervisor down
//!    ([`AutoShutdown`]): it exits `Shutdown` as after step 3,
//! 3. counts the restart: more than `intensity` in `period` and it terminates
//!    every child (last started first) and exits `Shutdown`, which its own
//!    supervisor sees as the exit of one of *its* children, so the failure climbs
//!    the tree one level at a time,
//! 4. terminates the siblings the [`Strategy`] names (last first), drops the
//!    Temporary ones among them, and starts the group again in start order.
//!
//! A restart that fails leaves the child `Restarting` and sends the supervisor a
//! [`Note::Retry`] message; each retry counts as a restart, so a child that can never
//! start ends in "intensity exceeded" rather than a busy loop (OTP's
//! `try_again_restart`).
//!
//! The exit signal of the supervisor's own parent never gets here: the gen_server
//! loop turns it into `terminate`, which stops the children last-first.

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::time::{Duration, Instant};

use bream::{ExitReason, Pid};

use super::api::{Init as SupInit, InitFn};
use super::child::{self, Child, ChildState};
use super::intensity::RestartWindow;
use super::manage::{ChildCounts, ChildError, ChildInfo, ChildKey};
use super::publish::{self, Note};
use super::report;
use super::spec::{check_one, AutoShutdown, ChildSpec, ChildType, Restart, Starter, Strategy};
use crate::gen_server::{CallResult, GenServer, Info, Init, Next, ReplyTo};
use crate::start::StartError;

/// What the supervisor process is started with: the init callback.
pub(crate) struct SupArgs {
    pub(crate) init: InitFn,
}

/// A request to a supervisor (the `Call` type of its gen_server).
pub(crate) enum Request {
    StartChild(ChildSpec),
    StartDynamic(Box<dyn Any + Send>),
    Terminate(ChildKey),
    Restart(String),
    Delete(String),
    GetSpec(ChildKey),
    Which,
    Count,
}

/// The supervisor's answer to a [`Request`].
pub(crate) enum Response {
    Started(Result<Option<Pid>, ChildError>),
    Done(Result<(), ChildError>),
    Spec(Result<ChildSpec, ChildError>),
    Which(Vec<ChildInfo>),
    Count(ChildCounts),
}

/// The supervisor process's gen_server: its state, which `sys` sees as a
/// [`SupervisorState`] (`sys::get_state(&sup)`).
pub(crate) struct SupServer(pub(crate) SupervisorState);

/// A supervisor's state, as [`sys::get_state`](crate::sys::get_state) and
/// [`sys::with_state`](crate::sys::with_state) show it (OTP's `#state{}`
/// record): its flags, its children, its recent restarts. Owned by the
/// supervisor's process; a copy from `get_state` is a snapshot.
#[derive(Clone)]
pub struct SupervisorState {
    strategy: Strategy,
    auto_shutdown: AutoShutdown,
    /// The restarts that count against the intensity.
    restarts: RestartWindow,
    /// The children in start order (for `SimpleOneForOne`: the dynamic ones).
    children: Vec<Child>,
    /// `SimpleOneForOne`'s template.
    template: Option<ChildSpec>,
    /// The exit that caused the restarts in progress (for the reports).
    cause: ExitReason,
    /// A deferred publish of the children is on its way (publish.rs).
    publish_pending: bool,
}

impl GenServer for SupServer {
    type Args = SupArgs;
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Info = Note;
    type Continue = ();

    fn init(args: SupArgs) -> Init<Self> {
        bream::trap_exit(true);
        let spec = match (args.init)() {
            SupInit::Ready(spec) => spec,
            SupInit::Ignore => return Init::Ignore,
        };
        if let Err(why) = spec.validate() {
            return Init::Fail(StartError::BadSpec(why.to_string()));
        }
        let mut sup = SupervisorState {
            strategy: spec.strategy,
            auto_shutdown: spec.auto_shutdown,
            restarts: RestartWindow::new(spec.intensity, spec.period),
            children: Vec::new(),
            template: None,
            cause: ExitReason::Normal,
            publish_pending: false,
        };
        if spec.strategy == Strategy::SimpleOneForOne {
            sup.template = spec.children.into_iter().next();
            sup.show_children();
            return Init::ok(SupServer(sup));
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
        sup.show_children();
        Init::ok(SupServer(sup))
    }

    fn handle_call(&mut self, request: Request, _from: ReplyTo<Response>) -> CallResult<Self> {
        let changes = !matches!(
            request,
            Request::GetSpec(_) | Request::Which | Request::Count
        );
        let reply = match request {
            Request::StartChild(spec) => Response::Started(self.0.start_child(spec)),
            Request::StartDynamic(arg) => Response::Started(self.0.start_dynamic(arg)),
            Request::Terminate(key) => Response::Done(self.0.terminate_child(key)),
            Request::Restart(id) => Response::Started(self.0.restart_child(&id)),
            Request::Delete(id) => Response::Done(self.0.delete_child(&id)),
            Request::GetSpec(key) => Response::Spec(self.0.get_childspec(key)),
            Request::Which => Response::Which(self.0.which_children()),
            Request::Count => Response::Count(self.0.count_children()),
        };
        if changes {
            self.0.show_children();
        }
        CallResult::reply(reply)
    }

    fn handle_info(&mut self, info: Info<Note>) -> Next<Self> {
        let next = match info {
            Info::Exit(exit) => self.0.child_exited(exit.from, exit.reason),
            Info::Message(Note::Retry) => self.0.retry(),
            Info::Message(Note::Publish) => {
                self.0.publish_pending = false;
                publish::now(&self.0.children);
                return Next::Wait;
            }
            Info::Down(_) | Info::Timeout | Info::Response(_) => return Next::Wait,
        };
        self.0.show_children();
        next
    }

    fn format_status(&self) -> String {
        format!("{:?}", self.0)
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        if self.0.simple() {
            child::terminate_all(&mut self.0.children);
        } else {
            self.0.terminate_range(0..self.0.children.len());
        }
    }
}

/// What sys shows of a supervisor (`sys::get_status`, its `format_status`).
impl fmt::Debug for SupervisorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (intensity, period) = self.restarts.limits();
        f.debug_struct("Supervisor")
            .field("strategy", &self.strategy)
            .field("intensity", &intensity)
            .field("period", &period)
            .field("auto_shutdown", &self.auto_shutdown)
            .field("children", &self.which_children())
            .finish()
    }
}

/// A supervisor's state as sys sees it: what a program may read of it.
impl SupervisorState {
    /// The restart strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The restart intensity and period.
    pub fn intensity(&self) -> (u32, Duration) {
        self.restarts.limits()
    }

    /// The auto shutdown flag.
    pub fn auto_shutdown(&self) -> AutoShutdown {
        self.auto_shutdown
    }

    /// The children, in start order, as [`which_children`](super::which_children)
    /// reports them.
    pub fn children(&self) -> Vec<ChildInfo> {
        self.which_children()
    }

    /// How many restarts of the last period count against the intensity now.
    pub fn recent_restarts(&self) -> usize {
        self.restarts.recent(Instant::now())
    }
}

impl SupervisorState {
    /// The children may have changed: show the observer (publish.rs).
    fn show_children(&mut self) {
        publish::changed(&self.children, &mut self.publish_pending);
    }

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
            significant: spec.significant,
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

    /// A start's result as the child management calls return it: an ignored
    /// start is `Ok(None)` (OTP's `{ok, undefined}`).
    fn started(result: Result<Pid, StartError>) -> Result<Option<Pid>, ChildError> {
        match result {
            Ok(pid) => Ok(Some(pid)),
            Err(StartError::Ignore) => Ok(None),
            Err(error) => Err(ChildError::Start(error)),
        }
    }

    /// Terminate the running children in `range`, last first.
    fn terminate_range(&mut self, range: Range<usize>) {
        for child in self.children[range].iter_mut().rev() {
            child.terminate();
        }
    }

    // ---- the restart logic ------------------------------------------------

    fn child_exited(&mut self, pid: Pid, reason: ExitReason) -> Next<SupServer> {
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
            let significant = child.significant;
            if child.restart == Restart::Temporary || simple {
                self.children.remove(i);
            }
            if significant && self.auto_shutdown_due() {
                report::auto_shutdown(pid, &reason);
                return Next::Stop(ExitReason::Shutdown);
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

    /// A significant child exited by itself and is not restarted: whether
    /// that shuts the supervisor down (OTP's `do_auto_shutdown`). The child
    /// that exited is no longer running when this is asked.
    fn auto_shutdown_due(&self) -> bool {
        match self.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !self
                .children
                .iter()
                .any(|c| c.significant && c.state != ChildState::Undefined),
        }
    }

    /// Record a restart now; false if that is one too many.
    fn add_restart(&mut self) -> bool {
        self.restarts.add(Instant::now())
    }

    /// Restart child `failed` and the siblings its strategy names.
    fn restart_group(&mut self, failed: usize) -> Next<SupServer> {
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
    /// `Restarting` and a [`Note::Retry`] is queued.
    fn start_restarting(&mut self) -> Next<SupServer> {
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
                    bream::send(bream::self_pid(), Note::Retry);
                    return Next::Wait;
                }
            }
            i += 1;
        }
        Next::Wait
    }

    fn retry(&mut self) -> Next<SupServer> {
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

    fn start_child(&mut self, spec: ChildSpec) -> Result<Option<Pid>, ChildError> {
        if self.simple() {
            return Err(ChildError::SimpleOneForOne);
        }
        if spec.is_template() {
            return Err(ChildError::BadSpec(
                super::SpecError::DynamicOutsideSimpleOneForOne(spec.id),
            ));
        }
        check_one(&spec, Some(self.auto_shutdown)).map_err(ChildError::BadSpec)?;
        if let Some(i) = self.position(&spec.id) {
            return Err(match self.children[i].pid() {
                Some(pid) => ChildError::AlreadyStarted(pid),
                None => ChildError::AlreadyPresent,
            });
        }
        Self::started(self.add_and_start(spec))
    }

    fn start_dynamic(&mut self, arg: Box<dyn Any + Send>) -> Result<Option<Pid>, ChildError> {
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
            significant: template.significant,
            state: ChildState::Undefined,
        };
        Self::started(self.push_and_start(child))
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

    fn restart_child(&mut self, id: &str) -> Result<Option<Pid>, ChildError> {
        let i = self.stopped_child(id)?;
        let child = &mut self.children[i];
        let result = child.start();
        if let Err(error) = &result {
            if *error != StartError::Ignore {
                report::start_error(&child.id, error);
            }
        }
        Self::started(result)
    }

    fn get_childspec(&self, key: ChildKey) -> Result<ChildSpec, ChildError> {
        let i = match key {
            ChildKey::Pid(pid) => self.position_of_pid(pid),
            ChildKey::Id(_) if self.simple() => return Err(ChildError::SimpleOneForOne),
            ChildKey::Id(id) => self.position(&id),
        }
        .ok_or(ChildError::NotFound)?;
        match &self.template {
            Some(template) => Ok(template.clone()),
            None => Ok(self.children[i].spec()),
        }
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
            // OTP counts a SimpleOneForOne supervisor's one spec, its template.
            specs: if self.simple() {
                1
            } else {
                self.children.len()
            },
            active: self.children.iter().filter(|c| c.pid().is_some()).count(),
            supervisors: count(ChildType::Supervisor),
            workers: count(ChildType::Worker),
        }
    }
}
