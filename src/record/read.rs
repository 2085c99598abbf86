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
    /// Its header gives events no usable time (a division of 0, or SMPTE
    /// at -128 frames per second).
    #[error("{path} cannot be played")]
    Untimed {
        /// The file.
        path: PathBuf,
        /// What is wrong with its header.
        #[source]
        source: ParseError,
    },
    /// It starts like one but is damaged.
    #[error(
        "{path} is a damaged MIDI file (nothing was played from it; \
         `render --lenient` plays what can be read)"
    )]
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
    #[error("track {track} (its chunk starts at byte {offset}) is cut short: no End of Track")]
    CutShort {
        /// The track, from 1.
        track: usize,
        /// Where its chunk starts in the file.
        offset: usize,
    },
    /// The chunks do not add up: a length that runs past the end of the
    /// file, or tracks the header promises that are not there.
    #[error("{what}")]
    Chunks {
        /// What is wrong, where.
        what: String,
        /// Where, in bytes from the start of the file.
        offset: usize,
    },
    /// A division of 0 ticks per quarter note (or per SMPTE frame): no time
    /// can be given to any event.
    #[error("its header (at byte {offset}) says 0 ticks per {per}, so no event has a time")]
    ZeroDivision {
        /// "quarter note" or "frame".
        per: &'static str,
        /// Where the division is.
        offset: usize,
    },
}

/// A MIDI file read, and what was wrong with it when read leniently.
#[derive(Debug)]
pub struct Loaded {
    /// The time-ordered messages (see [`load`]).
    pub events: Vec<MidiEvent>,
    /// The first damage found, when [`load_lenient`] read past it.
    pub damage: Option<ParseError>,
}

/// Reads a MIDI file into time-ordered messages (all tracks merged; meta
/// events other than tempo are dropped). Times are microseconds from the
/// start of the file; the cable is always 0. A damaged file is refused.
pub fn load(path: &Path) -> Result<Vec<MidiEvent>, FileError> {
    read_file(path, false).map(|loaded| loaded.events)
}

/// [`load`], but a damaged file gives what can be read (as fluidsynth and
/// timidity do), with the first damage found. Files that cannot be timed
/// (a division of 0) or parsed at all are still refused.
pub fn load_lenient(path: &Path) -> Result<Loaded, FileError> {
    read_file(path, true)
}

