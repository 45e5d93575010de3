//! The host harness behind pureraft's step-throughput benchmarks: the workloads of
//! `shared/peer-bench` (its README defines them exactly), implemented against pureraft's public
//! API only. Shared by the criterion bench (`benches/step.rs`) and the fixed-work example
//! (`examples/workload.rs`, which includes this file with `#[path]`).
//!
//! # The host loop
//!
//! An in-memory cluster of N nodes (ids `1..=N`), each a `Raft<Arc<[u8]>>` with its own reused
//! output buffer (`Vec<Action<_>>`, stepped into with [`Raft::step_into`]). After each step
//! the node's actions are carried out at once, strictly in order (the crate's ordering rule;
//! a step that left no action, like most ticks, costs the host one emptiness check):
//!
//! * `Persist::Entries`: moved (not cloned) into the node's in-memory "disk", a
//!   `Vec<Entry<_>>`, after truncating it from the first entry's index
//!   (`Entries::append_to`);
//! * `Persist::HardState`: stored;
//! * `Send`: pushed onto one global FIFO queue;
//! * `Apply`: the state machine reads every entry (it adds up the commands' lengths) and
//!   counts them;
//! * `Persist::Snapshot`: the host-side disk drops the entries the snapshot covers;
//! * `ProposalAccepted`, `BatchAccepted`: nothing to do; `ProposalRejected`: a panic (never
//!   expected here).
//!
//! "Drive" ([`Cluster::drive`]) delivers every queued message in FIFO order as
//! `Event::Receive`; messages sent during a round wait for the next round; it repeats until the
//! queue is empty. Delivery is synchronous and lossless, with no serialization. The host side
//! allocates nothing in steady state: two queues are swapped between rounds and every buffer
//! keeps its capacity.
//!
//! # Payload
//!
//! Commands are `Arc<[u8]>` of 128 bytes of `0xAB`, freshly allocated for each proposal (one
//! allocation, like the peers' `vec![0xAB; 128]`). `Arc<[u8]>` is what a real host would use for
//! a command that is copied into the log, the persist action, every append and the apply
//! action: each of those copies is a reference-count increment, never a byte copy.
//!
//! # Batching
//!
//! A batch of B > 1 proposals is one `Event::ProposeBatch` of B fresh commands (the host's
//! `Vec` of them is one more allocation per batch), answered by one `BatchAccepted`: it costs
//! one persist and one append per follower. A batch of 1 is one `Event::Propose`.
//!
//! # Compaction
//!
//! Like the peers, every node compacts every 10,000 applied entries: the host reports a
//! snapshot of its (empty) state machine at its applied index with `Event::SnapshotTaken`,
//! the node drops its in-memory log before it but for the default 1024 trailing entries and
//! answers `Persist::Snapshot`, on which the host drops the entries it stored up to there.
//! Runs of the commit workloads also stop at 1,000,000 entries, like the peers'.
//!
//! # Asynchronous persistence
//!
//! Each workload also runs with `Config::async_persistence` on every node: its name with
//! `_async` appended (`commit3_b1_async`, ...). The host's disk is the same instant in-memory
//! one, but it reports its writes: after carrying out a step's actions, a host that carried
//! out a `Persist::Entries` steps `Event::Persisted` for the last entry written (with the
//! term of the last hard state it wrote), and carries
//! out that step's actions too. So these figures are the protocol's own cost in this mode:
//! one more step per write on every node, and commits counted from the reports.
//!
//! # Zero-copy apply
//!
//! With `_range` appended (`commit3_b1_range`, ...; `_async_range` for both), every node has
//! `Config::apply_by_range`: committed entries come as `Action::ApplyRange`, which the host
//! reads from the node's log (`Raft::committed_entries`) where the default host gets them
//! cloned into `Action::Apply`. Either way the state machine reads every entry applied (it
//! adds up the commands' lengths).

// Two targets include this module and each uses a different part of it.
#![allow(dead_code)]

pub mod latency;

use std::sync::Arc;

use pureraft::{
    Action, Config, Entry, Event, HardState, LogIndex, Message, NodeId, Payload, Persist, Raft,
    Restored, Role, Term,
};

/// The command type replicated by every workload.
pub type Cmd = Arc<[u8]>;

/// The size of each proposed command, in bytes (the peers' 128-byte payload).
pub const PAYLOAD_BYTES: usize = 128;

/// The bytes every command is copied from.
static PAYLOAD: [u8; PAYLOAD_BYTES] = [0xAB; PAYLOAD_BYTES];

