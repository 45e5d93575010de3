//! One follower's progress as its leader sees it: probe, replicate or snapshot, its window of
//! appends in flight and its snapshot transfer.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use crate::types::{LogIndex, NodeId, Snapshot};

/// How the leader replicates to one follower (after etcd's progress states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgressState {
    /// Where the follower's log matches is unknown: one append at a time, each waiting for its
    /// answer. If it gets none, each heartbeat sends the probe again without its entries; the
    /// entries go with the answer.
    Probe {
        /// An append was sent and is not answered yet.
        waiting: bool,
    },
    /// The follower matched: appends are pipelined, up to the inflight bound.
    Replicate,
    /// The follower needs entries the leader compacted away: a snapshot is being sent in
    /// chunks (`Progress::transfer`), and no appends.
    Snapshot,
}

/// A snapshot being sent to one follower, in chunks of at most `Config::snapshot_chunk_bytes`.
/// The bytes `[acked, sent)` are in flight.
#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    /// The snapshot being sent; kept even if the leader takes a newer one meanwhile, so a
    /// transfer is never restarted by the leader's own compaction.
    pub(crate) snapshot: Arc<Snapshot>,
    /// The follower holds the first `acked` bytes.
    pub(crate) acked: u64,
    /// Bytes sent so far, from offset 0.
    pub(crate) sent: u64,
    /// The chunk ending at `sent` was the last one.
    pub(crate) final_sent: bool,
    /// `acked` at the previous heartbeat, to notice a transfer that stopped moving.
    pub(crate) acked_at_heartbeat: u64,
    /// Heartbeat intervals in a row without progress.
    pub(crate) stalled_heartbeats: u32,
    /// `sent` when chunks were last sent again on an answer that showed a gap: answers to the
    /// chunks sent before show the same gap, so they resend nothing until `acked` passes it
    /// (one resend per window, as TCP's NewReno) or a probe went out since.
    pub(crate) recover: u64,
    /// A probe (a chunk without data, at `sent`) went out since the last resend: a heartbeat
    /// interval passed without progress, and a gap shown now is fresh evidence.
    pub(crate) probed_since_resend: bool,
}

impl Transfer {
    /// The snapshot's last index.
    pub(crate) fn index(&self) -> LogIndex {
        self.snapshot.meta.last_index
    }

    /// The follower lacks the bytes from `offset` on: send them again from there.
    pub(crate) fn restart_from(&mut self, offset: u64) {
        self.acked = offset;
        self.sent = offset;
        self.final_sent = false;
    }
}

/// The leader's view of one follower. Invariant: `match_index < next_index`.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) id: NodeId,
    /// The highest index known to be replicated on the follower (Figure 2 matchIndex); never
    /// decreases within a term.
    pub(crate) match_index: LogIndex,
    /// The next index to send (Figure 2 nextIndex).
    pub(crate) next_index: LogIndex,
    pub(crate) state: ProgressState,
    /// The last index of each append in flight, oldest first; at most `inflight_max`. The
    /// appends form a chain: each one's `prev_log_index` is the previous one's last index, and
    /// the oldest one's is `inflight_base`.
    inflight: VecDeque<LogIndex>,
    /// The `prev_log_index` of the oldest append in flight (Replicate only).
    inflight_base: LogIndex,
    inflight_max: usize,
    /// The highest commit index sent to the follower this term.
    pub(crate) commit_sent: LogIndex,
    /// The last index sent at the previous heartbeat: if the follower has not acknowledged it
    /// a whole heartbeat interval later, its pipeline may have lost an append.
    pub(crate) sent_at_heartbeat: LogIndex,
    /// The snapshot being sent (Snapshot state only).
    pub(crate) transfer: Option<Transfer>,
    /// The follower installed our snapshot and catches up by entries from its index: the
    /// leader does not compact past its match meanwhile. Cleared when it is within the
    /// trailing entries, or when it has not answered for `SNAPSHOT_STALL_LIMIT` heartbeat
    /// intervals in a row (a lost append that sends it back to probing does not clear it).
    pub(crate) catching_up: bool,
    /// The follower answered since the last heartbeat.
    pub(crate) heard: bool,
    /// Heartbeat intervals in a row in which the follower did not answer.
    pub(crate) silent_heartbeats: u32,
    /// The follower answered since the leader's last quorum check (`Config::check_quorum`).
    pub(crate) active: bool,
}

impl Progress {
    pub(crate) fn new(id: NodeId, next_index: LogIndex, inflight_max: usize) -> Self {
        Progress {
            id,
            match_index: 0,
            next_index,
            state: ProgressState::Probe { waiting: false },
            // Grows with use: a leader of a quiet cluster never pays for the whole window.
            inflight: VecDeque::new(),
            inflight_base: 0,
            inflight_max,
            commit_sent: 0,
            sent_at_heartbeat: 0,
            transfer: None,
            catching_up: false,
            heard: false,
            silent_heartbeats: 0,
            active: false,
        }
    }

