//! Membership changes (Ongaro 2014 dissertation, chapter 4), one test per rule, through the
//! public API only. Most tests drive nodes by hand with `Raft::step` and hand-built messages
//! (`common::hand`), some through `Net`, a small lossless network of hand-driven nodes defined
//! below, and the last ones through the simulator, whose checker verifies the safety invariants
//! after every step. Each test's doc comment names the rule it checks and where the rule comes
//! from: a section of the thesis (§4.1 configurations in force when appended and single-server
//! changes, §4.2.1 catching up new servers, §4.2.2 removing the leader, §4.2.3 disruptive
//! servers, §4.3 joint consensus), a bug found by fuzzing, or the etcd-io/raft test it ports.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use pureraft::sim::{Faults, Sim, SimConfig};
use pureraft::{
    Action, Config, Entry, Event, HardState, LogIndex, Membership, MembershipChange,
    MembershipError, Message, NodeId, Payload, ProposeError, Raft, Restored, Role, Snapshot,
    SnapshotError, SnapshotMeta, Term,
};

use common::hand::*;
use common::net::Net;

use MembershipChange::{AddLearner, LeaveJoint, Promote, Remove};

// ----- helpers -----

/// A configuration of `voters` and `learners`, not joint.
fn members(voters: &[NodeId], learners: &[NodeId]) -> Membership {
    Membership {
        voters: voters.to_vec(),
        outgoing: Vec::new(),
        learners: learners.to_vec(),
    }
}

/// The joint configuration moving from the voters `outgoing` to the voters `voters`.
fn joint(voters: &[NodeId], outgoing: &[NodeId]) -> Membership {
    Membership {
        voters: voters.to_vec(),
        outgoing: outgoing.to_vec(),
        learners: Vec::new(),
    }
}

/// `MembershipChange::Joint` to these voters, no learners.
fn joint_to(voters: &[NodeId]) -> MembershipChange {
    MembershipChange::Joint {
        voters: voters.to_vec(),
        learners: Vec::new(),
    }
}

/// A configuration entry at `index` in `term`.
fn config_entry(index: LogIndex, term: Term, membership: Membership) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::membership(membership),
    }
}

/// An empty node, started to join a running cluster (`Restored::default()`).
fn empty_node(id: NodeId) -> Node {
    Raft::new(config(id), Restored::default()).unwrap()
}

/// Node `config.id` leading term 1 of `membership`: it campaigned, every other voter granted
/// until it won, and every other voter acknowledged its no-op at index 1, which is committed.
/// Learners answered nothing.
fn leader_of(config: Config, membership: Membership) -> Node {
    let id = config.id;
    let restored = Restored {
        membership: membership.clone(),
        ..Restored::default()
    };
    let mut leader = Raft::new(config, restored).unwrap();
    let others: Vec<NodeId> = membership
        .voters
        .iter()
        .chain(&membership.outgoing)
        .copied()
        .filter(|&voter| voter != id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    tick_until_campaign(&mut leader);
    for &voter in &others {
        if leader.role() == Role::Leader {
            break;
        }
        let term = leader.term();
        receive(&mut leader, voter, grant(term));
    }
    assert_eq!(leader.role(), Role::Leader);
    for &voter in &others {
        let term = leader.term();
        receive(&mut leader, voter, accepted(term, 1));
    }
    assert_eq!(leader.commit_index(), 1, "the no-op is committed");
    leader
}

/// Node 1 leading term 1 of {1, 2, 3}, its no-op at index 1 committed.
fn leader_of_three() -> Node {
    leader_of(config(1), three())
}

/// Steps `node` with `change` against the configuration index `membership_index`.
fn change_at(node: &mut Node, change: MembershipChange, membership_index: LogIndex) -> Actions {
    node.step(Event::ChangeMembership {
        change,
        membership_index,
    })
}

/// Steps `node` with `change` against its configuration in force, as a host that just read it.
fn change(node: &mut Node, change: MembershipChange) -> Actions {
    let membership_index = node.membership_index();
    change_at(node, change, membership_index)
}

/// The outcome of a proposal step: the accepted index, or the refusal.
fn outcome(actions: &[Action<u64>]) -> Result<LogIndex, ProposeError> {
    let outcomes: Vec<Result<LogIndex, ProposeError>> = actions
        .iter()
        .filter_map(|action| match action {
            Action::ProposalAccepted { index, .. } => Some(Ok(*index)),
            Action::ProposalRejected(error) => Some(Err(error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "one outcome per proposal: {actions:?}");
    outcomes[0].clone()
}

/// The index of the configuration entry the step appended; panics if it was refused.
fn accepted_index(actions: &[Action<u64>]) -> LogIndex {
    outcome(actions).unwrap_or_else(|error| panic!("change refused: {error:?}"))
}

/// Proposes `command` on `node` and answers the index it was given.
fn propose(node: &mut Node, command: u64) -> LogIndex {
    accepted_index(&node.step(Event::Propose(command)))
}

/// Checks that `change` against `membership_index` is refused with exactly `error`, as the
/// step's only action, and that nothing else changed on the node.
fn assert_refused(
    node: &mut Node,
    change: MembershipChange,
    membership_index: LogIndex,
    error: ProposeError,
) {
    let before = (
        node.status(),
        node.membership().clone(),
        node.membership_index(),
    );
    let actions = change_at(node, change.clone(), membership_index);
    assert_eq!(
        actions,
        vec![Action::ProposalRejected(error)],
        "{change:?} at {membership_index}"
    );
    let after = (
        node.status(),
        node.membership().clone(),
        node.membership_index(),
    );
    assert_eq!(before, after, "a refused change changes nothing");
}

/// A refusal of a membership change for `error`.
fn membership_error(error: MembershipError) -> ProposeError {
    ProposeError::Membership(error)
}

/// The ids `actions` send a RequestVote to.
fn vote_requests(actions: &[Action<u64>]) -> BTreeSet<NodeId> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send {
                to,
                message: Message::RequestVote { .. },
            } => Some(*to),
            _ => None,
        })
        .collect()
}

/// Ticks `node` `ticks` times and answers every action of those ticks.
fn tick_for(node: &mut Node, ticks: u64) -> Actions {
    let mut actions = Vec::new();
    for _ in 0..ticks {
        actions.extend(node.step(Event::Tick));
    }
    actions
}

/// Checks that `node` does not campaign for ten of its longest election timeouts: no
/// RequestVote, no new term, never a candidate.
fn assert_never_campaigns(node: &mut Node) {
    let term = node.term();
    for _ in 0..20 * node.config().election_ticks {
        let actions = node.step(Event::Tick);
        assert!(
            vote_requests(&actions).is_empty(),
            "node {} campaigned: {actions:?}",
            node.id()
        );
        assert_ne!(node.role(), Role::Candidate);
    }
    assert_eq!(node.term(), term, "node {} moved to a new term", node.id());
}

/// The `leader_commit` of every AppendEntries and Commit notice sent to `to`, in order.
fn commits_sent_to(actions: &[Action<u64>], to: NodeId) -> Vec<LogIndex> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::AppendEntries { leader_commit, .. }
            | Message::Commit { leader_commit, .. } => Some(leader_commit),
            _ => None,
        })
        .collect()
}

/// The ids `leader` tracks (`Raft::match_indices`), in order.
fn tracked(leader: &Node) -> BTreeSet<NodeId> {
    leader.match_indices().map(|(id, _)| id).collect()
}

/// A snapshot of `last_index` in `last_term` whose configuration is `membership`, from the
/// entry at `membership_index`.
fn meta_with(
    last_index: LogIndex,
    last_term: Term,
    membership: Membership,
    membership_index: LogIndex,
) -> SnapshotMeta {
    SnapshotMeta {
        last_index,
        last_term,
        membership,
        membership_index,
    }
}

// ----- the lossless network of hand-driven nodes (`common::net`), for membership -----

impl Net {
    /// Asks node `id` for `change` against its configuration in force, then delivers.
    fn change(&mut self, id: NodeId, change: MembershipChange) -> Result<LogIndex, ProposeError> {
        let membership_index = self.node(id).membership_index();
        let actions = self.step(
            id,
            Event::ChangeMembership {
                change,
                membership_index,
            },
        );
        self.deliver();
        outcome(&actions)
    }

    /// Proposes `command` at node `id`, then delivers.
    fn propose(&mut self, id: NodeId, command: u64) -> Result<LogIndex, ProposeError> {
        let actions = self.step(id, Event::Propose(command));
        self.deliver();
        outcome(&actions)
    }

    /// True if node `id` ever sent a RequestVote.
    fn campaigned(&self, id: NodeId) -> bool {
        self.history.iter().any(|(from, action)| {
            *from == id
                && matches!(
                    action,
                    Action::Send {
                        message: Message::RequestVote { .. },
                        ..
                    }
                )
        })
    }

    /// The snapshots node `id` installed (`Action::InstallSnapshot`), in order.
    fn installed(&self, id: NodeId) -> Vec<Snapshot> {
        let actions: Vec<Action<u64>> = self
            .history
            .iter()
            .filter(|(from, _)| *from == id)
            .map(|(_, action)| action.clone())
            .collect();
        installed_snapshots(&actions)
    }

    /// Checks that every node in `ids` holds the same log as `leader` up to its last index, and
    /// has committed it.
    fn assert_caught_up(&self, leader: NodeId, ids: &[NodeId]) {
        let leader = self.node(leader);
        for &id in ids {
            let node = self.node(id);
            assert_eq!(
                (node.last_index(), node.last_term(), node.commit_index()),
                (
                    leader.last_index(),
                    leader.last_term(),
                    leader.commit_index()
                ),
                "node {id} caught up with the leader"
            );
            assert_eq!(node.membership(), leader.membership(), "node {id}");
            assert_eq!(node.membership_index(), leader.membership_index());
        }
    }
}

// ----- §4.1: a configuration is in force once appended -----

