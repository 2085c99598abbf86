//! Recording tests: every file written is read back with midly.

use super::journal;
use super::*;
use crate::decode::message::{u14, u4, u7, PitchBend, SystemRealtime};
use midly::{Format, MetaMessage, Smf, Timing, TrackEventKind};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "composer-probe-record-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const S: u64 = 1_000_000;

fn channel(channel: u8, message: ChannelMessage) -> EventMessage {
    EventMessage::Channel {
        channel: u4::new(channel),
        message,
    }
}
fn on(ch: u8, key: u8, vel: u8) -> EventMessage {
    channel(
        ch,
        ChannelMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(vel),
        },
    )
}
fn off(ch: u8, key: u8, vel: u8) -> EventMessage {
    channel(
        ch,
        ChannelMessage::NoteOff {
            key: u7::new(key),
            vel: u7::new(vel),
        },
    )
}
fn cc(ch: u8, controller: u8, value: u8) -> EventMessage {
    channel(
        ch,
        ChannelMessage::Controller {
            controller: u7::new(controller),
            value: u7::new(value),
        },
    )
}
fn at(t_us: u64, message: EventMessage) -> MidiEvent {
    MidiEvent {
        t_us,
        cable: u4::new(0),
        message,
    }
}

/// One event of a file read back, owned, at its absolute tick.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Midi(u8, ChannelMessage),
    SysEx(Vec<u8>),
    Escape(Vec<u8>),
    Name(String),
    Tempo(u32),
    TimeSignature(u8, u8),
    End,
    OtherMeta,
}

struct ReadBack {
    format: Format,
    ppq: u16,
    tracks: Vec<Vec<(u64, Ev)>>,
}

impl ReadBack {
    fn midi(&self, track: usize) -> Vec<(u64, u8, ChannelMessage)> {
        self.tracks[track]
            .iter()
            .filter_map(|(tick, ev)| match ev {
                Ev::Midi(ch, m) => Some((*tick, *ch, *m)),
                _ => None,
            })
            .collect()
    }
    fn end(&self, track: usize) -> u64 {
        let (tick, ev) = self.tracks[track].last().unwrap();
        assert_eq!(*ev, Ev::End);
        *tick
    }
}

fn read_back(path: &Path) -> ReadBack {
    let raw = std::fs::read(path).unwrap();
    let smf = Smf::parse(&raw).expect("a valid MIDI file");
    let Timing::Metrical(ppq) = smf.header.timing else {
        panic!("metrical timing expected")
    };
    let tracks = smf
        .tracks
        .iter()
        .map(|track| {
            let mut tick = 0;
            let events: Vec<(u64, Ev)> = track
                .iter()
                .map(|e| {
                    tick += u64::from(e.delta.as_int());
                    let ev = match e.kind {
                        TrackEventKind::Midi { channel, message } => {
                            Ev::Midi(channel.as_int(), message)
                        }
                        TrackEventKind::SysEx(d) => Ev::SysEx(d.to_vec()),
                        TrackEventKind::Escape(d) => Ev::Escape(d.to_vec()),
                        TrackEventKind::Meta(MetaMessage::TrackName(n)) => {
                            Ev::Name(String::from_utf8_lossy(n).into_owned())
                        }
                        TrackEventKind::Meta(MetaMessage::Tempo(t)) => Ev::Tempo(t.as_int()),
                        TrackEventKind::Meta(MetaMessage::TimeSignature(n, d, _, _)) => {
                            Ev::TimeSignature(n, d)
                        }
                        TrackEventKind::Meta(MetaMessage::EndOfTrack) => Ev::End,
                        TrackEventKind::Meta(_) => Ev::OtherMeta,
                    };
                    (tick, ev)
                })
                .collect();
            assert_eq!(
                events.iter().filter(|(_, e)| *e == Ev::End).count(),
                1,
                "one End of Track, last"
            );
            assert_eq!(events.last().map(|(_, e)| e), Some(&Ev::End));
            events
        })
        .collect();
    ReadBack {
        format: smf.header.format,
        ppq: ppq.as_int(),
        tracks,
    }
}

