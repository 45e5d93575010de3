//! Commit notices (`Message::Commit`), one test per rule, through the public API: nodes driven
//! by hand with `Raft::step` and hand-built messages, without the simulator. A leader sends a
//! notice to a follower that is replicating and has answered every append, when the commit
//! index passed what it last told that follower; the follower commits up to what it verified
//! from this leader and answers only when it does not hold the notice's `match_index` entry
//! (exactly like an empty append from there). Each test's doc comment names the rule it checks.

mod common;

use std::collections::VecDeque;

use pureraft::{
    Action, AppendOutcome, Entry, Event, HardState, LogIndex, Message, NodeId, Payload, Persist,
    Raft, Role, Term, MESSAGE_HEADER_BYTES, TERM_MAX,
};

use common::hand::*;

// ----- helpers (the shared ones are in `common::hand`) -----

/// A message on the wire: sender, receiver, message.
type Envelope = (NodeId, NodeId, Message<u64>);

/// The nodes {1, 2, 3} driven by hand, and the messages sent between them and not yet
/// delivered, in the order they were sent.
struct Cluster {
    nodes: Vec<Node>,
    in_flight: VecDeque<Envelope>,
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            nodes: vec![node(1), node(2), node(3)],
            in_flight: VecDeque::new(),
        }
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.nodes[usize::try_from(id - 1).unwrap()]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[usize::try_from(id - 1).unwrap()]
    }

    /// Queues every message `actions` of node `from` send.
    fn queue(&mut self, from: NodeId, actions: &[Action<u64>]) {
        for action in actions {
            if let Action::Send { to, message } = action {
                self.in_flight.push_back((from, *to, message.clone()));
            }
        }
    }

    /// Steps node `id` with `event`, queues what it sends, and returns its actions.
    fn step(&mut self, id: NodeId, event: Event<u64>) -> Actions {
        let actions = self.node_mut(id).step(event);
        self.queue(id, &actions);
        actions
    }

    /// Takes every message in flight (none is delivered).
    fn take(&mut self) -> Vec<Envelope> {
        self.in_flight.drain(..).collect()
    }

    /// Delivers one message, queues what the receiver sends, and returns its actions.
    fn deliver(&mut self, (from, to, message): Envelope) -> Actions {
        self.step(to, Event::Receive { from, message })
    }

    /// Delivers the oldest message in flight; returns the receiver's actions.
    fn deliver_next(&mut self) -> Actions {
        let envelope = self.in_flight.pop_front().expect("a message in flight");
        self.deliver(envelope)
    }

    /// Delivers every message now in flight (not those they cause).
    fn deliver_round(&mut self) {
        for envelope in self.take() {
            self.deliver(envelope);
        }
    }

    /// Delivers messages, and those they cause, until none is left.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let Some(envelope) = self.in_flight.pop_front() else {
                return;
            };
            self.deliver(envelope);
        }
        panic!("the cluster does not settle");
    }

    /// Ticks node `id` until it sends something, at most `election_ticks` ticks; returns the
    /// actions of that tick.
    fn tick_until_send(&mut self, id: NodeId) -> Actions {
        for _ in 0..self.node(id).config().election_ticks {
            let actions = self.step(id, Event::Tick);
            if actions.iter().any(|a| matches!(a, Action::Send { .. })) {
                return actions;
            }
        }
        panic!("node {id} sent nothing within election_ticks");
    }
}

/// Node 1 leading term 1 of {1, 2, 3}, elected by both others; its no-op at index 1 is
/// committed and applied on every node, and nothing is in flight.
fn settled_cluster() -> Cluster {
    let mut cluster = Cluster::new();
    let campaign = tick_until_campaign(cluster.node_mut(1));
    cluster.queue(1, &campaign);
    cluster.settle();
    for id in 1..=3 {
        let node = cluster.node(id);
        assert_eq!((node.term(), node.leader()), (1, Some(1)), "node {id}");
        assert_eq!(
            (node.commit_index(), node.applied_index()),
            (1, 1),
            "node {id}"
        );
    }
    assert_eq!(cluster.node(1).role(), Role::Leader);
    cluster
}

