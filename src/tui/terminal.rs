//! The terminal: alternate screen and raw mode while the visualizer runs,
//! restored on every exit path (drop, early return, panic).
//!
//! The caller owns the loop and its pace. A loop that redraws at most 60
//! times a second looks like this:
//!
//! ```no_run
//! # use composer_probe::tui::{App, Action, TerminalGuard, poll_key};
//! # use std::time::{Duration, Instant};
//! # fn run(mut app: App) -> std::io::Result<()> {
//! let mut terminal = TerminalGuard::enter()?;
//! let frame = Duration::from_millis(16);
//! loop {
//!     // take input events in with app.apply(..), status with app.set_status(..)
//!     if let Some(key) = poll_key(frame)? {
//!         if app.handle_key(key) == Action::Quit {
//!             break;
//!         }
//!     }
//!     app.tick(Instant::now());
//!     terminal.draw(&mut app)?; // draws only when something changed
//! }
//! # Ok(())
//! # }
//! ```

use super::app::App;
use super::ui::ui;
use crate::input::keys::{wait_for_input, TerminalInput};
use crossterm::cursor::{Hide, Show};
use crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;
use ratatui::Terminal;
use std::io::{self, IsTerminal as _, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

/// True while a [`TerminalGuard`] holds the terminal.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The panic hook is installed once per process.
static HOOK: Once = Once::new();

/// Leaves the alternate screen and raw mode, if we are in them.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    }
}

/// Makes a panic restore the terminal before its message is printed, so the
/// message lands on the normal screen.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// True when the screen should be drawn without colour: `NO_COLOR` is set
/// (and not empty, see no-color.org) or `TERM` is `dumb`.
pub fn wants_monochrome() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// The terminal in visualizer mode (alternate screen, raw mode, hidden
/// cursor) for as long as this value lives. Only one may exist at a time.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    drawn_size: Option<Size>,
}

impl TerminalGuard {
    /// Switches the terminal to visualizer mode. Fails when standard output
    /// is not a terminal or another guard is active.
    pub fn enter() -> io::Result<TerminalGuard> {
        if !io::stdout().is_terminal() {
            return Err(io::Error::other(
                "standard output is not a terminal (the visualizer needs one)",
            ));
        }
        if ACTIVE.load(Ordering::SeqCst) {
            return Err(io::Error::other("the terminal is already in use"));
        }
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => Ok(TerminalGuard {
                terminal,
                drawn_size: None,
            }),
            Err(error) => {
                restore();
                Err(error)
            }
        }
    }

    /// Draws `app` when it changed since the last draw or the terminal was
    /// resized, then marks it drawn. Cheap when nothing changed: call it
    /// every time round the loop.
    pub fn draw(&mut self, app: &mut App) -> io::Result<()> {
        let size = self.terminal.size()?;
        if !app.is_dirty() && self.drawn_size == Some(size) {
            return Ok(());
        }
        self.terminal.draw(|frame| ui(frame, app))?;
        self.drawn_size = Some(size);
        app.mark_drawn();
        Ok(())
    }

    /// Forgets what is on screen: the next [`TerminalGuard::draw`] redraws
    /// every cell (after something else wrote to the terminal).
    pub fn invalidate(&mut self) -> io::Result<()> {
        self.drawn_size = None;
        self.terminal.clear()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Waits up to `timeout` for a key press (or auto-repeat); other terminal
/// events (releases, resizes, mouse, focus) are dropped and give
/// `Ok(None)` — a resize is noticed by [`TerminalGuard::draw`] anyway.
/// A terminal that hung up is an error of kind `BrokenPipe`.
///
/// Do not call it while the computer keyboard is the MIDI input (`--keys`):
/// that source reads the same terminal events on its own thread.
pub fn poll_key(timeout: Duration) -> io::Result<Option<KeyEvent>> {
    if wait_for_input(timeout) == TerminalInput::Closed {
        return Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "the terminal closed",
        ));
    }
    // Even after a quiet wait: crossterm may hold events parsed earlier.
    if !event::poll(Duration::ZERO)? {
        return Ok(None);
    }
    Ok(match event::read()? {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(key),
        _ => None,
    })
}
