//! What a node tracks of the others: as a leader, each follower's progress (its match, its
//! window of appends in flight, its snapshot transfer); as a candidate, the votes it got.

mod progress;
mod votes;

pub(crate) use progress::{Progress, ProgressState};
pub(crate) use votes::Votes;
