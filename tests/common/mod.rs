//! Helpers shared by the MIT 6.5840 lab ports (`tests/lab_*.rs`): the seeds every scenario
//! runs over, the lab's cluster set-up and the lab's server arithmetic.

// Each test crate includes this module and uses a different subset of it.
#![allow(dead_code)]

use std::fmt::Debug;
use std::hash::Hash;

use pureraft::sim::{Sim, SimConfig};
use pureraft::{Command, NodeId};

/// The seeds every lab scenario runs over: `0..n` with `n` from the environment variable
/// `PURERAFT_LAB_SEEDS` (default 3; soak runs set it higher).
pub fn seeds() -> std::ops::Range<u64> {
    let count = match std::env::var("PURERAFT_LAB_SEEDS") {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PURERAFT_LAB_SEEDS={value:?} is not a number")),
        Err(_) => 3,
    };
    0..count
}

/// The lab's `make_config(t, servers, false, false)`: `servers` nodes (ids `1..=servers`) with
/// the lab's timing in ticks of 10 ms (election timeouts in [30, 60) ticks, a heartbeat every
/// 10 ticks) on a reliable network.
pub fn cluster<C: Command + Debug + Eq + Hash>(servers: usize, seed: u64) -> Sim<C> {
    Sim::new(SimConfig::new(servers, seed))
}

/// The lab's `(server + offset) % servers` for 1-based node ids: the node `offset` places
/// after `id`, wrapping around.
pub fn lab_peer(id: NodeId, offset: u64, servers: usize) -> NodeId {
    (id - 1 + offset) % servers as u64 + 1
}
