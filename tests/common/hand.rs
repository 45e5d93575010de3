//! Helpers for driving nodes by hand, without the simulator (`tests/paper_rules.rs`,
//! `tests/bad_input.rs`): hand-built nodes and messages, `Raft::step`, and what the answered
//! actions hold.

use pureraft::{
    Action, AppendOutcome, Command, Config, Entry, Event, HardState, LogIndex, Membership, Message,
    NodeId, Payload, Persist, Raft, ReadError, Restored, Role, Snapshot, SnapshotChunk,
    SnapshotMeta, SnapshotOutcome, Term,
};

pub type Node = Raft<u64>;
pub type Actions = Vec<Action<u64>>;

// ----- nodes and logs -----

/// The configuration of node `id`: the defaults, but for PreVote and CheckQuorum, which are
/// off. The hand-driven tests check the rules of Figure 2 and of each feature one step at a
/// time, and a node's election timer firing is a campaign there; PreVote and CheckQuorum have
/// their own (`tests/elections.rs`, with [`config_with_elections`]), and the simulator, the
/// lab tests and the soak run with the defaults.
pub fn config(id: NodeId) -> Config {
    let mut config = Config::new(id);
    config.pre_vote = false;
    config.check_quorum = false;
    config
}

/// The configuration of node `id` with the defaults: PreVote and CheckQuorum on.
pub fn config_with_elections(id: NodeId) -> Config {
    Config::new(id)
}

/// The membership {1, 2, 3} every hand-built node starts in.
pub fn three() -> Membership {
    Membership::new([1, 2, 3])
}

/// A fresh node `id` of the cluster {1, 2, 3}.
pub fn node(id: NodeId) -> Node {
    Raft::new(config(id), Restored::bootstrap([1, 2, 3])).unwrap()
}

/// A fresh node built from `config`, a founding member of a cluster of `voters`.
pub fn founding<C: Command>(config: Config, voters: &[NodeId]) -> Raft<C> {
    Raft::new(config, Restored::bootstrap(voters.iter().copied())).unwrap()
}

/// A fresh node built from `config`, a founding member of a cluster whose bootstrap
/// configuration is `voters`, `outgoing` (joint if not empty) and `learners`.
pub fn founding_in<C: Command>(
    config: Config,
    voters: &[NodeId],
    outgoing: &[NodeId],
    learners: &[NodeId],
) -> Raft<C> {
    let mut restored = Restored::bootstrap([]);
    restored.membership = Membership {
        voters: voters.to_vec(),
        outgoing: outgoing.to_vec(),
        learners: learners.to_vec(),
    };
    Raft::new(config, restored).unwrap()
}

/// Node 1 built from `config`, leading term 1 of the joint configuration moving from
/// {1, 4, 5} to {1, 2, 3}: elected by 2 and 4 (a majority of each), its no-op acknowledged by
/// both, so committed.
pub fn joint_leader(config: Config) -> Node {
    let mut leader: Node = founding_in(config, &[1, 2, 3], &[1, 4, 5], &[]);
    tick_until_campaign(&mut leader);
    receive(&mut leader, 2, grant(1));
    receive(&mut leader, 4, grant(1));
    assert_eq!(leader.role(), Role::Leader);
    let last = leader.last_index();
    receive(&mut leader, 2, accepted(1, last));
    receive(&mut leader, 4, accepted(1, last));
    assert_eq!(leader.commit_index(), last);
    leader
}

/// The entry at `index` in `term`; its command is its index, so logs are easy to compare.
pub fn entry(index: LogIndex, term: Term) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::Command(index),
    }
}

/// A log from index 1 with the given terms.
pub fn log_of(terms: &[Term]) -> Vec<Entry<u64>> {
    (1..)
        .zip(terms)
        .map(|(index, &term)| entry(index, term))
        .collect()
}

