//! Random fault schedules: a safety phase with faults, then a liveness phase with faults
//! healed (after TigerBeetle's VOPR).

use super::{NetworkConfig, Sim};

/// See [`Sim::liveness_bound_ticks`].
const LIVENESS_ELECTION_TIMEOUTS: u64 = 10;
use crate::types::{LogIndex, NodeId};

/// How often each fault strikes, per million ticks (or per million batches for
/// `crash_in_batch_per_million`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Faults {
    /// A random running node crashes between steps.
    pub crash_per_million: u32,
    /// A node crashes part-way through an action batch (per million batches).
    pub crash_in_batch_per_million: u32,
    /// A random crashed node restarts.
    pub restart_per_million: u32,
    /// The cluster is split into two random groups.
    pub partition_per_million: u32,
    /// A random one-way link is cut.
    pub cut_link_per_million: u32,
    /// Partitions and cut links heal.
    pub heal_per_million: u32,
    /// A random node pauses; paused nodes resume at the same rate.
    pub pause_per_million: u32,
    /// A client proposes to the node it believes leads (with batching hosts, a quarter of
    /// these are batches of 2 to 8 commands).
    pub propose_per_million: u32,
    /// The network during the safety phase.
    pub network: NetworkConfig,
    /// A long outage begins: a random running node goes down for `outage_ticks` ticks, then
    /// restarts (random restarts leave it down meanwhile). One outage at a time.
    pub outage_per_million: u32,
    /// How long an outage lasts, in ticks.
    pub outage_ticks: u64,
}

impl Faults {
    /// No faults: a reliable network and steady proposals.
    pub fn none() -> Self {
        Faults {
            crash_per_million: 0,
            crash_in_batch_per_million: 0,
            restart_per_million: 0,
            partition_per_million: 0,
            cut_link_per_million: 0,
            heal_per_million: 0,
            pause_per_million: 0,
            propose_per_million: 200_000,
            network: NetworkConfig::reliable(),
            outage_per_million: 0,
            outage_ticks: 0,
        }
    }

    /// Steady load and one node down for `ticks` ticks at a time, nothing else: a client
    /// proposes every tick on a reliable network, and the first outage begins at once.
    pub fn long_outage(ticks: u64) -> Self {
        Faults {
            propose_per_million: 1_000_000,
            outage_per_million: 1_000_000,
            outage_ticks: ticks,
            ..Self::none()
        }
    }

    /// Faults scaled by `level`: 0 is none, 1 light, 2 moderate, 3 and above heavy.
    pub fn level(level: u32) -> Self {
        if level == 0 {
            return Self::none();
        }
        let level = level.min(3);
        Faults {
            crash_per_million: 1_000 * level,
            crash_in_batch_per_million: 2_000 * level,
            restart_per_million: 10_000,
            partition_per_million: 1_000 * level,
            cut_link_per_million: 1_000 * level,
            heal_per_million: 5_000,
            pause_per_million: 500 * level,
            propose_per_million: 200_000,
            network: match level {
                1 => NetworkConfig::unreliable(),
                2 => NetworkConfig {
                    duplicate_per_million: 20_000,
                    ..NetworkConfig::unreliable()
                },
                _ => NetworkConfig::hostile(),
            },
            outage_per_million: 0,
            outage_ticks: 0,
        }
    }
}

