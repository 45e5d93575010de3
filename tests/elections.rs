//! PreVote (thesis §9.6), CheckQuorum and leader stickiness (thesis §6.2), one test per rule:
//! nodes driven by hand with `Raft::step` and the defaults (`Config::new`: both on), then the
//! partial failures of `pureraft::sim::scenarios` in the simulator with and without them.
//! Each test's doc comment names the rule it checks.

mod common;

use pureraft::sim::scenarios::{self, Scenario};
use pureraft::{
    Action, Config, Event, HardState, Message, NodeId, Persist, ProposeError, Raft, Role, Term,
    TransferError,
};

use common::hand::*;
use common::net::Net;

type Node = Raft<u64>;

/// A founding node `id` of `voters` with the defaults: PreVote and CheckQuorum on.
fn member(id: NodeId, voters: &[NodeId]) -> Node {
    founding(config_with_elections(id), voters)
}

/// A founding node `id` of the joint configuration moving from `outgoing` to `voters`.
fn joint_member(id: NodeId, voters: &[NodeId], outgoing: &[NodeId]) -> Node {
    founding_in(config_with_elections(id), voters, outgoing, &[])
}

/// Ticks until the node becomes a pre-candidate (at most `2 * election_ticks` ticks) and
/// returns the actions of that tick.
fn tick_until_pre_candidate(node: &mut Node) -> Vec<Action<u64>> {
    for _ in 0..2 * node.config().election_ticks {
        let actions = node.step(pureraft::Event::Tick);
        if node.role() == Role::PreCandidate {
            return actions;
        }
    }
    panic!("node {} did not pre-campaign", node.id());
}

fn pre_vote(term: Term, last_log_index: u64, last_log_term: Term) -> Message<u64> {
    Message::PreVote {
        term,
        last_log_index,
        last_log_term,
    }
}

fn pre_vote_answer(term: Term, vote_granted: bool) -> Message<u64> {
    Message::PreVoteResponse { term, vote_granted }
}

/// The term and grant of every `PreVoteResponse` sent to `to`.
fn pre_vote_answers(actions: &[Action<u64>], to: NodeId) -> Vec<(Term, bool)> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::PreVoteResponse { term, vote_granted } => Some((term, vote_granted)),
            _ => None,
        })
        .collect()
}

/// Elects node 1 of {1, 2, 3} with the defaults: its pre-vote and its vote granted by 2.
fn leader_of_three() -> Node {
    let mut leader = member(1, &[1, 2, 3]);
    tick_until_pre_candidate(&mut leader);
    receive(&mut leader, 2, pre_vote_answer(0, true));
    assert_eq!(leader.role(), Role::Candidate);
    let term = leader.term();
    receive(&mut leader, 2, grant(term));
    assert_eq!(leader.role(), Role::Leader);
    leader
}

// ----- PreVote (thesis §9.6) -----

/// §9.6: a node whose election timer fires first asks every voter whether it would vote for it
/// in the next term, changing neither its term nor its vote, persisting nothing.
#[test]
fn pre_candidate_asks_every_voter_without_changing_its_term_or_vote() {
    let mut node = member(1, &[1, 2, 3]);
    let actions = tick_until_pre_candidate(&mut node);
    assert_eq!((node.term(), node.vote(), node.leader()), (0, None, None));
    assert!(!has_persist(&actions), "nothing durable changes");
    for peer in [2, 3] {
        assert_eq!(sent_to(&actions, peer), vec![pre_vote(0, 0, 0)]);
    }
    assert!(
        !actions.iter().any(|action| matches!(
            action,
            Action::Send {
                message: Message::RequestVote { .. },
                ..
            }
        )),
        "no vote request before the pre-vote is won"
    );
}

/// §9.6: once a majority would vote for it, the pre-candidate campaigns at once: term + 1,
/// its own vote persisted before any request leaves (the ordering rule).
#[test]
fn a_majority_of_pre_votes_starts_the_campaign_at_once() {
    let mut node = member(1, &[1, 2, 3]);
    tick_until_pre_candidate(&mut node);
    let actions = receive(&mut node, 3, pre_vote_answer(0, true));
    assert_eq!(
        (node.role(), node.term(), node.vote()),
        (Role::Candidate, 1, Some(1))
    );
    let persist = actions
        .iter()
        .position(|action| {
            matches!(
                action,
                Action::Persist(Persist::HardState(HardState {
                    term: 1,
                    vote: Some(1)
                }))
            )
        })
        .expect("the vote is persisted");
    let first_request = actions
        .iter()
        .position(|action| matches!(action, Action::Send { .. }))
        .expect("vote requests are sent");
    assert!(persist < first_request);
    for peer in [2, 3] {
        assert_eq!(sent_to(&actions, peer), vec![vote_request(1, 0, 0)]);
    }
}

/// §9.6: a majority of refusals ends the pre-campaign: a follower again, in the same term.
#[test]
fn a_majority_of_pre_vote_refusals_makes_a_follower_again() {
    let mut node = member(1, &[1, 2, 3, 4, 5]);
    tick_until_pre_candidate(&mut node);
    receive(&mut node, 2, pre_vote_answer(0, false));
    receive(&mut node, 3, pre_vote_answer(0, false));
    assert_eq!(node.role(), Role::PreCandidate, "two refusals of five");
    receive(&mut node, 4, pre_vote_answer(0, false));
    assert_eq!((node.role(), node.term()), (Role::Follower, 0));
}

