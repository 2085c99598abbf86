//! The one owner of the terminal. Raw mode (with key-release reports where
//! the terminal offers them) and the keyboard view's alternate screen are
//! held through guards and restored when the last guard goes, or on a
//! panic by the one hook installed here. One thread reads terminal input,
//! notices a hang-up (a closed window), and hands every key into the input
//! stream's channel: as MIDI when the computer keyboard is the instrument
//! (`--keys`, translated by [`Translator`]; its other keys — help, presets,
//! ● ■ ▶, and octave and velocity changes, which it also prints when no
//! view is up — still go to the view), as keys for the view otherwise.

use crate::decode::message::u4;
use crate::decode::names::NoteNaming;
use crate::input::keys::{Keyed, Translator};
use crate::input::worker::Worker;
use crate::input::{Feed, InputEvent};
use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    self, Event, KeyEventKind, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, supports_keyboard_enhancement, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use std::io::{self, IsTerminal as _, Write as _};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

/// What this process has done to the terminal.
#[derive(Debug, Default)]
struct Held {
    /// Live [`RawMode`] guards.
    raw: u32,
    /// Key-release reports were switched on.
    releases: bool,
    /// The alternate screen is up.
    screen: bool,
}

static HELD: Mutex<Held> = Mutex::new(Held {
    raw: 0,
    releases: false,
    screen: false,
});

fn held() -> MutexGuard<'static, Held> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Undoes everything, in reverse order: screen, release reports, raw mode.
fn restore(held: &mut Held) {
    if held.screen {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    }
    if held.releases {
        let _ = execute!(io::stdout(), PopKeyboardEnhancementFlags);
    }
    if held.raw > 0 {
        let _ = disable_raw_mode();
    }
    *held = Held::default();
}

/// Makes a panic restore the terminal before its message is printed, so the
/// message lands on the normal screen.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Never wait in a panic: a lock held by the panicking thread
            // would never be released.
            if let Ok(mut held) = HELD.try_lock() {
                restore(&mut held);
            }
            previous(info);
        }));
    });
}

/// Raw mode is for reading keys one at a time; output keeps the terminal
/// turning "\n" into a new line (OPOST, ONLCR), so that event lines printed
/// while `--keys` reads the keyboard stay lines, not a staircase. The
/// full-screen view positions its cursor itself and is unaffected.
fn keep_newlines() {
    #[cfg(unix)]
    // SAFETY: tcgetattr/tcsetattr on standard input with a zeroed termios
    // that tcgetattr fills; nothing is changed when stdin is no terminal.
    unsafe {
        let mut termios: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) == 0 {
            termios.c_oflag |= libc::OPOST | libc::ONLCR;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &termios);
        }
    }
}

/// The terminal in raw mode for as long as this lives; the last guard out
/// restores it.
#[derive(Debug)]
pub struct RawMode(());

impl RawMode {
    /// Enters raw mode; with `releases`, also asks the terminal to report
    /// key releases (see [`RawMode::reports_releases`]).
    pub fn enter(releases: bool) -> io::Result<RawMode> {
        install_panic_hook();
        let mut held = held();
        if held.raw == 0 {
            enable_raw_mode()?;
            keep_newlines();
        }
        held.raw += 1;
        // The question (and the request) go to standard output, where
        // crossterm writes them: with the output in a file or a pipe they
        // would land there, and the answer would never come (a 2 s wait).
        if releases && !held.releases && io::stdout().is_terminal() {
            held.releases = supports_keyboard_enhancement().unwrap_or(false)
                && execute!(
                    io::stdout(),
                    PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::REPORT_EVENT_TYPES)
                )
                .is_ok();
        }
        Ok(RawMode(()))
    }

    /// True when the terminal reports key releases.
    pub fn reports_releases(&self) -> bool {
        held().releases
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let mut held = held();
        if held.raw <= 1 {
            // The screen goes with the last guard too (it holds one).
            restore(&mut held);
        } else {
            held.raw -= 1;
        }
    }
}

/// The alternate screen with the cursor hidden, over raw mode, for as long
/// as this lives. Only one may exist at a time.
#[derive(Debug)]
pub struct AlternateScreen {
    _raw: RawMode,
}

impl AlternateScreen {
    /// Switches to the alternate screen. Fails when standard output is not
    /// a terminal or the screen is already up.
    pub fn enter() -> io::Result<AlternateScreen> {
        if !io::stdout().is_terminal() {
            return Err(io::Error::other(
                "standard output is not a terminal (the visualizer needs one)",
            ));
        }
        if held().screen {
            return Err(io::Error::other("the terminal is already in use"));
        }
        let raw = RawMode::enter(false)?;
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
        held().screen = true;
        Ok(AlternateScreen { _raw: raw })
    }
}

impl Drop for AlternateScreen {
    fn drop(&mut self) {
        let mut held = held();
        if held.screen {
            let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
            held.screen = false;
        }
    }
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

/// Where the reader hands keys.
#[derive(Debug)]
pub enum KeyRoute {
    /// To the view, as [`InputEvent::Key`] (presses and repeats only).
    View,
    /// To the music, as MIDI on channel 1 (`--keys`); keys that play no
    /// note go on to the view.
    Instrument(Translator),
}

/// How long the reader waits for input when nothing is due.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Starts the one reader of terminal input, feeding `feed` until stopped,
/// until the terminal hangs up or (as an instrument) Esc: both end the
/// stream with [`InputEvent::Interrupted`]. Holds `raw` while it runs.
pub fn read_keys(feed: Feed, raw: RawMode, route: KeyRoute) -> Worker {
    Worker::spawn(move |stopped: &AtomicBool| {
        let _raw = raw;
        let mut route = route;
        let channel = u4::new(0);
        let interrupt = |feed: &Feed| {
            feed.event(InputEvent::Interrupted {
                t_us: feed.now_us(),
            })
        };
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let wait = match &mut route {
                KeyRoute::View => IDLE_WAIT,
                KeyRoute::Instrument(keys) => {
                    keys.expire(Instant::now(), |off| {
                        feed.bytes(channel, &off);
                    });
                    keys.wait()
                }
            };
            if wait_for_input(wait) == TerminalInput::Closed {
                interrupt(&feed);
                break;
            }
            // Even after a quiet wait: crossterm may hold events parsed earlier.
            if !event::poll(Duration::ZERO).unwrap_or(false) {
                continue;
            }
            let Ok(Event::Key(key)) = event::read() else {
                continue;
            };
            let delivered = match &mut route {
                KeyRoute::View if key.kind == KeyEventKind::Release => true,
                KeyRoute::View => feed.event(InputEvent::Key(key)),
                KeyRoute::Instrument(keys) => match keys.key(key, Instant::now()) {
                    Keyed::Midi(bytes) => feed.bytes(channel, &bytes),
                    Keyed::Changed(state) => {
                        // The view shows it itself (it is told the key).
                        if !held().screen {
                            let _ = write!(
                                io::stderr(),
                                "composer-probe: keys: {}\r\n",
                                state.describe(NoteNaming::default())
                            );
                        }
                        feed.event(InputEvent::Key(key))
                    }
                    Keyed::View => feed.event(InputEvent::Key(key)),
                    // The view's Esc closes its help first; it quits itself.
                    Keyed::Quit if held().screen => feed.event(InputEvent::Key(key)),
                    Keyed::Quit => {
                        interrupt(&feed);
                        false
                    }
                    Keyed::Nothing => true,
                },
            };
            if !delivered {
                break;
            }
        }
        if let KeyRoute::Instrument(keys) = route {
            keys.release_all(|off| {
                feed.bytes(channel, &off);
            });
        }
    })
}
