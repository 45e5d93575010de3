//! Fuzz target bodies (feature `fuzzing`): the code cargo-fuzz runs in `fuzz/`, kept in the
//! crate so that `cargo test` replays the committed corpus through exactly the same code.
//!
//! Each target takes raw bytes, decodes them with [`arbitrary::Unstructured`] and panics on a
//! violated property. Three targets:
//! - [`step`]: one node with an arbitrary valid configuration and membership (a voter, a
//!   learner, a member of a joint configuration, or a node started empty to join) fed an
//!   arbitrary sequence of events, membership changes and messages from arbitrary senders
//!   included (configuration entries and snapshots of any membership, valid or not), by a host
//!   that carries out each step's actions at once or (batching) keeps one buffer and carries
//!   out an arbitrary prefix of it after each step. With `Config::async_persistence` (drawn),
//!   its entry writes complete when the input says, and it reports them, or an old report
//!   again. After every step the node-local invariants hold (term and commit never decrease,
//!   commit within the log, applied indices contiguous, no vote changed within a term,
//!   entries and votes durable before they are sent, acknowledgements and applied entries on
//!   the disk, one outcome per proposal or membership change, the configuration in force the
//!   one the durable log makes; a report without the option changes nothing).
//! - [`cluster`]: an arbitrary fault and membership schedule driving the simulator (its hosts
//!   batching or not, writing entries synchronously or in the background; nodes added,
//!   changes of every kind proposed, removed nodes retired), whose checker verifies every
//!   invariant after every step, then a healed liveness phase.
//! - [`restore`]: arbitrary persisted state given to `Raft::new` answers `Ok` or an error,
//!   never a panic, and an `Ok` node then behaves under [`step`]'s checks.

use std::collections::VecDeque;

use arbitrary::{Arbitrary, Unstructured};

use crate::action::{Action, Persist};
use crate::config::Config;
use crate::event::Event;
use crate::membership::{Membership, MembershipChange};
use crate::message::{AppendOutcome, Message, SnapshotChunk, SnapshotOutcome};
use crate::node::Raft;
use crate::restore::Restored;
use crate::sim::{Faults, NetworkConfig, Sim, SimConfig};
use crate::types::{Entry, HardState, LogIndex, NodeId, Payload, Snapshot, SnapshotMeta};

/// The ids whose bits are set in `mask` (bit k for id k + 1).
fn ids_of(mask: u8) -> Vec<NodeId> {
    (1..=8).filter(|id| mask & (1 << (id - 1)) != 0).collect()
}

/// A configuration and a bootstrap membership built from a few arbitrary numbers, always
/// valid: small timeouts and bounds; 1-7 voters with ids 1..=n and this node one of them (most
/// often), or this node a learner, or a joint configuration, or nobody (a node that joins).
fn small_config(u: &mut Unstructured<'_>) -> arbitrary::Result<(Config, Membership)> {
    let voters = u.int_in_range(1..=7u64)?;
    let id = u.int_in_range(1..=voters)?;
    let membership = match u.int_in_range(0..=7u8)? {
        0..=4 => Membership::new(1..=voters),
        5 => Membership {
            voters: (1..=voters).filter(|&voter| voter != id).collect(),
            outgoing: Vec::new(),
            learners: vec![id],
        },
        6 => Membership {
            voters: (2..=voters + 1).collect(),
            outgoing: (1..=voters).collect(),
            learners: Vec::new(),
        },
        _ => Membership::default(),
    };
    let membership = if membership.validate().is_ok() || membership.is_empty() {
        membership
    } else {
        Membership::new(1..=voters) // A learner alone would leave no voter.
    };
    let mut config = Config::new(id);
    config.election_ticks = u.int_in_range(2..=40)?;
    config.heartbeat_ticks = u.int_in_range(1..=config.election_ticks - 1)?;
    config.max_inflight_appends = u.int_in_range(1..=8)?;
    config.max_entries_per_message = u.int_in_range(1..=8)?;
    config.max_bytes_per_message = u.int_in_range(1..=64)?;
    config.max_uncommitted_entries = u.int_in_range(1..=32)?;
    config.snapshot_trailing_entries = u.int_in_range(0..=8)?;
    config.snapshot_chunk_bytes = u.int_in_range(1..=16)?;
    config.max_inflight_snapshot_chunks = u.int_in_range(1..=4)?;
    config.max_snapshot_bytes = u.int_in_range(1..=96)?;
    config.max_pending_reads = u.int_in_range(1..=8)?;
    config.auto_leave_joint = u.arbitrary()?;
    config.pre_vote = u.arbitrary()?;
    config.check_quorum = u.arbitrary()?;
    config.lease_reads = config.check_quorum && u.arbitrary()?;
    config.lease_drift_ticks = u.int_in_range(0..=config.election_ticks - 2)?;
    config.seed = u.arbitrary()?;
    config.async_persistence = u.arbitrary()?;
    config.apply_by_range = u.arbitrary()?;
    debug_assert!(config.validate().is_ok());
    Ok((config, membership))
}

