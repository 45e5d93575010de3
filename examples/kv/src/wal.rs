//! The durable storage of one KV node: a segmented write-ahead log of checksummed records,
//! plus snapshot files, written by a host that keeps pureraft's ordering rule.
//!
//! # Why this design
//!
//! It follows etcd's WAL: the log is a sequence of segment files, each record carries its own
//! checksum, a batch of records is made durable by one `fsync`, and a snapshot starts a new
//! segment that begins with a checkpoint of everything still needed, after which the older
//! segments can simply be deleted. Appending is sequential and cheap; a crash can only damage
//! the tail of the last segment, which recovery cuts off; and compaction never rewrites a
//! file in place.
//!
//! # On disk
//!
//! The node's directory holds:
//!
//! - `wal-<20-digit sequence>.log`: the segments, replayed in sequence order. Each is a run of
//!   records framed as `[len: u32 LE][crc32c(payload): u32 LE][payload]`, the payload being
//!   the postcard encoding of a private `Record`:
//!   - `Bootstrap(Membership)`: the cluster's founding membership ([`Wal::bootstrap`]);
//!   - `HardState(HardState)`: a `Persist::HardState`;
//!   - `Entries(Vec<Entry>)`: a `Persist::Entries`: delete every entry at or after the first
//!     one's index, then append (a very large run is split into several records, each a
//!     replace-from of its own first index, so a crash keeps at most a prefix of the append,
//!     with the deletion);
//!   - `Checkpoint { membership, hard_state, snapshot }`: the first record of the segment a
//!     snapshot starts. It re-states the bootstrap membership, the hard state and the snapshot
//!     metadata, and resets the log to empty; the `Entries` records that follow it in the same
//!     segment re-state the entries after the snapshot.
//! - `snap-<20-digit last_index>-<20-digit last_term>.bin`: a snapshot's data, as
//!   `[crc32c(data): u32 LE][len: u64 LE][data]`.
//! - `*.tmp`: a segment or snapshot file being written; never read, deleted at `open`.
//!
//! A record is at most 64 MiB. A segment is closed once it exceeds 64 MiB (at the next
//! [`Wal::sync`]), and at every snapshot.
//!
//! # When it syncs
//!
//! - [`Wal::append`] only encodes into a buffer (and updates the in-memory state).
//! - [`Wal::sync`] writes the buffer with one `write_all` and makes it durable with one
//!   `sync_data` of the active segment; when it created the segment, it also `sync_all`s the
//!   directory so that the new name is durable too. Nothing buffered: no I/O at all.
//! - [`Wal::store_snapshot`] and [`Wal::install_snapshot`] write the snapshot file under a
//!   temporary name, `sync_all` it, rename it into place and `sync_all` the directory before
//!   they return; the snapshot only becomes the one to restart from at the next `sync`,
//!   which writes the checkpoint segment: the whole segment under a temporary name,
//!   `sync_data`, rename to its final name, `sync_all` of the directory, and only then are the
//!   older segments and snapshot files deleted (that deletion needs no sync: replay ignores
//!   them).
//! - [`Wal::bootstrap`] syncs before it returns.
//! - `open` `sync_all`s a segment it truncates.
//!
//! For the checkpoint, the `Wal` keeps an in-memory copy of what the log says: the bootstrap
//! membership, the hard state, the snapshot metadata and the entries after the snapshot.
//! Its memory is therefore bounded by the entries written between two snapshots: the
//! snapshot interval. The snapshot data itself is not kept.
//!
//! # Recovery (`open`)
//!
//! 1. Temporary files are deleted.
//! 2. The replay starts at the newest segment whose first record is a good `Checkpoint`
//!    (older segments are left-overs of a compaction cut short by a crash, and are deleted),
//!    or at the oldest segment if none begins with one; that one must then be segment 0,
//!    or segments are missing. From there the sequence numbers must be contiguous.
//! 3. Records are applied in order: the latest `Bootstrap` gives the membership, the latest
//!    `HardState` the hard state, a `Checkpoint` resets everything, and each `Entries` is a
//!    replace-from (entries at or below the snapshot index are dropped).
//! 4. A record is *torn* if it is shorter than its header or its length says, *corrupt* if
//!    its length is above 64 MiB, its checksum fails or its payload does not decode. In the
//!    last segment either ends the replay there, and the segment is truncated to the last
//!    good record (`set_len` + `sync_all`, reported in [`Recovered::truncated_bytes`]):
//!    that is a write the crash cut short, never acknowledged. Anywhere else it is refused
//!    with an [`io::ErrorKind::InvalidData`] error that names the file and offset, and so is
//!    a good record that makes no sense (an entry gap, say).
//! 5. The snapshot the log names must be in its file, whole and matching its checksum, or the
//!    open is refused likewise. Snapshot files that no record names are deleted.
//!
//! Why a crash at any point is safe: before the checkpoint segment has its final name, the
//! old segments hold the whole pre-snapshot state and the new snapshot file is an orphan;
//! once it has, it is complete (it was synced before the rename) and replay starts there,
//! whatever older files remain. The state recovered is therefore always the one before or
//! the one after the snapshot, never a mix.
//!
//! After a failed [`Wal::sync`], what is on disk is unknown (a failed `fsync` may have dropped
//! the dirty pages): the `Wal` refuses every further write, and the host should exit and
//! recover by opening the directory again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use pureraft::{Entry, HardState, Membership, Persist, Restored, Snapshot, SnapshotMeta};
use serde::{Deserialize, Serialize};

/// The bytes of a record's header: length and checksum.
const HEADER_BYTES: usize = 8;
/// The largest record payload accepted, written or read.
const MAX_RECORD_BYTES: usize = 64 << 20;
/// A segment is closed once it holds more than this many bytes.
const SEGMENT_BYTES: u64 = 64 << 20;
/// Runs of entries are split into records of about this many (estimated) bytes.
const ENTRIES_CHUNK_BYTES: u64 = 8 << 20;
/// The bytes of a snapshot file's header: checksum and length.
const SNAPSHOT_HEADER_BYTES: usize = 12;

type Command = Vec<u8>;