/// etcd-io/etcd #8501: a refusal from a voter of a higher term makes the asker a follower of
/// that term, so a node that fell behind in terms learns it and can pre-vote again.
#[test]
fn pre_vote_refusal_of_a_higher_term_makes_the_asker_follow_that_term() {
    let mut node = member(1, &[1, 2, 3]);
    tick_until_pre_candidate(&mut node);
    let actions = receive(&mut node, 2, pre_vote_answer(5, false));
    assert_eq!(
        (node.role(), node.term(), node.vote()),
        (Role::Follower, 5, None)
    );
    assert_eq!(
        hard_states(&actions),
        vec![HardState {
            term: 5,
            vote: None
        }]
    );
}

/// §9.6: a grant never changes the asker's term, even from a voter ahead of it.
#[test]
fn a_pre_vote_grant_of_a_higher_term_changes_no_term() {
    let mut node = member(1, &[1, 2, 3, 4, 5]);
    tick_until_pre_candidate(&mut node);
    let actions = receive(&mut node, 2, pre_vote_answer(1, true));
    assert_eq!((node.role(), node.term()), (Role::PreCandidate, 0));
    assert!(!has_persist(&actions));
}

/// §9.6: a pre-vote changes nothing on the voter, whatever its term: no term, no vote, nothing
/// persisted; the answer carries the voter's own term.
#[test]
fn pre_vote_changes_nothing_on_the_voter() {
    let mut voter = member(2, &[1, 2, 3]);
    let actions = receive(&mut voter, 1, pre_vote(4, 0, 0));
    assert_eq!(
        (voter.term(), voter.vote(), voter.role()),
        (0, None, Role::Follower)
    );
    assert!(!has_persist(&actions));
    assert_eq!(pre_vote_answers(&actions, 1), vec![(0, true)]);
}

/// §9.6 with §5.4.1: a pre-vote is granted only to a log at least as up to date as ours.
#[test]
fn pre_vote_is_granted_only_to_an_up_to_date_log() {
    let mut voter = restored_node(config_with_elections(2), 2, &[1, 2]);
    let answers = |voter: &mut Node, message| pre_vote_answers(&receive(voter, 1, message), 1);
    assert_eq!(
        answers(&mut voter, pre_vote(2, 1, 2)),
        vec![(2, false)],
        "shorter"
    );
    assert_eq!(
        answers(&mut voter, pre_vote(2, 5, 1)),
        vec![(2, false)],
        "older last term"
    );
    assert_eq!(
        answers(&mut voter, pre_vote(2, 2, 2)),
        vec![(2, true)],
        "the same log"
    );
    assert_eq!(
        answers(&mut voter, pre_vote(3, 1, 3)),
        vec![(2, true)],
        "a later last term"
    );
}

/// §9.6: a voter that has heard from a leader within an election timeout refuses, however up
/// to date the asker; once a whole election timeout passes without the leader, it grants.
#[test]
fn pre_vote_is_refused_while_a_leader_is_heard() {
    let mut voter = member(2, &[1, 2, 3]);
    receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 0));
    assert_eq!(voter.leader(), Some(1));
    let up_to_date = || pre_vote(1, 1, 1);
    assert_eq!(
        pre_vote_answers(&receive(&mut voter, 3, up_to_date()), 3),
        vec![(1, false)]
    );
    for _ in 0..voter.config().election_ticks {
        voter.step(pureraft::Event::Tick);
    }
    assert_eq!(
        pre_vote_answers(&receive(&mut voter, 3, up_to_date()), 3),
        vec![(1, true)]
    );
}

/// etcd-io/etcd #8501: a pre-vote for a term below ours is refused explicitly, with our term,
/// rather than dropped as stale, so that the asker learns the term.
#[test]
fn pre_vote_for_a_lower_term_is_refused_with_our_term() {
    let mut voter = restored_node(config_with_elections(2), 5, &[1]);
    let actions = receive(&mut voter, 1, pre_vote(2, 9, 2));
    assert_eq!(pre_vote_answers(&actions, 1), vec![(5, false)]);
    assert_eq!(voter.term(), 5);
}

/// §9.6: a leader hears from itself: it grants no pre-vote and stays leader.
#[test]
fn leader_refuses_pre_votes() {
    let mut leader = leader_of_three();
    let term = leader.term();
    let actions = receive(&mut leader, 3, pre_vote(term, 10, term));
    assert_eq!(pre_vote_answers(&actions, 3), vec![(term, false)]);
    assert_eq!((leader.role(), leader.term()), (Role::Leader, term));
}

/// §9.6 with §4.3: while joint, the pre-vote needs a majority of both configurations, like the
/// vote itself.
#[test]
fn pre_vote_while_joint_needs_both_majorities() {
    let mut node = joint_member(1, &[1, 2, 3], &[4, 5, 6]);
    tick_until_pre_candidate(&mut node);
    receive(&mut node, 2, pre_vote_answer(0, true));
    assert_eq!(
        node.role(),
        Role::PreCandidate,
        "a majority of the new voters only"
    );
    receive(&mut node, 4, pre_vote_answer(0, true));
    assert_eq!(node.role(), Role::PreCandidate);
    receive(&mut node, 5, pre_vote_answer(0, true));
    assert_eq!((node.role(), node.term()), (Role::Candidate, 1));
}

