//! The MIT 6.5840 Raft lab's 2C tests (persistence; 3C in the 2024 edition), lab tests 14-21,
//! ported one for one onto the deterministic simulator.
//!
//! Time: one tick is 10 ms of the lab's wall clock (see `/work/shared/reference/lab-tests.md`).
//! The lab's `RaftElectionTimeout` (1 s) is 100 ticks, `one()` waits 200 ticks per try and
//! 1,000 in all (the simulator's `Sim::one`), `wait()` backs off from 1 to 100 ticks
//! (`Sim::wait`), and every test must end within the lab's 120 s limit: 12,000 ticks.
//!
//! Crashes follow the lab's `config.go`: `crash1(i)` disconnects server `i` and kills it
//! keeping exactly what it persisted (`Sim::crash`); `start1(i)` crashes it first if it runs
//! and builds it again from its persisted state, still disconnected until the test connects
//! it. Nodes are numbered `1..=n`, so the lab's `(leader + k) % servers` is
//! `lab_peer(leader, k, servers)`.
//!
//! Our leader appends a no-op entry at the start of its term, which the lab forbids, so
//! indices are never compared with absolute numbers: where the lab waits for "index 4" the
//! port waits for the index the command was actually given.
//!
//! Every scenario runs for the seeds of `common::seeds()` (`0..PURERAFT_LAB_SEEDS`, default 3).
//! The test's own random choices (the lab's `rand.Int()`) come from `common::LabRng`, seeded
//! from the seed; the simulator's network and timeouts from the seed itself. The simulator
//! checks every Raft invariant after every step and panics naming the seed on a violation.

mod common;

use std::cell::Cell;

use common::{
    assert_within_lab_limit, check_one_leader, cluster, crash1, for_each_seed, lab_peer, one,
    random_server, seeds, start1, unreliable_cluster, LabRng, ELECTION_TIMEOUT_TICKS,
};
use pureraft::sim::{NetworkConfig, Sim};
use pureraft::{LogIndex, NodeId};

/// The lab's `one(cmd, expected, true)` as a state machine, so that several can run at once
/// in one thread (the lab runs them in goroutines). [`OneCall::poll`] is called before every
/// tick: offer the command to the connected servers round-robin until one accepts, then check
/// `nCommitted` every 2 ticks (20 ms) for up to 200 ticks (2 s); if none accepts, try again
/// after 5 ticks (50 ms); give up (fail) when a new try would start after 1,000 ticks (10 s).
struct OneCall {
    command: u64,
    expected: usize,
    deadline: u64,
    starts: usize,
    state: CallState,
}

enum CallState {
    /// Offer the command at this tick.
    Offer { at: u64 },
    /// Offered at `index`; check at `check`, give this try up at `until`.
    Waiting {
        index: LogIndex,
        check: u64,
        until: u64,
    },
    /// Committed at this index.
    Done(LogIndex),
}

impl OneCall {
    fn new(sim: &Sim<u64>, command: u64, expected: usize) -> Self {
        OneCall {
            command,
            expected,
            deadline: sim.now() + 1_000,
            starts: 0,
            state: CallState::Offer { at: sim.now() },
        }
    }

    /// Does what is due now; answers the index once the command is committed.
    fn poll(&mut self, sim: &mut Sim<u64>) -> Option<LogIndex> {
        let now = sim.now();
        loop {
            match self.state {
                CallState::Done(index) => return Some(index),
                CallState::Offer { at } if at > now => return None,
                CallState::Offer { .. } => {
                    assert!(
                        now < self.deadline,
                        "one({}) failed to reach agreement within 1,000 ticks (seed {})",
                        self.command,
                        sim.seed()
                    );
                    let servers = sim.ids().count();
                    let mut accepted = None;
                    for _ in 0..servers {
                        self.starts = (self.starts + 1) % servers;
                        let id = self.starts as NodeId + 1;
                        if sim.is_connected(id) && sim.is_up(id) {
                            if let Some((index, _)) = sim.propose(id, self.command) {
                                accepted = Some(index);
                                break;
                            }
                        }
                    }
                    self.state = match accepted {
                        Some(index) => CallState::Waiting {
                            index,
                            check: now,
                            until: now + 200,
                        },
                        None => CallState::Offer { at: now + 5 },
                    };
                }
                CallState::Waiting { until, .. } if now >= until => {
                    self.state = CallState::Offer { at: now };
                }
                CallState::Waiting { check, .. } if check > now => return None,
                CallState::Waiting { index, until, .. } => {
                    let (count, value) = sim.n_committed(index);
                    if count > 0 && count >= self.expected && value == Some(self.command) {
                        self.state = CallState::Done(index);
                    } else {
                        self.state = CallState::Waiting {
                            index,
                            check: now + 2,
                            until,
                        };
                        return None;
                    }
                }
            }
        }
    }
}

