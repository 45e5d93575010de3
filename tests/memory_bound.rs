//! Bounded memory (issue: snapshots and log compaction): with snapshots every K entries and T
//! entries kept behind each snapshot, no node ever holds more than about K + T entries in
//! memory, however long the run; without snapshots the log holds everything. The full
//! 1,000,000-entry measurement is `cargo run --release --example memory`; this is the same
//! workload, shorter, as a test that fails if compaction stops bounding the log.

use pureraft::sim::{Sim, SimConfig};
use pureraft::NodeId;

/// Runs a 3-node cluster until `entries` commands commit, `per_tick` proposed to the leader
/// each tick; answers the most entries any node held in memory after any tick.
fn peak_entries_held(entries: u64, snapshot_every: Option<u64>, trailing: u64) -> u64 {
    let per_tick = 100;
    let mut config = SimConfig::new(3, 7);
    config.node.snapshot_trailing_entries = trailing;
    if let Some(every) = snapshot_every {
        config = config.with_snapshots(every);
    }
    let mut sim: Sim<u64> = Sim::new(config);
    let ids: Vec<NodeId> = sim.ids().collect();
    let leader = sim.check_one_leader().expect("a leader");
    let mut next_command = 1;
    let mut peak = 0;
    while (sim.committed().len() as u64) < entries {
        assert!(sim.now() < 100_000, "the workload stopped committing");
        for _ in 0..per_tick {
            if sim.propose(leader, next_command).is_some() {
                next_command += 1;
            }
        }
        sim.tick();
        for &id in &ids {
            let held = sim.raft(id).map_or(0, |raft| raft.entries().len() as u64);
            peak = peak.max(held);
        }
    }
    peak
}

#[test]
fn compaction_bounds_the_log_held_in_memory() {
    let (every, trailing) = (10_000, 1_024);
    let peak = peak_entries_held(200_000, Some(every), trailing);
    // A snapshot every `every` entries, `trailing` kept behind it, and what is in flight (a
    // few ticks of proposals) on top.
    let bound = every + trailing + 500;
    assert!(
        peak <= bound,
        "a node held {peak} entries, more than {bound}"
    );
    assert!(peak >= every, "snapshots taken too early: peak {peak}");
}

#[test]
fn without_snapshots_the_log_holds_every_entry() {
    let peak = peak_entries_held(50_000, None, 1_024);
    assert!(
        peak >= 50_000,
        "peak {peak}: entries were dropped without a snapshot"
    );
}
