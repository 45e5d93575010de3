//! The host loop: one thread owns the `Raft` node, its write-ahead log and the state machine.
//! It is the model the crate's README points to; each step of it is the contract:
//!
//! - **Time.** Ticks come from a monotonic clock (`Instant`): before every batch of inputs the
//!   loop steps every tick whose time has come, so a read is never stepped with ticks owed,
//!   even after the process was stopped (`Config::lease_drift_ticks`).
//! - **Batching.** The inputs waiting are drained together; the client writes among them go
//!   to the node as one `Event::ProposeBatch`, so they share one append per follower and one
//!   fsync.
//! - **The ordering rule.** Actions are carried out in order. `Persist` records are written to
//!   the log's buffer and made durable (one `sync`, one fsync) before the first later action
//!   that is not a `Persist`: one fsync per run of records, never one per entry.
//! - **Asynchronous persistence** (`--async-persistence`, `Config::async_persistence`).
//!   `Persist::Entries` records go to the log's buffer and the later actions are carried out
//!   at once: a leader's appends leave before its own fsync. Once the batch of inputs is
//!   handled, one fsync makes every record durable and the host steps `Event::Persisted` for
//!   the last entry written, with the term of the last hard state it wrote. Hard state and
//!   snapshots keep the synchronous rule.
//! - **Clients.** A write is answered when its entry is applied: `Ok`/`Swapped` if the entry
//!   at its index is the one proposed (same term), `Failed` if another took its place (it will
//!   never apply); a write still unapplied after `write_timeout` is answered `Unknown`. A read
//!   is answered once the state machine has applied the index `ReadReady` gave.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pureraft::{
    Action, Config, Event, LogIndex, Membership, MembershipChange, NodeId, Payload, Persist,
    ProposeError, Raft, ReadError, Restored, Snapshot, Term, TransferError,
};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::api::{decode, encode, Command, Request, Response, Status};
use crate::state::Store;
use crate::transport::{Input, Outbox};
use crate::wal::Wal;

/// How a node runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// This node.
    pub id: NodeId,
    /// Every founding node's address (this one's included), by id.
    pub peers: BTreeMap<NodeId, String>,
    /// Where its log and snapshots live.
    pub data_dir: PathBuf,
    /// Started empty to join a running cluster (`Restored::default()`) rather than founding.
    pub join: bool,
    /// The length of a tick.
    pub tick: Duration,
    /// `Config::election_ticks`.
    pub election_ticks: u64,
    /// `Config::heartbeat_ticks`.
    pub heartbeat_ticks: u64,
    /// `Config::lease_reads`.
    pub lease_reads: bool,
    /// `Config::async_persistence`.
    pub async_persistence: bool,
    /// Snapshot the state machine after this many applied entries.
    pub snapshot_every: u64,
    /// A write not applied within this long is answered `Unknown`.
    pub write_timeout: Duration,
}

