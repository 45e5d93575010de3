//! The rules of Raft's Figure 2 (Ongaro & Ousterhout 2014), one test per rule, through the
//! public API only: nodes are driven by hand with `Raft::step` and hand-built messages, without
//! the simulator. Each test's doc comment cites the rule and section it checks.

mod common;

use std::collections::BTreeSet;

use pureraft::{
    Action, AppendOutcome, Config, Entry, Event, HardState, LogIndex, Message, NodeId, Payload,
    Persist, ProposeError, Raft, Restored, Role, Term,
};

use common::hand::*;

// ----- helpers (the shared ones are in `common::hand`) -----

fn position(actions: &[Action<u64>], wanted: impl Fn(&Action<u64>) -> bool) -> Option<usize> {
    actions.iter().position(wanted)
}

fn is_send(action: &Action<u64>) -> bool {
    matches!(action, Action::Send { .. })
}

/// Hands every message addressed to `to` in `actions` to it, as sent by `from`; returns what
/// `to` answered.
fn deliver(actions: &[Action<u64>], from: NodeId, to: &mut Node) -> Actions {
    let mut answers = Vec::new();
    for message in sent_to(actions, to.id()) {
        answers.extend(receive(to, from, message));
    }
    answers
}

/// Delivers messages back and forth between `leader` and `follower`, starting from the
/// leader's `actions`, until the leader sends the follower nothing more. Returns the messages
/// the leader sent in each round trip. Panics after 100 round trips.
fn exchange(
    leader: &mut Node,
    follower: &mut Node,
    mut actions: Actions,
) -> Vec<Vec<Message<u64>>> {
    let mut rounds = Vec::new();
    loop {
        let to_follower = sent_to(&actions, follower.id());
        if to_follower.is_empty() {
            return rounds;
        }
        assert!(rounds.len() < 100, "replication does not settle");
        let answers = deliver(&actions, leader.id(), follower);
        actions = deliver(&answers, follower.id(), leader);
        rounds.push(to_follower);
    }
}

/// Carries out `Persist` actions as a host's disk would, to restart a node from them.
#[derive(Default)]
struct Disk {
    hard_state: HardState,
    entries: Vec<Entry<u64>>,
}

impl Disk {
    fn write(&mut self, actions: &[Action<u64>]) {
        for action in actions {
            match action {
                Action::Persist(Persist::HardState(hard_state)) => self.hard_state = *hard_state,
                Action::Persist(Persist::Entries(entries)) => {
                    let first = entries[0].index;
                    self.entries.truncate(usize::try_from(first - 1).unwrap());
                    self.entries.extend(entries.iter().cloned());
                }
                _ => {}
            }
        }
    }

    fn restored(&self, applied: LogIndex) -> Restored<u64> {
        Restored {
            hard_state: self.hard_state,
            entries: self.entries.clone(),
            applied,
            snapshot: None,
            membership: three(),
        }
    }
}

// ----- all servers: terms -----

/// Builds node 1 in each role: a follower at term 2, a candidate at term 3, a leader at term 3,
/// each holding the log [1, 2].
fn node_in_every_role() -> Vec<Node> {
    let follower = restored_node(config(1), 2, &[1, 2]);
    let mut candidate = follower.clone();
    tick_until_campaign(&mut candidate);
    let mut leader = follower.clone();
    elect(&mut leader, 3);
    vec![follower, candidate, leader]
}

/// Checks that `node` became a follower of `term` with no vote, and persisted that before it
/// sent anything.
fn assert_stepped_down(node: &Node, actions: &[Action<u64>], term: Term) {
    assert_eq!(node.term(), term);
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.vote(), None);
    let persisted = position(actions, |action| {
        *action == Action::Persist(Persist::HardState(HardState { term, vote: None }))
    });
    let persisted = persisted.expect("the new term is persisted");
    assert!(
        !actions[..persisted].iter().any(is_send),
        "sent before durable"
    );
}

/// Raft §5.1 / Figure 2, all servers: "If RPC request or response contains term T >
/// currentTerm: set currentTerm = T, convert to follower". Requests, in every role.
#[test]
fn higher_term_in_a_request_makes_every_role_a_follower() {
    for original in node_in_every_role() {
        // A candidate whose log is behind ours: its term is adopted, its vote refused.
        let mut node = original.clone();
        let actions = receive(&mut node, 2, vote_request(7, 0, 0));
        assert_stepped_down(&node, &actions, 7);
        assert_eq!(node.leader(), None);
        assert_eq!(vote_answer(&actions, 2), Some((7, false)));

        let mut node = original.clone();
        let actions = receive(&mut node, 2, append(7, 2, 2, vec![], 0));
        assert_stepped_down(&node, &actions, 7);
        assert_eq!(node.leader(), Some(2), "the sender leads term 7");
    }
}

/// Raft §5.1 / Figure 2, all servers: "If RPC request or response contains term T >
/// currentTerm: set currentTerm = T, convert to follower". Responses, in every role.
#[test]
fn higher_term_in_a_response_makes_every_role_a_follower() {
    let responses = [
        Message::RequestVoteResponse {
            term: 7,
            vote_granted: false,
        },
        Message::RequestVoteResponse {
            term: 7,
            vote_granted: true,
        },
        accepted(7, 1),
        Message::AppendEntriesResponse {
            term: 7,
            outcome: AppendOutcome::Rejected {
                rejected_index: 2,
                hint_index: 1,
                hint_term: 1,
            },
        },
    ];
    for original in node_in_every_role() {
        for response in &responses {
            let mut node = original.clone();
            let actions = receive(&mut node, 2, response.clone());
            assert_stepped_down(&node, &actions, 7);
            assert_eq!(node.leader(), None, "a response names no leader");
        }
    }
}

