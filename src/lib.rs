//! # pureraft
//!
//! Raft consensus (Ongaro & Ousterhout 2014; Ongaro's 2014 dissertation) as a pure,
//! deterministic, sans-IO state machine. The crate holds no thread, clock, socket, file or
//! global randomness: time arrives as [`Event::Tick`], messages as [`Event::Receive`], client
//! commands as [`Event::Propose`], and everything the node wants done comes back as
//! [`Action`]s for the host to carry out. Same configuration, same restored state, same events:
//! same actions, bit for bit.
//!
//! ## The driving loop
//!
//! ```
//! use pureraft::{Action, Config, Event, Persist, Raft, Restored};
//!
//! let config = Config::new(1);
//! // A new one-node cluster, for the example; a node joining a running cluster starts from
//! // `Restored::default()` instead.
//! let mut node: Raft<Vec<u8>> = Raft::new(config, Restored::bootstrap([1])).unwrap();
//! let mut actions = Vec::new();
//! let mut applied = Vec::new();
//! for _ in 0..30 {
//!     node.step_into(Event::Tick, &mut actions); // one tick per 10 ms, say
//! }
//! node.step_into(Event::Propose(b"x=1".to_vec()), &mut actions);
//! for action in actions.drain(..) {
//!     // Strictly in order; each Persist durable before the next action.
//!     match action {
//!         Action::Persist(Persist::HardState(_hard_state)) => { /* write + fsync */ }
//!         Action::Persist(Persist::Entries(_entries)) => { /* truncate, append + fsync */ }
//!         Action::Send { to: _, message: _ } => { /* hand to the network */ }
//!         Action::Apply(entries) => applied.extend(entries),
//!         Action::ProposalAccepted { index: _, term: _ } => { /* remember for the client */ }
//!         Action::ProposalRejected(_reason) => { /* tell the client */ }
//!         _ => {}
//!     }
//! }
//! assert_eq!(applied.len(), 2); // the leader's no-op, then the command
//! ```
//!
//! Log entries travel in `Persist::Entries`, `Apply` and `Message::AppendEntries` as
//! [`Entries`]: read it as a slice, iterate it, or turn it into a `Vec`. It holds a single
//! entry without a heap allocation, so a leader that replicates each proposal as it arrives
//! allocates for nothing but the command.
//!
//! ## The ordering rule (the only rule a host must obey)
//!
//! Carry out the actions of one step in the order returned. A [`Action::Persist`] is durable
//! (written and synced) before any later action of the same batch is carried out. This is what
//! makes a vote or an append acknowledgement safe: it is never sent before it is on disk
//! (Raft §5.1 and Figure 2; thesis §3.8).
//!
//! ### With asynchronous persistence
//!
//! With [`Config::async_persistence`] the rule changes for entry writes only:
//!
//! 1. Carry out the actions in order, as before. A `Persist::Entries` is *started* in that
//!    order (delete from its first index, append) and may complete later; writes complete
//!    in the order they started, so the disk always holds the result of a prefix of them.
//! 2. Every other write keeps the synchronous rule: `Persist::HardState` is durable before
//!    any later action; `Persist::Snapshot` and `Action::InstallSnapshot` first wait for
//!    every entry write started before them, and are durable before any later action.
//! 3. When entry writes complete, step [`Event::Persisted`] `{ index, term }`: `index` is
//!    the last index of the last write completed, `term` the term of the last
//!    `Persist::HardState` carried out before that write started (or of the restored hard
//!    state). One report may cover several writes; a late or repeated one is harmless.
//!    Never report a write that has not completed, nor one started before an
//!    `InstallSnapshot`: the node acknowledges what is reported, and a crash must not lose
//!    it.
//!
//! The node then counts its own log in the commit quorum, acknowledges appends to its
//! leader, and hands entries to `Apply` only up to what was reported. Its sends may carry
//! entries not yet durable here: a follower's acknowledgement, not the leader's own write,
//! is what commits, so a leader's write runs beside the round trip to its followers (thesis
//! §10.2.1).
//!
//! ```
//! use pureraft::{Action, Config, Event, Persist, Raft, Restored};
//!
//! let mut config = Config::new(1);
//! config.async_persistence = true;
//! let mut node: Raft<Vec<u8>> = Raft::new(config, Restored::bootstrap([1])).unwrap();
//! let mut actions = Vec::new();
//! let mut hard_term = 0; // the term of the last hard state written (the restored one: 0)
//! let mut writing = Vec::new(); // entry writes started and not complete, in order
//! let mut applied = Vec::new();
//! for _ in 0..30 {
//!     node.step_into(Event::Tick, &mut actions);
//! }
//! node.step_into(Event::Propose(b"x=1".to_vec()), &mut actions);
//! loop {
//!     for action in actions.drain(..) {
//!         match action {
//!             Action::Persist(Persist::HardState(hard_state)) => {
//!                 hard_term = hard_state.term; // write + fsync, before the next action
//!             }
//!             Action::Persist(Persist::Entries(entries)) => {
//!                 // Start the write (truncate, append) and go on: no fsync here.
//!                 writing.push((entries.last().unwrap().index, hard_term));
//!             }
//!             Action::Send { .. } => { /* at once: before the leader's own write completes */ }
//!             Action::Apply(entries) => applied.extend(entries),
//!             _ => {}
//!         }
//!     }
//!     // The disk completes the writes (here all of them, with one fsync); report the last.
//!     let Some((index, term)) = writing.drain(..).last() else { break };
//!     node.step_into(Event::Persisted { index, term }, &mut actions);
//! }
//! assert_eq!(applied.len(), 2); // the no-op and the command, each once reported durable
//! ```
//!
//! [`Raft::step_into`] only appends to the host's buffer and never changes what is already
//! there, so the rule holds for any sequence of events stepped into one buffer: a host may
//! carry out any prefix of it at any time and step more events in before carrying out the
//! rest. To send a burst of proposals as one append per follower, step them as one
//! [`Event::ProposeBatch`].
//!
//! ## Restart
//!
//! Hand [`Raft::new`] exactly what the `Persist` actions wrote, as [`Restored`]: the last
//! [`HardState`], the stored snapshot and the stored entries, and the voters the cluster was
//! bootstrapped with ([`Restored::membership`]; see "Membership changes"). It validates them
//! and answers a [`RestoreError`] rather than panicking on inconsistent state.
//!
//! ## Snapshots and compaction
//!
//! The host decides when its state machine snapshots itself and reports it with
//! [`Event::SnapshotTaken`]; the node answers [`Persist::Snapshot`] with the snapshot's
//! [`SnapshotMeta`] and drops its log before the snapshot, but for
//! [`Config::snapshot_trailing_entries`]. A follower that needs compacted entries is sent the
//! snapshot in chunks ([`Message::InstallSnapshot`]) and hands it to its host as
//! [`Action::InstallSnapshot`]. The node keeps the latest snapshot's bytes in memory so that it
//! can send them as a leader.
//!
//! ## Zero-copy apply
//!
//! By default committed entries reach the host cloned into [`Action::Apply`] (with a
//! reference-counted command, a count increment each). With [`Config::apply_by_range`] they
//! come as [`Action::ApplyRange`] `{ first, last }` instead, and the host reads them in place
//! with [`Raft::committed_entries`]: a slice of the node's log. Read the range before
//! stepping the node again (a later step may drop those entries: an installed snapshot
//! replaces the log). A host that keeps actions waiting across steps reads its ranges out
//! right after each step, or leaves the option off.
//!
//! ## Membership changes
//!
//! Who is in the cluster is state, not configuration (thesis chapter 4): [`Config::new`] takes
//! only the node's id. A founding node of a new cluster starts from
//! [`Restored::bootstrap`]`(voters)`, every founding node with the same voters; the host stores
//! those voters once, at that first start, and hands them back as [`Restored::membership`] at
//! every restart. A node started to join a running cluster starts from `Restored::default()`:
//! it knows no configuration, and follows the leader that adds it.
//!
//! A configuration is an entry of the log (a [`Payload::Protocol`] entry whose
//! [`ProtocolEntry::as_membership`] is `Some`), replicated, persisted (`Persist::Entries`)
//! and applied (`Apply`, once committed) like a command; a host has
//! nothing to apply for it, but may watch it. It is in force on a node from the moment its
//! entry is in the node's log, committed or not, on the leader that appends it and on every
//! node that stores it (thesis §4.1): a node always uses the latest configuration its log
//! holds, so that no two disjoint majorities can decide. If a new leader's append truncates a
//! configuration entry, the configuration before it is in force again.
//! [`Raft::membership`] is the configuration in force, [`Raft::membership_index`] the index of
//! its entry (0 for the bootstrap voters).
//!
//! The host asks the leader for a change with [`Event::ChangeMembership`]`{ change,
//! membership_index }`, naming the configuration it read from the leader
//! (`Raft::membership_index`): a compare-and-set, so that a retried or stale change can never
//! undo a later one. The same step answers `Action::ProposalAccepted { index, term }` (the
//! configuration entry's place; it is committed once an `Apply` hands out `index` with
//! `term`) or `Action::ProposalRejected` with the reason, checked in this order:
//! `ProposeError::NotLeader` (with the known leader as a hint); then
//! `ProposeError::Membership` with `MembershipError::Stale { expected, current }` (another
//! configuration is in force: read it again), `Pending { index }` (the configuration at
//! `index` is not committed yet: one change at a time), `NoCommitInTerm` (the leader has not
//! committed an entry of its own term yet, Ongaro's 2015 fix of the single-server bug: retry
//! shortly); `ProposeError::TooManyUncommitted`; last, a [`MembershipError`] that says why
//! the change cannot be made from this configuration at all: `AlreadyMember`, `NotALearner`,
//! `NotAMember`, `RemovesLastVoter`, `Joint` (the configuration is joint: leave it first),
//! `NotJoint`, or, for a joint change, `NoVoters`, `Duplicate` and `LearnerVotes`.
//!
//! - **Single-server changes** ([`MembershipChange`]): `AddLearner(id)`, `Promote(id)` and
//!   `Remove(id)` change the voters by at most one, so every majority of the configuration
//!   before overlaps every majority of the one after (thesis §4.1).
//! - **Joint consensus** (thesis §4.3): `Joint { voters, learners }` replaces the voters and
//!   learners at once. Its entry puts the cluster in `C_old,new`: the old voters become
//!   [`Membership::outgoing`], and every election and every commit needs a majority of
//!   `voters` and a majority of `outgoing`. Once the joint entry is committed the leader
//!   appends `C_new` itself ([`Config::auto_leave_joint`], the default); with that off, the
//!   host proposes `LeaveJoint` when it chooses. A joint change starts only from a
//!   configuration that is not joint. A voter cannot become a learner in one joint change: it
//!   is still an outgoing voter there, and a learner that votes is refused (`LearnerVotes`).
//!   Remove it, then add it again as a learner.
//! - **Learners** (thesis §4.2.1) receive entries and snapshots, but never vote, never
//!   campaign and count in no quorum. A new server is started empty, added with
//!   `AddLearner(id)`, and promoted with `Promote(id)` once it has caught up: on the leader,
//!   [`Raft::lag`]`(id)` is how many entries of the leader's log it is not known to hold, and
//!   [`Raft::match_indices`] lists the match index of every member the leader replicates to,
//!   learners included.
//! - **Removed servers.** A leader that removes itself leads until the configuration without
//!   it is committed, without counting itself, then tells every member the commit and steps
//!   down (thesis §4.2.2). A node that is not a voter of its configuration in force does not
//!   campaign, with one exception: while its removal may not be committed yet (it is a voter
//!   of the configuration in force at its commit index, or of one appended since), it may
//!   campaign to finish the removal, as a leader that lost its term before its removal
//!   committed must, but it lets one election timeout pass before each campaign so that the
//!   voters of its configuration in force go first. Once it knows its removal committed, it
//!   never campaigns again (thesis §4.2.3). Since configurations take effect when appended, a
//!   node with committed but unapplied configuration entries, after a restart say, never
//!   campaigns in an older configuration (etcd-io/etcd #7280); no check of what was applied
//!   is needed.
//! - **Snapshots** carry the configuration in force at their index and the index of its entry
//!   ([`SnapshotMeta`]'s `membership` and `membership_index`); [`Raft::new`] validates them
//!   (`RestoreError::InvalidMembership`, `RestoreError::SnapshotMembershipAfterIndex`). A node
//!   that joined empty does not know the configuration before the first configuration entry
//!   it holds (the bootstrap voters are in no log): a snapshot the host reports at an index
//!   before that entry is refused with [`SnapshotError::MembershipUnknown`]`{ index,
//!   first_known }`; snapshot again at or after `first_known`.
//!
//! Elections among changing configurations leave candidates about that cannot win (one
//! behind, or one whose removal is not known committed). A node that refuses its vote to a
//! candidate whose log is more up to date than its own (it voted already) keeps its vote from
//! worse ones: until its election timer next fires or it hears from a leader, it refuses every
//! candidate whose log is behind the best one it refused, and at that timeout it does not
//! campaign itself. So such candidates cannot take, term after term, the votes the better
//! candidate needs.
//!
//! ## Elections that survive real networks: PreVote, CheckQuorum, leadership transfer
//!
//! Both are on by default ([`Config::pre_vote`], [`Config::check_quorum`]).
//!
//! - **PreVote** (thesis §9.6). A node whose election timer fires first becomes a
//!   [`Role::PreCandidate`]: it forgets its leader and sends [`Message::PreVote`] with its
//!   current term `t` to the voters, changing neither its term nor its vote and persisting
//!   nothing. A voter would vote for it in `t + 1` only if its log is at least as up to date
//!   and the voter has not heard from a leader within `election_ticks` (a leader hears from
//!   itself); a pre-vote changes nothing on the voter either. A majority of grants (of both
//!   configurations while joint) starts the real campaign at once; a majority of refusals
//!   makes it a follower again; a refusal carrying a higher term makes it a follower of that
//!   term. A pre-vote for a term below the voter's is refused explicitly with the voter's term
//!   rather than dropped as stale, so the asker learns it (etcd-io/etcd #8501). So a node cut
//!   off from the cluster, or from its leader only, does not raise its term at every timeout,
//!   and does not depose a healthy leader when it comes back.
//! - **CheckQuorum and leader stickiness** (thesis §6.2). Every `election_ticks` ticks a
//!   leader checks that a majority of the voters in force (of both while joint, itself counted
//!   if it votes) answered it since the last check, and steps down in its term if not: a leader
//!   cut off in a minority, or that can send but not receive, goes away and the majority
//!   elects. A node that leads, or has heard from its leader within `election_ticks`, ignores
//!   a `RequestVote` of a higher term, term and all: a node that cannot hear the leader cannot
//!   depose it while the others can.
//!
//! **Leadership transfer** (thesis §3.10): [`Event::TransferLeadership`] asks the leader to
//! hand over to a voter; it answers [`Action::TransferStarted`] or
//! [`Action::TransferRejected`], refuses proposals while the transfer is under way
//! ([`ProposeError::TransferInProgress`]), brings the target up to date and sends it
//! [`Message::TimeoutNow`], on which the target campaigns at once, without PreVote, with vote
//! requests that leader stickiness lets through. A transfer still under way after an election
//! timeout ends with [`Action::TransferAborted`].
//!
//! The ordering rule is unchanged: a pre-vote persists nothing, and the real campaign persists
//! its term and vote before its requests leave, as without PreVote. With both off a node
//! behaves as in Figure 2. `tests/elections.rs` has one test per rule, and the partial
//! partitions of `sim::scenarios` (a deaf leader, a follower cut from the leader only, a
//! bridge node, a paused leader, a node back from a long partition) with and without them.
//!
//! ## Linearizable reads: ReadIndex
//!
//! [`Event::Read`] asks for a linearizable read (thesis §6.4) with the host's `context`, and
//! is answered exactly once, in that step or a later one: [`Action::ReadReady`] with a read
//! index, after which the host serves the read from its state machine as soon as it has
//! applied up to that index; or [`Action::ReadFailed`] with a [`ReadError`], after which the
//! host retries (no leader known, leadership lost, a transfer under way, or no confirmation
//! within two election timeouts). A leader serves reads only once an entry of its own term is
//! committed; it then gives the reads without a round the commit index as their read index and
//! sends `Message::LeaderCheck` to its voters; a majority of answers (both majorities while
//! joint) confirms that no other leader was elected meanwhile, and answers every read of that
//! round: one round serves every read that arrived before it started, and a read that arrives
//! during a round waits for the next. A lost check is sent again at the next heartbeat. A
//! follower forwards its reads to its leader (`Message::ReadIndex`) and answers with the read
//! index the leader returns.
//!
//! ## Lease reads
//!
//! With [`Config::lease_reads`] (thesis §6.4.1; it requires `check_quorum`), a confirmed round
//! also gives the leader a lease of [`Config::lease_ticks`] of its ticks from the round's
//! start, `election_ticks - 1 - lease_drift_ticks`: every voter that confirmed the round
//! refuses other candidates for `election_ticks` of its own ticks after it received it, so no
//! other leader can exist until then, and a read in the lease is answered at once, in the
//! step that asked it, with no message. While reads use the lease, each heartbeat starts a
//! round that renews it; an idle leader sends nothing and its lease lapses. The lease holds
//! only in the configuration it was confirmed in, once committed, and a leader that starts a
//! transfer holds none for the rest of its term. A node with lease reads also refuses votes for
//! its first `election_ticks` ticks after it starts, and for `election_ticks` after it last
//! heard from a leader even if a higher term reached it since.
//!
//! A lease rests on time, so the host owes the bound of [`Config::lease_drift_ticks`]: over
//! any span in which a voter's host delivers `election_ticks` ticks, the leader's host delivers
//! at least `election_ticks - 1 - lease_drift_ticks` (2 ticks of slack by default, of 10).
//! Above all, before it steps each [`Event::Read`], a host delivers every tick whose time has
//! come by a monotonic clock: after its process was paused (stopped, a long collection, a
//! suspended machine) a read may reach it before its timer catches up, and a leader whose
//! clock stood still would serve it under a lease that ended while it slept. The simulator's
//! hosts give a resumed node its missed ticks before anything else
//! (`SimConfig::resume_catches_up`); `tests/leases.rs` shows the checker catching a stale read
//! when they do not.
//!
//! ## Peers are untrusted
//!
//! Anything a peer sends, stale, duplicated, reordered, malformed, from an unknown id or with
//! absurd terms or indices, is ignored or answered as the paper says; it never panics and
//! never corrupts state. Three rules come before any rule of the paper:
//!
//! - **Who a node listens to.** A `RequestVote` or `PreVote` is acted on only if it comes from a voter of
//!   the configuration in force, or, while the node has no leader, from a candidate whose log
//!   is more up to date than its own. Any other message is acted on if it comes from the
//!   leader the node follows, from a member of any configuration its log holds, or, while the
//!   node has no leader (a node started empty to join, a candidate, a follower that has not
//!   heard from a leader in its term or for an election timeout), from anyone. So a node that
//!   leads, or follows a leader, never acts on a message from an id outside every
//!   configuration it knows. A message it does not act on changes nothing, neither term nor
//!   role, log nor commit index: a `RequestVote` is refused with the node's term, anything
//!   else is dropped. The literal rule, never to act on an id outside every configuration
//!   known, would cost liveness: a node that missed the configurations that added the current
//!   leader, or a node started empty, which knows no configuration, could never follow that
//!   leader nor catch up. A leader unknown to a leaderless node may hold configurations the
//!   node has not received yet. A removed server that missed its removal cannot disrupt the
//!   others: its log lacks the removal entry, so it is behind the nodes that hold it, and
//!   its vote requests are refused without a change of term (thesis §4.2.3).
//! - **Terms move by bounded steps.** A message whose term is above [`TERM_MAX`], or more than
//!   [`TERM_JUMP_MAX`] above the receiver's term, is dropped, so no single message, nor any
//!   short run of them, can push a cluster to the last term and leave it unable to elect.
//! - **Memory stays bounded.** Entries and bytes per append, appends in flight, uncommitted
//!   entries, reads held ([`Config::max_pending_reads`]), snapshot chunks in flight and the
//!   snapshot a follower buffers
//!   ([`Config::max_snapshot_bytes`], checked against the size each chunk declares) all have
//!   bounds.
//!
//! ## Followers that do not answer
//!
//! A leader sends a follower entries or snapshot bytes when they are new to it (at most
//! `max_inflight_appends` appends or `max_inflight_snapshot_chunks` chunks unanswered), and
//! sends them again only when one of the follower's answers shows it lacks them: a rejection of an
//! append, an answer to a snapshot chunk that came after bytes it does not hold. Nothing is
//! sent again on a timer. Every heartbeat interval each follower gets one small message whose
//! size does not depend on the entries' or the snapshot's: a heartbeat; or, to a follower whose
//! appends made no progress, an empty append from the last index sent; or, to a follower being
//! probed, the probe again without its entries; or, during a transfer, a snapshot chunk without
//! data at the end of what was sent. Each asks the follower where it is, so its answer (the
//! first one after it comes back, say) starts its catch-up at once. A follower that has not
//! answered in the last two heartbeat intervals is never sent a snapshot: the answer to its
//! probe starts the transfer. So a follower that is down costs its leader one message of a few
//! dozen bytes per heartbeat, however large the log or the snapshot, and one that is alive but
//! slow is never sent the same bytes twice within a round trip of its answers.
//!
//! ## no_std
//!
//! With `default-features = false` the crate is `#![no_std]`: it needs `core` and `alloc`
//! only, so it runs on bare-metal targets with a global allocator (CI builds it for
//! `thumbv7em-none-eabihf`). It shares snapshots through `alloc::sync::Arc`, so the target
//! needs pointer-sized atomics. Feature `serde` works without `std`; the simulator (`sim`),
//! `arbitrary` and `fuzzing` need `std` and turn it on.
//!
//! ## Testing
//!
//! Feature `sim` adds `sim`, a deterministic cluster simulator with an invariant checker,
//! used by the crate's tests, the `simulate` example and the fuzz targets. Feature `arbitrary`
//! derives `arbitrary::Arbitrary` for every public input type; feature `fuzzing` adds
//! `fuzzing`, the bodies of the cargo-fuzz targets in `fuzz/`.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod action;
mod config;
mod entries;
mod event;
mod log;
mod membership;
mod message;
mod node;
mod prelude;
mod quorum;
mod restore;
mod rng;
mod tracker;
mod types;
mod validate;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use action::{Action, Persist, ProposeError, ReadError, SnapshotError, TransferError};
pub use config::{Config, ConfigError, ELECTION_TICKS_MAX};
pub use entries::{Entries, IntoIter as EntriesIntoIter};
pub use event::Event;
pub use membership::{Membership, MembershipChange, MembershipError};
pub use message::{
    AppendOutcome, Message, SnapshotChunk, SnapshotOutcome, ENTRY_HEADER_BYTES,
    MESSAGE_HEADER_BYTES,
};
pub use node::Raft;
pub use restore::{InitError, RestoreError, Restored};
pub use types::{
    Command, Entry, HardState, LogIndex, NodeId, Payload, ProtocolEntry, Role, Snapshot,
    SnapshotMeta, Status, Term, TERM_JUMP_MAX, TERM_MAX,
};
