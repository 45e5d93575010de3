//! Membership changes on the node (thesis chapter 4): a leader's checks before it appends a
//! configuration, what follows when one is appended or committed, and whom a leader
//! replicates to.
//!
//! A configuration is in force from the moment its entry is in the log (thesis §4.1), on the
//! leader that appends it and on every node that stores it, and until a truncation removes
//! it. A leader accepts one change at a time, only after its latest configuration is
//! committed and once it has committed an entry of its own term (the fix for the
//! single-server bug, Ongaro 2015). A leader that is not a voter of the configuration it
//! appended leads until that configuration is committed, tells every member the commit, and
//! steps down (thesis §4.2.2).

use crate::prelude::*;
use smallvec::SmallVec;

use crate::action::{Action, ProposeError};
use crate::membership::{MembershipChange, MembershipError};
use crate::tracker::Progress;
use crate::types::{Command, LogIndex, NodeId, Payload, Role};

use super::Raft;

impl<C: Command> Raft<C> {
    /// `Event::ChangeMembership` on this node: appended as a configuration entry if this node
    /// leads and the change can be made now, refused with the reason otherwise.
    pub(super) fn propose_membership(
        &mut self,
        change: MembershipChange,
        membership_index: LogIndex,
        out: &mut Vec<Action<C>>,
    ) {
        match self.checked_membership(&change, membership_index) {
            Ok(next) => {
                let index = self.append_to_own_log(Payload::membership(next), out);
                out.push(Action::ProposalAccepted {
                    index,
                    term: self.term,
                });
                self.replicate_new_entries(out);
            }
            Err(error) => out.push(Action::ProposalRejected(error)),
        }
    }

    /// The configuration `change` leads to, if this node may append it now.
    fn checked_membership(
        &self,
        change: &MembershipChange,
        membership_index: LogIndex,
    ) -> Result<crate::membership::Membership, ProposeError> {
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(transfer) = &self.transfer {
            return Err(ProposeError::TransferInProgress { to: transfer.to });
        }
        let refuse = |error| Err(ProposeError::Membership(error));
        let current = self.memberships.current_index();
        if membership_index != current {
            return refuse(MembershipError::Stale {
                expected: membership_index,
                current,
            });
        }
        if current > self.commit_index {
            return refuse(MembershipError::Pending { index: current });
        }
        if self.log.term_at(self.commit_index) != Some(self.term) {
            return refuse(MembershipError::NoCommitInTerm);
        }
        let uncommitted = self.log.last_index() - self.commit_index;
        if uncommitted >= self.config.max_uncommitted_entries {
            return Err(ProposeError::TooManyUncommitted {
                limit: self.config.max_uncommitted_entries,
            });
        }
        self.memberships
            .current()
            .changed(change)
            .map_err(ProposeError::Membership)
    }

    /// Whom a leader replicates to: every member, other than itself, of the configuration in
    /// force and of the last one committed, so that a member being removed still learns of
    /// its removal while it is not committed (and does not campaign in its old configuration
    /// for good).
    pub(super) fn tracked_members(&self) -> SmallVec<[NodeId; 8]> {
        let id = self.config.id;
        let current = self.memberships.current();
        let mut members: SmallVec<[NodeId; 8]> = SmallVec::new();
        if current.outgoing.is_empty() && current.learners.is_empty() {
            // The usual configuration: voters only.
            for &voter in &current.voters {
                if voter != id {
                    members.push(voter);
                }
            }
        } else {
            members.extend(current.members().filter(|&member| member != id));
        }
        if self.memberships.current_index() > self.commit_index {
            // A configuration on its way: the members of the last one committed too.
            for member in self.memberships.at(self.commit_index).members() {
                if member != id && !members.contains(&member) {
                    members.push(member);
                }
            }
        }
        members
    }

    /// Makes the leader's progress list match `tracked_members`: a new member is probed from
    /// the end of the log; a member no longer tracked is forgotten, with whatever it held back.
    pub(super) fn sync_progress(&mut self) {
        let tracked = self.tracked_members();
        let before = self.progress.len();
        self.progress
            .retain(|progress| tracked.contains(&progress.id));
        let next_index = self.log.last_index() + 1;
        let inflight_max = self.config.max_inflight_appends;
        for id in tracked {
            if !self.progress.iter().any(|progress| progress.id == id) {
                self.progress
                    .push(Progress::new(id, next_index, inflight_max));
            }
        }
        if self.progress.len() < before {
            self.compact();
        }
    }

    /// The log's configurations changed on a node that does not lead (an append, a
    /// truncation, a snapshot): a candidate that may no longer campaign stops.
    pub(super) fn membership_changed(&mut self) {
        if self.role == Role::Candidate && !self.may_campaign() {
            self.become_follower(self.term, None);
        }
    }

    /// The leader's commit index moved from `previous`: when that commits a configuration, the
    /// members it removed are forgotten, a joint configuration is left (with
    /// `Config::auto_leave_joint`), and a leader that is no longer a voter hands over: every
    /// member is told the commit, then it steps down (thesis §4.2.2).
    pub(super) fn membership_committed(&mut self, previous: LogIndex, out: &mut Vec<Action<C>>) {
        if !self.memberships.any_in(previous + 1, self.commit_index) {
            return;
        }
        // Members about to be forgotten are told the commit once more, so that one that holds
        // its removal learns it is committed and stops campaigning (thesis §4.2.3).
        let tracked = self.tracked_members();
        for slot in 0..self.progress.len() {
            if !tracked.contains(&self.progress[slot].id) {
                self.send_heartbeat(slot, out);
            }
        }
        self.sync_progress();
        let current = self.memberships.current();
        if self.memberships.current_index() > self.commit_index {
            return; // A later configuration is still on its way.
        }
        if current.is_joint() && self.config.auto_leave_joint {
            let next = current
                .changed(&MembershipChange::LeaveJoint)
                .expect("a valid joint configuration can always be left");
            self.append_to_own_log(Payload::membership(next), out);
            self.replicate_new_entries(out);
            return;
        }
        if !current.is_voter(self.config.id) {
            for slot in 0..self.progress.len() {
                self.send_heartbeat(slot, out);
            }
            self.become_follower(self.term, None);
        }
    }
}
