//! What a leader sends to followers that do not answer, and how fast a follower that comes
//! back catches up: the bad paths, measured in the simulator with the defaults of
//! `Config::new` (election timeouts of 10-20 ticks, a heartbeat every 3 ticks, 1 MiB
//! messages and snapshot chunks, 4 chunks in flight) on a 3-node cluster whose leader takes
//! one 128-byte proposal per tick and whose hosts snapshot every 100 applied entries.
//!
//! ```text
//! cargo bench --bench traffic
//! ```
//!
//! Prints one `TRAFFIC` line per scenario:
//! - `dead_*`: one follower down for 3,000 ticks: messages and bytes (`Message::size_bytes`)
//!   sent to it per heartbeat interval, the largest message it was sent, and what the leader
//!   and the live follower exchange per heartbeat, for comparison. On the log path (no
//!   snapshots), and with snapshots of 1 MiB (1024 trailing entries, then none) and 16 MiB.
//! - `slow_*`: one follower down for 1,000 ticks, then back behind a one-way latency of 8
//!   ticks (a round trip longer than the heartbeat, far shorter than the election timeout),
//!   catching up by a 1 MiB or 16 MiB snapshot (no trailing entries): the `InstallSnapshot`
//!   messages sent, the copies of the snapshot's bytes they carried, and the ticks it took.
//! - `recover_*`: one follower down for 3,000 ticks, then back on a reliable network or one
//!   that loses 10% of messages (latency 0-3 ticks): ticks until it applied everything
//!   committed when it came back, mean and worst over 20 seeds.
//!
//! Not timed and not run by `cargo test`; `tests/silent_followers.rs` holds the bounds.

use pureraft::sim::{NetworkConfig, Sim, SimConfig, SimStats};
use pureraft::{Config, NodeId};

/// The command every proposal carries: 128 bytes.
fn command() -> Vec<u8> {
    vec![0xAB; 128]
}

/// The cluster of every scenario: `Config::new`'s defaults, snapshots every 100 entries of
/// `snapshot_bytes` (none if 0) with `trailing` entries kept.
fn cluster(seed: u64, snapshot_bytes: usize, trailing: u64) -> Sim<Vec<u8>> {
    let mut config = SimConfig::new(3, seed);
    config.node = Config::new(1);
    config.node.snapshot_trailing_entries = trailing;
    if snapshot_bytes > 0 {
        config = config.with_snapshots(100);
        // A simulated snapshot is 16 bytes of state, then the padding.
        config.snapshot_padding = snapshot_bytes - 16;
    }
    Sim::new(config)
}

/// Elects a leader and answers it with a follower.
fn leader_and_follower(sim: &mut Sim<Vec<u8>>) -> (NodeId, NodeId) {
    assert!(sim.run_until(1_000, |sim| sim.believed_leader().is_some()));
    let leader = sim.believed_leader().unwrap();
    let follower = sim.ids().find(|&id| id != leader).unwrap();
    (leader, follower)
}

/// `ticks` ticks, each with one proposal to the node that believes it leads.
fn load(sim: &mut Sim<Vec<u8>>, ticks: u64) {
    for _ in 0..ticks {
        if let Some(leader) = sim.believed_leader() {
            sim.propose(leader, command());
        }
        sim.tick();
    }
}

/// The difference of two counters.
fn since(after: SimStats, before: SimStats) -> SimStats {
    SimStats {
        ticks: after.ticks - before.ticks,
        messages_sent: after.messages_sent - before.messages_sent,
        bytes_sent: after.bytes_sent - before.bytes_sent,
        down_node_ticks: after.down_node_ticks - before.down_node_ticks,
        messages_to_down_nodes: after.messages_to_down_nodes - before.messages_to_down_nodes,
        bytes_to_down_nodes: after.bytes_to_down_nodes - before.bytes_to_down_nodes,
        largest_message_to_down_node: after.largest_message_to_down_node,
        snapshot_chunks_sent: after.snapshot_chunks_sent - before.snapshot_chunks_sent,
        snapshot_bytes_sent: after.snapshot_bytes_sent - before.snapshot_bytes_sent,
        ..SimStats::default()
    }
}

