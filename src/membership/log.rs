//! The configurations a node's log holds, newest last, so that the one in force is always the
//! latest (thesis §4.1) and a truncation falls back to the one before.

use super::Membership;
use crate::prelude::*;
use crate::types::{LogIndex, NodeId};

/// The configuration at the base of the log (the snapshot's, or the one the cluster started
/// with, at index 0) and every configuration entry after it, in index order. Invariant:
/// indices strictly increasing, base first.
#[derive(Clone, Debug)]
pub(crate) struct MembershipLog {
    base: (LogIndex, Membership),
    /// The configuration entries after the base; empty (no allocation) for most nodes.
    ///
    /// Boxed: `None` is one word, where an empty `Vec` is three, and the node builds, moves and
    /// drops it with every other field (elect3: 39 instructions per election).
    #[allow(clippy::box_collection)]
    later: Option<Box<Vec<(LogIndex, Membership)>>>,
}

impl MembershipLog {
    /// A log whose base is `membership`, the configuration of the entry at `index` (0 for the
    /// bootstrap membership).
    #[inline]
    pub(crate) fn new(index: LogIndex, membership: Membership) -> Self {
        MembershipLog {
            base: (index, membership),
            later: None,
        }
    }

    /// The configuration in force: the latest in the log.
    #[inline]
    pub(crate) fn current(&self) -> &Membership {
        &self.last().1
    }

    /// The index of the configuration in force (its entry's, or the base's).
    #[inline]
    pub(crate) fn current_index(&self) -> LogIndex {
        self.last().0
    }

    /// The configuration in force at `index`: the latest at or below it (the base's if none).
    #[inline]
    pub(crate) fn at(&self, index: LogIndex) -> &Membership {
        &self.entry_at(index).1
    }

    /// The configuration in force at `index` and the index of its entry.
    pub(crate) fn entry_at(&self, index: LogIndex) -> &(LogIndex, Membership) {
        self.later()
            .iter()
            .rev()
            .find(|(at, _)| *at <= index)
            .unwrap_or(&self.base)
    }

    /// A configuration entry was appended at `index`, after every one held.
    pub(crate) fn push(&mut self, index: LogIndex, membership: Membership) {
        debug_assert!(
            index > self.current_index(),
            "configurations in index order"
        );
        self.later
            .get_or_insert_with(Box::default)
            .push((index, membership));
    }

    /// The log was truncated from `index` on: the configurations there are gone, and the one
    /// before is in force again. The base stays.
    pub(crate) fn truncate_from(&mut self, index: LogIndex) {
        if let Some(later) = &mut self.later {
            while later.last().is_some_and(|(at, _)| *at >= index) {
                later.pop();
            }
        }
    }

    /// The log now starts after `index` (a snapshot there): the configuration in force at
    /// `index` becomes the base, those before it are dropped.
    pub(crate) fn compact_to(&mut self, index: LogIndex) {
        let Some(later) = &mut self.later else {
            return;
        };
        let keep = later.partition_point(|(at, _)| *at <= index);
        if keep > 0 {
            let mut dropped = later.drain(..keep);
            self.base = dropped.next_back().expect("keep > 0");
        }
    }

    /// The log was replaced by a snapshot whose configuration, of the entry at `index`, is
    /// `membership`.
    pub(crate) fn reset(&mut self, index: LogIndex, membership: Membership) {
        self.base = (index, membership);
        self.later = None;
    }

    /// True if `id` is a member of any configuration held: the ids a node listens to.
    #[inline]
    pub(crate) fn knows(&self, id: NodeId) -> bool {
        self.base.1.contains(id) || self.later().iter().any(|(_, m)| m.contains(id))
    }

    /// True if `predicate` holds for the configuration in force at `index` or any later one.
    #[inline]
    pub(crate) fn any_since(
        &self,
        index: LogIndex,
        predicate: impl Fn(&Membership) -> bool,
    ) -> bool {
        predicate(self.at(index))
            || self
                .later()
                .iter()
                .any(|(at, membership)| *at > index && predicate(membership))
    }

    /// The index of the first configuration entry after the base (the base's if none).
    pub(crate) fn first_entry_index(&self) -> LogIndex {
        self.later().first().map_or(self.base.0, |(at, _)| *at)
    }

    /// True if a configuration entry lies at an index in `from..=to` (the base is not one).
    #[inline]
    pub(crate) fn any_in(&self, from: LogIndex, to: LogIndex) -> bool {
        self.later().iter().any(|(at, _)| (from..=to).contains(at))
    }

    #[inline]
    fn later(&self) -> &[(LogIndex, Membership)] {
        self.later.as_deref().map_or(&[], |later| later.as_slice())
    }

    #[inline]
    fn last(&self) -> &(LogIndex, Membership) {
        self.later().last().unwrap_or(&self.base)
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
