//! Recording to Standard MIDI Files: everything below `composer-probe record`
//! and `composer-probe recover`.
//!
//! This module owns the take: which events belong to it and where its time
//! zero is (`take`), the crash-safe journal written while recording
//! (`journal`), turning a take into SMF bytes with midly (`smf`), and
//! putting files in place atomically (`files`); reading SMF files back
//! lives beside the writer (`read`). The caller owns the input
//! stream, signals and transport buttons: it feeds events to a [`Recorder`],
//! calls [`Recorder::flush_if_due`] from its loop and [`Recorder::finish`]
//! at the end. A take cut short by a crash is turned into a file by
//! [`recover`].

pub(crate) mod files;
mod journal;
pub mod read;
mod smf;
mod take;
#[cfg(test)]
mod tests;

use crate::decode::message::ChannelMessage;
use crate::input::event::{EventMessage, MidiEvent};
use journal::{JournalHeader, JournalWriter};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use take::Take;

/// How a take is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordOptions {
    /// Ticks per quarter note (1–32767). Default 480.
    pub ppq: u16,
    /// Tempo written to the file, in quarter notes per minute. The file
    /// stores it as whole microseconds per beat and ticks are computed from
    /// that value, so playback matches the recording exactly. Default 120.
    pub bpm: f64,
    /// Time signature (numerator, denominator; the denominator a power of
    /// two). Default (4, 4).
    pub time_signature: (u8, u8),
    /// SMF format 1: a conductor track (name, tempo, time signature, SysEx
    /// and other system messages), then one track per MIDI channel used.
    /// Otherwise format 0 (one track).
    pub split_channels: bool,
    /// Time zero is [`Recorder::start`] time instead of the first Note On.
    pub keep_leading_silence: bool,
    /// Record System Real-Time messages (clock, active sensing...) too.
    pub include_realtime: bool,
    /// Name written as the track (sequence) name.
    pub track_name: String,
    /// AWS DeepComposer input melody: one track, one static tempo, at most
    /// 8 bars (cut at the 8-bar boundary, held notes closed there).
    /// Overrides `split_channels`.
    pub deepcomposer_export: bool,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            ppq: 480,
            bpm: 120.0,
            time_signature: (4, 4),
            split_channels: false,
            keep_leading_silence: false,
            include_realtime: false,
            track_name: "composer-probe take".to_owned(),
            deepcomposer_export: false,
        }
    }
}

impl RecordOptions {
    /// Checks the options can be written to a Standard MIDI File.
    pub fn validate(&self) -> Result<(), RecordError> {
        let bad = |reason: String| Err(RecordError::Options { reason });
        if self.ppq == 0 || self.ppq > 0x7fff {
            return bad(format!(
                "ticks per quarter note must be 1 to 32767, not {}",
                self.ppq
            ));
        }
        let tempo = 60_000_000.0 / self.bpm;
        if !self.bpm.is_finite() || !(1.0..=f64::from(smf::MAX_TEMPO)).contains(&tempo.round()) {
            return bad(format!(
                "the tempo must be between 4 and 60000000 bpm, not {}",
                self.bpm
            ));
        }
        let (numerator, denominator) = self.time_signature;
        if numerator == 0 || !denominator.is_power_of_two() || denominator > 64 {
            return bad(format!(
                "time signature {numerator}/{denominator}: the numerator must be at least 1 \
                 and the denominator one of 1, 2, 4, 8, 16, 32, 64"
            ));
        }
        Ok(())
    }
}

