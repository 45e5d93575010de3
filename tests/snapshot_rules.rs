//! Snapshots and log compaction (Raft §7, Figure 13), one test per rule, through the public API:
//! nodes driven by hand with `Raft::step` and hand-built messages, and at the end two
//! simulator scenarios. Each test's doc comment cites the rule it checks: Figure 13's
//! InstallSnapshot receiver rules, the leader's side of the transfer as pureraft documents
//! it (chunks of at most `snapshot_chunk_bytes`, at most `max_inflight_snapshot_chunks` in
//! flight, resent after a quiet heartbeat, dropped after four), compaction behind
//! `snapshot_trailing_entries`, restart from a snapshot, and the snapshot scenarios of the
//! correctness reference §2 (items 12, 13 and 22). The bad-input rows for snapshots are in
//! `tests/bad_input.rs`.

mod common;

use std::collections::VecDeque;
use std::sync::Arc;

use pureraft::sim::{NetworkConfig, Sim, SimConfig, SimEvent};
use pureraft::{
    Action, AppendOutcome, Config, Entry, Event, HardState, LogIndex, Message, NodeId, Payload,
    Persist, Raft, Restored, Role, Snapshot, SnapshotMeta, SnapshotOutcome, Term,
};

use common::hand::*;
use common::{check, lab_peer, seeds};

// ----- helpers (the shared ones are in `common::hand`) -----

/// Node 1's configuration with `trailing` entries kept behind a snapshot, chunks of 4 bytes
/// and at most 2 chunks in flight.
fn small_chunks(trailing: u64) -> Config {
    let mut config = config(1);
    config.snapshot_trailing_entries = trailing;
    config.snapshot_chunk_bytes = 4;
    config.max_inflight_snapshot_chunks = 2;
    config
}

/// The no-op entry a leader of `term` appends at `index`.
fn noop(index: LogIndex, term: Term) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::noop(),
    }
}

/// Node 2 answers the first append of a leader built by `leader_with_snapshot` as a node
/// with an empty log does (a rejection with no hint): the leader starts sending its
/// snapshot. Answers the leader's actions.
fn start_transfer_to_2(leader: &mut Node) -> Actions {
    receive(leader, 2, rejected(2, 10, 0, 0))
}

/// Ticks `node` `count` times and answers each tick's actions.
fn ticks(node: &mut Node, count: u64) -> Vec<Actions> {
    (0..count).map(|_| node.step(Event::Tick)).collect()
}

/// What `pump` saw.
#[derive(Default)]
struct Seen {
    /// Every message the leader sent the follower, in order.
    to_follower: Vec<Message<u64>>,
    /// Every action of the follower, in order.
    follower: Actions,
}

/// Delivers the leader's messages to `follower` and its answers back, first in first out,
/// starting from the leader's `actions`, until nothing is in flight between them. Messages
/// to other nodes are dropped.
fn pump(leader: &mut Node, follower: &mut Node, actions: Actions) -> Seen {
    let (leader_id, follower_id) = (leader.id(), follower.id());
    let mut seen = Seen::default();
    let mut queue: VecDeque<(bool, Message<u64>)> = sent_to(&actions, follower_id)
        .into_iter()
        .map(|message| (true, message))
        .collect();
    let mut steps = 0;
    while let Some((to_follower, message)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 10_000, "the exchange does not settle");
        if to_follower {
            seen.to_follower.push(message.clone());
            let answers = receive(follower, leader_id, message);
            queue.extend(sent_to(&answers, leader_id).into_iter().map(|m| (false, m)));
            seen.follower.extend(answers);
        } else {
            let actions = receive(leader, follower_id, message);
            queue.extend(
                sent_to(&actions, follower_id)
                    .into_iter()
                    .map(|m| (true, m)),
            );
        }
    }
    seen
}

/// The chunks among `messages`, as `(offset, data, last)`.
fn chunk_parts(messages: &[Message<u64>]) -> Vec<(u64, Vec<u8>, bool)> {
    messages
        .iter()
        .filter_map(|message| match message {
            Message::InstallSnapshot { chunk, .. } => {
                Some((chunk.offset, chunk.data.clone(), chunk.is_last()))
            }
            _ => None,
        })
        .collect()
}

/// True if any of `messages` is an InstallSnapshot chunk.
fn any_chunk(messages: &[Message<u64>]) -> bool {
    messages
        .iter()
        .any(|message| matches!(message, Message::InstallSnapshot { .. }))
}

// ----- the follower: Figure 13, InstallSnapshot receiver -----

