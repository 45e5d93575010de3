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

/// With asynchronous persistence (an instant disk whose writes are reported after each step),
/// replication costs the same messages and rounds: a follower acknowledges an append once
/// its write is reported, in place of at once, and never twice.
#[test]
fn async_commit_workloads_cost_the_same_messages() {
    check_commit_workload("commit3_b1_async", 3, 25_000);
    check_commit_workload("commit3_b64_async", 3, 400);
    check_commit_workload("commit5_b64_async", 5, 400);
}

/// Zero-copy apply costs the same messages too, alone and with asynchronous persistence.
#[test]
fn range_commit_workloads_cost_the_same_messages() {
    check_commit_workload("commit3_b1_range", 3, 25_000);
    check_commit_workload("commit3_b64_range", 3, 400);
    check_commit_workload("commit5_b64_async_range", 5, 400);
}

#[test]
fn async_idle_ticks_elections_and_reads_run() {
    for name in [
        "tick_idle_async",
        "elect3_async",
        "elect3_prevote_async",
        "read_index_async",
        "read_lease_async",
        "read_index_range",
        "elect3_async_range",
    ] {
        let mut workload = harness::Workload::new(name).expect("a workload");
        for _ in 0..20 {
            workload.chunk(); // each asserts what its operation must do
        }
        assert!(workload.ops() >= 20, "{name}");
    }
}

/// `commit3_fsync` (`benches/harness/latency.rs`): a disk sync of F ticks, messages of L = 1
/// tick. A synchronous host puts two syncs in sequence on the commit path (the leader's before
/// its appends leave, the follower's before it answers) besides the round trip: at least
/// 2F + 2L. With asynchronous persistence the leader's sync runs beside the round trip: one
/// sync and the round trip, plus at most one sync already running on the follower's disk
/// (group commit), so at most 2F + 2L, and the leader's own sync is off the path, so at least
/// F ticks less than synchronous.
#[test]
fn async_persistence_takes_the_leaders_sync_off_the_commit_path() {
    let net = 1;
    for fsync in [1, 2, 4, 8] {
        let sync = harness::latency::run(fsync, net, false, 500);
        let async_ = harness::latency::run(fsync, net, true, 500);
        assert_eq!((sync.commits, async_.commits), (500, 500));
        assert!(
            sync.median >= 2 * fsync + 2 * net,
            "fsync {fsync}: synchronous median {} below two syncs and a round trip",
            sync.median
        );
        assert!(
            async_.median <= 2 * fsync + 2 * net,
            "fsync {fsync}: asynchronous median {}",
            async_.median
        );
        assert!(
            async_.median + fsync <= sync.median,
            "fsync {fsync}: asynchronous {} vs synchronous {}",
            async_.median,
            sync.median
        );
    }
    // A disk that syncs at once costs nothing either way: the round trip alone.
    let instant = harness::latency::run(0, net, true, 200);
    assert_eq!(instant.median, 2 * net);
}