/// The state a host hands back at `term` with `vote`, holding a log of the given terms,
/// nothing applied.
pub fn restored(term: Term, vote: Option<NodeId>, log_terms: &[Term]) -> Restored<u64> {
    Restored {
        hard_state: HardState { term, vote },
        entries: log_of(log_terms),
        applied: 0,
        snapshot: None,
        membership: three(),
    }
}

/// A node restored at `term`, with no vote, holding a log of the given terms.
pub fn restored_node(config: Config, term: Term, log_terms: &[Term]) -> Node {
    Raft::new(config, restored(term, None, log_terms)).unwrap()
}

// ----- messages -----

pub fn receive<C: Command>(
    node: &mut Raft<C>,
    from: NodeId,
    message: Message<C>,
) -> Vec<Action<C>> {
    node.step(Event::Receive { from, message })
}

pub fn vote_request(term: Term, last_log_index: LogIndex, last_log_term: Term) -> Message<u64> {
    Message::RequestVote {
        term,
        last_log_index,
        last_log_term,
        transfer: false,
    }
}

pub fn grant<C>(term: Term) -> Message<C> {
    Message::RequestVoteResponse {
        term,
        vote_granted: true,
    }
}

pub fn append(
    term: Term,
    prev_log_index: LogIndex,
    prev_log_term: Term,
    entries: Vec<Entry<u64>>,
    leader_commit: LogIndex,
) -> Message<u64> {
    Message::AppendEntries {
        term,
        prev_log_index,
        prev_log_term,
        entries: entries.into(),
        leader_commit,
    }
}

pub fn accepted(term: Term, match_index: LogIndex) -> Message<u64> {
    Message::AppendEntriesResponse {
        term,
        outcome: AppendOutcome::Accepted { match_index },
    }
}

pub fn rejected(
    term: Term,
    rejected_index: LogIndex,
    hint_index: LogIndex,
    hint_term: Term,
) -> Message<u64> {
    Message::AppendEntriesResponse {
        term,
        outcome: AppendOutcome::Rejected {
            rejected_index,
            hint_index,
            hint_term,
        },
    }
}

// ----- elections -----

/// Ticks until the node's term grows (it campaigns), at most `2 * election_ticks` ticks, and
/// returns the actions of that tick.
pub fn tick_until_campaign<C: Command>(node: &mut Raft<C>) -> Vec<Action<C>> {
    ticks_until_campaign(node).1
}

/// Like `tick_until_campaign`, also answering how many ticks it took.
pub fn ticks_until_campaign<C: Command>(node: &mut Raft<C>) -> (u64, Vec<Action<C>>) {
    let term = node.term();
    for ticks in 1..=2 * node.config().election_ticks {
        let actions = node.step(Event::Tick);
        if node.term() > term {
            return (ticks, actions);
        }
    }
    panic!(
        "node {} did not campaign within 2 * election_ticks",
        node.id()
    );
}

/// Elects `node` by hand: it times out, then `voter` grants its vote. Returns the actions of
/// the step that made it leader.
pub fn elect<C: Command>(node: &mut Raft<C>, voter: NodeId) -> Vec<Action<C>> {
    tick_until_campaign(node);
    let actions = receive(node, voter, grant(node.term()));
    assert_eq!(node.role(), Role::Leader);
    actions
}

// ----- what the actions hold -----

/// The messages in `actions` addressed to `to`, in order.
pub fn sent_to(actions: &[Action<u64>], to: NodeId) -> Vec<Message<u64>> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send {
                to: receiver,
                message,
            } if *receiver == to => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The `(prev_log_index, entries)` of every AppendEntries sent to `to`.
pub fn appends_to(actions: &[Action<u64>], to: NodeId) -> Vec<(LogIndex, Vec<Entry<u64>>)> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::AppendEntries {
                prev_log_index,
                entries,
                ..
            } => Some((prev_log_index, entries.into_vec())),
            _ => None,
        })
        .collect()
}

