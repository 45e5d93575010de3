//! `kv`: a replicated key-value service on pureraft.
//!
//! ```text
//! kv cluster [--nodes 3] [--base-port 7101] [--dir kv-data] [--lease-reads]
//!            [--async-persistence]
//! kv server --id ID --listen ADDR --peers 1=ADDR,2=ADDR,3=ADDR --data-dir DIR [--join]
//!           [--tick-ms 10] [--lease-reads] [--async-persistence] [--snapshot-every N]
//! kv [--servers ADDR,ADDR,...] put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED NEW
//!           | add-learner ID ADDR | promote ID | remove ID | transfer ID | status
//! kv bench [--servers ...] [--clients N] [--seconds S] [--op put|get]
//! ```
//!
//! `cluster` starts one `server` process per node on loopback and stops them on Ctrl-C, on
//! SIGTERM, or when its standard input closes. In `cas`, `-` as EXPECTED means absent.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use pureraft::NodeId;
use pureraft_kv::api::{Request, Response};
use pureraft_kv::bench;
use pureraft_kv::client::Client;
use pureraft_kv::node::{Host, Options};
use pureraft_kv::transport::serve;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("server") => server(&args[1..]),
        Some("cluster") => cluster(&args[1..]),
        Some("bench") => run_bench(&args[1..]),
        Some("-h") | Some("--help") | None => Err(usage()),
        Some(_) => client(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: kv cluster [--nodes N] [--base-port P] [--dir DIR] [--lease-reads] \
     [--async-persistence]\n\
     \x20      kv server --id ID --listen ADDR --peers ID=ADDR,... --data-dir DIR [--join] \
     [--tick-ms MS] [--lease-reads] [--async-persistence] [--snapshot-every N]\n\
     \x20      kv [--servers ADDR,...] put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED|- NEW\n\
     \x20         | add-learner ID ADDR | promote ID | remove ID | transfer ID | status\n\
     \x20      kv bench [--servers ADDR,...] [--clients N] [--seconds S] [--op put|get]"
        .to_string()
}

/// Flags `--name value` and bare flags, in any order.
struct Flags {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
    rest: Vec<String>,
}

fn flags(args: &[String], switch_names: &[&str]) -> Result<Flags, String> {
    let mut flags = Flags {
        values: BTreeMap::new(),
        switches: Vec::new(),
        rest: Vec::new(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(name) = arg.strip_prefix("--") {
            if switch_names.contains(&name) {
                flags.switches.push(name.to_string());
            } else {
                let value = iter.next().ok_or(format!("--{name} needs a value"))?;
                flags.values.insert(name.to_string(), value.clone());
            }
        } else {
            flags.rest.push(arg.clone());
        }
    }
    Ok(flags)
}

impl Flags {
    fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            Some(value) => value.parse().map_err(|_| format!("bad --{name}: {value}")),
            None => Ok(default),
        }
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or(format!("--{name} is required\n{}", usage()))
    }

    fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|switch| switch == name)
    }
}

fn parse_peers(spec: &str) -> Result<BTreeMap<NodeId, String>, String> {
    spec.split(',')
        .map(|peer| {
            let (id, addr) = peer
                .split_once('=')
                .ok_or(format!("bad peer {peer}: want ID=ADDR"))?;
            let id: NodeId = id.parse().map_err(|_| format!("bad peer id {id}"))?;
            Ok((id, addr.to_string()))
        })
        .collect()
}

fn server(args: &[String]) -> Result<(), String> {
    let flags = flags(args, &["join", "lease-reads", "async-persistence"])?;
    let id: NodeId = flags.required("id")?.parse().map_err(|_| "bad --id")?;
    let listen = flags.required("listen")?.to_string();
    let peers = parse_peers(flags.required("peers")?)?;
    let data_dir = PathBuf::from(flags.required("data-dir")?);
    let mut options = Options::new(id, peers, data_dir);
    options.join = flags.switch("join");
    options.lease_reads = flags.switch("lease-reads");
    options.async_persistence = flags.switch("async-persistence");
    options.tick = Duration::from_millis(flags.get("tick-ms", 10)?);
    options.snapshot_every = flags.get("snapshot-every", options.snapshot_every)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&listen))
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let host = Host::open(options, runtime.handle().clone())
        .map_err(|error| format!("cannot open the node's log: {error}"))?;
    let (inbox, inputs) = sync_channel(8192);
    runtime.spawn(serve(listener, inbox));
    eprintln!("node {id} listening on {listen}");
    // The node and its disk on this thread; the network on the runtime's workers.
    host.run(inputs)
        .map_err(|error| format!("node {id} stopped: {error}"))
}

