//! The inputs of `Raft::step`.

use crate::membership::MembershipChange;
use crate::message::Message;
use crate::prelude::*;
use crate::types::{LogIndex, NodeId, Term};

/// Something that happened to a node: the only way into `Raft::step`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Event<C> {
    /// One unit of logical time passed. The host picks its length (10 ms is typical); election
    /// and heartbeat timeouts are counted in ticks.
    Tick,
    /// A message arrived from another node. `from` is the sender as the host's transport knows
    /// it; a message "from" this node itself is ignored.
    Receive {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message<C>,
    },
    /// A client asks to replicate a command. The answer is one `ProposalAccepted` or
    /// `ProposalRejected` action in the same step's output.
    Propose(C),
    /// Clients ask to replicate these commands, in this order: a burst of proposals that
    /// leaves as one `Persist::Entries` and one append per follower (within the message
    /// bounds), where as many `Propose` events would make as many of each. The batch is
    /// accepted or refused as a whole: the answer is one `BatchAccepted` (the commands take
    /// consecutive indices from its `first_index`) or one `ProposalRejected` in the same
    /// step's output. An empty batch is refused.
    ProposeBatch(Vec<C>),
    /// The host asks the leader to change the cluster's membership (thesis chapter 4).
    /// `membership_index` names the configuration the change was made against
    /// (`Raft::membership_index`): if another one is in force by now, the change is refused
    /// as stale, so that a retried change can never undo a later one. The answer is one
    /// `ProposalAccepted` (where the configuration entry went) or one `ProposalRejected` in
    /// the same step's output.
    ChangeMembership {
        /// The change.
        change: MembershipChange,
        /// The index of the configuration it applies to.
        membership_index: LogIndex,
    },
    /// A client's linearizable read (ReadIndex, thesis §6.4). `context` is the host's id for
    /// it. The node answers, in this step or a later one, exactly once: `ReadReady { context,
    /// index }`, after which the host serves the read from its state machine as soon as it has
    /// applied up to `index`; or `ReadFailed { context, error }`, after which the host retries
    /// (at the leader the error names, if any). A leader answers once an entry of its term is
    /// committed and one round of `LeaderCheck`s (shared by every read that arrived before it)
    /// confirms it still leads; a follower forwards the read to its leader.
    Read {
        /// The host's id for the read.
        context: u64,
    },
    /// The host asks the leader to hand leadership over to voter `to` (thesis §3.10). The
    /// answer, in the same step's output, is one `TransferStarted` or one `TransferRejected`.
    /// Once started, the leader refuses proposals and membership changes
    /// (`ProposeError::TransferInProgress`), brings `to`'s log up to date with its own, then
    /// sends it `Message::TimeoutNow`, on which `to` campaigns at once. The transfer ends when
    /// this node stops leading (most often: `to` won), or, if it still leads an election
    /// timeout (`Config::election_ticks` ticks) later, with `Action::TransferAborted`, after
    /// which it accepts proposals again.
    TransferLeadership {
        /// The voter to hand leadership to.
        to: NodeId,
    },
    /// The host's state machine took a snapshot of its state after applying every entry up
    /// to `index` (at most the last index an `Apply` handed out), and stored `data` durably.
    /// The node keeps it to send to followers, answers `Persist::Snapshot` with its metadata,
    /// and drops the log before it but for `Config::snapshot_trailing_entries` entries. A
    /// snapshot it cannot take is answered by `Action::SnapshotRefused`.
    SnapshotTaken {
        /// The last index the snapshot covers.
        index: LogIndex,
        /// The state machine's state, opaque to pureraft.
        data: Vec<u8>,
    },
    /// With `Config::async_persistence`: every `Persist::Entries` the host carried out up to
    /// and including one that ended at `index` is durable. `term` is the node's term when it
    /// returned that write: the term of the last `Persist::HardState` the host carried out
    /// before it (or of the restored hard state, if none), which the host knows without
    /// reading the node. One event may cover several writes; a late or repeated report is
    /// harmless. The node ignores a report of a write that a later one may have undone: one
    /// returned before the node last truncated its log in a later term, even if an entry of
    /// the same term sits at `index` again (truncated by one leader, rewritten by the next).
    /// Never report a write returned before an `Action::InstallSnapshot`: that install ends it.
    /// Ignored without `Config::async_persistence`.
    Persisted {
        /// The index of the last entry of the write (of the last write the event covers).
        index: LogIndex,
        /// The node's term when it returned that write.
        term: Term,
    },
}