fn note_on(key: u8, vel: u8) -> ChannelMessage {
    ChannelMessage::NoteOn {
        key: u7::new(key),
        vel: u7::new(vel),
    }
}
fn note_off(key: u8, vel: u8) -> ChannelMessage {
    ChannelMessage::NoteOff {
        key: u7::new(key),
        vel: u7::new(vel),
    }
}
fn control(controller: u8, value: u8) -> ChannelMessage {
    ChannelMessage::Controller {
        controller: u7::new(controller),
        value: u7::new(value),
    }
}

#[test]
fn a_take_comes_back_in_order_starting_at_its_first_note() {
    let dir = TempDir::new("order");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, S).unwrap();
    let sysex: Box<[u8]> = vec![0xf0, 0x7e, 0x7f, 0x06, 0x01, 0xf7].into();
    let program = channel(
        0,
        ChannelMessage::ProgramChange {
            program: u7::new(5),
        },
    );
    let bend = channel(
        0,
        ChannelMessage::PitchBend {
            bend: PitchBend(u14::new(12000)),
        },
    );
    let events = [
        at(S + 200_000, off(0, 50, 0)), // a key let go before the take: dropped
        at(2 * S, program),
        at(
            2 * S + 100_000,
            EventMessage::Realtime(SystemRealtime::TimingClock),
        ),
        at(3 * S, on(0, 60, 100)),
        at(3 * S + 100_000, cc(0, 1, 64)),
        at(3 * S + 200_000, cc(0, 64, 127)),
        at(3 * S + 300_000, bend),
        at(3 * S + 500_000, off(0, 60, 40)),
        at(
            3 * S + 600_000,
            EventMessage::SysEx {
                data: sysex,
                truncated: false,
            },
        ),
        at(3 * S + 700_000, cc(0, 64, 0)),
        at(3 * S + 800_000, on(0, 62, 90)),
        at(3 * S + 900_000, on(0, 62, 0)), // Note On velocity 0
    ];
    assert!(!rec.started());
    for event in &events {
        rec.record(event).unwrap();
    }
    assert!(rec.started());
    assert_eq!(rec.events(), 11, "the clock is not recorded by default");
    assert_eq!(rec.elapsed_us(4 * S), S);
    let summary = rec.finish(4 * S).unwrap();
    assert_eq!(summary.path, out);
    assert_eq!(summary.notes, 2);
    assert_eq!(summary.events, 10);
    assert_eq!(summary.closed_notes, 0);
    assert_eq!(summary.duration_us, S);

    let file = read_back(&out);
    assert_eq!(file.format, Format::SingleTrack);
    assert_eq!(file.ppq, 480);
    assert_eq!(file.tracks.len(), 1);
    let track = &file.tracks[0];
    assert!(track.contains(&(0, Ev::Tempo(500_000))));
    assert!(track.contains(&(0, Ev::TimeSignature(4, 2))));
    assert!(track.contains(&(0, Ev::Name("composer-probe take".into()))));
    // 960 ticks per second at 120 bpm and 480 ppq.
    let expected = vec![
        (
            0,
            Ev::Midi(
                0,
                ChannelMessage::ProgramChange {
                    program: u7::new(5),
                },
            ),
        ),
        (0, Ev::Midi(0, note_on(60, 100))),
        (96, Ev::Midi(0, control(1, 64))),
        (192, Ev::Midi(0, control(64, 127))),
        (
            288,
            Ev::Midi(
                0,
                ChannelMessage::PitchBend {
                    bend: PitchBend(u14::new(12000)),
                },
            ),
        ),
        (480, Ev::Midi(0, note_off(60, 40))),
        (576, Ev::SysEx(vec![0x7e, 0x7f, 0x06, 0x01, 0xf7])),
        (672, Ev::Midi(0, control(64, 0))),
        (768, Ev::Midi(0, note_on(62, 90))),
        (864, Ev::Midi(0, note_off(62, 0))), // Note On velocity 0, as 0x80
        (960, Ev::End),
    ];
    let recorded: Vec<(u64, Ev)> = track
        .iter()
        .filter(|(_, e)| !matches!(e, Ev::Tempo(_) | Ev::TimeSignature(..) | Ev::Name(_)))
        .cloned()
        .collect();
    assert_eq!(recorded, expected);
    assert_eq!(
        dir.listing(),
        vec!["take.mid"],
        "no journal or temporary file left"
    );
}

