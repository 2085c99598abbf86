//! Command-line interface: what the user typed (clap types), and the pure
//! functions that turn it into the settings the library runs with.

use crate::audio::device::OutputChoice;
use crate::decode::names::NoteNaming;
use crate::input::select::{InputOptions, SourceChoice};
use crate::input::UsbSelector;
use crate::monitor::{EventKind, Filter, MonitorConfig};
use crate::record::RecordOptions;
use crate::render::WavFormat;
use crate::session::{DisplayChoice, RecordChoice, SessionConfig, SoundChoice};
use crate::synth::{EngineConfig, Preset};
use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

/// Find, hear and record USB MIDI keyboards such as the AWS DeepComposer.
#[derive(Debug, Parser)]
#[command(name = "composer-probe", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find USB MIDI devices and explain what the system sees and what is wrong.
    List(ListArgs),
    /// Print every MIDI event as it arrives (like aseqdump, with names and times).
    Monitor(MonitorArgs),
    /// Play the keyboard through the built-in synth, with low latency.
    Play(PlayArgs),
    /// Record what is played to a Standard MIDI File (or takes, with --takes).
    Record(RecordArgs),
    /// Turn the journal of a take cut short (crash, power loss) into a MIDI file.
    Recover(RecoverArgs),
    /// Render a MIDI file to a WAV file with the built-in synth.
    Render(RenderArgs),
    /// Print the udev rule that gives the logged-in user access to USB MIDI devices.
    UdevRule,
}

/// Options of `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Also list USB devices that are not MIDI devices, one line each.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON document instead of text (fields documented in the README).
    #[arg(long)]
    pub json: bool,
}

/// Where MIDI comes from; without a flag the keyboard is picked automatically.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Read a system MIDI port: its id, its name, or a unique part of the name.
    #[arg(long, value_name = "NAME|ID", conflicts_with_all = ["usb", "file", "keys"])]
    pub port: Option<String>,
    /// Read a USB MIDI device directly: the DeepComposer, else the only one;
    /// or --usb=VID:PID or --usb=BUS-PORT (the `=` is required).
    #[arg(long, value_name = "VID:PID|BUS-PORT", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto", conflicts_with_all = ["file", "keys"])]
    pub usb: Option<String>,
    /// With direct USB: take the MIDI interface from the kernel driver
    /// (this takes the whole sound card away; it is given back on exit).
    #[arg(long)]
    pub detach: bool,
    /// When the keyboard is unplugged, wait for it to come back and go on.
    #[arg(long)]
    pub wait: bool,
    /// Play a Standard MIDI File in real time instead of a keyboard.
    #[arg(long, value_name = "FILE", conflicts_with = "keys")]
    pub file: Option<PathBuf>,
    /// With --file: as fast as possible instead of in real time.
    #[arg(long, requires = "file")]
    pub fast: bool,
    /// Play the computer keyboard as a piano (z s x d c... and q 2 w 3 e...).
    #[arg(long)]
    pub keys: bool,
}

impl InputArgs {
    /// The input settings these flags mean.
    pub fn options(&self) -> Result<InputOptions, String> {
        let choice = if let Some(port) = &self.port {
            SourceChoice::Port(port.clone())
        } else if let Some(usb) = &self.usb {
            SourceChoice::Usb(UsbSelector::parse(usb)?)
        } else if let Some(path) = &self.file {
            SourceChoice::File {
                path: path.clone(),
                fast: self.fast,
            }
        } else if self.keys {
            SourceChoice::Keys
        } else {
            SourceChoice::Auto
        };
        Ok(InputOptions {
            choice,
            detach: self.detach,
            wait: self.wait,
        })
    }
}

/// Options of `monitor`.
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Where MIDI comes from.
    #[command(flatten)]
    pub input: InputArgs,
    /// Show only these event types (comma-separated): note, cc, program,
    /// bend, pressure, aftertouch, sysex, common, realtime.
    #[arg(long = "type", value_name = "TYPES", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Show only these channels, 1–16 (comma-separated).
    #[arg(long = "channel", value_name = "N", value_delimiter = ',')]
    pub channels: Vec<u8>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after N shown events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Show the full-screen terminal keyboard instead of lines (no sound).
    #[arg(long, conflicts_with_all = ["json", "count"])]
    pub tui: bool,
    /// Octave number of middle C (note 60) in note names: 4 (C4, default) or 3 (C3).
    #[arg(
        long,
        value_name = "OCTAVE",
        default_value_t = 4,
        allow_negative_numbers = true
    )]
    pub middle_c: i8,
}

impl MonitorArgs {
    /// The session that shows the terminal keyboard without sound (`--tui`).
    pub fn tui_session(&self) -> Result<SessionConfig, String> {
        Ok(SessionConfig {
            input: self.input.options()?,
            sound: SoundChoice::OnDemand(OutputChoice::default_device(DEFAULT_BUFFER_FRAMES)),
            engine: EngineConfig::default(),
            recording: RecordChoice::Off,
            record_options: RecordOptions::default(),
            thru: None,
            display: DisplayChoice::Terminal,
        })
    }

