//! A deterministic cluster simulator with an invariant checker (feature `sim`).
//!
//! [`Sim`] runs N nodes in one thread over a seeded network that delays, loses, duplicates and
//! reorders messages, and can partition nodes (symmetric, one-way, partial), crash them (also
//! part-way through an action batch) and restart them from exactly what their `Persist` actions
//! wrote, and pause them. Its hosts carry out each step's actions at once, or, batching
//! ([`SimConfig::batching`]), keep one buffer per node across steps and carry out a random
//! prefix of it after each step. After every step and on every action carried out it checks
//! the invariants of ARCHITECTURE.md §3, judged from what the nodes did (messages sent, what
//! is durable), and panics with the seed that replays the run if one fails, and with where it
//! wrote the picture of the run up to the failure: [`Sim::svg`], an SVG timeline with one lane
//! per node, written to the directory `PURERAFT_SVG_DIR` names (the system's temporary
//! directory by default) as `pureraft-seed-SEED-tick-TICK.svg`. The picture is recorded
//! whether or not [`Sim::record_timeline`] is on (about 8% of the simulator's time at the
//! harshest fault level), so that any run can be drawn.
//!
//! ```
//! use pureraft::sim::{Sim, SimConfig};
//!
//! let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, 42));
//! let leader = sim.check_one_leader().unwrap();
//! let index = sim.one(7, 3, false).unwrap();
//! assert_eq!(sim.n_committed(index), (3, Some(7)));
//! assert!(sim.stats().invariant_checks > 0);
//! # let _ = leader;
//! ```

mod chaos;
mod checker;
mod network;
mod picture;
pub mod scenarios;

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

use crate::action::{Action, Persist, ProposeError, SnapshotError, TransferError};
use crate::config::Config;
use crate::entries::Entries;
use crate::event::Event;
use crate::membership::{Membership, MembershipChange};
use crate::message::Message;
use crate::rng::Rng;
use crate::types::{Command, Entry, HardState, LogIndex, NodeId, Payload, Role, Snapshot, Term};
use crate::{Raft, Restored};

pub use chaos::Faults;
use checker::{chain, Checker, LogView, PeerView, SenderView};
use network::Network;
pub use network::NetworkConfig;
use picture::{LaneState, Picture};

/// How a simulation is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of founding nodes, the voters the cluster is bootstrapped with; their ids are
    /// `1..=nodes`. Nodes added later ([`Sim::add_node`]) take the next ids.
    pub nodes: usize,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Every node's configuration, as a template: `id` and `seed` are set per node (the seed
    /// derived from the simulation's seed, the node and its incarnation).
    pub node: Config,
    /// The network's behaviour.
    pub network: NetworkConfig,
    /// If set, every host snapshots its state machine after applying each index i with
    /// `(i + 1) % every == 0` (the lab's rule with every = 10), before it takes its next step.
    pub snapshot_every: Option<u64>,
    /// Bytes added to every snapshot, so that snapshots span several chunks.
    pub snapshot_padding: usize,
    /// Hosts that batch: each host keeps one output buffer across steps, steps every event
    /// into it with `Raft::step_into`, and after each step carries out only a random prefix of
    /// it (all of it half of the time), leaving the rest for later steps. A crash may strike
    /// anywhere in the carried-out prefix, and loses the rest of the buffer. Off, every step's
    /// actions are carried out at once.
    pub batching: bool,
    /// Hosts keep time by a monotonic clock: a node resumed after a pause is first given every
    /// tick it missed, as the contract of `Config::lease_drift_ticks` asks of a host. Off, a
    /// paused node's clock stands still while others' run (a host that breaks the contract:
    /// its leader may serve reads under a lease that ended while it slept).
    pub resume_catches_up: bool,
    /// With `Config::async_persistence` in `node`: each host writes entries in the
    /// background, and a write completes between 0 and this many ticks after it started (in
    /// the order the writes started). The host reports completed writes with
    /// `Event::Persisted`, now and then a tick late and covering several; a crash keeps a
    /// random prefix of the writes in flight and loses the rest.
    pub write_delay_ticks: u64,
}

impl SimConfig {
    /// The MIT lab's set-up in ticks of 10 ms: election timeouts in [30, 60) ticks, a heartbeat
    /// every 10 ticks, and a reliable network (latency 0-1 tick). No snapshots; when they are
    /// turned on, 5 entries trail a snapshot and chunks are of 1 KiB.
    pub fn new(nodes: usize, seed: u64) -> Self {
        let mut node = Config::new(1);
        node.election_ticks = 30;
        node.heartbeat_ticks = 10;
        node.max_inflight_appends = 64;
        node.max_entries_per_message = 512;
        node.max_uncommitted_entries = 100_000;
        node.snapshot_trailing_entries = 5;
        node.snapshot_chunk_bytes = 1024;
        SimConfig {
            nodes,
            seed,
            node,
            network: NetworkConfig::reliable(),
            snapshot_every: None,
            snapshot_padding: 0,
            batching: false,
            resume_catches_up: true,
            write_delay_ticks: 0,
        }
    }

    /// The same set-up with snapshots every `every` entries (see `snapshot_every`).
    pub fn with_snapshots(mut self, every: u64) -> Self {
        self.snapshot_every = Some(every.max(1));
        self
    }

    /// The same set-up with asynchronous entry writes (`Config::async_persistence`), each
    /// completing up to `write_delay_ticks` ticks after it starts.
    pub fn with_async_persistence(mut self, write_delay_ticks: u64) -> Self {
        self.node.async_persistence = true;
        self.write_delay_ticks = write_delay_ticks;
        self
    }

    /// The same set-up with batching hosts (see `batching`).
    pub fn with_batching(mut self) -> Self {
        self.batching = true;
        self
    }
}

/// Something that happened in a simulation, for timelines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimEvent {
    /// `node` became leader of `term`.
    LeaderElected {
        /// The new leader.
        node: NodeId,
        /// Its term.
        term: Term,
    },
    /// Leader `from` started handing leadership over to `to` (thesis §3.10).
    TransferStarted {
        /// The leader.
        from: NodeId,
        /// The voter leadership goes to.
        to: NodeId,
    },
    /// Leader `from`'s transfer to `to` did not complete within an election timeout.
    TransferAborted {
        /// The leader, still leading.
        from: NodeId,
        /// The voter leadership was to go to.
        to: NodeId,
    },
    /// `node` crashed after carrying out `executed` of the `batch` actions of its last step
    /// (`executed == batch` for a crash between steps).
    Crashed {
        /// The node.
        node: NodeId,
        /// Actions carried out before the crash.
        executed: usize,
        /// Actions in the interrupted batch.
        batch: usize,
    },
    /// `node` restarted from its durable state.
    Restarted {
        /// The node.
        node: NodeId,
    },
    /// `node` was cut off from every other node.
    Disconnected {
        /// The node.
        node: NodeId,
    },
    /// `node` was connected again.
    Connected {
        /// The node.
        node: NodeId,
    },
    /// The cluster was split into these groups.
    Partitioned {
        /// Nodes in different groups cannot talk.
        groups: Vec<Vec<NodeId>>,
    },
    /// Messages from `from` to `to` are dropped (one way).
    LinkCut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Every partition and cut link was healed.
    Healed,
    /// `node` stopped taking ticks and messages.
    Paused {
        /// The node.
        node: NodeId,
    },
    /// `node` resumed.
    Resumed {
        /// The node.
        node: NodeId,
    },
    /// `node`'s host snapshotted its state machine up to `index`.
    SnapshotTaken {
        /// The node.
        node: NodeId,
        /// The snapshot's last index.
        index: LogIndex,
    },
    /// `node` installed a snapshot up to `index` sent by its leader.
    SnapshotInstalled {
        /// The node.
        node: NodeId,
        /// The snapshot's last index.
        index: LogIndex,
    },
    /// A new node was started empty, to join the cluster.
    NodeAdded {
        /// The new node.
        node: NodeId,
    },
    /// `leader` appended a configuration entry at `index` for `change` (its
    /// `Event::ChangeMembership`, or its own leave of a joint configuration).
    MembershipProposed {
        /// The leader that appended it.
        leader: NodeId,
        /// The entry's index.
        index: LogIndex,
        /// The configuration it holds.
        membership: Membership,
    },
    /// The configuration entry at `index` was committed.
    MembershipCommitted {
        /// The entry's index.
        index: LogIndex,
        /// The configuration it holds.
        membership: Membership,
    },
    /// `node`, no longer a member, was shut down for good.
    Retired {
        /// The node.
        node: NodeId,
    },
}

/// Which batches a crash armed by [`Sim::crash_after_actions_of`] strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// Any batch with at least one action.
    Any,
    /// A batch in which a follower installs a snapshot (`Action::InstallSnapshot`).
    Install,
    /// A batch that records a snapshot the host took (`Persist::Snapshot`).
    Snapshot,
}

impl BatchKind {
    fn matches<C>(self, actions: &[Action<C>]) -> bool {
        match self {
            BatchKind::Any => true,
            BatchKind::Install => actions
                .iter()
                .any(|action| matches!(action, Action::InstallSnapshot(_))),
            BatchKind::Snapshot => actions
                .iter()
                .any(|action| matches!(action, Action::Persist(Persist::Snapshot(_)))),
        }
    }
}