/// The term and outcome of every AppendEntriesResponse sent to `to`, in order.
pub fn append_answers(actions: &[Action<u64>], to: NodeId) -> Vec<(Term, AppendOutcome)> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::AppendEntriesResponse { term, outcome } => Some((term, outcome)),
            _ => None,
        })
        .collect()
}

/// The term and grant of every RequestVoteResponse sent to `to`, in order.
pub fn vote_answers(actions: &[Action<u64>], to: NodeId) -> Vec<(Term, bool)> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::RequestVoteResponse { term, vote_granted } => Some((term, vote_granted)),
            _ => None,
        })
        .collect()
}

/// The only answer of `answers`, if any; panics if there are several.
fn at_most_one<T: Copy + std::fmt::Debug>(answers: Vec<T>) -> Option<T> {
    assert!(answers.len() <= 1, "more than one answer: {answers:?}");
    answers.first().copied()
}

/// The term and outcome of the AppendEntriesResponse sent to `to`, if exactly one was sent.
pub fn append_answer(actions: &[Action<u64>], to: NodeId) -> Option<(Term, AppendOutcome)> {
    at_most_one(append_answers(actions, to))
}

/// The term and grant of the RequestVoteResponse sent to `to`, if exactly one was sent.
pub fn vote_answer(actions: &[Action<u64>], to: NodeId) -> Option<(Term, bool)> {
    at_most_one(vote_answers(actions, to))
}

/// Every hard state the actions persist, in order.
pub fn hard_states(actions: &[Action<u64>]) -> Vec<HardState> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Persist(Persist::HardState(hard_state)) => Some(*hard_state),
            _ => None,
        })
        .collect()
}

/// The entries of every `Persist::Entries` action, in order.
pub fn persisted_entries(actions: &[Action<u64>]) -> Vec<Vec<Entry<u64>>> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Persist(Persist::Entries(entries)) => Some(entries.to_vec()),
            _ => None,
        })
        .collect()
}

/// Whether the actions persist anything.
pub fn has_persist<C>(actions: &[Action<C>]) -> bool {
    actions
        .iter()
        .any(|action| matches!(action, Action::Persist(_)))
}

