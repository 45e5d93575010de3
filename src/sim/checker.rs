//! The invariant checker: ghost state over the whole run, checked after every step and on
//! every action a node emits (ARCHITECTURE.md §3, correctness.md §1).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

use crate::membership::Membership;
use crate::message::{AppendOutcome, Message, SnapshotOutcome};
use crate::types::{Entry, HardState, LogIndex, NodeId, Payload, Role, Term};
use crate::Raft;

/// A stored or in-memory log that may start after a snapshot: entries after (`base`,
/// `base_term`).
#[derive(Debug)]
pub(crate) struct LogView<'a, C> {
    pub(crate) base: LogIndex,
    pub(crate) base_term: Term,
    pub(crate) entries: &'a [Entry<C>],
}

// By hand: a view is a copy of a reference, whatever `C` is.
impl<C> Clone for LogView<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for LogView<'_, C> {}

impl<'a, C> LogView<'a, C> {
    pub(crate) fn last_index(&self) -> LogIndex {
        self.base + self.entries.len() as LogIndex
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    /// The entry at `index`, if held after the base.
    pub(crate) fn get(&self, index: LogIndex) -> Option<&'a Entry<C>> {
        let offset = index.checked_sub(self.base + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// The term at `index`: the base's, or a held entry's.
    pub(crate) fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.base {
            return Some(self.base_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// True if the view holds (`index`, `term`), or covers `index` by its snapshot (every
    /// index at or below the base is committed, so it holds the committed entry there).
    pub(crate) fn holds(&self, index: LogIndex, term: Term) -> bool {
        index < self.base || self.term_at(index) == Some(term)
    }
}

/// The state of the simulated state machine after applying `entry` to a state `previous`: a
/// hash chain, so equal states mean equal histories.
pub(crate) fn chain<C: Hash>(previous: u64, entry: &Entry<C>) -> u64 {
    let mut hasher = DefaultHasher::new();
    previous.hash(&mut hasher);
    entry.index.hash(&mut hasher);
    entry.term.hash(&mut hasher);
    entry.payload.hash(&mut hasher);
    hasher.finish()
}

/// What the checker remembers of one node between steps.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeGhost {
    /// Role and term after the previous step of this incarnation (`None` after a restart).
    pub(crate) last_role: Option<(Role, Term)>,
    /// The leader's last index and its term after the previous step, while leading.
    pub(crate) leader_tail: Option<(LogIndex, Term)>,
    /// Commit index after the previous step of this incarnation.
    pub(crate) commit_index: LogIndex,
    /// The highest index this incarnation applied.
    pub(crate) applied_index: LogIndex,
    /// The highest index this node ever applied, in any incarnation: those entries are
    /// committed and every leader it can still accept holds them (Leader Completeness), so
    /// it never replaces one.
    pub(crate) applied_max: LogIndex,
    /// The highest term this node ever persisted or sent a message in: what it did in a term
    /// binds it, so it never goes back below it, across restarts too. (A term it raised in
    /// memory and crashed before persisting may be lost: nothing depended on it.)
    pub(crate) term_max: Term,
    /// While leading: each peer's match index after the previous step, in this term.
    pub(crate) leader_matches: Vec<(NodeId, LogIndex)>,
    /// The highest term in which this node was seen sending a leader's messages.
    pub(crate) led_term: Term,
    /// The highest commit index this node reported in a leader's message.
    pub(crate) commit_reported: LogIndex,
    /// The configuration entries of its durable log after its base, in index order, kept as
    /// its `Persist` actions and installs write it.
    pub(crate) durable_configs: Vec<(LogIndex, Membership)>,
    /// Started empty to join: no configuration at index 0 (the founders' is theirs only).
    pub(crate) joined: bool,
}

/// The ghost state of correctness.md §1. It judges what nodes did, the actions their hosts
/// carried out, with its own arithmetic; the node's getters serve only as extra checks of
/// its own bookkeeping.
#[derive(Debug)]
pub(crate) struct Checker<C> {
    /// The founding voters: the configuration before any configuration entry.
    bootstrap: Membership,
    /// The committed configuration entries, in index order.
    configs: Vec<(LogIndex, Membership)>,
    /// Election safety: the node seen sending a leader's messages (AppendEntries, Commit,
    /// InstallSnapshot) in each term.
    leaders: HashMap<Term, NodeId>,
    /// Log matching: the first (payload, previous term) ever written at (index, term).
    written: HashMap<(LogIndex, Term), (Payload<C>, Term)>,
    /// Committed (and so applied) entries, `committed[i - 1]` for index i.
    committed: Vec<(Term, Payload<C>)>,
    /// For each committed entry, the term of the first node seen applying it: an upper bound
    /// on the term in which it was committed (the committing leader applies first).
    commit_terms: Vec<Term>,
    /// The state machine's state after each committed entry (`chain`), index i at i - 1.
    states: Vec<u64>,
    /// One vote per term across restarts: the candidate each (voter, term) granted.
    grants: HashMap<(NodeId, Term), NodeId>,
    pub(crate) nodes: HashMap<NodeId, NodeGhost>,
    /// Linearizable reads: for each read a host asked of a node and that is not answered yet,
    /// the highest index the checker had seen committed when it was asked. Every write
    /// committed before a read is asked must be in what it reads: its read index may not be
    /// below that.
    reads: HashMap<(NodeId, u64), LogIndex>,
    /// With asynchronous persistence, a leader may report a commit before it applies it, and
    /// a follower may then apply first: the highest commit index a leader reported and the
    /// checker found on the disks of a quorum of that leader's configuration then. A first
    /// apply at or below it was judged there; the applier's own configuration may lag the
    /// leader's (a removal appended after it), so it is not judged again by that.
    vouched: LogIndex,
    /// The nodes write entries asynchronously (`Config::async_persistence`): a leader may
    /// apply an entry some time after it committed it, under a configuration appended since.
    pub(crate) async_writes: bool,
    /// How many checks ran.
    pub(crate) checks: u64,
}

/// What the checker sees of a message's sender as the message leaves: its durable hard
/// state, the log its `Persist` actions wrote (`written`), what of it is on its disk
/// (`disk`: the same with synchronous persistence) and, with asynchronous persistence, for a
/// message that reports a commit, every node's disk (`disks`, node `i`'s at `i - 1`; empty
/// otherwise).
pub(crate) struct SenderView<'a, C> {
    pub(crate) hard_state: HardState,
    pub(crate) written: LogView<'a, C>,
    pub(crate) disk: LogView<'a, C>,
    pub(crate) disks: &'a [LogView<'a, C>],
}

/// What the checker sees of a leader's peer: its id, its term if it is up, its durable log.
pub(crate) struct PeerView<'a, C> {
    pub(crate) id: NodeId,
    pub(crate) term: Option<Term>,
    pub(crate) durable: LogView<'a, C>,
}