/// `settled_cluster` after node 1 proposed command 2 and both appends were acknowledged: the
/// two commit notices it sent for index 2 are taken from the wire (not delivered) and
/// returned.
fn cluster_with_notices_in_flight() -> (Cluster, Vec<Envelope>) {
    let mut cluster = settled_cluster();
    cluster.step(1, Event::Propose(2));
    cluster.deliver_round(); // the appends
    cluster.deliver_round(); // their acknowledgements
    let notices = cluster.take();
    (cluster, notices)
}

/// A commit notice of `term`.
fn notice(
    term: Term,
    match_index: LogIndex,
    match_term: Term,
    leader_commit: LogIndex,
) -> Message<u64> {
    Message::Commit {
        term,
        match_index,
        match_term,
        leader_commit,
    }
}

/// The action sending `message` to `to`.
fn send(to: NodeId, message: Message<u64>) -> Action<u64> {
    Action::Send { to, message }
}

/// The action persisting `term` with no vote.
fn persist_term(term: Term) -> Action<u64> {
    Action::Persist(Persist::HardState(HardState { term, vote: None }))
}

/// The action applying the entries of `terms`, from index `first` on.
fn apply(first: LogIndex, terms: &[Term]) -> Action<u64> {
    Action::Apply(
        (first..)
            .zip(terms)
            .map(|(index, &term)| entry(index, term))
            .collect(),
    )
}

// ----- the leader sends notices -----

/// A leader tells a follower of a commit with one `Commit` notice, not an append, once that
/// follower has answered every append: from its match index, with the leader's commit. The
/// follower commits and applies, and answers nothing.
#[test]
fn acknowledged_entry_is_announced_by_one_commit_notice_that_gets_no_answer() {
    let mut cluster = settled_cluster();
    let actions = cluster.step(1, Event::Propose(2));
    assert_eq!(appends_to(&actions, 2), vec![(1, vec![entry(2, 1)])]);
    assert_eq!(appends_to(&actions, 3), vec![(1, vec![entry(2, 1)])]);
    for envelope in cluster.take() {
        cluster.deliver(envelope);
    }
    let answers = cluster.take();
    let from: Vec<NodeId> = answers.iter().map(|(from, _, _)| *from).collect();
    assert_eq!(from, vec![2, 3]);
    assert!(answers.iter().all(|(_, _, m)| *m == accepted(1, 2)));
    let mut answers = answers.into_iter();

    // Node 2's answer commits index 2: a notice to node 2; node 3 still has an append out.
    let actions = cluster.deliver(answers.next().unwrap());
    assert_eq!(
        actions,
        vec![apply(2, &[1]), send(2, notice(1, 2, 1, 2))],
        "apply, then exactly one notice, to node 2 only"
    );
    assert_eq!(cluster.node(1).commit_index(), 2);

    // Node 3's answer commits nothing new, but node 3 has not heard of commit 2 yet.
    let actions = cluster.deliver(answers.next().unwrap());
    assert_eq!(actions, vec![send(3, notice(1, 2, 1, 2))]);

    // Each follower applies on the notice and sends nothing back.
    for (from, to, message) in cluster.take() {
        assert_eq!(from, 1);
        let actions = cluster.deliver((from, to, message));
        assert_eq!(actions, vec![apply(2, &[1])], "node {to}");
        assert_eq!(cluster.node(to).commit_index(), 2);
    }
    assert!(cluster.in_flight.is_empty());

    // A duplicate answer does not bring another notice.
    let actions = cluster.deliver((2, 1, accepted(1, 2)));
    assert_eq!(actions, vec![]);
}

