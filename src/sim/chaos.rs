//! Random fault schedules: a safety phase with faults, then a liveness phase with faults
//! healed (after TigerBeetle's VOPR).

use super::{NetworkConfig, Sim};
use crate::membership::MembershipChange;
use crate::types::{LogIndex, NodeId};

/// See [`Sim::liveness_bound_ticks`].
const LIVENESS_ELECTION_TIMEOUTS: u64 = 10;

/// The chaos driver adds nodes while fewer than this many have ever existed.
const MAX_SIM_NODES: usize = 12;

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
    /// The client asks the node it believes leads for a random membership change: add a new
    /// node as a learner, promote a learner, remove a member, replace the voters through a
    /// joint configuration, leave a joint configuration. A removed node is retired, some of
    /// the time, once no configuration counts on it.
    pub membership_per_million: u32,
    /// Leadership transfers a host asks of the leader, to a random voter of its
    /// configuration (itself included, which it must refuse), per million ticks.
    pub transfer_per_million: u32,
    /// Linearizable reads a client asks of a random running node (leader or not), per million
    /// ticks; the checker holds each answer to every write committed before it was asked.
    pub read_per_million: u32,
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
            membership_per_million: 0,
            transfer_per_million: 0,
            read_per_million: 0,
        }
    }

    /// The same faults with membership changes at `per_million` (see
    /// `membership_per_million`).
    pub fn with_membership(mut self, per_million: u32) -> Self {
        self.membership_per_million = per_million;
        self
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
            membership_per_million: 0,
            // About one every 5,000 ticks.
            transfer_per_million: 200,
            // About one every 10 ticks, at a random node.
            read_per_million: 100_000,
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
        if self.chance(faults.membership_per_million) {
            self.chaos_membership_change();
        }
        if self.chance(faults.read_per_million) {
            if let Some(id) = self.random_node(|sim, id| sim.is_up(id)) {
                self.read(id);
            }
        }
        if self.chance(faults.transfer_per_million) {
            // A host asks the leader to hand leadership to a random voter: refused or not,
            // completed or aborted, the invariants must hold.
            if let Some(leader) = self.believed_leader() {
                let voters = self
                    .raft(leader)
                    .map(|raft| raft.membership().voters.clone())
                    .unwrap_or_default();
                if let Some(&to) = self.pick(&voters) {
                    let _ = self.transfer_leadership(leader, to);
                }
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
    /// and a new command commits on every member of the configuration in force at its index
    /// (by the committed log; members removed since excepted) within `bound_ticks`. Answers
    /// its index.
    pub fn check_liveness(&mut self, command: u64, bound_ticks: u64) -> Result<LogIndex, String> {
        let deadline = self.now + bound_ticks;
        while self.now < deadline {
            if let Some(leader) = self.believed_leader() {
                if let Some((index, term)) = self.propose(leader, command) {
                    // Wait for the commit, or for the proposer to lose its term (a stale
                    // leader's entry may never commit): then propose again.
                    self.run_until(deadline - self.now, |sim| {
                        sim.applied_by_every_member(index) || !sim.leads(leader, term)
                    });
                    if self.applied_by_every_member(index)
                        && self.n_committed(index).1 == Some(command)
                    {
                        return Ok(index);
                    }
                    continue;
                }
            }
            self.tick();
        }
        self.print_debug_trace();
        Err(format!(
            "liveness: no commit of {command} within {bound_ticks} ticks after healing (seed \
             {}); committed configuration {:?}; nodes:\n{}",
            self.seed(),
            self.latest_committed_membership(),
            self.describe_nodes()
        ))
    }

    /// One random membership change asked of the believed leader, and maybe a retirement.
    fn chaos_membership_change(&mut self) {
        // Retire, half of the time, a node no configuration counts on any more.
        if self.rng.in_range(0, 2) == 0 {
            if let Some(id) = self.random_node(|sim, id| {
                !sim.is_retired(id)
                    && !sim.latest_committed_membership().contains(id)
                    && sim.is_up(id)
            }) {
                self.retire_if_removed(id);
            }
        }
        let Some(leader) = self.believed_leader() else {
            return;
        };
        let membership = self
            .raft(leader)
            .expect("a believed leader is up")
            .membership()
            .clone();
        let live: Vec<NodeId> = self.ids().filter(|&id| !self.is_retired(id)).collect();
        let outsiders: Vec<NodeId> = live
            .iter()
            .copied()
            .filter(|&id| !membership.contains(id))
            .collect();
        let change = match self.rng.in_range(0, 6) {
            _ if membership.is_joint() => MembershipChange::LeaveJoint,
            0 | 1 => {
                // A new machine, or one that was removed and is still running.
                let id = if self.nodes.len() < MAX_SIM_NODES && self.rng.in_range(0, 3) > 0 {
                    self.add_node()
                } else if let Some(&id) = self.pick(&outsiders) {
                    id
                } else {
                    return;
                };
                MembershipChange::AddLearner(id)
            }
            2 => match self.pick(&membership.learners.clone()) {
                Some(&id) => MembershipChange::Promote(id),
                None => return,
            },
            3 => {
                let members: Vec<NodeId> = membership.members().collect();
                match self.pick(&members) {
                    Some(&id) if membership.voters.len() > 2 || !membership.is_voter(id) => {
                        MembershipChange::Remove(id)
                    }
                    _ => return,
                }
            }
            _ => {
                // Replace up to two voters by any other live nodes, through a joint
                // configuration; learners stay learners unless chosen.
                let mut voters = membership.voters.clone();
                for _ in 0..self.rng.in_range(1, 2) {
                    let candidates: Vec<NodeId> = live
                        .iter()
                        .copied()
                        .filter(|id| !voters.contains(id))
                        .collect();
                    let Some(&incoming) = self.pick(&candidates) else {
                        break;
                    };
                    if voters.len() > 1 {
                        let out = self.rng.in_range(0, voters.len() as u64) as usize;
                        voters.remove(out);
                    }
                    voters.push(incoming);
                }
                let learners = membership
                    .learners
                    .iter()
                    .copied()
                    .filter(|id| !voters.contains(id))
                    .collect();
                MembershipChange::Joint { voters, learners }
            }
        };
        let _ = self.change_membership(leader, change);
    }

    fn pick<'a>(&mut self, ids: &'a [NodeId]) -> Option<&'a NodeId> {
        if ids.is_empty() {
            return None;
        }
        ids.get(self.rng.in_range(0, ids.len() as u64) as usize)
    }

    /// True if `index` is committed and every member of the configuration in force there (by
    /// the committed log) applied it, but for members a later committed configuration removed:
    /// their hosts may shut them down, and they need not learn the last entries they were
    /// members for.
    fn applied_by_every_member(&self, index: LogIndex) -> bool {
        if self.committed().len() < index as usize {
            return false;
        }
        let latest = self.latest_committed_membership();
        self.committed_membership(index)
            .members()
            .filter(|&id| latest.contains(id))
            .all(|id| {
                self.node(id)
                    .applied
                    .get(index as usize)
                    .is_some_and(Option::is_some)
            })
    }

    /// One line per node: up or not, role, term, log, commit, configuration.
    pub fn describe_nodes(&self) -> String {
        let mut lines = Vec::new();
        for node in &self.nodes {
            let line = match &node.raft {
                None if node.retired => format!("  node {}: retired", node.id),
                None => format!("  node {}: down", node.id),
                Some(raft) => format!(
                    "  node {}: {:?} term {} last {} (term {}) commit {} applied {} \
                     configuration {:?} at {}",
                    node.id,
                    raft.role(),
                    raft.term(),
                    raft.last_index(),
                    raft.last_term(),
                    raft.commit_index(),
                    raft.applied_index(),
                    raft.membership(),
                    raft.membership_index()
                ),
            };
            lines.push(line);
        }
        lines.join("\n")
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
