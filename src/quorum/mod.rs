//! Pure quorum maths: which indices a set of voters holds by a majority, how many votes make
//! one, and the same for a joint configuration, which needs both of its majorities. No node
//! state, so each function is checked against a naive version on generated inputs.

mod joint;
mod majority;

pub(crate) use joint::{
    committed_index as joint_committed_index, plain_vote_result, vote_result, VoteResult,
};
pub(crate) use majority::{committed_index, SMALL};
