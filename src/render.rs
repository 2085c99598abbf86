//! Offline rendering: the same engine as live play, driven by event
//! timestamps instead of a sound card, written to WAV with hound. Serves
//! `composer-probe render` and `play --wav`.

use crate::record::files;
use crate::record::read::{self, FileError};
use crate::synth::{Engine, EngineConfig, SynthEvent};
use std::fs::File;
use std::io::{self, BufWriter, Seek as _, Write as _};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest release/reverb tail rendered after the last event.
const MAX_TAIL_SECONDS: u64 = 30;
/// The most bytes a WAV's 32-bit sizes can describe, less the largest
/// header hound writes.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 68;

/// Sample format of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer PCM.
    Int16,
    /// 32-bit float.
    Float32,
}

impl WavFormat {
    fn bytes_per_frame(self) -> u64 {
        match self {
            WavFormat::Int16 => 4,
            WavFormat::Float32 => 8,
        }
    }
}

/// `play --wav`: the file and how long it may get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavTarget {
    /// The WAV file.
    pub path: PathBuf,
    /// Writing stops (the session goes on) once the file is this long.
    pub max_length: Duration,
    /// Replace the file if it exists.
    pub force: bool,
}

impl WavTarget {
    /// Refuses a directory, and an existing file without `force`, before
    /// anything is opened (the file is created later).
    pub fn check(&self) -> Result<(), RenderError> {
        check_target(&self.path, self.force)
    }
}

/// Where `render` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file, replaced only with `force`.
    File {
        /// The WAV file.
        path: PathBuf,
        /// Replace it if it exists.
        force: bool,
    },
    /// Standard output (`-`), for `| aplay` or `| sox`.
    Stdout,
}

impl Destination {
    /// The destination a command-line word names (`-` is standard output).
    pub fn new(word: &Path, force: bool) -> Self {
        if word == Path::new("-") {
            Destination::Stdout
        } else {
            Destination::File {
                path: word.to_owned(),
                force,
            }
        }
    }

    /// For people.
    pub fn describe(&self) -> String {
        match self {
            Destination::File { path, .. } => path.display().to_string(),
            Destination::Stdout => "standard output".to_owned(),
        }
    }
}

/// How `render` renders.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Sample format.
    pub format: WavFormat,
    /// Files longer than this are refused, and the tail is cut here.
    pub max_length: Duration,
    /// Play what can be read from a damaged file instead of refusing it.
    pub lenient: bool,
    /// The synth.
    pub engine: EngineConfig,
    /// With a SoundFont: how many synthesizers (threads) share the notes;
    /// `None`: one per core. The built-in synth always renders on one.
    pub jobs: Option<NonZeroUsize>,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The MIDI file could not be used.
    #[error(transparent)]
    File(#[from] FileError),
    /// The WAV file could not be written.
    #[error("cannot write {path} ({})", if *.kept {
        "it holds what was written until then"
    } else {
        "nothing was left behind"
    })]
    Write {
        /// The output file.
        path: PathBuf,
        /// True when the file stays, valid up to the failure (`play --wav`).
        kept: bool,
        /// What hound (or the file system) said.
        #[source]
        source: hound::Error,
    },
    /// The output exists and replacing it was not asked for.
    #[error("{path} exists; pass --force to overwrite it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The output is a directory.
    #[error("{path} is a directory; give a file name such as out.wav")]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The audio would be longer than the limit.
    #[error(
        "{path} would be at least {} of audio, longer than the {} limit; pass \
         --max-length {} to render it",
        describe_length(*.seconds), describe_length(.limit.as_secs_f64()),
        suggest_limit(*.seconds)
    )]
    TooLong {
        /// The MIDI file.
        path: PathBuf,
        /// How long its events last.
        seconds: f64,
        /// The limit.
        limit: Duration,
    },
    /// The WAV would be too big for its header.
    #[error(
        "{path} would make at least {:.1} GB of WAV, past the 4 GiB a WAV header can \
         describe; use a lower --rate or 16-bit samples",
        *.bytes as f64 / 1e9
    )]
    TooBig {
        /// The MIDI file.
        path: PathBuf,
        /// How many bytes of audio its events need.
        bytes: u64,
    },
    /// SIGINT, SIGTERM or SIGHUP arrived.
    #[error("interrupted; nothing was written")]
    Interrupted,
    /// Standard output could not be written.
    #[error("cannot write the WAV to standard output")]
    Stdout(#[source] io::Error),
}

