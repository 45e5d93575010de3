//! `Raft`: the state machine. `step` handles the term once, then dispatches by role; every
//! rule of Raft Figure 2 is a function here or in the role handlers.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::action::{Action, Persist, ProposeError, SnapshotError};
use crate::config::{same_voters, Config, ConfigError};
use crate::entries::Entries;
use crate::event::Event;
use crate::log::Log;
use crate::message::{AppendOutcome, Message, SnapshotChunk, SnapshotOutcome};
use crate::progress::{Progress, ProgressState};
use crate::quorum;
use crate::rng::Rng;
use crate::types::{
    Command, Entry, HardState, LogIndex, NodeId, Payload, Role, Snapshot, SnapshotMeta, Status,
    Term, TERM_JUMP_MAX, TERM_MAX,
};

/// What a host hands back to [`Raft::new`] at restart: exactly what the `Persist` actions
/// wrote, plus how far its state machine had applied. `Restored::default()` is a fresh node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Restored<C> {
    /// The last `Persist::HardState` written.
    pub hard_state: HardState,
    /// The snapshot to restart from: the last one stored by `Persist::Snapshot` (with the
    /// data the host reported in `Event::SnapshotTaken`) or `Action::InstallSnapshot`,
    /// whichever came last; `None` if there was none.
    pub snapshot: Option<Snapshot>,
    /// The stored log as the `Persist::Entries` actions left it: from index 1 without a
    /// snapshot, otherwise from at most the snapshot's index + 1 (entries the snapshot covers
    /// may be left in or deleted; they are dropped).
    pub entries: Vec<Entry<C>>,
    /// The highest index the host's state machine has applied durably (0 if it keeps its
    /// state in memory). Entries up to it count as committed and are not applied again. A
    /// host restores its state machine from `snapshot`, so applying resumes after the larger
    /// of this and the snapshot's index.
    pub applied: LogIndex,
}

impl<C> Default for Restored<C> {
    fn default() -> Self {
        Restored {
            hard_state: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
            applied: 0,
        }
    }
}

/// Why the state given to [`Raft::new`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The entry at this position of `entries` has index `found`, not `expected`: the stored
    /// log has a gap or does not start at 1.
    IndexGap {
        /// The index the entry should have.
        expected: LogIndex,
        /// The index it has.
        found: LogIndex,
    },
    /// The entry at `index` has term 0, which no leader ever writes.
    ZeroTerm {
        /// The entry's index.
        index: LogIndex,
    },
    /// The entry at `index` has a lower term than the entry before it.
    TermDecreases {
        /// The entry's index.
        index: LogIndex,
    },
    /// The entry at `index` has a term above the stored current term.
    TermAboveCurrent {
        /// The entry's index.
        index: LogIndex,
        /// The entry's term.
        term: Term,
        /// The stored current term.
        current_term: Term,
    },
    /// The hard state records a vote in term 0, before any election.
    VoteInTermZero,
    /// The stored term is above `TERM_MAX`, which no node reaches.
    TermBeyondMaximum {
        /// The stored term.
        term: Term,
    },
    /// `applied` is beyond the last stored entry.
    AppliedBeyondLog {
        /// The applied index given.
        applied: LogIndex,
        /// The last stored index.
        last_index: LogIndex,
    },
    /// The snapshot's index or term is 0: no snapshot covers the empty prefix.
    EmptySnapshot,
    /// The snapshot's index is above `u64::MAX / 2`, which no log reaches.
    SnapshotIndexBeyondMaximum {
        /// The snapshot's index.
        index: LogIndex,
    },
    /// The snapshot's term is above the stored current term.
    SnapshotTermAboveCurrent {
        /// The snapshot's last term.
        term: Term,
        /// The stored current term.
        current_term: Term,
    },
    /// The snapshot's configuration is not this node's (`Config::voters`, in any order).
    SnapshotVotersDiffer {
        /// The voters the snapshot records.
        snapshot: Vec<NodeId>,
    },
    /// The stored entry at the snapshot's index has another term than the snapshot.
    SnapshotConflict {
        /// The snapshot's index.
        index: LogIndex,
        /// The stored entry's term.
        entry_term: Term,
        /// The snapshot's term.
        snapshot_term: Term,
    },
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::IndexGap { expected, found } => {
                write!(f, "stored log expected index {expected}, found {found}")
            }
            RestoreError::ZeroTerm { index } => write!(f, "stored entry {index} has term 0"),
            RestoreError::TermDecreases { index } => {
                write!(
                    f,
                    "stored entry {index} has a lower term than its predecessor"
                )
            }
            RestoreError::TermAboveCurrent {
                index,
                term,
                current_term,
            } => write!(
                f,
                "stored entry {index} has term {term}, above the current term {current_term}"
            ),
            RestoreError::VoteInTermZero => write!(f, "stored vote in term 0"),
            RestoreError::TermBeyondMaximum { term } => {
                write!(f, "stored term {term} is above the maximum {TERM_MAX}")
            }
            RestoreError::AppliedBeyondLog {
                applied,
                last_index,
            } => write!(
                f,
                "applied index {applied} is beyond the last stored entry {last_index}"
            ),
            RestoreError::EmptySnapshot => write!(f, "stored snapshot has index or term 0"),
            RestoreError::SnapshotIndexBeyondMaximum { index } => {
                write!(
                    f,
                    "stored snapshot index {index} is above the maximum {INDEX_MAX}"
                )
            }
            RestoreError::SnapshotTermAboveCurrent { term, current_term } => write!(
                f,
                "stored snapshot has term {term}, above the current term {current_term}"
            ),
            RestoreError::SnapshotVotersDiffer { snapshot } => write!(
                f,
                "stored snapshot records voters {snapshot:?}, not the configured ones"
            ),
            RestoreError::SnapshotConflict {
                index,
                entry_term,
                snapshot_term,
            } => write!(
                f,
                "stored entry {index} has term {entry_term}, the snapshot there term \
                 {snapshot_term}"
            ),
        }
    }
}

