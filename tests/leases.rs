//! Lease reads (thesis §6.4.1, `Config::lease_reads`), one test per rule: the leader's side
//! (a confirmed round starts a lease, reads in it are served at once, it ends
//! `Config::lease_ticks` after its round started, it is renewed only while used, a transfer or
//! a configuration change ends it), the voters' side (a voter that confirmed a lease grants no
//! vote for an election timeout, whatever term reaches it, and after a restart), then the
//! simulator, whose checker holds every read index to every write committed before the read
//! was asked: under random faults, and across a paused leader.

mod common;

use pureraft::sim::{Faults, Sim, SimConfig};
use pureraft::{
    Action, Config, ConfigError, Event, MembershipChange, Message, NodeId, Raft, ReadError,
    Restored, Role,
};

use common::hand::*;

type Node = Raft<u64>;

/// Node `id` with CheckQuorum and lease reads on (PreVote off, as in the other hand-driven
/// tests): election timeouts of 10 ticks, a heartbeat every 3, a lease of 10 - 1 - 2 = 7.
fn lease_config(id: NodeId) -> Config {
    let mut config = config(id);
    config.check_quorum = true;
    config.lease_reads = true;
    config
}

/// Node 1 leading {1, 2, 3} in term 1 with lease reads, its no-op committed (acknowledged by
/// 2), no read asked yet.
fn lease_leader() -> Node {
    let mut leader: Node = founding(lease_config(1), &[1, 2, 3]);
    elect(&mut leader, 2);
    let last = leader.last_index();
    receive(&mut leader, 2, accepted(1, last));
    assert_eq!(leader.commit_index(), last);
    leader
}

/// `lease_leader` whose first read (context 100) took round 1, confirmed by node 3: it holds
/// a lease from the start of that round.
fn leader_with_lease() -> Node {
    let mut leader = lease_leader();
    let actions = read(&mut leader, 100);
    assert!(ready(&actions).is_empty(), "the first read takes a round");
    assert_eq!(checks_to(&actions, 3), vec![1]);
    let actions = receive(&mut leader, 3, check_answer(1, 1));
    assert_eq!(ready(&actions), vec![(100, leader.commit_index())]);
    leader
}

/// Ticks the leader once, node 2 acknowledging its log (so that CheckQuorum keeps it
/// leading), and answers the tick's actions.
fn tick_heard(leader: &mut Node) -> Vec<Action<u64>> {
    let mut actions = leader.step(Event::Tick);
    let last = leader.last_index();
    actions.extend(receive(leader, 2, accepted(leader.term(), last)));
    actions
}

/// The configuration rules: a lease needs CheckQuorum (the voters' stickiness is what it
/// rests on), and a drift bound that leaves a lease of at least one tick.
#[test]
fn lease_reads_need_check_quorum_and_a_drift_bound_below_the_election_timeout() {
    let mut config = lease_config(1);
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(config.lease_ticks(), 7);
    config.check_quorum = false;
    assert_eq!(config.validate(), Err(ConfigError::LeaseWithoutCheckQuorum));
    let mut config = lease_config(1);
    config.lease_drift_ticks = 9;
    assert_eq!(
        config.validate(),
        Err(ConfigError::LeaseDriftTooLarge {
            lease_drift_ticks: 9,
            election_ticks: 10
        })
    );
    config.lease_drift_ticks = 8;
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(config.lease_ticks(), 1);
    let restored: Restored<u64> = Restored::bootstrap([1]);
    let mut no_quorum_check = lease_config(1);
    no_quorum_check.check_quorum = false;
    assert!(Raft::new(no_quorum_check, restored).is_err());
}