/// With `pre_vote` off, a timeout is a campaign at once (the option works both ways).
#[test]
fn without_pre_vote_a_timeout_is_a_campaign() {
    let mut config = config_with_elections(1);
    config.pre_vote = false;
    let mut node: Node = founding(config, &[1, 2, 3]);
    let actions = tick_until_campaign(&mut node);
    assert_eq!((node.role(), node.term()), (Role::Candidate, 1));
    assert_eq!(sent_to(&actions, 2), vec![vote_request(1, 0, 0)]);
}

// ----- CheckQuorum and leader stickiness (thesis §6.2) -----

/// §6.2: a leader that has heard from no quorum within an election timeout steps down, in its
/// term (nothing persisted), and forgets it led.
#[test]
fn leader_that_hears_no_quorum_steps_down_after_an_election_timeout() {
    let mut leader = leader_of_three();
    let term = leader.term();
    let election_ticks = leader.config().election_ticks;
    for _ in 0..election_ticks - 1 {
        leader.step(pureraft::Event::Tick);
    }
    assert_eq!(
        leader.role(),
        Role::Leader,
        "one tick short of an election timeout"
    );
    let actions = leader.step(pureraft::Event::Tick);
    assert_eq!(
        (leader.role(), leader.term(), leader.leader()),
        (Role::Follower, term, None)
    );
    assert!(!has_persist(&actions));
}

/// §6.2: hearing from one follower of two is a quorum with itself: the leader keeps leading,
/// election timeout after election timeout.
#[test]
fn leader_that_hears_a_quorum_keeps_leading() {
    let mut leader = leader_of_three();
    let term = leader.term();
    for _ in 0..10 * leader.config().election_ticks {
        let actions = leader.step(pureraft::Event::Tick);
        if !appends_to(&actions, 2).is_empty() {
            receive(&mut leader, 2, accepted(term, 0));
        }
    }
    assert_eq!((leader.role(), leader.term()), (Role::Leader, term));
}

/// §6.2 with §4.3: while joint, the leader must hear from a majority of both configurations.
#[test]
fn check_quorum_while_joint_needs_both_majorities() {
    let election = |answering: &[NodeId]| {
        let mut leader = joint_member(1, &[1, 2, 3], &[1, 4, 5]);
        tick_until_pre_candidate(&mut leader);
        receive(&mut leader, 2, pre_vote_answer(0, true));
        receive(&mut leader, 4, pre_vote_answer(0, true));
        let term = leader.term();
        receive(&mut leader, 2, grant(term));
        receive(&mut leader, 4, grant(term));
        assert_eq!(leader.role(), Role::Leader);
        for _ in 0..3 * leader.config().election_ticks {
            leader.step(pureraft::Event::Tick);
            for &peer in answering {
                receive(&mut leader, peer, accepted(term, 0));
            }
        }
        leader.role() == Role::Leader
    };
    assert!(!election(&[2]), "a majority of the new voters only");
    assert!(!election(&[4]), "a majority of the old voters only");
    assert!(election(&[2, 4]));
}

/// With `check_quorum` off, a leader that hears nobody keeps leading (the option works both
/// ways; this is the deaf leader the option exists for).
#[test]
fn without_check_quorum_a_leader_that_hears_nobody_keeps_leading() {
    let mut config = config(1);
    config.check_quorum = false;
    let mut leader: Node = founding(config, &[1, 2, 3]);
    elect(&mut leader, 2);
    for _ in 0..10 * leader.config().election_ticks {
        leader.step(pureraft::Event::Tick);
    }
    assert_eq!(leader.role(), Role::Leader);
}

/// §6.2, leader stickiness: a follower that heard from its leader within an election timeout
/// ignores a vote request of a higher term (no answer, term unchanged); once an election
/// timeout passes without the leader, it takes the request as Figure 2 says.
#[test]
fn vote_requests_of_higher_terms_are_ignored_while_a_leader_is_heard() {
    let mut config = config_with_elections(2);
    config.pre_vote = false; // So that the follower's own timer does not start a pre-vote.
    let mut voter: Node = founding(config, &[1, 2, 3]);
    receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 0));
    let actions = receive(&mut voter, 3, vote_request(2, 1, 1));
    assert!(actions.is_empty(), "ignored: {actions:?}");
    assert_eq!((voter.term(), voter.vote()), (1, None));
    for _ in 0..voter.config().election_ticks - 1 {
        voter.step(pureraft::Event::Tick);
    }
    assert!(
        receive(&mut voter, 3, vote_request(2, 1, 1)).is_empty(),
        "still in the lease"
    );
    voter.step(pureraft::Event::Tick);
    let actions = receive(&mut voter, 3, vote_request(2, 1, 1));
    assert_eq!(vote_answers(&actions, 3), vec![(2, true)]);
}