/// Raft §5.1 / Figure 2, RequestVote receiver rule 1: "Reply false if term < currentTerm",
/// with our term in the reply so that the stale candidate updates itself.
#[test]
fn lower_term_request_vote_is_refused_with_our_term() {
    let mut voter = restored_node(config(1), 3, &[1, 2]);
    let actions = receive(&mut voter, 2, vote_request(2, 100, 2));
    assert_eq!(actions.len(), 1, "only the answer: {actions:?}");
    assert_eq!(vote_answer(&actions, 2), Some((3, false)));
    assert_eq!((voter.term(), voter.vote()), (3, None));
}

/// Raft §5.1 / Figure 2, AppendEntries receiver rule 1: "Reply false if term < currentTerm",
/// with our term in the reply so that the stale leader steps down.
#[test]
fn lower_term_append_entries_is_refused_with_our_term() {
    let mut follower = restored_node(config(1), 3, &[1, 2]);
    let actions = receive(&mut follower, 2, append(2, 2, 2, vec![entry(3, 2)], 3));
    assert_eq!(actions.len(), 1, "only the answer: {actions:?}");
    let (term, outcome) = append_answer(&actions, 2).expect("an answer");
    assert_eq!(term, 3);
    assert!(matches!(outcome, AppendOutcome::Rejected { .. }));
    assert_eq!(follower.entries(), log_of(&[1, 2]).as_slice());
    assert_eq!((follower.term(), follower.commit_index()), (3, 0));
    assert_eq!(follower.leader(), None, "a stale leader is not our leader");
}

/// Raft §5.2 / Figure 2, followers: "If election timeout elapses without receiving
/// AppendEntries RPC from current leader ...: convert to candidate". A stale leader's append
/// is not from the current leader and must not hold the election back.
#[test]
fn lower_term_append_entries_does_not_reset_the_election_timer() {
    let mut follower = restored_node(config(1), 3, &[1, 2]);
    let (timeout, _) = ticks_until_campaign(&mut follower.clone());
    for _ in 1..timeout {
        follower.step(Event::Tick);
    }
    receive(&mut follower, 2, append(2, 2, 2, vec![], 0));
    follower.step(Event::Tick);
    assert_eq!(follower.role(), Role::Candidate);
    assert_eq!(follower.term(), 4);
}

// ----- RequestVote receiver -----

/// Raft §5.2 / Figure 2, RequestVote receiver rule 2: "If votedFor is null or candidateId ...
/// grant vote": one vote per term, first come first served; the same candidate asking again
/// (a duplicated request) gets the same answer.
#[test]
fn one_vote_per_term() {
    let mut voter = node(1);
    assert_eq!(
        vote_answer(&receive(&mut voter, 2, vote_request(1, 0, 0)), 2),
        Some((1, true))
    );
    assert_eq!(
        vote_answer(&receive(&mut voter, 3, vote_request(1, 0, 0)), 3),
        Some((1, false))
    );
    assert_eq!(
        vote_answer(&receive(&mut voter, 2, vote_request(1, 0, 0)), 2),
        Some((1, true))
    );
    assert_eq!(voter.vote(), Some(2));
    // A new term frees the vote.
    assert_eq!(
        vote_answer(&receive(&mut voter, 3, vote_request(2, 0, 0)), 3),
        Some((2, true))
    );
}

/// A voter at term 2 whose log ends with (index 3, term 2).
fn voter_with_log_1_1_2() -> Node {
    restored_node(config(1), 2, &[1, 1, 2])
}

/// Raft §5.4.1 / Figure 2, RequestVote receiver rule 2: grant only if "candidate's log is at
/// least as up-to-date as receiver's log". The later last term wins, whatever the lengths.
#[test]
fn vote_needs_a_log_at_least_as_up_to_date_by_last_term() {
    let mut voter = voter_with_log_1_1_2();
    let actions = receive(&mut voter, 2, vote_request(3, 10, 1));
    assert_eq!(
        vote_answer(&actions, 2),
        Some((3, false)),
        "longer but older"
    );
    assert_eq!(voter.vote(), None);

    let mut voter = voter_with_log_1_1_2();
    let actions = receive(&mut voter, 2, vote_request(4, 1, 3));
    assert_eq!(
        vote_answer(&actions, 2),
        Some((4, true)),
        "shorter but newer"
    );
    assert_eq!(voter.vote(), Some(2));
}

/// Raft §5.4.1 / Figure 2, RequestVote receiver rule 2: with the same last term, the longer
/// log is the more up to date; equal logs qualify.
#[test]
fn vote_needs_a_log_at_least_as_up_to_date_by_length() {
    for (last_log_index, expected) in [(2, false), (3, true), (4, true)] {
        let mut voter = voter_with_log_1_1_2();
        let actions = receive(&mut voter, 2, vote_request(3, last_log_index, 2));
        assert_eq!(
            vote_answer(&actions, 2),
            Some((3, expected)),
            "candidate last index {last_log_index}"
        );
    }
}

/// Raft Figure 2, persistent state: "updated on stable storage before responding to RPCs"
/// (thesis §3.8). The vote's `Persist` comes before the `Send` of the grant in the same batch.
#[test]
fn vote_is_persisted_before_the_grant_is_sent() {
    let mut voter = node(1);
    let actions = receive(&mut voter, 2, vote_request(5, 0, 0));
    let persisted = position(&actions, |action| {
        *action
            == Action::Persist(Persist::HardState(HardState {
                term: 5,
                vote: Some(2),
            }))
    });
    let granted = position(&actions, |action| {
        *action
            == Action::Send {
                to: 2,
                message: grant(5),
            }
    });
    let (persisted, granted) = (
        persisted.expect("vote persisted"),
        granted.expect("granted"),
    );
    assert!(
        persisted < granted,
        "grant sent before the vote is durable: {actions:?}"
    );
    // The new term and the vote go to disk as one atomic record (hashicorp/raft #661).
    let written = HardState {
        term: 5,
        vote: Some(2),
    };
    assert_eq!(hard_states(&actions), vec![written]);
}

