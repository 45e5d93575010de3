//! The main job: a simulated 5-node pureraft cluster under faults, with a readable timeline.
//!
//! ```text
//! cargo run --release --example simulate -- [--nodes N] [--ticks T] [--seed S] [--faults 0-3]
//!     [--snapshot-every K] [--batching] [--outage TICKS] [--replace R] [--membership P]
//!     [--svg FILE [--from T1] [--to T2]] [--no-pre-vote] [--no-check-quorum] [--lease-reads]
//!     [--async-persistence D] [--apply-by-range] [--quiet]
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
//! and the summary reports what was sent to down nodes per heartbeat.
//!
//! Membership: by default the host replaces one founding node during the run, as an operator
//! replaces a machine (thesis §4.2): it starts a new node empty, adds it as a learner, waits
//! until it has caught up, promotes it, removes the old node and, once that is committed,
//! shuts the old node down; every step is retried until the committed log shows it, whatever
//! the faults. `--replace R` does this R times (0: never); `--membership P` adds random
//! membership changes (new learners, promotions, removals, joint changes of the voters) at P
//! per million ticks.
//!
//! Elections: PreVote and CheckQuorum are on, as `Config::new` has them; `--no-pre-vote` and
//! `--no-check-quorum` turn them off. `--lease-reads` serves reads under leases
//! (`Config::lease_reads`). `--async-persistence D` has the hosts write entries in the
//! background (`Config::async_persistence`), each write completing up to D ticks after it
//! starts, and a crash losing the writes still in flight. `--apply-by-range` hands committed
//! entries out as ranges the hosts read from their nodes (`Config::apply_by_range`). Every
//! invariant of ARCHITECTURE.md is checked after every step; on a violation it prints the
//! seed that replays the run and exits with status 1, with where it wrote the picture of the
//! run up to the failure.
//!
//! With `--svg FILE` it also writes the run's picture: one lane per node over time, its role
//! as coloured bars (a leader's names its term), its commit index as a line, crashes,
//! restarts, snapshot installs and membership changes as marks (hover for details), and
//! partitions, cut links and pauses as shaded spans; `--from`/`--to` draw only those ticks.

use std::io::Write;
use std::process::ExitCode;

use pureraft::sim::{Faults, Sim, SimConfig, SimEvent};
use pureraft::{MembershipChange, NodeId};

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
    pre_vote: bool,
    check_quorum: bool,
    lease_reads: bool,
    async_writes: Option<u64>,
    apply_by_range: bool,
    outage: u64,
    replace: u64,
    membership: u32,
    svg: Option<String>,
    from: Option<u64>,
    to: Option<u64>,
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
        pre_vote: true,
        check_quorum: true,
        lease_reads: false,
        async_writes: None,
        apply_by_range: false,
        outage: 0,
        replace: 1,
        membership: 0,
        svg: None,
        from: None,
        to: None,
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
        if flag == "--no-pre-vote" {
            args.pre_vote = false;
            continue;
        }
        if flag == "--no-check-quorum" {
            args.check_quorum = false;
            continue;
        }
        if flag == "--lease-reads" {
            args.lease_reads = true;
            continue;
        }
        if flag == "--apply-by-range" {
            args.apply_by_range = true;
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
            "--replace" => args.replace = number("--replace")?,
            "--membership" => args.membership = number("--membership")? as u32,
            "--async-persistence" => args.async_writes = Some(number("--async-persistence")?),
            "--svg" => args.svg = Some(value.clone()),
            "--from" => args.from = Some(number("--from")?),
            "--to" => args.to = Some(number("--to")?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(1..=15).contains(&args.nodes) {
        return Err("--nodes must be between 1 and 15".into());
    }
    if (args.from.is_some() || args.to.is_some()) && args.svg.is_none() {
        return Err("--from and --to choose what --svg draws: give --svg FILE".into());
    }
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from >= to {
            return Err("--from must be below --to".into());
        }
    }
    Ok(args)
}

