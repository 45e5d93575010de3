//! A candidate's tally: who granted its vote this term and who refused, each counted once
//! (a duplicated answer is the same vote: akka-raft #45).

use smallvec::SmallVec;

use crate::types::NodeId;

/// The votes a candidate got in its term.
#[derive(Clone, Debug, Default)]
pub(crate) struct Votes {
    pub(crate) granted: SmallVec<[NodeId; 8]>,
    pub(crate) rejected: SmallVec<[NodeId; 8]>,
}

impl Votes {
    /// Forgets every vote.
    pub(crate) fn clear(&mut self) {
        self.granted.clear();
        self.rejected.clear();
    }

    /// Records `voter`'s answer. Returns false if it had answered already (its first answer
    /// stands).
    pub(crate) fn record(&mut self, voter: NodeId, granted: bool) -> bool {
        if self.granted.contains(&voter) || self.rejected.contains(&voter) {
            return false;
        }
        if granted {
            self.granted.push(voter);
        } else {
            self.rejected.push(voter);
        }
        true
    }
}