/// Lab test 14, TestPersist12C "basic persistence" (3 servers, reliable): commit 11; crash and
/// restart all three (`start1` each, then disconnect and connect each); commit 12; crash and
/// restart the leader; commit 13; disconnect the new leader, commit 14 on the other two,
/// restart it and wait (lab `wait`, up to ~2,400 ticks) until all three applied 14; disconnect
/// the leader's next peer, commit 15 on two, restart it; commit 16 on all three. Nothing
/// committed may be lost (the checker replays every restarted node from index 1).
#[test]
fn persist1_2c() {
    for_each_seed("persist1_2c", |seed| {
        let servers = 3;
        let mut sim: Sim<u64> = cluster(servers, seed);

        one(&mut sim, 11, servers);

        // Crash and restart all.
        for id in 1..=servers as NodeId {
            start1(&mut sim, id);
        }
        for id in 1..=servers as NodeId {
            sim.disconnect(id);
            sim.connect(id);
        }

        one(&mut sim, 12, servers);

        let leader1 = check_one_leader(&mut sim);
        sim.disconnect(leader1);
        start1(&mut sim, leader1);
        sim.connect(leader1);

        one(&mut sim, 13, servers);

        let leader2 = check_one_leader(&mut sim);
        sim.disconnect(leader2);
        let index14 = one(&mut sim, 14, servers - 1);
        start1(&mut sim, leader2);
        sim.connect(leader2);

        // Wait for leader2 to join before killing i3 (the lab waits for index 4: 14's index).
        assert_eq!(sim.wait(index14, servers, None), Some(14), "seed {seed}");

        let i3 = lab_peer(check_one_leader(&mut sim), 1, servers);
        sim.disconnect(i3);
        one(&mut sim, 15, servers - 1);
        start1(&mut sim, i3);
        sim.connect(i3);

        one(&mut sim, 16, servers);
        sim.now()
    });
}

/// Lab test 15, TestPersist22C "more persistence" (5 servers, reliable): 5 rounds of: commit on
/// all 5; disconnect the leader's next two peers; commit on 3; disconnect the other three;
/// restart the two (`start1`) and connect them; sleep `RaftElectionTimeout` (100 ticks);
/// restart and connect a third; commit on 3 (the restarted nodes must elect a leader that has
/// every committed entry); connect the remaining two. Finally commit on all 5.
#[test]
fn persist2_2c() {
    for_each_seed("persist2_2c", |seed| {
        let servers = 5;
        let mut sim: Sim<u64> = cluster(servers, seed);
        let at = |leader: NodeId, offset: u64| lab_peer(leader, offset, servers);

        let mut index = 1;
        for _ in 0..5 {
            one(&mut sim, 10 + index, servers);
            index += 1;

            let leader1 = check_one_leader(&mut sim);

            sim.disconnect(at(leader1, 1));
            sim.disconnect(at(leader1, 2));

            one(&mut sim, 10 + index, servers - 2);
            index += 1;

            sim.disconnect(at(leader1, 0));
            sim.disconnect(at(leader1, 3));
            sim.disconnect(at(leader1, 4));

            start1(&mut sim, at(leader1, 1));
            start1(&mut sim, at(leader1, 2));
            sim.connect(at(leader1, 1));
            sim.connect(at(leader1, 2));

            sim.run(ELECTION_TIMEOUT_TICKS);

            start1(&mut sim, at(leader1, 3));
            sim.connect(at(leader1, 3));

            one(&mut sim, 10 + index, servers - 2);
            index += 1;

            sim.connect(at(leader1, 4));
            sim.connect(at(leader1, 0));
        }

        one(&mut sim, 1000, servers);
        sim.now()
    });
}

