//! How much log a node holds in memory over a long run, with and without compaction.
//!
//! ```text
//! cargo run --release --example memory -- [--entries N] [--every K] [--trailing T]
//!     [--per-tick P] [--seed S] [--no-compaction]
//! ```
//!
//! Runs a 3-node simulated cluster on a reliable network until N client commands (`u64`) have
//! committed, P proposed to the leader per tick, every host snapshotting its state machine
//! every K applied entries (the lab's rule, `(i + 1) % K == 0`), each node keeping T entries
//! behind its snapshot (the library's default, 1024). After every tick it records, per node,
//! the entries its log holds in memory and their bytes (`size_of::<Entry<u64>>()` each: a
//! `u64` command has no heap part), and prints the peaks. `--no-compaction` runs the same
//! workload without snapshots, for comparison. Every invariant is checked after every step,
//! as in every simulation.
//!
//! Defaults: N = 1,000,000, K = 10,000, T = 1024, P = 100, seed 1.

use std::process::ExitCode;

use pureraft::sim::{Sim, SimConfig};
use pureraft::{Config, Entry, NodeId};

struct Args {
    entries: u64,
    every: u64,
    trailing: u64,
    per_tick: u64,
    seed: u64,
    compaction: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        entries: 1_000_000,
        every: 10_000,
        trailing: Config::new(1).snapshot_trailing_entries,
        per_tick: 100,
        seed: 1,
        compaction: true,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--no-compaction" {
            args.compaction = false;
            continue;
        }
        let value = iter.next().ok_or(format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--entries" => args.entries = number,
            "--every" => args.every = number.max(1),
            "--trailing" => args.trailing = number,
            "--per-tick" => args.per_tick = number.max(1),
            "--seed" => args.seed = number,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// Peak entries held by each node, and the tick they were reached.
struct Peaks {
    entries: Vec<(u64, u64)>,
}

fn run(args: &Args) -> Result<Peaks, String> {
    let mut config = SimConfig::new(3, args.seed);
    config.node.snapshot_trailing_entries = args.trailing;
    if args.compaction {
        config = config.with_snapshots(args.every);
    }
    let mut sim: Sim<u64> = Sim::new(config);
    let ids: Vec<NodeId> = sim.ids().collect();
    let mut peaks = Peaks {
        entries: vec![(0, 0); ids.len()],
    };
    let mut next_command = 1;
    let leader = sim.check_one_leader()?;
    let started = sim.now();
    while (sim.committed().len() as u64) < args.entries {
        if sim.now() - started > 10 * args.entries / args.per_tick + 10_000 {
            return Err(format!(
                "only {} entries committed after {} ticks",
                sim.committed().len(),
                sim.now()
            ));
        }
        for _ in 0..args.per_tick {
            if sim.propose(leader, next_command).is_some() {
                next_command += 1;
            }
        }
        sim.tick();
        for (position, &id) in ids.iter().enumerate() {
            if let Some(raft) = sim.raft(id) {
                let held = raft.entries().len() as u64;
                if held > peaks.entries[position].0 {
                    peaks.entries[position] = (held, sim.now());
                }
            }
        }
    }
    let stats = sim.stats();
    println!(
        "  {} entries committed in {} ticks; {} snapshots taken, {} installed; {} invariant \
         checks passed",
        sim.committed().len(),
        stats.ticks,
        stats.snapshots_taken,
        stats.snapshots_installed,
        stats.invariant_checks
    );
    for &id in &ids {
        if let Some(raft) = sim.raft(id) {
            println!(
                "  node {id} at the end: {} entries held, compacted up to {}, snapshot at {}",
                raft.entries().len(),
                raft.compacted_index(),
                raft.snapshot_index()
            );
        }
    }
    Ok(peaks)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!(
                "usage: memory [--entries N] [--every K] [--trailing T] [--per-tick P] \
                 [--seed S] [--no-compaction]"
            );
            return ExitCode::from(2);
        }
    };
    let entry_bytes = std::mem::size_of::<Entry<u64>>() as u64;
    if args.compaction {
        println!(
            "pureraft memory: 3 nodes, {} entries, a snapshot every {} entries, {} trailing, \
             {} proposals per tick, seed {}",
            args.entries, args.every, args.trailing, args.per_tick, args.seed
        );
    } else {
        println!(
            "pureraft memory: 3 nodes, {} entries, compaction off, {} proposals per tick, seed {}",
            args.entries, args.per_tick, args.seed
        );
    }
    match run(&args) {
        Ok(peaks) => {
            for (position, (entries, tick)) in peaks.entries.iter().enumerate() {
                println!(
                    "  node {}: peak {} entries held ({} bytes at {} bytes per entry), at tick {}",
                    position + 1,
                    entries,
                    entries * entry_bytes,
                    entry_bytes,
                    tick
                );
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("FAILED: {failure}");
            ExitCode::FAILURE
        }
    }
}
