//! Bad input to `Raft::step`, one test per row of the bad-input table (correctness reference,
//! section 4) that applies without snapshots or membership changes, and more: each asserts no
//! panic and no damage to state. The rule (ARCHITECTURE.md §2 and §4, "peers are untrusted
//! input"): any one message may be dropped or rejected, but never causes a panic, a decrease
//! of term, commit, match or applied index, a wrong change of the vote or the log.

mod common;

use pureraft::{
    Action, AppendOutcome, Config, ConfigError, Entry, Event, InitError, LogIndex, Membership,
    MembershipError, NodeId, ProposeError, Raft, RestoreError, Restored, Role, Term,
    ELECTION_TICKS_MAX, TERM_JUMP_MAX, TERM_MAX,
};

use common::hand::*;

// ----- helpers (the shared ones are in `common::hand`) -----

/// What no bad message may damage: term, vote, commit, applied index and log.
#[derive(Debug, PartialEq)]
struct Durable {
    term: Term,
    vote: Option<NodeId>,
    commit_index: LogIndex,
    applied_index: LogIndex,
    entries: Vec<Entry<u64>>,
}

fn durable(node: &Node) -> Durable {
    Durable {
        term: node.term(),
        vote: node.vote(),
        commit_index: node.commit_index(),
        applied_index: node.applied_index(),
        entries: node.entries().to_vec(),
    }
}

/// A follower of node 2 at term 2 holding [1, 1, 2], with index 1 committed.
fn follower_of_node_2() -> Node {
    let mut follower = restored_node(config(1), 2, &[1, 1, 2]);
    receive(&mut follower, 2, append(2, 3, 2, vec![], 1));
    assert_eq!((follower.leader(), follower.commit_index()), (Some(2), 1));
    follower
}

// ----- one test per row -----

/// Row "a response from an unknown peer": drop it; create no tracking state. Not even its
/// higher term moves us, and a grant from it does not count toward a majority.
#[test]
fn response_from_an_unknown_peer_is_dropped() {
    let mut leader = node(1);
    elect(&mut leader, 2);
    let before = durable(&leader);
    for response in [accepted(9, 1), rejected(9, 1, 0, 0), grant(9)] {
        let actions = receive(&mut leader, 9, response);
        assert!(actions.is_empty(), "{actions:?}");
    }
    assert_eq!(durable(&leader), before);
    assert_eq!(leader.role(), Role::Leader);
    let tracked: Vec<NodeId> = leader.match_indices().map(|(id, _)| id).collect();
    assert_eq!(tracked, vec![2, 3]);

    let mut candidate = node(1);
    tick_until_campaign(&mut candidate);
    receive(&mut candidate, 9, grant(1));
    assert_eq!(candidate.role(), Role::Candidate, "9 is no voter");
}

/// Row "a vote request from a removed node": refuse it. Its term must not move ours either,
/// or a removed node could depose the leader at will (LogCabin #56).
#[test]
fn vote_request_from_a_removed_node_is_refused() {
    let mut follower = follower_of_node_2();
    let before = durable(&follower);
    let actions = receive(&mut follower, 9, vote_request(7, 10, 2));
    assert_eq!(vote_answers(&actions, 9), vec![(2, false)]);
    assert!(!has_persist(&actions));
    assert_eq!(durable(&follower), before);
}

/// Row "a message 'from' ourselves": reject it; never a second self-vote, and no term or
/// role change from it.
#[test]
fn message_from_ourselves_is_rejected() {
    let mut candidate = node(1);
    tick_until_campaign(&mut candidate);
    let before = durable(&candidate);
    let messages = [
        grant(1),
        vote_request(5, 10, 4),
        append(5, 0, 0, vec![entry(1, 5)], 1),
        accepted(5, 1),
    ];
    for message in messages {
        let actions = receive(&mut candidate, 1, message);
        assert!(actions.is_empty(), "{actions:?}");
    }
    assert_eq!(candidate.role(), Role::Candidate);
    assert_eq!(durable(&candidate), before);
}

/// Row "a term near u64::MAX": checked arithmetic, never wrap, never decrease; refuse to
/// campaign past the maximum. The maximum is `TERM_MAX` (u64::MAX / 2): a node there stays a
/// quiet follower and refuses lower terms with its own.
#[test]
fn term_near_u64_max_never_wraps_and_the_maximum_refuses_to_campaign() {
    let mut node = restored_node(config(1), TERM_MAX, &[1]);
    for _ in 0..10 * node.config().election_ticks {
        let actions = node.step(Event::Tick);
        assert!(actions.is_empty(), "campaigned past TERM_MAX: {actions:?}");
    }
    assert_eq!((node.term(), node.role()), (TERM_MAX, Role::Follower));
    let actions = receive(&mut node, 2, vote_request(3, 10, 3));
    assert_eq!(vote_answers(&actions, 2), vec![(TERM_MAX, false)]);
    assert_eq!(node.term(), TERM_MAX);
}

/// Row "a term near u64::MAX": a node one below the maximum campaigns once, may lead the last
/// term, and then never campaigns again.
#[test]
fn term_near_u64_max_campaigns_up_to_the_maximum_only() {
    let mut candidate = restored_node(config(1), TERM_MAX - 1, &[1]);
    tick_until_campaign(&mut candidate);
    assert_eq!(candidate.term(), TERM_MAX);
    for _ in 0..10 * candidate.config().election_ticks {
        let actions = candidate.step(Event::Tick);
        assert!(sent_to(&actions, 2).is_empty(), "{actions:?}");
    }
    assert_eq!((candidate.term(), candidate.vote()), (TERM_MAX, Some(1)));
    receive(&mut candidate, 2, grant(TERM_MAX));
    assert_eq!(candidate.role(), Role::Leader);
    let actions = candidate.step(Event::Propose(7));
    let placed = Action::ProposalAccepted {
        index: 3,
        term: TERM_MAX,
    };
    assert!(actions.contains(&placed), "{actions:?}");
}

/// Row "a term near u64::MAX": a follower adopts TERM_MAX from a leader it is within
/// `TERM_JUMP_MAX` of, and keeps working; a fresh follower drops the same append, which is
/// more than `TERM_JUMP_MAX` ahead of it (issue 14, defect 2).
#[test]
fn term_near_u64_max_is_adopted_from_a_leader_within_the_jump_bound() {
    let mut follower = restored_node(config(1), TERM_MAX - TERM_JUMP_MAX, &[]);
    let message = append(TERM_MAX, 0, 0, vec![entry(1, TERM_MAX)], u64::MAX);
    let actions = receive(&mut follower, 2, message.clone());
    assert_eq!((follower.term(), follower.commit_index()), (TERM_MAX, 1));
    let answer = (TERM_MAX, AppendOutcome::Accepted { match_index: 1 });
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    for _ in 0..10 * follower.config().election_ticks {
        follower.step(Event::Tick);
    }
    assert_eq!(follower.term(), TERM_MAX);

    let mut fresh = node(1);
    assert!(receive(&mut fresh, 2, message).is_empty());
    assert_eq!((fresh.term(), fresh.last_index()), (0, 0));
}

