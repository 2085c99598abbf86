//! The live loop behind `play` and `record`: input → note tracker → synth,
//! display and recorder, with the keyboard's transport buttons (● starts a
//! take, ■ stops and saves it, ▶ plays the last take back).

use crate::audio::device::{self, AudioError, AudioOutput, OutputChoice};
use crate::audio::realtime::{self, TimedEvent};
use crate::decode::bytes::ByteStreamDecoder;
use crate::decode::message::{u4, u7, ChannelMessage};
use crate::decode::names::NoteNaming;
use crate::decode::tracker::{NoteTracker, Transport, SUSTAIN_PEDAL};
use crate::input::file;
use crate::input::select::{self, InputOptions};
use crate::input::worker::Worker;
use crate::input::{
    Clock, EventMessage, Feed, InputError, InputEvent, InputStream, MidiEvent, Next, Via,
};
use crate::monitor::Formatter;
use crate::record::{self, RecordError, RecordOptions, Recorder, TakeSummary};
use crate::render::{synth_event, OfflineRenderer, RenderError, WavFormat, WavOutput};
use crate::synth::{Engine, EngineConfig, PanelMap, Preset, SynthEvent};
use crate::tui::{Action, App, TerminalGuard};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Sample rate of `--wav` output.
pub const WAV_SAMPLE_RATE: u32 = 48_000;
/// Room in the event queue: far more than anyone can play in one block.
const QUEUE_CAPACITY: usize = 4096;

/// Where the sound goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundChoice {
    /// The speakers, now.
    Speakers(OutputChoice),
    /// A WAV file of what would have been heard.
    Wav(PathBuf),
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
    },
}

/// How the session shows what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayChoice {
    /// One line per event on standard output, status on standard error.
    Lines,
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
    /// The synth's settings (its panel map is chosen from the input).
    pub engine: EngineConfig,
    /// What gets recorded.
    pub recording: RecordChoice,
    /// How takes are written.
    pub record_options: RecordOptions,
    /// Forward every event to this MIDI output port as well.
    pub thru: Option<String>,
    /// Lines or the terminal keyboard.
    pub display: DisplayChoice,
}

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

/// Where the synth's sound goes once open.
enum Sink {
    Speakers {
        output: AudioOutput,
        events: realtime::EventSender,
        stats: Arc<realtime::AudioStats>,
    },
    Wav {
        renderer: Box<OfflineRenderer>,
        wav: WavOutput,
    },
}

impl Sink {
    fn speakers(output: AudioOutput, engine: EngineConfig, clock: Clock) -> Self {
        let frames = output.buffer_frames.unwrap_or(128) as usize;
        let engine = Engine::new(output.sample_rate, engine);
        let (events, source) = realtime::build(engine, frames, clock, QUEUE_CAPACITY);
        let stats = source.stats();
        output.play(source);
        Sink::Speakers {
            output,
            events,
            stats,
        }
    }

    fn describe(&self) -> String {
        match self {
            Sink::Speakers { output, .. } => {
                let latency = output
                    .latency_ms()
                    .map_or("unknown latency".to_owned(), |ms| {
                        format!("{ms:.1} ms output latency")
                    });
                let buffer = output
                    .buffer_frames
                    .map_or("device-chosen buffer".to_owned(), |f| {
                        format!("{f}-frame buffer")
                    });
                let mut text = format!(
                    "sound on \"{}\", {} Hz, {buffer}, {latency}",
                    output.device_name, output.sample_rate
                );
                if let Some(note) = &output.fallback_note {
                    text.push_str(&format!(" (note: {note})"));
                }
                text
            }
            Sink::Wav { wav, .. } => {
                format!("writing what would be heard to {}", wav.target().display())
            }
        }
    }

