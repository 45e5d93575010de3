//! cargo-fuzz target `step`: the body is `pureraft::fuzzing::step`, which `cargo test` also
//! runs over the committed corpus (tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pureraft::fuzzing::step(data));