#[test]
fn keep_leading_silence_puts_the_first_note_at_its_real_offset() {
    let dir = TempDir::new("silence");
    let out = dir.path("take.mid");
    let options = RecordOptions {
        keep_leading_silence: true,
        ..RecordOptions::default()
    };
    let mut rec = Recorder::start(&out, options, false, S).unwrap();
    assert!(!rec.started(), "no note yet");
    assert_eq!(rec.elapsed_us(2 * S), S, "but the take runs from the start");
    rec.record(&at(S + 1_500_000, on(0, 60, 100))).unwrap();
    rec.record(&at(3 * S, off(0, 60, 0))).unwrap();
    rec.finish(3 * S).unwrap();
    let file = read_back(&out);
    assert_eq!(
        file.midi(0),
        vec![(1440, 0, note_on(60, 100)), (1920, 0, note_off(60, 0))]
    );
}

#[test]
fn the_record_button_mark_starts_the_take() {
    let dir = TempDir::new("mark");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.mark_start(S);
    assert!(rec.started());
    rec.record(&at(2 * S, on(0, 60, 100))).unwrap();
    rec.mark_start(3 * S); // after a note: ignored
    rec.finish(4 * S).unwrap();
    let file = read_back(&out);
    assert_eq!(file.midi(0)[0], (960, 0, note_on(60, 100)));
    assert_eq!(file.end(0), 2880);
}

#[test]
fn ticks_are_exact_at_round_values() {
    assert_eq!(ticks(500_000, 480, 120.0), 480);
    assert_eq!(ticks(0, 480, 120.0), 0);
    assert_eq!(ticks(1_000_000, 96, 60.0), 96);
    assert_eq!(ticks(2_000_000, 480, 90.0), 1440);
    assert_eq!(ticks(60_000_000, 960, 100.0), 96_000);
    assert_eq!(ticks(3_600_000_000, 480, 120.0), 3_456_000);
    // Rounded to nearest, not truncated: 1041 µs is 0.99936 ticks.
    assert_eq!(ticks(1041, 480, 120.0), 1);
    assert_eq!(ticks(520, 480, 120.0), 0);
}

/// A deterministic pseudo-random sequence.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// An hour of notes at irregular times, written through a [`Recorder`]
/// (journal and all) or straight from a take; reads the file back and
/// checks each event against `exact(elapsed_us)` (ticks as a fraction).
fn hour_long_take(bpm: f64, ppq: u16, via_recorder: bool, exact: impl Fn(u64) -> f64) {
    let dir = TempDir::new("hour");
    let out = dir.path("hour.mid");
    let options = RecordOptions {
        bpm,
        ppq,
        ..RecordOptions::default()
    };
    let start = 123_457;
    let mut seed = 7;
    let mut t = start + 1_001;
    let mut events = Vec::new();
    let mut key = 0u8;
    while t < start + 3_600 * S {
        events.push(at(t, on(0, 36 + key % 48, 100)));
        t += 1 + lcg(&mut seed) % 500_000;
        events.push(at(t, off(0, 36 + key % 48, 0)));
        t += 1 + lcg(&mut seed) % 500_000;
        key = key.wrapping_add(7);
    }
    if via_recorder {
        let mut rec = Recorder::start(&out, options, false, start).unwrap();
        for event in &events {
            rec.record(event).unwrap();
        }
        rec.finish(t).unwrap();
    } else {
        let mut take = take::Take::new(start, &options);
        for event in &events {
            take.push(event.t_us, event.message.clone());
        }
        let written = smf::write_take(&take, t, &options).unwrap();
        std::fs::write(&out, written.bytes).unwrap();
    }
    let zero = events[0].t_us;
    let file = read_back(&out);
    let ticks: Vec<u64> = file.midi(0).iter().map(|(tick, _, _)| *tick).collect();
    assert_eq!(ticks.len(), events.len());
    assert!(events.len() > 10_000);
    for (tick, event) in ticks.iter().zip(&events) {
        let elapsed = event.t_us - zero;
        let exact = exact(elapsed);
        assert!(
            (*tick as f64 - exact).abs() <= 1.0,
            "event at {elapsed} µs: tick {tick}, exact {exact}"
        );
    }
    assert!(t - zero > 3_599 * S, "an hour long");
}

