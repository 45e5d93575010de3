//! Linearizable reads by ReadIndex (thesis §6.4). A leader serves a read at its commit index
//! once an entry of its own term is committed (so that index covers every write committed
//! before the read arrived) and one round of `LeaderCheck`s, acknowledged by a majority of its
//! voters (of both configurations while joint), confirms that no other leader was elected
//! since the read arrived. One round serves every read that arrived before it started. A
//! follower forwards its reads to its leader. Every read is answered exactly once, with
//! `ReadReady` or `ReadFailed`.
//!
//! With `Config::lease_reads` (thesis §6.4.1), a confirmed round also starts a lease: for
//! `Config::lease_ticks` leader ticks from the round's start, no voter that confirmed it votes
//! for another (their stickiness lasts `election_ticks` of their own ticks from when they
//! received it), so no other leader can exist and a read is served at once, at the commit
//! index. A lease holds only in the configuration it was confirmed in, once that configuration
//! is committed (every later leader then uses it, or a configuration this leader appended
//! after it), and a leader that starts a transfer gives it up for the rest of its term (the
//! transfer's candidate is let through stickiness). While reads are served under the lease,
//! each heartbeat starts a round that renews it.

use crate::prelude::*;
use alloc::collections::VecDeque;

use crate::action::{Action, ReadError};
use crate::message::Message;
use crate::quorum::VoteResult;
use crate::tracker::Votes;
use crate::types::{Command, LogIndex, NodeId, Role, Term};

use super::Raft;

/// A read waits this many election timeouts at most, then fails with `ReadError::Timeout`.
const READ_TIMEOUT_ELECTIONS: u64 = 2;

/// The reads a node holds, and a leader's confirmation rounds. Boxed in the node: most never
/// serve a read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reads {
    /// On a leader: reads waiting, in arrival order.
    pending: VecDeque<PendingRead>,
    /// The last round started in this term (0: none yet).
    round: u64,
    /// The last round confirmed (`round` when none is in flight).
    confirmed: u64,
    /// The acknowledgements of round `round` while it is in flight.
    acks: Votes,
    /// How many reads at the back of `pending` have no round yet (reads take rounds in
    /// arrival order, so those without one are the newest): a round takes them in time
    /// proportional to their number, whatever waits before them.
    unassigned: usize,
    /// On a follower: reads forwarded (context, to whom, ticks since).
    forwarded: Vec<(u64, NodeId, u64)>,
    /// On a leader: its ticks counted since this was made, the clock of its lease.
    clock: u64,
    /// When round `round` started (`clock`), and the index of the configuration in force then.
    round_started: u64,
    round_config: LogIndex,
    /// Lease reads: the lease, as (the start of the round that confirmed it, the index of its
    /// configuration); `None` when there is none.
    lease: Option<(u64, LogIndex)>,
    /// A transfer was started in this term: no lease until it ends.
    lease_barred: bool,
    /// A read was served under the lease since the last round started: the next heartbeat
    /// starts a round that renews it.
    renew: bool,
}

#[derive(Clone, Copy, Debug)]
struct PendingRead {
    context: u64,
    /// The follower that forwarded it, or `None` for the leader's own host.
    from: Option<NodeId>,
    /// The read index: the commit index when its round started (an entry of the term
    /// committed by then, so it covers every write committed before the read arrived).
    index: LogIndex,
    /// The round that confirms it, once assigned (0: none yet).
    round: u64,
    /// Ticks since it arrived.
    age: u64,
}

impl<C: Command> Raft<C> {
    /// `Event::Read`.
    pub(super) fn read(&mut self, context: u64, out: &mut Vec<Action<C>>) {
        if self.reads_held() >= self.config.max_pending_reads {
            let error = ReadError::TooManyPending;
            out.push(Action::ReadFailed { context, error });
            return;
        }
        match self.role {
            Role::Leader => self.leader_read(context, None, out),
            Role::Follower => match self.leader {
                Some(leader) => {
                    self.reads_mut().forwarded.push((context, leader, 0));
                    // Its ticks age the read (`follower_reads_tick`).
                    self.fast_tick_limit = 0;
                    let message = Message::ReadIndex {
                        term: self.term,
                        context,
                    };
                    self.send(leader, message, out);
                }
                None => out.push(Action::ReadFailed {
                    context,
                    error: ReadError::NoLeader,
                }),
            },
            Role::Candidate | Role::PreCandidate => out.push(Action::ReadFailed {
                context,
                error: ReadError::NoLeader,
            }),
        }
    }

