//! Cluster membership (thesis chapter 4): configurations, the changes a leader accepts, and
//! the configurations a node's log holds.
//!
//! A configuration takes effect on every node as soon as its entry is in the node's log,
//! committed or not (thesis §4.1): a node always uses the latest configuration its log holds,
//! and falls back to an earlier one if a conflicting append truncates the entry. Single-server
//! changes (add a learner, promote a learner, remove a member) differ from the configuration
//! before them by at most one voter, so any majority of the one overlaps any majority of the
//! other; arbitrary changes go through a joint configuration, `C_old,new`, in which every
//! decision needs a majority of both (thesis §4.3), and leave it with a second entry once the
//! first is committed.

use crate::prelude::*;
mod log;

pub(crate) use log::MembershipLog;

use crate::types::{LogIndex, NodeId};

/// A cluster configuration: who votes, who only receives the log, and, while the cluster is
/// moving from one set of voters to another, who voted before (thesis §4.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Membership {
    /// The voters (`C_new` while joint).
    pub voters: Vec<NodeId>,
    /// While joint, the voters of the configuration being left (`C_old`); empty otherwise.
    /// Every decision that needs a majority needs one of `voters` and one of these.
    pub outgoing: Vec<NodeId>,
    /// Members that receive the log and snapshots but never vote, campaign or count in a
    /// quorum. A new node joins as a learner and is promoted once it has caught up.
    pub learners: Vec<NodeId>,
}

impl Membership {
    /// A configuration of these voters, no learners.
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Membership {
            voters: voters.into_iter().collect(),
            outgoing: Vec::new(),
            learners: Vec::new(),
        }
    }

    /// True while moving from `outgoing` to `voters` (thesis §4.3).
    #[inline]
    pub fn is_joint(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// True if `id` votes: it is among `voters` or, while joint, `outgoing`.
    #[inline]
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.outgoing.contains(&id)
    }

    /// True if `id` is a learner.
    #[inline]
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.contains(&id)
    }

    /// True if `id` is a member in any role.
    #[inline]
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// True for the empty configuration of a node that has not joined a cluster yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.voters.is_empty() && self.outgoing.is_empty() && self.learners.is_empty()
    }

    /// Every member, each once: the voters, then the outgoing voters that are not voters,
    /// then the learners.
    pub fn members(&self) -> impl Iterator<Item = NodeId> + '_ {
        let outgoing_only = self.outgoing.iter().filter(|id| !self.voters.contains(id));
        self.voters
            .iter()
            .chain(outgoing_only)
            .chain(&self.learners)
            .copied()
    }

    /// Checks the configuration: at least one voter, no id twice in a list, no learner that
    /// votes, and no empty `voters` while joint.
    #[inline]
    pub fn validate(&self) -> Result<(), MembershipError> {
        let plain = self.outgoing.is_empty() && self.learners.is_empty();
        if plain && !self.voters.is_empty() && self.voters.windows(2).all(|pair| pair[0] < pair[1])
        {
            return Ok(()); // The usual configuration: voters only, in ascending order.
        }
        self.validate_any()
    }

    /// `validate` for any configuration.
    #[inline(never)]
    fn validate_any(&self) -> Result<(), MembershipError> {
        if self.voters.is_empty() {
            return Err(MembershipError::NoVoters);
        }
        for list in [&self.voters, &self.outgoing, &self.learners] {
            if let Some(id) = first_duplicate(list) {
                return Err(MembershipError::Duplicate(id));
            }
        }
        if let Some(&id) = self.learners.iter().find(|&&id| self.is_voter(id)) {
            return Err(MembershipError::LearnerVotes(id));
        }
        Ok(())
    }

    /// The configuration `change` leads to from this one, or why it cannot be made. Does not
    /// check who proposes it or when (see `MembershipError`).
    pub fn changed(&self, change: &MembershipChange) -> Result<Membership, MembershipError> {
        let single = |membership: &Membership| {
            if membership.is_joint() {
                Err(MembershipError::Joint)
            } else {
                Ok(membership.clone())
            }
        };
        let next = match change {
            MembershipChange::AddLearner(id) => {
                if self.contains(*id) {
                    return Err(MembershipError::AlreadyMember(*id));
                }
                let mut next = single(self)?;
                next.learners.push(*id);
                next
            }
            MembershipChange::Promote(id) => {
                if !self.is_learner(*id) {
                    return Err(MembershipError::NotALearner(*id));
                }
                let mut next = single(self)?;
                next.learners.retain(|learner| learner != id);
                next.voters.push(*id);
                next
            }
            MembershipChange::Remove(id) => {
                if !self.contains(*id) {
                    return Err(MembershipError::NotAMember(*id));
                }
                let mut next = single(self)?;
                next.learners.retain(|learner| learner != id);
                next.voters.retain(|voter| voter != id);
                if next.voters.is_empty() {
                    return Err(MembershipError::RemovesLastVoter);
                }
                next
            }
            MembershipChange::Joint { voters, learners } => {
                let mut next = single(self)?;
                next.outgoing = core::mem::take(&mut next.voters);
                next.voters.clone_from(voters);
                next.learners.clone_from(learners);
                next
            }
            MembershipChange::LeaveJoint => {
                if !self.is_joint() {
                    return Err(MembershipError::NotJoint);
                }
                let mut next = self.clone();
                next.outgoing.clear();
                next
            }
        };
        next.validate()?;
        Ok(next)
    }
}

