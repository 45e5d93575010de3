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
//! [`Raft::step_into`] only appends to the host's buffer and never changes what is already
//! there, so the rule holds for any sequence of events stepped into one buffer: a host may
//! carry out any prefix of it at any time and step more events in before carrying out the
//! rest. To send a burst of proposals as one append per follower, step them as one
//! [`Event::ProposeBatch`].
//!
//! ## Restart
//!
//! Hand [`Raft::new`] exactly what the `Persist` actions wrote, as [`Restored`]: the last
//! [`HardState`], the stored snapshot and the stored entries. It validates them and answers a
//! [`RestoreError`] rather than panicking on inconsistent state.
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
//! ## Peers are untrusted
//!
//! Anything a peer sends, stale, duplicated, reordered, malformed, from an unknown id or with
//! absurd terms or indices, is ignored or answered as the paper says; it never panics and
//! never corrupts state. Three rules come before any rule of the paper:
//!
//! - **Who a node listens to.** A node acts only on messages from the voters of its
//!   configuration other than itself. A message from any other id changes nothing, neither
//!   term nor role, log nor commit index: a `RequestVote` from it is refused with the node's
//!   term, anything else is dropped. (Membership changes will widen "its configuration" to the
//!   configurations its log holds, and let a node started empty to join follow the leader
//!   that adds it.)
//! - **Terms move by bounded steps.** A message whose term is above [`TERM_MAX`], or more than
//!   [`TERM_JUMP_MAX`] above the receiver's term, is dropped, so no single message, nor any
//!   short run of them, can push a cluster to the last term and leave it unable to elect.
//! - **Memory stays bounded.** Entries and bytes per append, appends in flight, uncommitted
//!   entries, snapshot chunks in flight and the snapshot a follower buffers
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
//! ## Testing
//!
//! Feature `sim` adds `sim`, a deterministic cluster simulator with an invariant checker,
//! used by the crate's tests, the `simulate` example and the fuzz targets. Feature `arbitrary`
//! derives `arbitrary::Arbitrary` for every public input type; feature `fuzzing` adds
//! `fuzzing`, the bodies of the cargo-fuzz targets in `fuzz/`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod action;
mod config;
mod entries;
mod event;
mod log;
mod membership;
mod message;
mod node;
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

pub use action::{Action, Persist, ProposeError, SnapshotError};
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
    Command, Entry, HardState, LogIndex, NodeId, Payload, Role, Snapshot, SnapshotMeta, Status,
    Term, TERM_JUMP_MAX, TERM_MAX,
};
