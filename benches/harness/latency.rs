//! `commit3_fsync`: commit latency, in ticks, when the disk is slow. A 3-node cluster on a
//! network that delivers every message `net_ticks` after it is sent, each node with a disk
//! whose sync takes `fsync_ticks`. The disk commits in groups: writes that arrive while a sync
//! runs go together into the next one. The leader (node 1) is given one proposal per tick;
//! the latency of a proposal is the number of ticks from its step to the leader's `Apply` of it.
//!
//! Two hosts, same disk:
//! * **synchronous** (the default contract): a host whose buffer holds a `Persist` writes every
//!   `Persist` in it in one sync, then carries out the whole buffer. Events that arrive
//!   meanwhile are stepped into a new buffer, carried out after. So the leader's appends leave
//!   only once its own write is durable, and a follower answers only once its write is.
//!   Expected latency: about `2 * fsync + 2 * net`.
//! * **asynchronous** (`Config::async_persistence`): entry writes go to the disk in the
//!   background and the host carries out the later actions at once; when a sync completes it
//!   steps `Event::Persisted` for the last entry it made durable. Hard state stays synchronous
//!   as above. The leader's write runs beside the round trip to the followers: expected
//!   latency about `fsync + 2 * net` once `fsync <= 2 * net + fsync` (always).
//!
//! Deterministic: no clock, no randomness but the nodes' seeded election timers.

use std::collections::VecDeque;

use pureraft::{Action, Config, Event, LogIndex, Message, NodeId, Persist, Raft, Restored, Term};

use super::{payload, Cmd};

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Latency {
    /// Proposals committed and measured.
    pub commits: u64,
    /// Mean ticks from proposal to the leader's apply.
    pub mean: f64,
    /// Median.
    pub median: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Disk syncs on the leader per proposal.
    pub leader_syncs_per_commit: f64,
}

/// A write waiting for its sync: the entry to report once durable, with the term it was
/// returned in (an asynchronous entry write), or `None` (a synchronous host's buffer, which
/// waits).
type Write = Option<(LogIndex, Term)>;

/// What a node's disk is doing.
#[derive(Default)]
struct Disk {
    /// Writes waiting for the next sync.
    waiting: Vec<Write>,
    /// The sync running: when it completes and the writes it covers.
    syncing: Option<(u64, Vec<Write>)>,
    /// Syncs started.
    syncs: u64,
}

/// One node and its host.
struct Host {
    raft: Raft<Cmd>,
    /// Actions stepped and not yet carried out.
    out: Vec<Action<Cmd>>,
    /// A synchronous host's buffer waiting for its sync (its `Persist` actions taken out).
    held: Vec<Action<Cmd>>,
    /// True while `held` waits.
    blocked: bool,
    /// The term of the last hard state written.
    hard_term: Term,
    /// A synchronous host's buffer whose sync completed: carried out next, before `out`.
    ready: Vec<Action<Cmd>>,
    disk: Disk,
}

/// One run: `fsync_ticks` per disk sync, `net_ticks` per message, asynchronous persistence or
/// not, `proposals` proposals at one per tick once node 1 leads.
pub fn run(fsync_ticks: u64, net_ticks: u64, async_writes: bool, proposals: u64) -> Latency {
    let mut hosts: Vec<Host> = (1..=3)
        .map(|id| {
            let mut config = Config::new(id);
            config.election_ticks = 20 + 4 * (fsync_ticks + net_ticks);
            config.heartbeat_ticks = 3;
            config.max_inflight_appends = 1024;
            config.max_uncommitted_entries = 1 << 20;
            config.async_persistence = async_writes;
            // Node 1's timer fires first: a short timeout for it alone.
            if id != 1 {
                config.election_ticks *= 4;
            }
            let raft = Raft::new(config, Restored::bootstrap(1..=3)).expect("a valid config");
            Host {
                raft,
                out: Vec::new(),
                held: Vec::new(),
                blocked: false,
                hard_term: 0,
                ready: Vec::new(),
                disk: Disk::default(),
            }
        })
        .collect();
    let mut network: VecDeque<(u64, NodeId, NodeId, Message<Cmd>)> = VecDeque::new();
    // Proposal tick by index, for the leader's proposals being measured.
    let mut proposed: VecDeque<(LogIndex, u64)> = VecDeque::new();
    let mut latencies: Vec<u64> = Vec::new();
    let mut asked = 0;
    let mut leader_syncs_at_start = 0;
    let mut now = 0;
    while (latencies.len() as u64) < proposals {
        now += 1;
        assert!(now < 1_000_000, "the run does not converge");
        for host in &mut hosts {
            host.raft.step_into(Event::Tick, &mut host.out);
        }
        // Proposals start once node 1 leads and has applied its no-op.
        let leads = hosts[0].raft.role() == pureraft::Role::Leader
            && (asked > 0 || hosts[0].raft.applied_index() > 0);
        if leads && asked < proposals {
            if asked == 0 {
                leader_syncs_at_start = hosts[0].disk.syncs;
            }
            asked += 1;
            let host = &mut hosts[0];
            let before = host.out.len();
            host.raft
                .step_into(Event::Propose(payload()), &mut host.out);
            for action in &host.out[before..] {
                if let Action::ProposalAccepted { index, .. } = action {
                    proposed.push_back((*index, now));
                }
            }
        }
        // Everything that happens at `now`, until nothing more does.
        loop {
            let mut busy = false;
            while network.front().is_some_and(|(due, ..)| *due <= now) {
                let (_, from, to, message) = network.pop_front().expect("checked");
                let host = &mut hosts[(to - 1) as usize];
                host.raft
                    .step_into(Event::Receive { from, message }, &mut host.out);
                busy = true;
            }
            for (position, host) in hosts.iter_mut().enumerate() {
                busy |= host.complete_sync(now);
                busy |= host.carry_out(now, net_ticks, &mut network, |index, leader_applied| {
                    if position == 0 {
                        while proposed.front().is_some_and(|(at, _)| *at <= index) {
                            let (_, asked_at) = proposed.pop_front().expect("checked");
                            latencies.push(leader_applied - asked_at);
                        }
                    }
                });
                busy |= host.start_sync(now, fsync_ticks);
            }
            if !busy {
                break;
            }
        }
    }
    let commits = latencies.len() as u64;
    let mean = latencies.iter().sum::<u64>() as f64 / commits as f64;
    latencies.sort_unstable();
    let at = |q: f64| latencies[((commits as f64 - 1.0) * q).round() as usize];
    Latency {
        commits,
        mean,
        median: at(0.5),
        p99: at(0.99),
        leader_syncs_per_commit: (hosts[0].disk.syncs - leader_syncs_at_start) as f64
            / commits as f64,
    }
}