#[test]
fn an_hour_long_take_does_not_drift() {
    // 120 bpm, 480 ppq: exactly 960 ticks a second.
    hour_long_take(120.0, 480, true, |us| {
        (u128::from(us) * 480 * 120) as f64 / 60_000_000.0
    });
    // 100 bpm at 960 ppq: 1600 ticks a second.
    hour_long_take(100.0, 960, false, |us| (u128::from(us) * 1600) as f64 / 1e6);
    // 93 bpm is 645161.29 µs a beat; the file holds 645161, and ticks follow
    // the file so playback lands where the notes were played.
    hour_long_take(93.0, 480, false, |us| {
        (u128::from(us) * 480) as f64 / 645_161.0
    });
}

#[test]
fn held_notes_and_a_held_pedal_are_closed_at_the_stop() {
    let dir = TempDir::new("held");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(S, on(0, 60, 100))).unwrap();
    rec.record(&at(S + 250_000, cc(0, 64, 127))).unwrap();
    rec.record(&at(S + 500_000, on(0, 64, 80))).unwrap();
    rec.record(&at(S + 750_000, off(0, 64, 0))).unwrap(); // sustained by the pedal
    rec.record(&at(S + 800_000, on(3, 70, 90))).unwrap();
    let summary = rec.finish(3 * S).unwrap();
    assert_eq!(summary.closed_notes, 2);
    assert_eq!(summary.duration_us, 2 * S);
    let file = read_back(&out);
    let midi = file.midi(0);
    let stop = 1920;
    let closing: Vec<_> = midi.iter().filter(|(tick, _, _)| *tick == stop).collect();
    assert_eq!(
        closing,
        vec![
            &(stop, 0, note_off(60, 0)),
            &(stop, 0, control(64, 0)),
            &(stop, 3, note_off(70, 0)),
        ]
    );
    assert_eq!(file.end(0), stop);
}

#[test]
fn split_channels_writes_a_conductor_track_and_one_track_per_channel() {
    let dir = TempDir::new("split");
    let out = dir.path("take.mid");
    let options = RecordOptions {
        split_channels: true,
        track_name: "duet".into(),
        ..RecordOptions::default()
    };
    let mut rec = Recorder::start(&out, options, false, 0).unwrap();
    rec.record(&at(S, on(0, 60, 100))).unwrap();
    rec.record(&at(S, on(9, 36, 120))).unwrap();
    rec.record(&at(S + 500_000, off(9, 36, 0))).unwrap();
    let sysex: Box<[u8]> = vec![0xf0, 0x41, 0x10, 0xf7].into();
    rec.record(&at(
        S + 600_000,
        EventMessage::SysEx {
            data: sysex,
            truncated: false,
        },
    ))
    .unwrap();
    rec.record(&at(2 * S, off(0, 60, 0))).unwrap();
    rec.finish(2 * S).unwrap();

    let file = read_back(&out);
    assert_eq!(file.format, Format::Parallel);
    assert_eq!(file.tracks.len(), 3, "conductor + channels 1 and 10");
    let conductor = &file.tracks[0];
    assert!(conductor.contains(&(0, Ev::Name("duet".into()))));
    assert!(conductor.contains(&(0, Ev::Tempo(500_000))));
    assert!(conductor.contains(&(0, Ev::TimeSignature(4, 2))));
    assert!(conductor.contains(&(576, Ev::SysEx(vec![0x41, 0x10, 0xf7]))));
    assert!(file.midi(0).is_empty());
    assert_eq!(file.tracks[1][0], (0, Ev::Name("Channel 1".into())));
    assert_eq!(
        file.midi(1),
        vec![(0, 0, note_on(60, 100)), (960, 0, note_off(60, 0))]
    );
    assert_eq!(file.tracks[2][0], (0, Ev::Name("Channel 10".into())));
    assert_eq!(
        file.midi(2),
        vec![(0, 9, note_on(36, 120)), (480, 9, note_off(36, 0))]
    );
    for track in 0..3 {
        assert_eq!(file.end(track), 960);
    }
}

