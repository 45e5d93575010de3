//! Asynchronous entry writes (`Config::async_persistence`, thesis §10.2.1), one test per rule:
//! a leader counts its own log in the commit quorum only up to what its host reported durable
//! and may commit on its followers before its own write completes; a follower acknowledges
//! only what was reported, and acknowledges it when the report comes; nothing is applied
//! before it is durable here; a report for entries truncated since is ignored (ABA), and a
//! truncation takes back what was durable; hostile or untimely reports change nothing. Then
//! the simulator, whose hosts complete writes late, repeat old reports and lose the writes in
//! flight at a crash, with the checker judging every acknowledgement and commit against what
//! is on the disks.

mod common;

use pureraft::sim::{Faults, Sim, SimConfig};
use pureraft::{Action, AppendOutcome, Config, Event, LogIndex, NodeId, Raft, Role, Term};

use common::chaos_then_liveness;
use common::hand::*;

type Node = Raft<u64>;

/// Node `id`'s hand-test configuration with asynchronous persistence.
fn async_config(id: NodeId) -> Config {
    let mut config = config(id);
    config.async_persistence = true;
    config
}

fn persisted(node: &mut Node, index: LogIndex, term: Term) -> Actions {
    node.step(Event::Persisted { index, term })
}

/// The match indices of every `Accepted` answer sent to `to`.
fn acks_to(actions: &[Action<u64>], to: NodeId) -> Vec<LogIndex> {
    append_answers(actions, to)
        .into_iter()
        .filter_map(|(_, outcome)| match outcome {
            AppendOutcome::Accepted { match_index } => Some(match_index),
            AppendOutcome::Rejected { .. } => None,
        })
        .collect()
}

/// The commit index every append or commit notice in `actions` reports.
fn reported_commits(actions: &[Action<u64>]) -> Vec<LogIndex> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send {
                message: pureraft::Message::AppendEntries { leader_commit, .. },
                ..
            }
            | Action::Send {
                message: pureraft::Message::Commit { leader_commit, .. },
                ..
            } => Some(*leader_commit),
            _ => None,
        })
        .collect()
}

/// Node 1 of {1, 2, 3}, asynchronous, elected in term 1 by node 2: its no-op (index 1) is
/// written in the background and nobody has acknowledged it yet.
fn async_leader() -> Node {
    let mut leader: Node = founding(async_config(1), &[1, 2, 3]);
    let actions = elect(&mut leader, 2);
    assert_eq!(
        persisted_entries(&actions),
        vec![vec![pureraft::Entry {
            term: 1,
            index: 1,
            payload: pureraft::Payload::noop(),
        }]]
    );
    leader
}

#[test]
fn a_leader_counts_its_own_log_only_up_to_what_its_host_reported_durable() {
    let mut leader = async_leader();
    // Node 2 holds the no-op durably. Synchronous, the leader would count its own log too:
    // two of three, committed. Here its own write is not reported yet: one of three.
    let actions = receive(&mut leader, 2, accepted(1, 1));
    assert_eq!(applied(&actions), Vec::<LogIndex>::new());
    assert_eq!(leader.commit_index(), 0);
    // Its host reports the write: now two of three hold it.
    let actions = persisted(&mut leader, 1, 1);
    assert_eq!(applied(&actions), vec![1]);
    assert_eq!(leader.commit_index(), 1);
}

/// Thesis §10.2.1: the leader's write runs beside replication. Two followers that hold an
/// entry commit it without the leader's write; the leader applies it only once its own
/// write is reported, so that a restart finds what was applied.
#[test]
fn a_leader_commits_on_its_followers_before_its_own_write_and_applies_after_it() {
    let mut leader = async_leader();
    receive(&mut leader, 2, accepted(1, 1));
    let actions = receive(&mut leader, 3, accepted(1, 1));
    assert_eq!(leader.commit_index(), 1, "two followers of three hold it");
    assert_eq!(
        applied(&actions),
        Vec::<LogIndex>::new(),
        "not durable here yet"
    );
    assert_eq!(leader.applied_index(), 0);
    let actions = persisted(&mut leader, 1, 1);
    assert_eq!(applied(&actions), vec![1]);
}