/// An event described relative to the node's state, so that most of them are plausible
/// (terms near the node's, indices near its log) and reach deep code; `Raw` is anything at all.
#[derive(Arbitrary, Debug)]
enum FuzzEvent {
    Tick,
    Ticks(u8),
    Propose(u64),
    ProposeBatch(Vec<u64>),
    RequestVote {
        from: u8,
        term: i8,
        last_index: i8,
        last_term: i8,
        transfer: bool,
    },
    VoteResponse {
        from: u8,
        term: i8,
        granted: bool,
    },
    Append {
        from: u8,
        term: i8,
        prev: i8,
        prev_term: i8,
        entries: Vec<(u8, u8)>,
        commit: i8,
        /// The entry at this position (modulo their number) carries a configuration of the
        /// ids in the mask instead of a command (an empty mask: an invalid one).
        configuration: Option<(u8, u8)>,
    },
    /// A membership change asked of the node, against its configuration in force or, one
    /// time in four, a nearby index (stale or ahead).
    ChangeMembership {
        kind: u8,
        target: u8,
        stale: i8,
    },
    Accepted {
        from: u8,
        term: i8,
        match_index: i8,
    },
    Rejected {
        from: u8,
        term: i8,
        rejected: i8,
        hint: i8,
        hint_term: i8,
    },
    Raw(Event<u64>),
    /// The host snapshots `back` entries before its applied index.
    Snapshot {
        back: u8,
        size: u8,
    },
    /// One `InstallSnapshot` chunk.
    Chunk {
        from: u8,
        term: i8,
        index: i8,
        last_term: i8,
        offset: u8,
        len: u8,
        /// Bytes the snapshot declares after this chunk (0: the last chunk).
        remaining: u8,
        /// The snapshot's configuration: the voters in the mask (an empty mask: an invalid
        /// one), from an entry `membership_back` before its index.
        membership_mask: u8,
        membership_back: u8,
    },
    SnapshotReceiving {
        from: u8,
        term: i8,
        index: i8,
        next_offset: u8,
        answered_offset: u8,
    },
    SnapshotDone {
        from: u8,
        term: i8,
        index: i8,
        match_index: i8,
    },
    /// A commit notice.
    Commit {
        from: u8,
        term: i8,
        match_index: i8,
        match_term: i8,
        commit: i8,
    },
    /// A `PreVote`, of a term near the node's (below it too, which must get an explicit
    /// refusal).
    PreVote {
        from: u8,
        term: i8,
        last_index: i8,
        last_term: i8,
    },
    PreVoteResponse {
        from: u8,
        term: i8,
        granted: bool,
    },
    /// A leader's `TimeoutNow` (leadership transfer).
    TimeoutNow {
        from: u8,
        term: i8,
    },
    /// The host asks for a leadership transfer.
    Transfer {
        to: u8,
    },
    /// A client's read.
    Read(u8),
    ReadIndex {
        from: u8,
        term: i8,
        context: u8,
    },
    ReadIndexResponse {
        from: u8,
        term: i8,
        context: u8,
        index: Option<i8>,
    },
    LeaderCheck {
        from: u8,
        term: i8,
        round: u8,
    },
    LeaderCheckResponse {
        from: u8,
        term: i8,
        round: u8,
    },
    /// Asynchronous persistence: the host completes 1 to 4 of its entry writes in flight and
    /// reports the last one done.
    WritesDone(u8),
    /// Asynchronous persistence: the host repeats one of its recent reports, late (the
    /// entries it names may have been truncated since).
    ReportAgain(u8),
}

/// `base` moved by `delta`, saturating at the ends of `u64`.
fn near(base: u64, delta: i8) -> u64 {
    if delta >= 0 {
        base.saturating_add(delta as u64)
    } else {
        base.saturating_sub(u64::from(delta.unsigned_abs()))
    }
}