/// Why recording or recovering failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The output file exists and `force` was not given.
    #[error("{path} exists; pass --force to overwrite it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Nothing can be written where the take should go (checked before
    /// anything is recorded).
    #[error("cannot write in {dir} ({reason}): choose another directory")]
    Unwritable {
        /// The directory (or the output path, when that is a directory).
        dir: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// Writing failed part-way (disk full, device gone...).
    #[error(
        "writing {path} failed (free some disk space or choose another directory; \
         what was recorded so far stays in the take's journal: composer-probe recover)"
    )]
    Write {
        /// The file being written (the journal or the MIDI file).
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A journal could not be read or is not a composer-probe journal.
    #[error(
        "{path} is not a usable composer-probe journal ({reason}); check the path \
         (journals are named .<take>.journal)"
    )]
    Journal {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A journal holds no played note.
    #[error("{path} holds no played notes, so there is nothing to recover; delete it")]
    NothingToRecover {
        /// The journal.
        path: PathBuf,
    },
    /// A journal of an earlier, unfinished take to the same file is in the
    /// way (never overwritten, not even with `force`).
    #[error(
        "an unfinished take to the same file is waiting in {journal}: run \
         `composer-probe recover {journal}` first, or delete it"
    )]
    UnfinishedTake {
        /// The leftover journal.
        journal: PathBuf,
    },
    /// The take holds no note, so no file was written (and an existing one
    /// was left as it was).
    #[error("no notes were played, so {path} was not written")]
    NoNotes {
        /// The file that was not written.
        path: PathBuf,
    },
    /// An event came later after the take's start than a take can run;
    /// it and the ones after it are left out.
    #[error(
        "events more than {} after the take's start are not recorded (the longest a take \
         can be); stop and start a new take",
        span(*span_us)
    )]
    TooLong {
        /// The longest a take can run, µs.
        span_us: u64,
    },
    /// The options cannot be written to a MIDI file.
    #[error("cannot record with these settings: {reason}")]
    Options {
        /// Which setting and why.
        reason: String,
    },
}

/// What a finished (or recovered) take holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeSummary {
    /// The MIDI file written.
    pub path: PathBuf,
    /// Notes played (Note Ons in the file).
    pub notes: usize,
    /// MIDI events of the take in the file (meta events and the Note Offs
    /// added at the end not counted).
    pub events: usize,
    /// Length of the take, from time zero to the stop (or the 8-bar cut).
    pub duration_us: u64,
    /// Notes still sounding at the stop (or the cut) that were given their
    /// Note Off there.
    pub closed_notes: usize,
    /// What the user should know about how the file was made (a damaged
    /// journal header, events left out), one sentence each.
    pub warnings: Vec<String>,
}

/// A take's longest length for people: `24 h`, or seconds when shorter.
fn span(span_us: u64) -> String {
    if span_us % 3_600_000_000 == 0 {
        format!("{} h", span_us / 3_600_000_000)
    } else {
        format!("{:.1} s", span_us as f64 / 1e6)
    }
}

/// Records one take: keeps the events, journals each as it comes (kill -9
/// loses nothing, a power cut at most half a second), and writes the MIDI
/// file at [`Recorder::finish`].
///
/// Dropping a recorder without finishing leaves the journal behind, to be
/// turned into a file by [`recover`].
#[derive(Debug)]
pub struct Recorder {
    output: PathBuf,
    options: RecordOptions,
    journal: JournalWriter,
    take: Take,
    events: usize,
    /// The take has run past its longest and said so.
    too_long: bool,
    scratch: Vec<u8>,
}

