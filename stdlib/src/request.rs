//! Asynchronous requests, shared by gen_server and gen_statem (OTP 23–25's
//! `send_request/2`, `receive_response/2`, `wait_response/2`,
//! `check_response/2` and the `reqids_*` collections, which both behaviours
//! export with the same meaning).
//!
//! `send_request` is the first half of a call: alias, tag, monitor, send; it
//! returns a [`ReqId`] at once, and the caller collects the answer when it
//! likes. So a process can have requests out to many servers at once and take
//! the answers as they come ([`ReqIds`]). Each behaviour has its own
//! `send_request` (`gen_server::send_request`, `gen_statem::send_request`),
//! because each puts its own call message in the server's mailbox; both are
//! [`send_request_to`] with that message, and everything after the send is
//! this module, the same for both.
//!
//! The answer is a [`Response`], not the typed reply message `call` waits for:
//! one type for every reply type, so that a behaviour process which sends
//! requests gets the answers as one kind of message (a gen_server in
//! `handle_info` as `Info::Response`, a gen_statem as `Event::Response`; their
//! loops drop messages of types they do not take) and recognises them with
//! [`check_response`] or [`ReqIds::check_response`], as OTP code does in
//! `handle_info`. The server's side does not change: it answers through its
//! [`ReplyTo`], which knows which kind of answer the caller waits for.
//!
//! Differences from OTP: a [`ReqId`] knows its reply type, so a collection
//! holds requests of one reply type (label them to tell them apart); a
//! completed request always leaves its collection (OTP's `Delete = true`); a
//! `Down` of a request's server is a separate message (`Info::Down`,
//! `Event::Down`), checked with [`ReqIds::check_down`].

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bream::{receive, Down, MonitorRef, Pid};

use crate::gen_server::{down_error, CallError, ReplyTo, INFINITY};

/// The answer to a `send_request`, as a message. Outside a behaviour process
/// it is taken by [`receive_response`] and friends; a gen_server gets it in
/// `handle_info` (`Info::Response`), a gen_statem as `Event::Response`, and
/// both open it with [`check_response`].
pub struct Response {
    tag: bream::Ref,
    value: Box<dyn Any + Send>,
}

impl Response {
    pub(crate) fn new(tag: bream::Ref, value: Box<dyn Any + Send>) -> Self {
        Response { tag, value }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response").field("tag", &self.tag).finish()
    }
}

/// A request sent with `gen_server::send_request` or `gen_statem::send_request`
/// whose answer is an `R` (OTP's request id). Not `Clone`: an answer is taken
/// once.
pub struct ReqId<R> {
    tag: bream::Ref,
    /// `None`: the server was not running when the request was made.
    live: Option<(bream::Alias, MonitorRef)>,
    _reply: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for ReqId<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqId").field("tag", &self.tag).finish()
    }
}

/// The first half of a call, for any behaviour: make the tag, the alias and
/// the monitor, and let `send` put the request, answered through the
/// `ReplyTo` it is given, into `pid`'s mailbox (`None`: nothing runs, and the
/// request answers `NoProc`). The server answers with a [`Response`].
pub(crate) fn send_request_to<Rep>(
    pid: Option<Pid>,
    send: impl FnOnce(Pid, ReplyTo<Rep>),
) -> ReqId<Rep> {
    let tag = bream::make_ref();
    let Some(pid) = pid else {
        return ReqId {
            tag,
            live: None,
            _reply: PhantomData,
        };
    };
    let alias = bream::alias();
    let monitor = bream::monitor(pid);
    send(pid, ReplyTo::new(alias, tag, true));
    ReqId {
        tag,
        live: Some((alias, monitor)),
        _reply: PhantomData,
    }
}

impl<R: Send + 'static> ReqId<R> {
    /// Whether `response` answers this request.
    fn answers(&self, response: &Response) -> bool {
        response.tag == self.tag
    }

    fn monitor(&self) -> Option<MonitorRef> {
        self.live.map(|(_, m)| m)
    }

    /// Done with this request: no answer can arrive after this.
    fn retire(&self) {
        if let Some((alias, monitor)) = self.live {
            bream::unalias(alias);
            bream::demonitor(monitor, true);
        }
    }

    fn open(&self, response: Response) -> R {
        self.retire();
        match response.value.downcast::<R>() {
            Ok(value) => *value,
            Err(_) => unreachable!("a response has its request's reply type"),
        }
    }

    /// Wait up to `timeout` for the answer; `None` if none came.
    fn wait(&self, timeout: Duration) -> Option<Result<R, CallError>> {
        let Some(monitor) = self.monitor() else {
            return Some(Err(CallError::NoProc));
        };
        let got = if timeout == INFINITY {
            receive! {
                r: Response if self.answers(&r) => Ok(r),
                d: Down if d.monitor == monitor => Err(d.reason),
            }
        } else {
            receive! {
                r: Response if self.answers(&r) => Ok(r),
                d: Down if d.monitor == monitor => Err(d.reason),
                after timeout => return None,
            }
        };
        Some(match got {
            Ok(response) => Ok(self.open(response)),
            Err(reason) => {
                self.retire();
                Err(down_error(reason))
            }
        })
    }
}