#[test]
fn a_follower_acknowledges_an_append_once_its_host_reports_it_durable() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    let actions = receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 0));
    assert_eq!(
        persisted_entries(&actions).len(),
        1,
        "the entries are written"
    );
    assert_eq!(
        acks_to(&actions, 1),
        Vec::<LogIndex>::new(),
        "but not acknowledged"
    );
    // A heartbeat meanwhile is answered at once, with what is durable: nothing yet.
    let actions = receive(&mut follower, 1, append(1, 3, 1, vec![], 0));
    assert_eq!(acks_to(&actions, 1), vec![0]);
    // The report acknowledges what it covers, and only that.
    let actions = persisted(&mut follower, 2, 1);
    assert_eq!(acks_to(&actions, 1), vec![2]);
    let actions = persisted(&mut follower, 3, 1);
    assert_eq!(acks_to(&actions, 1), vec![3]);
    // A report of what is already known says nothing new.
    let actions = persisted(&mut follower, 3, 1);
    assert!(actions.is_empty(), "{actions:?}");
}

#[test]
fn nothing_is_applied_before_it_is_durable_here() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    // The leader says all three are committed (on other nodes).
    let actions = receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 3));
    assert_eq!(applied(&actions), Vec::<LogIndex>::new());
    assert_eq!(follower.commit_index(), 3);
    let actions = persisted(&mut follower, 2, 1);
    assert_eq!(applied(&actions), vec![1, 2]);
    let actions = persisted(&mut follower, 3, 1);
    assert_eq!(applied(&actions), vec![3]);
}

/// A write of entries 1..3, returned in term 1, completes after the log was truncated at 2
/// in term 2 and rewritten with entries of term 2. Its report names index 3, which the log
/// still has: it must not count, or the follower would acknowledge, and the leader count,
/// entries that are not on its disk.
#[test]
fn a_report_for_entries_truncated_since_is_ignored() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 0));
    let actions = persisted(&mut follower, 1, 1);
    assert_eq!(acks_to(&actions, 1), vec![1]);
    // Node 3 leads term 2; its log has term 2 from index 2 on. The follower truncates.
    receive(&mut follower, 3, vote_request(2, 1, 1));
    let new_entries = vec![entry(2, 2), entry(3, 2)];
    let actions = receive(&mut follower, 3, append(2, 1, 1, new_entries, 0));
    assert_eq!(
        persisted_entries(&actions),
        vec![vec![entry(2, 2), entry(3, 2)]]
    );
    assert_eq!(acks_to(&actions, 3), Vec::<LogIndex>::new());
    // The first write's report comes now: (3, term 1) is no longer in the log.
    let actions = persisted(&mut follower, 3, 1);
    assert!(
        actions.is_empty(),
        "a stale report changed something: {actions:?}"
    );
    let actions = receive(&mut follower, 3, append(2, 3, 2, vec![], 0));
    assert_eq!(
        acks_to(&actions, 3),
        vec![1],
        "only index 1 is durable in the log as it is"
    );
    // The second write's report counts.
    let actions = persisted(&mut follower, 3, 2);
    assert_eq!(acks_to(&actions, 3), vec![3]);
}

