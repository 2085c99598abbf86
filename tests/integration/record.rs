//! `composer-probe record` and `recover`: takes from emulated keyboards,
//! read back with Python's mido and rendered by fluidsynth and timidity;
//! stopping by signal, by button and by unplug; crash recovery; and the
//! failure cases that must leave nothing half-written.

use crate::sound::scratch;
use crate::util::{expected, fixture, Run};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `record ARGS` under umockdev reading the DeepComposer with `script` replayed.
fn record_usb(script: &Path, args: &[&str]) -> Run {
    let mut full = vec!["record"];
    full.extend_from_slice(args);
    crate::util::probe_stream("akm322.umockdev", "/dev/bus/usb/001/005", script, &full)
}

/// A take's messages as mido sees them: `type:field=value,...` per message,
/// with absolute ticks, plus the file type and ticks per beat.
pub fn read_with_mido(path: &Path) -> (u16, u16, Vec<(u64, String)>) {
    let script = r#"
import sys, mido
f = mido.MidiFile(sys.argv[1])
print(f.type, f.ticks_per_beat)
for track in f.tracks:
    t = 0
    for m in track:
        t += m.time
        if m.is_meta:
            continue
        d = m.dict(); d.pop('time'); kind = d.pop('type')
        print(t, kind + ':' + ','.join('%s=%s' % (k, d[k]) for k in sorted(d)))
"#;
    let output = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 with mido");
    assert!(
        output.status.success(),
        "mido cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let mut header = lines.next().unwrap().split(' ');
    let kind = header.next().unwrap().parse().unwrap();
    let ppq = header.next().unwrap().parse().unwrap();
    let messages = lines
        .map(|line| {
            let (tick, message) = line.split_once(' ').unwrap();
            (tick.parse().unwrap(), message.to_owned())
        })
        .collect();
    (kind, ppq, messages)
}

/// An expected event (`tests/fixtures/streams/*.expected.json`, channel 1)
/// as [`read_with_mido`] prints it.
pub fn as_mido(e: &serde_json::Map<String, serde_json::Value>) -> String {
    let n = |k: &str| e[k].as_i64().unwrap();
    match e["type"].as_str().unwrap() {
        "note_on" => format!(
            "note_on:channel=0,note={},velocity={}",
            n("note"),
            n("velocity")
        ),
        "note_off" => format!(
            "note_off:channel=0,note={},velocity={}",
            n("note"),
            n("velocity")
        ),
        "control_change" => format!(
            "control_change:channel=0,control={},value={}",
            n("controller"),
            n("value")
        ),
        "pitch_bend" => format!("pitchwheel:channel=0,pitch={}", n("value") - 8192),
        other => panic!("unexpected {other}"),
    }
}

/// Notes still sounding at the end of a take (mido's view).
pub fn hanging_notes(messages: &[(u64, String)]) -> Vec<String> {
    let mut on: Vec<String> = Vec::new();
    for (_, message) in messages {
        let key = |m: &str| {
            m.split(',')
                .find(|f| f.starts_with("note="))
                .unwrap()
                .to_owned()
        };
        if message.starts_with("note_on:") && !message.contains("velocity=0") {
            on.push(key(message));
        } else if message.starts_with("note_off:") || message.starts_with("note_on:") {
            let k = key(message);
            if let Some(i) = on.iter().position(|n| *n == k) {
                on.remove(i);
            }
        }
    }
    on
}

#[test]
fn a_deepcomposer_take_reads_back_in_mido_with_every_note_and_control() {
    let dir = scratch("record-panel");
    let take = dir.join("take.mid");
    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("■ saved"),
        "the Stop button ended the take: {}",
        run.stderr
    );
    let (kind, ppq, messages) = read_with_mido(&take);
    assert_eq!((kind, ppq), (0, 480));
    assert_eq!(messages[0].0, 0, "the take starts at its first note");
    assert_eq!(messages[0].1, "note_on:channel=0,note=60,velocity=100");

    // Everything played before ■, in order, without the transport buttons.
    let expected: Vec<String> = expected("akm322-panel.expected.json")
        .iter()
        .take_while(|e| !(e["type"] == "control_change" && e["controller"] == 106))
        .filter(|e| {
            !(e["type"] == "control_change"
                && [105, 107].contains(&e["controller"].as_i64().unwrap()))
        })
        .map(as_mido)
        .collect();
    let got: Vec<String> = messages.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(got, expected);
    assert!(hanging_notes(&messages).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unplug_mid_take_saves_everything_and_closes_the_held_note() {
    let dir = scratch("record-unplug");
    let take = dir.join("take.mid");
    let run = record_usb(
        &fixture("streams/akm322-unplug.ioctl"),
        &["--usb", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("disconnected"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 held note closed at the stop"),
        "{}",
        run.stderr
    );
    let (_, _, messages) = read_with_mido(&take);
    let notes_on = messages
        .iter()
        .filter(|(_, m)| m.starts_with("note_on:") && !m.contains("velocity=0"))
        .count();
    assert_eq!(notes_on, 3, "{messages:?}");
    assert!(
        hanging_notes(&messages).is_empty(),
        "the note held at the unplug got its note off"
    );
    assert!(messages.iter().any(|(_, m)| m.contains("note=65")));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Starts `record --file FILE OUT` (real-time replay) and returns it once
/// the first event line is out.
fn start_recording_a_file(out: &Path, midi: &Path) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["record", "--file"])
        .arg(midi)
        .arg(out)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(!first.is_empty(), "recording started");
    // Keep draining stdout so the recorder never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    child
}

#[test]
fn sigint_and_sigterm_always_leave_a_valid_file() {
    for signal in ["-INT", "-TERM"] {
        let dir = scratch(&format!("record-signal{signal}"));
        let take = dir.join("take.mid");
        let mut child = start_recording_a_file(&take, &fixture("streams/two-tracks.mid"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{signal} is a clean stop");
        let (_, _, messages) = read_with_mido(&take);
        assert!(!messages.is_empty(), "{signal}: what was played is kept");
        assert!(
            hanging_notes(&messages).is_empty(),
            "{signal}: held notes closed"
        );
        let leftovers: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(
            leftovers,
            std::slice::from_ref(&take),
            "no journal or temporary file left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn after_kill_9_recover_saves_everything_up_to_the_last_flush() {
    let dir = scratch("record-kill");
    let take = dir.join("take.mid");
    let mut child = start_recording_a_file(&take, &fixture("streams/two-tracks.mid"));
    // The journal is flushed at least every second.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!take.exists(), "killed: no file was finished");
    let journal = dir.join(".take.mid.journal");
    assert!(journal.exists(), "the journal is left behind");

    // The next recording in that directory points at it.
    let again = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["record", "--file"])
        .arg(fixture("streams/running-status.mid"))
        .arg("--fast")
        .arg(dir.join("other.mid"))
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("found an unfinished take; `composer-probe recover"),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .arg("recover")
        .arg(&journal)
        .output()
        .unwrap();
    let run = Run::from_output(output);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (_, _, messages) = read_with_mido(&take);
    // two-tracks.mid plays notes from t = 0; after 1.6 s at least the first second is safe.
    let notes = messages
        .iter()
        .filter(|(_, m)| m.starts_with("note_on:") && !m.contains("velocity=0"))
        .count();
    assert!(notes >= 2, "{messages:?}");
    assert!(hanging_notes(&messages).is_empty());
    assert!(
        !journal.exists(),
        "the journal is gone once the take is safe"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// An ioctl script: each element one USB transfer of USB-MIDI packets, then an unplug.
pub fn script(dir: &Path, transfers: &[&[[u8; 4]]]) -> PathBuf {
    let mut text = String::from("@DEV /dev/bus/usb/001/005 (usbdevfs)\n");
    for packets in transfers {
        let hex: String = packets
            .iter()
            .flatten()
            .map(|b| format!("{b:02X}"))
            .collect();
        text += &format!(
            "USBDEVFS_REAPURBNDELAY 0 3 129 0 0 64 {} 0 {hex}\n",
            packets.len() * 4
        );
    }
    text += "USBDEVFS_REAPURBNDELAY 0 3 129 -108 0 64 0 0\n";
    let path = dir.join("buttons.ioctl");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn record_stop_and_play_buttons_make_separate_takes() {
    let dir = scratch("record-takes");
    let cc = |controller: u8, value: u8| [0x0b, 0xb0, controller, value];
    let on = |key: u8| [0x09, 0x90, key, 100];
    let off = |key: u8| [0x08, 0x80, key, 0];
    let script = script(
        &dir,
        &[
            &[cc(107, 127)], // ● take 1
            &[on(60), off(60)],
            &[cc(106, 127), cc(106, 0)], // ■ save it
            &[cc(107, 127)],             // ● take 2
            &[on(62), off(62)],
            &[cc(107, 127)], // ● again while recording: take 2 saved, take 3 starts
            &[on(64)],
            &[cc(106, 127)], // ■ (64 still held: closed at the stop)
            &[cc(105, 127)], // ▶ play the last take back
        ],
    );
    let takes = dir.join("takes");
    std::fs::create_dir(&takes).unwrap();
    let run = record_usb(&script, &["--usb", "--takes", takes.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&takes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}\n{}", run.stderr);
    let notes: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            read_with_mido(f)
                .2
                .into_iter()
                .filter(|(_, m)| m.starts_with("note_on:"))
                .map(|(_, m)| m)
                .collect()
        })
        .collect();
    assert_eq!(notes[0], ["note_on:channel=0,note=60,velocity=100"]);
    assert_eq!(notes[1], ["note_on:channel=0,note=62,velocity=100"]);
    assert_eq!(notes[2], ["note_on:channel=0,note=64,velocity=100"]);
    for file in &files {
        assert!(hanging_notes(&read_with_mido(file).2).is_empty());
        assert!(file
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("take-"));
    }
    // No sound device here: ▶ says so instead of failing the session.
    assert!(run.stderr.contains("▶ cannot play back"), "{}", run.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn takes_open_in_fluidsynth_and_timidity() {
    let dir = scratch("record-players");
    let take = dir.join("take.mid");
    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let wav = dir.join("fluid.wav");
    let fluid = Command::new("fluidsynth")
        .args(["-ni", "-g", "1.0", "-F"])
        .arg(&wav)
        .arg("/usr/share/sounds/sf2/FluidR3_GM.sf2")
        .arg(&take)
        .output()
        .expect("fluidsynth is installed");
    assert!(
        fluid.status.success(),
        "{}",
        String::from_utf8_lossy(&fluid.stderr)
    );
    let (_, left) = crate::sound::read_wav_with_python(&wav);
    assert!(
        left.iter().any(|s| s.abs() > 0.01),
        "fluidsynth plays the take's notes"
    );
    let timidity = Command::new("timidity")
        .args(["-Ow", "-o"])
        .arg(dir.join("timidity.wav"))
        .arg(&take)
        .output()
        .expect("timidity is installed");
    let said = String::from_utf8_lossy(&timidity.stdout).to_string()
        + &String::from_utf8_lossy(&timidity.stderr);
    assert!(timidity.status.success(), "{said}");
    assert!(
        !said.to_lowercase().contains("not a midi file") && !said.contains("Corrupt"),
        "{said}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn existing_files_unwritable_places_and_a_full_disk_fail_cleanly() {
    let dir = scratch("record-refuse");
    let take = dir.join("take.mid");
    std::fs::write(&take, b"precious").unwrap();
    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&take).unwrap(),
        b"precious",
        "not overwritten"
    );

    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", "/proc/take.mid"],
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "fails before recording starts: {}",
        run.stderr
    );

    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", "--force", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    read_with_mido(&take);

    // A full disk: a 12 KiB tmpfs, filled up first.
    let tiny = dir.join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12k", "tmpfs"])
        .arg(&tiny)
        .status()
        .is_ok_and(|s| s.success());
    /// Unmounts the tmpfs however the test ends.
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let unmount = mounted.then(|| Unmount(&tiny));
    if !mounted {
        eprintln!("skipped the full-disk case: cannot mount a tmpfs here (needs root)");
    } else {
        let filler = std::fs::write(tiny.join("filler"), vec![0u8; 64 * 1024]);
        assert!(filler.is_err(), "the tmpfs is full");
        let full_take = tiny.join("take.mid");
        let run = record_usb(
            &fixture("streams/akm322-panel.ioctl"),
            &["--usb", full_take.to_str().unwrap()],
        );
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
        assert!(
            run.stderr.contains("No space left on device"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
        assert!(!full_take.exists(), "nothing half-written left as if valid");
    }
    drop(unmount);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn split_channels_and_deepcomposer_export_shape_the_file() {
    let dir = scratch("record-shapes");
    let split = dir.join("split.mid");
    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &[
            "--usb",
            "--split-channels",
            "--ppq",
            "96",
            split.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (kind, ppq, messages) = read_with_mido(&split);
    assert_eq!((kind, ppq), (1, 96), "format 1 at the asked resolution");
    assert!(!messages.is_empty());

    let export = dir.join("export.mid");
    let run = record_usb(
        &fixture("streams/akm322-panel.ioctl"),
        &["--usb", "--export-deepcomposer", export.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let script = "import sys, mido\nf = mido.MidiFile(sys.argv[1])\nprint(len(f.tracks), sum(1 for m in f.tracks[0] if m.type == 'set_tempo'), f.length)\n";
    let output = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&export)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        fields[..2],
        ["1", "1"],
        "one track, one static tempo: {text}"
    );
    assert!(
        fields[2].parse::<f64>().unwrap() <= 16.0,
        "at most 8 bars of 4/4 at 120 bpm: {text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn until_silence_stops_once_everything_is_released() {
    let dir = scratch("record-silence");
    // One note for 0.3 s, then nothing until a second note at 3 s.
    // PPQ 1000 at 120 bpm: one tick = 0.5 ms; 600 ticks = VLQ 84 58; 5400 = VLQ AA 18.
    let track: Vec<u8> = vec![
        0x00, 0x90, 60, 90, 0x84, 0x58, 0x80, 60, 0, 0xaa, 0x18, 0x90, 72, 90, 0x00, 0x80, 72, 0,
        0x00, 0xff, 0x2f, 0x00,
    ];
    let mut midi = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    midi.extend((track.len() as u32).to_be_bytes());
    midi.extend(track);
    let song = dir.join("song.mid");
    std::fs::write(&song, midi).unwrap();
    let take = dir.join("take.mid");
    let output = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["record", "--until-silence", "0.5", "--file"])
        .arg(&song)
        .arg(&take)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .output()
        .unwrap();
    let run = Run::from_output(output);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (_, _, messages) = read_with_mido(&take);
    let notes: Vec<&String> = messages
        .iter()
        .map(|(_, m)| m)
        .filter(|m| m.starts_with("note_on"))
        .collect();
    assert_eq!(
        notes,
        ["note_on:channel=0,note=60,velocity=90"],
        "stopped in the silence, before the note at 3 s"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `YYYYMMDD-HHMMSS` of each Unix time in `secs`, in the local time of
/// the zone `tz` (`None`: the test's own), as `date` (glibc) prints it: the
/// stamp a take name carries.
pub fn local_stamps(secs: std::ops::Range<u64>, tz: Option<&str>) -> Vec<String> {
    let mut command = Command::new("date");
    command
        .args(["-f", "-", "+%Y%m%d-%H%M%S"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(tz) = tz {
        command.env("TZ", tz);
    }
    let mut child = command.spawn().expect("date runs");
    let input: String = secs.map(|s| format!("@{s}\n")).collect();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Seconds since 1970 now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `record ARGS` in `dir` (a real-time or `--fast` file replay, no device).
fn record_in(dir: &Path, tz: &str, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .arg("record")
        .args(args)
        .current_dir(dir)
        .env("TZ", tz)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .output()
        .unwrap();
    Run::from_output(output)
}

/// The names of the takes (`take-*.mid`) in `dir`, sorted.
fn take_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("take-") && n.ends_with(".mid"))
        .collect();
    names.sort();
    names
}

#[test]
fn record_without_a_file_name_names_the_take_in_local_time_and_never_overwrites() {
    let dir = scratch("record-noname");
    let song = fixture("streams/two-tracks.mid");
    // India is 5 h 30 min from UTC all year: a UTC name cannot pass.
    let zone = "Asia/Kolkata";
    let before = unix_now();
    let first = record_in(&dir, zone, &["--fast", "--file", song.to_str().unwrap()]);
    let second = record_in(&dir, zone, &["--fast", "--file", song.to_str().unwrap()]);
    let after = unix_now();
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let names = take_names(&dir);
    assert_eq!(names.len(), 2, "two takes, none overwritten: {names:?}");
    let stamps = local_stamps(before..after + 1, Some(zone));
    for (name, run) in names.iter().zip([&first, &second]) {
        // take-YYYYMMDD-HHMMSS-NN.mid
        let stamp = &name["take-".len().."take-YYYYMMDD-HHMMSS".len()];
        assert!(
            stamps.iter().any(|s| s == stamp),
            "{name} is named in {zone} time, one of {stamps:?}"
        );
        assert!(
            run.stderr.contains(&format!("recording to {name}"))
                && run.stderr.contains(&format!("■ saved {name}:")),
            "says which file it writes and wrote: {}",
            run.stderr
        );
        let (_, _, messages) = read_with_mido(&dir.join(name));
        assert!(!messages.is_empty(), "{name} holds the take");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn quiet_record_prints_no_event_lines_but_the_start_the_save_and_errors() {
    let dir = scratch("record-quiet");
    let song = fixture("streams/two-tracks.mid");
    let loud = record_in(
        &dir,
        "UTC",
        &["--fast", "--file", song.to_str().unwrap(), "loud.mid"],
    );
    assert_eq!(loud.code, Some(0), "{}", loud.stderr);
    assert!(
        !loud.stdout.is_empty(),
        "without --quiet every event is a line"
    );
    let quiet = record_in(
        &dir,
        "UTC",
        &[
            "--quiet",
            "--fast",
            "--file",
            song.to_str().unwrap(),
            "quiet.mid",
        ],
    );
    assert_eq!(quiet.code, Some(0), "{}", quiet.stderr);
    assert_eq!(quiet.stdout, "", "no event lines");
    assert!(
        quiet.stderr.contains("recording to quiet.mid")
            && quiet.stderr.contains("■ saved quiet.mid:"),
        "{}",
        quiet.stderr
    );
    assert_eq!(
        read_with_mido(&dir.join("quiet.mid")).2,
        read_with_mido(&dir.join("loud.mid")).2,
        "the same take, quiet or not"
    );
    // An error is still said.
    let refused = record_in(
        &dir,
        "UTC",
        &[
            "--quiet",
            "--fast",
            "--file",
            song.to_str().unwrap(),
            "quiet.mid",
        ],
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_playback_failure_in_record_advises_options_record_has() {
    let dir = scratch("record-play-advice");
    let cc = |controller: u8, value: u8| [0x0b, 0xb0, controller, value];
    let script = script(
        &dir,
        &[
            &[cc(107, 127)], // ●
            &[[0x09, 0x90, 60, 100], [0x08, 0x80, 60, 0]],
            &[cc(106, 127)], // ■
            &[cc(105, 127)], // ▶ with no sound device here
        ],
    );
    let run = record_usb(&script, &["--usb", "--takes", dir.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("▶ cannot play back"))
        .unwrap_or_else(|| panic!("▶ says it cannot play: {}", run.stderr));
    let take = dir.join(&take_names(&dir)[0]);
    assert!(!line.contains("--wav"), "record has no --wav: {line}");
    assert!(
        !line
            .replace("composer-probe play --list-audio", "")
            .contains("--list-audio"),
        "record has no --list-audio: {line}"
    );
    for advice in [
        "--audio-device",
        "`composer-probe play --list-audio`",
        &format!("`composer-probe render {}", take.display()),
    ] {
        assert!(line.contains(advice), "{advice:?} in: {line}");
    }
    // The advice is real: record takes the option, and render makes the WAV.
    let help = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["record", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--audio-device"));
    let rendered = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .arg("render")
        .arg(&take)
        .arg(dir.join("take.wav"))
        .output()
        .unwrap();
    assert!(rendered.status.success());
    std::fs::remove_dir_all(dir).unwrap();
}