/// Figure 13 receiver rules 2-5, 7 and 8: chunks are written at their offset and answered
/// until `done`; on the last one, "save snapshot file", "discard the entire log", "reset
/// state machine using snapshot contents". The new term is durable
/// before the snapshot is handed to the host (`Action::InstallSnapshot`), and that before
/// the answer (Done at the snapshot's index). The log then starts after the snapshot, whose
/// last term the node keeps, commit and applied are its index, and the next append applies
/// from index + 1.
#[test]
fn follower_installs_a_snapshot_and_its_log_restarts_after_it() {
    let mut follower = restored_node(config(1), 1, &[1, 1, 1]);
    let actions = receive(
        &mut follower,
        2,
        chunk(3, snapshot_meta(6, 2), 0, b"abc", 6),
    );
    let answer = (3, 6, wants(3, 0));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
    assert!(installed_snapshots(&actions).is_empty());
    assert_eq!(
        follower.entries(),
        log_of(&[1, 1, 1]),
        "nothing changes before the last chunk"
    );

    let actions = receive(
        &mut follower,
        2,
        chunk(3, snapshot_meta(6, 2), 3, b"def", 6),
    );
    let snapshot = snapshot_of(6, 2, b"abcdef");
    let done = Message::InstallSnapshotResponse {
        term: 3,
        snapshot_index: 6,
        outcome: SnapshotOutcome::Done { match_index: 6 },
    };
    let expected = vec![
        Action::InstallSnapshot(Arc::new(snapshot.clone())),
        Action::Send {
            to: 2,
            message: done,
        },
    ];
    assert_eq!(actions, expected);
    let status = follower.status();
    assert_eq!(
        (
            status.commit_index,
            status.applied_index,
            status.last_index,
            status.last_term
        ),
        (6, 6, 6, 2)
    );
    assert_eq!((status.snapshot_index, status.compacted_index), (6, 6));
    assert!(follower.entries().is_empty());
    assert_eq!(follower.term_at(6), Some(2));
    assert_eq!(follower.term_at(3), None, "the old log is gone");
    assert_eq!(follower.snapshot(), Some(&snapshot));

    let actions = receive(&mut follower, 2, append(3, 6, 2, vec![entry(7, 3)], 7));
    let accepted = (3, AppendOutcome::Accepted { match_index: 7 });
    assert_eq!(append_answers(&actions, 2), vec![accepted]);
    assert_eq!(persisted_entries(&actions), vec![vec![entry(7, 3)]]);
    assert_eq!(
        applied(&actions),
        vec![7],
        "applying resumes after the snapshot"
    );

    // The first chunk of a higher term: the term is persisted before anything is sent.
    let mut follower = node(1);
    let actions = receive(&mut follower, 2, chunk(4, snapshot_meta(3, 4), 0, b"x", 1));
    let term_4 = HardState {
        term: 4,
        vote: None,
    };
    assert_eq!(actions[0], Action::Persist(Persist::HardState(term_4)));
    assert!(
        matches!(actions[1], Action::InstallSnapshot(_)),
        "{actions:?}"
    );
    assert!(
        matches!(actions[2], Action::Send { to: 2, .. }),
        "{actions:?}"
    );
}

/// Figure 13 receiver rules 6 and 7: "If existing log entry has same index and term as
/// snapshot's last included entry, retain log entries following it" — otherwise "discard
/// the entire log". Here the entry at the snapshot's index has another term: the whole log
/// goes, including the entries after that index, which do not match the leader's.
#[test]
fn follower_whose_entry_at_the_snapshot_index_conflicts_discards_its_whole_log() {
    let mut follower = restored_node(config(1), 2, &[1, 1, 1, 1, 1, 1, 2, 2]);
    let actions = receive(
        &mut follower,
        2,
        chunk(3, snapshot_meta(6, 2), 0, b"snap", 4),
    );
    assert_eq!(
        installed_snapshots(&actions),
        vec![snapshot_of(6, 2, b"snap")]
    );
    assert!(
        follower.entries().is_empty(),
        "entries 7 and 8 are gone too"
    );
    assert_eq!((follower.last_index(), follower.last_term()), (6, 2));
    assert_eq!((follower.commit_index(), follower.applied_index()), (6, 6));
}

/// Election Safety (§5.2, Figure 3) for InstallSnapshot: a chunk claiming our own term while
/// we lead cannot come from a correct leader; it is ignored. A candidate that gets a chunk of
/// its term from the term's leader becomes its follower (Figure 2, candidates, "If
/// AppendEntries RPC received from new leader: convert to follower"), keeping its vote.
#[test]
fn chunk_of_our_term_is_ignored_by_the_leader_and_followed_by_a_candidate() {
    let mut leader = leader_with_snapshot(small_chunks(2), b"0123456789");
    let before = (leader.status(), leader.snapshot().cloned());
    let actions = receive(&mut leader, 2, chunk(2, snapshot_meta(20, 2), 0, b"x", 1));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!((leader.status(), leader.snapshot().cloned()), before);

    let mut candidate = node(1);
    tick_until_campaign(&mut candidate);
    let actions = receive(&mut candidate, 2, chunk(1, snapshot_meta(3, 1), 0, b"x", 1));
    assert_eq!(candidate.role(), Role::Follower);
    assert_eq!((candidate.leader(), candidate.vote()), (Some(2), Some(1)));
    assert_eq!(installed_snapshots(&actions), vec![snapshot_of(3, 1, b"x")]);
}

/// Figure 13, a new leader mid-transfer: the chunks a follower holds are kept only for the
/// leader of one term and one snapshot. A new leader's first chunk starts afresh, a late
/// chunk of the old leader is refused with the new term and does not disturb it, and a chunk
/// of the new term that would continue the old transfer is not taken as one.
#[test]
fn new_leaders_transfer_replaces_a_half_received_one() {
    let mut follower = node(1);
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(10, 1), 0, b"abcd", 6),
    );
    let answer = (2, 10, wants(4, 0));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);

    // Node 3 leads term 3. Its chunk that would continue term 2's transfer is not taken as
    // one; its own snapshot starts afresh.
    let actions = receive(
        &mut follower,
        3,
        chunk(3, snapshot_meta(10, 1), 4, b"efgh", 12),
    );
    let answer = (3, 10, wants(0, 4));
    assert_eq!(
        snapshot_answers(&actions, 3),
        vec![answer],
        "no transfer of term 3 yet"
    );
    let actions = receive(
        &mut follower,
        3,
        chunk(3, snapshot_meta(12, 3), 0, b"WXYZ", 5),
    );
    let answer = (3, 12, wants(4, 0));
    assert_eq!(snapshot_answers(&actions, 3), vec![answer]);

    // The old leader's last chunk arrives late.
    let actions = receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(10, 1), 4, b"ij", 6),
    );
    let answer = (3, 10, wants(0, 4));
    assert_eq!(snapshot_answers(&actions, 2), vec![answer]);
    assert!(installed_snapshots(&actions).is_empty());

    let actions = receive(&mut follower, 3, chunk(3, snapshot_meta(12, 3), 4, b"!", 5));
    assert_eq!(
        installed_snapshots(&actions),
        vec![snapshot_of(12, 3, b"WXYZ!")]
    );
    let answer = (3, 12, SnapshotOutcome::Done { match_index: 12 });
    assert_eq!(snapshot_answers(&actions, 3), vec![answer]);
    assert_eq!((follower.term(), follower.leader()), (3, Some(3)));
}

