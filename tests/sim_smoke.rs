//! Quick end-to-end runs of the simulator: a healthy cluster and chaos with a liveness phase.

use pureraft::sim::{Faults, NetworkConfig, Sim, SimConfig};

#[test]
fn chaos_then_liveness() {
    for seed in 0..20 {
        for level in [1, 2, 3] {
            let mut sim: Sim<u64> = Sim::new(SimConfig::new(5, seed));
            let mut next = 1;
            let faults = Faults::level(level);
            for _ in 0..3_000 {
                sim.chaos_tick(&faults, &mut next);
            }
            sim.heal_all();
            sim.check_liveness(1_000_000 + seed, sim.liveness_bound_ticks())
                .unwrap();
        }
    }
}

/// `Sim::wait` answers the committed value also when the count is reached only at its very
/// last check (it answered `None` there). Its pauses (1, 2, 4, ... 64 ticks, then 100 ticks
/// 23 times) add up to 2,427 ticks, the last check follows the last pause of 100: a one-way
/// latency of 790 ticks makes a proposal commit on all three nodes three latencies later, at
/// 2,370 ticks, within that last pause. Election timeouts are long enough for no node to
/// campaign meanwhile.
#[test]
fn wait_answers_the_value_reached_at_its_last_check() {
    let mut config = SimConfig::new(3, 1);
    config.node.election_ticks = 20_000;
    config.node.heartbeat_ticks = 10_000;
    let mut sim: Sim<u64> = Sim::new(config);
    assert!(sim.run_until(40_000, |sim| sim.believed_leader().is_some()));
    let leader = sim.believed_leader().unwrap();
    sim.run(100);
    sim.set_network(NetworkConfig {
        latency_min_ticks: 790,
        latency_max_ticks: 790,
        ..NetworkConfig::reliable()
    });
    let (index, term) = sim.propose(leader, 42).unwrap();
    let start = sim.now();
    assert_eq!(sim.wait(index, 3, Some(term)), Some(42));
    let waited = sim.now() - start;
    assert!((2_328..=2_427).contains(&waited), "waited {waited} ticks");
}
