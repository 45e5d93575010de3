//! The outputs of `Raft::step`, and the ordering rule the host must keep.

use crate::prelude::*;
use alloc::sync::Arc;

use crate::entries::Entries;
use crate::membership::MembershipError;
use crate::message::Message;
use crate::types::{HardState, LogIndex, NodeId, Snapshot, SnapshotMeta, Term};

/// Something the host must do, returned by `Raft::step`.
///
/// **The ordering rule.** Carry out the actions of one step in the order they are returned,
/// and make each `Persist` durable (written and synced) before carrying out any later action
/// of the same batch. That is what makes a vote or an append acknowledgement safe: it is never
/// sent before the state it promises is on disk (Raft §5.1 and Figure 2; thesis §3.8).
///
/// With `Config::async_persistence`, a `Persist::Entries` may complete after later actions
/// (in the order the writes started), and its completion is reported with
/// `Event::Persisted`; every other write keeps the rule above. See the crate docs, "The
/// ordering rule".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Action<C> {
    /// Write this to durable storage, and sync it, before carrying out any later action (with
    /// `Config::async_persistence`, a `Persist::Entries` may complete later: see the crate
    /// docs, "The ordering rule").
    Persist(Persist<C>),
    /// Send `message` to node `to`. Delivery may fail, be delayed, duplicated or reordered:
    /// Raft tolerates all of it. Carry it out only after every earlier `Persist`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: Message<C>,
    },
    /// Apply these committed entries to the state machine, in order. Indices are contiguous
    /// and continue where the previous `Apply` ended (after a restart: from
    /// `Restored::applied + 1`). `Payload::Protocol` entries (no-ops, configurations) carry nothing to apply.
    Apply(Entries<C>),
    /// The proposal of this step was appended to the leader's log at `index` in `term`. It is
    /// committed once an `Apply` hands out the entry at `index` with this `term`; if an entry
    /// of another term shows up at `index`, the proposal was lost to a leader change.
    ProposalAccepted {
        /// Where the command was placed.
        index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// The batch of this step (`Event::ProposeBatch`) was appended to the leader's log in
    /// `term`, its commands at `first_index..=last_index` in the batch's order. Each is
    /// committed once an `Apply` hands out the entry at its index with this `term`.
    BatchAccepted {
        /// Where the batch's first command was placed.
        first_index: LogIndex,
        /// Where its last command was placed.
        last_index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// The proposal or batch of this step was refused; nothing was appended.
    ProposalRejected(ProposeError),
    /// A follower received a whole snapshot from its leader (Raft §7). Replace the state
    /// machine's state with `data`, store the snapshot durably as the one to restart from, and
    /// delete every stored entry: the stored log continues after `meta.last_index`. Like a
    /// `Persist`, this is durable before any later action is carried out. Applying resumes at
    /// `meta.last_index + 1`.
    InstallSnapshot(Arc<Snapshot>),
    /// With `Config::apply_by_range`, in place of `Apply`: apply the committed entries
    /// `first..=last` to the state machine, in order, reading them from the node with
    /// `Raft::committed_entries(first, last)` before stepping it again (a later step may drop
    /// them). The same sequence as `Apply`: contiguous, from where the previous one ended.
    ApplyRange {
        /// The first index to apply.
        first: LogIndex,
        /// The last index to apply.
        last: LogIndex,
    },
    /// The `Event::SnapshotTaken` of this step was refused; nothing changed.
    SnapshotRefused(SnapshotError),
    /// The read `context` (`Event::Read`) may be served once the host's state machine has
    /// applied every entry up to `index`: what it reads then reflects every write committed
    /// before the read arrived.
    ReadReady {
        /// The host's id for the read.
        context: u64,
        /// The read index.
        index: LogIndex,
    },
    /// The read `context` cannot be served here or now; retry it (see the error).
    ReadFailed {
        /// The host's id for the read.
        context: u64,
        /// Why.
        error: ReadError,
    },
    /// The `Event::TransferLeadership` of this step started: until it ends, proposals are
    /// refused.
    TransferStarted {
        /// The voter leadership goes to.
        to: NodeId,
    },
    /// The `Event::TransferLeadership` of this step was refused; nothing changed.
    TransferRejected(TransferError),
    /// The transfer to `to` did not complete within an election timeout: this node still
    /// leads, and accepts proposals again.
    TransferAborted {
        /// The voter leadership was to go to.
        to: NodeId,
    },
}

/// Why a read (`Event::Read`) could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ReadError {
    /// The node knows no leader (it campaigns, or has not heard from one): retry later.
    NoLeader,
    /// The leader lost its leadership before it could confirm it (or the leader a follower
    /// forwarded the read to refused it): retry at the new leader.
    LeadershipLost {
        /// The leader this node now knows, if any.
        leader_hint: Option<NodeId>,
    },
    /// The leader is handing leadership over to `to`: retry there once it leads.
    TransferInProgress {
        /// Where leadership goes.
        to: NodeId,
    },
    /// Leadership could not be confirmed within two election timeouts (a partition, most
    /// likely): retry.
    Timeout,
    /// The node holds `Config::max_pending_reads` reads already: retry once some are
    /// answered.
    TooManyPending,
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadError::NoLeader => write!(f, "no leader known"),
            ReadError::LeadershipLost {
                leader_hint: Some(leader),
            } => write!(f, "leadership lost; node {leader} leads"),
            ReadError::LeadershipLost { leader_hint: None } => write!(f, "leadership lost"),
            ReadError::TransferInProgress { to } => {
                write!(f, "leadership is being handed over to node {to}")
            }
            ReadError::Timeout => write!(f, "leadership not confirmed in time"),
            ReadError::TooManyPending => write!(f, "too many reads waiting"),
        }
    }
}