/// A node snapshots and compacts once this many entries have been applied since the last
/// snapshot.
pub const COMPACT_EVERY: u64 = 10_000;

/// A timed run of a commit workload stops at the first batch boundary past this many entries
/// (or when its time is up), like the peers' runs.
pub const COMMIT_ENTRIES_PER_RUN: u64 = 1_000_000;

/// `tick_idle` checks the clock (and rounds fixed work up) in chunks of this many ticks.
pub const TICK_CHUNK: u64 = 1024;

/// A fresh command: 128 bytes of `0xAB` in a new `Arc<[u8]>` (one allocation).
pub fn payload() -> Cmd {
    Arc::from(&PAYLOAD[..])
}

/// The configuration shared by every workload, for node `id`: election
/// timeouts in `[election_ticks, 2 * election_ticks)`, heartbeat 3 ticks, 256 appends in flight,
/// 1 MiB and 8192 entries per message, up to 2^20 uncommitted entries, and PreVote and
/// CheckQuorum off: the peers' harnesses run raft-rs and raft-io with their defaults, which
/// have both off, so every workload compares the same protocol (`elect3_prevote` measures an
/// election with them on, pureraft's default).
pub fn config(id: NodeId, election_ticks: u64, seed: u64) -> Config {
    config_with(id, election_ticks, seed, false)
}

/// [`config`], with PreVote and CheckQuorum on (`elections`) or off.
pub fn config_with(id: NodeId, election_ticks: u64, seed: u64, elections: bool) -> Config {
    let mut config = Config::new(id);
    config.election_ticks = election_ticks;
    config.heartbeat_ticks = 3;
    config.max_inflight_appends = 256;
    config.max_bytes_per_message = 1 << 20;
    config.max_entries_per_message = 8192;
    config.max_uncommitted_entries = 1 << 20;
    config.seed = seed;
    config.pre_vote = elections;
    config.check_quorum = elections;
    config
}

/// The two host modes a workload can run in besides the default (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modes {
    /// `Config::async_persistence`, the host reporting each write (`NAME_async`).
    pub async_writes: bool,
    /// `Config::apply_by_range`, the host reading each range from the node (`NAME_range`).
    pub apply_by_range: bool,
}

impl Modes {
    /// Sets both options of `config`.
    pub fn configure(self, config: &mut Config) {
        config.async_persistence = self.async_writes;
        config.apply_by_range = self.apply_by_range;
    }
}

/// The seed of node `id` in repetition `repetition`: distinct per node, and per repetition so
/// that successive elections differ.
pub fn seed(repetition: u64, id: NodeId) -> u64 {
    repetition.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ id
}

/// A message on its way: the global FIFO queue holds these.
#[derive(Debug)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message, moved from the sender's `Send` action to the receiver's `Event::Receive`.
    pub message: Message<Cmd>,
}

/// One node and its host-side state.
pub struct Node {
    /// The state machine.
    pub raft: Raft<Cmd>,
    /// The reused output buffer: empty between steps.
    pub out: Vec<Action<Cmd>>,
    /// The host-side "disk": the persisted entries from index `disk_first` on.
    pub disk: Vec<Entry<Cmd>>,
    /// The index of `disk[0]` (everything below was trimmed after being applied).
    pub disk_first: LogIndex,
    /// The last persisted hard state.
    pub hard_state: HardState,
    /// The number of entries handed out by `Apply` actions.
    pub applied: u64,
    /// The index of the last entry handed out by an `Apply` action.
    pub applied_index: LogIndex,
    /// The state machine: the bytes of every command applied.
    pub applied_bytes: u64,
    /// Reads answered with `ReadReady` (this host serves them at once: its applied index is
    /// the commit index in these workloads).
    pub reads_served: u64,
    /// `Config::async_persistence`: report each write with `Event::Persisted`.
    pub async_writes: bool,
}

impl Node {
    /// A fresh node with empty host state, a founding member of a cluster of `voters` with ids
    /// `1..=voters`.
    pub fn new(config: Config, voters: u64) -> Self {
        let async_writes = config.async_persistence;
        Node {
            raft: new_raft(config, voters),
            out: Vec::new(),
            disk: Vec::new(),
            disk_first: 1,
            hard_state: HardState::default(),
            applied: 0,
            applied_index: 0,
            applied_bytes: 0,
            reads_served: 0,
            async_writes,
        }
    }