fn cluster(args: &[String]) -> Result<(), String> {
    let flags = flags(args, &["lease-reads", "async-persistence"])?;
    let nodes: u64 = flags.get("nodes", 3)?;
    let base_port: u16 = flags.get("base-port", 7101)?;
    let dir = PathBuf::from(flags.get("dir", "kv-data".to_string())?);
    let peers: Vec<String> = (1..=nodes)
        .map(|id| format!("{id}=127.0.0.1:{}", base_port + id as u16 - 1))
        .collect();
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut children: Vec<Child> = Vec::new();
    for id in 1..=nodes {
        let data_dir = dir.join(format!("node-{id}"));
        std::fs::create_dir_all(&data_dir).map_err(|error| error.to_string())?;
        let log = std::fs::File::create(dir.join(format!("node-{id}.log")))
            .map_err(|error| error.to_string())?;
        let mut command = Command::new(&exe);
        command
            .args(["server", "--id", &id.to_string()])
            .args([
                "--listen",
                &format!("127.0.0.1:{}", base_port + id as u16 - 1),
            ])
            .args(["--peers", &peers.join(",")])
            .arg("--data-dir")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for switch in ["lease-reads", "async-persistence"] {
            if flags.switch(switch) {
                command.arg(format!("--{switch}"));
            }
        }
        children.push(command.spawn().map_err(|error| error.to_string())?);
    }
    let servers: Vec<String> = (1..=nodes)
        .map(|id| format!("127.0.0.1:{}", base_port + id as u16 - 1))
        .collect();
    println!(
        "{nodes} nodes on {}; data and logs in {}; try: kv --servers {} put a 1",
        servers.join(", "),
        dir.display(),
        servers.join(",")
    );
    println!("stop with Ctrl-C, or by closing standard input");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .is_ok_and(|read| read > 0)
            {
                sink.clear();
            }
        });
        #[cfg(unix)]
        let terminated = async {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut terminate) => {
                    terminate.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
            _ = stdin_closed => {}
        }
    });
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    println!("cluster stopped");
    Ok(())
}

fn servers(flags: &Flags) -> Vec<String> {
    match flags.values.get("servers") {
        Some(list) => list.split(',').map(String::from).collect(),
        None => (0..3).map(|k| format!("127.0.0.1:{}", 7101 + k)).collect(),
    }
}

fn client(args: &[String]) -> Result<(), String> {
    let flags = flags(args, &[])?;
    let words: Vec<&str> = flags.rest.iter().map(String::as_str).collect();
    let id = |word: &str| {
        word.parse::<NodeId>()
            .map_err(|_| format!("bad node id {word}"))
    };
    let request = match words.as_slice() {
        ["put", key, value] => Request::Put {
            key: key.to_string(),
            value: value.to_string(),
        },
        ["get", key] => Request::Get {
            key: key.to_string(),
        },
        ["delete", key] => Request::Delete {
            key: key.to_string(),
        },
        ["cas", key, expected, new] => Request::Cas {
            key: key.to_string(),
            expected: (*expected != "-").then(|| expected.to_string()),
            new: new.to_string(),
        },
        ["add-learner", node, addr] => Request::AddLearner {
            id: id(node)?,
            addr: addr.to_string(),
        },
        ["promote", node] => Request::Promote { id: id(node)? },
        ["remove", node] => Request::Remove { id: id(node)? },
        ["transfer", node] => Request::Transfer { to: id(node)? },
        ["status"] => Request::Status,
        _ => return Err(usage()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let response = runtime.block_on(async {
        if request == Request::Status {
            // Status is per node: ask each.
            let mut lines = Vec::new();
            for server in servers(&flags) {
                let mut client = Client::new(vec![server.clone()]);
                let response = client.call(&request, Duration::from_millis(500)).await;
                lines.push(format!("{server}: {response:?}"));
            }
            return Ok(lines.join("\n"));
        }
        let mut client = Client::new(servers(&flags));
        match client.call(&request, Duration::from_secs(10)).await {
            Response::Ok => Ok("ok".to_string()),
            Response::Value(Some(value)) => Ok(value),
            Response::Value(None) => Ok("(absent)".to_string()),
            Response::Swapped(swapped) => {
                Ok(if swapped { "swapped" } else { "not swapped" }.into())
            }
            Response::Status(status) => Ok(format!("{status:?}")),
            Response::NotLeader { .. } => Err("no leader reachable".to_string()),
            Response::Failed(reason) => Err(format!("failed: {reason}")),
            Response::Unknown(reason) => Err(format!("outcome unknown: {reason}")),
        }
    })?;
    println!("{response}");
    Ok(())
}

fn run_bench(args: &[String]) -> Result<(), String> {
    let flags = flags(args, &[])?;
    let clients: usize = flags.get("clients", 16)?;
    let seconds: u64 = flags.get("seconds", 10)?;
    let op = flags.get("op", "put".to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let started = Instant::now();
    let report = runtime.block_on(bench::load(
        servers(&flags),
        clients,
        Duration::from_secs(seconds),
        op == "get",
    ));
    println!(
        "{clients} clients, {op}, {:.1} s: {} ops, {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
        started.elapsed().as_secs_f64(),
        report.ops,
        report.ops as f64 / report.seconds,
        report.p50_ms,
        report.p99_ms,
        report.failed
    );
    Ok(())
}