    fn handle(&mut self, t_us: u64, event: SynthEvent) -> Result<(), SessionError> {
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
    fn finish(self, t_us: u64) -> Result<(Option<(PathBuf, f64)>, u64), SessionError> {
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

/// Plays a saved take into `feed`, times shifted to start now; dropping
/// the returned worker stops it.
fn play_back(path: &Path, feed: Feed) -> Result<Worker, file::FileError> {
    let events = file::load(path)?;
    Ok(Worker::spawn(move |stopped: &AtomicBool| {
        let start = Instant::now();
        let offset = feed.now_us();
        let mut decoder = ByteStreamDecoder::new();
        for event in events {
            let due = start + Duration::from_micros(event.t_us);
            while Instant::now() < due {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(20)));
            }
            let mut decoded = Vec::new();
            decoder.feed(&event.bytes, |m| decoded.push(EventMessage::from(m)));
            for message in decoded {
                let played = MidiEvent {
                    t_us: offset + event.t_us,
                    cable: u4::new(0),
                    message,
                };
                if stopped.load(Ordering::Relaxed) || !feed.event(InputEvent::Played(played)) {
                    return;
                }
            }
        }
    }))
}

/// The name of a new take: `take-YYYYMMDD-HHMMSS-NN.mid` (UTC), never an
/// existing file.
pub fn take_path(dir: &Path, counter: &mut u32, now: SystemTime) -> PathBuf {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let stamp = format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    loop {
        *counter += 1;
        let path = dir.join(format!("take-{stamp}-{:02}.mid", counter));
        if !path.exists() {
            return path;
        }
    }
}

/// Days since 1970-01-01 to a (year, month, day) date (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The recording side of a session.
struct Takes {
    choice: RecordChoice,
    options: RecordOptions,
    current: Option<Recorder>,
    last_saved: Option<PathBuf>,
    saved: Vec<TakeSummary>,
    counter: u32,
}

impl Takes {
    fn begin(&mut self, now_us: u64, display: &mut Display<'_>) -> Result<(), SessionError> {
        let RecordChoice::Takes { dir } = &self.choice else {
            return Ok(());
        };
        let path = take_path(dir, &mut self.counter, SystemTime::now());
        let mut recorder = Recorder::start(&path, self.options.clone(), false, now_us)?;
        recorder.mark_start(now_us);
        display.status(&format!("● recording {}", path.display()))?;
        self.current = Some(recorder);
        Ok(())
    }

    fn save(&mut self, stop_us: u64, display: &mut Display<'_>) -> Result<(), SessionError> {
        if let Some(recorder) = self.current.take() {
            let summary = recorder.finish(stop_us)?;
            display.status(&format!("■ saved {}", describe_take(&summary)))?;
            self.last_saved = Some(summary.path.clone());
            self.saved.push(summary);
        }
        Ok(())
    }
}

/// One line about a saved take.
pub fn describe_take(take: &TakeSummary) -> String {
    let closed = match take.closed_notes {
        0 => String::new(),
        n => format!(", {n} held note(s) closed at the stop"),
    };
    format!(
        "{}: {} notes, {} events, {:.1} s{closed}",
        take.path.display(),
        take.notes,
        take.events,
        take.duration_us as f64 / 1e6
    )
}

/// What the terminal view's status line shows right now.
fn screen_status(
    input: &str,
    sink: &Option<Sink>,
    preset: Preset,
    takes: &Takes,
    now_us: u64,
) -> crate::tui::Status {
    let mut status = crate::tui::Status {
        input: input.to_owned(),
        preset: Some(preset.to_string()),
        recording: takes
            .current
            .as_ref()
            .map(|recorder| Duration::from_micros(recorder.elapsed_us(now_us))),
        ..crate::tui::Status::default()
    };
    match sink {
        Some(Sink::Speakers { output, stats, .. }) => {
            status.audio = Some(output.device_name.clone());
            status.buffer_frames = output.buffer_frames;
            status.latency_ms = output.latency_ms();
            status.voices = stats.voices.load(Ordering::Relaxed);
            status.load_percent = stats.load_permille.load(Ordering::Relaxed) as f32 / 10.0;
            status.dropouts = stats.overruns.load(Ordering::Relaxed)
                + device::STREAM_ERRORS.load(Ordering::Relaxed);
        }
        Some(Sink::Wav { wav, .. }) => {
            status.audio = Some(format!("{} (WAV)", wav.target().display()))
        }
        None => status.preset = None,
    }
    status
}

/// Where the session's words and events go.
enum Display<'a> {
    Lines {
        out: &'a mut dyn Write,
        status: &'a mut dyn Write,
        formatter: Formatter<'a>,
    },
    Terminal {
        app: Box<App>,
        guard: TerminalGuard,
        /// The computer keyboard is the input: it reads the keys itself.
        keys_are_input: bool,
        /// When the screen was last drawn (for the 60-per-second cap).
        last_draw: Instant,
    },
}

