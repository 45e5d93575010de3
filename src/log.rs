//! The in-memory log: offsets, term lookup, append, truncation and conflict search.

use crate::prelude::*;
use crate::types::{Command, Entry, LogIndex, Term};

/// The node's log, held in memory (the host's disk is written through `Persist` actions and
/// never read back except at restart).
///
/// Invariants: `entries[k].index == base_index + 1 + k`; terms are non-decreasing along the
/// log and every term is at least `base_term`.
#[derive(Clone, Debug)]
pub(crate) struct Log<C> {
    /// The index just before the first held entry: 0, or the last compacted index.
    base_index: LogIndex,
    /// The term of the entry at `base_index` (0 for index 0).
    base_term: Term,
    entries: Vec<Entry<C>>,
}

/// The room, in bytes of entries, a log starts with when it is restored empty: 16 entries of
/// an `Arc<[u8]>` command, and at least one entry of any command.
const INITIAL_BYTES: usize = 512;

impl<C: Command> Log<C> {
    /// A log holding `entries` after (`base_index`, `base_term`), which the caller has
    /// validated as contiguous from `base_index + 1` with non-decreasing terms.
    pub(crate) fn new(base_index: LogIndex, base_term: Term, mut entries: Vec<Entry<C>>) -> Self {
        if entries.capacity() == 0 {
            // Every node appends soon (a leader's no-op at the least): one allocation now, of
            // room for the first few appends, where growing from empty would cost a
            // reallocation on the first append and again at 4 and 8 entries (elect3, which
            // builds three nodes per election: -194 instructions).
            entries = Vec::with_capacity((INITIAL_BYTES / size_of::<Entry<C>>().max(1)).max(1));
        }
        let log = Log {
            base_index,
            base_term,
            entries,
        };
        debug_assert!(log.is_well_formed());
        log
    }

    /// The index before the first held entry: entries up to it were compacted away.
    pub(crate) fn base_index(&self) -> LogIndex {
        self.base_index
    }

    /// Drops every entry up to and including `index`, which must be held (or the base).
    pub(crate) fn compact_to(&mut self, index: LogIndex) {
        if index <= self.base_index {
            return;
        }
        let term = self.term_at(index).expect("compacting past the log");
        let count = usize::try_from(index - self.base_index).unwrap_or(usize::MAX);
        self.entries.drain(..count);
        self.base_index = index;
        self.base_term = term;
    }

    /// Drops the whole log and restarts it after (`index`, `term`): a snapshot replaced it.
    pub(crate) fn reset(&mut self, index: LogIndex, term: Term) {
        self.entries.clear();
        self.base_index = index;
        self.base_term = term;
    }

    pub(crate) fn last_index(&self) -> LogIndex {
        self.base_index + self.entries.len() as LogIndex
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries
            .last()
            .map_or(self.base_term, |entry| entry.term)
    }

    /// The term of the entry at `index`, or `None` if the log holds no such entry.
    pub(crate) fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.base_index {
            return Some(self.base_term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    pub(crate) fn entry(&self, index: LogIndex) -> Option<&Entry<C>> {
        let offset = index.checked_sub(self.base_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// The held entries, from the first after the base.
    pub(crate) fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// Entries `low..=high` (clamped to what is held).
    pub(crate) fn slice(&self, low: LogIndex, high: LogIndex) -> &[Entry<C>] {
        let start = self.offset_clamped(low);
        let end = self.offset_clamped(high.saturating_add(1));
        &self.entries[start..end.max(start)]
    }

    /// The entries from `start` on, at most `max_count` of them and, past the first, at most
    /// `max_bytes` of payload in all.
    pub(crate) fn slice_bounded(
        &self,
        start: LogIndex,
        max_count: usize,
        max_bytes: u64,
    ) -> &[Entry<C>] {
        let begin = self.offset_clamped(start);
        let available = &self.entries[begin..];
        let mut count = 0;
        let mut bytes: u64 = 0;
        for entry in available.iter().take(max_count) {
            let grown = bytes.saturating_add(entry.payload.size_bytes() as u64);
            if count > 0 && grown > max_bytes {
                break;
            }
            bytes = grown;
            count += 1;
        }
        &available[..count]
    }

    fn offset_clamped(&self, index: LogIndex) -> usize {
        let offset = index.saturating_sub(self.base_index + 1);
        usize::try_from(offset).map_or(self.entries.len(), |o| o.min(self.entries.len()))
    }

    /// Makes room for `additional` more entries at once.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Appends one entry at `last_index() + 1`.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: Entry<C>) {
        self.assert_follows(&entry);
        self.entries.push(entry);
    }

    /// Appends `entries`, contiguous from `last_index() + 1` with terms that never decrease
    /// (as `is_well_formed_append` checks every append a peer sends).
    pub(crate) fn extend_from_slice(&mut self, entries: &[Entry<C>]) {
        let Some(first) = entries.first() else {
            return;
        };
        self.assert_follows(first);
        debug_assert!(entries
            .windows(2)
            .all(|pair| pair[1].index == pair[0].index + 1 && pair[1].term >= pair[0].term));
        self.entries.extend_from_slice(entries);
    }

    /// Panics unless `entry` can come next: at `last_index() + 1`, with a term no lower than
    /// the last one.
    #[inline(always)]
    fn assert_follows(&self, entry: &Entry<C>) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log append out of order"
        );
        assert!(
            entry.term >= self.last_term(),
            "log terms must not decrease"
        );
    }

    /// Removes every entry at or after `index` (which must be past the base).
    pub(crate) fn truncate_from(&mut self, index: LogIndex) {
        assert!(index > self.base_index, "cannot truncate into the base");
        let keep = usize::try_from(index - self.base_index - 1).unwrap_or(usize::MAX);
        self.entries.truncate(keep);
    }

    /// True if a log ending at (`last_index`, `last_term`) is strictly more up to date than
    /// this one (§5.4.1).
    pub(crate) fn is_behind(&self, last_index: LogIndex, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index > self.last_index())
    }

