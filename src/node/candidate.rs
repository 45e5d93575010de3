//! A candidate (Raft §5.2, Figure 2 "Rules for Servers: Candidates"): the election timer,
//! the campaign, and the tally of the votes it gets.

use crate::action::Action;
use crate::message::Message;
use crate::quorum;
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
    /// candidates: "On conversion to candidate, start election".
    pub(super) fn campaign(&mut self, out: &mut Vec<Action<C>>) {
        let Some(term) = self.term.checked_add(1).filter(|&term| term <= TERM_MAX) else {
            // No term follows TERM_MAX: refuse to campaign rather than wrap or overflow.
            self.reset_election_timer();
            return;
        };
        self.become_candidate(term);
        self.persist_hard_state(out);
        if self.votes_granted.len() >= quorum::majority(self.config.voters.len()) {
            self.become_leader(out);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        for &peer in &self.config.voters {
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

    pub(super) fn become_candidate(&mut self, term: Term) {
        assert!(self.role != Role::Leader, "a leader never campaigns");
        assert!(term > self.term, "a candidate's term must grow");
        self.term = term;
        // Figure 2: "Vote for self".
        self.vote = Some(self.config.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes_granted.clear();
        self.votes_granted.push(self.config.id);
        self.leader_verified_index = 0;
        self.incoming = None;
        self.clear_leader_state();
        self.reset_election_timer();
    }

    /// Figure 2, candidates: "If votes received from majority of servers: become leader".
    /// Votes are kept in a set, so a duplicated grant counts once (akka-raft #45).
    pub(super) fn handle_vote_response(
        &mut self,
        voter: NodeId,
        granted: bool,
        out: &mut Vec<Action<C>>,
    ) {
        if !granted || self.votes_granted.contains(&voter) {
            return;
        }
        self.votes_granted.push(voter);
        if self.votes_granted.len() >= quorum::majority(self.config.voters.len()) {
            self.become_leader(out);
        }
    }
}
