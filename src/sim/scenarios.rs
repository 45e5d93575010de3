//! The partial failures that hurt real clusters (issue 16's list), as fixed simulator runs: a
//! deaf leader, a follower cut from the leader only, a bridge node between two halves, a
//! paused leader, and a node rejoining after a long partition. Each runs with and without
//! PreVote and CheckQuorum and reports what the cluster got done in a fixed window: commands
//! committed, leaders elected, terms used. `tests/elections.rs` holds the outcomes to what the
//! thesis says they should be; `examples/partitions.rs` prints the table in the README.

use crate::types::{NodeId, Payload, Role};

use super::{Sim, SimConfig};

/// Nodes in every scenario: two halves of two and a bridge need five.
pub const NODES: usize = 5;

/// Ticks the fault lasts and the window is measured over: 100 election timeouts of the
/// simulator's set-up (`SimConfig::new`: 30 ticks, so 3,000 ticks).
pub const WINDOW_TICKS: u64 = 3_000;

/// A client proposes a command to every node that leads, once every this many ticks.
pub const PROPOSE_EVERY_TICKS: u64 = 5;

/// A partial failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The leader can send but hears nobody (every link to it is cut).
    DeafLeader,
    /// One follower and the leader cannot reach each other; both reach everyone else (the
    /// shape of Cloudflare's 2020 outage).
    FollowerCutFromLeader,
    /// Two halves of two nodes that cannot reach each other, and a fifth node that reaches
    /// both; the leader is in one half.
    Bridge,
    /// The leader is paused for 20 election timeouts, then resumes.
    PausedLeader,
    /// A follower is disconnected for the window's first half, then comes back.
    RejoinAfterLongPartition,
}

impl Scenario {
    /// Every scenario, in the README's order.
    pub const ALL: [Scenario; 5] = [
        Scenario::DeafLeader,
        Scenario::FollowerCutFromLeader,
        Scenario::Bridge,
        Scenario::PausedLeader,
        Scenario::RejoinAfterLongPartition,
    ];

    /// A short description for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::DeafLeader => "leader can send but not receive",
            Scenario::FollowerCutFromLeader => "follower cut from the leader only",
            Scenario::Bridge => "bridge node between two halves",
            Scenario::PausedLeader => "leader paused, then resumed",
            Scenario::RejoinAfterLongPartition => "follower rejoins after a long partition",
        }
    }
}

/// What the cluster did during the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Client commands committed during the window.
    pub commits: u64,
    /// Leaders elected during the window (a node becoming leader of a new term).
    pub elections: u64,
    /// How far the highest term any node reached grew during the window.
    pub terms: u64,
    /// The node that led before the fault.
    pub first_leader: NodeId,
    /// Whether that node leads when the window ends.
    pub first_leader_leads_at_end: bool,
}

/// Runs `scenario` with seed `seed`, PreVote and CheckQuorum both on (`elections`) or both off.
pub fn run(scenario: Scenario, elections: bool, seed: u64) -> Outcome {
    let mut config = SimConfig::new(NODES, seed);
    config.node.pre_vote = elections;
    config.node.check_quorum = elections;
    let mut sim: Sim<u64> = Sim::new(config);
    let leader = sim.check_one_leader().expect("a leader before the fault");
    sim.one(0, NODES, true).expect("a first commit everywhere");
    let peers: Vec<NodeId> = (1..=NODES as NodeId).filter(|&id| id != leader).collect();
    match scenario {
        Scenario::DeafLeader => {
            for &peer in &peers {
                sim.cut_link(peer, leader);
            }
        }
        Scenario::FollowerCutFromLeader => sim.cut_both_ways(peers[0], leader),
        Scenario::Bridge => {
            let (half, other_half, bridge) = ([leader, peers[0]], [peers[1], peers[2]], peers[3]);
            debug_assert!(!half.contains(&bridge) && !other_half.contains(&bridge));
            for a in half {
                for b in other_half {
                    sim.cut_both_ways(a, b);
                }
            }
        }
        Scenario::PausedLeader => sim.pause(leader),
        Scenario::RejoinAfterLongPartition => sim.disconnect(peers[0]),
    }
    let commits_before = commands_committed(&sim);
    let elections_before = sim.stats().elections;
    let term_before = highest_term(&sim);
    let mut command = 1;
    for tick in 0..WINDOW_TICKS {
        match scenario {
            Scenario::PausedLeader if tick == 20 * sim.config().node.election_ticks => {
                sim.resume(leader)
            }
            Scenario::RejoinAfterLongPartition if tick == WINDOW_TICKS / 2 => sim.connect(peers[0]),
            _ => {}
        }
        if tick % PROPOSE_EVERY_TICKS == 0 {
            let leaders: Vec<NodeId> = sim
                .ids()
                .filter(|&id| sim.raft(id).is_some_and(|raft| raft.role() == Role::Leader))
                .collect();
            for id in leaders {
                sim.propose(id, command);
                command += 1;
            }
        }
        sim.tick();
    }
    Outcome {
        commits: commands_committed(&sim) - commits_before,
        elections: sim.stats().elections - elections_before,
        terms: highest_term(&sim) - term_before,
        first_leader: leader,
        first_leader_leads_at_end: sim
            .raft(leader)
            .is_some_and(|raft| raft.role() == Role::Leader),
    }
}

fn commands_committed(sim: &Sim<u64>) -> u64 {
    sim.committed()
        .iter()
        .filter(|(_, payload)| matches!(payload, Payload::Command(_)))
        .count() as u64
}

fn highest_term(sim: &Sim<u64>) -> u64 {
    sim.ids()
        .filter_map(|id| sim.raft(id).map(|raft| raft.term()))
        .max()
        .unwrap_or(0)
}
