//! A cluster of `kv server` processes on loopback for the integration tests, and the fault
//! hooks they drive.

#![allow(dead_code)] // Each test crate uses a different part.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pureraft_kv::api::{Request, Response};
use pureraft_kv::client::Client;

/// Nodes per cluster.
pub const NODES: u64 = 3;

/// Three `kv server` processes, their data under a temporary directory.
pub struct Cluster {
    dir: PathBuf,
    /// Each node's address, node `i` at `i - 1`.
    pub addrs: Vec<String>,
    children: Vec<Option<Child>>,
    lease_reads: bool,
    async_persistence: bool,
}

impl Cluster {
    /// Starts the three nodes (`--lease-reads` if asked) in a fresh directory named after `name`.
    pub fn start(name: &str, lease_reads: bool) -> Cluster {
        Cluster::start_with(name, lease_reads, false)
    }

    /// [`Cluster::start`], with `--async-persistence` if asked.
    pub fn start_with(name: &str, lease_reads: bool, async_persistence: bool) -> Cluster {
        let dir = std::env::temp_dir().join(format!("pureraft-kv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Free ports: bound and released at once (loopback only).
        let addrs: Vec<String> = (0..NODES)
            .map(|_| {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().to_string()
            })
            .collect();
        let mut cluster = Cluster {
            dir,
            addrs,
            children: (0..NODES).map(|_| None).collect(),
            lease_reads,
            async_persistence,
        };
        for id in 1..=NODES {
            cluster.spawn(id);
        }
        cluster
    }

    /// Adds a node with the next id, started empty to join (`--join`), and answers its id.
    /// The cluster learns its address when the leader is asked to add it.
    pub fn add_node(&mut self) -> u64 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        self.addrs.push(listener.local_addr().unwrap().to_string());
        drop(listener);
        self.children.push(None);
        let id = self.addrs.len() as u64;
        self.spawn(id);
        id
    }

    /// Starts node `id` from its data directory: a founding node knows the founders'
    /// addresses (its bootstrap voters), a node added later every address and joins.
    pub fn spawn(&mut self, id: u64) {
        let known = if id <= NODES {
            NODES
        } else {
            self.addrs.len() as u64
        };
        let peers: Vec<String> = (1..=known)
            .map(|peer| format!("{peer}={}", self.addrs[peer as usize - 1]))
            .collect();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{id}.log")))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_kv"));
        command
            .args(["server", "--id", &id.to_string()])
            .args(["--listen", &self.addrs[id as usize - 1]])
            .args(["--peers", &peers.join(",")])
            .arg("--data-dir")
            .arg(self.dir.join(format!("node-{id}")))
            .args(["--snapshot-every", "200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if self.lease_reads {
            command.arg("--lease-reads");
        }
        if self.async_persistence {
            command.arg("--async-persistence");
        }
        if id > NODES {
            command.arg("--join");
        }
        self.children[id as usize - 1] = Some(command.spawn().unwrap());
    }

    /// SIGKILL: the process dies at once, with whatever its disk holds.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children[id as usize - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True if node `id`'s process runs.
    pub fn is_up(&self, id: u64) -> bool {
        self.children[id as usize - 1].is_some()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=self.children.len() as u64 {
            self.kill(id);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends a request to one node only (no redirects): the fault hook, status.
pub async fn ask(addr: &str, request: Request) -> Response {
    Client::new(vec![addr.to_string()])
        .call(&request, Duration::from_millis(300))
        .await
}

/// Cuts `node` off from the others, both ways, through the servers' fault hook.
pub async fn isolate(cluster_addrs: &[String], node: u64) {
    for (k, addr) in cluster_addrs.iter().enumerate() {
        let id = k as u64 + 1;
        let from = if id == node {
            (1..=NODES).filter(|&other| other != node).collect()
        } else {
            vec![node]
        };
        ask(addr, Request::Isolate { from }).await;
    }
}

/// Restores every link.
pub async fn heal(cluster_addrs: &[String]) {
    for addr in cluster_addrs {
        ask(addr, Request::Isolate { from: vec![] }).await;
    }
}

/// Waits until the cluster has a leader: a first write (`ready` = 1) succeeds, within 30 s.
pub async fn wait_for_leader(addrs: &[String]) {
    let mut client = Client::new(addrs.to_vec());
    let request = Request::Put {
        key: "ready".into(),
        value: "1".into(),
    };
    let start = Instant::now();
    while client.call(&request, Duration::from_secs(2)).await != Response::Ok {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no leader elected"
        );
    }
}
