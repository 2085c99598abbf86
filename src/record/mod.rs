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
    /// A journal holds no recorded event.
    #[error("{path} holds no recorded events, so there is nothing to recover; delete it")]
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
}

/// Records one take: keeps the events, journals them so a crash loses at
/// most about a second, and writes the MIDI file at [`Recorder::finish`].
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
    scratch: Vec<u8>,
}

impl Recorder {
    /// Checks the target before anything is recorded: an existing `output`
    /// without `force` gives [`RecordError::Exists`]; a directory that is
    /// missing or not writable gives [`RecordError::Unwritable`] (tested by
    /// creating the journal, `.<name>.journal` beside the output). A journal
    /// already there (an unfinished take) gives
    /// [`RecordError::UnfinishedTake`]. `now_us` is the stream clock now.
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
        let journal = JournalWriter::create(&journal_path, &header, now_us).map_err(|e| {
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
            take: Take::new(now_us, options.keep_leading_silence),
            options,
            journal,
            events: 0,
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
    /// The event is kept even when journaling it fails (the error is still
    /// returned, so the caller can warn): [`Recorder::finish`] can still
    /// write the file.
    pub fn record(&mut self, event: &MidiEvent) -> Result<(), RecordError> {
        if matches!(event.message, EventMessage::Realtime(_)) && !self.options.include_realtime {
            return Ok(());
        }
        let message = take::normalize(event.message.clone());
        self.scratch.clear();
        message.write_bytes(&mut self.scratch);
        self.take.push(event.t_us, message);
        self.events += 1;
        self.journal
            .event(event.t_us, &self.scratch)
            .and_then(|()| {
                if self.journal.flush_due(event.t_us) {
                    self.journal.flush()
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

    /// Flushes the journal to disk when it holds events older than a
    /// second (stream or wall clock); once the take has started, also
    /// notes every second how long it has run, so a recovered take keeps
    /// its trailing silence. Call it from the caller's loop, at least a few
    /// times a second.
    pub fn flush_if_due(&mut self, now_us: u64) -> Result<(), RecordError> {
        let due = self.journal.flush_due(now_us)
            || (self.take.started() && self.journal.heartbeat_due(now_us));
        if due {
            self.journal
                .alive(now_us)
                .and_then(|()| self.journal.flush())
                .map_err(|e| self.journal_error(e))?;
        }
        Ok(())
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
    /// events gives a valid file with no notes. On error the journal stays.
    pub fn finish(mut self, stop_us: u64) -> Result<TakeSummary, RecordError> {
        // The file is what matters; a journal that cannot be flushed any
        // more is only a fallback.
        let _ = self.journal.flush();
        let written = smf::write_take(&self.take, stop_us, &self.options).map_err(|source| {
            RecordError::Write {
                path: self.output.clone(),
                source,
            }
        })?;
        files::write_atomically(&self.output, &written.bytes)?;
        let journal_path = self.journal.path().to_owned();
        drop(self.journal);
        let _ = std::fs::remove_file(&journal_path);
        files::sync_dir(&files::parent_dir(&self.output));
        Ok(written.summary(self.output))
    }

    fn journal_error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.journal.path().to_owned(),
            source,
        }
    }

    /// Test helper: ends like `kill -9` would, dropping whatever the
    /// journal has not flushed.
    #[cfg(test)]
    pub(crate) fn crash(self) {
        self.journal.crash();
    }
}

/// Turns a journal left by a crash (kill -9, power loss) into a valid SMF
/// holding every event up to its last complete line; notes still sounding
/// are closed at the last time the journal knew of. The output defaults to
/// the take's file (named in the journal, in the journal's directory), or
/// `<take>.recovered.mid` beside it if that exists; an existing output is
/// only overwritten with `force`. The journal is deleted once the file is in
/// place.
pub fn recover(
    journal: &Path,
    output: Option<&Path>,
    force: bool,
) -> Result<TakeSummary, RecordError> {
    let recovered = journal::read(journal)?;
    if recovered.take.events.is_empty() {
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
    let options = &recovered.header.options;
    options.validate()?;
    let stop_us = recovered.take.last_us();
    let written = smf::write_take(&recovered.take, stop_us, options).map_err(|source| {
        RecordError::Write {
            path: output.clone(),
            source,
        }
    })?;
    files::write_atomically(&output, &written.bytes)?;
    let _ = std::fs::remove_file(journal);
    files::sync_dir(&files::parent_dir(journal));
    Ok(written.summary(output))
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
        .filter(|path| path.is_file() && journal::looks_like_journal(path))
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