fn read_file(path: &Path, lenient: bool) -> Result<Loaded, FileError> {
    let raw = std::fs::read(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_file(&raw, lenient).map_err(|source| {
        if matches!(
            source,
            ParseError::ZeroDivision { .. } | ParseError::BadSmpte
        ) {
            FileError::Untimed {
                path: path.to_owned(),
                source,
            }
        } else if raw.starts_with(b"MThd") || raw.starts_with(b"RIFF") {
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

/// Parses SMF bytes into time-ordered messages; a damaged file is an error.
pub fn parse(raw: &[u8]) -> Result<Vec<MidiEvent>, ParseError> {
    parse_file(raw, false).map(|loaded| loaded.events)
}

/// Parses SMF bytes, leniently or not (see [`load_lenient`]).
pub fn parse_file(raw: &[u8], lenient: bool) -> Result<Loaded, ParseError> {
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
    // midly reads leniently: tracks the header promises but the file lacks,
    // and chunks cut short, come back as fewer or shorter tracks.
    let mut chunks = Chunks::walk(raw);
    let mut damage = chunks.damage.take();
    if !lenient {
        if let Some(found) = damage.take() {
            return Err(found);
        }
    }
    let smf = Smf::parse(raw)?;
    let zero = match smf.header.timing {
        Timing::Metrical(ppq) if ppq.as_int() == 0 => Some("quarter note"),
        Timing::Timecode(_, 0) => Some("frame"),
        _ => None,
    };
    if let Some(per) = zero {
        return Err(ParseError::ZeroDivision {
            per,
            offset: chunks.header + 12,
        });
    }
    // A track without its End of Track is a damaged file, not a shorter song.
    for (number, track) in smf.tracks.iter().enumerate() {
        let ended = matches!(
            track.last().map(|e| e.kind),
            Some(TrackEventKind::Meta(MetaMessage::EndOfTrack))
        );
        if !ended && damage.is_none() {
            let cut = ParseError::CutShort {
                track: number + 1,
                offset: chunks.tracks.get(number).copied().unwrap_or(chunks.header),
            };
            if !lenient {
                return Err(cut);
            }
            damage = Some(cut);
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
    Ok(Loaded { events, damage })
}

/// Where a file's chunks are, and the first way they do not add up.
struct Chunks {
    /// Offset of "MThd".
    header: usize,
    /// Offset of each "MTrk" chunk, in order.
    tracks: Vec<usize>,
    damage: Option<ParseError>,
}

impl Chunks {
    /// Walks the chunks after the first "MThd" (bare, or inside a RIFF RMID
    /// wrapper). Allocates one offset per track found, never per number the
    /// file states.
    fn walk(raw: &[u8]) -> Chunks {
        let header = raw.windows(4).position(|w| w == b"MThd").unwrap_or(0);
        let mut chunks = Chunks {
            header,
            tracks: Vec::new(),
            damage: None,
        };
        let be32 = |at: usize| {
            raw.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (Some(length), Some(count)) = (be32(header + 4), raw.get(header + 10..header + 12))
        else {
            return chunks; // midly says what is missing
        };
        let promised = usize::from(u16::from_be_bytes([count[0], count[1]]));
        let after_header = raw.len() - (header + 8);
        if length < 6 || length > after_header {
            chunks.damage = Some(ParseError::Chunks {
                what: format!(
                    "the MThd chunk length at byte {} is {length}; it must be at least 6 \
                     and the file has {after_header} bytes after it",
                    header + 4
                ),
                offset: header + 4,
            });
            return chunks;
        }
        let mut at = header + 8 + length;
        while chunks.tracks.len() < promised {
            let Some(length) = be32(at + 4) else {
                chunks.damage = Some(ParseError::Chunks {
                    what: format!(
                        "the header (byte {}) promises {promised} tracks, but the file ends \
                         after {} (at byte {})",
                        header + 10,
                        chunks.tracks.len(),
                        raw.len()
                    ),
                    offset: raw.len(),
                });
                return chunks;
            };
            let left = raw.len() - (at + 8);
            let is_track = &raw[at..at + 4] == b"MTrk";
            if is_track {
                chunks.tracks.push(at);
            }
            if length > left {
                let what = if is_track {
                    format!(
                        "track {} (the chunk at byte {at}) says it is {length} bytes long, \
                         but the file ends {left} bytes into it",
                        chunks.tracks.len()
                    )
                } else {
                    format!(
                        "the chunk at byte {at} says it is {length} bytes long, but only \
                         {left} follow"
                    )
                };
                chunks.damage = Some(ParseError::Chunks { what, offset: at });
                return chunks;
            }
            at += 8 + length;
        }
        chunks
    }
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
    fn missing_tracks_are_damage_that_lenient_reading_reports() {
        let mut bytes = small_file();
        bytes[11] = 2; // the header promises a second track
        let error = parse(&bytes).unwrap_err().to_string();
        assert!(error.contains("promises 2 tracks"), "{error}");
        assert!(
            error.contains("byte 10") && error.contains("byte 45"),
            "{error}"
        );
        let loaded = parse_file(&bytes, true).unwrap();
        assert_eq!(loaded.events.len(), 3);
        assert!(loaded.damage.is_some());
        // A division of 0 cannot be read leniently either.
        bytes[11] = 1;
        bytes[12..14].copy_from_slice(&[0, 0]);
        assert!(matches!(
            parse_file(&bytes, true),
            Err(ParseError::ZeroDivision { offset: 12, .. })
        ));
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
