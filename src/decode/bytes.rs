//! MIDI 1.0 byte streams: [`ByteStreamDecoder`].
//!
//! This module owns the MIDI 1.0 wire rules (running status, real-time bytes
//! anywhere, System Common, SysEx with a size cap) and the pieces both
//! decoders share: turning a status byte and its data bytes into a
//! [`Message`] (`channel_message`, `system_common`) and the reusable,
//! capped SysEx buffer (`SysExBuffer`). The USB-MIDI decoder in
//! [`super::usb_midi`] builds on them.

use super::message::{
    u14, u4, u7, ChannelMessage, DecodeStats, Message, PitchBend, SystemCommon, SystemRealtime,
    DEFAULT_SYSEX_CAP,
};

/// Status byte that starts a System Exclusive message.
pub(crate) const SYSEX_START: u8 = 0xF0;
/// Status byte that ends a System Exclusive message (End Of eXclusive).
pub(crate) const SYSEX_END: u8 = 0xF7;
/// Smallest SysEx cap: room for `F0 F7`.
const MIN_SYSEX_CAP: usize = 2;
/// Capacity a SysEx buffer gets on first use (then it doubles up to the cap).
const INITIAL_SYSEX_CAPACITY: usize = 256;

/// Number of data bytes a channel status byte (0x80–0xEF) takes: 1 for
/// Program Change (0xC_) and Channel Pressure (0xD_), 2 for the rest.
#[inline]
pub(crate) const fn channel_data_len(status: u8) -> u8 {
    match status >> 4 {
        0xC | 0xD => 1,
        _ => 2,
    }
}

/// The channel message for `status` (0x80–0xEF) and its data bytes, or
/// `None` for any other status. Data bytes are taken modulo 0x80 (callers
/// check them); `data2` is ignored by one-data-byte messages. A Note On with
/// velocity 0 comes out as a `NoteOff` with velocity 0.
#[inline]
pub(crate) fn channel_message(status: u8, data1: u8, data2: u8) -> Option<Message<'static>> {
    let first = u7::new(data1);
    let second = u7::new(data2);
    let message = match status >> 4 {
        0x8 => ChannelMessage::NoteOff {
            key: first,
            vel: second,
        },
        0x9 if second.as_int() == 0 => ChannelMessage::NoteOff {
            key: first,
            vel: second,
        },
        0x9 => ChannelMessage::NoteOn {
            key: first,
            vel: second,
        },
        0xA => ChannelMessage::Aftertouch {
            key: first,
            vel: second,
        },
        0xB => ChannelMessage::Controller {
            controller: first,
            value: second,
        },
        0xC => ChannelMessage::ProgramChange { program: first },
        0xD => ChannelMessage::ChannelAftertouch { vel: first },
        0xE => ChannelMessage::PitchBend {
            bend: PitchBend(u14::new(
                u16::from(first.as_int()) | u16::from(second.as_int()) << 7,
            )),
        },
        _ => return None,
    };
    Some(Message::Channel {
        channel: u4::new(status & 0x0F),
        message,
    })
}

/// Number of data bytes a System Common status byte takes, or `None` for a
/// byte that is not System Common (SysEx start and end included).
#[inline]
pub(crate) const fn common_data_len(status: u8) -> Option<u8> {
    match status {
        0xF1 | 0xF3 => Some(1),
        0xF2 => Some(2),
        0xF4..=0xF6 => Some(0),
        _ => None,
    }
}

/// The System Common message for `status` (0xF1–0xF6) and its data bytes,
/// or `None` for any other status. Data bytes are taken modulo 0x80; Song
/// Position is 14 bits, least significant 7 first.
#[inline]
pub(crate) fn system_common(status: u8, data1: u8, data2: u8) -> Option<Message<'static>> {
    let common = match status {
        0xF1 => SystemCommon::TimeCodeQuarterFrame(u7::new(data1)),
        0xF2 => SystemCommon::SongPosition(u14::new(
            u16::from(data1 & 0x7F) | u16::from(data2 & 0x7F) << 7,
        )),
        0xF3 => SystemCommon::SongSelect(u7::new(data1)),
        0xF4 | 0xF5 => SystemCommon::Undefined(status),
        0xF6 => SystemCommon::TuneRequest,
        _ => return None,
    };
    Some(Message::Common(common))
}

