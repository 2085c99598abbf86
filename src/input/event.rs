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

impl EventMessage {
    /// The message's MIDI 1.0 bytes (no running status), appended to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        match self {
            EventMessage::Channel { channel, message } => {
                let live = midly::live::LiveEvent::Midi {
                    channel: *channel,
                    message: *message,
                };
                // Writing to a Vec cannot fail.
                let _ = live.write_std(&mut *out);
            }
            EventMessage::SysEx { data, .. } => out.extend_from_slice(data),
            EventMessage::Common(common) => match *common {
                SystemCommon::TimeCodeQuarterFrame(v) => out.extend([0xf1, v.as_int()]),
                SystemCommon::SongPosition(v) => {
                    let v = v.as_int();
                    out.extend([0xf2, (v & 0x7f) as u8, (v >> 7) as u8]);
                }
                SystemCommon::SongSelect(v) => out.extend([0xf3, v.as_int()]),
                SystemCommon::TuneRequest => out.push(0xf6),
                SystemCommon::Undefined(b) => out.push(b),
            },
            EventMessage::Realtime(realtime) => out.push(match realtime {
                SystemRealtime::TimingClock => 0xf8,
                SystemRealtime::Start => 0xfa,
                SystemRealtime::Continue => 0xfb,
                SystemRealtime::Stop => 0xfc,
                SystemRealtime::ActiveSensing => 0xfe,
                SystemRealtime::Reset => 0xff,
                SystemRealtime::Undefined(b) => *b,
            }),
        }
    }
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
    /// An event of a recorded take being played back (▶), not played on
    /// the keyboard: heard, shown, never recorded again.
    Played(MidiEvent),
    /// The user asked to stop (Ctrl+C, SIGTERM).
    Interrupted {
        /// When.
        t_us: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::bytes::ByteStreamDecoder;

    #[test]
    fn bytes_written_decode_back_to_the_same_messages() {
        let input = [
            0x90, 60, 100, 0x80, 60, 0, 0xb0, 21, 64, 0xe0, 0, 0x40, 0xc3, 5, 0xf0, 0x7e, 0x01,
            0xf7, 0xf2, 0x10, 0x02, 0xf8,
        ];
        let mut decoder = ByteStreamDecoder::new();
        let mut messages = Vec::new();
        decoder.feed(&input, |m| messages.push(EventMessage::from(m)));
        assert_eq!(messages.len(), 8);
        let mut written = Vec::new();
        for message in &messages {
            message.write_bytes(&mut written);
        }
        assert_eq!(written, input);
    }
}
