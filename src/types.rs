//! Identifiers, log entries and the durable hard state.

use crate::prelude::*;
use core::fmt;
use core::hash::{Hash, Hasher};

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

impl Command for alloc::sync::Arc<[u8]> {
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

/// What an entry carries: a client's command, or an entry of the protocol's own.
///
/// Two variants, so that an entry of a command with a niche (a pointer, like `Arc<[u8]>`) is no
/// bigger than the command and its term and index: entries are copied into every persist,
/// append and apply, and the protocol's rare entries must not make each copy dearer.
#[derive(Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Payload<C> {
    /// A command proposed by a client.
    Command(C),
    /// An entry the protocol appends itself: a new leader's no-op or a configuration (see
    /// [`ProtocolEntry`]). Hosts have nothing to apply for it.
    Protocol(ProtocolEntry),
}

impl<C> Payload<C> {
    /// The empty entry a new leader appends at the start of its term.
    #[inline]
    pub const fn noop() -> Self {
        Payload::Protocol(ProtocolEntry::NOOP)
    }

    /// A configuration entry.
    pub fn membership(membership: Membership) -> Self {
        Payload::Protocol(ProtocolEntry::membership(membership))
    }

    /// The command, if this is one.
    #[inline]
    pub fn command(&self) -> Option<&C> {
        match self {
            Payload::Command(command) => Some(command),
            Payload::Protocol(_) => None,
        }
    }

    /// True for a leader's no-op.
    #[inline]
    pub fn is_noop(&self) -> bool {
        matches!(self, Payload::Protocol(entry) if entry.is_noop())
    }

    /// The configuration, if this is a configuration entry.
    #[inline]
    pub fn as_membership(&self) -> Option<&Membership> {
        match self {
            Payload::Command(_) => None,
            Payload::Protocol(entry) => entry.as_membership(),
        }
    }
}

impl<C: Command> Payload<C> {
    /// The size counted against `Config::max_bytes_per_message`.
    #[inline]
    pub fn size_bytes(&self) -> usize {
        match self {
            Payload::Command(command) => command.size_bytes(),
            Payload::Protocol(entry) => entry.size_bytes(),
        }
    }
}

// By hand rather than derived: a command's clone stays small enough to inline in the loops
// that copy runs of entries; a configuration's (rare) is out of line.
impl<C: Clone> Clone for Payload<C> {
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Payload::Command(command) => Payload::Command(command.clone()),
            Payload::Protocol(entry) => Payload::Protocol(entry.clone()),
        }
    }
}

/// An entry the protocol appends itself: either the empty entry a new leader appends at the
/// start of its term (Raft §8, thesis §6.4: committing it commits every earlier entry), or a
/// cluster configuration (`Event::ChangeMembership`), in force on every node from the moment
/// the entry is in its log (thesis §4.1). Hosts skip both when applying, and may watch the
/// configurations to learn of members coming and going.
///
/// One pointer, null for the no-op, so that [`Payload`] stays as small as the command; its
/// drop is one test inline, the configuration's (rare) out of line.
pub struct ProtocolEntry(Option<Box<Membership>>);

impl ProtocolEntry {
    /// A new leader's no-op.
    pub const NOOP: ProtocolEntry = ProtocolEntry(None);

    /// A configuration entry.
    pub fn membership(membership: Membership) -> Self {
        ProtocolEntry(Some(Box::new(membership)))
    }

    /// True for the no-op.
    #[inline]
    pub fn is_noop(&self) -> bool {
        self.0.is_none()
    }

    /// The configuration, if this is a configuration entry.
    #[inline]
    pub fn as_membership(&self) -> Option<&Membership> {
        self.0.as_deref()
    }

    /// The size counted against `Config::max_bytes_per_message`: 8 bytes per member.
    #[inline]
    pub fn size_bytes(&self) -> usize {
        match self.as_membership() {
            None => 0,
            Some(membership) => membership_size_bytes(membership),
        }
    }
}

impl Drop for ProtocolEntry {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_some() {
            drop_membership(self.0.take());
        }
    }
}

/// Drops a configuration entry's configuration: the field is `None` after it, so what is left
/// of the entry's drop is the inline test. Cold, but `#[inline]` rather than
/// `#[inline(never)]`: a host's crate then compiles its own copy and can see that it never
/// unwinds. A call into this crate's copy could unwind as far as the compiler knows, which puts
/// a landing pad in the drop of every action, message and entry vector, and those drops were
/// then no longer inlined into the host's loop (commit3_b1: 163 instructions per entry).
#[cold]
#[inline]
fn drop_membership(membership: Option<Box<Membership>>) {
    drop(membership);
}