/// §6.2: with CheckQuorum a leader ignores vote requests of higher terms too; without it, one
/// such request deposes it (Figure 2's term rule).
#[test]
fn leader_ignores_higher_term_vote_requests_only_with_check_quorum() {
    let mut sticky = leader_of_three();
    let term = sticky.term();
    assert!(receive(&mut sticky, 3, vote_request(term + 1, 10, term)).is_empty());
    assert_eq!((sticky.role(), sticky.term()), (Role::Leader, term));

    let mut config = config(1);
    config.check_quorum = false;
    let mut plain: Node = founding(config, &[1, 2, 3]);
    elect(&mut plain, 2);
    let term = plain.term();
    receive(&mut plain, 3, vote_request(term + 1, 10, term));
    assert_eq!((plain.role(), plain.term()), (Role::Follower, term + 1));
}

/// The defaults are on, and `Config::validate` accepts any combination.
#[test]
fn pre_vote_and_check_quorum_are_on_by_default() {
    let config = Config::new(1);
    assert!(config.pre_vote && config.check_quorum);
    for (pre_vote, check_quorum) in [(false, false), (false, true), (true, false)] {
        let mut config = Config::new(1);
        config.pre_vote = pre_vote;
        config.check_quorum = check_quorum;
        assert_eq!(config.validate(), Ok(()));
    }
}

// ----- partial failures, in the simulator (`pureraft::sim::scenarios`) -----
//
// Each runs 5 nodes for a window of `WINDOW_TICKS` (100 election timeouts of the simulator's
// set-up), a client proposing to every leader every `PROPOSE_EVERY_TICKS` ticks: 600
// proposals. The bounds: a fault is detected within one to two election timeouts (30-60
// ticks, at most 12 proposals lost) and an election takes a few round trips, so a cluster
// that recovers commits at least 90% of the window's proposals (540); one that does not
// commits none. Ten seeds each, with and without the features.

const SEEDS: u64 = 10;
const RECOVERED_COMMITS: u64 = 540;

/// §6.2: a leader that can send but not receive steps down (CheckQuorum), and the others
/// elect a leader and commit. Without CheckQuorum the deaf leader's heartbeats keep every
/// follower from campaigning, and nothing commits for the whole window.
#[test]
fn deaf_leader_steps_down_and_the_rest_elect_and_commit() {
    for seed in 0..SEEDS {
        let with = scenarios::run(Scenario::DeafLeader, true, seed);
        assert!(with.commits >= RECOVERED_COMMITS, "seed {seed}: {with:?}");
        assert!(!with.first_leader_leads_at_end, "seed {seed}: {with:?}");
        let without = scenarios::run(Scenario::DeafLeader, false, seed);
        assert_eq!(without.commits, 0, "seed {seed}: {without:?}");
    }
}

/// §9.6 and §6.2: a follower cut from the leader only (Cloudflare, 2020) cannot get a majority
/// of pre-votes while the others hear the leader: no election, no term raised, the leader
/// keeps leading. Without the features it deposes the leader in every seed.
#[test]
fn follower_cut_from_the_leader_only_forces_no_election() {
    for seed in 0..SEEDS {
        let with = scenarios::run(Scenario::FollowerCutFromLeader, true, seed);
        assert_eq!(
            (with.elections, with.terms),
            (0, 0),
            "seed {seed}: {with:?}"
        );
        assert!(with.first_leader_leads_at_end && with.commits >= RECOVERED_COMMITS);
        let without = scenarios::run(Scenario::FollowerCutFromLeader, false, seed);
        assert!(without.elections >= 1, "seed {seed}: {without:?}");
    }
}

/// §9.6: with a bridge node between two halves, the half without the leader cannot win
/// pre-votes (the bridge hears the leader): the leader keeps leading and commits.
#[test]
fn bridge_between_two_halves_keeps_the_leader() {
    for seed in 0..SEEDS {
        let with = scenarios::run(Scenario::Bridge, true, seed);
        assert_eq!(
            (with.elections, with.terms),
            (0, 0),
            "seed {seed}: {with:?}"
        );
        assert!(with.first_leader_leads_at_end && with.commits >= RECOVERED_COMMITS);
        let without = scenarios::run(Scenario::Bridge, false, seed);
        assert!(without.elections >= 1, "seed {seed}: {without:?}");
    }
}

/// A paused leader is replaced after an election timeout, and on resuming steps down to the
/// new leader's term; the cluster commits throughout, with or without the features.
#[test]
fn paused_and_resumed_leader_is_replaced_and_the_cluster_commits() {
    for seed in 0..SEEDS {
        for elections in [true, false] {
            let outcome = scenarios::run(Scenario::PausedLeader, elections, seed);
            assert!(
                outcome.commits >= RECOVERED_COMMITS,
                "seed {seed}: {outcome:?}"
            );
            assert!(outcome.elections >= 1 && !outcome.first_leader_leads_at_end);
        }
    }
}

/// §9.6: a follower partitioned for 50 election timeouts does not raise its term meanwhile, so
/// it rejoins without deposing the healthy leader. Without PreVote it comes back dozens of
/// terms ahead and forces an election.
#[test]
fn node_rejoining_after_a_long_partition_does_not_depose_the_leader() {
    for seed in 0..SEEDS {
        let with = scenarios::run(Scenario::RejoinAfterLongPartition, true, seed);
        assert_eq!(
            (with.elections, with.terms),
            (0, 0),
            "seed {seed}: {with:?}"
        );
        assert!(with.first_leader_leads_at_end && with.commits >= RECOVERED_COMMITS);
        let without = scenarios::run(Scenario::RejoinAfterLongPartition, false, seed);
        assert!(
            without.terms >= 10 && without.elections >= 1,
            "seed {seed}: {without:?}"
        );
    }
}

