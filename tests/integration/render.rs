//! `render` and `play --wav` as files on disk (issue 12): limits, damaged
//! input, temporary files (errors, signals, planted symlinks), overwriting
//! and standard output. WAVs are checked with Python's `wave` module.

use crate::sound::{python_on, read_wav_with_python, scratch};
use crate::util::{dir_names, fixture, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// `composer-probe ARGS` with no sound device and no MIDI service.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_composer-probe"));
    command
        .args(args)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE");
    command
}

fn probe(args: &[&str]) -> Run {
    Run::from_output(command(args).output().expect("binary runs"))
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A variable-length quantity as SMF writes it.
fn vlq(mut value: u32) -> Vec<u8> {
    let mut out = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value > 0 {
        out.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    out.reverse();
    out
}

/// A Standard MIDI File: header (format 0 for one track, else 1) and tracks.
fn smf(division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"MThd\0\0\0\x06".to_vec();
    out.extend(u16::from(tracks.len() > 1).to_be_bytes());
    out.extend((tracks.len() as u16).to_be_bytes());
    out.extend(division.to_be_bytes());
    for track in tracks {
        out.extend(b"MTrk");
        out.extend((track.len() as u32).to_be_bytes());
        out.extend(track);
    }
    out
}

/// One track: a note on at 0, its release `ticks` later, End of Track.
fn held_note(ticks: u32) -> Vec<u8> {
    let mut track = vec![0x00, 0x90, 60, 100];
    track.extend(vlq(ticks));
    track.extend([0x80, 60, 0, 0x00, 0xff, 0x2f, 0x00]);
    track
}

/// At PPQ 96 and the default 120 bpm, 192 ticks are one second.
const TICKS_PER_SECOND: u32 = 192;

/// A file of one note held for `seconds`.
fn note_file(path: &Path, seconds: u32) {
    std::fs::write(path, smf(96, &[held_note(seconds * TICKS_PER_SECOND)])).unwrap();
}

/// A fresh directory holding `a.mid`, one note held for a second.
fn scratch_with_a_note(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let midi = dir.join("a.mid");
    note_file(&midi, 1);
    (dir, midi)
}

/// A file of short notes, one every 250 ms, for `seconds`.
fn busy_file(path: &Path, seconds: u32) {
    let mut track = Vec::new();
    for n in 0..seconds * 4 {
        let key = 60 + (n % 12) as u8;
        track.extend([0x00, 0x90, key, 100]);
        track.extend(vlq(TICKS_PER_SECOND / 4));
        track.extend([0x80, key, 0]);
    }
    track.extend([0x00, 0xff, 0x2f, 0x00]);
    std::fs::write(path, smf(96, &[track])).unwrap();
}

/// Asserts a failure told in one line, without a panic.
fn assert_one_line_failure(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// The frame count and sample rate a WAV's header states (Python's `wave`).
fn wav_header(path: &Path) -> (u64, u32) {
    let script =
        "import sys, wave\nw = wave.open(sys.argv[1])\nprint(w.getnframes(), w.getframerate())\n";
    let text = python_on(script, path);
    let mut words = text.split_whitespace();
    (
        words.next().unwrap().parse().unwrap(),
        words.next().unwrap().parse().unwrap(),
    )
}

#[test]
fn render_refuses_ppq_0_and_files_longer_than_the_limit() {
    let dir = scratch("render-limits");
    let five = dir.join("five.mid");
    note_file(&five, 5);
    let wav = dir.join("out.wav");

    // --max-length moves the limit, in seconds or with h/m/s.
    let run = probe(&["render", arg(&five), arg(&wav), "--max-length", "3"]);
    assert_one_line_failure(&run, 1);
    assert!(
        run.stderr.contains("5.0 s") && run.stderr.contains("--max-length"),
        "says how long and what to do: {}",
        run.stderr
    );
    assert_eq!(dir_names(&dir), ["five.mid"]);
    let run = probe(&["render", arg(&five), arg(&wav), "--max-length", "1m"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (frames, rate) = wav_header(&wav);
    assert!(frames >= 5 * u64::from(rate), "{frames} frames");
    std::fs::remove_file(&wav).unwrap();

    // 42 bytes that would be ten hours: refused by the default 1 h limit.
    let ten_hours = dir.join("ten-hours.mid");
    note_file(&ten_hours, 36_000);
    assert!(std::fs::metadata(&ten_hours).unwrap().len() < 64);
    let run = probe(&["render", arg(&ten_hours), arg(&wav)]);
    assert_one_line_failure(&run, 1);
    assert!(
        run.stderr.contains("10 h") && run.stderr.contains("1 h"),
        "{}",
        run.stderr
    );
    assert!(!wav.exists());

    // Past 4 GiB a WAV header cannot say how long the audio is: refused
    // before anything is written (100 min of 192 kHz float is 9.2 GB).
    let long = dir.join("long.mid");
    note_file(&long, 6_000);
    let run = probe(&[
        "render",
        arg(&long),
        arg(&wav),
        "--rate",
        "192000",
        "--float",
        "--max-length",
        "2h",
    ]);
    assert_one_line_failure(&run, 1);
    assert!(run.stderr.contains("4 GiB"), "{}", run.stderr);
    assert!(!wav.exists());

    // PPQ 0 has no tick length: refused, not stretched.
    let ppq0 = dir.join("ppq0.mid");
    std::fs::write(&ppq0, smf(0, &[held_note(2 * TICKS_PER_SECOND)])).unwrap();
    let run = probe(&["render", arg(&ppq0), arg(&wav)]);
    assert_one_line_failure(&run, 1);
    assert!(
        run.stderr.contains("0 ticks per quarter note"),
        "{}",
        run.stderr
    );
    assert!(!wav.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_wav_stops_writing_at_the_limit_and_the_file_is_valid() {
    let dir = scratch("play-wav-limit");
    let midi = dir.join("three.mid");
    note_file(&midi, 3);
    let wav = dir.join("heard.wav");
    let run = probe(&[
        "play",
        "--file",
        arg(&midi),
        "--fast",
        "--no-tui",
        "--wav",
        arg(&wav),
        "--max-length",
        "1",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("limit") && run.stderr.contains("--max-length"),
        "{}",
        run.stderr
    );
    let (frames, rate) = wav_header(&wav);
    assert_eq!(frames, u64::from(rate), "exactly the 1 s limit");
    assert_eq!(
        std::fs::metadata(&wav).unwrap().len(),
        44 + 4 * frames,
        "the header covers the whole file"
    );

    // The file now exists: kept without --force, replaced with it.
    let again = [
        "play",
        "--file",
        arg(&midi),
        "--fast",
        "--no-tui",
        "--wav",
        arg(&wav),
    ];
    let run = probe(&again);
    assert_one_line_failure(&run, 1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(wav_header(&wav).0, frames, "the earlier file is kept");
    let run = probe(&[&again[..], &["--force"]].concat());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(wav_header(&wav).0 > frames, "replaced by the whole session");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Starts `composer-probe ARGS` in `dir`, its output captured.
fn spawn_in(dir: &Path, args: &[&str]) -> Child {
    command(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs")
}

/// Waits until a file other than `except` in `dir` holds `bytes`, or the
/// child has exited (a safety net: the test then fails on what it finds).
fn wait_for_file(dir: &Path, except: &str, bytes: u64, child: &mut Child) -> Option<PathBuf> {
    loop {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let big = entry
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() >= bytes);
            if entry.file_name() != except && big {
                return Some(entry.path());
            }
        }
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn finished(child: Child) -> Run {
    Run::from_output(child.wait_with_output().unwrap())
}

#[test]
fn render_stopped_by_sigint_or_sigterm_leaves_no_temporary_file() {
    for name in ["INT", "TERM"] {
        let dir = scratch(&format!("render-signal-{name}"));
        // Fifty minutes of a held note: far longer to render than the test.
        note_file(&dir.join("long.mid"), 3_000);
        let mut child = spawn_in(&dir, &["render", "long.mid", "out.wav"]);
        let started = wait_for_file(&dir, "long.mid", 1 << 20, &mut child);
        assert!(started.is_some(), "the render started writing");
        signal(&child, name);
        let run = finished(child);
        assert_one_line_failure(&run, 130);
        assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
        assert_eq!(dir_names(&dir), ["long.mid"], "SIG{name} left files behind");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn render_into_a_directory_fails_and_leaves_nothing() {
    let (dir, midi) = scratch_with_a_note("render-into-dir");
    let target = dir.join("some-directory.wav");
    std::fs::create_dir(&target).unwrap();
    for force in [false, true] {
        let mut args = vec!["render", arg(&midi), arg(&target)];
        if force {
            args.push("--force");
        }
        let run = probe(&args);
        assert_one_line_failure(&run, 1);
        assert!(run.stderr.contains("directory"), "{}", run.stderr);
        assert_eq!(dir_names(&dir), ["a.mid", "some-directory.wav"]);
        assert!(dir_names(&target).is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_wav_killed_with_sigkill_is_a_valid_wav_up_to_the_last_second() {
    const BYTES_PER_SECOND: u64 = 48_000 * 4;
    let dir = scratch("play-wav-kill");
    busy_file(&dir.join("busy.mid"), 60);
    let mut child = spawn_in(
        &dir,
        &[
            "play",
            "--file",
            "busy.mid",
            "--no-tui",
            "--wav",
            "heard.wav",
        ],
    );
    let written = wait_for_file(&dir, "busy.mid", 44 + 3 * BYTES_PER_SECOND, &mut child);
    assert!(written.is_some(), "play --wav wrote three seconds");
    signal(&child, "KILL");
    let _ = finished(child);
    assert_eq!(
        dir_names(&dir),
        ["busy.mid", "heard.wav"],
        "no temporary file"
    );
    let wav = dir.join("heard.wav");
    let (frames, rate) = wav_header(&wav);
    assert_eq!(rate, 48_000);
    let on_disk = std::fs::metadata(&wav).unwrap().len() - 44;
    let covered = 4 * frames;
    assert!(
        covered >= 2 * BYTES_PER_SECOND,
        "{frames} frames in the header"
    );
    assert!(
        covered <= on_disk && on_disk - covered <= 3 * BYTES_PER_SECOND / 2,
        "the header covers all but the last second: {covered} of {on_disk} bytes"
    );
    let (_, left) = read_wav_with_python(&wav);
    assert!(left.iter().any(|s| s.abs() > 0.01), "the notes are in it");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn temporary_files_do_not_follow_planted_symlinks() {
    let (dir, midi) = scratch_with_a_note("planted-symlinks");
    let victim = dir.join("precious.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(".out.wav.part")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(".take.mid.tmp")).unwrap();

    let run = probe(&["render", arg(&midi), arg(&dir.join("out.wav"))]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = probe(&[
        "record",
        "--file",
        arg(&midi),
        "--fast",
        arg(&dir.join("take.mid")),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"keep me",
        "the link's target is untouched"
    );
    for name in ["out.wav", "take.mid"] {
        let meta = std::fs::symlink_metadata(dir.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is a file of its own");
        use std::os::unix::fs::PermissionsExt as _;
        assert_ne!(
            meta.permissions().mode() & 0o044,
            0,
            "{name} is as readable as any new file"
        );
    }
    wav_header(&dir.join("out.wav"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Three damaged files: (name, bytes, what the error must name).
fn damaged_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    // The header promises two tracks; only one is there.
    let mut missing = smf(96, &[held_note(96), held_note(96)]);
    let second = missing.len() - (8 + held_note(96).len());
    missing.truncate(second);
    // A track chunk that promises more bytes than the file holds: cut
    // inside its End of Track, after the note and its release.
    let mut cut = smf(96, &[held_note(192)]);
    cut.truncate(cut.len() - 3);
    // An MThd chunk length of 0xFFFFFFFF.
    let mut huge = smf(96, &[held_note(96)]);
    huge[4..8].copy_from_slice(&[0xff; 4]);
    vec![
        ("missing-track.mid", missing, "2 tracks"),
        ("cut-track.mid", cut, "byte 14"),
        ("huge-header.mid", huge, "byte 4"),
    ]
}

#[test]
fn damaged_midi_files_are_refused_with_where_and_read_only_with_lenient() {
    let dir = scratch("render-damaged");
    let wav = dir.join("out.wav");
    for (name, bytes, names_where) in damaged_files() {
        let midi = dir.join(name);
        std::fs::write(&midi, bytes).unwrap();
        let run = probe(&["render", arg(&midi), arg(&wav)]);
        assert_one_line_failure(&run, 1);
        assert!(
            run.stderr.contains(names_where) && run.stderr.contains("--lenient"),
            "{name}: {}",
            run.stderr
        );
        assert!(!wav.exists(), "{name}: no WAV");
    }
    // What can be read is played when asked, with a warning.
    for name in ["missing-track.mid", "cut-track.mid"] {
        let run = probe(&["render", "--lenient", arg(&dir.join(name)), arg(&wav)]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        assert!(run.stderr.contains("damaged"), "{name}: {}", run.stderr);
        let (_, left) = read_wav_with_python(&wav);
        assert!(
            left.iter().any(|s| s.abs() > 0.01),
            "{name}: the note is heard"
        );
        std::fs::remove_file(&wav).unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn render_keeps_an_existing_wav_without_force_and_writes_standard_output_for_dash() {
    let (dir, midi) = scratch_with_a_note("render-force");
    let wav = dir.join("out.wav");
    std::fs::write(&wav, "an earlier render").unwrap();
    let run = probe(&["render", arg(&midi), arg(&wav)]);
    assert_one_line_failure(&run, 1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&wav).unwrap(), "an earlier render");
    let run = probe(&["render", arg(&midi), arg(&wav), "--force"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    wav_header(&wav);
    std::fs::remove_file(&wav).unwrap();

    // `-` is standard output: a WAV whose header tells its true length.
    let output: Output = command(&["render", "a.mid", "-"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(dir_names(&dir), ["a.mid"], "no file named -");
    std::fs::write(&wav, &output.stdout).unwrap();
    let (frames, _) = wav_header(&wav);
    assert_eq!(output.stdout.len() as u64, 44 + 4 * frames);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn render_rates_outside_8000_to_192000_are_usage_errors() {
    let (dir, midi) = scratch_with_a_note("render-rate");
    for rate in ["0", "1", "7999", "192001"] {
        let run = probe(&[
            "render",
            arg(&midi),
            arg(&dir.join("out.wav")),
            "--rate",
            rate,
        ]);
        assert_eq!(run.code, Some(2), "--rate {rate}: {}", run.stderr);
        assert!(run.stderr.contains("8000"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert_eq!(dir_names(&dir), ["a.mid"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// FluidR3_GM, the SoundFont fluidsynth renders with in the benchmark
/// (fluid-soundfont-gm, installed by `scripts/install-deps.sh test`).
const GM_SOUNDFONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

/// Reads 32-bit float stereo WAVs with numpy: for the first, its frames,
/// side/mid level (dB) and share of energy above 8 kHz (the cymbals); for
/// each other, its frames and the level of its difference from the first,
/// relative to the first (dB).
const COMPARE_FLOAT_WAVS: &str = r#"
import struct, sys
import numpy as np
def read(path):
    data = open(path, 'rb').read()
    assert data[:4] == b'RIFF' and data[8:12] == b'WAVE'
    i, bits = 12, None
    while i < len(data):
        tag, size = data[i:i + 4], struct.unpack('<I', data[i + 4:i + 8])[0]
        if tag == b'fmt ':
            channels, = struct.unpack('<H', data[i + 10:i + 12])
            bits, = struct.unpack('<H', data[i + 22:i + 24])
            assert channels == 2
        if tag == b'data':
            assert bits == 32, bits
            return np.frombuffer(data[i + 8:i + 8 + size], '<f4').reshape(-1, 2).astype(np.float64)
        i += 8 + size + (size & 1)
    raise SystemExit(path + ': no data')
def rms(x):
    return np.sqrt(np.mean(x * x))
ref = read(sys.argv[1])
mid, side = (ref[:, 0] + ref[:, 1]) / 2, (ref[:, 0] - ref[:, 1]) / 2
power = np.abs(np.fft.rfft(mid)) ** 2
highs = power[np.fft.rfftfreq(len(mid), 1 / 48000) > 8000].sum() / power.sum()
print(len(ref), 20 * np.log10(rms(side) / rms(mid)), highs)
for path in sys.argv[2:]:
    other = read(path)
    n = min(len(ref), len(other))
    print(len(other), 20 * np.log10(rms(other[:n] - ref[:n]) / rms(ref[:n])))
"#;

/// Renders `midi` with FluidR3_GM as 32-bit float into `wav`, with `jobs`
/// (`None`: the default).
fn render_with_gm_soundfont(midi: &Path, wav: &Path, jobs: Option<&str>) {
    let mut args = vec!["render", "--float", "--force", "--soundfont", GM_SOUNDFONT];
    if let Some(jobs) = jobs {
        args.extend(["--jobs", jobs]);
    }
    args.extend([arg(midi), arg(wav)]);
    let run = probe(&args);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
}

#[test]
fn a_soundfont_render_split_over_threads_sounds_as_one_synthesizer() {
    // tests/fixtures/gm/band.mid: five GM parts, panned, drums on channel
    // 10. Rendered by one synthesizer (--jobs 1), by the default (every
    // core) and by more synthesizers than this machine has cores: the
    // splits must sound as the one (their difference 80 dB below it).
    let dir = scratch("render-jobs");
    let band = fixture("gm/band.mid");
    let one = dir.join("one.wav");
    render_with_gm_soundfont(&band, &one, Some("1"));
    let mut split = Vec::new();
    for jobs in [None, Some("3")] {
        let wav = dir.join(format!("split-{}.wav", jobs.unwrap_or("default")));
        render_with_gm_soundfont(&band, &wav, jobs);
        split.push(wav);
    }
    // The same file without its drums, rendered split.
    let no_drums = dir.join("no-drums.mid");
    let strip = "import sys, mido\n\
        f = mido.MidiFile(sys.argv[1])\n\
        for t in f.tracks:\n    \
            t[:] = [m if getattr(m, 'channel', None) != 9 else mido.Message('control_change', channel=0, control=80, value=0, time=m.time) for m in t]\n\
        f.save(sys.argv[2])\n";
    let status = Command::new("/usr/bin/python3")
        .args(["-c", strip, arg(&band), arg(&no_drums)])
        .status()
        .unwrap();
    assert!(status.success());
    let drumless = dir.join("no-drums.wav");
    render_with_gm_soundfont(&no_drums, &drumless, None);

    let rows = compare_float_wavs(&[&one, &split[0], &split[1]]);
    let (frames, width, highs) = (rows[0][0], rows[0][1], rows[0][2]);
    eprintln!(
        "band.mid: --jobs 1 {frames} frames, side/mid {width:.1} dB, highs {highs:.4}; split: {:?}",
        &rows[1..]
    );
    assert!(frames > 16.0 * 48_000.0, "{frames} frames");
    for (wav, row) in split.iter().zip(&rows[1..]) {
        assert_eq!(row[0], frames, "{}: the same length", wav.display());
        assert!(
            row[1] < -80.0,
            "{}: differs from one synthesizer by {:.1} dB",
            wav.display(),
            row[1]
        );
    }
    // Still stereo, still drums (the cymbals' highs), split.
    let (with, without) = (
        &compare_float_wavs(&[&split[0]])[0],
        &compare_float_wavs(&[&drumless])[0],
    );
    let (split_width, split_highs, drumless_highs) = (with[1], with[2], without[2]);
    assert!(split_width > -15.0, "stereo: side/mid {split_width:.1} dB");
    assert!(
        split_highs > 5.0 * drumless_highs,
        "drums: highs {split_highs:.4} with, {drumless_highs:.4} without"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// [`COMPARE_FLOAT_WAVS`]' rows for `wavs`, the first being the reference.
fn compare_float_wavs(wavs: &[&Path]) -> Vec<Vec<f64>> {
    let output = Command::new("/usr/bin/python3")
        .args(["-c", COMPARE_FLOAT_WAVS])
        .args(wavs)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn render_jobs_must_be_a_count_and_a_broken_soundfont_is_one_line_with_any() {
    let (dir, midi) = scratch_with_a_note("render-jobs-usage");
    let wav = dir.join("out.wav");
    for jobs in ["0", "-1", "two", "", "1.5", "100000"] {
        let option = format!("--jobs={jobs}");
        let run = probe(&["render", &option, arg(&midi), arg(&wav)]);
        assert_eq!(run.code, Some(2), "--jobs {jobs:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert!(run.stderr.contains("--jobs"), "{}", run.stderr);
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
            1,
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let broken = dir.join("broken.sf2");
    std::fs::write(&broken, b"RIFF\x04\x00\x00\x00sfbk").unwrap();
    for jobs in ["1", "2", "16"] {
        let run = probe(&[
            "render",
            "--jobs",
            jobs,
            "--soundfont",
            arg(&broken),
            arg(&midi),
            arg(&wav),
        ]);
        assert_one_line_failure(&run, 1);
        assert!(run.stderr.contains(arg(&broken)), "{}", run.stderr);
    }
    assert_eq!(dir_names(&dir), ["a.mid", "broken.sf2"], "nothing written");
    std::fs::remove_dir_all(dir).unwrap();
}