// ----- the leader: sending a snapshot -----

/// Raft §7 and Figure 13 on the leader's side: a follower whose next entry was compacted away
/// gets the snapshot in chunks, in order, each at most `snapshot_chunk_bytes` and never more
/// than `max_inflight_snapshot_chunks` unacknowledged; the last one says `done`. The follower
/// installs exactly the leader's snapshot; after its Done the leader replicates entries from
/// the snapshot's index + 1, and the follower applies from there.
#[test]
fn leader_sends_the_snapshot_in_order_in_bounded_chunks() {
    let data: Vec<u8> = (0..23).collect();
    let mut leader = leader_with_snapshot(small_chunks(2), &data);
    assert_eq!(leader.compacted_index(), 8);
    let mut follower = node(2);
    let mut acked = 0;
    let mut ends: Vec<u64> = Vec::new();
    let mut check_chunks = |actions: &Actions, acked: u64| {
        for chunk in chunks_to(actions, 2) {
            let offset = ends.last().copied().unwrap_or(0);
            assert_eq!(chunk.offset, offset, "in order, without gaps or repeats");
            let end = offset + chunk.data.len() as u64;
            assert!(!chunk.data.is_empty() && chunk.data.len() <= 4, "{chunk:?}");
            assert_eq!(chunk.data, data[offset as usize..end as usize]);
            assert_eq!(chunk.done, end == data.len() as u64);
            assert_eq!((chunk.term, &chunk.meta), (2, &snapshot_meta(10, 1)));
            ends.push(end);
            let unacknowledged = ends.iter().filter(|&&end| end > acked).count();
            assert!(unacknowledged <= 2, "{unacknowledged} chunks in flight");
        }
    };
    let start = start_transfer_to_2(&mut leader);
    assert_eq!(chunks_to(&start, 2).len(), 2, "the window opens at once");
    check_chunks(&start, acked);
    let mut queue: VecDeque<Message<u64>> = sent_to(&start, 2).into();
    let mut follower_actions = Actions::new();
    let mut after_done = None;
    while let Some(message) = queue.pop_front() {
        let answers = receive(&mut follower, 1, message);
        follower_actions.extend(answers.iter().cloned());
        for (_, index, outcome) in snapshot_answers(&answers, 1) {
            assert_eq!(index, 10);
            if let SnapshotOutcome::Receiving { next_offset, .. } = outcome {
                acked = acked.max(next_offset);
            }
            let actions = receive(&mut leader, 2, snapshot_response(index, outcome));
            check_chunks(&actions, acked);
            if let SnapshotOutcome::Done { match_index } = outcome {
                assert_eq!(match_index, 10);
                after_done = Some(actions);
            } else {
                queue.extend(sent_to(&actions, 2));
            }
        }
    }
    assert_eq!(ends, vec![4, 8, 12, 16, 20, 23]);
    assert_eq!(
        installed_snapshots(&follower_actions),
        vec![snapshot_of(10, 1, &data)]
    );
    let after_done = after_done.expect("the follower answered Done");
    assert!(chunks_to(&after_done, 2).is_empty());
    assert_eq!(appends_to(&after_done, 2), vec![(10, vec![noop(11, 2)])]);
    assert_eq!(match_index_of(&leader, 2), 10);

    let seen = pump(&mut leader, &mut follower, after_done);
    assert!(!any_chunk(&seen.to_follower));
    assert_eq!(
        applied(&seen.follower),
        vec![11],
        "applying resumes after the snapshot"
    );
    assert_eq!(follower.entries(), [noop(11, 2)]);
    assert_eq!(
        (follower.commit_index(), match_index_of(&leader, 2)),
        (11, 11)
    );
}

/// An InstallSnapshotResponse of term 2 for the snapshot at `index`.
fn snapshot_response(index: LogIndex, outcome: SnapshotOutcome) -> Message<u64> {
    Message::InstallSnapshotResponse {
        term: 2,
        snapshot_index: index,
        outcome,
    }
}

/// Figure 13 over a lossy network, with the rule for silent followers (crate docs): the first
/// chunk is lost. The follower's answer to the second shows the gap (it answers the chunk at
/// offset 4 wanting offset 0), so the leader sends again from offset 0 at once, and only once
/// per window (the same answer again sends nothing). When those are lost too, the heartbeat
/// that ends an interval without acknowledged progress sends no data: a chunk without data at
/// the end of what was sent, whose answer shows the gap again and brings the chunks from
/// offset 0. The transfer then completes.
#[test]
fn lost_first_chunk_is_resent_at_once_then_on_the_answer_to_a_probe() {
    let data = b"0123456789";
    let mut leader = leader_with_snapshot(small_chunks(2), data);
    let mut follower = node(2);
    let start = start_transfer_to_2(&mut leader);
    let chunks = sent_to(&start, 2);
    assert_eq!(chunk_parts(&chunks).len(), 2);
    let answers = receive(&mut follower, 1, chunks[1].clone());
    let answer = (2, 10, wants(0, 4));
    assert_eq!(snapshot_answers(&answers, 1), vec![answer]);
    let duplicate = sent_to(&answers, 1)[0].clone();
    let actions = receive(&mut leader, 2, duplicate.clone());
    let parts = chunk_parts(&sent_to(&actions, 2));
    assert!(!parts.is_empty() && parts.len() <= 2, "{actions:?}");
    assert_eq!(parts[0], (0, b"0123".to_vec(), false), "from offset 0");
    let again = receive(&mut leader, 2, duplicate);
    assert!(again.is_empty(), "one resend per window: {again:?}");

    // The resent chunks are lost as well: the heartbeat probes, without data.
    let heartbeat = leader.config().heartbeat_ticks;
    let per_tick = ticks(&mut leader, heartbeat);
    for actions in &per_tick[..per_tick.len() - 1] {
        assert!(chunks_to(actions, 2).is_empty(), "{actions:?}");
    }
    let probe = per_tick.last().unwrap();
    let probes = chunks_to(probe, 2);
    assert_eq!(probes.len(), 1, "{probe:?}");
    assert_eq!(
        (probes[0].offset, probes[0].data.len()),
        (8, 0),
        "a probe at 8"
    );

    let seen = pump(&mut leader, &mut follower, probe.clone());
    let data_chunks: Vec<u64> = chunk_parts(&seen.to_follower)
        .into_iter()
        .filter(|(_, bytes, _)| !bytes.is_empty())
        .map(|(offset, _, _)| offset)
        .collect();
    assert_eq!(
        data_chunks,
        vec![0, 4, 8],
        "each chunk once more, from offset 0"
    );
    assert_eq!(
        installed_snapshots(&seen.follower),
        vec![snapshot_of(10, 1, data)]
    );
    assert_eq!(follower.commit_index(), 11);
}

