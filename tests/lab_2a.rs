//! The MIT 6.5840 Raft lab's 2A tests (leader election), ported one for one onto the
//! deterministic simulator (see `/work/shared/reference/lab-tests.md`).
//!
//! Time: one tick is 10 ms of the lab's wall clock, so the tester's election timeout
//! (`RaftElectionTimeout`, 1000 ms) is 100 ticks and a lab `time.Sleep(d)` is `sim.run(d / 10
//! ms)`. The nodes use the lab's suggested timing: election timeouts in [30, 60) ticks
//! (300-600 ms), a heartbeat every 10 ticks (at most 10 per second). `Sim::check_one_leader`
//! polls like the lab's `checkOneLeader` (up to 10 times, every 45-55 ticks, i.e. 450-549 ms),
//! so a leader must appear within about 5 s (500 ticks).
//!
//! Lab server `i` (0-based) is node `i + 1`; the lab's `(leader + k) % servers` is
//! `lab_peer(leader, k, servers)`. Every scenario runs over the seeds of `common::seeds()`
//! (`PURERAFT_LAB_SEEDS`, default 3); every failure names its seed.

mod common;

use common::{
    check, cluster, for_each_seed, lab_peer, random_server, LabRng, ELECTION_TIMEOUT_TICKS,
};
use pureraft::sim::Sim;

/// Lab test 1, `TestInitialElection2A` (3 servers, reliable network): a leader is elected;
/// after 50 ms (5 ticks) every server agrees on a term of at least 1; after another 2 election
/// timeouts (2 s = 200 ticks) with no failures the term has not changed; there is still one
/// leader.
///
/// The lab only prints a warning when the term changes without failures; on the simulator's
/// reliable, deterministic network a spurious election is a real defect, so the port asserts
/// it.
#[test]
fn initial_election_2a() {
    for_each_seed("initial_election_2a", initial_election);
}

fn initial_election(seed: u64) -> u64 {
    let servers = 3;
    let mut sim: Sim<u64> = cluster(servers, seed);

    // Is a leader elected?
    check(sim.check_one_leader(), seed, "initial leader");

    // Sleep a bit to avoid racing with followers learning of the election, then check that
    // all peers agree on the term.
    sim.run(5);
    let term1 = check(sim.check_terms(), seed, "terms after the election");
    assert!(
        term1 >= 1,
        "seed {seed}: term is {term1}, but should be at least 1"
    );

    // Does the leader and term stay the same if there is no network failure?
    sim.run(2 * ELECTION_TIMEOUT_TICKS);
    let term2 = check(sim.check_terms(), seed, "terms after 2 s without failures");
    assert_eq!(
        term1, term2,
        "seed {seed}: term changed even though there were no failures"
    );

    // There should still be a leader.
    check(
        sim.check_one_leader(),
        seed,
        "leader after 2 s without failures",
    );
    sim.now()
}

/// Lab test 2, `TestReElection2A` (3 servers, reliable network): disconnecting the leader L1
/// elects a new one; reconnecting L1 leaves one leader (L2); disconnecting L2 and the server
/// after it leaves the last server alone, which must not claim leadership after one election
/// timeout (1 s = 100 ticks); reconnecting one of them forms a quorum, which must have a leader
/// after 2 election timeouts (200 ticks); reconnecting the last one leaves one leader.
#[test]
fn re_election_2a() {
    for_each_seed("re_election_2a", re_election);
}

fn re_election(seed: u64) -> u64 {
    let servers = 3;
    let mut sim: Sim<u64> = cluster(servers, seed);

    let leader1 = check(sim.check_one_leader(), seed, "initial leader");

    // If the leader disconnects, a new one should be elected.
    sim.disconnect(leader1);
    check(sim.check_one_leader(), seed, "leader after L1 disconnected");

    // If the old leader rejoins, that shouldn't disturb the new leader, and the old leader
    // should switch to follower.
    sim.connect(leader1);
    let leader2 = check(sim.check_one_leader(), seed, "leader after L1 rejoined");

    // If there's no quorum, no new leader should be elected.
    sim.disconnect(leader2);
    sim.disconnect(lab_peer(leader2, 1, servers));
    sim.run(ELECTION_TIMEOUT_TICKS);

    // Check that the one connected server does not think it is the leader.
    check(sim.check_no_leader(), seed, "no leader without a quorum");

    // If a quorum arises, it should elect a leader.
    sim.connect(lab_peer(leader2, 1, servers));
    sim.run(2 * ELECTION_TIMEOUT_TICKS);
    check(sim.check_one_leader(), seed, "leader once a quorum is back");

    // Re-join of the last node shouldn't prevent a leader from existing.
    sim.connect(leader2);
    check(
        sim.check_one_leader(),
        seed,
        "leader after everyone rejoined",
    );
    sim.now()
}

/// Lab test 3, `TestManyElections2A` (7 servers, reliable network): 9 rounds (`ii` in 1..10),
/// each disconnecting 3 servers drawn at random (possibly the same one twice), after which
/// either the leader is still connected or the remaining 4 or more elect one within
/// `checkOneLeader`'s 5 s (500 ticks); then all three reconnect. Finally one leader.
///
/// The lab's `rand.Int() % servers` comes from `LabRng`, seeded from the scenario's seed.
#[test]
fn many_elections_2a() {
    for_each_seed("many_elections_2a", many_elections);
}

fn many_elections(seed: u64) -> u64 {
    let servers = 7;
    let mut sim: Sim<u64> = cluster(servers, seed);
    let mut rng = LabRng::new(seed);

    check(sim.check_one_leader(), seed, "initial leader");

    let iters = 10;
    for ii in 1..iters {
        // Disconnect three nodes.
        let i1 = random_server(&mut rng, servers);
        let i2 = random_server(&mut rng, servers);
        let i3 = random_server(&mut rng, servers);
        sim.disconnect(i1);
        sim.disconnect(i2);
        sim.disconnect(i3);

        // Either the current leader should still be alive, or the remaining four should elect
        // a new one.
        let what = format!("round {ii}: leader with {i1}, {i2}, {i3} disconnected");
        check(sim.check_one_leader(), seed, &what);

        sim.connect(i1);
        sim.connect(i2);
        sim.connect(i3);
    }

    check(sim.check_one_leader(), seed, "final leader");
    sim.now()
}