/// §6.4.1: once a round is confirmed by a majority, reads are served at once, at the commit
/// index, with no `LeaderCheck`, while the lease holds. Off, each read takes a round.
#[test]
fn reads_in_a_lease_are_served_at_once() {
    let mut leader = leader_with_lease();
    let commit = leader.commit_index();
    let actions = read(&mut leader, 1);
    assert_eq!(ready(&actions), vec![(1, commit)]);
    assert!(checks_to(&actions, 2).is_empty() && checks_to(&actions, 3).is_empty());
    // A forwarded read is answered at once too.
    let actions = receive(&mut leader, 2, read_index(1, 9));
    assert_eq!(
        sent_to(&actions, 2),
        vec![read_index_answer(1, 9, Some(commit))]
    );

    // Without lease reads, the same read takes a round of its own.
    let mut config = lease_config(1);
    config.lease_reads = false;
    let mut leader: Node = founding(config, &[1, 2, 3]);
    elect(&mut leader, 2);
    let last = leader.last_index();
    receive(&mut leader, 2, accepted(1, last));
    read(&mut leader, 100);
    receive(&mut leader, 3, check_answer(1, 1));
    let actions = read(&mut leader, 1);
    assert!(ready(&actions).is_empty());
    assert_eq!(checks_to(&actions, 3), vec![2]);
}

/// §6.4.1: the lease lasts `lease_ticks` of the leader's ticks from the start of the round
/// that confirmed it (the voters' stickiness lasts `election_ticks` from when they received
/// it, later): a read one tick before its end is served at once, one at its end takes a round.
#[test]
fn the_lease_ends_lease_ticks_after_its_round_started() {
    let mut leader = leader_with_lease();
    let lease = leader.config().lease_ticks();
    for _ in 0..lease - 1 {
        let actions = tick_heard(&mut leader);
        assert!(checks_to(&actions, 3).is_empty(), "no read used the lease");
    }
    let commit = leader.commit_index();
    assert_eq!(ready(&read(&mut leader, 1)), vec![(1, commit)]);
    let mut actions = tick_heard(&mut leader);
    actions.extend(read(&mut leader, 2));
    assert!(ready(&actions).is_empty(), "the lease is over");
    let rounds = checks_to(&actions, 3);
    assert_eq!(rounds.len(), 1, "one round, for the read or to renew");
    let actions = receive(&mut leader, 3, check_answer(1, rounds[0]));
    assert_eq!(ready(&actions), vec![(2, commit)]);
}

/// §6.4.1: while reads use the lease, each heartbeat starts a round that renews it, so reads
/// are served at once for far longer than one lease (here 40 ticks, four election timeouts),
/// with at most one round per heartbeat.
#[test]
fn a_lease_in_use_is_renewed_at_each_heartbeat() {
    let mut leader = leader_with_lease();
    let mut rounds = 0;
    for context in 1..=40 {
        let mut actions = tick_heard(&mut leader);
        for round in checks_to(&actions, 3) {
            rounds += 1;
            actions.extend(receive(&mut leader, 3, check_answer(1, round)));
        }
        let answered = ready(&read(&mut leader, context));
        assert_eq!(answered.len(), 1, "read {context} not served at once");
    }
    assert_eq!(leader.role(), Role::Leader);
    let heartbeat = leader.config().heartbeat_ticks;
    assert!(
        (40 / heartbeat - 1..=40 / heartbeat + 1).contains(&rounds),
        "{rounds} rounds in 40 ticks"
    );
}

/// An idle leader sends no `LeaderCheck`: its lease lapses, and the next read takes a round
/// (which starts a new lease).
#[test]
fn an_unused_lease_lapses_without_rounds() {
    let mut leader = leader_with_lease();
    for _ in 0..30 {
        let actions = tick_heard(&mut leader);
        assert!(checks_to(&actions, 2).is_empty() && checks_to(&actions, 3).is_empty());
    }
    let actions = read(&mut leader, 1);
    assert!(ready(&actions).is_empty());
    assert_eq!(checks_to(&actions, 3), vec![2]);
    let commit = leader.commit_index();
    assert_eq!(
        ready(&receive(&mut leader, 3, check_answer(1, 2))),
        vec![(1, commit)]
    );
    assert_eq!(
        ready(&read(&mut leader, 2)),
        vec![(2, commit)],
        "a new lease"
    );
}