/// Figure 13 over a lossy network: a chunk in the middle is lost. The follower's answer to
/// the chunk after it repeats the last acknowledged byte (4); the leader sends again from
/// there at once, never from the start, and the transfer completes.
#[test]
fn lost_middle_chunk_is_resent_from_the_last_acknowledged_byte() {
    let data = b"0123456789";
    let mut leader = leader_with_snapshot(small_chunks(2), data);
    let mut follower = node(2);
    let start = start_transfer_to_2(&mut leader);
    let chunks = sent_to(&start, 2);
    // Chunk 0 arrives, chunk 4 is lost; the answer to chunk 0 releases chunk 8.
    let answers = receive(&mut follower, 1, chunks[0].clone());
    let actions = receive(&mut leader, 2, sent_to(&answers, 1)[0].clone());
    assert_eq!(
        chunk_parts(&sent_to(&actions, 2)),
        vec![(8, b"89".to_vec(), true)]
    );
    let answers = receive(&mut follower, 1, sent_to(&actions, 2)[0].clone());
    let answer = (2, 10, wants(4, 8));
    assert_eq!(
        snapshot_answers(&answers, 1),
        vec![answer],
        "chunk 8 is not kept"
    );
    assert!(installed_snapshots(&answers).is_empty());
    let resent = receive(&mut leader, 2, sent_to(&answers, 1)[0].clone());
    let parts = chunk_parts(&sent_to(&resent, 2));
    assert!(!parts.is_empty() && parts.len() <= 2, "{resent:?}");
    assert_eq!(
        parts[0],
        (4, b"4567".to_vec(), false),
        "from the last acknowledged byte"
    );

    let seen = pump(&mut leader, &mut follower, resent);
    assert_eq!(
        installed_snapshots(&seen.follower),
        vec![snapshot_of(10, 1, data)]
    );
    assert_eq!(follower.commit_index(), 11);
}

/// The leader's transfer to a follower that went silent: at each heartbeat it probes with a
/// chunk without data, never the snapshot's bytes, still of the snapshot it began with (a
/// newer one taken meanwhile does not restart it). The first interval, which brought the
/// answer that began the transfer, is not silent; after four silent ones, the next heartbeat
/// drops the transfer, releasing the hold on compaction, and probes with an empty append.
/// The follower's answer to that probe brings the latest snapshot.
#[test]
fn stalled_transfer_to_a_silent_follower_is_dropped_after_four_heartbeats() {
    let mut leader = leader_with_snapshot(small_chunks(0), b"0123456789");
    let start = start_transfer_to_2(&mut leader);
    assert_eq!(chunks_to(&start, 2)[0].meta, snapshot_meta(10, 1));
    let actions = leader.step(Event::SnapshotTaken {
        index: 11,
        data: b"new".to_vec(),
    });
    assert_eq!(persisted_snapshots(&actions), vec![snapshot_meta(11, 2)]);
    assert_eq!(leader.snapshot_index(), 11);
    assert_eq!(
        leader.compacted_index(),
        10,
        "held back by the transfer of 10"
    );

    let heartbeat = leader.config().heartbeat_ticks;
    for silent in 0..=4 {
        let actions = ticks(&mut leader, heartbeat).pop().unwrap();
        let chunks = chunks_to(&actions, 2);
        assert_eq!(chunks.len(), 1, "heartbeat {silent}: {actions:?}");
        assert_eq!(chunks[0].meta, snapshot_meta(10, 1), "heartbeat {silent}");
        assert_eq!(
            (chunks[0].offset, chunks[0].data.len()),
            (8, 0),
            "heartbeat {silent}: a probe at the end of what was sent"
        );
    }
    let actions = ticks(&mut leader, heartbeat).pop().unwrap();
    assert!(chunks_to(&actions, 2).is_empty(), "{actions:?}");
    let probes = appends_to(&actions, 2);
    assert_eq!(
        probes,
        vec![(11, vec![])],
        "an empty probe from the compacted index"
    );
    assert_eq!(leader.compacted_index(), 11, "the hold is released");

    let mut follower = node(2);
    let seen = pump(&mut leader, &mut follower, actions);
    assert_eq!(
        installed_snapshots(&seen.follower),
        vec![snapshot_of(11, 2, b"new")]
    );
    assert_eq!(match_index_of(&leader, 2), 11);
}

/// pureraft's compaction rule: the leader never compacts past a snapshot it is still sending
/// (else the follower, done with it, would need the entries just dropped). A newer snapshot
/// taken meanwhile compacts only up to the one in transit, and the transfer goes on with the
/// snapshot it began with.
#[test]
fn leader_never_compacts_past_a_snapshot_it_is_still_sending() {
    let mut leader = leader_with_snapshot(small_chunks(0), b"0123456789");
    assert_eq!(leader.compacted_index(), 10);
    start_transfer_to_2(&mut leader);
    for command in 12..=15 {
        leader.step(Event::Propose(command));
    }
    receive(&mut leader, 3, accepted(2, 15));
    assert_eq!(leader.applied_index(), 15);
    let actions = leader.step(Event::SnapshotTaken {
        index: 15,
        data: b"newer".to_vec(),
    });
    assert_eq!(persisted_snapshots(&actions), vec![snapshot_meta(15, 2)]);
    assert_eq!(
        (leader.snapshot_index(), leader.compacted_index()),
        (15, 10)
    );
    let held: Vec<LogIndex> = leader.entries().iter().map(|e| e.index).collect();
    assert_eq!(held, vec![11, 12, 13, 14, 15]);

    let actions = receive(&mut leader, 2, receiving(2, 10, 4, 0));
    let chunks = chunks_to(&actions, 2);
    assert_eq!(chunks.len(), 1, "{actions:?}");
    assert_eq!(
        (chunks[0].offset, &chunks[0].meta),
        (8, &snapshot_meta(10, 1))
    );
}