/// Lab test 16, TestPersist32C "partitioned leader and one follower crash, leader restarts"
/// (3 servers, reliable): commit 101 on all; disconnect the leader's second peer; commit 102
/// on two; crash the leader and its first peer right after; connect the cut-off peer; restart
/// and connect the old leader; commit 103 on two (the old leader holds 102, the other does
/// not: the elected leader must have it); restart and connect the last; commit 104 on all.
#[test]
fn persist3_2c() {
    for_each_seed("persist3_2c", |seed| {
        let servers = 3;
        let mut sim: Sim<u64> = cluster(servers, seed);

        one(&mut sim, 101, 3);

        let leader = check_one_leader(&mut sim);
        sim.disconnect(lab_peer(leader, 2, servers));

        let index102 = one(&mut sim, 102, 2);

        crash1(&mut sim, lab_peer(leader, 0, servers));
        crash1(&mut sim, lab_peer(leader, 1, servers));
        sim.connect(lab_peer(leader, 2, servers));
        start1(&mut sim, lab_peer(leader, 0, servers));
        sim.connect(lab_peer(leader, 0, servers));

        one(&mut sim, 103, 2);

        start1(&mut sim, lab_peer(leader, 1, servers));
        sim.connect(lab_peer(leader, 1, servers));

        one(&mut sim, 104, servers);

        // Committed 102 survived the crash of both nodes that held it.
        assert_eq!(
            sim.n_committed(index102),
            (servers, Some(102)),
            "seed {seed}"
        );
        sim.now()
    });
}

/// The lab's sleep between Figure 8 rounds, in ticks: with probability 10% up to half of
/// `RaftElectionTimeout` (0-499 ms: 0-49 ticks), else 0-12 ms (0-1 ticks).
fn figure8_pause(rng: &mut LabRng) -> u64 {
    if rng.below(1000) < 100 {
        rng.below(ELECTION_TIMEOUT_TICKS / 2)
    } else {
        rng.below(2)
    }
}

/// Lab test 17, TestFigure82C "Figure 8" (5 servers, reliable): commit one command on one
/// server; then 1,000 rounds (the lab's count) of: propose a fresh command on every server that
/// is up; sleep 0-12 ms (0-1 ticks), or with probability 10% 0-499 ms (0-49 ticks); crash
/// (`crash1`) the last server that accepted, if any; when fewer than 3 are up, restart
/// (`start1` and connect) a random server if it is down. Finally restart and connect every
/// crashed server and commit one command on all 5 (lab `one`, up to 1,000 ticks). Tests that a
/// leader only commits entries of its own term by counting replicas (Raft §5.4.2, Figure 8):
/// the checker fails the run if a committed entry is ever lost or overwritten.
#[test]
fn figure8_2c() {
    for_each_seed("figure8_2c", |seed| {
        let servers = 5;
        let mut sim: Sim<u64> = cluster(servers, seed);
        let mut rng = LabRng::new(seed);
        let mut command = 0u64;
        let mut fresh = || {
            command += 1;
            command
        };

        one(&mut sim, fresh(), 1);

        let mut nup = servers;
        for _ in 0..1000 {
            let mut leader = None;
            for id in 1..=servers as NodeId {
                if sim.is_up(id) && sim.propose(id, fresh()).is_some() {
                    leader = Some(id);
                }
            }

            let pause = figure8_pause(&mut rng);
            sim.run(pause);

            if let Some(leader) = leader {
                crash1(&mut sim, leader);
                nup -= 1;
            }

            if nup < 3 {
                let s = random_server(&mut rng, servers);
                if !sim.is_up(s) {
                    start1(&mut sim, s);
                    sim.connect(s);
                    nup += 1;
                }
            }
        }

        for id in 1..=servers as NodeId {
            if !sim.is_up(id) {
                start1(&mut sim, id);
                sim.connect(id);
            }
        }

        one(&mut sim, fresh(), servers);
        assert!(
            sim.stats().crashes > 0,
            "no leader was ever crashed (seed {seed})"
        );
        sim.now()
    });
}