#[test]
fn an_existing_file_is_kept_without_force() {
    let dir = TempDir::new("exists");
    let out = dir.path("take.mid");
    std::fs::write(&out, b"precious").unwrap();
    let err = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap_err();
    assert!(matches!(&err, RecordError::Exists { path } if *path == out));
    assert!(err.to_string().contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(dir.listing(), vec!["take.mid"], "no journal made");

    let mut rec = Recorder::start(&out, RecordOptions::default(), true, 0).unwrap();
    rec.record(&at(0, on(0, 60, 1))).unwrap();
    rec.finish(S).unwrap();
    assert_eq!(read_back(&out).midi(0).len(), 2, "overwritten with --force");
}

#[test]
fn an_unwritable_directory_is_refused_before_recording() {
    let dir = TempDir::new("unwritable");
    let missing = dir.path("no/such/dir/take.mid");
    let err = Recorder::start(&missing, RecordOptions::default(), false, 0).unwrap_err();
    assert!(
        matches!(&err, RecordError::Unwritable { dir: d, .. } if *d == dir.path("no/such/dir")),
        "{err}"
    );
    assert!(err.to_string().contains("choose another directory"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes anywhere: then use a directory nobody can create files in.
        let probe = locked.join("probe");
        let read_only_works = std::fs::write(&probe, b"").is_err();
        let _ = std::fs::remove_file(&probe);
        let target = if read_only_works {
            locked.join("take.mid")
        } else if cfg!(target_os = "linux") {
            PathBuf::from("/proc/composer-probe-take.mid")
        } else {
            return;
        };
        let err = Recorder::start(&target, RecordOptions::default(), false, 0).unwrap_err();
        assert!(matches!(err, RecordError::Unwritable { .. }), "{err}");
        assert!(!target.exists());
    }
}

#[test]
fn a_second_take_does_not_clobber_an_unfinished_one() {
    let dir = TempDir::new("unfinished");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(0, on(0, 60, 100))).unwrap();
    rec.flush_if_due(2 * S).unwrap();
    rec.crash();
    let err = Recorder::start(&out, RecordOptions::default(), true, 0).unwrap_err();
    assert!(
        matches!(&err, RecordError::UnfinishedTake { journal } if *journal == dir.path(".take.mid.journal")),
        "{err}"
    );
    assert!(err.to_string().contains("composer-probe recover"));
    assert_eq!(
        leftover_journals(&dir.0),
        vec![dir.path(".take.mid.journal")]
    );
}

#[test]
fn each_record_is_in_the_journal_file_as_it_comes() {
    let dir = TempDir::new("flush");
    let out = dir.path("take.mid");
    let journal = dir.path(".take.mid.journal");
    let lines = || std::fs::read_to_string(&journal).unwrap().lines().count();
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    assert_eq!(lines(), 1, "the header is on disk at once");
    rec.record(&at(100_000, on(0, 60, 100))).unwrap();
    assert_eq!(lines(), 2, "the event is in the file at once");
    rec.flush_if_due(500_000).unwrap();
    assert_eq!(lines(), 2, "no alive line before a second");
    rec.flush_if_due(1_100_000).unwrap();
    assert_eq!(lines(), 3, "an alive line after a second");
    rec.record(&at(1_200_000, off(0, 60, 0))).unwrap();
    assert_eq!(lines(), 4);
    rec.crash();
}

#[test]
fn the_journal_is_synced_within_0_4_s_of_a_write() {
    let dir = TempDir::new("sync");
    let header = journal::JournalHeader {
        target: "take.mid".into(),
        start_us: 0,
        options: RecordOptions::default(),
    };
    let mut writer = journal::JournalWriter::create(&dir.path(".j.journal"), &header, 0).unwrap();
    assert!(!writer.sync_due(10 * S), "nothing written, nothing to sync");
    writer.event(S, &[0x90, 60, 100]).unwrap();
    assert!(!writer.sync_due(S + journal::SYNC_EVERY_US - 1));
    assert!(writer.sync_due(S + journal::SYNC_EVERY_US));
    writer.sync().unwrap();
    assert!(!writer.sync_due(5 * S), "synced");
}

#[test]
fn a_stale_empty_journal_does_not_block_the_next_take() {
    let dir = TempDir::new("stale");
    let out = dir.path("take.mid");
    let rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    let live = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap_err();
    assert!(
        matches!(live, RecordError::UnfinishedTake { .. }),
        "a journal being written is never taken: {live}"
    );
    rec.crash();
    assert!(leftover_journals(&dir.0).is_empty(), "nothing to point at");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(0, on(0, 60, 100))).unwrap();
    assert_eq!(rec.finish(S).unwrap().notes, 1);
}