/// Row "a term near u64::MAX", issue 4: a term above TERM_MAX, up to u64::MAX, can neither
/// wrap nor make a node unusable. Every kind of message claiming one is dropped before its
/// term is looked at, so the node keeps its term and can still campaign and win.
#[test]
fn term_above_the_maximum_is_dropped_and_the_node_stays_usable() {
    for term in [TERM_MAX + 1, u64::MAX - 1, u64::MAX] {
        let mut node = restored_node(config(1), 5, &[1, 5]);
        let messages = [
            vote_request(term, 100, 5),
            grant(term),
            append(term, 2, 5, vec![entry(3, term)], 3),
            accepted(term, 2),
            rejected(term, 2, 1, 1),
        ];
        for message in messages {
            let actions = receive(&mut node, 2, message);
            assert!(actions.is_empty(), "term {term}: {actions:?}");
            assert_eq!((node.term(), node.vote()), (5, None));
        }
        tick_until_campaign(&mut node);
        receive(&mut node, 2, grant(6));
        assert_eq!((node.role(), node.term()), (Role::Leader, 6));
    }
}

/// Row "prev_log_index beyond our log": reject with a hint (our last index and its term),
/// including prev_log_index = u64::MAX; nothing changes.
#[test]
fn prev_log_index_beyond_our_log_is_rejected_with_a_hint() {
    let mut follower = follower_of_node_2();
    let before = durable(&follower);
    for prev_log_index in [4, 1000, u64::MAX - 1, u64::MAX] {
        let actions = receive(
            &mut follower,
            2,
            append(2, prev_log_index, 2, vec![], u64::MAX),
        );
        let hint = AppendOutcome::Rejected {
            rejected_index: prev_log_index,
            hint_index: 3,
            hint_term: 2,
        };
        assert_eq!(append_answers(&actions, 2), vec![(2, hint)]);
    }
    // With an entry after it: the entry's index cannot even be u64::MAX + 1.
    let message = append(2, u64::MAX - 1, 2, vec![entry(u64::MAX, 2)], u64::MAX);
    receive(&mut follower, 2, message);
    let message = append(2, u64::MAX, 2, vec![entry(0, 2)], u64::MAX);
    let actions = receive(&mut follower, 2, message);
    assert!(!has_persist(&actions));
    assert_eq!(durable(&follower), before);
}

/// Row "prev_log_index below commit": succeed with the current commit; truncate nothing, even
/// when the append's entries or prev term disagree with the committed prefix (Leader
/// Completeness, §5.4.3: a legitimate leader holds every committed entry). The answer names
/// everything verified from this leader in this term (6 entries), which is at least the
/// commit index.
#[test]
fn prev_log_index_below_commit_succeeds_and_truncates_nothing() {
    let mut follower = node(1);
    receive(&mut follower, 2, append(1, 0, 0, log_of(&[1; 6]), 5));
    assert_eq!(follower.commit_index(), 5);
    let before = durable(&follower);
    let answer = (1, AppendOutcome::Accepted { match_index: 6 });

    let actions = receive(&mut follower, 2, append(1, 2, 1, vec![entry(3, 1)], 3));
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    assert!(!has_persist(&actions));
    assert_eq!(durable(&follower), before);

    let actions = receive(
        &mut follower,
        2,
        append(1, 2, 1, vec![entry(3, 1), entry(4, 1)], 0),
    );
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    assert_eq!(durable(&follower), before);
}

/// Row "entries with decreasing terms, gaps, or a term above the message's": validate the
/// whole message before changing any state; reject it whole. Here at the current term, from
/// the current leader.
#[test]
fn malformed_entries_are_rejected_whole() {
    let malformed = [
        ("gap", append(2, 3, 2, vec![entry(4, 2), entry(6, 2)], 5)),
        (
            "decreasing terms",
            append(2, 3, 2, vec![entry(4, 2), entry(5, 1)], 5),
        ),
        ("below prev term", append(2, 3, 2, vec![entry(4, 1)], 5)),
        (
            "above the message term",
            append(2, 3, 2, vec![entry(4, 2), entry(5, 3)], 5),
        ),
        (
            "prev term above the message term",
            append(2, 3, 3, vec![entry(4, 3)], 5),
        ),
        ("not after prev", append(2, 3, 2, vec![entry(5, 2)], 5)),
        (
            "repeated index",
            append(2, 3, 2, vec![entry(4, 2), entry(4, 2)], 5),
        ),
    ];
    for (name, message) in malformed {
        let mut follower = follower_of_node_2();
        let before = durable(&follower);
        let actions = receive(&mut follower, 2, message);
        assert!(!has_persist(&actions), "{name}: {actions:?}");
        let accepted = append_answers(&actions, 2)
            .iter()
            .any(|(_, outcome)| matches!(outcome, AppendOutcome::Accepted { .. }));
        assert!(!accepted, "{name}: {actions:?}");
        assert_eq!(durable(&follower), before, "{name}");
    }
}

/// Row "entries with decreasing terms, gaps, or a term above the message's", at a higher
/// term: the malformed message is rejected whole *before* any state changes, so its term is
/// not adopted (our vote is not erased) and a leader is not deposed by it.
#[test]
fn malformed_append_at_a_higher_term_changes_no_state() {
    let mut leader = node(1);
    elect(&mut leader, 2);
    let before = durable(&leader);
    let message = append(5, 0, 0, vec![entry(1, 5), entry(3, 5)], 3);
    let actions = receive(&mut leader, 2, message);
    assert!(!has_persist(&actions), "{actions:?}");
    assert_eq!(durable(&leader), before);
    assert_eq!(leader.role(), Role::Leader);
}

/// Row "entries with ... a term above the message's", for RequestVote: a candidate's last
/// log term can never exceed its own term (correctness reference §1, invariant 9). Granting
/// such a request would let a node with any log win by claiming `last_log_term = u64::MAX`,
/// breaking Leader Completeness (§5.4.1). Like a malformed append it is dropped whole: no
/// grant, and its term is not adopted.
#[test]
fn vote_request_with_last_log_term_above_its_term_is_refused() {
    let mut voter = restored_node(config(1), 2, &[1, 1, 2]);
    let actions = receive(&mut voter, 2, vote_request(3, 1, u64::MAX));
    assert!(vote_answers(&actions, 2)
        .iter()
        .all(|&(_, granted)| !granted));
    assert!(!has_persist(&actions), "{actions:?}");
    assert_eq!(voter.vote(), None);
    assert_eq!(voter.term(), 2);
}