    /// Replaces the state machine by a fresh one and clears the host state, keeping the
    /// buffers' capacity.
    pub fn restart(&mut self, config: Config, voters: u64) {
        self.async_writes = config.async_persistence;
        self.raft = new_raft(config, voters);
        self.out.clear();
        self.disk.clear();
        self.disk_first = 1;
        self.hard_state = HardState::default();
        self.applied = 0;
        self.applied_index = 0;
        self.applied_bytes = 0;
        self.reads_served = 0;
    }

    /// Steps one event and carries out its actions. `#[inline]`, as a host's loop should
    /// have it: `Raft::step_into` dispatches inline so that each call site's own event picks
    /// the branch at compile time. The compiler inlined this wrapper by itself until `Event`
    /// grew its `Read` variant; the hint keeps that (measured at the commit before: the
    /// same figures within 1%, elect3 +99 instructions, so it favours no figure).
    #[inline]
    pub fn step(&mut self, event: Event<Cmd>, queue: &mut Vec<Envelope>) {
        self.raft.step_into(event, &mut self.out);
        self.carry_out(queue);
    }

    /// Carries out every action waiting in `out`, in order (see the module docs), leaving it
    /// empty.
    #[inline]
    pub fn carry_out(&mut self, queue: &mut Vec<Envelope>) {
        if self.out.is_empty() {
            return; // Most ticks: nothing to do.
        }
        self.carry_out_actions(queue);
    }

    /// [`Node::carry_out`] with at least one action waiting. With asynchronous persistence,
    /// each write is reported once the step's actions are carried out, and the report's
    /// actions are carried out in turn.
    #[inline(never)]
    fn carry_out_actions(&mut self, queue: &mut Vec<Envelope>) {
        while let Some((index, term)) = self.carry_out_once(queue) {
            let event = Event::Persisted { index, term };
            self.raft.step_into(event, &mut self.out);
        }
    }

    /// Carries out every action in `out`; answers the last entry written if it must be
    /// reported (asynchronous persistence).
    #[inline(always)]
    fn carry_out_once(&mut self, queue: &mut Vec<Envelope>) -> Option<(LogIndex, Term)> {
        let from = self.raft.id();
        let mut written = None;
        for action in self.out.drain(..) {
            match action {
                Action::Persist(Persist::Entries(entries)) => {
                    if self.async_writes {
                        // Reported with the term of the hard state written before it.
                        let term = self.hard_state.term;
                        written = entries.last().map(|entry| (entry.index, term));
                    }
                    let first = entries[0].index;
                    assert!(first >= self.disk_first, "truncating a trimmed entry");
                    let position = (first - self.disk_first) as usize;
                    assert!(position <= self.disk.len(), "a gap in the persisted log");
                    self.disk.truncate(position);
                    entries.append_to(&mut self.disk);
                }
                Action::Persist(Persist::HardState(hard_state)) => self.hard_state = hard_state,
                Action::Persist(Persist::Snapshot(meta)) => {
                    let covered = (meta.last_index + 1).saturating_sub(self.disk_first) as usize;
                    self.disk.drain(..covered.min(self.disk.len()));
                    self.disk_first = self.disk_first.max(meta.last_index + 1);
                }
                Action::Send { to, message } => queue.push(Envelope { from, to, message }),
                Action::Apply(entries) => Node::apply_to(
                    &entries,
                    &mut self.applied,
                    &mut self.applied_index,
                    &mut self.applied_bytes,
                ),
                Action::ApplyRange { first, last } => {
                    let entries = self.raft.committed_entries(first, last);
                    let entries = entries.expect("a range handed out is held");
                    Node::apply_to(
                        entries,
                        &mut self.applied,
                        &mut self.applied_index,
                        &mut self.applied_bytes,
                    );
                }
                Action::ProposalAccepted { .. } | Action::BatchAccepted { .. } => {}
                Action::ReadReady { index, .. } => {
                    assert!(
                        index <= self.applied_index,
                        "a read ahead of what was applied"
                    );
                    self.reads_served += 1;
                }
                Action::ReadFailed { error, .. } => panic!("read failed: {error}"),
                Action::ProposalRejected(error) => panic!("proposal rejected: {error}"),
                // No follower falls behind the leader's compaction in these workloads.
                Action::InstallSnapshot(_) => panic!("a snapshot install in a lossless run"),
                Action::SnapshotRefused(error) => panic!("snapshot refused: {error}"),
                other => panic!("an action the harness does not know: {other:?}"),
            }
        }
        written
    }

