//! The replicated state machine: a map of string keys to string values, and the address book
//! of the nodes added after the cluster started. Snapshots are its postcard encoding.

use std::collections::BTreeMap;
use std::io;

use pureraft::NodeId;
use serde::{Deserialize, Serialize};

use crate::api::{decode, encode, Command, Response};

/// The state machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    data: BTreeMap<String, String>,
    addresses: BTreeMap<NodeId, String>,
}

impl Store {
    /// Applies one committed command and answers what its client is told.
    pub fn apply(&mut self, command: &Command) -> Response {
        match command {
            Command::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                Response::Ok
            }
            Command::Delete { key } => {
                self.data.remove(key);
                Response::Ok
            }
            Command::Cas { key, expected, new } => {
                let swapped = self.data.get(key) == expected.as_ref();
                if swapped {
                    self.data.insert(key.clone(), new.clone());
                }
                Response::Swapped(swapped)
            }
            Command::Address { id, addr } => {
                self.addresses.insert(*id, addr.clone());
                Response::Ok
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.data.get(key).cloned()
    }

    /// The address the log gave node `id`, if any.
    pub fn address(&self, id: NodeId) -> Option<&str> {
        self.addresses.get(&id).map(String::as_str)
    }

    /// The snapshot's bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        encode(self)
    }

    /// The state a snapshot holds.
    pub fn restore(bytes: &[u8]) -> io::Result<Store> {
        decode(bytes)
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True if it holds no key.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_apply_as_a_map_and_snapshots_round_trip() {
        let mut store = Store::default();
        let put = |key: &str, value: &str| Command::Put {
            key: key.into(),
            value: value.into(),
        };
        assert_eq!(store.apply(&put("a", "1")), Response::Ok);
        let cas = |expected: Option<&str>, new: &str| Command::Cas {
            key: "a".into(),
            expected: expected.map(String::from),
            new: new.into(),
        };
        assert_eq!(store.apply(&cas(Some("2"), "3")), Response::Swapped(false));
        assert_eq!(store.apply(&cas(Some("1"), "3")), Response::Swapped(true));
        assert_eq!(store.get("a").as_deref(), Some("3"));
        store.apply(&Command::Delete { key: "a".into() });
        assert_eq!(store.get("a"), None);
        assert_eq!(store.apply(&cas(None, "4")), Response::Swapped(true));
        store.apply(&Command::Address {
            id: 4,
            addr: "127.0.0.1:7004".into(),
        });
        let restored = Store::restore(&store.snapshot()).unwrap();
        assert_eq!(restored, store);
        assert_eq!(restored.address(4), Some("127.0.0.1:7004"));
        assert!(Store::restore(&[0xff, 0xff, 0xff]).is_err());
    }
}