/// The shortest time between two redraws: at most 60 a second.
const FRAME: Duration = Duration::from_millis(16);
/// How long an idle terminal view sleeps between looks at the keys.
const IDLE_WAIT: Duration = Duration::from_millis(100);

impl Display<'_> {
    fn status(&mut self, text: &str) -> std::io::Result<()> {
        match self {
            Display::Lines { status, .. } => writeln!(status, "composer-probe: {text}"),
            Display::Terminal { app, .. } => {
                app.note_stream_event(text);
                Ok(())
            }
        }
    }

    fn event(&mut self, event: &MidiEvent, transport: Option<Transport>) -> std::io::Result<()> {
        match self {
            Display::Lines { out, formatter, .. } => {
                writeln!(out, "{}", formatter.line(event, transport))
            }
            Display::Terminal { app, .. } => {
                app.apply(event, Instant::now());
                Ok(())
            }
        }
    }

    fn stream_event(&mut self, t_us: u64, text: &str) -> std::io::Result<()> {
        match self {
            Display::Lines { out, .. } => writeln!(out, "{:>12.6}  {text}", t_us as f64 / 1e6),
            Display::Terminal { app, .. } => {
                app.note_stream_event(text);
                Ok(())
            }
        }
    }

    /// How long to wait for input before the screen needs attention again:
    /// the next frame when something is waiting to be drawn, the end of a
    /// button flash, or a short idle sleep (keys are read between waits).
    fn wait(&self) -> Duration {
        match self {
            Display::Lines { .. } => IDLE_WAIT,
            Display::Terminal { app, last_draw, .. } => {
                let now = Instant::now();
                let next_frame = (*last_draw + FRAME).saturating_duration_since(now);
                if app.is_dirty() {
                    return next_frame;
                }
                let flash = app
                    .next_deadline()
                    .map_or(IDLE_WAIT, |at| at.saturating_duration_since(now));
                flash.clamp(next_frame, IDLE_WAIT)
            }
        }
    }

    /// Reads a key and redraws if anything changed (terminal only).
    fn refresh(&mut self, status: crate::tui::Status) -> std::io::Result<Action> {
        let Display::Terminal {
            app,
            guard,
            keys_are_input,
            last_draw,
        } = self
        else {
            return Ok(Action::None);
        };
        let mut action = Action::None;
        if !*keys_are_input {
            match crate::tui::terminal::poll_key(Duration::ZERO) {
                Ok(Some(key)) => action = app.handle_key(key),
                Ok(None) => {}
                // The window closed: end the session as if asked to quit.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(Action::Quit)
                }
                Err(error) => return Err(error),
            }
        }
        app.set_status(status);
        let now = Instant::now();
        app.tick(now);
        if now >= *last_draw + FRAME {
            guard.draw(app)?;
            *last_draw = now;
        }
        Ok(action)
    }
}

/// What the music and the buttons act on: the sound, the takes, take
/// playback and the `--thru` port.
struct Deck {
    sound: SoundChoice,
    engine: EngineConfig,
    sink: Option<Sink>,
    takes: Takes,
    playback: Option<Worker>,
    thru: Option<midir::MidiOutputConnection>,
    /// Reused for `--thru` messages.
    bytes: Vec<u8>,
    /// Notes played on the keyboard.
    notes: u64,
}

impl Deck {
    /// Plays an event through the synth, if there is sound.
    fn sound(&mut self, event: &MidiEvent) -> Result<(), SessionError> {
        if let (Some(synth), Some(sink)) = (synth_event(&event.message), self.sink.as_mut()) {
            sink.handle(event.t_us, synth)?;
        }
        Ok(())
    }

