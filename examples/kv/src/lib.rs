//! A replicated key-value service on pureraft, as a model host: one OS process per node,
//! TCP between peers and to clients, a checksummed write-ahead log with fsync, snapshots, and
//! a linearizability checker for the histories its tests record.
//!
//! - [`node`]: the host loop, the model to copy: ticks by a monotonic clock, batched
//!   proposals, the ordering rule with one fsync per run of records, answers to clients.
//! - [`wal`]: the write-ahead log and snapshot files.
//! - [`transport`]: TCP to peers (reconnects with backoff, drops what it cannot deliver) and
//!   from clients.
//! - [`api`], [`state`], [`client`]: the wire types, the state machine, a client.
//! - [`lincheck`]: the Wing-Gong/Lowe linearizability checker; [`bench`](mod@bench): load for figures.

pub mod api;
pub mod bench;
pub mod client;
pub mod lincheck;
pub mod node;
pub mod state;
pub mod transport;
pub mod wal;