const HEARTBEAT_TICKS: u64 = 3;

fn dead(name: &str, snapshot_bytes: usize, trailing: u64) {
    let mut sim = cluster(1, snapshot_bytes, trailing);
    let (_, follower) = leader_and_follower(&mut sim);
    load(&mut sim, 100);
    sim.crash(follower);
    let before = sim.stats();
    load(&mut sim, 3_000);
    let stats = since(sim.stats(), before);
    let (messages, bytes) = stats.to_down_nodes_per_heartbeat(HEARTBEAT_TICKS);
    let heartbeats = stats.ticks as f64 / HEARTBEAT_TICKS as f64;
    let live_messages = (stats.messages_sent - stats.messages_to_down_nodes) as f64 / heartbeats;
    let live_bytes = (stats.bytes_sent - stats.bytes_to_down_nodes) as f64 / heartbeats;
    println!(
        "TRAFFIC name={name} to_dead_msgs_per_heartbeat={messages:.2} \
         to_dead_bytes_per_heartbeat={bytes:.0} largest_to_dead={} \
         live_msgs_per_heartbeat={live_messages:.2} live_bytes_per_heartbeat={live_bytes:.0}",
        stats.largest_message_to_down_node
    );
}

fn slow(name: &str, snapshot_bytes: usize) {
    let mut sim = cluster(1, snapshot_bytes, 0);
    let (leader, follower) = leader_and_follower(&mut sim);
    load(&mut sim, 100);
    sim.crash(follower);
    load(&mut sim, 1_000);
    sim.set_network(NetworkConfig {
        latency_min_ticks: 8,
        latency_max_ticks: 8,
        ..NetworkConfig::reliable()
    });
    let target = sim.raft(leader).unwrap().commit_index();
    sim.restart(follower);
    let before = sim.stats();
    let start = sim.now();
    let mut caught_up = None;
    for _ in 0..2_000 {
        load(&mut sim, 1);
        let applied = sim.raft(follower).map_or(0, |raft| raft.applied_index());
        if caught_up.is_none() && applied >= target {
            caught_up = Some(sim.now() - start);
        }
    }
    let stats = since(sim.stats(), before);
    println!(
        "TRAFFIC name={name} snapshot_messages={} snapshot_copies={:.2} caught_up_ticks={}",
        stats.snapshot_chunks_sent,
        stats.snapshot_bytes_sent as f64 / snapshot_bytes as f64,
        caught_up.map_or("never".to_string(), |ticks| ticks.to_string()),
    );
}

fn recover(name: &str, network: NetworkConfig) {
    let mut all = Vec::new();
    for seed in 1..=20 {
        let mut sim = cluster(seed, 4_096, 1024);
        let (leader, follower) = leader_and_follower(&mut sim);
        load(&mut sim, 100);
        sim.crash(follower);
        load(&mut sim, 3_000);
        sim.set_network(network.clone());
        let target = sim.raft(leader).map_or(0, |raft| raft.commit_index());
        sim.restart(follower);
        let start = sim.now();
        let mut ticks = None;
        for _ in 0..10_000 {
            load(&mut sim, 1);
            let applied = sim.raft(follower).map_or(0, |raft| raft.applied_index());
            if applied >= target {
                ticks = Some(sim.now() - start);
                break;
            }
        }
        all.push(ticks.expect("the follower caught up within 10,000 ticks"));
    }
    let mean = all.iter().sum::<u64>() as f64 / all.len() as f64;
    let worst = all.iter().max().unwrap();
    println!("TRAFFIC name={name} caught_up_ticks_mean_of_20={mean:.1} worst={worst}");
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    dead("dead_log", 0, 1024);
    dead("dead_snapshot_1mib", 1 << 20, 1024);
    dead("dead_snapshot_1mib_no_trailing", 1 << 20, 0);
    dead("dead_snapshot_16mib_no_trailing", 16 << 20, 0);
    slow("slow_snapshot_1mib", 1 << 20);
    slow("slow_snapshot_16mib", 16 << 20);
    recover("recover_reliable", NetworkConfig::reliable());
    recover("recover_lossy", NetworkConfig::unreliable());
}
