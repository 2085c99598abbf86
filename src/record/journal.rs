//! The take's journal: an append-only text file beside the output, synced
//! to disk about every second, from which a take cut short by a crash is
//! recovered.
//!
//! Format (UTF-8, one record per line, each ended by `\n`):
//!
//! ```text
//! composer-probe journal 1 {"target":"take.mid","start_us":0,"options":{...}}
//! 1500000 903c64          an event: stream time (µs), its MIDI bytes in hex
//! m 1400000               Record mark: time zero moves here (before any note)
//! a 2600000               alive: the take was still running at this time
//! ```
//!
//! `target` is the output's file name, in the journal's directory. A last
//! line without its `\n` (cut by the crash) is ignored, and so is any line
//! that does not parse: the journal can be cut at any byte.

use super::take::Take;
use super::{RecordError, RecordOptions};
use crate::decode::bytes::ByteStreamDecoder;
use crate::input::event::EventMessage;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First bytes of every journal, version included.
pub(crate) const MAGIC: &str = "composer-probe journal 1";
/// A journal's file name is `.<output name>` followed by this.
pub(crate) const EXTENSION: &str = ".journal";
/// Longest time (stream or wall clock) an event waits before being synced.
const FLUSH_EVERY_US: u64 = 1_000_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The journal's first line after the magic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JournalHeader {
    /// The output's file name (in the journal's directory).
    pub target: String,
    /// Stream clock at `Recorder::start`.
    pub start_us: u64,
    /// How the take is written.
    pub options: RecordOptions,
}

/// Appends to a journal.
#[derive(Debug)]
pub(crate) struct JournalWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// When the oldest record not yet synced was written (stream, wall).
    dirty_since: Option<(u64, Instant)>,
    /// When the journal was last synced (stream, wall).
    synced_at: (u64, Instant),
    /// The latest time written.
    latest_us: u64,
    line: Vec<u8>,
}

impl JournalWriter {
    /// Creates a new journal (never overwriting one) holding `header`,
    /// synced. On failure after creating it, the file is removed.
    pub fn create(path: &Path, header: &JournalHeader, now_us: u64) -> io::Result<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut writer = JournalWriter {
            path: path.to_owned(),
            out: BufWriter::new(file),
            dirty_since: None,
            synced_at: (now_us, Instant::now()),
            latest_us: now_us,
            line: Vec::with_capacity(64),
        };
        let json = serde_json::to_string(header).map_err(io::Error::other);
        let written = json.and_then(|json| {
            writeln!(writer.out, "{MAGIC} {json}")?;
            writer.flush()
        });
        match written {
            Ok(()) => Ok(writer),
            Err(e) => {
                drop(writer);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an event line (buffered).
    pub fn event(&mut self, t_us: u64, bytes: &[u8]) -> io::Result<()> {
        self.line.clear();
        write!(self.line, "{t_us} ")?;
        for byte in bytes {
            write!(self.line, "{byte:02x}")?;
        }
        self.line.push(b'\n');
        self.append(t_us)
    }

    /// Appends a Record mark (buffered).
    pub fn mark(&mut self, t_us: u64) -> io::Result<()> {
        self.line.clear();
        writeln!(self.line, "m {t_us}")?;
        self.append(t_us)
    }

    /// Appends an alive line (buffered).
    pub fn alive(&mut self, t_us: u64) -> io::Result<()> {
        self.line.clear();
        writeln!(self.line, "a {t_us}")?;
        self.append(t_us)
    }

    fn append(&mut self, t_us: u64) -> io::Result<()> {
        if self.dirty_since.is_none() {
            self.dirty_since = Some((t_us, Instant::now()));
        }
        self.latest_us = self.latest_us.max(t_us);
        self.out.write_all(&self.line)
    }

    /// Unsynced records have waited a second (stream or wall clock).
    pub fn flush_due(&self, now_us: u64) -> bool {
        self.dirty_since.is_some_and(|(t_us, wall)| {
            now_us.saturating_sub(t_us) >= FLUSH_EVERY_US || wall.elapsed() >= FLUSH_EVERY
        })
    }

    /// A second has passed since the last sync.
    pub fn heartbeat_due(&self, now_us: u64) -> bool {
        let (t_us, wall) = self.synced_at;
        now_us.saturating_sub(t_us) >= FLUSH_EVERY_US || wall.elapsed() >= FLUSH_EVERY
    }

    /// Writes out the buffer and syncs the data to disk.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()?;
        self.synced_at = (self.latest_us, Instant::now());
        self.dirty_since = None;
        Ok(())
    }

    /// Test helper: drops the file without writing out the buffer.
    #[cfg(test)]
    pub fn crash(self) {
        let (_file, _unwritten) = self.out.into_parts();
    }
}

/// A journal read back.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Its header.
    pub header: JournalHeader,
    /// The take as recorded up to the last complete line.
    pub take: Take,
}

