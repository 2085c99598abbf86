//! USB-MIDI 1.0 event packets: [`UsbMidiDecoder`].
//!
//! This module owns the USB-MIDI 1.0 packet rules: 4-byte event packets
//! (cable number and Code Index Number, then up to three MIDI bytes padded
//! with zeros), zero padding, per-cable SysEx reassembly across packets and
//! transfers, and what counts as a malformed packet. Turning status and data
//! bytes into a [`Message`] and the capped SysEx buffer are shared with the
//! byte-stream decoder ([`super::bytes`]).

use super::bytes::{
    channel_data_len, channel_message, common_data_len, system_common, SysExBuffer, SYSEX_END,
    SYSEX_START,
};
use super::message::{u4, DecodeStats, Message, SystemRealtime, DEFAULT_SYSEX_CAP};

/// Bytes in one USB-MIDI event packet.
const PACKET_LEN: usize = 4;
/// Number of virtual cables one endpoint can carry.
const CABLES: usize = 16;

/// Decoder for USB-MIDI 1.0 event packets, as a class-compliant device's
/// bulk (or interrupt) IN endpoint delivers them.
///
/// Each of the 16 virtual cables has its own SysEx in progress, kept across
/// packets and across [`UsbMidiDecoder::feed`] calls. Packets that make no
/// sense are counted in [`DecodeStats::malformed_packets`] and skipped; the
/// packets around them still decode. Never panics; allocates only a cable's
/// SysEx buffer (on that cable's first SysEx, growing at most to the cap,
/// then reused).
///
/// ```
/// use composer_probe::decode::usb_midi::UsbMidiDecoder;
/// let mut decoder = UsbMidiDecoder::new();
/// let mut count = 0;
/// // Note On on cable 0, then a padding packet.
/// decoder.feed(&[0x09, 0x90, 0x3C, 0x40, 0, 0, 0, 0], |_cable, _message| count += 1);
/// assert_eq!(count, 1);
/// ```
#[derive(Debug)]
pub struct UsbMidiDecoder {
    sysex: [SysExBuffer; CABLES],
    stats: DecodeStats,
}

impl Default for UsbMidiDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl UsbMidiDecoder {
    /// A decoder keeping SysEx messages up to [`DEFAULT_SYSEX_CAP`] bytes.
    pub fn new() -> Self {
        Self::with_sysex_cap(DEFAULT_SYSEX_CAP)
    }

    /// A decoder keeping the first `cap` bytes of each SysEx message (`F0`
    /// and `F7` included; a cap below 2 counts as 2), per cable. Longer
    /// messages are reported with `truncated: true`.
    pub fn with_sysex_cap(cap: usize) -> Self {
        Self {
            sysex: std::array::from_fn(|_| SysExBuffer::new(cap)),
            stats: DecodeStats::default(),
        }
    }

