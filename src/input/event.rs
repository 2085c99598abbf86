//! The event type that flows from every input source to the synth,
//! visualizer, recorder and monitor: the project's spine.

use crate::decode::message::u4;

// The owned MIDI message lives with the other MIDI types in
// `crate::decode::message`; re-exported so `crate::input::event::EventMessage`
// and `crate::input::EventMessage` keep working.
pub use crate::decode::message::EventMessage;

/// One MIDI message with when and where it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidiEvent {
    /// Microseconds since the stream started (monotonic clock; for a file,
    /// the event's time in the file).
    pub t_us: u64,
    /// Cable (port) of the source it came in on; 0 for single-port sources.
    pub cable: u4,
    /// The message.
    pub message: EventMessage,
}

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
    /// The user asked to stop (Ctrl+C, SIGTERM).
    Interrupted {
        /// When.
        t_us: u64,
    },
}