/// A length for people: "4.2 s", "12 min 5 s", "10 h", "1 h 30 min".
pub fn describe_length(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (hours, minutes) = (whole / 3600, whole % 3600 / 60);
    match (hours, minutes) {
        (0, _) => format!("{minutes} min {} s", whole % 60),
        (_, 0) => format!("{hours} h"),
        _ => format!("{hours} h {minutes} min"),
    }
}

/// A `--max-length` value that admits `seconds`.
fn suggest_limit(seconds: f64) -> String {
    if seconds < 600.0 {
        format!("{}", seconds.ceil() as u64 + 1)
    } else {
        format!("{}m", (seconds / 60.0).ceil() as u64 + 1)
    }
}

/// Where a WAV being written lives.
enum Place {
    /// Beside the target under a temporary name, renamed into place by
    /// [`WavOutput::finish`]; removed if dropped.
    Temporary {
        file: tempfile::NamedTempFile,
        force: bool,
    },
    /// An unnamed file (gone with the process), copied to standard output
    /// by [`WavOutput::finish`].
    Stdout { file: File },
    /// At its own name from the start, its header kept current as it grows
    /// (`play --wav`: killed, it is still a valid WAV up to the last
    /// second).
    Live,
}

/// A WAV file being written. `render` writes under a temporary name and
/// renames at the end (a finished file or none); `play --wav` writes at the
/// file's own name and updates the header about once a second (a session
/// killed with SIGKILL still leaves its music up to the last second).
pub struct WavOutput {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    place: Place,
    format: WavFormat,
    target: PathBuf,
    frames: u64,
    /// Frames the header last said.
    flushed_frames: u64,
    /// Writing stops here.
    limit_frames: u64,
    full: bool,
    sample_rate: u32,
    cancel: Option<Arc<AtomicBool>>,
}

impl WavOutput {
    fn spec(sample_rate: u32, format: WavFormat) -> hound::WavSpec {
        hound::WavSpec {
            channels: 2,
            sample_rate,
            bits_per_sample: match format {
                WavFormat::Int16 => 16,
                WavFormat::Float32 => 32,
            },
            sample_format: match format {
                WavFormat::Int16 => hound::SampleFormat::Int,
                WavFormat::Float32 => hound::SampleFormat::Float,
            },
        }
    }

    fn open(
        file: File,
        place: Place,
        target: &Path,
        sample_rate: u32,
        format: WavFormat,
        max_length: Duration,
    ) -> Result<Self, RenderError> {
        let kept = matches!(place, Place::Live);
        let writer = hound::WavWriter::new(BufWriter::new(file), Self::spec(sample_rate, format))
            .map_err(|source| RenderError::Write {
            path: target.to_owned(),
            kept,
            source,
        })?;
        let by_time = (max_length.as_secs_f64() * f64::from(sample_rate)) as u64;
        Ok(WavOutput {
            writer: Some(writer),
            place,
            format,
            target: target.to_owned(),
            frames: 0,
            flushed_frames: 0,
            limit_frames: by_time.min(MAX_DATA_BYTES / format.bytes_per_frame()),
            full: false,
            sample_rate,
            cancel: None,
        })
    }

    /// Starts writing a stereo WAV file that appears at `target` only when
    /// [`WavOutput::finish`]ed; an existing `target` is replaced only with
    /// `force`. Writing stops at `max_length` (or 4 GiB).
    pub fn create(
        target: &Path,
        force: bool,
        sample_rate: u32,
        format: WavFormat,
        max_length: Duration,
    ) -> Result<Self, RenderError> {
        check_target(target, force)?;
        let failed = |e: io::Error| write_error(target, false, e);
        let temporary = files::temporary_beside(target, ".part").map_err(failed)?;
        let file = temporary.as_file().try_clone().map_err(failed)?;
        let place = Place::Temporary {
            file: temporary,
            force,
        };
        Self::open(file, place, target, sample_rate, format, max_length)
    }