// ----- leadership transfer (thesis §3.10) -----

/// The leader of {1, 2, 3} in term 1 with its no-op acknowledged by 2 and 3 (so both hold its
/// whole log).
fn caught_up_leader() -> Node {
    let mut leader = leader_of_three();
    let (term, last) = (leader.term(), leader.last_index());
    for peer in [2, 3] {
        receive(&mut leader, peer, accepted(term, last));
    }
    leader
}

fn transfer(node: &mut Node, to: NodeId) -> Vec<Action<u64>> {
    node.step(pureraft::Event::TransferLeadership { to })
}

fn timeout_now(term: Term) -> Message<u64> {
    Message::TimeoutNow { term }
}

/// §3.10: to a voter that holds the leader's whole log, `TimeoutNow` goes at once.
#[test]
fn transfer_to_an_up_to_date_voter_sends_timeout_now_at_once() {
    let mut leader = caught_up_leader();
    let term = leader.term();
    let actions = transfer(&mut leader, 2);
    assert_eq!(actions[0], Action::TransferStarted { to: 2 });
    assert_eq!(sent_to(&actions, 2), vec![timeout_now(term)]);
    assert!(sent_to(&actions, 3).is_empty());
    assert_eq!(
        leader.role(),
        Role::Leader,
        "it leads until the target wins"
    );
}

/// §3.10: a voter behind the leader is brought up to date first; `TimeoutNow` goes with the
/// answer that shows it holds the leader's whole log.
#[test]
fn transfer_to_a_lagging_voter_catches_it_up_first() {
    let mut leader = leader_of_three();
    let (term, last) = (leader.term(), leader.last_index());
    receive(&mut leader, 3, accepted(term, last));
    let actions = transfer(&mut leader, 2);
    assert_eq!(actions[0], Action::TransferStarted { to: 2 });
    assert!(!sent_to(&actions, 2).contains(&timeout_now(term)));
    let timeouts = |actions: &[Action<u64>]| {
        let sent = sent_to(actions, 2);
        sent.iter().filter(|m| **m == timeout_now(term)).count()
    };
    let actions = receive(&mut leader, 2, accepted(term, last));
    assert_eq!(timeouts(&actions), 1);
    let actions = receive(&mut leader, 2, accepted(term, last));
    assert_eq!(timeouts(&actions), 0, "TimeoutNow goes once");
}

/// §3.10: while a transfer is under way the leader refuses proposals and membership changes,
/// with an error that names the target.
#[test]
fn proposals_and_changes_are_refused_during_a_transfer() {
    let mut leader = caught_up_leader();
    transfer(&mut leader, 2);
    let refused = Action::ProposalRejected(ProposeError::TransferInProgress { to: 2 });
    assert_eq!(
        leader.step(pureraft::Event::Propose(7)),
        vec![refused.clone()]
    );
    assert_eq!(
        leader.step(pureraft::Event::ProposeBatch(vec![7, 8])),
        vec![refused.clone()]
    );
    let change = pureraft::Event::ChangeMembership {
        change: pureraft::MembershipChange::AddLearner(4),
        membership_index: leader.membership_index(),
    };
    assert_eq!(leader.step(change), vec![refused]);
}

/// §3.10: a transfer that has not completed within an election timeout is aborted: the host
/// is told, and the leader accepts proposals again.
#[test]
fn transfer_is_aborted_after_an_election_timeout() {
    let mut leader = caught_up_leader();
    let (term, last) = (leader.term(), leader.last_index());
    transfer(&mut leader, 2);
    let mut aborted_at = None;
    for tick in 1..=leader.config().election_ticks {
        let actions = leader.step(pureraft::Event::Tick);
        receive(&mut leader, 3, accepted(term, last)); // CheckQuorum keeps it leading.
        if actions.contains(&Action::TransferAborted { to: 2 }) {
            aborted_at = Some(tick);
        }
    }
    assert_eq!(aborted_at, Some(leader.config().election_ticks));
    assert_eq!(leader.role(), Role::Leader);
    let actions = leader.step(pureraft::Event::Propose(7));
    assert!(matches!(
        actions[..],
        [Action::Persist(_), Action::ProposalAccepted { .. }, ..]
    ));
}

/// Every impossible transfer is refused with the exact error, and changes nothing.
#[test]
fn impossible_transfers_are_refused_with_the_exact_error() {
    let mut leader: Node = founding_in(config_with_elections(1), &[1, 2, 3], &[], &[4]);
    tick_until_pre_candidate(&mut leader);
    receive(&mut leader, 2, pre_vote_answer(0, true));
    receive(&mut leader, 2, grant(1));
    assert_eq!(leader.role(), Role::Leader);
    let refused = |leader: &mut Node, to| match &transfer(leader, to)[..] {
        [Action::TransferRejected(error)] => *error,
        other => panic!("not refused: {other:?}"),
    };
    assert_eq!(refused(&mut leader, 1), TransferError::ToSelf);
    assert_eq!(refused(&mut leader, 4), TransferError::ToLearner(4));
    assert_eq!(refused(&mut leader, 9), TransferError::UnknownNode(9));
    transfer(&mut leader, 2);
    assert_eq!(refused(&mut leader, 3), TransferError::InProgress { to: 2 });

    let mut follower = member(2, &[1, 2, 3]);
    receive(&mut follower, 1, append(1, 0, 0, vec![], 0));
    assert_eq!(
        refused(&mut follower, 3),
        TransferError::NotLeader {
            leader_hint: Some(1)
        }
    );
}

