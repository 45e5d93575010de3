//! What a leader sends to a follower that does not answer, or answers slowly (issue 21). The
//! rule (crate docs, "Followers that do not answer"): entries and snapshot bytes go to a
//! follower when they are new, or again only when one of its answers shows it lacks them; a
//! silent follower gets one small message per heartbeat, whose size does not depend on the
//! entries' or the snapshot's, and its first answer after it comes back starts its catch-up.
//! On 0ed1a3e (issue 14's tree) a dead follower was sent about 122 KB per heartbeat on the
//! log path and about 1 MB on the snapshot path, and a slow one every chunk several times.

mod common;

use pureraft::sim::{Faults, NetworkConfig, Sim, SimConfig, SimStats};
use pureraft::{Config, NodeId};

use common::hand::*;
use pureraft::Event;

/// The bound per heartbeat interval on what a silent follower is sent: two messages and 200
/// bytes (`Message::size_bytes`), whatever the entries' and the snapshot's sizes. A heartbeat
/// or a probe is one header (32 bytes), a snapshot probe one header and the voters.
const SILENT_MESSAGES_PER_HEARTBEAT: f64 = 2.0;
const SILENT_BYTES_PER_HEARTBEAT: f64 = 200.0;

/// One node of 3 down for 5,000 ticks while a client proposes every tick (the simulator's
/// long-outage mode), with the lab's timing (heartbeat every 10 ticks).
fn outage_run(seed: u64, snapshot_bytes: usize) -> SimStats {
    let mut config = SimConfig::new(3, seed);
    if snapshot_bytes > 0 {
        config = config.with_snapshots(100);
        config.snapshot_padding = snapshot_bytes - 16;
        config.node.snapshot_trailing_entries = 0;
    }
    let mut sim: Sim<u64> = Sim::new(config);
    let faults = Faults::long_outage(5_000);
    let mut next = 1;
    for _ in 0..5_000 {
        sim.chaos_tick(&faults, &mut next);
    }
    assert!(
        sim.committed().len() > 4_000,
        "the live majority kept committing"
    );
    sim.stats()
}

fn assert_silent_follower_bound(stats: SimStats, what: &str) {
    let (messages, bytes) = stats.to_down_nodes_per_heartbeat(10);
    assert!(
        messages <= SILENT_MESSAGES_PER_HEARTBEAT && bytes <= SILENT_BYTES_PER_HEARTBEAT,
        "{what}: {messages:.2} messages and {bytes:.0} bytes per heartbeat to the down node"
    );
    assert!(
        stats.largest_message_to_down_node <= SILENT_BYTES_PER_HEARTBEAT as u64,
        "{what}: a message of {} bytes to the down node",
        stats.largest_message_to_down_node
    );
}

/// The rule on the log path: a follower down from the start is probed once per heartbeat with
/// an empty append, never sent the entries again.
#[test]
fn a_dead_follower_is_sent_small_constant_messages_on_the_log_path() {
    for seed in 0..5 {
        let stats = outage_run(seed, 0);
        assert_silent_follower_bound(stats, &format!("log path, seed {seed}"));
    }
}

/// The rule on the snapshot path: no snapshot chunk goes to a follower that never answered,
/// whatever the snapshot's size.
#[test]
fn a_dead_follower_is_sent_small_constant_messages_on_the_snapshot_path() {
    for seed in 0..3 {
        let stats = outage_run(seed, 1 << 20);
        assert_silent_follower_bound(stats, &format!("1 MiB snapshots, seed {seed}"));
    }
}

// ----- the set-up: Config::new's defaults, 128-byte commands -----

/// A cluster with `Config::new`'s defaults (heartbeat every 3 ticks, 1 MiB chunks, 4 in
/// flight), hosts snapshotting every 100 entries of `snapshot_bytes` and keeping none.
fn default_cluster(seed: u64, snapshot_bytes: usize) -> Sim<Vec<u8>> {
    let mut config = SimConfig::new(3, seed).with_snapshots(100);
    config.node = Config::new(1);
    config.node.snapshot_trailing_entries = 0;
    config.snapshot_padding = snapshot_bytes - 16;
    Sim::new(config)
}

fn load(sim: &mut Sim<Vec<u8>>, ticks: u64) {
    for _ in 0..ticks {
        if let Some(leader) = sim.believed_leader() {
            sim.propose(leader, vec![0xAB; 128]);
        }
        sim.tick();
    }
}

/// A follower down for 1,000 ticks under load comes back behind a one-way latency of 8 ticks,
/// a round trip longer than the 3-tick heartbeat: it is sent each chunk of the snapshot it
/// needs once (the link loses nothing), and catches up.
#[test]
fn a_slow_follower_is_sent_each_snapshot_chunk_once() {
    for (chunks, seed) in [(1, 1), (1, 2), (16, 1)] {
        let snapshot_bytes = chunks << 20;
        let mut sim = default_cluster(seed, snapshot_bytes);
        assert!(sim.run_until(1_000, |sim| sim.believed_leader().is_some()));
        let leader = sim.believed_leader().unwrap();
        let follower: NodeId = sim.ids().find(|&id| id != leader).unwrap();
        load(&mut sim, 100);
        sim.crash(follower);
        load(&mut sim, 1_000);
        sim.set_network(NetworkConfig {
            latency_min_ticks: 8,
            latency_max_ticks: 8,
            ..NetworkConfig::reliable()
        });
        let target = sim.raft(leader).unwrap().commit_index();
        let before = sim.stats();
        sim.restart(follower);
        load(&mut sim, 500);
        let applied = sim.raft(follower).unwrap().applied_index();
        assert!(
            applied >= target,
            "seed {seed}: caught up to {applied} of {target}"
        );
        let installed = sim.stats().snapshots_installed - before.snapshots_installed;
        let sent = sim.stats().snapshot_bytes_sent - before.snapshot_bytes_sent;
        assert_eq!(installed, 1, "seed {seed}");
        assert_eq!(
            sent, snapshot_bytes as u64,
            "seed {seed}: {chunks} chunk(s) of 1 MiB needed, {sent} bytes sent"
        );
    }
}

