//! The event type that flows from every input source to the synth,
//! visualizer, recorder and monitor: the project's spine.

use crate::decode::message::{u4, ChannelMessage, Message, SystemCommon, SystemRealtime};

/// An owned MIDI message (SysEx bytes copied out of the decoder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventMessage {
    /// A channel voice message (Note On velocity 0 already turned into Note Off).
    Channel {
        /// Channel 0–15.
        channel: u4,
        /// The message.
        message: ChannelMessage,
    },
    /// System Exclusive, from 0xF0 to 0xF7 inclusive.
    SysEx {
        /// The bytes.
        data: Box<[u8]>,
        /// Cut short (cap reached, or interrupted).
        truncated: bool,
    },
    /// System Common other than SysEx.
    Common(SystemCommon),
    /// System Real-Time.
    Realtime(SystemRealtime),
}

impl From<Message<'_>> for EventMessage {
    fn from(message: Message<'_>) -> Self {
        match message {
            Message::Channel { channel, message } => EventMessage::Channel { channel, message },
            Message::SysEx { data, truncated } => EventMessage::SysEx {
                data: data.into(),
                truncated,
            },
            Message::Common(common) => EventMessage::Common(common),
            Message::Realtime(realtime) => EventMessage::Realtime(realtime),
        }
    }
}

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
    /// The user asked to stop (Ctrl+C, SIGTERM).
    Interrupted {
        /// When.
        t_us: u64,
    },
}
