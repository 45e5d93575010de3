//! A candidate (Raft §5.2, Figure 2 "Rules for Servers: Candidates"): the election timer,
//! the campaign, and the tally of the votes it gets.

use crate::action::Action;
use crate::message::Message;
use crate::prelude::*;
use crate::quorum::VoteResult;
use crate::types::{Command, NodeId, Role, Term, TERM_MAX};

use super::Raft;

/// A node that is no voter of its configuration in force, but may campaign because its
/// removal may not be committed (`may_campaign`), lets this many election timeouts pass
/// before each campaign.
const REMOVED_TIMEOUTS_ASIDE: u8 = 1;

impl<C: Command> Raft<C> {
    pub(super) fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.lease_guard = false;
        // Raft §5.2: randomized in [election_ticks, 2 * election_ticks).
        let ticks = self.config.election_ticks;
        self.election_timeout = self.rng.in_range(ticks, ticks);
        self.update_fast_tick_limit();
    }

    /// Figure 2, followers: "If election timeout elapses ... convert to candidate";
    /// candidates: "On conversion to candidate, start election". Only a node that
    /// `may_campaign` does: never a learner, a removed member (thesis §4.2.3) or a node that has
    /// not joined yet.
    pub(super) fn campaign(&mut self, out: &mut Vec<Action<C>>) {
        let Some(term) = self.term.checked_add(1).filter(|&term| term <= TERM_MAX) else {
            // No term follows TERM_MAX: refuse to campaign rather than wrap or overflow.
            self.reset_election_timer();
            return;
        };
        if self.best_candidate.take().is_some() {
            self.set_leader(None);
            self.reset_election_timer();
            return;
        }
        let voter = self.memberships.current().is_voter(self.config.id);
        let stands_aside = !voter && self.timeouts_aside < REMOVED_TIMEOUTS_ASIDE;
        if !voter && !stands_aside {
            self.timeouts_aside = 0;
        }
        if !voter && (stands_aside || !self.may_campaign()) {
            // No leader has been heard from for an election timeout: it is gone, and any
            // leader may now be followed (who a node listens to, crate docs). A node that may
            // campaign only because its removal may not be committed lets the voters of the
            // configuration in force go first: its campaign is needed only when they cannot
            // win without it, and otherwise would take the votes they need.
            self.timeouts_aside = self.timeouts_aside.saturating_add(u8::from(stands_aside));
            self.set_leader(None);
            self.reset_election_timer();
            return;
        }
        if self.config.pre_vote {
            self.become_pre_candidate(out);
        } else {
            self.start_campaign(term, false, out);
        }
    }

    /// Figure 2, candidates: "On conversion to candidate, start election: increment
    /// currentTerm, vote for self, reset election timer, send RequestVote RPCs to all other
    /// servers" (the voters of the configuration in force, of both while joint).
    /// `transfer`: the campaign a leader asked for (`Message::TimeoutNow`, thesis §3.10).
    pub(super) fn start_campaign(&mut self, term: Term, transfer: bool, out: &mut Vec<Action<C>>) {
        self.become_candidate(term);
        self.persist_hard_state(out);
        if self.votes.result(self.memberships.current()) == VoteResult::Won {
            self.become_leader(out);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let message = || Message::RequestVote {
            term,
            last_log_index,
            last_log_term,
            transfer,
        };
        self.ask_voters(message, |_| false, out);
    }

    /// Sends `message()` to every voter of the configuration in force (of both while joint)
    /// but this node and those `skip` names: vote requests, pre-votes, leader checks.
    #[inline(always)]
    pub(super) fn ask_voters(
        &self,
        message: impl Fn() -> Message<C>,
        skip: impl Fn(NodeId) -> bool,
        out: &mut Vec<Action<C>>,
    ) {
        let membership = self.memberships.current();
        let outgoing_only = membership
            .outgoing
            .iter()
            .filter(|id| !membership.voters.contains(id));
        for &peer in membership.voters.iter().chain(outgoing_only) {
            if peer != self.config.id && !skip(peer) {
                out.push(Action::Send {
                    to: peer,
                    message: message(),
                });
            }
        }
    }

    /// Thesis §9.6: before campaigning, ask the voters whether they would vote for us in the
    /// next term; nothing durable changes. Our leader, if any, is forgotten: we have not heard
    /// from it for an election timeout.
    fn become_pre_candidate(&mut self, out: &mut Vec<Action<C>>) {
        debug_assert!(self.role != Role::Leader, "a leader never campaigns");
        self.role = Role::PreCandidate;
        self.set_leader(None);
        self.votes.clear();
        self.votes
            .record(self.memberships.current(), self.config.id, true);
        self.reset_election_timer();
        if self.votes.result(self.memberships.current()) == VoteResult::Won {
            // The only voter: nobody to ask.
            self.start_campaign(self.term + 1, false, out);
            return;
        }
        let (term, last_log_index, last_log_term) =
            (self.term, self.log.last_index(), self.log.last_term());
        let message = || Message::PreVote {
            term,
            last_log_index,
            last_log_term,
        };
        self.ask_voters(message, |_| false, out);
    }

    /// An answer to our `PreVote`. A majority of grants (of both majorities while joint)
    /// starts the campaign at once; a majority of refusals makes us a follower again; a
    /// refusal from a higher term makes us a follower of that term.
    pub(super) fn handle_pre_vote_response(
        &mut self,
        voter: NodeId,
        term: Term,
        granted: bool,
        out: &mut Vec<Action<C>>,
    ) {
        if !granted && term > self.term {
            if self.become_follower(term, None) {
                self.persist_hard_state(out);
            }
            return;
        }
        if self.role != Role::PreCandidate {
            return;
        }
        let membership = self.memberships.current();
        if !self.votes.record(membership, voter, granted) {
            return;
        }
        match self.votes.result(membership) {
            VoteResult::Won => self.start_campaign(self.term + 1, false, out),
            VoteResult::Lost => {
                self.become_follower(self.term, None);
            }
            VoteResult::Pending => {}
        }
    }

    /// True if this node may campaign: it is a voter of the configuration in force or of one
    /// that may still be: the last one it knows committed, or one appended after it. A leader
    /// that removed itself and lost its term before the removal committed must be able to win
    /// again and finish it (thesis §4.2.2), restarted too (its commit index then starts at
    /// what the host applied): the remaining voters may lack the entry, be behind it, and need
    /// its vote. Once its removal is known committed, it never campaigns again (thesis §4.2.3).
    pub(super) fn may_campaign(&self) -> bool {
        let id = self.config.id;
        self.memberships.current().is_voter(id)
            || self
                .memberships
                .any_since(self.commit_index, |membership| membership.is_voter(id))
    }

    pub(super) fn become_candidate(&mut self, term: Term) {
        assert!(self.role != Role::Leader, "a leader never campaigns");
        assert!(term > self.term, "a candidate's term must grow");
        self.term = term;
        // Figure 2: "Vote for self".
        self.vote = Some(self.config.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes.clear();
        self.votes
            .record(self.memberships.current(), self.config.id, true);
        self.leader_verified_index = 0;
        self.incoming = None;
        self.clear_leader_state();
        self.reset_election_timer();
    }

    /// Figure 2, candidates: "If votes received from majority of servers: become leader";
    /// while joint, a majority of both the new and the old voters (thesis §4.3). Each voter's
    /// first answer counts, once (akka-raft #45).
    pub(super) fn handle_vote_response(
        &mut self,
        voter: NodeId,
        granted: bool,
        out: &mut Vec<Action<C>>,
    ) {
        let membership = self.memberships.current();
        if self.votes.record(membership, voter, granted)
            && self.votes.result(membership) == VoteResult::Won
        {
            self.become_leader(out);
        }
    }
}
