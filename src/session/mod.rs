//! The live loop behind `play`, `record` and `monitor --tui`, in data-flow
//! order: the input stream and its note tracker feed every event out in a
//! fixed order — the synth first (`output`), then the take (`takes`),
//! then the `--thru` port, then the view (`view`) — so nothing on the way
//! to the screen or a pipe can hold up the sound or the journal. The
//! keyboard's transport buttons are routed by `transport`; `config`
//! holds what a session runs with.
//!
//! [`run`] is setup (`Session::open`), the loop (`Session::play`) and
//! teardown (`Session::close`).

mod config;
mod output;
mod takes;
mod transport;
mod view;

pub use config::{DisplayChoice, RecordChoice, SessionConfig, SessionSummary, SoundChoice};
pub use output::{ThruError, WAV_SAMPLE_RATE};
pub use takes::{describe_take, take_path};

use crate::audio::device::{self, AudioError};
use crate::decode::format::input_problems;
use crate::decode::tracker::Transport;
use crate::input::select::{self, Watch};
use crate::input::worker::Worker;
use crate::input::{InputError, InputEvent, InputStream, MidiEvent, Next, SourceInfo, Via};
use crate::record::RecordError;
use crate::render::RenderError;
use crate::synth::{EngineConfig, PanelMap, Preset, SynthEvent};
use crate::tui::{Action, Status};
use output::{Sink, Thru};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use takes::Takes;
use view::View;

/// Why a session could not run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No sound output.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// No input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The WAV file could not be written.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A take could not be written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The `--thru` port could not be opened.
    #[error("cannot open MIDI output \"{port}\" for --thru")]
    Thru {
        /// The port asked for.
        port: String,
        /// Why.
        #[source]
        source: ThruError,
    },
    /// The terminal keyboard view could not be shown or drawn.
    #[error("the terminal keyboard view failed")]
    Terminal(#[source] std::io::Error),
    /// The event lines could not be written.
    #[error("cannot write to standard output")]
    Output(#[source] std::io::Error),
}

/// What the music and the buttons act on: the sound, the takes, take
/// playback and the `--thru` port.
pub(crate) struct Deck {
    recording: RecordChoice,
    sound: SoundChoice,
    engine: EngineConfig,
    preset: Preset,
    /// The program last selected (by a preset key or a Program Change
    /// played), which the status line names.
    program: u8,
    sink: Option<Sink>,
    takes: Takes,
    playback: Option<Worker>,
    thru: Option<Thru>,
    /// Notes played on the keyboard.
    notes: u64,
}

impl Deck {
    /// A keyboard event that is music: heard first, then recorded, then
    /// forwarded (the caller shows it last).
    fn play(&mut self, event: &MidiEvent, view: &mut View) -> Result<(), SessionError> {
        if let Some(synth) = SynthEvent::from_midi(&event.message) {
            self.notes += u64::from(synth.starts_note());
            // (With General MIDI, channel 10's programs pick drum kits.)
            let drums = |channel| channel == 9 && self.engine.panel == PanelMap::GeneralMidi;
            if let SynthEvent::ProgramChange { channel, program } = synth {
                if !drums(channel) {
                    self.program = program & 127;
                    self.preset = Preset::from_program(program);
                }
            }
            self.hear(event.t_us, synth)?;
        }
        self.takes.record(event, view)?;
        if let Some(thru) = self.thru.as_mut() {
            thru.send(&event.message);
        }
        Ok(())
    }

    /// A take played back (▶): heard only.
    fn play_back(&mut self, event: &MidiEvent) -> Result<(), SessionError> {
        match SynthEvent::from_midi(&event.message) {
            Some(synth) => self.hear(event.t_us, synth),
            None => Ok(()),
        }
    }

    fn hear(&mut self, t_us: u64, event: SynthEvent) -> Result<(), SessionError> {
        match self.sink.as_mut() {
            Some(sink) => sink.handle(t_us, event),
            None => Ok(()),
        }
    }

    /// Switches every channel to `preset`.
    fn change_preset(
        &mut self,
        preset: Preset,
        now_us: u64,
        view: &mut View,
    ) -> Result<(), SessionError> {
        self.preset = preset;
        let program = preset.program();
        self.program = program;
        for channel in 0..16 {
            self.hear(now_us, SynthEvent::ProgramChange { channel, program })?;
        }
        view.status(&format!("preset {}", self.engine.program_name(program)));
        Ok(())
    }

    /// What the terminal view's status line shows right now.
    /// True while something moves on without input: sound ringing out, a
    /// take's clock and journal, a WAV file, take playback.
    fn busy(&self) -> bool {
        self.sink.as_ref().is_some_and(Sink::busy)
            || self.takes.recording()
            || self.playback.is_some()
    }

    fn status(&self, input: &str, now_us: u64) -> Status {
        let mut status = Status {
            input: input.to_owned(),
            preset: Some(self.engine.program_name(self.program)),
            recording: self.takes.recording_for(now_us),
            ..Status::default()
        };
        match &self.sink {
            Some(sink) => sink.show(&mut status),
            None => status.preset = None,
        }
        status
    }
}

/// How often the loop looks in while something moves on without input
/// (see [`Deck::busy`]): the status line's voices and take clock, the
/// journal's sync and the stop rules keep up at this pace.
const TICK: Duration = Duration::from_millis(100);

/// How long the loop sleeps when nothing moves: an open, unplayed session
/// wakes once a second (a dropout counted meanwhile shows then). Input,
/// the keys and a keyboard plugged in wake it at once.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// A running session.
struct Session<'a> {
    config: &'a SessionConfig,
    stream: InputStream,
    view: View,
    deck: Deck,
    /// The input as the status line names it.
    short_input: String,
    last_event_us: u64,
    disconnected: bool,
    started: Instant,
    /// The computer keyboard stands in whenever no MIDI keyboard is
    /// there (`play` on a terminal, see [`select::InputOptions::keys_stand_in`]).
    stand_in: bool,
    /// While it does: the look-out for a MIDI keyboard to take over.
    watch: Option<Watch>,
}

