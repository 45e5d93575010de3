//! The messages nodes exchange: one variant per RPC of Raft Figure 2, each with its own fields.

use crate::entries::Entries;
use crate::prelude::*;
use crate::types::{Command, LogIndex, SnapshotMeta, Term};

/// A message between two nodes. The sender is not part of the message: the host knows whom a
/// message came from and passes it as `Event::Receive { from, .. }`.
///
/// Every message carries the sender's term, which the receiver handles before anything else
/// (Raft Figure 2, "rules for all servers").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Message<C> {
    /// RequestVote RPC, sent by a candidate (Raft §5.2).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// The index of the candidate's last log entry (Raft §5.4.1).
        last_log_index: LogIndex,
        /// The term of the candidate's last log entry (Raft §5.4.1).
        last_log_term: Term,
        /// The candidate campaigns because its leader handed leadership over to it
        /// (`Message::TimeoutNow`, thesis §3.10): voters take the request even while they
        /// hear from that leader (leader stickiness, `Config::check_quorum`, does not apply).
        transfer: bool,
    },
    /// The answer to a `RequestVote`.
    RequestVoteResponse {
        /// The voter's current term, for the candidate to update itself.
        term: Term,
        /// True means the voter granted its vote for `term`.
        vote_granted: bool,
    },
    /// A PreVote request (thesis §9.6, `Config::pre_vote`): would the receiver vote for the
    /// sender in term `term + 1`? Changes nothing on the receiver, its term included.
    PreVote {
        /// The sender's current term: it would campaign in `term + 1`.
        term: Term,
        /// The index of the sender's last log entry.
        last_log_index: LogIndex,
        /// The term of the sender's last log entry.
        last_log_term: Term,
    },
    /// Leadership transfer (thesis §3.10): the leader, which has brought the receiver's log up
    /// to date with its own, tells it to campaign at once, without PreVote.
    TimeoutNow {
        /// The leader's term.
        term: Term,
    },
    /// ReadIndex (thesis §6.4): a follower forwards a client's read to its leader.
    ReadIndex {
        /// The follower's term.
        term: Term,
        /// The host's id for the read, handed back in the answer.
        context: u64,
    },
    /// The leader's answer to a `ReadIndex`: the read index once its leadership is confirmed
    /// (the follower serves the read once it has applied up to it), or `None` if it could not
    /// serve it (it does not lead, lost leadership, or a transfer is under way).
    ReadIndexResponse {
        /// The leader's term.
        term: Term,
        /// The context of the `ReadIndex` this answers.
        context: u64,
        /// The read index, or `None` for a read that must be retried.
        index: Option<LogIndex>,
    },
    /// ReadIndex (thesis §6.4): the leader asks its voters to confirm that it still leads, for
    /// the reads that arrived before this round.
    LeaderCheck {
        /// The leader's term.
        term: Term,
        /// The round, counted by the leader within its term.
        round: u64,
    },
    /// A voter confirms that the sender of `LeaderCheck` leads its term.
    LeaderCheckResponse {
        /// The voter's term.
        term: Term,
        /// The round confirmed.
        round: u64,
    },
    /// The answer to a `PreVote`.
    PreVoteResponse {
        /// The voter's current term. A refusal of a higher term than the asker's makes the
        /// asker a follower of that term (so a node that fell behind learns it: etcd-io/etcd
        /// #8501); a grant changes no term.
        term: Term,
        /// True means the voter would vote for the asker in the asker's next term.
        vote_granted: bool,
    },
    /// AppendEntries RPC, sent by a leader to replicate entries and as heartbeat (Raft §5.3).
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// The index of the entry just before `entries`.
        prev_log_index: LogIndex,
        /// The term of the entry at `prev_log_index`.
        prev_log_term: Term,
        /// Entries to store, contiguous from `prev_log_index + 1`; empty for a heartbeat.
        entries: Entries<C>,
        /// The leader's commit index.
        leader_commit: LogIndex,
    },
    /// A commit notice, sent by a leader to a follower that has answered every append: the
    /// follower holds the leader's entry at `match_index`, and entries up to `leader_commit`
    /// are committed. Unlike an empty `AppendEntries` it gets no answer unless the follower
    /// does not hold that entry: then it is rejected like an append from `match_index`, which
    /// only a follower that lost entries it acknowledged can do (the leader takes a rejection
    /// at or below the acknowledged index as a stale answer). A lost notice costs nothing but
    /// latency: the next heartbeat carries the commit index too.
    Commit {
        /// The leader's term.
        term: Term,
        /// The last index the leader knows the follower holds.
        match_index: LogIndex,
        /// The term of the entry at `match_index`.
        match_term: Term,
        /// The leader's commit index.
        leader_commit: LogIndex,
    },
    /// The answer to an `AppendEntries` (or to a `Commit` the follower cannot match).
    AppendEntriesResponse {
        /// The follower's current term, for the leader to update itself.
        term: Term,
        /// Whether the follower's log matched and what it now holds.
        outcome: AppendOutcome,
    },
    /// InstallSnapshot RPC (Raft §7, Figure 13): one chunk of the leader's snapshot, sent to a
    /// follower that needs entries the leader has compacted away.
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// The chunk. Boxed so that every other message stays small: they are moved on every
        /// step, snapshots are rare.
        chunk: Box<SnapshotChunk>,
    },
    /// The answer to an `InstallSnapshot` chunk.
    InstallSnapshotResponse {
        /// The follower's current term, for the leader to update itself.
        term: Term,
        /// The `meta.last_index` of the snapshot this answers.
        snapshot_index: LogIndex,
        /// How far the transfer got.
        outcome: SnapshotOutcome,
    },
}