/// Counters over a whole simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Ticks simulated.
    pub ticks: u64,
    /// `Raft::step` calls.
    pub steps: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// Request messages sent (RequestVote, AppendEntries): the lab's RPC count.
    pub rpcs_sent: u64,
    /// Bytes handed to the network (`Message::size_bytes`).
    pub bytes_sent: u64,
    /// Messages delivered.
    pub messages_delivered: u64,
    /// Messages lost (by chance, partitions, or a crashed receiver).
    pub messages_dropped: u64,
    /// Extra copies delivered.
    pub messages_duplicated: u64,
    /// Crashes, of which `crashes_mid_batch` part-way through a batch.
    pub crashes: u64,
    /// Crashes that interrupted an action batch.
    pub crashes_mid_batch: u64,
    /// Restarts.
    pub restarts: u64,
    /// Disconnections, partitions, link cuts and pauses.
    pub partitions: u64,
    /// Leader elections observed.
    pub elections: u64,
    /// Reads asked (`Event::Read`).
    pub reads_asked: u64,
    /// Reads answered with a read index (`Action::ReadReady`), each checked against every
    /// write committed before it was asked.
    pub reads_ready: u64,
    /// Of those, the reads answered in the very step that asked them, by the node asked: a
    /// leader's reads served under its lease (`Config::lease_reads`), or by a leader alone in
    /// its configuration.
    pub reads_ready_at_once: u64,
    /// Reads answered with `Action::ReadFailed`.
    pub reads_failed: u64,
    /// Leadership transfers started (`Event::TransferLeadership` accepted).
    pub transfers_started: u64,
    /// Leadership transfers that timed out.
    pub transfers_aborted: u64,
    /// Invariant checks run.
    pub invariant_checks: u64,
    /// Snapshots taken by hosts.
    pub snapshots_taken: u64,
    /// Snapshots installed from a leader.
    pub snapshots_installed: u64,
    /// `InstallSnapshot` chunks sent.
    pub snapshot_chunks_sent: u64,
    /// The most log entries any one node held in memory after any step.
    pub peak_entries_held: u64,
    /// Batching hosts: steps taken while earlier actions still waited in the node's buffer.
    pub steps_into_waiting_buffer: u64,
    /// Ticks during which a node was down, summed over nodes (two nodes down for ten ticks
    /// count twenty).
    pub down_node_ticks: u64,
    /// Messages sent to a node that was down when they were sent.
    pub messages_to_down_nodes: u64,
    /// Their bytes (`Message::size_bytes`).
    pub bytes_to_down_nodes: u64,
    /// The largest of them, in bytes.
    pub largest_message_to_down_node: u64,
    /// Snapshot bytes carried by `InstallSnapshot` chunks (their data only).
    pub snapshot_bytes_sent: u64,
    /// Batching hosts: actions left waiting in a buffer after a step, summed over steps.
    pub actions_left_waiting: u64,
    /// Nodes started empty to join the cluster.
    pub nodes_added: u64,
    /// Membership changes a leader accepted (`Event::ChangeMembership`).
    pub membership_changes_accepted: u64,
    /// Membership changes a leader refused, with a `ProposeError`.
    pub membership_changes_refused: u64,
    /// Configuration entries committed, automatic leaves of joint configurations included.
    pub configurations_committed: u64,
    /// Removed nodes shut down for good.
    pub nodes_retired: u64,
    /// Asynchronous persistence: `Event::Persisted` reports the hosts stepped.
    pub writes_reported: u64,
    /// Asynchronous persistence: entry writes in flight lost at a crash.
    pub entry_writes_lost: u64,
    /// `Config::apply_by_range`: ranges the hosts read from their nodes.
    pub ranges_read: u64,
}

impl SimStats {
    /// Faults injected: crashes, partitions of any kind and pauses, and lost or duplicated
    /// messages.
    pub fn faults(&self) -> u64 {
        self.crashes + self.partitions + self.messages_dropped + self.messages_duplicated
    }

    /// Messages and bytes sent to down nodes per heartbeat interval of `heartbeat_ticks` that
    /// a node spent down: what a node that never answers costs its leader. (0, 0) if no node
    /// was down.
    pub fn to_down_nodes_per_heartbeat(&self, heartbeat_ticks: u64) -> (f64, f64) {
        if self.down_node_ticks == 0 {
            return (0.0, 0.0);
        }
        let heartbeats = self.down_node_ticks as f64 / heartbeat_ticks as f64;
        (
            self.messages_to_down_nodes as f64 / heartbeats,
            self.bytes_to_down_nodes as f64 / heartbeats,
        )
    }
}

/// What a node's host has written to disk: the hard state, the snapshot to restart from, and
/// the entries after `base` (the snapshot's index once compacted).
#[derive(Clone, Debug)]
struct Durable<C> {
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    base: LogIndex,
    base_term: Term,
    entries: Vec<Entry<C>>,
}

impl<C> Default for Durable<C> {
    fn default() -> Self {
        Durable {
            hard_state: HardState::default(),
            snapshot: None,
            base: 0,
            base_term: 0,
            entries: Vec::new(),
        }
    }
}

impl<C: Clone> Durable<C> {
    /// `Persist::Entries`: delete from the first entry's index on, then append.
    fn write(&mut self, entries: &[Entry<C>]) {
        self.entries
            .truncate((entries[0].index - self.base - 1) as usize);
        self.entries.extend_from_slice(entries);
    }

    /// The snapshot `meta`, `data` is now the one to restart from; with `cleared`
    /// (`InstallSnapshot`), every stored entry goes, else those it covers.
    fn store_snapshot(&mut self, snapshot: Snapshot, cleared: bool) {
        let index = snapshot.meta.last_index;
        if cleared {
            self.entries.clear();
        } else {
            let covered = index.saturating_sub(self.base) as usize;
            self.entries.drain(..covered.min(self.entries.len()));
        }
        self.base = index;
        self.base_term = snapshot.meta.last_term;
        self.snapshot = Some(snapshot);
    }
}

impl<C> Durable<C> {
    fn view(&self) -> LogView<'_, C> {
        LogView {
            base: self.base,
            base_term: self.base_term,
            entries: &self.entries,
        }
    }
}

struct SimNode<C> {
    id: NodeId,
    raft: Option<Raft<C>>,
    /// What the node's `Persist` actions carried out so far wrote: with synchronous
    /// persistence, what is on its disk; with asynchronous, what will be once the writes in
    /// flight complete.
    durable: Durable<C>,
    /// With asynchronous persistence: what is on its disk (what a crash keeps). `None` with
    /// synchronous persistence, where that is `durable`.
    disk: Option<Durable<C>>,
    /// With asynchronous persistence: the entry writes started and not yet complete, each
    /// with the tick it completes at (never before the one before it) and the term of the
    /// hard state the host had written when it started it (the node's term then).
    writes: VecDeque<(u64, Entries<C>, Term)>,
    /// The report of the last completed write (its last index, its term as above), while its
    /// host has not stepped it.
    unreported: Option<(LogIndex, Term)>,
    /// The last reports stepped in this incarnation, most recent last: a host may repeat one
    /// late (a completion queue that delivers out of turn), which the node must judge by
    /// its log as it is now.
    reported: VecDeque<(LogIndex, Term)>,
    /// Every value this node ever applied, by index (kept across restarts, as the lab does).
    applied: Vec<Option<(Term, Payload<C>)>>,
    /// The state machine: the last index applied and the state (a hash chain) after it.
    state: (LogIndex, u64),
    /// The bytes of the snapshots the host took, oldest first, each until the
    /// `Persist::Snapshot` of its index gives it its metadata and makes it the durable
    /// snapshot (with batching hosts, several may wait).
    taken: Vec<(LogIndex, Vec<u8>)>,
    /// A batching host's output buffer: the actions stepped but not yet carried out.
    out: Vec<Action<C>>,
    /// The index to snapshot at after the current step, by the `snapshot_every` rule, and
    /// the state after it.
    snapshot_due: Option<(LogIndex, u64)>,
    paused: bool,
    /// When it was paused (`now`), while it is.
    paused_at: u64,
    incarnation: u64,
    /// What the host hands back as `Restored::membership`: the founding voters for a founding
    /// node, empty for one that joined.
    bootstrap: Membership,
    /// Shut down for good after its removal (never restarted).
    retired: bool,
}

impl<C> SimNode<C> {
    /// What is on the node's disk: what a crash keeps.
    fn disk(&self) -> &Durable<C> {
        self.disk.as_ref().unwrap_or(&self.durable)
    }
}

impl<C: Clone> SimNode<C> {
    /// With asynchronous persistence: the first write in flight reaches the disk, its report
    /// now due. Answers false if there was none.
    fn complete_first_write(&mut self) -> bool {
        let (Some(disk), Some((_, entries, term))) = (self.disk.as_mut(), self.writes.pop_front())
        else {
            return false;
        };
        disk.write(&entries);
        let last = entries.last().expect("a write is never empty");
        self.unreported = Some((last.index, term));
        true
    }
}