    /// Applies `entries`: the state machine reads each one (its command's length). On the
    /// fields it changes, so that a range can be read from the node meanwhile.
    #[inline(always)]
    fn apply_to(
        entries: &[Entry<Cmd>],
        applied: &mut u64,
        applied_index: &mut LogIndex,
        applied_bytes: &mut u64,
    ) {
        for entry in entries {
            if let Payload::Command(command) = &entry.payload {
                *applied_bytes += command.len() as u64;
            }
        }
        if let Some(last) = entries.last() {
            *applied_index = last.index;
        }
        *applied += entries.len() as u64;
    }

    /// Once `COMPACT_EVERY` entries were applied since the last snapshot, snapshots the
    /// state machine at the applied index (see the module docs) and carries out the answer.
    pub fn maybe_compact(&mut self, queue: &mut Vec<Envelope>) {
        if self.applied_index >= self.disk_first + COMPACT_EVERY {
            let event = Event::SnapshotTaken {
                index: self.applied_index,
                data: Vec::new(),
            };
            self.step(event, queue);
        }
    }
}

/// A founding node of a cluster of `voters` with ids `1..=voters`.
fn new_raft(config: Config, voters: u64) -> Raft<Cmd> {
    Raft::new(config, Restored::bootstrap(1..=voters)).expect("a valid configuration")
}

/// An in-memory cluster of N nodes with ids `1..=N` and one global FIFO message queue.
pub struct Cluster {
    /// `nodes[k]` has id `k + 1`.
    pub nodes: Vec<Node>,
    /// Messages sent in the current round, delivered in the next one.
    pub queue: Vec<Envelope>,
    /// The round being delivered (swapped with `queue`, so neither reallocates).
    delivering: Vec<Envelope>,
    /// Statistic: messages delivered.
    pub messages: u64,
    /// Statistic: delivery rounds.
    pub rounds: u64,
    /// PreVote and CheckQuorum on in every node ([`config_with`]).
    elections: bool,
    /// The host modes of every node.
    modes: Modes,
}

impl Cluster {
    /// A cluster of `size` fresh nodes with election timeouts in `[election_ticks,
    /// 2 * election_ticks)` and the seeds of `repetition`.
    pub fn new(size: u64, election_ticks: u64, repetition: u64) -> Self {
        Cluster::new_with(size, election_ticks, repetition, false)
    }

    /// [`Cluster::new`], with PreVote and CheckQuorum on (`elections`) or off.
    pub fn new_with(size: u64, election_ticks: u64, repetition: u64, elections: bool) -> Self {
        let nodes = (1..=size)
            .map(|id| {
                let seed = seed(repetition, id);
                Node::new(config_with(id, election_ticks, seed, elections), size)
            })
            .collect();
        Cluster {
            nodes,
            queue: Vec::new(),
            delivering: Vec::new(),
            messages: 0,
            rounds: 0,
            elections,
            modes: Modes::default(),
        }
    }

    /// The same cluster, new, with `modes` on every node.
    pub fn with_modes(mut self, modes: Modes) -> Self {
        self.modes = modes;
        let size = self.nodes.len() as u64;
        for node in &mut self.nodes {
            let mut config = node.raft.config().clone();
            modes.configure(&mut config);
            node.restart(config, size);
        }
        self
    }

    /// Replaces every node's state machine by a fresh one (the seeds of `repetition`) and
    /// clears the host state, keeping every buffer's capacity: a new cluster whose host side
    /// allocates nothing.
    pub fn restart(&mut self, election_ticks: u64, repetition: u64) {
        let size = self.nodes.len() as u64;
        for (node, id) in self.nodes.iter_mut().zip(1..) {
            let seed = seed(repetition, id);
            let mut config = config_with(id, election_ticks, seed, self.elections);
            self.modes.configure(&mut config);
            node.restart(config, size);
        }
        self.queue.clear();
        self.delivering.clear();
    }

    /// Ticks the node with id `id` once and carries out its actions (messages are queued).
    pub fn tick(&mut self, id: NodeId) {
        self.nodes[index(id)].step(Event::Tick, &mut self.queue);
    }

    /// Ticks every node once, in id order, carrying out each one's actions (messages are
    /// queued).
    pub fn tick_all(&mut self) {
        for node in &mut self.nodes {
            node.step(Event::Tick, &mut self.queue);
        }
    }

    /// Delivers every queued message in FIFO order, round after round, until the queue is
    /// empty; each receiver's actions are carried out right after its step.
    #[inline]
    pub fn drive(&mut self) {
        if !self.queue.is_empty() {
            self.deliver_rounds(); // Most of elect3's tick rounds send nothing.
        }
    }