/// Raft §5.2 / Figure 2, followers: the election timer restarts on "granting vote to
/// candidate", so a voter lets its candidate finish the election.
#[test]
fn granting_a_vote_resets_the_election_timer() {
    let mut voter = node(1);
    let (timeout, _) = ticks_until_campaign(&mut voter.clone());
    for _ in 1..timeout {
        voter.step(Event::Tick);
    }
    receive(&mut voter, 2, vote_request(1, 0, 0));
    assert_eq!(voter.vote(), Some(2));
    // Without the reset, the very next tick would reach the old timeout.
    for _ in 1..voter.config().election_ticks {
        voter.step(Event::Tick);
        assert_eq!((voter.role(), voter.term()), (Role::Follower, 1));
    }
}

/// Raft §5.2 / Figure 2, followers: the election timer restarts on "receiving AppendEntries
/// RPC from current leader", so a follower of a live leader never campaigns.
#[test]
fn append_from_the_leader_resets_the_election_timer() {
    let mut follower = node(1);
    let (timeout, _) = ticks_until_campaign(&mut follower.clone());
    for _ in 1..timeout {
        follower.step(Event::Tick);
    }
    receive(&mut follower, 2, append(1, 0, 0, vec![], 0));
    for _ in 1..timeout {
        follower.step(Event::Tick);
        assert_eq!((follower.role(), follower.term()), (Role::Follower, 1));
    }
}

// ----- candidates -----

/// Raft §5.2 / Figure 2, candidates: "On conversion to candidate, start election: increment
/// currentTerm, vote for self, reset election timer, send RequestVote RPCs to all other
/// servers", the term and self-vote persisted before any RequestVote goes out.
#[test]
fn candidate_votes_for_itself_persists_and_asks_every_peer() {
    let mut candidate = restored_node(config(1), 4, &[1, 4]);
    let actions = tick_until_campaign(&mut candidate);
    assert_eq!(candidate.role(), Role::Candidate);
    assert_eq!((candidate.term(), candidate.vote()), (5, Some(1)));
    assert_eq!(
        actions[0],
        Action::Persist(Persist::HardState(HardState {
            term: 5,
            vote: Some(1)
        }))
    );
    for peer in [2, 3] {
        assert_eq!(sent_to(&actions, peer), vec![vote_request(5, 2, 4)]);
    }
    assert!(sent_to(&actions, 1).is_empty(), "no RequestVote to itself");
}

/// Raft §5.2 / Figure 2, candidates: "If votes received from majority of servers: become
/// leader". Votes are a set: a duplicated grant counts once (akka-raft #45), a refusal not at
/// all.
#[test]
fn candidate_becomes_leader_on_a_majority_of_distinct_grants() {
    let mut candidate: Node = Raft::new(config(1), Restored::bootstrap([1, 2, 3, 4, 5])).unwrap();
    tick_until_campaign(&mut candidate);
    let term = candidate.term();
    receive(&mut candidate, 2, grant(term));
    receive(&mut candidate, 2, grant(term));
    let refusal = Message::RequestVoteResponse {
        term,
        vote_granted: false,
    };
    receive(&mut candidate, 4, refusal);
    assert_eq!(
        candidate.role(),
        Role::Candidate,
        "two of five votes so far"
    );
    receive(&mut candidate, 3, grant(term));
    assert_eq!(candidate.role(), Role::Leader);
    assert_eq!((candidate.term(), candidate.leader()), (term, Some(1)));
}

/// Raft §5.2 / Figure 2: a grant answers a RequestVote of one term; a grant of an earlier
/// term, delivered late, must not count toward a later election (akka-raft #45, xraft #27).
#[test]
fn stale_grant_from_an_earlier_term_is_ignored() {
    let mut candidate = node(1);
    tick_until_campaign(&mut candidate);
    tick_until_campaign(&mut candidate);
    assert_eq!((candidate.term(), candidate.role()), (2, Role::Candidate));
    let actions = receive(&mut candidate, 2, grant(1));
    assert_eq!(candidate.role(), Role::Candidate);
    assert!(
        actions.is_empty(),
        "a stale response is dropped: {actions:?}"
    );
}

/// Raft §5.2 / Figure 2, candidates: "If AppendEntries RPC received from new leader: convert
/// to follower". The vote of that term is kept, so a second candidate of the same term is
/// refused (akka-raft #56, etcd #2461).
#[test]
fn candidate_stepping_down_in_its_term_keeps_its_vote() {
    let mut candidate = node(1);
    tick_until_campaign(&mut candidate);
    receive(&mut candidate, 2, append(1, 0, 0, vec![], 0));
    assert_eq!(candidate.role(), Role::Follower);
    assert_eq!((candidate.term(), candidate.vote()), (1, Some(1)));
    assert_eq!(candidate.leader(), Some(2));
    let actions = receive(&mut candidate, 3, vote_request(1, 5, 1));
    assert_eq!(vote_answer(&actions, 3), Some((1, false)));
    assert_eq!(candidate.vote(), Some(1));
}

/// Raft §5.2: "election timeouts are chosen randomly from a fixed interval", here
/// [election_ticks, 2 * election_ticks), drawn from `Config::seed` so nodes split.
#[test]
fn election_timeout_is_randomized_within_bounds_and_by_seed() {
    let mut first_timeouts = BTreeSet::new();
    for seed in 0..32 {
        let mut config = config(1);
        config.seed = seed;
        let mut node: Node = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
        // The first timeout, then the re-drawn timeouts of two more candidacies.
        for round in 0..3 {
            let (ticks, _) = ticks_until_campaign(&mut node);
            assert!((10..20).contains(&ticks), "seed {seed}: {ticks} ticks");
            if round == 0 {
                first_timeouts.insert(ticks);
            }
        }
    }
    assert!(
        first_timeouts.len() >= 3,
        "timeouts barely vary: {first_timeouts:?}"
    );
}

// ----- leaders -----

