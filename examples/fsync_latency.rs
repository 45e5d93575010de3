//! Commit latency in ticks with a slow disk, with and without asynchronous persistence
//! (`Config::async_persistence`): the `commit3_fsync` workload of `benches/harness/latency.rs`.
//!
//! ```text
//! cargo run --release --example fsync_latency -- [--net TICKS] [--proposals N] [FSYNC_TICKS ...]
//! ```
//!
//! For each disk sync time (default 0 1 2 4 8 ticks) it prints one line per mode: mean,
//! median and p99 ticks from a proposal at the leader to the leader's `Apply` of it, and the
//! leader's syncs per commit. Messages take `--net` ticks (default 1); one proposal per tick.

#[path = "../benches/harness/mod.rs"]
mod harness;

use std::process::ExitCode;

use harness::latency::run;

fn main() -> ExitCode {
    let mut net = 1;
    let mut proposals = 2000;
    let mut fsyncs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let text = args.next().ok_or(format!("{name} needs a value"))?;
            text.parse()
                .map_err(|_| format!("{name}: not a number: {text}"))
        };
        let parsed = match arg.as_str() {
            "--net" => value("--net").map(|v| net = v),
            "--proposals" => value("--proposals").map(|v| proposals = v.max(1)),
            other => other
                .parse()
                .map(|v| fsyncs.push(v))
                .map_err(|_| format!("not a number of ticks: {other}")),
        };
        if let Err(error) = parsed {
            eprintln!("error: {error}\nusage: fsync_latency [--net TICKS] [--proposals N] [FSYNC_TICKS ...]");
            return ExitCode::from(2);
        }
    }
    if fsyncs.is_empty() {
        fsyncs = vec![0, 1, 2, 4, 8];
    }
    println!("commit3_fsync: 3 nodes, messages take {net} tick(s), one proposal per tick, {proposals} proposals");
    println!("fsync  mode   mean_ticks  median  p99  leader_syncs_per_commit");
    for fsync in fsyncs {
        for (mode, async_writes) in [("sync", false), ("async", true)] {
            let latency = run(fsync, net, async_writes, proposals);
            println!(
                "LATENCY fsync={fsync} mode={mode} mean={:.2} median={} p99={} leader_syncs_per_commit={:.3}",
                latency.mean, latency.median, latency.p99, latency.leader_syncs_per_commit
            );
        }
    }
    ExitCode::SUCCESS
}