/// Lab test 18, TestUnreliableAgree2C "unreliable agreement" (5 servers, unreliable network:
/// latency 0-3 ticks, 10% of messages lost): for iters 1..50 (the lab's 49 rounds), start 4
/// concurrent `one(100 * iters + j, 1, true)` calls (emulated by [`OneCall`]s that keep running
/// in the background) and one sequential `one(iters, 1, true)` that the round waits for; each
/// call has the lab's limits (200 ticks per try, 1,000 in all). Then make the network reliable,
/// wait for every background call to commit, and commit one command on all 5. (The lab's last
/// command, 100, repeats the first concurrent one; the port uses 10,000 to keep commands
/// unique.)
#[test]
fn unreliable_agree_2c() {
    for_each_seed("unreliable_agree_2c", |seed| {
        let servers = 5;
        let mut sim: Sim<u64> = unreliable_cluster(servers, seed);

        let mut background: Vec<OneCall> = Vec::new();
        let drive = |sim: &mut Sim<u64>, background: &mut Vec<OneCall>| {
            for call in background.iter_mut() {
                call.poll(sim);
            }
            background.retain(|call| !matches!(call.state, CallState::Done(_)));
        };

        for iters in 1..50u64 {
            for j in 0..4 {
                background.push(OneCall::new(&sim, 100 * iters + j, 1));
            }
            let mut sequential = OneCall::new(&sim, iters, 1);
            loop {
                drive(&mut sim, &mut background);
                if sequential.poll(&mut sim).is_some() {
                    break;
                }
                sim.tick();
            }
        }

        sim.set_network(NetworkConfig::reliable());

        // wg.Wait(): every background call commits within its own limits (or fails the test).
        loop {
            drive(&mut sim, &mut background);
            if background.is_empty() {
                break;
            }
            sim.tick();
        }

        one(&mut sim, 10_000, servers);
        sim.now()
    });
}

/// Lab test 19, TestFigure8Unreliable2C "Figure 8 (unreliable)" (5 servers, unreliable
/// network): commit one command on one server; then 1,000 rounds (the lab's count) of: from
/// round 200 on, long reordering (`NetworkConfig::unreliable_long_reordering()`: two thirds of
/// replies delayed by 20 + uniform(0, uniform(0, 200)) ticks, the lab's 200 + rand(1 +
/// rand(2000)) ms; requests keep the normal 0-3 ticks, as in the lab's `labrpc`); propose a fresh command on every server (connected or not); sleep
/// 0-1 ticks (0-12 ms), or with probability 10% 0-49 ticks (0-499 ms); disconnect the last
/// connected server that accepted, with probability 1/2; when fewer than 3 are connected,
/// connect a random server if it is disconnected. Finally connect every server and commit one
/// command on all 5 (lab `one`, up to 1,000 ticks) while the network is still unreliable with
/// long reordering.
///
/// Regression: this test first failed on every seed because the simulator delayed requests as
/// well as replies (a prompt round trip with p = 1/9 instead of the lab's 1/3); the network
/// now delays replies only, as the lab does. A soak then failed seeds 482 and 2665 of 3,000
/// (no leader for 1,000 ticks after the final connect) because long delays were uniform over
/// 20-220 ticks, far longer on average than the lab's nested draw; with the lab's shape, seeds
/// 0-9,999 pass. `figure8_unreliable_2c_seed_482` keeps that seed.
#[test]
fn figure8_unreliable_2c() {
    for_each_seed("figure8_unreliable_2c", figure8_unreliable);
}

fn figure8_unreliable(seed: u64) -> u64 {
    let servers = 5;
    let mut sim: Sim<u64> = unreliable_cluster(servers, seed);
    let mut rng = LabRng::new(seed);
    let mut command = 0u64;
    let mut fresh = || {
        command += 1;
        command
    };

    one(&mut sim, fresh(), 1);

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            sim.set_network(NetworkConfig::unreliable_long_reordering());
        }
        let mut leader = None;
        for id in 1..=servers as NodeId {
            let accepted = sim.propose(id, fresh()).is_some();
            if accepted && sim.is_connected(id) {
                leader = Some(id);
            }
        }

        let pause = figure8_pause(&mut rng);
        sim.run(pause);

        if let Some(leader) = leader {
            // The lab: rand % 1000 < RaftElectionTimeout_ms / 2, i.e. p = 1/2.
            if rng.below(1000) < 500 {
                sim.disconnect(leader);
                nup -= 1;
            }
        }

        if nup < 3 {
            let s = random_server(&mut rng, servers);
            if !sim.is_connected(s) {
                sim.connect(s);
                nup += 1;
            }
        }
    }

    for id in 1..=servers as NodeId {
        sim.connect(id);
    }

    one(&mut sim, fresh(), servers);
    sim.now()
}

