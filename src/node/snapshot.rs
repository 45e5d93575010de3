//! Snapshots (Raft §7, Figure 13): the host's snapshot and compaction, the leader's chunked
//! transfers, and the follower's receiving end.

use crate::prelude::*;
use alloc::sync::Arc;

use crate::action::{Action, Persist, SnapshotError};
use crate::message::{Message, SnapshotChunk, SnapshotOutcome};
use crate::types::{Command, LogIndex, NodeId, Snapshot, SnapshotMeta, Term};

use super::Raft;

/// A snapshot arriving in chunks: the bytes so far, kept while they come from the leader of
/// one term, for one snapshot of one declared size, in order.
#[derive(Clone, Debug)]
pub(super) struct Incoming {
    pub(super) term: Term,
    pub(super) meta: SnapshotMeta,
    /// The snapshot's size as its chunks declare it: at most `Config::max_snapshot_bytes`.
    pub(super) size: u64,
    /// The first bytes of the snapshot; never more than `size`.
    pub(super) data: Vec<u8>,
}

/// After more than this many heartbeat intervals in a row in which a follower did not answer
/// at all (or four times as many in which its snapshot transfer made no progress), the
/// transfer is dropped, releasing what it held back from compaction; the follower is probed
/// again and gets the latest snapshot on its answer. A follower silent as long no longer holds
/// compaction back after a transfer either (`Progress::catching_up`).
pub(super) const SNAPSHOT_STALL_LIMIT: u32 = 4;