/// The indices of every entry handed out by `Apply` actions, in order.
pub fn applied(actions: &[Action<u64>]) -> Vec<LogIndex> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Apply(entries) => Some(entries.iter().map(|entry| entry.index)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The match index `leader` tracks for `peer`.
pub fn match_index_of(leader: &Node, peer: NodeId) -> LogIndex {
    let found = leader.match_indices().find(|&(id, _)| id == peer);
    found.expect("a tracked peer").1
}

// ----- snapshots -----

/// The metadata of a snapshot of the cluster {1, 2, 3} up to (`last_index`, `last_term`).
pub fn snapshot_meta(last_index: LogIndex, last_term: Term) -> SnapshotMeta {
    SnapshotMeta {
        last_index,
        last_term,
        membership: three(),
        membership_index: 0,
    }
}

/// A snapshot of the cluster {1, 2, 3} up to (`last_index`, `last_term`) holding `data`.
pub fn snapshot_of(last_index: LogIndex, last_term: Term, data: &[u8]) -> Snapshot {
    Snapshot {
        meta: snapshot_meta(last_index, last_term),
        data: data.to_vec(),
    }
}

/// The state a host hands back at `term` with no vote, after a snapshot up to
/// (`snapshot_index`, `snapshot_term`) and holding the entries after it with the given terms,
/// nothing applied beyond the snapshot.
pub fn restored_from_snapshot(
    term: Term,
    snapshot_index: LogIndex,
    snapshot_term: Term,
    later_terms: &[Term],
) -> Restored<u64> {
    Restored {
        hard_state: HardState { term, vote: None },
        snapshot: Some(snapshot_of(snapshot_index, snapshot_term, b"state")),
        entries: (snapshot_index + 1..)
            .zip(later_terms)
            .map(|(index, &term)| entry(index, term))
            .collect(),
        applied: 0,
        membership: three(),
    }
}

/// One `InstallSnapshot` chunk of a snapshot of `size` bytes.
pub fn chunk(term: Term, meta: SnapshotMeta, offset: u64, data: &[u8], size: u64) -> Message<u64> {
    Message::InstallSnapshot {
        term,
        chunk: Box::new(SnapshotChunk {
            meta,
            size,
            offset,
            data: data.to_vec(),
        }),
    }
}

/// An `InstallSnapshotResponse` to the chunk at `answered_offset`, asking for the bytes from
/// `next_offset` on.
pub fn receiving(
    term: Term,
    snapshot_index: LogIndex,
    next_offset: u64,
    answered_offset: u64,
) -> Message<u64> {
    Message::InstallSnapshotResponse {
        term,
        snapshot_index,
        outcome: SnapshotOutcome::Receiving {
            next_offset,
            answered_offset,
        },
    }
}

/// The outcome of an answer to the chunk at `answered_offset` that asks for `next_offset`.
pub fn wants(next_offset: u64, answered_offset: u64) -> SnapshotOutcome {
    SnapshotOutcome::Receiving {
        next_offset,
        answered_offset,
    }
}

/// An `InstallSnapshotResponse` ending a transfer with the follower matching up to
/// `match_index`.
pub fn snapshot_done(term: Term, snapshot_index: LogIndex, match_index: LogIndex) -> Message<u64> {
    Message::InstallSnapshotResponse {
        term,
        snapshot_index,
        outcome: SnapshotOutcome::Done { match_index },
    }
}

/// One `InstallSnapshot` message as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub term: Term,
    pub meta: SnapshotMeta,
    pub offset: u64,
    pub data: Vec<u8>,
    pub done: bool,
}

/// Every `InstallSnapshot` chunk sent to `to`, in order.
pub fn chunks_to(actions: &[Action<u64>], to: NodeId) -> Vec<Chunk> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::InstallSnapshot { term, chunk } => {
                let done = chunk.is_last();
                let SnapshotChunk {
                    meta, offset, data, ..
                } = *chunk;
                Some(Chunk {
                    term,
                    meta,
                    offset,
                    data,
                    done,
                })
            }
            _ => None,
        })
        .collect()
}

/// The term, snapshot index and outcome of every InstallSnapshotResponse sent to `to`.
pub fn snapshot_answers(
    actions: &[Action<u64>],
    to: NodeId,
) -> Vec<(Term, LogIndex, SnapshotOutcome)> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::InstallSnapshotResponse {
                term,
                snapshot_index,
                outcome,
            } => Some((term, snapshot_index, outcome)),
            _ => None,
        })
        .collect()
}

/// The InstallSnapshotResponse sent to `to`, if exactly one was sent.
pub fn snapshot_answer(
    actions: &[Action<u64>],
    to: NodeId,
) -> Option<(Term, LogIndex, SnapshotOutcome)> {
    at_most_one(snapshot_answers(actions, to))
}

/// Every snapshot handed to the host by `Action::InstallSnapshot`, in order.
pub fn installed_snapshots<C>(actions: &[Action<C>]) -> Vec<Snapshot> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::InstallSnapshot(snapshot) => Some(Snapshot::clone(snapshot)),
            _ => None,
        })
        .collect()
}

/// The metadata of every `Persist::Snapshot` action, in order.
pub fn persisted_snapshots<C>(actions: &[Action<C>]) -> Vec<SnapshotMeta> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Persist(Persist::Snapshot(meta)) => Some((**meta).clone()),
            _ => None,
        })
        .collect()
}

