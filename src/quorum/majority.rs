//! Majorities of one set of voters (Raft §5.2, §5.3).

use crate::types::LogIndex;

/// The number of votes that makes a majority of `voters` (Raft §5.2).
pub(crate) fn majority(voters: usize) -> usize {
    voters / 2 + 1
}

/// The highest index held by a majority, given each voter's match index (Raft §5.3 and
/// Figure 2: "a majority of `matchIndex[i] >= N`"). May reorder `matches`.
pub(crate) fn committed_index(matches: &mut [LogIndex]) -> LogIndex {
    debug_assert!(!matches.is_empty());
    if let [a, b, c] = *matches {
        // Three voters, the most common cluster: the median.
        return a.max(b).min(a.min(b).max(c));
    }
    // The k-th largest value, k = majority, is the largest N with a majority at or above N.
    let k = majority(matches.len());
    if matches.len() <= SMALL {
        // Clusters are small: an insertion sort beats a general selection by far.
        for sorted in 1..matches.len() {
            let mut position = sorted;
            while position > 0 && matches[position - 1] < matches[position] {
                matches.swap(position - 1, position);
                position -= 1;
            }
        }
        return matches[k - 1];
    }
    let (_, kth, _) = matches.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
    *kth
}

/// Up to this many voters, `committed_index` sorts in place on the stack.
pub(crate) const SMALL: usize = 8;

#[cfg(test)]
mod tests {
    use super::{committed_index, majority};
    use quickcheck::quickcheck;

    /// The definition, checked naively: the largest N such that a majority has match >= N.
    fn committed_naive(matches: &[u64]) -> u64 {
        let mut best = 0;
        for &candidate in matches {
            let holding = matches.iter().filter(|&&m| m >= candidate).count();
            if holding >= majority(matches.len()) && candidate > best {
                best = candidate;
            }
        }
        best
    }

    #[test]
    fn majority_sizes() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(2), 2);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
    }

    #[test]
    fn committed_examples() {
        assert_eq!(committed_index(&mut [5]), 5);
        assert_eq!(committed_index(&mut [5, 3, 9]), 5);
        assert_eq!(committed_index(&mut [1, 2, 3, 4]), 2);
        assert_eq!(committed_index(&mut [0, 0, 7, 7, 7]), 7);
        // Three voters take their own path: every ordering of every small triple.
        for a in 0..4 {
            for b in 0..4 {
                for c in 0..4 {
                    let matches = [a, b, c];
                    assert_eq!(
                        committed_index(&mut matches.clone()),
                        committed_naive(&matches)
                    );
                }
            }
        }
    }

    quickcheck! {
        /// Every case checks: 1 to 20 voters (the first match is always there), and match
        /// indices drawn small half of the time so that ties are common.
        fn committed_matches_naive(first: u64, rest: Vec<u64>, small: bool) -> bool {
            let mut matches: Vec<u64> = core::iter::once(first).chain(rest).take(20).collect();
            if small {
                matches.iter_mut().for_each(|m| *m %= 8);
            }
            let expected = committed_naive(&matches);
            let mut scratch = matches.clone();
            committed_index(&mut scratch) == expected
        }
    }
}