    /// Starts writing a stereo WAV for standard output, sent at
    /// [`WavOutput::finish`] with its true length in the header.
    pub fn stdout(
        sample_rate: u32,
        format: WavFormat,
        max_length: Duration,
    ) -> Result<Self, RenderError> {
        let file = tempfile::tempfile().map_err(RenderError::Stdout)?;
        let copy = file.try_clone().map_err(RenderError::Stdout)?;
        let place = Place::Stdout { file };
        Self::open(copy, place, Path::new("-"), sample_rate, format, max_length)
    }

    /// Starts writing a 16-bit stereo WAV at its own name (`play --wav`):
    /// it is created complete with a header (under a temporary name, then
    /// renamed), and its header is updated about once a second as it grows.
    pub fn live(target: &WavTarget, sample_rate: u32) -> Result<Self, RenderError> {
        let path = &target.path;
        check_target(path, target.force)?;
        let failed = |e: io::Error| write_error(path, false, e);
        let temporary = files::temporary_beside(path, ".part").map_err(failed)?;
        let file = temporary.as_file().try_clone().map_err(failed)?;
        let mut wav = Self::open(
            file,
            Place::Live,
            path,
            sample_rate,
            WavFormat::Int16,
            target.max_length,
        )?;
        if let Some(writer) = wav.writer.as_mut() {
            writer.flush().map_err(|source| RenderError::Write {
                path: path.clone(),
                kept: false,
                source,
            })?;
        }
        persist(temporary, path, target.force)?;
        files::sync_dir(&files::parent_dir(path));
        Ok(wav)
    }

    /// Makes [`WavOutput::write`] fail with [`RenderError::Interrupted`]
    /// once `flag` is set (by a signal handler).
    pub fn cancel_on(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    fn failed(&self, source: hound::Error) -> RenderError {
        RenderError::Write {
            path: self.target.clone(),
            kept: matches!(self.place, Place::Live),
            source,
        }
    }

    /// Appends interleaved stereo samples, up to the length limit (see
    /// [`WavOutput::is_full`]).
    pub fn write(&mut self, samples: &[f32]) -> Result<(), RenderError> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(RenderError::Interrupted);
        }
        let room = usize::try_from(2 * (self.limit_frames - self.frames)).unwrap_or(usize::MAX);
        let samples = &samples[..samples.len().min(room)];
        self.full = self.frames + samples.len() as u64 / 2 >= self.limit_frames;
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let result = match self.format {
            WavFormat::Int16 => {
                // hound's buffered 16-bit writer: one copy per block instead
                // of a checked write per sample.
                let mut block = writer.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    block.write_sample(to_i16(s));
                }
                block.flush()
            }
            WavFormat::Float32 => samples.iter().try_for_each(|&s| writer.write_sample(s)),
        };
        result.map_err(|e| self.failed(e))?;
        self.frames += samples.len() as u64 / 2;
        if matches!(self.place, Place::Live)
            && self.frames - self.flushed_frames >= u64::from(self.sample_rate)
        {
            self.flushed_frames = self.frames;
            if let Some(writer) = self.writer.as_mut() {
                writer.flush().map_err(|e| self.failed(e))?;
            }
        }
        Ok(())
    }

    /// True once the length limit is reached: further samples are dropped.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The longest this file may get, in seconds.
    pub fn limit_seconds(&self) -> f64 {
        self.limit_frames as f64 / f64::from(self.sample_rate)
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Seconds written so far.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    /// Completes the file: renamed into place, sent to standard output, or
    /// (`play --wav`) its header made final.
    pub fn finish(mut self) -> Result<PathBuf, RenderError> {
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(|e| self.failed(e))?;
        }
        match std::mem::replace(&mut self.place, Place::Live) {
            Place::Temporary { file, force } => {
                file.as_file()
                    .sync_all()
                    .map_err(|e| write_error(&self.target, false, e))?;
                persist(file, &self.target, force)?;
                files::sync_dir(&files::parent_dir(&self.target));
            }
            Place::Stdout { mut file } => {
                file.rewind().map_err(RenderError::Stdout)?;
                let mut stdout = io::stdout().lock();
                io::copy(&mut file, &mut stdout)
                    .and_then(|_| stdout.flush())
                    .map_err(RenderError::Stdout)?;
            }
            Place::Live => {}
        }
        Ok(self.target.clone())
    }
}

