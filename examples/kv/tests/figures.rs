//! The KV service's figures on this machine, with fsync (ignored by `cargo test`; run by
//! `examples/kv/figures.sh`): writes per second and latency for 1, 16 and 256 concurrent
//! clients, with synchronous and with asynchronous persistence (`--async-persistence`),
//! reads per second by ReadIndex and under leases, and the time a cluster whose leader was
//! killed with SIGKILL takes to accept writes again.

mod common;

use std::time::{Duration, Instant};

use pureraft_kv::api::{Request, Response};
use pureraft_kv::bench::{load, Report};
use pureraft_kv::client::Client;

use common::{ask, wait_for_leader, Cluster, NODES};

fn seconds() -> u64 {
    std::env::var("KV_FIGURES_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10)
}

async fn leader(addrs: &[String]) -> Option<u64> {
    for addr in addrs {
        if let Response::Status(status) = ask(addr, Request::Status).await {
            if status.role == "Leader" {
                return Some(status.id);
            }
        }
    }
    None
}

async fn fsyncs(addr: &str) -> u64 {
    match ask(addr, Request::Status).await {
        Response::Status(status) => status.fsyncs,
        _ => 0,
    }
}

fn row(what: &str, clients: usize, report: &Report) {
    println!(
        "| {what} | {clients} | {:.0} | {:.2} | {:.2} | {} |",
        report.ops as f64 / report.seconds,
        report.p50_ms,
        report.p99_ms,
        report.failed
    );
}

#[test]
#[ignore = "minutes of load: run by examples/kv/figures.sh"]
fn figures() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let length = Duration::from_secs(seconds());
    println!("| workload | clients | ops/s | p50 ms | p99 ms | not done |");
    println!("|---|---|---|---|---|---|");
    let mut failovers = Vec::new();
    // Synchronous persistence (writes, ReadIndex reads, failover), asynchronous (writes),
    // lease reads.
    for (name, lease_reads, async_persistence) in [
        ("fig", false, false),
        ("fig-async", false, true),
        ("fig-lease", true, false),
    ] {
        let mut cluster = Cluster::start_with(name, lease_reads, async_persistence);
        let addrs = cluster.addrs.clone();
        runtime.block_on(wait_for_leader(&addrs));
        let put = if async_persistence {
            "put (async)"
        } else {
            "put"
        };
        if !lease_reads {
            for clients in [1, 16, 256] {
                let leader = runtime.block_on(leader(&addrs)).expect("a leader");
                let before = runtime.block_on(fsyncs(&addrs[leader as usize - 1]));
                let report = runtime.block_on(load(addrs.clone(), clients, length, false));
                let after = runtime.block_on(fsyncs(&addrs[leader as usize - 1]));
                row(put, clients, &report);
                println!(
                    "|   (leader's fsyncs per put: {:.3}) | | | | | |",
                    (after - before) as f64 / report.ops.max(1) as f64
                );
            }
        }
        for clients in [16, 256] {
            if async_persistence {
                break; // Reads do not write: the synchronous figures stand for both.
            }
            let report = runtime.block_on(load(addrs.clone(), clients, length, true));
            let what = if lease_reads {
                "get (lease)"
            } else {
                "get (ReadIndex)"
            };
            row(what, clients, &report);
        }
        if !lease_reads && !async_persistence {
            // Kill the leader; time until a write is accepted again; restart it; five times.
            for _ in 0..5 {
                let old = runtime.block_on(leader(&addrs)).expect("a leader");
                cluster.kill(old);
                let killed = Instant::now();
                runtime.block_on(async {
                    let mut client = Client::new(addrs.clone());
                    let request = Request::Put {
                        key: "failover".into(),
                        value: "1".into(),
                    };
                    while client.call(&request, Duration::from_millis(50)).await != Response::Ok {}
                });
                failovers.push(killed.elapsed());
                cluster.spawn(old);
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        for id in 1..=NODES {
            cluster.kill(id);
        }
    }
    failovers.sort();
    println!(
        "\nwrites accepted again after the leader's SIGKILL (5 times): median {:.0} ms, \
         min {:.0} ms, max {:.0} ms",
        failovers[2].as_secs_f64() * 1000.0,
        failovers[0].as_secs_f64() * 1000.0,
        failovers[4].as_secs_f64() * 1000.0
    );
}