/// Row "leader_commit beyond what was verified": clamp to min(leader_commit, last verified
/// index), also for leader_commit = u64::MAX (copycat #265).
#[test]
fn leader_commit_beyond_what_was_verified_is_clamped() {
    let mut follower = restored_node(config(1), 1, &[1; 5]);
    let actions = receive(
        &mut follower,
        2,
        append(2, 2, 1, vec![entry(3, 1)], u64::MAX),
    );
    assert_eq!(
        follower.commit_index(),
        3,
        "entries 4 and 5 are not verified"
    );
    assert_eq!(applied(&actions), vec![1, 2, 3]);
    let actions = receive(&mut follower, 2, append(2, 5, 1, vec![], u64::MAX));
    assert_eq!(follower.commit_index(), 5);
    assert_eq!(applied(&actions), vec![4, 5]);
}

/// Row "leader_commit below our commit": ignore it; commit never decreases (PySyncObj #166),
/// here from a new leader that has not learned the commit yet.
#[test]
fn leader_commit_below_our_commit_is_ignored() {
    let mut follower = node(1);
    receive(&mut follower, 2, append(1, 0, 0, log_of(&[1; 6]), 5));
    assert_eq!(follower.commit_index(), 5);
    let actions = receive(&mut follower, 3, append(2, 6, 1, vec![], 2));
    assert_eq!(follower.commit_index(), 5);
    assert!(applied(&actions).is_empty());
    let actions = receive(&mut follower, 3, append(2, 6, 1, vec![entry(7, 2)], 0));
    assert_eq!((follower.commit_index(), follower.last_index()), (5, 7));
    assert!(applied(&actions).is_empty());
}

/// Row "a response to a request never sent": a match index beyond the leader's last index is
/// ignored and never advances commit, even when a majority claims it.
#[test]
fn append_response_beyond_the_leaders_log_is_ignored() {
    let mut leader = node(1);
    elect(&mut leader, 2);
    assert_eq!(leader.last_index(), 1);
    let before = durable(&leader);
    for peer in [2, 3] {
        for match_index in [2, 1000, u64::MAX] {
            let actions = receive(&mut leader, peer, accepted(1, match_index));
            assert!(applied(&actions).is_empty(), "{actions:?}");
        }
        assert_eq!(match_index_of(&leader, peer), 0);
    }
    assert_eq!(durable(&leader), before);
}

/// Row "a response to a request never sent": a vote when not a candidate is ignored.
#[test]
fn vote_response_when_not_a_candidate_is_ignored() {
    let mut follower = follower_of_node_2();
    let before = durable(&follower);
    for voter in [2, 3] {
        assert!(receive(&mut follower, voter, grant(2)).is_empty());
    }
    assert_eq!(follower.role(), Role::Follower);
    assert_eq!(durable(&follower), before);

    let mut leader = node(1);
    elect(&mut leader, 2);
    let before = durable(&leader);
    assert!(receive(&mut leader, 3, grant(1)).is_empty());
    assert_eq!(durable(&leader), before);
}

/// Row "a response to a request never sent": absurd rejection hints (beyond the log, at
/// u64::MAX) neither panic nor move the follower's match back.
#[test]
fn absurd_rejection_hints_are_harmless() {
    let mut leader = restored_node(config(1), 1, &[1; 8]);
    elect(&mut leader, 3);
    receive(&mut leader, 2, accepted(2, 9));
    for message in [
        rejected(2, u64::MAX, u64::MAX, u64::MAX),
        rejected(2, 10, u64::MAX, u64::MAX),
        rejected(2, 9, 0, 0),
        rejected(2, 0, 0, 0),
    ] {
        receive(&mut leader, 2, message);
        assert_eq!(match_index_of(&leader, 2), 9);
    }
    assert_eq!((leader.role(), leader.commit_index()), (Role::Leader, 9));
}

/// Row "duplicated or reordered responses": match = max, each entry applied once; votes kept
/// in a set; responses of old terms ignored (raft.tla #18, akka-raft #45).
#[test]
fn duplicated_or_reordered_responses_are_harmless() {
    let mut leader = restored_node(config(1), 1, &[1; 8]);
    elect(&mut leader, 3);
    let mut applied_indices = Vec::new();
    for match_index in [9, 9, 5, 9, 1] {
        applied_indices.extend(applied(&receive(&mut leader, 2, accepted(2, match_index))));
        assert_eq!(match_index_of(&leader, 2), 9);
    }
    assert_eq!(
        applied_indices,
        (1..=9).collect::<Vec<_>>(),
        "each index once"
    );

    let mut old_term = restored_node(config(1), 1, &[1; 8]);
    elect(&mut old_term, 3);
    receive(&mut old_term, 2, accepted(1, 9));
    assert_eq!(match_index_of(&old_term, 2), 0, "an answer of term 1");
    assert_eq!(old_term.commit_index(), 0);

    let mut candidate: Node = Raft::new(config(1), Restored::bootstrap([1, 2, 3, 4, 5])).unwrap();
    tick_until_campaign(&mut candidate);
    for _ in 0..3 {
        receive(&mut candidate, 2, grant(1));
    }
    assert_eq!(
        candidate.role(),
        Role::Candidate,
        "one voter, however often"
    );
}

/// Row "huge payloads, proposal floods": bounded message size and proposal queue; proposals
/// are rejected explicitly, one outcome per proposal, never dropped silently.
#[test]
fn huge_payloads_and_proposal_floods_are_rejected_explicitly() {
    let mut config = config(1);
    config.max_bytes_per_message = 1024;
    config.max_uncommitted_entries = 16;
    let mut leader: Raft<Vec<u8>> = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    elect(&mut leader, 2);

    let actions = leader.step(Event::Propose(vec![0; 2000]));
    let too_large = ProposeError::CommandTooLarge {
        size_bytes: 2000,
        limit: 1024,
    };
    assert_eq!(actions, vec![Action::ProposalRejected(too_large)]);
    assert_eq!(leader.last_index(), 1);

    let (mut placed, mut refused) = (0, 0);
    for _ in 0..100 {
        let actions = leader.step(Event::Propose(vec![1; 8]));
        for action in &actions {
            match action {
                Action::ProposalAccepted { .. } => placed += 1,
                Action::ProposalRejected(ProposeError::TooManyUncommitted { limit: 16 }) => {
                    refused += 1
                }
                Action::ProposalRejected(other) => panic!("unexpected {other:?}"),
                _ => {}
            }
        }
    }
    assert_eq!(
        (placed, refused),
        (15, 85),
        "the no-op is the 16th uncommitted entry"
    );
    assert_eq!(leader.last_index(), 16);
}

