//! Load for the figures: `clients` concurrent clients, each with its own connection, putting
//! (or reading) keys as fast as answers come back, for a fixed time.

use std::time::{Duration, Instant};

use crate::api::{Request, Response};
use crate::client::Client;

/// What a load run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Operations answered `Ok` or with a value.
    pub ops: u64,
    /// Operations not done (refused, unknown).
    pub failed: u64,
    /// The run's length.
    pub seconds: f64,
    /// Median latency of the operations done, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
}

/// Runs `clients` clients against `servers` for `length`: puts of 16-byte values to 1,000
/// keys, or (`reads`) gets of them.
pub async fn load(servers: Vec<String>, clients: usize, length: Duration, reads: bool) -> Report {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client_id in 0..clients {
        let servers = servers.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(servers);
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            let mut n = 0u64;
            while start.elapsed() < length {
                n += 1;
                let key = format!("k{}", (client_id as u64 * 7919 + n) % 1000);
                let request = if reads {
                    Request::Get { key }
                } else {
                    Request::Put {
                        key,
                        value: format!("{client_id:08}{n:08}"),
                    }
                };
                let began = Instant::now();
                match client.call(&request, Duration::from_secs(5)).await {
                    Response::Ok | Response::Value(_) => latencies.push(began.elapsed()),
                    _ => failed += 1,
                }
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        if let Ok((mut done, refused)) = task.await {
            latencies.append(&mut done);
            failed += refused;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    };
    Report {
        ops: latencies.len() as u64,
        failed,
        seconds,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    }
}
