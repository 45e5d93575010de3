//! Identifiers, log entries and the durable hard state.

use crate::membership::Membership;

/// The identity of a node in the cluster. Any `u64` is a valid id.
pub type NodeId = u64;

/// A Raft term (Raft §5.1). Term 0 is the term before any election.
pub type Term = u64;

/// The highest term a node accepts or campaigns for: `u64::MAX / 2`.
///
/// A term grows by one per election, so no real cluster comes near it (2^63 elections), and
/// term arithmetic can never wrap. A message claiming a higher term is malformed and dropped.
/// A node at `TERM_MAX` can no longer campaign; what keeps a faulty peer from pushing a
/// cluster there is [`TERM_JUMP_MAX`].
pub const TERM_MAX: Term = u64::MAX / 2;

/// The most a message's term may exceed the receiver's: `2^32`. A message further ahead is
/// dropped, whatever it is and whoever sent it.
///
/// Without this bound a single message at `TERM_MAX` would move every node it reaches to the
/// last term, where no node can campaign, and leave the cluster without a leader for good.
/// With it, one message moves a node at most `2^32` terms on, and a faulty peer needs more
/// than `2^31` messages, each delivered in turn to every node of a majority, before the
/// cluster runs out of terms; a correct majority then elects at the term after the highest
/// it saw. Correct nodes never come near the bound: terms grow by one per election, so two
/// nodes drift `2^32` terms apart only if one keeps campaigning alone for more than `2^32`
/// election timeouts (over thirteen years at one election per 100 ms).
pub const TERM_JUMP_MAX: Term = 1 << 32;

/// The highest snapshot index accepted, from a peer or at restart: like `TERM_MAX`, far beyond
/// any real log, and it keeps index arithmetic from overflowing.
pub(crate) const INDEX_MAX: LogIndex = u64::MAX / 2;

/// A position in the replicated log. Index 0 is the empty prefix; the first entry is index 1.
pub type LogIndex = u64;

/// A host command, as replicated in the log.
///
/// pureraft never looks inside a command. It only needs to clone it (into messages, persist
/// and apply actions) and to know its size, to bound the bytes of one append message
/// (`Config::max_bytes_per_message`). Implementations exist for common payload types; pick a
/// cheaply clonable one (`Arc<[u8]>`, `bytes::Bytes` via your own newtype) for large commands.
pub trait Command: Clone {
    /// The size of the command in bytes, as counted against `Config::max_bytes_per_message`.
    fn size_bytes(&self) -> usize;
}

impl Command for Vec<u8> {
    fn size_bytes(&self) -> usize {
        self.len()
    }
}

impl Command for String {
    fn size_bytes(&self) -> usize {
        self.len()
    }
}

impl Command for std::sync::Arc<[u8]> {
    fn size_bytes(&self) -> usize {
        self.len()
    }
}

impl Command for Box<[u8]> {
    fn size_bytes(&self) -> usize {
        self.len()
    }
}

impl Command for u64 {
    fn size_bytes(&self) -> usize {
        8
    }
}

impl Command for u32 {
    fn size_bytes(&self) -> usize {
        4
    }
}

impl Command for () {
    fn size_bytes(&self) -> usize {
        0
    }
}

/// What an entry carries.
#[derive(Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Payload<C> {
    /// The empty entry a new leader appends at the start of its term (Raft §8, thesis §6.4):
    /// committing it commits every earlier entry. Hosts skip it when applying.
    Noop,
    /// A command proposed by a client.
    Command(C),
    /// A cluster configuration (`Event::ChangeMembership`). It is in force on every node
    /// from the moment the entry is in its log (thesis §4.1); hosts have nothing to apply,
    /// but may watch it to learn of members coming and going.
    Membership(Box<Membership>),
}

impl<C: Command> Payload<C> {
    /// The size counted against `Config::max_bytes_per_message`.
    #[inline]
    pub fn size_bytes(&self) -> usize {
        match self {
            Payload::Command(command) => command.size_bytes(),
            Payload::Noop => 0,
            Payload::Membership(membership) => membership_size_bytes(membership),
        }
    }
}

/// A configuration entry's size: 8 bytes per member.
#[cold]
#[inline(never)]
fn membership_size_bytes(membership: &Membership) -> usize {
    8 * membership.members().count()
}

// By hand rather than derived: a command's clone stays small enough to inline in the loops
// that copy runs of entries; a configuration's (rare) is out of line.
impl<C: Clone> Clone for Payload<C> {
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Payload::Command(command) => Payload::Command(command.clone()),
            Payload::Noop => Payload::Noop,
            Payload::Membership(membership) => Payload::Membership(clone_membership(membership)),
        }
    }
}

#[cold]
#[inline(never)]
fn clone_membership(membership: &Membership) -> Box<Membership> {
    Box::new(membership.clone())
}

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Entry<C> {
    /// The term of the leader that created the entry.
    pub term: Term,
    /// The entry's position in the log.
    pub index: LogIndex,
    /// What the entry carries.
    pub payload: Payload<C>,
}

/// The state a node must persist before it answers anyone: its term and vote (Raft Figure 2,
/// "persistent state on all servers"). Written atomically as one record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// The candidate this node voted for in `term`, if any.
    pub vote: Option<NodeId>,
}

/// The role a node plays in its current term (Raft §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Role {
    /// Answers leaders and candidates; campaigns when its election timer fires.
    Follower,
    /// Asks for votes in its term.
    Candidate,
    /// Replicates its log to the followers of its term.
    Leader,
}

/// A snapshot of a node's volatile and durable state, for monitoring and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// This node's id.
    pub id: NodeId,
    /// The current term.
    pub term: Term,
    /// The vote cast in the current term.
    pub vote: Option<NodeId>,
    /// The role in the current term.
    pub role: Role,
    /// The leader of the current term, if known.
    pub leader: Option<NodeId>,
    /// The highest index known to be committed.
    pub commit_index: LogIndex,
    /// The highest index handed to the host by an `Apply` action.
    pub applied_index: LogIndex,
    /// The index of the last entry in the log.
    pub last_index: LogIndex,
    /// The term of the last entry in the log.
    pub last_term: Term,
    /// The last index covered by the node's latest snapshot (0 without one).
    pub snapshot_index: LogIndex,
    /// Entries at or below this index were compacted away; the log holds the ones after it.
    pub compacted_index: LogIndex,
}

/// What a snapshot covers: everything up to and including `last_index`, and the cluster
/// configuration in force at that point (Raft §7, Figure 12: "last included index", "last
/// included term", "last config").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SnapshotMeta {
    /// The index of the last entry the snapshot replaces.
    pub last_index: LogIndex,
    /// The term of that entry.
    pub last_term: Term,
    /// The configuration in force at `last_index`.
    pub membership: Membership,
    /// The index of that configuration's entry (0 for the membership the cluster was
    /// bootstrapped with): `Raft::membership_index` after the snapshot is installed, the same
    /// on every node. At most `last_index`.
    pub membership_index: LogIndex,
}

/// A snapshot of the host's state machine: its metadata and the host's bytes, which pureraft
/// never looks into. It holds the latest one in memory to send it to followers that need it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Snapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The state machine's state after applying every entry up to `meta.last_index`.
    pub data: Vec<u8>,
}