/// Row "local durable state lost or truncated" (etcd-io/raft #197, amnesia): a follower whose
/// log was cut to 2 entries gets leader_commit = 20: no panic; it commits only what it holds
/// and verified, and rejects what it lacks with a hint.
#[test]
fn lost_durable_state_does_not_panic_a_follower() {
    let mut follower = restored_node(config(1), 1, &[1, 1]);
    receive(&mut follower, 2, append(1, 2, 1, vec![], 20));
    assert_eq!(follower.commit_index(), 2);
    let actions = receive(&mut follower, 2, append(1, 19, 1, vec![], 20));
    let hint = AppendOutcome::Rejected {
        rejected_index: 19,
        hint_index: 2,
        hint_term: 1,
    };
    assert_eq!(append_answers(&actions, 2), vec![(1, hint)]);
    assert_eq!((follower.commit_index(), follower.last_index()), (2, 2));

    let mut wiped = node(1);
    let actions = receive(&mut wiped, 2, append(5, 20, 5, vec![], 20));
    assert_eq!(wiped.commit_index(), 0);
    assert_eq!(append_answers(&actions, 2).len(), 1);
}

/// Row "local durable state lost or truncated", seen from the leader: a follower that lost
/// what it acknowledged rejects appends it had matched. No panic, and match never decreases
/// within a term (correctness reference §1, invariant 12).
#[test]
fn lost_durable_state_does_not_panic_the_leader() {
    let mut leader = restored_node(config(1), 1, &[1; 20]);
    elect(&mut leader, 3);
    receive(&mut leader, 2, accepted(2, 21));
    for message in [rejected(2, 21, 2, 1), rejected(2, 20, 0, 0), accepted(2, 2)] {
        receive(&mut leader, 2, message);
        assert_eq!(match_index_of(&leader, 2), 21);
    }
    for _ in 0..10 {
        leader.step(Event::Tick);
    }
    assert_eq!((leader.role(), leader.commit_index()), (Role::Leader, 21));
}

// ----- invalid local state and configuration -----

fn restore_error(restored: Restored<u64>) -> InitError {
    Raft::<u64>::new(config(1), restored).unwrap_err()
}

