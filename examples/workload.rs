//! Runs one step-throughput workload of `shared/peer-bench` against pureraft, in fixed work (for
//! instruction counts under valgrind, `benches/ir.sh`) or for a time (for wall-clock rates to
//! interleave with the peers', `benches/wall.sh`).
//!
//! ```text
//! cargo run --release --example workload -- NAME OPS          # exactly OPS operations, once
//! cargo run --release --example workload -- NAME --seconds S  # 3 runs of S seconds, median
//! ```
//!
//! NAME is one of `commit3_b1`, `commit3_b64`, `commit5_b64`, `tick_idle`, `elect3`,
//! `elect3_prevote` (`elect3` with PreVote and CheckQuorum on; every other workload has them
//! off, as the peers do), `read_index` (reads served by a 3-node leader, 64 per round of
//! leader checks), `read_lease` (served under a lease). Each with `_async` appended runs with
//! asynchronous persistence (`commit3_b1_async`, ...), with `_range` with zero-copy apply
//! (`Config::apply_by_range`), with `_async_range` with both. OPS is
//! rounded up to a whole batch (64 entries for the `_b64` workloads, 1024 ticks for
//! `tick_idle`). The fixed-work mode prints `OPS name=... ops=... unit=... <stats>`. The timed
//! mode prints `RUN name=... run=i value=... unit=... <stats>` per run, then
//! `WORKLOAD name=... value=<median of 3> unit=...`, like the peers' harnesses; a commit run
//! also stops after 1,000,000 entries, like theirs. Set-up (building the cluster, electing
//! node 1) is not timed, except for `elect3`, which times building each new cluster.
//!
//! The host loop, payload type (`Arc<[u8]>`), batching and compaction are described in
//! `benches/harness/mod.rs`.

#[path = "../benches/harness/mod.rs"]
mod harness;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use harness::{Workload, WORKLOADS};

/// Timed runs per workload; the median is reported.
const RUNS: usize = 3;

/// What the command line asks for.
enum Mode {
    /// Exactly this many operations (rounded up to a whole chunk), once.
    Ops(u64),
    /// `RUNS` runs of this long each.
    Seconds(f64),
}

fn usage() -> String {
    let names: Vec<&str> = WORKLOADS.iter().map(|(name, _, _)| *name).collect();
    format!(
        "usage: workload NAME OPS | workload NAME --seconds S\n  NAME: {} (each also as NAME_async, NAME_range, NAME_async_range)",
        names.join(", ")
    )
}

fn parse_args() -> Result<(String, Mode), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |text: &str| format!("not a number: {text}");
    match args.as_slice() {
        [name, flag, seconds] if flag == "--seconds" => {
            let seconds: f64 = seconds.parse().map_err(|_| number(seconds))?;
            if !(seconds > 0.0 && seconds.is_finite()) {
                return Err("--seconds needs a positive number".into());
            }
            Ok((name.clone(), Mode::Seconds(seconds)))
        }
        [name, ops] => Ok((
            name.clone(),
            Mode::Ops(ops.parse().map_err(|_| number(ops))?),
        )),
        _ => Err(usage()),
    }
}

/// Runs exactly `ops` operations (rounded up to a whole chunk) and prints them with the
/// workload's statistics.
fn fixed_work(name: &str, unit: &str, ops: u64) {
    let mut workload = Workload::new(name).expect("a known workload");
    let target = ops.div_ceil(workload.chunk_ops()) * workload.chunk_ops();
    while workload.ops() < target {
        workload.chunk();
    }
    println!(
        "OPS name={name} ops={} unit={unit} {}",
        workload.ops(),
        workload.stats()
    );
}

/// One timed run on a fresh workload: chunks until `seconds` have passed or the run's
/// operation bound is reached. Returns the rate and the statistics line.
fn timed_run(name: &str, seconds: f64) -> (f64, String) {
    let mut workload = Workload::new(name).expect("a known workload");
    let limit = Duration::from_secs_f64(seconds);
    let max_ops = workload.max_ops_per_run();
    let start = Instant::now();
    while workload.ops() < max_ops && start.elapsed() < limit {
        workload.chunk();
    }
    let elapsed = start.elapsed().as_secs_f64();
    (workload.ops() as f64 / elapsed, workload.stats())
}

fn main() -> ExitCode {
    let (name, mode) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let Some((unit, rate_unit)) = Workload::units(&name) else {
        eprintln!("unknown workload {name}\n{}", usage());
        return ExitCode::from(2);
    };
    match mode {
        Mode::Ops(ops) => fixed_work(&name, unit, ops),
        Mode::Seconds(seconds) => {
            let mut values: Vec<f64> = (0..RUNS)
                .map(|run| {
                    let (value, stats) = timed_run(&name, seconds);
                    println!("RUN name={name} run={run} value={value:.0} unit={rate_unit} {stats}");
                    value
                })
                .collect();
            values.sort_by(f64::total_cmp);
            println!(
                "WORKLOAD name={name} value={:.0} unit={rate_unit}",
                values[RUNS / 2]
            );
        }
    }
    ExitCode::SUCCESS
}