    /// [`Cluster::drive`] with at least one message queued.
    #[inline(never)]
    fn deliver_rounds(&mut self) {
        while !self.queue.is_empty() {
            std::mem::swap(&mut self.queue, &mut self.delivering);
            self.messages += self.delivering.len() as u64;
            self.rounds += 1;
            for Envelope { from, to, message } in self.delivering.drain(..) {
                let node = &mut self.nodes[index(to)];
                node.step(Event::Receive { from, message }, &mut self.queue);
            }
        }
    }

    /// `Some(id)` once one node is leader and every node reports it as `leader()`.
    pub fn leader(&self) -> Option<NodeId> {
        let leader = self
            .nodes
            .iter()
            .find(|node| node.raft.role() == Role::Leader)?
            .raft
            .id();
        let agreed = self
            .nodes
            .iter()
            .all(|node| node.raft.leader() == Some(leader));
        agreed.then_some(leader)
    }

    /// Makes node 1 leader: ticks it alone, driving after each tick, until every node names
    /// it leader. The drive also commits and applies the leader's no-op everywhere.
    pub fn elect_node1(&mut self) {
        for _ in 0..1000 {
            if self.leader() == Some(1) {
                return;
            }
            self.tick(1);
            self.drive();
        }
        panic!("node 1 did not become leader");
    }

    /// Proposes `batch` fresh payloads on the node with id `leader` (one `Propose`, or one
    /// `ProposeBatch` of them), then carries out its actions.
    pub fn propose_batch(&mut self, leader: NodeId, batch: u64) {
        let node = &mut self.nodes[index(leader)];
        let event = if batch == 1 {
            Event::Propose(payload())
        } else {
            Event::ProposeBatch((0..batch).map(|_| payload()).collect())
        };
        node.step(event, &mut self.queue);
    }

    /// Snapshots every node that has `COMPACT_EVERY` entries applied since its last one.
    pub fn maybe_compact(&mut self) {
        for node in &mut self.nodes {
            node.maybe_compact(&mut self.queue);
        }
    }

    /// The entries applied on each node.
    pub fn applied(&self) -> Vec<u64> {
        self.nodes.iter().map(|node| node.applied).collect()
    }
}

/// The position in `Cluster::nodes` of the node with id `id`.
fn index(id: NodeId) -> usize {
    (id - 1) as usize
}

/// `commit3_b1`, `commit3_b64`, `commit5_b64`: node 1 is elected untimed, then each
/// [`CommitRun::batch`] proposes a batch on it and drives until it is applied on all nodes.
pub struct CommitRun {
    /// The cluster; node 1 leads.
    pub cluster: Cluster,
    /// Proposals per batch.
    pub batch: u64,
    /// Entries proposed since the election.
    pub proposed: u64,
    /// Entries applied on each node at the election (the leader's no-op).
    base_applied: Vec<u64>,
    /// Messages delivered at the election.
    base_messages: u64,
    /// Delivery rounds at the election.
    base_rounds: u64,
}

impl CommitRun {
    /// A cluster of `nodes` with node 1 elected (all of this untimed).
    pub fn new(nodes: u64, batch: u64) -> Self {
        CommitRun::new_with(nodes, batch, Modes::default())
    }

    /// [`CommitRun::new`], in `modes`.
    pub fn new_with(nodes: u64, batch: u64, modes: Modes) -> Self {
        let mut cluster = Cluster::new(nodes, 10, 0).with_modes(modes);
        cluster.elect_node1();
        let base_applied = cluster.applied();
        assert!(
            base_applied.iter().all(|&applied| applied == 1),
            "the leader's no-op is applied everywhere after the election"
        );
        let (base_messages, base_rounds) = (cluster.messages, cluster.rounds);
        CommitRun {
            cluster,
            batch,
            proposed: 0,
            base_applied,
            base_messages,
            base_rounds,
        }
    }

    /// One batch: `batch` proposals on the leader, carried out, then driven; then the host
    /// compaction check. Every proposed entry is applied on all nodes afterwards (checked in
    /// debug builds here, and always by [`CommitRun::check`]).
    #[inline]
    pub fn batch(&mut self) {
        self.cluster.propose_batch(1, self.batch);
        self.proposed += self.batch;
        self.cluster.drive();
        debug_assert!(self.all_applied(), "a batch is not applied on all nodes");
        self.cluster.maybe_compact();
    }

    /// True if every node has applied every proposed entry.
    pub fn all_applied(&self) -> bool {
        self.cluster
            .nodes
            .iter()
            .zip(&self.base_applied)
            .all(|(node, base)| node.applied - base == self.proposed)
    }