/// `figure8_unreliable_2c` on seed 482, which found the simulator's too-long reply delays
/// (see above): no leader emerged in the final 1,000 ticks.
#[test]
fn figure8_unreliable_2c_seed_482() {
    let ticks = figure8_unreliable(482);
    assert_within_lab_limit("figure_8_unreliable_2c", 482, ticks);
}

/// The lab's churn client (`cfn` in `internalChurn`) as a state machine polled before every
/// tick: propose a fresh command to every server that is up and keep the index the last one
/// that accepted gave it; if one accepted, check `nCommitted(index)` at once and after sleeps
/// of 1, 2, 5 and 10 ticks (10, 20, 50, 100 ms), recording the command if it is the one
/// committed there, then sleep 20 ticks (200 ms) if it never showed up; if none accepted, sleep
/// 8, 10 or 11 ticks (79 + 17 * me ms). Stops, at the start of a new proposal, once told to.
struct ChurnClient {
    me: u64,
    proposed: u64,
    state: ClientState,
    /// Commands this client saw committed.
    values: Vec<u64>,
}

enum ClientState {
    /// Propose a new command at this tick.
    Ready { at: u64 },
    /// `command` was accepted at `index`; the `step`-th check is due at `at`.
    Polling {
        command: u64,
        index: LogIndex,
        step: usize,
        at: u64,
    },
    /// Told to stop.
    Finished,
}

/// The client's sleeps between checks, in ticks (the lab's 10, 20, 50, 100, 200 ms).
const CHURN_CHECK_SLEEPS: [u64; 5] = [1, 2, 5, 10, 20];

impl ChurnClient {
    fn new(me: u64) -> Self {
        ChurnClient {
            me,
            proposed: 0,
            state: ClientState::Ready { at: 0 },
            values: Vec::new(),
        }
    }

    fn poll(&mut self, sim: &mut Sim<u64>, stop: bool) {
        let now = sim.now();
        loop {
            match self.state {
                ClientState::Finished => return,
                ClientState::Ready { at } if at > now => return,
                ClientState::Ready { .. } if stop => self.state = ClientState::Finished,
                ClientState::Ready { .. } => {
                    self.proposed += 1;
                    let command = (self.me + 1) * 1_000_000 + self.proposed;
                    let mut accepted = None;
                    for id in sim.ids().collect::<Vec<_>>() {
                        if let Some((index, _)) = sim.propose(id, command) {
                            accepted = Some(index);
                        }
                    }
                    self.state = match accepted {
                        Some(index) => ClientState::Polling {
                            command,
                            index,
                            step: 0,
                            at: now,
                        },
                        None => ClientState::Ready {
                            at: now + (79 + self.me * 17 + 5) / 10,
                        },
                    };
                }
                ClientState::Polling { at, .. } if at > now => return,
                ClientState::Polling {
                    command,
                    index,
                    step,
                    ..
                } => {
                    let (count, value) = sim.n_committed(index);
                    if count > 0 {
                        if value == Some(command) {
                            self.values.push(command);
                        }
                        self.state = ClientState::Ready { at: now };
                    } else if step + 1 < CHURN_CHECK_SLEEPS.len() {
                        self.state = ClientState::Polling {
                            command,
                            index,
                            step: step + 1,
                            at: now + CHURN_CHECK_SLEEPS[step],
                        };
                    } else {
                        self.state = ClientState::Ready {
                            at: now + CHURN_CHECK_SLEEPS[step],
                        };
                    }
                }
            }
        }
    }
}

/// Runs `ticks` ticks with the clients polled before each.
fn run_with_clients(sim: &mut Sim<u64>, clients: &mut [ChurnClient], ticks: u64, stop: bool) {
    for _ in 0..ticks {
        for client in clients.iter_mut() {
            client.poll(sim, stop);
        }
        sim.tick();
    }
}

