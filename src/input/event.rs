//! The event type that flows from every input source to the synth, the
//! recorder, `--thru`, the view and the monitor: the project's spine.

// The owned MIDI message and its timed form live with the other MIDI types
// in `crate::decode::message`; re-exported so the stream's users find them
// beside the event that carries them.
pub use crate::decode::message::{EventMessage, MidiEvent};

/// Everything an input stream can deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputEvent {
    /// A MIDI message.
    Midi(MidiEvent),
    /// The keyboard went away (unplugged, port vanished). Without `--wait`
    /// the stream ends after this.
    Disconnected {
        /// When it was noticed.
        t_us: u64,
        /// What happened, for people.
        reason: String,
        /// True when reading failed (an I/O error on the link: a bad cable or
        /// hub) rather than the keyboard leaving; a script must be able to
        /// tell the two apart.
        failed: bool,
    },
    /// The same keyboard came back (with `--wait`).
    Reconnected {
        /// When.
        t_us: u64,
    },
    /// The source has nothing more (end of a file, or the keys source quit).
    Ended {
        /// When.
        t_us: u64,
    },
    /// An event of a recorded take being played back (▶), not played on
    /// the keyboard: heard, shown, never recorded again.
    Played(MidiEvent),
    /// A key of the computer keyboard for the view (not `--keys`, whose
    /// keys arrive as MIDI).
    Key(crossterm::event::KeyEvent),
    /// The user asked to stop (Ctrl+C, SIGTERM, Esc under `--keys`), or the
    /// terminal hung up.
    Interrupted {
        /// When.
        t_us: u64,
    },
}