/// A violated invariant, described.
pub(crate) type Violation = String;

impl<C: Clone + Debug + Eq> Checker<C> {
    pub(crate) fn new(bootstrap: Membership) -> Self {
        let nodes = bootstrap
            .voters
            .iter()
            .map(|&id| (id, NodeGhost::default()))
            .collect();
        Checker {
            bootstrap,
            configs: Vec::new(),
            leaders: HashMap::new(),
            written: HashMap::new(),
            committed: Vec::new(),
            commit_terms: Vec::new(),
            states: Vec::new(),
            grants: HashMap::new(),
            nodes,
            reads: HashMap::new(),
            vouched: 0,
            async_writes: false,
            checks: 0,
        }
    }

    /// The configuration in force at `index` by the committed entries, and the index of its
    /// entry: the latest committed configuration entry at or below `index`, or the founding
    /// voters (index 0). Meaningful for `index` up to the highest committed.
    pub(crate) fn membership_at(&self, index: LogIndex) -> (LogIndex, Membership) {
        let after = self.configs.partition_point(|(at, _)| *at <= index);
        match after.checked_sub(1) {
            Some(position) => self.configs[position].clone(),
            None => (0, self.bootstrap.clone()),
        }
    }

    /// The committed configuration entries so far, in index order.
    pub(crate) fn committed_configs(&self) -> &[(LogIndex, Membership)] {
        &self.configs
    }

    /// The configuration a node's durable log holds last: its latest configuration entry, or
    /// the committed one at its base.
    fn durable_membership(&self, id: NodeId, base: LogIndex) -> (LogIndex, Membership) {
        self.durable_membership_at(id, base, LogIndex::MAX)
    }

    /// The configuration a node's durable log puts in force at `index`: its latest
    /// configuration entry at or below `index`, or the committed one at its base.
    fn durable_membership_at(
        &self,
        id: NodeId,
        base: LogIndex,
        index: LogIndex,
    ) -> (LogIndex, Membership) {
        let ghost = self.nodes.get(&id);
        let latest = ghost.and_then(|ghost| {
            let configs = &ghost.durable_configs;
            configs[..configs.partition_point(|(at, _)| *at <= index)].last()
        });
        match latest {
            Some(latest) => latest.clone(),
            None if base == 0 && ghost.is_some_and(|ghost| ghost.joined) => {
                (0, Membership::default())
            }
            None => self.membership_at(base),
        }
    }