impl core::error::Error for ReadError {}

/// Why an `Event::TransferLeadership` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TransferError {
    /// This node is not the leader. `leader_hint` is the leader of the current term if this
    /// node knows it: ask there.
    NotLeader {
        /// The known leader, if any.
        leader_hint: Option<NodeId>,
    },
    /// The leader itself was named.
    ToSelf,
    /// The node named is a learner: it cannot lead. Promote it first.
    ToLearner(NodeId),
    /// The node named is no member of the configuration in force.
    UnknownNode(NodeId),
    /// A transfer to `to` is under way: wait until it ends.
    InProgress {
        /// Where the transfer under way goes.
        to: NodeId,
    },
}

impl core::fmt::Display for TransferError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TransferError::NotLeader {
                leader_hint: Some(leader),
            } => write!(f, "not the leader; node {leader} leads"),
            TransferError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader, and no leader known")
            }
            TransferError::ToSelf => write!(f, "the leader cannot transfer leadership to itself"),
            TransferError::ToLearner(id) => write!(f, "node {id} is a learner"),
            TransferError::UnknownNode(id) => write!(f, "node {id} is not a member"),
            TransferError::InProgress { to } => {
                write!(f, "a transfer to node {to} is under way")
            }
        }
    }
}

impl core::error::Error for TransferError {}

/// What to write to durable storage (see `Action::Persist`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Persist<C> {
    /// Replace the stored term and vote with this record, atomically.
    HardState(HardState),
    /// Store these entries: first delete every stored entry at or after `entries[0].index`,
    /// then append `entries` (contiguous, never empty). Both halves must become durable
    /// together or the deletion alone; never the append without the deletion.
    Entries(Entries<C>),
    /// The snapshot the host reported by `Event::SnapshotTaken` at `last_index` is now the
    /// one to restart from: store this metadata with it. Stored entries at or below
    /// `last_index` may then be deleted (they are no longer needed at restart).
    Snapshot(Box<SnapshotMeta>),
}

