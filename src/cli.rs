//! Command-line interface: what the user typed (clap types), and the pure
//! functions that turn it into the settings the library runs with.

use crate::audio::device::OutputChoice;
use crate::decode::names::NoteNaming;
use crate::input::select::{InputOptions, SourceChoice};
use crate::input::UsbSelector;
use crate::monitor::{EventKind, Filter, MonitorConfig};
use crate::record::RecordOptions;
use crate::render::{Destination, RenderOptions, WavFormat, WavTarget};
use crate::session::{self, DisplayChoice, RecordChoice, SessionConfig, SoundChoice};
use crate::synth::{EngineConfig, PanelMap, Preset};
use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `composer-probe man | man -l -`.
    Man,
}

/// Options of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    /// Play the computer keyboard as a piano (a s d f... white keys from C, w e t y... black, z/x octave, c/v velocity).
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
    /// Show only these channels, 1–16 (comma-separated, ranges as 1-4).
    #[arg(long = "channel", value_name = "N", value_delimiter = ',', value_parser = parse_channels)]
    pub channels: Vec<Vec<u8>>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after N shown events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub duration: Option<Duration>,
    /// Show the full-screen terminal keyboard instead of lines (no sound).
    #[arg(long, conflicts_with_all = ["json", "count"])]
    pub tui: bool,
    /// Octave number of middle C (note 60) in note names: 4 (C4, default) or 3 (C3).
    #[arg(long, value_name = "OCTAVE", default_value_t = 4,
          value_parser = clap::value_parser!(i8).range(3..=4))]
    pub middle_c: i8,
}

impl MonitorArgs {
    /// The session that shows the terminal keyboard without sound (`--tui`).
    pub fn tui_session(&self) -> Result<SessionConfig, String> {
        Ok(SessionConfig {
            input: self.input.options()?,
            sound: SoundChoice::OnDemand(OutputChoice::default_device(DEFAULT_BUFFER_FRAMES)),
            engine: EngineConfig::default(),
            panel: None,
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
        let channels = self.channels.iter().flatten().map(|c| c - 1).collect();
        let duration = self.duration;
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
    /// Play on this output device: a name or line --list-audio prints (or a
    /// unique part of one), or an ALSA PCM name as `aplay -D` takes it
    /// (`default`, `pipewire`, `hw:1,0`, `plughw:1`…).
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
    /// With --wav: stop writing once the file is this long (seconds, or
    /// e.g. 90m, 2h); the session goes on.
    #[arg(long, value_name = "LENGTH", requires = "wav", default_value = "1h",
          value_parser = parse_length)]
    pub max_length: Duration,
    /// With --wav: overwrite the file if it exists.
    #[arg(long, requires = "wav")]
    pub force: bool,
    /// Also send every event to this MIDI output port.
    #[arg(long, value_name = "PORT")]
    pub thru: Option<String>,
    /// Pitch bend range in semitones.
    #[arg(long, value_name = "SEMITONES", default_value_t = 2.0)]
    pub bend_range: f32,
    /// How controllers are read: the DeepComposer's panel (CC 10 morphs
    /// the waveform) or General MIDI (CC 10 pans, channel 10 plays drums).
    /// Default: deepcomposer for the DeepComposer, gm for anything else.
    #[arg(long, value_name = "MAP")]
    pub panel: Option<PanelChoice>,
    /// Play a SoundFont's instruments instead of the built-in synth;
    /// `default` finds an installed General MIDI SoundFont (FluidR3_GM…).
    #[arg(long, value_name = "FILE.sf2|default")]
    pub soundfont: Option<PathBuf>,
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
            input: self.input.options()?.falling_back_to_keys(),
            sound: match &self.wav {
                Some(path) => SoundChoice::Wav(WavTarget {
                    path: path.clone(),
                    max_length: self.max_length,
                    force: self.force,
                }),
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
            panel: self.panel.map(PanelMap::from),
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
    /// Ticks per quarter note (1 to 32767).
    #[arg(long, default_value_t = 480,
          value_parser = clap::value_parser!(u16).range(1..=0x7fff))]
    pub ppq: u16,
    /// Tempo written to the file (beats per minute, 4 to 60000000).
    #[arg(long, default_value_t = 120.0, value_parser = parse_bpm)]
    pub bpm: f64,
    /// Time signature written to the file, e.g. 3/4.
    #[arg(long, value_name = "N/D", default_value = "4/4", value_parser = parse_time_signature)]
    pub timesig: (u8, u8),
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
        let (numerator, denominator) = self.timesig;
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
    /// The MIDI file to write (not with --takes); without one, a new
    /// take-YYYYMMDD-HHMMSS-NN.mid (local time) in the current directory.
    #[arg(conflicts_with = "takes")]
    pub output: Option<PathBuf>,
    /// Where MIDI comes from.
    #[command(flatten)]
    pub input: InputArgs,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub duration: Option<Duration>,
    /// Stop once every note and the pedal have been released for SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub until_silence: Option<Duration>,
    /// Record takes with the keyboard's buttons into DIR: ● starts one, ■ saves it, ▶ plays it back.
    #[arg(long, value_name = "DIR")]
    pub takes: Option<PathBuf>,
    /// Output device for ▶ playback (see `play --audio-device`).
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Sound system for ▶ playback (see `play --audio-host`).
    #[arg(long, value_name = "HOST")]
    pub audio_host: Option<String>,
    /// Frames per audio buffer for ▶ playback (see `play --buffer`).
    #[arg(long, value_name = "FRAMES", default_value_t = DEFAULT_BUFFER_FRAMES)]
    pub buffer: u32,
    /// No line per event: only the start, the takes saved and problems.
    #[arg(long, short)]
    pub quiet: bool,
    /// How takes are written.
    #[command(flatten)]
    pub smf: SmfArgs,
}