impl FuzzEvent {
    /// The events this stands for, given the node and the index its host has applied.
    fn into_events(self, node: &Raft<u64>, host_applied: LogIndex) -> Vec<Event<u64>> {
        let term = node.term();
        let last = node.last_index();
        let receive = |from: u8, message| Event::Receive {
            from: NodeId::from(from % 9),
            message,
        };
        let event = match self {
            FuzzEvent::Tick => Event::Tick,
            FuzzEvent::Ticks(count) => return vec![Event::Tick; usize::from(count)],
            FuzzEvent::Propose(command) => Event::Propose(command),
            FuzzEvent::ProposeBatch(commands) => {
                Event::ProposeBatch(commands.into_iter().take(12).collect())
            }
            FuzzEvent::RequestVote {
                from,
                term: t,
                last_index,
                last_term,
                transfer,
            } => {
                let message = Message::RequestVote {
                    term: near(term, t),
                    last_log_index: near(last, last_index),
                    last_log_term: near(node.last_term(), last_term),
                    transfer,
                };
                receive(from, message)
            }
            FuzzEvent::PreVote {
                from,
                term: t,
                last_index,
                last_term,
            } => {
                let message = Message::PreVote {
                    term: near(term, t),
                    last_log_index: near(last, last_index),
                    last_log_term: near(node.last_term(), last_term),
                };
                receive(from, message)
            }
            FuzzEvent::Read(context) => Event::Read {
                context: u64::from(context),
            },
            FuzzEvent::ReadIndex {
                from,
                term: t,
                context,
            } => {
                let message = Message::ReadIndex {
                    term: near(term, t),
                    context: u64::from(context),
                };
                receive(from, message)
            }
            FuzzEvent::ReadIndexResponse {
                from,
                term: t,
                context,
                index,
            } => {
                let message = Message::ReadIndexResponse {
                    term: near(term, t),
                    context: u64::from(context),
                    index: index.map(|delta| near(node.commit_index(), delta)),
                };
                receive(from, message)
            }
            FuzzEvent::LeaderCheck {
                from,
                term: t,
                round,
            } => {
                let message = Message::LeaderCheck {
                    term: near(term, t),
                    round: u64::from(round),
                };
                receive(from, message)
            }
            FuzzEvent::LeaderCheckResponse {
                from,
                term: t,
                round,
            } => {
                let message = Message::LeaderCheckResponse {
                    term: near(term, t),
                    round: u64::from(round),
                };
                receive(from, message)
            }
            FuzzEvent::TimeoutNow { from, term: t } => receive(
                from,
                Message::TimeoutNow {
                    term: near(term, t),
                },
            ),
            FuzzEvent::Transfer { to } => Event::TransferLeadership {
                to: u64::from(to % 9),
            },
            FuzzEvent::PreVoteResponse {
                from,
                term: t,
                granted,
            } => {
                let message = Message::PreVoteResponse {
                    term: near(term, t),
                    vote_granted: granted,
                };
                receive(from, message)
            }
            FuzzEvent::VoteResponse {
                from,
                term: t,
                granted,
            } => {
                let message = Message::RequestVoteResponse {
                    term: near(term, t),
                    vote_granted: granted,
                };
                receive(from, message)
            }
            FuzzEvent::Append {
                from,
                term: t,
                prev,
                prev_term,
                entries,
                commit,
                configuration,
            } => {
                let message_term = near(term, t);
                let prev_log_index = near(last, prev);
                let prev_log_term = near(node.last_term(), prev_term);
                // Mostly well-formed: contiguous, with small term steps; the raw bytes may
                // still make gaps and decreasing terms through the wrapping adds.
                let mut entry_term = prev_log_term;
                let count = entries.len().min(16);
                let configured = configuration
                    .filter(|_| count > 0)
                    .map(|(position, mask)| (usize::from(position) % count.max(1), mask));
                let entries = entries
                    .into_iter()
                    .take(16)
                    .enumerate()
                    .map(|(offset, (step, command))| {
                        entry_term = entry_term.saturating_add(u64::from(step % 3 / 2));
                        let payload = match configured {
                            Some((position, mask)) if position == offset => {
                                Payload::membership(Membership::new(ids_of(mask)))
                            }
                            _ => Payload::Command(u64::from(command)),
                        };
                        Entry {
                            term: entry_term.min(message_term),
                            index: prev_log_index.wrapping_add(offset as u64 + 1),
                            payload,
                        }
                    })
                    .collect();
                let message = Message::AppendEntries {
                    term: message_term,
                    prev_log_index,
                    prev_log_term,
                    entries,
                    leader_commit: near(node.commit_index(), commit),
                };
                receive(from, message)
            }
            FuzzEvent::Accepted {
                from,
                term: t,
                match_index,
            } => {
                let outcome = AppendOutcome::Accepted {
                    match_index: near(last, match_index),
                };
                let message = Message::AppendEntriesResponse {
                    term: near(term, t),
                    outcome,
                };
                receive(from, message)
            }
            FuzzEvent::Rejected {
                from,
                term: t,
                rejected,
                hint,
                hint_term,
            } => {
                let outcome = AppendOutcome::Rejected {
                    rejected_index: near(last, rejected),
                    hint_index: near(last, hint),
                    hint_term: near(term, hint_term),
                };
                let message = Message::AppendEntriesResponse {
                    term: near(term, t),
                    outcome,
                };
                receive(from, message)
            }
            FuzzEvent::Commit {
                from,
                term: t,
                match_index,
                match_term,
                commit,
            } => {
                let message = Message::Commit {
                    term: near(term, t),
                    match_index: near(last, match_index),
                    match_term: near(node.last_term(), match_term),
                    leader_commit: near(node.commit_index(), commit),
                };
                receive(from, message)
            }
            FuzzEvent::ChangeMembership {
                kind,
                target,
                stale,
            } => {
                let id = NodeId::from(target % 9);
                let change = match kind % 5 {
                    0 => MembershipChange::AddLearner(id),
                    1 => MembershipChange::Promote(id),
                    2 => MembershipChange::Remove(id),
                    3 => MembershipChange::Joint {
                        voters: ids_of(target),
                        learners: ids_of(kind).into_iter().filter(|&l| l > 4).collect(),
                    },
                    _ => MembershipChange::LeaveJoint,
                };
                let current = node.membership_index();
                let membership_index = if stale % 4 == 0 {
                    near(current, stale)
                } else {
                    current
                };
                Event::ChangeMembership {
                    change,
                    membership_index,
                }
            }
            FuzzEvent::Raw(event) => event,
            // The host's own doing: see `Host::run`.
            FuzzEvent::WritesDone(_) | FuzzEvent::ReportAgain(_) => return Vec::new(),
            FuzzEvent::Snapshot { back, size } => Event::SnapshotTaken {
                index: host_applied.saturating_sub(u64::from(back % 4)),
                data: vec![size; usize::from(size % 40)],
            },
            FuzzEvent::Chunk {
                from,
                term: t,
                index,
                last_term,
                offset,
                len,
                remaining,
                membership_mask,
                membership_back,
            } => {
                let last_index = near(last, index);
                let message = Message::InstallSnapshot {
                    term: near(term, t),
                    chunk: Box::new(SnapshotChunk {
                        meta: SnapshotMeta {
                            last_index,
                            last_term: near(node.last_term(), last_term),
                            membership: Membership::new(ids_of(membership_mask)),
                            // Past the snapshot's index, for a few: a malformed one.
                            membership_index: if membership_back < 224 {
                                last_index.saturating_sub(u64::from(membership_back % 16))
                            } else {
                                last_index.saturating_add(1)
                            },
                        },
                        size: u64::from(offset % 32 + len % 16 + remaining % 48),
                        offset: u64::from(offset % 32),
                        data: vec![len; usize::from(len % 16)],
                    }),
                };
                receive(from, message)
            }
            FuzzEvent::SnapshotReceiving {
                from,
                term: t,
                index,
                next_offset,
                answered_offset,
            } => {
                let message = Message::InstallSnapshotResponse {
                    term: near(term, t),
                    snapshot_index: near(node.snapshot_index(), index),
                    outcome: SnapshotOutcome::Receiving {
                        next_offset: u64::from(next_offset),
                        answered_offset: u64::from(answered_offset),
                    },
                };
                receive(from, message)
            }
            FuzzEvent::SnapshotDone {
                from,
                term: t,
                index,
                match_index,
            } => {
                let message = Message::InstallSnapshotResponse {
                    term: near(term, t),
                    snapshot_index: near(node.snapshot_index(), index),
                    outcome: SnapshotOutcome::Done {
                        match_index: near(last, match_index),
                    },
                };
                receive(from, message)
            }
        };
        vec![event]
    }
}

