//! A leader (Figure 2 "Rules for Servers: Leaders", Raft §5.3-5.4): becoming one,
//! proposals, replication to each follower as its progress allows, heartbeats and probes, the
//! answers to appends, and the commit rule.

use crate::action::{Action, Persist, ProposeError};
use crate::entries::Entries;
use crate::message::{AppendOutcome, Message};
use crate::prelude::*;
use crate::quorum::{self, VoteResult};
use crate::tracker::{Progress, ProgressState};
use crate::types::{Command, Entry, LogIndex, NodeId, Payload, Role, Term};

use super::snapshot::SNAPSHOT_STALL_LIMIT;
use super::Raft;

impl<C: Command> Raft<C> {
    pub(super) fn become_leader(&mut self, out: &mut Vec<Action<C>>) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate becomes leader"
        );
        assert_eq!(self.vote, Some(self.config.id));
        self.role = Role::Leader;
        self.leader = Some(self.config.id);
        self.votes.clear();
        self.heartbeat_elapsed = 0;
        self.election_elapsed = 0; // The first quorum check is an election timeout away.
        let next_index = self.log.last_index() + 1;
        let inflight_max = self.config.max_inflight_appends;
        let peers = self.tracked_members();
        self.progress.clear();
        if self.progress.capacity() == 0 {
            // A node's first term as leader: one allocation, at the final size.
            self.progress = Vec::with_capacity(peers.len());
        }
        self.progress.extend(
            peers
                .iter()
                .map(|&peer| Progress::new(peer, next_index, inflight_max)),
        );
        // Raft §8 / thesis §6.4: a no-op entry of the new term lets the leader commit, and so
        // learn, every earlier entry without waiting for a client.
        self.append_to_own_log(Payload::noop(), out);
        for slot in 0..self.progress.len() {
            self.send_append(slot, true, out);
        }
        if self.commits_alone() {
            // A single voter commits its no-op at once; peers have matched nothing yet.
            self.maybe_commit(out);
        }
    }

    /// CheckQuorum (thesis §6.2): true if a majority of the voters in force (of both while
    /// joint) answered since the last check, this leader counting if it votes. Starts the
    /// next check's window.
    pub(super) fn quorum_heard(&mut self) -> bool {
        let id = self.config.id;
        let membership = self.memberships.current();
        let progress = &self.progress;
        let heard = |voter: NodeId| {
            Some(voter == id || progress.iter().any(|pr| pr.id == voter && pr.active))
        };
        let result = quorum::vote_result(&membership.voters, &membership.outgoing, heard);
        for progress in &mut self.progress {
            progress.active = false;
        }
        result == VoteResult::Won
    }

    pub(super) fn clear_leader_state(&mut self) {
        self.progress.clear();
    }

    /// Figure 2, leaders: "If successful: update nextIndex and matchIndex for follower. If
    /// AppendEntries fails because of log inconsistency: decrement nextIndex and retry".
    #[inline(always)]
    pub(super) fn handle_append_response(
        &mut self,
        from: NodeId,
        outcome: AppendOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let Some(slot) = self.peer_slot(from) else {
            return;
        };
        self.progress[slot].heard = true;
        self.progress[slot].active = true;
        match outcome {
            AppendOutcome::Accepted { match_index } => self.handle_accepted(slot, match_index, out),
            AppendOutcome::Rejected {
                rejected_index,
                hint_index,
                hint_term,
            } => {
                if self.handle_rejection(slot, rejected_index, hint_index, hint_term) {
                    self.send_append(slot, true, out);
                }
            }
        }
    }

    /// The follower at `slot` holds the leader's log up to `match_index`, durably.
    #[inline]
    pub(super) fn handle_accepted(
        &mut self,
        mut slot: usize,
        match_index: LogIndex,
        out: &mut Vec<Action<C>>,
    ) {
        if match_index > self.log.last_index() {
            return; // An answer to a request we never sent.
        }
        let progress = &mut self.progress[slot];
        if progress.state == ProgressState::Snapshot && match_index >= self.log.base_index() {
            // Entries can take it from here: the transfer is over (or no longer needed). Until
            // the follower is within the trailing entries, compaction waits for it, or a newer
            // snapshot would take away the entries it needs next and send it snapshot after
            // snapshot.
            let next_index = progress.match_index.max(match_index) + 1;
            progress.become_probe(next_index);
            progress.catching_up = true;
        }
        // match = max(match, answer): reordered answers never move it back. Only a match
        // above the commit index can move the majority's past it.
        if self.progress[slot].accepted(match_index) && match_index > self.commit_index {
            let id = self.progress[slot].id;
            self.maybe_commit(out);
            // A configuration committed may have changed whom this node tracks, or made it
            // step down (thesis §4.2.2).
            match self.peer_slot(id) {
                Some(now) if self.role == Role::Leader => slot = now,
                _ => return,
            }
        }
        if self.transfer.is_some() {
            self.transfer_on_accepted(slot, out);
        }
        let progress = &self.progress[slot];
        if progress.catching_up && progress.match_index >= self.compaction_target() {
            self.progress[slot].catching_up = false;
            self.compact();
        }
        self.send_entries(slot, out);
        self.maybe_send_commit(slot, out);
    }

    /// Moves `next_index` back after a rejection. A rejection is matched to the append it
    /// answers and ignored if stale, so next never drops to or below match (tikv/raft-rs
    /// #555). Returns true if the follower should be probed now.
    pub(super) fn handle_rejection(
        &mut self,
        slot: usize,
        rejected_index: LogIndex,
        hint_index: LogIndex,
        hint_term: Term,
    ) -> bool {
        let progress = &self.progress[slot];
        if !progress.is_outstanding_prev(rejected_index) {
            return false;
        }
        // Skip every entry of a term the follower cannot match in one step: the largest index
        // at or below the hint whose term is at most the follower's term there.
        let search = hint_index.min(rejected_index);
        let match_guess = if search < self.log.base_index() {
            // The follower's log ends before ours begins: the next append finds the gap and
            // sends the snapshot.
            search
        } else {
            self.log.last_index_with_term_at_most(search, hint_term).0
        };
        let next_index = (match_guess + 1).clamp(progress.match_index + 1, rejected_index);
        self.progress[slot].become_probe(next_index);
        true
    }

    pub(super) fn propose(&mut self, command: C, out: &mut Vec<Action<C>>) {
        if let Some(error) = self.refuse_proposal(1, core::iter::once(&command)) {
            out.push(Action::ProposalRejected(error));
            return;
        }
        let index = self.append_to_own_log(Payload::Command(command), out);
        out.push(Action::ProposalAccepted {
            index,
            term: self.term,
        });
        self.replicate_new_entries(out);
    }

    /// A batch of proposals, accepted or refused as a whole: one `Persist::Entries` and, per
    /// follower, appends bounded as usual (one, for a batch within the message bounds).
    pub(super) fn propose_batch(&mut self, commands: Vec<C>, out: &mut Vec<Action<C>>) {
        if let Some(error) = self.refuse_proposal(commands.len(), commands.iter()) {
            out.push(Action::ProposalRejected(error));
            return;
        }
        let term = self.term;
        let first_index = self.log.last_index() + 1;
        self.log.reserve(commands.len());
        for (index, command) in (first_index..).zip(commands) {
            let payload = Payload::Command(command);
            self.log.push(Entry {
                term,
                index,
                payload,
            });
        }
        let last_index = self.log.last_index();
        let entries = Entries::from_slice(self.log.slice(first_index, last_index));
        self.push_persist(Persist::Entries(entries), out);
        out.push(Action::BatchAccepted {
            first_index,
            last_index,
            term,
        });
        self.replicate_new_entries(out);
    }

    /// Why `count` new commands cannot be accepted now, if they cannot: this node does not
    /// lead, the batch is empty, one command exceeds the message bound, or the batch would
    /// take the uncommitted entries past their bound.
    pub(super) fn refuse_proposal<'a>(
        &self,
        count: usize,
        commands: impl Iterator<Item = &'a C>,
    ) -> Option<ProposeError>
    where
        C: 'a,
    {
        if self.role != Role::Leader {
            return Some(ProposeError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(transfer) = &self.transfer {
            return Some(ProposeError::TransferInProgress { to: transfer.to });
        }
        if count == 0 {
            return Some(ProposeError::EmptyBatch);
        }
        let limit = self.config.max_bytes_per_message;
        for command in commands {
            let size_bytes = command.size_bytes() as u64;
            if size_bytes > limit {
                return Some(ProposeError::CommandTooLarge { size_bytes, limit });
            }
        }
        let uncommitted = self.log.last_index() - self.commit_index;
        let limit = self.config.max_uncommitted_entries;
        if uncommitted.saturating_add(count as u64) > limit {
            return Some(ProposeError::TooManyUncommitted { limit });
        }
        None
    }

    /// After new entries were appended to the leader's log: sends them to every follower its
    /// progress allows, or, alone, commits them.
    #[inline(always)]
    pub(super) fn replicate_new_entries(&mut self, out: &mut Vec<Action<C>>) {
        for slot in 0..self.progress.len() {
            self.send_entries(slot, out);
        }
        if self.commits_alone() {
            // A single voter commits alone. With other voters, the leader's own last index is
            // the largest match, and raising it never raises the majority's.
            self.maybe_commit(out);
        }
    }

    /// True if this leader is the only voter of its configuration (of both halves while
    /// joint): its own log is a quorum, whatever learners or leaving members it tracks.
    #[inline]
    fn commits_alone(&self) -> bool {
        let membership = self.memberships.current();
        let alone = |voters: &[NodeId]| voters.len() == 1 && voters[0] == self.config.id;
        alone(&membership.voters) && (membership.outgoing.is_empty() || alone(&membership.outgoing))
    }

    /// Appends an entry of the current term to the leader's log and persists it. Returns its
    /// index.
    #[inline(always)]
    pub(super) fn append_to_own_log(
        &mut self,
        payload: Payload<C>,
        out: &mut Vec<Action<C>>,
    ) -> LogIndex {
        let index = self.log.last_index() + 1;
        let membership = payload.as_membership().cloned();
        let entry = Entry {
            term: self.term,
            index,
            payload,
        };
        self.log.push(entry.clone());
        self.push_persist(Persist::Entries(Entries::one(entry)), out);
        if let Some(membership) = membership {
            // In force at once, on the leader too (thesis §4.1).
            self.memberships.push(index, membership);
            self.sync_progress();
        }
        index
    }

    /// Sends new entries to `slot` while its progress allows: one probe, or a pipeline up to
    /// the inflight bound.
    pub(super) fn send_entries(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        while self.progress[slot].next_index <= self.log.last_index() {
            if !self.send_append(slot, false, out) {
                break;
            }
            if let ProgressState::Probe { .. } = self.progress[slot].state {
                break;
            }
        }
    }

    /// Sends one append to `slot` from its next index, if its progress is not paused. An
    /// empty append (a probe or heartbeat) is sent only with `allow_empty`. Returns true
    /// if a message was sent.
    pub(super) fn send_append(
        &mut self,
        slot: usize,
        allow_empty: bool,
        out: &mut Vec<Action<C>>,
    ) -> bool {
        let progress = &self.progress[slot];
        if progress.is_paused() {
            return false;
        }
        let prev_log_index = progress.next_index - 1;
        if prev_log_index < self.log.base_index() {
            // Raft §7: the entries it needs are compacted away.
            return self.start_transfer(slot, out);
        }
        let entries = self.log.slice_bounded(
            progress.next_index,
            self.config.max_entries_per_message,
            self.config.max_bytes_per_message,
        );
        if entries.is_empty() && !allow_empty {
            return false;
        }
        let entries = Entries::from_slice(entries);
        let last_index = prev_log_index + entries.len() as LogIndex;
        let empty = entries.is_empty();
        if !empty || matches!(progress.state, ProgressState::Probe { .. }) {
            self.progress[slot].sent(last_index);
        }
        self.push_append(slot, prev_log_index, entries, out);
        true
    }

    /// An empty append from the follower's match index: a heartbeat that cannot be rejected
    /// by a follower still receiving earlier appends.
    pub(super) fn send_heartbeat(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let prev_log_index = self.known_match(slot);
        self.push_append(slot, prev_log_index, Entries::new(), out);
    }

    /// Where heartbeats and commit notices to `slot` start: its match index, or if compaction
    /// passed that index, the first index whose term the leader still knows.
    pub(super) fn known_match(&self, slot: usize) -> LogIndex {
        self.progress[slot].match_index.max(self.log.base_index())
    }

    #[inline(always)]
    pub(super) fn push_append(
        &mut self,
        slot: usize,
        prev_log_index: LogIndex,
        entries: Entries<C>,
        out: &mut Vec<Action<C>>,
    ) {
        let prev_log_term = self
            .log
            .term_at(prev_log_index)
            .expect("a leader holds every index it sends from");
        let progress = &mut self.progress[slot];
        progress.commit_sent = progress.commit_sent.max(self.commit_index);
        let message = Message::AppendEntries {
            term: self.term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit_index,
        };
        out.push(Action::Send {
            to: progress.id,
            message,
        });
    }

    /// Once a follower has answered every append, tell it about a commit it has not seen, with
    /// a `Commit` notice (no answer expected) from its match index.
    #[inline(always)]
    pub(super) fn maybe_send_commit(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let progress = &self.progress[slot];
        if progress.state != ProgressState::Replicate
            || progress.has_inflight()
            || progress.commit_sent >= self.commit_index
        {
            return;
        }
        let match_index = self.known_match(slot);
        let match_term = self
            .log
            .term_at(match_index)
            .expect("a leader holds every index it sends from");
        let progress = &mut self.progress[slot];
        progress.commit_sent = self.commit_index;
        let message = Message::Commit {
            term: self.term,
            match_index,
            match_term,
            leader_commit: self.commit_index,
        };
        out.push(Action::Send {
            to: progress.id,
            message,
        });
    }

    /// A heartbeat interval passed: one small message to every follower, never entries or
    /// snapshot bytes (see the crate docs, "Followers that do not answer"). A follower
    /// replicating normally gets a heartbeat; one that has not acknowledged an append sent a
    /// whole interval ago, an empty append from the last index sent, whose answer shows what
    /// it lacks; one being probed,
    /// the probe again, without its entries; one receiving a snapshot, a chunk without data
    /// if the transfer made no progress.
    pub(super) fn broadcast_heartbeat(&mut self, out: &mut Vec<Action<C>>) {
        for slot in 0..self.progress.len() {
            let progress = &mut self.progress[slot];
            let stalled = progress.state == ProgressState::Replicate
                && progress.has_inflight()
                && progress.match_index < progress.sent_at_heartbeat;
            progress.heartbeat_elapsed(SNAPSHOT_STALL_LIMIT);
            match progress.state {
                ProgressState::Replicate if stalled => self.send_tail_probe(slot, out),
                ProgressState::Replicate => self.send_heartbeat(slot, out),
                ProgressState::Probe { .. } => self.send_probe(slot, out),
                ProgressState::Snapshot => self.snapshot_heartbeat(slot, out),
            }
        }
    }

    /// An append to `slot` went unacknowledged for a heartbeat interval: an empty append from
    /// the last index sent. A follower that holds everything accepts it; one that lost an
    /// append rejects it, and that answer, the evidence of the gap, sends the entries again.
    pub(super) fn send_tail_probe(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let last_sent = self.progress[slot].next_index - 1;
        if last_sent < self.log.base_index() {
            // Compacted past what was sent: the follower needs the snapshot unless it holds
            // the compacted prefix. A probe from its end asks.
            let next_index = self.progress[slot].match_index + 1;
            self.progress[slot].become_probe(next_index);
            self.send_probe(slot, out);
            return;
        }
        self.push_append(slot, last_sent, Entries::new(), out);
    }

    /// The probe to `slot`, again, without entries: the entries go with the answer, which
    /// shows where the follower's log matches. Below the compacted prefix, the probe starts
    /// at its end, and a follower that lacks it is sent the snapshot on its answer.
    pub(super) fn send_probe(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let base_index = self.log.base_index();
        let progress = &mut self.progress[slot];
        if progress.next_index <= base_index {
            progress.become_probe(base_index + 1);
        }
        let prev_log_index = progress.next_index - 1;
        progress.sent(prev_log_index);
        self.push_append(slot, prev_log_index, Entries::new(), out);
    }

    /// Figure 2, leaders: "If there exists an N such that N > commitIndex, a majority of
    /// `matchIndex[i] >= N`, and `log[N].term == currentTerm`: set commitIndex = N". The term check
    /// is §5.4.2: never commit an earlier term's entry by counting replicas (Figure 8).
    /// While joint, N must be held by a majority of the new voters and of the old (thesis
    /// §4.3); the leader counts its own log only where it is a voter.
    pub(super) fn maybe_commit(&mut self, out: &mut Vec<Action<C>>) {
        let candidate = self.quorum_match();
        if candidate <= self.commit_index || self.log.term_at(candidate) != Some(self.term) {
            return;
        }
        let previous = self.commit_index;
        self.commit_index = candidate;
        self.apply_committed(out);
        if self.reads.is_some() {
            self.advance_reads(out);
        }
        for slot in 0..self.progress.len() {
            self.maybe_send_commit(slot, out);
        }
        self.membership_committed(previous, out);
    }

    /// The highest index a quorum of the configuration in force holds.
    #[inline(always)]
    fn quorum_match(&self) -> LogIndex {
        // The leader's own match: its log, as far as it is durable (`Config::async_persistence`).
        let last_index = self.own_match();
        let membership = self.memberships.current();
        let plain = membership.outgoing.is_empty()
            && membership.learners.is_empty()
            && self.progress.len() + 1 == membership.voters.len()
            && self.progress.len() < quorum::SMALL;
        if plain {
            // The usual case: every peer tracked is a voter and so is this leader (the
            // progress list holds the configuration's other members).
            let mut matches = [0; quorum::SMALL];
            let voters = self.progress.len() + 1;
            for (slot, progress) in matches.iter_mut().zip(&self.progress) {
                *slot = progress.match_index;
            }
            matches[voters - 1] = last_index;
            return quorum::committed_index(&mut matches[..voters]);
        }
        let id = self.config.id;
        quorum::joint_committed_index(&membership.voters, &membership.outgoing, |voter| {
            if voter == id {
                return last_index;
            }
            self.progress
                .iter()
                .find(|progress| progress.id == voter)
                .map_or(0, |progress| progress.match_index)
        })
    }

    pub(super) fn peer_slot(&self, peer: NodeId) -> Option<usize> {
        self.progress
            .iter()
            .position(|progress| progress.id == peer)
    }
}
