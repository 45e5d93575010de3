//! The main job: a simulated 5-node pureraft cluster under faults, with a readable timeline.
//!
//! ```text
//! cargo run --release --example simulate -- [--nodes N] [--ticks T] [--seed S] [--faults 0-3]
//!     [--snapshot-every K] [--batching] [--outage TICKS] [--quiet]
//! ```
//!
//! Runs a safety phase of T ticks with random faults (crashes, also part-way through an action
//! batch, restarts, partitions, one-way link cuts, pauses, message loss, duplication and
//! delay) while a client proposes commands, then heals everything and checks liveness: a new
//! command must commit on every node. Every host snapshots its state machine every K applied
//! entries (default 50; 0 turns snapshots off) and each node keeps 5 entries behind its
//! snapshot, so a node that was away catches up by a chunked InstallSnapshot, shown in the
//! timeline. With `--batching`, every host keeps one output buffer across steps, carries out a
//! random prefix of it after each step and proposes some commands in batches. With `--outage
//! TICKS`, a random node now and then goes down for that long (about once per 20,000 ticks),
//! and the summary reports what was sent to down nodes per heartbeat. Every invariant
//! of ARCHITECTURE.md is checked after every step; on a violation it prints the seed that
//! replays the run and exits with status 1.

use std::io::Write;
use std::process::ExitCode;

use pureraft::sim::{Faults, Sim, SimConfig, SimEvent};