/// A host with a model disk: carries out actions in order and checks, on every step, what a
/// host can observe of one node. A batching host keeps one output buffer across steps and
/// carries out only a prefix of it after each step (the fuzz input says how much).
struct Host {
    node: Raft<u64>,
    disk_hard_state: HardState,
    /// The stored snapshot's (index, term), or (0, 0).
    disk_base: (LogIndex, u64),
    /// The stored entries after `disk_base`.
    disk_log: Vec<Entry<u64>>,
    /// The configuration at the base of the stored log and its entry's index: the stored
    /// snapshot's, or the bootstrap membership.
    disk_membership: (LogIndex, Membership),
    applied: LogIndex,
    /// Batching: actions stepped and not carried out yet; always empty otherwise.
    batching: bool,
    out: Vec<Action<u64>>,
    /// Asynchronous persistence: the entries after `disk_base` whose writes completed (what a
    /// crash keeps); `disk_log` is then what every write started makes. `None` with
    /// synchronous persistence, where both are `disk_log`.
    synced: Option<Vec<Entry<u64>>>,
    /// Asynchronous persistence: the entry writes started and not completed, in order, each
    /// with the term of the hard state written when it started (what the host reports).
    writing: VecDeque<(Vec<Entry<u64>>, u64)>,
    /// Asynchronous persistence: the last reports, most recent last.
    reports: VecDeque<(LogIndex, u64)>,
}