/// Thesis §6.4.1 ("the leader would need to abort its lease before transferring"): a
/// transfer's candidate is let through the voters' stickiness, so a leader that starts a
/// transfer holds no lease for the rest of its term, even after the transfer is aborted (a
/// delayed `TimeoutNow` may still start the election).
#[test]
fn a_transfer_ends_the_lease_for_the_rest_of_the_term() {
    let mut leader = leader_with_lease();
    let actions = leader.step(Event::TransferLeadership { to: 2 });
    assert!(actions.contains(&Action::TransferStarted { to: 2 }));
    assert_eq!(
        failed(&read(&mut leader, 1)),
        vec![(1, ReadError::TransferInProgress { to: 2 })]
    );
    let mut aborted = false;
    for _ in 0..leader.config().election_ticks {
        aborted |= tick_heard(&mut leader).contains(&Action::TransferAborted { to: 2 });
    }
    assert!(aborted && leader.role() == Role::Leader);
    let actions = read(&mut leader, 2);
    assert!(ready(&actions).is_empty(), "no lease after the abort");
    assert_eq!(checks_to(&actions, 3).len(), 1);
}

/// Part two of the transfer rule, on a leader whose transfer was aborted: every read takes a
/// round, even right after one was confirmed.
#[test]
fn after_an_aborted_transfer_every_read_takes_a_round() {
    let mut leader = leader_with_lease();
    leader.step(Event::TransferLeadership { to: 2 });
    for _ in 0..leader.config().election_ticks {
        tick_heard(&mut leader);
    }
    let commit = leader.commit_index();
    for context in 1..=3 {
        let actions = read(&mut leader, context);
        assert!(ready(&actions).is_empty(), "read {context} served at once");
        let round = *checks_to(&actions, 3).last().expect("a round");
        let actions = receive(&mut leader, 3, check_answer(1, round));
        assert_eq!(ready(&actions), vec![(context, commit)]);
    }
}

/// A lease holds only in the configuration it was confirmed in, once that configuration is
/// committed: a configuration change ends it, a round confirmed before the new configuration
/// is committed starts none, and one confirmed after does (any later leader then has that
/// configuration, and needs a majority of it).
#[test]
fn a_configuration_change_ends_the_lease_until_it_is_committed() {
    let mut leader = leader_with_lease();
    let membership_index = leader.membership_index();
    let actions = leader.step(Event::ChangeMembership {
        change: MembershipChange::AddLearner(4),
        membership_index,
    });
    assert!(!actions.is_empty());
    let config_index = leader.last_index();
    let commit = leader.commit_index();
    assert!(commit < config_index);
    let actions = read(&mut leader, 1);
    assert!(
        ready(&actions).is_empty(),
        "the lease ended with the change"
    );
    assert_eq!(
        ready(&receive(&mut leader, 3, check_answer(1, 2))),
        vec![(1, commit)]
    );
    let actions = read(&mut leader, 2);
    assert!(
        ready(&actions).is_empty(),
        "no lease while the configuration is not committed"
    );
    receive(&mut leader, 2, accepted(1, config_index));
    assert_eq!(leader.commit_index(), config_index);
    // Read 2's round started before the commit, with the commit index then; it is confirmed
    // in the configuration in force, now committed: a lease.
    assert_eq!(
        ready(&receive(&mut leader, 3, check_answer(1, 3))),
        vec![(2, commit)]
    );
    assert_eq!(
        ready(&read(&mut leader, 3)),
        vec![(3, config_index)],
        "a lease in the committed configuration"
    );
}

/// In a joint configuration a lease needs a round confirmed by both majorities: one from
/// the incoming voters alone serves nothing and starts no lease; with the outgoing majority
/// too, the read is served, and the next at once.
#[test]
fn a_lease_while_joint_needs_both_majorities() {
    let mut config = lease_config(1);
    config.auto_leave_joint = false; // The joint configuration stays in force.
    let mut leader = joint_leader(config);
    let last = leader.last_index();
    read(&mut leader, 1);
    assert!(ready(&receive(&mut leader, 2, check_answer(1, 1))).is_empty());
    assert!(ready(&receive(&mut leader, 3, check_answer(1, 1))).is_empty());
    assert!(
        ready(&read(&mut leader, 2)).is_empty(),
        "no lease from the incoming majority alone"
    );
    assert_eq!(
        ready(&receive(&mut leader, 4, check_answer(1, 1))),
        vec![(1, last)]
    );
    assert_eq!(ready(&read(&mut leader, 3)), vec![(3, last)], "a lease");
}