/// The point of the rule above (commit message of the snapshot feature: "it never compacts
/// past a snapshot it is still sending, so a follower cannot be sent snapshot after
/// snapshot"): once the follower installed the snapshot, it catches up by entries from the
/// snapshot's index + 1, even though the leader took a newer snapshot during the transfer.
#[test]
fn after_the_transfer_the_follower_catches_up_by_entries_despite_a_newer_snapshot() {
    let mut leader = leader_with_snapshot(small_chunks(0), b"0123456789");
    let start = start_transfer_to_2(&mut leader);
    for command in 12..=15 {
        leader.step(Event::Propose(command));
    }
    receive(&mut leader, 3, accepted(2, 15));
    leader.step(Event::SnapshotTaken {
        index: 15,
        data: b"newer".to_vec(),
    });
    let mut follower = node(2);
    let seen = pump(&mut leader, &mut follower, start);
    let metas: Vec<LogIndex> = seen
        .to_follower
        .iter()
        .filter_map(|message| match message {
            Message::InstallSnapshot { chunk, .. } => Some(chunk.meta.last_index),
            _ => None,
        })
        .collect();
    assert!(
        metas.iter().all(|&index| index == 10),
        "snapshots sent: {metas:?}"
    );
    assert_eq!(installed_snapshots(&seen.follower).len(), 1);
    assert_eq!(applied(&seen.follower), vec![11, 12, 13, 14, 15]);
    assert_eq!(match_index_of(&leader, 2), 15);
}

// ----- compaction -----

/// `Config::snapshot_trailing_entries`: a snapshot at index i drops the log up to
/// i - trailing (none if trailing >= i), keeping the term at the new base; the status reports
/// both indices. Leaders and followers alike.
#[test]
fn compaction_keeps_exactly_the_trailing_entries() {
    let data = b"state";
    for (trailing, compacted) in [(3, 7), (0, 10), (10, 0), (1024, 0)] {
        let leader = leader_with_snapshot(small_chunks(trailing), data);
        let status = leader.status();
        assert_eq!(
            (status.snapshot_index, status.compacted_index),
            (10, compacted),
            "trailing {trailing}"
        );
        assert_eq!(leader.compacted_index(), compacted);
        let held: Vec<LogIndex> = leader.entries().iter().map(|e| e.index).collect();
        assert_eq!(
            held,
            (compacted + 1..=11).collect::<Vec<_>>(),
            "trailing {trailing}"
        );
        assert_eq!(
            leader.term_at(compacted),
            Some(if compacted == 0 { 0 } else { 1 })
        );
        if compacted > 0 {
            assert_eq!(leader.term_at(compacted - 1), None);
            assert_eq!(leader.entry(compacted), None);
        }
        assert_eq!((leader.last_index(), leader.commit_index()), (11, 11));
        assert_eq!(leader.snapshot(), Some(&snapshot_of(10, 1, data)));
    }

    // A follower, twice: the second snapshot moves the base on.
    let mut config = config(1);
    config.snapshot_trailing_entries = 3;
    let mut follower = restored_node(config, 1, &[1; 20]);
    receive(&mut follower, 2, append(1, 20, 1, vec![], 20));
    follower.step(Event::SnapshotTaken {
        index: 10,
        data: data.to_vec(),
    });
    assert_eq!(
        (follower.snapshot_index(), follower.compacted_index()),
        (10, 7)
    );
    assert_eq!(follower.entries().len(), 13);
    follower.step(Event::SnapshotTaken {
        index: 18,
        data: data.to_vec(),
    });
    assert_eq!(
        (follower.snapshot_index(), follower.compacted_index()),
        (18, 15)
    );
    assert_eq!(follower.entries()[0].index, 16);
}

/// The purpose of trailing entries (`Config::snapshot_trailing_entries`): a follower whose
/// log ends within the trailing window catches up by entries, without any InstallSnapshot;
/// one entry further behind, it gets the snapshot.
#[test]
fn follower_within_the_trailing_window_catches_up_by_entries() {
    let mut leader = leader_with_snapshot(small_chunks(3), b"state");
    assert_eq!(leader.compacted_index(), 7);
    let mut follower = restored_node(config(2), 1, &[1; 7]);
    let first = receive(&mut follower, 1, append(2, 10, 1, vec![noop(11, 2)], 11));
    let actions = receive(&mut leader, 2, sent_to(&first, 1)[0].clone());
    assert_eq!(
        appends_to(&actions, 2),
        vec![(7, vec![entry(8, 1), entry(9, 1), entry(10, 1), noop(11, 2)])]
    );
    let seen = pump(&mut leader, &mut follower, actions);
    assert!(!any_chunk(&seen.to_follower), "{:?}", seen.to_follower);
    assert_eq!((follower.last_index(), follower.commit_index()), (11, 11));
    assert_eq!(applied(&seen.follower), (1..=11).collect::<Vec<_>>());

    let mut leader = leader_with_snapshot(small_chunks(3), b"state");
    let mut follower = restored_node(config(2), 1, &[1; 6]);
    let first = receive(&mut follower, 1, append(2, 10, 1, vec![noop(11, 2)], 11));
    let actions = receive(&mut leader, 2, sent_to(&first, 1)[0].clone());
    assert!(appends_to(&actions, 2).is_empty(), "{actions:?}");
    assert_eq!(chunks_to(&actions, 2)[0].meta, snapshot_meta(10, 1));
    let seen = pump(&mut leader, &mut follower, actions);
    assert_eq!(installed_snapshots(&seen.follower).len(), 1);
    assert_eq!((follower.last_index(), follower.commit_index()), (11, 11));
}