    /// True if the follower answered in this heartbeat interval or the one before.
    pub(crate) fn heard_recently(&self) -> bool {
        self.heard || self.silent_heartbeats == 0
    }

    /// True if no append may be sent now.
    pub(crate) fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe { waiting } => waiting,
            ProgressState::Replicate => self.inflight.len() >= self.inflight_max,
            ProgressState::Snapshot => true,
        }
    }

    pub(crate) fn has_inflight(&self) -> bool {
        !self.inflight.is_empty()
    }

    /// Records an append whose last entry is `last_index` (equal to `next_index - 1` for an
    /// empty probe).
    pub(crate) fn sent(&mut self, last_index: LogIndex) {
        match self.state {
            ProgressState::Probe { .. } => {
                self.state = ProgressState::Probe { waiting: true };
            }
            ProgressState::Replicate => {
                debug_assert!(self.inflight.len() < self.inflight_max);
                self.inflight.push_back(last_index);
                self.next_index = last_index + 1;
            }
            ProgressState::Snapshot => debug_assert!(false, "no appends while snapshotting"),
        }
    }

    /// The follower holds everything up to `match_index`. Returns true if that was news.
    pub(crate) fn accepted(&mut self, match_index: LogIndex) -> bool {
        while let Some(&last) = self.inflight.front() {
            if last > match_index {
                break;
            }
            self.inflight.pop_front();
            self.inflight_base = last;
        }
        let advanced = match_index > self.match_index;
        if advanced {
            self.match_index = match_index;
        }
        match self.state {
            ProgressState::Probe { .. } => {
                // Matched: pipeline from the first index the follower is not known to hold.
                self.state = ProgressState::Replicate;
                self.inflight.clear();
                self.next_index = self.match_index + 1;
                self.inflight_base = self.match_index;
            }
            ProgressState::Replicate | ProgressState::Snapshot => {
                self.next_index = self.next_index.max(self.match_index + 1);
            }
        }
        advanced
    }

    /// Starts sending `snapshot`: no appends until the transfer ends.
    pub(crate) fn become_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        debug_assert!(snapshot.meta.last_index > self.match_index);
        self.state = ProgressState::Snapshot;
        self.inflight.clear();
        self.catching_up = false;
        self.next_index = snapshot.meta.last_index + 1;
        self.transfer = Some(Transfer {
            snapshot,
            acked: 0,
            sent: 0,
            final_sent: false,
            acked_at_heartbeat: 0,
            stalled_heartbeats: 0,
            recover: 0,
            probed_since_resend: false,
        });
    }

    /// True if a rejection of `rejected_index` answers an append still outstanding: the probe
    /// sent from `next_index`, or one of the pipelined appends. Anything else is a stale answer
    /// (reordered or duplicated) and must not move `next_index` (tikv/raft-rs #555).
    pub(crate) fn is_outstanding_prev(&self, rejected_index: LogIndex) -> bool {
        if rejected_index <= self.match_index {
            return false;
        }
        match self.state {
            ProgressState::Probe { waiting } => {
                waiting && rejected_index.checked_add(1) == Some(self.next_index)
            }
            ProgressState::Snapshot => false,
            ProgressState::Replicate => {
                if self.inflight.is_empty() {
                    return false;
                }
                // The prevs of the appends in flight: the base, then every last; the newest
                // last is the prev of the leader's tail probe.
                rejected_index == self.inflight_base
                    || self.inflight.binary_search(&rejected_index).is_ok()
            }
        }
    }

    /// Falls back to probing from `next_index`, dropping the pipeline.
    pub(crate) fn become_probe(&mut self, next_index: LogIndex) {
        debug_assert!(next_index > self.match_index);
        self.state = ProgressState::Probe { waiting: false };
        self.inflight.clear();
        self.transfer = None;
        self.next_index = next_index;
    }

    /// A heartbeat interval passed: a follower silent for `silent_limit` intervals in a row
    /// no longer holds compaction back. (An unanswered probe stays unanswered: only an answer
    /// lets entries go again.)
    pub(crate) fn heartbeat_elapsed(&mut self, silent_limit: u32) {
        self.sent_at_heartbeat = self.next_index - 1;
        if self.heard {
            self.silent_heartbeats = 0;
        } else {
            self.silent_heartbeats = self.silent_heartbeats.saturating_add(1);
            if self.silent_heartbeats > silent_limit {
                self.catching_up = false;
            }
        }
        self.heard = false;
    }

    #[cfg(debug_assertions)]
    pub(crate) fn check(&self, last_index: LogIndex) {
        debug_assert!(
            self.match_index < self.next_index,
            "match must stay below next"
        );
        debug_assert!(
            self.match_index <= last_index,
            "match beyond the leader's log"
        );
        debug_assert!(
            self.next_index <= last_index + 1,
            "next beyond the leader's log"
        );
        debug_assert!(self.inflight.len() <= self.inflight_max);
        debug_assert_eq!(
            self.state == ProgressState::Snapshot,
            self.transfer.is_some(),
            "a transfer exactly in Snapshot state"
        );
    }
}