/// A-B-A, found by the soak with membership changes (3 nodes, fault level 1, seed 18 and
/// four more): entry (3, term 1) is written, truncated by the leader of term 2, then written
/// again by the leader of term 3, whose log has it. The first write's report, late, names an
/// entry the log holds again, at the same index and of the same term; but the disk holds it
/// only once the third write completes. Judging a report by the entry at its index counted
/// it; judging it by the term the write was returned in does not.
#[test]
fn a_late_report_for_an_entry_truncated_and_written_again_is_ignored() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 0));
    // Term 2: node 3 leads, with entries of term 2 from index 2.
    receive(&mut follower, 3, vote_request(2, 1, 1));
    receive(
        &mut follower,
        3,
        append(2, 1, 1, vec![entry(2, 2), entry(3, 2)], 0),
    );
    // Term 3: node 1 leads, with the original entries 2..3 of term 1, and its no-op.
    receive(&mut follower, 1, vote_request(3, 3, 1));
    let rewrite = vec![entry(2, 1), entry(3, 1), entry(4, 3)];
    let actions = receive(&mut follower, 1, append(3, 1, 1, rewrite, 0));
    assert_eq!(persisted_entries(&actions).len(), 1, "written again");
    assert_eq!(
        follower.term_at(3),
        Some(1),
        "the same entry is at index 3 again"
    );
    // The first write's report comes late: it must not count.
    let actions = persisted(&mut follower, 3, 1);
    assert!(
        actions.is_empty(),
        "a stale report changed something: {actions:?}"
    );
    let actions = receive(&mut follower, 1, append(3, 4, 3, vec![], 0));
    assert_eq!(
        acks_to(&actions, 1),
        vec![0],
        "no write was reported that still counts"
    );
    // The third write's report counts.
    let actions = persisted(&mut follower, 4, 3);
    assert_eq!(acks_to(&actions, 1), vec![4]);
}

/// Found by fuzzing (`step`): a faulty peer sends, in one term, an append that conflicts
/// with entries the node wrote in that same term. No correct leader does (its log only
/// grows), and accepting it would let a report of the first write, returned in the same
/// term, count the second write's entries before they are on the disk. The append is
/// refused: nothing written, nothing acknowledged, the log unchanged.
#[test]
fn an_append_that_undoes_a_write_of_its_own_term_is_refused() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    receive(&mut follower, 1, vote_request(2, 0, 0));
    receive(
        &mut follower,
        1,
        append(2, 0, 0, vec![entry(1, 1), entry(2, 2)], 0),
    );
    let actions = receive(&mut follower, 1, append(2, 0, 0, vec![entry(1, 2)], 0));
    assert!(!has_persist(&actions), "{actions:?}");
    assert_eq!(acks_to(&actions, 1), Vec::<LogIndex>::new());
    assert_eq!((follower.last_index(), follower.term_at(1)), (2, Some(1)));
    // The first write's report counts, and what it acknowledges is on the disk.
    let actions = persisted(&mut follower, 2, 2);
    assert_eq!(acks_to(&actions, 1), vec![2]);
}

/// A truncation takes back what was durable: entries 2..3 of term 1 were reported durable,
/// then replaced by entries of term 2 whose write is not reported yet. The follower may
/// acknowledge index 1 only.
#[test]
fn a_truncation_takes_back_what_was_durable() {
    let mut follower: Node = founding(async_config(2), &[1, 2, 3]);
    receive(&mut follower, 1, append(1, 0, 0, log_of(&[1, 1, 1]), 0));
    persisted(&mut follower, 3, 1);
    receive(&mut follower, 3, vote_request(2, 1, 1));
    receive(
        &mut follower,
        3,
        append(2, 1, 1, vec![entry(2, 2), entry(3, 2)], 0),
    );
    let actions = receive(&mut follower, 3, append(2, 3, 2, vec![], 0));
    assert_eq!(acks_to(&actions, 3), vec![1]);
}

/// Votes and terms stay synchronous: the vote is persisted in the step that grants it, before
/// the answer, exactly as without the option.
#[test]
fn a_vote_is_still_persisted_before_it_is_sent() {
    let mut voter: Node = founding(async_config(2), &[1, 2, 3]);
    let actions = receive(&mut voter, 1, vote_request(1, 0, 0));
    let persist = actions
        .iter()
        .position(|action| matches!(action, Action::Persist(_)))
        .expect("the vote is persisted");
    let answer = actions
        .iter()
        .position(|action| matches!(action, Action::Send { .. }))
        .expect("the vote is sent");
    assert!(persist < answer);
    assert_eq!(vote_answer(&actions, 1), Some((1, true)));
}

#[test]
fn a_single_voter_commits_once_its_own_write_is_reported() {
    let mut node: Node = founding(async_config(1), &[1]);
    let actions = tick_until_campaign(&mut node);
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(applied(&actions), Vec::<LogIndex>::new());
    let actions = node.step(Event::Propose(7));
    assert_eq!(applied(&actions), Vec::<LogIndex>::new());
    let actions = persisted(&mut node, 2, 1);
    assert_eq!(applied(&actions), vec![1, 2]);
}