/// ARCHITECTURE.md §1, restart: `Raft::new` validates what the host hands back and answers the
/// right `RestoreError` instead of panicking.
#[test]
fn invalid_restored_state_is_refused_with_the_right_error() {
    let mut gap = restored(1, None, &[1, 1]);
    gap.entries[1].index = 3;
    assert_eq!(
        restore_error(gap),
        InitError::Restore(RestoreError::IndexGap {
            expected: 2,
            found: 3
        })
    );
    let mut late_start = restored(1, None, &[1]);
    late_start.entries[0].index = 2;
    assert_eq!(
        restore_error(late_start),
        InitError::Restore(RestoreError::IndexGap {
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        restore_error(restored(1, None, &[1, 0])),
        InitError::Restore(RestoreError::ZeroTerm { index: 2 })
    );
    assert_eq!(
        restore_error(restored(3, None, &[1, 3, 2])),
        InitError::Restore(RestoreError::TermDecreases { index: 3 })
    );
    assert_eq!(
        restore_error(restored(2, None, &[1, 3])),
        InitError::Restore(RestoreError::TermAboveCurrent {
            index: 2,
            term: 3,
            current_term: 2
        })
    );
    assert_eq!(
        restore_error(restored(0, Some(2), &[])),
        InitError::Restore(RestoreError::VoteInTermZero)
    );
    assert_eq!(
        restore_error(restored(TERM_MAX + 1, None, &[1])),
        InitError::Restore(RestoreError::TermBeyondMaximum { term: TERM_MAX + 1 })
    );
    let mut applied_beyond = restored(1, None, &[1, 1]);
    applied_beyond.applied = 3;
    assert_eq!(
        restore_error(applied_beyond),
        InitError::Restore(RestoreError::AppliedBeyondLog {
            applied: 3,
            last_index: 2
        })
    );
}

fn config_error(config: Config) -> ConfigError {
    let expected = config.validate().unwrap_err();
    let found = Raft::<u64>::new(config, Restored::default()).unwrap_err();
    assert_eq!(found, InitError::Config(expected.clone()));
    expected
}

/// `Config::validate` (called by `Raft::new`) answers the right `ConfigError` for each
/// invalid field, and accepts the largest allowed election timeout; an invalid bootstrap
/// membership is refused with `RestoreError::InvalidMembership` at index 0.
#[test]
fn invalid_config_is_refused_with_the_right_error() {
    let membership_error = |voters: Vec<NodeId>, learners: Vec<NodeId>| {
        let mut restored = Restored::<u64>::bootstrap(voters);
        restored.membership.learners = learners;
        match Raft::new(config(1), restored).unwrap_err() {
            InitError::Restore(RestoreError::InvalidMembership { index: 0, error }) => error,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        membership_error(vec![1, 2, 2], vec![]),
        MembershipError::Duplicate(2)
    );
    assert_eq!(membership_error(vec![], vec![1]), MembershipError::NoVoters);
    assert_eq!(
        membership_error(vec![1, 2], vec![2]),
        MembershipError::LearnerVotes(2)
    );
    // A node that is not in the bootstrap membership is a node waiting to be added: valid.
    let waiting = Raft::<u64>::new(config(4), Restored::bootstrap([1, 2, 3])).unwrap();
    assert!(!waiting.membership().contains(4));
    let with = |change: fn(&mut Config)| {
        let mut config = config(1);
        change(&mut config);
        config_error(config)
    };
    assert_eq!(
        with(|c| c.heartbeat_ticks = 0),
        ConfigError::ZeroHeartbeatTicks
    );
    assert_eq!(
        with(|c| c.election_ticks = 3),
        ConfigError::ElectionNotAboveHeartbeat {
            election_ticks: 3,
            heartbeat_ticks: 3
        }
    );
    assert_eq!(
        with(|c| c.election_ticks = ELECTION_TICKS_MAX + 1),
        ConfigError::ElectionTicksTooLarge(ELECTION_TICKS_MAX + 1)
    );
    assert_eq!(
        with(|c| c.max_inflight_appends = 0),
        ConfigError::ZeroBound("max_inflight_appends")
    );
    assert_eq!(
        with(|c| c.max_entries_per_message = 0),
        ConfigError::ZeroBound("max_entries_per_message")
    );
    assert_eq!(
        with(|c| c.max_bytes_per_message = 0),
        ConfigError::ZeroBound("max_bytes_per_message")
    );
    assert_eq!(
        with(|c| c.max_uncommitted_entries = 0),
        ConfigError::ZeroBound("max_uncommitted_entries")
    );
    assert_eq!(
        with(|c| c.max_pending_reads = 0),
        ConfigError::ZeroBound("max_pending_reads")
    );

    let mut largest = config(1);
    largest.election_ticks = ELECTION_TICKS_MAX;
    let mut node: Node = Raft::new(largest, Restored::bootstrap([1, 2, 3])).unwrap();
    for _ in 0..100 {
        assert!(node.step(Event::Tick).is_empty());
    }
}

// ----- snapshot rows -----

use pureraft::{HardState, Persist, Snapshot, SnapshotError, SnapshotOutcome, Status};

/// Everything a bad snapshot message could damage: the status (term, vote, role, leader,
/// commit, applied, last, snapshot and compacted indices), the log and the snapshot held.
#[derive(Debug, PartialEq)]
struct Whole {
    status: Status,
    entries: Vec<Entry<u64>>,
    snapshot: Option<Snapshot>,
}

fn whole(node: &Node) -> Whole {
    Whole {
        status: node.status(),
        entries: node.entries().to_vec(),
        snapshot: node.snapshot().cloned(),
    }
}

/// Node 1 restarted from a snapshot up to (10, term 1) at term 2, holding entries 11 and 12
/// of term 2, following node 2, which verified index 12 and committed 11.
fn follower_with_snapshot() -> Node {
    let mut follower: Node =
        Raft::new(config(1), restored_from_snapshot(2, 10, 1, &[2, 2])).unwrap();
    assert_eq!(
        (follower.commit_index(), follower.compacted_index()),
        (10, 10)
    );
    let actions = receive(&mut follower, 2, append(2, 12, 2, vec![], 11));
    assert_eq!(applied(&actions), vec![11]);
    follower
}

/// Ticks `node` `ticks` times, so that a reset of its election timer becomes visible.
fn tick_n(node: &mut Node, ticks: u64) {
    for _ in 0..ticks {
        assert!(node.step(Event::Tick).is_empty());
    }
}

/// True if `a` and `b` campaign after the same number of ticks (their election timers agree).
fn same_election_timer(a: &Node, b: &Node) -> bool {
    ticks_until_campaign(&mut a.clone()).0 == ticks_until_campaign(&mut b.clone()).0
}

/// Row "`prev_log_index` below our snapshot": entries up to the snapshot count as matching. A
/// follower that compacted index 5 away cannot check the append's prev term there; it must
/// not reject it, truncates nothing, and stores only what is new (here index 13).
#[test]
fn prev_log_index_below_our_snapshot_counts_as_matching() {
    let mut follower = follower_with_snapshot();
    let mut entries: Vec<Entry<u64>> = (6..=10).map(|index| entry(index, 1)).collect();
    entries.extend([entry(11, 2), entry(12, 2), entry(13, 2)]);
    let actions = receive(&mut follower, 2, append(2, 5, 1, entries, 13));
    let answer = (2, AppendOutcome::Accepted { match_index: 13 });
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    assert_eq!(persisted_entries(&actions), vec![vec![entry(13, 2)]]);
    assert_eq!(applied(&actions), vec![12, 13]);
    assert_eq!(
        follower.entries(),
        [entry(11, 2), entry(12, 2), entry(13, 2)]
    );
    assert_eq!(
        (follower.compacted_index(), follower.snapshot_index()),
        (10, 10)
    );

    // Only covered entries, or none, from below the snapshot: nothing to store; the answer
    // names what was verified from this leader.
    let mut follower = follower_with_snapshot();
    let before = whole(&follower);
    let answer = (2, AppendOutcome::Accepted { match_index: 12 });
    for message in [
        append(2, 7, 1, vec![entry(8, 1), entry(9, 1), entry(10, 1)], 11),
        append(2, 3, 1, vec![], 11),
        append(2, 0, 0, vec![], 11),
    ] {
        let actions = receive(&mut follower, 2, message);
        assert_eq!(append_answers(&actions, 2), vec![answer]);
        assert!(!has_persist(&actions), "{actions:?}");
        assert_eq!(whole(&follower), before);
    }
}

/// Row "a snapshot at or below our commit": ignore it; reply with our commit (or the higher
/// index verified from this leader). No install, no persist, whatever the chunk.
#[test]
fn snapshot_at_or_below_our_commit_is_ignored_and_answered_with_our_commit() {
    let mut follower = follower_with_snapshot();
    let before = whole(&follower);
    let cases = [
        (11, 2, 0, 5),
        (10, 1, 0, 5),
        (5, 1, 0, 10),
        (1, 1, 4, 9),
        (11, 2, 1000, 2000),
    ];
    for (index, term, offset, size) in cases {
        let message = chunk(2, snapshot_meta(index, term), offset, b"stale", size);
        let actions = receive(&mut follower, 2, message);
        let answer = (2, index, SnapshotOutcome::Done { match_index: 12 });
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
        assert_eq!(whole(&follower), before);
    }

    // From a new leader, which verified nothing yet: the answer is our commit. Its term is
    // adopted (like any request of a higher term), nothing else changes.
    let actions = receive(&mut follower, 3, chunk(3, snapshot_meta(11, 2), 0, b"x", 1));
    let answer = (3, 11, SnapshotOutcome::Done { match_index: 11 });
    assert_eq!(snapshot_answers(&actions, 3), vec![answer]);
    let term_3 = HardState {
        term: 3,
        vote: None,
    };
    assert_eq!(hard_states(&actions), vec![term_3]);
    assert!(installed_snapshots(&actions).is_empty());
    assert_eq!((follower.term(), follower.leader()), (3, Some(3)));
    assert_eq!(follower.commit_index(), 11);
    assert_eq!(follower.entries(), before.entries);
    assert_eq!(follower.snapshot(), before.snapshot.as_ref());
}

/// Row "a snapshot whose (index, term) is in our log": fast-forward commit to its index,
/// apply from our own log, keep the suffix; nothing is installed or stored, and the answer is
/// Done at the snapshot's index. The first chunk suffices: the follower needs no bytes.
#[test]
fn snapshot_whose_last_entry_is_in_our_log_fast_forwards_commit_and_keeps_the_suffix() {
    let log = [1, 1, 1, 1, 1, 2, 2];
    for size in [4, 8] {
        let mut follower = restored_node(config(1), 2, &log);
        let actions = receive(
            &mut follower,
            2,
            chunk(2, snapshot_meta(5, 1), 0, b"snap", size),
        );
        assert!(installed_snapshots(&actions).is_empty(), "{actions:?}");
        assert!(!has_persist(&actions), "{actions:?}");
        assert_eq!(applied(&actions), vec![1, 2, 3, 4, 5]);
        let answer = (2, 5, SnapshotOutcome::Done { match_index: 5 });
        assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
        assert_eq!((follower.commit_index(), follower.applied_index()), (5, 5));
        assert_eq!(follower.entries(), log_of(&log), "the suffix is kept");
        assert_eq!(
            (follower.snapshot_index(), follower.compacted_index()),
            (0, 0)
        );
        assert_eq!(follower.leader(), Some(2));

        // The kept suffix is used: the leader's next append only needs to commit it.
        let actions = receive(&mut follower, 2, append(2, 7, 2, vec![], 7));
        let answer = (2, AppendOutcome::Accepted { match_index: 7 });
        assert_eq!(append_answers(&actions, 2), vec![answer]);
        assert_eq!(applied(&actions), vec![6, 7]);
    }

    // At our last entry: everything is committed and kept.
    let mut follower = restored_node(config(1), 2, &log);
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(7, 2), 0, b"snap", 4),
    );
    assert_eq!(applied(&actions), (1..=7).collect::<Vec<_>>());
    assert_eq!(follower.entries(), log_of(&log));
    assert!(installed_snapshots(&actions).is_empty());
}

/// Row "entries with decreasing terms, gaps, or a term above the message's", for
/// InstallSnapshot: a chunk whose snapshot covers nothing (index or term 0), claims a term
/// above its sender's, an index no log reaches, bytes past u64::MAX, an invalid configuration
/// (no voter, a voter twice, a learner that votes) or a configuration said to come from after
/// the snapshot is dropped before any state changes: no reply, no term adopted, no leader
/// learned, no election timer reset, nothing received kept.
#[test]
fn malformed_snapshot_chunks_change_no_state() {
    let meta = |index, term, voters: &[NodeId]| pureraft::SnapshotMeta {
        last_index: index,
        last_term: term,
        membership: Membership::new(voters.iter().copied()),
        membership_index: 0,
    };
    let with_learner = |learner: NodeId| {
        let mut meta = meta(20, 1, &[1, 2, 3]);
        meta.membership.learners.push(learner);
        meta
    };
    let config_from_after = {
        let mut meta = meta(20, 1, &[1, 2, 3]);
        meta.membership_index = 21;
        meta
    };
    let ours: &[NodeId] = &[1, 2, 3];
    for term in [2, 5] {
        let malformed = [
            ("index 0", chunk(term, meta(0, 1, ours), 0, b"x", 1)),
            ("term 0", chunk(term, meta(20, 0, ours), 0, b"x", 1)),
            (
                "term above the message's",
                chunk(term, meta(20, term + 1, ours), 0, b"x", 1),
            ),
            (
                "index beyond u64::MAX / 2",
                chunk(term, meta(u64::MAX / 2 + 1, 1, ours), 0, b"x", 1),
            ),
            (
                "index u64::MAX",
                chunk(term, meta(u64::MAX, 1, ours), 0, b"x", 1),
            ),
            (
                "offset + len overflows",
                chunk(term, meta(20, 1, ours), u64::MAX, b"x", u64::MAX),
            ),
            (
                "offset + len overflows by one",
                chunk(term, meta(20, 1, ours), u64::MAX - 1, b"xy", u64::MAX),
            ),
            (
                "a learner that votes",
                chunk(term, with_learner(2), 0, b"x", 1),
            ),
            (
                "a configuration from after the snapshot",
                chunk(term, config_from_after.clone(), 0, b"x", 1),
            ),
            (
                "a repeated voter",
                chunk(term, meta(20, 1, &[1, 2, 2]), 0, b"x", 1),
            ),
            ("no voters", chunk(term, meta(20, 1, &[]), 0, b"x", 1)),
            (
                "term above TERM_MAX",
                chunk(TERM_MAX + 1, meta(20, 1, ours), 0, b"x", 1),
            ),
        ];
        for (name, message) in malformed {
            let mut follower = follower_with_snapshot();
            tick_n(&mut follower, 5);
            let untouched = follower.clone();
            let before = whole(&follower);
            let actions = receive(&mut follower, 2, message);
            assert!(actions.is_empty(), "term {term}, {name}: {actions:?}");
            assert_eq!(whole(&follower), before, "term {term}, {name}");
            assert!(
                same_election_timer(&follower, &untouched),
                "term {term}, {name}: the timer was reset"
            );
            // Nothing of it was kept: its continuation is not taken as one.
            let message = chunk(2, snapshot_meta(20, 1), 1, b"y", 2);
            let actions = receive(&mut follower, 2, message);
            let answer = (2, 20, wants(0, 1));
            assert_eq!(snapshot_answers(&actions, 2), vec![answer], "{name}");
        }
    }

    // Another configuration is no fault: the cluster's changed, and the snapshot's is in
    // force once installed (tests/membership.rs covers the rule).
    let mut follower = follower_with_snapshot();
    let message = chunk(2, meta(20, 1, &[3, 1, 2, 4]), 0, b"x", 1);
    let actions = receive(&mut follower, 2, message);
    assert_eq!(installed_snapshots(&actions).len(), 1, "{actions:?}");
    assert_eq!(follower.snapshot_index(), 20);
    assert_eq!(follower.membership(), &Membership::new([3, 1, 2, 4]));

    // A leader is not deposed by a malformed chunk of a higher term.
    let mut leader = node(1);
    elect(&mut leader, 2);
    let before = whole(&leader);
    let actions = receive(&mut leader, 2, chunk(5, meta(20, 6, ours), 0, b"x", 1));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(whole(&leader), before);
}

/// Row "a response to a request never sent" has a request-side twin, Figure 13 receiver rule
/// 1: "Reply immediately if term < currentTerm". A chunk of an earlier term is answered with
/// our term, so its sender steps down, and nothing of it is kept, installed, or taken as a
/// sign of a live leader.
#[test]
fn snapshot_chunk_from_a_stale_term_is_refused_with_our_term_and_nothing_kept() {
    let mut follower = follower_with_snapshot();
    tick_n(&mut follower, 5);
    let untouched = follower.clone();
    let before = whole(&follower);
    for (offset, size) in [(0, 8), (0, 4), (4, 8)] {
        let actions = receive(
            &mut follower,
            3,
            chunk(1, snapshot_meta(20, 1), offset, b"abcd", size),
        );
        let answer = (2, 20, wants(0, offset));
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(snapshot_answers(&actions, 3), vec![answer]);
        assert_eq!(whole(&follower), before);
    }
    assert!(
        same_election_timer(&follower, &untouched),
        "the timer was reset"
    );
    // The stale first chunk was not kept: the current leader's second chunk is not taken as
    // its continuation.
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(20, 1), 4, b"efgh", 8),
    );
    let answer = (2, 20, wants(0, 4));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
    assert!(installed_snapshots(&actions).is_empty());
}