    /// The monitor settings these flags mean.
    pub fn config(&self) -> Result<MonitorConfig, String> {
        let kinds = self
            .types
            .iter()
            .map(|t| EventKind::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let channels = self
            .channels
            .iter()
            .map(|c| match c {
                1..=16 => Ok(c - 1),
                _ => Err(format!("channel {c} does not exist: channels are 1 to 16")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let duration = match self.duration {
            Some(secs) if secs.is_finite() && secs >= 0.0 => Some(Duration::from_secs_f64(secs)),
            Some(secs) => return Err(format!("--duration {secs} is not a number of seconds")),
            None => None,
        };
        if !(-2..=6).contains(&self.middle_c) {
            return Err(format!(
                "--middle-c {} is not an octave between -2 and 6",
                self.middle_c
            ));
        }
        Ok(MonitorConfig {
            filter: Filter { kinds, channels },
            json: self.json,
            count: self.count,
            duration,
            naming: NoteNaming {
                middle_c_octave: self.middle_c,
            },
            wait: self.input.wait,
        })
    }
}

/// Frames per audio buffer unless `--buffer` says otherwise (2.7 ms at 48 kHz).
pub const DEFAULT_BUFFER_FRAMES: u32 = 128;

/// Options of `play`.
#[derive(Debug, clap::Args)]
pub struct PlayArgs {
    /// Where MIDI comes from.
    #[command(flatten)]
    pub input: InputArgs,
    /// The sound: piano, organ, pad, lead, bass or pluck (program changes switch too).
    #[arg(long, default_value = "piano")]
    pub preset: Preset,
    /// Frames per audio buffer: smaller is faster to respond; raise it if the sound crackles.
    #[arg(long, value_name = "FRAMES", default_value_t = DEFAULT_BUFFER_FRAMES)]
    pub buffer: u32,
    /// Play on this output device (a unique part of its name; see --list-audio).
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Sound system to play through: ALSA (Linux default), JACK (builds with
    /// `--features jack`), CoreAudio, WASAPI…; --list-audio names them.
    #[arg(long, value_name = "HOST")]
    pub audio_host: Option<String>,
    /// List the audio hosts and output devices and exit.
    #[arg(long)]
    pub list_audio: bool,
    /// Write what would have been heard to a WAV file instead of playing it.
    #[arg(long, value_name = "FILE")]
    pub wav: Option<PathBuf>,
    /// Also send every event to this MIDI output port.
    #[arg(long, value_name = "PORT")]
    pub thru: Option<String>,
    /// Pitch bend range in semitones.
    #[arg(long, value_name = "SEMITONES", default_value_t = 2.0)]
    pub bend_range: f32,
    /// Plain line output instead of the terminal keyboard (the default when
    /// standard output is not a terminal).
    #[arg(long)]
    pub no_tui: bool,
    /// Where the keyboard's ● button saves takes (default: the current
    /// directory). A folder given here that cannot take them stops `play`
    /// before it starts.
    #[arg(long, value_name = "DIR")]
    pub takes: Option<PathBuf>,
    /// How takes are written.
    #[command(flatten)]
    pub smf: SmfArgs,
}

fn check_buffer(frames: u32) -> Result<u32, String> {
    if (16..=4096).contains(&frames) {
        Ok(frames)
    } else {
        Err(format!("--buffer {frames} is outside 16 to 4096 frames"))
    }
}

impl PlayArgs {
    /// The session settings these flags mean.
    pub fn config(&self) -> Result<SessionConfig, String> {
        let buffer_frames = check_buffer(self.buffer)?;
        if !(0.0..=24.0).contains(&self.bend_range) {
            return Err(format!(
                "--bend-range {} is outside 0 to 24 semitones",
                self.bend_range
            ));
        }
        Ok(SessionConfig {
            input: self.input.options()?,
            sound: match &self.wav {
                Some(path) => SoundChoice::Wav(path.clone()),
                None => SoundChoice::Speakers(OutputChoice {
                    host: self.audio_host.clone(),
                    device: self.audio_device.clone(),
                    buffer_frames,
                }),
            },
            engine: EngineConfig {
                preset: self.preset,
                bend_range_semitones: self.bend_range,
                ..EngineConfig::default()
            },
            recording: RecordChoice::Takes {
                dir: self.takes.clone().unwrap_or_else(|| PathBuf::from(".")),
                asked: self.takes.is_some(),
            },
            record_options: self.smf.options()?,
            thru: self.thru.clone(),
            display: if self.no_tui || !std::io::stdout().is_terminal() {
                DisplayChoice::Lines
            } else {
                DisplayChoice::Terminal
            },
        })
    }
}

/// How a take is written to a Standard MIDI File.
#[derive(Debug, Clone, clap::Args)]
pub struct SmfArgs {
    /// Ticks per quarter note.
    #[arg(long, default_value_t = 480)]
    pub ppq: u16,
    /// Tempo written to the file (beats per minute).
    #[arg(long, default_value_t = 120.0)]
    pub bpm: f64,
    /// Time signature written to the file, e.g. 3/4.
    #[arg(long, value_name = "N/D", default_value = "4/4")]
    pub timesig: String,
    /// SMF format 1 with one track per channel (default: format 0, one track).
    #[arg(long)]
    pub split_channels: bool,
    /// Start the take when recording starts, not at the first note.
    #[arg(long)]
    pub keep_leading_silence: bool,
    /// Also record clock and active sensing messages.
    #[arg(long)]
    pub include_realtime: bool,
    /// One track, at most 8 bars, static tempo: what the DeepComposer service accepted.
    #[arg(long)]
    pub export_deepcomposer: bool,
}

impl SmfArgs {
    /// The recorder settings these flags mean.
    pub fn options(&self) -> Result<RecordOptions, String> {
        let (numerator, denominator) = self
            .timesig
            .split_once('/')
            .and_then(|(n, d)| Some((n.trim().parse::<u8>().ok()?, d.trim().parse::<u8>().ok()?)))
            .ok_or_else(|| format!("--timesig {} is not N/D, e.g. 4/4 or 6/8", self.timesig))?;
        let options = RecordOptions {
            ppq: self.ppq,
            bpm: self.bpm,
            time_signature: (numerator, denominator),
            split_channels: self.split_channels,
            keep_leading_silence: self.keep_leading_silence,
            include_realtime: self.include_realtime,
            deepcomposer_export: self.export_deepcomposer,
            ..RecordOptions::default()
        };
        options.validate().map_err(|e| e.to_string())?;
        Ok(options)
    }
}

/// Options of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The MIDI file to write (not with --takes).
    #[arg(required_unless_present = "takes", conflicts_with = "takes")]
    pub output: Option<PathBuf>,
    /// Where MIDI comes from.
    #[command(flatten)]
    pub input: InputArgs,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop once every note and the pedal have been released for SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub until_silence: Option<f64>,
    /// Record takes with the keyboard's buttons into DIR: ● starts one, ■ saves it, ▶ plays it back.
    #[arg(long, value_name = "DIR")]
    pub takes: Option<PathBuf>,
    /// Output device for ▶ playback (part of its name).
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Sound system for ▶ playback (see `play --audio-host`).
    #[arg(long, value_name = "HOST")]
    pub audio_host: Option<String>,
    /// Frames per audio buffer for ▶ playback (see `play --buffer`).
    #[arg(long, value_name = "FRAMES", default_value_t = DEFAULT_BUFFER_FRAMES)]
    pub buffer: u32,
    /// How takes are written.
    #[command(flatten)]
    pub smf: SmfArgs,
}

fn seconds(flag: &str, value: Option<f64>) -> Result<Option<Duration>, String> {
    match value {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Ok(Some(Duration::from_secs_f64(secs))),
        Some(secs) => Err(format!("{flag} {secs} is not a number of seconds")),
        None => Ok(None),
    }
}

impl RecordArgs {
    /// The session settings these flags mean.
    pub fn config(&self) -> Result<SessionConfig, String> {
        let recording = match (&self.output, &self.takes) {
            (_, Some(dir)) => RecordChoice::Takes {
                dir: dir.clone(),
                asked: true,
            },
            (Some(path), None) => RecordChoice::Single {
                path: path.clone(),
                force: self.force,
                duration: seconds("--duration", self.duration)?,
                until_silence: seconds("--until-silence", self.until_silence)?,
            },
            (None, None) => return Err("give the MIDI file to write, or --takes DIR".into()),
        };
        Ok(SessionConfig {
            input: self.input.options()?,
            sound: SoundChoice::OnDemand(OutputChoice {
                host: self.audio_host.clone(),
                device: self.audio_device.clone(),
                buffer_frames: check_buffer(self.buffer)?,
            }),
            engine: EngineConfig::default(),
            recording,
            record_options: self.smf.options()?,
            thru: None,
            display: DisplayChoice::Lines,
        })
    }
}

/// Options of `recover`.
#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// The journal a cut-short take left behind (`.NAME.journal`).
    pub journal: PathBuf,
    /// Where to write the MIDI file (default: the take's own name).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Overwrite the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Options of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The MIDI file to render.
    pub input: PathBuf,
    /// The WAV file to write.
    pub output: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// Write 32-bit float samples instead of 16-bit integers.
    #[arg(long)]
    pub float: bool,
    /// The sound to start with (program changes in the file switch too).
    #[arg(long, default_value = "piano")]
    pub preset: Preset,
}

impl RenderArgs {
    /// The WAV sample format asked for.
    pub fn format(&self) -> WavFormat {
        if self.float {
            WavFormat::Float32
        } else {
            WavFormat::Int16
        }
    }
}
