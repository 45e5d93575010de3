//! Asynchronous entry writes (`Config::async_persistence`, thesis §10.2.1): what the node
//! counts as durable, and what it does when its host reports a write done.
//!
//! The rule is that nothing leaves the node as a promise before the host said it is durable:
//! a leader counts its own log in the commit quorum only up to `durable_index`, a follower
//! acknowledges an append only up to it, and `Apply` hands out only entries at or below it.
//! Entries themselves may be sent to followers before they are durable here: a follower's
//! acknowledgement, not the leader's write, is what the commit rule counts.

use crate::action::Action;
use crate::message::AppendOutcome;
use crate::prelude::*;
use crate::types::{Command, LogIndex, Role, Term};

use super::Raft;

impl<C: Command> Raft<C> {
    /// `Event::Persisted`: the entry writes the host carried out up to one returned in `term`
    /// are durable, the last of them ending at `index`.
    ///
    /// A node writes entries in term T only from T's one leader (itself, or the leader it
    /// follows), whose log only grows: a write returned in T never truncates what another
    /// write of T wrote, and a truncation in T cuts only entries written in earlier terms
    /// (above every index T's leader had sent). A faulty peer could send otherwise; the node
    /// refuses such an append (`store_entries`), so this holds whatever peers send. So if no
    /// truncation happened in a later term
    /// than `term` (`truncated_in`), the disk holds the log's prefix up to `index` exactly
    /// as the log holds it now: the report counts. Otherwise the write may have been undone
    /// since, even if an entry of the same term is at `index` again (A-B-A: truncated by one
    /// leader, rewritten by the next); it is ignored, and the reports of the later writes
    /// count instead. So is a report at or below what is known, past the log, or of a term
    /// this node has not reached.
    pub(super) fn persisted(&mut self, index: LogIndex, term: Term, out: &mut Vec<Action<C>>) {
        if !self.config.async_persistence
            || index <= self.durable_index
            || index > self.log.last_index()
            || term < self.truncated_in
            || term > self.term
        {
            return;
        }
        let acknowledged = self.ack_index();
        self.durable_index = index;
        if self.role == Role::Leader {
            // Its own vote in the quorum may complete a majority now.
            self.maybe_commit(out);
        }
        // Committed entries that waited for the local write.
        self.apply_committed(out);
        if self.role == Role::Follower {
            if let Some(leader) = self.leader {
                let match_index = self.ack_index();
                if match_index > acknowledged {
                    let outcome = AppendOutcome::Accepted { match_index };
                    self.send_append_response(leader, outcome, out);
                }
            }
        }
    }

    /// What a follower acknowledges to its leader: the prefix verified against this leader's
    /// log, or known committed, and with `Config::async_persistence` only as far as it is
    /// durable here.
    #[inline(always)]
    pub(super) fn ack_index(&self) -> LogIndex {
        let held = self.leader_verified_index.max(self.commit_index);
        if self.config.async_persistence {
            held.min(self.durable_index)
        } else {
            held
        }
    }

    /// The leader's own entry in the commit quorum: its last index, or with
    /// `Config::async_persistence` the last one reported durable.
    #[inline(always)]
    pub(super) fn own_match(&self) -> LogIndex {
        if self.config.async_persistence {
            self.durable_index
        } else {
            self.log.last_index()
        }
    }

    /// How far `Apply` may go: the commit index, and with `Config::async_persistence` no
    /// further than the log is durable here (an applied entry is one a restart finds).
    #[inline(always)]
    pub(super) fn appliable_index(&self) -> LogIndex {
        if self.config.async_persistence {
            self.commit_index.min(self.durable_index)
        } else {
            self.commit_index
        }
    }

    /// The index up to which the log is durable: as reported by the host with
    /// `Config::async_persistence`, the whole log otherwise.
    pub fn durable_index(&self) -> LogIndex {
        self.own_match()
    }
}