    /// A keyboard event that is music: heard, recorded, forwarded.
    fn play(&mut self, event: &MidiEvent, display: &mut Display<'_>) -> Result<(), SessionError> {
        if matches!(synth_event(&event.message), Some(SynthEvent::NoteOn { velocity, .. }) if velocity > 0)
        {
            self.notes += 1;
        }
        self.sound(event)?;
        if let Some(recorder) = self.takes.current.as_mut() {
            if let Err(error) = recorder.record(event) {
                display.status(&format!("warning: {error}"))?;
            }
        }
        if let Some(thru) = self.thru.as_mut() {
            self.bytes.clear();
            event.message.write_bytes(&mut self.bytes);
            // A failing thru port must not stop the music.
            let _ = thru.send(&self.bytes);
        }
        Ok(())
    }

    /// The keyboard was unplugged and `--wait` waits for it: the releases
    /// of what it held are lost, so its held keys get their Note Off and a
    /// held sustain pedal its release now, at the unplug. Otherwise they
    /// would hang in the sound, the take and the thru port until the end.
    fn release_held(
        &mut self,
        tracker: &mut NoteTracker,
        t_us: u64,
        display: &mut Display<'_>,
    ) -> Result<(), SessionError> {
        let mut releases = Vec::new();
        for channel in (0u8..16).map(u4::new) {
            let state = tracker.channel(channel);
            for key in state.held_keys() {
                let (key, vel) = (u7::new(key), u7::new(0));
                releases.push((channel, ChannelMessage::NoteOff { key, vel }));
            }
            if state.sustain() {
                let (controller, value) = (u7::new(SUSTAIN_PEDAL), u7::new(0));
                releases.push((channel, ChannelMessage::Controller { controller, value }));
            }
        }
        for (channel, message) in releases {
            tracker.apply(channel, &message);
            let event = MidiEvent {
                t_us,
                cable: u4::new(0),
                message: EventMessage::Channel { channel, message },
            };
            self.play(&event, display)?;
        }
        Ok(())
    }

    /// A transport button press. Returns true when it ends the session
    /// (■ while recording a single file).
    fn press(
        &mut self,
        pressed: Transport,
        t_us: u64,
        recording: &RecordChoice,
        stream: &InputStream,
        display: &mut Display<'_>,
    ) -> Result<bool, SessionError> {
        match (pressed, recording) {
            (Transport::Record, RecordChoice::Single { .. }) => {
                if let Some(recorder) = self.takes.current.as_mut().filter(|r| !r.started()) {
                    recorder.mark_start(t_us);
                }
            }
            (Transport::Stop, RecordChoice::Single { .. }) => return Ok(true),
            (Transport::Record, RecordChoice::Takes { .. }) => {
                self.playback = None;
                self.takes.save(t_us, display)?;
                self.takes.begin(t_us, display)?;
            }
            (Transport::Stop, RecordChoice::Takes { .. }) => {
                self.playback = None;
                self.takes.save(t_us, display)?;
            }
            (Transport::Play, RecordChoice::Takes { .. }) => {
                self.playback = None;
                let Some(path) = self.takes.last_saved.clone() else {
                    display.status("▶ no take yet: press ● to record one")?;
                    return Ok(false);
                };
                self.open_sound_on_demand(stream, display)?;
                if self.sink.is_some() {
                    display.status(&format!("▶ playing {}", path.display()))?;
                    self.playback =
                        Some(play_back(&path, stream.feed()).map_err(InputError::from)?);
                }
            }
            (Transport::Play, RecordChoice::Single { .. }) | (_, RecordChoice::Off) => {}
        }
        Ok(false)
    }

    /// `record` opens the speakers only when ▶ asks to hear a take.
    fn open_sound_on_demand(
        &mut self,
        stream: &InputStream,
        display: &mut Display<'_>,
    ) -> Result<(), SessionError> {
        if self.sink.is_some() {
            return Ok(());
        }
        if let SoundChoice::OnDemand(choice) = &self.sound {
            match device::open(choice) {
                Ok(output) => self.sink = Some(Sink::speakers(output, self.engine, stream.clock())),
                Err(error) => display.status(&format!("▶ cannot play back: {error}"))?,
            }
        }
        Ok(())
    }
}