/// The notice waits until the follower has answered every append in flight: a commit that
/// arrives while later appends are out is carried by the notice after the last answer.
#[test]
fn commit_notice_waits_until_every_append_in_flight_is_answered() {
    let mut cluster = settled_cluster();
    cluster.step(1, Event::Propose(2));
    cluster.step(1, Event::Propose(3));
    let appends = cluster.take();
    assert_eq!(
        appends.len(),
        4,
        "two pipelined appends per follower: {appends:?}"
    );
    for envelope in appends {
        cluster.deliver(envelope);
    }
    let answers = cluster.take();
    let expected = [
        (2, accepted(1, 2)),
        (3, accepted(1, 2)),
        (2, accepted(1, 3)),
        (3, accepted(1, 3)),
    ];
    let got: Vec<_> = answers
        .iter()
        .map(|(from, _, m)| (*from, m.clone()))
        .collect();
    assert_eq!(got, expected);
    let mut answers = answers.into_iter();

    // Node 2 acknowledges 2: committed, but both followers still have an append out.
    assert_eq!(
        cluster.deliver(answers.next().unwrap()),
        vec![apply(2, &[1])]
    );
    // Node 3 acknowledges 2: nothing new, and its append of 3 is still out.
    assert_eq!(cluster.deliver(answers.next().unwrap()), vec![]);
    // Node 2 acknowledges 3: committed; node 2 answered everything, node 3 did not.
    assert_eq!(
        cluster.deliver(answers.next().unwrap()),
        vec![apply(3, &[1]), send(2, notice(1, 3, 1, 3))]
    );
    // Node 3 acknowledges 3: it answered everything and has not heard of commit 3.
    assert_eq!(
        cluster.deliver(answers.next().unwrap()),
        vec![send(3, notice(1, 3, 1, 3))]
    );
}

/// A notice tells only what the follower has not been told: a commit that a heartbeat
/// already carried to it is not announced again when its last answer arrives.
#[test]
fn commit_already_carried_by_a_heartbeat_is_not_announced_again() {
    let mut cluster = settled_cluster();
    cluster.step(1, Event::Propose(2));
    let mut appends = cluster.take().into_iter();
    cluster.deliver(appends.next().unwrap()); // to node 2
    let append_to_3 = appends.next().unwrap();
    assert_eq!(append_to_3.1, 3);
    // Node 2's answer commits 2 and brings node 2 its notice; node 3 has an append out.
    let actions = cluster.deliver_next();
    assert_eq!(actions, vec![apply(2, &[1]), send(2, notice(1, 2, 1, 2))]);
    cluster.take();

    // A heartbeat tells node 3 the commit; then node 3 gets the append and answers it.
    let actions = cluster.tick_until_send(1);
    assert_eq!(sent_to(&actions, 3), vec![append(1, 1, 1, vec![], 2)]);
    let heartbeats = cluster.take();
    cluster.deliver(append_to_3);
    let actions = cluster.deliver_next();
    assert_eq!(actions, vec![], "node 3 was told commit 2 by the heartbeat");
    // The heartbeat reaches node 3 last: it commits 2 (verified by the append) and answers.
    let to_3 = heartbeats.into_iter().find(|(_, to, _)| *to == 3).unwrap();
    let actions = cluster.deliver(to_3);
    assert_eq!(actions, vec![apply(2, &[1]), send(1, accepted(1, 2))]);
    assert_eq!(cluster.deliver_next(), vec![]);
}

/// A follower the leader is still probing gets no notice (its probe is unanswered); once it
/// matches, a notice tells it the commit it missed.
#[test]
fn probed_follower_gets_its_notice_once_it_matches() {
    let mut cluster = Cluster::new();
    let campaign = tick_until_campaign(cluster.node_mut(1));
    cluster.queue(1, &campaign);
    // The vote requests, then the grants: node 2's grant makes node 1 leader, which sends
    // its no-op to both.
    for _ in 0..2 {
        for envelope in cluster.take() {
            cluster.deliver(envelope);
        }
    }
    assert_eq!(cluster.node(1).role(), Role::Leader);
    let appends = cluster.take();
    assert_eq!(appends.len(), 2);
    for envelope in appends {
        cluster.deliver(envelope);
    }
    let mut answers = cluster.take().into_iter();
    // Node 2's acknowledgement commits the no-op; node 3's probe is still unanswered.
    let noop = Entry {
        term: 1,
        index: 1,
        payload: Payload::noop(),
    };
    assert_eq!(
        cluster.deliver(answers.next().unwrap()),
        vec![
            Action::Apply(vec![noop].into()),
            send(2, notice(1, 1, 1, 1))
        ]
    );
    assert_eq!(
        cluster.deliver(answers.next().unwrap()),
        vec![send(3, notice(1, 1, 1, 1))]
    );
}

