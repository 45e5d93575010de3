//! Quick end-to-end runs of the simulator: a healthy cluster and chaos with a liveness phase.

use pureraft::sim::{Faults, Sim, SimConfig};

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
            sim.check_liveness(1_000_000 + seed, 2_000).unwrap();
        }
    }
}