/// Runs a session until Ctrl+C, ■ (single take), a stop rule, the end of
/// the input, or an unplug. Status lines go to `status`, event lines to `out`.
pub fn run(
    config: &SessionConfig,
    out: impl Write + Send + 'static,
    status: impl Write + Send + 'static,
) -> Result<SessionSummary, SessionError> {
    let view = View::start(Box::new(out), Box::new(status), config.display);
    let mut session = Session::open(config, view)?;
    let stop_us = session.play()?;
    if let Some(problems) = input_problems(&session.stream.decode_stats()) {
        session.view.status(&format!("input problems: {problems}"));
    }
    session.close(stop_us)
}

impl<'a> Session<'a> {
    /// Opens everything that can fail before taking the keyboard, then the
    /// input, the view, the sound and the `--thru` port.
    fn open(config: &'a SessionConfig, mut view: View) -> Result<Self, SessionError> {
        let speakers = match &config.sound {
            SoundChoice::Speakers(choice) => Some(device::open(choice).inspect_err(|_| {
                // With no keyboard either, both are said: one line each.
                if let Some(missing) = select::missing_keyboard(&config.input) {
                    view.status(&missing.to_string());
                }
            })?),
            SoundChoice::Wav(target) => {
                target.check()?;
                None
            }
            _ => None,
        };
        let mut takes = Takes::open(&config.recording, &config.record_options, &mut view)?;
        let (stream, picked) = match select::open(&config.input) {
            Ok(opened) => opened,
            Err(error) => {
                takes.abandon();
                return Err(error.into());
            }
        };
        let info = stream.info().clone();
        let terminal = config.display == DisplayChoice::Terminal;
        view.show(&info, terminal, stream.feed())
            .map_err(SessionError::Terminal)?;
        view.status(&picked);
        let engine = EngineConfig {
            panel: panel_map(config.panel, &info),
            ..config.engine
        };
        let sink = match (speakers, &config.sound) {
            (Some(output), _) => Some(Sink::speakers(output, engine, stream.clock())),
            (None, SoundChoice::Wav(path)) => Some(Sink::wav(path, engine)?),
            _ => None,
        };
        if let Some(sink) = &sink {
            let preset = engine.program_name(engine.preset.program());
            view.status(&format!("{}; preset {preset}", sink.describe()));
        }
        let thru = config.thru.as_deref().map(Thru::open).transpose()?;
        view.status(&config.recording.instructions());
        let stop = stream.stop_handle();
        // A second session in the same process cannot set it again; ignore that.
        let _ = ctrlc::set_handler(move || stop.interrupt());
        let stand_in = config.input.keys_stand_in();
        let watch =
            (stand_in && info.via == Via::Keys).then(|| Watch::start(&config.input, stream.feed()));
        Ok(Session {
            config,
            short_input: short_input(&info),
            stream,
            view,
            deck: Deck {
                recording: config.recording.clone(),
                sound: config.sound.clone(),
                engine,
                preset: engine.preset,
                program: engine.preset.program(),
                sink,
                takes,
                playback: None,
                thru,
                notes: 0,
            },
            last_event_us: 0,
            disconnected: false,
            started: Instant::now(),
            stand_in,
            watch,
        })
    }