/// Raft §8 (and thesis §6.4): a new leader appends a no-op entry of its term, persists it and
/// sends it to every follower, so it can commit earlier entries without a client.
#[test]
fn leader_appends_a_noop_at_the_start_of_its_term() {
    let mut leader = restored_node(config(1), 1, &[1, 1]);
    let actions = elect(&mut leader, 2);
    let noop = Entry {
        term: 2,
        index: 3,
        payload: Payload::noop(),
    };
    assert_eq!(leader.entry(3), Some(&noop));
    assert_eq!(persisted_entries(&actions), vec![vec![noop.clone()]]);
    let persisted = position(&actions, |action| matches!(action, Action::Persist(_))).unwrap();
    assert!(persisted < position(&actions, is_send).unwrap());
    for peer in [2, 3] {
        assert_eq!(appends_to(&actions, peer), vec![(2, vec![noop.clone()])]);
    }
}

/// Raft §5.2 / Figure 2, leaders: "send initial empty AppendEntries RPCs (heartbeat) to each
/// server; repeat during idle periods to prevent election timeouts", here every
/// `heartbeat_ticks` ticks; a leader never times out itself.
#[test]
fn leader_sends_heartbeats_every_heartbeat_ticks() {
    let mut leader = node(1);
    elect(&mut leader, 2);
    let heartbeat_ticks = leader.config().heartbeat_ticks;
    for tick in 1..=10 * heartbeat_ticks {
        let actions = leader.step(Event::Tick);
        let expected = usize::from(tick % heartbeat_ticks == 0);
        for peer in [2, 3] {
            assert_eq!(appends_to(&actions, peer).len(), expected, "tick {tick}");
        }
    }
    assert_eq!((leader.role(), leader.term()), (Role::Leader, 1));
}

/// Raft §5.4.2 / Figure 8 / Figure 2, leaders: commit N only if "log[N].term ==
/// currentTerm". An entry of an earlier term stored on a majority is not committed by
/// counting; it is committed once an entry of the current term above it is (LogCabin #44).
#[test]
fn leader_never_commits_an_earlier_term_by_counting_replicas() {
    let mut leader_config = config(1);
    leader_config.max_entries_per_message = 1; // entry 2 travels alone
    let mut leader = restored_node(leader_config, 2, &[1, 2]);
    let mut follower = restored_node(config(2), 2, &[1]);
    let to_follower = elect(&mut leader, 3);
    assert_eq!(leader.term(), 3);
    let answers = deliver(&to_follower, 1, &mut follower); // rejects: it lacks entry 2
    let to_follower = deliver(&answers, 2, &mut leader);
    let answers = deliver(&to_follower, 1, &mut follower); // stores entry 2 of term 2
    assert_eq!(follower.last_index(), 2);
    let to_follower = deliver(&answers, 2, &mut leader);
    // Entry 2 (term 2) is on a majority, {1, 2}, but belongs to an earlier term.
    assert_eq!(leader.commit_index(), 0);
    assert!(applied(&to_follower).is_empty());
    let answers = deliver(&to_follower, 1, &mut follower); // stores the no-op of term 3
    assert_eq!(follower.last_index(), 3);
    let actions = deliver(&answers, 2, &mut leader);
    assert_eq!(leader.commit_index(), 3);
    assert_eq!(applied(&actions), vec![1, 2, 3]);
}

