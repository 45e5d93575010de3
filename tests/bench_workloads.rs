//! The benchmark workloads (`benches/harness`) as tests: they commit everything they propose
//! on every node, and steady-state replication costs exactly the messages the protocol needs.
//! Per batch and per follower: one append, its acknowledgement and one commit notice, which is
//! not answered; three delivery rounds. A regression here changes what the benchmarks measure.

#[path = "../benches/harness/mod.rs"]
mod harness;

/// Runs `batches` batches of the commit workload `name` (crossing compactions when there
/// are enough of them) and checks messages and rounds per batch.
fn check_commit_workload(name: &str, nodes: u64, batches: u64) {
    let Some(harness::Workload::Commit(mut run)) = harness::Workload::new(name) else {
        panic!("{name} is a commit workload");
    };
    for _ in 0..batches {
        run.batch();
    }
    run.check();
    assert_eq!(
        run.messages_per_batch(),
        (3 * (nodes - 1)) as f64,
        "{name}: an append, its acknowledgement and a commit notice per follower"
    );
    assert_eq!(run.rounds_per_batch(), 3.0, "{name}: rounds per batch");
    for node in &run.cluster.nodes {
        assert_eq!(
            node.raft.commit_index(),
            node.raft.last_index(),
            "{name}: node {} committed everything",
            node.raft.id()
        );
    }
}

#[test]
fn commit3_b1_costs_six_messages_per_entry_across_compactions() {
    // 25,000 entries: two compactions of every node on the way.
    check_commit_workload("commit3_b1", 3, 25_000);
}

#[test]
fn commit3_b64_costs_six_messages_per_batch() {
    check_commit_workload("commit3_b64", 3, 400);
}

#[test]
fn commit5_b64_costs_twelve_messages_per_batch() {
    check_commit_workload("commit5_b64", 5, 400);
}

#[test]
fn idle_ticks_and_elections_run() {
    let mut idle = harness::Workload::new("tick_idle").expect("a workload");
    idle.chunk(); // asserts that no tick produced output
    assert_eq!(idle.ops(), harness::TICK_CHUNK);
    let mut elect = harness::Workload::new("elect3").expect("a workload");
    for _ in 0..50 {
        elect.chunk(); // returns once all three nodes name one leader
    }
    assert_eq!(elect.ops(), 50);
}
