//! A unique registry's key as a [`Via`](crate::name::Via) name: what
//! [`Name::via`](crate::name::Name::via) builds, so a behaviour can register
//! itself under a Registry key at start and be found by it.

use std::fmt;
use std::hash::Hash;

use bream::Pid;

use super::{Keys, RegisterError, Registry};
use crate::name::NameError;

/// A unique registry's key as a [`Via`](crate::name::Via) name.
pub(crate) struct ViaKey<K, V> {
    registry: Registry<K, V>,
    key: K,
    value: V,
}

impl<K, V> ViaKey<K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    /// # Panics
    /// If `registry` has duplicate keys (a name needs a unique registry, as
    /// Elixir's `register_name/2` insists).
    pub(crate) fn new(registry: Registry<K, V>, key: K, value: V) -> Self {
        assert_eq!(
            registry.keys_kind(),
            Keys::Unique,
            "a via name needs a registry with unique keys"
        );
        ViaKey {
            registry,
            key,
            value,
        }
    }
}

impl<K, V> crate::name::Via for ViaKey<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn register_self(&self) -> Result<(), NameError> {
        match self.registry.register(self.key.clone(), self.value.clone()) {
            Ok(()) => Ok(()),
            Err(RegisterError::AlreadyRegistered(pid)) => Err(NameError::Taken(pid)),
            Err(e @ RegisterError::NotRunning) => Err(NameError::Unavailable(e.to_string())),
        }
    }

    fn unregister_self(&self) {
        self.registry.unregister(&self.key);
    }

    fn whereis(&self) -> Option<Pid> {
        self.registry.lookup(&self.key).first().map(|(pid, _)| *pid)
    }

    fn describe(&self) -> String {
        format!("{:?}", self.key)
    }
}