impl Recorder {
    /// Checks the target before anything is recorded: an existing `output`
    /// without `force` gives [`RecordError::Exists`]; a directory that is
    /// missing or not writable gives [`RecordError::Unwritable`] (tested by
    /// creating the journal, `.<name>.journal` beside the output). A journal
    /// already there (an unfinished take, or one being written) gives
    /// [`RecordError::UnfinishedTake`]; one that nobody writes and that holds
    /// no event (left by a signal in a take's first moments) is replaced.
    /// `now_us` is the stream clock now.
    pub fn start(
        output: &Path,
        options: RecordOptions,
        force: bool,
        now_us: u64,
    ) -> Result<Recorder, RecordError> {
        options.validate()?;
        let name = files::file_name(output)?;
        let dir = files::parent_dir(output);
        if output.is_dir() {
            return Err(RecordError::Unwritable {
                dir: output.to_owned(),
                reason: "it is a directory; give a file name such as take.mid".to_owned(),
            });
        }
        if !force && output.symlink_metadata().is_ok() {
            return Err(RecordError::Exists {
                path: output.to_owned(),
            });
        }
        let journal_path = files::journal_path(output)?;
        let header = JournalHeader {
            target: name,
            start_us: now_us,
            options: options.clone(),
        };
        let created = JournalWriter::create(&journal_path, &header, now_us).or_else(|e| {
            // What a signal in the first moments of a take leaves (nothing
            // recorded, nobody writing it) must not block the next one.
            if e.kind() == std::io::ErrorKind::AlreadyExists
                && journal::is_stale_and_empty(&journal_path)
            {
                let _ = std::fs::remove_file(&journal_path);
                JournalWriter::create(&journal_path, &header, now_us)
            } else {
                Err(e)
            }
        });
        let journal = created.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                RecordError::UnfinishedTake {
                    journal: journal_path.clone(),
                }
            } else {
                RecordError::Unwritable {
                    dir: dir.clone(),
                    reason: files::reason(&e, &dir),
                }
            }
        })?;
        Ok(Recorder {
            output: output.to_owned(),
            take: Take::new(now_us, &options),
            options,
            journal,
            events: 0,
            too_long: false,
            scratch: Vec::with_capacity(16),
        })
    }

    /// Records one event (time on the stream clock, µs): channel messages,
    /// SysEx and System Common; System Real-Time only with
    /// `include_realtime` (otherwise ignored, not counted). The first Note
    /// On starts the take unless it started already (see
    /// [`Recorder::mark_start`]); events before time zero (program,
    /// controllers...) are written at tick 0. The cable is ignored.
    ///
    /// The event is written to the journal file before this returns. It is
    /// kept in the take even when journaling it fails; the error is
    /// returned so the caller can stop the take ([`RecordError::Write`]:
    /// everything before it is in the journal). An event later than the
    /// longest a take can run is left out, with [`RecordError::TooLong`]
    /// the first time.
    pub fn record(&mut self, event: &MidiEvent) -> Result<(), RecordError> {
        if matches!(event.message, EventMessage::Realtime(_)) && !self.options.include_realtime {
            return Ok(());
        }
        let message = take::normalize(event.message.clone());
        self.scratch.clear();
        message.write_bytes(&mut self.scratch);
        if !self.take.push(event.t_us, message) {
            if std::mem::replace(&mut self.too_long, true) {
                return Ok(());
            }
            return Err(RecordError::TooLong {
                span_us: self.take.span_us(),
            });
        }
        self.events += 1;
        self.journal
            .event(event.t_us, &self.scratch)
            .and_then(|()| {
                if self.journal.sync_due(event.t_us) {
                    self.journal.sync()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| self.journal_error(e))
    }

    /// The Record button was pressed: the take starts at `t_us`, leading
    /// silence up to the first note kept. Ignored once a note has been
    /// recorded (the take has started at it); before that, the last mark
    /// wins (it also replaces the start time of `keep_leading_silence`).
    pub fn mark_start(&mut self, t_us: u64) {
        if self.take.mark(t_us) {
            // A failure here shows up at the next flush.
            let _ = self.journal.mark(t_us);
        }
    }

    /// Syncs the journal to disk when it holds records written 0.4 s ago
    /// (stream or wall clock); once the take has started, also notes every
    /// second how long it has run, so a recovered take keeps its trailing
    /// silence. Call it from the caller's loop at least every 0.1 s: a
    /// power cut then loses at most half a second.
    pub fn flush_if_due(&mut self, now_us: u64) -> Result<(), RecordError> {
        let alive =
            self.take.started() && !self.take.is_too_late(now_us) && self.journal.alive_due(now_us);
        let written = if alive {
            self.journal.alive(now_us)
        } else {
            Ok(())
        };
        let synced = written.and_then(|()| {
            if alive || self.journal.sync_due(now_us) {
                self.journal.sync()
            } else {
                Ok(())
            }
        });
        synced.map_err(|e| self.journal_error(e))
    }

    /// True once a Note On or a [`Recorder::mark_start`] has been seen (not
    /// just because of `keep_leading_silence`).
    pub fn started(&self) -> bool {
        self.take.started()
    }

    /// Microseconds since time zero (0 before it is known). With
    /// `keep_leading_silence`, time zero is the start time.
    pub fn elapsed_us(&self, now_us: u64) -> u64 {
        self.take
            .zero_us()
            .map_or(0, |zero| now_us.saturating_sub(zero))
    }

    /// Events recorded so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// The journal being written (what to pass to [`recover`] after a crash).
    pub fn journal_path(&self) -> &Path {
        self.journal.path()
    }

    /// Stops at `stop_us`: notes still held get a Note Off and a held
    /// sustain pedal its release (CC64 0) at the stop time, then End of
    /// Track. The file is written to a temporary file beside the output,
    /// synced, renamed into place, and the journal deleted. A take without
    /// notes writes no file (an existing one is left as it was), removes
    /// its journal and gives [`RecordError::NoNotes`]. On any other error
    /// the journal stays.
    pub fn finish(mut self, stop_us: u64) -> Result<TakeSummary, RecordError> {
        // The file is what matters; a journal that cannot be synced any
        // more is only a fallback.
        let _ = self.journal.sync();
        let written = smf::write_take(&self.take, stop_us, &self.options).map_err(|source| {
            RecordError::Write {
                path: self.output.clone(),
                source,
            }
        })?;
        if written.notes == 0 {
            let journal_path = self.journal.path().to_owned();
            drop(self.journal);
            let _ = std::fs::remove_file(&journal_path);
            return Err(RecordError::NoNotes { path: self.output });
        }
        files::write_atomically(&self.output, &written.bytes)?;
        let journal_path = self.journal.path().to_owned();
        drop(self.journal);
        let _ = std::fs::remove_file(&journal_path);
        files::sync_dir(&files::parent_dir(&self.output));
        Ok(written.summary(self.output, Vec::new()))
    }

    fn journal_error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.journal.path().to_owned(),
            source,
        }
    }

    /// Test helper: ends like `kill -9` would (what was written stays).
    #[cfg(test)]
    pub(crate) fn crash(self) {
        drop(self);
    }
}

