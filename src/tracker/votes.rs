//! A candidate's tally: who granted its vote this term and who refused, each counted once
//! (a duplicated answer is the same vote: akka-raft #45), and only if it votes in the
//! candidate's configuration.

use crate::membership::Membership;
use crate::prelude::*;
use crate::quorum::{self, VoteResult};
use crate::types::NodeId;

/// Positions below this are tallied in bit masks; beyond, in a list.
const MASK_BITS: usize = 64;

/// The votes a candidate got in its term. A voter is known by its position in the
/// configuration (its voters, then its outgoing voters that are not voters), which cannot
/// change while the candidate campaigns: anything that changes a log makes it a follower
/// first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Votes {
    /// Bit k: the voter at position k granted.
    granted: u64,
    /// Bit k: the voter at position k refused.
    rejected: u64,
    /// The answers of voters at positions `MASK_BITS` and beyond.
    beyond: Vec<(NodeId, bool)>,
}

/// `id`'s position in `membership`'s voters, then its outgoing voters, if it votes.
#[inline]
fn position(membership: &Membership, id: NodeId) -> Option<usize> {
    if let Some(position) = membership.voters.iter().position(|&voter| voter == id) {
        return Some(position);
    }
    let position = membership.outgoing.iter().position(|&voter| voter == id)?;
    Some(membership.voters.len() + position)
}

impl Votes {
    /// Forgets every vote.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.granted = 0;
        self.rejected = 0;
        self.beyond.clear();
    }

    /// Records `voter`'s answer. Returns false if it is no voter of `membership` or had
    /// answered already (its first answer stands).
    #[inline]
    pub(crate) fn record(&mut self, membership: &Membership, voter: NodeId, granted: bool) -> bool {
        let Some(position) = position(membership, voter) else {
            return false;
        };
        if position >= MASK_BITS {
            if self.beyond.iter().any(|&(id, _)| id == voter) {
                return false;
            }
            self.beyond.push((voter, granted));
            return true;
        }
        let bit = 1 << position;
        if (self.granted | self.rejected) & bit != 0 {
            return false;
        }
        if granted {
            self.granted |= bit;
        } else {
            self.rejected |= bit;
        }
        true
    }

    /// True if `voter` granted.
    pub(crate) fn granted_by(&self, membership: &Membership, voter: NodeId) -> bool {
        self.answer(membership, voter) == Some(true)
    }

    /// `voter`'s answer, if it gave one.
    fn answer(&self, membership: &Membership, voter: NodeId) -> Option<bool> {
        let position = position(membership, voter)?;
        if position >= MASK_BITS {
            return self
                .beyond
                .iter()
                .find(|&&(id, _)| id == voter)
                .map(|&(_, granted)| granted);
        }
        let bit = 1 << position;
        if self.granted & bit != 0 {
            Some(true)
        } else if self.rejected & bit != 0 {
            Some(false)
        } else {
            None
        }
    }

    /// What the votes decide in `membership` (both majorities while joint, thesis §4.3).
    #[inline]
    pub(crate) fn result(&self, membership: &Membership) -> VoteResult {
        if membership.is_joint() || !self.beyond.is_empty() {
            return self.result_any(membership);
        }
        // Every answer recorded is a voter's: count them.
        let yes = self.granted.count_ones() as usize;
        let no = self.rejected.count_ones() as usize;
        quorum::plain_vote_result(membership.voters.len(), yes, no)
    }

    /// `result` for any configuration and any number of voters.
    #[inline(never)]
    fn result_any(&self, membership: &Membership) -> VoteResult {
        if membership.is_joint() {
            return quorum::vote_result(&membership.voters, &membership.outgoing, |id| {
                self.answer(membership, id)
            });
        }
        let beyond_yes = self.beyond.iter().filter(|&&(_, granted)| granted).count();
        let yes = self.granted.count_ones() as usize + beyond_yes;
        let no = self.rejected.count_ones() as usize + (self.beyond.len() - beyond_yes);
        quorum::plain_vote_result(membership.voters.len(), yes, no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_voter_counts_once_and_only_voters_count() {
        let membership = Membership::new([1, 2, 3]);
        let mut votes = Votes::default();
        assert!(votes.record(&membership, 1, true));
        assert!(
            !votes.record(&membership, 1, false),
            "the first answer stands"
        );
        assert!(!votes.record(&membership, 9, true), "not a voter");
        assert_eq!(votes.result(&membership), VoteResult::Pending);
        assert!(votes.record(&membership, 3, true));
        assert_eq!(votes.result(&membership), VoteResult::Won);

        // Joint: a majority of {1, 2, 3} and of {4, 5, 6}.
        let joint = Membership {
            voters: vec![1, 2, 3],
            outgoing: vec![4, 5, 6],
            learners: Vec::new(),
        };
        let mut votes = Votes::default();
        for id in [1, 2, 4] {
            votes.record(&joint, id, true);
        }
        assert_eq!(votes.result(&joint), VoteResult::Pending);
        votes.record(&joint, 5, false);
        votes.record(&joint, 6, false);
        assert_eq!(votes.result(&joint), VoteResult::Lost);

        // Past the bit masks: 70 voters, 36 of them granting.
        let large = Membership::new(1..=70);
        let mut votes = Votes::default();
        for id in 35..=70 {
            assert!(votes.record(&large, id, true));
        }
        assert!(!votes.record(&large, 70, false));
        assert_eq!(votes.result(&large), VoteResult::Won);
    }
}