fn describe(event: &SimEvent) -> String {
    match event {
        SimEvent::LeaderElected { node, term } => {
            format!("election: node {node} leads term {term}")
        }
        SimEvent::TransferStarted { from, to } => {
            format!("transfer: leader {from} hands leadership over to node {to}")
        }
        SimEvent::TransferAborted { from, to } => {
            format!("transfer: leader {from}'s transfer to node {to} timed out; it still leads")
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
        SimEvent::NodeAdded { node } => {
            format!("member:   node {node} started empty, to join")
        }
        SimEvent::MembershipProposed {
            leader,
            index,
            membership,
        } => format!(
            "member:   node {leader} appended configuration {} at {index}",
            membership
        ),
        SimEvent::MembershipCommitted { index, membership } => format!(
            "member:   configuration {} at {index} committed",
            membership
        ),
        SimEvent::Retired { node } => format!("member:   node {node} shut down for good"),
    }
}

/// Where a replacement stands; each stage ends when the committed log shows its change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Add `new` as a learner.
    Add,
    /// Wait until the learner has caught up with the leader.
    CatchUp,
    /// Promote it to voter.
    Promote,
    /// Remove the old node.
    Remove,
    /// Done: the old node is retired as soon as no configuration counts on it.
    Done,
    /// Given up: another change (the random ones of `--membership`) retired the new node, or
    /// removed it before it was promoted. A host never asks to add a node it has shut down for
    /// good.
    Abandoned,
}

/// The host replacing node `old` by node `new` (the operator's runbook of the README).
struct Replacement {
    old: NodeId,
    new: NodeId,
    stage: Stage,
    /// The tick of the last change a leader accepted for the current stage: the host waits a
    /// while for it to commit before asking again (the entry may be lost with its leader).
    asked_at: Option<u64>,
    started_at: u64,
}

/// A learner is caught up once it is at most this many entries behind the leader's log.
const CAUGHT_UP_ENTRIES: u64 = 20;
/// How long the host waits for an accepted change to commit before asking again.
const RETRY_TICKS: u64 = 300;

impl Replacement {
    /// Starts replacing a founding voter that is still a voter: a new node is started empty.
    fn start(sim: &mut Sim<u64>) -> Option<Self> {
        let committed = sim.latest_committed_membership();
        if committed.is_joint() {
            return None;
        }
        let old = *committed
            .voters
            .iter()
            .find(|&&id| id <= sim.config().nodes as NodeId)?;
        let new = sim.add_node();
        say!(
            "[tick {:>7}] host:     replacing node {old} by new node {new}",
            sim.now()
        );
        Some(Replacement {
            old,
            new,
            stage: Stage::Add,
            asked_at: None,
            started_at: sim.now(),
        })
    }

    /// One tick of the runbook.
    fn step(&mut self, sim: &mut Sim<u64>) {
        let committed = sim.latest_committed_membership();
        let lost = sim.is_retired(self.new)
            || (matches!(self.stage, Stage::CatchUp | Stage::Promote)
                && !committed.contains(self.new));
        if lost && !matches!(self.stage, Stage::Done | Stage::Abandoned) {
            say!(
                "[tick {:>7}] host:     replacing node {} by node {} abandoned: another change removed node {}",
                sim.now(),
                self.old,
                self.new,
                self.new
            );
            self.stage = Stage::Abandoned;
            return;
        }
        let done = match self.stage {
            Stage::Add => committed.contains(self.new),
            Stage::CatchUp => self.caught_up(sim),
            Stage::Promote => committed.is_voter(self.new),
            Stage::Remove => !committed.contains(self.old),
            Stage::Done => {
                // The removed node is shut down once no configuration counts on it: a node
                // that is down may still hold one naming it, and the random changes of
                // `--membership` may name it again.
                sim.retire_if_removed(self.old);
                return;
            }
            Stage::Abandoned => return,
        };
        if done {
            self.asked_at = None;
            self.stage = match self.stage {
                Stage::Add => Stage::CatchUp,
                Stage::CatchUp => {
                    say!(
                        "[tick {:>7}] host:     learner {} caught up, promoting it",
                        sim.now(),
                        self.new
                    );
                    Stage::Promote
                }
                Stage::Promote => Stage::Remove,
                _ => {
                    sim.retire_if_removed(self.old);
                    say!(
                        "[tick {:>7}] host:     node {} replaced node {} in {} ticks",
                        sim.now(),
                        self.new,
                        self.old,
                        sim.now() - self.started_at
                    );
                    Stage::Done
                }
            };
            return;
        }
        if self.stage == Stage::CatchUp
            || self.asked_at.is_some_and(|at| sim.now() < at + RETRY_TICKS)
        {
            return;
        }
        let Some(leader) = sim.believed_leader() else {
            return;
        };
        let change = match self.stage {
            Stage::Add => MembershipChange::AddLearner(self.new),
            Stage::Promote => MembershipChange::Promote(self.new),
            _ => MembershipChange::Remove(self.old),
        };
        // Refusals (a pending change, no commit in the leader's term yet, a stale leader)
        // are retried on the next tick.
        if sim.change_membership(leader, change).is_ok() {
            self.asked_at = Some(sim.now());
        }
    }