// ----- the follower's side -----

/// A notice commits at most up to what the follower verified from this leader in this term:
/// `match_index` (the leader's word that the follower holds its entry there), or more if an
/// earlier append of this leader verified more, never `leader_commit` alone.
#[test]
fn notice_commits_only_up_to_what_was_verified_from_this_leader() {
    let mut follower = restored_node(config(2), 2, &[1, 1, 2, 2]);
    let actions = receive(&mut follower, 1, notice(2, 3, 2, 4));
    assert_eq!(actions, vec![apply(1, &[1, 1, 2])], "no answer");
    assert_eq!((follower.commit_index(), follower.leader()), (3, Some(1)));
    let actions = receive(&mut follower, 1, notice(2, 4, 2, 4));
    assert_eq!(actions, vec![apply(4, &[2])]);
    assert_eq!(follower.commit_index(), 4);

    // An earlier append of the same leader verified up to 4: a notice from 2 commits to 4.
    let mut follower = restored_node(config(2), 2, &[1, 1, 2, 2]);
    let actions = receive(&mut follower, 1, append(2, 4, 2, vec![], 0));
    assert_eq!(
        append_answer(&actions, 1),
        Some((2, AppendOutcome::Accepted { match_index: 4 }))
    );
    let actions = receive(&mut follower, 1, notice(2, 2, 1, 4));
    assert_eq!(actions, vec![apply(1, &[1, 1, 2, 2])]);

    // Commit never exceeds the leader's commit either.
    let mut follower = restored_node(config(2), 2, &[1, 1, 2, 2]);
    let actions = receive(&mut follower, 1, notice(2, 4, 2, 1));
    assert_eq!(actions, vec![apply(1, &[1])]);
}

/// What an earlier leader verified does not count for a new leader: after leader 1 of term 2
/// verified index 4, a notice of leader 3 in term 3 from index 2 commits only up to 2.
#[test]
fn notice_of_a_new_leader_does_not_reuse_what_the_previous_leader_verified() {
    let mut follower = restored_node(config(2), 2, &[1, 1, 2, 2]);
    receive(&mut follower, 1, append(2, 4, 2, vec![], 0));
    let actions = receive(&mut follower, 3, notice(3, 2, 1, 4));
    assert_eq!(actions, vec![persist_term(3), apply(1, &[1, 1])]);
    assert_eq!(
        (follower.term(), follower.leader(), follower.commit_index()),
        (3, Some(3), 2)
    );
}

/// A notice below the follower's commit index matches whatever it says (committed entries
/// match every later leader's log), even where the follower compacted its log: no answer,
/// and commit never moves back.
#[test]
fn notice_below_our_commit_matches_without_an_answer() {
    // Restored from a snapshot at 5 (term 1), holding 6 and 7 of term 2: commit 5.
    let restored = restored_from_snapshot(2, 5, 1, &[2, 2]);
    let mut follower = Raft::new(config(2), restored).unwrap();
    assert_eq!(
        (follower.commit_index(), follower.compacted_index()),
        (5, 5)
    );
    let actions = receive(&mut follower, 1, notice(2, 3, 1, 7));
    assert_eq!(
        actions,
        vec![],
        "index 3 is compacted, below commit: matches, no answer"
    );
    assert_eq!(follower.commit_index(), 5);
    let actions = receive(&mut follower, 1, notice(2, 7, 2, 7));
    assert_eq!(actions, vec![apply(6, &[2, 2])]);
}

