//! The node's configuration and its validation.

use crate::types::NodeId;

/// How a node is set up. Build one with [`Config::new`], adjust the public fields, and hand it
/// to `Raft::new`, which validates it ([`Config::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Config {
    /// This node's id; must be one of `voters`.
    pub id: NodeId,
    /// Every voting member of the cluster, this node included, without duplicates.
    pub voters: Vec<NodeId>,
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
    /// Seed of the PRNG behind randomized election timeouts. Give each node its own seed;
    /// the same seed, state and events give the same actions, bit for bit.
    pub seed: u64,
}

impl Config {
    /// A configuration with the defaults below for node `id` in a cluster of `voters`.
    ///
    /// Defaults: election 10 ticks (timeouts in [10, 20)), heartbeat 3 ticks, 64 appends in
    /// flight per follower, 1024 entries and 1 MiB per message, 8192 uncommitted entries,
    /// 1024 trailing entries kept after a snapshot, snapshot chunks of 1 MiB with 4 in flight,
    /// snapshots of at most 1 GiB, seed = `id`.
    pub fn new(id: NodeId, voters: impl IntoIterator<Item = NodeId>) -> Self {
        Config {
            id,
            voters: voters.into_iter().collect(),
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
            seed: id,
        }
    }

    /// Checks every field; `Raft::new` calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.voters.is_empty() {
            return Err(ConfigError::NoVoters);
        }
        if let Some(voter) = first_duplicate(&self.voters) {
            return Err(ConfigError::DuplicateVoter(voter));
        }
        if !self.voters.contains(&self.id) {
            return Err(ConfigError::IdNotAVoter(self.id));
        }
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
        if self.max_snapshot_bytes == 0 {
            return Err(ConfigError::ZeroBound("max_snapshot_bytes"));
        }
        Ok(())
    }
}

/// Up to this many voters, the voter-list checks below compare every pair (no allocation);
/// beyond, they sort a copy.
const PAIRWISE_VOTERS_MAX: usize = 16;

/// The first voter (in list order) that appears earlier in `voters` too, if any. Linear for a
/// list in ascending order, the usual case; otherwise quadratic up to 16 voters and
/// `O(n log n)` beyond, so a large configuration is checked quickly either way.
fn first_duplicate(voters: &[NodeId]) -> Option<NodeId> {
    if voters.windows(2).all(|pair| pair[0] < pair[1]) {
        return None;
    }
    if voters.len() > PAIRWISE_VOTERS_MAX {
        // Sorted by id, then position: within each id, the second position is where that id
        // repeats first; the earliest such position is the answer.
        let mut sorted: Vec<(NodeId, usize)> = voters.iter().copied().zip(0..).collect();
        sorted.sort_unstable();
        return sorted
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| pair[1])
            .min_by_key(|&(_, position)| position)
            .map(|(voter, _)| voter);
    }
    (1..voters.len()).find_map(|position| {
        voters[..position]
            .contains(&voters[position])
            .then_some(voters[position])
    })
}

/// True if `theirs` names the same voters as `ours`, in any order. `ours` has no duplicates
/// (a validated configuration); `theirs` may come from a peer and may have some. Linear when
/// both lists are in the same order, the usual case; otherwise quadratic up to 16 voters and
/// `O(n log n)` beyond, like [`first_duplicate`].
pub(crate) fn same_voters(theirs: &[NodeId], ours: &[NodeId]) -> bool {
    if theirs.len() != ours.len() {
        return false;
    }
    if theirs == ours {
        return true;
    }
    if ours.len() > PAIRWISE_VOTERS_MAX {
        let mut theirs = theirs.to_vec();
        let mut ours = ours.to_vec();
        theirs.sort_unstable();
        ours.sort_unstable();
        return theirs == ours;
    }
    // Equal lengths, and `ours` has no duplicates: if every one of ours is among theirs, the
    // two name the same set (a repeat in theirs would leave one of ours out).
    ours.iter().all(|voter| theirs.contains(voter))
}

