//! What the standard prelude gives a `std` crate and `alloc` must give a `no_std` one: the
//! crate's modules import it, so that the core builds with or without the `std` feature.

pub(crate) use alloc::boxed::Box;
pub(crate) use alloc::string::String;
pub(crate) use alloc::vec::Vec;