/// The voters' side: a voter that confirmed a leader's round keeps its vote from other
/// candidates for `election_ticks`, even after a stale answer raised its term and cleared its
/// leader (a vote request of that term is refused, a higher one ignored). Without lease reads,
/// stickiness ends with the leader, and the vote is granted.
#[test]
fn a_voter_in_a_lease_grants_no_vote_even_after_a_higher_term_reached_it() {
    for lease_reads in [true, false] {
        let mut config = lease_config(2);
        config.lease_reads = lease_reads;
        config.pre_vote = true; // Its timer firing raises no term.
        let mut voter: Node = founding(config, &[1, 2, 3]);
        receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 1));
        let actions = receive(&mut voter, 1, Message::LeaderCheck { term: 1, round: 1 });
        assert_eq!(
            sent_to(&actions, 1),
            vec![Message::LeaderCheckResponse { term: 1, round: 1 }]
        );
        // A stale answer to a vote request of long ago, from a node that reached term 5.
        receive(
            &mut voter,
            3,
            Message::RequestVoteResponse {
                term: 5,
                vote_granted: false,
            },
        );
        assert_eq!((voter.term(), voter.leader()), (5, None));
        let actions = receive(&mut voter, 3, vote_request(5, 1, 1));
        if lease_reads {
            assert_eq!(vote_answer(&actions, 3), Some((5, false)));
            let actions = receive(&mut voter, 3, vote_request(6, 1, 1));
            assert_eq!(vote_answer(&actions, 3), None, "ignored");
            assert_eq!(voter.term(), 5);
            for _ in 0..voter.config().election_ticks {
                voter.step(Event::Tick);
            }
            let actions = receive(&mut voter, 3, vote_request(6, 1, 1));
            assert_eq!(
                vote_answer(&actions, 3),
                Some((6, true)),
                "the lease is over"
            );
        } else {
            assert_eq!(vote_answer(&actions, 3), Some((5, true)));
        }
    }
}

/// A node that starts with lease reads grants no vote for its first `election_ticks` ticks:
/// it may have confirmed a lease just before it went down, and remembers nothing of it.
/// Without lease reads it votes at once.
#[test]
fn a_restarted_voter_grants_no_vote_for_an_election_timeout() {
    for lease_reads in [true, false] {
        let mut config = lease_config(2);
        config.lease_reads = lease_reads;
        config.pre_vote = true;
        let mut voter = restored_node(config, 1, &[1]);
        let actions = receive(&mut voter, 3, vote_request(2, 1, 1));
        if lease_reads {
            assert_eq!(vote_answer(&actions, 3), None, "ignored");
            for _ in 0..voter.config().election_ticks - 1 {
                voter.step(Event::Tick);
            }
            let actions = receive(&mut voter, 3, vote_request(2, 1, 1));
            assert_eq!(vote_answer(&actions, 3), None, "one tick before the end");
            voter.step(Event::Tick);
            let actions = receive(&mut voter, 3, vote_request(2, 1, 1));
            assert_eq!(vote_answer(&actions, 3), Some((2, true)));
        } else {
            assert_eq!(vote_answer(&actions, 3), Some((2, true)));
        }
    }
}

/// A transfer's candidate gets the vote of a voter in a lease: the leader that sent
/// `TimeoutNow` gave its lease up.
#[test]
fn a_transfer_candidate_gets_votes_through_the_lease() {
    let mut voter: Node = founding(lease_config(2), &[1, 2, 3]);
    receive(&mut voter, 1, append(1, 0, 0, vec![entry(1, 1)], 1));
    receive(&mut voter, 1, Message::LeaderCheck { term: 1, round: 1 });
    let request = Message::RequestVote {
        term: 2,
        last_log_index: 1,
        last_log_term: 1,
        transfer: true,
    };
    assert_eq!(
        vote_answer(&receive(&mut voter, 3, request), 3),
        Some((2, true))
    );
}