    /// Panics unless every proposed entry is applied on all nodes.
    pub fn check(&self) {
        assert!(self.all_applied(), "not applied on all nodes");
    }

    /// Batches run so far.
    pub fn batches(&self) -> u64 {
        self.proposed / self.batch
    }

    /// Messages delivered per batch.
    pub fn messages_per_batch(&self) -> f64 {
        (self.cluster.messages - self.base_messages) as f64 / self.batches().max(1) as f64
    }

    /// Delivery rounds per batch.
    pub fn rounds_per_batch(&self) -> f64 {
        (self.cluster.rounds - self.base_rounds) as f64 / self.batches().max(1) as f64
    }

    /// A line of statistics (checks that every entry is applied on all nodes first).
    pub fn stats(&self) -> String {
        self.check();
        let leader = &self.cluster.nodes[0];
        format!(
            "entries={} msgs_per_batch={:.2} rounds_per_batch={:.2} raft_log_entries={} \
             host_disk_entries={}",
            self.proposed,
            self.messages_per_batch(),
            self.rounds_per_batch(),
            leader.raft.entries().len(),
            leader.disk.len(),
        )
    }
}

/// `read_index`: a 3-node cluster led by node 1 (as in `commit3_b1`), each chunk
/// `READ_BATCH` reads stepped into the leader one `Event::Read` at a time, then delivered:
/// one round of `LeaderCheck`s serves them all (thesis §6.4, batched). One operation is one
/// read served.
///
/// `read_lease`: the same with lease reads (`Config::lease_reads`, so CheckQuorum on too):
/// every read is served at once under the leader's lease, and each chunk ends with one tick of
/// every node, so that every `heartbeat_ticks` chunks a heartbeat goes and a round renews the
/// lease; their cost is part of the figure.
pub struct ReadIndex {
    /// The cluster.
    pub cluster: Cluster,
    /// Reads asked.
    pub asked: u64,
    /// `read_lease`.
    pub lease: bool,
}

/// Reads per `read_index` chunk.
pub const READ_BATCH: u64 = 64;

impl ReadIndex {
    /// The cluster, node 1 elected and its no-op committed.
    pub fn new() -> Self {
        ReadIndex::new_with(Modes::default())
    }

    /// [`ReadIndex::new`], in `modes`.
    pub fn new_with(modes: Modes) -> Self {
        let mut cluster = Cluster::new(3, 10, 0).with_modes(modes);
        cluster.elect_node1();
        ReadIndex {
            cluster,
            asked: 0,
            lease: false,
        }
    }

    /// `read_lease`: the cluster with lease reads, node 1 elected, its no-op committed.
    pub fn with_lease() -> Self {
        ReadIndex::with_lease_and(Modes::default())
    }

    /// [`ReadIndex::with_lease`], in `modes`.
    pub fn with_lease_and(modes: Modes) -> Self {
        // A node that starts with lease reads grants no vote for an election timeout of its
        // own ticks: every node ticks until a leader is elected; the first seeds under which
        // it is node 1 are taken.
        let cluster = (0..)
            .find_map(|repetition| {
                let mut cluster = Cluster::new_with(3, 10, repetition, true);
                for node in &mut cluster.nodes {
                    let mut config = node.raft.config().clone();
                    config.lease_reads = true;
                    modes.configure(&mut config);
                    node.restart(config, 3);
                }
                while cluster.leader().is_none() {
                    cluster.tick_all();
                    cluster.drive();
                }
                (cluster.leader() == Some(1)).then_some(cluster)
            })
            .expect("some seeds elect node 1");
        ReadIndex {
            cluster,
            asked: 0,
            lease: true,
        }
    }

    /// `READ_BATCH` reads at the leader, then every message delivered.
    #[inline]
    pub fn chunk(&mut self) {
        for _ in 0..READ_BATCH {
            self.asked += 1;
            let context = self.asked;
            self.cluster.nodes[0].step(Event::Read { context }, &mut self.cluster.queue);
        }
        if self.lease {
            self.cluster.tick_all();
        }
        self.cluster.drive();
        assert_eq!(self.served(), self.asked, "every read served in its round");
    }

    /// Reads served so far.
    pub fn served(&self) -> u64 {
        self.cluster.nodes[0].reads_served
    }

    /// A line of statistics.
    pub fn stats(&self) -> String {
        format!(
            "reads={} messages_per_read={:.3}",
            self.served(),
            self.cluster.messages as f64 / self.served().max(1) as f64
        )
    }
}