/// Thesis §4.1: "a server always uses the latest configuration in its log, regardless of
/// whether the entry is committed". On the leader: from the moment it appends the entry that
/// promotes learner 4, commits need a majority of {1, 2, 3, 4}: node 2's acknowledgement,
/// enough in {1, 2, 3}, no longer is; node 4's then is.
#[test]
fn leader_uses_a_configuration_from_the_moment_it_appends_it() {
    let mut leader = leader_of(config(1), members(&[1, 2, 3], &[4]));
    let index = accepted_index(&change(&mut leader, Promote(4)));
    assert_eq!(index, 2);
    assert_eq!(leader.membership(), &Membership::new([1, 2, 3, 4]));
    assert_eq!(leader.membership_index(), 2);
    assert_eq!(leader.commit_index(), 1, "in force, not committed");

    receive(&mut leader, 2, accepted(1, 2));
    assert_eq!(
        leader.commit_index(),
        1,
        "two of {{1, 2, 3, 4}} are no majority"
    );
    receive(&mut leader, 4, accepted(1, 2));
    assert_eq!(leader.commit_index(), 2, "three of {{1, 2, 3, 4}} are");
}

/// Thesis §4.1: a follower uses a configuration as soon as it stores it, before it is
/// committed: node 2 stores the entry removing 3, uncommitted, and from then on campaigns in
/// {1, 2}: it asks node 1 alone for its vote, and node 1's vote elects it.
#[test]
fn follower_uses_a_configuration_it_stores_before_commit() {
    let mut follower = node(2);
    let entries = vec![entry(1, 1), config_entry(2, 1, Membership::new([1, 2]))];
    receive(&mut follower, 1, append(1, 0, 0, entries, 1));
    assert_eq!(follower.membership(), &Membership::new([1, 2]));
    assert_eq!(follower.membership_index(), 2);
    assert_eq!(follower.commit_index(), 1, "in force, not committed");

    let actions = tick_until_campaign(&mut follower);
    assert_eq!(vote_requests(&actions), BTreeSet::from([1]));
    let term = follower.term();
    receive(&mut follower, 1, grant(term));
    assert_eq!(
        follower.role(),
        Role::Leader,
        "1 and 2 are a majority of {{1, 2}}"
    );
}

/// Thesis §4.1: "a log entry for a configuration change can be removed (if leadership changes);
/// in this case, a server must be prepared to fall back to the previous configuration in its
/// log". A new leader's append truncates the uncommitted entry removing 3: node 2 is back in
/// {1, 2, 3}, the bootstrap configuration (index 0).
#[test]
fn truncating_a_configuration_entry_restores_the_previous_one() {
    let mut follower = node(2);
    let entries = vec![entry(1, 1), config_entry(2, 1, Membership::new([1, 2]))];
    receive(&mut follower, 1, append(1, 0, 0, entries, 1));
    assert_eq!(follower.membership_index(), 2);

    // Node 3 leads term 2 without the entry, and overwrites index 2.
    let actions = receive(&mut follower, 3, append(2, 1, 1, vec![entry(2, 2)], 1));
    assert_eq!(
        append_answers(&actions, 3),
        vec![(2, pureraft::AppendOutcome::Accepted { match_index: 2 })]
    );
    assert_eq!(follower.entry(2), Some(&entry(2, 2)));
    assert_eq!(follower.membership(), &three());
    assert_eq!(follower.membership_index(), 0);

    // A later configuration entry truncated falls back to the earlier entry, not the base.
    let mut follower = node(2);
    let entries = vec![
        entry(1, 1),
        config_entry(2, 1, members(&[1, 2, 3], &[4])),
        entry(3, 1),
        config_entry(4, 1, Membership::new([1, 2, 3, 4])),
    ];
    receive(&mut follower, 1, append(1, 0, 0, entries, 3));
    assert_eq!(follower.membership_index(), 4);
    receive(&mut follower, 3, append(2, 3, 1, vec![entry(4, 2)], 3));
    assert_eq!(follower.membership(), &members(&[1, 2, 3], &[4]));
    assert_eq!(follower.membership_index(), 2);
}

// ----- §4.1 / §4.2.1: single-server changes end to end -----

/// Thesis §4.1 and §4.2.1, end to end on four hand-driven nodes: node 4 starts empty
/// (`Restored::default()`), is added as a learner and follows the leader that adds it (it
/// accepts the leader's appends though it knows no configuration), catches up, is promoted,
/// then node 3 is removed. Each change commits everywhere; in {1, 2, 4} node 4 counts: with 2
/// and 3 down, the leader commits with node 4 alone.
#[test]
fn add_learner_promote_and_remove_end_to_end() {
    let mut net = Net::new([node(1), node(2), node(3), empty_node(4)]);
    net.elect(1);
    net.tick(3);
    assert_eq!(net.node(1).commit_index(), 1);
    assert!(
        net.node(4).membership().is_empty(),
        "4 knows no configuration"
    );
    assert_eq!(net.node(4).leader(), None);

    let added = net.change(1, AddLearner(4)).unwrap();
    assert_eq!(added, 2);
    net.tick(10);
    assert_eq!(
        net.node(4).leader(),
        Some(1),
        "4 follows the leader that added it"
    );
    assert_eq!(net.node(4).term(), net.node(1).term());
    assert_eq!(net.node(1).membership(), &members(&[1, 2, 3], &[4]));
    assert!(net.node(1).commit_index() >= added);
    net.assert_caught_up(1, &[2, 3, 4]);
    assert_eq!(match_index_of(net.node(1), 4), net.node(1).last_index());

    let promoted = net.change(1, Promote(4)).unwrap();
    net.tick(10);
    assert!(net.node(1).commit_index() >= promoted);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 2, 3, 4]));
    net.assert_caught_up(1, &[2, 3, 4]);

    let removed = net.change(1, Remove(3)).unwrap();
    net.tick(10);
    assert!(net.node(1).commit_index() >= removed);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 2, 4]));
    assert_eq!(
        tracked(net.node(1)),
        BTreeSet::from([2, 4]),
        "3 is forgotten"
    );
    net.assert_caught_up(1, &[2, 4]);
    // Node 3 was told the commit of its removal before it was forgotten.
    assert_eq!(net.node(3).membership(), &Membership::new([1, 2, 4]));
    assert!(net.node(3).commit_index() >= removed);

    net.down.extend([2, 3]);
    let index = net.propose(1, 42).unwrap();
    assert_eq!(net.node(1).commit_index(), index, "1 and 4 are a majority");
    assert!(!net.campaigned(4), "nobody timed out");
}

// ----- bad requests -----

/// Every refusal a leader gives a change that can never be made from its configuration: the
/// exact error, as the step's only action, nothing else changed (never a panic, never a silent
/// drop). `AlreadyMember`, `NotALearner`, `NotAMember`, `NotJoint`, `RemovesLastVoter`, and the
/// invalid joint configurations `LearnerVotes`, `Duplicate`, `NoVoters`.
#[test]
fn impossible_changes_are_refused_with_the_exact_error() {
    let mut leader = leader_of(config(1), members(&[1, 2, 3], &[4]));
    let refused = |error| membership_error(error);
    use MembershipError::*;
    assert_refused(&mut leader, AddLearner(2), 0, refused(AlreadyMember(2)));
    assert_refused(&mut leader, AddLearner(4), 0, refused(AlreadyMember(4)));
    assert_refused(&mut leader, AddLearner(1), 0, refused(AlreadyMember(1)));
    assert_refused(&mut leader, Promote(2), 0, refused(NotALearner(2)));
    assert_refused(&mut leader, Promote(9), 0, refused(NotALearner(9)));
    assert_refused(&mut leader, Remove(9), 0, refused(NotAMember(9)));
    assert_refused(&mut leader, LeaveJoint, 0, refused(NotJoint));
    let joint = |voters: &[NodeId], learners: &[NodeId]| MembershipChange::Joint {
        voters: voters.to_vec(),
        learners: learners.to_vec(),
    };
    assert_refused(
        &mut leader,
        joint(&[1, 2, 5], &[5]),
        0,
        refused(LearnerVotes(5)),
    );
    assert_refused(
        &mut leader,
        joint(&[1, 2, 2], &[]),
        0,
        refused(Duplicate(2)),
    );
    assert_refused(
        &mut leader,
        joint(&[1, 2], &[4, 4]),
        0,
        refused(Duplicate(4)),
    );
    assert_refused(&mut leader, joint(&[], &[4]), 0, refused(NoVoters));

    // The last voter cannot go, with or without a learner left.
    let mut alone = leader_of(config(1), Membership::new([1]));
    assert_refused(&mut alone, Remove(1), 0, refused(RemovesLastVoter));
    let mut with_learner = alone.clone();
    let index = accepted_index(&change(&mut with_learner, AddLearner(2)));
    receive(&mut with_learner, 2, accepted(1, index));
    assert_eq!(with_learner.commit_index(), index);
    assert_refused(
        &mut with_learner,
        Remove(1),
        index,
        refused(RemovesLastVoter),
    );
    // Removing the learner is fine.
    assert_eq!(
        outcome(&change(&mut with_learner, Remove(2))),
        Ok(index + 1)
    );
}

/// One change at a time (thesis §4.1): a change while the previous one is not committed is
/// refused with `Pending` naming the pending entry, whatever change it is, and accepted once
/// that entry commits. This is also etcd-io/raft's TestStepIgnoreConfig (a second
/// configuration change proposed while one is pending is not appended).
#[test]
fn change_while_another_is_uncommitted_is_refused_as_pending() {
    let mut leader = leader_of_three();
    let first = accepted_index(&change(&mut leader, AddLearner(4)));
    assert_eq!(first, 2);
    let pending = membership_error(MembershipError::Pending { index: 2 });
    assert_refused(&mut leader, AddLearner(5), 2, pending.clone());
    assert_refused(&mut leader, Promote(4), 2, pending.clone());
    assert_refused(&mut leader, Remove(3), 2, pending.clone());
    assert_refused(&mut leader, joint_to(&[1, 2, 5]), 2, pending.clone());
    // Commands still go through meanwhile; a commit below the entry does not end it.
    let command = propose(&mut leader, 7);
    assert_eq!(command, 3);
    receive(&mut leader, 2, accepted(1, 1));
    assert_refused(&mut leader, Remove(3), 2, pending);

    receive(&mut leader, 2, accepted(1, 2));
    assert_eq!(leader.commit_index(), 2);
    assert_eq!(outcome(&change(&mut leader, Promote(4))), Ok(4));
}

/// A change must name the configuration in force (its index): a stale or retried one is
/// refused with `Stale { expected, current }`, so it cannot undo a later change.
#[test]
fn change_naming_another_configuration_is_refused_as_stale() {
    let mut leader = leader_of_three();
    assert_refused(
        &mut leader,
        AddLearner(4),
        3,
        membership_error(MembershipError::Stale {
            expected: 3,
            current: 0,
        }),
    );
    let index = accepted_index(&change_at(&mut leader, AddLearner(4), 0));
    receive(&mut leader, 2, accepted(1, index));
    assert_eq!(leader.commit_index(), index);
    // The host retries the change it made against the bootstrap configuration.
    assert_refused(
        &mut leader,
        AddLearner(5),
        0,
        membership_error(MembershipError::Stale {
            expected: 0,
            current: index,
        }),
    );
}