/// Row "duplicated or reordered responses", for the requests they answer: snapshot chunks
/// are kept only in order (a chunk's offset must be the number of bytes held). A chunk that
/// skips ahead, overlaps, or repeats is answered with the offset wanted and not kept; offset
/// 0 of another snapshot starts afresh; a repeat after the install is answered Done.
#[test]
fn out_of_order_and_duplicate_snapshot_chunks_are_not_kept() {
    let mut follower = follower_with_snapshot();
    let meta = snapshot_meta(20, 2);
    // Every chunk is of the same 10-byte snapshot, "abcdefghij".
    let mut send = |offset: u64, data: &[u8]| {
        let actions = receive(&mut follower, 2, chunk(2, meta.clone(), offset, data, 10));
        let installed = installed_snapshots(&actions);
        (
            snapshot_answer(&actions, 2).map(|(_, _, outcome)| outcome),
            installed,
        )
    };
    let want = |next_offset, answered_offset| Some(wants(next_offset, answered_offset));
    assert_eq!(send(4, b"efgh"), (want(0, 4), vec![]), "no transfer held");
    assert_eq!(send(0, b"abcd"), (want(4, 0), vec![]));
    assert_eq!(send(0, b"abcd"), (want(4, 0), vec![]), "duplicate");
    assert_eq!(send(8, b"ij"), (want(4, 8), vec![]), "skips ahead");
    assert_eq!(send(2, b"cdef"), (want(4, 2), vec![]), "overlaps");
    assert_eq!(send(4, b"efgh"), (want(8, 4), vec![]));
    let done = Some(SnapshotOutcome::Done { match_index: 20 });
    let snapshot = snapshot_of(20, 2, b"abcdefghij");
    assert_eq!(send(8, b"ij"), (done, vec![snapshot.clone()]));
    assert_eq!(send(8, b"ij"), (done, vec![]), "repeat after the install");
    assert_eq!(send(0, b"abcd"), (done, vec![]), "repeat after the install");
    assert_eq!(follower.snapshot(), Some(&snapshot));
    assert_eq!(
        (follower.commit_index(), follower.compacted_index()),
        (20, 20)
    );

    // Offset 0 of another snapshot drops what was held of the first one.
    let mut follower = follower_with_snapshot();
    receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(20, 2), 0, b"abcd", 8),
    );
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(21, 2), 0, b"WXYZ", 5),
    );
    let answer = (2, 21, wants(4, 0));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(20, 2), 4, b"efgh", 8),
    );
    let answer = (2, 20, wants(0, 4));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
    let actions = receive(&mut follower, 2, chunk(2, snapshot_meta(21, 2), 4, b"!", 5));
    assert_eq!(
        installed_snapshots(&actions),
        vec![snapshot_of(21, 2, b"WXYZ!")]
    );
}