/// Why a proposal was refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ProposeError {
    /// This node is not the leader. `leader_hint` is the leader of the current term if this
    /// node knows it: retry there.
    NotLeader {
        /// The known leader, if any.
        leader_hint: Option<NodeId>,
    },
    /// The leader would hold more than `Config::max_uncommitted_entries` entries that are not
    /// committed yet. Retry after some commit (with a smaller batch, if the batch alone exceeds
    /// the bound).
    TooManyUncommitted {
        /// The configured bound.
        limit: u64,
    },
    /// The proposal's command alone (for a batch, one of its commands) exceeds
    /// `Config::max_bytes_per_message`, so it could never be replicated.
    CommandTooLarge {
        /// The command's size in bytes.
        size_bytes: u64,
        /// The configured bound.
        limit: u64,
    },
    /// An `Event::ProposeBatch` held no command.
    EmptyBatch,
    /// The membership change cannot be made now, or at all; the error says why.
    Membership(MembershipError),
    /// The leader is handing leadership over to `to` (`Event::TransferLeadership`): retry
    /// once the transfer ends, most likely at `to`.
    TransferInProgress {
        /// The voter leadership goes to.
        to: NodeId,
    },
}

/// Why an `Event::SnapshotTaken` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum SnapshotError {
    /// The snapshot claims an index the node has not handed out by `Apply` yet.
    NotApplied {
        /// The snapshot's index.
        index: LogIndex,
        /// The node's applied index.
        applied: LogIndex,
    },
    /// The node already holds a snapshot at or past this index (for example one its leader
    /// sent meanwhile).
    NotNewer {
        /// The snapshot's index.
        index: LogIndex,
        /// The index of the snapshot the node holds.
        snapshot_index: LogIndex,
    },
    /// The snapshot is larger than `Config::max_snapshot_bytes`: a follower configured like
    /// this node would refuse it, so it could never be sent. Raise the bound on every node, or
    /// make the state machine's snapshots smaller.
    TooLarge {
        /// The snapshot's size.
        size_bytes: u64,
        /// The configured bound.
        limit: u64,
    },
    /// The node does not know the configuration in force at the snapshot's index: it joined
    /// the cluster empty, and its log starts before the first configuration entry it holds
    /// (the cluster's first membership is not in any log). Snapshot again at or after
    /// `first_known`.
    MembershipUnknown {
        /// The snapshot's index.
        index: LogIndex,
        /// The index of the first configuration entry the node holds.
        first_known: LogIndex,
    },
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SnapshotError::NotApplied { index, applied } => {
                write!(f, "snapshot at {index} is past the applied index {applied}")
            }
            SnapshotError::NotNewer {
                index,
                snapshot_index,
            } => write!(
                f,
                "snapshot at {index} is not newer than the held snapshot at {snapshot_index}"
            ),
            SnapshotError::MembershipUnknown { index, first_known } => write!(
                f,
                "the configuration at {index} is unknown here: snapshot at or after {first_known}"
            ),
            SnapshotError::TooLarge { size_bytes, limit } => write!(
                f,
                "snapshot of {size_bytes} bytes exceeds the {limit}-byte snapshot bound"
            ),
        }
    }
}

impl core::error::Error for SnapshotError {}

impl core::fmt::Display for ProposeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProposeError::NotLeader {
                leader_hint: Some(leader),
            } => write!(f, "not the leader; node {leader} leads"),
            ProposeError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader; no leader known")
            }
            ProposeError::TooManyUncommitted { limit } => {
                write!(f, "more than {limit} entries would wait for commit")
            }
            ProposeError::CommandTooLarge { size_bytes, limit } => {
                write!(
                    f,
                    "command of {size_bytes} bytes exceeds the {limit}-byte message bound"
                )
            }
            ProposeError::EmptyBatch => write!(f, "the batch holds no command"),
            ProposeError::Membership(error) => write!(f, "membership change refused: {error}"),
            ProposeError::TransferInProgress { to } => {
                write!(f, "leadership is being handed over to node {to}")
            }
        }
    }
}

impl core::error::Error for ProposeError {}