/// The largest accepted `election_ticks`: twice it must fit in a `u64`.
pub const ELECTION_TICKS_MAX: u64 = u64::MAX / 2;

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `voters` is empty.
    NoVoters,
    /// This id appears twice in `voters`.
    DuplicateVoter(NodeId),
    /// `id` is not in `voters`.
    IdNotAVoter(NodeId),
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
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::NoVoters => write!(f, "the voter list is empty"),
            ConfigError::DuplicateVoter(id) => write!(f, "voter {id} is listed twice"),
            ConfigError::IdNotAVoter(id) => write!(f, "node id {id} is not among the voters"),
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
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::{first_duplicate, same_voters};
    use crate::rng::Rng;
    use crate::types::NodeId;
    use quickcheck::quickcheck;

    /// The definition: the first voter in list order that also appears before it.
    fn first_duplicate_naive(voters: &[NodeId]) -> Option<NodeId> {
        (0..voters.len())
            .find(|&position| voters[..position].contains(&voters[position]))
            .map(|position| voters[position])
    }

    #[test]
    fn duplicate_examples() {
        assert_eq!(first_duplicate(&[]), None);
        assert_eq!(first_duplicate(&[1, 2, 3]), None);
        assert_eq!(first_duplicate(&[3, 1, 2]), None);
        assert_eq!(first_duplicate(&[1, 2, 2]), Some(2));
        assert_eq!(first_duplicate(&[2, 1, 1, 2]), Some(1));
        // Beyond 16 voters, through the sorted path.
        let mut many: Vec<NodeId> = (1..=40).rev().collect();
        assert_eq!(first_duplicate(&many), None);
        many.push(7);
        many.push(30);
        assert_eq!(first_duplicate(&many), Some(7));
        many.insert(5, 2);
        assert_eq!(first_duplicate(&many), Some(2));
    }

    /// The definition: the same length and the same set of ids (`ours` has no duplicates).
    fn same_voters_naive(theirs: &[NodeId], ours: &[NodeId]) -> bool {
        theirs.len() == ours.len()
            && theirs.iter().all(|voter| ours.contains(voter))
            && ours.iter().all(|voter| theirs.contains(voter))
    }

    #[test]
    fn same_voters_examples() {
        assert!(same_voters(&[], &[]));
        assert!(same_voters(&[1, 2, 3], &[1, 2, 3]));
        assert!(same_voters(&[3, 1, 2], &[1, 2, 3]));
        assert!(!same_voters(&[1, 2], &[1, 2, 3]));
        assert!(!same_voters(&[1, 2, 4], &[1, 2, 3]));
        assert!(!same_voters(&[1, 1, 2], &[1, 2, 3]));
        // Beyond 16 voters, through the sorted path.
        let ours: Vec<NodeId> = (1..=40).collect();
        let mut theirs: Vec<NodeId> = (1..=40).rev().collect();
        assert!(same_voters(&theirs, &ours));
        theirs[7] = 41;
        assert!(!same_voters(&theirs, &ours));
        theirs[7] = 2;
        assert!(
            !same_voters(&theirs, &ours),
            "a repeat hides a missing voter"
        );
    }

    quickcheck! {
        /// Small ids make duplicates common; lengths reach past the 16-voter switch.
        fn duplicate_matches_naive(voters: Vec<u8>) -> bool {
            let voters: Vec<NodeId> = voters.into_iter().map(|id| u64::from(id % 64)).collect();
            first_duplicate(&voters) == first_duplicate_naive(&voters)
        }

        /// `ours` is a set (as a validated configuration's voters are), shuffled; `theirs` is
        /// often a permutation of it, sometimes with one id changed or repeated.
        fn same_voters_matches_naive(ids: Vec<u8>, seed: u64, change: Option<(u8, u8)>) -> bool {
            let mut ours: Vec<NodeId> = ids.into_iter().map(|id| u64::from(id % 48)).collect();
            ours.sort_unstable();
            ours.dedup();
            let mut theirs = ours.clone();
            // A Fisher-Yates shuffle driven by `seed`.
            let mut rng = Rng::new(seed);
            for i in (1..theirs.len()).rev() {
                theirs.swap(i, rng.in_range(0, i as u64 + 1) as usize);
            }
            if let Some((position, id)) = change {
                if !theirs.is_empty() {
                    let position = usize::from(position) % theirs.len();
                    theirs[position] = u64::from(id % 48);
                }
            }
            same_voters(&theirs, &ours) == same_voters_naive(&theirs, &ours)
        }
    }
}
