//! A follower (Figure 2, the RequestVote and AppendEntries receivers): votes, appends,
//! commit notices, and the answers it sends.

use crate::action::{Action, Persist};
use crate::entries::Entries;
use crate::message::{AppendOutcome, Message};
use crate::prelude::*;
use crate::types::{Command, Entry, LogIndex, NodeId, Role, Term, TERM_MAX};

use super::Raft;

impl<C: Command> Raft<C> {
    /// Figure 2, RequestVote receiver: grant if we have not voted for another candidate in
    /// this term and the candidate's log is at least as up to date as ours (§5.4.1). The vote
    /// is persisted before the answer is sent (the ordering rule). While a leader may hold a
    /// lease on our vote (`lease_bars_votes`), only a transfer's candidate gets it.
    pub(super) fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        last_log_index: LogIndex,
        last_log_term: Term,
        transfer: bool,
        out: &mut Vec<Action<C>>,
    ) {
        let free = self.vote.is_none() || self.vote == Some(candidate);
        let log = (last_log_term, last_log_index);
        // A candidate whose log is worse than a candidate's we saw since our election timer
        // last fired is refused: votes go to the better one.
        let beaten = self.best_candidate.is_some_and(|best| best > log);
        let grant = free
            && !beaten
            && (transfer || !self.lease_bars_votes())
            && matches!(self.role, Role::Follower | Role::PreCandidate)
            && self.log.is_up_to_date(last_log_index, last_log_term);
        if grant {
            if self.role == Role::PreCandidate {
                // Our vote goes to this candidate: campaigning after it would only disrupt it.
                self.become_follower(self.term, None);
            }
            if self.vote.is_none() {
                self.vote = Some(candidate);
                self.persist_hard_state(out);
            }
            // Figure 2, followers: granting a vote resets the election timer.
            self.reset_election_timer();
        } else if self.log.is_behind(last_log_index, last_log_term) {
            // A candidate with a better log than ours was refused (we voted already, for
            // ourselves or another): until our election timer fires, our vote is kept from
            // worse candidates, and we do not campaign at that timeout, so that it can win.
            // Without this, a candidate that cannot win (one behind, or whose removal is not
            // committed) could take, term after term, the vote the better one needs: the
            // membership changes leave such candidates about (soak seeds 1773, 2234, 1142).
            self.best_candidate = Some(self.best_candidate.map_or(log, |best| best.max(log)));
        }
        self.send(candidate, self.vote_response(grant), out);
    }

    /// Thesis §9.6: would we vote for `asker` in its next term, `term + 1`? Yes only if its log
    /// is up to date, we have not heard from a leader within an election timeout
    /// (`in_lease`), and we could still vote in that term: it is above ours, or it is ours and
    /// we have neither voted for another nor a leader. Nothing changes here, the term
    /// included; the answer carries our term, so an asker behind us learns it (etcd-io/etcd
    /// #8501).
    pub(super) fn handle_pre_vote(
        &mut self,
        asker: NodeId,
        term: Term,
        last_log_index: LogIndex,
        last_log_term: Term,
        out: &mut Vec<Action<C>>,
    ) {
        let next = term + 1; // term <= TERM_MAX: validated.
        let free = next > self.term
            || (next == self.term
                && self.leader.is_none()
                && (self.vote.is_none() || self.vote == Some(asker)));
        let grant = next <= TERM_MAX
            && free
            && !self.in_lease()
            && self.log.is_up_to_date(last_log_index, last_log_term);
        self.send(asker, self.pre_vote_response(grant), out);
    }

    pub(super) fn pre_vote_response(&self, vote_granted: bool) -> Message<C> {
        Message::PreVoteResponse {
            term: self.term,
            vote_granted,
        }
    }

    pub(super) fn vote_response(&self, vote_granted: bool) -> Message<C> {
        Message::RequestVoteResponse {
            term: self.term,
            vote_granted,
        }
    }

    /// Figure 2, AppendEntries receiver, with the message's term equal to ours.
    #[inline]
    pub(super) fn handle_append_entries(
        &mut self,
        leader: NodeId,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        entries: Entries<C>,
        leader_commit: LogIndex,
        out: &mut Vec<Action<C>>,
    ) {
        if !self.follow(leader) {
            return;
        }
        if !self.holds(prev_log_index, prev_log_term) {
            self.reject_append(leader, prev_log_index, prev_log_term, out);
            return;
        }
        let verified_index = prev_log_index + entries.len() as LogIndex;
        let actions = out.len();
        if !self.store_entries(entries, out) {
            return;
        }
        let wrote = out.len() > actions;
        // Within a term the leader's log only grows, so every index verified by an earlier
        // append of this leader still matches: a heartbeat from an older match index does not
        // hide what the follower already holds.
        self.leader_verified_index = self.leader_verified_index.max(verified_index);
        self.commit_verified(leader_commit, out);
        if self.config.async_persistence && wrote && self.durable_index < verified_index {
            // It wrote entries that are not durable yet: the host's `Event::Persisted` for
            // them acknowledges them (`persisted`); an answer now would tell the leader
            // nothing new.
            return;
        }
        let match_index = self.ack_index();
        self.send_append_response(leader, AppendOutcome::Accepted { match_index }, out);
    }

    /// A commit notice: AppendEntries receiver rules 2 and 5 for an empty append from
    /// `match_index`, answered only when rule 2 fails (then exactly like that append).
    #[inline]
    pub(super) fn handle_commit(
        &mut self,
        leader: NodeId,
        match_index: LogIndex,
        match_term: Term,
        leader_commit: LogIndex,
        out: &mut Vec<Action<C>>,
    ) {
        if !self.follow(leader) {
            return;
        }
        if !self.holds(match_index, match_term) {
            self.reject_append(leader, match_index, match_term, out);
            return;
        }
        self.leader_verified_index = self.leader_verified_index.max(match_index);
        self.commit_verified(leader_commit, out);
    }

    /// AppendEntries receiver rule 2: true if our log holds an entry at `index` with `term`.
    /// Entries at or below our commit index are committed, so they match the leader's (Leader
    /// Completeness, §5.4.3): that prefix counts as matching, and nothing there is truncated.
    pub(super) fn holds(&self, index: LogIndex, term: Term) -> bool {
        index < self.commit_index || self.log.term_at(index) == Some(term)
    }

    /// AppendEntries receiver rule 5, bounded by what was verified from this leader (a follower
    /// never commits an entry it has not matched against this leader: copycat #265, scylladb
    /// #9965), applying what it commits.
    #[inline(always)]
    pub(super) fn commit_verified(&mut self, leader_commit: LogIndex, out: &mut Vec<Action<C>>) {
        let commit = leader_commit.min(self.leader_verified_index);
        if commit > self.commit_index {
            self.commit_index = commit;
            self.apply_committed(out);
        }
    }

    /// A leader of our term contacted us: follow it and reset the election timer. Returns false
    /// if we lead this term ourselves (a correct peer never sends that: ignore it).
    pub(super) fn follow(&mut self, leader: NodeId) -> bool {
        match self.role {
            // Election safety: only one leader per term, and it is us.
            Role::Leader => return false,
            // Figure 2, candidates: "If AppendEntries RPC received from new leader: convert to
            // follower". The vote for this term is kept.
            Role::Candidate | Role::PreCandidate => {
                self.become_follower(self.term, Some(leader));
            }
            Role::Follower => self.set_leader(Some(leader)),
        }
        self.election_elapsed = 0;
        self.lease_guard = true;
        self.best_candidate = None;
        true
    }

    /// Figure 2 receiver rule 2: the log has no entry at `prev_log_index` with
    /// `prev_log_term`. The answer carries the conflict hint of §5.3: our largest index at or
    /// below the rejected one whose term is at most the leader's term there.
    pub(super) fn reject_append(
        &self,
        leader: NodeId,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        out: &mut Vec<Action<C>>,
    ) {
        let probe = prev_log_index.min(self.log.last_index());
        let (hint_index, hint_term) = self.log.last_index_with_term_at_most(probe, prev_log_term);
        let outcome = AppendOutcome::Rejected {
            rejected_index: prev_log_index,
            hint_index,
            hint_term,
        };
        self.send_append_response(leader, outcome, out);
    }

    /// Figure 2 receiver rules 3 and 4 for entries whose predecessor matched: deletes a
    /// conflicting entry and all that follow it, appends what is new, and persists it. Returns
    /// false, changing nothing, if the entries contradict our committed prefix (only a faulty
    /// peer sends that).
    pub(super) fn store_entries(
        &mut self,
        mut entries: Entries<C>,
        out: &mut Vec<Action<C>>,
    ) -> bool {
        // Everything is read through one borrow of the message's entries before they move on.
        let received: &[Entry<C>] = &entries;
        let Some(first_new) = self.find_first_new(received) else {
            return true; // Everything is already here: a duplicate or stale append.
        };
        let new_entries = &received[first_new..];
        let first_index = new_entries[0].index;
        if self.log.term_at(first_index - 1) > Some(new_entries[0].term) {
            return false;
        }
        // Never below commit: `find_first_new` skips those entries.
        assert!(
            first_index > self.commit_index,
            "truncating a committed entry"
        );
        let truncated = first_index <= self.log.last_index();
        if truncated && self.term_writes.0 == self.term && first_index <= self.term_writes.1 {
            // It would truncate entries written in this very term, which came from this
            // term's one leader, whose log only grows: only a faulty peer sends that. Refused,
            // so that a write of a term is never undone in that term (`persisted` relies on it).
            return false;
        }
        if truncated {
            self.log.truncate_from(first_index);
            self.memberships.truncate_from(first_index);
            // Cannot happen for a leader whose log only grows; kept true regardless.
            self.leader_verified_index = self.leader_verified_index.min(first_index - 1);
            // What was durable from `first_index` on is gone from the log, and reports of
            // writes returned before this one no longer describe it (`persisted`).
            self.durable_index = self.durable_index.min(first_index - 1);
            self.truncated_in = self.term;
        }
        self.log.extend_from_slice(new_entries);
        self.term_writes = (self.term, self.log.last_index());
        // Thesis §4.1: a configuration is in force as soon as it is in the log.
        let mut configurations = false;
        for entry in new_entries {
            if let Some(membership) = entry.payload.as_membership() {
                self.memberships.push(entry.index, membership.clone());
                configurations = true;
            }
        }
        if truncated || configurations {
            self.membership_changed();
        }
        // Persist the message's own entries rather than a copy (usually every one is new).
        entries.remove_first(first_new);
        self.push_persist(Persist::Entries(entries), out);
        true
    }

    /// The position in `entries` of the first entry that is not already in our log with the
    /// same term; entries at or below commit are taken as present.
    pub(super) fn find_first_new(&self, entries: &[Entry<C>]) -> Option<usize> {
        if entries.first()?.index > self.log.last_index() {
            return Some(0); // The usual case: all of them follow our log (they are contiguous).
        }
        entries.iter().position(|entry| {
            entry.index > self.commit_index && self.log.term_at(entry.index) != Some(entry.term)
        })
    }

    pub(super) fn send_append_response(
        &self,
        leader: NodeId,
        outcome: AppendOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let message = Message::AppendEntriesResponse {
            term: self.term,
            outcome,
        };
        self.send(leader, message, out);
    }
}