/// §3.10: `TimeoutNow` from its leader makes a voter campaign at once, in the next term,
/// without PreVote, and its vote requests say they come from a transfer.
#[test]
fn timeout_now_makes_a_voter_campaign_at_once_without_pre_vote() {
    let mut voter = member(2, &[1, 2, 3]);
    receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 0));
    let actions = receive(&mut voter, 1, timeout_now(1));
    assert_eq!(
        (voter.role(), voter.term(), voter.vote()),
        (Role::Candidate, 2, Some(2))
    );
    assert_eq!(
        hard_states(&actions),
        vec![HardState {
            term: 2,
            vote: Some(2)
        }]
    );
    let request = Message::RequestVote {
        term: 2,
        last_log_index: 1,
        last_log_term: 1,
        transfer: true,
    };
    for peer in [1, 3] {
        assert_eq!(sent_to(&actions, peer), vec![request.clone()]);
    }
}

/// §3.10 with §6.2: a voter in its leader's lease takes a vote request of a transfer (the
/// leader asked for it), while it ignores any other of a higher term.
#[test]
fn transfer_vote_requests_pass_leader_stickiness() {
    let mut voter = member(3, &[1, 2, 3]);
    receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 0));
    let mut plain = vote_request(2, 1, 1);
    assert!(receive(&mut voter, 2, plain.clone()).is_empty());
    if let Message::RequestVote { transfer, .. } = &mut plain {
        *transfer = true;
    }
    let actions = receive(&mut voter, 2, plain);
    assert_eq!(vote_answers(&actions, 2), vec![(2, true)]);
}

/// A learner (or any node that does not vote) told to campaign does nothing.
#[test]
fn timeout_now_to_a_learner_is_ignored() {
    let mut learner: Node = founding_in(config_with_elections(4), &[1, 2, 3], &[], &[4]);
    receive(&mut learner, 1, append(1, 0, 0, vec![entry(1, 1)], 0));
    let actions = receive(&mut learner, 1, timeout_now(1));
    assert!(actions.is_empty());
    assert_eq!((learner.role(), learner.term()), (Role::Follower, 1));
}

/// §3.10 with §4.3: while joint, leadership can go to a voter of the outgoing configuration
/// too, once it holds the leader's log.
#[test]
fn transfer_works_in_a_joint_configuration() {
    let mut leader = joint_member(1, &[1, 2, 3], &[1, 4, 5]);
    tick_until_pre_candidate(&mut leader);
    receive(&mut leader, 2, pre_vote_answer(0, true));
    receive(&mut leader, 4, pre_vote_answer(0, true));
    receive(&mut leader, 2, grant(1));
    receive(&mut leader, 4, grant(1));
    assert_eq!(leader.role(), Role::Leader);
    let last = leader.last_index();
    let actions = transfer(&mut leader, 5);
    assert_eq!(actions[0], Action::TransferStarted { to: 5 });
    let actions = receive(&mut leader, 5, accepted(1, last));
    assert_eq!(sent_to(&actions, 5), vec![timeout_now(1)]);
}

/// End to end in the simulator: leadership moves to the voter asked for within an election
/// timeout, and the cluster commits under its new leader; a transfer to a crashed voter is
/// aborted and the old leader goes on.
#[test]
fn transfer_moves_leadership_in_the_simulator() {
    use pureraft::sim::{Sim, SimConfig};
    for seed in 0..10 {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(5, seed));
        let leader = sim.check_one_leader().unwrap();
        sim.one(1, 5, true).unwrap();
        let to = leader % 5 + 1;
        sim.transfer_leadership(leader, to).unwrap();
        let election_ticks = sim.config().node.election_ticks;
        let moved = sim.run_until(election_ticks, |sim| sim.believed_leader() == Some(to));
        assert!(moved, "seed {seed}: {}", sim.describe_nodes());
        sim.one(2, 5, true).unwrap();

        let crashed = to % 5 + 1;
        sim.crash(crashed);
        sim.transfer_leadership(to, crashed).unwrap();
        sim.run(2 * election_ticks);
        assert_eq!(sim.believed_leader(), Some(to), "seed {seed}");
        assert_eq!(sim.stats().transfers_aborted, 1, "seed {seed}");
        sim.one(3, 4, true).unwrap();
    }
}

// ----- ports of etcd-io/raft's scenarios (read for the scenario, written against our API) -----