/// Wait up to `timeout` for the answer to `request` (OTP's
/// `gen_server:receive_response/2`, `gen_statem:receive_response/2`). On a
/// timeout the request is abandoned: a later answer is dropped by the
/// runtime, never queued.
///
/// # Errors
///
/// As a call: `Timeout`, `NoProc`, `Exit(reason)`.
pub fn receive_response<R: Send + 'static>(
    request: ReqId<R>,
    timeout: Duration,
) -> Result<R, CallError> {
    match request.wait(timeout) {
        Some(result) => result,
        None => {
            request.retire();
            // It may have come between the timeout and the unalias.
            request
                .wait(Duration::ZERO)
                .unwrap_or(Err(CallError::Timeout))
        }
    }
}

/// Wait up to `timeout` for the answer to `request` without abandoning it
/// (OTP's `gen_server:wait_response/2`, `gen_statem:wait_response/2`):
/// `Err(request)` hands it back on a timeout, to wait again later.
///
/// # Errors
///
/// `Err(request)` on a timeout; `Ok(Err(..))` as a call.
pub fn wait_response<R: Send + 'static>(
    request: ReqId<R>,
    timeout: Duration,
) -> Result<Result<R, CallError>, ReqId<R>> {
    request.wait(timeout).ok_or(request)
}

/// Whether `response` (a message a gen_server got as
/// [`Info::Response`](crate::gen_server::Info::Response), a gen_statem as
/// [`Event::Response`](crate::gen_statem::Event::Response)) answers `request`
/// (OTP's `gen_server:check_response/2`, `gen_statem:check_response/2`):
/// `Ok(reply)`, or both handed back.
///
/// # Errors
///
/// `Err((response, request))` if it answers another request.
pub fn check_response<R: Send + 'static>(
    response: Response,
    request: ReqId<R>,
) -> Result<R, (Response, ReqId<R>)> {
    if request.answers(&response) {
        Ok(request.open(response))
    } else {
        Err((response, request))
    }
}

/// A collection of requests, each with a label (OTP 25's request id
/// collections: `reqids_new/0`, `reqids_add/3`, `reqids_size/1`,
/// `reqids_to_list/1`, and `receive_response/3` & co on a collection).
///
/// ```
/// use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo, ReqIds};
///
/// struct Square;
/// impl GenServer for Square {
///     type Args = (); type Call = u64; type Reply = u64; type Cast = ();
///     type Info = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::ok(Square) }
///     fn handle_call(&mut self, n: u64, _: ReplyTo<u64>) -> CallResult<Self> {
///         CallResult::reply(n * n)
///     }
/// }
/// bream::run(|| {
///     let mut requests = ReqIds::new();
///     for n in 1..=3u64 {
///         let server = gen_server::start::<Square>(()).unwrap();
///         requests.add(gen_server::send_request(&server, n), n);
///     }
///     let mut answers = Vec::new();
///     while let Ok((n, squared)) = requests.receive_response(gen_server::DEFAULT_TIMEOUT) {
///         answers.push((n, squared.unwrap()));
///     }
///     answers.sort();
///     assert_eq!(answers, [(1, 1), (2, 4), (3, 9)]);
/// });
/// ```
pub struct ReqIds<L, R> {
    requests: Vec<(ReqId<R>, L)>,
}

/// Why a collection gave no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoResponse {
    /// The collection is empty (OTP's `no_request`).
    NoRequest,
    /// No answer within the timeout (OTP's `timeout`).
    Timeout,
}

impl<L, R: Send + 'static> Default for ReqIds<L, R> {
    fn default() -> Self {
        ReqIds::new()
    }
}