/// Readably: `voters {1, 2, 3}`, then `and {4, 5} (joint)` for the outgoing voters while
/// joint, then `, learners {6}` if there are learners.
impl core::fmt::Display for Membership {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let list = |f: &mut core::fmt::Formatter<'_>, ids: &[NodeId]| {
            f.write_str("{")?;
            for (position, id) in ids.iter().enumerate() {
                if position > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{id}")?;
            }
            f.write_str("}")
        };
        f.write_str("voters ")?;
        list(f, &self.voters)?;
        if self.is_joint() {
            f.write_str(" and ")?;
            list(f, &self.outgoing)?;
            f.write_str(" (joint)")?;
        }
        if !self.learners.is_empty() {
            f.write_str(", learners ")?;
            list(f, &self.learners)?;
        }
        Ok(())
    }
}

/// A change a leader is asked to make (`Event::ChangeMembership`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MembershipChange {
    /// Add a node that receives the log but does not vote (thesis §4.2.1: a new server
    /// catches up before it counts). Start it empty first: it follows the leader that adds it.
    AddLearner(NodeId),
    /// Make a learner a voter, once it has caught up (the host decides when, from how far
    /// behind `Raft::match_indices` shows it).
    Promote(NodeId),
    /// Remove a voter or a learner. A leader that removes itself leads until the change is
    /// committed, then steps down (thesis §4.2.2).
    Remove(NodeId),
    /// Replace the voters and learners at once, through the joint configuration (thesis §4.3):
    /// the old voters become `outgoing` until the leader leaves the joint configuration,
    /// by itself once the joint entry is committed (`Config::auto_leave_joint`) or when asked
    /// with `LeaveJoint`.
    Joint {
        /// The new voters.
        voters: Vec<NodeId>,
        /// The new learners.
        learners: Vec<NodeId>,
    },
    /// Leave the joint configuration: the voters alone decide from then on.
    LeaveJoint,
}

/// Why a configuration or a membership change was refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MembershipError {
    /// The configuration would have no voter.
    NoVoters,
    /// This id appears twice in one list.
    Duplicate(NodeId),
    /// This learner is also a voter.
    LearnerVotes(NodeId),
    /// The change would remove the last voter.
    RemovesLastVoter,
    /// This node is a member already.
    AlreadyMember(NodeId),
    /// This node is not a learner, so it cannot be promoted.
    NotALearner(NodeId),
    /// This node is not a member.
    NotAMember(NodeId),
    /// The configuration is joint: leave it first (`MembershipChange::LeaveJoint`).
    Joint,
    /// The configuration is not joint: there is nothing to leave.
    NotJoint,
    /// Another change, at `index`, is not committed yet: one change at a time.
    Pending {
        /// Where the pending change is.
        index: LogIndex,
    },
    /// The change was made against the configuration at `expected`, but the configuration
    /// now in force is the one at `current`: a stale or retried change, refused so it cannot
    /// undo a later one.
    Stale {
        /// The configuration index the change named.
        expected: LogIndex,
        /// The index of the configuration in force.
        current: LogIndex,
    },
    /// The leader has not committed an entry of its own term yet. Until it has, a change
    /// could be lost with entries of an earlier term and another change win (the
    /// single-server bug of Ongaro, 2015): retry in a moment.
    NoCommitInTerm,
}

impl core::fmt::Display for MembershipError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MembershipError::NoVoters => write!(f, "the configuration has no voter"),
            MembershipError::Duplicate(id) => write!(f, "node {id} is listed twice"),
            MembershipError::LearnerVotes(id) => {
                write!(f, "node {id} is both a learner and a voter")
            }
            MembershipError::RemovesLastVoter => write!(f, "the change removes the last voter"),
            MembershipError::AlreadyMember(id) => write!(f, "node {id} is a member already"),
            MembershipError::NotALearner(id) => write!(f, "node {id} is not a learner"),
            MembershipError::NotAMember(id) => write!(f, "node {id} is not a member"),
            MembershipError::Joint => write!(f, "the configuration is joint: leave it first"),
            MembershipError::NotJoint => write!(f, "the configuration is not joint"),
            MembershipError::Pending { index } => {
                write!(f, "the change at {index} is not committed yet")
            }
            MembershipError::Stale { expected, current } => write!(
                f,
                "the change names the configuration at {expected}, but the one at {current} \
                 is in force"
            ),
            MembershipError::NoCommitInTerm => {
                write!(f, "the leader has not committed an entry of its term yet")
            }
        }
    }
}

impl core::error::Error for MembershipError {}

/// Up to this many ids, `first_duplicate` compares every pair (no allocation); beyond, it sorts
/// a copy.
const PAIRWISE_VOTERS_MAX: usize = 16;

/// The first id (in list order) that appears earlier in `voters` too, if any. Linear for a
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

#[cfg(test)]
mod tests {
    use super::first_duplicate;
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

    quickcheck! {
        /// Small ids make duplicates common; lengths reach past the 16-voter switch.
        fn duplicate_matches_naive(voters: Vec<u8>) -> bool {
            let voters: Vec<NodeId> = voters.into_iter().map(|id| u64::from(id % 64)).collect();
            first_duplicate(&voters) == first_duplicate_naive(&voters)
        }
    }
}