// ----- restart from a snapshot -----

/// ARCHITECTURE.md §1, restart (`Restored::snapshot`): stored entries the snapshot covers are
/// accepted and dropped; the node starts with commit = applied = the snapshot's index, its
/// log's last entry is the snapshot's when nothing follows, and applying resumes at the
/// snapshot's index + 1 (a one-node cluster commits on its own).
#[test]
fn restart_from_a_snapshot_applies_from_after_it() {
    let single = || Config::new(1);
    let snapshot = Snapshot {
        meta: SnapshotMeta {
            last_index: 5,
            last_term: 2,
            membership: pureraft::Membership::new([1]),
            membership_index: 0,
        },
        data: b"five".to_vec(),
    };
    let restored = |entries: Vec<Entry<u64>>, applied: LogIndex| Restored {
        hard_state: HardState {
            term: 2,
            vote: Some(1),
        },
        snapshot: Some(snapshot.clone()),
        entries,
        applied,
        membership: pureraft::Membership::new([1]),
    };
    let overlapping: Vec<Entry<u64>> = (3..=7).map(|index| entry(index, 2)).collect();
    let mut node: Node = Raft::new(single(), restored(overlapping.clone(), 0)).unwrap();
    assert_eq!(
        node.entries(),
        [entry(6, 2), entry(7, 2)],
        "3, 4 and 5 dropped"
    );
    let status = node.status();
    assert_eq!((status.commit_index, status.applied_index), (5, 5));
    assert_eq!((status.snapshot_index, status.compacted_index), (5, 5));
    assert_eq!((status.last_index, status.last_term), (7, 2));
    assert_eq!(node.snapshot(), Some(&snapshot));
    let actions = tick_until_campaign(&mut node);
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(
        applied(&actions),
        vec![6, 7, 8],
        "from the snapshot's index + 1"
    );

    // Applied past the snapshot: resume after applied.
    let mut node: Node = Raft::new(single(), restored(overlapping, 6)).unwrap();
    assert_eq!(node.applied_index(), 6);
    let actions = tick_until_campaign(&mut node);
    assert_eq!(applied(&actions), vec![7, 8]);

    // Every stored entry covered: the log is empty after the snapshot.
    let covered: Vec<Entry<u64>> = (1..=3).map(|index| entry(index, 1)).collect();
    let mut node: Node = Raft::new(single(), restored(covered, 0)).unwrap();
    assert!(node.entries().is_empty());
    assert_eq!((node.last_index(), node.last_term()), (5, 2));
    let actions = tick_until_campaign(&mut node);
    assert_eq!(applied(&actions), vec![6]);
    assert_eq!(persisted_entries(&actions), vec![vec![noop(6, 3)]]);
}

/// Raft §5.4.1 after a restart from a snapshot: the log's last entry is the snapshot's when
/// nothing follows it, so a candidate whose log ends before it, or in an earlier term, is
/// refused, and one whose log ends at it is granted.
#[test]
fn restart_from_a_snapshot_votes_by_the_snapshots_last_entry() {
    let fresh = || Raft::new(config(1), restored_from_snapshot(2, 5, 2, &[])).unwrap();
    let mut node: Node = fresh();
    assert_eq!(
        vote_answer(&receive(&mut node, 2, vote_request(3, 4, 2)), 2),
        Some((3, false))
    );
    let mut node: Node = fresh();
    assert_eq!(
        vote_answer(&receive(&mut node, 2, vote_request(3, 9, 1)), 2),
        Some((3, false))
    );
    let mut node: Node = fresh();
    assert_eq!(
        vote_answer(&receive(&mut node, 2, vote_request(3, 5, 2)), 2),
        Some((3, true))
    );
}

// ----- correctness reference §2: the snapshot scenarios -----

/// Correctness reference §2, item 12 ("a prev index before the snapshot is not a conflict";
/// openraft #511): a new leader whose first append starts before the follower's snapshot is
/// accepted; nothing is truncated, only the new entries are stored, and commit follows.
#[test]
fn prev_index_before_the_snapshot_is_not_a_conflict() {
    let mut follower: Node =
        Raft::new(config(1), restored_from_snapshot(2, 10, 1, &[2, 2])).unwrap();
    let mut entries: Vec<Entry<u64>> = (5..=10).map(|index| entry(index, 1)).collect();
    entries.extend([entry(11, 2), entry(12, 2), entry(13, 3)]);
    let actions = receive(&mut follower, 3, append(3, 4, 1, entries, 13));
    let answer = (3, AppendOutcome::Accepted { match_index: 13 });
    assert_eq!(append_answers(&actions, 3), vec![answer]);
    assert_eq!(persisted_entries(&actions), vec![vec![entry(13, 3)]]);
    assert_eq!(applied(&actions), vec![11, 12, 13]);
    assert_eq!(
        follower.entries(),
        [entry(11, 2), entry(12, 2), entry(13, 3)]
    );
    assert_eq!(follower.compacted_index(), 10);
}

/// Correctness reference §2, item 12 ("a stale, shorter append must not truncate a matching
/// suffix"; raftos #26), after an install: a delayed append of the same leader that starts
/// before the installed snapshot and ends inside the follower's log truncates nothing.
#[test]
fn stale_append_after_an_install_truncates_nothing() {
    let mut follower = node(1);
    receive(
        &mut follower,
        2,
        chunk(2, snapshot_meta(20, 2), 0, b"snap", 4),
    );
    receive(
        &mut follower,
        2,
        append(2, 20, 2, vec![entry(21, 2), entry(22, 2)], 20),
    );
    assert_eq!(follower.last_index(), 22);
    let stale: Vec<Entry<u64>> = (16..=21).map(|index| entry(index, 2)).collect();
    let actions = receive(&mut follower, 2, append(2, 15, 2, stale, 20));
    let answer = (2, AppendOutcome::Accepted { match_index: 22 });
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    assert!(!has_persist(&actions), "{actions:?}");
    assert_eq!(follower.entries(), [entry(21, 2), entry(22, 2)]);
}

