//! The node's configuration and its validation.

use crate::types::NodeId;

/// How a node is set up. Build one with [`Config::new`], adjust the public fields, and hand it
/// to `Raft::new`, which validates it ([`Config::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Config {
    /// This node's id. Who is in the cluster is not configuration but state: the membership a
    /// new cluster starts with (`Restored::bootstrap`), then the configurations its log holds.
    pub id: NodeId,
    /// The election timeout is drawn from `[election_ticks, 2 * election_ticks)` each time the
    /// timer is reset (Raft §5.2). Must exceed `heartbeat_ticks`.
    pub election_ticks: u64,
    /// A leader sends a heartbeat to each follower every `heartbeat_ticks` ticks.
    pub heartbeat_ticks: u64,
    /// At most this many append messages in flight to one follower while pipelining.
    pub max_inflight_appends: usize,
    /// At most this many entries in one append message.
    pub max_entries_per_message: usize,
    /// At most this many payload bytes in one append message (a single entry larger than this
    /// is refused at proposal time).
    pub max_bytes_per_message: u64,
    /// A leader refuses proposals while this many of its entries wait for commit.
    pub max_uncommitted_entries: u64,
    /// When the host reports a snapshot at index i, the log keeps the entries from
    /// `i - snapshot_trailing_entries + 1` on in memory, so a follower slightly behind still
    /// catches up by entries rather than by a whole snapshot. 0 drops every covered entry.
    pub snapshot_trailing_entries: u64,
    /// At most this many snapshot bytes in one `InstallSnapshot` message.
    pub snapshot_chunk_bytes: u64,
    /// At most this many `InstallSnapshot` chunks in flight to one follower.
    pub max_inflight_snapshot_chunks: usize,
    /// The largest snapshot, in bytes, the node takes from its host or receives from a leader.
    /// A follower holds an incoming snapshot in memory until its last chunk arrives; one
    /// whose declared size exceeds this bound is dropped before any of it is held, so a peer
    /// can never make that buffer grow past it. Give every node the same bound: a leader
    /// refuses (`SnapshotError::TooLarge`) a snapshot its followers would refuse.
    pub max_snapshot_bytes: u64,
    /// At most this many reads (`Event::Read`) held at once: a leader's waiting for their
    /// confirmation round, its followers' forwarded ones included, or a follower's forwarded
    /// and not yet answered. A read beyond it fails at once with `ReadError::TooManyPending`,
    /// so that neither a host nor a peer can make the node hold reads without bound.
    pub max_pending_reads: usize,
    /// A leader leaves a joint configuration by itself as soon as the joint entry is
    /// committed (thesis §4.3). Off, the host proposes `MembershipChange::LeaveJoint` when it
    /// chooses.
    pub auto_leave_joint: bool,
    /// PreVote (thesis §9.6): a node whose election timer fires first asks the voters whether
    /// they would vote for it (`Message::PreVote`), and campaigns, raising its term, only if a
    /// majority would. A voter says yes only to a candidate whose log is up to date and only
    /// if it has not heard from a leader within `election_ticks`. So a node cut off from the
    /// cluster, or from its leader only, no longer raises its term at every timeout and
    /// deposes a healthy leader when it comes back. Costs one round trip per election.
    pub pre_vote: bool,
    /// CheckQuorum and leader stickiness (thesis §6.2, §9.6): a leader that has not heard from
    /// a majority of its voters (of both configurations while joint) within `election_ticks`
    /// steps down, so that clients and a lease see a leader cut off in a minority go away; and
    /// a node that has heard from a leader within `election_ticks`, or leads, ignores vote
    /// requests of a higher term, so that a node that cannot hear the leader cannot depose it.
    pub check_quorum: bool,
    /// Lease reads (thesis §6.4.1): a leader serves a read at once, without a `LeaderCheck`
    /// round, while its lease holds: for [`Config::lease_ticks`] of its ticks from the start
    /// of the last round a majority confirmed. Each voter that confirmed it ignores vote
    /// requests for `election_ticks` of its own ticks after it did (leader stickiness), so no
    /// other leader can be elected before the lease ends, provided the hosts keep the clock
    /// bound of [`Config::lease_drift_ticks`]. Requires `check_quorum`; give every node the
    /// same setting and the same `election_ticks`, since the voters' side of the lease is
    /// theirs to keep, counted in their own `election_ticks`. Off, every read takes a round
    /// (ReadIndex), which depends on no clock.
    ///
    /// With it, a node also ignores vote requests for its first `election_ticks` ticks after
    /// it starts (it may have confirmed a lease before it went down), and for `election_ticks`
    /// after it last heard from a leader even if a higher term reached it since. A leader that
    /// starts a leadership transfer gives up its lease for the rest of its term.
    pub lease_reads: bool,
    /// The clock bound that lease reads rely on, in ticks: over any span of time in which a
    /// voter's host delivers `election_ticks` ticks, the leader's host delivers at least
    /// `election_ticks - 1 - lease_drift_ticks` ticks. One tick is lost to granularity even
    /// with perfect clocks; `lease_drift_ticks` covers the rest: clocks running at different
    /// rates, timers firing late, and pauses. So before it steps each `Event::Read`, a host
    /// delivers every tick whose time has come by a monotonic clock: after a stopped process,
    /// a long collection or a suspended machine, a read may be handled before the timer's
    /// catch-up, and the leader would serve it under a lease that ended while it slept. Must
    /// be below `election_ticks - 1`.
    pub lease_drift_ticks: u64,
    /// Asynchronous entry writes (thesis §10.2.1): the host may carry out `Persist::Entries`
    /// in the background, in the order they were returned, and go on with the later actions
    /// at once; it reports each write that became durable with `Event::Persisted`. The node
    /// counts its own log in the commit quorum, acknowledges appends to its leader and hands
    /// out `Apply` only up to what was reported durable. So a leader's disk write no longer
    /// sits in front of its appends to the followers: it runs beside them. Hard state and
    /// snapshots stay synchronous. See `Action` for the ordering rule in this mode. Off (the
    /// default), every `Persist` is durable before the next action and `Event::Persisted` is
    /// ignored.
    pub async_persistence: bool,
    /// Zero-copy apply: committed entries are handed out as `Action::ApplyRange { first,
    /// last }`, which the host reads from the node with [`Raft::committed_entries`] (a slice
    /// of its log, nothing cloned), in place of `Action::Apply` with the entries cloned into
    /// it. The rule that comes with it: read the range before stepping the node again, since
    /// a later step may drop those entries from the log (an installed snapshot replaces it).
    /// A host that carries out each step's actions before the next step keeps the rule by
    /// itself; one that keeps actions waiting across steps reads the range out first (which
    /// copies), or leaves this off. Off by default.
    ///
    /// [`Raft::committed_entries`]: crate::Raft::committed_entries
    pub apply_by_range: bool,
    /// Seed of the PRNG behind randomized election timeouts. Give each node its own seed;
    /// the same seed, state and events give the same actions, bit for bit.
    pub seed: u64,
}