impl Sim<u64> {
    /// One tick of the safety phase: maybe inject faults, maybe propose the next command, tick.
    /// Commands are consecutive numbers from 1, so every committed command is distinct.
    pub fn chaos_tick(&mut self, faults: &Faults, next_command: &mut u64) {
        if self.network() != &faults.network {
            self.set_network(faults.network.clone());
        }
        self.set_crash_in_batch(faults.crash_in_batch_per_million);
        let nodes = self.nodes.len() as u64;
        if self.chance(faults.crash_per_million) {
            let id = self.rng.in_range(1, nodes);
            // Keep a majority able to run most of the time, but not always.
            self.crash(id);
        }
        match self.outage {
            Some((id, until)) if self.now >= until => {
                self.outage = None;
                self.restart(id);
            }
            Some(_) => {}
            None => {
                if self.chance(faults.outage_per_million) {
                    if let Some(id) = self.random_node(|sim, id| sim.is_up(id)) {
                        self.crash(id);
                        self.outage = Some((id, self.now + faults.outage_ticks));
                    }
                }
            }
        }
        if self.chance(faults.restart_per_million) {
            let outage = self.outage.map(|(id, _)| id);
            if let Some(id) = self.random_node(|sim, id| !sim.is_up(id) && Some(id) != outage) {
                self.restart(id);
            }
        }
        if self.chance(faults.partition_per_million) {
            let mut left = Vec::new();
            let mut right = Vec::new();
            for id in 1..=nodes {
                if self.rng.in_range(0, 2) == 0 {
                    left.push(id);
                } else {
                    right.push(id);
                }
            }
            self.partition(&[&left, &right]);
        }
        if self.chance(faults.cut_link_per_million) && nodes > 1 {
            let from = self.rng.in_range(1, nodes);
            let to = self.rng.in_range(1, nodes);
            if from != to {
                self.cut_link(from, to);
            }
        }
        if self.chance(faults.heal_per_million) {
            self.heal();
        }
        if self.chance(faults.pause_per_million) {
            if let Some(id) = self.random_node(|sim, id| sim.is_up(id) && !sim.is_paused(id)) {
                self.pause(id);
            }
        }
        if self.chance(faults.pause_per_million.max(1) * 10) {
            if let Some(id) = self.random_node(|sim, id| sim.is_paused(id)) {
                self.resume(id);
            }
        }
        if self.chance(faults.propose_per_million) {
            if let Some(id) = self.believed_leader() {
                // Batching hosts batch their clients' proposals too, a quarter of the time.
                if self.config.batching && self.rng.in_range(0, 4) == 0 {
                    let count = self.rng.in_range(2, 7);
                    let commands = (*next_command..*next_command + count).collect();
                    if self.propose_batch(id, commands).is_some() {
                        *next_command += count;
                    }
                } else if self.propose(id, *next_command).is_some() {
                    *next_command += 1;
                }
            }
        }
        self.tick();
    }

    /// Ends every fault: disarms planned crashes, restarts crashed nodes, resumes paused ones,
    /// reconnects and heals everything, and makes the network reliable.
    pub fn heal_all(&mut self) {
        self.set_crash_in_batch(0);
        self.crash_plan = None;
        self.outage = None;
        self.set_network(NetworkConfig::reliable());
        let ids: Vec<NodeId> = self.ids().collect();
        for id in ids {
            self.restart(id);
            self.resume(id);
            self.connect(id);
        }
        self.heal();
    }

    /// The liveness bound of [`Sim::check_liveness`] in this set-up: 10 election timeouts at
    /// their longest (600 ticks with the lab's timing). After healing, one timeout passes
    /// before the first campaign, split votes cost a timeout each, and restarted nodes catch
    /// up by entries or a snapshot. Soak runs need at most 2 (113 ticks was the most over
    /// 1,200 property cases, tight flow-control bounds included), so a liveness regression of
    /// 5x fails.
    pub fn liveness_bound_ticks(&self) -> u64 {
        LIVENESS_ELECTION_TIMEOUTS * 2 * self.config.node.election_ticks
    }

    /// The liveness phase (ARCHITECTURE.md §3.7): with every fault healed, a leader is elected
    /// and a new command commits on every node within `bound_ticks`. Answers its index.
    pub fn check_liveness(&mut self, command: u64, bound_ticks: u64) -> Result<LogIndex, String> {
        let nodes = self.nodes.len();
        let deadline = self.now + bound_ticks;
        while self.now < deadline {
            if let Some(leader) = self.believed_leader() {
                if let Some((index, term)) = self.propose(leader, command) {
                    // Wait for the commit, or for the proposer to lose its term (a stale
                    // leader's entry may never commit): then propose again.
                    self.run_until(deadline - self.now, |sim| {
                        sim.n_committed(index).0 == nodes || !sim.leads(leader, term)
                    });
                    let (count, value) = self.n_committed(index);
                    if count == nodes && value == Some(command) {
                        return Ok(index);
                    }
                    continue;
                }
            }
            self.tick();
        }
        self.print_debug_trace();
        Err(format!(
            "liveness: no commit of {command} within {bound_ticks} ticks after healing (seed {})",
            self.seed()
        ))
    }

    fn chance(&mut self, per_million: u32) -> bool {
        per_million > 0 && self.rng.in_range(0, 1_000_000) < u64::from(per_million)
    }

    fn random_node(&mut self, eligible: impl Fn(&Self, NodeId) -> bool) -> Option<NodeId> {
        let candidates: Vec<NodeId> = self.ids().filter(|&id| eligible(self, id)).collect();
        if candidates.is_empty() {
            return None;
        }
        let pick = self.rng.in_range(0, candidates.len() as u64) as usize;
        Some(candidates[pick])
    }
}