/// A simulated cluster. See the [module docs](self).
pub struct Sim<C> {
    config: SimConfig,
    rng: Rng,
    now: u64,
    nodes: Vec<SimNode<C>>,
    network: Network<C>,
    checker: Checker<C>,
    stats: SimStats,
    timeline: Vec<(u64, SimEvent)>,
    record_timeline: bool,
    /// What `svg` draws: recorded always, so that a failing run can be drawn.
    picture: Picture,
    /// Chance, per million batches, that a node crashes part-way through one.
    crash_in_batch_per_million: u32,
    crash_plan: Option<(NodeId, usize, BatchKind)>,
    last_planned_crash: Option<(usize, usize)>,
    /// A long outage of the chaos driver: the node down, and the tick it restarts at.
    outage: Option<(NodeId, u64)>,
    /// Why the last step that refused a proposal or a membership change refused it.
    last_refusal: Option<ProposeError>,
    /// The refusal of the last transfer asked, if it was refused.
    last_transfer_refusal: Option<TransferError>,
    /// The context of the last read asked.
    next_read_context: u64,
    trace: DefaultHasher,
    scratch: Vec<Action<C>>,
    /// The last steps, printed on failure when `PURERAFT_SIM_TRACE=n` asks for n of them.
    debug_trace: VecDeque<String>,
    debug_trace_capacity: usize,
}

impl<C: Command + Debug + Eq + Hash> Sim<C> {
    /// A cluster of `config.nodes` fresh nodes.
    pub fn new(config: SimConfig) -> Self {
        assert!(config.nodes >= 1, "a cluster needs a node");
        let ids: Vec<NodeId> = (1..=config.nodes as NodeId).collect();
        let bootstrap = Membership::new(ids.iter().copied());
        let mut sim = Sim {
            rng: Rng::new(config.seed ^ 0x5EED_0F51_u64),
            now: 0,
            nodes: Vec::new(),
            network: Network::new(config.nodes, config.network.clone()),
            checker: Checker::new(bootstrap.clone()),
            stats: SimStats::default(),
            timeline: Vec::new(),
            record_timeline: false,
            picture: Picture::default(),
            crash_in_batch_per_million: 0,
            crash_plan: None,
            last_planned_crash: None,
            outage: None,
            last_refusal: None,
            last_transfer_refusal: None,
            next_read_context: 0,
            trace: DefaultHasher::new(),
            scratch: Vec::new(),
            debug_trace: VecDeque::new(),
            debug_trace_capacity: std::env::var("PURERAFT_SIM_TRACE")
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(0),
            config,
        };
        sim.checker.async_writes = sim.config.node.async_persistence;
        for &id in &ids {
            sim.push_node(id, bootstrap.clone());
        }
        sim
    }

    /// Starts node `id`, new, with `bootstrap` as its `Restored::membership`.
    fn push_node(&mut self, id: NodeId, bootstrap: Membership) {
        let restored = Restored {
            membership: bootstrap.clone(),
            ..Restored::default()
        };
        let raft = self.build_raft(id, 0, restored);
        let state = lane_state(&raft);
        self.picture
            .add_lane(id, self.now, state, raft.commit_index());
        self.nodes.push(SimNode {
            id,
            raft: Some(raft),
            durable: Durable::default(),
            disk: self.config.node.async_persistence.then(Durable::default),
            writes: VecDeque::new(),
            unreported: None,
            reported: VecDeque::new(),
            applied: Vec::new(),
            state: (0, 0),
            taken: Vec::new(),
            out: Vec::new(),
            snapshot_due: None,
            paused: false,
            paused_at: 0,
            incarnation: 0,
            bootstrap,
            retired: false,
        });
    }

    fn build_raft(&self, id: NodeId, incarnation: u64, restored: Restored<C>) -> Raft<C> {
        let mut config = self.config.node.clone();
        config.id = id;
        config.seed = mix(self.config.seed, id, incarnation);
        match Raft::new(config, restored) {
            Ok(raft) => raft,
            Err(error) => self.fail(&format!("node {id} refused its own durable state: {error}")),
        }
    }

    // ----- inspection -----