/// Only a leader changes the membership: a follower refuses with `NotLeader` and the leader it
/// follows as the hint, a candidate with no hint.
#[test]
fn change_on_a_follower_or_candidate_is_refused_with_a_hint() {
    let mut follower = node(2);
    receive(&mut follower, 1, append(1, 0, 0, vec![entry(1, 1)], 1));
    assert_eq!(follower.leader(), Some(1));
    assert_refused(
        &mut follower,
        AddLearner(4),
        0,
        ProposeError::NotLeader {
            leader_hint: Some(1),
        },
    );
    let mut candidate = node(2);
    tick_until_campaign(&mut candidate);
    assert_eq!(candidate.role(), Role::Candidate);
    assert_refused(
        &mut candidate,
        AddLearner(4),
        0,
        ProposeError::NotLeader { leader_hint: None },
    );
    let mut started_empty = empty_node(4);
    assert_refused(
        &mut started_empty,
        AddLearner(5),
        0,
        ProposeError::NotLeader { leader_hint: None },
    );
}

/// Ongaro's 2015 single-server bug (raft-dev, "bug in single-server membership changes") and
/// its fix: a new leader accepts no change before it has committed an entry of its own term.
/// Node 1 leads term 2 with two entries of term 1 it knows committed (applied): still
/// `NoCommitInTerm`, and still after node 2 acknowledged only those; accepted once its no-op
/// at 3 commits.
#[test]
fn new_leader_refuses_changes_until_its_no_op_commits() {
    let restored = Restored {
        applied: 2,
        ..restored(1, None, &[1, 1])
    };
    let mut leader = Raft::new(config(1), restored).unwrap();
    elect(&mut leader, 2);
    assert_eq!(
        (leader.term(), leader.commit_index(), leader.last_index()),
        (2, 2, 3)
    );
    let no_commit = membership_error(MembershipError::NoCommitInTerm);
    assert_refused(&mut leader, AddLearner(4), 0, no_commit.clone());
    assert_refused(&mut leader, Remove(3), 0, no_commit.clone());
    receive(&mut leader, 2, accepted(2, 2));
    assert_eq!(leader.commit_index(), 2);
    assert_refused(&mut leader, AddLearner(4), 0, no_commit);

    receive(&mut leader, 2, accepted(2, 3));
    assert_eq!(leader.commit_index(), 3, "the no-op commits");
    assert_eq!(outcome(&change(&mut leader, AddLearner(4))), Ok(4));
}

// ----- §4.3: joint consensus -----

/// Thesis §4.3: in C_old,new, "agreement (for elections and entry commitment) requires separate
/// majorities from both the old and new configurations". Leader 1 moves {1, 2, 3} to
/// {1, 4, 5}: acknowledgements from 4 and 5 (a majority of the new voters only) do not commit
/// the joint entry, nor do 2 and 3 (the old only); one of each does.
#[test]
fn joint_commit_needs_a_majority_of_both_configurations() {
    let mut leader = leader_of_three();
    let index = accepted_index(&change(&mut leader, joint_to(&[1, 4, 5])));
    assert_eq!(index, 2);
    assert_eq!(leader.membership(), &joint(&[1, 4, 5], &[1, 2, 3]));
    assert_eq!(tracked(&leader), BTreeSet::from([2, 3, 4, 5]));

    let mut new_only = leader.clone();
    receive(&mut new_only, 4, accepted(1, 2));
    receive(&mut new_only, 5, accepted(1, 2));
    assert_eq!(new_only.commit_index(), 1, "the old majority lacks it");
    receive(&mut new_only, 2, accepted(1, 2));
    assert_eq!(new_only.commit_index(), 2, "both majorities hold it");

    let mut old_only = leader.clone();
    receive(&mut old_only, 2, accepted(1, 2));
    receive(&mut old_only, 3, accepted(1, 2));
    assert_eq!(old_only.commit_index(), 1, "the new majority lacks it");
    receive(&mut old_only, 5, accepted(1, 2));
    assert_eq!(old_only.commit_index(), 2);
}

/// Thesis §4.3: an election in C_old,new needs a majority of both. Node 1 holds the joint entry
/// {1, 2, 3} -> {1, 4, 5}: it asks every voter of both for its vote; the votes of 4 and 5 do not
/// elect it, nor those of 2 and 3; one of each does.
#[test]
fn joint_election_needs_a_majority_of_both_configurations() {
    let restored = Restored {
        hard_state: HardState {
            term: 1,
            vote: None,
        },
        entries: vec![config_entry(1, 1, joint(&[1, 4, 5], &[1, 2, 3]))],
        ..Restored::bootstrap([1, 2, 3])
    };
    let candidate = Raft::new(config(1), restored).unwrap();

    let mut new_only = candidate.clone();
    let actions = tick_until_campaign(&mut new_only);
    assert_eq!(vote_requests(&actions), BTreeSet::from([2, 3, 4, 5]));
    let term = new_only.term();
    let mut old_only = new_only.clone();
    receive(&mut new_only, 4, grant(term));
    receive(&mut new_only, 5, grant(term));
    assert_eq!(
        new_only.role(),
        Role::Candidate,
        "the old majority is missing"
    );
    receive(&mut new_only, 3, grant(term));
    assert_eq!(new_only.role(), Role::Leader);

    receive(&mut old_only, 2, grant(term));
    receive(&mut old_only, 3, grant(term));
    assert_eq!(
        old_only.role(),
        Role::Candidate,
        "the new majority is missing"
    );
    receive(&mut old_only, 4, grant(term));
    assert_eq!(old_only.role(), Role::Leader);
}

/// Thesis §4.3, with `Config::auto_leave_joint` (the default): once the joint entry commits,
/// the leader appends C_new itself, in force at once; C_new then commits with a majority of the
/// new voters alone, and the old voters it drops are forgotten.
#[test]
fn joint_configuration_is_left_automatically_once_committed() {
    let mut leader = leader_of_three();
    let index = accepted_index(&change(&mut leader, joint_to(&[1, 4, 5])));
    receive(&mut leader, 4, accepted(1, index));
    assert_eq!(leader.last_index(), index, "nothing more before the commit");
    let actions = receive(&mut leader, 2, accepted(1, index));
    assert_eq!(leader.commit_index(), index);
    let leave = index + 1;
    assert_eq!(leader.last_index(), leave);
    assert_eq!(
        persisted_entries(&actions),
        vec![vec![config_entry(leave, 1, Membership::new([1, 4, 5]))]]
    );
    assert_eq!(leader.membership(), &Membership::new([1, 4, 5]));
    assert_eq!(leader.membership_index(), leave);
    assert!(
        appends_to(&actions, 4)
            .iter()
            .any(|(_, entries)| entries.iter().any(|entry| entry.index == leave)),
        "C_new is sent at once"
    );
    assert_eq!(tracked(&leader), BTreeSet::from([2, 3, 4, 5]));

    receive(&mut leader, 4, accepted(1, leave));
    assert_eq!(
        leader.commit_index(),
        leave,
        "1 and 4 are a majority of C_new"
    );
    assert_eq!(
        tracked(&leader),
        BTreeSet::from([4, 5]),
        "2 and 3 are forgotten"
    );
    assert_eq!(leader.role(), Role::Leader);
}

/// Thesis §4.3 with `auto_leave_joint = false`: the leader stays in C_old,new after the joint
/// entry commits, appending nothing, until the host proposes `LeaveJoint`.
#[test]
fn joint_configuration_is_left_only_when_asked_without_auto_leave() {
    let mut options = config(1);
    options.auto_leave_joint = false;
    let mut leader = leader_of(options, three());
    let index = accepted_index(&change(&mut leader, joint_to(&[1, 4, 5])));
    receive(&mut leader, 4, accepted(1, index));
    let actions = receive(&mut leader, 2, accepted(1, index));
    assert_eq!(leader.commit_index(), index);
    assert!(persisted_entries(&actions).is_empty());
    assert_eq!(leader.last_index(), index);
    assert_eq!(leader.membership(), &joint(&[1, 4, 5], &[1, 2, 3]));
    tick_for(&mut leader, 30);
    assert_eq!(leader.last_index(), index, "still nothing appended");

    let leave = accepted_index(&change(&mut leader, LeaveJoint));
    assert_eq!(leave, index + 1);
    assert_eq!(leader.membership(), &Membership::new([1, 4, 5]));
    receive(&mut leader, 5, accepted(1, leave));
    assert_eq!(leader.commit_index(), leave);
}

/// A single-server change is refused while the configuration is joint (`Joint`), even once the
/// joint entry is committed: leave it first.
#[test]
fn single_change_while_joint_is_refused() {
    let mut options = config(1);
    options.auto_leave_joint = false;
    let mut leader = leader_of(options, three());
    let index = accepted_index(&change(&mut leader, joint_to(&[1, 2, 4])));
    receive(&mut leader, 2, accepted(1, index));
    assert_eq!(leader.commit_index(), index);
    let joint_error = membership_error(MembershipError::Joint);
    assert_refused(&mut leader, AddLearner(5), index, joint_error.clone());
    assert_refused(&mut leader, Remove(4), index, joint_error.clone());
    assert_refused(&mut leader, Remove(3), index, joint_error.clone());
    assert_refused(&mut leader, joint_to(&[1, 2, 5]), index, joint_error);
    assert_eq!(outcome(&change(&mut leader, LeaveJoint)), Ok(index + 1));
}

// ----- §4.2.1: learners -----

/// Thesis §4.2.1 (new servers join as non-voting members): a learner never campaigns, however
/// long it hears nothing, whether it is a learner of its bootstrap configuration or learned it
/// from the log.
#[test]
fn learner_never_campaigns() {
    let restored = Restored {
        membership: members(&[1, 2, 3], &[4]),
        ..Restored::default()
    };
    let mut learner = Raft::new(config(4), restored).unwrap();
    assert_never_campaigns(&mut learner);

    let mut learner = empty_node(4);
    let entries = vec![entry(1, 1), config_entry(2, 1, members(&[1, 2, 3], &[4]))];
    receive(&mut learner, 1, append(1, 0, 0, entries, 2));
    assert!(learner.membership().is_learner(4));
    assert_never_campaigns(&mut learner);
}

