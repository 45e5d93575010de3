//! The MIT 6.5840 Raft lab's 2D tests (snapshots and log compaction; 3D in the 2024 edition),
//! lab tests 22-28, ported one for one onto the deterministic simulator.
//!
//! Time: one tick is 10 ms of the lab's wall clock (see `/work/shared/reference/lab-tests.md`).
//! The lab's `RaftElectionTimeout` (1 s) is 100 ticks, `one()` waits 200 ticks per try and
//! 1,000 in all (the simulator's `Sim::one`), `checkOneLeader()` polls up to 10 times every
//! 45-55 ticks (`Sim::check_one_leader`), and every test must end within the lab's 120 s limit:
//! 12,000 ticks. The nodes use the lab's suggested timing: election timeouts in [30, 60) ticks,
//! a heartbeat every 10 ticks.
//!
//! Snapshots: the lab's `make_config(t, servers, unreliable, true)` runs `applierSnap`, which
//! asks Raft to snapshot after applying every index i with `(i + 1) % SnapShotInterval == 0`
//! (`SnapShotInterval` = 10), before it applies the next entry. The port turns on the same rule
//! in the simulator (`SimConfig::with_snapshots(10)`): each host snapshots its state machine
//! there and reports it with `Event::SnapshotTaken`. After a snapshot the node keeps the 5
//! entries before it in memory (`snapshot_trailing_entries`, the simulator's default), so a
//! follower a little behind still catches up by entries and one further behind needs an
//! `InstallSnapshot`. The lab's snapshot is the gob-encoded list of every value applied so far,
//! a few KB by the end of a test; the port pads each snapshot to 3 KB (`snapshot_padding`), so
//! with the simulator's 1 KiB chunks every install takes several `InstallSnapshot` messages.
//!
//! The lab's `cfg.LogSize()` (the largest `RaftStateSize()` over all servers, crashed ones
//! included) must stay below `MAXLOGSIZE` = 2,000 bytes; its analog is
//! `Sim::persisted_size`: the stored hard state and the stored entries after the snapshot, a
//! 32-byte header plus 24 bytes per `u64` command, so at most 82 entries may be stored past a
//! snapshot. Without compaction a 2D run stores hundreds.
//!
//! Crashes follow the lab's `config.go`: `crash1(i)` disconnects server `i` and kills it
//! keeping exactly what it persisted, snapshot included (`Sim::crash`); `start1(i)` crashes it
//! first if it runs and builds it again from its persisted state (the snapshot and the entries
//! after it), still disconnected until the test connects it. A restarted node's state machine
//! starts from its snapshot and it applies again from the index after it; the simulator checks
//! that it applies the same values. After an `InstallSnapshot` the simulator records every
//! value up to the snapshot's index as applied on that node, as the lab's tester does, so
//! `nCommitted` (`Sim::n_committed`) counts nodes that caught up by a snapshot.
//!
//! Nodes are numbered `1..=n`, so the lab's `(leader + k) % servers` is
//! `lab_peer(leader, k, servers)`. Our leader appends a no-op entry at the start of its term,
//! which the lab forbids, so indices are never compared with absolute numbers: where the lab
//! counts on a snapshot at index 9 the port checks the index the snapshot was actually taken
//! at. The lab's commands are `rand.Int()`; the port's are a counter, unique within a run.
//!
//! Every scenario runs for the seeds of `common::seeds()` (`0..PURERAFT_LAB_SEEDS`, default 3).
//! The test's own random choices (the lab's `rand.Int() % SnapShotInterval`) come from
//! `common::LabRng`, seeded from the seed; the simulator's network and timeouts from the seed
//! itself. The simulator checks every Raft invariant after every step (a snapshot's state
//! equals the state of the committed entries it covers, nothing applied is applied again or
//! differently, a restarted node applies from its snapshot) and panics naming the seed on a
//! violation.

mod common;

use std::time::Instant;

use common::{
    assert_within_lab_limit, check_one_leader, crash1, lab_peer, one, seeds, start1, LabRng,
};
use pureraft::sim::{NetworkConfig, Sim, SimConfig, SimStats};
use pureraft::{LogIndex, NodeId};