// By hand: the no-op's clone is inline, a configuration's (rare) out of line.
impl Clone for ProtocolEntry {
    #[inline]
    fn clone(&self) -> Self {
        match self.as_membership() {
            None => ProtocolEntry::NOOP,
            Some(membership) => ProtocolEntry(Some(clone_membership(membership))),
        }
    }
}

impl Default for ProtocolEntry {
    fn default() -> Self {
        ProtocolEntry::NOOP
    }
}

impl fmt::Debug for ProtocolEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_membership() {
            None => f.write_str("Noop"),
            Some(membership) => f.debug_tuple("Membership").field(membership).finish(),
        }
    }
}

impl PartialEq for ProtocolEntry {
    fn eq(&self, other: &Self) -> bool {
        self.as_membership() == other.as_membership()
    }
}

impl Eq for ProtocolEntry {}

impl Hash for ProtocolEntry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_membership().hash(state);
    }
}

impl From<Option<Membership>> for ProtocolEntry {
    fn from(membership: Option<Membership>) -> Self {
        membership.map_or(ProtocolEntry::NOOP, ProtocolEntry::membership)
    }
}

impl From<ProtocolEntry> for Option<Membership> {
    fn from(entry: ProtocolEntry) -> Self {
        entry.as_membership().cloned()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ProtocolEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_membership().serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ProtocolEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<Membership>::deserialize(deserializer).map(ProtocolEntry::from)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ProtocolEntry {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Option::<Membership>::arbitrary(u).map(ProtocolEntry::from)
    }
}

/// A configuration entry's size: 8 bytes per member.
#[cold]
#[inline(never)]
fn membership_size_bytes(membership: &Membership) -> usize {
    8 * membership.members().count()
}

/// A configuration entry's clone, out of line. `extern "C"`, so that the compiler knows it
/// never unwinds (a panic there would abort, and only an allocation failure, which aborts
/// anyway, could fail it): a clone that may unwind needs a guard and a landing pad in every
/// loop that copies entries, and `to_vec` of a run of entries was then no longer inlined
/// (commit5_b64: 41 instructions per entry). The pointers it takes and returns are Rust's own.
#[cold]
#[inline(never)]
#[allow(improper_ctypes_definitions)]
extern "C" fn clone_membership(membership: &Membership) -> Box<Membership> {
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
    /// Asks the voters whether they would vote for it in the next term (`Config::pre_vote`,
    /// thesis §9.6), its own term unchanged; campaigns once a majority would.
    PreCandidate,
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

#[cfg(test)]
mod tests {
    use alloc::sync::Arc;

    use super::*;

    #[test]
    fn an_entry_of_a_pointer_command_is_no_bigger_than_the_command_and_two_numbers() {
        // Entries are copied into every persist, append and apply: the protocol's own entries
        // must not make them bigger (a third variant made them 40 bytes, and dearer to copy).
        assert_eq!(core::mem::size_of::<Payload<Arc<[u8]>>>(), 16);
        assert_eq!(core::mem::size_of::<Entry<Arc<[u8]>>>(), 32);
        assert_eq!(core::mem::size_of::<Payload<Box<[u8]>>>(), 16);
    }

    #[test]
    fn protocol_entries_tell_a_noop_from_a_configuration() {
        let noop: Payload<u64> = Payload::noop();
        assert!(noop.is_noop());
        assert_eq!(noop.as_membership(), None);
        assert_eq!(noop.command(), None);
        assert_eq!(noop.size_bytes(), 0);
        assert_eq!(format!("{noop:?}"), "Protocol(Noop)");

        let membership = Membership::new([1, 2, 3]);
        let configuration: Payload<u64> = Payload::membership(membership.clone());
        assert!(!configuration.is_noop());
        assert_eq!(configuration.as_membership(), Some(&membership));
        assert_eq!(configuration.size_bytes(), 24);
        let copy = configuration.clone();
        assert_eq!(copy, configuration);
        assert_ne!(copy, noop);
        drop(configuration);
        assert_eq!(
            copy.as_membership(),
            Some(&membership),
            "a clone owns its own copy"
        );

        let command = Payload::Command(7u64);
        assert_eq!(command.command(), Some(&7));
        assert!(!command.is_noop());
        assert_eq!(command.as_membership(), None);
    }

    #[test]
    fn protocol_entries_convert_to_and_from_an_optional_configuration() {
        let membership = Membership::new([4, 5]);
        let entry = ProtocolEntry::from(Some(membership.clone()));
        assert_eq!(Option::<Membership>::from(entry.clone()), Some(membership));
        assert_eq!(ProtocolEntry::from(None), ProtocolEntry::NOOP);
        assert_eq!(ProtocolEntry::default(), ProtocolEntry::NOOP);
        let hash = |entry: &ProtocolEntry| {
            use std::collections::hash_map::DefaultHasher;
            let mut hasher = DefaultHasher::new();
            entry.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(hash(&entry), hash(&entry.clone()));
    }
}