#[test]
fn no_time_gap_grows_past_the_longest_take() {
    let dir = TempDir::new("gap");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(S, on(0, 60, 100))).unwrap();
    let err = rec.record(&at(u64::MAX, off(0, 60, 0))).unwrap_err();
    assert!(err.to_string().contains("24 h"), "{err}");
    rec.record(&at(u64::MAX - 1, on(0, 62, 100))).unwrap();
    let summary = rec.finish(u64::MAX).unwrap();
    assert_eq!(summary.notes, 1);
    assert_eq!(summary.duration_us, smf::MAX_TAKE_US);
    assert!(std::fs::metadata(&out).unwrap().len() < 200);

    // The fastest ticks: the longest take is shorter, the ticks bounded.
    let fast = RecordOptions {
        ppq: 32767,
        bpm: 60_000_000.0,
        ..RecordOptions::default()
    };
    let span = smf::max_span_us(&fast);
    assert!(span < smf::MAX_TAKE_US);
    assert!(ticks(span, 32767, 60_000_000.0) <= u64::from(u32::MAX));
    let journal = format!(
        "{} {}\n0 903c64\n{} 803c00\n18446744073709551615 903e64\n",
        journal::MAGIC,
        serde_json::json!({"target": "t.mid", "start_us": 0, "options": fast}),
        span * 2
    );
    let bytes = recover_bytes(journal.as_bytes()).unwrap();
    assert!(bytes.len() < 200, "{} bytes", bytes.len());
}

#[test]
fn a_damaged_header_costs_the_settings_not_the_events() {
    let text = format!(
        "{} {{\"target\":\"x.mid\",\"start_us\":0,\"options\":{{\"ppq\":96}}}}\n0 903c64\n500000 803c00\n",
        journal::MAGIC
    );
    let good = journal::parse(text.as_bytes(), "fallback.mid").unwrap();
    assert_eq!((good.header.options.ppq, good.damaged_header), (96, None));
    let damaged = text
        .replacen("ppq", "pp#", 1)
        .replacen("\"options\":{", "\"options\":[", 1);
    let read = journal::parse(damaged.as_bytes(), "fallback.mid").unwrap();
    assert_eq!(read.header.target, "fallback.mid");
    assert_eq!(read.header.options, RecordOptions::default());
    assert!(read.damaged_header.is_some());
    assert_eq!(read.take.events.len(), 2);
    let other = text.replacen("journal 1", "journal 7", 1);
    assert!(journal::parse(other.as_bytes(), "f.mid")
        .unwrap_err()
        .contains("another version"));
    assert_eq!(
        journal::target_from_name(Path::new("/x/.take 1.mid.journal")),
        "take 1.mid"
    );
}

#[test]
fn a_crashed_take_is_recovered_with_every_event_written() {
    let dir = TempDir::new("recover");
    let out = dir.path("take.mid");
    let options = RecordOptions {
        track_name: "lost and found".into(),
        ..RecordOptions::default()
    };
    let mut rec = Recorder::start(&out, options, false, 0).unwrap();
    rec.record(&at(S, cc(0, 7, 100))).unwrap();
    rec.record(&at(2 * S, on(0, 60, 100))).unwrap();
    rec.record(&at(2 * S + 480_000, on(0, 64, 90))).unwrap();
    rec.record(&at(2 * S + 960_000, off(0, 64, 0))).unwrap();
    rec.record(&at(3 * S, cc(0, 64, 127))).unwrap();
    rec.flush_if_due(3 * S + 480_000).unwrap(); // synced
    rec.record(&at(3 * S + 500_000, on(0, 67, 80))).unwrap(); // written, not synced
    let journal = rec.journal_path().to_owned();
    rec.crash();
    // The crash also cut a line in half.
    let mut raw = std::fs::read(&journal).unwrap();
    raw.extend_from_slice(b"3600000 903");
    std::fs::write(&journal, &raw).unwrap();
    assert!(!out.exists());
    assert_eq!(leftover_journals(&dir.0), vec![journal.clone()]);

    let summary = recover(&journal, None, false).unwrap();
    assert_eq!(summary.path, out, "the take's own name");
    assert_eq!(summary.notes, 3, "kill -9 loses nothing written");
    assert_eq!(summary.events, 6);
    assert_eq!(summary.closed_notes, 2);
    assert_eq!(summary.duration_us, 1_500_000, "up to the last event");
    let file = read_back(&out);
    assert!(file.tracks[0].contains(&(0, Ev::Name("lost and found".into()))));
    assert_eq!(
        file.midi(0),
        vec![
            (0, 0, control(7, 100)),
            (0, 0, note_on(60, 100)),
            (461, 0, note_on(64, 90)),
            (922, 0, note_off(64, 0)),
            (960, 0, control(64, 127)),
            (1440, 0, note_on(67, 80)),
            (1440, 0, note_off(60, 0)),
            (1440, 0, note_off(67, 0)),
            (1440, 0, control(64, 0)),
        ]
    );
    assert_eq!(
        dir.listing(),
        vec!["take.mid"],
        "journal gone once recovered"
    );
}