/// Thesis §4.2.1: a learner does not count in quorums. Leader 1 of {1, 2, 3} with learner 4: it
/// asks only the voters for their votes, node 4's grant does not elect it, and node 4's
/// acknowledgements commit nothing (with them, 1 and 4 would make two of three).
#[test]
fn learner_is_not_counted_in_quorums() {
    let restored = Restored {
        membership: members(&[1, 2, 3], &[4]),
        ..Restored::default()
    };
    let mut candidate = Raft::new(config(1), restored).unwrap();
    let actions = tick_until_campaign(&mut candidate);
    assert_eq!(vote_requests(&actions), BTreeSet::from([2, 3]));
    receive(&mut candidate, 4, grant(1));
    assert_eq!(
        candidate.role(),
        Role::Candidate,
        "a learner's vote counts for nothing"
    );
    receive(&mut candidate, 3, grant(1));
    assert_eq!(candidate.role(), Role::Leader);
    let mut leader = candidate;
    assert_eq!(
        tracked(&leader),
        BTreeSet::from([2, 3, 4]),
        "4 gets the log"
    );

    receive(&mut leader, 4, accepted(1, 1));
    assert_eq!(leader.commit_index(), 0, "a learner's ack commits nothing");
    receive(&mut leader, 3, accepted(1, 1));
    assert_eq!(leader.commit_index(), 1);
    let index = propose(&mut leader, 7);
    receive(&mut leader, 4, accepted(1, index));
    assert_eq!(leader.commit_index(), 1);
}

/// Thesis §4.3: a voter cannot be made a learner in one joint change: it stays an outgoing
/// voter until the leave, and a learner that votes is refused. The documented way is to
/// remove it, then add it again as a learner; it then follows the leader as a learner and
/// never campaigns.
#[test]
fn voter_is_demoted_to_learner_by_removal_then_addition() {
    let mut net = Net::new([node(1), node(2), node(3)]);
    net.elect(1);
    net.tick(3);
    let joint = MembershipChange::Joint {
        voters: vec![1, 2],
        learners: vec![3],
    };
    assert_eq!(
        net.change(1, joint),
        Err(ProposeError::Membership(MembershipError::LearnerVotes(3)))
    );
    let removed = net.change(1, Remove(3)).unwrap();
    net.tick(10);
    assert!(net.node(1).commit_index() >= removed);
    let added = net.change(1, AddLearner(3)).unwrap();
    net.tick(10);
    assert!(net.node(1).commit_index() >= added);
    assert_eq!(net.node(1).membership(), &members(&[1, 2], &[3]));
    net.assert_caught_up(1, &[2, 3]);
    assert_eq!(net.node(3).membership(), &members(&[1, 2], &[3]));
    assert_eq!(net.node(3).leader(), Some(1));
    // Cut off from the leader, the learner lets many election timeouts pass and never
    // campaigns.
    net.down.insert(1);
    for _ in 0..20 * net.node(3).config().election_ticks {
        net.tick(1);
        assert_eq!(
            net.node(3).role(),
            Role::Follower,
            "a learner never campaigns"
        );
    }
}

/// Thesis §4.2.1: a learner being caught up receives entries, and `Raft::lag` (and
/// `Raft::match_indices`) show how far behind it is (the leader's last index less its match),
/// so the host knows when to promote it.
#[test]
fn lag_and_match_indices_show_how_far_a_learner_is_behind() {
    let mut leader = leader_of(config(1), members(&[1, 2, 3], &[4]));
    assert_eq!(match_index_of(&leader, 4), 0);
    assert_eq!(leader.lag(4), Some(1), "only the leader's no-op");
    assert_eq!(leader.lag(1), None, "a leader does not replicate to itself");
    assert_eq!(leader.lag(9), None, "no member");
    assert_eq!(empty_node(4).lag(1), None, "only a leader knows");
    for command in 0..5 {
        propose(&mut leader, command);
    }
    assert_eq!(leader.last_index(), 6);
    // The learner holds the no-op, then two of the commands.
    receive(&mut leader, 4, accepted(1, 1));
    receive(&mut leader, 4, accepted(1, 3));
    assert_eq!(match_index_of(&leader, 4), 3);
    assert_eq!(leader.last_index() - match_index_of(&leader, 4), 3, "lag");
    assert_eq!(leader.lag(4), Some(3));
    assert_eq!(
        leader.lag(2),
        Some(5),
        "a voter that answered only the no-op"
    );
    receive(&mut leader, 4, accepted(1, 6));
    assert_eq!(leader.last_index() - match_index_of(&leader, 4), 0);
    assert_eq!(leader.lag(4), Some(0));
    assert_eq!(
        leader.match_indices().collect::<BTreeMap<_, _>>(),
        BTreeMap::from([(2, 1), (3, 1), (4, 6)])
    );
}

/// Thesis §4.2.1: a learner that joins after the log was compacted catches up by a snapshot,
/// then entries, the configuration that added it among them.
#[test]
fn learner_catches_up_by_snapshot() {
    let mut options = config(1);
    options.snapshot_trailing_entries = 0;
    let leader = Raft::new(options, Restored::bootstrap([1, 2, 3])).unwrap();
    let mut net = Net::new([leader, node(2), node(3), empty_node(4)]);
    net.elect(1);
    for command in 10..15 {
        net.propose(1, command).unwrap();
    }
    let applied = net.node(1).applied_index();
    assert_eq!(applied, 6);
    let actions = net.step(
        1,
        Event::SnapshotTaken {
            index: applied,
            data: b"state".to_vec(),
        },
    );
    assert!(!actions
        .iter()
        .any(|action| matches!(action, Action::SnapshotRefused(_))));
    assert_eq!(net.node(1).compacted_index(), applied);

    let added = net.change(1, AddLearner(4)).unwrap();
    net.tick(10);
    let installed = net.installed(4);
    assert_eq!(installed.len(), 1, "one snapshot");
    assert_eq!(installed[0].meta, meta_with(6, 1, three(), 0));
    assert!(net.node(1).commit_index() >= added);
    net.assert_caught_up(1, &[2, 3, 4]);
    assert_eq!(net.node(4).membership(), &members(&[1, 2, 3], &[4]));
}

/// Thesis §4.2.1: a learner once promoted counts: the promotion entry needs three of
/// {1, 2, 3, 4}, and node 4's acknowledgement is one of them (1 and 2 alone would be two); and
/// once it stores its promotion, it campaigns in {1, 2, 3, 4}.
#[test]
fn promoted_learner_votes_and_campaigns() {
    let mut leader = leader_of(config(1), members(&[1, 2, 3], &[4]));
    let index = accepted_index(&change(&mut leader, Promote(4)));
    receive(&mut leader, 4, accepted(1, index));
    assert_eq!(leader.commit_index(), 1, "1 and 4 are two of four");
    receive(&mut leader, 2, accepted(1, index));
    assert_eq!(leader.commit_index(), index, "1, 2 and 4 are three of four");

    let mut learner = empty_node(4);
    let entries = vec![
        entry(1, 1),
        config_entry(2, 1, members(&[1, 2, 3], &[4])),
        config_entry(3, 1, Membership::new([1, 2, 3, 4])),
    ];
    receive(&mut learner, 1, append(1, 0, 0, entries, 3));
    let actions = tick_until_campaign(&mut learner);
    assert_eq!(vote_requests(&actions), BTreeSet::from([1, 2, 3]));
}

// ----- §4.2.2: removing the leader -----

/// Thesis §4.2.2: a leader that removes itself leads until C_new commits, without counting
/// itself (the commit needs both 2 and 3, the voters of {2, 3}); then it tells every member the
/// commit, with a heartbeat, and steps down.
#[test]
fn removed_leader_leads_until_its_removal_commits_then_steps_down() {
    let mut leader = leader_of_three();
    let removal = accepted_index(&change(&mut leader, Remove(1)));
    assert_eq!(leader.membership(), &Membership::new([2, 3]));
    assert_eq!(
        leader.role(),
        Role::Leader,
        "leads while the removal is uncommitted"
    );
    let command = propose(&mut leader, 7);
    assert_eq!(command, removal + 1, "still takes proposals");

    receive(&mut leader, 2, accepted(1, command));
    assert_eq!(
        leader.commit_index(),
        1,
        "1 does not count itself in {{2, 3}}"
    );
    assert_eq!(leader.role(), Role::Leader);

    let actions = receive(&mut leader, 3, accepted(1, command));
    assert_eq!(leader.commit_index(), command);
    assert_eq!(leader.role(), Role::Follower, "stepped down");
    assert_eq!(leader.leader(), None);
    assert_eq!(leader.term(), 1);
    for peer in [2, 3] {
        assert!(
            commits_sent_to(&actions, peer).contains(&command),
            "{peer} is told the commit before the leader steps down: {actions:?}"
        );
    }
    assert!(leader.match_indices().next().is_none());
    // Its removal known committed, it never campaigns again (thesis §4.2.3).
    assert_never_campaigns(&mut leader);
}

/// etcd-io/raft TestRemoveLeader (and confchange testdata): on a network of hand-driven nodes,
/// leader 1 removes itself; it steps down once the removal commits, never campaigns, and one of
/// {2, 3} is elected and commits.
#[test]
fn removed_leader_hands_over_to_the_remaining_voters() {
    let mut net = Net::new([node(1), node(2), node(3)]);
    net.elect(1);
    net.tick(3);
    let removal = net.change(1, Remove(1)).unwrap();
    net.tick(1);
    assert_eq!(net.node(1).role(), Role::Follower);
    assert!(net.node(2).commit_index() >= removal);
    assert!(net.node(3).commit_index() >= removal);
    let before = net.history.len();
    net.tick(60);
    let leader = net.leader().expect("a new leader");
    assert!(leader == 2 || leader == 3);
    assert!(
        !net.history[before..].iter().any(|(from, action)| *from == 1
            && matches!(
                action,
                Action::Send {
                    message: Message::RequestVote { .. },
                    ..
                }
            )),
        "the removed leader never campaigns"
    );
    let index = net.propose(leader, 9).unwrap();
    assert_eq!(
        net.node(2).commit_index().min(net.node(3).commit_index()),
        index
    );
}

// ----- §4.2.3: removed servers do not disrupt -----