    /// Reads held: waiting on a leader, forwarded on a follower.
    fn reads_held(&self) -> usize {
        self.reads
            .as_ref()
            .map_or(0, |reads| reads.pending.len() + reads.forwarded.len())
    }

    fn reads_mut(&mut self) -> &mut Reads {
        self.reads.get_or_insert_with(Box::default)
    }

    /// A read on the leader, its host's (`from` = `None`) or forwarded by a follower.
    fn leader_read(&mut self, context: u64, from: Option<NodeId>, out: &mut Vec<Action<C>>) {
        if let Some(transfer) = &self.transfer {
            let error = ReadError::TransferInProgress { to: transfer.to };
            self.fail_read(context, from, error, out);
            return;
        }
        if self.config.lease_reads {
            if let Some(index) = self.lease_read_index() {
                self.reads_mut().renew = true;
                Self::answer_read(self.term, context, from, Ok(index), out);
                return;
            }
        }
        let reads = self.reads_mut();
        reads.pending.push_back(PendingRead {
            context,
            from,
            index: 0,
            round: 0,
            age: 0,
        });
        reads.unassigned += 1;
        self.advance_reads(out);
    }

    /// A follower's `ReadIndex`, on this node of the same term.
    pub(super) fn handle_read_index(
        &mut self,
        from: NodeId,
        context: u64,
        out: &mut Vec<Action<C>>,
    ) {
        if self.reads_held() >= self.config.max_pending_reads {
            // Refused like a read this node cannot serve: the follower retries.
            let error = ReadError::TooManyPending;
            self.fail_read(context, Some(from), error, out);
        } else if self.role == Role::Leader {
            self.leader_read(context, Some(from), out);
        } else {
            let error = ReadError::LeadershipLost {
                leader_hint: self.leader,
            };
            self.fail_read(context, Some(from), error, out);
        }
    }

    /// The leader's answer to a read we forwarded.
    pub(super) fn handle_read_index_response(
        &mut self,
        from: NodeId,
        context: u64,
        index: Option<LogIndex>,
        out: &mut Vec<Action<C>>,
    ) {
        let Some(reads) = &mut self.reads else {
            return;
        };
        let Some(position) = reads
            .forwarded
            .iter()
            .position(|&(c, to, _)| c == context && to == from)
        else {
            return; // Answered already, or timed out.
        };
        reads.forwarded.swap_remove(position);
        if reads.forwarded.is_empty() {
            self.update_fast_tick_limit();
        }
        out.push(match index {
            Some(index) => Action::ReadReady { context, index },
            None => Action::ReadFailed {
                context,
                error: ReadError::LeadershipLost {
                    leader_hint: self.leader.filter(|&leader| leader != from),
                },
            },
        });
    }

    /// A voter confirmed round `round` of our leadership.
    pub(super) fn handle_leader_check_response(
        &mut self,
        from: NodeId,
        round: u64,
        out: &mut Vec<Action<C>>,
    ) {
        let membership = self.memberships.current();
        let Some(reads) = &mut self.reads else {
            return;
        };
        if round != reads.round || round == reads.confirmed {
            return; // A stale round, or one confirmed already.
        }
        if reads.acks.record(membership, from, true)
            && reads.acks.result(membership) == VoteResult::Won
        {
            self.round_confirmed(out);
        }
    }

    /// Answers the reads their round confirmed, and, when no round is in flight and an entry
    /// of the term is committed, starts one for the reads that have none, at the commit index.
    pub(super) fn advance_reads(&mut self, out: &mut Vec<Action<C>>) {
        if self.role != Role::Leader {
            return;
        }
        let term_committed = self.log.term_at(self.commit_index) == Some(self.term);
        let commit_index = self.commit_index;
        let Some(reads) = &mut self.reads else {
            return;
        };
        // Answer, in order, what the confirmed rounds cover.
        while let Some(read) = reads.pending.front() {
            if read.round == 0 || read.round > reads.confirmed {
                break;
            }
            let read = reads.pending.pop_front().expect("front above");
            let (context, from, index) = (read.context, read.from, read.index);
            Self::answer_read(self.term, context, from, Ok(index), out);
        }
        if reads.unassigned == 0 || reads.round != reads.confirmed || !term_committed {
            return;
        }
        self.start_round(commit_index, out);
    }

