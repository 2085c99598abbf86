//! Where a session's music leaves the program: the synth's sound (the
//! speakers through the real-time path, or a WAV file rendered by event
//! time) and the `--thru` MIDI port.

use super::SessionError;
use crate::audio::device::{self, AudioOutput};
use crate::audio::realtime::{self, TimedEvent};
use crate::clock::Clock;
use crate::decode::message::EventMessage;
use crate::input::ConnectFailed;
use crate::render::{self, OfflineRenderer, WavOutput, WavTarget};
use crate::synth::{Engine, EngineConfig, SynthEvent};
use crate::tui::Status;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sample rate of `--wav` output.
pub const WAV_SAMPLE_RATE: u32 = 48_000;
/// Room in the event queue: far more than anyone can play in one block.
const QUEUE_CAPACITY: usize = 4096;

/// Where the synth's sound goes once open.
pub(crate) enum Sink {
    Speakers {
        output: AudioOutput,
        events: realtime::EventSender,
        stats: Arc<realtime::AudioStats>,
        /// The device went away and that was said.
        told_lost: bool,
    },
    Wav {
        renderer: Box<OfflineRenderer>,
        wav: WavOutput,
        /// The length limit was reached and said so.
        told_full: bool,
    },
}

/// True the first time `now` holds (and remembers it in `told`): a
/// condition said once.
fn first_time(told: &mut bool, now: bool) -> bool {
    let first = now && !*told;
    *told |= now;
    first
}

/// How far behind the session's clock `play --wav` renders while nobody
/// plays: events that arrive later than this are placed late.
const WAV_CATCH_UP_LAG_US: u64 = 200_000;

impl Sink {
    /// Starts the synth on an opened sound device.
    pub(crate) fn speakers(mut output: AudioOutput, engine: EngineConfig, clock: Clock) -> Self {
        let frames = output.buffer_frames.unwrap_or(128) as usize;
        let engine = Engine::new(output.sample_rate, engine.live());
        let (events, source) = realtime::build(engine, frames, clock, QUEUE_CAPACITY);
        let stats = source.stats();
        output.play(source);
        Sink::Speakers {
            output,
            events,
            stats,
            told_lost: false,
        }
    }

    /// Starts rendering what would be heard into a WAV file.
    /// The file is at its own name from the start, valid at every second.
    pub(crate) fn wav(target: &WavTarget, engine: EngineConfig) -> Result<Self, SessionError> {
        Ok(Sink::Wav {
            renderer: Box::new(OfflineRenderer::new(Engine::new(
                WAV_SAMPLE_RATE,
                engine.live(),
            ))),
            wav: WavOutput::live(target, WAV_SAMPLE_RATE)?,
            told_full: false,
        })
    }

    /// Keeps a WAV file's audio (and so its header) up with the session's
    /// clock while nobody plays; returns a line to show, once, when the
    /// file has reached its length limit or the sound device went away.
    pub(crate) fn keep_up(&mut self, now_us: u64) -> Result<Option<String>, SessionError> {
        match self {
            Sink::Speakers {
                output, told_lost, ..
            } => Ok(first_time(told_lost, output.lost()).then(|| output.lost_line())),
            Sink::Wav {
                renderer,
                wav,
                told_full,
            } => {
                renderer.render_until(now_us.saturating_sub(WAV_CATCH_UP_LAG_US), wav)?;
                Ok(first_time(told_full, wav.is_full()).then(|| {
                    format!(
                        "{} has reached its --max-length limit of {}; nothing more is \
                         written to it (the session goes on)",
                        wav.target().display(),
                        render::describe_length(wav.limit_seconds())
                    )
                }))
            }
        }
    }

    /// Where the sound goes, for people.
    pub(crate) fn describe(&self) -> String {
        match self {
            Sink::Speakers { output, .. } => {
                let latency = output
                    .latency_ms()
                    .map_or("unknown latency".to_owned(), |ms| {
                        format!("{ms:.1} ms output latency")
                    });
                // Read after the latency: the delay only grows, so a
                // latency printed above the buffer always has its note.
                let note = output.note();
                let buffer = output
                    .buffer_frames
                    .map_or("device-chosen buffer".to_owned(), |f| {
                        format!("{f}-frame buffer")
                    });
                let mut text = format!(
                    "sound on \"{}\", {} Hz, {buffer}, {latency}",
                    output.device_name, output.sample_rate
                );
                if let Some(note) = note {
                    text.push_str(&format!(" (note: {note})"));
                }
                text
            }
            Sink::Wav { wav, .. } => {
                format!("writing what would be heard to {}", wav.target().display())
            }
        }
    }