    /// The leader's log holds the learner within `CAUGHT_UP_ENTRIES` entries.
    fn caught_up(&self, sim: &Sim<u64>) -> bool {
        let Some(leader) = sim.believed_leader().and_then(|id| sim.raft(id)) else {
            return false;
        };
        leader
            .lag(self.new)
            .is_some_and(|lag| lag <= CAUGHT_UP_ENTRIES)
    }
}

/// Snapshots taken on a schedule are routine: the timeline shows the installs.
/// Asks the leader, if there is one, to hand leadership to the next voter after it; answers
/// (leader, voter) if it started.
fn transfer_from_leader(sim: &mut Sim<u64>) -> Option<(NodeId, NodeId)> {
    let leader = sim.believed_leader()?;
    let voters = sim.raft(leader)?.membership().voters.clone();
    let position = voters.iter().position(|&voter| voter == leader)?;
    let to = voters[(position + 1) % voters.len()];
    if to == leader {
        return None;
    }
    sim.transfer_leadership(leader, to).ok()?;
    Some((leader, to))
}

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
    config.node.pre_vote = args.pre_vote;
    config.node.check_quorum = args.check_quorum;
    config.node.lease_reads = args.lease_reads;
    config.node.apply_by_range = args.apply_by_range;
    if let Some(delay) = args.async_writes {
        config = config.with_async_persistence(delay);
    }
    let mut sim: Sim<u64> = Sim::new(config);
    sim.record_timeline(true);
    let mut faults = Faults::level(args.faults);
    if args.outage > 0 {
        // About one long outage per 20,000 ticks, besides the level's other faults.
        faults.outage_per_million = 50;
        faults.outage_ticks = args.outage;
    }
    faults.membership_per_million = args.membership;
    say!(
        "pureraft simulate: {} nodes, {} ticks, seed {}, fault level {}, snapshot every {} entries{}{}{}{}{}{}",
        args.nodes,
        args.ticks,
        args.seed,
        args.faults,
        args.snapshot_every,
        if args.batching { ", batching hosts" } else { "" },
        if args.pre_vote { "" } else { ", no PreVote" },
        if args.check_quorum { "" } else { ", no CheckQuorum" },
        if args.lease_reads { ", lease reads" } else { "" },
        match args.async_writes {
            Some(delay) => format!(", asynchronous entry writes (up to {delay} ticks)"),
            None => String::new(),
        },
        if args.apply_by_range { ", ranges applied" } else { "" }
    );
    let mut next_command = 1;
    let report_every = (args.ticks / 10).max(1);
    // The replacements start evenly spread over the first two thirds of the run.
    let replace_every = (2 * args.ticks / 3 / args.replace.max(1)).max(1);
    let mut replacements: Vec<Replacement> = Vec::new();
    // At mid-run the host hands leadership over from the leader to another voter (thesis
    // §3.10), as an operator does before restarting the leader's machine: asked each tick
    // until a leader accepts.
    let mut demo_transfer: Option<(NodeId, NodeId)> = None;
    for tick in 1..=args.ticks {
        if demo_transfer.is_none() && tick >= args.ticks / 2 {
            demo_transfer = transfer_from_leader(&mut sim);
            if let Some((leader, to)) = demo_transfer.filter(|_| !args.quiet) {
                say!(
                    "[tick {:>7}] host:     asked leader {leader} to hand leadership over to node {to}",
                    sim.now()
                );
            }
        }
        let started = replacements.len() as u64;
        let busy = replacements
            .last()
            .is_some_and(|r| !matches!(r.stage, Stage::Done | Stage::Abandoned));
        if started < args.replace && !busy && tick >= replace_every / 2 + started * replace_every {
            replacements.extend(Replacement::start(&mut sim));
        }
        for replacement in &mut replacements {
            replacement.step(&mut sim);
        }
        sim.chaos_tick(&faults, &mut next_command);
        for (at, event) in sim.take_timeline() {
            if !args.quiet && worth_showing(&event) {
                say!("[tick {at:>7}] {}", describe(&event));
            }
        }
        if tick % report_every == 0 {
            let (everywhere, anywhere) = sim.applied_range();
            let stats = sim.stats();
            say!(
                "[tick {tick:>7}] progress: {anywhere} entries committed, {everywhere} applied on every running node; reads: {} ready, {} failed so far",
                stats.reads_ready,
                stats.reads_failed
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
    let members = sim.committed_membership(index);
    say!(
        "[tick {:>7}] liveness: a new command committed at index {index} on every member of {}",
        sim.now(),
        members
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
        "  reads                  {} asked, {} ready (each read index checked against every \
         write committed before it was asked{}), {} failed (to retry)",
        stats.reads_asked,
        stats.reads_ready,
        if args.lease_reads {
            format!("; {} at once, under a lease", stats.reads_ready_at_once)
        } else {
            String::new()
        },
        stats.reads_failed
    );
    say!(
        "  leadership transfers   {} started ({} by the host at mid-run), {} timed out",
        stats.transfers_started,
        u64::from(demo_transfer.is_some()),
        stats.transfers_aborted
    );
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
    let replaced: Vec<String> = replacements
        .iter()
        .filter(|r| r.stage == Stage::Done)
        .map(|r| format!("{} by {}", r.old, r.new))
        .collect();
    say!(
        "  membership             {} nodes added, {} replaced ({}), {} retired; {} changes accepted, {} refused, {} configurations committed",
        stats.nodes_added,
        replaced.len(),
        if replaced.is_empty() { "none".to_string() } else { replaced.join(", ") },
        stats.nodes_retired,
        stats.membership_changes_accepted,
        stats.membership_changes_refused,
        stats.configurations_committed
    );
    say!("  final configuration    {}", members);
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
    if args.async_writes.is_some() {
        say!(
            "  asynchronous writes    {} reports of durable writes, {} writes in flight lost at crashes",
            stats.writes_reported,
            stats.entry_writes_lost
        );
    }
    say!("  faults injected        {}", stats.faults());
    if let Some(path) = &args.svg {
        let window = (args.from.is_some() || args.to.is_some())
            .then(|| (args.from.unwrap_or(0), args.to.unwrap_or(sim.now())));
        sim.write_svg(path, window)
            .map_err(|error| format!("cannot write {path}: {error}"))?;
        say!("  picture                {path}");
    }
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
                 [--snapshot-every K] [--batching] [--outage TICKS] [--replace R] \
                 [--membership P] [--svg FILE [--from T1] [--to T2]] [--no-pre-vote] \
                 [--no-check-quorum] [--lease-reads] [--async-persistence D] \
                 [--apply-by-range] [--quiet]"
            );
            return ExitCode::from(2);
        }
    };
    let outcome = std::panic::catch_unwind(|| run(&args));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("FAILED: {failure}");
            eprintln!("replay: {}", replay_command(&args));
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("FAILED: invariant violation or panic (message above)");
            eprintln!("replay: {}", replay_command(&args));
            ExitCode::FAILURE
        }
    }
}

/// The command that replays the run `args` describe, every option included.
fn replay_command(args: &Args) -> String {
    let mut command = format!(
        "cargo run --release --example simulate -- --nodes {} --ticks {} --seed {} --faults {} \
         --snapshot-every {} --outage {} --replace {} --membership {}",
        args.nodes,
        args.ticks,
        args.seed,
        args.faults,
        args.snapshot_every,
        args.outage,
        args.replace,
        args.membership
    );
    let flags = [
        (args.batching, " --batching"),
        (!args.pre_vote, " --no-pre-vote"),
        (!args.check_quorum, " --no-check-quorum"),
        (args.lease_reads, " --lease-reads"),
        (args.apply_by_range, " --apply-by-range"),
    ];
    for (on, flag) in flags {
        if on {
            command.push_str(flag);
        }
    }
    if let Some(delay) = args.async_writes {
        command.push_str(&format!(" --async-persistence {delay}"));
    }
    command
}