    /// A new round, for every read that has none yet (the newest `unassigned`, if any), at the
    /// commit index `commit_index`; no round may be in flight.
    fn start_round(&mut self, commit_index: LogIndex, out: &mut Vec<Action<C>>) {
        let config_index = self.memberships.current_index();
        let Some(reads) = &mut self.reads else {
            return;
        };
        reads.round += 1;
        reads.round_started = reads.clock;
        reads.round_config = config_index;
        reads.renew = false;
        let round = reads.round;
        let first = reads.pending.len() - reads.unassigned;
        for read in reads.pending.range_mut(first..) {
            read.round = round;
            read.index = commit_index;
        }
        reads.unassigned = 0;
        let membership = self.memberships.current();
        reads.acks.clear();
        reads.acks.record(membership, self.config.id, true);
        if reads.acks.result(membership) == VoteResult::Won {
            // The only voter: nobody to ask.
            self.round_confirmed(out);
            return;
        }
        let term = self.term;
        self.ask_voters(|| Message::LeaderCheck { term, round }, |_| false, out);
    }

    /// Round `reads.round` is confirmed by a majority: its reads are served and, with lease
    /// reads, it starts a lease if the configuration it was confirmed in is still the one in
    /// force, and committed.
    fn round_confirmed(&mut self, out: &mut Vec<Action<C>>) {
        let config_index = self.memberships.current_index();
        let config_committed = config_index <= self.commit_index;
        let lease_reads = self.config.lease_reads;
        let Some(reads) = &mut self.reads else {
            return;
        };
        reads.confirmed = reads.round;
        if lease_reads
            && !reads.lease_barred
            && reads.round_config == config_index
            && config_committed
        {
            reads.lease = Some((reads.round_started, config_index));
        }
        self.advance_reads(out);
    }

    /// The index to serve a read at under the lease, if it holds: the leader's term has an
    /// entry committed, no transfer was started in it, the lease's configuration is the one
    /// in force and committed, and fewer than `Config::lease_ticks` ticks have passed since
    /// the lease's round started.
    fn lease_read_index(&self) -> Option<LogIndex> {
        let reads = self.reads.as_ref()?;
        let (start, config_index) = reads.lease?;
        let holds = !reads.lease_barred
            && reads.clock - start < self.config.lease_ticks()
            && config_index == self.memberships.current_index()
            && config_index <= self.commit_index
            && self.log.term_at(self.commit_index) == Some(self.term);
        holds.then_some(self.commit_index)
    }

    /// A leader gives up its lease for the rest of its term (it starts a transfer).
    #[cold]
    pub(super) fn bar_lease(&mut self) {
        let reads = self.reads_mut();
        reads.lease = None;
        reads.lease_barred = true;
    }

    /// Answers a read with its read index (`Ok`) or its failure (`Err`): to the leader's host
    /// (`from` = `None`), or to the follower that forwarded it, which learns only the index or
    /// that it must retry.
    #[inline(always)]
    fn answer_read(
        term: Term,
        context: u64,
        from: Option<NodeId>,
        outcome: Result<LogIndex, ReadError>,
        out: &mut Vec<Action<C>>,
    ) {
        match (from, outcome) {
            (None, Ok(index)) => out.push(Action::ReadReady { context, index }),
            (None, Err(error)) => out.push(Action::ReadFailed { context, error }),
            (Some(follower), outcome) => out.push(Action::Send {
                to: follower,
                message: Message::ReadIndexResponse {
                    term,
                    context,
                    index: outcome.ok(),
                },
            }),
        }
    }

    /// At each heartbeat, the round in flight is asked again of the voters that have not
    /// confirmed it: a lost `LeaderCheck` or answer delays its reads by a heartbeat, not by a
    /// timeout. With lease reads, a heartbeat with no round in flight starts one if reads were
    /// served under the lease since the last: the lease is renewed while it is used, and
    /// lapses when idle (the next read then takes a round, and starts a new lease).
    #[cold]
    pub(super) fn reads_heartbeat(&mut self, out: &mut Vec<Action<C>>) {
        let Some(reads) = &self.reads else {
            return;
        };
        if reads.round == reads.confirmed {
            if reads.renew && self.log.term_at(self.commit_index) == Some(self.term) {
                self.start_round(self.commit_index, out);
            }
            return;
        }
        let (term, round) = (self.term, reads.round);
        let membership = self.memberships.current();
        let confirmed = |voter| reads.acks.granted_by(membership, voter);
        self.ask_voters(|| Message::LeaderCheck { term, round }, confirmed, out);
    }