/// Correctness reference §2, item 13 ("an old append arriving after a snapshot restore";
/// willemt/raft #118): a node restarted from a snapshot gets appends sent before it
/// snapshotted. One of an old term is refused with our term; one of our term whose entries
/// the snapshot covers changes nothing and is answered with the snapshot's index; one that
/// reaches past the snapshot stores only what is new.
#[test]
fn old_append_arriving_after_a_snapshot_restore_is_harmless() {
    let mut node: Node = Raft::new(config(1), restored_from_snapshot(2, 10, 1, &[])).unwrap();
    let before = (node.status(), node.snapshot().cloned());
    let old: Vec<Entry<u64>> = (4..=6).map(|index| entry(index, 1)).collect();
    let actions = receive(&mut node, 2, append(1, 3, 1, old.clone(), 6));
    let refused = AppendOutcome::Rejected {
        rejected_index: 3,
        hint_index: 0,
        hint_term: 0,
    };
    assert_eq!(append_answers(&actions, 2), vec![(2, refused)]);
    assert_eq!((node.status(), node.snapshot().cloned()), before);

    let actions = receive(&mut node, 2, append(2, 3, 1, old, 6));
    let answer = (2, AppendOutcome::Accepted { match_index: 10 });
    assert_eq!(append_answers(&actions, 2), vec![answer]);
    assert!(!has_persist(&actions), "{actions:?}");
    assert!(applied(&actions).is_empty());
    assert_eq!(node.compacted_index(), 10);
    assert!(node.entries().is_empty());

    let entries = vec![entry(10, 1), entry(11, 2), entry(12, 2)];
    let actions = receive(&mut node, 2, append(2, 9, 1, entries, 12));
    assert_eq!(
        persisted_entries(&actions),
        vec![vec![entry(11, 2), entry(12, 2)]]
    );
    assert_eq!(applied(&actions), vec![11, 12]);
}

/// Correctness reference §2, item 13 ("a lagging follower that never gets its snapshot";
/// hashicorp/raft #212, NuRaft #407): every chunk to a follower is lost for three heartbeat
/// intervals; the leader keeps resending, and once the network heals the follower gets the
/// snapshot and then the entries after it.
#[test]
fn lagging_follower_gets_its_snapshot_after_its_chunks_were_lost() {
    let data: Vec<u8> = (0..30).collect();
    let mut leader = leader_with_snapshot(small_chunks(2), &data);
    let mut actions = start_transfer_to_2(&mut leader);
    let heartbeat = leader.config().heartbeat_ticks;
    for _ in 0..3 {
        // Lost: whatever was sent to node 2.
        actions = ticks(&mut leader, heartbeat).pop().unwrap();
        assert!(!chunks_to(&actions, 2).is_empty(), "{actions:?}");
    }
    let mut follower = node(2);
    let seen = pump(&mut leader, &mut follower, actions);
    assert_eq!(
        installed_snapshots(&seen.follower),
        vec![snapshot_of(10, 1, &data)]
    );
    assert_eq!((follower.commit_index(), follower.last_index()), (11, 11));
    assert_eq!(match_index_of(&leader, 2), 11);
}

/// Correctness reference §2, item 22 (tikv/raft-rs #555): a stale rejection, reordered after
/// the follower matched, must not send the leader's next index below what the follower has,
/// where it would be compacted away and cost a needless snapshot. It is ignored: no chunk,
/// match unchanged, and replication goes on by entries.
#[test]
fn stale_rejection_does_not_send_a_needless_snapshot() {
    let mut leader = leader_with_snapshot(small_chunks(2), b"state");
    assert_eq!(leader.compacted_index(), 8);
    receive(&mut leader, 2, accepted(2, 11));
    assert_eq!(match_index_of(&leader, 2), 11);
    for message in [
        rejected(2, 10, 0, 0),
        rejected(2, 5, 0, 0),
        rejected(2, 0, 0, 0),
        rejected(2, 11, 3, 1),
    ] {
        let actions = receive(&mut leader, 2, message);
        assert!(actions.is_empty(), "{actions:?}");
        assert_eq!(match_index_of(&leader, 2), 11);
    }
    let actions = leader.step(Event::Propose(12));
    assert_eq!(appends_to(&actions, 2), vec![(11, vec![entry(12, 2)])]);
    // With an append in flight, a rejection of an index the follower already matched is
    // still stale.
    let actions = receive(&mut leader, 2, rejected(2, 7, 0, 0));
    assert!(actions.is_empty(), "{actions:?}");
    let actions = leader.step(Event::Propose(13));
    assert!(chunks_to(&actions, 2).is_empty());
    assert_eq!(appends_to(&actions, 2), vec![(12, vec![entry(13, 2)])]);
}

// ----- the simulator -----

/// The leader of the highest term among the running nodes, if any.
fn current_leader(sim: &Sim<u64>) -> Option<NodeId> {
    sim.ids()
        .filter_map(|id| sim.raft(id).map(|raft| (raft.term(), raft.role(), id)))
        .filter(|&(_, role, _)| role == Role::Leader)
        .max_by_key(|&(term, _, _)| term)
        .map(|(_, _, id)| id)
}

/// The ticks at which node `id` installed a snapshot, from the recorded timeline.
fn install_ticks(timeline: &[(u64, SimEvent)], id: NodeId) -> Vec<u64> {
    timeline
        .iter()
        .filter_map(|(tick, event)| match event {
            SimEvent::SnapshotInstalled { node, .. } if *node == id => Some(*tick),
            _ => None,
        })
        .collect()
}