/// A number of seconds as `--duration` and `--until-silence` take it:
/// finite, not negative, and small enough for a [`Duration`].
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{text} is not a number of seconds"))
}

impl RecordArgs {
    /// The session settings these flags mean.
    pub fn config(&self) -> Result<SessionConfig, String> {
        let recording = match &self.takes {
            Some(dir) => RecordChoice::Takes {
                dir: dir.clone(),
                asked: true,
            },
            None => RecordChoice::Single {
                path: self.output.clone().unwrap_or_else(|| {
                    session::take_path(Path::new(""), &mut 0, SystemTime::now())
                }),
                force: self.force,
                duration: self.duration,
                until_silence: self.until_silence,
            },
        };
        Ok(SessionConfig {
            input: self.input.options()?,
            sound: SoundChoice::OnDemand(OutputChoice {
                host: self.audio_host.clone(),
                device: self.audio_device.clone(),
                buffer_frames: check_buffer(self.buffer)?,
            }),
            engine: EngineConfig::default(),
            panel: None,
            recording,
            record_options: self.smf.options()?,
            thru: None,
            display: if self.quiet {
                DisplayChoice::Quiet
            } else {
                DisplayChoice::Lines
            },
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

/// A length as `--max-length` takes it: seconds, or a number with `s`,
/// `m` or `h` (`90`, `45s`, `90m`, `1.5h`).
pub fn parse_length(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, 'h')) => (&text[..at], 3600.0),
        Some((at, 'm')) => (&text[..at], 60.0),
        Some((at, 's')) => (&text[..at], 1.0),
        _ => (text, 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * unit)
        .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs <= 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{text} is not a length such as 300, 90m or 2h"))
}

/// Options of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The MIDI file to render.
    pub input: PathBuf,
    /// The WAV file to write; `-` writes it to standard output.
    pub output: PathBuf,
    /// Sample rate in Hz (8000 to 192000).
    #[arg(long, default_value_t = 48_000,
          value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    pub rate: u32,
    /// Write 32-bit float samples instead of 16-bit integers.
    #[arg(long)]
    pub float: bool,
    /// The sound to start with (program changes in the file switch too).
    #[arg(long, default_value = "piano")]
    pub preset: Preset,
    /// Refuse files whose audio would be longer than this (seconds, or
    /// e.g. 90m, 2h).
    #[arg(long, value_name = "LENGTH", default_value = "1h", value_parser = parse_length)]
    pub max_length: Duration,
    /// Play what can be read from a damaged file instead of refusing it.
    #[arg(long)]
    pub lenient: bool,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// How controllers are read: General MIDI (CC 10 pans, channel 10
    /// plays drums; the default) or the DeepComposer's panel.
    #[arg(long, value_name = "MAP", default_value = "gm")]
    pub panel: PanelChoice,
    /// Render with a SoundFont's instruments instead of the built-in synth;
    /// `default` finds an installed General MIDI SoundFont (FluidR3_GM…).
    #[arg(long, value_name = "FILE.sf2|default")]
    pub soundfont: Option<PathBuf>,
    /// With --soundfont: share the notes between N synthesizers on N
    /// threads (1 to 256; default: one per core; 1: one synthesizer).
    #[arg(long, short = 'j', value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
}

/// `--panel`: which controller map the synth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PanelChoice {
    /// The AWS DeepComposer's panel: encoder morphs the waveform, knobs
    /// shape the sound, the reverb button toggles reverb.
    #[value(name = "deepcomposer")]
    DeepComposer,
    /// General MIDI: pan, reverb send, sound controllers, drums on channel 10.
    #[value(name = "gm")]
    Gm,
}

