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
pub mod app;
pub mod keyboard;
pub mod panel;
pub mod terminal;
pub mod ui;

pub use app::{Action, App, KeyState, LogKind, Status};
pub use keyboard::KeyboardView;
pub use panel::PanelView;
pub use terminal::{wants_monochrome, TerminalGuard};
pub use ui::ui;
