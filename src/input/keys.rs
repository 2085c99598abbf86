//! The computer keyboard as a piano (`--keys`), laid out as in Logic's
//! Musical Typing and Ableton Live's computer MIDI keyboard: the home row
//! `a s d f g h j k l ; '` plays the white keys from C, the row above
//! (`w e  t y u  o p`) the black keys; `z`/`x` shift an octave down/up and
//! `c`/`v` velocity down/up (the arrow keys do the same). `r`, Space and
//! Enter are the ● ■ ▶ buttons; `q`, `?`, `[ ]`, `- +` are left to the
//! view. Esc or Ctrl+C quits. Only translation lives here; the terminal
//! and its reader belong to [`crate::terminal`].

use super::{InputError, InputStream, SourceInfo, Via};
use crate::decode::names::NoteNaming;
use crate::decode::tracker::Transport;
use crate::terminal::{read_keys, KeyRoute, RawMode};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::io::{self, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Keys that play, by semitone above the base C: `a` is C, `w` C♯, `s` D…
/// up to `'`, the F an octave and a fourth above.
const NOTE_KEYS: &str = "awsedftgyhujkolp;'";
/// Without key-release reports a note lasts this long after its last
/// (auto-repeated) press.
const HOLD_WITHOUT_RELEASE: Duration = Duration::from_millis(600);
/// How much `c`/`v` (Left/Right) change the velocity.
const VELOCITY_STEP: u8 = 16;

/// The line that tells a user of the computer keyboard what its keys do.
pub const HELP_LINE: &str =
    "keys: a w s e d f t g y h u j k o l p ; ' play, z x octave, c v velocity, Esc quits";
/// What a session that records adds to [`HELP_LINE`]: the buttons.
pub const BUTTONS_LINE: &str = "keys: r ● Space ■ Enter ▶ (the keyboard's buttons)";

/// Semitone offset of a key from the base C, if it plays a note.
pub fn key_offset(key: char) -> Option<u8> {
    NOTE_KEYS.find(key.to_ascii_lowercase()).map(|i| i as u8)
}

/// The transport button a key stands for: `r` ●, Space ■, Enter ▶.
pub fn transport_key(key: KeyEvent) -> Option<Transport> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    match key.code {
        KeyCode::Char('r') | KeyCode::Char('R') => Some(Transport::Record),
        KeyCode::Char(' ') => Some(Transport::Stop),
        KeyCode::Enter => Some(Transport::Play),
        _ => None,
    }
}

/// Pitch and velocity chosen with `z x c v` or the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysState {
    /// Note `a` plays (60 = middle C by default).
    pub base: u8,
    /// Velocity of new notes.
    pub velocity: u8,
}

impl KeysState {
    /// The lowest and highest note the note keys play now.
    pub fn range(&self) -> (u8, u8) {
        let top = NOTE_KEYS.len() as u8 - 1;
        (self.base, self.base.saturating_add(top).min(127))
    }
}

impl Default for KeysState {
    fn default() -> Self {
        KeysState {
            base: 60,
            velocity: 100,
        }
    }
}

/// What a key press means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Play this note.
    Note(u8),
    /// The state changed (octave or velocity).
    Changed,
    /// Leave.
    Quit,
    /// An instrument key with nothing to do (a note above 127).
    Ignored,
    /// Not an instrument key: the view's (help, presets, ● ■ ▶…).
    None,
}

impl KeysState {
    /// Applies one key press.
    pub fn press(&mut self, key: KeyEvent) -> KeyAction {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return match key.code {
                KeyCode::Char('c') | KeyCode::Char('C') => KeyAction::Quit,
                _ => KeyAction::None,
            };
        }
        match key.code {
            KeyCode::Esc => KeyAction::Quit,
            KeyCode::Up | KeyCode::Char('x') | KeyCode::Char('X') if self.base <= 96 => {
                self.base += 12;
                KeyAction::Changed
            }
            KeyCode::Down | KeyCode::Char('z') | KeyCode::Char('Z') if self.base >= 12 => {
                self.base -= 12;
                KeyAction::Changed
            }
            KeyCode::Right | KeyCode::Char('v') | KeyCode::Char('V') => {
                self.velocity = self.velocity.saturating_add(VELOCITY_STEP).min(127);
                KeyAction::Changed
            }
            KeyCode::Left | KeyCode::Char('c') | KeyCode::Char('C') => {
                self.velocity = self.velocity.saturating_sub(VELOCITY_STEP).max(1);
                KeyAction::Changed
            }
            // At the top or bottom octave already: still an instrument key.
            KeyCode::Up | KeyCode::Down | KeyCode::Char('x' | 'X' | 'z' | 'Z') => {
                KeyAction::Ignored
            }
            KeyCode::Char(c) => match key_offset(c) {
                Some(offset) => self
                    .base
                    .checked_add(offset)
                    .filter(|note| *note < 128)
                    .map_or(KeyAction::Ignored, KeyAction::Note),
                None => KeyAction::None,
            },
            _ => KeyAction::None,
        }
    }

    /// `a = C4, velocity 100`, with notes named by `naming`.
    pub fn describe(&self, naming: NoteNaming) -> String {
        format!("a = {}, velocity {}", naming.name(self.base), self.velocity)
    }
}

