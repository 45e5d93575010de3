//! Pure quorum maths: which indices a set of voters holds by a majority, and how many votes
//! make one. No node state, so each function is checked against a naive version.

mod majority;

pub(crate) use majority::{committed_index, majority, SMALL};