/// True when the file starts with the journal magic.
pub(crate) fn looks_like_journal(path: &Path) -> bool {
    let mut start = [0u8; MAGIC.len()];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .is_ok()
        && start == *MAGIC.as_bytes()
}

/// Reads a journal: its header and every complete record.
pub(crate) fn read(path: &Path) -> Result<Recovered, RecordError> {
    let bad = |reason: String| RecordError::Journal {
        path: path.to_owned(),
        reason,
    };
    let raw = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !raw.starts_with(MAGIC.as_bytes()) {
        return Err(bad(if raw.starts_with(b"composer-probe journal ") {
            "written by another version of composer-probe".to_owned()
        } else {
            "it does not start with \"composer-probe journal\"".to_owned()
        }));
    }
    // Only lines ended by '\n' are complete.
    let complete = match raw.iter().rposition(|b| *b == b'\n') {
        Some(end) => &raw[..end],
        None => return Err(bad("its header was cut short".to_owned())),
    };
    let mut lines = complete.split(|b| *b == b'\n');
    let first = lines.next().unwrap_or_default();
    let json = first
        .get(MAGIC.len()..)
        .and_then(|rest| rest.strip_prefix(b" "))
        .ok_or_else(|| bad("its header is damaged".to_owned()))?;
    let header: JournalHeader =
        serde_json::from_slice(json).map_err(|e| bad(format!("its header is damaged: {e}")))?;
    if header.target.is_empty() || header.target.contains(['/', '\\']) {
        return Err(bad("its header names no take file".to_owned()));
    }
    let mut take = Take::new(header.start_us, header.options.keep_leading_silence);
    for line in lines {
        // A damaged line is skipped: the rest may still be good.
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        apply_line(&mut take, line);
    }
    Ok(Recovered { header, take })
}

/// Replays one journal line into the take; a line that does not parse is
/// skipped.
fn apply_line(take: &mut Take, line: &str) {
    let Some((first, second)) = line.split_once(' ') else {
        return;
    };
    let time = |s: &str| s.parse::<u64>().ok();
    match (first, time(second)) {
        ("m", Some(t_us)) => {
            take.mark(t_us);
        }
        ("a", Some(t_us)) => take.seen(t_us),
        _ => {
            if let (Some(t_us), Some(message)) =
                (time(first), decode_hex(second).and_then(|b| message(&b)))
            {
                take.push(t_us, message);
            }
        }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The one message `bytes` hold (as written by `EventMessage::write_bytes`).
fn message(bytes: &[u8]) -> Option<EventMessage> {
    if bytes.first() == Some(&0xf0) {
        let truncated = bytes.len() < 2 || bytes.last() != Some(&0xf7);
        return Some(EventMessage::SysEx {
            data: bytes.into(),
            truncated,
        });
    }
    let mut decoder = ByteStreamDecoder::new();
    let mut found = Vec::with_capacity(1);
    decoder.feed(bytes, |m| found.push(EventMessage::from(m)));
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}
