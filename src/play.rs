//! `composer-probe play`: keyboard in, sound out. Input stream → note
//! tracker → lock-free queue → synth in the audio callback; or, with
//! `--wav`, the same synth rendered by event times into a WAV file.

use crate::audio::device::{self, AudioError, AudioOutput};
use crate::audio::realtime::{self, TimedEvent};
use crate::decode::names::NoteNaming;
use crate::decode::tracker::NoteTracker;
use crate::input::select::{self, InputOptions};
use crate::input::{EventMessage, InputError, InputEvent, MidiEvent, Next};
use crate::monitor::Formatter;
use crate::render::{synth_event, OfflineRenderer, RenderError, WavFormat, WavOutput};
use crate::synth::{Engine, EngineConfig, PanelMap, Preset, SynthEvent};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Sample rate of `--wav` output.
pub const WAV_SAMPLE_RATE: u32 = 48_000;
/// Room in the event queue: far more than anyone can play in one block.
const QUEUE_CAPACITY: usize = 4096;

/// Settings of one `play` run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayConfig {
    /// Where MIDI comes from.
    pub input: InputOptions,
    /// The sound to start with.
    pub preset: Preset,
    /// Frames per audio buffer asked of the device.
    pub buffer_frames: u32,
    /// Output device name (part of it), else the default.
    pub audio_device: Option<String>,
    /// Write what would have been heard to this WAV file instead of playing.
    pub wav: Option<PathBuf>,
    /// Forward every event to this MIDI output port as well.
    pub thru: Option<String>,
    /// Pitch bend range in semitones.
    pub bend_range: f32,
}

/// Why `play` could not run.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// No sound output.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// No input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The WAV file could not be written.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The `--thru` port could not be opened.
    #[error("cannot open MIDI output \"{port}\" for --thru: {reason}")]
    Thru {
        /// The port asked for.
        port: String,
        /// Why.
        reason: String,
    },
    /// Printing failed (closed pipe).
    #[error("cannot write to standard output: {0}")]
    Output(#[from] std::io::Error),
}

/// How a play run ended, for the closing line.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaySummary {
    /// Notes played.
    pub notes: u64,
    /// True when the keyboard was unplugged.
    pub disconnected: bool,
    /// Where `--wav` wrote, and how many seconds.
    pub wav: Option<(PathBuf, f64)>,
    /// Blocks whose rendering took longer than real time.
    pub overruns: u64,
}

/// Where the synth's sound goes.
enum Sink {
    Speakers {
        output: AudioOutput,
        events: realtime::EventSender,
        stats: std::sync::Arc<realtime::AudioStats>,
    },
    Wav {
        renderer: Box<OfflineRenderer>,
        wav: WavOutput,
    },
}

impl Sink {
    fn handle(&mut self, t_us: u64, event: SynthEvent) -> Result<(), PlayError> {
        match self {
            Sink::Speakers { events, .. } => {
                events.send(TimedEvent { t_us, event });
            }
            Sink::Wav { renderer, wav } => {
                renderer.render_until(t_us, wav)?;
                renderer.handle(event);
            }
        }
        Ok(())
    }