/// A follower that does not hold the notice's entry (its log is too short, or holds another
/// term there) answers exactly as it would answer an empty append from `match_index`: a
/// rejection of `match_index` with the conflict hint. Its commit does not move.
#[test]
fn notice_for_an_entry_not_held_is_rejected_like_an_append_from_there() {
    // Every case: a notice from (3, term 2). (follower's log, expected hint)
    let (match_index, match_term) = (3, 2);
    let cases: [(&[Term], LogIndex, Term); 3] = [
        (&[1, 1], 2, 1),    // too short
        (&[1, 1, 1], 3, 1), // another term at 3
        (&[1, 3, 3], 1, 1), // a later term at 2 and 3: the hint skips it
    ];
    for (log, hint_index, hint_term) in cases {
        let mut follower = restored_node(config(2), 3, log);
        let mut twin = follower.clone();
        let actions = receive(&mut follower, 1, notice(3, match_index, match_term, 3));
        let expected = rejected(3, match_index, hint_index, hint_term);
        assert_eq!(actions, vec![send(1, expected)], "log {log:?}");
        assert_eq!(follower.commit_index(), 0);
        assert_eq!(follower.leader(), Some(1));
        let as_append = receive(&mut twin, 1, append(3, match_index, match_term, vec![], 3));
        assert_eq!(
            actions, as_append,
            "a notice is rejected like an append, log {log:?}"
        );
    }
}

/// A rejected notice is answered like a rejected heartbeat from the match index: the leader
/// takes a rejection at or below what the follower acknowledged as stale (a reordered answer),
/// so it does not re-probe. Only a follower that lost entries it acknowledged (its disk broke
/// the ordering rule's promise) rejects a notice; that follower is outside the fault model and
/// is not repaired within the term (a documented limit). The leader has follower 2
/// replicating at match 2 and sends it a notice from 2; node 2 has lost entry 2.
#[test]
fn rejected_notice_at_the_match_is_taken_as_stale() {
    let (mut cluster, notices) = cluster_with_notices_in_flight();
    assert_eq!(notices[0], (1, 2, notice(1, 2, 1, 2)));
    // Node 2 restarts having lost entry 2.
    *cluster.node_mut(2) = restored_node(config(2), 1, &[1]);
    let actions = cluster.deliver(notices[0].clone());
    assert_eq!(actions, vec![send(1, rejected(1, 2, 1, 1))]);
    let before = cluster.node(1).status();
    let actions = cluster.deliver_next();
    assert_eq!(actions, vec![], "a rejection at the match index is stale");
    assert_eq!(cluster.node(1).status(), before);
}

// ----- terms and roles -----

/// Figure 2, AppendEntries receiver rule 1, for a notice: a notice of a stale term is refused
/// with our term (a rejection of `match_index`, no hint) so that its sender steps down;
/// nothing else changes.
#[test]
fn stale_notice_is_refused_with_our_term_and_its_leader_steps_down() {
    let (mut cluster, notices) = cluster_with_notices_in_flight();
    let to_2 = notices.iter().find(|(_, to, _)| *to == 2).unwrap().clone();
    assert_eq!(to_2, (1, 2, notice(1, 2, 1, 2)));

    // Meanwhile node 2 moved to term 2, voting for node 3.
    let actions = cluster.deliver((3, 2, vote_request(2, 2, 1)));
    assert_eq!(vote_answer(&actions, 3), Some((2, true)));
    cluster.take();
    let before = cluster.node(2).status();

    let actions = cluster.deliver(to_2);
    assert_eq!(actions, vec![send(1, rejected(2, 2, 0, 0))]);
    assert_eq!(cluster.node(2).status(), before, "nothing else changes");
    assert_eq!(cluster.node(2).commit_index(), 1);

    let actions = cluster.deliver_next();
    assert_eq!(actions, vec![persist_term(2)]);
    let leader = cluster.node(1);
    assert_eq!(
        (leader.role(), leader.term(), leader.leader()),
        (Role::Follower, 2, None)
    );
}

/// Figure 2, all servers: a notice of a higher term is a leader's message: a follower or a
/// candidate adopts the term, persists it (with no vote) before anything else, follows the
/// sender, and then handles the notice.
#[test]
fn higher_term_notice_makes_a_follower_or_candidate_follow_its_sender() {
    let follower = restored_node(config(2), 1, &[1, 1]);
    let mut candidate = follower.clone();
    tick_until_campaign(&mut candidate);
    assert_eq!((candidate.role(), candidate.term()), (Role::Candidate, 2));
    for original in [follower, candidate] {
        let mut node = original.clone();
        let actions = receive(&mut node, 1, notice(3, 2, 1, 2));
        assert_eq!(actions, vec![persist_term(3), apply(1, &[1, 1])]);
        assert_eq!(node.role(), Role::Follower);
        assert_eq!(
            (node.term(), node.vote(), node.leader()),
            (3, None, Some(1))
        );

        // Not holding the entry: the rejection comes after the new term is durable.
        let mut node = original.clone();
        let actions = receive(&mut node, 1, notice(3, 5, 3, 5));
        assert_eq!(
            actions,
            vec![persist_term(3), send(1, rejected(3, 5, 2, 1))]
        );
        assert_eq!(
            (node.term(), node.vote(), node.leader()),
            (3, None, Some(1))
        );
        assert_eq!(node.commit_index(), 0);
    }
}

