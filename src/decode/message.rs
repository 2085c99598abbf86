//! The decoded MIDI message: what both decoders produce.
//!
//! Channel messages and real-time bytes reuse midly's range-checked types
//! (`u4`, `u7`, `u14`), so an out-of-range key or velocity cannot be built.
//! SysEx borrows the decoder's buffer: decoding allocates nothing per message.

pub use midly::live::SystemRealtime;
pub use midly::num::{u14, u4, u7};
pub use midly::{MidiMessage as ChannelMessage, PitchBend};

/// System Common messages other than SysEx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemCommon {
    /// 0xF1: MIDI Time Code quarter frame.
    TimeCodeQuarterFrame(u7),
    /// 0xF2: Song Position Pointer, in MIDI beats (sixteenth notes).
    SongPosition(u14),
    /// 0xF3: Song Select.
    SongSelect(u7),
    /// 0xF6: Tune Request.
    TuneRequest,
    /// 0xF4 or 0xF5: undefined status bytes, reported as seen.
    Undefined(u8),
}

/// One decoded MIDI message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A channel voice message. A Note On with velocity 0 is always
    /// reported as a `NoteOff` with velocity 0.
    Channel {
        /// Channel 0–15 (shown to people as 1–16).
        channel: u4,
        /// What happened on it.
        message: ChannelMessage,
    },
    /// A System Exclusive message: `data` is the whole message from 0xF0 up
    /// to and including 0xF7. When the decoder's cap was reached, `data`
    /// holds the first bytes only, `truncated` is set, and no 0xF7 may end it.
    SysEx {
        /// The bytes, starting with 0xF0.
        data: &'a [u8],
        /// True when bytes past the cap were dropped, or the message was
        /// cut off by another status byte before its 0xF7.
        truncated: bool,
    },
    /// A System Common message other than SysEx.
    Common(SystemCommon),
    /// A System Real-Time message (clock, start, stop, active sensing...).
    Realtime(SystemRealtime),
}

/// Counters a decoder keeps of what it had to skip. In `monitor --json`'s
/// `input_problems` event the three problem counts are fields of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeStats {
    /// Messages produced.
    #[serde(skip)]
    pub messages: u64,
    /// Data bytes with no status to belong to (byte-stream decoder), skipped.
    pub stray_bytes: u64,
    /// USB-MIDI event packets that made no sense (wrong length, status not
    /// matching the Code Index Number, reserved CIN with data), skipped.
    pub malformed_packets: u64,
    /// SysEx messages that hit the cap or were cut off.
    pub truncated_sysex: u64,
}

impl std::ops::Add for DecodeStats {
    type Output = DecodeStats;

    /// The counts of two decoders together (a stream's cables and links).
    fn add(self, other: DecodeStats) -> DecodeStats {
        DecodeStats {
            messages: self.messages + other.messages,
            stray_bytes: self.stray_bytes + other.stray_bytes,
            malformed_packets: self.malformed_packets + other.malformed_packets,
            truncated_sysex: self.truncated_sysex + other.truncated_sysex,
        }
    }
}

/// The largest SysEx message kept whole unless the caller sets another cap.
pub const DEFAULT_SYSEX_CAP: usize = 64 * 1024;

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