/// A leader tells its followers only commits a quorum holds durably: with its own write not
/// reported and one follower's acknowledgement, the appends it sends report nothing committed.
#[test]
fn a_leader_reports_no_commit_its_own_write_would_complete() {
    let mut leader = async_leader();
    let actions = receive(&mut leader, 2, accepted(1, 1));
    let actions_after = leader.step(Event::Propose(5));
    for commit in reported_commits(&actions)
        .into_iter()
        .chain(reported_commits(&actions_after))
    {
        assert_eq!(commit, 0);
    }
}

/// Reports of what is already known, past the log, or of a term the node has not reached, or
/// without the option, change nothing.
#[test]
fn hostile_or_untimely_reports_change_nothing() {
    let mut leader = async_leader();
    let before = leader.status();
    for (index, term) in [
        (0, 0),
        (0, 1),
        (1, 2),
        (2, 1),
        (u64::MAX, u64::MAX),
        (0, u64::MAX),
    ] {
        let actions = persisted(&mut leader, index, term);
        assert!(actions.is_empty(), "({index}, {term}): {actions:?}");
        assert_eq!(leader.status(), before);
    }
    // Synchronous: every write is durable once carried out; a report is ignored.
    let mut sync: Node = founding(config(1), &[1, 2, 3]);
    elect(&mut sync, 2);
    let before = sync.status();
    let actions = persisted(&mut sync, 1, 1);
    assert!(actions.is_empty());
    assert_eq!(sync.status(), before);
}

/// A restarted node holds only what was durable: everything it restores counts as reported.
#[test]
fn a_restarted_node_counts_its_restored_log_durable() {
    let mut follower = Raft::new(async_config(2), restored(1, None, &[1, 1])).unwrap();
    let actions = receive(&mut follower, 1, append(1, 2, 1, vec![], 2));
    assert_eq!(applied(&actions), vec![1, 2]);
    assert_eq!(acks_to(&actions, 1), vec![2]);
}

/// The simulator with asynchronous hosts: writes complete up to 5 ticks late (one in 32 up to
/// 40), reports come late, merged, or again; crashes lose the writes in flight. The checker
/// holds every acknowledgement to its sender's disk, every commit to the disks of a quorum,
/// every apply to the applier's disk, and the log matching and leader completeness rules to
/// what the nodes wrote. On 3 and 5 nodes, at the three fault levels, with membership changes;
/// each run must have lost writes at crashes and still commit after healing.
#[test]
fn async_persistence_keeps_every_invariant_under_faults() {
    let mut lost = 0;
    for (nodes, seed) in [3, 5].into_iter().flat_map(|n| (0..3).map(move |s| (n, s))) {
        for level in 1..=3 {
            let config = SimConfig::new(nodes, seed)
                .with_snapshots(20)
                .with_async_persistence(5);
            let mut sim: Sim<u64> = Sim::new(config);
            let faults = Faults::level(level).with_membership(2_000);
            let what = format!("{nodes} nodes, seed {seed}, level {level}");
            chaos_then_liveness(&mut sim, &faults, 8_000, &what);
            let stats = sim.stats();
            assert!(stats.writes_reported > 100, "{what}: {stats:?}");
            lost += stats.entry_writes_lost;
        }
    }
    assert!(lost > 0, "no crash struck a write in flight");
}

/// The same with batching hosts, which carry out only a prefix of their buffer after each
/// step: writes start later still, and a crash loses both the unstarted actions and the
/// writes in flight.
#[test]
fn async_persistence_with_batching_hosts() {
    for seed in 0..4 {
        let config = SimConfig::new(3, seed)
            .with_batching()
            .with_async_persistence(3);
        let mut sim: Sim<u64> = Sim::new(config);
        chaos_then_liveness(&mut sim, &Faults::level(2), 8_000, &format!("seed {seed}"));
    }
}
