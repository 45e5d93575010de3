//! `Entries`: the run of log entries that actions and messages carry.

use crate::prelude::*;
use core::fmt;
use core::ops::{Deref, DerefMut};

use smallvec::SmallVec;

use crate::types::Entry;

/// A run of log entries, as `Persist::Entries`, `Action::Apply` and `Message::AppendEntries`
/// carry them (contiguous in every one the node produces; a peer's are checked on receipt).
///
/// It is a vector that keeps a single entry inline, without a heap allocation. One entry per
/// action or message is the common case of a leader that replicates each proposal as it
/// arrives, so that path allocates for the command alone. Longer runs live on the heap like a
/// `Vec`.
///
/// Read it as a slice (it dereferences to `[Entry<C>]`), iterate it by reference or by value,
/// or turn it into a `Vec` with [`Entries::into_vec`] (free when the entries are on the heap).
/// Build one from a `Vec`, an iterator or [`Entries::push`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Entries<C>(SmallVec<[Entry<C>; 1]>);

impl<C> Entries<C> {
    /// No entries.
    pub fn new() -> Self {
        Entries(SmallVec::new())
    }

    /// One entry, held inline.
    pub fn one(entry: Entry<C>) -> Self {
        let mut entries = Entries::new();
        entries.0.push(entry);
        entries
    }

    /// Appends `entry` at the end.
    pub fn push(&mut self, entry: Entry<C>) {
        self.0.push(entry);
    }

    /// The number of entries it can hold without allocating again.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Makes room for at least `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    /// Removes the first `count` entries (all of them if there are fewer).
    pub fn remove_first(&mut self, count: usize) {
        if count > 0 {
            let count = count.min(self.0.len());
            self.0.drain(..count);
        }
    }

    /// Moves every entry to the end of `vec`, copying them in one piece.
    pub fn append_to(mut self, vec: &mut Vec<Entry<C>>) {
        if self.0.spilled() {
            vec.append(&mut self.0.into_vec());
        } else if let Some(entry) = self.0.pop() {
            // Inline, so at most one entry.
            vec.push(entry);
        }
    }

    /// The entries as a `Vec`, without copying them when they are on the heap.
    pub fn into_vec(self) -> Vec<Entry<C>> {
        self.0.into_vec()
    }
}

impl<C: Clone> Entries<C> {
    /// A copy of `entries`.
    #[inline(always)]
    pub fn from_slice(entries: &[Entry<C>]) -> Self {
        match entries {
            [entry] => Entries::one(entry.clone()),
            _ => Entries::from(entries.to_vec()),
        }
    }
}

impl<C> Default for Entries<C> {
    fn default() -> Self {
        Entries::new()
    }
}

impl<C> Deref for Entries<C> {
    type Target = [Entry<C>];

    fn deref(&self) -> &[Entry<C>] {
        &self.0
    }
}

impl<C> DerefMut for Entries<C> {
    fn deref_mut(&mut self) -> &mut [Entry<C>] {
        &mut self.0
    }
}

impl<C: fmt::Debug> fmt::Debug for Entries<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<C> From<Vec<Entry<C>>> for Entries<C> {
    /// Takes over the vector's allocation.
    fn from(entries: Vec<Entry<C>>) -> Self {
        Entries(SmallVec::from_vec(entries))
    }
}

impl<C> From<Entries<C>> for Vec<Entry<C>> {
    fn from(entries: Entries<C>) -> Self {
        entries.into_vec()
    }
}

impl<C> FromIterator<Entry<C>> for Entries<C> {
    fn from_iter<I: IntoIterator<Item = Entry<C>>>(iter: I) -> Self {
        Entries(SmallVec::from_iter(iter))
    }
}