    /// Fills in the status line's sound fields.
    pub(crate) fn show(&self, status: &mut Status) {
        match self {
            Sink::Speakers { output, stats, .. } => {
                status.audio = Some(output.device_name.clone());
                status.buffer_frames = output.buffer_frames;
                status.latency_ms = output.latency_ms();
                status.voices = stats.voices.load(Ordering::Relaxed);
                status.load_percent = stats.load_permille.load(Ordering::Relaxed) as f32 / 10.0;
                status.dropouts = stats.overruns.load(Ordering::Relaxed)
                    + device::STREAM_ERRORS.load(Ordering::Relaxed);
            }
            Sink::Wav { wav, .. } => {
                status.audio = Some(format!("{} (WAV)", wav.target().display()))
            }
        }
    }

    /// True while the sound moves on by itself (voices or effects ringing
    /// out, a WAV file following the clock), so the session looks in often.
    pub(crate) fn busy(&self) -> bool {
        match self {
            Sink::Speakers { output, stats, .. } => {
                !stats.silent.load(Ordering::Acquire) && !output.lost()
            }
            Sink::Wav { .. } => true,
        }
    }

    /// Hands the synth one event at its time.
    pub(crate) fn handle(&mut self, t_us: u64, event: SynthEvent) -> Result<(), SessionError> {
        match self {
            Sink::Speakers { events, .. } => {
                events.send(TimedEvent { t_us, event });
            }
            Sink::Wav { renderer, wav, .. } => {
                renderer.render_until(t_us, wav)?;
                renderer.handle(event);
            }
        }
        Ok(())
    }

    /// Releases every note and lets the tail ring out, without a click.
    /// Returns the WAV written (path, seconds) and the audio overruns.
    pub(crate) fn finish(self, t_us: u64) -> Result<(Option<(PathBuf, f64)>, u64), SessionError> {
        match self {
            Sink::Speakers {
                output,
                mut events,
                stats,
                ..
            } => {
                events.send(TimedEvent {
                    t_us,
                    event: SynthEvent::AllNotesOff,
                });
                // A device that went away plays nothing out. Otherwise the
                // last notes are heard before the output goes, even from an
                // audio thread running late on a loaded machine.
                let ring_out = if output.lost() { 0 } else { 3 };
                let until = Instant::now() + Duration::from_secs(ring_out);
                let mut mark = None;
                while !events.rung_out(&mut mark) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                drop(output);
                Ok((None, stats.overruns.load(Ordering::Relaxed)))
            }
            Sink::Wav {
                mut renderer,
                mut wav,
                ..
            } => {
                renderer.render_until(t_us, &mut wav)?;
                renderer.finish_tail(&mut wav)?;
                let seconds = wav.seconds();
                let path = wav.finish()?;
                Ok((Some((path, seconds)), 0))
            }
        }
    }
}

/// Why the `--thru` port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ThruError {
    /// The system MIDI service could not be opened.
    #[error("the system MIDI service is unavailable")]
    Service(#[source] midir::InitError),
    /// No output port has that id or name.
    #[error("no such MIDI output port (see `composer-probe list`)")]
    NotFound,
    /// midir could not connect it.
    #[error(transparent)]
    Connect(ConnectFailed),
}

/// The `--thru` port: every played event forwarded as MIDI bytes.
pub(crate) struct Thru {
    connection: midir::MidiOutputConnection,
    /// Reused for each message.
    bytes: Vec<u8>,
}

impl Thru {
    /// Opens the MIDI output port whose id is `port` or whose name contains
    /// it (ignoring case).
    pub(crate) fn open(port: &str) -> Result<Self, SessionError> {
        let failed = |source: ThruError| SessionError::Thru {
            port: port.to_owned(),
            source,
        };
        let output = crate::ports::quietly(|| midir::MidiOutput::new("composer-probe"))
            .map_err(|e| failed(ThruError::Service(e)))?;
        let wanted = port.to_lowercase();
        let found = output
            .ports()
            .into_iter()
            .find(|p| {
                p.id() == port
                    || output
                        .port_name(p)
                        .is_ok_and(|n| n.to_lowercase().contains(&wanted))
            })
            .ok_or_else(|| failed(ThruError::NotFound))?;
        let connection = output
            .connect(&found, "composer-probe thru")
            .map_err(|e| failed(ThruError::Connect(ConnectFailed(e.kind()))))?;
        Ok(Thru {
            connection,
            bytes: Vec::with_capacity(64),
        })
    }

    /// Forwards one message. A failing port must not stop the music: errors
    /// are ignored.
    pub(crate) fn send(&mut self, message: &EventMessage) {
        self.bytes.clear();
        message.write_bytes(&mut self.bytes);
        let _ = self.connection.send(&self.bytes);
    }
}
