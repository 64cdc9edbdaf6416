//! Names a behaviour is started and reached by: a local atom-like
//! `&'static str`, or a key in a name registry (OTP's `{via, Module, Term}`).
//!
//! OTP lets `gen_server:start_link/4`, `gen_statem:start_link/4` and
//! `supervisor:start_link/3` take a *server name*: `{local, Atom}`,
//! `{global, Term}` or `{via, Module, Term}`, where `Module` exports
//! `register_name/2`, `unregister_name/1`, `whereis_name/1` and `send/2`.
//! Elixir's `{:via, Registry, {registry, key}}` is the everyday use: one server
//! per user, per room, per device, named by a key that is not an atom.
//!
//! bream mirrors that with two pieces:
//!
//! - [`Via`], the trait a name registry implements (OTP's via-module
//!   callbacks). [`Registry`](crate::registry::Registry) implements it for its
//!   keys; a later distributed registry (OTP's `global`) can implement it too,
//!   and nothing that takes a [`Name`] changes.
//! - [`Name`], what a behaviour is given: [`Name::Local`] (the runtime's own
//!   registry, [`bream::register`]) or [`Name::Via`] (any [`Via`]).
//!
//! A behaviour uses a name twice: at start, the *new process* registers itself
//! ([`Name::register_self`]) before its `init` runs, so a second start with the
//! same name fails with the holder's pid (OTP's `{already_started, Pid}`); at
//! each call or cast, the client resolves the name to a pid
//! ([`Name::whereis`]), so a handle follows a restarted server that took the
//! name again.
//!
//! | OTP / Elixir                              | bream_stdlib                            |
//! |-------------------------------------------|-----------------------------------------|
//! | `{local, Name}`                           | [`Name::Local`]`("name")` / `Name::from("name")` |
//! | `{via, Registry, {Reg, Key}}`             | [`Name::via`]`(&reg, key)`              |
//! | `{via, Registry, {Reg, Key, Value}}`      | [`Name::via_with`]`(&reg, key, value)`  |
//! | via module callbacks                      | the [`Via`] trait                       |
//! | `GenServer.whereis/1`                     | [`Name::whereis`]                       |
//! | `call(Name, ..)` on a via name            | [`NamedRef`]`<B>`, any [`ToServer`]     |
//!
//! # Remote pids
//!
//! A `Via` answers a [`Pid`]; nothing here assumes the pid is local, so a
//! registry that answers pids of other nodes fits behind the same trait.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use bream::Pid;

/// A name registry (OTP's via module): registers the *calling* process under a
/// name, unregisters it, and resolves the name to a pid.
///
/// Implementations must release a name when its process exits (OTP requires
/// the same of a via module), so a crashed server's name is free for its
/// restart.
pub trait Via: Send + Sync + 'static {
    /// Register the calling process under this name (OTP's `register_name/2`
    /// with `self()`).
    ///
    /// # Errors
    /// [`NameError::Taken`] if a live process holds it, or
    /// [`NameError::Unavailable`] if the registry cannot register now.
    fn register_self(&self) -> Result<(), NameError>;
    /// Remove the calling process's registration under this name, if it holds
    /// it (OTP's `unregister_name/1`).
    fn unregister_self(&self);
    /// The process registered under this name now (OTP's `whereis_name/1`).
    fn whereis(&self) -> Option<Pid>;
    /// For `Debug`: how to print the name.
    fn describe(&self) -> String;
}

/// Why a name could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// A live process holds the name (OTP's `{already_started, Pid}`).
    Taken(Pid),
    /// The registry could not register it: not running, or (for a local
    /// name) the caller already has another local name. The text says which.
    Unavailable(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Taken(pid) => write!(f, "the name is taken by {pid}"),
            NameError::Unavailable(why) => write!(f, "cannot register the name: {why}"),
        }
    }
}

impl std::error::Error for NameError {}

/// What a behaviour is started and reached by (OTP's `ServerName`).
///
/// Cheap to clone (a `&'static str` or an `Arc`), `Send` and `Sync`, so a
/// supervisor's child spec can keep one and start a server with it at every
/// restart.
///
/// ```
/// use bream_stdlib::name::Name;
/// use bream_stdlib::registry::{Keys, Registry};
///
/// bream::run(|| {
///     let reg: Registry<String> = Registry::new(Keys::Unique).start_link().unwrap();
///     let name = Name::via(&reg, "room-42".to_string());
///     assert_eq!(name.whereis(), None);
///     name.register_self().unwrap();
///     assert_eq!(name.whereis(), Some(bream::self_pid()));
///     assert_eq!(Name::Local("absent").whereis(), None);
/// });
/// ```
#[derive(Clone)]
pub enum Name {
    /// A name in the runtime's own registry ([`bream::register`]).
    Local(&'static str),
    /// A name in another registry (OTP's `{via, Module, Term}`).
    Via(Arc<dyn Via>),
}

impl Name {
    /// `{via, Registry, {reg, key}}`: the key `key` in `reg`, registered with
    /// the value `V::default()`.
    pub fn via<K, V>(reg: &crate::registry::Registry<K, V>, key: K) -> Name
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static,
        V: Clone + Default + Send + Sync + 'static,
    {
        Name::via_with(reg, key, V::default())
    }

    /// `{via, Registry, {reg, key, value}}`: the key `key` in `reg`, registered
    /// with `value`.
    pub fn via_with<K, V>(reg: &crate::registry::Registry<K, V>, key: K, value: V) -> Name
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static,
        V: Clone + Send + Sync + 'static,
    {
        Name::Via(Arc::new(crate::registry::ViaKey::new(
            reg.clone(),
            key,
            value,
        )))
    }