impl Host {
    fn new(node: Raft<u64>, restored: &Restored<u64>, batching: bool) -> Self {
        let disk_base = restored
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.last_index, s.meta.last_term));
        let disk_membership = restored.snapshot.as_ref().map_or_else(
            || (0, restored.membership.clone()),
            |s| (s.meta.membership_index, s.meta.membership.clone()),
        );
        let mut host = Host {
            disk_membership,
            disk_hard_state: restored.hard_state,
            disk_base,
            disk_log: restored
                .entries
                .iter()
                .filter(|e| e.index > disk_base.0)
                .cloned()
                .collect(),
            applied: restored.applied.max(disk_base.0),
            synced: None,
            writing: VecDeque::new(),
            reports: VecDeque::new(),
            batching,
            out: Vec::new(),
            node,
        };
        if host.node.config().async_persistence {
            host.synced = Some(host.disk_log.clone());
        }
        host
    }

    /// The entries after `disk_base` that a crash would keep.
    fn synced_log(&self) -> &[Entry<u64>] {
        self.synced.as_deref().unwrap_or(&self.disk_log)
    }

    /// Asynchronous persistence: completes up to `count` writes in flight, in order.
    /// Answers the last entry written, if any write completed.
    fn complete_writes(&mut self, count: usize) -> Option<(LogIndex, u64)> {
        let base = self.disk_base.0;
        let synced = self.synced.as_mut()?;
        let mut last = None;
        for (write, term) in self.writing.drain(..count.min(self.writing.len())) {
            synced.truncate((write[0].index - base - 1) as usize);
            last = write.last().map(|entry| (entry.index, term));
            synced.extend(write);
        }
        last
    }

    /// Asynchronous persistence: the host's report of `written`, stepped like any event.
    fn report(&mut self, written: (LogIndex, u64), carry: u8) {
        if self.reports.len() == 8 {
            self.reports.pop_front();
        }
        self.reports.push_back(written);
        let (index, term) = written;
        self.step(Event::Persisted { index, term }, carry);
    }

    fn disk_last_index(&self) -> LogIndex {
        self.disk_base.0 + self.disk_log.len() as LogIndex
    }

    /// Steps `event` into the buffer, then carries out `carry` of its actions (all of them
    /// unless batching).
    fn step(&mut self, event: Event<u64>, carry: u8) {
        let before = self.node.status();
        let proposal = matches!(
            event,
            Event::Propose(_) | Event::ProposeBatch(_) | Event::ChangeMembership { .. }
        );
        let snapshot_event = matches!(event, Event::SnapshotTaken { .. });
        let ignored_report =
            matches!(event, Event::Persisted { .. }) && !self.node.config().async_persistence;
        let transfer_event = matches!(event, Event::TransferLeadership { .. });
        let start = self.out.len();
        self.node.step_into(event, &mut self.out);
        // `Config::apply_by_range`: each range is read before the next step, and must be
        // held, committed, and continue the applied sequence.
        let mut next = None;
        for action in &mut self.out[start..] {
            if let Action::ApplyRange { first, last } = *action {
                if let Some(expected) = next {
                    assert_eq!(first, expected, "ranges not contiguous");
                }
                next = Some(last + 1);
                let entries = self.node.committed_entries(first, last);
                let entries = entries.expect("a range handed out is held");
                *action = Action::Apply(crate::entries::Entries::from_slice(entries));
            }
        }
        // One outcome per proposal or snapshot, in the step's own answer.
        let outcomes = self.out[start..]
            .iter()
            .filter(|action| {
                matches!(
                    action,
                    Action::ProposalAccepted { .. }
                        | Action::BatchAccepted { .. }
                        | Action::ProposalRejected(_)
                        | Action::SnapshotRefused(_)
                        | Action::Persist(Persist::Snapshot(_))
                        | Action::TransferStarted { .. }
                        | Action::TransferRejected(_)
                )
            })
            .count();
        let expected =
            usize::from(proposal) + usize::from(snapshot_event) + usize::from(transfer_event);
        assert_eq!(
            outcomes, expected,
            "one outcome per proposal, snapshot or transfer"
        );
        if ignored_report {
            assert!(
                self.out.len() == start,
                "a report without async persistence acted"
            );
            assert_eq!(
                self.node.status(),
                before,
                "a report without async persistence"
            );
        }
        let carry = if self.batching && carry >= 128 {
            usize::from(carry - 128) % (self.out.len() + 1)
        } else {
            self.out.len()
        };
        // A write at or below what the host applied would replace an applied entry; without
        // batching every write of this step must also lie above the commit before it.
        let floor = if self.batching {
            self.applied
        } else {
            before.commit_index
        };
        let actions: Vec<Action<u64>> = self.out.drain(..carry).collect();
        for action in actions {
            self.carry_out(action, floor, before.commit_index);
        }
        self.check_after(before);
    }

    fn carry_out(&mut self, action: Action<u64>, floor: LogIndex, commit_before: LogIndex) {
        match action {
            Action::Persist(Persist::HardState(hard_state)) => {
                let disk = self.disk_hard_state;
                assert!(hard_state.term >= disk.term, "persisted term went back");
                if hard_state.term == disk.term && disk.vote.is_some() {
                    assert_eq!(hard_state.vote, disk.vote, "vote changed within a term");
                }
                self.disk_hard_state = hard_state;
            }
            Action::Persist(Persist::Entries(entries)) => {
                let first = entries.first().expect("a persisted batch is never empty");
                let base = self.disk_base.0;
                assert!(first.index > base && first.index <= self.disk_last_index() + 1);
                assert!(first.index > floor, "truncated a committed entry");
                self.disk_log.truncate((first.index - base - 1) as usize);
                if self.synced.is_some() {
                    let term = self.disk_hard_state.term;
                    self.writing.push_back((entries.to_vec(), term));
                }
                self.disk_log.extend(entries);
            }
            Action::Persist(Persist::Snapshot(meta)) => {
                assert!(meta.last_index <= self.applied, "snapshot past applied");
                assert!(meta.last_index > self.disk_base.0, "snapshot went back");
                // The entry writes before it complete first (the ordering rule).
                self.complete_writes(usize::MAX);
                let covered = (meta.last_index - self.disk_base.0) as usize;
                self.disk_log.drain(..covered.min(self.disk_log.len()));
                if let Some(synced) = self.synced.as_mut() {
                    synced.drain(..covered.min(synced.len()));
                }
                self.disk_base = (meta.last_index, meta.last_term);
                self.disk_membership = (meta.membership_index, meta.membership);
            }
            Action::InstallSnapshot(snapshot) => {
                let index = snapshot.meta.last_index;
                if !self.batching {
                    assert!(index > commit_before, "installed below commit");
                }
                assert!(index > self.applied, "applied went back");
                // The writes before it complete, and are never reported: it ends them.
                self.complete_writes(usize::MAX);
                self.reports.clear();
                self.disk_log.clear();
                if let Some(synced) = self.synced.as_mut() {
                    synced.clear();
                }
                self.disk_base = (index, snapshot.meta.last_term);
                let meta = &snapshot.meta;
                assert!(
                    meta.membership.validate().is_ok(),
                    "installed an invalid membership"
                );
                self.disk_membership = (meta.membership_index, meta.membership.clone());
                self.applied = index;
            }
            Action::Send { message, to } => self.check_send(to, &message),
            Action::Apply(entries) => {
                for entry in entries {
                    assert_eq!(entry.index, self.applied + 1, "applied out of order");
                    let offset = entry.index.checked_sub(self.disk_base.0 + 1);
                    let durable = offset.and_then(|o| self.synced_log().get(o as usize));
                    assert_eq!(durable, Some(&entry), "applied an entry not on disk");
                    self.applied = entry.index;
                }
            }
            Action::SnapshotRefused(_)
            | Action::ProposalAccepted { .. }
            | Action::BatchAccepted { .. }
            | Action::ProposalRejected(_)
            | Action::TransferStarted { .. }
            | Action::TransferRejected(_)
            | Action::TransferAborted { .. }
            | Action::ReadReady { .. }
            | Action::ReadFailed { .. } => {}
            Action::ApplyRange { .. } => unreachable!("read in `step`"),
        }
    }

    /// True if the disk holds (`index`, `term`), or its snapshot covers `index`.
    fn on_disk(&self, index: LogIndex, term: u64) -> bool {
        let (base, base_term) = self.disk_base;
        index < base
            || (index == base && term == base_term)
            || index
                .checked_sub(base + 1)
                .and_then(|offset| self.disk_log.get(offset as usize))
                .is_some_and(|entry| entry.term == term)
    }

    fn check_send(&self, to: NodeId, message: &Message<u64>) {
        assert_ne!(to, self.node.id(), "sent a message to itself");
        assert!(
            message.term() <= self.node.term(),
            "message from the future"
        );
        match message {
            // Thesis §9.6: pre-voting changes no term; what is sent carries the durable one.
            Message::PreVote { term, .. } | Message::PreVoteResponse { term, .. } => {
                assert_eq!(
                    self.disk_hard_state.term, *term,
                    "a pre-vote message of a term not durable"
                );
            }
            Message::RequestVoteResponse {
                term,
                vote_granted: true,
            } => {
                assert_eq!(
                    self.disk_hard_state.term, *term,
                    "grant before its term is durable"
                );
                assert_eq!(
                    self.disk_hard_state.vote,
                    Some(to),
                    "grant before the vote is durable"
                );
            }
            Message::AppendEntriesResponse {
                outcome: AppendOutcome::Accepted { match_index },
                ..
            }
            | Message::InstallSnapshotResponse {
                outcome: SnapshotOutcome::Done { match_index },
                ..
            } => {
                // On the disk, and there as the log the node's writes make has it.
                let (base, synced) = (self.disk_base.0, self.synced_log());
                let durable = base + synced.len() as LogIndex;
                assert!(*match_index <= durable, "acknowledged entries not on disk");
                if *match_index > base {
                    let at = (*match_index - base - 1) as usize;
                    assert_eq!(
                        synced[at].term, self.disk_log[at].term,
                        "acknowledged an entry whose write is not complete"
                    );
                }
            }
            // The ordering rule: an entry leaves only once a Persist made it durable.
            Message::AppendEntries { entries, .. } => {
                for entry in entries.iter() {
                    assert!(
                        self.on_disk(entry.index, entry.term),
                        "sent entry {} before it was durable",
                        entry.index
                    );
                }
            }
            _ => {}
        }
    }

    fn check_after(&self, before: crate::Status) {
        let now = self.node.status();
        assert!(now.term >= before.term, "term went back");
        assert!(now.commit_index >= before.commit_index, "commit went back");
        assert!(now.commit_index <= now.last_index, "commit beyond the log");
        if now.term == before.term && before.vote.is_some() {
            assert_eq!(now.vote, before.vote, "vote changed within a term");
        }
        assert!(
            now.compacted_index <= now.snapshot_index,
            "compacted past the snapshot"
        );
        if !self.out.is_empty() {
            return; // What waits in the buffer is not on disk yet.
        }
        assert_eq!(
            now.applied_index, self.applied,
            "applied index out of step with Apply"
        );
        assert_eq!(
            self.node.hard_state(),
            self.disk_hard_state,
            "hard state not durable"
        );
        // The node may hold a few entries its snapshot covers; the rest is on disk.
        let held = self.node.entries();
        let after_base = &held[held.partition_point(|e| e.index <= self.disk_base.0)..];
        assert_eq!(after_base, self.disk_log.as_slice(), "log not durable");
        assert_eq!(now.last_index, self.disk_last_index(), "log not durable");
        assert_eq!(now.snapshot_index, self.disk_base.0, "snapshot not durable");
        // The configuration in force is the latest the durable log holds (thesis §4.1).
        let latest = self
            .disk_log
            .iter()
            .rev()
            .find_map(|entry| Some((entry.index, entry.payload.as_membership()?)));
        let (index, membership) =
            latest.unwrap_or((self.disk_membership.0, &self.disk_membership.1));
        assert_eq!(
            (self.node.membership_index(), self.node.membership()),
            (index, membership),
            "the configuration in force is not the one the log makes"
        );
    }

    fn run(&mut self, u: &mut Unstructured<'_>) {
        let mut events = 0;
        while !u.is_empty() && events < 2_000 {
            let (Ok(fuzz_event), Ok(carry)) = (FuzzEvent::arbitrary(u), u8::arbitrary(u)) else {
                break;
            };
            match fuzz_event {
                FuzzEvent::WritesDone(count) => {
                    if let Some(written) = self.complete_writes(usize::from(count % 4) + 1) {
                        self.report(written, carry);
                    }
                }
                FuzzEvent::ReportAgain(back) => {
                    if !self.reports.is_empty() {
                        let pick = usize::from(back) % self.reports.len();
                        self.report(self.reports[pick], carry);
                    }
                }
                // A report of a write the host never completed is outside the contract; with
                // synchronous persistence, any report must change nothing.
                FuzzEvent::Raw(Event::Persisted { .. }) if self.synced.is_some() => {}
                fuzz_event => {
                    for event in fuzz_event.into_events(&self.node, self.applied) {
                        self.step(event, carry);
                        events += 1;
                    }
                }
            }
        }
    }
}