/// Thesis §4.2.3: a node whose log holds its own removal, known committed, never campaigns:
/// told the commit by the leader, or restarted with the removal applied.
#[test]
fn node_holding_its_committed_removal_never_campaigns() {
    let mut removed = node(3);
    let entries = vec![entry(1, 1), config_entry(2, 1, Membership::new([1, 2]))];
    receive(&mut removed, 1, append(1, 0, 0, entries.clone(), 2));
    assert_eq!(removed.commit_index(), 2);
    assert_never_campaigns(&mut removed);

    let restored = Restored {
        hard_state: HardState {
            term: 1,
            vote: None,
        },
        entries,
        applied: 2,
        ..Restored::bootstrap([1, 2, 3])
    };
    let mut restarted = Raft::new(config(3), restored).unwrap();
    assert_never_campaigns(&mut restarted);
}

/// Thesis §4.2.3: members that hold the removal of node 3 refuse its vote requests with their
/// own term, without moving to its term: a follower of a leader (whatever 3's log), and a
/// leaderless member when 3's log is not more up to date (it lacks the removal, or equals
/// ours). The same request from voter 1 is granted, so the refusals are for the sender.
#[test]
fn members_holding_the_removal_ignore_the_removed_node() {
    let entries = vec![entry(1, 1), config_entry(2, 1, Membership::new([1, 2]))];
    let mut follower = node(2);
    receive(&mut follower, 1, append(1, 0, 0, entries.clone(), 2));
    assert_eq!(follower.leader(), Some(1));
    for (last_index, last_term) in [(1, 1), (2, 1), (9, 1)] {
        let actions = receive(&mut follower, 3, vote_request(5, last_index, last_term));
        assert_eq!(vote_answers(&actions, 3), vec![(1, false)]);
        assert_eq!(actions.len(), 1, "nothing else: {actions:?}");
        assert_eq!((follower.term(), follower.leader()), (1, Some(1)));
    }

    let restored = Restored {
        hard_state: HardState {
            term: 1,
            vote: None,
        },
        entries,
        ..Restored::bootstrap([1, 2, 3])
    };
    let leaderless = Raft::new(config(2), restored).unwrap();
    assert_eq!(leaderless.leader(), None);
    for (last_index, last_term) in [(1, 1), (2, 1)] {
        let mut member = leaderless.clone();
        let actions = receive(&mut member, 3, vote_request(5, last_index, last_term));
        assert_eq!(vote_answers(&actions, 3), vec![(1, false)]);
        assert_eq!(
            member.hard_state(),
            HardState {
                term: 1,
                vote: None
            }
        );
    }
    let mut member = leaderless;
    let actions = receive(&mut member, 1, vote_request(5, 2, 1));
    assert_eq!(vote_answers(&actions, 1), vec![(5, true)]);
}

/// etcd-io/etcd #7280 (a node with committed but unapplied configuration changes campaigned
/// in the configuration it had applied): here configurations take effect when appended, so a
/// restarted node never uses a stale one. Node 1 founded {1} alone, then added and promoted 2;
/// restarted with nothing applied, it campaigns in {1, 2}: it asks 2 for its vote and does not
/// elect itself alone, as it would in {1}.
#[test]
fn restarted_node_with_unapplied_changes_campaigns_in_its_latest_configuration() {
    let restored = Restored {
        hard_state: HardState {
            term: 1,
            vote: Some(1),
        },
        entries: vec![
            entry(1, 1),
            config_entry(2, 1, members(&[1], &[2])),
            config_entry(3, 1, Membership::new([1, 2])),
            entry(4, 1),
        ],
        applied: 0,
        ..Restored::bootstrap([1])
    };
    let mut restarted = Raft::new(config(1), restored).unwrap();
    assert_eq!(restarted.membership(), &Membership::new([1, 2]));
    let actions = tick_until_campaign(&mut restarted);
    assert_eq!(vote_requests(&actions), BTreeSet::from([2]));
    assert_eq!(restarted.role(), Role::Candidate, "not a leader of {{1}}");
    let term = restarted.term();
    receive(&mut restarted, 2, grant(term));
    assert_eq!(restarted.role(), Role::Leader);
}

/// etcd-io/etcd #7280, the removal variant: node 3 restarts with its removal in its log but
/// nothing applied (`applied: 0`), so it cannot know the removal committed. Its bootstrap
/// configuration {1, 2, 3} is never used: if it campaigns at all (it may, by the rule that lets
/// a leader finish its own uncommitted removal, thesis §4.2.2), it asks only {1, 2}, its own
/// vote does not count, and node 1's vote, a majority with its own in {1, 2, 3}, does not elect
/// it. Applied up to the removal, it never campaigns.
#[test]
fn restarted_node_with_its_unapplied_removal_never_uses_the_stale_configuration() {
    let entries = vec![entry(1, 1), config_entry(2, 1, Membership::new([1, 2]))];
    let restored = |applied| Restored {
        hard_state: HardState {
            term: 1,
            vote: None,
        },
        entries: entries.clone(),
        applied,
        ..Restored::bootstrap([1, 2, 3])
    };
    let mut unapplied = Raft::new(config(3), restored(0)).unwrap();
    assert_eq!(unapplied.membership(), &Membership::new([1, 2]));
    let mut requests = BTreeSet::new();
    for _ in 0..20 * unapplied.config().election_ticks {
        requests.extend(vote_requests(&unapplied.step(Event::Tick)));
        if unapplied.role() == Role::Candidate {
            break;
        }
    }
    assert!(requests.is_subset(&BTreeSet::from([1, 2])), "{requests:?}");
    if unapplied.role() == Role::Candidate {
        let term = unapplied.term();
        receive(&mut unapplied, 1, grant(term));
        assert_eq!(
            unapplied.role(),
            Role::Candidate,
            "3 and 1 are not a majority of {{1, 2}}"
        );
    }

    let mut applied = Raft::new(config(3), restored(2)).unwrap();
    assert_never_campaigns(&mut applied);
}

/// Thesis §4.2.2 (a leader that removed itself and lost its term before the removal committed
/// must be able to finish it), after a restart that lost the commit index: node 4 led term 2
/// of the joint configuration {4, 5} -> {5, 6}, appended C_new = {5, 6} (its removal), and
/// restarted with nothing applied. Nodes 5 and 6 lack that entry and, still joint, need node
/// 4's vote (a majority of {4, 5} is both), which it refuses them, its log being more up to
/// date: node 4 itself must campaign, being a voter of the configuration before its
/// uncommitted removal. Found by the random membership property below with more seeds
/// (seed 1847 ends with 4 and 8 campaigning forever, needing 7's vote).
#[test]
fn restarted_leader_with_its_uncommitted_removal_campaigns_to_finish_it() {
    let restored = Restored {
        hard_state: HardState {
            term: 2,
            vote: Some(4),
        },
        entries: vec![
            entry(1, 1),
            config_entry(2, 1, joint(&[4, 5], &[1, 2, 3])),
            config_entry(3, 1, Membership::new([4, 5])),
            config_entry(4, 2, joint(&[5, 6], &[4, 5])),
            config_entry(5, 2, Membership::new([5, 6])),
        ],
        applied: 0,
        ..Restored::bootstrap([1, 2, 3])
    };
    let mut restarted = Raft::new(config(4), restored).unwrap();
    assert_eq!(restarted.membership(), &Membership::new([5, 6]));
    // Node 5, holding up to the joint entry, asks in vain: 4's log is more up to date.
    let mut asked = restarted.clone();
    let actions = receive(&mut asked, 5, vote_request(3, 4, 2));
    assert_eq!(vote_answers(&actions, 5), vec![(3, false)]);
    // So node 4 must campaign (in C_new = {5, 6}, whose two voters would grant it); being no
    // voter of C_new, it lets two election timeouts pass first (each under 20 ticks with the
    // default 10), so voters of C_new go first where they can.
    let actions = tick_for(&mut restarted, 3 * 20);
    assert!(
        !vote_requests(&actions).is_empty(),
        "node 4 never campaigns: nobody can be elected"
    );
}

/// A node that joined empty does not know the configuration before the first configuration
/// entry it holds (the cluster's first membership is in no log): a snapshot there is refused
/// with `SnapshotError::MembershipUnknown`, naming where to snapshot instead, and nothing
/// changes; a snapshot at or after that entry records its configuration, and the node restarts
/// from it.
#[test]
fn node_that_joined_empty_snapshots_only_where_it_knows_the_configuration() {
    let mut joining = empty_node(4);
    let entries = vec![
        entry(1, 1),
        entry(2, 1),
        config_entry(3, 1, members(&[1, 2, 3], &[4])),
        entry(4, 1),
    ];
    receive(&mut joining, 1, append(1, 0, 0, entries, 4));
    assert_eq!(joining.applied_index(), 4);
    let actions = joining.step(Event::SnapshotTaken {
        index: 2,
        data: b"state".to_vec(),
    });
    assert_eq!(
        actions,
        vec![Action::SnapshotRefused(SnapshotError::MembershipUnknown {
            index: 2,
            first_known: 3
        })]
    );
    assert!(joining.snapshot().is_none());

    let actions = joining.step(Event::SnapshotTaken {
        index: 4,
        data: b"state".to_vec(),
    });
    assert!(!actions
        .iter()
        .any(|action| matches!(action, Action::SnapshotRefused(_))));
    let snapshot = joining.snapshot().expect("a snapshot").clone();
    assert_eq!(snapshot.meta.membership, members(&[1, 2, 3], &[4]));
    assert_eq!(snapshot.meta.membership_index, 3);
    let restored: Restored<u64> = Restored {
        hard_state: joining.hard_state(),
        snapshot: Some(snapshot),
        entries: Vec::new(),
        applied: 0,
        membership: Membership::default(),
    };
    let restarted = Raft::new(config(4), restored).expect("its own snapshot");
    assert_eq!(restarted.membership(), &members(&[1, 2, 3], &[4]));
    assert_eq!(restarted.membership_index(), 3);
}

// ----- who a node listens to -----