/// A record as read back.
#[derive(Deserialize)]
enum Record {
    Bootstrap(Membership),
    HardState(HardState),
    Entries(Vec<Entry<Command>>),
    Checkpoint {
        membership: Membership,
        hard_state: HardState,
        snapshot: Option<SnapshotMeta>,
    },
}

/// A record as written: the same encoding as [`Record`], borrowing what it encodes.
#[derive(Serialize)]
#[serde(rename = "Record")]
enum RecordRef<'a> {
    Bootstrap(&'a Membership),
    HardState(&'a HardState),
    Entries(&'a [Entry<Command>]),
    Checkpoint {
        membership: &'a Membership,
        hard_state: &'a HardState,
        snapshot: Option<&'a SnapshotMeta>,
    },
}

/// What the log says, as replayed or as written so far (durable or buffered).
#[derive(Default)]
struct State {
    membership: Membership,
    hard_state: HardState,
    snapshot: Option<SnapshotMeta>,
    /// The entries after the snapshot's index, contiguous from it + 1 (from 1 without one).
    log: Vec<Entry<Command>>,
}

impl State {
    fn snapshot_index(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |meta| meta.last_index)
    }

    /// The index the next entry appended without a truncation takes.
    fn next_index(&self) -> Option<u64> {
        self.snapshot_index()
            .checked_add(self.log.len() as u64)?
            .checked_add(1)
    }

    /// Checks that `entries` are a run a replace-from can take: contiguous, starting at
    /// index 1 or later, with no gap after the log.
    fn check_entries(&self, entries: &[Entry<Command>]) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let next = self
            .next_index()
            .ok_or_else(|| "the log's index overflows".to_string())?;
        if first.index == 0 {
            return Err("an entry has index 0".to_string());
        }
        if first.index > next {
            return Err(format!(
                "entries start at {}, after a gap (the log ends before {next})",
                first.index
            ));
        }
        for pair in entries.windows(2) {
            if pair[0].index.checked_add(1) != Some(pair[1].index) {
                return Err(format!(
                    "entries are not contiguous: {} follows {}",
                    pair[1].index, pair[0].index
                ));
            }
        }
        Ok(())
    }

    /// A replace-from: drops every entry at or after the first one's index, then appends
    /// (those after the snapshot). `check_entries` must have accepted them.
    fn replace_from(&mut self, entries: Vec<Entry<Command>>) {
        let Some(first) = entries.first() else {
            return;
        };
        let snapshot_index = self.snapshot_index();
        // The log holds snapshot_index + 1 ..; keep what is below the first new index.
        let keep = first.index.saturating_sub(snapshot_index).saturating_sub(1);
        let keep = usize::try_from(keep)
            .unwrap_or(usize::MAX)
            .min(self.log.len());
        self.log.truncate(keep);
        self.log.extend(
            entries
                .into_iter()
                .filter(|entry| entry.index > snapshot_index),
        );
    }

    /// `meta` becomes the snapshot to restart from; entries it covers are dropped (all of
    /// them if `drop_log`).
    fn set_snapshot(&mut self, meta: SnapshotMeta, drop_log: bool) {
        if drop_log {
            self.log.clear();
        } else {
            let covered = self
                .log
                .iter()
                .take_while(|entry| entry.index <= meta.last_index)
                .count();
            self.log.drain(..covered);
        }
        self.snapshot = Some(meta);
    }

    /// True if nothing was ever stored.
    fn is_empty(&self) -> bool {
        self.membership.is_empty()
            && self.hard_state == HardState::default()
            && self.snapshot.is_none()
            && self.log.is_empty()
    }
}

/// The durable storage of one node: a segmented write-ahead log and snapshot files in one
/// directory (see the [module documentation](self) for the format and the recovery rules).
///
/// Use it from one thread and one process per directory. Call order: [`Wal::open`]; if
/// fresh, [`Wal::bootstrap`] on a founding node; then, for each step's actions in order,
/// [`Wal::append`] for a `Persist::HardState` or `Persist::Entries`,
/// [`Wal::store_snapshot`] for a `Persist::Snapshot`, [`Wal::install_snapshot`] for an
/// `Action::InstallSnapshot`, and [`Wal::sync`] before carrying out the first action that
/// is none of these.
pub struct Wal {
    dir: PathBuf,
    /// The segment appended to, if one exists yet.
    active: Option<File>,
    /// The active segment's sequence number (the first segment's, 0, if there is none yet).
    seq: u64,
    /// The active segment's length.
    active_bytes: u64,
    /// A segment is closed once it holds more than this (tests make it small).
    segment_bytes: u64,
    /// Records encoded but not written yet.
    buffer: Vec<u8>,
    /// A snapshot was stored or installed: the next sync writes a checkpoint segment (which
    /// states everything, so the buffer is dropped then).
    checkpoint_pending: bool,
    /// The in-memory copy of what the log says, buffered records included.
    state: State,
    synced_bytes: u64,
    fsyncs: u64,
    /// A sync failed: the disk's state is unknown, so nothing more is written.
    failed: bool,
}

/// What [`Wal::open`] found on disk.
#[derive(Debug)]
pub struct Recovered {
    /// What to hand `Raft::new`: the last hard state, the snapshot (meta + data) to restart
    /// from, the entries after it, `applied: 0`, and the bootstrap membership (empty if none
    /// was stored).
    pub restored: Restored<Vec<u8>>,
    /// True if nothing was ever stored (a new node): the caller then bootstraps or joins.
    pub fresh: bool,
    /// Bytes cut from the end of the last segment because its last record was torn (short)
    /// or failed its checksum.
    pub truncated_bytes: u64,
    /// Records replayed.
    pub records: u64,
}