// ----- by hand -----

/// A follower that never answered its probe gets, at each heartbeat, an append without
/// entries, however many entries the leader holds; proposals do not go to it either. Its first
/// answer then brings the entries at once.
#[test]
fn a_probed_follower_that_does_not_answer_gets_empty_probes_then_entries_on_its_answer() {
    let mut leader = node(1);
    elect(&mut leader, 3);
    for command in 0..50 {
        leader.step(Event::Propose(command));
    }
    let mut to_2 = Vec::new();
    for _ in 0..10 * leader.config().heartbeat_ticks {
        let actions = leader.step(Event::Tick);
        to_2.extend(appends_to(&actions, 2));
    }
    let sizes: Vec<usize> = to_2.iter().map(|(_, entries)| entries.len()).collect();
    assert_eq!(
        sizes,
        vec![0; 10],
        "entries in each probe, one per heartbeat"
    );
    // The follower answers: it holds nothing.
    let actions = receive(&mut leader, 2, accepted(1, 0));
    let appends = appends_to(&actions, 2);
    assert_eq!(appends.len(), 1, "{actions:?}");
    assert_eq!(appends[0].0, 0);
    assert_eq!(appends[0].1.len(), 51, "the no-op and the fifty commands");
}

/// Node 1 leading term 1 of {1, 2, 3}, both followers caught up to its no-op (Replicate).
fn leader_with_followers_in_replicate() -> Node {
    let mut leader = node(1);
    elect(&mut leader, 3);
    receive(&mut leader, 2, accepted(1, 1));
    receive(&mut leader, 3, accepted(1, 1));
    leader
}

/// An append lost on the way to a follower that replicates: once a whole heartbeat interval
/// passed without progress, the heartbeat is an empty append from the last index sent, not
/// the entries; the follower's rejection of it, the evidence of the gap, brings them at once.
#[test]
fn a_lost_append_is_sent_again_on_the_rejection_of_a_tail_probe() {
    let mut leader = leader_with_followers_in_replicate();
    let actions = leader.step(Event::Propose(7));
    assert_eq!(appends_to(&actions, 2), vec![(1, vec![entry_of(2, 7)])]);
    // Lost. Node 3 acknowledges; two heartbeat intervals pass (the first began with node 2's
    // progress to 1).
    receive(&mut leader, 3, accepted(1, 2));
    let mut to_2 = Vec::new();
    for _ in 0..2 * leader.config().heartbeat_ticks {
        to_2.extend(appends_to(&leader.step(Event::Tick), 2));
    }
    assert_eq!(
        to_2,
        vec![(1, vec![]), (2, vec![])],
        "a heartbeat from the match, then an empty append from the last index sent"
    );
    let actions = receive(&mut leader, 2, rejected(1, 2, 1, 1));
    assert_eq!(appends_to(&actions, 2), vec![(1, vec![entry_of(2, 7)])]);
}

/// A follower that stops answering is never sent the same entries again, however long it
/// stays silent: one empty append per heartbeat, and new entries only while fewer than
/// `max_inflight_appends` appends wait for an answer.
#[test]
fn a_follower_that_went_silent_gets_no_entry_twice() {
    let mut config = config(1);
    config.max_inflight_appends = 4;
    let mut leader = pureraft::Raft::new(config, pureraft::Restored::bootstrap([1, 2, 3])).unwrap();
    elect(&mut leader, 3);
    receive(&mut leader, 2, accepted(1, 1));
    receive(&mut leader, 3, accepted(1, 1));
    let mut sent = Vec::new();
    for command in 0..200 {
        let mut actions = leader.step(Event::Propose(command));
        actions.extend(leader.step(Event::Tick));
        // Node 3 answers everything; node 2 nothing.
        let last = leader.last_index();
        actions.extend(receive(&mut leader, 3, accepted(1, last)));
        sent.extend(appends_to(&actions, 2));
    }
    let mut indices: Vec<u64> = sent
        .iter()
        .flat_map(|(_, entries)| entries.iter().map(|entry| entry.index))
        .collect();
    let total = indices.len();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), total, "an entry sent twice: {sent:?}");
    assert_eq!(total, 4, "four appends of one entry, the window");
    let empty = sent
        .iter()
        .filter(|(_, entries)| entries.is_empty())
        .count();
    let heartbeats = 200 / leader.config().heartbeat_ticks;
    assert!(
        (heartbeats - 1..=heartbeats + 1).contains(&(empty as u64)),
        "{empty} empty appends in {heartbeats} heartbeats"
    );
}

/// The entry at `index` of term 1 carrying `command`.
fn entry_of(index: u64, command: u64) -> pureraft::Entry<u64> {
    pureraft::Entry {
        term: 1,
        index,
        payload: pureraft::Payload::Command(command),
    }
}
