//! Never lose a take (issue 12, the recording half): a closed pipe, an
//! unusable takes folder, empty takes, kill -9 at any moment, a full disk,
//! huge time gaps and a damaged journal header, each through the real
//! binary, each take read back with mido.

use crate::record::{read_with_mido, script};
use crate::sound::scratch;
use crate::util::{dir_names, Run};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A variable-length quantity as SMF deltas are written.
fn vlq(mut value: u32) -> Vec<u8> {
    let mut bytes = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value > 0 {
        bytes.insert(0, 0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    bytes
}

/// A format-0 file (PPQ 1000 at 120 bpm: a tick is 0.5 ms) from
/// (delta ticks, event bytes), ended by End of Track.
fn smf(events: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut track = Vec::new();
    for (delta, bytes) in events {
        track.extend(vlq(*delta));
        track.extend(bytes);
    }
    track.extend([0x00, 0xff, 0x2f, 0x00]);
    let mut file = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(track);
    file
}

/// `count` notes, one every `step_ms` (held half of it), the first after
/// `lead_ms`; keys cycle over two octaves.
fn notes_file(path: &Path, count: usize, step_ms: u32, lead_ms: u32) {
    let half = step_ms; // ticks are 0.5 ms: half a step is step_ms ticks
    let mut events = Vec::new();
    for n in 0..count {
        let key = 48 + (n % 24) as u8;
        let delta = if n == 0 { lead_ms * 2 } else { half };
        events.push((delta, vec![0x90, key, 100]));
        events.push((half, vec![0x80, key, 0]));
    }
    std::fs::write(path, smf(&events)).unwrap();
}

fn probe() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_composer-probe"));
    command
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE");
    command
}

/// Starts `record --file SONG TAKE` (real-time replay), standard error
/// discarded.
fn start_record(song: &Path, take: &Path, stdout: Stdio) -> std::process::Child {
    probe()
        .args(["record", "--file"])
        .arg(song)
        .arg(take)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn run(command: &mut Command) -> Run {
    Run::from_output(command.output().unwrap())
}

/// Notes and their releases in a take, as `on 60` / `off 60`, in order.
fn note_events(path: &Path) -> Vec<String> {
    read_with_mido(path)
        .2
        .into_iter()
        .filter_map(|(_, m)| {
            let key = m
                .split(',')
                .find_map(|f| f.strip_prefix("note="))?
                .to_owned();
            if m.starts_with("note_on:") && !m.contains("velocity=0,") {
                Some(format!("on {key}"))
            } else if m.starts_with("note_off:") || m.starts_with("note_on:") {
                Some(format!("off {key}"))
            } else {
                None
            }
        })
        .collect()
}

/// A printed event line (`  0.500000  Note off  ch 1  C4 (60) ...`) as
/// `on 60` / `off 60`.
fn printed_note(line: &str) -> Option<String> {
    let key = line.split_once('(')?.1.split_once(')')?.0;
    if line.contains("Note on") {
        Some(format!("on {key}"))
    } else if line.contains("Note off") {
        Some(format!("off {key}"))
    } else {
        None
    }
}

#[test]
fn a_closed_pipe_ends_the_event_lines_only_and_the_take_is_complete() {
    let dir = scratch("safety-pipe");
    let song = dir.join("slow.mid");
    notes_file(&song, 12, 100, 0);
    let take = dir.join("take.mid");
    // `record --file slow.mid --duration 2 take.mid | head -n 3`
    let mut child = probe()
        .args(["record", "--duration", "2", "--file"])
        .arg(&song)
        .arg(&take)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty());
    }
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("■ saved"), "{stderr}");
    let notes = note_events(&take);
    assert_eq!(
        notes.iter().filter(|n| n.starts_with("on ")).count(),
        12,
        "every note of the file is in the take: {notes:?}"
    );
    assert_eq!(dir_names(&dir), ["slow.mid", "take.mid"], "no journal left");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_take_without_notes_writes_no_file_and_never_replaces_one() {
    let dir = scratch("safety-empty");
    // Only a program change, then the first note at 3 s.
    let song = dir.join("late.mid");
    std::fs::write(
        &song,
        smf(&[
            (0, vec![0xc0, 5]),
            (6000, vec![0x90, 60, 100]),
            (1000, vec![0x80, 60, 0]),
        ]),
    )
    .unwrap();
    let take = dir.join("take.mid");
    let stopped = run(probe()
        .args(["record", "--duration", "0.3", "--file"])
        .arg(&song)
        .arg(&take));
    assert_eq!(stopped.code, Some(1), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("no notes") && stopped.stderr.contains("not written"),
        "says so: {}",
        stopped.stderr
    );
    assert_eq!(dir_names(&dir), ["late.mid"], "no file, no journal");

    std::fs::write(&take, b"precious").unwrap();
    let forced = run(probe()
        .args(["record", "--force", "--duration", "0.3", "--file"])
        .arg(&song)
        .arg(&take));
    assert_eq!(forced.code, Some(1), "{}", forced.stderr);
    assert_eq!(
        std::fs::read(&take).unwrap(),
        b"precious",
        "an existing file is never replaced by nothing"
    );
    assert_eq!(dir_names(&dir), ["late.mid", "take.mid"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A small deterministic generator for the kill offsets.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[test]
fn kill_9_at_any_moment_loses_no_event_that_was_shown() {
    let dir = scratch("safety-kill");
    let song = dir.join("song.mid");
    // 150 notes, one every 20 ms: 300 events over 3 s.
    notes_file(&song, 150, 20, 0);
    let mut seed = 12;
    for round in 0..20 {
        let take = dir.join(format!("take{round}.mid"));
        let mut child = start_record(&song, &take, Stdio::piped());
        let wanted = 1 + (lcg(&mut seed) % 280) as usize;
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut shown = Vec::new();
        while shown.len() < wanted {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                break;
            }
            shown.extend(printed_note(&line));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!take.exists());
        let journal = dir.join(format!(".take{round}.mid.journal"));
        let recovered = run(probe().arg("recover").arg(&journal));
        assert_eq!(
            recovered.code,
            Some(0),
            "round {round}: {}",
            recovered.stderr
        );
        let notes = note_events(&take);
        assert!(
            notes.len() >= shown.len() && notes[..shown.len()] == shown[..],
            "round {round}: killed after {} events were shown, recovered {}:\nshown {shown:?}\nrecovered {notes:?}",
            shown.len(),
            notes.len()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_signal_in_the_first_moments_leaves_nothing_that_blocks_the_next_record() {
    let dir = scratch("safety-early");
    let song = dir.join("late.mid");
    // The first note a minute in: the signal comes before it however
    // slowly a loaded machine runs `kill`.
    notes_file(&song, 2, 100, 60_000);
    let take = dir.join("take.mid");
    let journal = dir.join(".take.mid.journal");
    for signal in ["-KILL", "-INT", "-TERM"] {
        let mut child = start_record(&song, &take, Stdio::null());
        // As soon as the journal exists: before any note was played.
        while !journal.exists() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        child.wait().unwrap();
        let again = run(probe()
            .args(["record", "--fast", "--file"])
            .arg(&song)
            .arg(&take));
        assert_eq!(again.code, Some(0), "after {signal}: {}", again.stderr);
        assert_eq!(note_events(&take).len(), 4);
        std::fs::remove_file(&take).unwrap();
        assert_eq!(dir_names(&dir), ["late.mid"], "after {signal}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Unmounts a tmpfs however the test ends.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_take_once_and_recover_keeps_what_reached_it() {
    let dir = scratch("safety-full");
    let song = dir.join("song.mid");
    // 10,000 notes: far more than a 64 KiB journal holds.
    notes_file(&song, 10_000, 2, 0);
    let tiny = dir.join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    if !crate::util::running_as_root() {
        eprintln!("skipped: mounting a 64 KiB tmpfs needs root (CI runs as root)");
        return;
    }
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&tiny)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let unmount = Unmount(tiny.clone());
    let take = tiny.join("take.mid");
    let full = run(probe()
        .args(["record", "--fast", "--file"])
        .arg(&song)
        .arg(&take));
    assert_eq!(full.code, Some(1), "{}", full.stderr);
    assert_eq!(
        full.stderr.matches("No space left on device").count(),
        1,
        "one message: {}",
        full.stderr
    );
    assert!(full.stderr.lines().count() <= 4, "{}", full.stderr);
    assert!(
        full.stderr.contains("composer-probe recover"),
        "{}",
        full.stderr
    );
    assert!(!full.stderr.contains("panicked"));

    // Every event line that reached the journal comes back.
    let journal = tiny.join(".take.mid.journal");
    let text = std::fs::read(&journal).unwrap();
    let complete = &text[..text.iter().rposition(|b| *b == b'\n').unwrap()];
    let journaled: Vec<String> = complete
        .split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            // Event lines only: `TIME HEX` (not `a TIME` or `m TIME`).
            let (time, hex) = line.split_once(' ')?;
            time.parse::<u64>().ok()?;
            let kind = match hex.get(..1)? {
                "9" => "on",
                "8" => "off",
                _ => return None,
            };
            Some(format!(
                "{kind} {}",
                u8::from_str_radix(hex.get(2..4)?, 16).ok()?
            ))
        })
        .collect();
    assert!(
        journaled.len() > 1000,
        "{} events journaled",
        journaled.len()
    );
    let out = dir.join("recovered.mid");
    let recovered = run(probe()
        .arg("recover")
        .arg(&journal)
        .arg("--output")
        .arg(&out));
    assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
    let notes = note_events(&out);
    assert!(
        notes.len() >= journaled.len() && notes[..journaled.len()] == journaled[..],
        "{} journaled, {} recovered; first difference at {:?}",
        journaled.len(),
        notes.len(),
        journaled
            .iter()
            .zip(&notes)
            .position(|(a, b)| a != b)
            .map(|n| (n, &journaled[n], &notes[n]))
    );
    drop(unmount);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs the binary with at most 1 GiB of address space, so a runaway
/// allocation fails the test instead of the machine.
fn bounded(args: &str) -> Run {
    run(Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1048576; exec {} {args}",
            env!("CARGO_BIN_EXE_composer-probe")
        ))
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE"))
}

const HEADER: &str = r#"composer-probe journal 1 {"target":"take.mid","start_us":0,"options":{"ppq":480,"bpm":120.0,"time_signature":[4,4],"split_channels":false,"keep_leading_silence":false,"include_realtime":false,"track_name":"composer-probe take","deepcomposer_export":false}}"#;

#[test]
fn huge_time_gaps_are_bounded_in_recover_and_in_record() {
    let dir = scratch("safety-gaps");
    let journal = dir.join(".take.mid.journal");
    std::fs::write(
        &journal,
        format!(
            "{HEADER}\n1000 903c64\n500000 803c00\n18446744073709551615 903e64\n600000 90407f\n"
        ),
    )
    .unwrap();
    let out = dir.join("take.mid");
    let recovered = bounded(&format!(
        "recover {} --output {}",
        journal.display(),
        out.display()
    ));
    assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
    assert!(
        std::fs::metadata(&out).unwrap().len() < 10_000,
        "no file of empty events"
    );
    assert!(note_events(&out).starts_with(&["on 60".to_owned(), "off 60".to_owned()]));

    // A file whose deltas add up to centuries, at PPQ 1 and the slowest tempo.
    let mut crafted = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x01MTrk".to_vec();
    let mut track = vec![
        0x00, 0xff, 0x51, 0x03, 0xff, 0xff, 0xff, 0x00, 0x90, 60, 100,
    ];
    for _ in 0..200 {
        track.extend([0xff, 0xff, 0xff, 0x7f, 0xb0, 1, 1]);
    }
    track.extend([0x00, 0x80, 60, 0, 0x00, 0xff, 0x2f, 0x00]);
    crafted.extend((track.len() as u32).to_be_bytes());
    crafted.extend(track);
    let song = dir.join("crafted.mid");
    std::fs::write(&song, crafted).unwrap();
    let take = dir.join("replayed.mid");
    let recorded = bounded(&format!(
        "record --fast --file {} {}",
        song.display(),
        take.display()
    ));
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr);
    assert!(std::fs::metadata(&take).unwrap().len() < 10_000);
    assert_eq!(note_events(&take), ["on 60", "off 60"]);
    assert!(
        recorded.stderr.contains("24 h"),
        "says so: {}",
        recorded.stderr
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn one_damaged_byte_in_the_journal_header_loses_no_event() {
    let dir = scratch("safety-header");
    let body = "1000 903c64\n500000 803c00\n600000 903e64\n900000 803e00\n";
    let journal = dir.join(".take.mid.journal");
    let out = dir.join("out.mid");
    for position in 0..=HEADER.len() {
        let mut bytes = format!("{HEADER}\n{body}").into_bytes();
        bytes[position] ^= 0x55;
        std::fs::write(&journal, &bytes).unwrap();
        let _ = std::fs::remove_file(&out);
        let recovered = run(probe()
            .arg("recover")
            .arg(&journal)
            .arg("--output")
            .arg(&out));
        assert_eq!(
            recovered.code,
            Some(0),
            "byte {position}: {}",
            recovered.stderr
        );
        assert_eq!(
            note_events(&out),
            ["on 60", "off 60", "on 62", "off 62"],
            "byte {position}"
        );
    }
    // When the header cannot be read, recover says it used defaults.
    let damaged = format!("{HEADER}\n{body}").replacen("\"ppq\":480", "\"ppq\":4#0", 1);
    std::fs::write(&journal, damaged).unwrap();
    let _ = std::fs::remove_file(&out);
    let recovered = run(probe().arg("recover").arg(&journal));
    assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
    assert!(
        recovered.stderr.contains("header") && recovered.stderr.contains("default"),
        "{}",
        recovered.stderr
    );
    assert_eq!(
        note_events(&dir.join("take.mid")).len(),
        4,
        "named after the journal"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_takes_folder_is_checked_at_the_start_and_a_failed_take_does_not_end_play() {
    let dir = scratch("safety-takes");
    let wav = dir.join("heard.wav");
    let on = |key: u8| [0x09, 0x90, key, 100];
    let off = |key: u8| [0x08, 0x80, key, 0];
    let record = [0x0b, 0xb0, 107, 127];
    let stop = [0x0b, 0xb0, 106, 127];
    // 62 is held at the unplug: it sounds until the end.
    let buttons = script(
        &dir,
        &[&[record], &[on(60)], &[off(60)], &[stop], &[on(62)]],
    );
    let play = |takes: &Path| {
        crate::util::probe_stream(
            "akm322.umockdev",
            "/dev/bus/usb/001/005",
            &buttons,
            &[
                "play",
                "--usb",
                "--wav",
                wav.to_str().unwrap(),
                "--takes",
                takes.to_str().unwrap(),
            ],
        )
    };

    // A folder that does not exist: refused before anything starts.
    let missing = play(&dir.join("missing"));
    assert_eq!(missing.code, Some(1), "{}", missing.stderr);
    assert!(missing.stderr.contains("missing"), "{}", missing.stderr);
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
    assert!(!wav.exists());

    // A take that cannot start later (its journal's name is taken by a
    // folder): said on the status line; the session and its WAV go on.
    let takes = dir.join("takes");
    std::fs::create_dir(&takes).unwrap();
    let now = crate::record::unix_now();
    for stamp in crate::record::local_stamps(now - 5..now + 120, None) {
        for n in 1..=3 {
            let name = format!(".take-{stamp}-{n:02}.mid.journal");
            std::fs::create_dir(takes.join(name)).unwrap();
        }
    }
    let blocked = play(&takes);
    assert_eq!(blocked.code, Some(0), "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains("cannot start a take"),
        "{}",
        blocked.stderr
    );
    assert!(blocked.stderr.contains("wrote"), "{}", blocked.stderr);
    let (_, left) = crate::sound::read_wav_with_python(&wav);
    assert!(left.iter().any(|s| *s != 0.0), "the notes are in the WAV");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_in_a_folder_that_cannot_take_takes_starts_with_a_warning_unless_asked_for() {
    let dir = scratch("safety-default-takes");
    let song = dir.join("song.mid");
    notes_file(&song, 2, 100, 0);
    let wav = dir.join("heard.wav");
    // /proc takes no new files, not even root's.
    let default = run(probe()
        .current_dir("/proc")
        .args(["play", "--fast", "--file"])
        .arg(&song)
        .arg("--wav")
        .arg(&wav));
    assert_eq!(default.code, Some(0), "{}", default.stderr);
    assert!(
        default.stderr.contains("cannot save takes") && default.stderr.contains("--takes DIR"),
        "{}",
        default.stderr
    );
    assert!(wav.exists());
    std::fs::remove_file(&wav).unwrap();
    let asked = run(probe()
        .args(["play", "--fast", "--takes", "/proc", "--file"])
        .arg(&song)
        .arg("--wav")
        .arg(&wav));
    assert_eq!(asked.code, Some(1), "{}", asked.stderr);
    assert_eq!(asked.stderr.lines().count(), 1, "{}", asked.stderr);
    assert!(!wav.exists());
    std::fs::remove_dir_all(dir).unwrap();
}
