//! Leadership transfer (thesis §3.10): the leader brings the target's log up to date, tells
//! it to campaign at once (`Message::TimeoutNow`), and refuses proposals meanwhile; the
//! target campaigns without PreVote, with vote requests that leader stickiness lets through.

use crate::action::{Action, TransferError};
use crate::message::Message;
use crate::prelude::*;
use crate::types::{Command, NodeId, Role, TERM_MAX};

use super::Raft;

/// A transfer under way, on the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transfer {
    /// The voter leadership goes to.
    pub(crate) to: NodeId,
    /// Ticks since it started: at `election_ticks` it is aborted.
    pub(crate) elapsed: u64,
    /// `TimeoutNow` was sent.
    pub(crate) timeout_now_sent: bool,
}

impl<C: Command> Raft<C> {
    /// `Event::TransferLeadership`: refused, or started, with `TimeoutNow` sent at once if
    /// `to` holds the leader's whole log, else once an answer shows it does.
    pub(super) fn transfer_leadership(&mut self, to: NodeId, out: &mut Vec<Action<C>>) {
        if let Err(error) = self.check_transfer(to) {
            out.push(Action::TransferRejected(error));
            return;
        }
        self.transfer = Some(Transfer {
            to,
            elapsed: 0,
            timeout_now_sent: false,
        });
        out.push(Action::TransferStarted { to });
        if self.config.lease_reads {
            // The target's vote requests get past the voters' stickiness: the lease that
            // stickiness backs is over, for the rest of the term (a delayed `TimeoutNow` may
            // still start an election after an abort).
            self.bar_lease();
        }
        let slot = self
            .peer_slot(to)
            .expect("a leader tracks every voter but itself");
        if self.progress[slot].match_index == self.log.last_index() {
            self.send_timeout_now(slot, out);
        } else {
            self.send_append(slot, false, out);
        }
    }

    fn check_transfer(&self, to: NodeId) -> Result<(), TransferError> {
        if self.role != Role::Leader {
            return Err(TransferError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if to == self.config.id {
            return Err(TransferError::ToSelf);
        }
        let membership = self.memberships.current();
        if membership.is_learner(to) {
            return Err(TransferError::ToLearner(to));
        }
        if !membership.is_voter(to) {
            return Err(TransferError::UnknownNode(to));
        }
        if let Some(transfer) = &self.transfer {
            return Err(TransferError::InProgress { to: transfer.to });
        }
        Ok(())
    }

    fn send_timeout_now(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        if let Some(transfer) = &mut self.transfer {
            transfer.timeout_now_sent = true;
        }
        let to = self.progress[slot].id;
        self.send(to, Message::TimeoutNow { term: self.term }, out);
    }

    /// After the follower at `slot` acknowledged entries: if it is the transfer's target and
    /// now holds the leader's whole log, `TimeoutNow` goes.
    #[cold]
    pub(super) fn transfer_on_accepted(&mut self, slot: usize, out: &mut Vec<Action<C>>) {
        let Some(transfer) = self.transfer else {
            return;
        };
        let progress = &self.progress[slot];
        if progress.id == transfer.to
            && !transfer.timeout_now_sent
            && progress.match_index == self.log.last_index()
        {
            self.send_timeout_now(slot, out);
        }
    }

    /// A leader's tick during a transfer: after an election timeout it is aborted.
    #[cold]
    pub(super) fn transfer_tick(&mut self, out: &mut Vec<Action<C>>) {
        let Some(transfer) = &mut self.transfer else {
            return;
        };
        transfer.elapsed += 1;
        if transfer.elapsed >= self.config.election_ticks {
            let to = transfer.to;
            self.transfer = None;
            out.push(Action::TransferAborted { to });
        }
    }

    /// `TimeoutNow` from the leader of our term: campaign at once, skipping PreVote and the
    /// timer, if we vote in the configuration in force (thesis §3.10).
    pub(super) fn handle_timeout_now(&mut self, out: &mut Vec<Action<C>>) {
        if self.role == Role::Leader || !self.memberships.current().is_voter(self.config.id) {
            return;
        }
        let Some(term) = self.term.checked_add(1).filter(|&term| term <= TERM_MAX) else {
            return;
        };
        self.start_campaign(term, true, out);
    }
}