impl Config {
    /// A configuration with the defaults below for node `id`.
    ///
    /// Defaults: election 10 ticks (timeouts in [10, 20)), heartbeat 3 ticks, 64 appends in
    /// flight per follower, 1024 entries and 1 MiB per message, 8192 uncommitted entries,
    /// 1024 trailing entries kept after a snapshot, snapshot chunks of 1 MiB with 4 in flight,
    /// snapshots of at most 1 GiB, 4096 reads held, joint configurations left automatically,
    /// PreVote and CheckQuorum on, lease reads off (with a drift bound of 2 ticks when turned
    /// on: a lease of 7 ticks), synchronous persistence, entries cloned into `Apply`, seed =
    /// `id`.
    pub fn new(id: NodeId) -> Self {
        Config {
            id,
            election_ticks: 10,
            heartbeat_ticks: 3,
            max_inflight_appends: 64,
            max_entries_per_message: 1024,
            max_bytes_per_message: 1 << 20,
            max_uncommitted_entries: 8192,
            snapshot_trailing_entries: 1024,
            snapshot_chunk_bytes: 1 << 20,
            max_inflight_snapshot_chunks: 4,
            max_snapshot_bytes: 1 << 30,
            max_pending_reads: 4096,
            auto_leave_joint: true,
            pre_vote: true,
            check_quorum: true,
            lease_reads: false,
            lease_drift_ticks: 2,
            async_persistence: false,
            apply_by_range: false,
            seed: id,
        }
    }