    /// A MIDI keyboard was plugged in while the computer keyboard stood in:
    /// it plays from now on. The computer keyboard's notes are released
    /// (its source sends their Note Offs as it stops) before any of the
    /// keyboard's events.
    fn take_over(&mut self, next: InputStream, said: &str) -> Result<(), SessionError> {
        self.watch = None;
        let t_us = self.stream.switch_to(next);
        self.show_source()?;
        self.view.stream_event(t_us, "MIDI keyboard plugged in");
        self.view
            .status(&format!("{said}; the computer keyboard no longer plays"));
        Ok(())
    }

    /// The MIDI keyboard left (`reason`): the computer keyboard stands in
    /// again, and the look-out starts over. False when the terminal cannot
    /// be read.
    fn stand_in_again(&mut self, reason: &str) -> Result<bool, SessionError> {
        // The computer keyboard's first words go to the normal screen, and
        // only one reader may read the terminal: the view's goes first.
        self.view.leave_screen();
        let Ok(keys) = crate::input::keys::open() else {
            return Ok(false);
        };
        self.stream.switch_to(keys);
        self.show_source()?;
        // Said again: the view that showed the reason is gone.
        self.view.status(&format!(
            "{reason}; playing the computer keyboard — {}",
            select::TAKES_OVER
        ));
        self.watch = Some(Watch::start(&self.config.input, self.stream.feed()));
        Ok(true)
    }

    /// Shows the stream's (new) source: its panel names, and on the
    /// terminal view a fresh keyboard for it, reading its keys unless they
    /// are the instrument.
    fn show_source(&mut self) -> Result<(), SessionError> {
        let terminal = self.config.display == DisplayChoice::Terminal;
        self.view.leave_screen();
        self.view
            .show(self.stream.info(), terminal, self.stream.feed())
            .map_err(SessionError::Terminal)?;
        self.short_input = short_input(self.stream.info());
        // Its knobs mean what they mean on it.
        let panel = panel_map(self.config.panel, self.stream.info());
        self.deck
            .hear(self.stream.now_us(), SynthEvent::Panel(panel))
    }

    /// The loop: keeps the journal and the screen fresh, applies the stop
    /// rules, and hands each event on. Returns when the session stops.
    fn play(&mut self) -> Result<u64, SessionError> {
        let (duration, until_silence) = self.config.recording.stop_rules();
        loop {
            // Asked before the status is read, so a status shown before a
            // long sleep is the one after the sound ended.
            let idle = if self.deck.busy() || duration.is_some() || until_silence.is_some() {
                TICK
            } else {
                IDLE_TICK
            };
            let now_us = self.stream.now_us();
            self.deck.takes.flush_if_due(now_us, &mut self.view)?;
            if let Some(sink) = self.deck.sink.as_mut() {
                if let Some(line) = sink.keep_up(now_us)? {
                    self.view.status(&line);
                }
            }
            let (deck, input, stream) = (&self.deck, &self.short_input, &self.stream);
            self.view
                .refresh(|| Status {
                    input_problems: input_problems(&stream.decode_stats()),
                    ..deck.status(input, now_us)
                })
                .map_err(SessionError::Terminal)?;
            if duration.is_some_and(|d| self.started.elapsed() >= d) {
                return Ok(now_us);
            }
            let silent = Duration::from_micros(now_us.saturating_sub(self.last_event_us));
            let released = self.stream.tracker().all_released();
            if until_silence
                .is_some_and(|quiet| released && self.deck.takes.silent_for(quiet, silent))
            {
                return Ok(now_us);
            }
            if let Some((next, said)) = self.watch.as_ref().and_then(Watch::found) {
                self.take_over(next, &said)?;
            }
            let (event, transport) = match self.stream.next_timeout(self.view.wait(idle)) {
                Next::Event { event, transport } => (event, transport),
                Next::Timeout => continue,
                Next::Closed => return Ok(self.stream.now_us()),
            };
            if let Some(stop_us) = self.handle(event, transport)? {
                return Ok(stop_us);
            }
        }
    }

