//! A client: one connection at a time, to the leader it was last sent to, following
//! `NotLeader` redirects. A write whose answer is lost (the connection broke after it was
//! sent) is reported `Unknown`, never retried: it may have been applied.

use std::io;
use std::time::Duration;

use tokio::io::BufWriter;
use tokio::net::TcpStream;

use crate::api::{decode, encode, read_frame, write_frame, Hello, Request, Response};

/// How long one request waits for its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(12);

/// A client of the cluster.
pub struct Client {
    servers: Vec<String>,
    /// The server tried next (index into `servers`), or the leader's address last given.
    target: String,
    next: usize,
    connection: Option<(
        tokio::net::tcp::OwnedReadHalf,
        BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    )>,
}

impl Client {
    /// A client of the servers at `servers` (any of them; it finds the leader).
    pub fn new(servers: Vec<String>) -> Self {
        let target = servers.first().cloned().unwrap_or_default();
        Client {
            servers,
            target,
            next: 1,
            connection: None,
        }
    }

    /// Sends `request` and answers the response, following redirects for up to `patience`.
    /// A write whose connection broke after it was sent answers `Unknown`.
    pub async fn call(&mut self, request: &Request, patience: Duration) -> Response {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let response = match self.once(request).await {
                Ok(response) => response,
                Err(Sent::No) => Response::NotLeader {
                    leader: None,
                    addr: None,
                },
                Err(Sent::Maybe(error)) if request.is_write() => {
                    return Response::Unknown(format!("connection lost: {error}"));
                }
                Err(Sent::Maybe(_)) => Response::NotLeader {
                    leader: None,
                    addr: None,
                },
            };
            let retry = match &response {
                Response::NotLeader { addr, .. } => {
                    match addr {
                        Some(addr) if *addr != self.target => self.target = addr.clone(),
                        _ => self.rotate(),
                    }
                    self.connection = None;
                    true
                }
                Response::Failed(reason) if reason == "busy" => true,
                _ => false,
            };
            if !retry || tokio::time::Instant::now() >= deadline {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn rotate(&mut self) {
        if !self.servers.is_empty() {
            self.target = self.servers[self.next % self.servers.len()].clone();
            self.next += 1;
        }
    }

    /// One request on the current connection (made first if needed).
    async fn once(&mut self, request: &Request) -> Result<Response, Sent> {
        if self.connection.is_none() {
            let stream =
                tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(&self.target))
                    .await
                    .map_err(|_| Sent::No)?
                    .map_err(|_| Sent::No)?;
            let _ = stream.set_nodelay(true);
            let (reader, writer) = stream.into_split();
            let mut writer = BufWriter::new(writer);
            write_frame(&mut writer, &encode(&Hello::Client))
                .await
                .map_err(|_| Sent::No)?;
            self.connection = Some((reader, writer));
        }
        let (reader, writer) = self.connection.as_mut().expect("connected above");
        let sent = async {
            write_frame(writer, &encode(request)).await?;
            tokio::io::AsyncWriteExt::flush(writer).await
        };
        if sent.await.is_err() {
            // Part of the request may have left: it may be applied.
            self.connection = None;
            return Err(Sent::Maybe(io::Error::other("write failed")));
        }
        let answer = tokio::time::timeout(ANSWER_WAIT, read_frame(reader)).await;
        let result = match answer {
            Ok(Ok(Some(frame))) => decode::<Response>(&frame).map_err(Sent::Maybe),
            Ok(Ok(None)) => Err(Sent::Maybe(io::Error::other("connection closed"))),
            Ok(Err(error)) => Err(Sent::Maybe(error)),
            Err(_) => Err(Sent::Maybe(io::Error::other("no answer in time"))),
        };
        if result.is_err() {
            self.connection = None;
        }
        result
    }
}

/// Why a request got no answer.
enum Sent {
    /// It never left: no connection.
    No,
    /// It may have reached the server.
    Maybe(io::Error),
}