impl Wal {
    /// Opens the node's directory (creating it if missing), replays every segment in order,
    /// truncates a torn or corrupt tail of the last segment to the last good record (and
    /// says so in [`Recovered`]), and refuses (an `io::Error` of kind `InvalidData` naming
    /// the file and offset) a bad record anywhere else, or a missing or corrupt snapshot file
    /// that a record refers to. Never panics on any file content.
    pub fn open(dir: &Path) -> io::Result<(Wal, Recovered)> {
        let mut fsyncs = 0;
        if !dir.is_dir() {
            fs::create_dir_all(dir)?;
            if let Some(parent) = dir.parent() {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                sync_dir(parent)?;
                fsyncs += 1;
            }
        }
        let listing = list_dir(dir)?;
        for temp in &listing.temps {
            fs::remove_file(temp)?;
        }

        // Where the replay starts: the newest segment that begins with a good checkpoint.
        let mut start = 0;
        for (position, (_, path)) in listing.segments.iter().enumerate().rev() {
            if begins_with_checkpoint(path)? {
                start = position;
                break;
            }
        }
        let replayed = &listing.segments[start..];
        if let Some((seq, path)) = replayed.first() {
            if *seq != 0 && !begins_with_checkpoint(path)? {
                return Err(invalid_data(
                    path,
                    0,
                    "the oldest segment is not segment 0 and does not begin with a checkpoint: \
                     segments are missing",
                ));
            }
        }
        for pair in replayed.windows(2) {
            if pair[0].0.checked_add(1) != Some(pair[1].0) {
                return Err(invalid_data(
                    &pair[1].1,
                    0,
                    &format!("segment {} is missing", pair[0].0.saturating_add(1)),
                ));
            }
        }

        let mut state = State::default();
        let mut records = 0;
        let mut truncate_to = None;
        for (position, (_, path)) in replayed.iter().enumerate() {
            let last = position + 1 == replayed.len();
            let bytes = fs::read(path)?;
            let good = replay_segment(path, &bytes, last, &mut state, &mut records)?;
            if good < bytes.len() {
                truncate_to = Some((good as u64, (bytes.len() - good) as u64));
            }
        }

        let snapshot = match &state.snapshot {
            None => None,
            Some(meta) => {
                let path = dir.join(snapshot_name(meta.last_index, meta.last_term));
                let data = read_snapshot_file(&path)?;
                Some(Snapshot {
                    meta: meta.clone(),
                    data,
                })
            }
        };

        // Everything checked: now change the directory.
        let mut active = None;
        let mut seq = 0;
        let mut active_bytes = 0;
        let mut truncated_bytes = 0;
        if let Some((last_seq, path)) = replayed.last() {
            let mut file = OpenOptions::new().read(true).write(true).open(path)?;
            if let Some((good, cut)) = truncate_to {
                file.set_len(good)?;
                file.sync_all()?;
                fsyncs += 1;
                truncated_bytes = cut;
            }
            active_bytes = file.seek(SeekFrom::End(0))?;
            active = Some(file);
            seq = *last_seq;
        }
        let mut deleted = false;
        for (_, path) in &listing.segments[..start] {
            fs::remove_file(path)?;
            deleted = true;
        }
        let keep = state
            .snapshot
            .as_ref()
            .map(|meta| (meta.last_index, meta.last_term));
        for (index, term, path) in &listing.snapshots {
            if Some((*index, *term)) != keep {
                fs::remove_file(path)?;
                deleted = true;
            }
        }
        if deleted || !listing.temps.is_empty() {
            sync_dir(dir)?;
            fsyncs += 1;
        }

        let fresh = state.is_empty();
        let restored = Restored {
            hard_state: state.hard_state,
            snapshot,
            entries: state.log.clone(),
            applied: 0,
            membership: state.membership.clone(),
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            active,
            seq,
            active_bytes,
            segment_bytes: SEGMENT_BYTES,
            buffer: Vec::new(),
            checkpoint_pending: false,
            state,
            synced_bytes: 0,
            fsyncs,
            failed: false,
        };
        let recovered = Recovered {
            restored,
            fresh,
            truncated_bytes,
            records,
        };
        Ok((wal, recovered))
    }

    /// Stores the cluster's founding membership once, at the first start of a founding node
    /// (a record of its own; [`Recovered::restored`]`.membership` at every later open).
    /// Durable when it returns (it syncs). Storing the same membership again does nothing;
    /// another one is refused (`InvalidInput`).
    pub fn bootstrap(&mut self, membership: &Membership) -> io::Result<()> {
        self.check_usable()?;
        if !self.state.membership.is_empty() {
            if self.state.membership == *membership {
                return Ok(());
            }
            return Err(invalid_input(
                "a different bootstrap membership is stored already",
            ));
        }
        encode(&mut self.buffer, &RecordRef::Bootstrap(membership))?;
        self.state.membership = membership.clone();
        self.sync()
    }

    /// Buffers the record of a `Persist::HardState` or `Persist::Entries` (not durable until
    /// [`Wal::sync`]). A `Persist::Snapshot` goes through [`Wal::store_snapshot`] instead,
    /// because it needs the data: it is refused here (`InvalidInput`), as are entries that
    /// are not contiguous or leave a gap after the log.
    pub fn append(&mut self, persist: &Persist<Vec<u8>>) -> io::Result<()> {
        self.check_usable()?;
        match persist {
            Persist::HardState(hard_state) => {
                encode(&mut self.buffer, &RecordRef::HardState(hard_state))?;
                self.state.hard_state = *hard_state;
            }
            Persist::Entries(entries) => {
                self.state.check_entries(entries).map_err(invalid_input)?;
                encode_entries(&mut self.buffer, entries)?;
                self.state.replace_from(entries.to_vec());
            }
            Persist::Snapshot(_) => {
                return Err(invalid_input(
                    "Persist::Snapshot needs the data: call store_snapshot",
                ));
            }
            _ => return Err(invalid_input("unknown kind of Persist")),
        }
        Ok(())
    }

    /// `Persist::Snapshot(meta)` with the data the host took at `meta.last_index`: writes the
    /// snapshot file (checksummed, fsynced, renamed into place, directory fsynced), then
    /// makes it the snapshot to restart from at the next [`Wal::sync`], which starts a new
    /// segment with a checkpoint and then deletes the older segments and snapshot files.
    /// Entries at or below `meta.last_index` are no longer kept. A snapshot older than the
    /// one stored is refused (`InvalidInput`).
    pub fn store_snapshot(&mut self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        self.write_snapshot(meta, data)?;
        self.state.set_snapshot(meta.clone(), false);
        self.checkpoint_pending = true;
        Ok(())
    }

    /// `Action::InstallSnapshot`: like [`Wal::store_snapshot`], and every stored entry is
    /// dropped (the log restarts after the snapshot).
    pub fn install_snapshot(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        self.write_snapshot(&snapshot.meta, &snapshot.data)?;
        self.state.set_snapshot(snapshot.meta.clone(), true);
        self.checkpoint_pending = true;
        Ok(())
    }

