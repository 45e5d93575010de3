//! Replacing a machine through the client commands, end to end over TCP: a fourth node
//! started empty is added as a learner (its address replicated first), catches up, is
//! promoted; leadership is handed to it; node 1 is removed. Every step answers `Ok`, the
//! data written before is read back from the new node, and every node agrees on the new
//! configuration.

mod common;

use std::time::{Duration, Instant};

use pureraft_kv::api::{Request, Response};
use pureraft_kv::client::Client;

use common::{ask, Cluster};

async fn status(addr: &str) -> pureraft_kv::api::Status {
    match ask(addr, Request::Status).await {
        Response::Status(status) => status,
        other => panic!("status of {addr}: {other:?}"),
    }
}

#[test]
fn replace_a_node_and_hand_leadership_over() {
    let mut cluster = Cluster::start("membership", false);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let founders = cluster.addrs.clone();
    let mut client = Client::new(founders.clone());
    let call = |client: &mut Client, request: Request| {
        runtime.block_on(client.call(&request, Duration::from_secs(10)))
    };
    for k in 0..50 {
        let put = Request::Put {
            key: format!("k{k}"),
            value: format!("v{k}"),
        };
        assert_eq!(call(&mut client, put), Response::Ok);
    }
    let new = cluster.add_node();
    let addr = cluster.addrs[new as usize - 1].clone();
    let add = Request::AddLearner {
        id: new,
        addr: addr.clone(),
    };
    assert_eq!(call(&mut client, add), Response::Ok);
    // The learner catches up: its applied index reaches the leader's commit.
    let start = Instant::now();
    loop {
        let learner = runtime.block_on(status(&addr));
        let leader = runtime.block_on(status(&founders[0]));
        if learner.learners.contains(&new) && learner.applied >= leader.commit.min(51) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the learner did not catch up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        call(&mut client, Request::Promote { id: new }),
        Response::Ok
    );
    assert_eq!(
        call(&mut client, Request::Transfer { to: new }),
        Response::Ok
    );
    let start = Instant::now();
    while runtime.block_on(status(&addr)).role != "Leader" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the transfer did not complete"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(call(&mut client, Request::Remove { id: 1 }), Response::Ok);
    // Read back through the new node, and check every remaining node's configuration.
    let mut at_new = Client::new(vec![addr.clone()]);
    for k in [0, 25, 49] {
        let get = Request::Get {
            key: format!("k{k}"),
        };
        assert_eq!(
            call(&mut at_new, get),
            Response::Value(Some(format!("v{k}")))
        );
    }
    let start = Instant::now();
    for node in [&founders[1], &founders[2], &addr] {
        loop {
            let status = runtime.block_on(status(node));
            if status.voters == vec![2, 3, new] && status.leader == Some(new) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{node} never saw the new configuration: {status:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    cluster.kill(1);
}