/// Prints a line; if stdout is gone (piped into `head`, say), stops quietly instead of
/// panicking, which would be reported as a failed run.
macro_rules! say {
    ($($arg:tt)*) => {
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

struct Args {
    nodes: usize,
    ticks: u64,
    seed: u64,
    faults: u32,
    snapshot_every: u64,
    quiet: bool,
    batching: bool,
    outage: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        nodes: 5,
        ticks: 20_000,
        seed: 1,
        faults: 2,
        snapshot_every: 50,
        quiet: false,
        batching: false,
        outage: 0,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--quiet" {
            args.quiet = true;
            continue;
        }
        if flag == "--batching" {
            args.batching = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = iter.next().ok_or(format!("{flag} needs a value"))?;
        let number = |name: &str| -> Result<u64, String> {
            value
                .parse()
                .map_err(|_| format!("{name}: not a number: {value}"))
        };
        match flag.as_str() {
            "--nodes" => args.nodes = number("--nodes")? as usize,
            "--ticks" => args.ticks = number("--ticks")?,
            "--seed" => args.seed = number("--seed")?,
            "--faults" => args.faults = number("--faults")? as u32,
            "--snapshot-every" => args.snapshot_every = number("--snapshot-every")?,
            "--outage" => args.outage = number("--outage")?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(1..=15).contains(&args.nodes) {
        return Err("--nodes must be between 1 and 15".into());
    }
    Ok(args)
}

fn describe(event: &SimEvent) -> String {
    match event {
        SimEvent::LeaderElected { node, term } => {
            format!("election: node {node} leads term {term}")
        }
        SimEvent::Crashed {
            node,
            executed,
            batch,
        } if *batch > 0 => {
            format!("crash:    node {node} crashed after {executed} of {batch} actions of a step")
        }
        SimEvent::Crashed { node, .. } => format!("crash:    node {node} crashed"),
        SimEvent::Restarted { node } => format!("restart:  node {node} restarted from disk"),
        SimEvent::Disconnected { node } => format!("network:  node {node} disconnected"),
        SimEvent::Connected { node } => format!("network:  node {node} connected"),
        SimEvent::Partitioned { groups } => format!("network:  partition {groups:?}"),
        SimEvent::LinkCut { from, to } => format!("network:  link {from} -> {to} cut"),
        SimEvent::Healed => "network:  partitions healed".to_string(),
        SimEvent::Paused { node } => format!("pause:    node {node} paused"),
        SimEvent::Resumed { node } => format!("pause:    node {node} resumed"),
        SimEvent::SnapshotTaken { node, index } => {
            format!("snapshot: node {node} snapshotted up to {index}")
        }
        SimEvent::SnapshotInstalled { node, index } => {
            format!("snapshot: node {node} installed its leader's snapshot up to {index}")
        }
    }
}

/// Snapshots taken on a schedule are routine: the timeline shows the installs.
fn worth_showing(event: &SimEvent) -> bool {
    !matches!(event, SimEvent::SnapshotTaken { .. })
}

fn run(args: &Args) -> Result<(), String> {
    let mut config = SimConfig::new(args.nodes, args.seed);
    if args.snapshot_every > 0 {
        config = config.with_snapshots(args.snapshot_every);
        // About 3 KiB per snapshot: 3 chunks of 1 KiB each.
        config.snapshot_padding = 3_000;
    }
    config.batching = args.batching;
    let mut sim: Sim<u64> = Sim::new(config);
    sim.record_timeline(true);
    let mut faults = Faults::level(args.faults);
    if args.outage > 0 {
        // About one long outage per 20,000 ticks, besides the level's other faults.
        faults.outage_per_million = 50;
        faults.outage_ticks = args.outage;
    }
    say!(
        "pureraft simulate: {} nodes, {} ticks, seed {}, fault level {}, snapshot every {} entries{}",
        args.nodes,
        args.ticks,
        args.seed,
        args.faults,
        args.snapshot_every,
        if args.batching { ", batching hosts" } else { "" }
    );
    let mut next_command = 1;
    let report_every = (args.ticks / 10).max(1);
    for tick in 1..=args.ticks {
        sim.chaos_tick(&faults, &mut next_command);
        for (at, event) in sim.take_timeline() {
            if !args.quiet && worth_showing(&event) {
                say!("[tick {at:>7}] {}", describe(&event));
            }
        }
        if tick % report_every == 0 {
            let (everywhere, anywhere) = sim.applied_range();
            say!(
                "[tick {tick:>7}] progress: {anywhere} entries committed, {everywhere} applied on every running node"
            );
        }
    }
    say!(
        "[tick {:>7}] healing every fault: liveness phase",
        sim.now()
    );
    sim.heal_all();
    let index = sim.check_liveness(u64::MAX, sim.liveness_bound_ticks())?;
    for (at, event) in sim.take_timeline() {
        if !args.quiet {
            say!("[tick {at:>7}] {}", describe(&event));
        }
    }
    say!(
        "[tick {:>7}] liveness: a new command committed at index {index} on all {} nodes",
        sim.now(),
        args.nodes
    );
    let stats = sim.stats();
    say!("");
    say!("summary (seed {}):", args.seed);
    say!("  ticks simulated        {}", stats.ticks);
    say!("  steps                  {}", stats.steps);
    say!("  entries committed      {}", sim.committed().len());
    say!("  commands proposed      {}", next_command - 1);
    say!("  elections              {}", stats.elections);
    say!(
        "  messages               {} sent, {} delivered, {} lost, {} duplicated",
        stats.messages_sent,
        stats.messages_delivered,
        stats.messages_dropped,
        stats.messages_duplicated
    );
    say!(
        "  crashes                {} ({} part-way through a step), {} restarts",
        stats.crashes,
        stats.crashes_mid_batch,
        stats.restarts
    );
    say!("  partitions and pauses  {}", stats.partitions);
    say!(
        "  snapshots              {} taken, {} installed from a leader ({} chunks sent)",
        stats.snapshots_taken,
        stats.snapshots_installed,
        stats.snapshot_chunks_sent
    );
    say!(
        "  log held in memory     at most {} entries on any node",
        stats.peak_entries_held
    );
    if stats.down_node_ticks > 0 {
        let heartbeat_ticks = sim.config().node.heartbeat_ticks;
        let (messages, bytes) = stats.to_down_nodes_per_heartbeat(heartbeat_ticks);
        say!(
            "  to down nodes          {messages:.2} messages and {bytes:.0} bytes per heartbeat interval a node was down (largest {} bytes)",
            stats.largest_message_to_down_node
        );
    }
    if args.batching {
        say!(
            "  batching hosts         {} steps into a buffer still holding actions, {} actions left waiting after steps",
            stats.steps_into_waiting_buffer,
            stats.actions_left_waiting
        );
    }
    say!("  faults injected        {}", stats.faults());
    say!(
        "  invariant checks       {} (all passed)",
        stats.invariant_checks
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("error: {error}");
            }
            eprintln!(
                "usage: simulate [--nodes N] [--ticks T] [--seed S] [--faults 0-3] \
                 [--snapshot-every K] [--batching] [--outage TICKS] [--quiet]"
            );
            return ExitCode::from(2);
        }
    };
    let outcome = std::panic::catch_unwind(|| run(&args));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("FAILED: {failure}");
            eprintln!("replay: cargo run --release --example simulate -- --nodes {} --ticks {} --seed {} --faults {} --snapshot-every {} --outage {}{}", args.nodes, args.ticks, args.seed, args.faults, args.snapshot_every, args.outage, if args.batching { " --batching" } else { "" });
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("FAILED: invariant violation or panic (message above)");
            eprintln!("replay: cargo run --release --example simulate -- --nodes {} --ticks {} --seed {} --faults {} --snapshot-every {} --outage {}{}", args.nodes, args.ticks, args.seed, args.faults, args.snapshot_every, args.outage, if args.batching { " --batching" } else { "" });
            ExitCode::FAILURE
        }
    }
}