/// A member that follows a leader acts on nothing from a stranger (an id of no configuration
/// its log holds): neither an append nor a vote request of a higher term changes its term,
/// leader, log or commit; the vote request gets a refusal with its own term.
#[test]
fn follower_of_a_leader_ignores_a_stranger() {
    let mut follower = node(2);
    receive(&mut follower, 1, append(1, 0, 0, vec![entry(1, 1)], 1));
    let before = follower.status();

    let actions = receive(&mut follower, 9, append(5, 1, 1, vec![entry(2, 5)], 2));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(follower.status(), before);

    let actions = receive(&mut follower, 9, vote_request(5, 9, 4));
    assert_eq!(actions.len(), 1);
    assert_eq!(vote_answers(&actions, 9), vec![(1, false)]);
    assert_eq!(follower.status(), before);

    // A leader ignores a stranger's append too.
    let mut leader = leader_of_three();
    let before = leader.status();
    let actions = receive(&mut leader, 9, append(5, 1, 1, vec![entry(2, 5)], 2));
    assert!(actions.is_empty());
    assert_eq!(leader.status(), before);
}

/// A leaderless member follows an append from a leader it does not know: the lagging member
/// that missed the configuration adding that leader. Node 2 of {1, 2, 3}, a candidate, then a
/// follower that has heard from no leader in its term, each take node 4's append of term 2,
/// which holds the configuration {1, 2, 3, 4}, and follow 4.
#[test]
fn leaderless_member_follows_an_unknown_leader() {
    let entries = || {
        vec![
            entry(1, 1),
            config_entry(2, 1, members(&[1, 2, 3], &[4])),
            config_entry(3, 2, Membership::new([1, 2, 3, 4])),
        ]
    };
    let mut candidate = node(2);
    tick_until_campaign(&mut candidate);
    assert_eq!((candidate.role(), candidate.term()), (Role::Candidate, 1));
    let actions = receive(&mut candidate, 4, append(2, 0, 0, entries(), 3));
    assert_eq!(
        append_answers(&actions, 4),
        vec![(2, pureraft::AppendOutcome::Accepted { match_index: 3 })]
    );
    assert_eq!(
        (candidate.role(), candidate.leader()),
        (Role::Follower, Some(4))
    );
    assert_eq!(candidate.membership(), &Membership::new([1, 2, 3, 4]));
    assert_eq!(candidate.commit_index(), 3);

    let mut follower = node(2);
    let actions = receive(&mut follower, 4, append(2, 0, 0, entries(), 3));
    assert_eq!(follower.leader(), Some(4));
    assert_eq!(follower.last_index(), 3);
    assert_eq!(append_answers(&actions, 4).len(), 1);
}

/// A node started empty (`Restored::default()`) knows no configuration and no one, and takes
/// the first leader's append, and a snapshot, using the configuration they carry.
#[test]
fn node_started_empty_accepts_a_leaders_append_and_snapshot() {
    let mut joining = empty_node(4);
    let entries = vec![entry(1, 1), config_entry(2, 1, members(&[1, 2, 3], &[4]))];
    let actions = receive(&mut joining, 1, append(3, 0, 0, entries, 2));
    assert_eq!(
        append_answers(&actions, 1),
        vec![(3, pureraft::AppendOutcome::Accepted { match_index: 2 })]
    );
    assert_eq!((joining.term(), joining.leader()), (3, Some(1)));
    assert_eq!(joining.membership(), &members(&[1, 2, 3], &[4]));
    assert_eq!(joining.membership_index(), 2);
    assert_eq!(joining.commit_index(), 2);

    let mut joining = empty_node(4);
    let meta = meta_with(10, 2, members(&[1, 2, 3], &[4]), 8);
    let actions = receive(&mut joining, 1, chunk(3, meta.clone(), 0, b"data", 4));
    assert_eq!(installed_snapshots(&actions).len(), 1);
    assert_eq!(joining.leader(), Some(1));
    assert_eq!(joining.membership(), &meta.membership);
    assert_eq!(joining.membership_index(), 8);
    assert_eq!(joining.commit_index(), 10);
}

/// A node that cannot campaign (started empty, or a learner) and followed a leader whose term
/// then ended must still take the next leader's appends, once it has heard from no leader for
/// an election timeout, even if it does not know that leader (it missed the configuration
/// adding it): it is then a follower that has not heard from a leader, which listens to anyone.
/// Otherwise nothing ever makes it leaderless again (it never campaigns) and it never receives
/// the log. Found by the random membership property below with more seeds
/// (`PURERAFT_MEMBERSHIP_SEEDS=600`: seeds 1035 and 2019 end with a voter or learner whose log
/// stays empty).
#[test]
fn empty_node_that_lost_its_leader_follows_a_new_unknown_leader() {
    // Node 4, started empty, hears leader 1's probe of term 1 (and rejects it: its log is
    // empty); then leader 1 is gone, and node 2 leads term 2.
    let mut joining = empty_node(4);
    let actions = receive(&mut joining, 1, append(1, 5, 1, vec![], 5));
    assert_eq!(append_answers(&actions, 1).len(), 1);
    assert_eq!(joining.leader(), Some(1));
    tick_for(&mut joining, 40);
    let entries = vec![entry(1, 1), config_entry(2, 2, members(&[2, 3], &[4]))];
    let actions = receive(&mut joining, 2, append(2, 0, 0, entries, 2));
    assert_eq!(
        append_answers(&actions, 2),
        vec![(2, pureraft::AppendOutcome::Accepted { match_index: 2 })],
        "the new leader is heard"
    );
    assert_eq!((joining.term(), joining.leader()), (2, Some(2)));
}

/// The learner case of `empty_node_that_lost_its_leader_follows_a_new_unknown_leader`: learner
/// 4 of {1, 2, 3} follows leader 1 of term 1; while it hears nothing, node 5 is added, promoted
/// and elected in term 3, and 4 must take 5's appends.
#[test]
fn learner_that_lost_its_leader_follows_a_new_unknown_leader() {
    let mut learner = empty_node(4);
    let entries = vec![entry(1, 1), config_entry(2, 1, members(&[1, 2, 3], &[4]))];
    receive(&mut learner, 1, append(1, 0, 0, entries, 2));
    assert_eq!(learner.leader(), Some(1));
    tick_for(&mut learner, 40);
    let entries = vec![config_entry(3, 2, members(&[1, 2, 3, 5], &[4]))];
    let actions = receive(&mut learner, 5, append(3, 2, 1, entries, 3));
    assert_eq!(
        append_answers(&actions, 5).len(),
        1,
        "the new leader is heard"
    );
    assert_eq!((learner.term(), learner.leader()), (3, Some(5)));
}

// ----- snapshots carry the configuration -----

/// A snapshot carries the configuration in force at its index (thesis §5.1 of chapter 5, and
/// §4.1): node 2 of {1, 2, 3} installs a snapshot whose configuration is {1, 2, 4} from entry 7,
/// uses it at once (membership, index, the voters it asks), and a leader's own snapshot names
/// the configuration in force at the snapshot's index.
#[test]
fn snapshot_carries_the_configuration() {
    let mut follower = node(2);
    let meta = meta_with(10, 2, Membership::new([1, 2, 4]), 7);
    receive(&mut follower, 1, chunk(2, meta, 0, b"data", 4));
    assert_eq!(follower.membership(), &Membership::new([1, 2, 4]));
    assert_eq!(follower.membership_index(), 7);
    let actions = tick_until_campaign(&mut follower);
    assert_eq!(vote_requests(&actions), BTreeSet::from([1, 4]));

    // The leader's side: a snapshot taken after the change names it.
    let mut leader = leader_of_three();
    let added = accepted_index(&change(&mut leader, AddLearner(4)));
    receive(&mut leader, 2, accepted(1, added));
    let command = propose(&mut leader, 7);
    receive(&mut leader, 2, accepted(1, command));
    assert_eq!(leader.applied_index(), command);
    leader.step(Event::SnapshotTaken {
        index: command,
        data: b"state".to_vec(),
    });
    let snapshot = leader.snapshot().expect("a snapshot").clone();
    assert_eq!(
        snapshot.meta,
        meta_with(command, 1, members(&[1, 2, 3], &[4]), added)
    );
}

// ----- regressions found by fuzzing -----

/// The {1, 2} cluster of `seed` with its leader elected and its no-op committed: (leader,
/// other).
fn two_node_cluster(seed: u64) -> (Sim<u64>, NodeId, NodeId) {
    let mut sim: Sim<u64> = Sim::new(SimConfig::new(2, seed));
    let leader = sim.check_one_leader().unwrap();
    sim.one(1, 2, true).unwrap();
    let other = 3 - leader;
    (sim, leader, other)
}

/// Runs `sim` until the committed configuration is {`survivor`} and `survivor` leads, then
/// checks it commits a command alone.
fn assert_survivor_leads_alone(sim: &mut Sim<u64>, survivor: NodeId, seed: u64) {
    let settled = sim.run_until(3_000, |sim| {
        sim.latest_committed_membership() == Membership::new([survivor])
            && sim.believed_leader() == Some(survivor)
    });
    assert!(
        settled,
        "seed {seed}: the removal never committed or {survivor} never led alone: {}",
        sim.describe_nodes()
    );
    let index = sim.one(1_000 + seed, 1, true).unwrap();
    assert!(sim.raft(survivor).unwrap().commit_index() >= index);
}

/// Regression found by fuzzing: in {1, 2}, the leader proposes its own removal and loses its
/// term before the removal commits: the other node never got the entry (disconnected), and the
/// leader crashed and restarted (nothing applied, so it cannot know whether its removal
/// committed). The cluster must still elect and commit: the old leader campaigns (its removal
/// is not known committed), wins with the other node's vote, commits the removal, steps down,
/// and the other node leads alone.
#[test]
fn fuzz_regression_two_nodes_leader_removes_itself_then_restarts() {
    for seed in 0..4 {
        let (mut sim, leader, other) = two_node_cluster(seed);
        sim.disconnect(other);
        let removal = sim.change_membership(leader, Remove(leader)).unwrap();
        sim.run(5);
        assert!(sim.raft(other).unwrap().last_index() < removal);
        sim.crash(leader);
        sim.restart(leader);
        sim.connect(other);
        assert_survivor_leads_alone(&mut sim, other, seed);
        assert!(sim.retire_if_removed(leader), "seed {seed}");
    }
}