    /// True if a log ending at (`last_index`, `last_term`) is at least as up to date as this one
    /// (Raft §5.4.1: later last term wins; same last term, the longer log wins).
    pub(crate) fn is_up_to_date(&self, last_index: LogIndex, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// The largest index at or below `index` whose term is at most `term`, with its term.
    /// Terms are non-decreasing along the log, so this is a binary search. Answers the base
    /// when no held entry qualifies.
    pub(crate) fn last_index_with_term_at_most(
        &self,
        index: LogIndex,
        term: Term,
    ) -> (LogIndex, Term) {
        let high = self.offset_clamped(index.saturating_add(1));
        let candidates = &self.entries[..high];
        let count = candidates.partition_point(|entry| entry.term <= term);
        match count.checked_sub(1) {
            Some(position) => (candidates[position].index, candidates[position].term),
            None => (self.base_index, self.base_term),
        }
    }

    fn is_well_formed(&self) -> bool {
        let mut previous_term = self.base_term;
        for (offset, entry) in self.entries.iter().enumerate() {
            if entry.index != self.base_index + 1 + offset as LogIndex || entry.term < previous_term
            {
                return false;
            }
            previous_term = entry.term;
        }
        true
    }

    #[cfg(debug_assertions)]
    pub(crate) fn check(&self) {
        debug_assert!(
            self.is_well_formed(),
            "log is not contiguous or terms decrease"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Log;
    use crate::types::{Entry, Payload};

    fn log_with_terms(terms: &[u64]) -> Log<u64> {
        Log::new(
            0,
            0,
            terms
                .iter()
                .enumerate()
                .map(|(i, &term)| Entry {
                    term,
                    index: i as u64 + 1,
                    payload: Payload::Command(i as u64),
                })
                .collect(),
        )
    }

    #[test]
    fn term_lookup_and_bounds() {
        let log = log_with_terms(&[1, 1, 2, 3]);
        assert_eq!(log.last_index(), 4);
        assert_eq!(log.last_term(), 3);
        assert_eq!(log.term_at(0), Some(0));
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.term_at(5), None);
        assert_eq!(log.slice(2, 3).len(), 2);
        assert_eq!(log.slice(4, 100).len(), 1);
        assert!(log.slice(5, 9).is_empty());
    }

    #[test]
    fn conflict_search_finds_last_entry_with_term_at_most() {
        let log = log_with_terms(&[1, 1, 2, 2, 2, 5, 5]);
        assert_eq!(log.last_index_with_term_at_most(7, 4), (5, 2));
        assert_eq!(log.last_index_with_term_at_most(3, 2), (3, 2));
        assert_eq!(log.last_index_with_term_at_most(100, 9), (7, 5));
        assert_eq!(log.last_index_with_term_at_most(7, 0), (0, 0));
    }

    #[test]
    fn bounded_slice_respects_count_and_bytes_but_sends_one() {
        let log = log_with_terms(&[1, 1, 1, 1]);
        assert_eq!(log.slice_bounded(1, 2, 1000), &log.entries()[..2]);
        assert_eq!(log.slice_bounded(1, 10, 16).len(), 2); // 8 bytes each
        assert_eq!(log.slice_bounded(1, 10, 1), &log.entries()[..1]); // always one
        assert!(log.slice_bounded(5, 10, 100).is_empty());
    }

    #[test]
    fn up_to_date_rule() {
        let log = log_with_terms(&[1, 2]);
        assert!(log.is_up_to_date(2, 2));
        assert!(log.is_up_to_date(1, 3));
        assert!(!log.is_up_to_date(5, 1));
        assert!(!log.is_up_to_date(1, 2));
    }

    /// An operation applied both to the log and to a plain `Vec` model of it, in which the
    /// entry at index i is `model[i - 1]`.
    #[derive(Clone, Debug)]
    enum Operation {
        Push(u8),
        TruncateFrom(u8),
        CompactTo(u8),
    }

    impl quickcheck::Arbitrary for Operation {
        fn arbitrary(g: &mut quickcheck::Gen) -> Self {
            let byte = <u8 as quickcheck::Arbitrary>::arbitrary(g);
            // Six pushes for each truncation and each compaction, so logs grow.
            match <u8 as quickcheck::Arbitrary>::arbitrary(g) % 8 {
                0 => Operation::TruncateFrom(byte),
                1 => Operation::CompactTo(byte),
                _ => Operation::Push(byte),
            }
        }
    }

    use quickcheck::quickcheck;

    /// Applies `operations` to both the log and the model; pushes raise the term by the low
    /// bit of their byte, truncations cut at an index after the base, compactions move the
    /// base forward. The model keeps every entry; the log only those after its base, which
    /// `build` answers too.
    fn build(operations: &[Operation]) -> (Log<u64>, Vec<Entry<u64>>, u64) {
        let mut log: Log<u64> = Log::new(0, 0, Vec::new());
        let mut model: Vec<Entry<u64>> = Vec::new();
        let mut base = 0;
        for operation in operations {
            match *operation {
                Operation::Push(byte) => {
                    let term = model.last().map_or(1, |e| e.term) + u64::from(byte & 1);
                    let entry = Entry {
                        term,
                        index: model.len() as u64 + 1,
                        payload: Payload::Command(u64::from(byte)),
                    };
                    log.push(entry.clone());
                    model.push(entry);
                }
                Operation::TruncateFrom(byte) if !model.is_empty() => {
                    let index = 1 + u64::from(byte) % model.len() as u64;
                    if index > base {
                        log.truncate_from(index);
                        model.truncate(index as usize - 1);
                    }
                }
                Operation::CompactTo(byte) => {
                    let index = u64::from(byte) % (model.len() as u64 + 1);
                    log.compact_to(index);
                    base = base.max(index);
                }
                Operation::TruncateFrom(_) => {}
            }
        }
        (log, model, base)
    }

    quickcheck! {
        fn log_matches_a_vec_model(operations: Vec<Operation>, probe: u8, span: u8) -> bool {
            let (log, model, base) = build(&operations);
            let last = model.len() as u64;
            let index = u64::from(probe) % (last + 3);
            let term_of = |i: u64| -> Option<u64> {
                if i == 0 { Some(0) } else { model.get(i as usize - 1).map(|e| e.term) }
            };
            // Below the base nothing is known; the base keeps its term.
            let expected_term = if index < base { None } else { term_of(index) };
            let expected_entry = model.get((index as usize).wrapping_sub(1)).filter(|_| index > base);
            let high = index + u64::from(span % 8);
            let expected_slice: Vec<Entry<u64>> = model
                .iter()
                .filter(|e| e.index >= index && e.index <= high && e.index > base)
                .cloned()
                .collect();
            log.entries() == &model[base as usize..]
                && log.base_index() == base
                && log.last_index() == last
                && log.last_term() == model.last().map_or(0, |e| e.term)
                && log.term_at(index) == expected_term
                && log.entry(index) == expected_entry
                && log.slice(index, high) == expected_slice.as_slice()
        }

        fn conflict_search_matches_a_linear_scan(operations: Vec<Operation>, probe: u8, term: u8) -> bool {
            let (log, model, base) = build(&operations);
            let index = u64::from(probe);
            let term = u64::from(term % 8);
            let base_term = if base == 0 { 0 } else { model[base as usize - 1].term };
            let expected = model
                .iter()
                .rev()
                .find(|e| e.index <= index && e.term <= term && e.index > base)
                .map_or((base, base_term), |e| (e.index, e.term));
            log.last_index_with_term_at_most(index, term) == expected
        }

        fn bounded_slice_matches_the_definition(operations: Vec<Operation>, start: u8, count: u8, bytes: u8) -> bool {
            let (log, model, base) = build(&operations);
            let start = u64::from(start) % (model.len() as u64 + 2);
            let count = 1 + usize::from(count % 8);
            let max_bytes = u64::from(bytes % 40);
            let slice = log.slice_bounded(start, count, max_bytes);
            let available: Vec<&Entry<u64>> =
                model.iter().filter(|e| e.index >= start.max(base + 1)).collect();
            // At most `count` entries, contiguous from the start, never empty if any is
            // available, past the first within the byte bound (8 bytes per command).
            let total = 8 * slice.len() as u64;
            slice.len() <= count
                && slice.iter().zip(available.iter()).all(|(a, b)| a == *b)
                && (available.is_empty() || !slice.is_empty())
                && (slice.len() <= 1 || total <= max_bytes)
                && (slice.len() == count.min(available.len()) || total + 8 > max_bytes)
        }

        fn up_to_date_is_a_lexicographic_order(operations: Vec<Operation>, index: u8, term: u8) -> bool {
            let (log, model, _) = build(&operations);
            let ours = (model.last().map_or(0, |e| e.term), model.len() as u64);
            let theirs = (u64::from(term % 8), u64::from(index));
            log.is_up_to_date(theirs.1, theirs.0) == (theirs >= ours)
        }
    }
}