    /// True if the latest configuration entry in `node`'s durable log names `id`.
    pub(crate) fn durably_names(&self, node: NodeId, id: NodeId) -> bool {
        self.nodes
            .get(&node)
            .and_then(|ghost| ghost.durable_configs.last())
            .is_some_and(|(_, membership)| membership.contains(id))
    }

    /// The host asked node `id` for read `context`.
    pub(crate) fn on_read_asked(&mut self, id: NodeId, context: u64) -> Result<(), Violation> {
        let committed = self.committed.len() as LogIndex;
        match self.reads.insert((id, context), committed) {
            None => Ok(()),
            Some(_) => Err(format!("read {context} asked of node {id} twice")),
        }
    }

    /// Node `id` answered read `context` with a read index (`Some`) or a failure (`None`):
    /// it must be a read asked of it and not answered yet, and a read index must cover every
    /// entry committed before the read was asked (no stale read).
    pub(crate) fn on_read_answered(
        &mut self,
        id: NodeId,
        context: u64,
        index: Option<LogIndex>,
    ) -> Result<(), Violation> {
        self.checks += 1;
        let Some(committed_when_asked) = self.reads.remove(&(id, context)) else {
            return Err(format!(
                "node {id} answered read {context}, not asked of it or answered already"
            ));
        };
        match index {
            Some(index) if index < committed_when_asked => Err(format!(
                "stale read: node {id} gave read {context} index {index}, but index \
                 {committed_when_asked} was committed before it was asked"
            )),
            _ => Ok(()),
        }
    }

    /// Node `id` went down: the reads asked of it die with its host's requests.
    pub(crate) fn on_down(&mut self, id: NodeId) {
        self.reads.retain(|&(node, _), _| node != id);
    }

    /// Node `id` crashed with entry writes in flight, some of them lost: what its actions
    /// wrote is now `disk`, and so are the configuration entries of its log.
    pub(crate) fn on_writes_lost(&mut self, id: NodeId, disk: LogView<'_, C>) {
        let ghost = self.nodes.entry(id).or_default();
        ghost.durable_configs.clear();
        for entry in disk.entries {
            if let Some(membership) = entry.payload.as_membership() {
                ghost
                    .durable_configs
                    .push((entry.index, membership.clone()));
            }
        }
    }

    /// Node `id` was started empty, to join the cluster.
    pub(crate) fn joined(&mut self, id: NodeId) {
        self.nodes.entry(id).or_default().joined = true;
    }