    /// Fans one event out: synth, take, `--thru`, then the view. Returns
    /// the stop time when the event ends the session.
    fn handle(
        &mut self,
        event: InputEvent,
        transport: Option<Transport>,
    ) -> Result<Option<u64>, SessionError> {
        let tracker = self.stream.tracker();
        match event {
            InputEvent::Midi(event) => {
                self.last_event_us = event.t_us;
                let Some(pressed) = transport else {
                    self.deck.play(&event, &mut self.view)?;
                    self.view.event(&event, None, tracker);
                    return Ok(None);
                };
                // A button is neither heard nor recorded: shown, then routed.
                self.view.event(&event, transport, tracker);
                let ends = self
                    .deck
                    .press(pressed, event.t_us, &self.stream, &mut self.view)?;
                return Ok(ends.then_some(event.t_us));
            }
            InputEvent::Played(event) => {
                self.deck.play_back(&event)?;
                self.view.event(&event, None, tracker);
            }
            InputEvent::Disconnected { t_us, reason, .. } => {
                self.view.stream_event(t_us, &reason);
                if !self.config.input.wait && !self.stand_in {
                    self.disconnected = true;
                    return Ok(Some(t_us));
                }
                // Going on: what it held is released now, or it would
                // hang in the sound, the take and `--thru` until the end.
                for release in self.stream.release_held(t_us) {
                    self.deck.play(&release, &mut self.view)?;
                }
                // Under `--wait` the keyboard's source waits for it.
                if !self.config.input.wait && !self.stand_in_again(&reason)? {
                    self.disconnected = true;
                    return Ok(Some(t_us));
                }
            }
            InputEvent::Reconnected { t_us } => {
                self.view.stream_event(t_us, "keyboard reconnected")
            }
            InputEvent::Key(key) => {
                let now_us = self.stream.now_us();
                let preset = self.deck.preset;
                match self.view.key(key) {
                    Action::Quit => return Ok(Some(now_us.max(self.last_event_us))),
                    Action::NextPreset => {
                        self.deck
                            .change_preset(preset.next(), now_us, &mut self.view)?
                    }
                    Action::PreviousPreset => {
                        self.deck
                            .change_preset(preset.previous(), now_us, &mut self.view)?
                    }
                    Action::Transport(pressed) => {
                        if self
                            .deck
                            .press(pressed, now_us, &self.stream, &mut self.view)?
                        {
                            return Ok(Some(now_us));
                        }
                    }
                    Action::None => {}
                }
            }
            InputEvent::Ended { t_us } | InputEvent::Interrupted { t_us } => {
                return Ok(Some(t_us.max(self.last_event_us)))
            }
        }
        Ok(None)
    }

    /// Stops the input, saves the take, lets the sound ring out and writes
    /// out the last lines.
    fn close(self, stop_us: u64) -> Result<SessionSummary, SessionError> {
        let Session {
            mut stream,
            mut view,
            mut deck,
            disconnected,
            ..
        } = self;
        // Nothing more comes in: take playback and the source stop (the
        // terminal's reader with them), then the terminal is given back so
        // the last words land on the normal screen.
        deck.playback = None;
        stream.stop_source();
        drop(stream);
        if disconnected {
            view.keep_after_unplug();
        } else {
            view.leave_screen();
        }
        deck.takes.save(stop_us, &mut view)?;
        let (wav, overruns) = match deck.sink {
            Some(sink) => sink.finish(stop_us)?,
            None => (None, 0),
        };
        match view.finish() {
            // Whoever read the lines has gone; the session itself is done.
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(SessionError::Output(error))
            }
            _ => {}
        }
        Ok(SessionSummary {
            notes: deck.notes,
            disconnected,
            wav,
            overruns,
            takes: deck.takes.into_saved(),
        })
    }
}

/// How the synth reads the controllers of `info`'s keyboard: as `--panel`
/// says, else with the DeepComposer's map for a DeepComposer and General
/// MIDI's for everything else.
fn panel_map(chosen: Option<PanelMap>, info: &SourceInfo) -> PanelMap {
    chosen.unwrap_or(match info.device {
        Some(_) => PanelMap::DeepComposer,
        None => PanelMap::GeneralMidi,
    })
}

/// The status line is short: a file by its name, not its whole path.
fn short_input(info: &SourceInfo) -> String {
    match info.via {
        Via::File => {
            let name = Path::new(&info.name)
                .file_name()
                .map_or(info.name.as_str(), |n| n.to_str().unwrap_or(""));
            format!("{name} (MIDI file)")
        }
        _ => String::new(),
    }
}