/// Reads are linearizable with leases under random faults (paused nodes among them),
/// membership changes and transfers included: 3 and 5 nodes x 3 seeds x 3 fault levels x
/// 5,000 ticks. Every run must serve reads under a lease (at once) and by rounds, all checked.
/// (The 3-node runs caught the simulator handing reads to a paused leader, whose clock stood
/// still: a paused host now takes no read.)
#[test]
fn lease_reads_are_linearizable_under_faults() {
    for (nodes, seed) in [3, 5].into_iter().flat_map(|n| (0..3).map(move |s| (n, s))) {
        for level in 1..=3 {
            let mut config = SimConfig::new(nodes, seed).with_snapshots(20);
            config.node.lease_reads = true;
            let mut sim: Sim<u64> = Sim::new(config);
            let faults = Faults::level(level).with_membership(2_000);
            let mut next_command = 1;
            for _ in 0..5_000 {
                sim.chaos_tick(&faults, &mut next_command);
            }
            let stats = sim.stats();
            assert!(
                stats.reads_ready_at_once >= 10 && stats.reads_ready > stats.reads_ready_at_once,
                "{nodes} nodes, seed {seed}, level {level}: {} reads served, {} at once",
                stats.reads_ready,
                stats.reads_ready_at_once
            );
        }
    }
}

/// A leader with a lease is paused past its lease while the others elect a new leader, which
/// commits a write. Its host, keeping time by a monotonic clock, gives it the ticks it missed
/// when it resumes: its lease is over, and a read asked at once is not served stale (the
/// checker would fail the run).
#[test]
fn a_lease_across_a_pause_serves_no_stale_read() {
    for seed in 0..5 {
        let (mut sim, old) = paused_leader_after_a_new_commit(seed, true);
        let at_once = sim.stats().reads_ready_at_once;
        sim.read(old);
        assert_eq!(sim.stats().reads_ready_at_once, at_once, "seed {seed}");
        sim.run(3 * sim.config().node.election_ticks);
        assert_ne!(sim.raft(old).unwrap().role(), Role::Leader, "seed {seed}");
    }
}

/// The contract matters, and the checker sees it broken: a host that resumes its paused
/// leader without the ticks it missed (its clock stood still, a drift far beyond
/// `lease_drift_ticks`) lets it serve a read under a lease that ended, which misses the new
/// leader's write.
#[test]
#[should_panic(expected = "stale read")]
fn a_host_that_skips_the_ticks_of_a_pause_breaks_the_lease() {
    let (mut sim, old) = paused_leader_after_a_new_commit(0, false);
    sim.read(old);
}

/// A 3-node cluster with lease reads whose leader served a read under its lease, then was
/// paused until another leader committed a write; returns it resumed (with or without the
/// ticks it missed, `resume_catches_up`) and the old leader.
fn paused_leader_after_a_new_commit(seed: u64, resume_catches_up: bool) -> (Sim<u64>, NodeId) {
    let mut config = SimConfig::new(3, seed);
    config.node.lease_reads = true;
    config.resume_catches_up = resume_catches_up;
    let mut sim: Sim<u64> = Sim::new(config);
    let old = sim.check_one_leader().unwrap();
    sim.one(1, 3, true).unwrap();
    sim.read(old);
    sim.run(2);
    let at_once = sim.stats().reads_ready_at_once;
    sim.read(old);
    assert_eq!(
        sim.stats().reads_ready_at_once,
        at_once + 1,
        "seed {seed}: served under the lease"
    );
    sim.pause(old);
    let new = (0..1_000)
        .find_map(|_| {
            sim.run(1);
            sim.ids()
                .filter(|&id| id != old)
                .find(|&id| sim.raft(id).is_some_and(|raft| raft.role() == Role::Leader))
        })
        .expect("a new leader");
    let committed = sim.committed().len();
    sim.propose(new, 2).expect("the new leader takes a write");
    assert!(
        sim.run_until(200, |sim| sim.committed().len() > committed),
        "seed {seed}: the write commits"
    );
    sim.resume(old);
    (sim, old)
}

/// Regression, seed 19 (3 nodes, fault level 3): without the rule that a node starting with
/// lease reads grants no vote for its first `election_ticks` ticks, a voter that had confirmed
/// the leader's lease crashed, restarted and at once voted a new leader in, which committed
/// while the old leader still served reads under its lease: the checker saw a stale read at
/// tick 1114.
#[test]
fn sim_regression_restarted_voter_voted_within_a_lease_seed_19() {
    let mut config = SimConfig::new(3, 19);
    config.node.lease_reads = true;
    let mut sim: Sim<u64> = Sim::new(config);
    let faults = Faults::level(3);
    let mut next_command = 1;
    for _ in 0..1_500 {
        sim.chaos_tick(&faults, &mut next_command);
    }
    assert!(sim.stats().reads_ready_at_once > 0);
}
