//! Reading Standard MIDI Files (midly), the counterpart of the writer in
//! `smf`: every track merged into one time-ordered list of decoded
//! messages, tempo changes applied. Serves `--file`, `render` and ▶.

use crate::decode::bytes::ByteStreamDecoder;
use crate::decode::message::{u4, u7, ChannelMessage, EventMessage, MidiEvent};
use midly::{MetaMessage, Smf, Timing, TrackEventKind};
use std::path::{Path, PathBuf};

/// Why a MIDI file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// It is not a Standard MIDI File at all.
    #[error(
        "{path} is not a Standard MIDI File (it does not start with \"MThd\"); give a .mid file"
    )]
    NotMidi {
        /// The file.
        path: PathBuf,
    },
    /// It starts like one but is damaged.
    #[error("{path} is a damaged MIDI file (nothing was played from it)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ParseError,
    },
}

/// Why bytes are not a usable Standard MIDI File.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// An SMPTE division of -128 frames per second (midly 0.5.3 would
    /// overflow on it).
    #[error("its header asks for SMPTE timing at -128 frames per second")]
    BadSmpte,
    /// midly could not parse it.
    #[error(transparent)]
    Midly(#[from] midly::Error),
    /// A track without its End of Track.
    #[error("track {0} is cut short (no End of Track)")]
    CutShort(usize),
}

/// Reads a MIDI file into time-ordered messages (all tracks merged; meta
/// events other than tempo are dropped). Times are microseconds from the
/// start of the file; the cable is always 0.
pub fn load(path: &Path) -> Result<Vec<MidiEvent>, FileError> {
    let raw = std::fs::read(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&raw).map_err(|source| {
        if raw.starts_with(b"MThd") || raw.starts_with(b"RIFF") {
            FileError::Corrupt {
                path: path.to_owned(),
                source,
            }
        } else {
            FileError::NotMidi {
                path: path.to_owned(),
            }
        }
    })
}

/// Parses SMF bytes into time-ordered messages.
pub fn parse(raw: &[u8]) -> Result<Vec<MidiEvent>, ParseError> {
    // midly 0.5.3 negates the SMPTE frame rate byte with `-(fps as i8)`,
    // which overflows (a panic in debug builds) for 0x80 = -128 frames per
    // second. No file uses that rate: refuse it before midly sees it. The
    // frame-rate byte sits 12 bytes after "MThd" (length, format, tracks).
    let bad_smpte = raw
        .windows(4)
        .enumerate()
        .any(|(at, chunk)| chunk == b"MThd" && raw.get(at + 12) == Some(&0x80));
    if bad_smpte {
        return Err(ParseError::BadSmpte);
    }
    let smf = Smf::parse(raw)?;
    // midly's lenient parser accepts a track cut short; a track without its
    // End of Track is a damaged file, not a shorter song.
    for (number, track) in smf.tracks.iter().enumerate() {
        let ended = matches!(
            track.last().map(|e| e.kind),
            Some(TrackEventKind::Meta(MetaMessage::EndOfTrack))
        );
        if !ended {
            return Err(ParseError::CutShort(number + 1));
        }
    }
    let mut timed: Vec<(u64, usize, TrackEventKind<'_>)> = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for event in track {
            tick += u64::from(event.delta.as_int());
            timed.push((tick, timed.len(), event.kind));
        }
    }
    timed.sort_by_key(|(tick, order, _)| (*tick, *order));

    let mut clock = TickClock::new(smf.header.timing);
    // SysEx and escaped bytes are raw MIDI: the byte-stream decoder caps
    // and checks them as it does for a port.
    let mut raw_bytes = ByteStreamDecoder::new();
    let mut events = Vec::new();
    for (tick, _, kind) in timed {
        let t_us = clock.at(tick);
        let mut push = |message| {
            events.push(MidiEvent {
                t_us,
                cable: u4::new(0),
                message,
            })
        };
        match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(tempo)) => {
                clock.set_tempo(tick, tempo.as_int())
            }
            TrackEventKind::Midi { channel, message } => push(EventMessage::Channel {
                channel,
                message: note_on_zero_as_off(message),
            }),
            TrackEventKind::SysEx(data) => {
                raw_bytes.feed(&[0xf0], |m| push(m.into()));
                raw_bytes.feed(data, |m| push(m.into()));
            }
            TrackEventKind::Escape(data) => raw_bytes.feed(data, |m| push(m.into())),
            TrackEventKind::Meta(_) => {}
        }
    }
    Ok(events)
}