    /// The set-up of this simulation.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The seed this run replays from.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// The current tick.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The ids of every node, retired ones included.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().map(|node| node.id)
    }

    /// True if node `id` was retired (shut down for good after its removal).
    pub fn is_retired(&self, id: NodeId) -> bool {
        self.node(id).retired
    }

    /// The configuration in force at `index` by the committed log, as the checker computes it
    /// from the committed entries (the founding voters before any configuration entry).
    /// `index` at most the highest index committed so far.
    pub fn committed_membership(&self, index: LogIndex) -> Membership {
        self.checker.membership_at(index).1
    }

    /// The configuration of the last committed configuration entry (or the founding voters).
    pub fn latest_committed_membership(&self) -> Membership {
        self.committed_membership(self.checker.committed().len() as LogIndex)
    }

    /// Why the last refused proposal or membership change was refused.
    pub fn last_refusal(&self) -> Option<&ProposeError> {
        self.last_refusal.as_ref()
    }

    /// Messages in flight or waiting for a paused node.
    pub fn messages_in_flight(&self) -> usize {
        self.network.in_flight()
    }

    /// The node, if it is up.
    pub fn raft(&self, id: NodeId) -> Option<&Raft<C>> {
        self.node(id).raft.as_ref()
    }

    /// Counters so far; `invariant_checks` included.
    pub fn stats(&self) -> SimStats {
        SimStats {
            invariant_checks: self.checker.checks,
            ..self.stats
        }
    }

    /// A hash of every step's event and actions so far: equal for equal runs.
    pub fn trace_hash(&self) -> u64 {
        self.trace.finish()
    }

    /// Record [`SimEvent`]s for [`Sim::take_timeline`].
    pub fn record_timeline(&mut self, on: bool) {
        self.record_timeline = on;
    }

    /// The events recorded since the last call, with their tick.
    pub fn take_timeline(&mut self) -> Vec<(u64, SimEvent)> {
        std::mem::take(&mut self.timeline)
    }

    /// The picture of the run so far as an SVG document: one lane per node over time in
    /// ticks, with its role as coloured bars (a leader's bar names its term), its commit index
    /// as a line, crashes, restarts, snapshot installs and membership changes as marks with a
    /// tooltip, and partitions, cut links, disconnections and pauses as shaded spans. `window`
    /// draws only ticks `from..=to`; a long run is scaled into the same width. It is recorded
    /// whatever `record_timeline` says, and a failing run writes it (see the module docs).
    pub fn svg(&self, window: Option<(u64, u64)>) -> String {
        let title = format!(
            "pureraft simulation: seed {}, {} nodes, tick {}",
            self.config.seed,
            self.nodes.len(),
            self.now
        );
        self.picture.svg(&title, self.now, window)
    }

    /// Writes [`Sim::svg`] to `path`.
    pub fn write_svg(
        &self,
        path: impl AsRef<std::path::Path>,
        window: Option<(u64, u64)>,
    ) -> std::io::Result<()> {
        std::fs::write(path, self.svg(window))
    }

    /// The entries committed anywhere so far (index i at position i - 1).
    pub fn committed(&self) -> &[(Term, Payload<C>)] {
        self.checker.committed()
    }

    /// The size of what node `id`'s host stores for Raft besides the snapshot: the hard state
    /// and the stored entries, counted as `MESSAGE_HEADER_BYTES` plus `ENTRY_HEADER_BYTES` and
    /// the payload per entry (the lab's `RaftStateSize`; it must stay small with snapshots).
    pub fn persisted_size(&self, id: NodeId) -> usize {
        let durable = self.node(id).disk();
        crate::MESSAGE_HEADER_BYTES
            + durable
                .entries
                .iter()
                .map(|e| crate::ENTRY_HEADER_BYTES + e.payload.size_bytes())
                .sum::<usize>()
    }

    /// The index of the snapshot node `id`'s host stores (0 without one).
    pub fn persisted_snapshot_index(&self, id: NodeId) -> LogIndex {
        let durable = self.node(id).disk();
        durable.snapshot.as_ref().map_or(0, |s| s.meta.last_index)
    }

    /// True if the node is up (not crashed).
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).raft.is_some()
    }

    /// True if the node is connected (the lab's sense: not cut off by `disconnect`).
    pub fn is_connected(&self, id: NodeId) -> bool {
        self.network.is_connected(id)
    }

    /// Sets the network's behaviour from now on.
    pub fn set_network(&mut self, network: NetworkConfig) {
        self.network.set_config(network);
    }

    /// The network's current behaviour.
    pub fn network(&self) -> &NetworkConfig {
        self.network.config()
    }

    /// Arms a crash of node `id` in its next step that returns at least one action: the node
    /// carries out the first `prefix` actions (all of them if `prefix` is at least the batch's
    /// length), then crashes. Testing every prefix of one batch this way checks that a crash
    /// at any point of a batch loses nothing acknowledged (correctness.md §1.10).
    pub fn crash_after_actions(&mut self, id: NodeId, prefix: usize) {
        self.crash_plan = Some((id, prefix, BatchKind::Any));
    }

    /// As [`Sim::crash_after_actions`], in the node's next batch of the given kind only.
    pub fn crash_after_actions_of(&mut self, id: NodeId, prefix: usize, kind: BatchKind) {
        self.crash_plan = Some((id, prefix, kind));
    }

    /// The last crash armed by [`Sim::crash_after_actions`] that struck: actions carried out
    /// and the batch's length.
    pub fn last_planned_crash(&self) -> Option<(usize, usize)> {
        self.last_planned_crash
    }

    /// Crash nodes part-way through an action batch with this chance per million batches.
    pub fn set_crash_in_batch(&mut self, per_million: u32) {
        self.crash_in_batch_per_million = per_million;
    }

    // ----- time -----

    /// One tick: deliver every message due, then tick every node that is up and not paused.
    pub fn tick(&mut self) {
        self.now += 1;
        self.stats.ticks += 1;
        let down = self.nodes.iter().filter(|node| node.raft.is_none()).count();
        self.stats.down_node_ticks += down as u64;
        self.deliver_due();
        for position in 0..self.nodes.len() {
            let node = &self.nodes[position];
            if node.raft.is_some() && !node.paused {
                self.complete_writes(position);
            }
            let node = &self.nodes[position];
            if node.raft.is_some() && !node.paused {
                self.step_node(position, Event::Tick);
            }
        }
        self.deliver_due();
    }

    /// With asynchronous persistence: the writes of node `position` due by now reach its
    /// disk, and its host reports the last of them (three times in four now, else at a later
    /// tick, in one report with what completes meanwhile).
    fn complete_writes(&mut self, position: usize) {
        let now = self.now;
        let node = &mut self.nodes[position];
        if node.disk.is_none() {
            return;
        }
        while node.writes.front().is_some_and(|(due, ..)| *due <= now) {
            node.complete_first_write();
        }
        let mut report = None;
        if node.unreported.is_some() && self.rng.in_range(0, 4) != 0 {
            report = node.unreported.take();
            if node.reported.len() == 8 {
                node.reported.pop_front();
            }
            node.reported.extend(report);
        } else if !node.reported.is_empty() && self.rng.in_range(0, 16) == 0 {
            // An old report again, late: the entries it names may have been truncated since.
            let pick = self.rng.in_range(0, node.reported.len() as u64) as usize;
            report = Some(node.reported[pick]);
        }
        if let Some((index, term)) = report {
            self.stats.writes_reported += 1;
            self.step_node(position, Event::Persisted { index, term });
        }
    }

    /// `ticks` ticks.
    pub fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    /// Ticks until `done` holds (checked after each tick), at most `ticks` ticks. Returns
    /// whether it held.
    pub fn run_until(&mut self, ticks: u64, mut done: impl FnMut(&Self) -> bool) -> bool {
        for _ in 0..ticks {
            if done(self) {
                return true;
            }
            self.tick();
        }
        done(self)
    }

    fn deliver_due(&mut self) {
        // Bounded: every delivery either drops a message or steps a node, and a burst of
        // zero-latency replies ends when the cluster is quiet.
        while let Some(envelope) = self.network.pop_due(self.now) {
            let to = envelope.to;
            let position = self.position(to);
            let node = &mut self.nodes[position];
            if node.raft.is_none() || !self.network.can_deliver(envelope.from, to) {
                self.stats.messages_dropped += 1;
                continue;
            }
            if node.paused {
                self.network.hold(envelope);
                continue;
            }
            self.stats.messages_delivered += 1;
            let event = Event::Receive {
                from: envelope.from,
                message: envelope.message,
            };
            self.step_node(position, event);
        }
    }

    // ----- proposals -----

    /// Proposes `command` at node `id` (if up). Returns the index and term it was given, or
    /// `None` if the node refused or is down.
    pub fn propose(&mut self, id: NodeId, command: C) -> Option<(LogIndex, Term)> {
        let position = self.position(id);
        self.nodes[position].raft.as_ref()?;
        let (_, index, term) = self.step_node(position, Event::Propose(command))?;
        Some((index, term))
    }

    /// Proposes `commands` as one batch at node `id` (if up). Returns the first and last index
    /// and the term they were given, or `None` if the node refused or is down.
    pub fn propose_batch(
        &mut self,
        id: NodeId,
        commands: Vec<C>,
    ) -> Option<(LogIndex, LogIndex, Term)> {
        let position = self.position(id);
        self.nodes[position].raft.as_ref()?;
        self.step_node(position, Event::ProposeBatch(commands))
    }

    /// Asks node `id` (if up) to make `change`, against the configuration in force on it
    /// (its `membership_index`). Answers the index of the configuration entry it appended,
    /// or why it refused (a down node answers `NotLeader`).
    pub fn change_membership(
        &mut self,
        id: NodeId,
        change: MembershipChange,
    ) -> Result<LogIndex, ProposeError> {
        let position = self.position(id);
        let Some(raft) = self.nodes[position].raft.as_ref() else {
            return Err(ProposeError::NotLeader { leader_hint: None });
        };
        let membership_index = raft.membership_index();
        self.change_membership_at(id, change, membership_index)
    }

    /// As [`Sim::change_membership`], naming the configuration the change is made against:
    /// a host that read it earlier, or retries.
    pub fn change_membership_at(
        &mut self,
        id: NodeId,
        change: MembershipChange,
        membership_index: LogIndex,
    ) -> Result<LogIndex, ProposeError> {
        let position = self.position(id);
        if self.nodes[position].raft.is_none() {
            return Err(ProposeError::NotLeader { leader_hint: None });
        }
        self.last_refusal = None;
        let event = Event::ChangeMembership {
            change,
            membership_index,
        };
        match self.step_node(position, event) {
            Some((index, _, _)) => {
                self.stats.membership_changes_accepted += 1;
                Ok(index)
            }
            None => {
                self.stats.membership_changes_refused += 1;
                Err(self
                    .last_refusal
                    .clone()
                    .unwrap_or(ProposeError::NotLeader { leader_hint: None }))
            }
        }
    }

    /// A client asks node `id` (if up) for a linearizable read (`Event::Read`), with a new
    /// context. The answer comes as the node's `ReadReady` or `ReadFailed`, in this step or a
    /// later one, and the checker holds a read index to every write committed before now.
    /// Answers the context, or `None` if the node is down or paused (a paused host takes no
    /// request: its process is not running; once resumed, it has caught up with the ticks it
    /// missed before it takes the next, as the contract of `Config::lease_drift_ticks` asks).
    pub fn read(&mut self, id: NodeId) -> Option<u64> {
        let position = self.position(id);
        self.nodes[position].raft.as_ref()?;
        if self.nodes[position].paused {
            return None;
        }
        self.next_read_context += 1;
        let context = self.next_read_context;
        let result = self.checker.on_read_asked(id, context);
        self.check(result);
        self.stats.reads_asked += 1;
        let answered = self.stats.reads_ready;
        self.step_node(position, Event::Read { context });
        if self.stats.reads_ready > answered {
            self.stats.reads_ready_at_once += 1;
        }
        Some(context)
    }

    /// Asks node `id` (if up) to hand leadership over to `to` (`Event::TransferLeadership`).
    /// Answers how it refused, if it did (a down node answers `NotLeader`).
    pub fn transfer_leadership(&mut self, id: NodeId, to: NodeId) -> Result<(), TransferError> {
        let position = self.position(id);
        if self.nodes[position].raft.is_none() {
            return Err(TransferError::NotLeader { leader_hint: None });
        }
        self.last_transfer_refusal = None;
        self.step_node(position, Event::TransferLeadership { to });
        match self.last_transfer_refusal.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Starts a new node, empty, to join the cluster: it takes the next id, and follows the
    /// leader that adds it (`MembershipChange::AddLearner`). Answers its id.
    pub fn add_node(&mut self) -> NodeId {
        let id = self.nodes.len() as NodeId + 1;
        self.network.add_node();
        self.push_node(id, Membership::default());
        self.checker.joined(id);
        self.stats.nodes_added += 1;
        self.note(SimEvent::NodeAdded { node: id });
        id
    }

    /// Shuts node `id` down for good, as a host does once the node's removal is committed: it
    /// crashes and never restarts.
    pub fn retire(&mut self, id: NodeId) {
        self.crash(id);
        let position = self.position(id);
        if !self.nodes[position].retired {
            self.nodes[position].retired = true;
            self.stats.nodes_retired += 1;
            let commit = self.picture_commit(id);
            self.picture
                .observe(id, self.now, LaneState::Retired, commit);
            self.note(SimEvent::Retired { node: id });
        }
    }

    /// Retires node `id` if no configuration can still count on it: it is not a member of
    /// the latest committed configuration, nor of the configuration in force on any other node
    /// that is not retired, up (in memory) or down (its durable log's). Answers whether it
    /// did.
    pub fn retire_if_removed(&mut self, id: NodeId) -> bool {
        if self.is_retired(id) || self.latest_committed_membership().contains(id) {
            return false;
        }
        let named = self
            .nodes
            .iter()
            .filter(|node| node.id != id && !node.retired)
            .any(|node| {
                let in_memory = node
                    .raft
                    .as_ref()
                    .is_some_and(|raft| raft.membership().contains(id));
                in_memory || self.checker.durably_names(node.id, id)
            });
        if named {
            return false;
        }
        self.retire(id);
        true
    }

    /// Delivers `message` to node `to` now, as if node `from` had sent it, bypassing the
    /// network: what a faulty peer, or any id at all, could send. Dropped if `to` is down or
    /// paused. The checker judges what the receiver does with it, not the message itself.
    pub fn inject(&mut self, from: NodeId, to: NodeId, message: Message<C>) {
        let position = self.position(to);
        let node = &self.nodes[position];
        if node.raft.is_none() || node.paused {
            self.stats.messages_dropped += 1;
            return;
        }
        self.step_node(position, Event::Receive { from, message });
    }

    // ----- faults -----

    /// Crashes node `id` between steps: its volatile state and the messages held for it while
    /// paused are lost; its disk keeps exactly what its `Persist` actions wrote. Messages it
    /// sent before the crash stay in flight and may still arrive, as on a real network (the
    /// lab drops them; keeping them is the harder case).
    pub fn crash(&mut self, id: NodeId) {
        let position = self.position(id);
        if self.nodes[position].raft.is_some() {
            self.take_down(position, 0, 0);
        }
    }

    /// Restarts node `id` from its durable state (a no-op if it is up). Its state machine is
    /// in memory, so it applies again from index 1.
    pub fn restart(&mut self, id: NodeId) {
        let position = self.position(id);
        if self.nodes[position].raft.is_some() {
            return;
        }
        let node = &self.nodes[position];
        if node.retired {
            return;
        }
        let restored = Restored {
            hard_state: node.durable.hard_state,
            snapshot: node.durable.snapshot.clone(),
            entries: node.durable.entries.clone(),
            applied: 0,
            membership: node.bootstrap.clone(),
        };
        // The state machine is in memory: it restarts from the snapshot, or empty.
        let state = restored
            .snapshot
            .as_ref()
            .map_or((0, 0), |snapshot| decode_state(&snapshot.data));
        if let Some(snapshot) = &restored.snapshot {
            if state.0 != snapshot.meta.last_index {
                self.fail(&format!(
                    "node {id} stored a snapshot whose data is not its own"
                ));
            }
            let result = self.checker.check_snapshot_state(id, state.0, state.1);
            self.check(result);
        }
        let incarnation = node.incarnation + 1;
        let raft = self.build_raft(id, incarnation, restored);
        self.picture
            .observe(id, self.now, lane_state(&raft), raft.commit_index());
        let node = &mut self.nodes[position];
        node.incarnation = incarnation;
        node.raft = Some(raft);
        node.paused = false;
        node.state = state;
        node.taken.clear();
        node.out.clear();
        node.snapshot_due = None;
        self.checker.restarted(id, state.0);
        self.stats.restarts += 1;
        self.note(SimEvent::Restarted { node: id });
    }

    /// Cuts node `id` off from every other node (the lab's `disconnect`).
    pub fn disconnect(&mut self, id: NodeId) {
        if self.network.is_connected(id) {
            self.network.set_connected(id, false);
            self.stats.partitions += 1;
            self.note(SimEvent::Disconnected { node: id });
        }
    }

    /// Connects node `id` again (the lab's `connect`).
    pub fn connect(&mut self, id: NodeId) {
        if !self.network.is_connected(id) {
            self.network.set_connected(id, true);
            self.note(SimEvent::Connected { node: id });
        }
    }

    /// Splits the cluster: nodes in different groups cannot talk; a node in no group talks to
    /// nobody.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.network.partition(groups);
        self.stats.partitions += 1;
        let groups = groups.iter().map(|g| g.to_vec()).collect();
        self.note(SimEvent::Partitioned { groups });
    }

    /// Drops every message from `from` to `to` (one way), until healed.
    pub fn cut_link(&mut self, from: NodeId, to: NodeId) {
        self.network.cut(from, to);
        self.stats.partitions += 1;
        self.note(SimEvent::LinkCut { from, to });
    }

    /// Cuts the link between `a` and `b` both ways while each still talks to everyone else: a
    /// partial partition (the Cloudflare 2020 shape).
    pub fn cut_both_ways(&mut self, a: NodeId, b: NodeId) {
        self.cut_link(a, b);
        self.cut_link(b, a);
    }

    /// Removes every partition and cut link (disconnected nodes stay disconnected).
    pub fn heal(&mut self) {
        self.network.heal();
        self.note(SimEvent::Healed);
    }

    /// Stops node `id` from taking ticks and messages; messages to it wait.
    pub fn pause(&mut self, id: NodeId) {
        let position = self.position(id);
        if !self.nodes[position].paused && self.nodes[position].raft.is_some() {
            self.nodes[position].paused = true;
            self.nodes[position].paused_at = self.now;
            self.stats.partitions += 1;
            self.note(SimEvent::Paused { node: id });
        }
    }

    /// Lets a paused node run again: with `SimConfig::resume_catches_up`, it is first given
    /// the ticks it missed; then its waiting messages are delivered.
    pub fn resume(&mut self, id: NodeId) {
        let position = self.position(id);
        if self.nodes[position].paused {
            self.nodes[position].paused = false;
            if self.config.resume_catches_up {
                for _ in self.nodes[position].paused_at..self.now {
                    if self.nodes[position].raft.is_some() {
                        self.step_node(position, Event::Tick);
                    }
                }
            }
            self.network.release(id, self.now);
            self.note(SimEvent::Resumed { node: id });
        }
    }

    /// True if the node is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.node(id).paused
    }

    // ----- the lab's checks -----

    /// The lab's `checkOneLeader`: up to 10 times, run 45-55 ticks and look for leaders among
    /// the connected, running nodes; fails on two leaders in one term, else answers the leader
    /// of the highest term.
    pub fn check_one_leader(&mut self) -> Result<NodeId, String> {
        for _ in 0..10 {
            let wait = self.rng.in_range(45, 11);
            self.run(wait);
            let mut best: Option<(Term, NodeId)> = None;
            let mut leaders: Vec<(Term, NodeId)> = Vec::new();
            for node in &self.nodes {
                let Some(raft) = &node.raft else { continue };
                if !self.network.is_connected(node.id) || node.paused {
                    continue;
                }
                if raft.role() == Role::Leader {
                    if let Some(&(term, other)) = leaders.iter().find(|(t, _)| *t == raft.term()) {
                        return Err(format!(
                            "term {term} has two leaders, {other} and {} (seed {})",
                            node.id,
                            self.seed()
                        ));
                    }
                    leaders.push((raft.term(), node.id));
                    if best.is_none_or(|(term, _)| raft.term() > term) {
                        best = Some((raft.term(), node.id));
                    }
                }
            }
            if let Some((_, leader)) = best {
                return Ok(leader);
            }
        }
        Err(format!(
            "expected one leader, got none (seed {})",
            self.seed()
        ))
    }

    /// True if node `id` is up and leads `term`.
    pub fn leads(&self, id: NodeId, term: crate::types::Term) -> bool {
        self.raft(id)
            .is_some_and(|raft| raft.role() == Role::Leader && raft.term() == term)
    }

    /// The running node of the highest term that believes it leads, if any.
    pub fn believed_leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|node| !node.paused)
            .filter_map(|node| node.raft.as_ref())
            .filter(|raft| raft.role() == Role::Leader)
            .max_by_key(|raft| raft.term())
            .map(|raft| raft.id())
    }

    /// The lab's `checkTerms`: every connected, running node is in the same term.
    pub fn check_terms(&self) -> Result<Term, String> {
        let mut term = None;
        for node in &self.nodes {
            let Some(raft) = &node.raft else { continue };
            if !self.network.is_connected(node.id) {
                continue;
            }
            match term {
                None => term = Some(raft.term()),
                Some(t) if t != raft.term() => {
                    return Err(format!("servers disagree on term (seed {})", self.seed()));
                }
                Some(_) => {}
            }
        }
        term.ok_or_else(|| "no connected server".to_string())
    }

    /// The lab's `checkNoLeader`: no connected, running node claims to lead.
    pub fn check_no_leader(&self) -> Result<(), String> {
        for node in &self.nodes {
            let Some(raft) = &node.raft else { continue };
            if self.network.is_connected(node.id) && raft.role() == Role::Leader {
                return Err(format!(
                    "expected no leader among connected servers, but {} claims to be (seed {})",
                    node.id,
                    self.seed()
                ));
            }
        }
        Ok(())
    }

    /// The lab's `nCommitted`: how many nodes (up or not) applied `index`, and the value.
    /// Panics (naming the seed) if two nodes applied different values there.
    pub fn n_committed(&self, index: LogIndex) -> (usize, Option<C>) {
        let mut count = 0;
        let mut value: Option<&(Term, Payload<C>)> = None;
        for node in &self.nodes {
            let Some(Some(applied)) = node.applied.get(index as usize) else {
                continue;
            };
            if let Some(seen) = value {
                if seen != applied {
                    self.fail(&format!(
                        "committed values differ at {index}: {seen:?} vs {applied:?}"
                    ));
                }
            }
            value = Some(applied);
            count += 1;
        }
        let command = value.and_then(|(_, payload)| match payload {
            Payload::Command(command) => Some(command.clone()),
            _ => None,
        });
        (count, command)
    }

    /// The lab's `one`: offer `command` to the nodes in turn until one leader accepts it, then
    /// wait up to 200 ticks for `expected` nodes to apply it; retry for up to 1,000 ticks in all
    /// if `retry`. Answers the index it was committed at.
    pub fn one(&mut self, command: C, expected: usize, retry: bool) -> Result<LogIndex, String> {
        let deadline = self.now + 1_000;
        let mut start = 0;
        while self.now < deadline {
            let mut accepted = None;
            for offset in 0..self.nodes.len() {
                let position = (start + offset) % self.nodes.len();
                let id = self.nodes[position].id;
                if !self.network.is_connected(id) || self.nodes[position].raft.is_none() {
                    continue;
                }
                if let Some((index, _)) = self.propose(id, command.clone()) {
                    accepted = Some(index);
                    break;
                }
            }
            start = (start + 1) % self.nodes.len();
            if let Some(index) = accepted {
                let wait_until = self.now + 200;
                while self.now < wait_until {
                    let (count, value) = self.n_committed(index);
                    if count >= expected && value.as_ref() == Some(&command) {
                        return Ok(index);
                    }
                    self.tick();
                }
                if !retry {
                    return Err(format!(
                        "one({command:?}) failed to reach agreement (seed {})",
                        self.seed()
                    ));
                }
            } else {
                self.run(5);
            }
        }
        Err(format!(
            "one({command:?}) failed to reach agreement (seed {})",
            self.seed()
        ))
    }

    /// The lab's `wait`: up to ~1,000 ticks for `expected` nodes to apply `index`; answers the
    /// value, or `None` if some node moved past `start_term` meanwhile (the entry may be lost).
    pub fn wait(
        &mut self,
        index: LogIndex,
        expected: usize,
        start_term: Option<Term>,
    ) -> Option<C> {
        let mut pause = 1;
        for _ in 0..30 {
            let (count, value) = self.n_committed(index);
            if count >= expected {
                return value;
            }
            self.run(pause);
            pause = (pause * 2).min(100);
            if let Some(term) = start_term {
                let moved = self
                    .nodes
                    .iter()
                    .filter_map(|node| node.raft.as_ref())
                    .any(|raft| raft.term() > term);
                if moved {
                    return None;
                }
            }
        }
        let (count, value) = self.n_committed(index);
        if count < expected {
            self.fail(&format!(
                "only {count} nodes of {expected} committed index {index}"
            ));
        }
        value
    }

    /// The highest index applied by every node that is up, and by at least one node.
    pub fn applied_range(&self) -> (LogIndex, LogIndex) {
        let ups = self.nodes.iter().filter_map(|node| node.raft.as_ref());
        let min = ups.map(|raft| raft.applied_index()).min().unwrap_or(0);
        (min, self.checker.committed().len() as LogIndex)
    }

    // ----- stepping and carrying out actions -----

    /// Steps node `position` with `event` and carries out its actions (with batching hosts,
    /// a random prefix of its buffer). Answers the first and last index and the term a
    /// proposal or batch was given, if the step accepted one.
    fn step_node(
        &mut self,
        position: usize,
        event: Event<C>,
    ) -> Option<(LogIndex, LogIndex, Term)> {
        let batching = self.config.batching;
        let mut actions = if batching {
            std::mem::take(&mut self.nodes[position].out)
        } else {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            scratch
        };
        let id = self.nodes[position].id;
        event.hash(&mut self.trace);
        id.hash(&mut self.trace);
        let traced_event = (self.debug_trace_capacity > 0).then(|| format!("{event:?}"));
        let raft = self.nodes[position]
            .raft
            .as_mut()
            .expect("stepping a crashed node");
        let start = actions.len();
        raft.step_into(event, &mut actions);
        // `Config::apply_by_range`: the host reads each range before it steps the node again
        // (a batching host keeps the copy until it carries the action out).
        for action in &mut actions[start..] {
            if let Action::ApplyRange { first, last } = *action {
                let Some(entries) = raft.committed_entries(first, last) else {
                    let id = self.nodes[position].id;
                    self.fail(&format!(
                        "node {id} handed out range {first}..={last} it does not hold"
                    ));
                };
                *action = Action::Apply(Entries::from_slice(entries));
                self.stats.ranges_read += 1;
            }
        }
        self.stats.steps += 1;
        self.stats.steps_into_waiting_buffer += u64::from(start > 0);
        actions[start..].hash(&mut self.trace);
        if let Some(event) = traced_event {
            self.record_debug(format!(
                "tick {} node {id}: {event}\n    -> {:?} (after {start} waiting)",
                self.now,
                &actions[start..]
            ));
        }
        if let Some(refusal) = actions[start..].iter().find_map(|action| match action {
            Action::ProposalRejected(error) => Some(error.clone()),
            _ => None,
        }) {
            self.last_refusal = Some(refusal);
        }
        if let Some(refusal) = actions[start..].iter().find_map(|action| match action {
            Action::TransferRejected(error) => Some(*error),
            _ => None,
        }) {
            self.last_transfer_refusal = Some(refusal);
        }
        self.note_configurations(id, &actions[start..]);
        // A batching host learns the outcome of a proposal from the step's answer, whether or
        // not it carries it out now.
        let mut outcome = if batching {
            actions[start..].iter().find_map(accepted_range)
        } else {
            None
        };
        let mut carry = actions.len();
        if batching && self.rng.in_range(0, 2) == 0 {
            carry = self.rng.in_range(0, carry as u64 + 1) as usize;
        }
        let crash_at = self
            .planned_crash_point(id, &actions)
            .or_else(|| self.draw_crash_point(carry));
        if let Some(crash_at) = crash_at {
            carry = crash_at;
        }
        let batch = actions.len();
        for action in actions.drain(..carry) {
            if let Some(result) = self.carry_out(position, action) {
                outcome = outcome.or(Some(result));
            }
        }
        if let Some(executed) = crash_at {
            // The rest of the buffer was never carried out: it is lost with the node.
            actions.clear();
            self.crash_mid_batch(position, executed, batch);
        }
        if batching {
            self.stats.actions_left_waiting += actions.len() as u64;
            self.nodes[position].out = actions;
        } else {
            self.scratch = actions;
        }
        if let Some(raft) = &self.nodes[position].raft {
            self.picture
                .observe(id, self.now, lane_state(raft), raft.commit_index());
            self.after_step(position, raft.role(), raft.term());
        }
        if let Some((index, state)) = self.nodes[position].snapshot_due.take() {
            if self.nodes[position].raft.is_some() {
                self.take_snapshot(position, index, state);
            }
        }
        outcome
    }

    /// The host's state machine snapshots its `state` after `index` (its last applied index,
    /// or one before it within the last `Apply`, as if taken before the next entry was
    /// applied) and reports it to its node.
    fn take_snapshot(&mut self, position: usize, index: LogIndex, state: u64) {
        let data = encode_state(index, state, self.config.snapshot_padding);
        self.nodes[position].taken.push((index, data.clone()));
        self.stats.snapshots_taken += 1;
        let id = self.nodes[position].id;
        self.note(SimEvent::SnapshotTaken { node: id, index });
        self.step_node(position, Event::SnapshotTaken { index, data });
    }

    /// Timeline: the configuration entries a leader appended in this step (a leader persists
    /// only entries it appends).
    fn note_configurations(&mut self, id: NodeId, actions: &[Action<C>]) {
        let leads = self
            .raft(id)
            .is_some_and(|raft| raft.role() == Role::Leader || raft.leader() == Some(id));
        if !leads {
            return;
        }
        let mut proposed = Vec::new();
        for action in actions {
            if let Action::Persist(Persist::Entries(entries)) = action {
                for entry in entries.iter() {
                    if let Some(membership) = entry.payload.as_membership() {
                        proposed.push(SimEvent::MembershipProposed {
                            leader: id,
                            index: entry.index,
                            membership: membership.clone(),
                        });
                    }
                }
            }
        }
        for event in proposed {
            self.note(event);
        }
    }

    fn planned_crash_point(&mut self, id: NodeId, actions: &[Action<C>]) -> Option<usize> {
        let batch = actions.len();
        match self.crash_plan {
            Some((target, prefix, kind)) if target == id && batch > 0 && kind.matches(actions) => {
                self.crash_plan = None;
                let executed = prefix.min(batch);
                self.last_planned_crash = Some((executed, batch));
                Some(executed)
            }
            _ => None,
        }
    }

    fn draw_crash_point(&mut self, batch: usize) -> Option<usize> {
        if batch == 0 || self.crash_in_batch_per_million == 0 {
            return None;
        }
        if self.rng.in_range(0, 1_000_000) >= u64::from(self.crash_in_batch_per_million) {
            return None;
        }
        Some(self.rng.in_range(0, batch as u64) as usize)
    }

    fn crash_mid_batch(&mut self, position: usize, executed: usize, batch: usize) {
        self.stats.crashes_mid_batch += 1;
        self.take_down(position, executed, batch);
    }

    /// The crash itself: volatile state and held messages gone, the disk kept.
    fn take_down(&mut self, position: usize, executed: usize, batch: usize) {
        let id = self.nodes[position].id;
        self.nodes[position].raft = None;
        self.nodes[position].out.clear();
        if self.nodes[position].disk.is_some() {
            // The writes in flight: a prefix of them reached the disk, the rest is lost. What
            // the node's actions wrote is now what its disk holds.
            let flying = self.nodes[position].writes.len() as u64;
            let kept = self.rng.in_range(0, flying + 1);
            let node = &mut self.nodes[position];
            for _ in 0..kept {
                node.complete_first_write();
            }
            node.writes.clear();
            node.unreported = None;
            node.reported.clear();
            node.durable = node.disk().clone();
            self.stats.entry_writes_lost += flying - kept;
            let node = &self.nodes[position];
            self.checker.on_writes_lost(id, node.durable.view());
        }
        self.network.drop_inbox(id);
        self.checker.on_down(id);
        self.stats.crashes += 1;
        let commit = self.picture_commit(id);
        self.picture.observe(id, self.now, LaneState::Down, commit);
        self.note(SimEvent::Crashed {
            node: id,
            executed,
            batch,
        });
    }

    /// With asynchronous persistence, before a snapshot is stored: every entry write in
    /// flight completes first (the host's side of the ordering rule). Before a snapshot the
    /// host took, they are reported at the next tick; an installed snapshot ends them, and
    /// they are never reported (`Event::Persisted`).
    fn flush_writes(&mut self, position: usize, installed: bool) {
        let node = &mut self.nodes[position];
        while node.complete_first_write() {}
        if installed {
            node.unreported = None;
            node.reported.clear();
        }
    }

    /// Carries out one action of node `position`, checking it. Answers the first and last
    /// index and the term of an accepted proposal or batch.
    fn carry_out(
        &mut self,
        position: usize,
        action: Action<C>,
    ) -> Option<(LogIndex, LogIndex, Term)> {
        if let Some(accepted) = accepted_range(&action) {
            return Some(accepted);
        }
        let id = self.nodes[position].id;
        match action {
            Action::Persist(Persist::HardState(hard_state)) => {
                let before = self.nodes[position].durable.hard_state;
                let result = self.checker.on_persist_hard_state(id, before, hard_state);
                self.check(result);
                let node = &mut self.nodes[position];
                node.durable.hard_state = hard_state;
                if let Some(disk) = node.disk.as_mut() {
                    disk.hard_state = hard_state; // Synchronous in both modes.
                }
            }
            Action::Persist(Persist::Entries(entries)) => {
                let result = self.checker.on_persist_entries(
                    id,
                    self.nodes[position].durable.view(),
                    &entries,
                );
                self.check(result);
                let node = &mut self.nodes[position];
                node.durable.write(&entries);
                if node.disk.is_some() {
                    // In the background: it completes later, after the writes before it; one
                    // in 32 is slow (up to 8 times the delay), holding up those after it.
                    let mut delay = self.rng.in_range(0, self.config.write_delay_ticks + 1);
                    if self.rng.in_range(0, 32) == 0 {
                        delay *= 8;
                    }
                    let after = node.writes.back().map_or(0, |(due, ..)| *due);
                    let term = node.durable.hard_state.term;
                    node.writes
                        .push_back(((self.now + delay).max(after), entries, term));
                }
            }
            Action::Persist(Persist::Snapshot(meta)) => {
                let result = self.checker.check_snapshot_membership(id, &meta);
                self.check(result);
                self.checker.on_durable_base(id, meta.last_index, false);
                let node = &mut self.nodes[position];
                // The snapshot taken at this index; any taken before it are superseded.
                let Some(found) = node.taken.iter().position(|(at, _)| *at == meta.last_index)
                else {
                    self.fail(&format!(
                        "node {id} recorded a snapshot at {} its host never took",
                        meta.last_index
                    ));
                };
                let (_, data) = node.taken.drain(..=found).next_back().expect("found above");
                let taken_at = decode_state(&data).0;
                if taken_at != meta.last_index {
                    self.fail(&format!(
                        "node {id} recorded a snapshot at {} for the one taken at {taken_at}",
                        meta.last_index
                    ));
                }
                // Delete the stored entries the snapshot covers.
                let snapshot = Snapshot { meta: *meta, data };
                self.flush_writes(position, false);
                let node = &mut self.nodes[position];
                if let Some(disk) = node.disk.as_mut() {
                    disk.store_snapshot(snapshot.clone(), false);
                }
                node.durable.store_snapshot(snapshot, false);
            }
            Action::InstallSnapshot(snapshot) => {
                let (index, state) = decode_state(&snapshot.data);
                if index != snapshot.meta.last_index {
                    self.fail(&format!("node {id} installed a snapshot with foreign data"));
                }
                let result = self.checker.on_install(id, index, state);
                self.check(result);
                let result = self.checker.check_snapshot_membership(id, &snapshot.meta);
                self.check(result);
                self.checker.on_durable_base(id, index, true);
                // Every value the snapshot covers is now part of this node's state, as the
                // lab's tester records it.
                let committed = self.checker.committed();
                let node = &mut self.nodes[position];
                if node.applied.len() <= index as usize {
                    node.applied.resize(index as usize + 1, None);
                }
                for (slot, value) in node.applied[1..=index as usize].iter_mut().enumerate() {
                    if value.is_none() {
                        *value = Some(committed[slot].clone());
                    }
                }
                node.state = (index, state);
                node.snapshot_due = None;
                self.flush_writes(position, true);
                let node = &mut self.nodes[position];
                if let Some(disk) = node.disk.as_mut() {
                    disk.store_snapshot((*snapshot).clone(), true);
                }
                node.durable.store_snapshot((*snapshot).clone(), true);
                self.stats.snapshots_installed += 1;
                self.note(SimEvent::SnapshotInstalled { node: id, index });
            }
            Action::SnapshotRefused(error) => {
                // A batching host may take a snapshot while the node's install of a newer one
                // from its leader still waits in the buffer: refusing it is right. A node that
                // joined empty refuses a snapshot before the first configuration it knows: its
                // host snapshots again later. Any other refusal means the host asked for
                // something the node never handed out.
                let newer_installed = matches!(error, SnapshotError::NotNewer { .. });
                let unknown = matches!(error, SnapshotError::MembershipUnknown { .. });
                if !(unknown || self.config.batching && newer_installed) {
                    self.fail(&format!("node {id} refused its host's snapshot: {error}"));
                }
            }
            Action::Send { to, message } => {
                let node = &self.nodes[position];
                // What a leader's commit index is judged against while it has not applied it.
                let reports_commit = matches!(
                    message,
                    Message::AppendEntries { .. } | Message::Commit { .. }
                );
                let disks: Vec<LogView<'_, C>> = if node.disk.is_some() && reports_commit {
                    self.nodes.iter().map(|n| n.disk().view()).collect()
                } else {
                    Vec::new()
                };
                let sender = SenderView {
                    hard_state: node.durable.hard_state,
                    written: node.durable.view(),
                    disk: node.disk().view(),
                    disks: &disks,
                };
                let result = self.checker.on_send(id, to, &message, sender);
                self.check(result);
                self.stats.messages_sent += 1;
                if let Message::InstallSnapshot { chunk, .. } = &message {
                    self.stats.snapshot_chunks_sent += 1;
                    self.stats.snapshot_bytes_sent += chunk.data.len() as u64;
                }
                let bytes = message.size_bytes() as u64;
                self.stats.bytes_sent += bytes;
                let receiver_down = self
                    .nodes
                    .iter()
                    .any(|node| node.id == to && node.raft.is_none());
                if receiver_down {
                    let stats = &mut self.stats;
                    stats.messages_to_down_nodes += 1;
                    stats.bytes_to_down_nodes += bytes;
                    stats.largest_message_to_down_node =
                        stats.largest_message_to_down_node.max(bytes);
                }
                if message.is_request() {
                    self.stats.rpcs_sent += 1;
                }
                if !self.nodes.iter().any(|node| node.id == to) {
                    self.stats.messages_dropped += 1;
                    return None;
                }
                let sent = self.network.send(id, to, message, self.now, &mut self.rng);
                self.stats.messages_dropped += u64::from(sent.dropped);
                self.stats.messages_duplicated += u64::from(sent.duplicated);
            }
            Action::Apply(entries) => {
                let term = self.nodes[position].durable.hard_state.term;
                // An entry is applied only once it is on the applier's disk: a restart finds
                // what was applied.
                let disk = self.nodes[position].disk().view();
                if let Some(entry) = entries
                    .iter()
                    .find(|entry| entry.index > disk.base && !disk.holds(entry.index, entry.term))
                {
                    self.fail(&format!(
                        "node {id} applied entry {} (term {}) before it was on its disk",
                        entry.index, entry.term
                    ));
                }
                let durable_logs: Vec<LogView<'_, C>> =
                    self.nodes.iter().map(|n| n.disk().view()).collect();
                let configs_before = self.checker.committed_configs().len();
                let result = self.checker.on_apply(id, &entries, term, &durable_logs);
                self.check(result);
                let configs = self.checker.committed_configs().len();
                if configs > configs_before {
                    self.stats.configurations_committed += (configs - configs_before) as u64;
                    let committed = self.checker.committed_configs()[configs_before..].to_vec();
                    for (index, membership) in committed {
                        self.note(SimEvent::MembershipCommitted { index, membership });
                    }
                }
                let every = self.config.snapshot_every;
                let node = &mut self.nodes[position];
                for entry in entries {
                    node.state = (entry.index, chain(node.state.1, &entry));
                    if every.is_some_and(|every| (entry.index + 1) % every == 0) {
                        node.snapshot_due = Some((entry.index, node.state.1));
                    }
                    let slot = entry.index as usize;
                    if node.applied.len() <= slot {
                        node.applied.resize(slot + 1, None);
                    }
                    node.applied[slot] = Some((entry.term, entry.payload));
                }
            }
            Action::ReadReady { context, index } => {
                let result = self.checker.on_read_answered(id, context, Some(index));
                self.check(result);
                self.stats.reads_ready += 1;
            }
            Action::ReadFailed { context, .. } => {
                let result = self.checker.on_read_answered(id, context, None);
                self.check(result);
                self.stats.reads_failed += 1;
            }
            Action::TransferStarted { to } => {
                self.stats.transfers_started += 1;
                self.note(SimEvent::TransferStarted { from: id, to });
            }
            Action::TransferAborted { to } => {
                self.stats.transfers_aborted += 1;
                self.note(SimEvent::TransferAborted { from: id, to });
            }
            Action::ProposalAccepted { .. }
            | Action::BatchAccepted { .. }
            | Action::ProposalRejected(_)
            | Action::TransferRejected(_) => {}
            Action::ApplyRange { .. } => unreachable!("read at once in `step_node`"),
        }
        None
    }

    fn after_step(&mut self, position: usize, role: Role, term: Term) {
        let node = &self.nodes[position];
        let raft = node.raft.as_ref().expect("checked by the caller");
        // Once every action stepped was carried out, memory and disk agree: everything in the
        // log is durable.
        let durable = &node.durable;
        let in_memory_last = raft.last_index();
        let durable_last = durable.view().last_index();
        let settled = node.out.is_empty();
        if settled
            && (in_memory_last != durable_last
                || raft.last_term() != durable.view().last_term()
                || raft.hard_state() != durable.hard_state)
        {
            self.fail(&format!(
                "node {} holds state its Persist actions did not write: memory ({}, {:?}) \
                 disk ({durable_last}, {:?})",
                node.id,
                in_memory_last,
                raft.hard_state(),
                durable.hard_state
            ));
        }
        let was = self.checker.nodes.get(&node.id).and_then(|g| g.last_role);
        if role == Role::Leader {
            let peers: Vec<PeerView<'_, C>> = self
                .nodes
                .iter()
                .map(|n| PeerView {
                    id: n.id,
                    term: n.raft.as_ref().map(|r| r.term()),
                    durable: n.disk().view(),
                })
                .collect();
            let result = self.checker.on_leader_progress(raft, &peers);
            self.check(result);
        }
        let result = self.checker.after_step(raft);
        self.check(result);
        if settled {
            let result = self.checker.check_membership(raft, durable.base);
            self.check(result);
        }
        let held = raft.entries().len() as u64;
        self.stats.peak_entries_held = self.stats.peak_entries_held.max(held);
        if role == Role::Leader && was != Some((Role::Leader, term)) {
            self.stats.elections += 1;
            let id = node.id;
            self.note(SimEvent::LeaderElected { node: id, term });
        }
    }

    fn check(&self, result: Result<(), String>) {
        if let Err(violation) = result {
            self.fail(&format!("invariant violated: {violation}"));
        }
    }

    fn record_debug(&mut self, line: String) {
        if self.debug_trace.len() >= self.debug_trace_capacity {
            self.debug_trace.pop_front();
        }
        self.debug_trace.push_back(line);
    }

    /// Prints the last steps `PURERAFT_SIM_TRACE` asked to keep (none by default).
    fn print_debug_trace(&self) {
        for line in &self.debug_trace {
            eprintln!("{line}");
        }
    }

    fn fail(&self, what: &str) -> ! {
        self.print_debug_trace();
        let picture = match self.write_failure_svg() {
            Ok(path) => format!("picture of the run up to here: {}", path.display()),
            Err(error) => format!("no picture of the run: {error}"),
        };
        panic!(
            "{what} (seed {}, tick {}; replay with the same seed; {picture})",
            self.config.seed, self.now
        );
    }

    /// Writes the picture of the run so far where a failure's goes: the directory
    /// `PURERAFT_SVG_DIR` names, or the system's temporary directory, as
    /// `pureraft-seed-SEED-tick-TICK.svg`.
    fn write_failure_svg(&self) -> std::io::Result<std::path::PathBuf> {
        let directory = std::env::var_os("PURERAFT_SVG_DIR")
            .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
        std::fs::create_dir_all(&directory)?;
        let path = directory.join(format!(
            "pureraft-seed-{}-tick-{}.svg",
            self.config.seed, self.now
        ));
        self.write_svg(&path, None)?;
        Ok(path)
    }

    fn note(&mut self, event: SimEvent) {
        self.draw(&event);
        if self.record_timeline {
            self.timeline.push((self.now, event));
        }
    }

    /// Adds `event` to the picture.
    fn draw(&mut self, event: &SimEvent) {
        let now = self.now;
        let picture = &mut self.picture;
        match event {
            // Lanes show leadership from the nodes' roles, observed after every step.
            SimEvent::LeaderElected { .. } | SimEvent::SnapshotTaken { .. } => {}
            &SimEvent::Crashed {
                node,
                executed,
                batch,
            } => picture.crash(now, node, executed, batch),
            &SimEvent::Restarted { node } => picture.restart(now, node),
            &SimEvent::Disconnected { node } => picture.disconnected(now, node),
            &SimEvent::Connected { node } => picture.connected(now, node),
            SimEvent::Partitioned { groups } => picture.partitioned(now, groups),
            &SimEvent::LinkCut { from, to } => picture.link_cut(now, from, to),
            SimEvent::Healed => picture.healed(now),
            &SimEvent::Paused { node } => picture.paused(now, node),
            &SimEvent::Resumed { node } => picture.resumed(now, node),
            &SimEvent::SnapshotInstalled { node, index } => {
                picture.snapshot_installed(now, node, index)
            }
            &SimEvent::NodeAdded { node } => picture.node_added(now, node),
            &SimEvent::Retired { node } => picture.retired(now, node),
            SimEvent::MembershipProposed {
                leader,
                index,
                membership,
            } => picture.membership_proposed(now, *leader, *index, membership),
            SimEvent::MembershipCommitted { index, membership } => {
                picture.membership_committed(now, *index, membership)
            }
            &SimEvent::TransferStarted { from, to } => picture.transfer_started(now, from, to),
            &SimEvent::TransferAborted { from, to } => picture.transfer_aborted(now, from, to),
        }
    }

    /// The commit index node `id`'s lane shows: its own if it is up, else the last seen.
    fn picture_commit(&self, id: NodeId) -> LogIndex {
        self.raft(id)
            .map_or_else(|| self.picture.last_commit(id), |raft| raft.commit_index())
    }

    fn position(&self, id: NodeId) -> usize {
        match usize::try_from(id) {
            Ok(i) if i >= 1 && i <= self.nodes.len() => i - 1,
            _ => self.fail(&format!("no node {id}")),
        }
    }

    fn node(&self, id: NodeId) -> &SimNode<C> {
        &self.nodes[self.position(id)]
    }
}