/// A three-node cluster with a snapshot every 10 entries (5 trailing) whose snapshots carry
/// `padding` bytes, sent in chunks of `chunk_bytes`.
fn snapshotting_cluster(
    seed: u64,
    padding: usize,
    chunk_bytes: u64,
    network: NetworkConfig,
) -> Sim<u64> {
    let mut config = SimConfig::new(3, seed).with_snapshots(10);
    config.snapshot_padding = padding;
    config.node.snapshot_chunk_bytes = chunk_bytes;
    config.network = network;
    Sim::new(config)
}

/// Disconnects a follower of the current leader and commits 60 entries without it; answers
/// the follower.
fn leave_a_follower_behind(sim: &mut Sim<u64>, seed: u64) -> NodeId {
    let leader = check(sim.check_one_leader(), seed, "first leader");
    let lagging = lab_peer(leader, 1, 3);
    sim.disconnect(lagging);
    for command in 0..60 {
        check(
            sim.one(command, 2, true),
            seed,
            "commit without the lagging node",
        );
    }
    lagging
}

/// pureraft's compaction rule, end to end ("a follower behind by more than the trailing
/// entries while the leader keeps compacting must still catch up: no endless snapshot
/// loop"): a follower 60 entries behind reconnects while the client proposes two commands
/// every tick, every host snapshots every 10 entries, and each snapshot takes 64 chunks of
/// 256 bytes. The follower catches up (applies within a few entries of the leader's commit)
/// within 2,000 ticks with at most 3 installs, and once the load stops all nodes agree.
#[test]
fn lagging_follower_catches_up_while_the_leader_keeps_compacting() {
    for network in [NetworkConfig::reliable(), NetworkConfig::unreliable()] {
        for seed in seeds() {
            let mut sim = snapshotting_cluster(seed, 16 * 1024, 256, network.clone());
            let lagging = leave_a_follower_behind(&mut sim, seed);
            sim.record_timeline(true);
            sim.connect(lagging);
            let mut command = 1_000;
            let mut caught_up_at = None;
            for tick in 0..2_000 {
                if let Some(leader) = current_leader(&sim) {
                    for _ in 0..2 {
                        sim.propose(leader, command);
                        command += 1;
                    }
                }
                sim.tick();
                let commit = current_leader(&sim)
                    .and_then(|leader| sim.raft(leader))
                    .map_or(0, |raft| raft.commit_index());
                let applied = sim.raft(lagging).map_or(0, |raft| raft.applied_index());
                if applied > 70 && applied + 10 >= commit {
                    caught_up_at = Some(tick);
                    break;
                }
            }
            let timeline = sim.take_timeline();
            let installed = install_ticks(&timeline, lagging).len();
            let stats = sim.stats();
            assert!(
                caught_up_at.is_some(),
                "seed {seed}, {network:?}: the lagging node {lagging} did not catch up in \
                 2,000 ticks under load: {installed} installs, {} chunks sent, applied {} of {}",
                stats.snapshot_chunks_sent,
                sim.raft(lagging).map_or(0, |raft| raft.applied_index()),
                sim.applied_range().1,
            );
            assert!(
                (1..=3).contains(&installed),
                "seed {seed}: {installed} installs to the lagging node"
            );
            // Without load, every node applies everything the leader committed.
            let agreed = sim.run_until(1_000, |sim| {
                let commit = current_leader(sim)
                    .and_then(|leader| sim.raft(leader))
                    .map_or(0, |raft| raft.commit_index());
                (1..=3).all(|id| {
                    sim.raft(id)
                        .is_some_and(|raft| raft.applied_index() == commit)
                })
            });
            let applied: Vec<LogIndex> = (1..=3)
                .map(|id| sim.raft(id).map_or(0, |raft| raft.applied_index()))
                .collect();
            assert!(
                agreed,
                "seed {seed}: nodes disagree after the load: {applied:?}"
            );
        }
    }
}

/// Figure 13 across a leader change: the leader is cut off while it sends a 48-chunk
/// snapshot to a lagging follower. The new leader (the third node: the lagging one cannot
/// win) sends its own snapshot, which the follower installs after the change, in the new
/// term, and the two then commit together.
#[test]
fn leader_change_in_the_middle_of_a_transfer_still_completes() {
    for seed in seeds() {
        let mut sim = snapshotting_cluster(seed, 48 * 1024, 1024, NetworkConfig::reliable());
        let lagging = leave_a_follower_behind(&mut sim, seed);
        let chunks_before = sim.stats().snapshot_chunks_sent;
        sim.record_timeline(true);
        sim.connect(lagging);
        let started = sim.run_until(200, |sim| {
            sim.stats().snapshot_chunks_sent >= chunks_before + 8
        });
        assert!(started, "seed {seed}: no transfer started");
        let installed = sim.stats().snapshots_installed;
        assert_eq!(installed, 0, "seed {seed}: the transfer ended early");
        let sender = current_leader(&sim).expect("the leader sending the snapshot");
        let sender_term = sim.raft(sender).unwrap().term();
        sim.disconnect(sender);
        let cut_at = sim.now();

        let new_leader = check(sim.check_one_leader(), seed, "a new leader");
        assert_ne!(
            new_leader, lagging,
            "seed {seed}: the lagging node cannot win"
        );
        let new_term = sim.raft(new_leader).unwrap().term();
        assert!(new_term > sender_term, "seed {seed}");
        let index = check(sim.one(9_999, 2, true), seed, "commit with the follower");
        let installs = install_ticks(&sim.take_timeline(), lagging);
        assert!(!installs.is_empty(), "seed {seed}: no install");
        assert!(
            installs.iter().all(|&tick| tick > cut_at),
            "seed {seed}: installed at {installs:?}, before the old leader was cut off at \
             {cut_at}"
        );
        let follower = sim.raft(lagging).unwrap();
        assert_eq!(follower.term(), new_term, "seed {seed}");
        assert!(follower.applied_index() >= index, "seed {seed}");
    }
}