/// Regression found by fuzzing, the other way to lose the term: in {1, 2}, the leader's
/// messages to the other node are lost while it proposes its own removal; the other node times
/// out and campaigns, deposing the leader, but cannot win without it. Once the link heals the
/// cluster elects, commits the removal, and the other node leads alone. Found without PreVote
/// and CheckQuorum, and run that way too; with them (the defaults) the leader is deposed
/// by its quorum check instead, in its own term.
#[test]
fn fuzz_regression_two_nodes_leader_removes_itself_and_is_deposed() {
    for (seed, elections) in (0..4).flat_map(|seed| [(seed, false), (seed, true)]) {
        let mut config = SimConfig::new(2, seed);
        config.node.pre_vote = elections;
        config.node.check_quorum = elections;
        let mut sim: Sim<u64> = Sim::new(config);
        let leader = sim.check_one_leader().unwrap();
        sim.one(1, 2, true).unwrap();
        let other = 3 - leader;
        sim.cut_link(leader, other);
        let removal = sim.change_membership(leader, Remove(leader)).unwrap();
        let term = sim.raft(leader).unwrap().term();
        let deposed = sim.run_until(1_000, |sim| {
            (elections || sim.raft(leader).unwrap().term() > term)
                && sim.raft(leader).unwrap().role() != Role::Leader
        });
        assert!(deposed, "seed {seed}: {}", sim.describe_nodes());
        assert!(sim.raft(other).unwrap().last_index() < removal);
        sim.heal();
        assert_survivor_leads_alone(&mut sim, other, seed);
    }
}

/// Regression found by fuzzing: the acknowledgement that commits a configuration removing a
/// member must not panic the leader, which forgets the member while handling an answer. In
/// {1, 2}, leader 1's removal of 2 commits at once and 2's late answer is ignored; in
/// {1, 2, 3}, Remove(3) commits on node 2's ack and node 3's ack, arriving after, is ignored.
#[test]
fn fuzz_regression_ack_committing_the_senders_removal() {
    // In {1, 2}, C_new = {1}: the leader alone is its majority, so the removal commits as it
    // is appended (thesis §4.1); node 2 is sent the entry, then told the commit, and forgotten.
    let mut leader = leader_of(config(1), Membership::new([1, 2]));
    let actions = change(&mut leader, Remove(2));
    let removal = accepted_index(&actions);
    assert_eq!(leader.commit_index(), removal);
    assert_eq!(leader.role(), Role::Leader);
    assert!(commits_sent_to(&actions, 2).contains(&removal), "2 is told");
    assert_eq!(tracked(&leader), BTreeSet::new());
    // Its answer, from a node no longer tracked, changes nothing.
    let actions = receive(&mut leader, 2, accepted(1, removal));
    assert!(actions.is_empty());

    let mut leader = leader_of_three();
    let removal = accepted_index(&change(&mut leader, Remove(3)));
    receive(&mut leader, 3, accepted(1, removal));
    assert_eq!(leader.commit_index(), 1, "3 does not count in {{1, 2}}");
    let actions = receive(&mut leader, 2, accepted(1, removal));
    assert_eq!(leader.commit_index(), removal);
    assert!(commits_sent_to(&actions, 3).contains(&removal), "3 is told");
    assert_eq!(tracked(&leader), BTreeSet::from([2]));
    let actions = receive(&mut leader, 3, accepted(1, removal));
    assert!(actions.is_empty());
    assert_eq!(leader.role(), Role::Leader);
}

// ----- ports of etcd-io/raft membership scenarios -----

/// etcd-io/raft TestCommitAfterRemoveNode (and TestRemoveNode): "pending entries can be
/// committed when a config change reduces the quorum requirements". Leader 1 of {1, 2} removes
/// node 2, which no longer answers; C_new = {1}, a majority of which the leader alone is: the
/// removal and the command after it commit without node 2 (thesis §4.1: C_new is in force from
/// the append, and the leader's own log counts where it votes).
#[test]
fn removal_down_to_the_leader_alone_commits_without_the_removed_node() {
    let mut leader = leader_of(config(1), Membership::new([1, 2]));
    let removal = accepted_index(&change(&mut leader, Remove(2)));
    let command = propose(&mut leader, 7);
    tick_for(&mut leader, 30);
    assert_eq!(leader.membership(), &Membership::new([1]));
    assert_eq!(
        leader.commit_index(),
        command,
        "removal at {removal} and command at {command} are held by all of C_new = {{1}}"
    );
}

/// Thesis §4.2.1 (a learner does not count in quorums, so it cannot hold a commit back either):
/// node 1, sole voter of {1} with learner 2 that never answers, elects itself and commits its
/// no-op and a command on its own.
#[test]
fn sole_voter_commits_without_its_learner() {
    let restored = Restored {
        membership: members(&[1], &[2]),
        ..Restored::default()
    };
    let mut leader = Raft::new(config(1), restored).unwrap();
    tick_until_campaign(&mut leader);
    assert_eq!(leader.role(), Role::Leader, "a sole voter elects itself");
    assert_eq!(leader.commit_index(), 1, "its no-op commits at once");
    let index = propose(&mut leader, 7);
    tick_for(&mut leader, 30);
    assert_eq!(leader.commit_index(), index);
}

/// etcd-io/raft TestAddNode: node 2 joins {1} (here as a learner, then promoted), after which a
/// commit needs node 2 too.
#[test]
fn etcd_add_node() {
    let mut net = Net::new([leader_of(config(1), Membership::new([1])), empty_node(2)]);
    net.change(1, AddLearner(2)).unwrap();
    net.tick(10);
    net.change(1, Promote(2)).unwrap();
    net.tick(10);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 2]));
    net.assert_caught_up(1, &[2]);
    net.down.insert(2);
    let index = net.propose(1, 7).unwrap();
    net.tick(30);
    assert!(
        net.node(1).commit_index() < index,
        "1 is no majority of {{1, 2}}"
    );
    net.down.remove(&2);
    net.tick(10);
    assert_eq!(net.node(1).commit_index(), index);
}

/// etcd-io/raft TestRemoveNode, with the removed node still answering: {1, 2} becomes {1}; node
/// 1 then commits alone.
#[test]
fn etcd_remove_node() {
    let mut net = Net::new([node_of(1, &[1, 2]), node_of(2, &[1, 2])]);
    net.elect(1);
    let removal = net.change(1, Remove(2)).unwrap();
    net.tick(5);
    assert!(net.node(1).commit_index() >= removal);
    assert_eq!(net.node(1).membership(), &Membership::new([1]));
    assert_eq!(net.node(2).membership(), &Membership::new([1]));
    net.down.insert(2);
    let index = net.propose(1, 7).unwrap();
    assert_eq!(net.node(1).commit_index(), index);
}

/// A founding node `id` of a cluster of `voters`.
fn node_of(id: NodeId, voters: &[NodeId]) -> Node {
    founding(config(id), voters)
}

/// etcd-io/raft TestLearnerPromotion (confchange_v2_add_single): learner 2 of {1} never
/// campaigns, even with leader 1 gone; promoted, it campaigns and is elected.
#[test]
fn etcd_learner_promotion() {
    let learner_restored = Restored {
        membership: members(&[1], &[2]),
        ..Restored::default()
    };
    let learner = Raft::new(config(2), learner_restored.clone()).unwrap();
    let leader = Raft::new(config(1), learner_restored).unwrap();
    let mut net = Net::new([leader, learner]);
    net.elect(1);
    net.tick(5);
    assert_eq!(net.node(1).commit_index(), 1);
    net.down.insert(1);
    net.tick(100);
    assert!(!net.campaigned(2), "a learner does not campaign");
    net.down.remove(&1);

    net.change(1, Promote(2)).unwrap();
    net.tick(5);
    assert_eq!(net.node(2).membership(), &Membership::new([1, 2]));
    net.down.insert(1);
    net.tick(100);
    assert!(net.campaigned(2));
    net.down.remove(&1);
    net.tick(100);
    assert!(net.leader().is_some());
    let leader = net.leader().unwrap();
    let index = net.propose(leader, 9).unwrap();
    net.tick(5);
    net.assert_caught_up(leader, &[1, 2]);
    assert!(net.node(2).commit_index() >= index);
}

/// etcd-io/raft confchange_v2_add_double_auto: {1} adds 2 and 3 as voters in one change,
/// through C_old,new, and leaves it automatically once the joint entry commits.
#[test]
fn etcd_add_two_voters_through_joint_leaving_automatically() {
    let leader = leader_of(config(1), Membership::new([1]));
    let mut net = Net::new([leader, empty_node(2), empty_node(3)]);
    let entered = net.change(1, joint_to(&[1, 2, 3])).unwrap();
    assert_eq!(net.node(1).membership(), &joint(&[1, 2, 3], &[1]));
    net.tick(10);
    assert!(net.node(1).commit_index() > entered);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 2, 3]));
    assert_eq!(net.node(1).membership_index(), entered + 1);
    net.assert_caught_up(1, &[2, 3]);
}

/// etcd-io/raft confchange_v2_add_double_explicit: the same with `auto_leave_joint = false`:
/// the cluster stays in C_old,new until the host asks to leave it.
#[test]
fn etcd_add_two_voters_through_joint_leaving_explicitly() {
    let mut options = config(1);
    options.auto_leave_joint = false;
    let leader = leader_of(options, Membership::new([1]));
    let mut net = Net::new([leader, empty_node(2), empty_node(3)]);
    let entered = net.change(1, joint_to(&[1, 2, 3])).unwrap();
    net.tick(10);
    assert_eq!(net.node(1).commit_index(), entered);
    assert_eq!(net.node(1).membership(), &joint(&[1, 2, 3], &[1]));
    net.assert_caught_up(1, &[2, 3]);

    let left = net.change(1, LeaveJoint).unwrap();
    net.tick(10);
    assert_eq!(net.node(1).commit_index(), left);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 2, 3]));
    net.assert_caught_up(1, &[2, 3]);
}

/// etcd-io/raft joint configuration whose old voters lack a quorum: {1, 2, 3} -> {1, 4, 5}
/// with 2 and 3 down: 4 and 5 catch up, yet the joint entry cannot commit (one old voter of
/// three); once 3 is back it commits, C_new follows, and it commits without 2 and 3.
#[test]
fn etcd_joint_without_an_old_quorum_waits_for_one() {
    let mut net = Net::new([node(1), node(2), node(3), empty_node(4), empty_node(5)]);
    net.elect(1);
    net.tick(3);
    net.down.extend([2, 3]);
    let entered = net.change(1, joint_to(&[1, 4, 5])).unwrap();
    net.tick(30);
    assert!(net.node(4).last_index() >= entered, "4 has the joint entry");
    assert_eq!(net.node(1).commit_index(), entered - 1, "no old majority");
    assert_eq!(net.node(1).membership(), &joint(&[1, 4, 5], &[1, 2, 3]));

    net.down.remove(&3);
    net.tick(10);
    assert!(net.node(1).commit_index() > entered);
    assert_eq!(net.node(1).membership(), &Membership::new([1, 4, 5]));
    net.down.insert(3);
    let index = net.propose(1, 9).unwrap();
    assert_eq!(
        net.node(1).commit_index(),
        index,
        "C_new commits without 2 and 3"
    );
    net.assert_caught_up(1, &[4, 5]);
}