/// Row "a response from an unknown peer", "a response to a request never sent" and
/// "duplicated or reordered responses", for InstallSnapshotResponse: answers from an unknown
/// node, of an earlier term, for another snapshot, acknowledging bytes beyond the snapshot's
/// end, or Done beyond the leader's log are ignored: no state change, no chunk or append
/// sent, and match never decreases. An answer with no news while chunks are out sends them
/// again once. (An offset past what this transfer sent but
/// within the snapshot is taken as the follower's: it may hold those bytes from an earlier
/// transfer of the same snapshot in this term.)
#[test]
fn snapshot_responses_that_answer_nothing_are_ignored() {
    let mut config = config(1);
    config.snapshot_trailing_entries = 2;
    config.snapshot_chunk_bytes = 4;
    config.max_inflight_snapshot_chunks = 2;
    let mut leader = leader_with_snapshot(config, b"0123456789");
    let actions = receive(&mut leader, 2, rejected(2, 10, 0, 0));
    let offsets: Vec<u64> = chunks_to(&actions, 2).iter().map(|c| c.offset).collect();
    assert_eq!(offsets, vec![0, 4], "two chunks of 4 bytes in flight");
    let before = whole(&leader);
    let ignored = [
        ("unknown peer", 9, receiving(2, 10, 4, 4)),
        ("unknown peer, done", 9, snapshot_done(2, 10, 11)),
        ("unknown peer, higher term", 9, snapshot_done(7, 10, 11)),
        ("stale term", 2, receiving(1, 10, 4, 4)),
        ("stale term, done", 2, snapshot_done(1, 10, 11)),
        ("another snapshot", 2, receiving(2, 9, 4, 4)),
        ("a later snapshot", 2, receiving(2, 11, 4, 4)),
        ("beyond the snapshot's bytes", 2, receiving(2, 10, 11, 11)),
        ("u64::MAX", 2, receiving(2, 10, u64::MAX, u64::MAX)),
        ("done beyond the log", 2, snapshot_done(2, 10, 12)),
        ("done at u64::MAX", 2, snapshot_done(2, 10, u64::MAX)),
    ];
    for (name, from, message) in ignored {
        let actions = receive(&mut leader, from, message);
        assert!(actions.is_empty(), "{name}: {actions:?}");
        assert_eq!(whole(&leader), before, "{name}");
        assert_eq!(match_index_of(&leader, 2), 0, "{name}");
    }
    let tracked: Vec<NodeId> = leader.match_indices().map(|(id, _)| id).collect();
    assert_eq!(tracked, vec![2, 3]);

    // No news while chunks are out: the follower dropped one that came out of order. The
    // leader sends again from the last acknowledged byte, once per window.
    let actions = receive(&mut leader, 2, receiving(2, 10, 0, 4));
    let offsets: Vec<u64> = chunks_to(&actions, 2).iter().map(|c| c.offset).collect();
    assert_eq!(offsets, vec![0, 4], "sent again from the acknowledged byte");
    let actions = receive(&mut leader, 2, receiving(2, 10, 0, 4));
    assert!(actions.is_empty(), "once per window: {actions:?}");
    assert_eq!(match_index_of(&leader, 2), 0);

    // The transfer is intact: a true acknowledgement releases the last chunk.
    let actions = receive(&mut leader, 2, receiving(2, 10, 4, 0));
    let chunks = chunks_to(&actions, 2);
    assert_eq!(chunks.len(), 1, "{actions:?}");
    assert_eq!(
        (chunks[0].offset, &chunks[0].data[..], chunks[0].done),
        (8, &b"89"[..], true)
    );

    // Done moves match to 10 and replication on; late or stale answers never move it back.
    let actions = receive(&mut leader, 2, snapshot_done(2, 10, 10));
    assert_eq!(match_index_of(&leader, 2), 10);
    let noop = Entry {
        term: 2,
        index: 11,
        payload: pureraft::Payload::noop(),
    };
    assert_eq!(appends_to(&actions, 2), vec![(10, vec![noop])]);
    for message in [
        snapshot_done(2, 10, 5),
        receiving(2, 10, 8, 8),
        snapshot_done(2, 10, 0),
        accepted(2, 3),
    ] {
        let actions = receive(&mut leader, 2, message);
        assert!(actions.is_empty(), "{actions:?}");
        assert_eq!(match_index_of(&leader, 2), 10);
    }
}