    /// What the decoder produced and skipped so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Decode one USB transfer (any number of whole 4-byte packets), calling
    /// `emit` with the cable number and each message in order. A trailing
    /// partial packet is counted malformed and skipped.
    #[inline]
    pub fn feed(&mut self, transfer: &[u8], mut emit: impl FnMut(u4, Message<'_>)) {
        let mut packets = transfer.chunks_exact(PACKET_LEN);
        for packet in &mut packets {
            self.packet([packet[0], packet[1], packet[2], packet[3]], &mut emit);
        }
        if !packets.remainder().is_empty() {
            self.stats.malformed_packets += 1;
        }
    }

    /// Decode one event packet.
    #[inline]
    fn packet(&mut self, packet: [u8; PACKET_LEN], emit: &mut impl FnMut(u4, Message<'_>)) {
        let [header, b1, b2, b3] = packet;
        let cable = usize::from(header >> 4);
        let cin = header & 0x0F;
        let ok = match cin {
            // Reserved (misc. function codes, cable events): only zero
            // padding is expected here.
            0x0 | 0x1 => {
                if packet == [0; PACKET_LEN] {
                    return;
                }
                false
            }
            // 2- and 3-byte System Common.
            0x2 | 0x3 => {
                let need = cin - 1;
                common_data_len(b1) == Some(need)
                    && is_data(&[b2, b3][..usize::from(need)])
                    && self.common(cable, b1, b2, b3, emit)
            }
            // SysEx start or continue.
            0x4 => self.sysex_packet(cable, &[b1, b2, b3], false, emit),
            // Single-byte System Common, or SysEx ending with one byte.
            0x5 => match b1 {
                SYSEX_END => self.sysex_packet(cable, &[b1], true, emit),
                _ => common_data_len(b1) == Some(0) && self.common(cable, b1, 0, 0, emit),
            },
            // SysEx ends with two or three bytes.
            0x6 => self.sysex_packet(cable, &[b1, b2], true, emit),
            0x7 => self.sysex_packet(cable, &[b1, b2, b3], true, emit),
            // Channel messages: the status nibble must be the CIN.
            0x8..=0xE => {
                let data = &[b2, b3][..usize::from(channel_data_len(b1))];
                b1 >> 4 == cin && is_data(data) && {
                    self.abort_sysex(cable, emit);
                    match channel_message(b1, b2, b3) {
                        Some(message) => {
                            self.emit(cable, message, emit);
                            true
                        }
                        None => false,
                    }
                }
            }
            // Single byte.
            _ => self.single_byte(cable, b1, emit),
        };
        if !ok {
            self.stats.malformed_packets += 1;
        }
    }

    /// A CIN 0xF packet carrying `byte`; false when it makes no sense alone.
    #[inline]
    fn single_byte(
        &mut self,
        cable: usize,
        byte: u8,
        emit: &mut impl FnMut(u4, Message<'_>),
    ) -> bool {
        match byte {
            0xF8..=0xFF => {
                self.emit(cable, Message::Realtime(SystemRealtime::new(byte)), emit);
                true
            }
            SYSEX_START => self.sysex_packet(cable, &[byte], false, emit),
            SYSEX_END => self.sysex_packet(cable, &[byte], true, emit),
            // A data byte belongs to the cable's SysEx, if any.
            0x00..=0x7F => self.sysex_packet(cable, &[byte], false, emit),
            // One-byte System Common; anything needing data bytes is not
            // supported one byte at a time.
            _ => common_data_len(byte) == Some(0) && self.common(cable, byte, 0, 0, emit),
        }
    }

    /// A System Common message; it ends the cable's SysEx, if any.
    #[inline]
    fn common(
        &mut self,
        cable: usize,
        status: u8,
        data1: u8,
        data2: u8,
        emit: &mut impl FnMut(u4, Message<'_>),
    ) -> bool {
        match system_common(status, data1, data2) {
            Some(message) => {
                self.abort_sysex(cable, emit);
                self.emit(cable, message, emit);
                true
            }
            None => false,
        }
    }

    /// The MIDI bytes of a SysEx packet (CIN 0x4–0x7, or 0xF with one byte);
    /// `ends` when the last one must be `F7`. Validates the whole packet
    /// before touching the cable's state; false when malformed.
    #[inline]
    fn sysex_packet(
        &mut self,
        cable: usize,
        bytes: &[u8],
        ends: bool,
        emit: &mut impl FnMut(u4, Message<'_>),
    ) -> bool {
        let (starts, rest) = match bytes.split_first() {
            Some((&SYSEX_START, rest)) => (true, rest),
            _ => (false, bytes),
        };
        let body = if ends {
            match rest.split_last() {
                Some((&SYSEX_END, body)) => body,
                _ => return false,
            }
        } else {
            rest
        };
        let Some(sysex) = self.sysex.get(cable) else {
            return false;
        };
        if !is_data(body) || (!starts && !sysex.is_active()) {
            return false;
        }
        if starts {
            self.abort_sysex(cable, emit);
            self.sysex[cable].begin();
        }
        let sysex = &mut self.sysex[cable];
        for &byte in body {
            sysex.push(byte);
        }
        if ends {
            let truncated = sysex.close(true).unwrap_or(true);
            self.emit_sysex(cable, truncated, emit);
        }
        true
    }

    /// Report the cable's SysEx in progress, if any, as cut off.
    #[inline]
    fn abort_sysex(&mut self, cable: usize, emit: &mut impl FnMut(u4, Message<'_>)) {
        if let Some(truncated) = self.sysex.get_mut(cable).and_then(|s| s.close(false)) {
            self.emit_sysex(cable, truncated, emit);
        }
    }

    /// Report the cable's SysEx just closed.
    #[inline]
    fn emit_sysex(
        &mut self,
        cable: usize,
        truncated: bool,
        emit: &mut impl FnMut(u4, Message<'_>),
    ) {
        if truncated {
            self.stats.truncated_sysex += 1;
        }
        self.stats.messages += 1;
        if let Some(sysex) = self.sysex.get(cable) {
            emit(
                cable_number(cable),
                Message::SysEx {
                    data: sysex.data(),
                    truncated,
                },
            );
        }
    }

    /// Count and report a message.
    #[inline]
    fn emit(
        &mut self,
        cable: usize,
        message: Message<'static>,
        emit: &mut impl FnMut(u4, Message<'_>),
    ) {
        self.stats.messages += 1;
        emit(cable_number(cable), message);
    }
}

/// Whether every byte is a MIDI data byte (< 0x80).
#[inline]
fn is_data(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b < 0x80)
}

/// The cable index (0–15) as a `u4`.
#[inline]
fn cable_number(cable: usize) -> u4 {
    u4::new(cable as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::message::{u14, u7, ChannelMessage, PitchBend, SystemCommon};
    use crate::decode::test_support::{ch, common, note_off, note_on, rt, sysex};
    use crate::decode::EventMessage;
    use proptest::prelude::*;

    /// Feed each transfer in turn to one decoder; (cable, message) pairs.
    fn decode_transfers(transfers: &[&[u8]], cap: usize) -> (Vec<(u8, EventMessage)>, DecodeStats) {
        let mut decoder = UsbMidiDecoder::with_sysex_cap(cap);
        let mut out = Vec::new();
        for transfer in transfers {
            decoder.feed(transfer, |cable, message| {
                out.push((cable.as_int(), EventMessage::from(message)))
            });
        }
        (out, decoder.stats())
    }

    fn decode(transfer: &[u8]) -> (Vec<(u8, EventMessage)>, DecodeStats) {
        decode_transfers(&[transfer], DEFAULT_SYSEX_CAP)
    }

    fn stats(messages: u64, malformed_packets: u64, truncated_sysex: u64) -> DecodeStats {
        DecodeStats {
            messages,
            stray_bytes: 0,
            malformed_packets,
            truncated_sysex,
        }
    }

    #[test]
    fn note_on_and_off() {
        let (out, st) = decode(&[
            0x09, 0x90, 0x3C, 0x40, // Note On
            0x08, 0x80, 0x3C, 0x10, // Note Off
            0x09, 0x90, 0x3C, 0x00, // Note On velocity 0
        ]);
        assert_eq!(
            out,
            [
                (0, note_on(0, 0x3C, 0x40)),
                (0, note_off(0, 0x3C, 0x10)),
                (0, note_off(0, 0x3C, 0)),
            ]
        );
        assert_eq!(st, stats(3, 0, 0));
    }

    #[test]
    fn every_channel_message_cin() {
        let (out, st) = decode(&[
            0x0A, 0xA1, 0x3C, 0x22, // Poly pressure
            0x0B, 0xB2, 0x07, 0x64, // Control Change
            0x0C, 0xC3, 0x05, 0x00, // Program Change
            0x0D, 0xD4, 0x33, 0x00, // Channel Pressure
            0x0E, 0xE5, 0x00, 0x40, // Pitch Bend centre
            0x0E, 0xE5, 0x7F, 0x7F, // Pitch Bend top
        ]);
        let bend = |v| ChannelMessage::PitchBend {
            bend: PitchBend(u14::new(v)),
        };
        assert_eq!(
            out,
            [
                (
                    0,
                    ch(
                        1,
                        ChannelMessage::Aftertouch {
                            key: u7::new(0x3C),
                            vel: u7::new(0x22)
                        }
                    )
                ),
                (
                    0,
                    ch(
                        2,
                        ChannelMessage::Controller {
                            controller: u7::new(7),
                            value: u7::new(100)
                        }
                    )
                ),
                (
                    0,
                    ch(
                        3,
                        ChannelMessage::ProgramChange {
                            program: u7::new(5)
                        }
                    )
                ),
                (
                    0,
                    ch(4, ChannelMessage::ChannelAftertouch { vel: u7::new(0x33) })
                ),
                (0, ch(5, bend(0x2000))),
                (0, ch(5, bend(0x3FFF))),
            ]
        );
        assert_eq!(st, stats(6, 0, 0));
    }

    #[test]
    fn sysex_over_three_packets() {
        let (out, st) = decode(&[
            0x04, 0xF0, 0x43, 0x10, // start
            0x04, 0x4C, 0x00, 0x00, // continue
            0x07, 0x7E, 0x00, 0xF7, // end with 3
        ]);
        assert_eq!(
            out,
            [(
                0,
                sysex(
                    &[0xF0, 0x43, 0x10, 0x4C, 0x00, 0x00, 0x7E, 0x00, 0xF7],
                    false
                )
            )]
        );
        assert_eq!(st, stats(1, 0, 0));
    }

    #[test]
    fn sysex_across_two_transfers() {
        let (out, st) = decode_transfers(
            &[
                &[0x04, 0xF0, 0x7E, 0x7F, 0x04, 0x06, 0x01, 0x02],
                &[0x06, 0x03, 0xF7, 0x00],
            ],
            DEFAULT_SYSEX_CAP,
        );
        assert_eq!(
            out,
            [(
                0,
                sysex(&[0xF0, 0x7E, 0x7F, 0x06, 0x01, 0x02, 0x03, 0xF7], false)
            )]
        );
        assert_eq!(st, stats(1, 0, 0));
    }

    #[test]
    fn sysex_ends_with_one_two_or_three_bytes() {
        let (out, st) = decode(&[
            0x04, 0xF0, 0x01, 0x02, 0x05, 0xF7, 0x00, 0x00, // ends with 1
            0x04, 0xF0, 0x01, 0x02, 0x06, 0x03, 0xF7, 0x00, // ends with 2
            0x04, 0xF0, 0x01, 0x02, 0x07, 0x03, 0x04, 0xF7, // ends with 3
            0x06, 0xF0, 0xF7, 0x00, // whole, empty
            0x07, 0xF0, 0x05, 0xF7, // whole, one byte
        ]);
        assert_eq!(
            out,
            [
                (0, sysex(&[0xF0, 1, 2, 0xF7], false)),
                (0, sysex(&[0xF0, 1, 2, 3, 0xF7], false)),
                (0, sysex(&[0xF0, 1, 2, 3, 4, 0xF7], false)),
                (0, sysex(&[0xF0, 0xF7], false)),
                (0, sysex(&[0xF0, 5, 0xF7], false)),
            ]
        );
        assert_eq!(st, stats(5, 0, 0));
    }

    #[test]
    fn sysex_over_the_cap() {
        let (out, st) = decode_transfers(
            &[&[
                0x04, 0xF0, 0x01, 0x02, 0x04, 0x03, 0x04, 0x05, 0x07, 0x06, 0x07, 0xF7,
            ]],
            4,
        );
        assert_eq!(out, [(0, sysex(&[0xF0, 1, 2, 3], true))]);
        assert_eq!(st, stats(1, 0, 1));
    }

    #[test]
    fn single_bytes() {
        let (out, st) = decode(&[
            0x0F, 0xF8, 0x00, 0x00, // clock
            0x0F, 0xFA, 0x00, 0x00, // start
            0x0F, 0xF0, 0x00, 0x00, // SysEx a byte at a time
            0x0F, 0x01, 0x00, 0x00, // ...
            0x0F, 0xF8, 0x00, 0x00, // clock inside it
            0x0F, 0x02, 0x00, 0x00, // ...
            0x0F, 0xF7, 0x00, 0x00, // end
            0x0F, 0xF6, 0x00, 0x00, // tune request
            0x0F, 0x05, 0x00, 0x00, // data byte without SysEx: malformed
            0x0F, 0x90, 0x00, 0x00, // lone channel status: malformed
        ]);
        assert_eq!(
            out,
            [
                (0, rt(0xF8)),
                (0, rt(0xFA)),
                (0, rt(0xF8)),
                (0, sysex(&[0xF0, 1, 2, 0xF7], false)),
                (0, common(SystemCommon::TuneRequest)),
            ]
        );
        assert_eq!(st, stats(5, 2, 0));
    }

    #[test]
    fn system_common_cins() {
        let (out, st) = decode(&[
            0x02, 0xF1, 0x25, 0x00, // MTC quarter frame
            0x02, 0xF3, 0x07, 0x00, // Song Select
            0x03, 0xF2, 0x08, 0x01, // Song Position
            0x05, 0xF6, 0x00, 0x00, // Tune Request
            0x02, 0xF2, 0x08, 0x00, // F2 needs CIN 3: malformed
            0x03, 0xF1, 0x08, 0x00, // F1 needs CIN 2: malformed
            0x05, 0xF1, 0x00, 0x00, // malformed
            0x02, 0xF3, 0x80, 0x00, // data byte too big: malformed
        ]);
        assert_eq!(
            out,
            [
                (0, common(SystemCommon::TimeCodeQuarterFrame(u7::new(0x25)))),
                (0, common(SystemCommon::SongSelect(u7::new(7)))),
                (0, common(SystemCommon::SongPosition(u14::new(0x88)))),
                (0, common(SystemCommon::TuneRequest)),
            ]
        );
        assert_eq!(st, stats(4, 4, 0));
    }

    #[test]
    fn two_cables_interleaved() {
        let (out, st) = decode(&[
            0x04, 0xF0, 0x01, 0x02, // cable 0 start
            0x14, 0xF0, 0x11, 0x12, // cable 1 start
            0x04, 0x03, 0x04, 0x05, // cable 0 continue
            0x19, 0x91, 0x3C, 0x40, // cable 1 note on: aborts cable 1's SysEx
            0x14, 0xF0, 0x21, 0x22, // cable 1 start again
            0x1F, 0xF8, 0x00, 0x00, // cable 1 clock: harmless
            0x16, 0x23, 0xF7, 0x00, // cable 1 end
            0x05, 0xF7, 0x00, 0x00, // cable 0 end
        ]);
        assert_eq!(
            out,
            [
                (1, sysex(&[0xF0, 0x11, 0x12], true)),
                (1, note_on(1, 0x3C, 0x40)),
                (1, EventMessage::Realtime(SystemRealtime::TimingClock)),
                (1, sysex(&[0xF0, 0x21, 0x22, 0x23, 0xF7], false)),
                (0, sysex(&[0xF0, 1, 2, 3, 4, 5, 0xF7], false)),
            ]
        );
        assert_eq!(st, stats(5, 0, 1));
    }

    #[test]
    fn sixteen_cables_each_their_own_sysex() {
        let mut transfer = Vec::new();
        for cable in 0..16u8 {
            transfer.extend_from_slice(&[cable << 4 | 0x4, 0xF0, cable, cable]);
        }
        for cable in (0..16u8).rev() {
            transfer.extend_from_slice(&[cable << 4 | 0x5, 0xF7, 0, 0]);
        }
        let (out, st) = decode(&transfer);
        let expected: Vec<_> = (0..16u8)
            .rev()
            .map(|c| (c, sysex(&[0xF0, c, c, 0xF7], false)))
            .collect();
        assert_eq!(out, expected);
        assert_eq!(st, stats(16, 0, 0));
    }

    #[test]
    fn zero_padding_is_skipped() {
        let mut transfer = vec![0x09, 0x90, 0x3C, 0x40];
        transfer.resize(64, 0);
        let (out, st) = decode(&transfer);
        assert_eq!(out, [(0, note_on(0, 0x3C, 0x40))]);
        assert_eq!(st, stats(1, 0, 0));
        // Padding between the packets of a SysEx does not disturb it.
        let (out, st) = decode(&[0x04, 0xF0, 0x01, 0x02, 0, 0, 0, 0, 0x05, 0xF7, 0x00, 0x00]);
        assert_eq!(out, [(0, sysex(&[0xF0, 1, 2, 0xF7], false))]);
        assert_eq!(st, stats(1, 0, 0));
    }

    #[test]
    fn malformed_packets_are_skipped() {
        let (out, st) = decode(&[
            0x09, 0x90, 0x3C, 0x40, // good
            0x09, 0x80, 0x3C, 0x40, // status does not match CIN
            0x0B, 0xB0, 0x07, 0x80, // data byte >= 0x80
            0x04, 0x01, 0x02, 0x03, // continue without start
            0x05, 0xF7, 0x00, 0x00, // end without start
            0x01, 0x00, 0x00, 0x01, // reserved CIN with data
            0x10, 0x00, 0x00, 0x00, // reserved CIN, cable 1: not plain padding
            0x08, 0x80, 0x3C, 0x00, // good
            0x04, 0xF0, 0x01, 0xF7, // F7 in a start packet
            0x04, 0xF0, 0x01, 0x02, // good start
            0x07, 0x03, 0x04, 0x05, // end without F7: malformed, SysEx goes on
            0x06, 0x03, 0xF7, 0x00, // good end
            0x08, 0x80, // partial packet
        ]);
        assert_eq!(
            out,
            [
                (0, note_on(0, 0x3C, 0x40)),
                (0, note_off(0, 0x3C, 0)),
                (0, sysex(&[0xF0, 1, 2, 3, 0xF7], false)),
            ]
        );
        assert_eq!(st, stats(3, 9, 0));
    }

    #[test]
    fn channel_message_aborts_sysex() {
        let (out, st) = decode(&[
            0x04, 0xF0, 0x01, 0x02, // start
            0x0B, 0xB0, 0x01, 0x40, // CC: SysEx cut off
            0x05, 0xF7, 0x00, 0x00, // end: nothing in progress now
        ]);
        assert_eq!(
            out,
            [
                (0, sysex(&[0xF0, 1, 2], true)),
                (
                    0,
                    ch(
                        0,
                        ChannelMessage::Controller {
                            controller: u7::new(1),
                            value: u7::new(0x40)
                        }
                    )
                ),
            ]
        );
        assert_eq!(st, stats(2, 1, 1));
    }

    #[test]
    fn new_start_aborts_sysex_in_progress() {
        let (out, st) = decode(&[
            0x04, 0xF0, 0x01, 0x02, 0x04, 0xF0, 0x03, 0x04, 0x05, 0xF7, 0x00, 0x00,
        ]);
        assert_eq!(
            out,
            [
                (0, sysex(&[0xF0, 1, 2], true)),
                (0, sysex(&[0xF0, 3, 4, 0xF7], false)),
            ]
        );
        assert_eq!(st, stats(2, 0, 1));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            transfers in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..80), 0..8),
            cap in 0usize..40,
        ) {
            let mut decoder = UsbMidiDecoder::with_sysex_cap(cap);
            let mut seen = 0u64;
            for transfer in &transfers {
                decoder.feed(transfer, |_, message| {
                    seen += 1;
                    if let Message::SysEx { data, .. } = message {
                        assert!(data.len() <= cap.max(2));
                        assert_eq!(data.first(), Some(&0xF0));
                    }
                });
            }
            prop_assert_eq!(decoder.stats().messages, seen);
        }

        #[test]
        fn plausible_packets_never_panic(
            packets in proptest::collection::vec(
                (0u8..4, 0u8..16, prop_oneof![Just(0xF0u8), Just(0xF7), any::<u8>()], any::<u8>(), any::<u8>()),
                0..64),
        ) {
            // Few cables and valid-looking headers reach deeper states than
            // uniformly random bytes.
            let mut transfer = Vec::new();
            for (cable, cin, b1, b2, b3) in packets {
                transfer.extend_from_slice(&[cable << 4 | cin, b1, b2 & 0x7F, b3]);
            }
            let mut decoder = UsbMidiDecoder::with_sysex_cap(8);
            decoder.feed(&transfer, |_, _| {});
        }
    }
}