/// One SysEx message being collected: a buffer allocated on first use and
/// reused for every later message, never grown past the cap.
///
/// Starting a message is lazy ([`SysExBuffer::begin`] only sets flags), so
/// the previous message's bytes stay readable through [`SysExBuffer::data`]
/// until the next byte is appended: that is what lets a decoder hand out a
/// cut-off SysEx and start the next one on the same input byte.
#[derive(Debug)]
pub(crate) struct SysExBuffer {
    buf: Vec<u8>,
    cap: usize,
    active: bool,
    /// Bytes past the cap were dropped from the message in progress.
    overflow: bool,
    /// `buf` still holds the previous message: reset it to `F0` before use.
    stale: bool,
}

impl SysExBuffer {
    /// An empty buffer keeping at most `cap` bytes (at least 2) of a message.
    /// Allocates nothing until the first SysEx arrives.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap: cap.max(MIN_SYSEX_CAP),
            active: false,
            overflow: false,
            stale: false,
        }
    }

    /// Whether a SysEx is in progress.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Start a new message (the `F0` is implied). Any message in progress is
    /// forgotten: close it first to report it.
    #[inline]
    pub(crate) fn begin(&mut self) {
        self.active = true;
        self.overflow = false;
        self.stale = true;
    }

    /// Make `buf` hold the message in progress (at least its `F0`).
    #[inline]
    fn refresh(&mut self) {
        if self.stale {
            self.buf.clear();
            self.stale = false;
            self.append(SYSEX_START);
        }
    }

    /// Add one byte to the message in progress; past the cap it is dropped
    /// and the message marked truncated.
    #[inline]
    pub(crate) fn push(&mut self, byte: u8) {
        self.refresh();
        self.append(byte);
    }

    #[inline]
    fn append(&mut self, byte: u8) {
        if self.buf.len() >= self.cap {
            self.overflow = true;
            return;
        }
        self.reserve(1);
        self.buf.push(byte);
    }

    /// Make room for `more` bytes (the caller keeps within the cap): grow by
    /// doubling, but never reserve past the cap.
    #[inline]
    fn reserve(&mut self, more: usize) {
        let len = self.buf.len();
        if self.buf.capacity() - len < more {
            let target = (len * 2)
                .max(len + more)
                .clamp(INITIAL_SYSEX_CAPACITY.min(self.cap), self.cap);
            self.buf.reserve_exact(target.saturating_sub(len));
        }
    }

    /// End the message in progress, with its `F7` when `complete`, or cut off
    /// (no `F7`) otherwise. Returns whether it is truncated, or `None` when no
    /// message was in progress. Its bytes are then in [`SysExBuffer::data`].
    #[inline]
    pub(crate) fn close(&mut self, complete: bool) -> Option<bool> {
        if !self.active {
            return None;
        }
        self.refresh();
        if complete {
            self.append(SYSEX_END);
        }
        self.active = false;
        Some(self.overflow || !complete)
    }

    /// The bytes of the last message closed (valid until the next push).
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf
    }
}

