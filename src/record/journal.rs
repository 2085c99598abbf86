//! The take's journal: an append-only text file beside the output, from
//! which a take cut short by a crash is recovered. Each record is written
//! to the file as it happens (one `write`, so a killed process loses
//! nothing: the kernel keeps what was written) and synced to disk at most
//! [`SYNC_EVERY_US`] later (a power cut loses at most that much).
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
//! that does not parse: the journal can be cut at any byte. A damaged
//! header costs the settings (defaults are used, and said), never the events.
//! While a recorder writes a journal it holds an exclusive `flock` on it, so
//! a journal nobody holds and with no event in it is known to be stale.

use super::take::Take;
use super::{RecordError, RecordOptions};
use crate::decode::bytes::ByteStreamDecoder;
use crate::input::event::EventMessage;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First bytes of every journal, version included.
pub(crate) const MAGIC: &str = "composer-probe journal 1";
/// A journal's file name is `.<output name>` followed by this.
pub(crate) const EXTENSION: &str = ".journal";
/// Longest time (stream or wall clock) a record waits before being synced:
/// 0.4 s, so that with the caller's loop waking at least every 0.1 s a
/// power cut loses at most 0.5 s.
pub(crate) const SYNC_EVERY_US: u64 = 400_000;
const SYNC_EVERY: Duration = Duration::from_micros(SYNC_EVERY_US);
/// How often a running take notes that it is alive.
const ALIVE_EVERY_US: u64 = 1_000_000;
const ALIVE_EVERY: Duration = Duration::from_secs(1);

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
    file: File,
    /// When the oldest record not yet synced was written (stream, wall).
    dirty_since: Option<(u64, Instant)>,
    /// When the journal was last marked alive (stream, wall).
    alive_at: (u64, Instant),
    line: Vec<u8>,
}

impl JournalWriter {
    /// Creates a new journal (never overwriting one) holding `header`,
    /// locked, and synced with its directory. On failure after creating it,
    /// the file is removed.
    pub fn create(path: &Path, header: &JournalHeader, now_us: u64) -> io::Result<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut writer = JournalWriter {
            path: path.to_owned(),
            file,
            dirty_since: None,
            alive_at: (now_us, Instant::now()),
            line: Vec::with_capacity(64),
        };
        let written = lock(&writer.file).and_then(|()| {
            let json = serde_json::to_string(header).map_err(io::Error::other)?;
            writer
                .file
                .write_all(format!("{MAGIC} {json}\n").as_bytes())?;
            writer.file.sync_all()?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
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

    /// Writes an event line to the file.
    pub fn event(&mut self, t_us: u64, bytes: &[u8]) -> io::Result<()> {
        self.line.clear();
        write!(self.line, "{t_us} ")?;
        for byte in bytes {
            write!(self.line, "{byte:02x}")?;
        }
        self.line.push(b'\n');
        self.append(t_us)
    }

    /// Writes a Record mark to the file.
    pub fn mark(&mut self, t_us: u64) -> io::Result<()> {
        self.line.clear();
        writeln!(self.line, "m {t_us}")?;
        self.append(t_us)
    }

    /// Writes an alive line to the file.
    pub fn alive(&mut self, t_us: u64) -> io::Result<()> {
        self.line.clear();
        writeln!(self.line, "a {t_us}")?;
        self.alive_at = (t_us, Instant::now());
        self.append(t_us)
    }

    /// One `write` per record: once it returns, a killed process loses
    /// nothing of it.
    fn append(&mut self, t_us: u64) -> io::Result<()> {
        if self.dirty_since.is_none() {
            self.dirty_since = Some((t_us, Instant::now()));
        }
        self.file.write_all(&self.line)
    }

    /// Records not yet synced have waited [`SYNC_EVERY_US`] (stream or wall
    /// clock).
    pub fn sync_due(&self, now_us: u64) -> bool {
        self.dirty_since.is_some_and(|(t_us, wall)| {
            now_us.saturating_sub(t_us) >= SYNC_EVERY_US || wall.elapsed() >= SYNC_EVERY
        })
    }

    /// A second has passed since the last alive line.
    pub fn alive_due(&self, now_us: u64) -> bool {
        let (t_us, wall) = self.alive_at;
        now_us.saturating_sub(t_us) >= ALIVE_EVERY_US || wall.elapsed() >= ALIVE_EVERY
    }

    /// Syncs what was written to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.dirty_since.is_some() {
            self.file.sync_data()?;
            self.dirty_since = None;
        }
        Ok(())
    }
}

/// Takes the journal's exclusive lock (released when the process ends).
fn lock(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: flock on a descriptor this `File` owns; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// True when the journal at `path` is a leftover that holds nothing to
/// recover (no event line) and no recorder is writing it: what a signal in
/// the first moments of a take leaves behind.
pub(crate) fn is_stale_and_empty(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) || lock(&file).is_err() {
        return false;
    }
    let mut raw = Vec::new();
    if file.take(1 << 20).read_to_end(&mut raw).is_err() || raw.len() >= 1 << 20 {
        return false;
    }
    parse(&raw, "take.mid").is_ok_and(|recovered| recovered.take.events.is_empty())
        || !raw.contains(&b'\n')
}