/// The lab's `internalChurn`: 3 concurrent clients (see [`ChurnClient`]) propose continually
/// while 20 rounds (the lab's count) of 70 ticks (700 ms, 7/10 of `RaftElectionTimeout`) each
/// start with: with probability 20% disconnect a random server; with probability 50% restart a
/// random server if it is down (`start1`) and connect it; with probability 20% crash
/// (`crash1`) a random server if it is up. Then sleep 100 ticks, make the network reliable,
/// restart and connect every server, stop the clients (each finishes its current command,
/// within 38 ticks), sleep 100 ticks, and commit one command on all 5 (lab `one`, up to 1,000
/// ticks) at `last`. Every index up to `last` must then be applied on all 5 (lab `wait` with 5)
/// and every command a client saw committed must be in that log. Answers the ticks taken and
/// how many commands the clients saw committed.
fn churn(seed: u64, unreliable: bool) -> (u64, usize) {
    let servers = 5;
    let mut sim: Sim<u64> = if unreliable {
        unreliable_cluster(servers, seed)
    } else {
        cluster(servers, seed)
    };
    let mut rng = LabRng::new(seed);
    let mut clients: Vec<ChurnClient> = (0..3).map(ChurnClient::new).collect();

    for _ in 0..20 {
        if rng.below(1000) < 200 {
            let i = random_server(&mut rng, servers);
            sim.disconnect(i);
        }

        if rng.below(1000) < 500 {
            let i = random_server(&mut rng, servers);
            if !sim.is_up(i) {
                start1(&mut sim, i);
            }
            sim.connect(i);
        }

        if rng.below(1000) < 200 {
            let i = random_server(&mut rng, servers);
            if sim.is_up(i) {
                crash1(&mut sim, i);
            }
        }

        run_with_clients(
            &mut sim,
            &mut clients,
            ELECTION_TIMEOUT_TICKS * 7 / 10,
            false,
        );
    }

    run_with_clients(&mut sim, &mut clients, ELECTION_TIMEOUT_TICKS, false);
    sim.set_network(NetworkConfig::reliable());
    for id in 1..=servers as NodeId {
        if !sim.is_up(id) {
            start1(&mut sim, id);
        }
        sim.connect(id);
    }

    // Stop the clients and collect what they saw committed.
    let finished = |clients: &[ChurnClient]| {
        clients
            .iter()
            .all(|client| matches!(client.state, ClientState::Finished))
    };
    let mut waited = 0;
    while !finished(&clients) {
        assert!(waited < 100, "a churn client did not stop (seed {seed})");
        run_with_clients(&mut sim, &mut clients, 1, true);
        waited += 1;
    }
    let values: Vec<u64> = clients.iter().flat_map(|c| c.values.clone()).collect();

    sim.run(ELECTION_TIMEOUT_TICKS);

    let last = one(&mut sim, 999, servers);

    let mut really = Vec::new();
    for index in 1..=last {
        // The lab's wait(index, servers, -1): fails the run if not all 5 apply it in time.
        let value = sim.wait(index, servers, None);
        let (count, _) = sim.n_committed(index);
        assert_eq!(
            count, servers,
            "index {index} of {last} applied on {count} servers, not all {servers} (seed {seed})"
        );
        really.extend(value);
    }

    for value in &values {
        assert!(
            really.contains(value),
            "command {value} was seen committed by a client but is not in the log up to \
             {last} (seed {seed})"
        );
    }
    (sim.now(), values.len())
}

/// Runs [`churn`] for every seed. Not a lab check, but it keeps the last check from being
/// vacuous: over all seeds, the clients must have seen some of their commands committed. (A
/// single seed may see none: like the lab's client, ours keeps the index of the *last* server
/// that accepted, which can be a disconnected stale leader for the whole run.)
fn churn_over_seeds(name: &str, unreliable: bool) {
    let seen = Cell::new(0);
    for_each_seed(name, |seed| {
        let (ticks, values) = churn(seed, unreliable);
        seen.set(seen.get() + values);
        ticks
    });
    assert!(
        seeds().is_empty() || seen.get() > 0,
        "{name}: no client saw any of its commands committed, over all seeds"
    );
}

/// Lab test 20, TestReliableChurn2C "churn" (5 servers, reliable network): 3 emulated
/// concurrent clients propose continually while 20 rounds (the lab's count) of 70 ticks
/// (700 ms) disconnect (20%), restart and connect (50%) and crash (20%) random servers; then
/// everything heals and every index up to the last is applied on all 5 and holds every command
/// a client saw committed. Details and tick translations: see [`churn`].
#[test]
fn reliable_churn_2c() {
    churn_over_seeds("reliable_churn_2c", false);
}

/// Lab test 21, TestUnreliableChurn2C "unreliable churn" (5 servers, unreliable network until
/// everything heals: latency 0-3 ticks, 10% of messages lost): as [`reliable_churn_2c`], 20
/// rounds of 70 ticks. Details and tick translations: see [`churn`].
#[test]
fn unreliable_churn_2c() {
    churn_over_seeds("unreliable_churn_2c", true);
}