/// One chunk of a snapshot, as an `InstallSnapshot` message carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SnapshotChunk {
    /// What the whole snapshot covers.
    pub meta: SnapshotMeta,
    /// The whole snapshot's size in bytes, the same in every chunk of it. A follower refuses a
    /// snapshot larger than its `Config::max_snapshot_bytes` before holding any of it.
    pub size: u64,
    /// Where `data` starts in the snapshot's bytes; `offset + data.len()` is at most `size`.
    pub offset: u64,
    /// The chunk: at most `Config::snapshot_chunk_bytes` bytes. The chunk that reaches `size`
    /// is the last one.
    pub data: Vec<u8>,
}

impl SnapshotChunk {
    /// True for the last chunk: the one that ends at the snapshot's size.
    pub fn is_last(&self) -> bool {
        self.offset.saturating_add(self.data.len() as u64) >= self.size
    }
}

/// The result of an `InstallSnapshot` chunk on the follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SnapshotOutcome {
    /// The follower holds the snapshot's first `next_offset` bytes and wants the rest from
    /// there (a chunk that did not start at its `next_offset` was not kept).
    Receiving {
        /// The offset of the next chunk the follower can use.
        next_offset: u64,
        /// The offset of the chunk this answers. Above `next_offset`, it shows the bytes
        /// between them, sent before that chunk, never arrived (or have not yet): the
        /// evidence on which the leader sends them again.
        answered_offset: u64,
    },
    /// The transfer is over: the follower installed the snapshot, or did not need it, and its
    /// log matches the leader's up to and including `match_index`, durably.
    Done {
        /// The highest index known to match the leader's log.
        match_index: LogIndex,
    },
}

/// The result of an `AppendEntries` on the follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AppendOutcome {
    /// The follower's log matches the leader's up to and including `match_index`, and that
    /// prefix is durable on the follower.
    Accepted {
        /// The highest index known to match the leader's log.
        match_index: LogIndex,
    },
    /// The consistency check failed at `rejected_index` (the request's `prev_log_index`).
    ///
    /// The hint lets the leader skip a whole diverging term per round trip instead of one
    /// entry (Raft §5.3, "the protocol can be optimized"): `hint_index` is the largest index
    /// at or below `rejected_index` whose term is at most the request's `prev_log_term`, and
    /// `hint_term` is that entry's term.
    Rejected {
        /// The `prev_log_index` of the request this answers.
        rejected_index: LogIndex,
        /// The follower's suggestion of where the logs may match.
        hint_index: LogIndex,
        /// The term of the follower's entry at `hint_index`.
        hint_term: Term,
    },
}

/// The fixed size counted for a message besides its entries' payloads, in bytes. Used by
/// hosts and the simulator to account traffic; the crate chooses no wire format.
pub const MESSAGE_HEADER_BYTES: usize = 32;
/// The fixed size counted for each entry besides its payload, in bytes.
pub const ENTRY_HEADER_BYTES: usize = 16;

impl<C> Message<C> {
    /// The term the sender was in when it sent the message.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::RequestVoteResponse { term, .. }
            | Message::PreVote { term, .. }
            | Message::PreVoteResponse { term, .. }
            | Message::TimeoutNow { term }
            | Message::ReadIndex { term, .. }
            | Message::ReadIndexResponse { term, .. }
            | Message::LeaderCheck { term, .. }
            | Message::LeaderCheckResponse { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::Commit { term, .. }
            | Message::AppendEntriesResponse { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotResponse { term, .. } => *term,
        }
    }

    /// True for the requests a candidate or leader sends (`RequestVote`, `PreVote`,
    /// `AppendEntries`, `Commit`, `InstallSnapshot`, `TimeoutNow`), false for the answers. A
    /// `Commit` is answered only when the follower cannot match it, a `TimeoutNow` never.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::RequestVote { .. }
                | Message::PreVote { .. }
                | Message::TimeoutNow { .. }
                | Message::ReadIndex { .. }
                | Message::LeaderCheck { .. }
                | Message::AppendEntries { .. }
                | Message::Commit { .. }
                | Message::InstallSnapshot { .. }
        )
    }
}

impl<C: Command> Message<C> {
    /// An estimate of the message's size on a wire: a fixed header plus each entry's header
    /// and payload, or a snapshot chunk's voters and bytes. Used for accounting, never for
    /// correctness.
    pub fn size_bytes(&self) -> usize {
        match self {
            Message::AppendEntries { entries, .. } => {
                MESSAGE_HEADER_BYTES
                    + entries
                        .iter()
                        .map(|entry| ENTRY_HEADER_BYTES + entry.payload.size_bytes())
                        .sum::<usize>()
            }
            Message::InstallSnapshot { chunk, .. } => {
                MESSAGE_HEADER_BYTES
                    + 8 * chunk.meta.membership.members().count()
                    + chunk.data.len()
            }
            _ => MESSAGE_HEADER_BYTES,
        }
    }
}
