//! Joint quorums (thesis §4.3): while a configuration is joint, every decision needs a majority
//! of the new voters and a majority of the old ones. With no old voters, a joint quorum is a
//! plain majority.

use super::majority::{committed_index as majority_committed, majority, SMALL};
use crate::prelude::*;
use crate::types::{LogIndex, NodeId};

/// What a candidate's votes decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VoteResult {
    /// A majority granted (of both, while joint): the candidate wins.
    Won,
    /// Enough voters refused that no majority can grant any more (of either, while joint).
    Lost,
    /// Neither yet.
    Pending,
}

/// The outcome of one majority of `voters`, given each one's answer (`Some(true)` granted,
/// `Some(false)` refused, `None` not yet).
fn vote_result_of(voters: &[NodeId], vote_of: &impl Fn(NodeId) -> Option<bool>) -> VoteResult {
    let yes = voters
        .iter()
        .filter(|&&id| vote_of(id) == Some(true))
        .count();
    let no = voters
        .iter()
        .filter(|&&id| vote_of(id) == Some(false))
        .count();
    plain_vote_result(voters.len(), yes, no)
}

/// The outcome of a majority of `voters` voters of which `yes` granted and `no` refused.
#[inline]
pub(crate) fn plain_vote_result(voters: usize, yes: usize, no: usize) -> VoteResult {
    let needed = majority(voters);
    if yes >= needed {
        VoteResult::Won
    } else if voters - no.min(voters) < needed {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

/// The outcome of an election in the configuration of `voters` and, while joint, `outgoing`:
/// won only when both majorities are, lost as soon as either is.
pub(crate) fn vote_result(
    voters: &[NodeId],
    outgoing: &[NodeId],
    vote_of: impl Fn(NodeId) -> Option<bool>,
) -> VoteResult {
    let incoming = vote_result_of(voters, &vote_of);
    if outgoing.is_empty() {
        return incoming;
    }
    match (incoming, vote_result_of(outgoing, &vote_of)) {
        (VoteResult::Won, VoteResult::Won) => VoteResult::Won,
        (VoteResult::Lost, _) | (_, VoteResult::Lost) => VoteResult::Lost,
        _ => VoteResult::Pending,
    }
}

/// The highest index held by a majority of `voters` and, while joint, of `outgoing`, given
/// each node's match index (`match_of`). The least of the two majorities' indices: an entry
/// is committed only when both hold it.
pub(crate) fn committed_index(
    voters: &[NodeId],
    outgoing: &[NodeId],
    match_of: impl Fn(NodeId) -> LogIndex,
) -> LogIndex {
    let incoming = majority_of(voters, &match_of);
    if outgoing.is_empty() {
        return incoming;
    }
    incoming.min(majority_of(outgoing, &match_of))
}

/// The highest index held by a majority of `voters`.
fn majority_of(voters: &[NodeId], match_of: &impl Fn(NodeId) -> LogIndex) -> LogIndex {
    if voters.len() <= SMALL {
        let mut matches = [0; SMALL];
        for (slot, &id) in matches.iter_mut().zip(voters) {
            *slot = match_of(id);
        }
        return majority_committed(&mut matches[..voters.len()]);
    }
    let mut matches: Vec<LogIndex> = voters.iter().map(|&id| match_of(id)).collect();
    majority_committed(&mut matches)
}

#[cfg(test)]
mod tests {
    use super::{committed_index, vote_result, VoteResult};
    use crate::types::{LogIndex, NodeId};
    use quickcheck::quickcheck;

    /// The definition, naively: the largest N such that a majority of each non-empty set has
    /// a match of at least N (0 if none).
    fn committed_naive(voters: &[NodeId], outgoing: &[NodeId], matches: &[LogIndex]) -> LogIndex {
        let holds = |set: &[NodeId], n: LogIndex| {
            set.is_empty()
                || 2 * set.iter().filter(|&&id| matches[id as usize] >= n).count() > set.len()
        };
        (0..=matches.iter().copied().max().unwrap_or(0))
            .filter(|&n| holds(voters, n) && holds(outgoing, n))
            .max()
            .unwrap_or(0)
    }

    /// The definition, naively: won if each non-empty set has more granted than half; lost
    /// if in some non-empty set even every undecided voter granting would not make more than
    /// half.
    fn vote_naive(
        voters: &[NodeId],
        outgoing: &[NodeId],
        granted: &[NodeId],
        rejected: &[NodeId],
    ) -> VoteResult {
        let count = |set: &[NodeId], of: &[NodeId]| set.iter().filter(|id| of.contains(id)).count();
        let won = |set: &[NodeId]| set.is_empty() || 2 * count(set, granted) > set.len();
        let lost =
            |set: &[NodeId]| !set.is_empty() && 2 * (set.len() - count(set, rejected)) <= set.len();
        if won(voters) && won(outgoing) {
            VoteResult::Won
        } else if lost(voters) || lost(outgoing) {
            VoteResult::Lost
        } else {
            VoteResult::Pending
        }
    }

    /// `id`'s answer, from the lists of who granted and who refused.
    fn answer_of(granted: &[NodeId], rejected: &[NodeId], id: NodeId) -> Option<bool> {
        if granted.contains(&id) {
            Some(true)
        } else if rejected.contains(&id) {
            Some(false)
        } else {
            None
        }
    }

    /// Up to 20 distinct ids below 24 for each set (the second possibly empty, as outside a
    /// joint configuration), drawn from `picks`; the first set is never empty.
    fn sets(first: u8, picks: &[u8], split: u8) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut ids: Vec<NodeId> = core::iter::once(first)
            .chain(picks.iter().copied())
            .map(|b| NodeId::from(b % 24))
            .collect();
        let at = 1 + usize::from(split) % ids.len();
        let mut outgoing = ids.split_off(at);
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(20);
        outgoing.sort_unstable();
        outgoing.dedup();
        outgoing.truncate(20);
        (ids, outgoing)
    }

    #[test]
    fn joint_examples() {
        let matches = |id: NodeId| [0, 5, 5, 2, 9, 9, 9][id as usize];
        assert_eq!(committed_index(&[1, 2, 3], &[], matches), 5);
        assert_eq!(committed_index(&[4, 5, 6], &[1, 2, 3], matches), 5);
        assert_eq!(
            committed_index(&[4, 5, 6], &[3], matches),
            2,
            "the old majority lags"
        );
        let (won, lost, pending) = (VoteResult::Won, VoteResult::Lost, VoteResult::Pending);
        let vote_result =
            |voters: &[NodeId], outgoing: &[NodeId], granted: &[NodeId], rejected: &[NodeId]| {
                vote_result(voters, outgoing, |id| answer_of(granted, rejected, id))
            };
        assert_eq!(vote_result(&[1, 2, 3], &[], &[1, 2], &[]), won);
        assert_eq!(vote_result(&[1, 2, 3], &[4, 5, 6], &[1, 2], &[]), pending);
        assert_eq!(vote_result(&[1, 2, 3], &[4, 5, 6], &[1, 2, 4, 5], &[]), won);
        assert_eq!(vote_result(&[1, 2, 3], &[4, 5, 6], &[1, 2], &[5, 6]), lost);
        assert_eq!(vote_result(&[1, 2, 3, 4], &[], &[1], &[2, 3]), lost);
        assert_eq!(vote_result(&[1, 2, 3, 4], &[], &[1, 2], &[3]), pending);
    }

    quickcheck! {
        /// Every case checks: one or two sets of voters and a match index for every id.
        fn joint_committed_matches_naive(first: u8, picks: Vec<u8>, split: u8, matches: Vec<u8>) -> bool {
            let (voters, outgoing) = sets(first, &picks, split);
            let matches: Vec<LogIndex> = (0..24)
                .map(|k| LogIndex::from(matches.get(k).copied().unwrap_or(0) % 16))
                .collect();
            committed_index(&voters, &outgoing, |id| matches[id as usize])
                == committed_naive(&voters, &outgoing, &matches)
        }

        /// Every case checks: one or two sets of voters, each id granted, refused or silent.
        fn joint_vote_matches_naive(first: u8, picks: Vec<u8>, split: u8, answers: Vec<u8>) -> bool {
            let (voters, outgoing) = sets(first, &picks, split);
            let answer = |id: NodeId| answers.get(id as usize).copied().unwrap_or(0) % 3;
            let granted: Vec<NodeId> = (0..24).filter(|&id| answer(id) == 1).collect();
            let rejected: Vec<NodeId> = (0..24).filter(|&id| answer(id) == 2).collect();
            vote_result(&voters, &outgoing, |id| answer_of(&granted, &rejected, id))
                == vote_naive(&voters, &outgoing, &granted, &rejected)
        }
    }
}