/// Decoder for a MIDI 1.0 byte stream, as system MIDI ports, serial links
/// and raw files deliver it.
///
/// Follows the MIDI 1.0 rules: running status for channel messages,
/// real-time bytes (0xF8–0xFF) reported at once wherever they appear without
/// disturbing what they interrupt, System Common cancelling running status,
/// SysEx collected up to a cap. Never panics; allocates only the SysEx buffer
/// (on the first SysEx, growing at most to the cap, then reused).
///
/// ```
/// use composer_probe::decode::bytes::ByteStreamDecoder;
/// let mut decoder = ByteStreamDecoder::new();
/// let mut count = 0;
/// // Two Note Ons with running status, and a clock between them.
/// decoder.feed(&[0x90, 0x3C, 0x40, 0xF8, 0x3E, 0x40], |_message| count += 1);
/// assert_eq!(count, 3);
/// ```
#[derive(Debug)]
pub struct ByteStreamDecoder {
    /// Running status: a channel status, or a System Common status still
    /// waiting for data bytes; 0 when data bytes have nowhere to go.
    status: u8,
    /// Data bytes the current status takes.
    need: u8,
    /// Data bytes collected so far for the current message (0 or 1).
    have: u8,
    /// The first data byte, when `have` is 1.
    first: u8,
    sysex: SysExBuffer,
    /// A message completed by the same byte that cut a SysEx short.
    pending: Option<Message<'static>>,
    stats: DecodeStats,
}

impl Default for ByteStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteStreamDecoder {
    /// A decoder keeping SysEx messages up to [`DEFAULT_SYSEX_CAP`] bytes.
    pub fn new() -> Self {
        Self::with_sysex_cap(DEFAULT_SYSEX_CAP)
    }

    /// A decoder keeping the first `cap` bytes of each SysEx message (`F0`
    /// and `F7` included; a cap below 2 counts as 2). Longer messages are
    /// reported with `truncated: true`.
    pub fn with_sysex_cap(cap: usize) -> Self {
        Self {
            status: 0,
            need: 0,
            have: 0,
            first: 0,
            sysex: SysExBuffer::new(cap),
            pending: None,
            stats: DecodeStats::default(),
        }
    }