    /// True if (`index`, `term`) is durable on a majority of `membership`'s voters and, while
    /// joint, of its outgoing voters (thesis §4.3). `logs` holds node `i`'s log at `i - 1`.
    fn durable_on_quorum(
        membership: &Membership,
        logs: &[LogView<'_, C>],
        index: LogIndex,
        term: Term,
    ) -> bool {
        let majority = |voters: &[NodeId]| {
            let holding = voters
                .iter()
                .filter(|&&voter| {
                    let log = usize::try_from(voter)
                        .ok()
                        .and_then(|id| id.checked_sub(1))
                        .and_then(|position| logs.get(position));
                    log.is_some_and(|log| log.holds(index, term))
                })
                .count();
            2 * holding > voters.len()
        };
        majority(&membership.voters)
            && (membership.outgoing.is_empty() || majority(&membership.outgoing))
    }

    /// A snapshot's configuration must be the one the committed entries put in force at its
    /// index ("every node's configuration is one the log made").
    pub(crate) fn check_snapshot_membership(
        &mut self,
        id: NodeId,
        meta: &crate::types::SnapshotMeta,
    ) -> Result<(), Violation> {
        self.checks += 1;
        let (index, membership) = self.membership_at(meta.last_index);
        if meta.membership != membership || meta.membership_index != index {
            return Err(format!(
                "node {id} holds a snapshot at {} with configuration {:?} (entry {}), the \
                 committed log makes {membership:?} (entry {index})",
                meta.last_index, meta.membership, meta.membership_index
            ));
        }
        Ok(())
    }

    /// Node `id`'s durable log now starts after `base` (a snapshot it took or installed):
    /// configuration entries at or below it are gone from it; all of them if `cleared`.
    pub(crate) fn on_durable_base(&mut self, id: NodeId, base: LogIndex, cleared: bool) {
        let ghost = self.nodes.entry(id).or_default();
        if cleared {
            ghost.durable_configs.clear();
        } else {
            ghost.durable_configs.retain(|(at, _)| *at > base);
        }
    }

    /// After a step with nothing left to carry out, the configuration the node uses is the
    /// one its log made (thesis §4.1): its latest configuration entry, or the committed one at
    /// its base.
    pub(crate) fn check_membership(
        &mut self,
        raft: &Raft<C>,
        durable_base: LogIndex,
    ) -> Result<(), Violation>
    where
        C: crate::Command,
    {
        self.checks += 1;
        let id = raft.id();
        let (index, membership) = self.durable_membership(id, durable_base);
        if raft.membership() != &membership || raft.membership_index() != index {
            return Err(format!(
                "node {id} uses configuration {:?} (entry {}), its log makes {membership:?} \
                 (entry {index})",
                raft.membership(),
                raft.membership_index()
            ));
        }
        Ok(())
    }

    /// The committed entries seen so far (index i at position i - 1).
    pub(crate) fn committed(&self) -> &[(Term, Payload<C>)] {
        &self.committed
    }

    /// The state after applying every committed entry up to `index` (0: the empty state).
    pub(crate) fn state_at(&self, index: LogIndex) -> Option<u64> {
        match index {
            0 => Some(0),
            _ => self.states.get(usize::try_from(index - 1).ok()?).copied(),
        }
    }

    /// A node restarted, its state machine restored from its snapshot at `snapshot_index`
    /// (0 without one): its volatile ghost state starts over; durable facts stay.
    pub(crate) fn restarted(&mut self, id: NodeId, snapshot_index: LogIndex) {
        let ghost = self.nodes.entry(id).or_default();
        ghost.last_role = None;
        ghost.leader_tail = None;
        ghost.leader_matches.clear();
        ghost.commit_index = 0;
        ghost.applied_index = snapshot_index;
    }

    /// How many of `logs` durably hold (`index`, `term`) or cover it by their snapshot.
    fn holding(logs: &[LogView<'_, C>], index: LogIndex, term: Term) -> usize {
        logs.iter().filter(|log| log.holds(index, term)).count()
    }

    /// A snapshot's state must be what the committed entries it covers produce (checked when
    /// a node takes one, installs one, or restarts from one).
    pub(crate) fn check_snapshot_state(
        &mut self,
        id: NodeId,
        index: LogIndex,
        state: u64,
    ) -> Result<(), Violation> {
        self.checks += 1;
        match self.state_at(index) {
            Some(expected) if expected == state => Ok(()),
            Some(_) => Err(format!(
                "node {id} holds a snapshot at {index} whose state differs from the committed \
                 entries'"
            )),
            None => Err(format!(
                "node {id} holds a snapshot at {index}, past the {} entries ever committed",
                self.states.len()
            )),
        }
    }

    /// A follower installed a snapshot at `index` with `state`: its applied index jumps
    /// forward, never back, and its state is the committed one.
    pub(crate) fn on_install(
        &mut self,
        id: NodeId,
        index: LogIndex,
        state: u64,
    ) -> Result<(), Violation> {
        self.check_snapshot_state(id, index, state)?;
        let ghost = self.nodes.entry(id).or_default();
        if index <= ghost.applied_index {
            return Err(format!(
                "node {id} installed a snapshot at {index} after applying {}: applied went back",
                ghost.applied_index
            ));
        }
        ghost.applied_index = index;
        ghost.applied_max = ghost.applied_max.max(index);
        Ok(())
    }

    /// Durability (§3.6): term never goes backwards across restarts; within a term the vote is
    /// set once and never changed.
    pub(crate) fn on_persist_hard_state(
        &mut self,
        id: NodeId,
        before: HardState,
        after: HardState,
    ) -> Result<(), Violation> {
        self.checks += 1;
        if after.term < before.term {
            return Err(format!(
                "node {id} persisted term {} after term {}",
                after.term, before.term
            ));
        }
        let ghost = self.nodes.entry(id).or_default();
        ghost.term_max = ghost.term_max.max(after.term);
        if after.term == before.term && before.vote.is_some() && after.vote != before.vote {
            return Err(format!(
                "node {id} changed its durable vote in term {} from {:?} to {:?}",
                after.term, before.vote, after.vote
            ));
        }
        Ok(())
    }

    /// Log matching (§3.3) and safe truncation (correctness.md §1.13) for one durable write.
    /// `durable` is the node's stored log before the write.
    pub(crate) fn on_persist_entries(
        &mut self,
        id: NodeId,
        durable: LogView<'_, C>,
        entries: &[Entry<C>],
    ) -> Result<(), Violation> {
        self.checks += 1;
        let Some(first) = entries.first() else {
            return Err(format!("node {id} persisted an empty batch"));
        };
        if first.index <= durable.base || first.index > durable.last_index() + 1 {
            return Err(format!(
                "node {id} persisted index {} with entries {}..={} stored: a gap or below its \
                 snapshot",
                first.index,
                durable.base + 1,
                durable.last_index()
            ));
        }
        for (offset, entry) in entries.iter().enumerate() {
            if entry.index != first.index + offset as LogIndex {
                return Err(format!("node {id} persisted a non-contiguous batch"));
            }
        }
        // Safe truncation: entries this write replaces must lie above every index this node
        // has applied, in any incarnation (judged from its `Apply` actions, which a batching
        // host may carry out long after the node committed). A stale minority node may lose
        // an entry committed elsewhere: that is legal, and leader completeness and state
        // machine safety catch any real loss.
        let applied_max = self.nodes.get(&id).map_or(0, |ghost| ghost.applied_max);
        let kept = (first.index - durable.base - 1) as usize;
        for old in &durable.entries[kept..] {
            let replacement = entries.get((old.index - first.index) as usize);
            let kept = replacement.is_some_and(|new| new.term == old.term);
            if !kept && old.index <= applied_max {
                return Err(format!(
                    "node {id} truncated entry {} (term {}) at or below the index {} it applied",
                    old.index, old.term, applied_max
                ));
            }
        }
        let mut previous_term = durable
            .term_at(first.index - 1)
            .expect("checked: the write continues the stored log");
        for entry in entries {
            if entry.term < previous_term {
                return Err(format!(
                    "node {id} persisted entry {} of term {} after term {previous_term}",
                    entry.index, entry.term
                ));
            }
            let seen = self
                .written
                .entry((entry.index, entry.term))
                .or_insert_with(|| (entry.payload.clone(), previous_term));
            if seen.0 != entry.payload || seen.1 != previous_term {
                return Err(format!(
                    "log matching: entry ({}, term {}) on node {id} is {:?} after term {}, \
                     first written as {:?} after term {}",
                    entry.index, entry.term, entry.payload, previous_term, seen.0, seen.1
                ));
            }
            previous_term = entry.term;
        }
        let ghost = self.nodes.entry(id).or_default();
        ghost.durable_configs.retain(|(at, _)| *at < first.index);
        for entry in entries {
            if let Some(membership) = entry.payload.as_membership() {
                ghost
                    .durable_configs
                    .push((entry.index, membership.clone()));
            }
        }
        Ok(())
    }

    /// Checks on a message as it leaves `id` (§3.6, correctness.md §1.9-10): its term is
    /// durable on the sender; a granted vote is durable and unique per term; an acknowledged
    /// prefix is on its disk (`disk_log`), and every entry sent was written by its `Persist`
    /// actions (`durable_log`: with asynchronous persistence, the write may still be in
    /// flight). A leader's message makes its sender the leader
    /// of its term (election safety, §3.1), and the first one of a term is where leader
    /// completeness (§3.4) is judged, on the sender's durable log. A commit index a leader
    /// reports must be one it applied, and the entry the checker saw committed there.
    pub(crate) fn on_send(
        &mut self,
        id: NodeId,
        to: NodeId,
        message: &Message<C>,
        sender: SenderView<'_, C>,
    ) -> Result<(), Violation> {
        let SenderView {
            hard_state: durable_hard_state,
            written: durable_log,
            disk: disk_log,
            disks,
        } = sender;
        self.checks += 1;
        let term = message.term();
        if term > durable_hard_state.term {
            return Err(format!(
                "node {id} sent a message of term {term} with term {} durable",
                durable_hard_state.term
            ));
        }
        let ghost = self.nodes.entry(id).or_default();
        ghost.term_max = ghost.term_max.max(term);
        match message {
            Message::AppendEntries {
                entries,
                leader_commit,
                ..
            } => {
                self.on_leader_message(id, term, durable_log)?;
                // The ordering rule: an entry leaves a node only once a `Persist` earlier in
                // its buffer made it durable there (or its durable snapshot covers it).
                if let Some(entry) = entries
                    .iter()
                    .find(|entry| !durable_log.holds(entry.index, entry.term))
                {
                    return Err(format!(
                        "node {id} sent entry {} (term {}) to {to} before it was durable",
                        entry.index, entry.term
                    ));
                }
                self.check_reported_commit(id, *leader_commit, durable_log, disks)?;
            }
            Message::Commit { leader_commit, .. } => {
                self.on_leader_message(id, term, durable_log)?;
                self.check_reported_commit(id, *leader_commit, durable_log, disks)?;
            }
            Message::InstallSnapshot { .. }
            | Message::TimeoutNow { .. }
            | Message::LeaderCheck { .. } => self.on_leader_message(id, term, durable_log)?,
            // Thesis §9.6: a pre-vote raises no term, so what it sends carries the durable one.
            Message::PreVote { term, .. } | Message::PreVoteResponse { term, .. }
                if *term != durable_hard_state.term =>
            {
                return Err(format!(
                    "node {id} sent a pre-vote message of term {term} with term {} durable",
                    durable_hard_state.term
                ));
            }
            Message::RequestVoteResponse {
                term,
                vote_granted: true,
            } => {
                if durable_hard_state.term != *term || durable_hard_state.vote != Some(to) {
                    return Err(format!(
                        "node {id} granted its term-{term} vote to {to} before persisting it \
                         (durable: {durable_hard_state:?})"
                    ));
                }
                let granted = *self.grants.entry((id, *term)).or_insert(to);
                if granted != to {
                    return Err(format!(
                        "node {id} voted twice in term {term}: for {granted} and for {to}"
                    ));
                }
            }
            Message::AppendEntriesResponse {
                outcome: AppendOutcome::Accepted { match_index },
                ..
            }
            | Message::InstallSnapshotResponse {
                outcome: SnapshotOutcome::Done { match_index },
                ..
            } if *match_index > disk_log.last_index()
                || (*match_index > disk_log.base
                    && disk_log.term_at(*match_index) != durable_log.term_at(*match_index)) =>
            {
                return Err(format!(
                    "node {id} acknowledged index {match_index} with only {} on its disk \
                     (term {:?} there, {:?} written)",
                    disk_log.last_index(),
                    disk_log.term_at(*match_index),
                    durable_log.term_at(*match_index)
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Node `id` sent a leader's message in `term`: it is that term's leader, and no other
    /// node may be (election safety). Its first such message is where it shows itself leader:
    /// its durable log then holds every entry committed in an earlier term (leader
    /// completeness), but those its durable snapshot covers, whose state was checked when it
    /// was taken or installed.
    fn on_leader_message(
        &mut self,
        id: NodeId,
        term: Term,
        durable_log: LogView<'_, C>,
    ) -> Result<(), Violation> {
        let leader = *self.leaders.entry(term).or_insert(id);
        if leader != id {
            return Err(format!(
                "election safety: nodes {leader} and {id} both sent a leader's messages in \
                 term {term}"
            ));
        }
        let ghost = self.nodes.entry(id).or_default();
        if ghost.led_term >= term {
            return Ok(());
        }
        ghost.led_term = term;
        let skip = usize::try_from(durable_log.base).unwrap_or(usize::MAX);
        let earlier = self.commit_terms.iter().map(|&t| t < term);
        let pairs = self.committed.iter().zip(earlier).enumerate().skip(skip);
        for (position, ((committed_term, payload), earlier)) in pairs {
            if !earlier {
                continue;
            }
            let index = position as LogIndex + 1;
            let held = durable_log.get(index);
            if held.map(|e| (e.term, &e.payload)) != Some((*committed_term, payload)) {
                return Err(format!(
                    "leader completeness: node {id} leads term {term} without committed entry \
                     {index} (term {committed_term}) on its disk"
                ));
            }
        }
        Ok(())
    }

    /// A leader reported `commit` committed: it applied that index in this incarnation (the
    /// committing leader applies first, and the apply was judged durable on a quorum then),
    /// and its durable entry there is the committed one. An index the leader's snapshot
    /// covers was checked when the snapshot was taken or installed. With asynchronous
    /// persistence a leader may commit before its own write completes, and apply only after:
    /// `disks` (every node's disk, node `i`'s at `i - 1`; empty with synchronous persistence)
    /// must then hold its entry there on a quorum of its configuration.
    fn check_reported_commit(
        &mut self,
        id: NodeId,
        commit: LogIndex,
        durable_log: LogView<'_, C>,
        disks: &[LogView<'_, C>],
    ) -> Result<(), Violation> {
        let reported = self.nodes.entry(id).or_default();
        if commit <= reported.commit_reported || commit <= durable_log.base {
            return Ok(());
        }
        reported.commit_reported = commit;
        let held = durable_log.get(commit).map(|e| (e.term, &e.payload));
        if commit > reported.applied_index {
            let applied = reported.applied_index;
            let verdict = match held {
                Some((term, _)) if !disks.is_empty() => {
                    self.committing_quorum(id, durable_log.base, commit, term, disks)
                }
                _ => Err(self.durable_membership(id, durable_log.base)),
            };
            if let Err((at, membership)) = verdict {
                return Err(format!(
                    "node {id} reported {commit} committed, having applied only {applied}, \
                     and {held:?} there is on the disks of no quorum of {membership:?} (entry \
                     {at})"
                ));
            }
            self.vouched = self.vouched.max(commit);
        }
        let committed = self.committed.get(commit as usize - 1);
        if committed.is_some() && held != committed.map(|(term, payload)| (*term, payload)) {
            return Err(format!(
                "node {id} reported {commit} committed, holding {held:?} there, not the \
                 committed {committed:?}"
            ));
        }
        Ok(())
    }

    /// State machine safety (§3.5): applied indices are contiguous per incarnation and equal
    /// everywhere. The first node to apply an index is the leader that committed it, whose
    /// durable log is then its log as it decided: the entry is durable on a quorum of the
    /// configuration that log makes (§1.6; both majorities while joint, thesis §4.3).
    /// `applier_term` is the term the applier has durably recorded: an upper bound on the term
    /// in which what it applies was committed. `durable_logs` holds node `i`'s at `i - 1`.
    pub(crate) fn on_apply(
        &mut self,
        id: NodeId,
        entries: &[Entry<C>],
        applier_term: Term,
        durable_logs: &[LogView<'_, C>],
    ) -> Result<(), Violation>
    where
        C: Hash,
    {
        self.checks += 1;
        let committed_before = self.committed.len() as LogIndex;
        let ghost = self.nodes.entry(id).or_default();
        for entry in entries {
            if entry.index != ghost.applied_index + 1 {
                return Err(format!(
                    "node {id} applied index {} after {}",
                    entry.index, ghost.applied_index
                ));
            }
            ghost.applied_index = entry.index;
            ghost.applied_max = ghost.applied_max.max(entry.index);
            let position = entry.index as usize - 1;
            match self.committed.get(position) {
                Some((term, payload)) => {
                    if *term != entry.term || *payload != entry.payload {
                        return Err(format!(
                            "state machine safety: node {id} applied {:?} (term {}) at {}, \
                             another node applied {:?} (term {})",
                            entry.payload, entry.term, entry.index, payload, term
                        ));
                    }
                }
                None => {
                    debug_assert_eq!(position, self.committed.len());
                    let state = chain(self.states.last().copied().unwrap_or(0), entry);
                    self.committed.push((entry.term, entry.payload.clone()));
                    self.commit_terms.push(applier_term);
                    self.states.push(state);
                }
            }
        }
        let Some(last) = entries.last().filter(|last| last.index > committed_before) else {
            return Ok(());
        };
        if last.index <= self.vouched {
            // Judged when its leader reported it (see `vouched`).
            self.note_committed_configs(entries, committed_before);
            return Ok(());
        }
        let applier_base = usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_sub(1))
            .and_then(|position| durable_logs.get(position))
            .map_or(0, |log| log.base);
        let verdict = self.committing_quorum(id, applier_base, last.index, last.term, durable_logs);
        if let Err((at, membership)) = verdict {
            let holding = Self::holding(durable_logs, last.index, last.term);
            return Err(format!(
                "node {id} committed index {} (term {}), durable on {holding} nodes: not a \
                 quorum of its configuration {membership:?} (entry {at})",
                last.index, last.term
            ));
        }
        self.note_committed_configs(entries, committed_before);
        Ok(())
    }

    /// Whether (`index`, `term`) is on the `disks` of a quorum of the configuration node `id`
    /// committed it under: its durable log's latest or, with asynchronous writes (where a
    /// leader may apply or report a commit after it appended a change), the one in force at
    /// `index` (one change at a time, so it is one of the two). Answers the latest
    /// configuration if neither holds it.
    fn committing_quorum(
        &self,
        id: NodeId,
        base: LogIndex,
        index: LogIndex,
        term: Term,
        disks: &[LogView<'_, C>],
    ) -> Result<(), (LogIndex, Membership)> {
        let (at, membership) = self.durable_membership(id, base);
        if Self::durable_on_quorum(&membership, disks, index, term) {
            return Ok(());
        }
        if self.async_writes && at > index {
            let (_, before) = self.durable_membership_at(id, base, index);
            if Self::durable_on_quorum(&before, disks, index, term) {
                return Ok(());
            }
        }
        Err((at, membership))
    }

    /// Only once the entries after `committed_before` are judged committed are the
    /// configurations among them: in index order.
    fn note_committed_configs(&mut self, entries: &[Entry<C>], committed_before: LogIndex) {
        for entry in entries
            .iter()
            .filter(|entry| entry.index > committed_before)
        {
            if let Some(membership) = entry.payload.as_membership() {
                self.configs.push((entry.index, membership.clone()));
            }
        }
    }

    /// Leader bookkeeping (correctness.md §1.12): within a term a peer's match index never
    /// decreases, never passes the leader's log, and names a prefix the peer really shares,
    /// durably, while the peer is in the leader's term. Call before `after_step`, which moves
    /// the node's ghost role on.
    pub(crate) fn on_leader_progress(
        &mut self,
        leader: &Raft<C>,
        peers: &[PeerView<'_, C>],
    ) -> Result<(), Violation>
    where
        C: crate::Command,
    {
        self.checks += 1;
        let id = leader.id();
        let term = leader.term();
        let ghost = self.nodes.entry(id).or_default();
        let continuing = ghost.last_role == Some((Role::Leader, term));
        let previous = std::mem::take(&mut ghost.leader_matches);
        if !continuing {
            return Ok(());
        }
        for (peer, match_index) in leader.match_indices() {
            let before = previous
                .iter()
                .find(|(p, _)| *p == peer)
                .map_or(0, |(_, m)| *m);
            if match_index < before {
                return Err(format!(
                    "leader {id} of term {term}: match of {peer} went back from {before} to \
                     {match_index}"
                ));
            }
            if match_index > leader.last_index() {
                return Err(format!(
                    "leader {id}: match of {peer} ({match_index}) beyond its log"
                ));
            }
            let view = peers.iter().find(|view| view.id == peer);
            // At or below either side's compaction point the entry is committed, and so the
            // same on both: only a pair of held entries can disagree.
            if let (Some(view), true) = (view, match_index > 0) {
                let theirs = view.durable.term_at(match_index);
                let ours = leader.term_at(match_index);
                let covered = match_index < view.durable.base || ours.is_none();
                if view.term == Some(term) && !covered && theirs != ours {
                    return Err(format!(
                        "leader {id} of term {term} believes {peer} matches up to \
                         {match_index}, but {peer} durably holds term {theirs:?} there, the \
                         leader {ours:?}"
                    ));
                }
            }
        }
        let ghost = self.nodes.entry(id).or_default();
        ghost.leader_matches = leader.match_indices().collect();
        Ok(())
    }

    /// The node-local checks run after every step, on the node's own bookkeeping: its term
    /// never falls below what it persisted or sent in, nor within an incarnation; commit never
    /// decreases and stays within the log; a leader never rewrites its own entries (leader
    /// append-only); a new leader's log holds every entry committed in an earlier term.
    pub(crate) fn after_step(&mut self, raft: &Raft<C>) -> Result<(), Violation>
    where
        C: crate::Command,
    {
        self.checks += 1;
        let id = raft.id();
        let status = raft.status();
        let ghost = self.nodes.entry(id).or_default();
        let incarnation_term = ghost.last_role.map_or(0, |(_, term)| term);
        if status.term < ghost.term_max || status.term < incarnation_term {
            return Err(format!(
                "node {id} went back to term {} after persisting or sending in term {} (term \
                 {incarnation_term} in memory)",
                status.term, ghost.term_max
            ));
        }
        if status.commit_index < ghost.commit_index {
            return Err(format!(
                "node {id} commit index went back from {} to {}",
                ghost.commit_index, status.commit_index
            ));
        }
        ghost.commit_index = status.commit_index;
        if status.commit_index > status.last_index || status.applied_index > status.commit_index {
            return Err(format!("node {id} status out of bounds: {status:?}"));
        }
        let previous = ghost.last_role.replace((status.role, status.term));
        let previous_tail = ghost.leader_tail.take();
        if status.role != Role::Leader {
            return Ok(());
        }
        ghost.leader_tail = Some((status.last_index, status.last_term));
        if previous == Some((Role::Leader, status.term)) {
            // Leader append-only: the previous tail is still there, unchanged.
            if let Some((index, term)) = previous_tail {
                let now = raft.term_at(index);
                let compacted = index < raft.compacted_index();
                if index > status.last_index || (index > 0 && !compacted && now != Some(term)) {
                    return Err(format!(
                        "leader {id} of term {} lost or rewrote its entry {index}",
                        status.term
                    ));
                }
            }
            return Ok(());
        }
        // A new leader: leader completeness (§5.4) in its memory too: every entry committed in
        // an earlier term is in its log. Entries at or below its compaction point are covered
        // by its snapshot, whose state was checked when it was taken or installed.
        let skip = usize::try_from(raft.compacted_index()).unwrap_or(usize::MAX);
        let earlier = self.commit_terms.iter().map(|&t| t < status.term);
        let pairs = self.committed.iter().zip(earlier).enumerate().skip(skip);
        for (position, ((term, payload), earlier)) in pairs {
            if !earlier {
                continue;
            }
            let index = position as LogIndex + 1;
            let held = raft.entry(index);
            if held.map(|e| (e.term, &e.payload)) != Some((*term, payload)) {
                return Err(format!(
                    "leader completeness: new leader {id} of term {} lacks committed entry \
                     {index} (term {term})",
                    status.term
                ));
            }
        }
        Ok(())
    }
}