impl Host {
    /// Completes the sync due by `now`: asynchronous writes are reported, a synchronous
    /// buffer is carried out next. Answers whether anything happened.
    fn complete_sync(&mut self, now: u64) -> bool {
        let Some((due, _)) = &self.disk.syncing else {
            return false;
        };
        if *due > now {
            return false;
        }
        let (_, writes) = self.disk.syncing.take().expect("checked");
        let mut report = None;
        for write in writes {
            match write {
                Some(entry) => report = Some(entry),
                // The held buffer is durable: carry it out before anything stepped since.
                None => {
                    std::mem::swap(&mut self.held, &mut self.ready);
                    self.blocked = false;
                }
            }
        }
        if let Some((index, term)) = report {
            self.raft
                .step_into(Event::Persisted { index, term }, &mut self.out);
        }
        true
    }

    /// Starts a sync of the waiting writes if the disk is idle.
    fn start_sync(&mut self, now: u64, fsync_ticks: u64) -> bool {
        if self.disk.syncing.is_some() || self.disk.waiting.is_empty() {
            return false;
        }
        let writes = std::mem::take(&mut self.disk.waiting);
        self.disk.syncing = Some((now + fsync_ticks, writes));
        self.disk.syncs += 1;
        true
    }

    /// Carries out what can be carried out now: nothing while a synchronous buffer waits for
    /// its sync; a buffer that holds a synchronous write is handed to the disk whole.
    /// `applied(index, now)` is told of every `Apply`. Answers whether anything happened.
    fn carry_out(
        &mut self,
        now: u64,
        net_ticks: u64,
        network: &mut VecDeque<(u64, NodeId, NodeId, Message<Cmd>)>,
        mut applied: impl FnMut(LogIndex, u64),
    ) -> bool {
        let mut busy = !self.ready.is_empty();
        let ready = std::mem::take(&mut self.ready);
        self.perform(ready, now, net_ticks, network, &mut applied);
        if self.blocked || self.out.is_empty() {
            return busy;
        }
        busy = true;
        let async_writes = self.raft.config().async_persistence;
        let waits = self.out.iter().any(|action| match action {
            Action::Persist(Persist::Entries(_)) => !async_writes,
            Action::Persist(_) | Action::InstallSnapshot(_) => true,
            _ => false,
        });
        if waits {
            // Written in one sync, then carried out (the `Persist` actions are then done). An
            // asynchronous host reports the entry writes among them too.
            let mut report = None;
            for action in &self.out {
                match action {
                    Action::Persist(Persist::HardState(hard_state)) => {
                        self.hard_term = hard_state.term;
                    }
                    Action::Persist(Persist::Entries(entries)) if async_writes => {
                        let last = entries.last().expect("never empty");
                        report = Some((last.index, self.hard_term));
                    }
                    _ => {}
                }
            }
            self.held = std::mem::take(&mut self.out);
            self.held
                .retain(|action| !matches!(action, Action::Persist(_)));
            self.blocked = true;
            if report.is_some() {
                self.disk.waiting.push(report);
            }
            self.disk.waiting.push(None);
            return busy;
        }
        let out = std::mem::take(&mut self.out);
        self.perform(out, now, net_ticks, network, &mut applied);
        busy
    }

    /// Carries out `actions` in order at `now`: entry writes to the disk (only an
    /// asynchronous host has them here), sends onto the network, applies told to `applied`.
    fn perform(
        &mut self,
        actions: Vec<Action<Cmd>>,
        now: u64,
        net_ticks: u64,
        network: &mut VecDeque<(u64, NodeId, NodeId, Message<Cmd>)>,
        applied: &mut impl FnMut(LogIndex, u64),
    ) {
        let from = self.raft.id();
        for action in actions {
            match action {
                Action::Persist(Persist::Entries(entries)) => {
                    // Reported with the term of the last hard state written: the node's now.
                    let last = entries.last().expect("never empty");
                    self.disk.waiting.push(Some((last.index, self.hard_term)));
                }
                Action::Send { to, message } => {
                    network.push_back((now + net_ticks, from, to, message));
                }
                Action::Apply(entries) => {
                    if let Some(last) = entries.last() {
                        applied(last.index, now);
                    }
                }
                _ => {}
            }
        }
    }
}