/// Turns a journal left by a crash (kill -9, power loss, a full disk) into
/// a valid SMF holding every event up to its last complete line; notes
/// still sounding are closed at the last time the journal knew of. A
/// damaged header costs only the settings: the defaults are used and the
/// summary's warnings say so. The output defaults to the take's file (named
/// in the journal, or by the journal's own name, in the journal's
/// directory), or `<take>.recovered.mid` beside it if that exists; an
/// existing output is only overwritten with `force`. The journal is deleted
/// once the file is in place.
pub fn recover(
    journal: &Path,
    output: Option<&Path>,
    force: bool,
) -> Result<TakeSummary, RecordError> {
    let recovered = journal::read(journal)?;
    if !recovered.take.started() {
        return Err(RecordError::NothingToRecover {
            path: journal.to_owned(),
        });
    }
    let output = match output {
        Some(output) => output.to_owned(),
        None => {
            let target = files::parent_dir(journal).join(&recovered.header.target);
            if target.symlink_metadata().is_ok() {
                files::recovered_path(&target)
            } else {
                target
            }
        }
    };
    if output.is_dir() {
        return Err(RecordError::Unwritable {
            dir: output,
            reason: "it is a directory; give a file name such as take.mid".to_owned(),
        });
    }
    if !force && output.symlink_metadata().is_ok() {
        return Err(RecordError::Exists { path: output });
    }
    let written = recovered_smf(&recovered).map_err(|source| RecordError::Write {
        path: output.clone(),
        source,
    })?;
    if written.notes == 0 {
        return Err(RecordError::NothingToRecover {
            path: journal.to_owned(),
        });
    }
    files::write_atomically(&output, &written.bytes)?;
    let _ = std::fs::remove_file(journal);
    files::sync_dir(&files::parent_dir(journal));
    Ok(written.summary(output, recovery_warnings(&recovered)))
}