// ----- AppendEntries receiver -----

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 2: "Reply false if log doesn't contain
/// an entry at prevLogIndex whose term matches prevLogTerm", with a hint (the largest index at
/// or below prevLogIndex with a term at most prevLogTerm). Missing entry case.
#[test]
fn append_with_missing_prev_is_rejected_with_a_hint() {
    let mut follower = restored_node(config(1), 1, &[1, 1, 1]);
    let actions = receive(&mut follower, 2, append(2, 6, 2, vec![entry(7, 2)], 7));
    let expected = AppendOutcome::Rejected {
        rejected_index: 6,
        hint_index: 3,
        hint_term: 1,
    };
    assert_eq!(append_answer(&actions, 2), Some((2, expected)));
    assert_eq!(follower.entries(), log_of(&[1, 1, 1]).as_slice());
    assert_eq!(follower.commit_index(), 0);
    assert!(persisted_entries(&actions).is_empty());
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 2, mismatching term case: the hint skips
/// the whole conflicting term.
#[test]
fn append_with_mismatching_prev_is_rejected_with_a_hint() {
    let mut follower = restored_node(config(1), 3, &[1, 1, 3, 3]);
    let actions = receive(&mut follower, 2, append(4, 4, 2, vec![entry(5, 4)], 5));
    let expected = AppendOutcome::Rejected {
        rejected_index: 4,
        hint_index: 2,
        hint_term: 1,
    };
    assert_eq!(append_answer(&actions, 2), Some((4, expected)));
    assert_eq!(follower.entries(), log_of(&[1, 1, 3, 3]).as_slice());
    assert!(persisted_entries(&actions).is_empty());
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 3: "If an existing entry conflicts with
/// a new one (same index but different terms), delete the existing entry and all that follow
/// it", and the deletion is persisted with the new entries.
#[test]
fn append_deletes_a_conflicting_entry_and_all_that_follow() {
    let mut follower = restored_node(config(1), 2, &[1, 1, 2, 2]);
    let actions = receive(&mut follower, 2, append(3, 2, 1, vec![entry(3, 3)], 0));
    assert_eq!(follower.entries(), log_of(&[1, 1, 3]).as_slice());
    assert_eq!(persisted_entries(&actions), vec![vec![entry(3, 3)]]);
    let accepted = AppendOutcome::Accepted { match_index: 3 };
    assert_eq!(append_answer(&actions, 2), Some((3, accepted)));
    let persisted = position(&actions, |action| matches!(action, Action::Persist(_))).unwrap();
    assert!(
        persisted < position(&actions, is_send).unwrap(),
        "ack before durable"
    );
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 4: "Append any new entries not already
/// in the log": entries already held are neither rewritten nor persisted again.
#[test]
fn append_adds_only_entries_not_already_in_the_log() {
    let mut follower = restored_node(config(1), 1, &[1, 1]);
    let message = append(1, 1, 1, vec![entry(2, 1), entry(3, 1)], 0);
    let actions = receive(&mut follower, 2, message.clone());
    assert_eq!(follower.entries(), log_of(&[1, 1, 1]).as_slice());
    assert_eq!(persisted_entries(&actions), vec![vec![entry(3, 1)]]);
    // The same message again (a duplicate) changes nothing and is acknowledged again.
    let actions = receive(&mut follower, 2, message);
    assert!(persisted_entries(&actions).is_empty());
    let accepted = AppendOutcome::Accepted { match_index: 3 };
    assert_eq!(append_answer(&actions, 2), Some((1, accepted)));
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 5: "If leaderCommit > commitIndex, set
/// commitIndex = min(leaderCommit, index of last new entry)", then apply (all servers:
/// "If commitIndex > lastApplied: ... apply").
#[test]
fn append_commits_up_to_min_of_leader_commit_and_last_new_entry() {
    let mut follower = node(1);
    let entries = vec![entry(1, 1), entry(2, 1), entry(3, 1)];
    let actions = receive(&mut follower, 2, append(1, 0, 0, entries.clone(), 2));
    assert_eq!(follower.commit_index(), 2, "bounded by leader_commit");
    assert_eq!(applied(&actions), vec![1, 2]);

    let mut follower = node(1);
    let actions = receive(&mut follower, 2, append(1, 0, 0, entries, 9));
    assert_eq!(follower.commit_index(), 3, "bounded by the last new entry");
    assert_eq!(applied(&actions), vec![1, 2, 3]);
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 5, "index of last new entry": a follower
/// commits only what this append verified. An empty append with prev=9 and leader_commit=11
/// must not commit a stale local entry 10 (copycat #265, scylladb #9965).
#[test]
fn append_never_commits_an_entry_it_has_not_verified() {
    let mut follower = restored_node(config(1), 1, &[1; 10]);
    let actions = receive(&mut follower, 2, append(2, 9, 1, vec![], 11));
    assert_eq!(follower.commit_index(), 9);
    assert_eq!(applied(&actions), (1..=9).collect::<Vec<_>>());
    assert_eq!(
        follower.last_index(),
        10,
        "entry 10 is kept, just not committed"
    );
}

/// Raft §5.3 / Figure 2, AppendEntries receiver rule 3 applies only to a *conflicting* entry:
/// a stale, shorter append of the same leader must not truncate the matching suffix
/// (raftos #26, openraft #511).
#[test]
fn stale_shorter_append_does_not_truncate_a_matching_suffix() {
    let mut follower = node(1);
    receive(&mut follower, 2, append(1, 0, 0, log_of(&[1, 1, 1, 1]), 0));
    let actions = receive(&mut follower, 2, append(1, 0, 0, log_of(&[1, 1]), 0));
    assert_eq!(follower.entries(), log_of(&[1, 1, 1, 1]).as_slice());
    assert!(persisted_entries(&actions).is_empty());
    // The answer names all four entries this leader verified in this term, not just the two
    // of the stale message: the leader's log only grows within its term.
    let accepted = AppendOutcome::Accepted { match_index: 4 };
    assert_eq!(append_answer(&actions, 2), Some((1, accepted)));
}

/// correctness.md §1.7: a follower commits at most min(leader_commit, index of the last entry
/// verified from this leader). Within a term the leader's log only grows, so entries verified
/// by an earlier append stay verified: a heartbeat from an older match index (the leader has
/// not heard the acknowledgement yet) still lets the follower commit them, and its answer
/// reports them. A new term or leader starts over.
#[test]
fn entries_verified_earlier_in_the_term_count_for_commit() {
    let mut follower = node(1);
    receive(&mut follower, 2, append(1, 0, 0, log_of(&[1, 1, 1]), 0));
    let actions = receive(&mut follower, 2, append(1, 1, 1, vec![], 3));
    assert_eq!(follower.commit_index(), 3);
    assert_eq!(applied(&actions), vec![1, 2, 3]);
    let accepted = AppendOutcome::Accepted { match_index: 3 };
    assert_eq!(append_answer(&actions, 2), Some((1, accepted)));

    // A new leader in term 2 has verified nothing yet: its heartbeat from index 3 verifies 3,
    // but entry 4 (from term 1, not yet verified by it) is not committed by leader_commit 4.
    receive(&mut follower, 2, append(1, 3, 1, vec![entry(4, 1)], 3));
    let actions = receive(&mut follower, 3, append(2, 3, 1, vec![], 4));
    assert_eq!(
        follower.commit_index(),
        3,
        "entry 4 is not verified by the term-2 leader"
    );
    let accepted = AppendOutcome::Accepted { match_index: 3 };
    assert_eq!(append_answer(&actions, 3), Some((2, accepted)));
}

// ----- leaders: replication -----

/// Replicates to node 2 from a leader of `leader_terms` (restored at its last term) over a
/// follower of `follower_terms`; answers how many round trips the follower's log took to equal
/// the leader's.
fn round_trips_to_repair(leader_terms: &[Term], follower_terms: &[Term]) -> usize {
    let term = leader_terms
        .iter()
        .chain(follower_terms)
        .copied()
        .max()
        .unwrap();
    let mut leader = restored_node(config(1), term, leader_terms);
    let mut follower = restored_node(config(2), term, follower_terms);
    let mut actions = elect(&mut leader, 3);
    let mut round_trips = 0;
    while follower.entries() != leader.entries() {
        assert!(round_trips < 100, "the follower is never repaired");
        let answers = deliver(&actions, 1, &mut follower);
        actions = deliver(&answers, 2, &mut leader);
        round_trips += 1;
    }
    round_trips
}

/// Raft §5.3 / Figure 2, leaders: "If AppendEntries fails because of log inconsistency:
/// decrement nextIndex and retry", with the optimization of §5.3 ("the follower can include
/// the term of the conflicting entry ..."): a follower whose log diverges over 1,000+ entries
/// across few terms is repaired in a handful of round trips, not one per entry.
#[test]
fn conflict_hint_repairs_a_long_divergence_in_few_round_trips() {
    let prefix = [1; 5];
    // The follower holds 1,200 entries of a term the leader never saw.
    let leader: Vec<Term> = prefix.iter().chain(&[3; 1000]).copied().collect();
    let follower: Vec<Term> = prefix.iter().chain(&[2; 1200]).copied().collect();
    let round_trips = round_trips_to_repair(&leader, &follower);
    assert!(round_trips <= 5, "{round_trips} round trips");
    // The follower holds 1,100 entries of term 3; the leader has 500 of term 2, 600 of term 4.
    let leader: Vec<Term> = prefix
        .iter()
        .chain(&[2; 500])
        .chain(&[4; 600])
        .copied()
        .collect();
    let follower: Vec<Term> = prefix.iter().chain(&[3; 1100]).copied().collect();
    let round_trips = round_trips_to_repair(&leader, &follower);
    assert!(round_trips <= 5, "{round_trips} round trips");
}

/// A leader of term 2 whose log is [1 x 8] plus its no-op at 9, elected by node 3; node 2 has
/// not answered yet.
fn leader_with_nine_entries() -> Node {
    let mut leader = restored_node(config(1), 1, &[1; 8]);
    elect(&mut leader, 3);
    assert_eq!(leader.last_index(), 9);
    leader
}

/// Raft Figure 2, leaders: "If successful: update nextIndex and matchIndex"; matchIndex is
/// "monotonically increasing", so an older answer delivered late (match=5 after match=9) must
/// not move it back (raft.tla #18, raftos #25, PySyncObj #167).
#[test]
fn match_index_never_goes_backwards_on_reordered_responses() {
    let mut leader = leader_with_nine_entries();
    receive(&mut leader, 2, accepted(2, 9));
    assert_eq!(match_index_of(&leader, 2), 9);
    assert_eq!(leader.commit_index(), 9);
    let actions = receive(&mut leader, 2, accepted(2, 5));
    assert_eq!(match_index_of(&leader, 2), 9);
    assert_eq!(leader.commit_index(), 9);
    assert!(appends_to(&actions, 2).iter().all(|(prev, _)| *prev >= 9));
}

/// Raft §5.3 / Figure 2, leaders: a rejection moves nextIndex back only if it answers an
/// append still outstanding; a stale one (answering an older append) never moves it to or
/// below matchIndex (tikv/raft-rs #555).
#[test]
fn stale_rejection_does_not_move_next_below_match() {
    let mut leader = leader_with_nine_entries();
    receive(&mut leader, 2, accepted(2, 9));
    let stale = Message::AppendEntriesResponse {
        term: 2,
        outcome: AppendOutcome::Rejected {
            rejected_index: 5,
            hint_index: 3,
            hint_term: 1,
        },
    };
    let actions = receive(&mut leader, 2, stale);
    assert!(appends_to(&actions, 2).iter().all(|(prev, _)| *prev >= 9));
    assert_eq!(match_index_of(&leader, 2), 9);
    let actions = leader.step(Event::Propose(10));
    assert_eq!(
        appends_to(&actions, 2),
        vec![(
            9,
            vec![Entry {
                term: 2,
                index: 10,
                payload: Payload::Command(10)
            }]
        )]
    );
}

/// A leader of term 1 (config `config`) whose no-op node 2 (and node 3 if `both`) has
/// acknowledged, so that it replicates to them in pipeline.
fn leader_with_caught_up_followers(config: Config, both: bool) -> Node {
    let mut leader: Node = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    elect(&mut leader, 2);
    receive(&mut leader, 2, accepted(1, 1));
    if both {
        receive(&mut leader, 3, accepted(1, 1));
    }
    assert_eq!(leader.commit_index(), 1);
    leader
}

/// Raft §5.3 / Figure 2, leaders: "send AppendEntries RPC with log entries starting at
/// nextIndex"; with a caught-up follower the leader pipelines appends without waiting for
/// answers, but never more than `max_inflight_appends` at once (bounded memory,
/// ARCHITECTURE.md §2).
#[test]
fn leader_pipelines_at_most_max_inflight_appends() {
    let mut config = config(1);
    config.max_inflight_appends = 3;
    let mut leader = leader_with_caught_up_followers(config, false);
    let mut sent = Vec::new();
    for command in 0..6 {
        let actions = leader.step(Event::Propose(command));
        sent.extend(appends_to(&actions, 2));
    }
    assert_eq!(sent.len(), 3, "three in flight, none answered: {sent:?}");
    let last_of_first = sent[0].1.last().unwrap().index;
    let actions = receive(&mut leader, 2, accepted(1, last_of_first));
    let more = appends_to(&actions, 2);
    assert_eq!(more.len(), 1, "one answer frees one slot");
    assert_eq!(
        more[0].0,
        sent[2].1.last().unwrap().index,
        "continues the pipeline"
    );
}

/// Replicates a leader's log of ten commands plus its no-op to an empty node 2, answering
/// every append the leader sent node 2.
fn replicate_eleven_entries(config: Config) -> Vec<Vec<Entry<u64>>> {
    let mut leader = restored_node(config, 1, &[1; 10]);
    let mut follower = node(2);
    let actions = elect(&mut leader, 3);
    let rounds = exchange(&mut leader, &mut follower, actions);
    assert_eq!(follower.entries(), leader.entries());
    let appends = rounds
        .into_iter()
        .flatten()
        .filter_map(|message| match message {
            Message::AppendEntries { entries, .. } if !entries.is_empty() => {
                Some(entries.into_vec())
            }
            _ => None,
        });
    appends.collect()
}

/// ARCHITECTURE.md §2, bounded everything: each append carries at most `max_entries_per_message`
/// entries, and the log is still replicated whole.
#[test]
fn appends_carry_at_most_max_entries_per_message() {
    let mut config = config(1);
    config.max_entries_per_message = 3;
    let appends = replicate_eleven_entries(config);
    assert!(
        appends.len() >= 4,
        "eleven entries need four appends: {appends:?}"
    );
    assert!(appends.iter().all(|entries| entries.len() <= 3));
}

/// ARCHITECTURE.md §2, bounded everything: each append carries at most
/// `max_bytes_per_message` bytes of payload (8 per `u64` command, so two commands per append
/// here).
#[test]
fn appends_carry_at_most_max_bytes_per_message() {
    let mut config = config(1);
    config.max_bytes_per_message = 20;
    let appends = replicate_eleven_entries(config);
    for entries in &appends {
        let bytes: usize = entries.iter().map(|entry| entry.payload.size_bytes()).sum();
        assert!(bytes <= 20, "{bytes} bytes in {entries:?}");
    }
    assert!(
        appends.len() >= 5,
        "ten commands need five appends: {appends:?}"
    );
}

/// `Event::ProposeBatch`: a burst of proposals goes out as one `Persist::Entries` and one
/// append per follower, and the ordering rule (the Persist before every Send carrying its
/// entries, Figure 2 / thesis §3.8) holds. One `BatchAccepted` names where they went.
#[test]
fn a_batch_goes_out_as_one_persist_and_one_append_per_follower() {
    let mut leader = leader_with_caught_up_followers(config(1), true);
    let durable = leader.entries().to_vec();
    let out = leader.step(Event::ProposeBatch(vec![20, 21, 22]));
    let indices = |entries: &[Entry<u64>]| entries.iter().map(|e| e.index).collect::<Vec<_>>();
    let persisted = persisted_entries(&out);
    assert_eq!(persisted.len(), 1, "one Persist: {out:?}");
    assert_eq!(indices(&persisted[0]), vec![2, 3, 4]);
    for peer in [2, 3] {
        let appends = appends_to(&out, peer);
        assert_eq!(appends.len(), 1, "one append to {peer}: {out:?}");
        assert_eq!((appends[0].0, indices(&appends[0].1)), (1, vec![2, 3, 4]));
    }
    assert_ordering_rule(&durable, &out);
    let accepted = Action::BatchAccepted {
        first_index: 2,
        last_index: 4,
        term: 1,
    };
    let outcomes: Vec<_> = out
        .iter()
        .filter(|action| {
            matches!(
                action,
                Action::ProposalAccepted { .. }
                    | Action::BatchAccepted { .. }
                    | Action::ProposalRejected(_)
            )
        })
        .collect();
    assert_eq!(outcomes, vec![&accepted]);
    let commands: Vec<_> = leader.entries()[1..]
        .iter()
        .map(|entry| entry.payload.clone())
        .collect();
    assert_eq!(commands, [20, 21, 22].map(Payload::Command));
}

/// `Event::ProposeBatch` is refused as a whole, nothing appended, with the reason a single
/// proposal would get: not the leader, one command beyond the message bound, or more
/// uncommitted entries than the bound (a batch that alone exceeds it can never go); and an
/// empty batch is refused too.
#[test]
fn a_batch_is_refused_as_a_whole() {
    let mut config = config(1);
    config.max_bytes_per_message = 8;
    config.max_uncommitted_entries = 4;
    let mut follower: Raft<Vec<u8>> =
        Raft::new(config.clone(), Restored::bootstrap([1, 2, 3])).unwrap();
    let actions = follower.step(Event::ProposeBatch(vec![vec![1]]));
    let not_leader = ProposeError::NotLeader { leader_hint: None };
    assert_eq!(actions, vec![Action::ProposalRejected(not_leader)]);

    let mut leader: Raft<Vec<u8>> = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    elect(&mut leader, 2);
    let refusals = [
        (vec![], ProposeError::EmptyBatch),
        (
            vec![vec![1], vec![2; 9], vec![3]],
            ProposeError::CommandTooLarge {
                size_bytes: 9,
                limit: 8,
            },
        ),
        // The no-op waits for commit: with four more, five would.
        (
            vec![vec![1]; 4],
            ProposeError::TooManyUncommitted { limit: 4 },
        ),
    ];
    for (batch, error) in refusals {
        let actions = leader.step(Event::ProposeBatch(batch));
        assert_eq!(actions, vec![Action::ProposalRejected(error)]);
        assert_eq!(leader.last_index(), 1, "nothing appended");
    }
    let actions = leader.step(Event::ProposeBatch(vec![vec![1]; 3]));
    let accepted = Action::BatchAccepted {
        first_index: 2,
        last_index: 4,
        term: 1,
    };
    assert!(actions.contains(&accepted), "{actions:?}");
}

/// `Raft::step_into`: once the host has emptied the buffer, what it took is gone; the next
/// proposal goes out in a new `Persist::Entries` and new appends (pipelined after the first),
/// never by reaching for an action the host already carried out.
#[test]
fn a_proposal_after_the_buffer_was_emptied_goes_out_in_new_actions() {
    let mut leader = leader_with_caught_up_followers(config(1), true);
    let mut out = Vec::new();
    leader.step_into(Event::Propose(20), &mut out);
    let first: Vec<Action<u64>> = std::mem::take(&mut out);
    assert_eq!(persisted_entries(&first).len(), 1);
    for round in 0..3u64 {
        let index = 3 + round;
        leader.step_into(Event::Propose(21 + round), &mut out);
        let persisted = persisted_entries(&out);
        assert_eq!(persisted.len(), 1, "round {round}: {out:?}");
        assert_eq!(
            persisted[0].iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![index]
        );
        for peer in [2, 3] {
            let appends = appends_to(&out, peer);
            assert_eq!(
                appends.len(),
                1,
                "round {round}, one append to {peer}: {out:?}"
            );
            let (prev_log_index, entries) = &appends[0];
            assert_eq!(*prev_log_index, index - 1);
            assert_eq!(
                entries.iter().map(|e| e.index).collect::<Vec<_>>(),
                vec![index]
            );
        }
        out.clear();
    }
}

// ----- proposals -----

/// Raft §8: "If the client contacts a follower, the follower rejects the request and supplies
/// information about the most recent leader it has heard from"; nothing is appended.
#[test]
fn non_leader_rejects_a_proposal_naming_the_known_leader() {
    let mut follower = node(1);
    let actions = follower.step(Event::Propose(7));
    let unknown = ProposeError::NotLeader { leader_hint: None };
    assert_eq!(actions, vec![Action::ProposalRejected(unknown)]);

    receive(&mut follower, 2, append(1, 0, 0, vec![], 0));
    let actions = follower.step(Event::Propose(7));
    let known = ProposeError::NotLeader {
        leader_hint: Some(2),
    };
    assert_eq!(actions, vec![Action::ProposalRejected(known)]);
    assert_eq!(follower.last_index(), 0);
}

/// ARCHITECTURE.md §2, bounded everything: a leader holding `max_uncommitted_entries` uncommitted
/// entries rejects proposals explicitly (never drops them silently), and accepts again once
/// some commit.
#[test]
fn leader_rejects_proposals_beyond_max_uncommitted_entries() {
    let mut config = config(1);
    config.max_uncommitted_entries = 3;
    let mut leader: Node = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    elect(&mut leader, 2); // the no-op is the first uncommitted entry
    for command in [1, 2] {
        let actions = leader.step(Event::Propose(command));
        assert!(actions
            .iter()
            .any(|a| matches!(a, Action::ProposalAccepted { .. })));
    }
    let actions = leader.step(Event::Propose(3));
    let refused = ProposeError::TooManyUncommitted { limit: 3 };
    assert_eq!(actions, vec![Action::ProposalRejected(refused)]);
    assert_eq!(leader.last_index(), 3);

    receive(&mut leader, 2, accepted(1, 3));
    assert_eq!(leader.commit_index(), 3);
    let actions = leader.step(Event::Propose(4));
    let placed = Action::ProposalAccepted { index: 4, term: 1 };
    assert!(actions.contains(&placed), "{actions:?}");
}

// ----- restart and determinism -----

/// Raft Figure 2, "persistent state on all servers" (currentTerm, votedFor, log[]): a node
/// rebuilt from what its `Persist` actions wrote has the same term, vote and log, keeps its
/// vote (no second vote in the term), and applies again from `applied + 1` (Figure 2,
/// lastApplied is volatile: the host tells how far it got).
#[test]
fn restart_from_persisted_state_restores_term_vote_and_log() {
    let mut leader = node(1);
    let mut follower = node(2);
    let mut disk = Disk::default();
    let votes = tick_until_campaign(&mut leader);
    let answer = deliver(&votes, 1, &mut follower);
    disk.write(&answer);
    let mut actions = deliver(&answer, 2, &mut leader);
    for command in [100, 101, 102] {
        actions.extend(leader.step(Event::Propose(command)));
    }
    while !sent_to(&actions, 2).is_empty() {
        let answers = deliver(&actions, 1, &mut follower);
        disk.write(&answers);
        actions = deliver(&answers, 2, &mut leader);
    }
    assert_eq!(follower.commit_index(), 4);

    let mut restarted: Node = Raft::new(config(2), disk.restored(2)).unwrap();
    assert_eq!(restarted.hard_state(), follower.hard_state());
    assert_eq!(restarted.vote(), Some(1));
    assert_eq!(restarted.entries(), follower.entries());
    assert_eq!(restarted.applied_index(), 2);
    let refused = receive(&mut restarted, 3, vote_request(1, 9, 1));
    assert_eq!(
        vote_answer(&refused, 3),
        Some((1, false)),
        "voted for 1 already"
    );

    let mut heartbeat = Vec::new();
    for _ in 0..leader.config().heartbeat_ticks {
        heartbeat.extend(leader.step(Event::Tick));
    }
    let actions = deliver(&heartbeat, 1, &mut restarted);
    assert_eq!(applied(&actions), vec![3, 4]);
}

/// Runs node 1 through a fixed script of events and answers every action and its final
/// status.
fn run_script(seed: u64) -> (Vec<Actions>, pureraft::Status) {
    let mut config = config(1);
    config.seed = seed;
    let mut node: Node = Raft::new(config, Restored::bootstrap([1, 2, 3])).unwrap();
    // 19 ticks: exactly one campaign, as the first timeout lies in [10, 20).
    let mut events: Vec<Event<u64>> = vec![Event::Tick; 19];
    events.push(Event::Receive {
        from: 2,
        message: grant(1),
    });
    events.extend([Event::Propose(5), Event::Propose(6)]);
    events.push(Event::Receive {
        from: 3,
        message: accepted(1, 2),
    });
    events.extend(vec![Event::Tick; 7]);
    events.push(Event::Receive {
        from: 3,
        message: vote_request(4, 0, 0),
    });
    events.extend(vec![Event::Tick; 40]);
    let actions = events.into_iter().map(|event| node.step(event)).collect();
    (actions, node.status())
}

/// ARCHITECTURE.md §2: same configuration, same state, same events: same actions, bit for bit (no
/// clock, no global randomness; `Config::seed` is the only chance).
#[test]
fn same_config_state_and_events_give_identical_actions() {
    let (actions, status) = run_script(7);
    assert_eq!(run_script(7), (actions.clone(), status));
    // The script does exercise an election, replication and a step-down.
    assert!(actions
        .iter()
        .flatten()
        .any(|a| matches!(a, Action::Apply(_))));
    assert!(status.term >= 4);
}