/// Figure 2, candidates: "If AppendEntries RPC received from new leader: convert to
/// follower", for a notice of our term. The vote is kept (no hard-state write), and a late
/// grant no longer makes the node leader.
#[test]
fn candidate_receiving_a_notice_of_its_term_follows_the_sender() {
    let mut candidate = restored_node(config(1), 1, &[1]);
    tick_until_campaign(&mut candidate);
    assert_eq!((candidate.role(), candidate.term()), (Role::Candidate, 2));
    let actions = receive(&mut candidate, 3, notice(2, 1, 1, 1));
    assert_eq!(actions, vec![apply(1, &[1])]);
    assert_eq!(candidate.role(), Role::Follower);
    assert_eq!(
        (candidate.term(), candidate.vote(), candidate.leader()),
        (2, Some(1), Some(3))
    );
    let actions = receive(&mut candidate, 2, grant(2));
    assert_eq!(actions, vec![]);
    assert_eq!(candidate.role(), Role::Follower);
}

/// Election safety: a leader receiving a notice of its own term (which no correct peer
/// sends) ignores it: no output, still leader, commit and matches unchanged.
#[test]
fn leader_ignores_a_notice_of_its_own_term() {
    let mut leader = restored_node(config(1), 1, &[1]);
    elect(&mut leader, 3);
    assert_eq!(
        (leader.term(), leader.last_index(), leader.commit_index()),
        (2, 2, 0)
    );
    let actions = receive(&mut leader, 2, notice(2, 2, 2, 2));
    assert_eq!(actions, vec![]);
    assert_eq!(
        (leader.role(), leader.term(), leader.leader()),
        (Role::Leader, 2, Some(1))
    );
    assert_eq!((leader.commit_index(), match_index_of(&leader, 2)), (0, 0));
}

// ----- bad input -----

/// A malformed notice (its `match_term` above its term, or a term above `TERM_MAX`) is
/// dropped before anything acts on it: no output, in any role, even at a higher term.
#[test]
fn malformed_notice_is_ignored_entirely() {
    let follower = restored_node(config(1), 2, &[1, 2]);
    let mut candidate = follower.clone();
    tick_until_campaign(&mut candidate);
    let mut leader = follower.clone();
    elect(&mut leader, 3);
    let bad = [
        notice(2, 1, 3, 1),
        notice(3, 2, 4, 2),
        notice(9, 2, 10, 2),
        notice(TERM_MAX + 1, 2, 2, 2),
    ];
    for original in [follower, candidate, leader] {
        for message in &bad {
            let mut node = original.clone();
            let actions = receive(&mut node, 2, message.clone());
            assert_eq!(actions, vec![], "{message:?} to a {:?}", original.role());
            assert_eq!(node.status(), original.status(), "{message:?}");
        }
    }
}

/// `receive`: a notice "from" the node itself is dropped (never our own append), whatever
/// its term.
#[test]
fn notice_from_ourselves_is_dropped() {
    let original = restored_node(config(2), 1, &[1]);
    for message in [notice(1, 1, 1, 1), notice(5, 1, 1, 1), notice(0, 0, 0, 0)] {
        let mut node = original.clone();
        let actions = receive(&mut node, 2, message.clone());
        assert_eq!(actions, vec![], "{message:?}");
        assert_eq!(node.status(), original.status(), "{message:?}");
    }
}

