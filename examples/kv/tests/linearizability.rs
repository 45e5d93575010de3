//! The KV service under faults, checked for linearizability: three `kv server` processes on
//! loopback, concurrent clients doing put, get, delete and cas on a few keys, while a nemesis
//! kills nodes with SIGKILL (`kill -9`) and restarts them from their disks, and cuts nodes off
//! through the servers' own fault hook (`Request::Isolate`). The clients' history (every
//! call and answer, with times; writes whose outcome was lost kept as indeterminate) is then
//! checked by `pureraft_kv::lincheck`, after a last round of reads once every fault is healed:
//! nothing acknowledged may be lost.
//!
//! `cargo test` runs it for `KV_LINCHECK_SECONDS` (default 12) seconds of faults, with
//! ReadIndex reads, with lease reads, and with ReadIndex reads and asynchronous persistence
//! (each node's own entry writes synced after its sends, and lost if SIGKILL strikes first);
//! `examples/kv/lincheck.sh` runs it at length.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pureraft_kv::api::{Request, Response};
use pureraft_kv::client::Client;
use pureraft_kv::lincheck::{self, Event, Op, Verdict};

use common::{heal, isolate, wait_for_leader, Cluster, NODES};

const CLIENTS: u64 = 6;
const KEYS: u64 = 5;

/// A small deterministic generator (xorshift) per client.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Stats {
    kills: AtomicU64,
    isolations: AtomicU64,
}

async fn client_loop(
    client_id: u64,
    addrs: Vec<String>,
    start: Instant,
    until: Instant,
    history: Arc<Mutex<Vec<Event>>>,
) {
    let mut rng = Rng(0x9e37_79b9 ^ ((client_id + 1) * 0x1234_5677));
    let mut client = Client::new(addrs.clone());
    // Half of the reads go to a random node, follower or not: a follower forwards them to the
    // leader (ReadIndex) and serves them once it has applied that far.
    let mut replicas: Vec<Client> = addrs
        .iter()
        .map(|addr| Client::new(vec![addr.clone()]))
        .collect();
    let mut n = 0;
    let now = || start.elapsed().as_micros() as u64;
    while Instant::now() < until {
        n += 1;
        let key = format!("k{}", rng.next() % KEYS);
        let value = format!("c{client_id}-{n}");
        let (request, op) = match rng.next() % 10 {
            0..=3 => (
                Request::Get { key: key.clone() },
                Op::Get {
                    key: key.clone(),
                    result: None,
                },
            ),
            4..=6 => (
                Request::Put {
                    key: key.clone(),
                    value: value.clone(),
                },
                Op::Put {
                    key: key.clone(),
                    value: value.clone(),
                },
            ),
            7 => (
                Request::Delete { key: key.clone() },
                Op::Delete { key: key.clone() },
            ),
            _ => {
                // Swap from what it last read, or from absent.
                let expected = (rng.next() % 2 == 0)
                    .then(|| format!("c{}-{}", rng.next() % CLIENTS, rng.next() % 20));
                (
                    Request::Cas {
                        key: key.clone(),
                        expected: expected.clone(),
                        new: value.clone(),
                    },
                    Op::Cas {
                        key: key.clone(),
                        expected,
                        new: value.clone(),
                        result: None,
                    },
                )
            }
        };
        let call = now();
        let response = match request {
            Request::Get { .. } if rng.next() % 2 == 0 => {
                let replica = (rng.next() % NODES) as usize;
                replicas[replica]
                    .call(&request, Duration::from_millis(500))
                    .await
            }
            _ => client.call(&request, Duration::from_secs(3)).await,
        };
        let ret = now();
        let event = match (op, response) {
            (Op::Get { key, .. }, Response::Value(value)) => Some(Event {
                client: client_id,
                op: Op::Get {
                    key,
                    result: Some(value),
                },
                call,
                ret: Some(ret),
            }),
            (op @ (Op::Put { .. } | Op::Delete { .. }), Response::Ok) => Some(Event {
                client: client_id,
                op,
                call,
                ret: Some(ret),
            }),
            (
                Op::Cas {
                    key, expected, new, ..
                },
                Response::Swapped(swapped),
            ) => Some(Event {
                client: client_id,
                op: Op::Cas {
                    key,
                    expected,
                    new,
                    result: Some(swapped),
                },
                call,
                ret: Some(ret),
            }),
            // The outcome of a write is lost: it may take effect at any time after the call.
            (op, Response::Unknown(_)) if !matches!(op, Op::Get { .. }) => {
                client = Client::new(addrs.clone());
                Some(Event {
                    client: client_id,
                    op,
                    call,
                    ret: None,
                })
            }
            // Refused (not applied, never will be) or a read not served: no effect.
            _ => None,
        };
        if let Some(event) = event {
            history.lock().unwrap().push(event);
        }
        tokio::time::sleep(Duration::from_millis(rng.next() % 4)).await;
    }
}