/// The SMF a journal read back turns into, stopped at the last time it
/// knew of.
fn recovered_smf(recovered: &journal::Recovered) -> std::io::Result<smf::Written> {
    let stop_us = recovered.take.last_us();
    smf::write_take(&recovered.take, stop_us, &recovered.header.options)
}

/// What `recover` tells about how it made the file.
fn recovery_warnings(recovered: &journal::Recovered) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(reason) = &recovered.damaged_header {
        warnings.push(format!(
            "the journal's header is damaged ({reason}); every event was recovered, \
             with the default settings (480 ticks per quarter note, 120 bpm, 4/4, format 0)"
        ));
    }
    if recovered.take.too_late > 0 {
        warnings.push(format!(
            "{} event(s) more than {} after the take's start were left out (the longest a \
             take can be)",
            recovered.take.too_late,
            span(recovered.take.span_us())
        ));
    }
    warnings
}

/// `recover` on a journal's bytes, in memory: the MIDI file it would
/// write. For fuzzing and tests; [`recover`] is the same on files.
pub fn recover_bytes(journal: &[u8]) -> Result<Vec<u8>, RecordError> {
    let recovered = journal::parse(journal, "take.mid").map_err(|reason| RecordError::Journal {
        path: PathBuf::from("(journal bytes)"),
        reason,
    })?;
    if !recovered.take.started() {
        return Err(RecordError::NothingToRecover {
            path: PathBuf::from("(journal bytes)"),
        });
    }
    recovered_smf(&recovered)
        .map(|written| written.bytes)
        .map_err(|source| RecordError::Write {
            path: PathBuf::from("(memory)"),
            source,
        })
}

/// Checks a folder takes will be saved in, before a session starts: it
/// exists, is a directory, can be written (a file is created and removed)
/// and has at least 1 MiB free.
pub fn check_takes_dir(dir: &Path) -> Result<(), RecordError> {
    let refuse = |reason: String| RecordError::Unwritable {
        dir: dir.to_owned(),
        reason,
    };
    match std::fs::metadata(dir) {
        Err(_) => return Err(refuse("no such directory".to_owned())),
        Ok(meta) if !meta.is_dir() => return Err(refuse("it is not a directory".to_owned())),
        Ok(_) => {}
    }
    let probe = dir.join(format!(".composer-probe-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| refuse(e.to_string()))?;
    let _ = std::fs::remove_file(&probe);
    match free_bytes(dir) {
        Some(free) if free < 1 << 20 => Err(refuse(format!(
            "only {} KiB free; takes need room",
            free / 1024
        ))),
        _ => Ok(()),
    }
}

/// Bytes free for an unprivileged user on `dir`'s file system, if known.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs only writes into the zeroed struct we pass.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a valid C string and `stats` a valid pointer.
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        // Both are 32 bits wide on some targets.
        #[allow(clippy::useless_conversion)]
        let free = u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize));
        Some(free)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Journals of unfinished takes in `dir` (`.<name>.journal` files that start
/// like one), sorted; empty when there are none or `dir` cannot be read.
pub fn leftover_journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && name.ends_with(journal::EXTENSION)
        })
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && journal::looks_like_journal(path)
                && !journal::is_stale_and_empty(path)
        })
        .collect();
    found.sort();
    found
}

/// Microseconds since time zero to ticks, without drift: computed from the
/// take start each time (never accumulated) and rounded to nearest, in
/// integer arithmetic, at the tempo the file stores (`bpm` as whole
/// microseconds per beat, which is what players read back). An hour-long
/// take is exact to the nearest tick.
pub fn ticks(elapsed_us: u64, ppq: u16, bpm: f64) -> u64 {
    smf::ticks_at_tempo(elapsed_us, ppq, smf::tempo_us_per_beat(bpm))
}

/// True for a Note On with a velocity above 0 (a note starting).
fn is_note_start(message: &EventMessage) -> bool {
    matches!(
        message,
        EventMessage::Channel {
            message: ChannelMessage::NoteOn { vel, .. },
            ..
        } if vel.as_int() > 0
    )
}
