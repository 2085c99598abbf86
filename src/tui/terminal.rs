//! The keyboard view on the real terminal: ratatui drawing into the
//! alternate screen that [`crate::terminal`] (the terminal's one owner)
//! holds while the view is up.
//!
//! The caller owns the loop and its pace: keys arrive through the input
//! stream ([`crate::terminal::read_keys`]) and go to [`App::handle_key`];
//! [`TerminalGuard::draw`] is called every time round and draws only when
//! something changed, at most 60 times a second.

use super::app::App;
use super::ui::ui;
use crate::terminal::AlternateScreen;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;
use ratatui::Terminal;
use std::io::{self, Stdout};

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
    /// Dropped after the terminal: the screen goes back last.
    _screen: AlternateScreen,
}

impl TerminalGuard {
    /// Switches the terminal to visualizer mode. Fails when standard output
    /// is not a terminal or another guard is active.
    pub fn enter() -> io::Result<TerminalGuard> {
        let screen = AlternateScreen::enter()?;
        Ok(TerminalGuard {
            terminal: Terminal::new(CrosstermBackend::new(io::stdout()))?,
            drawn_size: None,
            _screen: screen,
        })
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
}