/// The lab's `SnapShotInterval`: the host snapshots after every index i with
/// `(i + 1) % 10 == 0`.
const SNAPSHOT_INTERVAL: u64 = 10;

/// The lab's `MAXLOGSIZE`: the persisted Raft state (without the snapshot) must stay below
/// this many bytes.
const MAX_LOG_SIZE: usize = 2_000;

/// Bytes added to every snapshot, standing in for the lab's snapshot of every applied value:
/// 3 KB, so that a snapshot spans 3 chunks of 1 KiB.
const SNAPSHOT_PADDING: usize = 3_000;

/// What a scenario reports for one seed: the ticks it took and the simulator's counters.
struct Outcome {
    ticks: u64,
    stats: SimStats,
}

impl Outcome {
    fn of(sim: &Sim<u64>) -> Self {
        Outcome {
            ticks: sim.now(),
            stats: sim.stats(),
        }
    }
}

/// Runs `scenario` for every seed, checks the lab's per-test limit on the ticks it took, and
/// reports the simulated ticks, snapshot counters and wall time of each seed (shown with
/// `--nocapture`). Answers the counters summed over the seeds.
fn for_each_seed(name: &str, scenario: impl Fn(u64) -> Outcome) -> SimStats {
    let mut total = SimStats::default();
    for seed in seeds() {
        let started = Instant::now();
        let Outcome { ticks, stats } = scenario(seed);
        assert_within_lab_limit(name, seed, ticks);
        eprintln!(
            "{name}: seed {seed} passed in {ticks} ticks ({:.2?}): {} snapshots taken, {} \
             installed ({} chunks sent)",
            started.elapsed(),
            stats.snapshots_taken,
            stats.snapshots_installed,
            stats.snapshot_chunks_sent
        );
        total.snapshots_taken += stats.snapshots_taken;
        total.snapshots_installed += stats.snapshots_installed;
        total.snapshot_chunks_sent += stats.snapshot_chunks_sent;
        total.ticks += ticks;
    }
    eprintln!(
        "{name}: {} seeds, {} ticks, {} snapshots taken, {} installed ({} chunks sent)",
        seeds().count(),
        total.ticks,
        total.snapshots_taken,
        total.snapshots_installed,
        total.snapshot_chunks_sent
    );
    total
}

/// The lab's `make_config(t, servers, !reliable, true)`: `servers` nodes with the lab's timing,
/// snapshots every 10 applied entries (`applierSnap`), on a reliable or unreliable (latency
/// 0-3 ticks, 10% of messages lost) network.
fn snap_cluster(servers: usize, seed: u64, reliable: bool) -> Sim<u64> {
    let mut config = SimConfig::new(servers, seed).with_snapshots(SNAPSHOT_INTERVAL);
    config.snapshot_padding = SNAPSHOT_PADDING;
    if !reliable {
        config.network = NetworkConfig::unreliable();
    }
    Sim::new(config)
}

/// The lab's `cfg.LogSize()`: the largest persisted Raft state (hard state and stored entries,
/// without the snapshot) over every server, crashed ones included.
fn log_size(sim: &Sim<u64>) -> usize {
    let ids: Vec<NodeId> = sim.ids().collect();
    ids.into_iter()
        .map(|id| sim.persisted_size(id))
        .max()
        .unwrap_or(0)
}

/// The lab's `if cfg.LogSize() >= MAXLOGSIZE { Fatalf("Log size too large") }`.
fn check_log_size(sim: &Sim<u64>, round: usize) {
    let size = log_size(sim);
    assert!(
        size < MAX_LOG_SIZE,
        "log size too large: {size} bytes persisted besides the snapshot, the lab allows \
         fewer than {MAX_LOG_SIZE} (round {round}, seed {})",
        sim.seed()
    );
}

/// The lab's `(SnapShotInterval / 2) + (rand.Int() % SnapShotInterval)`: 5-14 commands,
/// perhaps enough to make a snapshot.
fn perhaps_enough(rng: &mut LabRng) -> u64 {
    SNAPSHOT_INTERVAL / 2 + rng.below(SNAPSHOT_INTERVAL)
}