/// Refuses a directory, and an existing file without `force`.
fn check_target(target: &Path, force: bool) -> Result<(), RenderError> {
    if target.is_dir() {
        return Err(RenderError::IsDirectory {
            path: target.to_owned(),
        });
    }
    if !force && target.symlink_metadata().is_ok() {
        return Err(RenderError::Exists {
            path: target.to_owned(),
        });
    }
    Ok(())
}

fn write_error(path: &Path, kept: bool, error: io::Error) -> RenderError {
    RenderError::Write {
        path: path.to_owned(),
        kept,
        source: hound::Error::IoError(error),
    }
}

/// Renames a finished temporary file to `target`; without `force`, never
/// over a file that appeared meanwhile. On failure the temporary file is
/// removed.
fn persist(file: tempfile::NamedTempFile, target: &Path, force: bool) -> Result<(), RenderError> {
    let persisted = if force {
        file.persist(target)
    } else {
        file.persist_noclobber(target)
    };
    persisted.map(drop).map_err(|e| match e.error.kind() {
        io::ErrorKind::AlreadyExists => RenderError::Exists {
            path: target.to_owned(),
        },
        _ if target.is_dir() => RenderError::IsDirectory {
            path: target.to_owned(),
        },
        _ => write_error(target, false, e.error),
    })
}

/// A sample in −1..=1 as 16-bit PCM, rounded half away from zero (NaN → 0).
#[inline]
fn to_i16(sample: f32) -> i16 {
    let scaled = sample.clamp(-1.0, 1.0) * 32767.0;
    // `as` truncates toward zero and saturates; adding ±0.5 first rounds.
    (scaled + 0.5f32.copysign(scaled)) as i16
}

/// The frame at `t_us` microseconds, at `sample_rate`.
fn frame_at(t_us: u64, sample_rate: u32) -> u64 {
    (u128::from(t_us) * u128::from(sample_rate) / 1_000_000) as u64
}

/// Drives an engine by event times and hands rendered audio on.
pub struct OfflineRenderer {
    engine: Engine,
    frames_done: u64,
    buffer: Vec<f32>,
}

impl OfflineRenderer {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        OfflineRenderer {
            engine,
            frames_done: 0,
            buffer: vec![0.0; 2 * 1024],
        }
    }

    fn frame_of(&self, t_us: u64) -> u64 {
        frame_at(t_us, self.engine.sample_rate())
    }

    /// Renders everything up to the time `t_us` into `out`.
    pub fn render_until(&mut self, t_us: u64, out: &mut WavOutput) -> Result<(), RenderError> {
        let target = self.frame_of(t_us);
        while self.frames_done < target && !out.is_full() {
            let frames = (target - self.frames_done).min(1024) as usize;
            self.engine.render(&mut self.buffer[..frames * 2]);
            out.write(&self.buffer[..frames * 2])?;
            self.frames_done += frames as u64;
        }
        Ok(())
    }

    /// Applies an event at the current position.
    pub fn handle(&mut self, event: SynthEvent) {
        self.engine.handle(event);
    }

    /// Releases every note and renders until the engine is silent (at most
    /// 30 s of tail).
    pub fn finish_tail(&mut self, out: &mut WavOutput) -> Result<(), RenderError> {
        self.engine.handle(SynthEvent::AllNotesOff);
        let limit = self.frames_done + MAX_TAIL_SECONDS * u64::from(self.engine.sample_rate());
        while !self.engine.is_silent() && self.frames_done < limit && !out.is_full() {
            self.engine.render(&mut self.buffer[..2048]);
            out.write(&self.buffer[..2048])?;
            self.frames_done += 1024;
        }
        Ok(())
    }
}

/// What `render` did.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSummary {
    /// Notes played.
    pub notes: u64,
    /// Seconds of audio written.
    pub seconds: f64,
    /// With `lenient`: what was wrong with the MIDI file.
    pub damage: Option<String>,
}

