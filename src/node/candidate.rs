//! A candidate (Raft §5.2, Figure 2 "Rules for Servers: Candidates"): the election timer,
//! the campaign, and the tally of the votes it gets.

use crate::action::Action;
use crate::message::Message;
use crate::quorum::{self, VoteResult};
use crate::types::{Command, NodeId, Role, Term, TERM_MAX};

use super::Raft;

impl<C: Command> Raft<C> {
    pub(super) fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        // Raft §5.2: randomized in [election_ticks, 2 * election_ticks).
        let ticks = self.config.election_ticks;
        self.election_timeout = self.rng.in_range(ticks, ticks);
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
        if !self.may_campaign() {
            self.reset_election_timer();
            return;
        }
        self.become_candidate(term);
        self.persist_hard_state(out);
        if self.election_result() == VoteResult::Won {
            self.become_leader(out);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let membership = self.memberships.current();
        let outgoing_only = membership
            .outgoing
            .iter()
            .filter(|id| !membership.voters.contains(id));
        for &peer in membership.voters.iter().chain(outgoing_only) {
            if peer == self.config.id {
                continue;
            }
            out.push(Action::Send {
                to: peer,
                message: Message::RequestVote {
                    term,
                    last_log_index,
                    last_log_term,
                },
            });
        }
    }

    /// True if this node may campaign: it is a voter of the configuration in force or, while
    /// that configuration is not known to be committed, of the last one known to be. A leader
    /// that removed itself and lost its term before the removal committed must be able to
    /// win again and finish it (thesis §4.2.2): the remaining voters may lack the entry, be
    /// behind it, and need its vote. Once the removal is known committed, it never campaigns
    /// again (thesis §4.2.3).
    pub(super) fn may_campaign(&self) -> bool {
        let id = self.config.id;
        self.memberships.current().is_voter(id)
            || (self.memberships.current_index() > self.commit_index
                && self.memberships.at(self.commit_index).is_voter(id))
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
        self.votes.record(self.config.id, true);
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
        if self.votes.record(voter, granted) && self.election_result() == VoteResult::Won {
            self.become_leader(out);
        }
    }

    /// What the votes so far decide in the configuration in force.
    fn election_result(&self) -> VoteResult {
        let membership = self.memberships.current();
        quorum::vote_result(
            &membership.voters,
            &membership.outgoing,
            &self.votes.granted,
            &self.votes.rejected,
        )
    }
}