/// Node 1 leading term 2 of {1, 2, 3} with `config` (its id must be 1): its log held ten
/// entries of term 1 before its no-op at 11, node 3 acknowledged all of them (commit 11,
/// applied 11), and its host then snapshotted index 10 with `data`. Node 2 has not answered
/// the first append, sent with prev_log_index 10.
pub fn leader_with_snapshot(config: Config, data: &[u8]) -> Node {
    assert_eq!(config.id, 1);
    let mut leader = restored_node(config, 1, &[1; 10]);
    elect(&mut leader, 3);
    receive(&mut leader, 3, accepted(2, 11));
    assert_eq!((leader.commit_index(), leader.applied_index()), (11, 11));
    let actions = leader.step(Event::SnapshotTaken {
        index: 10,
        data: data.to_vec(),
    });
    assert_eq!(persisted_snapshots(&actions), vec![snapshot_meta(10, 1)]);
    leader
}

// ----- the ordering rule -----

/// Checks the ordering rule over `actions`, carried out in order by a host whose disk held
/// `durable` before them: every entry an append carries, and every entry an `Apply` hands
/// out, was made durable by an earlier `Persist::Entries` (or was on the disk already).
/// Panics naming the first action that breaks it.
pub fn assert_ordering_rule(durable: &[Entry<u64>], actions: &[Action<u64>]) {
    let mut disk: std::collections::BTreeMap<LogIndex, Term> = durable
        .iter()
        .map(|entry| (entry.index, entry.term))
        .collect();
    let on_disk = |disk: &std::collections::BTreeMap<LogIndex, Term>, entry: &Entry<u64>| {
        disk.get(&entry.index) == Some(&entry.term)
    };
    for (position, action) in actions.iter().enumerate() {
        match action {
            Action::Persist(Persist::Entries(entries)) => {
                disk.split_off(&entries[0].index);
                disk.extend(entries.iter().map(|entry| (entry.index, entry.term)));
            }
            Action::Send {
                message: Message::AppendEntries { entries, .. },
                to,
            } => {
                for entry in entries.iter() {
                    assert!(
                        on_disk(&disk, entry),
                        "action {position} sends entry {} to {to} before it is durable: \
                         {actions:?}",
                        entry.index
                    );
                }
            }
            Action::Apply(entries) => {
                for entry in entries.iter() {
                    assert!(
                        on_disk(&disk, entry),
                        "action {position} applies entry {} before it is durable: {actions:?}",
                        entry.index
                    );
                }
            }
            _ => {}
        }
    }
}

// ----- reads -----

/// Steps `Event::Read { context }`.
pub fn read(node: &mut Node, context: u64) -> Actions {
    node.step(Event::Read { context })
}

/// A follower's `ReadIndex`: read `context` forwarded to its leader.
pub fn read_index(term: Term, context: u64) -> Message<u64> {
    Message::ReadIndex { term, context }
}

/// The leader's answer to a forwarded read: its read index, or `None`.
pub fn read_index_answer(term: Term, context: u64, index: Option<LogIndex>) -> Message<u64> {
    Message::ReadIndexResponse {
        term,
        context,
        index,
    }
}

/// A voter's confirmation of round `round` of `LeaderCheck`.
pub fn check_answer(term: Term, round: u64) -> Message<u64> {
    Message::LeaderCheckResponse { term, round }
}

/// The rounds of `LeaderCheck` sent to `to`.
pub fn checks_to(actions: &[Action<u64>], to: NodeId) -> Vec<u64> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|message| match message {
            Message::LeaderCheck { round, .. } => Some(round),
            _ => None,
        })
        .collect()
}

/// The reads answered with `ReadReady`: (context, index).
pub fn ready(actions: &[Action<u64>]) -> Vec<(u64, u64)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::ReadReady { context, index } => Some((*context, *index)),
            _ => None,
        })
        .collect()
}

/// The reads answered with `ReadFailed`: (context, error).
pub fn failed(actions: &[Action<u64>]) -> Vec<(u64, ReadError)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::ReadFailed { context, error } => Some((*context, *error)),
            _ => None,
        })
        .collect()
}