impl<C> Extend<Entry<C>> for Entries<C> {
    fn extend<I: IntoIterator<Item = Entry<C>>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<C: PartialEq> PartialEq<Vec<Entry<C>>> for Entries<C> {
    fn eq(&self, other: &Vec<Entry<C>>) -> bool {
        self[..] == other[..]
    }
}

impl<C: PartialEq> PartialEq<[Entry<C>]> for Entries<C> {
    fn eq(&self, other: &[Entry<C>]) -> bool {
        self[..] == *other
    }
}

/// The entries of an [`Entries`], by value.
pub struct IntoIter<C>(smallvec::IntoIter<[Entry<C>; 1]>);

impl<C> Iterator for IntoIter<C> {
    type Item = Entry<C>;

    fn next(&mut self) -> Option<Entry<C>> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<C> DoubleEndedIterator for IntoIter<C> {
    fn next_back(&mut self) -> Option<Entry<C>> {
        self.0.next_back()
    }
}

impl<C> ExactSizeIterator for IntoIter<C> {}

impl<C: fmt::Debug> fmt::Debug for IntoIter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.as_slice()).finish()
    }
}

impl<C> IntoIterator for Entries<C> {
    type Item = Entry<C>;
    type IntoIter = IntoIter<C>;

    fn into_iter(self) -> IntoIter<C> {
        IntoIter(self.0.into_iter())
    }
}

impl<'a, C> IntoIterator for &'a Entries<C> {
    type Item = &'a Entry<C>;
    type IntoIter = core::slice::Iter<'a, Entry<C>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, C> IntoIterator for &'a mut Entries<C> {
    type Item = &'a mut Entry<C>;
    type IntoIter = core::slice::IterMut<'a, Entry<C>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

#[cfg(feature = "serde")]
impl<C: serde::Serialize> serde::Serialize for Entries<C> {
    /// A sequence of entries, as a `Vec` would be.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de, C: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<C> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Entry<C>>::deserialize(deserializer).map(Entries::from)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, C: arbitrary::Arbitrary<'a>> arbitrary::Arbitrary<'a> for Entries<C> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Vec::<Entry<C>>::arbitrary(u).map(Entries::from)
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Vec::<Entry<C>>::arbitrary_take_rest(u).map(Entries::from)
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        Vec::<Entry<C>>::size_hint(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn entry(index: u64) -> Entry<u64> {
        Entry {
            term: 1,
            index,
            payload: Payload::Command(index),
        }
    }

    #[test]
    fn one_entry_is_inline_and_more_spill_in_order() {
        let mut entries = Entries::one(entry(1));
        assert_eq!(entries.capacity(), 1, "one entry needs no heap");
        entries.push(entry(2));
        entries.extend([entry(3), entry(4)]);
        let indices: Vec<u64> = entries.iter().map(|e| e.index).collect();
        assert_eq!(indices, [1, 2, 3, 4]);
        entries.remove_first(3);
        assert_eq!(entries, vec![entry(4)]);
        entries.remove_first(0);
        assert_eq!(entries.len(), 1);
        entries.remove_first(5);
        assert!(entries.is_empty());
        let mut vec = vec![entry(1)];
        Entries::one(entry(2)).append_to(&mut vec);
        Entries::from(vec![entry(3), entry(4)]).append_to(&mut vec);
        assert_eq!(vec, (1..=4).map(entry).collect::<Vec<_>>());
    }

    #[test]
    fn converts_to_and_from_vec_and_iterates_by_value() {
        let vec: Vec<Entry<u64>> = (1..=3).map(entry).collect();
        let entries = Entries::from(vec.clone());
        assert_eq!(entries, vec);
        assert_eq!(entries.clone().into_vec(), vec);
        assert_eq!(Entries::from_slice(&vec), entries);
        let back: Vec<Entry<u64>> = entries.into_iter().rev().collect();
        assert_eq!(back.first().map(|e| e.index), Some(3));
        assert_eq!(
            format!("{:?}", Entries::one(entry(7))),
            format!("{:?}", [entry(7)])
        );
    }
}
