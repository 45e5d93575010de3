//! What crosses the wire: the first frame of every connection (`Hello`), client requests and
//! responses, the commands the log carries, and the frame format (a 4-byte big-endian length,
//! then the postcard encoding of the value).

use std::io;

use pureraft::{Message, NodeId};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest frame accepted, in bytes: a longer length prefix closes the connection (a
/// peer cannot make a node allocate without bound).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// The first frame on every connection: who is calling.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Hello {
    /// Node `from` will send Raft messages on this connection (never answered on it).
    Peer {
        /// The sending node.
        from: NodeId,
    },
    /// A client will send requests, one at a time, each answered in order.
    Client,
}

/// A peer's frame after its `Hello`.
pub type PeerFrame = Message<Vec<u8>>;

/// A client request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Request {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Reads `key`, linearizably (ReadIndex, or the leader's lease if the cluster runs with
    /// `--lease-reads`).
    Get {
        /// The key.
        key: String,
    },
    /// Removes `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Sets `key` to `new` if its value is `expected` (`None`: absent).
    Cas {
        /// The key.
        key: String,
        /// The value it must have.
        expected: Option<String>,
        /// The value it gets.
        new: String,
    },
    /// Adds node `id`, listening at `addr`, as a learner: its address is replicated first,
    /// then the configuration change.
    AddLearner {
        /// The new node.
        id: NodeId,
        /// Where it listens.
        addr: String,
    },
    /// Makes learner `id` a voter.
    Promote {
        /// The learner.
        id: NodeId,
    },
    /// Removes node `id` from the cluster.
    Remove {
        /// The node.
        id: NodeId,
    },
    /// Hands leadership over to voter `to`.
    Transfer {
        /// The next leader.
        to: NodeId,
    },
    /// The node's view of the cluster.
    Status,
    /// Fault hook for tests: drop every message to and from these nodes (empty: heal).
    Isolate {
        /// The nodes this one stops talking to.
        from: Vec<NodeId>,
    },
}

impl Request {
    /// True for the requests that change the state machine or the configuration: their
    /// outcome may be unknown after a timeout (they may still be applied).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Request::Get { .. } | Request::Status | Request::Isolate { .. }
        )
    }
}

/// The answer to a request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Response {
    /// Done: a write applied, a change committed, a transfer started, a hook set.
    Ok,
    /// The value read (`None`: absent).
    Value(Option<String>),
    /// A `Cas`'s outcome: whether it swapped.
    Swapped(bool),
    /// Not done, and never will be: this node does not lead (or could not serve the read);
    /// retry at `leader` (its address in `addr`) if known.
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
        /// Its address, if known.
        addr: Option<String>,
    },
    /// Not done, and never will be, for the reason given (a refused change, too many writes
    /// waiting, a read that timed out): retry later.
    Failed(String),
    /// The write was accepted but its outcome is not known (leadership lost, or no commit in
    /// time): it may still be applied, or never.
    Unknown(String),
    /// The node's view (`Request::Status`).
    Status(Status),
}

/// What `Request::Status` answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// The node.
    pub id: NodeId,
    /// Its role, as `Role`'s debug name.
    pub role: String,
    /// Its term.
    pub term: u64,
    /// The leader it knows.
    pub leader: Option<NodeId>,
    /// Its commit index.
    pub commit: u64,
    /// Its applied index.
    pub applied: u64,
    /// The voters of its configuration in force.
    pub voters: Vec<NodeId>,
    /// The learners of its configuration in force.
    pub learners: Vec<NodeId>,
    /// Files and directories fsynced by its log since it started.
    pub fsyncs: u64,
}

/// A command in the log: what a write becomes once proposed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Command {
    /// `Request::Put`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `Request::Delete`.
    Delete {
        /// The key.
        key: String,
    },
    /// `Request::Cas`.
    Cas {
        /// The key.
        key: String,
        /// The value it must have.
        expected: Option<String>,
        /// The value it gets.
        new: String,
    },
    /// Node `id` listens at `addr` (replicated before it is added, so every node can reach it).
    Address {
        /// The node.
        id: NodeId,
        /// Its address.
        addr: String,
    },
}

/// Encodes a value as postcard bytes.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("postcard encodes every value of these types")
}

/// Decodes postcard bytes, as an `InvalidData` error if they do not decode.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Writes one frame: the length, then the bytes.
pub async fn write_frame<W: AsyncWriteExt + Unpin>(writer: &mut W, bytes: &[u8]) -> io::Result<()> {
    let length = u32::try_from(bytes.len())
        .ok()
        .filter(|&length| length as usize <= MAX_FRAME_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    writer.write_all(&length.to_be_bytes()).await?;
    writer.write_all(bytes).await?;
    Ok(())
}

/// Reads one frame's bytes; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {length} bytes, above {MAX_FRAME_BYTES}"),
        ));
    }
    let mut bytes = vec![0u8; length];
    reader.read_exact(&mut bytes).await?;
    Ok(Some(bytes))
}
