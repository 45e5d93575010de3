//! The node: the [`Raft`] type, the one way in (`step`), the term rule handled once for every
//! message, and the getters. Each role's handling of its inputs is in its own file: what a
//! follower does (`follower`), a candidate (`candidate`), a leader (`leader`), and both sides
//! of a snapshot (`snapshot`). The rules a message or a restored state must pass before any
//! of them are in `crate::validate`.

use crate::prelude::*;
mod candidate;
mod follower;
mod leader;
mod membership;
mod persisted;
mod read;
mod snapshot;
mod transfer;

use alloc::sync::Arc;

use crate::action::{Action, Persist};
use crate::config::Config;
use crate::entries::Entries;
use crate::event::Event;
use crate::log::Log;
use crate::membership::{Membership, MembershipChange, MembershipLog};
use crate::message::{AppendOutcome, Message, SnapshotOutcome};
use crate::restore::{InitError, Restored};
use crate::rng::Rng;
use crate::tracker::{Progress, Votes};
use crate::types::{
    Command, Entry, HardState, LogIndex, NodeId, Role, Snapshot, Status, Term, TERM_JUMP_MAX,
};
use crate::validate::{is_well_formed, validate_restored};

use read::Reads;
use snapshot::Incoming;
use transfer::Transfer;

/// One Raft node: a pure state machine driven by [`Raft::step`].
///
/// Methods come in three kinds: construction ([`Raft::new`]), the input
/// ([`Raft::step`] / [`Raft::step_into`], the only methods that change state) and getters
/// ([`Raft::status`] and friends), which never mutate.
#[derive(Clone, Debug)]
pub struct Raft<C> {
    config: Config,
    term: Term,
    vote: Option<NodeId>,
    role: Role,
    leader: Option<NodeId>,
    log: Log<C>,
    /// Highest index known committed; never decreases (Figure 2 commitIndex).
    commit_index: LogIndex,
    /// Highest index handed out by `Apply`; `applied_index <= commit_index` (lastApplied).
    applied_index: LogIndex,
    /// With `Config::async_persistence`: the log is durable up to here, as the host reported
    /// (`Event::Persisted`); cut back when a follower truncates its log. Unused otherwise
    /// (every entry is durable once its `Persist` is carried out). See `persisted`.
    durable_index: LogIndex,
    /// The term in which this node last truncated its log (a conflicting append, or a
    /// snapshot installed): a report of a write returned in an earlier term may describe a
    /// log that is gone since, and is ignored (`persisted`). 0 after a restart.
    truncated_in: Term,
    /// The term this node last appended entries to its log in, from a leader of that term,
    /// and the highest index it wrote then (or, once it stepped down in it, as leader): no
    /// append of that term may truncate at or below it (`store_entries`). (0, 0) at start.
    term_writes: (Term, LogIndex),
    /// Follower only: the highest index known to match the current leader's log, verified by
    /// an append of this leader in this term. Bounds what the follower may commit and what it
    /// acknowledges; 0 when the term or the leader changes.
    leader_verified_index: LogIndex,
    election_elapsed: u64,
    election_timeout: u64,
    /// An idle tick takes the inline fast path while `election_elapsed + 1` is below this:
    /// the election timeout, or 0 while this follower holds reads forwarded to its leader,
    /// whose ages only the slow path counts (`update_fast_tick_limit`).
    fast_tick_limit: u64,
    /// The election timer was last reset by a leader's contact, or by the node's start with
    /// `Config::lease_reads`: a leader may hold a lease on this node's vote until
    /// `election_elapsed` reaches `election_ticks`, whatever term the node has reached since
    /// (`lease_bars_votes`).
    lease_guard: bool,
    heartbeat_elapsed: u64,
    rng: Rng,
    /// The configurations the log holds, the one in force last (thesis §4.1).
    memberships: MembershipLog,
    /// Candidate only: who granted and who refused its vote in this term, this node included.
    votes: Votes,
    /// Election timeouts let pass since this node last campaigned as no voter of its
    /// configuration in force (see `candidate::REMOVED_TIMEOUTS_ASIDE`).
    timeouts_aside: u8,
    /// The best log (last term, last index) of a candidate this node refused since its
    /// election timer last fired, if better than its own: worse candidates are refused until
    /// then, and at that timeout this node does not campaign (`handle_request_vote`).
    best_candidate: Option<(Term, LogIndex)>,
    /// Leader only: one entry per member other than this node, of the configuration in force
    /// and of the last one committed (a removed member is still told of its removal).
    progress: Vec<Progress>,
    /// Where the current step's actions begin in `out`. Actions before it belong to earlier
    /// steps and are never read or changed.
    step_start: usize,
    /// The latest snapshot: taken by the host, installed from a leader, or restored.
    /// Invariant: the log's base index is at most its index, which is at most `applied_index`.
    snapshot: Option<Arc<Snapshot>>,
    /// Follower only: the snapshot being received from the leader of `term`, chunk by chunk.
    incoming: Option<Box<Incoming>>,
    /// While leading: the leadership transfer under way (thesis §3.10).
    transfer: Option<Transfer>,
    /// Reads held (ReadIndex, thesis §6.4): a leader's, waiting for confirmation, or a
    /// follower's, forwarded to its leader. `None` until the first read.
    reads: Option<Box<Reads>>,
}

