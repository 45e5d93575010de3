//! TCP between nodes and to clients, on tokio: one listening socket per node for both; an
//! outgoing connection per peer, made and remade by its own task with backoff; a message to a
//! peer that is down, slow or unknown is dropped, never waited for (Raft repairs losses).

use std::collections::HashMap;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use pureraft::NodeId;
use tokio::io::BufWriter;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::api::{decode, encode, read_frame, write_frame, Hello, PeerFrame, Request, Response};

/// Messages queued for one peer at most; more are dropped while it does not keep up.
const PEER_QUEUE: usize = 4096;
/// The longest wait between two connection attempts to a peer.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How long a client connection waits for its request's answer from the node.
pub const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// What the network hands the node's thread.
#[derive(Debug)]
pub enum Input {
    /// A Raft message from peer `from`.
    Peer {
        /// The sender.
        from: NodeId,
        /// The message.
        message: PeerFrame,
    },
    /// A client's request, answered through `reply`.
    Client {
        /// The request.
        request: Request,
        /// Where its answer goes.
        reply: oneshot::Sender<Response>,
    },
}

/// The node's side of its outgoing connections: one queue per peer, each drained by a task.
pub struct Outbox {
    me: NodeId,
    runtime: Handle,
    addresses: HashMap<NodeId, String>,
    queues: HashMap<NodeId, mpsc::Sender<PeerFrame>>,
    /// Messages dropped because a peer's queue was full.
    pub dropped: u64,
}

impl Outbox {
    /// The outbox of node `me`, knowing the peers' `addresses`; tasks run on `runtime`.
    pub fn new(me: NodeId, runtime: Handle, addresses: HashMap<NodeId, String>) -> Self {
        Outbox {
            me,
            runtime,
            addresses,
            queues: HashMap::new(),
            dropped: 0,
        }
    }

    /// Node `id` listens at `addr` (from the replicated address book). A connection made to
    /// an older address is replaced.
    pub fn set_address(&mut self, id: NodeId, addr: &str) {
        if self.addresses.get(&id).map(String::as_str) != Some(addr) {
            self.addresses.insert(id, addr.to_string());
            self.queues.remove(&id); // Its task ends when it sees its queue closed.
        }
    }

    /// The address of node `id`, if known.
    pub fn address(&self, id: NodeId) -> Option<&str> {
        self.addresses.get(&id).map(String::as_str)
    }

    /// Queues `message` for `to`, or drops it (unknown address, full queue).
    pub fn send(&mut self, to: NodeId, message: PeerFrame) {
        if to == self.me {
            return;
        }
        if !self.queues.contains_key(&to) {
            let Some(addr) = self.addresses.get(&to).cloned() else {
                self.dropped += 1;
                return;
            };
            let (sender, receiver) = mpsc::channel(PEER_QUEUE);
            self.runtime.spawn(peer_task(self.me, addr, receiver));
            self.queues.insert(to, sender);
        }
        let queue = &self.queues[&to];
        if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(message) {
            self.dropped += 1;
        }
    }
}

/// Keeps a connection to one peer and writes the queued messages to it, batching what is
/// queued into one flush. While the peer cannot be reached, queued messages are dropped and
/// connection attempts back off from 25 ms to `MAX_BACKOFF`.
async fn peer_task(me: NodeId, addr: String, mut queue: mpsc::Receiver<PeerFrame>) {
    let mut backoff = Duration::from_millis(25);
    loop {
        let stream = match TcpStream::connect(&addr).await {
            Ok(stream) => stream,
            Err(_) => {
                loop {
                    match queue.try_recv() {
                        Ok(_) => {} // Dropped: the peer is unreachable.
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return,
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(25);
        let _ = stream.set_nodelay(true);
        let mut writer = BufWriter::new(stream);
        if write_frame(&mut writer, &encode(&Hello::Peer { from: me }))
            .await
            .is_err()
        {
            continue;
        }
        loop {
            let Some(message) = queue.recv().await else {
                return; // The node replaced or dropped this queue.
            };
            let mut result = write_frame(&mut writer, &encode(&message)).await;
            while result.is_ok() {
                match queue.try_recv() {
                    Ok(message) => result = write_frame(&mut writer, &encode(&message)).await,
                    Err(_) => break,
                }
            }
            if result.is_err() {
                break;
            }
            if tokio::io::AsyncWriteExt::flush(&mut writer).await.is_err() {
                break;
            }
        }
    }
}

/// Accepts connections forever: peers' messages and clients' requests go to the node's
/// thread through `inbox`; a full inbox drops a peer's message and answers a client
/// `Failed("busy")`.
pub async fn serve(listener: TcpListener, inbox: SyncSender<Input>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, inbox.clone()));
    }
}

async fn connection(stream: TcpStream, inbox: SyncSender<Input>) {
    let (mut reader, writer) = stream.into_split();
    let mut writer = BufWriter::new(writer);
    let Ok(Some(hello)) = read_frame(&mut reader).await else {
        return;
    };
    let Ok(hello) = decode::<Hello>(&hello) else {
        return;
    };
    match hello {
        Hello::Peer { from } => {
            while let Ok(Some(frame)) = read_frame(&mut reader).await {
                let Ok(message) = decode::<PeerFrame>(&frame) else {
                    return; // A peer that sends garbage is cut off.
                };
                if let Err(TrySendError::Disconnected(_)) =
                    inbox.try_send(Input::Peer { from, message })
                {
                    return;
                }
            }
        }
        Hello::Client => {
            while let Ok(Some(frame)) = read_frame(&mut reader).await {
                let response = match decode::<Request>(&frame) {
                    Ok(request) => ask(&inbox, request).await,
                    Err(error) => Response::Failed(format!("bad request: {error}")),
                };
                if write_frame(&mut writer, &encode(&response)).await.is_err()
                    || tokio::io::AsyncWriteExt::flush(&mut writer).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

async fn ask(inbox: &SyncSender<Input>, request: Request) -> Response {
    let is_write = request.is_write();
    let (reply, answer) = oneshot::channel();
    match inbox.try_send(Input::Client { request, reply }) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return Response::Failed("busy".into()),
        Err(TrySendError::Disconnected(_)) => return Response::Failed("node stopped".into()),
    }
    match tokio::time::timeout(CLIENT_WAIT, answer).await {
        Ok(Ok(response)) => response,
        _ if is_write => Response::Unknown("no answer from the node".into()),
        _ => Response::Failed("no answer from the node".into()),
    }
}