    /// What the decoder produced and skipped so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Feed one byte; returns the message it completes, if any.
    ///
    /// One byte can complete two messages in a single case: a 0xF4, 0xF5 or
    /// 0xF6 that cuts a SysEx short. `push` then returns the cut-off SysEx
    /// and keeps the other one for [`ByteStreamDecoder::take_pending`]; call
    /// it after every `push` (or use [`ByteStreamDecoder::feed`], which
    /// does). A pending message not taken is dropped by the next `push`.
    #[inline]
    pub fn push(&mut self, byte: u8) -> Option<Message<'_>> {
        self.pending = None;
        if byte >= 0xF8 {
            return self.produce(Message::Realtime(SystemRealtime::new(byte)));
        }
        if byte < 0x80 {
            return self.data_byte(byte);
        }
        // A status byte drops an unfinished message's data byte.
        self.stats.stray_bytes += u64::from(self.have);
        self.have = 0;
        if self.sysex.is_active() {
            let complete = byte == SYSEX_END;
            let truncated = self.sysex.close(complete).unwrap_or(true);
            if !complete {
                // Cut off: process the new status now; its own message (if
                // any) waits in `pending`. `begin` is lazy, so the old bytes
                // are still in the buffer.
                if let Some(next) = self.status_byte(byte) {
                    self.stats.messages += 1;
                    self.pending = Some(next);
                }
            }
            if truncated {
                self.stats.truncated_sysex += 1;
            }
            self.stats.messages += 1;
            return Some(Message::SysEx {
                data: self.sysex.data(),
                truncated,
            });
        }
        if byte == SYSEX_END {
            self.stats.stray_bytes += 1;
            return None;
        }
        match self.status_byte(byte) {
            Some(message) => self.produce(message),
            None => None,
        }
    }

    /// The message completed by the byte that last cut a SysEx short (see
    /// [`ByteStreamDecoder::push`]); `None` almost always.
    #[inline]
    pub fn take_pending(&mut self) -> Option<Message<'static>> {
        self.pending.take()
    }

    /// Feed a run of bytes, calling `emit` for each message in order.
    #[inline]
    pub fn feed(&mut self, bytes: &[u8], mut emit: impl FnMut(Message<'_>)) {
        for &byte in bytes {
            if let Some(message) = self.push(byte) {
                emit(message);
            }
            if let Some(message) = self.pending.take() {
                emit(message);
            }
        }
    }

    /// Count and return a message.
    #[inline]
    fn produce(&mut self, message: Message<'static>) -> Option<Message<'_>> {
        self.stats.messages += 1;
        Some(message)
    }

    /// A data byte (< 0x80).
    #[inline]
    fn data_byte(&mut self, byte: u8) -> Option<Message<'_>> {
        if self.sysex.is_active() {
            self.sysex.push(byte);
            return None;
        }
        if self.status == 0 {
            self.stats.stray_bytes += 1;
            return None;
        }
        if self.have + 1 < self.need {
            self.first = byte;
            self.have += 1;
            return None;
        }
        self.have = 0;
        let status = self.status;
        let (data1, data2) = if self.need == 1 {
            (byte, 0)
        } else {
            (self.first, byte)
        };
        let message = if status < 0xF0 {
            channel_message(status, data1, data2)
        } else {
            // System Common is done: later data bytes have no status.
            self.status = 0;
            system_common(status, data1, data2)
        };
        match message {
            Some(message) => self.produce(message),
            None => None,
        }
    }

    /// Take a new status byte (0x80–0xF6, not a real-time byte, not 0xF7);
    /// returns the message when the status byte alone is one.
    #[inline]
    fn status_byte(&mut self, byte: u8) -> Option<Message<'static>> {
        self.have = 0;
        if byte < 0xF0 {
            self.status = byte;
            self.need = channel_data_len(byte);
            return None;
        }
        // Anything from 0xF0 on cancels running status.
        self.status = 0;
        if byte == SYSEX_START {
            self.sysex.begin();
            return None;
        }
        match common_data_len(byte) {
            Some(0) => system_common(byte, 0, 0),
            Some(need) => {
                self.status = byte;
                self.need = need;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::{ch, common, note_off, note_on, rt, sysex};
    use crate::decode::EventMessage;
    use proptest::prelude::*;

    /// Decode `bytes` with a fresh decoder of the given cap; owned copies of
    /// the messages (SysEx bytes copied out) and the stats.
    fn decode_cap(bytes: &[u8], cap: usize) -> (Vec<EventMessage>, DecodeStats) {
        let mut decoder = ByteStreamDecoder::with_sysex_cap(cap);
        let mut out = Vec::new();
        decoder.feed(bytes, |message| out.push(EventMessage::from(message)));
        (out, decoder.stats())
    }

    fn decode(bytes: &[u8]) -> (Vec<EventMessage>, DecodeStats) {
        decode_cap(bytes, DEFAULT_SYSEX_CAP)
    }

    fn stats(messages: u64, stray_bytes: u64, truncated_sysex: u64) -> DecodeStats {
        DecodeStats {
            messages,
            stray_bytes,
            malformed_packets: 0,
            truncated_sysex,
        }
    }

    #[test]
    fn running_status_across_realtime() {
        let (out, st) = decode(&[0x90, 0x3C, 0x40, 0xF8, 0x3E, 0x40]);
        assert_eq!(
            out,
            [note_on(0, 0x3C, 0x40), rt(0xF8), note_on(0, 0x3E, 0x40)]
        );
        assert_eq!(st, stats(3, 0, 0));
    }

    #[test]
    fn realtime_inside_a_three_byte_message() {
        let (out, _) = decode(&[0x91, 0xF8, 0x3C, 0xFE, 0x40, 0x3C, 0xFA, 0x00]);
        assert_eq!(
            out,
            [
                rt(0xF8),
                rt(0xFE),
                note_on(1, 0x3C, 0x40),
                rt(0xFA),
                note_off(1, 0x3C, 0)
            ]
        );
    }

    #[test]
    fn running_status_survives_realtime_and_sysex_does_not_break_it() {
        // Undefined real-time bytes too (F9, FD).
        let (out, st) = decode(&[0xB2, 0x07, 0xF9, 0x64, 0x01, 0xFD, 0x02]);
        let cc = |controller, value| {
            ch(
                2,
                ChannelMessage::Controller {
                    controller: u7::new(controller),
                    value: u7::new(value),
                },
            )
        };
        assert_eq!(out, [rt(0xF9), cc(7, 100), rt(0xFD), cc(1, 2)]);
        assert_eq!(st, stats(4, 0, 0));
    }

    #[test]
    fn sysex_with_a_realtime_byte_inside() {
        let (out, st) = decode(&[0xF0, 0x43, 0xF8, 0x12, 0x00, 0xF7]);
        assert_eq!(
            out,
            [rt(0xF8), sysex(&[0xF0, 0x43, 0x12, 0x00, 0xF7], false)]
        );
        assert_eq!(st, stats(2, 0, 0));
    }

    #[test]
    fn empty_sysex() {
        let (out, _) = decode(&[0xF0, 0xF7]);
        assert_eq!(out, [sysex(&[0xF0, 0xF7], false)]);
    }

    #[test]
    fn sysex_over_the_cap_keeps_the_first_bytes() {
        let (out, st) = decode_cap(&[0xF0, 1, 2, 3, 4, 5, 6, 0xF7, 0x90, 1, 2], 4);
        assert_eq!(out, [sysex(&[0xF0, 1, 2, 3], true), note_on(0, 1, 2)]);
        assert_eq!(st, stats(2, 0, 1));
        // Exactly at the cap (F7 included) is whole.
        let (out, st) = decode_cap(&[0xF0, 1, 2, 0xF7], 4);
        assert_eq!(out, [sysex(&[0xF0, 1, 2, 0xF7], false)]);
        assert_eq!(st, stats(1, 0, 0));
        // One byte more and the F7 is what gets dropped.
        let (out, _) = decode_cap(&[0xF0, 1, 2, 3, 0xF7], 4);
        assert_eq!(out, [sysex(&[0xF0, 1, 2, 3], true)]);
    }

    #[test]
    fn tiny_caps_do_not_panic() {
        for cap in 0..3 {
            let (out, _) = decode_cap(&[0xF0, 1, 2, 0xF7, 0xF0, 0xF7], cap);
            assert_eq!(out.len(), 2);
        }
    }

    #[test]
    fn buffer_is_reused_and_next_sysex_starts_clean() {
        let mut decoder = ByteStreamDecoder::with_sysex_cap(8);
        let mut out = Vec::new();
        decoder.feed(&[0xF0, 1, 2, 3, 4, 5, 6, 7, 8, 0xF7, 0xF0, 9, 0xF7], |m| {
            out.push(EventMessage::from(m))
        });
        assert_eq!(
            out,
            [
                sysex(&[0xF0, 1, 2, 3, 4, 5, 6, 7], true),
                sysex(&[0xF0, 9, 0xF7], false)
            ]
        );
        assert!(decoder.sysex.buf.capacity() <= 8);
    }

    #[test]
    fn sysex_cut_off_by_a_status_byte() {
        let (out, st) = decode(&[0xF0, 0x7E, 0x01, 0x90, 0x3C, 0x40]);
        assert_eq!(
            out,
            [sysex(&[0xF0, 0x7E, 0x01], true), note_on(0, 0x3C, 0x40)]
        );
        assert_eq!(st, stats(2, 0, 1));
    }

    #[test]
    fn sysex_cut_off_by_another_sysex() {
        let (out, st) = decode(&[0xF0, 0x01, 0xF0, 0x02, 0xF7]);
        assert_eq!(
            out,
            [
                sysex(&[0xF0, 0x01], true),
                sysex(&[0xF0, 0x02, 0xF7], false)
            ]
        );
        assert_eq!(st, stats(2, 0, 1));
    }

    #[test]
    fn sysex_cut_off_by_a_one_byte_common_gives_both() {
        let (out, st) = decode(&[0xF0, 0x01, 0xF6, 0xF0, 0xF5]);
        assert_eq!(
            out,
            [
                sysex(&[0xF0, 0x01], true),
                common(SystemCommon::TuneRequest),
                sysex(&[0xF0], true),
                common(SystemCommon::Undefined(0xF5)),
            ]
        );
        assert_eq!(st, stats(4, 0, 2));
        // Through `push`: the second message waits in `take_pending`.
        let mut decoder = ByteStreamDecoder::new();
        assert_eq!(decoder.push(0xF0), None);
        assert!(matches!(
            decoder.push(0xF6),
            Some(Message::SysEx {
                data: [0xF0],
                truncated: true
            })
        ));
        assert_eq!(
            decoder.take_pending(),
            Some(Message::Common(SystemCommon::TuneRequest))
        );
        assert_eq!(decoder.take_pending(), None);
    }

    #[test]
    fn stray_data_bytes_are_counted() {
        // At the start, after a completed System Common, and the lone data
        // byte of a message cut short by a status byte.
        let (out, st) = decode(&[0x01, 0x02, 0xF3, 0x05, 0x06, 0x80, 0x3C, 0x90, 0x3C, 0x40]);
        assert_eq!(
            out,
            [
                common(SystemCommon::SongSelect(u7::new(5))),
                note_on(0, 0x3C, 0x40)
            ]
        );
        assert_eq!(st, stats(2, 4, 0));
    }

    #[test]
    fn note_on_velocity_zero_is_note_off() {
        let (out, _) = decode(&[0x9F, 0x40, 0x00, 0x40, 0x01, 0x8F, 0x40, 0x00]);
        assert_eq!(
            out,
            [
                note_off(15, 0x40, 0),
                note_on(15, 0x40, 1),
                note_off(15, 0x40, 0)
            ]
        );
    }

    #[test]
    fn every_channel_message() {
        let bytes = [
            0x80, 1, 2, 0x91, 3, 4, 0xA2, 5, 6, 0xB3, 7, 8, 0xC4, 9, 0xD5, 10, 0xE6, 0x00, 0x40,
            0xE6, 0x7F, 0x7F, 0xC4, 11,
        ];
        let (out, st) = decode(&bytes);
        let bend = |v: u16| ChannelMessage::PitchBend {
            bend: PitchBend(u14::new(v)),
        };
        assert_eq!(
            out,
            [
                note_off(0, 1, 2),
                note_on(1, 3, 4),
                ch(
                    2,
                    ChannelMessage::Aftertouch {
                        key: u7::new(5),
                        vel: u7::new(6)
                    }
                ),
                ch(
                    3,
                    ChannelMessage::Controller {
                        controller: u7::new(7),
                        value: u7::new(8)
                    }
                ),
                ch(
                    4,
                    ChannelMessage::ProgramChange {
                        program: u7::new(9)
                    }
                ),
                ch(5, ChannelMessage::ChannelAftertouch { vel: u7::new(10) }),
                ch(6, bend(0x2000)),
                ch(6, bend(0x3FFF)),
                ch(
                    4,
                    ChannelMessage::ProgramChange {
                        program: u7::new(11)
                    }
                ),
            ]
        );
        assert_eq!(st, stats(9, 0, 0));
    }

    #[test]
    fn one_data_byte_running_status() {
        let (out, _) = decode(&[0xC0, 1, 2, 3]);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn each_system_common() {
        let (out, st) = decode(&[0xF1, 0x25, 0xF2, 0x08, 0x01, 0xF3, 0x07, 0xF6, 0xF4, 0xF5]);
        assert_eq!(
            out,
            [
                common(SystemCommon::TimeCodeQuarterFrame(u7::new(0x25))),
                common(SystemCommon::SongPosition(u14::new(0x08 | 0x01 << 7))),
                common(SystemCommon::SongSelect(u7::new(7))),
                common(SystemCommon::TuneRequest),
                common(SystemCommon::Undefined(0xF4)),
                common(SystemCommon::Undefined(0xF5)),
            ]
        );
        assert_eq!(st, stats(6, 0, 0));
    }

    #[test]
    fn system_common_cancels_running_status() {
        let (out, st) = decode(&[0x90, 0x3C, 0x40, 0xF6, 0x3E, 0x40, 0xF4, 0x01]);
        assert_eq!(
            out,
            [
                note_on(0, 0x3C, 0x40),
                common(SystemCommon::TuneRequest),
                common(SystemCommon::Undefined(0xF4))
            ]
        );
        assert_eq!(st, stats(3, 3, 0));
        // Also when the System Common is cut by real-time bytes.
        let (out, _) = decode(&[0x90, 0x3C, 0x40, 0xF2, 0xF8, 0x01, 0x02, 0x3E, 0x40]);
        assert_eq!(
            out,
            [
                note_on(0, 0x3C, 0x40),
                rt(0xF8),
                common(SystemCommon::SongPosition(u14::new(0x101)))
            ]
        );
    }

    #[test]
    fn lone_end_of_exclusive_is_stray() {
        let (out, st) = decode(&[0xF7, 0x90, 0x3C, 0xF7, 0x3C, 0x40, 0x3E]);
        // The F7 in the middle is a status byte: it drops the half-read
        // message's data byte (stray too) but leaves running status alone.
        assert_eq!(out, [note_on(0, 0x3C, 0x40)]);
        assert_eq!(st, stats(1, 3, 0));
    }

    /// One valid channel message: (status, data bytes).
    fn channel_strategy() -> impl Strategy<Value = (u8, Vec<u8>)> {
        (0x8u8..=0xE, 0u8..16, 0u8..0x80, 0u8..0x80).prop_map(|(kind, channel, a, b)| {
            let status = kind << 4 | channel;
            let data = if channel_data_len(status) == 1 {
                vec![a]
            } else {
                vec![a, b]
            };
            (status, data)
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            cap in 0usize..40,
        ) {
            let mut decoder = ByteStreamDecoder::with_sysex_cap(cap);
            let mut seen = 0u64;
            decoder.feed(&bytes, |message| {
                seen += 1;
                if let Message::SysEx { data, .. } = message {
                    assert!(data.len() <= cap.max(2));
                    assert_eq!(data.first(), Some(&0xF0));
                }
            });
            prop_assert_eq!(decoder.stats().messages, seen);
        }

        #[test]
        fn encoded_channel_messages_round_trip(
            messages in proptest::collection::vec(
                (channel_strategy(), proptest::collection::vec((0usize..3, 0xF8u8..=0xFF), 0..2)),
                0..64,
            ),
            running_status in any::<bool>(),
        ) {
            let mut bytes = Vec::new();
            let mut expected = Vec::new();
            let mut last_status = None;
            for ((status, data), realtime) in &messages {
                let mut encoded = Vec::new();
                if !running_status || last_status != Some(*status) {
                    encoded.push(*status);
                }
                last_status = Some(*status);
                encoded.extend_from_slice(data);
                // Real-time bytes anywhere before the message's last byte
                // come out before it, in stream order.
                let last = encoded.len() - 1;
                for (index, &byte) in encoded.iter().enumerate() {
                    for &(at, realtime_byte) in realtime {
                        if at.min(last) == index {
                            bytes.push(realtime_byte);
                            expected.push(rt(realtime_byte));
                        }
                    }
                    bytes.push(byte);
                }
                let (d1, d2) = (data[0], data.get(1).copied().unwrap_or(0));
                expected.push(EventMessage::from(channel_message(*status, d1, d2).unwrap()));
            }
            let (out, st) = decode(&bytes);
            prop_assert_eq!(out, expected);
            prop_assert_eq!(st.stray_bytes, 0);
        }
    }
}
