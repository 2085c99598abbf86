//! Builders of expected messages, shared by the decoders' unit tests.
//!
//! Decoded messages are compared as [`EventMessage`]s: SysEx bytes copied
//! out of the decoder's buffer, everything else as decoded.

use super::message::{u4, u7, ChannelMessage, EventMessage, SystemCommon, SystemRealtime};

/// A channel message on `channel` (0–15).
pub(crate) fn ch(channel: u8, message: ChannelMessage) -> EventMessage {
    EventMessage::Channel {
        channel: u4::new(channel),
        message,
    }
}

/// Note On.
pub(crate) fn note_on(channel: u8, key: u8, vel: u8) -> EventMessage {
    ch(
        channel,
        ChannelMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(vel),
        },
    )
}

/// Note Off.
pub(crate) fn note_off(channel: u8, key: u8, vel: u8) -> EventMessage {
    ch(
        channel,
        ChannelMessage::NoteOff {
            key: u7::new(key),
            vel: u7::new(vel),
        },
    )
}

/// A SysEx message with exactly these bytes.
pub(crate) fn sysex(data: &[u8], truncated: bool) -> EventMessage {
    EventMessage::SysEx {
        data: data.into(),
        truncated,
    }
}

/// The real-time message of status byte `byte` (0xF8–0xFF).
pub(crate) fn rt(byte: u8) -> EventMessage {
    EventMessage::Realtime(SystemRealtime::new(byte))
}

/// A System Common message.
pub(crate) fn common(common: SystemCommon) -> EventMessage {
    EventMessage::Common(common)
}
