//! What a host hands back at restart, and why [`crate::Raft::new`] may refuse it.

use crate::config::ConfigError;
use crate::membership::{Membership, MembershipError};
use crate::prelude::*;
use crate::types::{Entry, HardState, LogIndex, NodeId, Snapshot, Term, INDEX_MAX, TERM_MAX};

/// What a host hands back to [`Raft::new`](crate::Raft::new) at restart: exactly what the
/// `Persist` actions wrote, plus the membership the cluster started with and how far the
/// host's state machine had applied. A node of a new cluster starts from
/// [`Restored::bootstrap`]; a node started empty to join a running cluster from
/// `Restored::default()`, and follows the leader that adds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Restored<C> {
    /// The last `Persist::HardState` written.
    pub hard_state: HardState,
    /// The snapshot to restart from: the last one stored by `Persist::Snapshot` (with the
    /// data the host reported in `Event::SnapshotTaken`) or `Action::InstallSnapshot`,
    /// whichever came last; `None` if there was none.
    pub snapshot: Option<Snapshot>,
    /// The stored log as the `Persist::Entries` actions left it: from index 1 without a
    /// snapshot, otherwise from at most the snapshot's index + 1 (entries the snapshot covers
    /// may be left in or deleted; they are dropped).
    pub entries: Vec<Entry<C>>,
    /// The highest index the host's state machine has applied durably (0 if it keeps its
    /// state in memory). Entries up to it count as committed and are not applied again. A
    /// host restores its state machine from `snapshot`, so applying resumes after the larger
    /// of this and the snapshot's index.
    pub applied: LogIndex,
    /// The membership the cluster was bootstrapped with (in force at index 0, before any
    /// configuration entry), the same on every founding node and stored once, at bootstrap;
    /// empty for a node that joins a running cluster. Once a snapshot exists, the snapshot's
    /// membership is the one in force at its index instead.
    pub membership: Membership,
}

impl<C> Restored<C> {
    /// A founding node of a new cluster of `voters`: nothing persisted yet, and the cluster's
    /// first membership. Every founding node starts from the same voters.
    pub fn bootstrap(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Restored {
            membership: Membership::new(voters),
            ..Restored::default()
        }
    }
}

impl<C> Default for Restored<C> {
    fn default() -> Self {
        Restored {
            hard_state: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
            applied: 0,
            membership: Membership::default(),
        }
    }
}

/// Why the state given to [`Raft::new`](crate::Raft::new) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The entry at this position of `entries` has index `found`, not `expected`: the stored
    /// log has a gap or does not start at 1.
    IndexGap {
        /// The index the entry should have.
        expected: LogIndex,
        /// The index it has.
        found: LogIndex,
    },
    /// The entry at `index` has term 0, which no leader ever writes.
    ZeroTerm {
        /// The entry's index.
        index: LogIndex,
    },
    /// The entry at `index` has a lower term than the entry before it.
    TermDecreases {
        /// The entry's index.
        index: LogIndex,
    },
    /// The entry at `index` has a term above the stored current term.
    TermAboveCurrent {
        /// The entry's index.
        index: LogIndex,
        /// The entry's term.
        term: Term,
        /// The stored current term.
        current_term: Term,
    },
    /// The hard state records a vote in term 0, before any election.
    VoteInTermZero,
    /// The stored term is above `TERM_MAX`, which no node reaches.
    TermBeyondMaximum {
        /// The stored term.
        term: Term,
    },
    /// `applied` is beyond the last stored entry.
    AppliedBeyondLog {
        /// The applied index given.
        applied: LogIndex,
        /// The last stored index.
        last_index: LogIndex,
    },
    /// The snapshot's index or term is 0: no snapshot covers the empty prefix.
    EmptySnapshot,
    /// The snapshot's index is above `u64::MAX / 2`, which no log reaches.
    SnapshotIndexBeyondMaximum {
        /// The snapshot's index.
        index: LogIndex,
    },
    /// The snapshot's term is above the stored current term.
    SnapshotTermAboveCurrent {
        /// The snapshot's last term.
        term: Term,
        /// The stored current term.
        current_term: Term,
    },
    /// A membership is invalid: the bootstrap one (`index` 0), the snapshot's (its index) or a
    /// configuration entry's (its index).
    InvalidMembership {
        /// Where the membership is.
        index: LogIndex,
        /// What is wrong with it.
        error: MembershipError,
    },
    /// The snapshot's configuration is said to come from an entry after the snapshot's index.
    SnapshotMembershipAfterIndex {
        /// The snapshot's `membership_index`.
        membership_index: LogIndex,
        /// The snapshot's last index.
        last_index: LogIndex,
    },
    /// The stored entry at the snapshot's index has another term than the snapshot.
    SnapshotConflict {
        /// The snapshot's index.
        index: LogIndex,
        /// The stored entry's term.
        entry_term: Term,
        /// The snapshot's term.
        snapshot_term: Term,
    },
}

impl core::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RestoreError::IndexGap { expected, found } => {
                write!(f, "stored log expected index {expected}, found {found}")
            }
            RestoreError::ZeroTerm { index } => write!(f, "stored entry {index} has term 0"),
            RestoreError::TermDecreases { index } => {
                write!(
                    f,
                    "stored entry {index} has a lower term than its predecessor"
                )
            }
            RestoreError::TermAboveCurrent {
                index,
                term,
                current_term,
            } => write!(
                f,
                "stored entry {index} has term {term}, above the current term {current_term}"
            ),
            RestoreError::VoteInTermZero => write!(f, "stored vote in term 0"),
            RestoreError::TermBeyondMaximum { term } => {
                write!(f, "stored term {term} is above the maximum {TERM_MAX}")
            }
            RestoreError::AppliedBeyondLog {
                applied,
                last_index,
            } => write!(
                f,
                "applied index {applied} is beyond the last stored entry {last_index}"
            ),
            RestoreError::EmptySnapshot => write!(f, "stored snapshot has index or term 0"),
            RestoreError::SnapshotIndexBeyondMaximum { index } => {
                write!(
                    f,
                    "stored snapshot index {index} is above the maximum {INDEX_MAX}"
                )
            }
            RestoreError::SnapshotTermAboveCurrent { term, current_term } => write!(
                f,
                "stored snapshot has term {term}, above the current term {current_term}"
            ),
            RestoreError::InvalidMembership { index, error } => {
                write!(f, "the membership at {index} is invalid: {error}")
            }
            RestoreError::SnapshotMembershipAfterIndex {
                membership_index,
                last_index,
            } => write!(
                f,
                "the snapshot at {last_index} names a configuration at {membership_index}, \
                 after it"
            ),
            RestoreError::SnapshotConflict {
                index,
                entry_term,
                snapshot_term,
            } => write!(
                f,
                "stored entry {index} has term {entry_term}, the snapshot there term \
                 {snapshot_term}"
            ),
        }
    }
}

impl core::error::Error for RestoreError {}

/// Why [`Raft::new`](crate::Raft::new) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The restored state is inconsistent.
    Restore(RestoreError),
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InitError::Config(error) => write!(f, "invalid configuration: {error}"),
            InitError::Restore(error) => write!(f, "invalid restored state: {error}"),
        }
    }
}

impl core::error::Error for InitError {}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

impl From<RestoreError> for InitError {
    fn from(error: RestoreError) -> Self {
        InitError::Restore(error)
    }
}