/// A Note On with velocity 0 as the Note Off it means, as both live
/// decoders report it.
fn note_on_zero_as_off(message: ChannelMessage) -> ChannelMessage {
    match message {
        ChannelMessage::NoteOn { key, vel } if vel.as_int() == 0 => ChannelMessage::NoteOff {
            key,
            vel: u7::new(0),
        },
        other => other,
    }
}

/// Converts ticks to microseconds across tempo changes without drift:
/// each tempo segment is computed from its start, never accumulated.
struct TickClock {
    ticks_per_beat: u64,
    /// Microseconds per tick when the file uses SMPTE timing.
    smpte_us_per_tick: Option<f64>,
    tempo_us_per_beat: u64,
    segment_tick: u64,
    segment_us: u64,
}

impl TickClock {
    fn new(timing: Timing) -> Self {
        let (ticks_per_beat, smpte_us_per_tick) = match timing {
            Timing::Metrical(ppq) => (u64::from(ppq.as_int().max(1)), None),
            Timing::Timecode(fps, subframes) => (
                1,
                Some(1_000_000.0 / (f64::from(fps.as_f32()) * f64::from(subframes.max(1)))),
            ),
        };
        TickClock {
            ticks_per_beat,
            smpte_us_per_tick,
            tempo_us_per_beat: 500_000,
            segment_tick: 0,
            segment_us: 0,
        }
    }

    fn at(&self, tick: u64) -> u64 {
        if let Some(us_per_tick) = self.smpte_us_per_tick {
            return (tick as f64 * us_per_tick).round() as u64;
        }
        let ticks = u128::from(tick.saturating_sub(self.segment_tick));
        let us = ticks * u128::from(self.tempo_us_per_beat) / u128::from(self.ticks_per_beat);
        self.segment_us
            .saturating_add(u64::try_from(us).unwrap_or(u64::MAX))
    }

    fn set_tempo(&mut self, tick: u64, us_per_beat: u32) {
        self.segment_us = self.at(tick);
        self.segment_tick = tick;
        self.tempo_us_per_beat = u64::from(us_per_beat.max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-0 file: PPQ 96, one note at tick 0 and its release at 96,
    /// a tempo change to 60 bpm at tick 96, another note at 192.
    fn small_file() -> Vec<u8> {
        let track: Vec<u8> = vec![
            0x00, 0x90, 60, 100, // note on
            0x60, 0x80, 60, 0, // note off at 96
            0x00, 0xff, 0x51, 0x03, 0x0f, 0x42, 0x40, // tempo 1,000,000 at 96
            0x60, 0x90, 62, 90, // note on at 192
            0x00, 0xff, 0x2f, 0x00,
        ];
        let mut bytes = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk".to_vec();
        bytes.extend((track.len() as u32).to_be_bytes());
        bytes.extend(track);
        bytes
    }

    #[test]
    fn times_follow_tempo_changes() {
        let events = parse(&small_file()).unwrap();
        let times: Vec<u64> = events.iter().map(|e| e.t_us).collect();
        assert_eq!(times, [0, 500_000, 1_500_000]);
        let mut bytes = Vec::new();
        events[0].message.write_bytes(&mut bytes);
        assert_eq!(bytes, [0x90, 60, 100]);
    }

    #[test]
    fn an_hour_of_ticks_does_not_drift() {
        let mut clock = TickClock::new(Timing::Metrical(midly::num::u15::new(480)));
        clock.set_tempo(0, 500_000);
        // 3600 s at 120 bpm = 7200 beats.
        assert_eq!(clock.at(7200 * 480), 3_600_000_000);
    }

    #[test]
    fn garbage_is_not_midi_and_a_cut_file_is_damaged() {
        let dir = std::env::temp_dir().join(format!("cp-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert!(matches!(load(&text), Err(FileError::NotMidi { .. })));
        let cut = dir.join("cut.mid");
        std::fs::write(&cut, &small_file()[..30]).unwrap();
        assert!(
            matches!(load(&cut), Err(FileError::Corrupt { .. })),
            "{:?}",
            load(&cut)
        );
        assert!(matches!(
            load(&dir.join("missing.mid")),
            Err(FileError::Read { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
