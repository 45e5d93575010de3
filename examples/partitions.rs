//! The partial failures of `pureraft::sim::scenarios`, with and without PreVote and
//! CheckQuorum: commands committed, leaders elected and terms used during the fault's window,
//! summed over seeds. The README's table comes from here.
//!
//! ```text
//! cargo run --release --features sim --example partitions -- [--seeds N]
//! ```

use std::process::ExitCode;

use pureraft::sim::scenarios::{self, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds = match args.as_slice() {
        [] => 20,
        [flag, n] if flag == "--seeds" => match n.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("--seeds needs a positive number");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: partitions [--seeds N]");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} nodes, {} ticks per window (100 election timeouts), a command every {} ticks to \
         each leader, {seeds} seeds; per seed: commits / elections / terms (leader at the end \
         is the one before the fault, of {seeds} runs)",
        scenarios::NODES,
        scenarios::WINDOW_TICKS,
        scenarios::PROPOSE_EVERY_TICKS
    );
    println!(
        "| scenario | without PreVote and CheckQuorum | with them (the defaults) |\n|---|---|---|"
    );
    for scenario in Scenario::ALL {
        let cell = |elections: bool| {
            let outcomes: Vec<_> = (0..seeds)
                .map(|seed| scenarios::run(scenario, elections, seed))
                .collect();
            let mean = |f: fn(&scenarios::Outcome) -> u64| {
                outcomes.iter().map(f).sum::<u64>() as f64 / seeds as f64
            };
            let kept = outcomes
                .iter()
                .filter(|outcome| outcome.first_leader_leads_at_end)
                .count();
            format!(
                "{:.0} commits, {:.1} elections, {:.1} terms; first leader kept {kept}/{seeds}",
                mean(|o| o.commits),
                mean(|o| o.elections),
                mean(|o| o.terms)
            )
        };
        println!(
            "| {} | {} | {} |",
            scenario.describe(),
            cell(false),
            cell(true)
        );
    }
    ExitCode::SUCCESS
}