// ----- the simulator -----

/// Asks the believed leader for `change` until the latest committed configuration satisfies
/// `done`, calling `between` (which advances the cluster) between tries; panics after
/// `max_tries`.
fn settle(
    sim: &mut Sim<u64>,
    change: MembershipChange,
    done: impl Fn(&Membership) -> bool,
    max_tries: usize,
    mut between: impl FnMut(&mut Sim<u64>),
) {
    for _ in 0..max_tries {
        if done(&sim.latest_committed_membership()) {
            return;
        }
        if let Some(leader) = sim.believed_leader() {
            // Refusals (pending, no commit in term, already made) just mean: wait and retry.
            let _ = sim.change_membership(leader, change.clone());
        }
        between(sim);
    }
    panic!(
        "seed {}: {change:?} never committed; committed configuration {:?}:\n{}",
        sim.seed(),
        sim.latest_committed_membership(),
        sim.describe_nodes()
    );
}

/// Replaces every original member of {1, 2, 3} by 4, 5, 6 (added as learners, promoted, then
/// 1, 2, 3 removed and retired), calling `between` to advance the cluster and `work` after each
/// change. Answers the ids of the replacements.
fn replace_every_member(
    sim: &mut Sim<u64>,
    max_tries: usize,
    mut between: impl FnMut(&mut Sim<u64>),
    mut work: impl FnMut(&mut Sim<u64>),
) -> [NodeId; 3] {
    let added = [sim.add_node(), sim.add_node(), sim.add_node()];
    assert_eq!(added, [4, 5, 6]);
    for id in added {
        settle(
            sim,
            AddLearner(id),
            |m| m.is_learner(id),
            max_tries,
            &mut between,
        );
        work(sim);
        settle(
            sim,
            Promote(id),
            |m| m.is_voter(id),
            max_tries,
            &mut between,
        );
        work(sim);
    }
    for id in [1, 2, 3] {
        settle(
            sim,
            Remove(id),
            |m| !m.contains(id),
            max_tries,
            &mut between,
        );
        work(sim);
    }
    added
}

/// Thesis chapter 4 end to end on the simulator: every original member of {1, 2, 3} is replaced
/// one server at a time (learner, promotion, removal), with a command committing on every voter
/// after each change; the removed nodes are retired, and the final committed configuration is
/// {4, 5, 6}.
#[test]
fn sim_replace_every_original_member() {
    for seed in 0..3 {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, seed));
        sim.check_one_leader().unwrap();
        let mut command = 100;
        replace_every_member(
            &mut sim,
            100,
            |sim| sim.run(10),
            |sim| {
                command += 1;
                let voters = sim.latest_committed_membership().voters.len();
                sim.one(command, voters, true).unwrap();
            },
        );
        let final_membership = sim.latest_committed_membership();
        assert_eq!(
            final_membership
                .voters
                .iter()
                .copied()
                .collect::<BTreeSet<_>>(),
            BTreeSet::from([4, 5, 6])
        );
        assert!(!final_membership.is_joint() && final_membership.learners.is_empty());
        for id in [1, 2, 3] {
            let retired = (0..50).any(|_| {
                let retired = sim.retire_if_removed(id);
                sim.run(10);
                retired
            });
            assert!(
                retired || sim.is_retired(id),
                "seed {seed}: {id} could not be retired"
            );
        }
        let leader = sim.check_one_leader().unwrap();
        assert!([4, 5, 6].contains(&leader));
        sim.one(999, 3, true).unwrap();
    }
}

/// The same replacement under moderate faults (`Faults::level(2)`: crashes, partitions, lost,
/// duplicated and reordered messages), the checker judging every step, then healed: the
/// cluster {4, 5, 6} is live.
#[test]
fn sim_replace_every_original_member_under_faults() {
    for seed in 0..3 {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, seed));
        let faults = Faults::level(2);
        let mut next = 1;
        replace_every_member(
            &mut sim,
            2_000,
            |sim| {
                for _ in 0..10 {
                    sim.chaos_tick(&faults, &mut next);
                }
            },
            |_| {},
        );
        let committed = sim.latest_committed_membership();
        assert_eq!(
            committed.voters.iter().copied().collect::<BTreeSet<_>>(),
            BTreeSet::from([4, 5, 6])
        );
        sim.heal_all();
        let bound = sim.liveness_bound_ticks();
        sim.check_liveness(u64::MAX, bound)
            .unwrap_or_else(|failure| panic!("{failure}"));
        assert!(next > 1, "commands were proposed throughout");
    }
}

/// Runs `config` for `ticks` chaos ticks at `faults`, then heals it and checks liveness; panics
/// naming `what` on a failure. Answers the simulation.
fn chaos_then_heal(config: SimConfig, faults: &Faults, ticks: u64, what: &str) -> Sim<u64> {
    let seed = config.seed;
    let mut sim: Sim<u64> = Sim::new(config);
    let mut next = 1;
    for _ in 0..ticks {
        sim.chaos_tick(faults, &mut next);
    }
    sim.heal_all();
    let bound = sim.liveness_bound_ticks();
    sim.check_liveness(u64::MAX, bound)
        .unwrap_or_else(|failure| panic!("{what}, seed {seed}: {failure}"));
    sim
}

/// How many seeds each random membership property runs: `PURERAFT_MEMBERSHIP_SEEDS` (default
/// 10; soak runs set it higher).
fn property_seeds() -> u64 {
    std::env::var("PURERAFT_MEMBERSHIP_SEEDS")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(10)
}

/// Random membership changes (learners added, promoted, members removed and retired, joint
/// reconfigurations entered and left) under moderate faults, ten seeds of 5,000 ticks, every
/// step checked by the simulator; then healed, the cluster is live.
#[test]
fn sim_random_membership_changes_under_faults_keep_every_invariant_and_heal() {
    for seed in 0..property_seeds() {
        let (config, faults, what) = property_setup(seed, false);
        let sim = chaos_then_heal(config, &faults, 5_000, &what);
        let stats = sim.stats();
        assert!(
            stats.membership_changes_accepted > 0 && stats.configurations_committed > 0,
            "seed {seed}: no change made: {stats:?}"
        );
    }
}

/// The same over other set-ups: founding clusters of 1 to 5 nodes, snapshots every 10 entries
/// (so new members and lagging ones catch up by snapshots that carry the configuration), hosts
/// that batch, and heavy faults.
#[test]
fn sim_random_membership_changes_with_snapshots_batching_and_heavy_faults() {
    let seeds = property_seeds();
    let mut changed = 0;
    for seed in 0..seeds {
        let (config, faults, what) = property_setup(seed, true);
        let sim = chaos_then_heal(config, &faults, 5_000, &what);
        changed += u64::from(sim.stats().membership_changes_accepted > 0);
    }
    // Heavy faults may leave a run without a leader long enough to accept a change (seed 391
    // of a 2-node cluster does): most runs make some.
    assert!(
        2 * changed > seeds,
        "only {changed} of {seeds} runs made a change"
    );
}

/// The set-ups of the two random membership properties above: `(seed, snapshots and batching
/// variant)`.
fn property_setup(seed: u64, variant: bool) -> (SimConfig, Faults, String) {
    if !variant {
        let faults = Faults::level(2).with_membership(20_000);
        return (
            SimConfig::new(3, 1_000 + seed),
            faults,
            "3 nodes".to_string(),
        );
    }
    let nodes = 1 + (seed % 5) as usize;
    let mut config = SimConfig::new(nodes, 2_000 + seed).with_snapshots(10);
    if seed % 2 == 1 {
        config = config.with_batching();
    }
    let level = 2 + (seed % 2) as u32;
    let faults = Faults::level(level).with_membership(20_000);
    let what = format!("{nodes} nodes, level {level}, batching {}", seed % 2 == 1);
    (config, faults, what)
}

/// Simulator seeds of the two random membership properties that failed while membership was
/// built (found with `PURERAFT_MEMBERSHIP_SEEDS=1000`, when 50 of the 2,000 runs failed, and
/// by a later scan), one or two per cause, replayed here so that each fix stays checked:
/// 1035 and 1121 (a non-voter deaf to every later leader:
/// `empty_node_that_lost_its_leader_follows_a_new_unknown_leader`); 1847 (a restarted leader
/// unable to finish its removal:
/// `restarted_leader_with_its_uncommitted_removal_campaigns_to_finish_it`); 2143 (an empty
/// configuration in a snapshot, a safety invariant of the checker:
/// `node_that_joined_empty_snapshots_only_where_it_knows_the_configuration`); 2665 (a sole
/// voter that commits only when a non-voter answers: `sole_voter_commits_without_its_learner`);
/// 2616 (an election slowed past the liveness bound by candidates that cannot win: a removed
/// node whose removal it does not know committed, and a node behind, take the vote of the one
/// voter the rightful candidate needs, whose term lags because it ignores them); 2042 (a node
/// removed by a leave-joint entry campaigned before it heard the commit, so it refuses the
/// leader's farewell heartbeat as stale, the leader ignores the refusal from a node it no
/// longer tracks, and it never applies the last entry it was a member for); and 15102 (case
/// 14102 of a scan of 10,000: in a joint configuration, the one node whose log could win had
/// appended the leave-joint entry that removes it, so it stood aside two election timeouts
/// before each campaign while a candidate that could not win without its vote kept taking the
/// others' votes; standing aside one timeout lets it win; `REMOVED_TIMEOUTS_ASIDE`).
#[test]
fn sim_random_membership_failing_seeds() {
    let cases = [
        (35, false),
        (121, false),
        (847, false),
        (143, true),
        (665, true),
        (616, true),
        (42, true),
        (14_102, false),
    ];
    let mut failures = Vec::new();
    for (seed, variant) in cases {
        let (config, faults, what) = property_setup(seed, variant);
        let run = std::panic::catch_unwind(|| chaos_then_heal(config, &faults, 5_000, &what));
        if run.is_err() {
            failures.push((seed, variant));
        }
    }
    assert!(failures.is_empty(), "failing (seed, variant): {failures:?}");
}