/// What a key means to the music.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyed {
    /// These MIDI bytes (a Note On or a Note Off on channel 1).
    Midi([u8; 3]),
    /// The octave or velocity changed (or was asked to go past its end):
    /// the state now, to be shown.
    Changed(KeysState),
    /// Not an instrument key: one for the view (help, presets, ● ■ ▶).
    View,
    /// Leave (Esc, Ctrl+C).
    Quit,
    /// Nothing to play.
    Nothing,
}

/// The computer keyboard as MIDI: presses become Note Ons, releases Note
/// Offs; where the terminal reports no releases, a note ends a hold time
/// after its last (auto-repeated) press. Pure: the terminal's reader feeds
/// it keys and the time.
#[derive(Debug, Clone)]
pub struct Translator {
    state: KeysState,
    /// The terminal reports releases.
    releases: bool,
    /// Sounding notes, the key that plays each (its release ends it even
    /// after an octave change) and, without release reports, when they end.
    sounding: Vec<(u8, char, Instant)>,
}

fn note_off(note: u8) -> [u8; 3] {
    [0x80, note, 0]
}

impl Translator {
    /// A translator for a terminal that does (or does not) report releases.
    pub fn new(releases: bool) -> Self {
        Translator {
            state: KeysState::default(),
            releases,
            sounding: Vec::new(),
        }
    }

    /// One key event at `now`.
    pub fn key(&mut self, key: KeyEvent, now: Instant) -> Keyed {
        if key.kind == KeyEventKind::Release {
            let KeyCode::Char(c) = key.code else {
                return Keyed::Nothing;
            };
            let c = c.to_ascii_lowercase();
            return match self.sounding.iter().position(|(_, k, _)| *k == c) {
                Some(index) => Keyed::Midi(note_off(self.sounding.remove(index).0)),
                None => Keyed::Nothing,
            };
        }
        match self.state.press(key) {
            KeyAction::Quit => Keyed::Quit,
            KeyAction::Note(note) => {
                let until = now + HOLD_WITHOUT_RELEASE;
                if let Some(entry) = self.sounding.iter_mut().find(|(n, ..)| *n == note) {
                    entry.2 = until; // auto-repeat of a held key
                    return Keyed::Nothing;
                }
                let KeyCode::Char(c) = key.code else {
                    return Keyed::Nothing;
                };
                self.sounding.push((note, c.to_ascii_lowercase(), until));
                Keyed::Midi([0x90, note, self.state.velocity])
            }
            KeyAction::Changed => Keyed::Changed(self.state),
            KeyAction::None => Keyed::View,
            KeyAction::Ignored => Keyed::Nothing,
        }
    }

    /// Ends the notes whose hold time ran out by `now` (only where the
    /// terminal reports no releases), handing each Note Off to `off`.
    pub fn expire(&mut self, now: Instant, mut off: impl FnMut([u8; 3])) {
        if self.releases {
            return;
        }
        self.sounding.retain(|(note, _, until)| {
            let keep = *until > now;
            if !keep {
                off(note_off(*note));
            }
            keep
        });
    }

    /// How long the reader may wait for the next key: until the first
    /// timed release is due; `None` (no limit) when no note waits for one.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        if self.releases {
            return None;
        }
        let first = self.sounding.iter().map(|(_, _, until)| *until).min()?;
        Some(first.saturating_duration_since(now))
    }

    /// Ends every sounding note (the source is stopping).
    pub fn release_all(self, mut off: impl FnMut([u8; 3])) {
        for (note, ..) in self.sounding {
            off(note_off(note));
        }
    }
}

