//! What a session runs with and what it reports: where MIDI comes from,
//! where the sound goes, what gets recorded, how it is shown.

use crate::audio::device::OutputChoice;
use crate::input::select::InputOptions;
use crate::record::{RecordOptions, TakeSummary};
use crate::synth::{EngineConfig, PanelMap};
use std::path::PathBuf;
use std::time::Duration;

/// Where the sound goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundChoice {
    /// The speakers, now.
    Speakers(OutputChoice),
    /// A WAV file of what would have been heard.
    Wav(crate::render::WavTarget),
    /// The speakers, opened only when ▶ asks to hear a take.
    OnDemand(OutputChoice),
}

/// What gets recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordChoice {
    /// Nothing (`monitor --tui`).
    Off,
    /// One file, from start to stop (`record OUT.mid`).
    Single {
        /// The file.
        path: PathBuf,
        /// Overwrite it if it exists.
        force: bool,
        /// Stop after this long.
        duration: Option<Duration>,
        /// Stop after this long with every note and the pedal released.
        until_silence: Option<Duration>,
    },
    /// Takes driven by the transport buttons, saved in a directory.
    Takes {
        /// Where takes go.
        dir: PathBuf,
        /// The directory was asked for: when it cannot take takes the
        /// session does not start (otherwise it starts with a warning).
        asked: bool,
    },
}

impl RecordChoice {
    /// The stop rules of a single take: (`--duration`, `--until-silence`).
    pub(crate) fn stop_rules(&self) -> (Option<Duration>, Option<Duration>) {
        match self {
            RecordChoice::Single {
                duration,
                until_silence,
                ..
            } => (*duration, *until_silence),
            RecordChoice::Takes { .. } | RecordChoice::Off => (None, None),
        }
    }

    /// What the buttons do, for the status line at the start.
    pub(crate) fn instructions(&self) -> String {
        match self {
            RecordChoice::Single { path, .. } => format!(
                "recording to {} from the first note; Ctrl+C or ■ stops and saves",
                path.display()
            ),
            RecordChoice::Takes { dir, .. } => format!(
                "● records a take into {}, ■ saves it, ▶ plays it back; Ctrl+C quits",
                dir.display()
            ),
            RecordChoice::Off => "Ctrl+C quits".to_owned(),
        }
    }
}

/// How the session shows what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayChoice {
    /// One line per event on standard output, status on standard error.
    Lines,
    /// Status lines only (`record --quiet`): no line per event; an unplug
    /// or a replug is a status line.
    Quiet,
    /// The full-screen terminal keyboard.
    Terminal,
}

/// Everything a session runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Where MIDI comes from.
    pub input: InputOptions,
    /// Where the sound goes.
    pub sound: SoundChoice,
    /// The synth's settings (its panel map is chosen from the input unless
    /// `panel` says otherwise).
    pub engine: EngineConfig,
    /// `--panel`: read controllers this way whatever the input is. `None`:
    /// the DeepComposer's map for the DeepComposer, General MIDI for files
    /// and other keyboards.
    pub panel: Option<PanelMap>,
    /// What gets recorded.
    pub recording: RecordChoice,
    /// How takes are written.
    pub record_options: RecordOptions,
    /// Forward every event to this MIDI output port as well.
    pub thru: Option<String>,
    /// Lines or the terminal keyboard.
    pub display: DisplayChoice,
}

/// What a session did.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    /// Notes played on the keyboard.
    pub notes: u64,
    /// True when the keyboard was unplugged.
    pub disconnected: bool,
    /// Where `--wav` wrote, and how many seconds.
    pub wav: Option<(PathBuf, f64)>,
    /// Audio blocks whose rendering took longer than real time.
    pub overruns: u64,
    /// Takes saved.
    pub takes: Vec<TakeSummary>,
}
