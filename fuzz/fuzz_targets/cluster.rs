//! cargo-fuzz target `cluster`: the body is `pureraft::fuzzing::cluster`, which `cargo test` also
//! runs over the committed corpus (tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pureraft::fuzzing::cluster(data));
