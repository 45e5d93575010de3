//! The configurations a node's log holds, newest last, so that the one in force is always the
//! latest (thesis §4.1) and a truncation falls back to the one before.

use smallvec::SmallVec;

use super::Membership;
use crate::types::{LogIndex, NodeId};

/// The configuration at the base of the log (the snapshot's, or the one the cluster started
/// with, at index 0) and every configuration entry after it, in index order. Invariant: never
/// empty, indices strictly increasing.
#[derive(Clone, Debug)]
pub(crate) struct MembershipLog {
    configurations: SmallVec<[(LogIndex, Membership); 2]>,
}

impl MembershipLog {
    /// A log whose base is `membership`, the configuration of the entry at `index` (0 for the
    /// bootstrap membership).
    pub(crate) fn new(index: LogIndex, membership: Membership) -> Self {
        let mut configurations = SmallVec::new();
        configurations.push((index, membership));
        MembershipLog { configurations }
    }

    /// The configuration in force: the latest in the log.
    pub(crate) fn current(&self) -> &Membership {
        &self.last().1
    }

    /// The index of the configuration in force (its entry's, or the base's).
    pub(crate) fn current_index(&self) -> LogIndex {
        self.last().0
    }

    /// The configuration in force at `index`: the latest at or below it (the base's if none).
    pub(crate) fn at(&self, index: LogIndex) -> &Membership {
        &self.entry_at(index).1
    }

    /// The configuration in force at `index` and the index of its entry.
    pub(crate) fn entry_at(&self, index: LogIndex) -> &(LogIndex, Membership) {
        let position = self
            .configurations
            .iter()
            .rposition(|(at, _)| *at <= index)
            .unwrap_or(0);
        &self.configurations[position]
    }

    /// A configuration entry was appended at `index`, after every one held.
    pub(crate) fn push(&mut self, index: LogIndex, membership: Membership) {
        debug_assert!(
            index > self.current_index(),
            "configurations in index order"
        );
        self.configurations.push((index, membership));
    }

    /// The log was truncated from `index` on: the configurations there are gone, and the one
    /// before is in force again. The base stays.
    pub(crate) fn truncate_from(&mut self, index: LogIndex) {
        while self.configurations.len() > 1 && self.last().0 >= index {
            self.configurations.pop();
        }
    }

    /// The log now starts after `index` (a snapshot there): the configuration in force at
    /// `index` becomes the base, those before it are dropped.
    pub(crate) fn compact_to(&mut self, index: LogIndex) {
        let keep = self
            .configurations
            .iter()
            .rposition(|(at, _)| *at <= index)
            .unwrap_or(0);
        if keep > 0 {
            self.configurations.drain(..keep);
        }
    }

    /// The log was replaced by a snapshot whose configuration, of the entry at `index`, is
    /// `membership`.
    pub(crate) fn reset(&mut self, index: LogIndex, membership: Membership) {
        *self = MembershipLog::new(index, membership);
    }

    /// True if `id` is a member of any configuration held: the ids a node listens to.
    pub(crate) fn knows(&self, id: NodeId) -> bool {
        self.configurations
            .iter()
            .any(|(_, membership)| membership.contains(id))
    }

    /// True if a configuration entry lies at an index in `from..=to` (the base is not one).
    pub(crate) fn any_in(&self, from: LogIndex, to: LogIndex) -> bool {
        self.configurations[1..]
            .iter()
            .any(|(at, _)| (from..=to).contains(at))
    }

    fn last(&self) -> &(LogIndex, Membership) {
        self.configurations.last().expect("never empty")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_is_in_force_and_a_truncation_falls_back() {
        let mut log = MembershipLog::new(0, Membership::new([1, 2, 3]));
        log.push(5, Membership::new([1, 2, 3, 4]));
        log.push(9, Membership::new([1, 2, 4]));
        assert_eq!(log.current(), &Membership::new([1, 2, 4]));
        assert_eq!(log.at(7), &Membership::new([1, 2, 3, 4]));
        assert_eq!(log.at(4), &Membership::new([1, 2, 3]));
        assert!(log.knows(3) && log.knows(4) && !log.knows(5));
        log.truncate_from(9);
        assert_eq!(
            (log.current_index(), log.current()),
            (5, &Membership::new([1, 2, 3, 4]))
        );
        log.truncate_from(1);
        assert_eq!(log.current_index(), 0, "the base stays");
        log.push(6, Membership::new([1, 2]));
        log.compact_to(7);
        assert_eq!(log.current_index(), 6);
        assert!(!log.knows(3), "the configurations before the base are gone");
    }
}
