//! Replays the fuzz targets on stable: every input committed under `fuzz/corpus/TARGET/`,
//! plus inputs drawn from a seeded generator, through exactly the code cargo-fuzz runs
//! (`pureraft::fuzzing`). A crash found by fuzzing is committed to the corpus (or named below)
//! and so stays a regression test. `PURERAFT_FUZZ_RANDOM=n` sets the generated inputs per
//! target (default 300).

use std::path::Path;

use pureraft::fuzzing;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| {
            let path = entry.expect("a readable corpus directory").path();
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

/// Deterministic inputs of 0 to 4 KiB (SplitMix64), so the targets run even on an empty
/// corpus and every run covers the same inputs.
fn generated(target: &str) -> Vec<(String, Vec<u8>)> {
    let count: u64 = std::env::var("PURERAFT_FUZZ_RANDOM")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300);
    let mut state: u64 = target
        .bytes()
        .fold(0, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|n| {
            let length = (next() % 4096) as usize;
            let bytes = (0..length).map(|_| next() as u8).collect();
            (format!("generated input {n} of {target}"), bytes)
        })
        .collect()
}

fn replay(target: &str, body: fn(&[u8])) {
    let committed = corpus(target);
    assert!(!committed.is_empty(), "fuzz/corpus/{target} holds no input");
    for (name, bytes) in committed.iter().chain(generated(target).iter()) {
        let outcome = std::panic::catch_unwind(|| body(bytes));
        assert!(outcome.is_ok(), "fuzz target {target} failed on {name}");
    }
}

#[test]
fn step_corpus() {
    replay("step", fuzzing::step);
}

#[test]
fn cluster_corpus() {
    replay("cluster", fuzzing::cluster);
}

#[test]
fn restore_corpus() {
    replay("restore", fuzzing::restore);
}