/// etcd-io/raft `TestLeaderTransferReceiveHigherTermVote`: a leader transferring leadership
/// that receives the target's vote request of the next term steps down at once; the transfer
/// ends with it (no abort reported later) and proposals then go to the new leader.
#[test]
fn etcd_leader_transfer_receive_higher_term_vote() {
    let mut leader = caught_up_leader();
    let term = leader.term();
    transfer(&mut leader, 2);
    let request = Message::RequestVote {
        term: term + 1,
        last_log_index: leader.last_index(),
        last_log_term: term,
        transfer: true,
    };
    let actions = receive(&mut leader, 2, request);
    assert_eq!((leader.role(), leader.term()), (Role::Follower, term + 1));
    assert_eq!(vote_answers(&actions, 2), vec![(term + 1, true)]);
    for _ in 0..2 * leader.config().election_ticks {
        let actions = leader.step(pureraft::Event::Tick);
        assert!(!actions.contains(&Action::TransferAborted { to: 2 }));
    }
    assert!(matches!(
        leader.step(pureraft::Event::Propose(7))[..],
        [Action::ProposalRejected(ProposeError::NotLeader { .. })]
    ));
}

/// etcd-io/raft `TestNodeWithSmallerTermCanCompleteElection` (etcd-io/etcd #8501): a node
/// behind in terms, whose pre-votes the others refuse with their term, learns that term from
/// the refusal and wins its next pre-vote and election.
#[test]
fn etcd_node_with_smaller_term_can_complete_election() {
    let mut behind = member(1, &[1, 2, 3]);
    tick_until_pre_candidate(&mut behind);
    let mut voter = restored_node(config_with_elections(2), 3, &[]);
    let answer = receive(&mut voter, 1, pre_vote(0, 0, 0));
    assert_eq!(pre_vote_answers(&answer, 1), vec![(3, false)]);
    receive(&mut behind, 2, pre_vote_answer(3, false));
    assert_eq!((behind.role(), behind.term()), (Role::Follower, 3));
    let actions = tick_until_pre_candidate(&mut behind);
    assert_eq!(sent_to(&actions, 2), vec![pre_vote(3, 0, 0)]);
    let answer = receive(&mut voter, 1, pre_vote(3, 0, 0));
    assert_eq!(pre_vote_answers(&answer, 1), vec![(3, true)]);
    receive(&mut behind, 2, pre_vote_answer(3, true));
    assert_eq!((behind.role(), behind.term()), (Role::Candidate, 4));
    let request = receive(&mut voter, 1, vote_request(4, 0, 0));
    assert_eq!(vote_answers(&request, 1), vec![(4, true)]);
    receive(&mut behind, 2, grant(4));
    assert_eq!(behind.role(), Role::Leader);
}

/// etcd-io/raft `TestFreeStuckCandidateWithCheckQuorum`, with PreVote: a node cut off from
/// the others does not raise its term, so when it comes back the healthy leader is not
/// disturbed and the node follows it (in the simulator, 3 nodes).
#[test]
fn etcd_free_stuck_candidate_with_check_quorum() {
    use pureraft::sim::{Sim, SimConfig};
    for seed in 0..10 {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, seed));
        let leader = sim.check_one_leader().unwrap();
        let stuck = leader % 3 + 1;
        let term = sim.raft(leader).unwrap().term();
        sim.disconnect(stuck);
        sim.run(20 * sim.config().node.election_ticks);
        assert_eq!(
            sim.raft(stuck).unwrap().term(),
            term,
            "seed {seed}: no term raised"
        );
        sim.connect(stuck);
        sim.one(1, 3, true).unwrap();
        assert!(
            sim.leads(leader, term),
            "seed {seed}: the leader was disturbed"
        );
        assert_eq!(
            sim.raft(stuck).unwrap().leader(),
            Some(leader),
            "seed {seed}"
        );
    }
}

// ----- ports of etcd-io/raft's `testdata/prevote*.txt` and `checkquorum.txt` -----

/// Three founding nodes {1, 2, 3} on a lossless hand-driven network, with PreVote and
/// CheckQuorum as given.
fn net_of_three(pre_vote: bool, check_quorum: bool) -> Net {
    Net::new((1..=3).map(|id| {
        let mut config = config_with_elections(id);
        config.pre_vote = pre_vote;
        config.check_quorum = check_quorum;
        founding(config, &[1, 2, 3])
    }))
}

/// Ticks node `id` alone (nothing delivered) until its election timer fires: it becomes a
/// pre-candidate, or with PreVote off a candidate of the next term.
fn campaign(net: &mut Net, id: NodeId) {
    let term = net.node(id).term();
    for _ in 0..2 * net.node(id).config().election_ticks {
        net.step(id, Event::Tick);
        let node = net.node(id);
        if node.role() == Role::PreCandidate || node.term() > term {
            return;
        }
    }
    panic!("node {id}'s election timer did not fire");
}

/// True if node `id` sent a `RequestVote` of `term`, or answered one of `term` (`answered`).
fn vote_traffic(net: &Net, id: NodeId, term: Term) -> (bool, bool) {
    let sent = |wanted: fn(&Message<u64>) -> bool| {
        net.history.iter().any(|(from, action)| {
            *from == id
                && matches!(action, Action::Send { message, .. } if message.term() == term && wanted(message))
        })
    };
    (
        sent(|message| matches!(message, Message::RequestVote { .. })),
        sent(|message| matches!(message, Message::RequestVoteResponse { .. })),
    )
}