impl std::error::Error for RestoreError {}

/// Why [`Raft::new`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The restored state is inconsistent.
    Restore(RestoreError),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::Config(error) => write!(f, "invalid configuration: {error}"),
            InitError::Restore(error) => write!(f, "invalid restored state: {error}"),
        }
    }
}

impl std::error::Error for InitError {}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

impl From<RestoreError> for InitError {
    fn from(error: RestoreError) -> Self {
        InitError::Restore(error)
    }
}

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
    /// Follower only: the highest index known to match the current leader's log, verified by
    /// an append of this leader in this term. Bounds what the follower may commit and what it
    /// acknowledges; 0 when the term or the leader changes.
    leader_verified_index: LogIndex,
    election_elapsed: u64,
    election_timeout: u64,
    heartbeat_elapsed: u64,
    rng: Rng,
    /// Candidate only: the voters that granted their vote in this term, this node included.
    votes_granted: SmallVec<[NodeId; 8]>,
    /// Leader only: one entry per voter other than this node, in `Config::voters` order.
    progress: Vec<Progress>,
    /// Where the current step's actions begin in `out`. Actions before it belong to earlier
    /// steps and are never read or changed.
    step_start: usize,
    /// The latest snapshot: taken by the host, installed from a leader, or restored.
    /// Invariant: the log's base index is at most its index, which is at most `applied_index`.
    snapshot: Option<Arc<Snapshot>>,
    /// Follower only: the snapshot being received from the leader of `term`, chunk by chunk.
    incoming: Option<Box<Incoming>>,
}

/// A snapshot arriving in chunks: the bytes so far, kept while they come from the leader of
/// one term, for one snapshot of one declared size, in order.
#[derive(Clone, Debug)]
struct Incoming {
    term: Term,
    meta: SnapshotMeta,
    /// The snapshot's size as its chunks declare it: at most `Config::max_snapshot_bytes`.
    size: u64,
    /// The first bytes of the snapshot; never more than `size`.
    data: Vec<u8>,
}

/// After more than this many heartbeat intervals in a row in which a follower did not answer
/// at all (or four times as many in which its snapshot transfer made no progress), the
/// transfer is dropped, releasing what it held back from compaction; the follower is probed
/// again and gets the latest snapshot on its answer. A follower silent as long no longer holds
/// compaction back after a transfer either (`Progress::catching_up`).
const SNAPSHOT_STALL_LIMIT: u32 = 4;

/// The highest snapshot index accepted, from a peer or at restart: like `TERM_MAX`, far beyond
/// any real log, and it keeps index arithmetic from overflowing.
const INDEX_MAX: LogIndex = u64::MAX / 2;