/// Renders a MIDI file to a WAV file (or standard output) with the
/// built-in synth, or with a SoundFont on `options.jobs` threads (see
/// [`SoundFont::render_offline`](crate::synth::SoundFont::render_offline)).
/// Refuses files longer than `options.max_length` or whose
/// WAV would pass 4 GiB before writing anything; stops with
/// [`RenderError::Interrupted`] once `cancel` is set, leaving nothing.
pub fn render_file(
    input: &Path,
    output: &Destination,
    options: &RenderOptions,
    cancel: Arc<AtomicBool>,
) -> Result<RenderSummary, RenderError> {
    if let Destination::File { path, force } = output {
        check_target(path, *force)?;
    }
    let loaded = if options.lenient {
        read::load_lenient(input)?
    } else {
        read::Loaded {
            events: read::load(input)?,
            damage: None,
        }
    };
    let events = loaded.events;
    let end_us = events.last().map_or(0, |e| e.t_us);
    let seconds = end_us as f64 / 1e6;
    if seconds > options.max_length.as_secs_f64() {
        return Err(RenderError::TooLong {
            path: input.to_owned(),
            seconds,
            limit: options.max_length,
        });
    }
    let bytes = (u128::from(end_us) * u128::from(options.sample_rate) / 1_000_000)
        .saturating_mul(u128::from(options.format.bytes_per_frame()));
    if bytes > u128::from(MAX_DATA_BYTES) {
        return Err(RenderError::TooBig {
            path: input.to_owned(),
            bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
        });
    }
    let (rate, format, limit) = (options.sample_rate, options.format, options.max_length);
    let mut wav = match output {
        Destination::File { path, force } => WavOutput::create(path, *force, rate, format, limit)?,
        Destination::Stdout => WavOutput::stdout(rate, format, limit)?,
    };
    wav.cancel_on(cancel);
    let notes = events
        .iter()
        .filter_map(|e| SynthEvent::from_midi(&e.message))
        .filter(SynthEvent::starts_note)
        .count() as u64;
    let rendered = match options.engine.soundfont {
        Some(font) => {
            let timed: Vec<(u64, SynthEvent)> = events
                .iter()
                .filter_map(|e| Some((frame_at(e.t_us, rate), SynthEvent::from_midi(&e.message)?)))
                .collect();
            let jobs = options.jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
            });
            font.render_offline(
                rate,
                options.engine,
                jobs,
                &timed,
                {
                    let end = frame_at(end_us, rate);
                    end..end + MAX_TAIL_SECONDS * u64::from(rate)
                },
                |samples| wav.write(samples).map(|()| wav.is_full()),
            )?
        }
        None => false,
    };
    if !rendered {
        let mut renderer = OfflineRenderer::new(Engine::new(rate, options.engine));
        for event in &events {
            renderer.render_until(event.t_us, &mut wav)?;
            if let Some(synth) = SynthEvent::from_midi(&event.message) {
                renderer.handle(synth);
            }
        }
        renderer.finish_tail(&mut wav)?;
    }
    let seconds = wav.seconds();
    wav.finish()?;
    Ok(RenderSummary {
        notes,
        seconds,
        damage: loaded.damage.map(|d| d.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_conversion_rounds_like_round_and_clamps() {
        for i in -40_000..=40_000 {
            let s = i as f32 / 32_768.0;
            let expected = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            assert_eq!(to_i16(s), expected, "sample {s}");
        }
        assert_eq!(to_i16(2.0), 32767);
        assert_eq!(to_i16(-2.0), -32767);
        assert_eq!(to_i16(f32::NAN), 0);
    }

    #[test]
    fn lengths_read_as_people_say_them() {
        assert_eq!(describe_length(4.25), "4.2 s");
        assert_eq!(describe_length(725.0), "12 min 5 s");
        assert_eq!(describe_length(36_000.0), "10 h");
        assert_eq!(describe_length(5_400.0), "1 h 30 min");
        assert_eq!(suggest_limit(5.0), "6");
        assert_eq!(suggest_limit(36_000.0), "601m");
    }
}