/// `receive`: a notice from a node in no configuration we know, to a node that follows a
/// leader, is handled like an append from it: dropped, whatever its term, with no change to
/// term, leader or commit (who a node listens to, crate docs; issue 14, defect 3).
#[test]
fn notice_from_an_unknown_node_is_dropped_like_its_append() {
    let mut original = restored_node(config(2), 1, &[1]);
    receive(&mut original, 1, append(1, 1, 1, vec![], 0));
    assert_eq!(original.leader(), Some(1));
    for message in [notice(3, 1, 1, 1), notice(1, 1, 1, 1), notice(0, 0, 0, 0)] {
        let mut node = original.clone();
        let actions = receive(&mut node, 9, message.clone());
        assert_eq!(actions, vec![], "{message:?}");
        assert_eq!(node.status(), original.status(), "{message:?}");
    }
}

// ----- timers and loss -----

/// Figure 2, followers: a notice of the current leader holds the election back, like an
/// append, whether it matches or is rejected; a stale notice does not.
#[test]
fn notices_reset_the_election_timer_and_stale_ones_do_not() {
    let mut follower = restored_node(config(2), 1, &[1]);
    let election_ticks = follower.config().election_ticks;
    for round in 0..10 {
        for _ in 1..election_ticks {
            follower.step(Event::Tick);
        }
        assert_eq!(
            (follower.term(), follower.role()),
            (1, Role::Follower),
            "round {round}"
        );
        // Alternately a matching notice and one that is rejected.
        let message = if round % 2 == 0 {
            notice(1, 1, 1, 1)
        } else {
            notice(1, 5, 1, 5)
        };
        receive(&mut follower, 1, message);
    }
    // Without notices it campaigns within its timeout.
    let (ticks, _) = ticks_until_campaign(&mut follower);
    assert!(ticks < 2 * election_ticks);

    // At term 2, a stale notice every tick does not hold the election back.
    let term = follower.term();
    for tick in 1..=2 * election_ticks {
        let actions = receive(&mut follower, 1, notice(1, 1, 1, 1));
        assert_eq!(actions, vec![send(1, rejected(term, 1, 0, 0))]);
        follower.step(Event::Tick);
        if follower.term() > term {
            return;
        }
        assert!(
            tick < 2 * election_ticks,
            "stale notices held the election back"
        );
    }
}

/// A lost notice costs only latency: the leader's next heartbeat is an empty append that
/// carries the commit index, and the follower applies on it (and answers it, as any append).
/// A follower whose notice arrived gets the same heartbeat and answers it too.
#[test]
fn lost_notice_is_made_up_by_the_next_heartbeat() {
    let (mut cluster, notices) = cluster_with_notices_in_flight();
    assert_eq!(
        notices,
        vec![(1, 2, notice(1, 2, 1, 2)), (1, 3, notice(1, 2, 1, 2))]
    );
    // The notice to node 2 is lost; node 3's arrives.
    assert_eq!(cluster.deliver(notices[1].clone()), vec![apply(2, &[1])]);
    assert_eq!(cluster.node(2).commit_index(), 1);

    let actions = cluster.tick_until_send(1);
    let heartbeat = append(1, 2, 1, vec![], 2);
    assert_eq!(sent_to(&actions, 2), vec![heartbeat.clone()]);
    assert_eq!(sent_to(&actions, 3), vec![heartbeat]);
    let heartbeats = cluster.take();
    let actions = cluster.deliver(heartbeats[0].clone());
    assert_eq!(actions, vec![apply(2, &[1]), send(1, accepted(1, 2))]);
    let actions = cluster.deliver(heartbeats[1].clone());
    assert_eq!(actions, vec![send(1, accepted(1, 2))]);
    // The leader needs to tell neither anything more.
    for envelope in cluster.take() {
        assert_eq!(cluster.deliver(envelope), vec![]);
    }
    for id in 1..=3 {
        assert_eq!(cluster.node(id).applied_index(), 2, "node {id}");
    }
}

// ----- the message itself -----

/// `Message::Commit` is a request (a leader's message) of a fixed size, carrying its term.
#[test]
fn commit_message_is_a_fixed_size_request() {
    let message = notice(4, 7, 3, 6);
    assert!(message.is_request());
    assert_eq!(message.term(), 4);
    assert_eq!(message.size_bytes(), MESSAGE_HEADER_BYTES);
    assert!(!rejected(4, 7, 0, 0).is_request());
}