impl Options {
    /// Defaults for node `id` of `peers`: 10 ms ticks, elections after 300-600 ms, a heartbeat
    /// every 50 ms, ReadIndex reads, a snapshot every 10,000 entries, writes answered within 5 s.
    pub fn new(id: NodeId, peers: BTreeMap<NodeId, String>, data_dir: PathBuf) -> Self {
        Options {
            id,
            peers,
            data_dir,
            join: false,
            tick: Duration::from_millis(10),
            election_ticks: 30,
            heartbeat_ticks: 5,
            lease_reads: false,
            async_persistence: false,
            snapshot_every: 10_000,
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// A write waiting for its entry to be applied.
struct PendingWrite {
    term: Term,
    reply: oneshot::Sender<Response>,
    deadline: Instant,
    /// After an `Address` entry: the change that adds the node, proposed once it is applied.
    then: Option<MembershipChange>,
}

/// What a step's outcome answers.
enum Awaiting {
    Nothing,
    /// One reply per command of a `ProposeBatch`, in order.
    Batch(Vec<oneshot::Sender<Response>>),
    /// One proposal (a command or a change), with what follows it.
    One(oneshot::Sender<Response>, Option<MembershipChange>),
    /// A transfer's start.
    Transfer(oneshot::Sender<Response>),
}

/// The node's thread state.
pub struct Host {
    options: Options,
    node: Raft<Vec<u8>>,
    wal: Wal,
    store: Store,
    applied: LogIndex,
    outbox: Outbox,
    out: Vec<Action<Vec<u8>>>,
    /// Records written to the log's buffer that must be synced before the next action that
    /// is not a `Persist`.
    dirty: bool,
    /// Asynchronous persistence: the last entry written to the log's buffer and not yet
    /// reported durable, with the term it was written in.
    unreported: Option<(LogIndex, Term)>,
    /// The term of the last hard state written (or restored): what a report names.
    hard_term: Term,
    writes: BTreeMap<LogIndex, PendingWrite>,
    reads: HashMap<u64, (String, oneshot::Sender<Response>)>,
    /// Reads confirmed at an index not applied yet.
    /// Each with the time after which it fails (the node fell behind and cannot apply).
    ready: BTreeMap<LogIndex, Vec<(String, oneshot::Sender<Response>, Instant)>>,
    next_context: u64,
    /// Snapshots taken, waiting for their `Persist::Snapshot`.
    taken: BTreeMap<LogIndex, Vec<u8>>,
    since_snapshot: u64,
    isolated: HashSet<NodeId>,
    /// Events to step once the current step's actions are all carried out (a change that
    /// follows an applied entry): stepping them earlier would put their actions before the
    /// rest of the current step's.
    deferred: Vec<(Event<Vec<u8>>, Awaiting)>,
    start: Instant,
    ticks: u64,
}

impl Host {
    /// Opens the node's log (recovering a torn tail), bootstraps a founding node at its first
    /// start, and builds the node from what the log holds.
    pub fn open(options: Options, runtime: Handle) -> io::Result<Host> {
        let (mut wal, recovered) = Wal::open(&options.data_dir)?;
        if recovered.truncated_bytes > 0 {
            eprintln!(
                "node {}: cut a torn or corrupt tail of {} bytes from the log",
                options.id, recovered.truncated_bytes
            );
        }
        let mut restored = recovered.restored;
        if recovered.fresh && !options.join {
            let membership = Membership::new(options.peers.keys().copied());
            wal.bootstrap(&membership)?;
            wal.sync()?;
            restored = Restored::bootstrap(options.peers.keys().copied());
        }
        let (store, applied) = match &restored.snapshot {
            Some(snapshot) => (Store::restore(&snapshot.data)?, snapshot.meta.last_index),
            None => (Store::default(), 0),
        };
        let mut config = Config::new(options.id);
        config.election_ticks = options.election_ticks;
        config.heartbeat_ticks = options.heartbeat_ticks;
        config.lease_reads = options.lease_reads;
        config.async_persistence = options.async_persistence;
        config.max_uncommitted_entries = 100_000;
        // A new seed at every start: a node that restarts draws new election timeouts.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        config.seed = options.id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ nanos;
        let hard_term = restored.hard_state.term;
        let node = Raft::new(config, restored)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
        let mut addresses: HashMap<NodeId, String> = options
            .peers
            .iter()
            .map(|(&id, addr)| (id, addr.clone()))
            .collect();
        for id in node.membership().members() {
            if let Some(addr) = store.address(id) {
                addresses.insert(id, addr.to_string());
            }
        }
        let outbox = Outbox::new(options.id, runtime, addresses);
        Ok(Host {
            options,
            node,
            wal,
            store,
            applied,
            outbox,
            out: Vec::new(),
            dirty: false,
            unreported: None,
            hard_term,
            writes: BTreeMap::new(),
            reads: HashMap::new(),
            ready: BTreeMap::new(),
            next_context: 0,
            taken: BTreeMap::new(),
            since_snapshot: 0,
            isolated: HashSet::new(),
            deferred: Vec::new(),
            start: Instant::now(),
            ticks: 0,
        })
    }

    /// Runs until `inbox` closes or the disk fails (an error: the node must not go on).
    pub fn run(mut self, inbox: Receiver<Input>) -> io::Result<()> {
        let mut inputs = Vec::new();
        loop {
            let next_tick = self.start + self.options.tick * (self.ticks as u32 + 1);
            let wait = next_tick.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(wait) {
                Ok(input) => inputs.push(input),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            while inputs.len() < 4096 {
                match inbox.try_recv() {
                    Ok(input) => inputs.push(input),
                    Err(_) => break,
                }
            }
            // Every tick whose time has come, before any input (the lease contract).
            let due = (self.start.elapsed().as_nanos() / self.options.tick.as_nanos()) as u64;
            while self.ticks < due {
                self.ticks += 1;
                self.step(Event::Tick, Awaiting::Nothing)?;
            }
            self.handle(&mut inputs)?;
            self.expire();
            self.sync_and_report()?;
        }
    }

    /// Makes every record written durable with one fsync and, with asynchronous persistence,
    /// reports the entries among them to the node; until the report's own step writes
    /// nothing more (a committed joint configuration, left at once, appends an entry).
    fn sync_and_report(&mut self) -> io::Result<()> {
        while self.dirty || self.unreported.is_some() {
            self.wal.sync()?;
            self.dirty = false;
            if let Some((index, term)) = self.unreported.take() {
                self.step(Event::Persisted { index, term }, Awaiting::Nothing)?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, inputs: &mut Vec<Input>) -> io::Result<()> {
        let mut commands = Vec::new();
        let mut replies = Vec::new();
        for input in inputs.drain(..) {
            match input {
                Input::Peer { from, message } => {
                    if !self.isolated.contains(&from) {
                        self.step(Event::Receive { from, message }, Awaiting::Nothing)?;
                    }
                }
                Input::Client { request, reply } => match request {
                    Request::Put { key, value } => {
                        commands.push(encode(&Command::Put { key, value }));
                        replies.push(reply);
                    }
                    Request::Delete { key } => {
                        commands.push(encode(&Command::Delete { key }));
                        replies.push(reply);
                    }
                    Request::Cas { key, expected, new } => {
                        commands.push(encode(&Command::Cas { key, expected, new }));
                        replies.push(reply);
                    }
                    other => self.request(other, reply)?,
                },
            }
        }
        if !commands.is_empty() {
            let event = if commands.len() == 1 {
                Event::Propose(commands.pop().expect("one command"))
            } else {
                Event::ProposeBatch(commands)
            };
            let awaiting = if replies.len() == 1 {
                Awaiting::One(replies.pop().expect("one reply"), None)
            } else {
                Awaiting::Batch(replies)
            };
            self.step(event, awaiting)?;
        }
        Ok(())
    }

    fn request(&mut self, request: Request, reply: oneshot::Sender<Response>) -> io::Result<()> {
        match request {
            Request::Get { key } => {
                self.next_context += 1;
                let context = self.next_context;
                self.reads.insert(context, (key, reply));
                self.step(Event::Read { context }, Awaiting::Nothing)
            }
            Request::AddLearner { id, addr } => {
                self.outbox.set_address(id, &addr);
                let command = encode(&Command::Address { id, addr });
                let then = Some(MembershipChange::AddLearner(id));
                self.step(Event::Propose(command), Awaiting::One(reply, then))
            }
            Request::Promote { id } => self.change(MembershipChange::Promote(id), reply),
            Request::Remove { id } => self.change(MembershipChange::Remove(id), reply),
            Request::Transfer { to } => {
                self.step(Event::TransferLeadership { to }, Awaiting::Transfer(reply))
            }
            Request::Status => {
                let membership = self.node.membership();
                let _ = reply.send(Response::Status(Status {
                    id: self.node.id(),
                    role: format!("{:?}", self.node.role()),
                    term: self.node.term(),
                    leader: self.node.leader(),
                    commit: self.node.commit_index(),
                    applied: self.applied,
                    voters: membership.voters.clone(),
                    learners: membership.learners.clone(),
                    fsyncs: self.wal.stats().1,
                }));
                Ok(())
            }
            Request::Isolate { from } => {
                self.isolated = from.into_iter().collect();
                let _ = reply.send(Response::Ok);
                Ok(())
            }
            Request::Put { .. } | Request::Delete { .. } | Request::Cas { .. } => {
                unreachable!("writes are batched by `handle`")
            }
        }
    }

    fn change(
        &mut self,
        change: MembershipChange,
        reply: oneshot::Sender<Response>,
    ) -> io::Result<()> {
        let membership_index = self.node.membership_index();
        let event = Event::ChangeMembership {
            change,
            membership_index,
        };
        self.step(event, Awaiting::One(reply, None))
    }

    /// Steps one event and carries out its actions in order.
    fn step(&mut self, event: Event<Vec<u8>>, mut awaiting: Awaiting) -> io::Result<()> {
        self.node.step_into(event, &mut self.out);
        let mut actions = std::mem::take(&mut self.out);
        for action in actions.drain(..) {
            self.carry_out(action, &mut awaiting)?;
        }
        self.out = actions; // Keeps the buffer's capacity.
        for (event, awaiting) in std::mem::take(&mut self.deferred) {
            self.step(event, awaiting)?;
        }
        if self.since_snapshot >= self.options.snapshot_every {
            self.take_snapshot()?;
        }
        Ok(())
    }

    fn carry_out(&mut self, action: Action<Vec<u8>>, awaiting: &mut Awaiting) -> io::Result<()> {
        if let Action::Persist(persist) = action {
            match &persist {
                Persist::Snapshot(meta) => {
                    let data = self.taken.remove(&meta.last_index).ok_or_else(|| {
                        io::Error::other("a Persist::Snapshot for a snapshot never taken")
                    })?;
                    self.taken.retain(|&index, _| index > meta.last_index);
                    self.wal.store_snapshot(meta, &data)?;
                }
                Persist::Entries(entries) if self.options.async_persistence => {
                    // In the background: synced at the end of the batch, then reported.
                    self.wal.append(&persist)?;
                    let last = entries.last().expect("a write is never empty");
                    self.unreported = Some((last.index, self.hard_term));
                    return Ok(());
                }
                Persist::HardState(hard_state) => {
                    self.hard_term = hard_state.term;
                    self.wal.append(&persist)?;
                }
                _ => self.wal.append(&persist)?,
            }
            self.dirty = true;
            return Ok(());
        }
        // The ordering rule: every record before this action is durable first.
        if self.dirty {
            self.wal.sync()?;
            self.dirty = false;
        }
        match action {
            Action::Persist(_) => unreachable!("handled above"),
            Action::Send { to, message } if !self.isolated.contains(&to) => {
                self.outbox.send(to, message);
            }
            Action::Send { .. } => {} // The test's fault hook cut this link.
            Action::Apply(entries) => {
                for entry in entries {
                    self.apply(entry.index, entry.term, entry.payload)?;
                }
                self.serve_ready();
            }
            Action::ProposalAccepted { index, term } => {
                if let Awaiting::One(reply, then) = std::mem::replace(awaiting, Awaiting::Nothing) {
                    self.await_write(index, term, reply, then);
                }
            }
            Action::BatchAccepted {
                first_index,
                last_index,
                term,
            } => {
                if let Awaiting::Batch(replies) = std::mem::replace(awaiting, Awaiting::Nothing) {
                    for (index, reply) in (first_index..=last_index).zip(replies) {
                        self.await_write(index, term, reply, None);
                    }
                }
            }
            Action::ProposalRejected(error) => {
                let response = self.refusal(&error);
                match std::mem::replace(awaiting, Awaiting::Nothing) {
                    Awaiting::One(reply, _) => {
                        let _ = reply.send(response);
                    }
                    Awaiting::Batch(replies) => {
                        for reply in replies {
                            let _ = reply.send(response.clone());
                        }
                    }
                    Awaiting::Transfer(_) | Awaiting::Nothing => {}
                }
            }
            Action::InstallSnapshot(snapshot) => self.install(&snapshot)?,
            Action::SnapshotRefused(error) => {
                eprintln!("node {}: snapshot refused: {error}", self.options.id);
            }
            Action::ReadReady { context, index } => {
                if let Some((key, reply)) = self.reads.remove(&context) {
                    if index <= self.applied {
                        let _ = reply.send(Response::Value(self.store.get(&key)));
                    } else {
                        let deadline = Instant::now() + self.options.write_timeout;
                        let waiting = (key, reply, deadline);
                        self.ready.entry(index).or_default().push(waiting);
                    }
                }
            }
            Action::ReadFailed { context, error } => {
                if let Some((_, reply)) = self.reads.remove(&context) {
                    let _ = reply.send(self.read_refusal(error));
                }
            }
            Action::TransferStarted { .. } => {
                if let Awaiting::Transfer(reply) = std::mem::replace(awaiting, Awaiting::Nothing) {
                    let _ = reply.send(Response::Ok);
                }
            }
            Action::TransferRejected(error) => {
                if let Awaiting::Transfer(reply) = std::mem::replace(awaiting, Awaiting::Nothing) {
                    let response = match error {
                        TransferError::NotLeader { leader_hint } => self.leader_hint(leader_hint),
                        other => Response::Failed(other.to_string()),
                    };
                    let _ = reply.send(response);
                }
            }
            Action::TransferAborted { to } => {
                eprintln!("node {}: transfer to {to} aborted", self.options.id);
            }
            _ => {}
        }
        Ok(())
    }

    fn await_write(
        &mut self,
        index: LogIndex,
        term: Term,
        reply: oneshot::Sender<Response>,
        then: Option<MembershipChange>,
    ) {
        let deadline = Instant::now() + self.options.write_timeout;
        let pending = PendingWrite {
            term,
            reply,
            deadline,
            then,
        };
        self.writes.insert(index, pending);
    }

    /// Applies one committed entry and answers its writer, if it waits here.
    fn apply(&mut self, index: LogIndex, term: Term, payload: Payload<Vec<u8>>) -> io::Result<()> {
        let response = match &payload {
            Payload::Command(bytes) => {
                let command: Command = decode(bytes)?;
                if let Command::Address { id, addr } = &command {
                    self.outbox.set_address(*id, addr);
                }
                self.store.apply(&command)
            }
            // A no-op or a configuration: nothing to apply.
            _ => Response::Ok,
        };
        self.applied = index;
        self.since_snapshot += 1;
        if let Some(pending) = self.writes.remove(&index) {
            if pending.term != term {
                let _ = pending.reply.send(Response::Failed(
                    "another leader's entry took its place".into(),
                ));
            } else if let Some(change) = pending.then {
                // The new node's address is in every log: now the change that adds it.
                let membership_index = self.node.membership_index();
                let event = Event::ChangeMembership {
                    change,
                    membership_index,
                };
                self.deferred
                    .push((event, Awaiting::One(pending.reply, None)));
            } else {
                let _ = pending.reply.send(response);
            }
        }
        Ok(())
    }

    /// Answers the reads whose index is now applied.
    fn serve_ready(&mut self) {
        while let Some(entry) = self.ready.first_entry() {
            if *entry.key() > self.applied {
                break;
            }
            for (key, reply, _) in entry.remove() {
                let _ = reply.send(Response::Value(self.store.get(&key)));
            }
        }
    }

    fn install(&mut self, snapshot: &Arc<Snapshot>) -> io::Result<()> {
        self.store = Store::restore(&snapshot.data)?;
        self.wal.install_snapshot(snapshot)?;
        self.wal.sync()?;
        // The entry writes before it are durable, and ended by it: never reported.
        self.unreported = None;
        self.applied = snapshot.meta.last_index;
        self.since_snapshot = 0;
        for id in self.node.membership().members() {
            if let Some(addr) = self.store.address(id) {
                let addr = addr.to_string();
                self.outbox.set_address(id, &addr);
            }
        }
        // Writes waiting at or below the snapshot: whether they were applied is not known here.
        let later = self.writes.split_off(&(self.applied + 1));
        for (_, pending) in std::mem::replace(&mut self.writes, later) {
            let _ = pending
                .reply
                .send(Response::Unknown("replaced by a snapshot".into()));
        }
        self.serve_ready();
        Ok(())
    }

    fn take_snapshot(&mut self) -> io::Result<()> {
        self.since_snapshot = 0;
        let data = self.store.snapshot();
        self.taken.insert(self.applied, data.clone());
        let event = Event::SnapshotTaken {
            index: self.applied,
            data,
        };
        self.step(event, Awaiting::Nothing)
    }

    /// Answers `Unknown` to the writes past their deadline (they may still be applied), and
    /// fails the reads still waiting for this node to apply their index (a read has no effect:
    /// the client retries).
    fn expire(&mut self) {
        let now = Instant::now();
        for waiting in self.ready.values_mut() {
            if waiting.iter().any(|(_, _, deadline)| *deadline <= now) {
                let (expired, kept) = std::mem::take(waiting)
                    .into_iter()
                    .partition(|(_, _, deadline)| *deadline <= now);
                *waiting = kept;
                for (_, reply, _) in expired {
                    let _ = reply.send(Response::Failed("not applied in time".into()));
                }
            }
        }
        self.ready.retain(|_, waiting| !waiting.is_empty());
        let expired: Vec<LogIndex> = self
            .writes
            .iter()
            .filter(|(_, pending)| pending.deadline <= now)
            .map(|(&index, _)| index)
            .collect();
        for index in expired {
            if let Some(pending) = self.writes.remove(&index) {
                let _ = pending
                    .reply
                    .send(Response::Unknown("not applied in time".into()));
            }
        }
    }

    fn leader_hint(&self, leader: Option<NodeId>) -> Response {
        Response::NotLeader {
            leader,
            addr: leader.and_then(|id| self.outbox.address(id).map(String::from)),
        }
    }

    fn refusal(&self, error: &ProposeError) -> Response {
        match error {
            ProposeError::NotLeader { leader_hint } => self.leader_hint(*leader_hint),
            other => Response::Failed(other.to_string()),
        }
    }

    fn read_refusal(&self, error: ReadError) -> Response {
        match error {
            ReadError::NoLeader => self.leader_hint(None),
            ReadError::LeadershipLost { leader_hint } => self.leader_hint(leader_hint),
            other => Response::Failed(other.to_string()),
        }
    }
}