impl<L, R: Send + 'static> ReqIds<L, R> {
    /// An empty collection (`reqids_new/0`).
    pub fn new() -> Self {
        ReqIds {
            requests: Vec::new(),
        }
    }

    /// Add `request` with `label` (`reqids_add/3`).
    pub fn add(&mut self, request: ReqId<R>, label: L) {
        self.requests.push((request, label));
    }

    /// How many requests wait for an answer (`reqids_size/1`).
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// No request waits.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The requests and their labels, leaving the collection empty
    /// (`reqids_to_list/1`).
    pub fn into_vec(self) -> Vec<(ReqId<R>, L)> {
        self.requests
    }

    /// Wait up to `timeout` for an answer to any of the requests, and take that
    /// request out (OTP's `receive_response/3`). On a timeout every request is
    /// abandoned and the collection emptied, as OTP does.
    ///
    /// # Errors
    ///
    /// [`NoResponse::NoRequest`] if empty, [`NoResponse::Timeout`].
    pub fn receive_response(
        &mut self,
        timeout: Duration,
    ) -> Result<(L, Result<R, CallError>), NoResponse> {
        let got = self.wait_response(timeout);
        if matches!(got, Err(NoResponse::Timeout)) {
            for (request, _) in &self.requests {
                request.retire();
            }
            // Answers that came between the timeout and the unaliases.
            if let Ok(answer) = self.wait_response(Duration::ZERO) {
                self.requests.clear();
                return Ok(answer);
            }
            self.requests.clear();
        }
        got
    }

    /// Wait up to `timeout` for an answer to any of the requests, and take that
    /// request out (OTP's `wait_response/3`); on a timeout the requests stay.
    ///
    /// # Errors
    ///
    /// [`NoResponse::NoRequest`] if empty, [`NoResponse::Timeout`].
    pub fn wait_response(
        &mut self,
        timeout: Duration,
    ) -> Result<(L, Result<R, CallError>), NoResponse> {
        if self.requests.is_empty() {
            return Err(NoResponse::NoRequest);
        }
        if let Some(i) = self.requests.iter().position(|(r, _)| r.live.is_none()) {
            let (_, label) = self.requests.swap_remove(i);
            return Ok((label, Err(CallError::NoProc)));
        }
        let find = |requests: &[(ReqId<R>, L)], pred: &dyn Fn(&ReqId<R>) -> bool| {
            requests.iter().position(|(r, _)| pred(r))
        };
        let reqs = &self.requests;
        let got = if timeout == INFINITY {
            receive! {
                r: Response if find(reqs, &|q| q.answers(&r)).is_some() => Ok(r),
                d: Down if find(reqs, &|q| q.monitor() == Some(d.monitor)).is_some() => Err(d),
            }
        } else {
            receive! {
                r: Response if find(reqs, &|q| q.answers(&r)).is_some() => Ok(r),
                d: Down if find(reqs, &|q| q.monitor() == Some(d.monitor)).is_some() => Err(d),
                after timeout => return Err(NoResponse::Timeout),
            }
        };
        Ok(match got {
            Ok(response) => {
                let i = find(&self.requests, &|q| q.answers(&response)).unwrap_or(0);
                let (request, label) = self.requests.swap_remove(i);
                (label, Ok(request.open(response)))
            }
            Err(down) => self.take_down(&down).unwrap_or_else(|| unreachable!()),
        })
    }

    /// Whether `response` (from a gen_server's `handle_info`, a gen_statem's
    /// `Event::Response`) answers one of
    /// the requests; if so take it out (OTP's `check_response/3`).
    ///
    /// # Errors
    ///
    /// `Err(response)`, handed back, if it answers none of them.
    pub fn check_response(&mut self, response: Response) -> Result<(L, R), Response> {
        match self.requests.iter().position(|(r, _)| r.answers(&response)) {
            Some(i) => {
                let (request, label) = self.requests.swap_remove(i);
                Ok((label, request.open(response)))
            }
            None => Err(response),
        }
    }

    /// Whether `down` (from a gen_server's `handle_info`, a gen_statem's
    /// `Event::Down`) is the `Down` of one
    /// of the requests' servers; if so take that request out, with the error
    /// its caller would have got.
    pub fn check_down(&mut self, down: &Down) -> Option<(L, CallError)> {
        self.take_down(down)
            .map(|(label, result)| (label, result.err().unwrap_or(CallError::NoProc)))
    }

    fn take_down(&mut self, down: &Down) -> Option<(L, Result<R, CallError>)> {
        let i = self
            .requests
            .iter()
            .position(|(r, _)| r.monitor() == Some(down.monitor))?;
        let (request, label) = self.requests.swap_remove(i);
        request.retire();
        Some((label, Err(down_error(down.reason.clone()))))
    }
}

impl<L: fmt::Debug, R> fmt::Debug for ReqIds<L, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.requests.iter().map(|(r, l)| (r, l)))
            .finish()
    }
}