/// Runs a session until Ctrl+C, ■ (single take), a stop rule, the end of
/// the input, or an unplug. Status lines go to `status`, event lines to `out`.
pub fn run(
    config: &SessionConfig,
    out: &mut dyn Write,
    status: &mut dyn Write,
) -> Result<SessionSummary, SessionError> {
    // Check everything that can fail before taking the keyboard.
    let speakers = match &config.sound {
        SoundChoice::Speakers(choice) => Some(device::open(choice)?),
        _ => None,
    };
    let mut takes = Takes {
        choice: config.recording.clone(),
        options: config.record_options.clone(),
        current: None,
        last_saved: None,
        saved: Vec::new(),
        counter: 0,
    };
    if let RecordChoice::Single { path, force, .. } = &config.recording {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for journal in record::leftover_journals(dir) {
            writeln!(
                status,
                "composer-probe: found an unfinished take; `composer-probe recover {}` saves it",
                journal.display()
            )?;
        }
        takes.current = Some(Recorder::start(
            path,
            config.record_options.clone(),
            *force,
            0,
        )?);
    }
    let (mut stream, picked) = match select::open(&config.input) {
        Ok(opened) => opened,
        Err(error) => {
            if let Some(recorder) = takes.current.take() {
                let _ = std::fs::remove_file(recorder.journal_path());
            }
            return Err(error.into());
        }
    };
    let info = stream.info().clone();
    let formatter_info = info.clone();
    let mut display = match config.display {
        DisplayChoice::Lines => Display::Lines {
            out,
            status,
            formatter: Formatter {
                info: &formatter_info,
                naming: NoteNaming::default(),
            },
        },
        DisplayChoice::Terminal => {
            let mut app = App::new(info.clone(), NoteNaming::default());
            app.monochrome(crate::tui::terminal::wants_monochrome());
            Display::Terminal {
                app: Box::new(app),
                guard: TerminalGuard::enter()?,
                keys_are_input: info.via == Via::Keys,
                last_draw: Instant::now() - FRAME,
            }
        }
    };
    display.status(&picked)?;
    let engine = EngineConfig {
        panel: if info.device.is_some() {
            PanelMap::DeepComposer
        } else {
            PanelMap::GeneralMidi
        },
        ..config.engine
    };
    let sink = match (speakers, &config.sound) {
        (Some(output), _) => Some(Sink::speakers(output, engine, stream.clock())),
        (None, SoundChoice::Wav(path)) => Some(Sink::Wav {
            renderer: Box::new(OfflineRenderer::new(Engine::new(WAV_SAMPLE_RATE, engine))),
            wav: WavOutput::create(path, WAV_SAMPLE_RATE, WavFormat::Int16)?,
        }),
        _ => None,
    };
    if let Some(sink) = &sink {
        display.status(&format!("{}; preset {}", sink.describe(), engine.preset))?;
    }
    let thru = match &config.thru {
        Some(port) => Some(open_thru(port)?),
        None => None,
    };
    let mut deck = Deck {
        sound: config.sound.clone(),
        engine,
        sink,
        takes,
        playback: None,
        thru,
        bytes: Vec::with_capacity(64),
        notes: 0,
    };
    match &config.recording {
        RecordChoice::Single { path, .. } => display.status(&format!(
            "recording to {} from the first note; Ctrl+C or ■ stops and saves",
            path.display()
        ))?,
        RecordChoice::Takes { dir } => display.status(&format!(
            "● records a take into {}, ■ saves it, ▶ plays it back; Ctrl+C quits",
            dir.display()
        ))?,
        RecordChoice::Off => display.status("Ctrl+C quits")?,
    }

    let stop = stream.stop_handle();
    // A second session in the same process cannot set it again; ignore that.
    let _ = ctrlc::set_handler(move || stop.interrupt());

    let mut preset = engine.preset;
    // The status line is short: a file by its name, not its whole path.
    let short_input = match info.via {
        Via::File => {
            let name = Path::new(&info.name)
                .file_name()
                .map_or(info.name.as_str(), |n| n.to_str().unwrap_or(""));
            format!("{name} (MIDI file)")
        }
        _ => String::new(),
    };
    let mut tracker = NoteTracker::new(info.device);
    let mut disconnected = false;
    let mut last_event_us = 0u64;
    let started = Instant::now();
    let (duration, until_silence) = match &config.recording {
        RecordChoice::Single {
            duration,
            until_silence,
            ..
        } => (*duration, *until_silence),
        RecordChoice::Takes { .. } | RecordChoice::Off => (None, None),
    };
    let stop_us = loop {
        let now_us = stream.now_us();
        if let Some(recorder) = deck.takes.current.as_mut() {
            if let Err(error) = recorder.flush_if_due(now_us) {
                display.status(&format!("warning: {error}"))?;
            }
        }
        let shown = screen_status(&short_input, &deck.sink, preset, &deck.takes, now_us);
        match display.refresh(shown)? {
            Action::Quit => break now_us.max(last_event_us),
            action @ (Action::NextPreset | Action::PreviousPreset) => {
                preset = if action == Action::NextPreset {
                    preset.next()
                } else {
                    preset.previous()
                };
                if let Some(sink) = deck.sink.as_mut() {
                    for channel in 0..16 {
                        let program = preset.program();
                        sink.handle(now_us, SynthEvent::ProgramChange { channel, program })?;
                    }
                }
                display.status(&format!("preset {preset}"))?;
            }
            Action::None => {}
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            break now_us;
        }
        if let (Some(quiet), Some(recorder)) = (until_silence, deck.takes.current.as_ref()) {
            let silent_for = Duration::from_micros(now_us.saturating_sub(last_event_us));
            if recorder.started() && recorder.all_released() && silent_for >= quiet {
                break now_us;
            }
        }
        let event = match stream.next_timeout(display.wait()) {
            Next::Event(event) => event,
            Next::Timeout => continue,
            Next::Closed => break stream.now_us(),
        };
        match event {
            InputEvent::Midi(event) => {
                last_event_us = event.t_us;
                let transport = match &event.message {
                    EventMessage::Channel { channel, message } => tracker.apply(*channel, message),
                    _ => None,
                };
                display.event(&event, transport)?;
                if let Some(pressed) = transport {
                    if deck.press(
                        pressed,
                        event.t_us,
                        &config.recording,
                        &stream,
                        &mut display,
                    )? {
                        break event.t_us;
                    }
                    continue;
                }
                deck.play(&event, &mut display)?;
            }
            InputEvent::Played(event) => {
                display.event(&event, None)?;
                deck.sound(&event)?;
            }
            InputEvent::Disconnected { t_us, reason } => {
                display.stream_event(t_us, &reason)?;
                if !config.input.wait {
                    disconnected = true;
                    break t_us;
                }
                deck.release_held(&mut tracker, t_us, &mut display)?;
            }
            InputEvent::Reconnected { t_us } => {
                display.stream_event(t_us, "keyboard reconnected")?
            }
            InputEvent::Ended { t_us } | InputEvent::Interrupted { t_us } => {
                break t_us.max(last_event_us)
            }
        }
    };
    deck.playback = None;
    stream.stop_source();
    // The keys source restores the terminal itself: stop it before the view.
    drop(stream);
    if let Display::Terminal { .. } = display {
        drop(display);
        display = Display::Lines {
            out,
            status,
            formatter: Formatter {
                info: &formatter_info,
                naming: NoteNaming::default(),
            },
        };
    }
    deck.takes.save(stop_us, &mut display)?;
    let (wav, overruns) = match deck.sink {
        Some(sink) => sink.finish(stop_us)?,
        None => (None, 0),
    };
    Ok(SessionSummary {
        notes: deck.notes,
        disconnected,
        wav,
        overruns,
        takes: deck.takes.saved,
    })
}

fn open_thru(port: &str) -> Result<midir::MidiOutputConnection, SessionError> {
    let failed = |reason: String| SessionError::Thru {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_names_carry_the_utc_date_and_a_counter() {
        let dir = std::env::temp_dir().join(format!("cp-takes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_795_700_000); // 2026-11-26 ...
        let mut counter = 0;
        let first = take_path(&dir, &mut counter, at);
        assert_eq!(
            first.file_name().unwrap().to_str().unwrap(),
            "take-20261126-120000-01.mid".replace("120000", &{
                let rest = 1_795_700_000u64 % 86_400;
                format!("{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
            })
        );
        std::fs::write(dir.join(first.file_name().unwrap()), b"x").unwrap();
        let mut again = 0;
        let second = take_path(&dir, &mut again, at);
        assert!(
            second.to_str().unwrap().ends_with("-02.mid"),
            "an existing take is never overwritten"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
