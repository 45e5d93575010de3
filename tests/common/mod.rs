//! Helpers shared by the integration tests: for the MIT 6.5840 lab ports (`tests/lab_*.rs`)
//! and the other simulator tests, the seeds every scenario runs over, the lab's cluster set-up,
//! the lab's server arithmetic and randomness; in [`hand`], the helpers of the tests that
//! drive nodes by hand without the simulator.

// Each test crate includes this module and uses a different subset of it.
#![allow(dead_code)]

pub mod hand;
pub mod net;

use std::fmt::Debug;
use std::hash::Hash;

use pureraft::sim::{Faults, NetworkConfig, Sim, SimConfig};
use pureraft::{Command, LogIndex, NodeId};

/// The tester's election timeout, `RaftElectionTimeout` = 1000 ms, in ticks.
pub const ELECTION_TIMEOUT_TICKS: u64 = 100;

/// The lab's per-test time limit (120 s), in ticks.
pub const LAB_TEST_LIMIT_TICKS: u64 = 12_000;

/// Fails the scenario `name` on `seed` if it took more than the lab's 120 s.
pub fn assert_within_lab_limit(name: &str, seed: u64, ticks: u64) {
    assert!(
        ticks <= LAB_TEST_LIMIT_TICKS,
        "{name}: took {ticks} ticks, more than the lab's 120 s ({LAB_TEST_LIMIT_TICKS} ticks) \
         (seed {seed})"
    );
}

/// Runs `scenario` for every seed, checks the lab's per-test limit on the ticks it answers,
/// and reports the simulated ticks and wall time of each seed (shown with `--nocapture`).
pub fn for_each_seed(name: &str, scenario: impl Fn(u64) -> u64) {
    for seed in seeds() {
        let started = std::time::Instant::now();
        let ticks = scenario(seed);
        assert_within_lab_limit(name, seed, ticks);
        eprintln!(
            "{name}: seed {seed} passed in {ticks} ticks ({:.2?})",
            started.elapsed()
        );
    }
}

/// The seeds every scenario runs over: `0..n` with `n` from the environment variable
/// `PURERAFT_LAB_SEEDS` (default 3; soak runs set it higher), or the one seed that
/// `PURERAFT_LAB_SEED=k` names, to replay a failure.
pub fn seeds() -> std::ops::Range<u64> {
    let number = |name: &str| {
        std::env::var(name).ok().map(|value| {
            value
                .trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{name}={value:?} is not a number"))
        })
    };
    if let Some(seed) = number("PURERAFT_LAB_SEED") {
        return seed..seed + 1;
    }
    0..number("PURERAFT_LAB_SEEDS").unwrap_or(3)
}

/// The lab's `make_config(t, servers, false, false)`: `servers` nodes (ids `1..=servers`) with
/// the lab's timing in ticks of 10 ms (election timeouts in [30, 60) ticks, a heartbeat every
/// 10 ticks) on a reliable network.
pub fn cluster<C: Command + Debug + Eq + Hash>(servers: usize, seed: u64) -> Sim<C> {
    Sim::new(SimConfig::new(servers, seed))
}

/// The lab's `make_config(t, servers, true, false)`: as [`cluster`], on an unreliable network
/// (latency 0-3 ticks, 10% of messages lost).
pub fn unreliable_cluster<C: Command + Debug + Eq + Hash>(servers: usize, seed: u64) -> Sim<C> {
    let mut config = SimConfig::new(servers, seed);
    config.network = NetworkConfig::unreliable();
    Sim::new(config)
}

/// The lab's `(server + offset) % servers` for 1-based node ids: the node `offset` places
/// after `id`, wrapping around.
pub fn lab_peer(id: NodeId, offset: u64, servers: usize) -> NodeId {
    (id - 1 + offset) % servers as u64 + 1
}

/// The lab's `crash1(i)`: disconnect the server and kill it; its persisted state stays.
pub fn crash1(sim: &mut Sim<u64>, id: NodeId) {
    sim.disconnect(id);
    sim.crash(id);
}

/// The lab's `start1(i)`: crash the server if it runs, then build it from its persisted
/// state (snapshot and entries). It stays disconnected until the test connects it.
pub fn start1(sim: &mut Sim<u64>, id: NodeId) {
    crash1(sim, id);
    sim.restart(id);
}

/// The lab's `one(cmd, expected, true)`, failing the test with the simulator's message.
pub fn one(sim: &mut Sim<u64>, command: u64, expected: usize) -> LogIndex {
    sim.one(command, expected, true)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The lab's `checkOneLeader`, failing the test with the simulator's message.
pub fn check_one_leader(sim: &mut Sim<u64>) -> NodeId {
    sim.check_one_leader()
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Unwraps one of the `Sim`'s lab checks (`check_one_leader`, `check_terms`, ...), failing
/// the test with the seed and what was being checked.
pub fn check<T>(result: Result<T, String>, seed: u64, what: &str) -> T {
    result.unwrap_or_else(|error| panic!("seed {seed}: {what}: {error}"))
}

/// The test's own randomness (the lab's `rand.Int()`), seeded from the scenario's seed so that
/// a seed replays a run exactly. SplitMix64.
pub struct LabRng(u64);

impl LabRng {
    /// A generator for scenario `seed`.
    pub fn new(seed: u64) -> Self {
        LabRng(seed ^ 0x1AB_5EED_u64)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`), as the lab's `rand.Int() % bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0)");
        self.next_u64() % bound
    }
}

/// A random server id, `1..=servers`: the lab's `rand.Int() % servers` for 1-based node ids.
pub fn random_server(rng: &mut LabRng, servers: usize) -> NodeId {
    rng.below(servers as u64) + 1
}

/// Runs the chaos driver with `faults` for `ticks` ticks, heals every fault, and fails the
/// test (naming `what`) unless a new command then commits within the liveness bound.
pub fn chaos_then_liveness(sim: &mut Sim<u64>, faults: &Faults, ticks: u64, what: &str) {
    let mut next_command = 1;
    for _ in 0..ticks {
        sim.chaos_tick(faults, &mut next_command);
    }
    sim.heal_all();
    let bound = sim.liveness_bound_ticks();
    if let Err(error) = sim.check_liveness(next_command, bound) {
        panic!("{what}: {error}");
    }
}