impl<C> Drop for Sim<C> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "pureraft sim: failed run had seed {} (tick {}); rerun with this seed to replay",
                self.config.seed, self.now
            );
        }
    }
}

/// The first and last index and the term of an accepted proposal or batch.
fn accepted_range<C>(action: &Action<C>) -> Option<(LogIndex, LogIndex, Term)> {
    match *action {
        Action::ProposalAccepted { index, term } => Some((index, index, term)),
        Action::BatchAccepted {
            first_index,
            last_index,
            term,
        } => Some((first_index, last_index, term)),
        _ => None,
    }
}

/// A simulated state machine's snapshot: its last index and state, then `padding` bytes
/// derived from them.
fn encode_state(index: LogIndex, state: u64, padding: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(16 + padding);
    data.extend_from_slice(&index.to_le_bytes());
    data.extend_from_slice(&state.to_le_bytes());
    data.extend((0..padding).map(|k| (state >> (k % 8 * 8)) as u8 ^ k as u8));
    data
}

/// The (index, state) of a snapshot made by `encode_state`; (0, 0) for foreign data.
fn decode_state(data: &[u8]) -> (LogIndex, u64) {
    match (data.get(..8), data.get(8..16)) {
        (Some(index), Some(state)) => (
            u64::from_le_bytes(index.try_into().expect("8 bytes")),
            u64::from_le_bytes(state.try_into().expect("8 bytes")),
        ),
        _ => (0, 0),
    }
}

/// A per-node, per-incarnation seed derived from the simulation's seed.
fn mix(seed: u64, id: NodeId, incarnation: u64) -> u64 {
    let mut rng = Rng::new(seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ incarnation << 32);
    rng.next_u64()
}

/// What a node's lane shows while it is up.
fn lane_state<C: Command>(raft: &Raft<C>) -> LaneState {
    match raft.role() {
        Role::Leader => LaneState::Leader(raft.term()),
        Role::PreCandidate => LaneState::PreCandidate,
        Role::Candidate => LaneState::Candidate,
        Role::Follower => {
            let membership = raft.membership();
            if membership.is_learner(raft.id()) {
                LaneState::Learner
            } else if membership.contains(raft.id()) {
                LaneState::Follower
            } else {
                LaneState::Outsider
            }
        }
    }
}
