//! The visualizer's state: everything the screen shows, and nothing that
//! touches the terminal. Events, status reports and key presses go in; the
//! render functions in [`mod@super::ui`] read it out. A `dirty` flag tells the
//! terminal loop whether a redraw is due.

use crate::decode::format::Formatter;
use crate::decode::message::{u4, ChannelMessage, SystemRealtime};
use crate::decode::names::NoteNaming;
use crate::decode::tracker::{ChannelState, NoteTracker, Transport};
use crate::input::keys::KeysState;
use crate::input::{EventMessage, MidiEvent, SourceInfo};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many event-log lines are kept.
pub const LOG_LINES: usize = 200;

/// How long a transport button stays lit after a press.
pub const FLASH: Duration = Duration::from_millis(300);

/// The range shown for keyboards we know nothing about: C3–C6 (notes 48–84).
pub const UNKNOWN_RANGE: (u8, u8) = (48, 84);

/// What the audio side reports for the status line. Every field is
/// optional in spirit: leave it at its default when it does not apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The input, for people; empty means "the source's name and how it is
    /// reached".
    pub input: String,
    /// The audio output device; `None` when nothing is playing sound.
    pub audio: Option<String>,
    /// Audio buffer size in frames.
    pub buffer_frames: Option<u32>,
    /// Output latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// Voices sounding.
    pub voices: u32,
    /// Audio callback load, percent of the time budget.
    pub load_percent: f32,
    /// Buffer underruns so far.
    pub dropouts: u64,
    /// What the input's decoders skipped or cut short; `None` while clean.
    pub input_problems: Option<String>,
    /// Name of the synth preset.
    pub preset: Option<String>,
    /// Time elapsed while recording; `None` when not recording.
    pub recording: Option<Duration>,
    /// The computer keyboard's octave and velocity (`--keys` only).
    pub keys: Option<KeysState>,
}

impl Status {
    /// The status as it appears on screen; two statuses that look the
    /// same need no redraw.
    fn visible(&self) -> String {
        format!(
            "{}|{:?}|{:?}|{:?}|{}|{:.0}|{}|{:?}|{:?}|{:?}|{:?}",
            self.input,
            self.audio,
            self.buffer_frames,
            self.latency_ms.map(|ms| format!("{ms:.1}")),
            self.voices,
            self.load_percent,
            self.dropouts,
            self.input_problems,
            self.preset,
            self.recording.map(|d| d.as_secs()),
            self.keys,
        )
    }
}

/// What a key press asks the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave (q, Esc, Ctrl+C).
    Quit,
    /// Switch to the next synth preset (`]` or `+`).
    NextPreset,
    /// Switch to the previous synth preset (`[` or `-`).
    PreviousPreset,
    /// A transport button of the computer keyboard (`--keys`: `r` ●,
    /// Space ■, Enter ▶).
    Transport(Transport),
    /// Nothing for the caller (the key was ignored or handled here).
    None,
}

/// How one key of the piano looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyState {
    /// Not sounding.
    #[default]
    Up,
    /// Physically held, with its velocity (the highest over all channels).
    Held(u8),
    /// Released, but the sustain pedal keeps it sounding.
    Sustained,
}

/// Whether a log line is a MIDI event or something about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// A `monitor`-style event line.
    Event,
    /// Disconnected, reconnected and similar notes.
    Stream,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    source: SourceInfo,
    naming: NoteNaming,
    /// The channels as the stream's tracker last showed them.
    channels: NoteTracker,
    home_range: (u8, u8),
    octave_shift: i32,
    last_note: Option<(u8, u8)>,
    control_channel: u4,
    flashes: [Option<Instant>; 3],
    log: VecDeque<(LogKind, String)>,
    status: Status,
    /// Controllers a message has set, per channel: the others show their
    /// General MIDI default or "not yet moved".
    moved: Box<[[bool; 128]; 16]>,
    /// Why the session ended while the view stays up (an unplug).
    ended: Option<String>,
    help: bool,
    monochrome: bool,
    dirty: bool,
}

fn transport_index(transport: Transport) -> usize {
    match transport {
        Transport::Play => 0,
        Transport::Stop => 1,
        Transport::Record => 2,
    }
}