/// etcd-io/raft `testdata/prevote.txt`, PreVote without CheckQuorum: a node behind on the log
/// (3, which missed entry 2) gets no pre-vote, raises no term and goes back to following the
/// leader, which keeps its term. The file's second half differs here, as the thesis says
/// (§9.6): etcd enforces the recent-leader condition only with CheckQuorum, so its up-to-date
/// node 2 wins a pre-vote from the live leader; ours is refused while the leader is heard, and
/// wins once the leader is gone, in the next term, with no term raised in between.
#[test]
fn etcd_prevote_txt() {
    let mut net = net_of_three(true, false);
    net.elect(1);
    net.tick(3);
    // Entry 2 reaches 2, not 3.
    net.step(1, Event::Propose(7));
    net.down.insert(3);
    net.deliver();
    net.down.clear();
    assert_eq!((net.node(2).last_index(), net.node(3).last_index()), (2, 1));

    campaign(&mut net, 3);
    net.deliver();
    assert_eq!(
        vote_traffic(&net, 3, 2),
        (false, false),
        "3 never campaigned"
    );
    assert_eq!((net.node(3).term(), net.node(1).term()), (1, 1));
    assert_eq!(net.leader(), Some(1));
    // The append 3 missed is sent again on the answer to the leader's second heartbeat.
    net.tick(2 * net.node(1).config().heartbeat_ticks);
    assert_eq!(
        net.node(3).last_index(),
        2,
        "3 caught up within two heartbeats"
    );
    assert_eq!(net.node(3).leader(), Some(1));

    campaign(&mut net, 2);
    net.deliver();
    assert_eq!(
        vote_traffic(&net, 2, 2),
        (false, false),
        "refused while 1 is heard"
    );
    assert_eq!(net.leader(), Some(1));
    net.down.insert(1);
    net.tick(4 * net.node(2).config().election_ticks);
    let leader = net.leader().expect("2 or 3 leads");
    assert_ne!(leader, 1);
    assert_eq!(
        net.node(leader).term(),
        2,
        "one election, no term raised before it"
    );
}

/// etcd-io/raft `testdata/prevote_checkquorum.txt`: with PreVote and CheckQuorum a node's
/// pre-vote is refused by voters that hear the leader (2's); a voter that has no leader (2,
/// whose failed pre-vote cleared it) grants one, so 3 wins a pre-vote and the election with 2
/// while leader 1 ignores it. Then two nodes that both campaign (1, then 2) replace the new
/// leader 3 although it is alive: the recent-leader condition holds only on voters that
/// follow a leader.
#[test]
fn etcd_prevote_checkquorum_txt() {
    let mut net = net_of_three(true, true);
    net.elect(1);
    net.tick(3);

    campaign(&mut net, 2);
    net.deliver();
    assert_eq!(vote_traffic(&net, 2, 2), (false, false));
    assert_eq!((net.leader(), net.node(2).term()), (Some(1), 1));
    assert_eq!(
        net.node(2).leader(),
        None,
        "its pre-vote cleared its leader"
    );

    campaign(&mut net, 3);
    net.deliver();
    assert_eq!(net.leader(), Some(3));
    assert_eq!(net.node(3).term(), 2);
    assert_eq!(
        vote_traffic(&net, 1, 2),
        (false, false),
        "1 ignored 3's vote request"
    );
    assert!(vote_traffic(&net, 2, 2).1, "2 voted");
    assert_eq!(net.node(1).leader(), Some(3), "1 follows the new leader");

    campaign(&mut net, 1);
    net.deliver();
    assert_eq!(
        vote_traffic(&net, 1, 3),
        (false, false),
        "refused: 2 and 3 hear 3"
    );
    campaign(&mut net, 2);
    net.deliver();
    assert_eq!(net.leader(), Some(2));
    assert_eq!(net.node(2).term(), 3);
    assert!(!vote_traffic(&net, 3, 3).1, "3 ignored 2's vote request");
}

/// etcd-io/raft `testdata/checkquorum.txt`, CheckQuorum without PreVote: a candidate's vote
/// requests are ignored while the leader is active; the leader, ticked alone for two election
/// timeouts with none of its heartbeats delivered, steps down; the heartbeats then reach the
/// candidate, whose answer gives the old leader its term; the candidate's next campaign wins
/// with the old leader's vote, while node 3, which just heard heartbeats, ignores it.
#[test]
fn etcd_checkquorum_txt() {
    let mut net = net_of_three(false, true);
    net.elect(1);
    net.tick(3);

    campaign(&mut net, 2);
    net.deliver();
    assert_eq!(net.node(2).role(), Role::Candidate);
    assert_eq!(net.node(2).term(), 2);
    assert_eq!((net.leader(), net.node(1).term()), (Some(1), 1));
    assert!(!(vote_traffic(&net, 1, 2).1 || vote_traffic(&net, 3, 2).1));

    let election = net.node(1).config().election_ticks;
    for _ in 0..2 * election {
        net.step(1, Event::Tick);
    }
    assert_eq!(
        (net.node(1).role(), net.node(1).term()),
        (Role::Follower, 1)
    );
    net.deliver();
    assert_eq!(net.node(1).term(), 2, "2's answer to a heartbeat");

    campaign(&mut net, 2);
    assert_eq!(net.node(2).term(), 3);
    net.deliver();
    assert_eq!(net.leader(), Some(2));
    assert!(vote_traffic(&net, 1, 3).1, "1 voted");
    assert!(!vote_traffic(&net, 3, 3).1, "3 ignored the request");
}