    /// Checks every field; `Raft::new` calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_ticks == 0 {
            return Err(ConfigError::ZeroHeartbeatTicks);
        }
        if self.election_ticks <= self.heartbeat_ticks {
            return Err(ConfigError::ElectionNotAboveHeartbeat {
                election_ticks: self.election_ticks,
                heartbeat_ticks: self.heartbeat_ticks,
            });
        }
        if self.election_ticks > ELECTION_TICKS_MAX {
            return Err(ConfigError::ElectionTicksTooLarge(self.election_ticks));
        }
        if self.max_inflight_appends == 0 {
            return Err(ConfigError::ZeroBound("max_inflight_appends"));
        }
        if self.max_entries_per_message == 0 {
            return Err(ConfigError::ZeroBound("max_entries_per_message"));
        }
        if self.max_bytes_per_message == 0 {
            return Err(ConfigError::ZeroBound("max_bytes_per_message"));
        }
        if self.max_uncommitted_entries == 0 {
            return Err(ConfigError::ZeroBound("max_uncommitted_entries"));
        }
        if self.snapshot_chunk_bytes == 0 {
            return Err(ConfigError::ZeroBound("snapshot_chunk_bytes"));
        }
        if self.max_inflight_snapshot_chunks == 0 {
            return Err(ConfigError::ZeroBound("max_inflight_snapshot_chunks"));
        }
        if self.max_pending_reads == 0 {
            return Err(ConfigError::ZeroBound("max_pending_reads"));
        }
        if self.max_snapshot_bytes == 0 {
            return Err(ConfigError::ZeroBound("max_snapshot_bytes"));
        }
        if self.lease_reads {
            if !self.check_quorum {
                return Err(ConfigError::LeaseWithoutCheckQuorum);
            }
            if self.lease_drift_ticks >= self.election_ticks - 1 {
                return Err(ConfigError::LeaseDriftTooLarge {
                    lease_drift_ticks: self.lease_drift_ticks,
                    election_ticks: self.election_ticks,
                });
            }
        }
        Ok(())
    }

    /// How long a lease lasts, in the leader's ticks from the start of the round that
    /// confirmed it: `election_ticks - 1 - lease_drift_ticks` (see [`Config::lease_reads`]),
    /// 0 if that is not positive.
    pub fn lease_ticks(&self) -> u64 {
        self.election_ticks
            .saturating_sub(1)
            .saturating_sub(self.lease_drift_ticks)
    }
}

/// The largest accepted `election_ticks`: twice it must fit in a `u64`.
pub const ELECTION_TICKS_MAX: u64 = u64::MAX / 2;

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `heartbeat_ticks` is 0.
    ZeroHeartbeatTicks,
    /// `election_ticks` must be greater than `heartbeat_ticks`, or followers would time out
    /// between two heartbeats of a healthy leader.
    ElectionNotAboveHeartbeat {
        /// The configured election ticks.
        election_ticks: u64,
        /// The configured heartbeat ticks.
        heartbeat_ticks: u64,
    },
    /// `election_ticks` exceeds [`ELECTION_TICKS_MAX`].
    ElectionTicksTooLarge(u64),
    /// The named bound is 0, which would stop all progress.
    ZeroBound(&'static str),
    /// `lease_reads` is on but `check_quorum` is off: a lease rests on the voters' leader
    /// stickiness, which `check_quorum` turns on.
    LeaseWithoutCheckQuorum,
    /// `lease_drift_ticks` leaves no lease: it must be below `election_ticks - 1`.
    LeaseDriftTooLarge {
        /// The configured drift bound.
        lease_drift_ticks: u64,
        /// The configured election ticks.
        election_ticks: u64,
    },
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::ZeroHeartbeatTicks => write!(f, "heartbeat_ticks must be at least 1"),
            ConfigError::ElectionNotAboveHeartbeat {
                election_ticks,
                heartbeat_ticks,
            } => write!(
                f,
                "election_ticks ({election_ticks}) must exceed heartbeat_ticks ({heartbeat_ticks})"
            ),
            ConfigError::ElectionTicksTooLarge(ticks) => {
                write!(f, "election_ticks ({ticks}) exceeds {ELECTION_TICKS_MAX}")
            }
            ConfigError::ZeroBound(name) => write!(f, "{name} must be at least 1"),
            ConfigError::LeaseWithoutCheckQuorum => {
                write!(f, "lease_reads requires check_quorum")
            }
            ConfigError::LeaseDriftTooLarge {
                lease_drift_ticks,
                election_ticks,
            } => write!(
                f,
                "lease_drift_ticks ({lease_drift_ticks}) must be below election_ticks - 1 \
                 ({election_ticks} - 1), or no lease is left"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