impl Default for ReadIndex {
    fn default() -> Self {
        ReadIndex::new()
    }
}

/// `tick_idle`: one follower, id 2 of voters {1, 2, 3}, whose election timeout (2^40 ticks and
/// more) never fires; each tick is `step_into(Event::Tick)` on a reused buffer that must stay
/// empty.
pub struct TickIdle {
    /// The node.
    pub raft: Raft<Cmd>,
    /// The reused output buffer.
    pub out: Vec<Action<Cmd>>,
    /// Ticks stepped.
    pub ticks: u64,
}

impl TickIdle {
    /// The idle follower.
    pub fn new() -> Self {
        TickIdle::new_with(Modes::default())
    }

    /// [`TickIdle::new`], in `modes`.
    pub fn new_with(modes: Modes) -> Self {
        let mut config = config(2, 1 << 40, 2);
        modes.configure(&mut config);
        TickIdle {
            raft: new_raft(config, 3),
            out: Vec::new(),
            ticks: 0,
        }
    }

    /// One tick; asserts that it produced no action.
    #[inline]
    pub fn tick(&mut self) {
        self.raft.step_into(Event::Tick, &mut self.out);
        assert!(
            self.out.is_empty(),
            "an idle follower's tick produced output"
        );
    }

    /// `TICK_CHUNK` ticks.
    pub fn chunk(&mut self) {
        for _ in 0..TICK_CHUNK {
            self.tick();
        }
        self.ticks += TICK_CHUNK;
    }

    /// A line of statistics.
    pub fn stats(&self) -> String {
        format!("ticks={}", self.ticks)
    }
}

impl Default for TickIdle {
    fn default() -> Self {
        TickIdle::new()
    }
}

/// `elect3`: each [`Elect3::elect`] builds three new nodes (timed), then runs rounds of one
/// tick for nodes 1, 2 and 3 in that order followed by a drive, until one node leads and all
/// three name it. The host buffers are reused across elections (the nodes are new). The check
/// for that runs after each round that delivered a message: ticks alone never make a leader
/// of three nodes nor tell a node who leads, so a round without messages cannot be the first
/// one where all three agree, and skipping its check ends every election at the same round.
pub struct Elect3 {
    /// The cluster of the latest election.
    pub cluster: Cluster,
    /// Elections completed.
    pub elections: u64,
    /// Tick rounds over all elections.
    pub tick_rounds: u64,
}

impl Elect3 {
    /// The host side, with no election run yet.
    pub fn new() -> Self {
        Elect3::new_with(false)
    }

    /// [`Elect3::new`], with PreVote and CheckQuorum on (`elections`: `elect3_prevote`) or off.
    pub fn new_with(elections: bool) -> Self {
        Elect3::new_and(elections, Modes::default())
    }

    /// [`Elect3::new_with`], in `modes`.
    pub fn new_and(elections: bool, modes: Modes) -> Self {
        Elect3 {
            cluster: Cluster::new_with(3, 10, 0, elections).with_modes(modes),
            elections: 0,
            tick_rounds: 0,
        }
    }

    /// One election on a new cluster (new seeds each time, so elections differ).
    #[inline]
    pub fn elect(&mut self) {
        self.elections += 1;
        self.cluster.restart(10, self.elections);
        loop {
            self.cluster.tick_all();
            // Without a message, no node of three can win an election or learn who won:
            // after a round of ticks alone the leader check would only repeat its answer.
            let messages = !self.cluster.queue.is_empty();
            self.cluster.drive();
            self.tick_rounds += 1;
            if messages && self.cluster.leader().is_some() {
                return;
            }
            assert!(self.tick_rounds < self.elections * 1000, "no leader");
        }
    }

    /// A line of statistics.
    pub fn stats(&self) -> String {
        format!(
            "elections={} tick_rounds_per_election={:.2}",
            self.elections,
            self.tick_rounds as f64 / self.elections.max(1) as f64
        )
    }
}

impl Default for Elect3 {
    fn default() -> Self {
        Elect3::new()
    }
}

/// One of the workloads, with a uniform interface for the fixed-work and timed modes.
pub enum Workload {
    /// `commit3_b1`, `commit3_b64`, `commit5_b64`.
    Commit(CommitRun),
    /// `tick_idle` (boxed: a `Raft` is large; the box is dereferenced once per chunk).
    TickIdle(Box<TickIdle>),
    /// `elect3`, `elect3_prevote`.
    Elect3(Elect3),
    /// `read_index`, `read_lease`.
    ReadIndex(Box<ReadIndex>),
}

