//! Step throughput: the workloads of `shared/peer-bench` (raft-rs and raft-io run the same ones)
//! against pureraft, as criterion benchmarks. `cargo bench --bench step [-- NAME]`.
//!
//! * **Host loop** (`benches/harness/mod.rs`): an in-memory cluster of nodes 1..=N, each
//!   `Raft<Arc<[u8]>>` with a reused output buffer filled by `Raft::step_into`; each step's
//!   actions are carried out at once and in order: `Persist::Entries` moved into a per-node
//!   in-memory disk (`Vec<Entry<_>>`, truncated from the first entry's index, then
//!   `Entries::append_to`), `Persist::HardState` stored, `Send` pushed onto one global FIFO
//!   queue, `Apply` counted, proposal outcomes asserted accepted. "Drive" delivers the queued
//!   messages in FIFO rounds (messages sent during a round wait for the next) until the queue
//!   is empty: synchronous, lossless, no serialization, no host allocation in steady state.
//! * **Payload**: `Arc<[u8]>`, 128 bytes of `0xAB`, freshly allocated per proposal. That is what
//!   a real host would use: the command is cloned into the log, the persist action, every
//!   append and the apply action, and each clone is a reference-count increment. A single
//!   entry rides in those actions and messages inline (`Entries`), so `commit3_b1` allocates
//!   for the payload alone.
//! * **Batching**: a batch of 64 is 64 separate `Event::Propose` stepped with `step_into` into
//!   the leader's same output buffer before any action is carried out; pureraft merges them
//!   into one `Persist::Entries` and one append per follower.
//! * **Compaction**: like the peers, every node snapshots and compacts every 10,000 applied
//!   entries (`Event::SnapshotTaken` of an empty state machine; the node keeps its default
//!   1024 trailing entries, the host drops what the snapshot covers from its disk). The
//!   commit benchmarks also start a new cluster (untimed) every 1,000,000 entries, the length
//!   of one peer run.
//!
//! Workloads (throughput in elements: entries, ticks or elections):
//! * `commit3_b1`, `commit3_b64`, `commit5_b64`: node 1 is elected untimed; one iteration
//!   proposes a batch of 1 or 64 entries on it and drives until every entry is applied on all
//!   3 (or 5) nodes, which pureraft reaches in one drive (its leader sends a commit notice once
//!   a follower has answered every append).
//! * `tick_idle`: `step_into(Event::Tick)` on a follower (id 2 of {1, 2, 3}) whose election
//!   timeout never fires; the reused buffer is asserted empty.
//! * `elect3`: build three new nodes (timed), then rounds of one tick for nodes 1, 2, 3 and a
//!   drive, until one node leads and all three name it. Election timeouts are drawn from
//!   [10, 20) ticks, like the peers'.

mod harness;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use harness::{CommitRun, Elect3, TickIdle, COMMIT_ENTRIES_PER_RUN};

/// Benchmarks one commit workload: `nodes` nodes, batches of `batch` proposals.
fn commit(c: &mut Criterion, name: &str, nodes: u64, batch: u64) {
    let mut group = c.benchmark_group("step");
    group.throughput(Throughput::Elements(batch));
    let mut run = CommitRun::new(nodes, batch);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut start = Instant::now();
            for _ in 0..iters {
                if run.proposed >= COMMIT_ENTRIES_PER_RUN {
                    // One peer run's worth of entries: start a fresh cluster, untimed.
                    timed += start.elapsed();
                    run.check();
                    run = CommitRun::new(nodes, batch);
                    start = Instant::now();
                }
                run.batch();
            }
            timed + start.elapsed()
        })
    });
    run.check();
    group.finish();
}

fn commit3_b1(c: &mut Criterion) {
    commit(c, "commit3_b1", 3, 1);
}

fn commit3_b64(c: &mut Criterion) {
    commit(c, "commit3_b64", 3, 64);
}

fn commit5_b64(c: &mut Criterion) {
    commit(c, "commit5_b64", 5, 64);
}

fn tick_idle(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group.throughput(Throughput::Elements(1));
    let mut idle = TickIdle::new();
    group.bench_function("tick_idle", |b| b.iter(|| black_box(&mut idle).tick()));
    group.finish();
}

fn elect3(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group.throughput(Throughput::Elements(1));
    let mut elect = Elect3::new();
    group.bench_function("elect3", |b| b.iter(|| black_box(&mut elect).elect()));
    group.finish();
}

/// Modest times: the machine is shared, and `benches/ir.sh` gives the deterministic figures.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = commit3_b1, commit3_b64, commit5_b64, tick_idle, elect3
}
criterion_main!(benches);