    /// Releases every note and lets the tail ring out, without a click.
    fn finish(self, t_us: u64) -> Result<(Option<(PathBuf, f64)>, u64), PlayError> {
        match self {
            Sink::Speakers {
                output,
                mut events,
                stats,
            } => {
                events.send(TimedEvent {
                    t_us,
                    event: SynthEvent::AllNotesOff,
                });
                let until = Instant::now() + Duration::from_secs(3);
                std::thread::sleep(Duration::from_millis(50));
                while !stats.silent.load(Ordering::Relaxed) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                drop(output);
                Ok((None, stats.overruns.load(Ordering::Relaxed)))
            }
            Sink::Wav {
                mut renderer,
                mut wav,
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

/// Runs `play` until Ctrl+C, the end of the input, or an unplug. Status
/// lines go to `status`, event lines to `out`.
pub fn run(
    config: &PlayConfig,
    out: &mut dyn Write,
    status: &mut dyn Write,
) -> Result<PlaySummary, PlayError> {
    // Open the sound first: without it there is no point taking the keyboard.
    let speakers = match &config.wav {
        Some(_) => None,
        None => Some(device::open(
            config.audio_device.as_deref(),
            config.buffer_frames,
        )?),
    };
    let (mut stream, picked) = select::open(&config.input)?;
    writeln!(status, "composer-probe: {picked}")?;
    let info = stream.info().clone();
    let engine_config = EngineConfig {
        preset: config.preset,
        panel: if info.device.is_some() {
            PanelMap::DeepComposer
        } else {
            PanelMap::GeneralMidi
        },
        bend_range_semitones: config.bend_range,
        ..EngineConfig::default()
    };
    let mut sink = match (speakers, &config.wav) {
        (Some(output), _) => {
            let frames = output.buffer_frames.unwrap_or(config.buffer_frames) as usize;
            let engine = Engine::new(output.sample_rate, engine_config);
            let (events, source) = realtime::build(engine, frames, stream.clock(), QUEUE_CAPACITY);
            let stats = source.stats();
            let latency = output
                .latency_ms()
                .map_or("unknown latency".to_owned(), |ms| {
                    format!("{ms:.1} ms output latency")
                });
            writeln!(
                status,
                "composer-probe: sound on \"{}\", {} Hz, {frames}-frame buffer, {latency}; preset {}",
                output.device_name, output.sample_rate, config.preset
            )?;
            if let Some(note) = &output.fallback_note {
                writeln!(status, "composer-probe: note: {note}")?;
            }
            output.play(source);
            Sink::Speakers {
                output,
                events,
                stats,
            }
        }
        (None, Some(path)) => {
            let wav = WavOutput::create(path, WAV_SAMPLE_RATE, WavFormat::Int16)?;
            let renderer = OfflineRenderer::new(Engine::new(WAV_SAMPLE_RATE, engine_config));
            writeln!(
                status,
                "composer-probe: writing what would be heard to {}",
                path.display()
            )?;
            Sink::Wav {
                renderer: Box::new(renderer),
                wav,
            }
        }
        (None, None) => unreachable!("speakers are opened unless --wav is given"),
    };
    let mut thru = match &config.thru {
        Some(port) => Some(open_thru(port)?),
        None => None,
    };
    writeln!(status, "composer-probe: play the keyboard; Ctrl+C stops")?;

    let stop = stream.stop_handle();
    // A second `play` in the same process cannot set it again; ignore that.
    let _ = ctrlc::set_handler(move || stop.interrupt());

    let formatter_info = info.clone();
    let formatter = Formatter {
        info: &formatter_info,
        naming: NoteNaming::default(),
    };
    let mut tracker = NoteTracker::new(info.device);
    let mut notes = 0u64;
    let mut disconnected = false;
    let mut bytes = Vec::with_capacity(64);
    let last_t_us = loop {
        let event = match stream.next_timeout(Duration::from_millis(200)) {
            Next::Event(event) => event,
            Next::Timeout => continue,
            Next::Closed => break stream.now_us(),
        };
        match event {
            InputEvent::Midi(event) => {
                let transport = match &event.message {
                    EventMessage::Channel { channel, message } => tracker.apply(*channel, message),
                    _ => None,
                };
                if let Some(synth) = synth_event(&event.message) {
                    if matches!(synth, SynthEvent::NoteOn { velocity, .. } if velocity > 0) {
                        notes += 1;
                    }
                    sink.handle(event.t_us, synth)?;
                }
                if let Some(thru) = thru.as_mut() {
                    forward(thru, &event, &mut bytes);
                }
                writeln!(out, "{}", formatter.line(&event, transport))?;
            }
            InputEvent::Disconnected { t_us, reason } => {
                writeln!(out, "{:>12.6}  {reason}", t_us as f64 / 1e6)?;
                if !config.input.wait {
                    disconnected = true;
                    break t_us;
                }
            }
            InputEvent::Reconnected { t_us } => {
                writeln!(out, "{:>12.6}  keyboard reconnected", t_us as f64 / 1e6)?
            }
            InputEvent::Ended { t_us } | InputEvent::Interrupted { t_us } => break t_us,
        }
    };
    stream.stop_source();
    let (wav, overruns) = sink.finish(last_t_us)?;
    Ok(PlaySummary {
        notes,
        disconnected,
        wav,
        overruns,
    })
}

fn open_thru(port: &str) -> Result<midir::MidiOutputConnection, PlayError> {
    let failed = |reason: String| PlayError::Thru {
        port: port.to_owned(),
        reason,
    };
    let output = crate::ports::quietly(|| midir::MidiOutput::new("composer-probe"))
        .map_err(|e| failed(e.to_string()))?;
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
        .ok_or_else(|| failed("no such MIDI output port (see `composer-probe list`)".to_owned()))?;
    output
        .connect(&found, "composer-probe thru")
        .map_err(|e| failed(e.to_string()))
}

fn forward(thru: &mut midir::MidiOutputConnection, event: &MidiEvent, bytes: &mut Vec<u8>) {
    bytes.clear();
    event.message.write_bytes(bytes);
    // A failing thru port must not stop the music.
    let _ = thru.send(bytes);
}

/// The output devices, for `--list-audio`.
pub fn list_audio() -> Result<Vec<String>, AudioError> {
    device::list_devices()
}
