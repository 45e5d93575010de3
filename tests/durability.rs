//! Crashes at every prefix of an action batch (correctness.md §1.10, bugs 8 and 19): whatever
//! part of a step's actions a host carried out before dying, nothing acknowledged is lost, no
//! vote is cast twice, and the cluster recovers. The simulator checks every invariant after
//! every step; these tests only choose where to crash.

mod common;

use common::seeds;
use pureraft::sim::{BatchKind, Sim, SimConfig};

/// Runs `setup`, then crashes `target` after each prefix of its next non-empty batch in turn
/// (one fresh, identical run per prefix), restarts it and requires a commit on every node.
/// Returns how many prefixes were tried, so callers can assert the batch was not trivial.
fn every_prefix(seed: u64, target: u64, setup: impl Fn(&mut Sim<u64>)) -> usize {
    let mut prefix = 0;
    loop {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, seed));
        setup(&mut sim);
        sim.crash_after_actions(target, prefix);
        let crashed = sim.run_until(2_000, |sim| !sim.is_up(target));
        assert!(crashed, "seed {seed}: node {target} never took a step");
        let (executed, batch) = sim.last_planned_crash().expect("the planned crash struck");
        sim.run(50);
        sim.restart(target);
        if let Err(failure) =
            sim.check_liveness(1_000_000 + prefix as u64, sim.liveness_bound_ticks())
        {
            panic!("seed {seed}, node {target}, crash after {executed} of {batch}: {failure}");
        }
        if executed == batch {
            eprintln!(
                "seed {seed} node {target}: crashed at each of {} prefixes",
                batch + 1
            );
            return batch + 1;
        }
        prefix += 1;
    }
}

#[test]
fn crash_at_every_prefix_of_an_election_step() {
    for seed in seeds() {
        for target in 1..=3 {
            // The node's first non-empty batch comes from campaigning or from answering a
            // RequestVote: persisting the term and vote, then sending.
            let tried = every_prefix(seed, target, |_| {});
            assert!(tried >= 2, "seed {seed}: the election batch had no actions");
        }
    }
}

#[test]
fn crash_at_every_prefix_of_a_replication_step() {
    for seed in seeds() {
        for target in 1..=3 {
            let setup = |sim: &mut Sim<u64>| {
                let leader = sim.check_one_leader().expect("a leader");
                for command in 1..=3 {
                    sim.one(command, 3, true).expect("commits");
                }
                // Proposals now make the leader persist and send, and followers persist and
                // acknowledge: the target's next batch is one of those.
                let _ = sim.propose(leader, 100);
                let _ = sim.propose(leader, 101);
            };
            every_prefix(seed, target, setup);
        }
    }
}

#[test]
fn leader_crashing_at_every_prefix_of_a_proposal_keeps_the_committed_log() {
    for seed in seeds() {
        let mut prefix = 0;
        loop {
            let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, seed));
            let leader = sim.check_one_leader().expect("a leader");
            for command in 1..=5 {
                sim.one(command, 3, true).expect("commits");
            }
            let committed_before = sim.committed().to_vec();
            sim.crash_after_actions(leader, prefix);
            let accepted = sim.propose(leader, 42);
            let (executed, batch) = sim.last_planned_crash().expect("the proposal step crashed");
            assert!(!sim.is_up(leader));
            assert!(
                batch >= 3,
                "persist, outcome and sends expected, got {batch}"
            );
            // A crash before the outcome action means the host never heard "accepted".
            assert_eq!(
                accepted.is_some(),
                executed >= 2,
                "seed {seed}, prefix {prefix}"
            );
            sim.run(100);
            sim.restart(leader);
            sim.check_liveness(7_000 + prefix as u64, sim.liveness_bound_ticks())
                .unwrap();
            assert_eq!(
                &sim.committed()[..committed_before.len()],
                &committed_before[..]
            );
            if executed == batch {
                break;
            }
            prefix += 1;
        }
    }
}

/// A 3-node cluster whose hosts snapshot every 10 entries, each snapshot about 3 KiB (three
/// 1 KiB chunks), 5 entries kept behind a snapshot.
fn snapshotting_cluster(seed: u64) -> Sim<u64> {
    let mut config = SimConfig::new(3, seed).with_snapshots(10);
    config.snapshot_padding = 3_000;
    Sim::new(config)
}

/// Crashes `target` after each prefix of its next batch of `kind` in turn (one fresh,
/// identical run per prefix, `setup` then `trigger`), restarts it and requires a commit on
/// every node. Returns the batch's length.
fn every_prefix_of(
    seed: u64,
    target: impl Fn(&mut Sim<u64>) -> u64,
    kind: BatchKind,
    trigger: impl Fn(&mut Sim<u64>, u64),
) -> usize {
    let mut prefix = 0;
    loop {
        let mut sim = snapshotting_cluster(seed);
        let node = target(&mut sim);
        sim.crash_after_actions_of(node, prefix, kind);
        trigger(&mut sim, node);
        let crashed = sim.run_until(3_000, |sim| !sim.is_up(node));
        assert!(
            crashed,
            "seed {seed}: node {node} never had a {kind:?} batch"
        );
        let (executed, batch) = sim.last_planned_crash().expect("the planned crash struck");
        sim.run(50);
        sim.restart(node);
        if let Err(failure) =
            sim.check_liveness(1_000_000 + prefix as u64, sim.liveness_bound_ticks())
        {
            panic!("seed {seed}, node {node}, crash after {executed} of {batch}: {failure}");
        }
        if executed == batch {
            eprintln!(
                "seed {seed} node {node}: crashed at each of {} prefixes of a {kind:?} batch",
                batch + 1
            );
            return batch;
        }
        prefix += 1;
    }
}

/// A follower crashes at each point of the step that installs a snapshot (the snapshot and
/// its answer): restarted from whatever its host made durable, it catches up, and nothing
/// committed is lost (the checker verifies every restart's snapshot state).
#[test]
fn crash_at_every_prefix_of_a_snapshot_install() {
    for seed in seeds() {
        let lagging = |sim: &mut Sim<u64>| {
            let leader = sim.check_one_leader().expect("a leader");
            let lagging = leader % 3 + 1;
            sim.disconnect(lagging);
            for command in 1..=30 {
                sim.one(command, 2, true)
                    .expect("commits without the lagging node");
            }
            lagging
        };
        let reconnect = |sim: &mut Sim<u64>, node| sim.connect(node);
        let batch = every_prefix_of(seed, lagging, BatchKind::Install, reconnect);
        assert!(
            batch >= 2,
            "seed {seed}: install and answer expected, got {batch}"
        );
    }
}

/// A node crashes at each point of the step that records a snapshot its host took: it
/// restarts from the previous snapshot or the new one, never from a mix.
#[test]
fn crash_at_every_prefix_of_taking_a_snapshot() {
    for seed in seeds() {
        for choose in 0..3 {
            let node = move |sim: &mut Sim<u64>| {
                let leader = sim.check_one_leader().expect("a leader");
                leader % 3 + choose
            };
            let commit = |sim: &mut Sim<u64>, _| {
                for command in 1..=12 {
                    let _ = sim.one(command, 1, true);
                }
            };
            let node = move |sim: &mut Sim<u64>| node(sim) % 3 + 1;
            let batch = every_prefix_of(seed, node, BatchKind::Snapshot, commit);
            assert!(batch >= 1, "seed {seed}");
        }
    }
}