    /// Register the calling process under this name.
    ///
    /// # Errors
    /// [`NameError::Taken`] with the holder's pid if another live process
    /// holds it (OTP's `{already_started, Pid}`); [`NameError::Unavailable`]
    /// if the registry cannot register it.
    pub fn register_self(&self) -> Result<(), NameError> {
        match self {
            Name::Local(name) => match bream::register(name, bream::self_pid()) {
                Ok(()) => Ok(()),
                Err(bream::RegisterError::NameTaken(holder)) => Err(NameError::Taken(holder)),
                Err(other) => Err(NameError::Unavailable(other.to_string())),
            },
            Name::Via(via) => via.register_self(),
        }
    }

    /// Give up the calling process's registration under this name.
    pub fn unregister_self(&self) {
        match self {
            Name::Local(name) => {
                if bream::whereis(name) == Some(bream::self_pid()) {
                    bream::unregister(name);
                }
            }
            Name::Via(via) => via.unregister_self(),
        }
    }

    /// The pid registered under this name now, if any (Elixir's
    /// `GenServer.whereis/1`).
    pub fn whereis(&self) -> Option<Pid> {
        match self {
            Name::Local(name) => bream::whereis(name),
            Name::Via(via) => via.whereis(),
        }
    }

    /// Send `msg` to the process registered under this name (OTP's via
    /// module's `send/2`; Erlang's `Name ! Msg`).
    ///
    /// # Errors
    /// The message back if no process holds the name.
    pub fn send<T: Send + 'static>(&self, msg: T) -> Result<(), bream::NotRegistered<T>> {
        match self.whereis() {
            Some(pid) => {
                bream::send(pid, msg);
                Ok(())
            }
            None => Err(bream::NotRegistered(msg)),
        }
    }

    /// The local name, if this is one: what `SpawnOpts::name` can register
    /// atomically with the spawn.
    pub fn local(&self) -> Option<&'static str> {
        match self {
            Name::Local(name) => Some(name),
            Name::Via(_) => None,
        }
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Name {
        Name::Local(name)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Local(name) => write!(f, "Local({name:?})"),
            Name::Via(via) => write!(f, "Via({})", via.describe()),
        }
    }
}

/// What a `ServerRef` or a `StatemRef` names: a pid, or a local name
/// resolved at each use (so the handle follows a restarted process that
/// registers the same name again). Plain data, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Pid(Pid),
    Name(&'static str),
}

impl Target {
    /// The pid now: `None` if the name is not registered.
    pub(crate) fn pid(self) -> Option<Pid> {
        match self {
            Target::Pid(pid) => Some(pid),
            Target::Name(name) => bream::whereis(name),
        }
    }

    /// The name, if it is one.
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Target::Pid(_) => None,
            Target::Name(name) => Some(name),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(pid) => write!(f, "{pid:?}"),
            Target::Name(name) => write!(f, "{name:?}"),
        }
    }
}

/// Anything a client can reach a behaviour process of type `B` through,
/// resolved to a pid at each use: a `gen_server::ServerRef<S>`, a
/// `gen_statem::StatemRef<M>`, or a [`NamedRef<B>`] (a process started with a
/// [`Name`], e.g. a Registry key: OTP's `{via, Module, Name}`).
/// `gen_server::call`, `cast`, `stop` and `send_request`, and
/// `gen_statem::call`, `cast` and `stop`, take any `ToServer`.
pub trait ToServer<B> {
    /// The process's pid now: `None` if nothing runs under the name.
    fn server_pid(&self) -> Option<Pid>;
}

/// A typed handle to whatever process runs the behaviour `B` (a `GenServer`
/// or a `GenStatem`) under a [`Name`] when it is used: OTP's
/// `{via, Registry, Key}` as a server reference. Unlike `ServerRef` it is
/// `Clone` but not `Copy`: a via name holds its registry (ADR registry-0002).
///
/// ```
/// use bream_stdlib::gen_server::{GenServer, Init};
/// use bream_stdlib::name::{Name, NamedRef};
/// # struct Kv;
/// # impl GenServer for Kv {
/// #     type Args = (); type Call = (); type Reply = (); type Cast = ();
/// #     type Info = (); type Continue = ();
/// #     fn init(_: ()) -> Init<Self> { Init::ok(Kv) }
/// # }
/// bream::run(|| {
///     let kv = NamedRef::<Kv>::new(Name::Local("kv"));
///     assert_eq!(kv.pid(), None); // nothing started yet
/// });
/// ```
pub struct NamedRef<B> {
    name: Name,
    _behaviour: PhantomData<fn() -> B>,
}

impl<B> NamedRef<B> {
    /// A handle to the process that runs `B` under `name`.
    pub fn new(name: impl Into<Name>) -> Self {
        NamedRef {
            name: name.into(),
            _behaviour: PhantomData,
        }
    }

    /// The process's pid now, if the name is registered.
    pub fn pid(&self) -> Option<Pid> {
        self.name.whereis()
    }

    /// The name.
    pub fn name(&self) -> &Name {
        &self.name
    }
}

impl<B> ToServer<B> for NamedRef<B> {
    fn server_pid(&self) -> Option<Pid> {
        self.pid()
    }
}

impl<B> Clone for NamedRef<B> {
    fn clone(&self) -> Self {
        NamedRef {
            name: self.name.clone(),
            _behaviour: PhantomData,
        }
    }
}

impl<B> fmt::Debug for NamedRef<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamedRef({:?})", self.name)
    }
}
