//! The computer keyboard as a piano (`--keys`), laid out like VMPK and
//! trackers: the bottom letter row plays one octave, the top row the next.
//! Up/Down shift octaves, Left/Right change velocity, Esc or Ctrl+C quits.
//! The terminal leaves raw mode on every exit path (drop, panic).

use super::worker::Worker;
use super::{Feed, InputError, InputEvent, InputStream, SourceInfo, Via};
use crate::decode::message::u4;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use std::io::{self, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
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

/// Puts the terminal in raw mode and takes it out again when dropped.
struct RawMode {
    enhanced: bool,
}

impl RawMode {
    fn enter() -> std::io::Result<Self> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = terminal::disable_raw_mode();
                previous(info);
            }));
        });
        terminal::enable_raw_mode()?;
        let enhanced = terminal::supports_keyboard_enhancement().unwrap_or(false)
            && crossterm::execute!(
                std::io::stdout(),
                event::PushKeyboardEnhancementFlags(
                    event::KeyboardEnhancementFlags::REPORT_EVENT_TYPES
                )
            )
            .is_ok();
        Ok(RawMode { enhanced })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.enhanced {
            let _ = crossterm::execute!(std::io::stdout(), event::PopKeyboardEnhancementFlags);
        }
        let _ = terminal::disable_raw_mode();
    }
}

/// Opens the computer keyboard as a source.
pub fn open() -> Result<InputStream, InputError> {
    if !std::io::stdin().is_terminal() {
        return Err(InputError::Terminal(std::io::Error::other(
            "standard input is not a terminal",
        )));
    }
    let raw = RawMode::enter().map_err(InputError::Terminal)?;
    let info = SourceInfo {
        name: "computer keyboard".into(),
        via: Via::Keys,
        device: None,
    };
    let _ = write!(
        io::stderr(),
        "keys: z s x d c ... and q 2 w 3 e ... play, Up/Down octave, Left/Right velocity, Esc quits\r\n"
    );
    InputStream::start(info, move |feed| Ok(spawn_keys(raw, feed)))
}

/// Whether the terminal is still there, seen without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalInput {
    /// Open: input may or may not be waiting; ask crossterm.
    Open,
    /// The terminal hung up (its window was closed).
    Closed,
}

/// Waits up to `timeout` for terminal input and notices a hang-up.
///
/// crossterm 0.28 re-reads a hung-up terminal forever (every read returns
/// 0 bytes) inside its own poll, so ask here first: after `Closed`, do not
/// poll crossterm again.
pub fn wait_for_input(timeout: Duration) -> TerminalInput {
    #[cfg(unix)]
    {
        // Asked once: a terminal that hung up no longer says it is one.
        static STDIN_IS_TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *STDIN_IS_TERMINAL.get_or_init(|| io::stdin().is_terminal()) {
            let mut stdin = libc::pollfd {
                fd: libc::STDIN_FILENO,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd that outlives the call.
            unsafe { libc::poll(&mut stdin, 1, ms) };
            let hung_up = stdin.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
            return if hung_up {
                TerminalInput::Closed
            } else {
                TerminalInput::Open
            };
        }
    }
    match event::poll(timeout) {
        Ok(_) => TerminalInput::Open,
        Err(_) => TerminalInput::Closed,
    }
}

fn spawn_keys(raw: RawMode, feed: Feed) -> Worker {
    Worker::spawn(move |stopped: &AtomicBool| {
        let raw = raw;
        let mut state = KeysState::default();
        // Sounding notes and, without release reports, when they end.
        let mut sounding: Vec<(u8, Instant)> = Vec::new();
        let channel = u4::new(0);
        let note_off = |note: u8| feed.bytes(channel, &[0x80, note, 0]);
        while !stopped.load(Ordering::Relaxed) {
            let now = Instant::now();
            if !raw.enhanced {
                sounding.retain(|(note, until)| {
                    let keep = *until > now;
                    if !keep {
                        note_off(*note);
                    }
                    keep
                });
            }
            // Wake often only while a note waits for its timed release.
            let wait = if sounding.is_empty() || raw.enhanced {
                100
            } else {
                20
            };
            if wait_for_input(Duration::from_millis(wait)) == TerminalInput::Closed {
                // The window closed: end the stream as Esc would.
                feed.event(InputEvent::Interrupted {
                    t_us: feed.now_us(),
                });
                break;
            }
            // Even after a quiet wait: crossterm may hold events parsed earlier.
            if !event::poll(Duration::ZERO).unwrap_or(false) {
                continue;
            }
            let Ok(Event::Key(key)) = event::read() else {
                continue;
            };
            if key.kind == KeyEventKind::Release {
                if let KeyCode::Char(c) = key.code {
                    if let Some(note) = key_offset(c).and_then(|o| state.base.checked_add(o)) {
                        sounding.retain(|(n, _)| *n != note);
                        note_off(note);
                    }
                }
                continue;
            }
            match state.press(key) {
                KeyAction::Quit => {
                    feed.event(InputEvent::Interrupted {
                        t_us: feed.now_us(),
                    });
                    break;
                }
                KeyAction::Note(note) => {
                    let until = Instant::now() + HOLD_WITHOUT_RELEASE;
                    if let Some(entry) = sounding.iter_mut().find(|(n, _)| *n == note) {
                        entry.1 = until; // auto-repeat of a held key
                    } else {
                        sounding.push((note, until));
                        feed.bytes(channel, &[0x90, note, state.velocity]);
                    }
                }
                KeyAction::Changed | KeyAction::None => {}
            }
        }
        for (note, _) in sounding {
            note_off(note);
        }
        drop(raw);
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