#[test]
fn recovery_does_not_overwrite_and_tells_an_empty_journal() {
    let dir = TempDir::new("recover2");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    let journal = rec.journal_path().to_owned();
    rec.flush_if_due(5 * S).unwrap();
    rec.crash();
    let err = recover(&journal, None, false).unwrap_err();
    assert!(matches!(err, RecordError::NothingToRecover { .. }), "{err}");

    std::fs::remove_file(&journal).unwrap();
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(0, on(0, 60, 100))).unwrap();
    rec.record(&at(S, off(0, 60, 0))).unwrap();
    rec.crash();
    std::fs::write(&out, b"someone else's").unwrap();
    let explicit = dir.path("mine.mid");
    std::fs::write(&explicit, b"also taken").unwrap();
    let err = recover(&journal, Some(&explicit), false).unwrap_err();
    assert!(matches!(err, RecordError::Exists { .. }), "{err}");
    let summary = recover(&journal, None, false).unwrap();
    assert_eq!(summary.path, dir.path("take.recovered.mid"));
    assert_eq!(std::fs::read(&out).unwrap(), b"someone else's");
    assert_eq!(read_back(&summary.path).midi(0).len(), 2);

    let not_a_journal = dir.path("notes.txt");
    std::fs::write(&not_a_journal, b"hello\n").unwrap();
    let err = recover(&not_a_journal, None, false).unwrap_err();
    assert!(matches!(err, RecordError::Journal { .. }), "{err}");
}

