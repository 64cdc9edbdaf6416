//! The scope's server: the only writer of the scope's table; it monitors
//! members and subscribers and sends the join/leave events.

use std::collections::HashMap;
use std::sync::Arc;

use bream::{ExitReason, Pid};

use super::{Change, Event, Group, Groups, MonitorRef, Shared};
use crate::gen_server::{CallResult, GenServer, Info, Init, Next, ReplyTo};

pub(crate) enum Request<G> {
    Join(G, Vec<Pid>),
    Leave(G, Vec<Pid>),
    MonitorScope(Pid),
    Monitor(G, Pid),
    Demonitor(MonitorRef, Pid),
}

pub(crate) enum Reply<G> {
    Ok,
    NotJoined,
    NotRunning,
    Scope(MonitorRef, HashMap<G, Vec<Pid>>),
    Group(MonitorRef, Vec<Pid>),
}

/// A subscription: who, and to what (`None`: the whole scope).
struct Subscription<G> {
    subscriber: Pid,
    group: Option<G>,
}

pub(crate) struct ScopeServer<G: Group> {
    shared: Arc<Shared<G>>,
    /// Each member's monitor and the groups it joined (once per join).
    members: HashMap<Pid, (bream::MonitorRef, Vec<G>)>,
    /// Active subscriptions.
    subscriptions: HashMap<MonitorRef, Subscription<G>>,
    /// Each subscriber's monitor and how many subscriptions it holds.
    subscribers: HashMap<Pid, (bream::MonitorRef, usize)>,
}

impl<G: Group> ScopeServer<G> {
    fn groups(&self) -> std::sync::RwLockWriteGuard<'_, Groups<G>> {
        self.shared
            .groups
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, change: Change, group: &G, pids: &[Pid]) {
        if pids.is_empty() {
            return;
        }
        for (r, sub) in &self.subscriptions {
            if sub.group.as_ref().is_none_or(|g| g == group) {
                let event = Event {
                    monitor: *r,
                    change,
                    group: group.clone(),
                    pids: pids.to_vec(),
                };
                bream::send(sub.subscriber, event);
            }
        }
    }

    fn join(&mut self, group: G, pids: Vec<Pid>) {
        for &pid in &pids {
            let entry = self
                .members
                .entry(pid)
                .or_insert_with(|| (bream::monitor(pid), Vec::new()));
            entry.1.push(group.clone());
        }
        {
            let mut groups = self.groups();
            groups.all.entry(group.clone()).or_default().extend(&pids);
            groups.local.entry(group.clone()).or_default().extend(&pids);
        }
        self.notify(Change::Join, &group, &pids);
    }

    /// Remove one join of each pid from `group`; the pids that were members.
    fn leave(&mut self, group: &G, pids: &[Pid]) -> Vec<Pid> {
        let mut left = Vec::new();
        for &pid in pids {
            let Some((monitor, joined)) = self.members.get_mut(&pid) else {
                continue;
            };
            let Some(i) = joined.iter().position(|g| g == group) else {
                continue;
            };
            joined.swap_remove(i);
            if joined.is_empty() {
                bream::demonitor(*monitor, true);
                self.members.remove(&pid);
            }
            left.push(pid);
        }
        {
            let mut groups = self.groups();
            let Groups { all, local } = &mut *groups;
            for table in [all, local] {
                if let Some(members) = table.get_mut(group) {
                    for pid in &left {
                        if let Some(i) = members.iter().position(|p| p == pid) {
                            members.remove(i);
                        }
                    }
                    if members.is_empty() {
                        table.remove(group);
                    }
                }
            }
        }
        self.notify(Change::Leave, group, &left);
        left
    }

    /// A member exited: it leaves every group it joined.
    fn member_down(&mut self, pid: Pid) {
        let Some((_, joined)) = self.members.remove(&pid) else {
            return;
        };
        let mut per_group: Vec<(G, usize)> = Vec::new();
        for g in joined {
            match per_group.iter_mut().find(|(h, _)| *h == g) {
                Some((_, n)) => *n += 1,
                None => per_group.push((g, 1)),
            }
        }
        for (group, times) in per_group {
            {
                let mut groups = self.groups();
                let Groups { all, local } = &mut *groups;
                for table in [all, local] {
                    if let Some(members) = table.get_mut(&group) {
                        members.retain(|p| *p != pid);
                        if members.is_empty() {
                            table.remove(&group);
                        }
                    }
                }
            }
            self.notify(Change::Leave, &group, &vec![pid; times]);
        }
    }

    fn subscribe(&mut self, subscriber: Pid, group: Option<G>) -> MonitorRef {
        let r = MonitorRef(bream::make_ref());
        let entry = self
            .subscribers
            .entry(subscriber)
            .or_insert_with(|| (bream::monitor(subscriber), 0));
        entry.1 += 1;
        self.subscriptions
            .insert(r, Subscription { subscriber, group });
        r
    }

    fn unsubscribe(&mut self, r: MonitorRef, subscriber: Pid) -> bool {
        match self.subscriptions.get(&r) {
            Some(sub) if sub.subscriber == subscriber => {}
            _ => return false,
        }
        self.subscriptions.remove(&r);
        if let Some((monitor, n)) = self.subscribers.get_mut(&subscriber) {
            *n -= 1;
            if *n == 0 {
                bream::demonitor(*monitor, true);
                self.subscribers.remove(&subscriber);
            }
        }
        true
    }

    fn subscriber_down(&mut self, pid: Pid) {
        self.subscribers.remove(&pid);
        self.subscriptions.retain(|_, s| s.subscriber != pid);
    }
}