/// The `step` target: one node, an arbitrary valid configuration, arbitrary events.
pub fn step(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((config, membership)) = small_config(&mut u) else {
        return;
    };
    let Ok(batching) = bool::arbitrary(&mut u) else {
        return;
    };
    let restored = Restored {
        membership,
        ..Restored::default()
    };
    let node = Raft::new(config, restored.clone()).expect("a valid config and a fresh state");
    Host::new(node, &restored, batching).run(&mut u);
}

/// A restored state that is mostly well formed (contiguous indices from 1, non-decreasing
/// terms) so that `Ok` nodes are common; `Raw` is any state at all.
#[derive(Arbitrary, Debug)]
enum FuzzRestored {
    Shaped {
        term: u8,
        vote: Option<u8>,
        term_steps: Vec<u8>,
        applied: u8,
        /// A snapshot at this index of the log, whose stored entries start `kept_before`
        /// entries before its end.
        snapshot_at: Option<u8>,
        kept_before: u8,
    },
    Raw(Box<Restored<u64>>),
}

impl FuzzRestored {
    fn build(self, membership: Membership) -> Restored<u64> {
        match self {
            FuzzRestored::Shaped {
                term,
                vote,
                term_steps,
                applied,
                snapshot_at,
                kept_before,
            } => {
                let mut entry_term = 1;
                let entries: Vec<Entry<u64>> = term_steps
                    .iter()
                    .take(64)
                    .enumerate()
                    .map(|(offset, step)| {
                        entry_term += u64::from(step % 4 / 3);
                        // One entry in sixteen a configuration entry.
                        let payload = if step % 16 == 15 {
                            Payload::membership(Membership::new(1..=u64::from(step / 16 % 7 + 1)))
                        } else {
                            Payload::Command(u64::from(*step))
                        };
                        Entry {
                            term: entry_term,
                            index: offset as u64 + 1,
                            payload,
                        }
                    })
                    .collect();
                let mut entries: Vec<Entry<u64>> = entries;
                let applied = u64::from(applied).min(entries.len() as u64);
                let snapshot = snapshot_at
                    .map(|at| usize::from(at).min(entries.len()))
                    .filter(|&at| at > 0)
                    .map(|at| {
                        let configured = entries[..at].iter().rev().find_map(|entry| {
                            Some((entry.index, entry.payload.as_membership()?.clone()))
                        });
                        let (membership_index, membership) =
                            configured.unwrap_or((0, membership.clone()));
                        let meta = SnapshotMeta {
                            last_index: at as u64,
                            last_term: entries[at - 1].term,
                            membership,
                            membership_index,
                        };
                        entries.drain(..at.saturating_sub(usize::from(kept_before)));
                        Snapshot {
                            meta,
                            data: vec![7; at % 5],
                        }
                    });
                Restored {
                    hard_state: HardState {
                        term: entry_term.max(u64::from(term)),
                        vote: vote.map(|v| u64::from(v % 8)),
                    },
                    snapshot,
                    applied,
                    entries,
                    membership,
                }
            }
            FuzzRestored::Raw(restored) => *restored,
        }
    }
}

