//! The terminal keyboard visualizer that `play` and `monitor --tui` drive.
//!
//! Three parts, as in ratatui's examples:
//! - [`app`]: the state ([`App`]) — held and sustained keys, controllers,
//!   flashes, event log, status — fed with events, status and key presses;
//!   no I/O, and a `dirty` flag saying when a redraw is due.
//! - [`mod@ui`] (with the [`keyboard`] and [`panel`] widgets): one pure function
//!   drawing an `App` into a frame; tested against ratatui's `TestBackend`.
//! - [`terminal`]: the [`TerminalGuard`] that draws on the real terminal
//!   when the state changed (the terminal itself is owned by
//!   [`crate::terminal`]).
//!
//! The loop itself (how often to poll input, at most 60 redraws a second)
//! belongs to the caller; see [`terminal`].
pub(crate) mod app;
pub(crate) mod keyboard;
pub(crate) mod panel;
pub(crate) mod terminal;
pub(crate) mod ui;

pub(crate) use app::{Action, App, Status};
pub(crate) use terminal::TerminalGuard;