impl<C: Command> Raft<C> {
    /// Builds a node from its configuration and what it persisted before (or
    /// `Restored::default()` for a fresh node). Validates both; the node starts as a follower
    /// of the restored term with a fresh randomized election timeout.
    pub fn new(config: Config, restored: Restored<C>) -> Result<Self, InitError> {
        config.validate()?;
        validate_restored(&restored, &config)?;
        let Restored {
            hard_state,
            snapshot,
            mut entries,
            applied,
        } = restored;
        let (base_index, base_term) = snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.last_index, s.meta.last_term));
        // Entries the snapshot covers are committed and applied: drop them.
        let covered = entries.iter().take_while(|e| e.index <= base_index).count();
        entries.drain(..covered);
        let applied = applied.max(base_index);
        let mut raft = Raft {
            term: hard_state.term,
            vote: hard_state.vote,
            role: Role::Follower,
            leader: None,
            log: Log::new(base_index, base_term, entries),
            commit_index: applied,
            applied_index: applied,
            leader_verified_index: 0,
            election_elapsed: 0,
            election_timeout: 0,
            heartbeat_elapsed: 0,
            rng: Rng::new(config.seed),
            votes_granted: SmallVec::new(),
            progress: Vec::new(),
            step_start: 0,
            snapshot: snapshot.map(Arc::new),
            incoming: None,
            config,
        };
        raft.reset_election_timer();
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
                if self.role != Role::Leader && self.election_elapsed + 1 < self.election_timeout {
                    self.election_elapsed += 1;
                    return;
                }
                self.step_tick(out);
            }
            Event::Receive { from, message } => self.step_receive(from, message, out),
            Event::Propose(command) => self.step_propose(command, out),
            Event::ProposeBatch(commands) => self.step_propose_batch(commands, out),
            Event::SnapshotTaken { index, data } => self.step_snapshot_taken(index, data, out),
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
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    // ----- getters -----

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

    /// The term of the entry at `index`, if held, or if `index` is the compacted index (whose
    /// term the node keeps); `None` otherwise.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        self.log.term_at(index)
    }

    /// The configuration the node was built with.
    pub fn config(&self) -> &Config {
        &self.config
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

    /// While leading: each peer's match index (Figure 2 matchIndex), for monitoring.
    pub fn match_indices(&self) -> impl Iterator<Item = (NodeId, LogIndex)> + '_ {
        self.progress.iter().map(|pr| (pr.id, pr.match_index))
    }

    // ----- time -----

    fn tick(&mut self, out: &mut Vec<Action<C>>) {
        if self.role == Role::Leader {
            self.heartbeat_elapsed += 1;
            if self.heartbeat_elapsed >= self.config.heartbeat_ticks {
                self.heartbeat_elapsed = 0;
                self.broadcast_heartbeat(out);
            }
        } else {
            self.election_elapsed += 1;
            if self.election_elapsed >= self.election_timeout {
                self.campaign(out);
            }
        }
    }

    fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        // Raft §5.2: randomized in [election_ticks, 2 * election_ticks).
        let ticks = self.config.election_ticks;
        self.election_timeout = self.rng.in_range(ticks, ticks);
    }

    // ----- role transitions -----

    /// Figure 2, followers: "If election timeout elapses ... convert to candidate";
    /// candidates: "On conversion to candidate, start election".
    fn campaign(&mut self, out: &mut Vec<Action<C>>) {
        let Some(term) = self.term.checked_add(1).filter(|&term| term <= TERM_MAX) else {
            // No term follows TERM_MAX: refuse to campaign rather than wrap or overflow.
            self.reset_election_timer();
            return;
        };
        self.become_candidate(term);
        self.persist_hard_state(out);
        if self.votes_granted.len() >= quorum::majority(self.config.voters.len()) {
            self.become_leader(out);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        for &peer in &self.config.voters {
            if peer == self.config.id {
                continue;
            }
            out.push(Action::Send {
                to: peer,
                message: Message::RequestVote {
                    term,
                    last_log_index,
                    last_log_term,
                },
            });
        }
    }

    fn become_candidate(&mut self, term: Term) {
        assert!(self.role != Role::Leader, "a leader never campaigns");
        assert!(term > self.term, "a candidate's term must grow");
        self.term = term;
        // Figure 2: "Vote for self".
        self.vote = Some(self.config.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes_granted.clear();
        self.votes_granted.push(self.config.id);
        self.leader_verified_index = 0;
        self.incoming = None;
        self.clear_leader_state();
        self.reset_election_timer();
    }

    /// Steps down to follower of `term` (which is at least the current term). A node that
    /// steps down within its term keeps its vote (akka-raft #56: the vote must never be
    /// erased within a term). Returns true if the hard state changed.
    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) -> bool {
        assert!(term >= self.term, "terms never decrease");
        let new_term = term > self.term;
        if new_term {
            self.term = term;
            self.vote = None;
            self.leader_verified_index = 0;
            self.incoming = None;
        }
        if self.role != Role::Follower {
            self.role = Role::Follower;
            self.votes_granted.clear();
            self.clear_leader_state();
            self.reset_election_timer();
        }
        self.set_leader(leader);
        new_term
    }

    fn set_leader(&mut self, leader: Option<NodeId>) {
        if self.leader != leader {
            self.leader_verified_index = 0;
        }
        self.leader = leader;
    }

    fn become_leader(&mut self, out: &mut Vec<Action<C>>) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate becomes leader"
        );
        assert_eq!(self.vote, Some(self.config.id));
        self.role = Role::Leader;
        self.leader = Some(self.config.id);
        self.votes_granted.clear();
        self.heartbeat_elapsed = 0;
        let next_index = self.log.last_index() + 1;
        let inflight_max = self.config.max_inflight_appends;
        let id = self.config.id;
        let peers = self.config.voters.iter().filter(|&&voter| voter != id);
        self.progress.clear();
        if self.progress.capacity() == 0 {
            // A node's first term as leader: one allocation, at the final size.
            self.progress = Vec::with_capacity(self.config.voters.len() - 1);
        }
        self.progress
            .extend(peers.map(|&peer| Progress::new(peer, next_index, inflight_max)));
        // Raft §8 / thesis §6.4: a no-op entry of the new term lets the leader commit, and so
        // learn, every earlier entry without waiting for a client.
        self.append_to_own_log(Payload::Noop, out);
        for slot in 0..self.progress.len() {
            self.send_append(slot, true, out);
        }
        if self.progress.is_empty() {
            // A single voter commits its no-op at once; peers have matched nothing yet.
            self.maybe_commit(out);
        }
    }

    fn clear_leader_state(&mut self) {
        self.progress.clear();
    }

    // ----- messages: the term first, then the role -----

    fn receive(&mut self, from: NodeId, message: Message<C>, out: &mut Vec<Action<C>>) {
        if from == self.config.id {
            return; // Never a second self-vote, never our own append.
        }
        let Some(term) = self.checked_term(&message) else {
            // Validate the whole message before changing any state, its term included: a
            // malformed message from a faulty peer must not depose a leader.
            return;
        };
        if !self.is_peer(from) {
            // Who a node listens to (crate docs): only the voters of its configuration. An
            // unknown id changes nothing here, neither term nor role, log nor commit index.
            if let Message::RequestVote { .. } = message {
                self.send(from, self.vote_response(false), out);
            }
            return;
        }
        if term > self.term {
            // Figure 2, all servers: "If RPC request or response contains term T >
            // currentTerm: set currentTerm = T, convert to follower (§5.1)".
            let from_leader = matches!(
                message,
                Message::AppendEntries { .. }
                    | Message::Commit { .. }
                    | Message::InstallSnapshot { .. }
            );
            let leader = from_leader.then_some(from);
            if self.become_follower(term, leader) {
                self.persist_hard_state(out);
            }
        } else if term < self.term {
            self.refuse_stale(from, &message, out);
            return;
        }
        match message {
            Message::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.handle_request_vote(from, last_log_index, last_log_term, out),
            Message::RequestVoteResponse { vote_granted, .. } => {
                if self.role == Role::Candidate {
                    self.handle_vote_response(from, vote_granted, out);
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

    /// The message's term if it may be acted on, or `None` to drop it: it must be well formed
    /// ([`is_well_formed`]), its term at most [`TERM_JUMP_MAX`] above ours, and a snapshot must
    /// be taken in our configuration. A snapshot records the voters it was taken with; until
    /// membership changes exist, one that names other voters than ours cannot come from a
    /// correct leader of this cluster, and storing it would leave state `Raft::new` refuses at
    /// restart.
    fn checked_term(&self, message: &Message<C>) -> Option<Term> {
        let term = message.term();
        let ours = match message {
            Message::InstallSnapshot { chunk, .. } => {
                same_voters(&chunk.meta.voters, &self.config.voters)
            }
            _ => true,
        };
        let plausible = term - self.term.min(term) <= TERM_JUMP_MAX;
        (plausible && ours && is_well_formed(message)).then_some(term)
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
            Message::RequestVoteResponse { .. }
            | Message::AppendEntriesResponse { .. }
            | Message::InstallSnapshotResponse { .. } => {}
        }
    }

    /// Figure 2, RequestVote receiver: grant if we have not voted for another candidate in
    /// this term and the candidate's log is at least as up to date as ours (§5.4.1). The vote
    /// is persisted before the answer is sent (the ordering rule).
    fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        last_log_index: LogIndex,
        last_log_term: Term,
        out: &mut Vec<Action<C>>,
    ) {
        let free = self.vote.is_none() || self.vote == Some(candidate);
        let grant = free
            && self.role == Role::Follower
            && self.log.is_up_to_date(last_log_index, last_log_term);
        if grant {
            if self.vote.is_none() {
                self.vote = Some(candidate);
                self.persist_hard_state(out);
            }
            // Figure 2, followers: granting a vote resets the election timer.
            self.reset_election_timer();
        }
        self.send(candidate, self.vote_response(grant), out);
    }

    fn vote_response(&self, vote_granted: bool) -> Message<C> {
        Message::RequestVoteResponse {
            term: self.term,
            vote_granted,
        }
    }

    /// Figure 2, candidates: "If votes received from majority of servers: become leader".
    /// Votes are kept in a set, so a duplicated grant counts once (akka-raft #45).
    fn handle_vote_response(&mut self, voter: NodeId, granted: bool, out: &mut Vec<Action<C>>) {
        if !granted || self.votes_granted.contains(&voter) {
            return;
        }
        self.votes_granted.push(voter);
        if self.votes_granted.len() >= quorum::majority(self.config.voters.len()) {
            self.become_leader(out);
        }
    }

    /// Figure 2, AppendEntries receiver, with the message's term equal to ours.
    #[inline]
    fn handle_append_entries(
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
        if !self.store_entries(entries, out) {
            return;
        }
        // Within a term the leader's log only grows, so every index verified by an earlier
        // append of this leader still matches: a heartbeat from an older match index does not
        // hide what the follower already holds.
        self.leader_verified_index = self.leader_verified_index.max(verified_index);
        self.commit_verified(leader_commit, out);
        let match_index = self.leader_verified_index.max(self.commit_index);
        self.send_append_response(leader, AppendOutcome::Accepted { match_index }, out);
    }

    /// A commit notice: AppendEntries receiver rules 2 and 5 for an empty append from
    /// `match_index`, answered only when rule 2 fails (then exactly like that append).
    #[inline]
    fn handle_commit(
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
    fn holds(&self, index: LogIndex, term: Term) -> bool {
        index < self.commit_index || self.log.term_at(index) == Some(term)
    }

    /// AppendEntries receiver rule 5, bounded by what was verified from this leader (a follower
    /// never commits an entry it has not matched against this leader: copycat #265, scylladb
    /// #9965), applying what it commits.
    #[inline(always)]
    fn commit_verified(&mut self, leader_commit: LogIndex, out: &mut Vec<Action<C>>) {
        let commit = leader_commit.min(self.leader_verified_index);
        if commit > self.commit_index {
            self.commit_index = commit;
            self.apply_committed(out);
        }
    }

    /// A leader of our term contacted us: follow it and reset the election timer. Returns false
    /// if we lead this term ourselves (a correct peer never sends that: ignore it).
    fn follow(&mut self, leader: NodeId) -> bool {
        match self.role {
            // Election safety: only one leader per term, and it is us.
            Role::Leader => return false,
            // Figure 2, candidates: "If AppendEntries RPC received from new leader: convert to
            // follower". The vote for this term is kept.
            Role::Candidate => {
                self.become_follower(self.term, Some(leader));
            }
            Role::Follower => self.set_leader(Some(leader)),
        }
        self.election_elapsed = 0;
        true
    }

    /// Figure 13, InstallSnapshot receiver, with the message's term equal to ours. Chunks are
    /// kept only in order; the last one installs the snapshot, unless the log already holds
    /// what it covers (correctness.md §4: at or below our commit, ignore it; its last entry in
    /// our log, keep the suffix and commit up to it).
    #[cold]
    #[inline(never)]
    fn handle_install_snapshot(
        &mut self,
        leader: NodeId,
        chunk: SnapshotChunk,
        out: &mut Vec<Action<C>>,
    ) {
        let SnapshotChunk {
            meta,
            size,
            offset,
            data,
        } = chunk;
        if !self.follow(leader) {
            return;
        }
        let index = meta.last_index;
        if index <= self.commit_index {
            // Everything it covers is committed here, and committed entries match every later
            // leader's log: nothing to install.
            self.incoming = None;
            let match_index = self.leader_verified_index.max(self.commit_index);
            let outcome = SnapshotOutcome::Done { match_index };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        if self.log.term_at(index) == Some(meta.last_term) {
            // Figure 13 rule 6: the snapshot's last entry is in our log, so (log matching) is
            // everything before it. It is committed on the leader: commit and apply it from
            // our own log, and keep the entries after it.
            self.incoming = None;
            self.leader_verified_index = self.leader_verified_index.max(index);
            self.commit_index = index;
            self.apply_committed(out);
            let outcome = SnapshotOutcome::Done {
                match_index: self.leader_verified_index,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        if size > self.config.max_snapshot_bytes {
            // More than this node may hold: drop the transfer and what it held, unanswered (the
            // leader's own bound keeps a leader of a uniformly configured cluster from ever
            // taking such a snapshot).
            self.incoming = None;
            return;
        }
        let continues = self.incoming.as_ref().is_some_and(|incoming| {
            incoming.term == self.term && incoming.meta == meta && incoming.size == size
        });
        if offset == 0 && !continues {
            self.incoming = Some(Box::new(Incoming {
                term: self.term,
                meta,
                size,
                data: Vec::new(),
            }));
        }
        let Some(incoming) = self.incoming.as_mut().filter(|_| offset == 0 || continues) else {
            // A later chunk of a transfer we do not hold: ask for it from the start.
            let outcome = SnapshotOutcome::Receiving {
                next_offset: 0,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        };
        let held = incoming.data.len() as u64;
        if offset != held {
            // Out of order (a chunk was lost or reordered): ask for the next one we can use.
            let outcome = SnapshotOutcome::Receiving {
                next_offset: held,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        // Well formed: `offset + data.len() <= size`, so the buffer never holds more than the
        // declared size, which is within `max_snapshot_bytes`. It grows by doubling, but never
        // past the declared size.
        let needed = incoming.data.len() + data.len();
        if needed > incoming.data.capacity() {
            let target = needed.max(2 * incoming.data.capacity()).min(size as usize);
            incoming.data.reserve_exact(target - incoming.data.len());
        }
        incoming.data.extend_from_slice(&data);
        if (incoming.data.len() as u64) < incoming.size {
            let next_offset = incoming.data.len() as u64;
            let outcome = SnapshotOutcome::Receiving {
                next_offset,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        let Incoming { meta, data, .. } = *self.incoming.take().expect("checked above");
        self.install_snapshot(Snapshot { meta, data }, out);
        let outcome = SnapshotOutcome::Done { match_index: index };
        self.send_snapshot_response(leader, index, outcome, out);
    }

    /// Figure 13 rules 7 and 8: the snapshot replaces the whole log and the state machine.
    #[cold]
    #[inline(never)]
    fn install_snapshot(&mut self, snapshot: Snapshot, out: &mut Vec<Action<C>>) {
        let (index, term) = (snapshot.meta.last_index, snapshot.meta.last_term);
        debug_assert!(index > self.commit_index);
        self.log.reset(index, term);
        self.commit_index = index;
        self.applied_index = index;
        self.leader_verified_index = index;
        let snapshot = Arc::new(snapshot);
        self.snapshot = Some(Arc::clone(&snapshot));
        out.push(Action::InstallSnapshot(snapshot));
    }

    fn send_snapshot_response(
        &self,
        leader: NodeId,
        snapshot_index: LogIndex,
        outcome: SnapshotOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let message = Message::InstallSnapshotResponse {
            term: self.term,
            snapshot_index,
            outcome,
        };
        self.send(leader, message, out);
    }

    /// Figure 2 receiver rule 2: the log has no entry at `prev_log_index` with
    /// `prev_log_term`. The answer carries the conflict hint of §5.3: our largest index at or
    /// below the rejected one whose term is at most the leader's term there.
    fn reject_append(
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
    fn store_entries(&mut self, mut entries: Entries<C>, out: &mut Vec<Action<C>>) -> bool {
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
        if first_index <= self.log.last_index() {
            self.log.truncate_from(first_index);
            // Cannot happen for a leader whose log only grows; kept true regardless.
            self.leader_verified_index = self.leader_verified_index.min(first_index - 1);
        }
        self.log.extend_from_slice(new_entries);
        // Persist the message's own entries rather than a copy (usually every one is new).
        entries.remove_first(first_new);
        self.push_persist(Persist::Entries(entries), out);
        true
    }

    /// The position in `entries` of the first entry that is not already in our log with the
    /// same term; entries at or below commit are taken as present.
    fn find_first_new(&self, entries: &[Entry<C>]) -> Option<usize> {
        if entries.first()?.index > self.log.last_index() {
            return Some(0); // The usual case: all of them follow our log (they are contiguous).
        }
        entries.iter().position(|entry| {
            entry.index > self.commit_index && self.log.term_at(entry.index) != Some(entry.term)
        })
    }

    fn send_append_response(
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

    /// Figure 2, leaders: "If successful: update nextIndex and matchIndex for follower. If
    /// AppendEntries fails because of log inconsistency: decrement nextIndex and retry".
    #[inline(always)]
    fn handle_append_response(
        &mut self,
        from: NodeId,
        outcome: AppendOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let Some(slot) = self.peer_slot(from) else {
            return;
        };
        self.progress[slot].heard = true;
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
    fn handle_accepted(&mut self, slot: usize, match_index: LogIndex, out: &mut Vec<Action<C>>) {
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
            self.maybe_commit(out);
        }
        let progress = &self.progress[slot];
        if progress.catching_up && progress.match_index >= self.compaction_target() {
            self.progress[slot].catching_up = false;
            self.compact();
        }
        self.send_entries(slot, out);
        self.maybe_send_commit(slot, out);
    }

    /// Figure 13 on the leader's side: a chunk was acknowledged (more may go), or the transfer
    /// is over.
    #[cold]
    #[inline(never)]
    fn handle_snapshot_response(
        &mut self,
        from: NodeId,
        snapshot_index: LogIndex,
        outcome: SnapshotOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let Some(slot) = self.peer_slot(from) else {
            return;
        };
        self.progress[slot].heard = true;
        match outcome {
            SnapshotOutcome::Done { match_index } => self.handle_accepted(slot, match_index, out),
            SnapshotOutcome::Receiving {
                next_offset,
                answered_offset,
            } => {
                let Some(transfer) = self.progress[slot].transfer.as_mut() else {
                    return;
                };
                let size = transfer.snapshot.data.len() as u64;
                if transfer.index() != snapshot_index || next_offset > size {
                    return;
                }
                if next_offset <= transfer.acked {
                    // No news, unless the answer shows a gap: the chunk it answers came after
                    // bytes the follower lacks. Either they were lost: send again from there,
                    // once per window (further answers to the window show the same gap) or, if
                    // the resent chunks made no progress by the next heartbeat, once more on
                    // the answer to its probe. Or the follower holds less than it acknowledged,
                    // answering a chunk at or past that (it restarted): from where it is.
                    let fresh = transfer.acked >= transfer.recover || transfer.probed_since_resend;
                    let lost =
                        next_offset == transfer.acked && transfer.sent > transfer.acked && fresh;
                    let forgotten =
                        next_offset < transfer.acked && answered_offset >= transfer.acked;
                    if answered_offset > next_offset && (lost || forgotten) {
                        transfer.recover = transfer.sent;
                        transfer.probed_since_resend = false;
                        transfer.restart_from(next_offset);
                        self.send_chunks(slot, out);
                    }
                    return;
                }
                transfer.acked = next_offset;
                if next_offset > transfer.sent {
                    // The follower kept more of this very snapshot from an earlier transfer
                    // of ours in this term (one leader, one snapshot per index): resume there.
                    transfer.sent = next_offset;
                    transfer.final_sent = false;
                }
                transfer.stalled_heartbeats = 0;
                self.send_chunks(slot, out);
            }
        }
    }

    /// Starts sending the latest snapshot to `slot`, whose next entry was compacted away.
    /// Returns true if a chunk was sent.
    #[cold]
    #[inline(never)]
    fn start_transfer(&mut self, slot: usize, out: &mut Vec<Action<C>>) -> bool {
        let Some(snapshot) = self.snapshot.clone() else {
            debug_assert!(false, "a compacted log always has a snapshot");
            return false;
        };
        if !self.progress[slot].heard_recently() {
            // No snapshot to a follower that has not answered lately: its next answer to a
            // probe starts the transfer.
            return false;
        }
        self.progress[slot].become_snapshot(snapshot);
        self.send_chunks(slot, out);
        true
    }

    /// Sends the next chunks of the transfer to `slot`, up to the bound in flight.
    fn send_chunks(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let max_inflight = self.config.max_inflight_snapshot_chunks as u64;
        self.send_chunks_up_to(slot, max_inflight, out);
    }

    /// Sends the next chunks of the transfer to `slot` while fewer than `max_inflight` are
    /// unacknowledged.
    fn send_chunks_up_to(&mut self, slot: usize, max_inflight: u64, out: &mut Vec<Action<C>>) {
        let chunk = self.config.snapshot_chunk_bytes;
        let progress = &mut self.progress[slot];
        let to = progress.id;
        let Some(transfer) = progress.transfer.as_mut() else {
            return;
        };
        let size = transfer.snapshot.data.len() as u64;
        while !transfer.final_sent
            && (transfer.sent - transfer.acked).div_ceil(chunk) < max_inflight
        {
            let offset = transfer.sent;
            let end = size.min(offset.saturating_add(chunk));
            // Both within the data: `offset <= end <= size`, and `size` came from a length.
            let data = transfer.snapshot.data[offset as usize..end as usize].to_vec();
            transfer.sent = end;
            transfer.final_sent = end == size;
            let message = Message::InstallSnapshot {
                term: self.term,
                chunk: Box::new(SnapshotChunk {
                    meta: transfer.snapshot.meta.clone(),
                    size,
                    offset,
                    data,
                }),
            };
            out.push(Action::Send { to, message });
        }
    }

    /// A heartbeat interval passed during a transfer to `slot`. If no chunk was acknowledged
    /// since the last one, a chunk without data from the end of what was sent asks the
    /// follower where it is; its answer sends again what it lacks. After more than
    /// `SNAPSHOT_STALL_LIMIT` intervals in a row in which the follower did not answer at all
    /// (or four times as many without progress, whatever the answers), the transfer is
    /// dropped, releasing what it held back from compaction, and the follower is probed again.
    #[cold]
    #[inline(never)]
    fn snapshot_heartbeat(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let progress = &mut self.progress[slot];
        let silent = progress.silent_heartbeats > SNAPSHOT_STALL_LIMIT;
        let Some(transfer) = progress.transfer.as_mut() else {
            return;
        };
        let moved = transfer.acked != transfer.acked_at_heartbeat;
        transfer.acked_at_heartbeat = transfer.acked;
        if moved {
            transfer.stalled_heartbeats = 0;
            return;
        }
        transfer.stalled_heartbeats += 1;
        if silent || transfer.stalled_heartbeats > 4 * SNAPSHOT_STALL_LIMIT {
            let next_index = progress.match_index + 1;
            progress.become_probe(next_index);
            self.compact();
            self.send_probe(slot, out);
            return;
        }
        transfer.probed_since_resend = true;
        let message = Message::InstallSnapshot {
            term: self.term,
            chunk: Box::new(SnapshotChunk {
                meta: transfer.snapshot.meta.clone(),
                size: transfer.snapshot.data.len() as u64,
                offset: transfer.sent,
                data: Vec::new(),
            }),
        };
        let to = progress.id;
        out.push(Action::Send { to, message });
    }

    // ----- snapshots and compaction -----

    /// The host snapshotted its state machine up to `index` (an `Event::SnapshotTaken`).
    #[cold]
    #[inline(never)]
    fn take_snapshot(&mut self, index: LogIndex, data: Vec<u8>, out: &mut Vec<Action<C>>) {
        if index > self.applied_index {
            let error = SnapshotError::NotApplied {
                index,
                applied: self.applied_index,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let snapshot_index = self.snapshot_index();
        if index <= snapshot_index {
            let error = SnapshotError::NotNewer {
                index,
                snapshot_index,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let size_bytes = data.len() as u64;
        if size_bytes > self.config.max_snapshot_bytes {
            // A follower configured like this node could never receive it.
            let error = SnapshotError::TooLarge {
                size_bytes,
                limit: self.config.max_snapshot_bytes,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let last_term = self
            .log
            .term_at(index)
            .expect("entries after the snapshot up to the applied index are held");
        let meta = SnapshotMeta {
            last_index: index,
            last_term,
            voters: self.config.voters.clone(),
        };
        self.snapshot = Some(Arc::new(Snapshot {
            meta: meta.clone(),
            data,
        }));
        self.push_persist(Persist::Snapshot(meta), out);
        self.compact();
    }

    /// Drops the entries the latest snapshot covers, but for the last
    /// `snapshot_trailing_entries` of them, and never past a snapshot still being sent to a
    /// follower, nor past the match of a follower catching up after one: its catch-up
    /// continues by entries from that snapshot's index, so a follower is never sent snapshot
    /// after snapshot while the leader keeps compacting.
    fn compact(&mut self) {
        let mut target = self.compaction_target();
        for progress in &self.progress {
            if let Some(transfer) = &progress.transfer {
                target = target.min(transfer.index());
            }
            if progress.catching_up {
                target = target.min(progress.match_index);
            }
        }
        self.log.compact_to(target);
    }

    /// How far the log may be compacted when no follower holds it back: the latest
    /// snapshot's index less the trailing entries (0 without a snapshot).
    fn compaction_target(&self) -> LogIndex {
        self.snapshot.as_ref().map_or(0, |snapshot| {
            snapshot
                .meta
                .last_index
                .saturating_sub(self.config.snapshot_trailing_entries)
        })
    }

    /// Moves `next_index` back after a rejection. A rejection is matched to the append it
    /// answers and ignored if stale, so next never drops to or below match (tikv/raft-rs
    /// #555). Returns true if the follower should be probed now.
    fn handle_rejection(
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

    // ----- leader: proposals and replication -----

    fn propose(&mut self, command: C, out: &mut Vec<Action<C>>) {
        if let Some(error) = self.refuse_proposal(1, std::iter::once(&command)) {
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
    fn propose_batch(&mut self, commands: Vec<C>, out: &mut Vec<Action<C>>) {
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
    fn refuse_proposal<'a>(
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
    fn replicate_new_entries(&mut self, out: &mut Vec<Action<C>>) {
        for slot in 0..self.progress.len() {
            self.send_entries(slot, out);
        }
        if self.progress.is_empty() {
            // A single voter commits alone. With peers, the leader's own last index is the
            // largest match, and raising it never raises the majority's.
            self.maybe_commit(out);
        }
    }

    /// Appends an entry of the current term to the leader's log and persists it. Returns its
    /// index.
    #[inline(always)]
    fn append_to_own_log(&mut self, payload: Payload<C>, out: &mut Vec<Action<C>>) -> LogIndex {
        let index = self.log.last_index() + 1;
        let entry = Entry {
            term: self.term,
            index,
            payload,
        };
        self.log.push(entry.clone());
        self.push_persist(Persist::Entries(Entries::one(entry)), out);
        index
    }

    /// Sends new entries to `slot` while its progress allows: one probe, or a pipeline up to
    /// the inflight bound.
    fn send_entries(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
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
    fn send_append(&mut self, slot: usize, allow_empty: bool, out: &mut Vec<Action<C>>) -> bool {
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
    fn send_heartbeat(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let prev_log_index = self.known_match(slot);
        self.push_append(slot, prev_log_index, Entries::new(), out);
    }

    /// Where heartbeats and commit notices to `slot` start: its match index, or if compaction
    /// passed that index, the first index whose term the leader still knows.
    fn known_match(&self, slot: usize) -> LogIndex {
        self.progress[slot].match_index.max(self.log.base_index())
    }

    #[inline(always)]
    fn push_append(
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
    fn maybe_send_commit(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
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
    fn broadcast_heartbeat(&mut self, out: &mut Vec<Action<C>>) {
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
    fn send_tail_probe(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
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
    fn send_probe(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
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
    fn maybe_commit(&mut self, out: &mut Vec<Action<C>>) {
        let last_index = self.log.last_index();
        let candidate = if self.progress.len() < quorum::SMALL {
            let mut matches = [0; quorum::SMALL];
            let voters = self.progress.len() + 1;
            for (slot, progress) in matches.iter_mut().zip(&self.progress) {
                *slot = progress.match_index;
            }
            matches[voters - 1] = last_index;
            quorum::committed_index(&mut matches[..voters])
        } else {
            let mut matches: Vec<LogIndex> = self.progress.iter().map(|p| p.match_index).collect();
            matches.push(last_index);
            quorum::committed_index(&mut matches)
        };
        if candidate <= self.commit_index || self.log.term_at(candidate) != Some(self.term) {
            return;
        }
        self.commit_index = candidate;
        self.apply_committed(out);
        for slot in 0..self.progress.len() {
            self.maybe_send_commit(slot, out);
        }
    }

    // ----- output helpers -----

    /// Figure 2, all servers: "If commitIndex > lastApplied: apply log[lastApplied+1..]".
    #[inline(always)]
    fn apply_committed(&mut self, out: &mut Vec<Action<C>>) {
        if self.commit_index <= self.applied_index {
            return;
        }
        let entries =
            Entries::from_slice(self.log.slice(self.applied_index + 1, self.commit_index));
        debug_assert_eq!(
            entries.len() as LogIndex,
            self.commit_index - self.applied_index
        );
        self.applied_index = self.commit_index;
        out.push(Action::Apply(entries));
    }

    fn send(&self, to: NodeId, message: Message<C>, out: &mut Vec<Action<C>>) {
        debug_assert!(
            message.term() <= self.term,
            "a message never carries a future term"
        );
        out.push(Action::Send { to, message });
    }

    /// Persists the current term and vote. Within one step a second hard-state write replaces
    /// a first one that nothing has followed yet, so a term change and a vote cost one write.
    fn persist_hard_state(&mut self, out: &mut Vec<Action<C>>) {
        let hard_state = self.hard_state();
        if out.len() > self.step_start {
            if let Some(Action::Persist(Persist::HardState(last))) = out.last_mut() {
                *last = hard_state;
                return;
            }
        }
        self.push_persist(Persist::HardState(hard_state), out);
    }

    fn push_persist(&mut self, persist: Persist<C>, out: &mut Vec<Action<C>>) {
        out.push(Action::Persist(persist));
    }

    fn peer_slot(&self, peer: NodeId) -> Option<usize> {
        self.progress
            .iter()
            .position(|progress| progress.id == peer)
    }

    /// True if `id` is a voter other than this node.
    fn is_peer(&self, id: NodeId) -> bool {
        id != self.config.id && self.config.voters.contains(&id)
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
                debug_assert_eq!(self.progress.len(), self.config.voters.len() - 1);
                for progress in &self.progress {
                    progress.check(self.log.last_index());
                }
            }
            Role::Candidate => {
                debug_assert_eq!(self.vote, Some(self.config.id));
                debug_assert!(self.progress.is_empty());
            }
            Role::Follower => debug_assert!(self.progress.is_empty()),
        }
    }
}

/// Checks what a message claims against itself, before anything acts on it: its term is at
/// most `TERM_MAX`, a log's terms never exceed its sender's term (correctness.md §1.9), and an
/// append's entries are contiguous from `prev_log_index + 1` with non-decreasing terms.
fn is_well_formed<C>(message: &Message<C>) -> bool {
    if message.term() > TERM_MAX {
        return false;
    }
    match message {
        Message::RequestVote {
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
        // A snapshot covers at least one entry, of a term no later than the sender's; its
        // chunk fits in the offsets.
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
                && offset
                    .checked_add(data.len() as u64)
                    .is_some_and(|end| end <= *size)
        }
        Message::Commit {
            term, match_term, ..
        } => match_term <= term,
        Message::RequestVoteResponse { .. }
        | Message::AppendEntriesResponse { .. }
        | Message::InstallSnapshotResponse { .. } => true,
    }
}

/// Checks an append as a whole: entries contiguous from `prev_log_index + 1`, terms
/// non-decreasing from `prev_log_term` and never above the message's term.
fn is_well_formed_append<C>(
    term: Term,
    prev_log_index: LogIndex,
    prev_log_term: Term,
    entries: &[Entry<C>],
) -> bool {
    if prev_log_term > term {
        return false;
    }
    let mut previous_term = prev_log_term;
    let mut expected_index = prev_log_index;
    for entry in entries {
        let Some(index) = expected_index.checked_add(1) else {
            return false;
        };
        if entry.index != index || entry.term < previous_term || entry.term > term {
            return false;
        }
        expected_index = index;
        previous_term = entry.term;
    }
    true
}

fn validate_restored<C>(restored: &Restored<C>, config: &Config) -> Result<(), RestoreError> {
    let current_term = restored.hard_state.term;
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
            if !same_voters(&meta.voters, &config.voters) {
                return Err(RestoreError::SnapshotVotersDiffer {
                    snapshot: meta.voters.clone(),
                });
            }
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
