//! The rules a peer's message and a restored state must pass before anything acts on them
//! (ARCHITECTURE.md §4): checked whole, and refused with no state changed.

use crate::membership::Membership;
use crate::message::{Message, SnapshotChunk};
use crate::restore::{RestoreError, Restored};
use crate::types::{Entry, LogIndex, Term, INDEX_MAX, TERM_MAX};

/// Checks what a message claims against itself, before anything acts on it: its term is at
/// most `TERM_MAX`, a log's terms never exceed its sender's term (correctness.md §1.9), an
/// append's entries are contiguous from `prev_log_index + 1` with non-decreasing terms, and
/// every membership it carries (in an entry, or a snapshot's) is a valid one.
pub(crate) fn is_well_formed<C>(message: &Message<C>) -> bool {
    if message.term() > TERM_MAX {
        return false;
    }
    match message {
        Message::RequestVote {
            term,
            last_log_term,
            ..
        } => last_log_term <= term,
        // The asker's log holds no term above its own.
        Message::PreVote {
            term,
            last_log_term,
            ..
        } => last_log_term <= term,
        Message::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            ..
        } => is_well_formed_append(*term, *prev_log_index, *prev_log_term, entries),
        // A snapshot covers at least one entry, of a term no later than the sender's, in a
        // valid configuration; its chunk fits in the offsets.
        Message::InstallSnapshot { term, chunk } => {
            let SnapshotChunk {
                meta,
                size,
                offset,
                data,
            } = &**chunk;
            meta.last_index > 0
                && meta.last_index <= INDEX_MAX
                && meta.last_term > 0
                && meta.last_term <= *term
                && meta.membership_index <= meta.last_index
                && meta.membership.validate().is_ok()
                && offset
                    .checked_add(data.len() as u64)
                    .is_some_and(|end| end <= *size)
        }
        Message::Commit {
            term, match_term, ..
        } => match_term <= term,
        Message::RequestVoteResponse { .. }
        | Message::PreVoteResponse { .. }
        | Message::TimeoutNow { .. }
        | Message::ReadIndex { .. }
        | Message::ReadIndexResponse { .. }
        | Message::LeaderCheck { .. }
        | Message::LeaderCheckResponse { .. }
        | Message::AppendEntriesResponse { .. }
        | Message::InstallSnapshotResponse { .. } => true,
    }
}

/// Checks an append as a whole: entries contiguous from `prev_log_index + 1`, terms
/// non-decreasing from `prev_log_term` and never above the message's term, configurations
/// valid.
fn is_well_formed_append<C>(
    term: Term,
    prev_log_index: LogIndex,
    prev_log_term: Term,
    entries: &[Entry<C>],
) -> bool {
    if prev_log_term > term {
        return false;
    }
    // No index past u64::MAX; terms non-decreasing, so only the last can pass the message's.
    let fits = prev_log_index
        .checked_add(entries.len() as LogIndex)
        .is_some();
    if !fits || entries.last().is_some_and(|last| last.term > term) {
        return false;
    }
    let mut previous_term = prev_log_term;
    let mut expected_index = prev_log_index;
    for entry in entries {
        expected_index += 1;
        if entry.index != expected_index || entry.term < previous_term {
            return false;
        }
        if let Some(membership) = entry.payload.as_membership() {
            if membership.validate().is_err() {
                return false;
            }
        }
        previous_term = entry.term;
    }
    true
}

/// Checks what a host handed back (`Restored`) before a node is built from it.
pub(crate) fn validate_restored<C>(restored: &Restored<C>) -> Result<(), RestoreError> {
    let current_term = restored.hard_state.term;
    if !restored.membership.is_empty() {
        valid_membership(0, &restored.membership)?;
    }
    if current_term == 0 && restored.hard_state.vote.is_some() {
        return Err(RestoreError::VoteInTermZero);
    }
    if current_term > TERM_MAX {
        return Err(RestoreError::TermBeyondMaximum { term: current_term });
    }
    let (base_index, base_term) = match &restored.snapshot {
        None => (0, 0),
        Some(snapshot) => {
            let meta = &snapshot.meta;
            if meta.last_index == 0 || meta.last_term == 0 {
                return Err(RestoreError::EmptySnapshot);
            }
            if meta.last_index > INDEX_MAX {
                return Err(RestoreError::SnapshotIndexBeyondMaximum {
                    index: meta.last_index,
                });
            }
            if meta.last_term > current_term {
                return Err(RestoreError::SnapshotTermAboveCurrent {
                    term: meta.last_term,
                    current_term,
                });
            }
            if meta.membership_index > meta.last_index {
                return Err(RestoreError::SnapshotMembershipAfterIndex {
                    membership_index: meta.membership_index,
                    last_index: meta.last_index,
                });
            }
            valid_membership(meta.last_index, &meta.membership)?;
            (meta.last_index, meta.last_term)
        }
    };
    // Without a snapshot the log starts at 1; with one, anywhere up to just after it.
    let mut previous_term = 0;
    let first_index = match (&restored.snapshot, restored.entries.first()) {
        (Some(_), Some(first)) if (1..=base_index + 1).contains(&first.index) => first.index,
        (Some(_), _) => base_index + 1,
        (None, _) => 1,
    };
    for (expected, entry) in (first_index..).zip(&restored.entries) {
        if entry.index != expected {
            return Err(RestoreError::IndexGap {
                expected,
                found: entry.index,
            });
        }
        if entry.term == 0 {
            return Err(RestoreError::ZeroTerm { index: entry.index });
        }
        if entry.term < previous_term {
            return Err(RestoreError::TermDecreases { index: entry.index });
        }
        if entry.term > current_term {
            return Err(RestoreError::TermAboveCurrent {
                index: entry.index,
                term: entry.term,
                current_term,
            });
        }
        if entry.index == base_index && entry.term != base_term {
            return Err(RestoreError::SnapshotConflict {
                index: base_index,
                entry_term: entry.term,
                snapshot_term: base_term,
            });
        }
        if entry.index == base_index + 1 && entry.term < base_term {
            return Err(RestoreError::TermDecreases { index: entry.index });
        }
        if let Some(membership) = entry.payload.as_membership() {
            valid_membership(entry.index, membership)?;
        }
        previous_term = entry.term;
    }
    let last_index = restored
        .entries
        .last()
        .map_or(base_index, |entry| entry.index.max(base_index));
    if restored.applied > last_index {
        return Err(RestoreError::AppliedBeyondLog {
            applied: restored.applied,
            last_index,
        });
    }
    Ok(())
}

/// A membership a restored state holds at `index` must be valid.
fn valid_membership(index: LogIndex, membership: &Membership) -> Result<(), RestoreError> {
    membership
        .validate()
        .map_err(|error| RestoreError::InvalidMembership { index, error })
}
