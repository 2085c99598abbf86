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
    wait_for_input_or_signal(Some(timeout), &[])
}

/// The reading end of a signal to a reader: it becomes readable when the
/// reader is to stop, or the terminal was resized, so the reader can wait
/// for keys without a timeout.
#[cfg(unix)]
type Signal = std::os::unix::net::UnixStream;
/// Elsewhere the reader looks at its stop flag every [`IDLE_WAIT`].
#[cfg(not(unix))]
type Signal = ();

/// Like [`wait_for_input`], with no limit when `timeout` is `None`, and
/// returning early when one of `signals` becomes readable.
fn wait_for_input_or_signal(timeout: Option<Duration>, signals: &[&Signal]) -> TerminalInput {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        // Asked once: a terminal that hung up no longer says it is one.
        static STDIN_IS_TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *STDIN_IS_TERMINAL.get_or_init(|| io::stdin().is_terminal()) {
            let watch = |fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let mut fds = [watch(libc::STDIN_FILENO), watch(-1), watch(-1)];
            for (slot, signal) in fds[1..].iter_mut().zip(signals) {
                slot.fd = signal.as_raw_fd();
            }
            let count = 1 + signals.len().min(2);
            let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
            // SAFETY: `count` valid pollfds that outlive the call.
            unsafe { libc::poll(fds.as_mut_ptr(), count as libc::nfds_t, ms) };
            let hung_up = fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
            return if hung_up {
                TerminalInput::Closed
            } else {
                TerminalInput::Open
            };
        }
    }
    let _ = signals;
    match event::poll(timeout.unwrap_or(IDLE_WAIT)) {
        Ok(_) => TerminalInput::Open,
        Err(_) => TerminalInput::Closed,
    }
}

/// A reader's wake-ups: stopping its worker, and (unix) SIGWINCH, which
/// crossterm notices only inside its own poll.
struct Wakeups {
    /// Readable once the reader is to stop.
    stop: Option<Signal>,
    /// Readable after a resize (non-blocking; drained by [`Wakeups::resized`]).
    resize: Option<Signal>,
    #[cfg(unix)]
    resize_hook: Option<signal_hook::SigId>,
}

impl Wakeups {
    /// Sets them up; returns the stop signal's sending end, which wakes
    /// the reader when shut down. Without them the reader polls.
    fn new() -> (Wakeups, Option<Signal>) {
        #[cfg(unix)]
        {
            use std::os::unix::net::UnixStream;
            let (stop, sender) = match UnixStream::pair() {
                Ok((stop, sender)) => (Some(stop), Some(sender)),
                Err(_) => (None, None),
            };
            let hooked = UnixStream::pair().ok().and_then(|(resize, writer)| {
                resize.set_nonblocking(true).ok()?;
                let id = signal_hook::low_level::pipe::register(libc::SIGWINCH, writer).ok()?;
                Some((resize, id))
            });
            let (resize, resize_hook) = hooked.map_or((None, None), |(r, id)| (Some(r), Some(id)));
            let wakeups = Wakeups {
                stop,
                resize,
                resize_hook,
            };
            (wakeups, sender)
        }
        #[cfg(not(unix))]
        {
            let wakeups = Wakeups {
                stop: None,
                resize: None,
            };
            (wakeups, None)
        }
    }

    /// How long the reader may wait when nothing else is due.
    fn idle(&self) -> Option<Duration> {
        self.stop.is_none().then_some(IDLE_WAIT)
    }

    fn signals(&self) -> Vec<&Signal> {
        self.stop.iter().chain(self.resize.iter()).collect()
    }

    /// True when the terminal was resized since last asked.
    fn resized(&self) -> bool {
        #[cfg(unix)]
        if let Some(mut resize) = self.resize.as_ref() {
            let mut drained = [0u8; 16];
            let mut any = false;
            while matches!(io::Read::read(&mut resize, &mut drained), Ok(n) if n > 0) {
                any = true;
            }
            return any;
        }
        false
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(id) = self.resize_hook.take() {
            signal_hook::low_level::unregister(id);
        }
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

/// How often a reader that cannot be woken (no stop signal) looks at its
/// stop flag.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Starts the one reader of terminal input, feeding `feed` until stopped,
/// until the terminal hangs up or (as an instrument) Esc: both end the
/// stream with [`InputEvent::Interrupted`]. Holds `raw` while it runs.
pub fn read_keys(feed: Feed, raw: RawMode, route: KeyRoute) -> Worker {
    // Stopping it wakes it: it waits for keys with no timeout.
    let (wakeups, stop_sender) = Wakeups::new();
    let worker = Worker::spawn(move |stopped: &AtomicBool| {
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
                KeyRoute::View => None,
                KeyRoute::Instrument(keys) => {
                    let now = Instant::now();
                    keys.expire(now, |off| {
                        feed.bytes(channel, &off);
                    });
                    keys.wait(now)
                }
            };
            let wait = wait.or(wakeups.idle());
            if wait_for_input_or_signal(wait, &wakeups.signals()) == TerminalInput::Closed {
                interrupt(&feed);
                break;
            }
            // The view redraws at the new size as soon as it is woken.
            if wakeups.resized() {
                feed.wake();
            }
            // Even after a quiet wait: crossterm may hold events parsed earlier.
            if !event::poll(Duration::ZERO).unwrap_or(false) {
                continue;
            }
            let key = match event::read() {
                Ok(Event::Key(key)) => key,
                _ => continue,
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
    });
    match stop_sender {
        #[cfg(unix)]
        Some(sender) => worker.on_stop(move || {
            let _ = sender.shutdown(std::net::Shutdown::Both);
        }),
        _ => worker,
    }
}