/// `Event::SnapshotTaken` refused: a snapshot past the applied index (`NotApplied`) or not
/// past the snapshot held (`NotNewer`, including index 0 on a fresh node) is answered by one
/// `SnapshotRefused` and changes nothing; an accepted one is recorded with
/// `Persist::Snapshot`.
#[test]
fn snapshot_taken_beyond_applied_or_not_newer_is_refused() {
    let mut fresh = node(1);
    let refused = SnapshotError::NotNewer {
        index: 0,
        snapshot_index: 0,
    };
    let actions = fresh.step(Event::SnapshotTaken {
        index: 0,
        data: b"empty".to_vec(),
    });
    assert_eq!(actions, vec![Action::SnapshotRefused(refused)]);
    assert_eq!(fresh.snapshot(), None);

    let mut follower = restored_node(config(1), 1, &[1; 5]);
    receive(&mut follower, 2, append(1, 5, 1, vec![], 4));
    assert_eq!(follower.applied_index(), 4);
    let mut take = |index: LogIndex, data: &[u8]| {
        follower.step(Event::SnapshotTaken {
            index,
            data: data.to_vec(),
        })
    };
    for index in [5, 6, u64::MAX] {
        let refused = SnapshotError::NotApplied { index, applied: 4 };
        assert_eq!(take(index, b"late"), vec![Action::SnapshotRefused(refused)]);
    }
    let recorded = Action::Persist(Persist::Snapshot(Box::new(snapshot_meta(3, 1))));
    assert_eq!(take(3, b"first"), vec![recorded]);
    for index in [3, 2, 1, 0] {
        let refused = SnapshotError::NotNewer {
            index,
            snapshot_index: 3,
        };
        assert_eq!(take(index, b"old"), vec![Action::SnapshotRefused(refused)]);
    }
    let recorded = Action::Persist(Persist::Snapshot(Box::new(snapshot_meta(4, 1))));
    assert_eq!(take(4, b"second"), vec![recorded]);
    assert_eq!(follower.snapshot(), Some(&snapshot_of(4, 1, b"second")));
    assert_eq!(follower.snapshot_index(), 4);
}

/// ARCHITECTURE.md §1, restart with a snapshot: `Raft::new` refuses a snapshot that covers
/// nothing, lies beyond any log, has a term above the stored term, holds an invalid
/// configuration or one from after it, or contradicts the stored entries, and a stored log
/// that does not continue it, each with its own `RestoreError`.
#[test]
fn invalid_restored_snapshot_is_refused_with_the_right_error() {
    let with_snapshot = |term: Term, snapshot: Snapshot, entries: Vec<Entry<u64>>| Restored {
        hard_state: HardState { term, vote: None },
        snapshot: Some(snapshot),
        entries,
        applied: 0,
        membership: three(),
    };
    let refused = |restored| match restore_error(restored) {
        InitError::Restore(error) => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(0, 1, b""), vec![])),
        RestoreError::EmptySnapshot
    );
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(5, 0, b""), vec![])),
        RestoreError::EmptySnapshot
    );
    for index in [u64::MAX / 2 + 1, u64::MAX] {
        assert_eq!(
            refused(with_snapshot(2, snapshot_of(index, 1, b""), vec![])),
            RestoreError::SnapshotIndexBeyondMaximum { index }
        );
    }
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(5, 3, b""), vec![])),
        RestoreError::SnapshotTermAboveCurrent {
            term: 3,
            current_term: 2
        }
    );
    for (voters, error) in [
        (vec![1, 2, 2], MembershipError::Duplicate(2)),
        (vec![], MembershipError::NoVoters),
    ] {
        let mut snapshot = snapshot_of(5, 1, b"");
        snapshot.meta.membership = Membership::new(voters);
        assert_eq!(
            refused(with_snapshot(2, snapshot, vec![])),
            RestoreError::InvalidMembership { index: 5, error }
        );
    }
    let mut snapshot = snapshot_of(5, 1, b"");
    snapshot.meta.membership_index = 6;
    assert_eq!(
        refused(with_snapshot(2, snapshot, vec![])),
        RestoreError::SnapshotMembershipAfterIndex {
            membership_index: 6,
            last_index: 5
        }
    );
    let covered = vec![entry(4, 1), entry(5, 1), entry(6, 2)];
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(5, 2, b""), covered)),
        RestoreError::SnapshotConflict {
            index: 5,
            entry_term: 1,
            snapshot_term: 2
        }
    );
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(5, 1, b""), vec![entry(7, 2)])),
        RestoreError::IndexGap {
            expected: 6,
            found: 7
        }
    );
    assert_eq!(
        refused(with_snapshot(2, snapshot_of(5, 1, b""), vec![entry(0, 1)])),
        RestoreError::IndexGap {
            expected: 6,
            found: 0
        }
    );
    assert_eq!(
        refused(with_snapshot(3, snapshot_of(5, 2, b""), vec![entry(6, 1)])),
        RestoreError::TermDecreases { index: 6 }
    );
    let mut beyond = with_snapshot(2, snapshot_of(5, 1, b""), vec![entry(6, 2), entry(7, 2)]);
    beyond.applied = 8;
    assert_eq!(
        refused(beyond),
        RestoreError::AppliedBeyondLog {
            applied: 8,
            last_index: 7
        }
    );
    let mut beyond = with_snapshot(2, snapshot_of(5, 1, b""), vec![]);
    beyond.applied = 6;
    assert_eq!(
        refused(beyond),
        RestoreError::AppliedBeyondLog {
            applied: 6,
            last_index: 5
        }
    );

    // Accepted: another configuration than the bootstrap one (the snapshot's is in force),
    // entries overlapping the snapshot, applied at it.
    let mut snapshot = snapshot_of(5, 2, b"");
    snapshot.meta.membership = Membership::new([3, 2, 1, 4]);
    snapshot.meta.membership_index = 4;
    let overlapping = vec![entry(3, 1), entry(4, 2), entry(5, 2), entry(6, 2)];
    let mut fine = with_snapshot(2, snapshot, overlapping);
    fine.applied = 5;
    let restored = Raft::<u64>::new(config(1), fine).unwrap();
    assert_eq!(restored.entries(), [entry(6, 2)]);
    assert_eq!(restored.membership(), &Membership::new([3, 2, 1, 4]));
    assert_eq!(restored.membership_index(), 4);
}