impl App {
    /// State for a source: the shown range starts at the device's default
    /// range (C3–C6 for unknown keyboards).
    pub fn new(source: SourceInfo, naming: NoteNaming) -> App {
        let (lo, hi) = source.device.map_or(UNKNOWN_RANGE, |d| d.default_range);
        App {
            channels: NoteTracker::new(source.device),
            source,
            naming,
            home_range: (lo.min(hi).min(127), hi.max(lo).min(127)),
            octave_shift: 0,
            last_note: None,
            control_channel: u4::new(0),
            flashes: [None; 3],
            log: VecDeque::with_capacity(LOG_LINES),
            status: Status::default(),
            moved: Box::new([[false; 128]; 16]),
            ended: None,
            help: false,
            monochrome: false,
            dirty: true,
        }
    }

    /// Takes one MIDI event in, as the stream's `tracker` applied it (with
    /// the transport button it pressed): mirrors the event's channel, notes
    /// the last note, moves the shown range (it follows octave shifts so
    /// the played note is visible), flashes transport buttons and logs the
    /// event. Timing clock and active sensing are neither logged nor
    /// redrawn for: keyboards send them continuously.
    pub fn apply(
        &mut self,
        event: &MidiEvent,
        transport: Option<Transport>,
        tracker: &NoteTracker,
        now: Instant,
    ) {
        match &event.message {
            EventMessage::Channel { channel, message } => {
                self.channels.mirror(*channel, tracker);
                self.control_channel = *channel;
                if let ChannelMessage::Controller { controller, .. } = *message {
                    self.moved[usize::from(channel.as_int())][usize::from(controller.as_int())] =
                        true;
                }
                if let ChannelMessage::NoteOn { key, vel } = *message {
                    if vel.as_int() > 0 {
                        self.last_note = Some((key.as_int(), vel.as_int()));
                        self.follow(key.as_int());
                    }
                }
                if let Some(pressed) = transport {
                    self.flashes[transport_index(pressed)] = Some(now + FLASH);
                }
            }
            EventMessage::Realtime(SystemRealtime::TimingClock | SystemRealtime::ActiveSensing) => {
                return;
            }
            _ => {}
        }
        let formatter = Formatter {
            device: self.source.device,
            naming: self.naming,
        };
        let line = formatter.line(event, transport);
        self.push_log(LogKind::Event, line);
    }

    /// A transport button pressed on the computer keyboard: lit and
    /// logged, as a keyboard's button is.
    pub fn press(&mut self, pressed: Transport, now: Instant) {
        self.flashes[transport_index(pressed)] = Some(now + FLASH);
        let name = match pressed {
            Transport::Play => "▶ play (Enter)",
            Transport::Stop => "■ stop (Space)",
            Transport::Record => "● record (r)",
        };
        self.push_log(LogKind::Event, format!("{name} pressed"));
    }

    /// The session is over but the view stays up to be read: `why` takes
    /// the key hint's place.
    pub fn end(&mut self, why: &str) {
        self.ended = Some(why.to_owned());
        self.help = false;
        self.dirty = true;
    }

    /// Why the session ended, while the view stays up.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// True when a synth plays (`play`): presets, and the computer
    /// keyboard's ● ■ ▶ keys for takes, mean something. `monitor --tui`
    /// only listens: neither.
    pub fn plays(&self) -> bool {
        self.status.preset.is_some()
    }

    /// True once a message set `controller` on the shown channel.
    pub fn moved(&self, controller: u8) -> bool {
        self.moved[usize::from(self.control_channel.as_int())][usize::from(controller.min(127))]
    }

    /// Logs a note about the stream (disconnected, reconnected...).
    pub fn note_stream_event(&mut self, text: &str) {
        self.push_log(LogKind::Stream, text.to_owned());
    }

    fn push_log(&mut self, kind: LogKind, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back((kind, line));
        self.dirty = true;
    }

    /// Replaces the status line's contents; marks the screen dirty only
    /// when what is shown changes (call it as often as you like).
    pub fn set_status(&mut self, status: Status) {
        if status.visible() != self.status.visible() {
            self.dirty = true;
        }
        // z/x moved the computer keyboard: show where its keys play now.
        if let Some(keys) = status.keys {
            if self.status.keys.map(|k| k.base) != Some(keys.base) {
                let (lo, hi) = keys.range();
                self.follow(hi);
                self.follow(lo);
            }
        }
        self.status = status;
    }

    /// Expires transport flashes; true when something visible changed
    /// since the last [`App::mark_drawn`].
    pub fn tick(&mut self, now: Instant) -> bool {
        for flash in &mut self.flashes {
            if flash.is_some_and(|until| until <= now) {
                *flash = None;
                self.dirty = true;
            }
        }
        self.dirty
    }