fn run(name: &str, lease_reads: bool, async_persistence: bool) {
    let seconds: u64 = std::env::var("KV_LINCHECK_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(12);
    let mut cluster = Cluster::start_with(name, lease_reads, async_persistence);
    let addrs = cluster.addrs.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let history = Arc::new(Mutex::new(Vec::new()));
    let stats = Stats {
        kills: AtomicU64::new(0),
        isolations: AtomicU64::new(0),
    };
    let start = Instant::now();
    runtime.block_on(wait_for_leader(&addrs));
    let until = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client_id| {
            runtime.spawn(client_loop(
                client_id,
                addrs.clone(),
                start,
                until,
                history.clone(),
            ))
        })
        .collect();
    // The nemesis, on this thread: a fault about every 1.5 s, each healed after 0.5-1.5 s.
    // Seeds whose first faults are kills and isolations in turn (this generator's low bits
    // follow its seed's closely).
    let seed = u64::from(lease_reads) ^ if async_persistence { 5 } else { 0 };
    let mut rng = Rng(0xdead_beef ^ seed);
    while Instant::now() + Duration::from_millis(1500) < until {
        std::thread::sleep(Duration::from_millis(700 + rng.next() % 800));
        let victim = 1 + rng.next() % NODES;
        if rng.next() % 2 == 0 {
            cluster.kill(victim);
            stats.kills.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(300 + rng.next() % 1000));
            cluster.spawn(victim);
        } else {
            runtime.block_on(isolate(&addrs, victim));
            stats.isolations.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(800 + rng.next() % 1500));
            runtime.block_on(heal(&addrs));
        }
    }
    for client in clients {
        runtime.block_on(client).unwrap();
    }
    // Every fault healed: every node up, no link cut; then each key read once more.
    for id in 1..=NODES {
        if !cluster.is_up(id) {
            cluster.spawn(id);
        }
    }
    runtime.block_on(heal(&addrs));
    runtime.block_on(async {
        let mut client = Client::new(addrs.clone());
        for key in 0..KEYS {
            let key = format!("k{key}");
            let call = start.elapsed().as_micros() as u64;
            let response = client
                .call(&Request::Get { key: key.clone() }, Duration::from_secs(20))
                .await;
            let Response::Value(value) = response else {
                panic!("{name}: the healed cluster did not serve a read of {key}: {response:?}");
            };
            history.lock().unwrap().push(Event {
                client: CLIENTS,
                op: Op::Get {
                    key,
                    result: Some(value),
                },
                call,
                ret: Some(start.elapsed().as_micros() as u64),
            });
        }
    });
    let history = history.lock().unwrap().clone();
    let indeterminate = history.iter().filter(|event| event.ret.is_none()).count();
    let verdict = lincheck::check(&history, 50_000_000);
    eprintln!(
        "{name}: {} operations ({} indeterminate) by {CLIENTS} clients on {KEYS} keys in {seconds} s; \
         {} kills, {} isolations; verdict {verdict:?}",
        history.len(),
        indeterminate,
        stats.kills.load(Ordering::Relaxed),
        stats.isolations.load(Ordering::Relaxed),
    );
    assert_eq!(verdict, Verdict::Linearizable, "{name}");
    assert!(
        history.len() > 100,
        "{name}: too few operations to judge ({})",
        history.len()
    );
}

#[test]
fn linearizable_under_kill_9_and_partitions_with_read_index() {
    run("readindex", false, false);
}

#[test]
fn linearizable_under_kill_9_and_partitions_with_lease_reads() {
    run("lease", true, false);
}

#[test]
fn linearizable_under_kill_9_and_partitions_with_async_persistence() {
    run("async", false, true);
}