impl<G: Group> GenServer for ScopeServer<G> {
    type Args = Arc<Shared<G>>;
    type Call = Request<G>;
    type Reply = Reply<G>;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(shared: Arc<Shared<G>>) -> Init<Self> {
        // Trap exits so a supervisor's Shutdown runs `terminate`, which
        // empties the table.
        bream::trap_exit(true);
        *shared.groups.write().unwrap_or_else(|e| e.into_inner()) = Groups::default();
        Init::Ready(
            ScopeServer {
                shared,
                members: HashMap::new(),
                subscriptions: HashMap::new(),
                subscribers: HashMap::new(),
            },
            Next::Wait,
        )
    }

    fn handle_call(&mut self, request: Request<G>, _from: ReplyTo<Reply<G>>) -> CallResult<Self> {
        let reply = match request {
            Request::Join(group, pids) => {
                self.join(group, pids);
                Reply::Ok
            }
            Request::Leave(group, pids) => {
                let n = pids.len();
                if self.leave(&group, &pids).len() == n {
                    Reply::Ok
                } else {
                    Reply::NotJoined
                }
            }
            Request::MonitorScope(subscriber) => {
                let r = self.subscribe(subscriber, None);
                let groups = self.groups().all.clone();
                Reply::Scope(r, groups)
            }
            Request::Monitor(group, subscriber) => {
                let members = self.groups().all.get(&group).cloned().unwrap_or_default();
                let r = self.subscribe(subscriber, Some(group));
                Reply::Group(r, members)
            }
            Request::Demonitor(r, subscriber) => {
                if self.unsubscribe(r, subscriber) {
                    Reply::Ok
                } else {
                    Reply::NotJoined
                }
            }
        };
        CallResult::reply(reply)
    }

    fn handle_info(&mut self, info: Info<()>) -> Next<Self> {
        if let Info::Down(down) = info {
            if self.members.get(&down.pid).map(|(m, _)| *m) == Some(down.monitor) {
                self.member_down(down.pid);
            }
            if self.subscribers.get(&down.pid).map(|(m, _)| *m) == Some(down.monitor) {
                self.subscriber_down(down.pid);
            }
        }
        Next::Wait
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        *self.groups() = Groups::default();
    }
}
