//! cargo-fuzz target `restore`: the body is `pureraft::fuzzing::restore`, which `cargo test` also
//! runs over the committed corpus (tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pureraft::fuzzing::restore(data));