    /// When the next flash goes out, so a loop can sleep until then.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.flashes.iter().flatten().min().copied()
    }

    /// True when the screen needs a redraw.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Tells the state that the screen now shows it.
    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// Handles a key of the computer keyboard: `q`, Esc or Ctrl+C quit
    /// (Esc first closes the help), `?` (or F1) toggles the help, `]`/`+`
    /// and `[`/`-` pick the next and previous preset (where a synth plays:
    /// see [`App::plays`]). Key releases are ignored.
    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('c') | KeyCode::Char('C')
                if key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                Action::Quit
            }
            KeyCode::Char('q') | KeyCode::Char('Q') => Action::Quit,
            KeyCode::Esc if self.help => {
                self.help = false;
                self.dirty = true;
                Action::None
            }
            KeyCode::Esc => Action::Quit,
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.help = !self.help;
                self.dirty = true;
                Action::None
            }
            KeyCode::Char(']') | KeyCode::Char('+') if self.plays() => Action::NextPreset,
            KeyCode::Char('[') | KeyCode::Char('-') if self.plays() => Action::PreviousPreset,
            _ => Action::None,
        }
    }

    /// Draws without colour: pressed keys are marked with characters and
    /// lit buttons with reverse video. Use it when `NO_COLOR` is set or
    /// the terminal has no colours (see [`super::wants_monochrome`]).
    pub fn monochrome(&mut self, on: bool) {
        if self.monochrome != on {
            self.monochrome = on;
            self.dirty = true;
        }
    }

    /// True in monochrome mode.
    pub fn is_monochrome(&self) -> bool {
        self.monochrome
    }

    /// True while the help overlay is shown.
    pub fn help_shown(&self) -> bool {
        self.help
    }

    /// What is being listened to.
    pub fn source(&self) -> &SourceInfo {
        &self.source
    }

    /// How notes are named.
    pub fn naming(&self) -> NoteNaming {
        self.naming
    }

    /// The channels as [`App::apply`] last mirrored them.
    pub fn tracker(&self) -> &NoteTracker {
        &self.channels
    }

    /// The status last set.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The last note struck: (note, velocity).
    pub fn last_note(&self) -> Option<(u8, u8)> {
        self.last_note
    }

    /// The channel the control panel shows: that of the last channel
    /// message.
    pub fn control_channel(&self) -> u4 {
        self.control_channel
    }

    /// The state of [`App::control_channel`].
    pub fn control_state(&self) -> &ChannelState {
        self.channels.channel(self.control_channel)
    }

    /// True while a sustain pedal is down on any channel.
    pub fn pedal_down(&self) -> bool {
        !self.channels.pedals_down().is_empty()
    }

    /// Transport buttons lit right now: ▶, ■, ●.
    pub fn lit(&self) -> [bool; 3] {
        self.flashes.map(|f| f.is_some())
    }

    /// Log lines, oldest first.
    pub fn log(&self) -> impl DoubleEndedIterator<Item = (LogKind, &str)> + ExactSizeIterator {
        self.log.iter().map(|(kind, line)| (*kind, line.as_str()))
    }

    /// Octaves the shown range is shifted from the device's default.
    pub fn octave_shift(&self) -> i32 {
        self.octave_shift
    }

    fn shifted(&self, shift: i32) -> (i32, i32) {
        let (lo, hi) = self.home_range;
        (i32::from(lo) + 12 * shift, i32::from(hi) + 12 * shift)
    }

    /// The range the keyboard shows, lowest and highest note: the
    /// device's default range moved by whole octaves to where the player
    /// is (clipped to 0–127).
    pub fn shown_range(&self) -> (u8, u8) {
        let (lo, hi) = self.shifted(self.octave_shift);
        (lo.clamp(0, 127) as u8, hi.clamp(0, 127) as u8)
    }

    fn follow(&mut self, key: u8) {
        let key = i32::from(key);
        let (lo, hi) = self.shifted(self.octave_shift);
        let before = self.octave_shift;
        if key < lo {
            while key < self.shifted(self.octave_shift).0 && self.shifted(self.octave_shift).0 > 0 {
                self.octave_shift -= 1;
            }
        } else if key > hi {
            while key > self.shifted(self.octave_shift).1 && self.shifted(self.octave_shift).1 < 127
            {
                self.octave_shift += 1;
            }
        }
        if before != self.octave_shift {
            self.dirty = true;
        }
    }

    /// How every key looks, merged over all channels: held beats sustained.
    pub fn key_states(&self) -> [KeyState; 128] {
        let mut keys = [KeyState::Up; 128];
        for channel in 0u8..16 {
            let state = self.channels.channel(u4::new(channel));
            for key in state.held_keys() {
                let velocity = state.held_velocity(key).unwrap_or(1);
                let slot = &mut keys[usize::from(key)];
                *slot = match *slot {
                    KeyState::Held(v) => KeyState::Held(v.max(velocity)),
                    _ => KeyState::Held(velocity),
                };
            }
            for key in state.sustained_keys() {
                let slot = &mut keys[usize::from(key)];
                if *slot == KeyState::Up {
                    *slot = KeyState::Sustained;
                }
            }
        }
        keys
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Shows an event as a session does: tracked first (by a tracker that
    /// starts where the app's mirror is), then applied. Returns the
    /// transport press.
    pub(crate) fn show(app: &mut App, event: &MidiEvent, now: Instant) -> Option<Transport> {
        let mut tracker = app.tracker().clone();
        let transport = tracker.track(&event.message);
        app.apply(event, transport, &tracker, now);
        transport
    }
    use crate::decode::message::{u14, u7, PitchBend};
    use crate::devices::DEEPCOMPOSER;
    use crate::input::Via;

    pub(crate) fn deepcomposer() -> SourceInfo {
        SourceInfo {
            name: "AKM322".into(),
            via: Via::SystemPort,
            device: Some(&DEEPCOMPOSER),
        }
    }

    pub(crate) fn other_keyboard() -> SourceInfo {
        SourceInfo {
            name: "Other keyboard".into(),
            via: Via::SystemPort,
            device: None,
        }
    }

    pub(crate) fn event(message: ChannelMessage) -> MidiEvent {
        MidiEvent {
            t_us: 1_000,
            cable: u4::new(0),
            message: EventMessage::Channel {
                channel: u4::new(0),
                message,
            },
        }
    }

    pub(crate) fn on(key: u8, vel: u8) -> MidiEvent {
        event(ChannelMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(vel),
        })
    }

    pub(crate) fn off(key: u8) -> MidiEvent {
        event(ChannelMessage::NoteOff {
            key: u7::new(key),
            vel: u7::new(0),
        })
    }

    pub(crate) fn cc(controller: u8, value: u8) -> MidiEvent {
        event(ChannelMessage::Controller {
            controller: u7::new(controller),
            value: u7::new(value),
        })
    }

    pub(crate) fn bend(raw: u16) -> MidiEvent {
        event(ChannelMessage::PitchBend {
            bend: PitchBend(u14::new(raw)),
        })
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn tick_reports_changes_only() {
        let start = Instant::now();
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        assert!(app.tick(start), "the first frame is due");
        app.mark_drawn();
        assert!(!app.tick(start));
        show(&mut app, &on(60, 100), start);
        assert!(app.tick(start), "a note changes the screen");
        app.mark_drawn();
        assert_eq!(
            show(&mut app, &cc(105, 127), start),
            Some(Transport::Play),
            "▶ press"
        );
        assert_eq!(app.lit(), [true, false, false]);
        app.mark_drawn();
        assert!(!app.tick(start + Duration::from_millis(100)));
        assert_eq!(app.next_deadline(), Some(start + FLASH));
        assert!(
            app.tick(start + Duration::from_millis(301)),
            "the flash went out"
        );
        assert_eq!(app.lit(), [false; 3]);
        app.mark_drawn();
        assert!(!app.tick(start + Duration::from_secs(1)));
    }

    #[test]
    fn status_redraws_only_when_it_looks_different() {
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        app.mark_drawn();
        let status = Status {
            voices: 2,
            recording: Some(Duration::from_millis(1_100)),
            ..Status::default()
        };
        app.set_status(status.clone());
        assert!(app.tick(Instant::now()));
        app.mark_drawn();
        app.set_status(Status {
            recording: Some(Duration::from_millis(1_900)),
            ..status
        });
        assert!(!app.tick(Instant::now()), "same second: same screen");
    }

    #[test]
    fn clock_and_active_sensing_are_not_logged() {
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        app.mark_drawn();
        let clock = MidiEvent {
            t_us: 0,
            cable: u4::new(0),
            message: EventMessage::Realtime(SystemRealtime::ActiveSensing),
        };
        show(&mut app, &clock, Instant::now());
        assert_eq!(app.log().len(), 0);
        assert!(!app.is_dirty());
    }

    #[test]
    fn the_log_keeps_the_last_lines() {
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        for i in 0..250u16 {
            show(&mut app, &on((i % 100) as u8 + 1, 64), Instant::now());
        }
        app.note_stream_event("keyboard disconnected");
        assert_eq!(app.log().len(), LOG_LINES);
        let (kind, last) = app.log().next_back().expect("a line");
        assert_eq!((kind, last), (LogKind::Stream, "keyboard disconnected"));
        let (_, before) = app.log().rev().nth(1).expect("a line");
        assert!(before.contains("Note on"), "{before}");
    }

    #[test]
    fn the_range_follows_the_computer_keyboards_octave() {
        let mut app = App::new(other_keyboard(), NoteNaming::default());
        let at = |base| Status {
            keys: Some(KeysState {
                base,
                velocity: 100,
            }),
            ..Status::default()
        };
        app.set_status(at(60));
        assert_eq!(app.shown_range(), (48, 84));
        // Two octaves down: a (C2) to ' (F3) are shown before a key is played.
        app.set_status(at(36));
        let (lo, hi) = app.shown_range();
        assert!(lo <= 36 && 53 <= hi, "{lo}–{hi}");
        assert_eq!(app.octave_shift(), -1);
        app.set_status(at(84));
        let (lo, hi) = app.shown_range();
        assert!(lo <= 84 && 101 <= hi, "{lo}–{hi}");
    }

    #[test]
    fn the_range_follows_the_octave_buttons() {
        let now = Instant::now();
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        assert_eq!(app.shown_range(), (41, 72));
        show(&mut app, &on(84, 90), now);
        let (lo, hi) = app.shown_range();
        assert!((lo..=hi).contains(&84), "{lo}–{hi}");
        assert_eq!((lo, hi), (53, 84), "one octave up");
        assert_eq!(app.octave_shift(), 1);
        show(&mut app, &on(60, 90), now);
        assert_eq!(app.shown_range(), (53, 84), "still visible: no move");
        show(&mut app, &on(0, 90), now);
        assert_eq!(app.shown_range(), (0, 24));
        show(&mut app, &on(127, 90), now);
        assert_eq!(app.shown_range(), (101, 127));
        let mut other = App::new(other_keyboard(), NoteNaming::default());
        assert_eq!(other.shown_range(), (48, 84));
        show(&mut other, &on(30, 90), now);
        assert_eq!(other.shown_range(), (24, 60));
    }

    #[test]
    fn keys_merge_held_and_sustained() {
        let now = Instant::now();
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        show(&mut app, &on(60, 100), now);
        show(&mut app, &cc(64, 127), now);
        show(&mut app, &on(62, 30), now);
        show(&mut app, &off(62), now);
        let keys = app.key_states();
        assert_eq!(keys[60], KeyState::Held(100));
        assert_eq!(keys[62], KeyState::Sustained);
        assert_eq!(keys[61], KeyState::Up);
        assert!(app.pedal_down());
        assert_eq!(app.last_note(), Some((62, 30)));
    }

    #[test]
    fn keys_map_to_actions() {
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        assert_eq!(
            app.handle_key(key(KeyCode::Char(']'))),
            Action::None,
            "no synth (monitor): no presets"
        );
        app.set_status(Status {
            preset: Some("piano".into()),
            ..Status::default()
        });
        assert_eq!(app.handle_key(key(KeyCode::Char('q'))), Action::Quit);
        assert_eq!(
            app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
        assert_eq!(app.handle_key(key(KeyCode::Char(']'))), Action::NextPreset);
        assert_eq!(app.handle_key(key(KeyCode::Char('+'))), Action::NextPreset);
        assert_eq!(
            app.handle_key(key(KeyCode::Char('['))),
            Action::PreviousPreset
        );
        assert_eq!(
            app.handle_key(key(KeyCode::Char('-'))),
            Action::PreviousPreset
        );
        app.mark_drawn();
        assert_eq!(app.handle_key(key(KeyCode::Char('?'))), Action::None);
        assert!(app.help_shown() && app.is_dirty());
        assert_eq!(
            app.handle_key(key(KeyCode::Esc)),
            Action::None,
            "Esc closes the help first"
        );
        assert!(!app.help_shown());
        assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::Quit);
        assert_eq!(app.handle_key(key(KeyCode::Char('x'))), Action::None);
    }
}