    /// Writes every buffered record and makes it durable: one `write_all` and one
    /// `sync_data` of the active segment (`sync_all` of the directory when a segment was
    /// created). After a snapshot it writes the checkpoint segment instead (see the module
    /// documentation). Nothing to write: no I/O. The host calls it once per run of
    /// `Persist` actions, before the next non-persist action: one fsync per step, not per
    /// entry. After an error the `Wal` refuses every write: reopen the directory.
    pub fn sync(&mut self) -> io::Result<()> {
        self.check_usable()?;
        let result = if self.checkpoint_pending {
            self.write_checkpoint()
        } else {
            self.write_buffer()
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Bytes fsynced so far (log records and snapshot files) and the number of fsyncs
    /// (of files and of the directory), since `open` (its own included).
    pub fn stats(&self) -> (u64, u64) {
        (self.synced_bytes, self.fsyncs)
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier sync failed: reopen the write-ahead log",
            ));
        }
        Ok(())
    }

    /// The sequence number of the next segment created.
    fn next_seq(&self) -> io::Result<u64> {
        if self.active.is_none() {
            return Ok(self.seq);
        }
        self.seq
            .checked_add(1)
            .ok_or_else(|| io::Error::other("segment sequence numbers are exhausted"))
    }

    /// An ordinary sync: the buffer to the active segment, or to a new one.
    fn write_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let created = match &self.active {
            Some(_) if self.active_bytes <= self.segment_bytes => false,
            _ => {
                let seq = self.next_seq()?;
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(self.dir.join(segment_name(seq)))?;
                self.active = Some(file);
                self.seq = seq;
                self.active_bytes = 0;
                true
            }
        };
        let Some(file) = self.active.as_mut() else {
            return Err(io::Error::other("no active segment"));
        };
        file.write_all(&self.buffer)?;
        file.sync_data()?;
        self.fsyncs += 1;
        let written = self.buffer.len() as u64;
        self.synced_bytes += written;
        self.active_bytes += written;
        self.buffer.clear();
        if created {
            sync_dir(&self.dir)?;
            self.fsyncs += 1;
        }
        Ok(())
    }

    /// The sync after a snapshot: a new segment that states everything, made durable under a
    /// temporary name and renamed into place; then older segments and snapshots go.
    fn write_checkpoint(&mut self) -> io::Result<()> {
        let seq = self.next_seq()?;
        let mut bytes = Vec::new();
        encode(
            &mut bytes,
            &RecordRef::Checkpoint {
                membership: &self.state.membership,
                hard_state: &self.state.hard_state,
                snapshot: self.state.snapshot.as_ref(),
            },
        )?;
        encode_entries(&mut bytes, &self.state.log)?;

        let path = self.dir.join(segment_name(seq));
        let temp = temp_path(&path);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(&bytes)?;
        file.sync_data()?;
        self.fsyncs += 1;
        drop(file);
        fs::rename(&temp, &path)?;
        sync_dir(&self.dir)?;
        self.fsyncs += 1;
        self.synced_bytes += bytes.len() as u64;

        self.active = Some(OpenOptions::new().append(true).open(&path)?);
        self.seq = seq;
        self.active_bytes = bytes.len() as u64;
        self.buffer.clear();
        self.checkpoint_pending = false;

        // The checkpoint is durable: what came before is no longer needed.
        let keep = self
            .state
            .snapshot
            .as_ref()
            .map(|meta| (meta.last_index, meta.last_term));
        let listing = list_dir(&self.dir)?;
        for (old, path) in &listing.segments {
            if *old < seq {
                fs::remove_file(path)?;
            }
        }
        for (index, term, path) in &listing.snapshots {
            if Some((*index, *term)) != keep {
                fs::remove_file(path)?;
            }
        }
        Ok(())
    }

    /// Writes a snapshot file durably, after checking that the snapshot may be stored.
    fn write_snapshot(&mut self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        self.check_usable()?;
        if meta.last_index == 0 || meta.last_term == 0 {
            return Err(invalid_input("a snapshot has index and term above 0"));
        }
        if meta.last_index < self.state.snapshot_index() {
            return Err(invalid_input(
                "the snapshot is older than the one stored already",
            ));
        }
        let path = self
            .dir
            .join(snapshot_name(meta.last_index, meta.last_term));
        let temp = temp_path(&path);
        let mut header = [0; SNAPSHOT_HEADER_BYTES];
        header[..4].copy_from_slice(&crc32c::crc32c(data).to_le_bytes());
        header[4..].copy_from_slice(&(data.len() as u64).to_le_bytes());
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(&header)?;
        file.write_all(data)?;
        file.sync_all()?;
        self.fsyncs += 1;
        drop(file);
        fs::rename(&temp, &path)?;
        sync_dir(&self.dir)?;
        self.fsyncs += 1;
        self.synced_bytes += (SNAPSHOT_HEADER_BYTES + data.len()) as u64;
        Ok(())
    }
}