#[test]
fn a_journal_cut_at_any_byte_still_reads() {
    let dir = TempDir::new("cut");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    let sysex: Box<[u8]> = vec![0xf0, 0x43, 0x10, 0x4c, 0xf7].into();
    rec.record(&at(10, on(0, 60, 100))).unwrap();
    rec.record(&at(
        20,
        EventMessage::SysEx {
            data: sysex,
            truncated: false,
        },
    ))
    .unwrap();
    rec.mark_start(25);
    rec.record(&at(30, cc(0, 64, 127))).unwrap();
    rec.record(&at(40, off(0, 60, 0))).unwrap();
    rec.flush_if_due(2 * S).unwrap();
    let journal = rec.journal_path().to_owned();
    rec.crash();
    let full = std::fs::read(&journal).unwrap();
    let header_end = full.iter().position(|b| *b == b'\n').unwrap() + 1;
    let cut = dir.path(".cut.mid.journal");
    let mut previous = 0;
    for len in 0..=full.len() {
        std::fs::write(&cut, &full[..len]).unwrap();
        match journal::read(&cut) {
            Ok(recovered) => {
                assert!(len >= header_end);
                let n = recovered.take.events.len();
                assert!(n >= previous, "never fewer events for a longer journal");
                previous = n;
                let stop = recovered.take.last_us();
                smf::write_take(&recovered.take, stop, &recovered.header.options).unwrap();
            }
            Err(RecordError::Journal { .. }) => assert!(len < header_end),
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(previous, 4);
}

#[test]
fn deepcomposer_export_is_one_track_of_at_most_eight_bars() {
    let dir = TempDir::new("deepcomposer");
    let out = dir.path("melody.mid");
    let options = RecordOptions {
        deepcomposer_export: true,
        split_channels: true, // overridden
        ..RecordOptions::default()
    };
    let mut rec = Recorder::start(&out, options, false, 0).unwrap();
    // A note a second for 20 s on two channels; 8 bars of 4/4 at 120 bpm
    // are 16 s. The note struck at 15.5 s is still held at the cut.
    for second in 0..20u64 {
        let key = 48 + second as u8;
        rec.record(&at(second * S, on((second % 2) as u8, key, 100)))
            .unwrap();
        let release = if second == 15 {
            17 * S
        } else {
            second * S + 400_000
        };
        rec.record(&at(release, off((second % 2) as u8, key, 0)))
            .unwrap();
    }
    let summary = rec.finish(21 * S).unwrap();
    assert_eq!(summary.duration_us, 16 * S);
    assert_eq!(summary.notes, 16);
    assert_eq!(summary.closed_notes, 1);

    let file = read_back(&out);
    assert_eq!(file.format, Format::SingleTrack);
    assert_eq!(file.tracks.len(), 1);
    let cut = 8 * 4 * 480;
    assert_eq!(file.end(0), cut);
    let tempos = file.tracks[0]
        .iter()
        .filter(|(_, e)| matches!(e, Ev::Tempo(_)))
        .count();
    assert_eq!(tempos, 1, "static tempo");
    let midi = file.midi(0);
    assert!(midi.iter().all(|(tick, _, _)| *tick <= cut));
    assert_eq!(midi.last(), Some(&(cut, 1, note_off(63, 0))));
    let ons = midi
        .iter()
        .filter(|(_, _, m)| matches!(m, ChannelMessage::NoteOn { .. }))
        .count();
    let offs = midi
        .iter()
        .filter(|(_, _, m)| matches!(m, ChannelMessage::NoteOff { .. }))
        .count();
    assert_eq!(ons, offs, "every note closed");
}

#[test]
fn a_take_without_notes_writes_no_file_and_keeps_an_existing_one() {
    let dir = TempDir::new("empty");
    let out = dir.path("take.mid");
    let mut rec = Recorder::start(&out, RecordOptions::default(), false, 0).unwrap();
    rec.record(&at(S, cc(0, 64, 127))).unwrap();
    let err = rec.finish(5 * S).unwrap_err();
    assert!(matches!(err, RecordError::NoNotes { .. }), "{err}");
    assert!(dir.listing().is_empty(), "no file and no journal");
    std::fs::write(&out, b"precious").unwrap();
    let rec = Recorder::start(&out, RecordOptions::default(), true, 0).unwrap();
    assert!(rec.finish(5 * S).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(dir.listing(), vec!["take.mid"]);
}

#[test]
fn realtime_is_recorded_only_when_asked() {
    let dir = TempDir::new("realtime");
    let out = dir.path("take.mid");
    let options = RecordOptions {
        include_realtime: true,
        ..RecordOptions::default()
    };
    let mut rec = Recorder::start(&out, options, false, 0).unwrap();
    rec.record(&at(0, on(0, 60, 100))).unwrap();
    rec.record(&at(
        500_000,
        EventMessage::Realtime(SystemRealtime::TimingClock),
    ))
    .unwrap();
    rec.record(&at(S, off(0, 60, 0))).unwrap();
    rec.finish(S).unwrap();
    let file = read_back(&out);
    assert!(file.tracks[0].contains(&(480, Ev::Escape(vec![0xf8]))));
}

#[test]
fn bad_options_are_refused() {
    let dir = TempDir::new("options");
    let out = dir.path("take.mid");
    for options in [
        RecordOptions {
            ppq: 0,
            ..RecordOptions::default()
        },
        RecordOptions {
            bpm: 0.0,
            ..RecordOptions::default()
        },
        RecordOptions {
            bpm: f64::NAN,
            ..RecordOptions::default()
        },
        RecordOptions {
            time_signature: (3, 3),
            ..RecordOptions::default()
        },
    ] {
        let err = Recorder::start(&out, options, false, 0).unwrap_err();
        assert!(matches!(err, RecordError::Options { .. }), "{err}");
    }
    assert!(dir.listing().is_empty());
}
