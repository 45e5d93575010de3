//! Quickcheck properties over whole simulated clusters: random fault schedules keep every
//! invariant (the simulator checks them after every step) and heal into liveness; the same
//! seed replays the same run, action for action.
//!
//! `PURERAFT_PROP_TESTS=n` sets the number of random cases per property (default 25).

use pureraft::sim::{Faults, Sim, SimConfig};
use pureraft::{Action, Config, Entries, Event, Message, Raft, Restored};
use quickcheck::{QuickCheck, TestResult};

fn cases() -> u64 {
    std::env::var("PURERAFT_PROP_TESTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(25)
}

/// Runs a safety phase of `ticks` ticks at fault `level`, then a liveness phase.
fn chaos_run(seed: u64, nodes: usize, level: u32, ticks: u64) -> Sim<u64> {
    chaos_run_with(SimConfig::new(nodes, seed), level, ticks)
}

fn chaos_run_with(config: SimConfig, level: u32, ticks: u64) -> Sim<u64> {
    let nodes = config.nodes;
    let mut sim: Sim<u64> = Sim::new(config);
    let faults = Faults::level(level);
    let mut next = 1;
    for _ in 0..ticks {
        sim.chaos_tick(&faults, &mut next);
    }
    sim.heal_all();
    if let Err(failure) = sim.check_liveness(u64::MAX, sim.liveness_bound_ticks()) {
        panic!("{failure} (nodes {nodes}, fault level {level}, {ticks} ticks)");
    }
    sim
}

#[test]
fn random_fault_schedules_keep_every_invariant_and_heal() {
    fn property(seed: u64, nodes: u8, level: u8) -> TestResult {
        let nodes = 1 + usize::from(nodes % 7);
        let level = u32::from(level % 4);
        let sim = chaos_run(seed, nodes, level, 2_000);
        // The run did real work: something committed and the checker ran.
        TestResult::from_bool(!sim.committed().is_empty() && sim.stats().invariant_checks > 0)
    }
    QuickCheck::new()
        .tests(cases())
        .quickcheck(property as fn(u64, u8, u8) -> TestResult);
}

/// Flow control at its tightest: one or two appends in flight, one to three entries and a few
/// bytes per message, a handful of uncommitted entries. Pipelining, probing, batching and
/// proposal rejection all run at their bounds under faults.
#[test]
fn tight_flow_control_bounds_keep_every_invariant_and_heal() {
    fn property(seed: u64, bounds: (u8, u8, u8, u8), level: u8) -> TestResult {
        let (inflight, entries, bytes, uncommitted) = bounds;
        let mut config = SimConfig::new(3 + 2 * usize::from(seed % 2 == 0), seed);
        config.node.max_inflight_appends = 1 + usize::from(inflight % 2);
        config.node.max_entries_per_message = 1 + usize::from(entries % 3);
        config.node.max_bytes_per_message = 8 + u64::from(bytes % 24);
        config.node.max_uncommitted_entries = 2 + u64::from(uncommitted % 6);
        let sim = chaos_run_with(config, u32::from(level % 4), 2_000);
        TestResult::from_bool(!sim.committed().is_empty())
    }
    QuickCheck::new()
        .tests(cases())
        .quickcheck(property as fn(u64, (u8, u8, u8, u8), u8) -> TestResult);
}

/// Snapshots on a random schedule, from every few entries (the lab's 10, or fewer) to rare,
/// with 0-8 trailing entries and snapshots of one to several chunks, so that crashed,
/// partitioned and paused nodes catch up by chunked InstallSnapshot, restart from snapshots,
/// and leaders compact while sending. Every invariant holds, snapshots included (a snapshot's
/// state equals the committed entries', applied never moves back).
#[test]
fn snapshots_under_faults_keep_every_invariant_and_heal() {
    fn property(seed: u64, every: u8, trailing: u8, padding: u16, level: u8) -> TestResult {
        let nodes = 3 + 2 * usize::from(seed % 2 == 0);
        let mut config = SimConfig::new(nodes, seed).with_snapshots(2 + u64::from(every % 30));
        config.node.snapshot_trailing_entries = u64::from(trailing % 9);
        config.node.snapshot_chunk_bytes = 64 + u64::from(padding % 512);
        config.node.max_inflight_snapshot_chunks = 1 + usize::from(every % 3);
        config.snapshot_padding = usize::from(padding % 4_096);
        let sim = chaos_run_with(config, 1 + u32::from(level % 3), 3_000);
        TestResult::from_bool(!sim.committed().is_empty() && sim.stats().snapshots_taken > 0)
    }
    QuickCheck::new()
        .tests(cases())
        .quickcheck(property as fn(u64, u8, u8, u16, u8) -> TestResult);
}

/// Batching hosts (`SimConfig::batching`): every host steps its events into one buffer and
/// carries out a random prefix after each step, proposes batches too, and may crash anywhere
/// in what it carries out; with snapshots half of the time. Every invariant holds, the
/// ordering rule on every message and apply among them, and the cluster heals; the hosts
/// really left actions waiting.
#[test]
fn batching_hosts_keep_every_invariant_and_heal() {
    fn property(seed: u64, nodes: u8, level: u8, every: u8) -> TestResult {
        let nodes = 1 + usize::from(nodes % 7);
        let mut config = SimConfig::new(nodes, seed).with_batching();
        if every % 2 == 0 {
            config = config.with_snapshots(2 + u64::from(every % 40));
            config.snapshot_padding = 2_000;
        }
        let sim = chaos_run_with(config, u32::from(level % 4), 2_000);
        let stats = sim.stats();
        TestResult::from_bool(
            !sim.committed().is_empty()
                && stats.steps_into_waiting_buffer > 0
                && stats.actions_left_waiting > 0,
        )
    }
    QuickCheck::new()
        .tests(cases())
        .quickcheck(property as fn(u64, u8, u8, u8) -> TestResult);
}

#[test]
fn same_seed_same_run() {
    fn property(seed: u64, level: u8) -> bool {
        let level = u32::from(level % 4);
        let first = chaos_run(seed, 5, level, 1_000);
        let second = chaos_run(seed, 5, level, 1_000);
        first.trace_hash() == second.trace_hash() && first.stats() == second.stats()
    }
    QuickCheck::new()
        .tests(cases().min(10))
        .quickcheck(property as fn(u64, u8) -> bool);
}

#[test]
fn different_seeds_differ() {
    // Guards the determinism property against a trace hash that ignores its input.
    let a = chaos_run(1, 5, 2, 1_000);
    let b = chaos_run(2, 5, 2, 1_000);
    assert_ne!(a.trace_hash(), b.trace_hash());
}

/// An event for a single node, decoded from quickcheck's raw numbers.
fn decode_event(raw: (u8, u8, u8)) -> Event<u64> {
    let (kind, a, b) = raw;
    let term = u64::from(a % 8);
    let index = u64::from(b % 8);
    let from = 2 + u64::from(a % 2);
    match kind % 6 {
        0 | 1 => Event::Tick,
        2 => Event::Propose(u64::from(b)),
        3 => Event::Receive {
            from,
            message: Message::RequestVote {
                term,
                last_log_index: index,
                last_log_term: term,
                transfer: b % 2 == 0,
            },
        },
        4 => Event::Receive {
            from,
            message: Message::RequestVoteResponse {
                term,
                vote_granted: b % 2 == 0,
            },
        },
        _ => Event::Receive {
            from,
            message: Message::AppendEntries {
                term,
                prev_log_index: index,
                prev_log_term: term,
                entries: Entries::new(),
                leader_commit: index,
            },
        },
    }
}

#[test]
fn same_state_same_events_same_actions() {
    fn property(seed: u64, raw: Vec<(u8, u8, u8)>) -> bool {
        let mut config = Config::new(1);
        config.seed = seed;
        let restored = Restored::bootstrap([1, 2, 3]);
        let mut a: Raft<u64> = Raft::new(config.clone(), restored.clone()).unwrap();
        let mut b: Raft<u64> = Raft::new(config, restored).unwrap();
        raw.into_iter().map(decode_event).all(|event| {
            let left: Vec<Action<u64>> = a.step(event.clone());
            let right = b.step(event);
            left == right && a.status() == b.status()
        })
    }
    QuickCheck::new()
        .tests(cases() * 20)
        .quickcheck(property as fn(u64, Vec<(u8, u8, u8)>) -> bool);
}

/// Regression, found by `snapshots_under_faults_keep_every_invariant_and_heal` (seed
/// 6703975453087348570; every 15, 1 trailing, 163-byte chunks, 2 in flight, 1,123 bytes of
/// padding, fault level 2): a leader dropped a stalled transfer and started the same snapshot
/// again from offset 0, while the follower still held 489 bytes of it from the first transfer
/// and answered "next offset 489"; the leader took that for an answer to a chunk it never
/// sent and ignored it, every heartbeat, for good. The leader now resumes from where the
/// follower is (one leader and one snapshot per index in a term, so the bytes are the same).
#[test]
fn restarted_transfer_resumes_where_the_follower_is_seed_6703975453087348570() {
    let seed = 6_703_975_453_087_348_570;
    let mut config = SimConfig::new(5, seed).with_snapshots(15);
    config.node.snapshot_trailing_entries = 1;
    config.node.snapshot_chunk_bytes = 163;
    config.node.max_inflight_snapshot_chunks = 2;
    config.snapshot_padding = 1_123;
    let sim = chaos_run_with(config, 2, 3_000);
    assert!(sim.stats().snapshots_installed > 0);
}