/// The `restore` target: arbitrary persisted state, then, if accepted, arbitrary events.
pub fn restore(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((config, membership)) = small_config(&mut u) else {
        return;
    };
    let Ok(fuzz_restored) = FuzzRestored::arbitrary(&mut u) else {
        return;
    };
    let restored = fuzz_restored.build(membership);
    let Ok(node) = Raft::new(config, restored.clone()) else {
        return; // A clear error, not a panic: that is the property.
    };
    let status = node.status();
    let snapshot_index = restored.snapshot.as_ref().map_or(0, |s| s.meta.last_index);
    let stored_last = restored.entries.last().map_or(0, |e| e.index);
    assert_eq!(status.term, restored.hard_state.term);
    assert_eq!(status.vote, restored.hard_state.vote);
    assert_eq!(status.last_index, stored_last.max(snapshot_index));
    assert_eq!(status.applied_index, restored.applied.max(snapshot_index));
    assert_eq!(status.snapshot_index, snapshot_index);
    let batching = bool::arbitrary(&mut u).unwrap_or(false);
    Host::new(node, &restored, batching).run(&mut u);
}

/// One step of a fault schedule for [`cluster`].
#[derive(Arbitrary, Debug)]
enum FaultOp {
    Ticks(u8),
    Propose {
        node: u8,
        command: u16,
    },
    ProposeBatch {
        node: u8,
        commands: Vec<u16>,
    },
    Crash(u8),
    CrashAfter {
        node: u8,
        prefix: u8,
    },
    Restart(u8),
    Disconnect(u8),
    Connect(u8),
    Partition(u8),
    CutLink(u8, u8),
    CutBothWays(u8, u8),
    Heal,
    Pause(u8),
    Resume(u8),
    Network(u8),
    /// A node started empty to join (at most 4 in a run).
    AddNode,
    /// A membership change asked of a node (the leader, or not).
    ChangeMembership {
        node: u8,
        kind: u8,
        target: u8,
    },
    /// Retire a node if it is no longer a member anywhere.
    Retire(u8),
    /// A leadership transfer asked of a node (the leader, or not), to any node.
    Transfer {
        node: u8,
        to: u8,
    },
    /// A client's read at a node (the leader, or not).
    Read(u8),
}