/// Appends one framed record to `buffer`.
fn encode(buffer: &mut Vec<u8>, record: &RecordRef<'_>) -> io::Result<()> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; HEADER_BYTES]);
    if let Err(error) = postcard::to_io(record, &mut *buffer) {
        buffer.truncate(start);
        return Err(invalid_input(format!("a record does not encode: {error}")));
    }
    let len = buffer.len() - start - HEADER_BYTES;
    if len > MAX_RECORD_BYTES {
        buffer.truncate(start);
        return Err(invalid_input(format!(
            "a record of {len} bytes exceeds the {MAX_RECORD_BYTES}-byte bound"
        )));
    }
    let crc = crc32c::crc32c(&buffer[start + HEADER_BYTES..]);
    buffer[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    buffer[start + 4..start + HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Appends `entries` as `Entries` records of about `ENTRIES_CHUNK_BYTES` each.
fn encode_entries(buffer: &mut Vec<u8>, entries: &[Entry<Command>]) -> io::Result<()> {
    let start = buffer.len();
    let mut first = 0;
    let mut estimate = 0;
    for (position, entry) in entries.iter().enumerate() {
        let size = entry.payload.size_bytes() as u64 + 32;
        if position > first && estimate + size > ENTRIES_CHUNK_BYTES {
            if let Err(error) = encode(buffer, &RecordRef::Entries(&entries[first..position])) {
                buffer.truncate(start);
                return Err(error);
            }
            first = position;
            estimate = 0;
        }
        estimate += size;
    }
    if first < entries.len() {
        if let Err(error) = encode(buffer, &RecordRef::Entries(&entries[first..])) {
            buffer.truncate(start);
            return Err(error);
        }
    }
    Ok(())
}

/// One step of reading a segment.
enum Parsed {
    /// A good record, and the offset after it.
    Record(Record, usize),
    /// The end of the segment.
    End,
    /// A torn or corrupt record: why.
    Bad(String),
}

/// Reads the record at `offset` of `bytes`.
fn parse_at(bytes: &[u8], offset: usize) -> Parsed {
    let rest = &bytes[offset.min(bytes.len())..];
    if rest.is_empty() {
        return Parsed::End;
    }
    if rest.len() < HEADER_BYTES {
        return Parsed::Bad(format!("torn record header ({} bytes)", rest.len()));
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_RECORD_BYTES {
        return Parsed::Bad(format!("record length {len} exceeds the bound"));
    }
    let Some(payload) = rest.get(HEADER_BYTES..HEADER_BYTES + len) else {
        return Parsed::Bad(format!(
            "torn record: {len} bytes announced, {} present",
            rest.len() - HEADER_BYTES
        ));
    };
    if crc32c::crc32c(payload) != crc {
        return Parsed::Bad("record checksum mismatch".to_string());
    }
    match postcard::take_from_bytes::<Record>(payload) {
        Ok((record, [])) => Parsed::Record(record, offset + HEADER_BYTES + len),
        Ok(_) => Parsed::Bad("record has trailing bytes".to_string()),
        Err(error) => Parsed::Bad(format!("record does not decode: {error}")),
    }
}

/// Replays one segment into `state`; returns the length of its good prefix (all of it
/// unless it is the last segment and its tail is bad).
fn replay_segment(
    path: &Path,
    bytes: &[u8],
    last: bool,
    state: &mut State,
    records: &mut u64,
) -> io::Result<usize> {
    let mut offset = 0;
    loop {
        match parse_at(bytes, offset) {
            Parsed::End => return Ok(offset),
            // A write the crash cut short: the replay ends here.
            Parsed::Bad(_) if last => return Ok(offset),
            Parsed::Bad(why) => return Err(invalid_data(path, offset as u64, &why)),
            Parsed::Record(record, next) => {
                apply(state, record).map_err(|why| invalid_data(path, offset as u64, &why))?;
                *records += 1;
                offset = next;
            }
        }
    }
}

/// Applies a replayed record.
fn apply(state: &mut State, record: Record) -> Result<(), String> {
    match record {
        Record::Bootstrap(membership) => state.membership = membership,
        Record::HardState(hard_state) => state.hard_state = hard_state,
        Record::Entries(entries) => {
            state.check_entries(&entries)?;
            state.replace_from(entries);
        }
        Record::Checkpoint {
            membership,
            hard_state,
            snapshot,
        } => {
            *state = State {
                membership,
                hard_state,
                snapshot,
                log: Vec::new(),
            };
        }
    }
    Ok(())
}

/// True if the segment's first record is a good checkpoint.
fn begins_with_checkpoint(path: &Path) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let mut header = [0; HEADER_BYTES];
    let mut read = 0;
    while read < HEADER_BYTES {
        match file.read(&mut header[read..])? {
            0 => return Ok(false),
            n => read += n,
        }
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_RECORD_BYTES {
        return Ok(false);
    }
    let mut bytes = header.to_vec();
    file.take(len as u64).read_to_end(&mut bytes)?;
    Ok(matches!(
        parse_at(&bytes, 0),
        Parsed::Record(Record::Checkpoint { .. }, _)
    ))
}

/// Reads and checks a snapshot file.
fn read_snapshot_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(invalid_data(path, 0, "the snapshot file is missing"));
        }
        Err(error) => return Err(error),
    };
    if bytes.len() < SNAPSHOT_HEADER_BYTES {
        return Err(invalid_data(path, 0, "the snapshot file is torn"));
    }
    let crc = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mut len = [0; 8];
    len.copy_from_slice(&bytes[4..SNAPSHOT_HEADER_BYTES]);
    let len = u64::from_le_bytes(len);
    if len != (bytes.len() - SNAPSHOT_HEADER_BYTES) as u64 {
        return Err(invalid_data(
            path,
            4,
            &format!(
                "the snapshot file announces {len} bytes and holds {}",
                bytes.len() - SNAPSHOT_HEADER_BYTES
            ),
        ));
    }
    if crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]) != crc {
        return Err(invalid_data(path, 0, "snapshot checksum mismatch"));
    }
    bytes.drain(..SNAPSHOT_HEADER_BYTES);
    Ok(bytes)
}

/// The files of a node's directory that are the log's.
struct Listing {
    /// Segments, by sequence number.
    segments: Vec<(u64, PathBuf)>,
    /// Snapshot files: last index, last term, path.
    snapshots: Vec<(u64, u64, PathBuf)>,
    /// Temporary files.
    temps: Vec<PathBuf>,
}

fn list_dir(dir: &Path) -> io::Result<Listing> {
    let mut listing = Listing {
        segments: Vec::new(),
        snapshots: Vec::new(),
        temps: Vec::new(),
    };
    for dir_entry in fs::read_dir(dir)? {
        let dir_entry = dir_entry?;
        let Ok(name) = dir_entry.file_name().into_string() else {
            continue;
        };
        let path = dir_entry.path();
        if name.ends_with(".tmp") && (name.starts_with("wal-") || name.starts_with("snap-")) {
            listing.temps.push(path);
        } else if let Some(seq) = parse_segment_name(&name) {
            listing.segments.push((seq, path));
        } else if let Some((index, term)) = parse_snapshot_name(&name) {
            listing.snapshots.push((index, term, path));
        }
    }
    listing.segments.sort();
    Ok(listing)
}

fn segment_name(seq: u64) -> String {
    format!("wal-{seq:020}.log")
}

