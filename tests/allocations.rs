//! Heap allocations, counted by a global allocator that counts per thread (so tests running
//! in parallel do not disturb each other): the idle paths allocate nothing, a follower's tick
//! and a leader's heartbeat round stepped into a reused buffer; and the allocations per
//! committed entry of the benchmark workloads are reported and bounded.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pureraft::{Action, Config, Event, Message, Raft, Restored, Role};

#[path = "../benches/harness/mod.rs"]
mod harness;

struct Counting;

thread_local! {
    // Const-initialized and without a destructor: safe to touch from inside the allocator.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(work: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

/// Allocations per committed entry in the benchmark workloads (`benches/harness`), host loop
/// included (its 128-byte payload is one of them), after a warm-up so that buffers have grown.
/// The figures are printed for the report; the bounds catch a regression.
#[test]
fn allocations_per_committed_entry_are_reported_and_bounded() {
    for (name, bound) in [
        // One is the payload; a single entry rides in actions and messages inline.
        ("commit3_b1", 1.1),
        ("commit3_b64", 1.2),
        ("commit5_b64", 1.3),
    ] {
        let mut workload = harness::Workload::new(name).expect("a known workload");
        for _ in 0..200 {
            workload.chunk();
        }
        let before = workload.ops();
        let allocations = allocations_during(|| {
            for _ in 0..500 {
                workload.chunk();
            }
        });
        let per_entry = allocations as f64 / (workload.ops() - before) as f64;
        eprintln!("{name}: {per_entry:.2} allocations per committed entry");
        assert!(
            per_entry <= bound,
            "{name}: {per_entry:.2} allocations per entry"
        );
        workload.stats();
    }
}

#[test]
fn idle_follower_ticks_and_leader_heartbeats_allocate_nothing() {
    // An idle follower: election timeout far away, so every tick is the idle path.
    let mut config = Config::new(2);
    config.election_ticks = 1 << 40;
    let mut follower: Raft<Vec<u8>> = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    let mut out: Vec<Action<Vec<u8>>> = Vec::with_capacity(16);
    let ticks = allocations_during(|| {
        for _ in 0..100_000 {
            follower.step_into(Event::Tick, &mut out);
            assert!(out.is_empty());
        }
    });
    assert_eq!(ticks, 0, "idle follower ticks allocated");

    // A leader of a caught-up 3-node cluster: heartbeat rounds in steady state.
    let mut leader: Raft<Vec<u8>> =
        Raft::new(Config::new(1), Restored::bootstrap([1, 2, 3])).unwrap();
    while leader.role() != Role::Leader {
        leader.step_into(Event::Tick, &mut out);
        // Node 2 grants the pre-vote (PreVote is on by default), then the vote.
        let (term, role) = (leader.term(), leader.role());
        let grant = match role {
            Role::PreCandidate => Message::PreVoteResponse {
                term,
                vote_granted: true,
            },
            Role::Candidate => Message::RequestVoteResponse {
                term,
                vote_granted: true,
            },
            _ => continue,
        };
        let event = Event::Receive {
            from: 2,
            message: grant,
        };
        leader.step_into(event, &mut out);
        if leader.role() == Role::Candidate {
            let message = Message::RequestVoteResponse {
                term: leader.term(),
                vote_granted: true,
            };
            leader.step_into(Event::Receive { from: 2, message }, &mut out);
        }
    }
    // Both followers acknowledge the no-op; the leader commits it.
    let (term, last) = (leader.term(), leader.last_index());
    for from in [2, 3] {
        let message = Message::AppendEntriesResponse {
            term,
            outcome: pureraft::AppendOutcome::Accepted { match_index: last },
        };
        leader.step_into(Event::Receive { from, message }, &mut out);
    }
    assert_eq!(leader.commit_index(), last);
    out.clear();
    let heartbeat_ticks = leader.config().heartbeat_ticks;
    let rounds = allocations_during(|| {
        for _ in 0..1_000 {
            for _ in 0..heartbeat_ticks {
                leader.step_into(Event::Tick, &mut out);
            }
            assert_eq!(out.len(), 2, "one heartbeat per follower");
            out.clear();
            // Both followers answer (CheckQuorum keeps the leader only while they do).
            for from in [2, 3] {
                let message = Message::AppendEntriesResponse {
                    term,
                    outcome: pureraft::AppendOutcome::Accepted { match_index: last },
                };
                leader.step_into(Event::Receive { from, message }, &mut out);
            }
            assert!(out.is_empty(), "an answer to a heartbeat sends nothing");
        }
    });
    assert_eq!(leader.role(), Role::Leader);
    assert_eq!(rounds, 0, "heartbeat rounds allocated");
}