impl From<PanelChoice> for PanelMap {
    fn from(choice: PanelChoice) -> PanelMap {
        match choice {
            PanelChoice::DeepComposer => PanelMap::DeepComposer,
            PanelChoice::Gm => PanelMap::GeneralMidi,
        }
    }
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

    /// Where the WAV goes.
    pub fn destination(&self) -> Destination {
        Destination::new(&self.output, self.force)
    }

    /// The render settings these flags mean.
    pub fn options(&self) -> RenderOptions {
        RenderOptions {
            sample_rate: self.rate,
            format: self.format(),
            max_length: self.max_length,
            lenient: self.lenient,
            engine: EngineConfig {
                preset: self.preset,
                panel: self.panel.into(),
                ..EngineConfig::default()
            },
            jobs: self
                .jobs
                .and_then(|n| std::num::NonZeroUsize::new(usize::from(n))),
        }
    }
}

/// `--channel`: one channel 1–16 or a range such as `1-4`.
fn parse_channels(text: &str) -> Result<Vec<u8>, String> {
    let channel = |part: &str| match part.trim().parse::<u8>() {
        Ok(n @ 1..=16) => Ok(n),
        _ => Err(format!(
            "channel {part} does not exist: channels are 1 to 16"
        )),
    };
    match text.split_once('-') {
        Some((first, last)) => {
            let (first, last) = (channel(first)?, channel(last)?);
            if first > last {
                return Err(format!(
                    "{text} is an empty range: write the lower channel first"
                ));
            }
            Ok((first..=last).collect())
        }
        None => Ok(vec![channel(text)?]),
    }
}

/// `--bpm`: a tempo a MIDI file can hold.
fn parse_bpm(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(bpm) if (4.0..=60_000_000.0).contains(&bpm) => Ok(bpm),
        Ok(_) => Err("a MIDI file holds tempos from 4 to 60000000 bpm".into()),
        Err(_) => Err("not a number of beats per minute".into()),
    }
}

/// `--timesig N/D`: beats per bar and a power-of-two note value.
fn parse_time_signature(text: &str) -> Result<(u8, u8), String> {
    let (numerator, denominator) = text
        .split_once('/')
        .ok_or("write it as N/D, e.g. 4/4 or 6/8")?;
    let numerator = match numerator.trim().parse::<u8>() {
        Ok(n @ 1..=255) => n,
        _ => return Err(format!("{numerator} beats per bar: use 1 to 255")),
    };
    match denominator.trim().parse::<u8>() {
        Ok(d @ (1 | 2 | 4 | 8 | 16 | 32 | 64)) => Ok((numerator, d)),
        _ => Err(format!(
            "{denominator} is not a note value: use 1, 2, 4, 8, 16, 32 or 64"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_seconds_minutes_and_hours() {
        assert_eq!(parse_length("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_length("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_length("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_length("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "h", "0", "-3", "1d", "nan", "inf"] {
            assert!(parse_length(bad).is_err(), "{bad}");
        }
    }
}