fn snapshot_name(index: u64, term: u64) -> String {
    format!("snap-{index:020}-{term:020}.bin")
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".tmp");
    PathBuf::from(name)
}

fn parse_number(digits: &str) -> Option<u64> {
    if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn parse_segment_name(name: &str) -> Option<u64> {
    parse_number(name.strip_prefix("wal-")?.strip_suffix(".log")?)
}

fn parse_snapshot_name(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix("snap-")?.strip_suffix(".bin")?;
    let (index, term) = rest.split_once('-')?;
    Some((parse_number(index)?, parse_number(term)?))
}

/// Makes the directory's entries (names created, renamed) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn invalid_data(path: &Path, offset: u64, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} at offset {offset}: {why}", path.display()),
    )
}

fn invalid_input(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pureraft::{Config, Entries, Payload, Raft};
    use std::sync::atomic::{AtomicU64, Ordering};

    static COUNTER: AtomicU64 = AtomicU64::new(0);

    /// A unique directory under the system's temporary one, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> TempDir {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir()
                .join(format!("pureraft-kv-wal-{}-{n}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            TempDir(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn entry(index: u64, term: u64) -> Entry<Vec<u8>> {
        Entry {
            term,
            index,
            payload: Payload::Command(vec![index as u8, term as u8, 0xab]),
        }
    }

    fn entries(indexes: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry<Vec<u8>>> {
        indexes.map(|index| entry(index, term)).collect()
    }

    fn persist_entries(list: Vec<Entry<Vec<u8>>>) -> Persist<Vec<u8>> {
        Persist::Entries(Entries::from(list))
    }

    fn hard_state(term: u64, vote: Option<u64>) -> HardState {
        HardState { term, vote }
    }

    fn members() -> Membership {
        Membership::new([1, 2, 3])
    }

    fn meta(last_index: u64, last_term: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_index,
            last_term,
            membership: members(),
            membership_index: 0,
        }
    }

    fn open(dir: &Path) -> (Wal, Recovered) {
        Wal::open(dir).expect("open")
    }

    fn accepted(restored: &Restored<Vec<u8>>) {
        if let Err(error) = Raft::<Vec<u8>>::new(Config::new(1), restored.clone()) {
            panic!("Raft::new refused {restored:?}: {error}");
        }
    }

    fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(prefix))
            })
            .collect();
        found.sort();
        found
    }

    fn last_segment(dir: &Path) -> PathBuf {
        files(dir, "wal-").pop().expect("a segment")
    }

    fn flip_byte(path: &Path, offset: u64) {
        let mut bytes = fs::read(path).expect("read");
        bytes[offset as usize] ^= 0x40;
        fs::write(path, bytes).expect("write");
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).expect("create");
        for path in files(from, "") {
            fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }

    #[test]
    fn records_round_trip_with_replace_from() {
        let dir = TempDir::new("round_trip");
        let (mut wal, recovered) = open(dir.path());
        assert!(recovered.fresh);
        assert_eq!(recovered.restored, Restored::default());
        assert_eq!(recovered.records, 0);

        wal.bootstrap(&members()).expect("bootstrap");
        wal.append(&Persist::HardState(hard_state(1, Some(1))))
            .expect("append");
        wal.append(&persist_entries(entries(1..=3, 1)))
            .expect("append");
        wal.sync().expect("sync");
        let fsyncs_before = wal.stats().1;
        wal.append(&Persist::HardState(hard_state(2, None)))
            .expect("append");
        // Replaces 3 and appends 4: a truncation.
        wal.append(&persist_entries(entries(3..=4, 2)))
            .expect("append");
        wal.sync().expect("sync");
        assert_eq!(wal.stats().1, fsyncs_before + 1, "one fsync per sync");
        wal.sync().expect("an empty sync");
        assert_eq!(
            wal.stats().1,
            fsyncs_before + 1,
            "an empty sync does no I/O"
        );
        wal.append(&persist_entries(entries(5..=5, 2)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);

        let mut log = entries(1..=2, 1);
        log.extend(entries(3..=5, 2));
        let expected = Restored {
            hard_state: hard_state(2, None),
            snapshot: None,
            entries: log,
            applied: 0,
            membership: members(),
        };
        let (mut wal, recovered) = open(dir.path());
        assert!(!recovered.fresh);
        assert_eq!(recovered.truncated_bytes, 0);
        assert_eq!(recovered.records, 6);
        assert_eq!(recovered.restored, expected);
        accepted(&recovered.restored);

        // Bootstrapping again with the same membership is a no-op; another is refused.
        wal.bootstrap(&members()).expect("same bootstrap");
        assert_eq!(
            wal.bootstrap(&Membership::new([7])).map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidInput)
        );
        // A gap is refused, and changes nothing.
        assert_eq!(
            wal.append(&persist_entries(entries(9..=9, 2)))
                .map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidInput)
        );
        wal.sync().expect("sync");
        drop(wal);
        assert_eq!(open(dir.path()).1.restored, expected);
    }

    #[test]
    fn a_torn_tail_is_truncated_and_appends_follow_it() {
        let dir = TempDir::new("torn_tail");
        let (mut wal, _) = open(dir.path());
        wal.append(&Persist::HardState(hard_state(1, None)))
            .expect("append");
        wal.append(&persist_entries(entries(1..=3, 1)))
            .expect("append");
        wal.sync().expect("sync");
        let good = fs::metadata(last_segment(dir.path())).expect("meta").len();
        wal.append(&persist_entries(entries(4..=6, 1)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);

        let segment = last_segment(dir.path());
        let full = fs::metadata(&segment).expect("meta").len();
        let chopped = good + (full - good) / 2;
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .expect("open")
            .set_len(chopped)
            .expect("set_len");

        let (mut wal, recovered) = open(dir.path());
        assert_eq!(recovered.truncated_bytes, chopped - good);
        assert_eq!(recovered.records, 2);
        assert_eq!(recovered.restored.entries, entries(1..=3, 1));
        assert_eq!(fs::metadata(&segment).expect("meta").len(), good);
        accepted(&recovered.restored);

        wal.append(&persist_entries(entries(4..=4, 1)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.truncated_bytes, 0);
        assert_eq!(recovered.restored.entries, entries(1..=4, 1));
        assert_eq!(recovered.restored.hard_state, hard_state(1, None));
    }

    #[test]
    fn a_corrupt_last_record_is_dropped_and_reported() {
        let dir = TempDir::new("corrupt_tail");
        let (mut wal, _) = open(dir.path());
        wal.append(&Persist::HardState(hard_state(1, None)))
            .expect("append");
        wal.append(&persist_entries(entries(1..=2, 1)))
            .expect("append");
        wal.sync().expect("sync");
        let good = fs::metadata(last_segment(dir.path())).expect("meta").len();
        wal.append(&Persist::HardState(hard_state(2, Some(3))))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);

        let segment = last_segment(dir.path());
        let full = fs::metadata(&segment).expect("meta").len();
        flip_byte(&segment, good + HEADER_BYTES as u64 + 1);
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.truncated_bytes, full - good);
        assert_eq!(recovered.records, 2);
        assert_eq!(recovered.restored.hard_state, hard_state(1, None));
        assert_eq!(recovered.restored.entries, entries(1..=2, 1));
        assert_eq!(fs::metadata(&segment).expect("meta").len(), good);
    }

    #[test]
    fn corruption_in_an_earlier_segment_is_refused() {
        let dir = TempDir::new("earlier_segment");
        let (mut wal, _) = open(dir.path());
        wal.segment_bytes = 1;
        wal.append(&Persist::HardState(hard_state(1, None)))
            .expect("append");
        wal.sync().expect("sync");
        for index in 1..=4 {
            wal.append(&persist_entries(entries(index..=index, 1)))
                .expect("append");
            wal.sync().expect("sync");
        }
        drop(wal);
        let segments = files(dir.path(), "wal-");
        assert_eq!(segments.len(), 5, "one segment per sync past the threshold");

        // Undamaged, the segments replay as one log.
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.restored.entries, entries(1..=4, 1));
        assert_eq!(recovered.records, 5);

        flip_byte(&segments[1], HEADER_BYTES as u64 + 2);
        let error = Wal::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let name = segments[1]
            .file_name()
            .and_then(|name| name.to_str())
            .expect("name");
        assert!(error.to_string().contains(name), "{error}");
        assert!(error.to_string().contains("offset 0"), "{error}");
        // Refused, the files are left as they were.
        assert_eq!(files(dir.path(), "wal-"), segments);

        // A missing segment in the middle is refused too.
        flip_byte(&segments[1], HEADER_BYTES as u64 + 2);
        fs::remove_file(&segments[2]).expect("remove");
        let error = Wal::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_stored_snapshot_compacts_the_log() {
        let dir = TempDir::new("snapshot");
        let (mut wal, _) = open(dir.path());
        wal.segment_bytes = 1;
        wal.bootstrap(&members()).expect("bootstrap");
        wal.append(&Persist::HardState(hard_state(1, Some(1))))
            .expect("append");
        for index in 1..=7 {
            wal.append(&persist_entries(entries(index..=index, 1)))
                .expect("append");
            wal.sync().expect("sync");
        }
        assert!(files(dir.path(), "wal-").len() > 2);
        wal.store_snapshot(&meta(5, 1), b"state at 5")
            .expect("store");
        wal.append(&persist_entries(entries(8..=9, 1)))
            .expect("append");
        wal.sync().expect("sync");
        assert_eq!(files(dir.path(), "wal-").len(), 1, "older segments deleted");
        assert_eq!(files(dir.path(), "snap-").len(), 1);

        let (mut wal, recovered) = open(dir.path());
        let expected = Restored {
            hard_state: hard_state(1, Some(1)),
            snapshot: Some(Snapshot {
                meta: meta(5, 1),
                data: b"state at 5".to_vec(),
            }),
            entries: entries(6..=9, 1),
            applied: 0,
            membership: members(),
        };
        assert_eq!(recovered.restored, expected);
        accepted(&recovered.restored);

        // A second snapshot replaces the first one's file.
        wal.store_snapshot(&meta(8, 1), b"state at 8")
            .expect("store");
        wal.sync().expect("sync");
        let snapshots = files(dir.path(), "snap-");
        assert_eq!(snapshots, vec![dir.path().join(snapshot_name(8, 1))]);
        assert_eq!(files(dir.path(), "wal-").len(), 1);
        drop(wal);
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.restored.entries, entries(9..=9, 1));
        assert_eq!(
            recovered.restored.snapshot.as_ref().map(|s| &s.data[..]),
            Some(&b"state at 8"[..])
        );
        assert_eq!(recovered.restored.membership, members());
        accepted(&recovered.restored);
    }

    #[test]
    fn an_installed_snapshot_drops_the_log() {
        let dir = TempDir::new("install");
        let (mut wal, _) = open(dir.path());
        wal.append(&Persist::HardState(hard_state(1, None)))
            .expect("append");
        wal.append(&persist_entries(entries(1..=5, 1)))
            .expect("append");
        wal.sync().expect("sync");
        wal.append(&Persist::HardState(hard_state(3, None)))
            .expect("append");
        let snapshot = Snapshot {
            meta: meta(10, 3),
            data: b"leader's state".to_vec(),
        };
        wal.install_snapshot(&snapshot).expect("install");
        wal.sync().expect("sync");
        drop(wal);

        let (mut wal, recovered) = open(dir.path());
        assert!(recovered.restored.entries.is_empty());
        assert_eq!(recovered.restored.snapshot.as_ref(), Some(&snapshot));
        assert_eq!(recovered.restored.hard_state, hard_state(3, None));
        accepted(&recovered.restored);

        wal.append(&persist_entries(entries(11..=12, 3)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.restored.entries, entries(11..=12, 3));
        accepted(&recovered.restored);
    }

    #[test]
    fn a_corrupt_or_missing_snapshot_file_is_refused() {
        let dir = TempDir::new("corrupt_snapshot");
        let (mut wal, _) = open(dir.path());
        wal.append(&Persist::HardState(hard_state(1, None)))
            .expect("append");
        wal.append(&persist_entries(entries(1..=3, 1)))
            .expect("append");
        wal.store_snapshot(&meta(2, 1), b"snapshot data")
            .expect("store");
        wal.sync().expect("sync");
        drop(wal);
        let path = dir.path().join(snapshot_name(2, 1));
        assert!(path.exists());

        flip_byte(&path, SNAPSHOT_HEADER_BYTES as u64 + 3);
        let error = Wal::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains(&snapshot_name(2, 1)), "{error}");
        assert!(path.exists(), "a refused open deletes nothing");

        flip_byte(&path, SNAPSHOT_HEADER_BYTES as u64 + 3);
        assert!(Wal::open(dir.path()).is_ok());

        fs::remove_file(&path).expect("remove");
        let error = Wal::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_crash_during_the_checkpoint_recovers_before_or_after_never_a_mix() {
        let root = TempDir::new("checkpoint_crash");
        let pre_dir = root.path().join("pre");
        let work = root.path().join("work");
        let (mut wal, _) = open(&pre_dir);
        wal.bootstrap(&members()).expect("bootstrap");
        wal.append(&Persist::HardState(hard_state(1, Some(1))))
            .expect("append");
        wal.append(&persist_entries(entries(1..=7, 1)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let pre = Restored {
            hard_state: hard_state(1, Some(1)),
            snapshot: None,
            entries: entries(1..=7, 1),
            applied: 0,
            membership: members(),
        };
        let post = Restored {
            hard_state: hard_state(2, None),
            snapshot: Some(Snapshot {
                meta: meta(5, 1),
                data: b"five".to_vec(),
            }),
            entries: entries(6..=7, 1),
            applied: 0,
            membership: members(),
        };

        copy_dir(&pre_dir, &work);
        let (mut wal, _) = open(&work);
        wal.append(&Persist::HardState(hard_state(2, None)))
            .expect("append");
        wal.store_snapshot(&meta(5, 1), b"five").expect("store");
        let snapshot_file = work.join(snapshot_name(5, 1));
        let snapshot_bytes = fs::read(&snapshot_file).expect("read");
        // A crash now: the snapshot file is an orphan.
        let image = root.path().join("orphan_snapshot");
        copy_dir(&work, &image);
        wal.sync().expect("sync");
        drop(wal);
        let checkpoint = last_segment(&work);
        let checkpoint_name = checkpoint.file_name().expect("name").to_os_string();
        let checkpoint_bytes = fs::read(&checkpoint).expect("read");
        assert_eq!(open(&work).1.restored, post);

        let (_, recovered) = open(&image);
        assert_eq!(recovered.restored, pre, "orphan snapshot");
        assert!(files(&image, "snap-").is_empty(), "orphan deleted");

        // A crash while writing the snapshot file.
        let image = root.path().join("torn_snapshot_temp");
        copy_dir(&pre_dir, &image);
        fs::write(
            temp_path(&image.join(snapshot_name(5, 1))),
            &snapshot_bytes[..snapshot_bytes.len() / 2],
        )
        .expect("write");
        assert_eq!(open(&image).1.restored, pre, "torn snapshot temp file");
        assert!(files(&image, "snap-").is_empty());

        // A crash while writing the checkpoint segment under its temporary name.
        let image = root.path().join("torn_checkpoint_temp");
        copy_dir(&pre_dir, &image);
        fs::write(image.join(snapshot_name(5, 1)), &snapshot_bytes).expect("write");
        fs::write(
            temp_path(&image.join(&checkpoint_name)),
            &checkpoint_bytes[..checkpoint_bytes.len() / 2],
        )
        .expect("write");
        let (mut wal, recovered) = open(&image);
        assert_eq!(recovered.restored, pre, "torn checkpoint temp file");
        assert_eq!(files(&image, "wal-").len(), 1, "temp file deleted");
        // And the log goes on from there.
        wal.append(&persist_entries(entries(8..=8, 1)))
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);
        assert_eq!(open(&image).1.restored.entries, entries(1..=8, 1));

        // A crash after the rename, before the older files were deleted.
        let image = root.path().join("old_files_left");
        copy_dir(&pre_dir, &image);
        fs::write(image.join(snapshot_name(5, 1)), &snapshot_bytes).expect("write");
        fs::write(image.join(snapshot_name(1, 1)), b"an older snapshot").expect("write");
        fs::write(image.join(&checkpoint_name), &checkpoint_bytes).expect("write");
        let (_, recovered) = open(&image);
        assert_eq!(recovered.restored, post, "old files left");
        assert_eq!(files(&image, "wal-"), vec![image.join(&checkpoint_name)]);
        assert_eq!(
            files(&image, "snap-"),
            vec![image.join(snapshot_name(5, 1))]
        );

        // Even a checkpoint segment torn under its final name (which the rename after the
        // fsync rules out) falls back to the state before.
        let image = root.path().join("torn_checkpoint");
        copy_dir(&pre_dir, &image);
        fs::write(image.join(snapshot_name(5, 1)), &snapshot_bytes).expect("write");
        fs::write(
            image.join(&checkpoint_name),
            &checkpoint_bytes[..checkpoint_bytes.len() / 2],
        )
        .expect("write");
        let (_, recovered) = open(&image);
        assert_eq!(recovered.restored, pre, "torn checkpoint segment");
        assert!(recovered.truncated_bytes > 0);
    }

    #[test]
    fn garbage_is_refused_or_cut_never_a_panic() {
        let dir = TempDir::new("garbage");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..200 {
            let _ = fs::remove_dir_all(dir.path());
            fs::create_dir_all(dir.path()).expect("create");
            let mut bytes = Vec::new();
            let records = next() % 4;
            for _ in 0..records {
                let len = (next() % 40) as usize;
                let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                // Half the records carry a good checksum, so the decoder sees garbage too.
                let crc = if next() % 2 == 0 {
                    crc32c::crc32c(&payload)
                } else {
                    next() as u32
                };
                bytes.extend_from_slice(&(len as u32).to_le_bytes());
                bytes.extend_from_slice(&crc.to_le_bytes());
                bytes.extend_from_slice(&payload);
            }
            let cut = (next() as usize) % (bytes.len() + 1);
            bytes.truncate(cut);
            let seq = if round % 3 == 0 { 1 } else { 0 };
            fs::write(dir.path().join(segment_name(seq)), &bytes).expect("write");
            if let Ok((_, recovered)) = Wal::open(dir.path()) {
                assert!(recovered.truncated_bytes <= bytes.len() as u64);
            }
        }
    }
}