/// A source of unique commands (the lab's `rand.Int()`).
struct Commands(u64);

impl Commands {
    fn fresh(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// The lab's `snapcommon(t, name, disconnect, reliable, crash)` (3 servers, 30 rounds): commit
/// one command on all 3 and find the leader; then each round picks a victim, the leader's next
/// peer, and a sender, the leader, or every third round (i % 3 == 1) the other way round (the
/// sender, a follower, refuses the proposals as the lab's `Start` does, unless it has been
/// elected once the old leader was cut off). If
/// `disconnect`, the victim is disconnected, else if `crash` it is crashed (`crash1`), and one
/// command is committed on the other 2. Then 5-14 commands are proposed to the sender without
/// waiting, and one more is committed on all 3 (neither variant: every follower has caught up,
/// so no `InstallSnapshot` is needed) or on 2. The persisted Raft state of every server must be
/// below 2,000 bytes (`MAXLOGSIZE`). Then the victim is connected again (`disconnect`) or
/// restarted from its persisted state and connected (`crash`), one command is committed on all
/// 3 (the victim catches up, by `InstallSnapshot` where the leader compacted past its log),
/// and the leader is found again. Without either, the leader is never found again (as in the
/// lab). Each `one` has the lab's limits: 200 ticks per try, 1,000 in all.
fn snapcommon(seed: u64, disconnect: bool, reliable: bool, crash: bool) -> Outcome {
    let iters = 30;
    let servers = 3;
    let mut sim = snap_cluster(servers, seed, reliable);
    let mut rng = LabRng::new(seed);
    let mut commands = Commands(0);

    one(&mut sim, commands.fresh(), servers);
    let mut leader1 = check_one_leader(&mut sim);

    for i in 0..iters {
        let mut victim = lab_peer(leader1, 1, servers);
        let mut sender = leader1;
        if i % 3 == 1 {
            sender = lab_peer(leader1, 1, servers);
            victim = leader1;
        }

        if disconnect {
            sim.disconnect(victim);
            one(&mut sim, commands.fresh(), servers - 1);
        }
        if crash {
            crash1(&mut sim, victim);
            one(&mut sim, commands.fresh(), servers - 1);
        }

        // Perhaps send enough to get a snapshot.
        for _ in 0..perhaps_enough(&mut rng) {
            sim.propose(sender, commands.fresh());
        }

        // Let the appliers catch up with the proposals.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an InstallSnapshot is not
            // needed for snapshot_basic_2d.
            one(&mut sim, commands.fresh(), servers);
        } else {
            one(&mut sim, commands.fresh(), servers - 1);
        }

        check_log_size(&sim, i);

        if disconnect {
            // Reconnect the victim, which may be behind and need a snapshot to catch up.
            sim.connect(victim);
            one(&mut sim, commands.fresh(), servers);
            leader1 = check_one_leader(&mut sim);
        }
        if crash {
            start1(&mut sim, victim);
            sim.connect(victim);
            one(&mut sim, commands.fresh(), servers);
            leader1 = check_one_leader(&mut sim);
        }
    }
    check_snapshotted(&sim);
    Outcome::of(&sim)
}

/// Not a lab check, but it keeps the size check from being vacuous: every server has stored a
/// snapshot (each applied far more than 10 entries).
fn check_snapshotted(sim: &Sim<u64>) {
    let ids: Vec<NodeId> = sim.ids().collect();
    for id in ids {
        assert!(
            sim.persisted_snapshot_index(id) > 0,
            "server {id} never stored a snapshot (seed {})",
            sim.seed()
        );
    }
}

/// Runs `snapcommon` for every seed of an install variant and checks that the scenario
/// really exercised `InstallSnapshot`: on every seed, some server installed a snapshot sent by
/// its leader, and every install took more than one chunk in all (snapshots span 3).
fn snapcommon_installs(name: &str, disconnect: bool, reliable: bool, crash: bool) {
    let total = for_each_seed(name, |seed| {
        let outcome = snapcommon(seed, disconnect, reliable, crash);
        assert!(
            outcome.stats.snapshots_installed > 0,
            "{name}: no server installed a snapshot from its leader in 30 rounds (seed {seed})"
        );
        outcome
    });
    assert!(
        total.snapshot_chunks_sent > total.snapshots_installed,
        "{name}: {} installs took only {} chunks; snapshots span several",
        total.snapshots_installed,
        total.snapshot_chunks_sent
    );
}

/// Lab test 22, TestSnapshotBasic2D "snapshots basic" (3 servers, reliable): [`snapcommon`]
/// with no victim: 30 rounds of 5-14 proposals to the leader (every third round to a follower,
/// which refuses them) and one command committed on all 3; the persisted Raft state stays
/// below 2,000 bytes. Every server must have snapshotted. The lab commits on all 3 here so that
/// no `InstallSnapshot` is required, but it does not forbid one, nor does the port: the
/// reliable network's 0-1 tick latency reorders a burst of appends, a follower rejects some,
/// and the leader, which has compacted meanwhile, may answer a late reply with a snapshot
/// (about 3% of seeds install one).
#[test]
fn snapshot_basic_2d() {
    let total = for_each_seed("snapshot_basic_2d", |seed| {
        snapcommon(seed, false, true, false)
    });
    assert!(
        seeds().is_empty() || total.snapshots_taken > 0,
        "snapshot_basic_2d: no snapshot was taken"
    );
}

/// Lab test 23, TestSnapshotInstall2D "install snapshots (disconnect)" (3 servers, reliable):
/// [`snapcommon`] disconnecting the victim each round; on reconnection it catches up, by
/// `InstallSnapshot` where the leader compacted past its log. Some server must install a
/// snapshot on every seed.
#[test]
fn snapshot_install_2d() {
    snapcommon_installs("snapshot_install_2d", true, true, false);
}

/// Lab test 24, TestSnapshotInstallUnreliable2D "install snapshots (disconnect+unreliable)" (3
/// servers, unreliable network throughout: latency 0-3 ticks, 10% of messages lost):
/// [`snapcommon`] disconnecting the victim each round. Snapshot chunks are lost too. Some
/// server must install a snapshot on every seed.
#[test]
fn snapshot_install_unreliable_2d() {
    snapcommon_installs("snapshot_install_unreliable_2d", true, false, false);
}

/// Lab test 25, TestSnapshotInstallCrash2D "install snapshots (crash)" (3 servers, reliable):
/// [`snapcommon`] crashing the victim each round (`crash1`) and restarting it from its
/// persisted snapshot and entries (`start1`); it catches up, by `InstallSnapshot` where the
/// leader compacted past its log. Some server must install a snapshot on every seed.
#[test]
fn snapshot_install_crash_2d() {
    snapcommon_installs("snapshot_install_crash_2d", false, true, true);
}

/// Lab test 26, TestSnapshotInstallUnCrash2D "install snapshots (unreliable+crash)" (3
/// servers, unreliable network throughout): [`snapcommon`] crashing and restarting the victim
/// each round. Some server must install a snapshot on every seed.
#[test]
fn snapshot_install_uncrash_2d() {
    snapcommon_installs("snapshot_install_uncrash_2d", false, false, true);
}

/// Crashes every server (`crash1`), then restarts (`start1`) and connects each: the lab's
/// "crash all" and "revive all".
fn crash_and_revive_all(sim: &mut Sim<u64>, servers: usize) {
    for id in 1..=servers as NodeId {
        crash1(sim, id);
    }
    for id in 1..=servers as NodeId {
        start1(sim, id);
        sim.connect(id);
    }
}

/// Checks that every server, just restarted, rebuilt itself from its persisted snapshot: its
/// log starts after the snapshot, its state machine holds the snapshot and it will apply from
/// the index after it (the lab's applier reads the snapshot first and then expects the index
/// after it). Answers the smallest snapshot index.
fn check_restored_from_snapshots(sim: &Sim<u64>, servers: usize) -> LogIndex {
    let seed = sim.seed();
    let mut lowest = LogIndex::MAX;
    for id in 1..=servers as NodeId {
        let stored = sim.persisted_snapshot_index(id);
        let raft = sim.raft(id);
        let raft = raft.unwrap_or_else(|| panic!("server {id} is down after start1 (seed {seed})"));
        assert_eq!(
            (
                raft.snapshot_index(),
                raft.compacted_index(),
                raft.applied_index()
            ),
            (stored, stored, stored),
            "server {id} restarted from a snapshot at {stored}: (snapshot, compacted, applied) \
             should all be there (seed {seed})"
        );
        lowest = lowest.min(stored);
    }
    lowest
}

/// Lab test 27, TestSnapshotAllCrash2D "crash and restart all servers" (3 servers, reliable):
/// commit one command on all 3; then 5 rounds of: commit 5-14 commands on all 3 one by one,
/// then one more at `index1`; crash every server and restart and connect each; the next
/// command must commit on all 3 at an index above `index1` (the restarted servers rebuilt
/// their log from their snapshot and the entries after it, not from scratch). The port also
/// checks that each restarted server starts from the snapshot it stored, that the servers
/// snapshotted (by the second round each has applied more than 10 entries), and the lab's
/// `MAXLOGSIZE` bound after every round.
#[test]
fn snapshot_all_crash_2d() {
    for_each_seed("snapshot_all_crash_2d", |seed| {
        let servers = 3;
        let iters = 5;
        let mut sim = snap_cluster(servers, seed, true);
        let mut rng = LabRng::new(seed);
        let mut commands = Commands(0);

        one(&mut sim, commands.fresh(), servers);

        for round in 0..iters {
            // Perhaps enough to get a snapshot.
            for _ in 0..perhaps_enough(&mut rng) {
                one(&mut sim, commands.fresh(), servers);
            }

            let index1 = one(&mut sim, commands.fresh(), servers);

            crash_and_revive_all(&mut sim, servers);
            let lowest = check_restored_from_snapshots(&sim, servers);
            if round >= 1 {
                assert!(
                    lowest > 0,
                    "a server restarted without a snapshot after {index1} entries (round \
                     {round}, seed {seed})"
                );
            }

            let index2 = one(&mut sim, commands.fresh(), servers);
            assert!(
                index2 > index1,
                "index decreased from {index1} to {index2} (round {round}, seed {seed})"
            );
            check_log_size(&sim, round);
        }
        Outcome::of(&sim)
    });
}

/// Lab test 28, TestSnapshotInit2D "snapshot initialization after crash" (3 servers,
/// reliable): commit 1 + 11 commands on all 3 one by one (enough for a snapshot at index 9);
/// crash and restart all; commit one command (something to write back to persistent state);
/// crash and restart all again; commit one more. A server restarted from a snapshot must start
/// applying after it and keep its snapshot when it persists again: the second restart must
/// find the snapshot again, else the servers would apply from index 1 with a log that starts
/// after it (the simulator checks the values applied). The port also checks, after each
/// restart, that every server stored a snapshot and restarted from it.
#[test]
fn snapshot_init_2d() {
    for_each_seed("snapshot_init_2d", |seed| {
        let servers = 3;
        let mut sim = snap_cluster(servers, seed, true);
        let mut commands = Commands(0);

        one(&mut sim, commands.fresh(), servers);

        // Enough commands to make a snapshot.
        for _ in 0..SNAPSHOT_INTERVAL + 1 {
            one(&mut sim, commands.fresh(), servers);
        }

        crash_and_revive_all(&mut sim, servers);
        let first = check_restored_from_snapshots(&sim, servers);
        assert!(
            first >= SNAPSHOT_INTERVAL - 1,
            "after 12 commands some server stored no snapshot at 9 or above ({first}) (seed \
             {seed})"
        );

        // A single command, to get something written back to persistent storage.
        one(&mut sim, commands.fresh(), servers);

        crash_and_revive_all(&mut sim, servers);
        let second = check_restored_from_snapshots(&sim, servers);
        assert!(
            second >= first,
            "a server lost its snapshot: restarted from {second}, before from {first} (seed \
             {seed})"
        );

        // Another command, to trigger a potential bug.
        one(&mut sim, commands.fresh(), servers);
        Outcome::of(&sim)
    });
}
