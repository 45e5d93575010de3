//! Zero-copy apply (`Config::apply_by_range`): committed entries handed out as
//! `Action::ApplyRange`, read from the node's log with `Raft::committed_entries`, in place of
//! clones in `Action::Apply`. The same entries in the same sequence as `Apply`; what may be
//! read and what not; the rule that comes with it (read before stepping again); and the
//! simulator, whose hosts read every range right after the step, batching or not.

mod common;

use pureraft::sim::{Faults, Sim, SimConfig};
use pureraft::{Action, Config, Entry, Event, LogIndex, NodeId, Raft};

use common::chaos_then_liveness;
use common::hand::*;

type Node = Raft<u64>;

fn range_config(id: NodeId) -> Config {
    let mut config = config(id);
    config.apply_by_range = true;
    config
}

/// The entries a step hands out, read as the host reads them: `Apply`'s own, or each
/// `ApplyRange` read from the node at once.
fn handed_out(node: &Node, actions: &[Action<u64>]) -> Vec<Entry<u64>> {
    let mut entries = Vec::new();
    for action in actions {
        match action {
            Action::Apply(applied) => entries.extend(applied.iter().cloned()),
            Action::ApplyRange { first, last } => {
                let range = node.committed_entries(*first, *last);
                entries.extend_from_slice(range.expect("a range handed out is held"));
            }
            _ => {}
        }
    }
    entries
}

/// The same events to two leaders, one of each kind: the same entries handed out, in the
/// same steps; the ranges never an `Apply`, the clones never a range.
#[test]
fn ranges_hand_out_exactly_what_apply_hands_out() {
    let mut cloning: Node = founding(config(1), &[1, 2, 3]);
    let mut ranging: Node = founding(range_config(1), &[1, 2, 3]);
    for node in [&mut cloning, &mut ranging] {
        elect(node, 2);
    }
    let mut events = vec![Event::Receive {
        from: 2,
        message: accepted(1, 1),
    }];
    for command in 0..20u64 {
        events.push(Event::Propose(command));
        if command % 3 == 2 {
            let last = 2 + command;
            events.push(Event::Receive {
                from: 2 + command % 2,
                message: accepted(1, last),
            });
        }
    }
    events.push(Event::ProposeBatch(vec![100, 101, 102]));
    events.push(Event::Receive {
        from: 3,
        message: accepted(1, 24),
    });
    let mut total = 0;
    for event in events {
        let by_clone = cloning.step(event.clone());
        let by_range = ranging.step(event);
        assert!(!by_range.iter().any(|a| matches!(a, Action::Apply(_))));
        assert!(!by_clone
            .iter()
            .any(|a| matches!(a, Action::ApplyRange { .. })));
        let (a, b) = (
            handed_out(&cloning, &by_clone),
            handed_out(&ranging, &by_range),
        );
        assert_eq!(a, b);
        total += a.len();
    }
    assert_eq!(
        total, 24,
        "the no-op, 20 commands and a batch of 3, each once"
    );
    assert_eq!(cloning.applied_index(), ranging.applied_index());
}

#[test]
fn committed_entries_answers_only_committed_entries_it_holds() {
    let mut leader: Node = founding(range_config(1), &[1, 2, 3]);
    elect(&mut leader, 2);
    for command in 0..5 {
        leader.step(Event::Propose(command));
    }
    receive(&mut leader, 2, accepted(1, 4));
    let indices = |entries: Option<&[Entry<u64>]>| {
        entries.map(|entries| entries.iter().map(|e| e.index).collect::<Vec<LogIndex>>())
    };
    assert_eq!(
        indices(leader.committed_entries(1, 4)),
        Some(vec![1, 2, 3, 4])
    );
    assert_eq!(indices(leader.committed_entries(3, 3)), Some(vec![3]));
    assert_eq!(leader.committed_entries(4, 5), None, "5 is not committed");
    assert_eq!(leader.committed_entries(0, 2), None, "there is no index 0");
    assert_eq!(leader.committed_entries(3, 2), None, "an empty range");
    assert_eq!(leader.committed_entries(u64::MAX, u64::MAX), None);
}

/// The rule, and why: a follower hands out a range, then (a batching host having stepped on
/// without reading it) installs a snapshot that replaces its log. The range is gone; read
/// before the next step, it was there.
#[test]
fn a_range_must_be_read_before_the_next_step() {
    let mut follower: Node = founding(range_config(2), &[1, 2, 3]);
    let actions = receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 3));
    assert_eq!(
        actions
            .iter()
            .filter(|a| matches!(a, Action::ApplyRange { first: 1, last: 3 }))
            .count(),
        1
    );
    assert!(
        follower.committed_entries(1, 3).is_some(),
        "held until the next step"
    );
    let meta = snapshot_meta(10, 1);
    receive(&mut follower, 1, chunk(1, meta, 0, b"state", 5));
    assert_eq!(follower.snapshot_index(), 10);
    assert_eq!(
        follower.committed_entries(1, 3),
        None,
        "replaced by the snapshot"
    );
}

/// The simulator's hosts read each range right after the step that hands it out (batching
/// hosts keep the copy until they carry the action out). Under faults, with membership
/// changes and snapshots, every entry applied is checked as with `Apply`.
#[test]
fn ranges_under_faults_with_batching_and_asynchronous_hosts() {
    for (seed, batching, async_writes) in [(0, true, false), (1, false, true), (2, true, true)] {
        let mut config = SimConfig::new(3, seed).with_snapshots(20);
        config.node.apply_by_range = true;
        config.batching = batching;
        if async_writes {
            config = config.with_async_persistence(4);
        }
        let mut sim: Sim<u64> = Sim::new(config);
        let faults = Faults::level(2).with_membership(2_000);
        chaos_then_liveness(&mut sim, &faults, 6_000, &format!("seed {seed}"));
        assert!(
            sim.stats().ranges_read > 100,
            "seed {seed}: {:?}",
            sim.stats()
        );
    }
}