impl<C: Command> Raft<C> {
    /// Figure 13, InstallSnapshot receiver, with the message's term equal to ours. Chunks are
    /// kept only in order; the last one installs the snapshot, unless the log already holds
    /// what it covers (correctness.md §4: at or below our commit, ignore it; its last entry in
    /// our log, keep the suffix and commit up to it).
    #[cold]
    #[inline(never)]
    pub(super) fn handle_install_snapshot(
        &mut self,
        leader: NodeId,
        chunk: SnapshotChunk,
        out: &mut Vec<Action<C>>,
    ) {
        let SnapshotChunk {
            meta,
            size,
            offset,
            data,
        } = chunk;
        if !self.follow(leader) {
            return;
        }
        let index = meta.last_index;
        if index <= self.commit_index {
            // Everything it covers is committed here, and committed entries match every later
            // leader's log: nothing to install.
            self.incoming = None;
            let outcome = SnapshotOutcome::Done {
                match_index: self.ack_index(),
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        if self.log.term_at(index) == Some(meta.last_term) {
            // Figure 13 rule 6: the snapshot's last entry is in our log, so (log matching) is
            // everything before it. It is committed on the leader: commit and apply it from
            // our own log, and keep the entries after it.
            self.incoming = None;
            self.leader_verified_index = self.leader_verified_index.max(index);
            self.commit_index = index;
            self.apply_committed(out);
            let outcome = SnapshotOutcome::Done {
                match_index: self.ack_index(),
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        if size > self.config.max_snapshot_bytes {
            // More than this node may hold: drop the transfer and what it held, unanswered (the
            // leader's own bound keeps a leader of a uniformly configured cluster from ever
            // taking such a snapshot).
            self.incoming = None;
            return;
        }
        let continues = self.incoming.as_ref().is_some_and(|incoming| {
            incoming.term == self.term && incoming.meta == meta && incoming.size == size
        });
        if offset == 0 && !continues {
            self.incoming = Some(Box::new(Incoming {
                term: self.term,
                meta,
                size,
                data: Vec::new(),
            }));
        }
        let Some(incoming) = self.incoming.as_mut().filter(|_| offset == 0 || continues) else {
            // A later chunk of a transfer we do not hold: ask for it from the start.
            let outcome = SnapshotOutcome::Receiving {
                next_offset: 0,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        };
        let held = incoming.data.len() as u64;
        if offset != held {
            // Out of order (a chunk was lost or reordered): ask for the next one we can use.
            let outcome = SnapshotOutcome::Receiving {
                next_offset: held,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        // Well formed: `offset + data.len() <= size`, so the buffer never holds more than the
        // declared size, which is within `max_snapshot_bytes`. It grows by doubling, but never
        // past the declared size.
        let needed = incoming.data.len() + data.len();
        if needed > incoming.data.capacity() {
            let target = needed.max(2 * incoming.data.capacity()).min(size as usize);
            incoming.data.reserve_exact(target - incoming.data.len());
        }
        incoming.data.extend_from_slice(&data);
        if (incoming.data.len() as u64) < incoming.size {
            let next_offset = incoming.data.len() as u64;
            let outcome = SnapshotOutcome::Receiving {
                next_offset,
                answered_offset: offset,
            };
            self.send_snapshot_response(leader, index, outcome, out);
            return;
        }
        let Incoming { meta, data, .. } = *self.incoming.take().expect("checked above");
        self.install_snapshot(Snapshot { meta, data }, out);
        let outcome = SnapshotOutcome::Done { match_index: index };
        self.send_snapshot_response(leader, index, outcome, out);
    }

    /// Figure 13 rules 7 and 8: the snapshot replaces the whole log and the state machine.
    #[cold]
    #[inline(never)]
    pub(super) fn install_snapshot(&mut self, snapshot: Snapshot, out: &mut Vec<Action<C>>) {
        let (index, term) = (snapshot.meta.last_index, snapshot.meta.last_term);
        debug_assert!(index > self.commit_index);
        self.log.reset(index, term);
        let meta = &snapshot.meta;
        self.memberships
            .reset(meta.membership_index, meta.membership.clone());
        self.commit_index = index;
        self.applied_index = index;
        self.leader_verified_index = index;
        // `InstallSnapshot` is durable before any later action, in either mode; the writes
        // returned before it are complete, and the log they wrote is gone.
        self.durable_index = index;
        self.truncated_in = self.term;
        let snapshot = Arc::new(snapshot);
        self.snapshot = Some(Arc::clone(&snapshot));
        out.push(Action::InstallSnapshot(snapshot));
        self.membership_changed();
    }

    pub(super) fn send_snapshot_response(
        &self,
        leader: NodeId,
        snapshot_index: LogIndex,
        outcome: SnapshotOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let message = Message::InstallSnapshotResponse {
            term: self.term,
            snapshot_index,
            outcome,
        };
        self.send(leader, message, out);
    }

    /// Figure 13 on the leader's side: a chunk was acknowledged (more may go), or the transfer
    /// is over.
    #[cold]
    #[inline(never)]
    pub(super) fn handle_snapshot_response(
        &mut self,
        from: NodeId,
        snapshot_index: LogIndex,
        outcome: SnapshotOutcome,
        out: &mut Vec<Action<C>>,
    ) {
        let Some(slot) = self.peer_slot(from) else {
            return;
        };
        self.progress[slot].heard = true;
        self.progress[slot].active = true;
        match outcome {
            SnapshotOutcome::Done { match_index } => self.handle_accepted(slot, match_index, out),
            SnapshotOutcome::Receiving {
                next_offset,
                answered_offset,
            } => {
                let Some(transfer) = self.progress[slot].transfer.as_mut() else {
                    return;
                };
                let size = transfer.snapshot.data.len() as u64;
                if transfer.index() != snapshot_index || next_offset > size {
                    return;
                }
                if next_offset <= transfer.acked {
                    // No news, unless the answer shows a gap: the chunk it answers came after
                    // bytes the follower lacks. Either they were lost: send again from there,
                    // once per window (further answers to the window show the same gap) or, if
                    // the resent chunks made no progress by the next heartbeat, once more on
                    // the answer to its probe. Or the follower holds less than it acknowledged,
                    // answering a chunk at or past that (it restarted): from where it is.
                    let fresh = transfer.acked >= transfer.recover || transfer.probed_since_resend;
                    let lost =
                        next_offset == transfer.acked && transfer.sent > transfer.acked && fresh;
                    let forgotten =
                        next_offset < transfer.acked && answered_offset >= transfer.acked;
                    if answered_offset > next_offset && (lost || forgotten) {
                        transfer.recover = transfer.sent;
                        transfer.probed_since_resend = false;
                        transfer.restart_from(next_offset);
                        self.send_chunks(slot, out);
                    }
                    return;
                }
                transfer.acked = next_offset;
                if next_offset > transfer.sent {
                    // The follower kept more of this very snapshot from an earlier transfer
                    // of ours in this term (one leader, one snapshot per index): resume there.
                    transfer.sent = next_offset;
                    transfer.final_sent = false;
                }
                transfer.stalled_heartbeats = 0;
                self.send_chunks(slot, out);
            }
        }
    }

    /// Starts sending the latest snapshot to `slot`, whose next entry was compacted away.
    /// Returns true if a chunk was sent.
    #[cold]
    #[inline(never)]
    pub(super) fn start_transfer(&mut self, slot: usize, out: &mut Vec<Action<C>>) -> bool {
        let Some(snapshot) = self.snapshot.clone() else {
            debug_assert!(false, "a compacted log always has a snapshot");
            return false;
        };
        if !self.progress[slot].heard_recently() {
            // No snapshot to a follower that has not answered lately: its next answer to a
            // probe starts the transfer.
            return false;
        }
        self.progress[slot].become_snapshot(snapshot);
        self.send_chunks(slot, out);
        true
    }

    /// Sends the next chunks of the transfer to `slot`, up to the bound in flight.
    pub(super) fn send_chunks(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let max_inflight = self.config.max_inflight_snapshot_chunks as u64;
        self.send_chunks_up_to(slot, max_inflight, out);
    }

    /// Sends the next chunks of the transfer to `slot` while fewer than `max_inflight` are
    /// unacknowledged.
    pub(super) fn send_chunks_up_to(
        &mut self,
        slot: usize,
        max_inflight: u64,
        out: &mut Vec<Action<C>>,
    ) {
        let chunk = self.config.snapshot_chunk_bytes;
        let progress = &mut self.progress[slot];
        let to = progress.id;
        let Some(transfer) = progress.transfer.as_mut() else {
            return;
        };
        let size = transfer.snapshot.data.len() as u64;
        while !transfer.final_sent
            && (transfer.sent - transfer.acked).div_ceil(chunk) < max_inflight
        {
            let offset = transfer.sent;
            let end = size.min(offset.saturating_add(chunk));
            // Both within the data: `offset <= end <= size`, and `size` came from a length.
            let data = transfer.snapshot.data[offset as usize..end as usize].to_vec();
            transfer.sent = end;
            transfer.final_sent = end == size;
            let message = Message::InstallSnapshot {
                term: self.term,
                chunk: Box::new(SnapshotChunk {
                    meta: transfer.snapshot.meta.clone(),
                    size,
                    offset,
                    data,
                }),
            };
            out.push(Action::Send { to, message });
        }
    }

    /// A heartbeat interval passed during a transfer to `slot`. If no chunk was acknowledged
    /// since the last one, a chunk without data from the end of what was sent asks the
    /// follower where it is; its answer sends again what it lacks. After more than
    /// `SNAPSHOT_STALL_LIMIT` intervals in a row in which the follower did not answer at all
    /// (or four times as many without progress, whatever the answers), the transfer is
    /// dropped, releasing what it held back from compaction, and the follower is probed again.
    #[cold]
    #[inline(never)]
    pub(super) fn snapshot_heartbeat(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let progress = &mut self.progress[slot];
        let silent = progress.silent_heartbeats > SNAPSHOT_STALL_LIMIT;
        let Some(transfer) = progress.transfer.as_mut() else {
            return;
        };
        let moved = transfer.acked != transfer.acked_at_heartbeat;
        transfer.acked_at_heartbeat = transfer.acked;
        if moved {
            transfer.stalled_heartbeats = 0;
            return;
        }
        transfer.stalled_heartbeats += 1;
        if silent || transfer.stalled_heartbeats > 4 * SNAPSHOT_STALL_LIMIT {
            let next_index = progress.match_index + 1;
            progress.become_probe(next_index);
            self.compact();
            self.send_probe(slot, out);
            return;
        }
        transfer.probed_since_resend = true;
        let message = Message::InstallSnapshot {
            term: self.term,
            chunk: Box::new(SnapshotChunk {
                meta: transfer.snapshot.meta.clone(),
                size: transfer.snapshot.data.len() as u64,
                offset: transfer.sent,
                data: Vec::new(),
            }),
        };
        let to = progress.id;
        out.push(Action::Send { to, message });
    }

    /// The host snapshotted its state machine up to `index` (an `Event::SnapshotTaken`).
    #[cold]
    #[inline(never)]
    pub(super) fn take_snapshot(
        &mut self,
        index: LogIndex,
        data: Vec<u8>,
        out: &mut Vec<Action<C>>,
    ) {
        if index > self.applied_index {
            let error = SnapshotError::NotApplied {
                index,
                applied: self.applied_index,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let snapshot_index = self.snapshot_index();
        if index <= snapshot_index {
            let error = SnapshotError::NotNewer {
                index,
                snapshot_index,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let size_bytes = data.len() as u64;
        if size_bytes > self.config.max_snapshot_bytes {
            // A follower configured like this node could never receive it.
            let error = SnapshotError::TooLarge {
                size_bytes,
                limit: self.config.max_snapshot_bytes,
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let (membership_index, membership) = self.memberships.entry_at(index);
        if membership.is_empty() {
            let error = SnapshotError::MembershipUnknown {
                index,
                first_known: self.memberships.first_entry_index(),
            };
            out.push(Action::SnapshotRefused(error));
            return;
        }
        let (membership_index, membership) = (*membership_index, membership.clone());
        let last_term = self
            .log
            .term_at(index)
            .expect("entries after the snapshot up to the applied index are held");
        let meta = SnapshotMeta {
            last_index: index,
            last_term,
            membership,
            membership_index,
        };
        self.snapshot = Some(Arc::new(Snapshot {
            meta: meta.clone(),
            data,
        }));
        self.push_persist(Persist::Snapshot(Box::new(meta)), out);
        self.compact();
    }

    /// Drops the entries the latest snapshot covers, but for the last
    /// `snapshot_trailing_entries` of them, and never past a snapshot still being sent to a
    /// follower, nor past the match of a follower catching up after one: its catch-up
    /// continues by entries from that snapshot's index, so a follower is never sent snapshot
    /// after snapshot while the leader keeps compacting.
    pub(super) fn compact(&mut self) {
        let mut target = self.compaction_target();
        for progress in &self.progress {
            if let Some(transfer) = &progress.transfer {
                target = target.min(transfer.index());
            }
            if progress.catching_up {
                target = target.min(progress.match_index);
            }
        }
        self.log.compact_to(target);
        self.memberships.compact_to(self.log.base_index());
    }

    /// How far the log may be compacted when no follower holds it back: the latest
    /// snapshot's index less the trailing entries (0 without a snapshot).
    pub(super) fn compaction_target(&self) -> LogIndex {
        self.snapshot.as_ref().map_or(0, |snapshot| {
            snapshot
                .meta
                .last_index
                .saturating_sub(self.config.snapshot_trailing_entries)
        })
    }
}