/// A journal read back.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Its header (defaults when it was damaged).
    pub header: JournalHeader,
    /// Why the header could not be read, when defaults stand in for it.
    pub damaged_header: Option<String>,
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

/// The take file a journal at `path` belongs to, by the journal's name
/// (`.take.mid.journal` → `take.mid`).
pub(crate) fn target_from_name(path: &Path) -> String {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(EXTENSION))
        .map(|name| name.strip_prefix('.').unwrap_or(name))
        .filter(|name| !name.is_empty() && !name.contains(['/', '\\']))
        .unwrap_or("recovered.mid")
        .to_owned()
}

/// Reads a journal file: its header and every complete record.
pub(crate) fn read(path: &Path) -> Result<Recovered, RecordError> {
    let raw = std::fs::read(path).map_err(|e| RecordError::Journal {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    parse(&raw, &target_from_name(path)).map_err(|reason| RecordError::Journal {
        path: path.to_owned(),
        reason,
    })
}

/// Parses a journal's bytes. A damaged header gives the default settings
/// and `default_target` (and says why in `damaged_header`); the events are
/// read either way. Fails when the header is damaged and no event can be
/// read either (not a journal), or when another version wrote it.
pub(crate) fn parse(raw: &[u8], default_target: &str) -> Result<Recovered, String> {
    // Only lines ended by '\n' are complete.
    let complete = match raw.iter().rposition(|b| *b == b'\n') {
        Some(end) => &raw[..end],
        None => return Err("its header was cut short".to_owned()),
    };
    let mut lines = complete.split(|b| *b == b'\n');
    let first = lines.next().unwrap_or_default();
    let (header, damaged_header) = match parse_header(first) {
        Ok(header) => (header, None),
        Err(Damage::OtherVersion) => {
            return Err("written by another version of composer-probe".to_owned())
        }
        Err(Damage::Unreadable(reason)) => (
            JournalHeader {
                target: default_target.to_owned(),
                start_us: 0,
                options: RecordOptions::default(),
            },
            Some(reason),
        ),
    };
    let mut take = Take::new(header.start_us, &header.options);
    if damaged_header.is_some() {
        // The damage may have hit the header's '\n': an event may follow
        // the header's last brace on the same line.
        if let Some(end) = first.iter().rposition(|b| *b == b'}') {
            if let Some(rest) = first
                .get(end + 2..)
                .and_then(|r| std::str::from_utf8(r).ok())
            {
                apply_line(&mut take, rest);
            }
        }
    }
    for line in lines {
        // A damaged line is skipped: the rest may still be good.
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        apply_line(&mut take, line);
    }
    if damaged_header.is_some() && take.events.is_empty() {
        return Err(if raw.starts_with(b"composer-probe journal") {
            "its header is damaged and no event could be read".to_owned()
        } else {
            "it does not start with \"composer-probe journal\"".to_owned()
        });
    }
    Ok(Recovered {
        header,
        damaged_header,
        take,
    })
}

/// Why a header line could not be used.
enum Damage {
    /// A well-formed header of another journal version.
    OtherVersion,
    /// Damaged: what is wrong.
    Unreadable(String),
}

/// The header line: magic, a space, the JSON header, with options that can
/// be written.
fn parse_header(line: &[u8]) -> Result<JournalHeader, Damage> {
    let damaged = |what: &str| Damage::Unreadable(what.to_owned());
    let Some(json) = line
        .strip_prefix(MAGIC.as_bytes())
        .and_then(|rest| rest.strip_prefix(b" "))
    else {
        let other = line
            .strip_prefix(b"composer-probe journal ")
            .and_then(|rest| {
                rest.iter()
                    .position(|b| *b == b' ')
                    .map(|n| rest.split_at(n))
            })
            .is_some_and(|(version, json)| {
                !version.is_empty()
                    && version.iter().all(u8::is_ascii_digit)
                    && serde_json::from_slice::<JournalHeader>(&json[1..]).is_ok()
            });
        return Err(if other {
            Damage::OtherVersion
        } else {
            damaged("it does not start with \"composer-probe journal 1\"")
        });
    };
    let header: JournalHeader = serde_json::from_slice(json)
        .map_err(|e| Damage::Unreadable(format!("its settings do not parse: {e}")))?;
    if header.target.is_empty() || header.target.contains(['/', '\\']) {
        return Err(damaged("it names no take file"));
    }
    header
        .options
        .validate()
        .map_err(|e| Damage::Unreadable(e.to_string()))?;
    Ok(header)
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
                // An event past the longest take is counted there, not kept.
                let _ = take.push(t_us, message);
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