impl<C: Command> Raft<C> {
    /// Builds a node from its configuration and what it persisted before:
    /// [`Restored::bootstrap`] for a founding node of a new cluster, `Restored::default()` for
    /// a node started empty to join one. Validates both; the node starts as a follower of the
    /// restored term with a fresh randomized election timeout.
    pub fn new(config: Config, restored: Restored<C>) -> Result<Self, InitError> {
        config.validate()?;
        validate_restored(&restored)?;
        let Restored {
            hard_state,
            snapshot,
            mut entries,
            applied,
            membership,
        } = restored;
        let (base_index, base_term) = snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.last_index, s.meta.last_term));
        // Entries the snapshot covers are committed and applied: drop them.
        let covered = entries.iter().take_while(|e| e.index <= base_index).count();
        if covered > 0 {
            entries.drain(..covered);
        }
        let applied = applied.max(base_index);
        let mut memberships = match &snapshot {
            Some(s) => MembershipLog::new(s.meta.membership_index, s.meta.membership.clone()),
            None => MembershipLog::new(0, membership),
        };
        for entry in &entries {
            if let Some(membership) = entry.payload.as_membership() {
                memberships.push(entry.index, membership.clone());
            }
        }
        let mut raft = Raft {
            term: hard_state.term,
            vote: hard_state.vote,
            role: Role::Follower,
            leader: None,
            log: Log::new(base_index, base_term, entries),
            commit_index: applied,
            applied_index: applied,
            durable_index: 0,
            truncated_in: 0,
            term_writes: (0, 0),
            leader_verified_index: 0,
            election_elapsed: 0,
            election_timeout: 0,
            fast_tick_limit: 0,
            lease_guard: false,
            heartbeat_elapsed: 0,
            rng: Rng::new(config.seed),
            memberships,
            votes: Votes::default(),
            timeouts_aside: 0,
            best_candidate: None,
            progress: Vec::new(),
            step_start: 0,
            snapshot: snapshot.map(Arc::new),
            incoming: None,
            transfer: None,
            reads: None,
            config,
        };
        // Everything restored is durable.
        raft.durable_index = raft.log.last_index();
        raft.reset_election_timer();
        // A node that went down may have confirmed a leader's lease just before: its vote
        // stays barred for the lease's span, counted from its start.
        raft.lease_guard = raft.config.lease_reads;
        Ok(raft)
    }

    /// Handles one event and returns the actions the host must carry out, in order (see
    /// [`Action`] for the ordering rule). The convenient form of [`Raft::step_into`].
    pub fn step(&mut self, event: Event<C>) -> Vec<Action<C>> {
        let mut out = Vec::new();
        self.step_into(event, &mut out);
        out
    }

    /// Handles one event and appends the resulting actions to `out`, so a host can reuse one
    /// buffer.
    ///
    /// `step_into` only appends: it never reads, changes or removes an action already in
    /// `out`. Every action still there is taken as not yet carried out, and the new actions
    /// assume that those before them will be carried out first. So a host may step several
    /// events into one buffer, carry out any prefix of it at any time (removing what it carried
    /// out from the front) and leave the rest for later: the buffer, read in order, always keeps
    /// the ordering rule. To send a burst of proposals as one append per follower, step them
    /// as one [`Event::ProposeBatch`].
    #[inline(always)]
    pub fn step_into(&mut self, event: Event<C>, out: &mut Vec<Action<C>>) {
        // Dispatched here, inline in the host's loop, where the host's own choice of event
        // usually decides the branch at compile time; each kind of event is then handled out
        // of line. The idle path stays inline: a tick that fires no timer on a follower or
        // candidate only counts.
        match event {
            Event::Tick => {
                if self.role != Role::Leader && self.election_elapsed + 1 < self.fast_tick_limit {
                    self.election_elapsed += 1;
                    return;
                }
                self.step_tick(out);
            }
            Event::Receive { from, message } => self.step_receive(from, message, out),
            Event::Propose(command) => self.step_propose(command, out),
            Event::ProposeBatch(commands) => self.step_propose_batch(commands, out),
            Event::SnapshotTaken { index, data } => self.step_snapshot_taken(index, data, out),
            Event::ChangeMembership {
                change,
                membership_index,
            } => self.step_change_membership(change, membership_index, out),
            Event::TransferLeadership { to } => self.step_transfer_leadership(to, out),
            Event::Read { context } => self.step_read(context, out),
            Event::Persisted { index, term } => self.step_persisted(index, term, out),
        }
    }

    /// A tick that fires a timer.
    #[inline(never)]
    fn step_tick(&mut self, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.tick(out));
    }

    /// A message from a peer.
    #[inline(never)]
    fn step_receive(&mut self, from: NodeId, message: Message<C>, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.receive(from, message, out));
    }

    /// A client's command.
    #[inline(never)]
    fn step_propose(&mut self, command: C, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.propose(command, out));
    }

    /// Several client commands at once.
    #[inline(never)]
    fn step_propose_batch(&mut self, commands: Vec<C>, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.propose_batch(commands, out));
    }

    /// The host's report of a snapshot it took.
    #[inline(never)]
    fn step_snapshot_taken(&mut self, index: LogIndex, data: Vec<u8>, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.take_snapshot(index, data, out));
    }

    /// A membership change.
    #[inline(never)]
    fn step_change_membership(
        &mut self,
        change: MembershipChange,
        membership_index: LogIndex,
        out: &mut Vec<Action<C>>,
    ) {
        self.in_step(out, |raft, out| {
            raft.propose_membership(change, membership_index, out)
        });
    }

    /// A client's read.
    #[inline(never)]
    fn step_read(&mut self, context: u64, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.read(context, out));
    }

    /// The host's report of durable entry writes.
    #[inline(never)]
    fn step_persisted(&mut self, index: LogIndex, term: Term, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.persisted(index, term, out));
    }

    /// A leadership transfer asked by the host.
    #[inline(never)]
    fn step_transfer_leadership(&mut self, to: NodeId, out: &mut Vec<Action<C>>) {
        self.in_step(out, |raft, out| raft.transfer_leadership(to, out));
    }

    /// Runs one step's `handler`: first notes where the step's actions begin in `out`; last, in
    /// debug builds, checks the node's invariants.
    #[inline(always)]
    fn in_step(
        &mut self,
        out: &mut Vec<Action<C>>,
        handler: impl FnOnce(&mut Self, &mut Vec<Action<C>>),
    ) {
        self.step_start = out.len();
        handler(self, out);
        if self.reads.is_some() && self.role != Role::Leader {
            self.after_step_reads(out);
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The vote cast in the current term.
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }

    /// The role in the current term.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The leader of the current term, if known.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }

    /// The highest index handed to the host by an `Apply` action.
    pub fn applied_index(&self) -> LogIndex {
        self.applied_index
    }

    /// The index of the last log entry (0 if the log is empty).
    pub fn last_index(&self) -> LogIndex {
        self.log.last_index()
    }

    /// The term of the last log entry (0 if the log is empty).
    pub fn last_term(&self) -> Term {
        self.log.last_term()
    }

    /// The term and vote as last persisted.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
        }
    }

    /// The entries held in memory, in index order: those after [`Raft::compacted_index`].
    pub fn entries(&self) -> &[Entry<C>] {
        self.log.entries()
    }

    /// Entries at or below this index were compacted away (0 if none were).
    pub fn compacted_index(&self) -> LogIndex {
        self.log.base_index()
    }

    /// The latest snapshot: taken by the host, installed from a leader, or restored.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }

    /// The last index the latest snapshot covers (0 without one).
    pub fn snapshot_index(&self) -> LogIndex {
        self.snapshot.as_ref().map_or(0, |s| s.meta.last_index)
    }

    /// The entry at `index`, if held.
    pub fn entry(&self, index: LogIndex) -> Option<&Entry<C>> {
        self.log.entry(index)
    }

    /// The committed entries `first..=last`, as a slice of the log (nothing is cloned): what
    /// an `Action::ApplyRange { first, last }` hands out (`Config::apply_by_range`). `None`
    /// unless every one of them is committed and held: read the range before stepping the
    /// node again, and it always is.
    pub fn committed_entries(&self, first: LogIndex, last: LogIndex) -> Option<&[Entry<C>]> {
        if first == 0 || first > last || last > self.commit_index {
            return None;
        }
        let slice = self.log.slice(first, last);
        let whole = slice.first().is_some_and(|entry| entry.index == first)
            && slice.len() as LogIndex == last + 1 - first;
        whole.then_some(slice)
    }

    /// The term of the entry at `index`, if held, or if `index` is the compacted index (whose
    /// term the node keeps); `None` otherwise.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        self.log.term_at(index)
    }

    /// The configuration the node was built with (its options; who is in the cluster is in
    /// [`Raft::membership`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The cluster configuration in force on this node: the latest its log holds, committed
    /// or not (thesis §4.1).
    pub fn membership(&self) -> &Membership {
        self.memberships.current()
    }

    /// The index of the configuration in force (its entry's; the snapshot's, or 0 for the
    /// membership the cluster was bootstrapped with). `Event::ChangeMembership` names it.
    pub fn membership_index(&self) -> LogIndex {
        self.memberships.current_index()
    }

    /// All of the above in one value.
    pub fn status(&self) -> Status {
        Status {
            id: self.config.id,
            term: self.term,
            vote: self.vote,
            role: self.role,
            leader: self.leader,
            commit_index: self.commit_index,
            applied_index: self.applied_index,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            snapshot_index: self.snapshot_index(),
            compacted_index: self.log.base_index(),
        }
    }

    /// While leading: the match index (Figure 2 matchIndex) of every member it replicates to,
    /// learners included, for monitoring; how far a learner is behind before it is promoted
    /// is `last_index` less its match.
    pub fn match_indices(&self) -> impl Iterator<Item = (NodeId, LogIndex)> + '_ {
        self.progress.iter().map(|pr| (pr.id, pr.match_index))
    }

    /// While leading: how many entries of this leader's log node `id` is not known to hold
    /// (`last_index` less its match index): what a host watches before it promotes a learner
    /// (`MembershipChange::Promote`). `None` if this node does not lead, or does not replicate
    /// to `id` (itself, or no member).
    pub fn lag(&self, id: NodeId) -> Option<u64> {
        if self.role != Role::Leader {
            return None;
        }
        let slot = self.peer_slot(id)?;
        Some(
            self.log
                .last_index()
                .saturating_sub(self.progress[slot].match_index),
        )
    }

    fn tick(&mut self, out: &mut Vec<Action<C>>) {
        if self.role == Role::Leader {
            if self.config.check_quorum {
                // Thesis §6.2: every election timeout, a leader that has not heard from a
                // quorum since the last check steps down.
                self.election_elapsed += 1;
                if self.election_elapsed >= self.config.election_ticks {
                    self.election_elapsed = 0;
                    if !self.quorum_heard() {
                        self.become_follower(self.term, None);
                        return;
                    }
                }
            }
            if self.transfer.is_some() {
                self.transfer_tick(out);
            }
            if self.reads.is_some() {
                self.leader_reads_tick(out);
            }
            self.heartbeat_elapsed += 1;
            if self.heartbeat_elapsed >= self.config.heartbeat_ticks {
                self.heartbeat_elapsed = 0;
                self.broadcast_heartbeat(out);
                if self.reads.is_some() {
                    self.reads_heartbeat(out);
                }
            }
        } else {
            self.election_elapsed += 1;
            if self.reads.is_some() {
                self.follower_reads_tick(out);
            }
            if self.election_elapsed >= self.election_timeout {
                self.campaign(out);
            }
        }
    }

    /// Steps down to follower of `term` (which is at least the current term). A node that
    /// steps down within its term keeps its vote (akka-raft #56: the vote must never be
    /// erased within a term). Returns true if the hard state changed.
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) -> bool {
        assert!(term >= self.term, "terms never decrease");
        let new_term = term > self.term;
        if new_term {
            self.term = term;
            self.vote = None;
            self.leader_verified_index = 0;
            self.incoming = None;
        }
        if self.role != Role::Follower {
            // A leader steps down with a whole election timeout ahead of it. A candidate
            // keeps the timer of its campaign (Figure 2 resets it only on a leader's append or
            // a vote granted): else a candidate that cannot win, whose requests make the others
            // step down just after it campaigned, would always time out first and take again
            // the votes another candidate needs.
            if self.role == Role::Leader {
                self.reset_election_timer();
                if !new_term {
                    // What it wrote as leader stands for the rest of its term.
                    self.term_writes = (self.term, self.log.last_index());
                }
            }
            self.role = Role::Follower;
            self.votes.clear();
            self.clear_leader_state();
            self.transfer = None;
        }
        self.set_leader(leader);
        new_term
    }

    pub(super) fn set_leader(&mut self, leader: Option<NodeId>) {
        if self.leader != leader {
            self.leader_verified_index = 0;
        }
        self.leader = leader;
    }

    fn receive(&mut self, from: NodeId, message: Message<C>, out: &mut Vec<Action<C>>) {
        if from == self.config.id {
            return; // Never a second self-vote, never our own append.
        }
        let Some(term) = self.checked_term(&message) else {
            // Validate the whole message before changing any state, its term included: a
            // malformed message from a faulty peer must not depose a leader.
            return;
        };
        // The leader we follow, the usual sender, is listened to without a look-up.
        if self.leader != Some(from) && !self.listens_to(from, &message) {
            // An id it does not listen to changes nothing here, neither term nor role, log
            // nor commit index; a vote request from it is refused with our term.
            match message {
                Message::RequestVote { .. } => self.send(from, self.vote_response(false), out),
                Message::PreVote { .. } => self.send(from, self.pre_vote_response(false), out),
                _ => {}
            }
            return;
        }
        if term > self.term {
            match message {
                // Thesis §9.6: a PreVote and its answer stand outside the term rule; neither
                // changes the receiver's term by itself.
                Message::PreVote { .. } | Message::PreVoteResponse { .. } => {
                    return self.receive_pre_vote(from, term, message, out);
                }
                // Leader stickiness (thesis §6.2): while we lead, or heard from our leader
                // within an election timeout, a vote request of a higher term is ignored, term
                // and all: its sender cannot hear a leader that the rest of the cluster hears.
                Message::RequestVote {
                    transfer: false, ..
                } if self.config.check_quorum && (self.in_lease() || self.lease_bars_votes()) => {
                    return;
                }
                _ => {}
            }
            // Figure 2, all servers: "If RPC request or response contains term T >
            // currentTerm: set currentTerm = T, convert to follower (§5.1)".
            let from_leader = matches!(
                message,
                Message::AppendEntries { .. }
                    | Message::Commit { .. }
                    | Message::InstallSnapshot { .. }
                    | Message::TimeoutNow { .. }
                    | Message::LeaderCheck { .. }
            );
            let leader = from_leader.then_some(from);
            if self.become_follower(term, leader) {
                self.persist_hard_state(out);
            }
        } else if term < self.term {
            if let Message::PreVote { .. } | Message::PreVoteResponse { .. } = message {
                return self.receive_pre_vote(from, term, message, out);
            }
            self.refuse_stale(from, &message, out);
            return;
        }
        match message {
            Message::RequestVote {
                last_log_index,
                last_log_term,
                transfer,
                ..
            } => self.handle_request_vote(from, last_log_index, last_log_term, transfer, out),
            Message::RequestVoteResponse { vote_granted, .. } => {
                if self.role == Role::Candidate {
                    self.handle_vote_response(from, vote_granted, out);
                }
            }
            Message::PreVote { .. } | Message::PreVoteResponse { .. } => {
                self.receive_pre_vote(from, term, message, out)
            }
            Message::TimeoutNow { .. } => self.handle_timeout_now(out),
            Message::ReadIndex { context, .. } => self.handle_read_index(from, context, out),
            Message::ReadIndexResponse { context, index, .. } => {
                self.handle_read_index_response(from, context, index, out)
            }
            Message::LeaderCheck { round, .. } => {
                // Like a heartbeat: the leader of our term; confirm it.
                if self.follow(from) {
                    let message = Message::LeaderCheckResponse {
                        term: self.term,
                        round,
                    };
                    self.send(from, message, out);
                }
            }
            Message::LeaderCheckResponse { round, .. } => {
                if let Some(slot) = self.peer_slot(from).filter(|_| self.role == Role::Leader) {
                    self.progress[slot].active = true;
                    self.handle_leader_check_response(from, round, out);
                }
            }
            Message::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                ..
            } => self.handle_append_entries(
                from,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                out,
            ),
            Message::Commit {
                match_index,
                match_term,
                leader_commit,
                ..
            } => self.handle_commit(from, match_index, match_term, leader_commit, out),
            Message::AppendEntriesResponse { outcome, .. } => {
                if self.role == Role::Leader {
                    self.handle_append_response(from, outcome, out);
                }
            }
            Message::InstallSnapshot { chunk, .. } => {
                self.handle_install_snapshot(from, *chunk, out)
            }
            Message::InstallSnapshotResponse {
                snapshot_index,
                outcome,
                ..
            } => {
                if self.role == Role::Leader {
                    self.handle_snapshot_response(from, snapshot_index, outcome, out);
                }
            }
        }
    }

    /// A `PreVote` or its answer, of any term (thesis §9.6).
    #[inline(never)]
    fn receive_pre_vote(
        &mut self,
        from: NodeId,
        term: Term,
        message: Message<C>,
        out: &mut Vec<Action<C>>,
    ) {
        match message {
            Message::PreVote {
                last_log_index,
                last_log_term,
                ..
            } => self.handle_pre_vote(from, term, last_log_index, last_log_term, out),
            Message::PreVoteResponse { vote_granted, .. } => {
                self.handle_pre_vote_response(from, term, vote_granted, out)
            }
            _ => unreachable!("receive_pre_vote takes pre-votes only"),
        }
    }

    /// Who a node listens to (crate docs, "Who a node listens to"; ARCHITECTURE.md §4).
    ///
    /// A vote request only from a voter of the configuration in force or, while we have no
    /// leader, from a candidate whose log is more up to date than ours (it may hold
    /// configurations we lack, and it is the only kind we could grant): a removed server that
    /// missed its removal has a log that lacks the removal entry, so it is behind and cannot
    /// disrupt a node that has it (thesis §4.2.3). Anything else from a member of some
    /// configuration the log holds, from the leader we follow, or, while we have no leader (a
    /// node started empty to join, a candidate, a follower that has not heard from a leader
    /// in its term), from anyone: a leader unknown to us may hold configurations we have not
    /// received. A node that leads, or follows a leader, never acts on a stranger's message.
    fn listens_to(&self, from: NodeId, message: &Message<C>) -> bool {
        if let Message::RequestVote {
            last_log_index,
            last_log_term,
            ..
        }
        | Message::PreVote {
            last_log_index,
            last_log_term,
            ..
        } = message
        {
            let ahead_of_us = self.log.is_behind(*last_log_index, *last_log_term);
            return self.memberships.current().is_voter(from) || (ahead_of_us && self.leaderless());
        }
        if self.role == Role::Leader {
            // The members a leader tracks are known: the usual senders, found without looking
            // through the configurations.
            return self.peer_slot(from).is_some() || self.memberships.knows(from);
        }
        self.leaderless() || self.memberships.knows(from)
    }

    /// True while this node neither leads nor follows a leader in its term.
    fn leaderless(&self) -> bool {
        self.leader.is_none() && self.role != Role::Leader
    }

    /// True while this node leads, or has heard from the leader it follows within the last
    /// `election_ticks` ticks: it then grants no pre-vote (thesis §9.6) and, with
    /// `Config::check_quorum`, ignores vote requests of higher terms (thesis §6.2).
    pub(super) fn in_lease(&self) -> bool {
        self.role == Role::Leader
            || (self.leader.is_some() && self.election_elapsed < self.config.election_ticks)
    }

    /// True while a leader may hold a lease on this node's vote (`Config::lease_reads`): it
    /// heard from a leader, or started, less than `election_ticks` ticks ago, whatever term it
    /// has reached since (a stale answer can raise its term and clear its leader within the
    /// lease). It grants no vote then but to a transfer's candidate (whose leader gave up its
    /// lease).
    pub(super) fn lease_bars_votes(&self) -> bool {
        self.config.lease_reads
            && self.lease_guard
            && self.election_elapsed < self.config.election_ticks
    }

    /// The message's term if it may be acted on, or `None` to drop it: it must be well formed
    /// ([`is_well_formed`]) and its term at most [`TERM_JUMP_MAX`] above ours.
    fn checked_term(&self, message: &Message<C>) -> Option<Term> {
        let term = message.term();
        let plausible = term - self.term.min(term) <= TERM_JUMP_MAX;
        (plausible && is_well_formed(message)).then_some(term)
    }

    /// Figure 2, RequestVote and AppendEntries receivers, rule 1: "Reply false if term <
    /// currentTerm". The reply carries our term so the stale sender steps down; stale
    /// responses are dropped.
    #[cold]
    #[inline(never)]
    fn refuse_stale(&self, from: NodeId, message: &Message<C>, out: &mut Vec<Action<C>>) {
        match message {
            Message::RequestVote { .. } => self.send(from, self.vote_response(false), out),
            Message::AppendEntries {
                prev_log_index: rejected_index,
                ..
            }
            | Message::Commit {
                match_index: rejected_index,
                ..
            } => {
                let outcome = AppendOutcome::Rejected {
                    rejected_index: *rejected_index,
                    hint_index: 0,
                    hint_term: 0,
                };
                self.send_append_response(from, outcome, out);
            }
            Message::InstallSnapshot { chunk, .. } => {
                let outcome = SnapshotOutcome::Receiving {
                    next_offset: 0,
                    answered_offset: chunk.offset,
                };
                self.send_snapshot_response(from, chunk.meta.last_index, outcome, out);
            }
            // A leader of an old term learns ours, and steps down.
            Message::LeaderCheck { round, .. } => {
                let message = Message::LeaderCheckResponse {
                    term: self.term,
                    round: *round,
                };
                self.send(from, message, out);
            }
            // A follower behind in terms learns ours, and that its read must be retried.
            Message::ReadIndex { context, .. } => {
                let message = Message::ReadIndexResponse {
                    term: self.term,
                    context: *context,
                    index: None,
                };
                self.send(from, message, out);
            }
            Message::RequestVoteResponse { .. }
            | Message::PreVote { .. }
            | Message::PreVoteResponse { .. }
            | Message::TimeoutNow { .. }
            | Message::ReadIndexResponse { .. }
            | Message::LeaderCheckResponse { .. }
            | Message::AppendEntriesResponse { .. }
            | Message::InstallSnapshotResponse { .. } => {}
        }
    }

    /// Figure 2, all servers: "If commitIndex > lastApplied: apply log[lastApplied+1..]";
    /// with `Config::async_persistence`, only as far as the log is durable here.
    #[inline(always)]
    pub(super) fn apply_committed(&mut self, out: &mut Vec<Action<C>>) {
        let ready = self.appliable_index();
        if ready <= self.applied_index {
            return;
        }
        let first = self.applied_index + 1;
        self.applied_index = ready;
        if self.config.apply_by_range {
            out.push(Action::ApplyRange { first, last: ready });
            return;
        }
        let entries = Entries::from_slice(self.log.slice(first, ready));
        debug_assert_eq!(entries.len() as LogIndex, ready + 1 - first);
        out.push(Action::Apply(entries));
    }

    pub(super) fn send(&self, to: NodeId, message: Message<C>, out: &mut Vec<Action<C>>) {
        debug_assert!(
            message.term() <= self.term,
            "a message never carries a future term"
        );
        out.push(Action::Send { to, message });
    }

    /// Persists the current term and vote. Within one step a second hard-state write replaces
    /// a first one that nothing has followed yet, so a term change and a vote cost one write.
    pub(super) fn persist_hard_state(&mut self, out: &mut Vec<Action<C>>) {
        let hard_state = self.hard_state();
        if out.len() > self.step_start {
            if let Some(Action::Persist(Persist::HardState(last))) = out.last_mut() {
                *last = hard_state;
                return;
            }
        }
        self.push_persist(Persist::HardState(hard_state), out);
    }

    pub(super) fn push_persist(&mut self, persist: Persist<C>, out: &mut Vec<Action<C>>) {
        out.push(Action::Persist(persist));
    }

    #[cfg(debug_assertions)]
    fn check_invariants(&self) {
        self.log.check();
        debug_assert!(
            self.commit_index <= self.log.last_index(),
            "commit beyond the log"
        );
        debug_assert!(
            self.applied_index <= self.commit_index,
            "applied beyond commit"
        );
        if self.config.async_persistence {
            debug_assert!(
                self.durable_index <= self.log.last_index(),
                "durable beyond the log"
            );
            debug_assert!(
                self.applied_index <= self.durable_index.max(self.log.base_index()),
                "applied beyond what is durable"
            );
        }
        debug_assert!(
            self.log.last_term() <= self.term,
            "log term above current term"
        );
        let snapshot_index = self.snapshot_index();
        debug_assert!(
            self.log.base_index() <= snapshot_index,
            "compacted past the snapshot"
        );
        debug_assert!(
            snapshot_index <= self.applied_index,
            "snapshot beyond the applied index"
        );
        match self.role {
            Role::Leader => {
                debug_assert_eq!(self.leader, Some(self.config.id));
                debug_assert_eq!(self.vote, Some(self.config.id));
                let tracked = self.tracked_members();
                debug_assert_eq!(
                    self.progress.len(),
                    tracked.len(),
                    "one progress per member"
                );
                for progress in &self.progress {
                    debug_assert!(tracked.contains(&progress.id), "progress of a non-member");
                    progress.check(self.log.last_index());
                }
            }
            Role::Candidate => {
                debug_assert_eq!(self.vote, Some(self.config.id));
                debug_assert!(self.progress.is_empty());
            }
            Role::PreCandidate => {
                debug_assert!(self.leader.is_none());
                debug_assert!(self.progress.is_empty());
            }
            Role::Follower => debug_assert!(self.progress.is_empty()),
        }
        debug_assert!(
            self.transfer.is_none() || self.role == Role::Leader,
            "only a leader transfers"
        );
    }
}