/// Every workload: its name, the unit of one operation, and the unit of its rate. Each also
/// runs with asynchronous persistence, as `NAME_async`, with ranges applied, as `NAME_range`,
/// or both, as `NAME_async_range` (see the module docs).
pub const WORKLOADS: [(&str, &str, &str); 8] = [
    ("commit3_b1", "entry", "entries/s"),
    ("commit3_b64", "entry", "entries/s"),
    ("commit5_b64", "entry", "entries/s"),
    ("tick_idle", "tick", "ticks/s"),
    ("elect3", "election", "elections/s"),
    ("elect3_prevote", "election", "elections/s"),
    ("read_index", "read", "reads/s"),
    ("read_lease", "read", "reads/s"),
];

impl Workload {
    /// The workload called `name`, set up (the commit workloads elect node 1), or `None` for
    /// an unknown name.
    pub fn new(name: &str) -> Option<Self> {
        let (name, a) = Workload::modes(name);
        Some(match name {
            "commit3_b1" => Workload::Commit(CommitRun::new_with(3, 1, a)),
            "commit3_b64" => Workload::Commit(CommitRun::new_with(3, 64, a)),
            "commit5_b64" => Workload::Commit(CommitRun::new_with(5, 64, a)),
            "tick_idle" => Workload::TickIdle(Box::new(TickIdle::new_with(a))),
            "elect3" => Workload::Elect3(Elect3::new_and(false, a)),
            "elect3_prevote" => Workload::Elect3(Elect3::new_and(true, a)),
            "read_index" => Workload::ReadIndex(Box::new(ReadIndex::new_with(a))),
            "read_lease" => Workload::ReadIndex(Box::new(ReadIndex::with_lease_and(a))),
            _ => return None,
        })
    }

    /// The base workload `name` names and the modes its suffixes ask for (`_async`,
    /// `_range`, in that order if both).
    pub fn modes(name: &str) -> (&str, Modes) {
        let mut modes = Modes::default();
        let mut name = name;
        if let Some(base) = name.strip_suffix("_range") {
            modes.apply_by_range = true;
            name = base;
        }
        if let Some(base) = name.strip_suffix("_async") {
            modes.async_writes = true;
            name = base;
        }
        (name, modes)
    }

    /// The unit of one operation and of the rate of workload `name` (with its suffixes).
    pub fn units(name: &str) -> Option<(&'static str, &'static str)> {
        let base = Workload::modes(name).0;
        WORKLOADS
            .iter()
            .find(|(known, _, _)| *known == base)
            .map(|&(_, unit, rate)| (unit, rate))
    }

    /// Operations done by one [`Workload::chunk`]: the batch size, `TICK_CHUNK` ticks, or one
    /// election.
    pub fn chunk_ops(&self) -> u64 {
        match self {
            Workload::Commit(run) => run.batch,
            Workload::TickIdle(_) => TICK_CHUNK,
            Workload::Elect3(_) => 1,
            Workload::ReadIndex(_) => READ_BATCH,
        }
    }

    /// The most operations of one timed run (`COMMIT_ENTRIES_PER_RUN` for the commit
    /// workloads, like the peers; unbounded otherwise).
    pub fn max_ops_per_run(&self) -> u64 {
        match self {
            Workload::Commit(_) => COMMIT_ENTRIES_PER_RUN,
            _ => u64::MAX,
        }
    }

    /// Runs one chunk of operations.
    #[inline]
    pub fn chunk(&mut self) {
        match self {
            Workload::Commit(run) => run.batch(),
            Workload::TickIdle(idle) => idle.chunk(),
            Workload::Elect3(elect) => elect.elect(),
            Workload::ReadIndex(reads) => reads.chunk(),
        }
    }

    /// Operations done so far.
    pub fn ops(&self) -> u64 {
        match self {
            Workload::Commit(run) => run.proposed,
            Workload::TickIdle(idle) => idle.ticks,
            Workload::Elect3(elect) => elect.elections,
            Workload::ReadIndex(reads) => reads.served(),
        }
    }

    /// Checks the end state (every entry applied on all nodes) and returns a line of
    /// statistics.
    pub fn stats(&self) -> String {
        match self {
            Workload::Commit(run) => run.stats(),
            Workload::TickIdle(idle) => idle.stats(),
            Workload::Elect3(elect) => elect.stats(),
            Workload::ReadIndex(reads) => reads.stats(),
        }
    }
}
