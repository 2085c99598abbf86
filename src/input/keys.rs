//! The computer keyboard as a piano (`--keys`), laid out like VMPK and
//! trackers: the bottom letter row plays one octave, the top row the next.
//! Up/Down shift octaves, Left/Right change velocity, Esc or Ctrl+C quits.
//! Only translation lives here; the terminal and its reader belong to
//! [`crate::terminal`].

use super::{InputError, InputStream, SourceInfo, Via};
use crate::terminal::{read_keys, KeyRoute, RawMode};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::io::{self, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Bottom row: semitones above the base C.
const LOWER_ROW: &str = "zsxdcvgbhnjm,l.;/";
/// Top row: semitones above the C one octave up.
const UPPER_ROW: &str = "q2w3er5t6y7ui9o0p[=]";
/// Without key-release reports a note lasts this long after its last
/// (auto-repeated) press.
const HOLD_WITHOUT_RELEASE: Duration = Duration::from_millis(600);

/// Semitone offset of a key from the lower row's C, if it plays a note.
pub fn key_offset(key: char) -> Option<u8> {
    let key = key.to_ascii_lowercase();
    LOWER_ROW
        .find(key)
        .map(|i| i as u8)
        .or_else(|| UPPER_ROW.find(key).map(|i| 12 + i as u8))
}

/// Pitch and velocity chosen with the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysState {
    /// Note of the lower row's C (48 = C3 by default).
    pub base: u8,
    /// Velocity of new notes.
    pub velocity: u8,
}

impl Default for KeysState {
    fn default() -> Self {
        KeysState {
            base: 48,
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
    /// Nothing.
    None,
}

impl KeysState {
    /// Applies one key press.
    pub fn press(&mut self, key: KeyEvent) -> KeyAction {
        match key.code {
            KeyCode::Esc => KeyAction::Quit,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => KeyAction::Quit,
            KeyCode::Up if self.base <= 96 => {
                self.base += 12;
                KeyAction::Changed
            }
            KeyCode::Down if self.base >= 12 => {
                self.base -= 12;
                KeyAction::Changed
            }
            KeyCode::Right => {
                self.velocity = self.velocity.saturating_add(16).min(127);
                KeyAction::Changed
            }
            KeyCode::Left => {
                self.velocity = self.velocity.saturating_sub(16).max(1);
                KeyAction::Changed
            }
            KeyCode::Char(c) => key_offset(c)
                .and_then(|offset| self.base.checked_add(offset))
                .filter(|note| *note < 128)
                .map_or(KeyAction::None, KeyAction::Note),
            _ => KeyAction::None,
        }
    }
}

/// What a key means to the music.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyed {
    /// These MIDI bytes (a Note On or a Note Off on channel 1).
    Midi([u8; 3]),
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
    /// Sounding notes and, without release reports, when they end.
    sounding: Vec<(u8, Instant)>,
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
            return match key_offset(c).and_then(|o| self.state.base.checked_add(o)) {
                Some(note) => {
                    self.sounding.retain(|(n, _)| *n != note);
                    Keyed::Midi(note_off(note))
                }
                None => Keyed::Nothing,
            };
        }
        match self.state.press(key) {
            KeyAction::Quit => Keyed::Quit,
            KeyAction::Note(note) => {
                let until = now + HOLD_WITHOUT_RELEASE;
                if let Some(entry) = self.sounding.iter_mut().find(|(n, _)| *n == note) {
                    entry.1 = until; // auto-repeat of a held key
                    return Keyed::Nothing;
                }
                self.sounding.push((note, until));
                Keyed::Midi([0x90, note, self.state.velocity])
            }
            KeyAction::Changed | KeyAction::None => Keyed::Nothing,
        }
    }

    /// Ends the notes whose hold time ran out by `now` (only where the
    /// terminal reports no releases), handing each Note Off to `off`.
    pub fn expire(&mut self, now: Instant, mut off: impl FnMut([u8; 3])) {
        if self.releases {
            return;
        }
        self.sounding.retain(|(note, until)| {
            let keep = *until > now;
            if !keep {
                off(note_off(*note));
            }
            keep
        });
    }

    /// How long the reader may wait: not long while a note waits for its
    /// timed release.
    pub fn wait(&self) -> Duration {
        if self.sounding.is_empty() || self.releases {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(20)
        }
    }

    /// Ends every sounding note (the source is stopping).
    pub fn release_all(self, mut off: impl FnMut([u8; 3])) {
        for (note, _) in self.sounding {
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
        "keys: z s x d c ... and q 2 w 3 e ... play, Up/Down octave, Left/Right velocity, Esc quits\r\n"
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
    fn rows_play_two_octaves_like_vmpk() {
        let mut state = KeysState::default();
        assert_eq!(state.press(key(KeyCode::Char('z'))), KeyAction::Note(48));
        assert_eq!(state.press(key(KeyCode::Char('s'))), KeyAction::Note(49));
        assert_eq!(state.press(key(KeyCode::Char('q'))), KeyAction::Note(60));
        assert_eq!(state.press(key(KeyCode::Char('Q'))), KeyAction::Note(60));
        assert_eq!(state.press(key(KeyCode::Up)), KeyAction::Changed);
        assert_eq!(state.press(key(KeyCode::Char('z'))), KeyAction::Note(60));
        assert_eq!(state.press(key(KeyCode::Char('a'))), KeyAction::None);
        assert_eq!(state.press(key(KeyCode::Esc)), KeyAction::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(state.press(ctrl_c), KeyAction::Quit);
    }

    #[test]
    fn octave_and_velocity_stay_in_range() {
        let mut state = KeysState::default();
        for _ in 0..20 {
            state.press(key(KeyCode::Up));
            state.press(key(KeyCode::Right));
        }
        assert_eq!(state.velocity, 127);
        assert_eq!(
            state.press(key(KeyCode::Char(']'))),
            KeyAction::None,
            "note 127+ is not played"
        );
        for _ in 0..20 {
            state.press(key(KeyCode::Down));
            state.press(key(KeyCode::Left));
        }
        assert_eq!((state.base, state.velocity), (0, 1));
    }
}