/// Opens the computer keyboard as a source: raw mode with release reports,
/// and the terminal's reader playing through a [`Translator`].
pub fn open() -> Result<InputStream, InputError> {
    if !io::stdin().is_terminal() {
        return Err(InputError::Terminal(io::Error::other(
            "standard input is not a terminal",
        )));
    }
    let raw = RawMode::enter(true).map_err(InputError::Terminal)?;
    let info = SourceInfo {
        name: "computer keyboard".into(),
        via: Via::Keys,
        device: None,
    };
    let _ = write!(
        io::stderr(),
        "composer-probe: {HELP_LINE}\r\ncomposer-probe: keys: {}\r\n",
        KeysState::default().describe(NoteNaming::default())
    );
    let keys = Translator::new(raw.reports_releases());
    InputStream::start(info, move |feed| {
        Ok(read_keys(feed, raw, KeyRoute::Instrument(keys)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_home_row_plays_from_middle_c_like_musical_typing() {
        let mut state = KeysState::default();
        assert_eq!(state.press(key(KeyCode::Char('a'))), KeyAction::Note(60));
        assert_eq!(state.press(key(KeyCode::Char('w'))), KeyAction::Note(61));
        assert_eq!(state.press(key(KeyCode::Char('k'))), KeyAction::Note(72));
        assert_eq!(state.press(key(KeyCode::Char('\''))), KeyAction::Note(77));
        assert_eq!(state.press(key(KeyCode::Char('A'))), KeyAction::Note(60));
        assert_eq!(state.press(key(KeyCode::Char('x'))), KeyAction::Changed);
        assert_eq!(state.press(key(KeyCode::Char('a'))), KeyAction::Note(72));
        assert_eq!(state.press(key(KeyCode::Char('z'))), KeyAction::Changed);
        assert_eq!(state.press(key(KeyCode::Down)), KeyAction::Changed);
        assert_eq!(state.press(key(KeyCode::Char('a'))), KeyAction::Note(48));
        assert_eq!(state.press(key(KeyCode::Esc)), KeyAction::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(state.press(ctrl_c), KeyAction::Quit);
    }

    #[test]
    fn help_presets_quit_and_the_buttons_are_left_to_the_view() {
        let mut state = KeysState::default();
        for c in ['?', '[', ']', '-', '+', 'q', 'r', ' '] {
            assert_eq!(state.press(key(KeyCode::Char(c))), KeyAction::None, "{c:?}");
        }
        assert_eq!(state.press(key(KeyCode::Enter)), KeyAction::None);
        assert_eq!(
            transport_key(key(KeyCode::Char('r'))),
            Some(Transport::Record)
        );
        assert_eq!(
            transport_key(key(KeyCode::Char(' '))),
            Some(Transport::Stop)
        );
        assert_eq!(transport_key(key(KeyCode::Enter)), Some(Transport::Play));
        assert_eq!(transport_key(key(KeyCode::Char('a'))), None);
        assert_eq!(
            state,
            KeysState::default(),
            "none of them changed the state"
        );
    }

    #[test]
    fn octave_and_velocity_stay_in_range() {
        let mut state = KeysState::default();
        for _ in 0..20 {
            state.press(key(KeyCode::Char('x')));
            state.press(key(KeyCode::Char('v')));
        }
        assert_eq!((state.base, state.velocity), (108, 127));
        assert_eq!(
            state.press(key(KeyCode::Char('\''))),
            KeyAction::Note(125),
            "the top octave still fits in MIDI's 0–127"
        );
        assert_eq!(state.press(key(KeyCode::Char('x'))), KeyAction::Ignored);
        for _ in 0..20 {
            state.press(key(KeyCode::Char('z')));
            state.press(key(KeyCode::Char('c')));
        }
        assert_eq!((state.base, state.velocity), (0, 1));
        assert_eq!(state.describe(NoteNaming::default()), "a = C-1, velocity 1");
    }

    #[test]
    fn the_translator_reports_changes_and_hands_other_keys_on() {
        let now = Instant::now();
        let mut keys = Translator::new(true);
        assert_eq!(
            keys.key(key(KeyCode::Char('a')), now),
            Keyed::Midi([0x90, 60, 100])
        );
        assert_eq!(
            keys.key(key(KeyCode::Char('v')), now),
            Keyed::Changed(KeysState {
                base: 60,
                velocity: 116
            })
        );
        assert_eq!(keys.key(key(KeyCode::Char(']')), now), Keyed::View);
        let release = KeyEvent::new_with_kind(
            KeyCode::Char('a'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        keys.key(key(KeyCode::Char('x')), now);
        assert_eq!(
            keys.key(release, now),
            Keyed::Midi([0x80, 60, 0]),
            "the note a plays ends, though a is C5 now"
        );
    }
}
