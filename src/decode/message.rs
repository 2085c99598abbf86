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

/// Counters a decoder keeps of what it had to skip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Messages produced.
    pub messages: u64,
    /// Data bytes with no status to belong to (byte-stream decoder), skipped.
    pub stray_bytes: u64,
    /// USB-MIDI event packets that made no sense (wrong length, status not
    /// matching the Code Index Number, reserved CIN with data), skipped.
    pub malformed_packets: u64,
    /// SysEx messages that hit the cap or were cut off.
    pub truncated_sysex: u64,
}

/// The largest SysEx message kept whole unless the caller sets another cap.
pub const DEFAULT_SYSEX_CAP: usize = 64 * 1024;