    fn fail_read(
        &self,
        context: u64,
        from: Option<NodeId>,
        error: ReadError,
        out: &mut Vec<Action<C>>,
    ) {
        Self::answer_read(self.term, context, from, Err(error), out);
    }

    /// A leader's tick with reads held: those older than `READ_TIMEOUT_ELECTIONS` election
    /// timeouts fail; a round that timed out is given up, and the reads after it start the
    /// next.
    #[cold]
    pub(super) fn leader_reads_tick(&mut self, out: &mut Vec<Action<C>>) {
        let limit = READ_TIMEOUT_ELECTIONS * self.config.election_ticks;
        let Some(mut reads) = self.reads.take() else {
            return;
        };
        reads.clock += 1;
        let mut expired_round = false;
        for read in &mut reads.pending {
            read.age += 1;
        }
        while let Some(read) = reads.pending.front() {
            if read.age < limit {
                break;
            }
            let read = reads.pending.pop_front().expect("front above");
            expired_round |= read.round != 0 && read.round == reads.round;
            if read.round == 0 {
                reads.unassigned -= 1;
            }
            self.fail_read(read.context, read.from, ReadError::Timeout, out);
        }
        if expired_round {
            // The round is given up, not confirmed: every read it was to serve fails (found
            // by the simulator's checker: marking it confirmed served the rest of its reads,
            // stale, in a minority; `sim_regression_timed_out_round_served_stale_reads_seed_0`).
            let round = reads.round;
            for read in core::mem::take(&mut reads.pending) {
                if read.round == round {
                    self.fail_read(read.context, read.from, ReadError::Timeout, out);
                } else {
                    reads.pending.push_back(read);
                }
            }
            reads.confirmed = round; // The next round may start.
        }
        self.reads = Some(reads);
        if expired_round {
            self.advance_reads(out);
        }
    }

    /// After every step of a node that holds reads: a node that no longer leads fails the
    /// reads it held as leader; one that no longer follows fails those it forwarded (no
    /// leader to answer them).
    #[cold]
    pub(super) fn after_step_reads(&mut self, out: &mut Vec<Action<C>>) {
        let role = self.role;
        let leader_hint = self.leader;
        let Some(mut reads) = self.reads.take() else {
            return;
        };
        if role != Role::Leader {
            reads.round = 0;
            reads.confirmed = 0;
            reads.unassigned = 0;
            reads.lease = None;
            reads.lease_barred = false;
            reads.renew = false;
            let error = ReadError::LeadershipLost { leader_hint };
            for read in core::mem::take(&mut reads.pending) {
                self.fail_read(read.context, read.from, error, out);
            }
        }
        let forwarding = !reads.forwarded.is_empty();
        if role != Role::Follower {
            for (context, _, _) in reads.forwarded.drain(..) {
                let error = ReadError::NoLeader;
                out.push(Action::ReadFailed { context, error });
            }
        }
        self.reads = Some(reads);
        if forwarding {
            self.update_fast_tick_limit();
        }
    }

    /// A follower's (or candidate's) tick with reads held: reads forwarded
    /// `READ_TIMEOUT_ELECTIONS` election timeouts ago and still unanswered fail, to be
    /// retried. Counted in the node's own ticks, which leave the inline fast path while it
    /// forwards reads (`fast_tick_limit`), so that no amount of traffic from the leader makes
    /// them fail sooner.
    #[cold]
    pub(super) fn follower_reads_tick(&mut self, out: &mut Vec<Action<C>>) {
        let limit = READ_TIMEOUT_ELECTIONS * self.config.election_ticks;
        let Some(reads) = &mut self.reads else {
            return;
        };
        if reads.forwarded.is_empty() {
            return;
        }
        for forwarded in &mut reads.forwarded {
            forwarded.2 += 1;
        }
        for &(context, _, age) in &reads.forwarded {
            if age >= limit {
                let error = ReadError::Timeout;
                out.push(Action::ReadFailed { context, error });
            }
        }
        reads.forwarded.retain(|&(_, _, age)| age < limit);
        if reads.forwarded.is_empty() {
            self.update_fast_tick_limit();
        }
    }

    /// Sets the limit of the inline idle tick: the election timeout, or 0 (every tick takes
    /// the slow path) while reads forwarded to a leader wait.
    pub(super) fn update_fast_tick_limit(&mut self) {
        let forwarding = self
            .reads
            .as_ref()
            .is_some_and(|reads| !reads.forwarded.is_empty());
        self.fast_tick_limit = if forwarding { 0 } else { self.election_timeout };
    }
}