/// The `cluster` target: an arbitrary fault schedule over a simulated cluster with the full
/// invariant checker, then every fault healed and a liveness check.
pub fn cluster(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(nodes), Ok(seed), Ok(batching)) = (
        u.int_in_range(1..=5usize),
        u64::arbitrary(&mut u),
        bool::arbitrary(&mut u),
    ) else {
        return;
    };
    let mut config = SimConfig::new(nodes, seed);
    config.batching = batching;
    // Half of the runs serve reads under leases (the drift bound is kept: hosts catch up
    // the ticks a pause made them miss).
    config.node.lease_reads = seed % 2 == 1;
    // Half of them (crossed with the leases) write entries in the background, each write
    // completing up to 4 ticks late, writes in flight lost at crashes.
    if seed % 4 >= 2 {
        config = config.with_async_persistence(4);
    }
    // And half of them again (crossed) hand committed entries out as ranges.
    config.node.apply_by_range = seed % 8 >= 4;
    let mut sim: Sim<u64> = Sim::new(config);
    let mut next_command: u64 = 1 << 32;
    let mut ops = 0;
    while !u.is_empty() && ops < 500 {
        let Ok(op) = FaultOp::arbitrary(&mut u) else {
            break;
        };
        ops += 1;
        let nodes = sim.ids().count();
        let id = |raw: u8| NodeId::from(raw) % nodes as NodeId + 1;
        match op {
            FaultOp::Ticks(count) => sim.run(u64::from(count)),
            FaultOp::Propose { node, command } => {
                let _ = sim.propose(id(node), u64::from(command));
            }
            FaultOp::ProposeBatch { node, commands } => {
                let commands = commands.into_iter().take(16).map(u64::from).collect();
                let _ = sim.propose_batch(id(node), commands);
            }
            FaultOp::Crash(node) => sim.crash(id(node)),
            FaultOp::CrashAfter { node, prefix } => {
                sim.crash_after_actions(id(node), usize::from(prefix % 8))
            }
            FaultOp::Restart(node) => sim.restart(id(node)),
            FaultOp::Disconnect(node) => sim.disconnect(id(node)),
            FaultOp::Connect(node) => sim.connect(id(node)),
            FaultOp::Partition(mask) => {
                let (left, right): (Vec<NodeId>, Vec<NodeId>) =
                    (1..=nodes as NodeId).partition(|&n| mask & (1 << ((n - 1) % 8)) != 0);
                sim.partition(&[&left, &right]);
            }
            FaultOp::CutLink(a, b) if id(a) != id(b) => sim.cut_link(id(a), id(b)),
            FaultOp::CutBothWays(a, b) if id(a) != id(b) => sim.cut_both_ways(id(a), id(b)),
            FaultOp::CutLink(..) | FaultOp::CutBothWays(..) => {}
            FaultOp::Heal => sim.heal(),
            FaultOp::Pause(node) => sim.pause(id(node)),
            FaultOp::Resume(node) => sim.resume(id(node)),
            FaultOp::Network(level) => sim.set_network(match level % 4 {
                0 => NetworkConfig::reliable(),
                1 => NetworkConfig::unreliable(),
                2 => NetworkConfig::unreliable_long_reordering(),
                _ => Faults::level(3).network,
            }),
            FaultOp::AddNode => {
                if nodes < 9 {
                    sim.add_node();
                }
            }
            FaultOp::ChangeMembership { node, kind, target } => {
                // Changes name only nodes that exist and are not retired: a host never adds a
                // machine it shut down for good.
                let live: Vec<NodeId> = sim.ids().filter(|&n| !sim.is_retired(n)).collect();
                let pick = |raw: u8| live[usize::from(raw) % live.len()];
                let change = match kind % 5 {
                    0 => MembershipChange::AddLearner(pick(target)),
                    1 => MembershipChange::Promote(pick(target)),
                    2 => MembershipChange::Remove(pick(target)),
                    3 => {
                        let chosen = |mask: u8| -> Vec<NodeId> {
                            let mut ids: Vec<NodeId> = live
                                .iter()
                                .enumerate()
                                .filter(|(k, _)| mask & (1 << (k % 8)) != 0)
                                .map(|(_, &n)| n)
                                .collect();
                            ids.dedup();
                            ids
                        };
                        let voters = chosen(target);
                        let learners = chosen(kind / 5)
                            .into_iter()
                            .filter(|n| !voters.contains(n))
                            .collect();
                        MembershipChange::Joint { voters, learners }
                    }
                    _ => MembershipChange::LeaveJoint,
                };
                let _ = sim.change_membership(id(node), change);
            }
            FaultOp::Retire(node) => {
                let _ = sim.retire_if_removed(id(node));
            }
            FaultOp::Transfer { node, to } => {
                let _ = sim.transfer_leadership(id(node), id(to));
            }
            FaultOp::Read(node) => {
                sim.read(id(node));
            }
        }
    }
    // The liveness phase: every fault healed, a commit must follow within a bound.
    sim.heal_all();
    next_command += 1;
    if let Err(failure) = sim.check_liveness(next_command, sim.liveness_bound_ticks()) {
        panic!("{failure}");
    }
}
