//! `play` and `render`: the synth heard through the real rodio/ALSA output
//! path (captured by ALSA's `file` plugin), written to WAV, and checked with
//! outside readers (sox, Python's wave module).

use crate::util::{fixture, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cp-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A format-0 MIDI file with one note (`key`, held `millis`), then silence.
pub fn one_note_file(path: &Path, key: u8, millis: u32) {
    // PPQ 1000 at 120 bpm: one tick = 0.5 ms.
    let ticks = millis * 2;
    let mut track = vec![0x00, 0x90, key, 100];
    let mut delta = Vec::new();
    let mut value = ticks;
    delta.push((value & 0x7f) as u8);
    value >>= 7;
    while value > 0 {
        delta.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    delta.reverse();
    track.extend(delta);
    track.extend([0x80, key, 0, 0x00, 0xff, 0x2f, 0x00]);
    let mut bytes = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    std::fs::write(path, bytes).unwrap();
}

fn probe(args: &[&str], home: Option<&Path>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_composer-probe"));
    command.args(args).env_remove("RUST_BACKTRACE");
    match home {
        // ALSA reads $HOME/.asoundrc: the capture setup.
        Some(home) => command.env("HOME", home),
        // No ALSA configuration at all: no sound device, no MIDI service.
        None => command.env("ALSA_CONFIG_PATH", "/dev/null"),
    };
    Run::from_output(command.output().expect("binary runs"))
}

/// What a Python script (Debian's own `/usr/bin/python3`, an outside
/// reader) prints about `path`; its error fails the test.
pub fn python_on(script: &str, path: &Path) -> String {
    let output = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Samples of a 16-bit stereo WAV file, read with Python's own `wave`
/// module (an outside reader), as (sample rate, left channel).
pub fn read_wav_with_python(path: &Path) -> (u32, Vec<f32>) {
    let script = "import sys, wave, struct\n\
        w = wave.open(sys.argv[1])\n\
        assert w.getnchannels() == 2 and w.getsampwidth() == 2\n\
        data = w.readframes(w.getnframes())\n\
        print(w.getframerate())\n\
        print(' '.join(str(v) for v in struct.unpack('<%dh' % (len(data) // 2), data)[::2]))\n";
    let text = python_on(script, path);
    let mut lines = text.lines();
    let rate = lines.next().unwrap().parse().unwrap();
    let samples = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|v| v.parse::<f32>().unwrap() / 32768.0)
        .collect();
    (rate, samples)
}

/// The fundamental of a steady tone by autocorrelation.
pub fn pitch_hz(samples: &[f32], rate: u32) -> f64 {
    let window = &samples[..samples.len().min(8192)];
    let (min_lag, max_lag) = ((rate / 2000) as usize, (rate / 40) as usize);
    let correlation = |lag: usize| -> f64 {
        window
            .iter()
            .zip(&window[lag..])
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    let best = (min_lag..max_lag)
        .max_by(|a, b| correlation(*a).total_cmp(&correlation(*b)))
        .unwrap();
    // Refine between samples with a parabola through the peak.
    let (l, c, r) = (
        correlation(best - 1),
        correlation(best),
        correlation(best + 1),
    );
    let shift = 0.5 * (l - r) / (l - 2.0 * c + r);
    f64::from(rate) / (best as f64 + shift)
}

/// Root mean square of samples.
pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[test]
fn render_writes_a_wav_that_sox_and_python_read_with_the_right_pitch() {
    let dir = scratch("render");
    let midi = dir.join("a4.mid");
    one_note_file(&midi, 69, 1000);
    let wav = dir.join("a4.wav");
    let run = probe(
        &[
            "render",
            midi.to_str().unwrap(),
            wav.to_str().unwrap(),
            "--preset",
            "organ",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("rendered 1 note,"), "{}", run.stderr);

    let soxi = Command::new("soxi")
        .arg(&wav)
        .output()
        .expect("sox is installed");
    let info = String::from_utf8_lossy(&soxi.stdout);
    assert!(info.contains("Channels       : 2"), "{info}");
    assert!(info.contains("Sample Rate    : 48000"), "{info}");
    assert!(info.contains("Precision      : 16-bit"), "{info}");

    let (rate, left) = read_wav_with_python(&wav);
    assert_eq!(rate, 48_000);
    let seconds = left.len() as f64 / 48_000.0;
    assert!(
        (1.0..6.0).contains(&seconds),
        "one second of note plus its release: {seconds} s"
    );
    let during = &left[4_800..4_800 + 8192];
    let pitch = pitch_hz(during, rate);
    assert!(
        (pitch / 440.0 - 1.0).abs() < 0.005,
        "A4 rendered at {pitch:.2} Hz"
    );
    // The file ends when the release has died away: its last 5 ms are silent.
    let tail = &left[left.len() - 240..];
    assert!(
        rms(tail) < 1e-3,
        "silent at the end, after the release (rms {})",
        rms(tail)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn render_float_wav_is_32_bit() {
    let dir = scratch("render-float");
    let midi = dir.join("c4.mid");
    one_note_file(&midi, 60, 200);
    let wav = dir.join("c4.wav");
    let run = probe(
        &[
            "render",
            midi.to_str().unwrap(),
            wav.to_str().unwrap(),
            "--float",
            "--rate",
            "44100",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let soxi = Command::new("soxi").arg(&wav).output().unwrap();
    let info = String::from_utf8_lossy(&soxi.stdout);
    assert!(info.contains("32-bit Floating Point PCM"), "{info}");
    assert!(info.contains("Sample Rate    : 44100"), "{info}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn render_refuses_foreign_and_damaged_files_and_leaves_nothing() {
    let dir = scratch("render-bad");
    for name in ["not-midi.mid", "truncated.mid"] {
        let wav = dir.join("out.wav");
        let run = probe(
            &[
                "render",
                fixture(&format!("streams/{name}")).to_str().unwrap(),
                wav.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(run.code, Some(1), "{name}");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "no partial WAV left behind for {name}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_without_an_audio_device_says_so_in_one_line() {
    let run = probe(
        &[
            "play",
            "--file",
            fixture("streams/running-status.mid").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one line, no ALSA noise: {}",
        run.stderr
    );
    assert!(run.stderr.contains("--wav FILE"), "{}", run.stderr);
}

#[test]
fn list_audio_names_the_hosts_and_an_unknown_host_is_one_clear_line() {
    let run = probe(&["play", "--list-audio"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("ALSA (default):\n"),
        "the default host heads the list: {}",
        run.stdout
    );

    let run = probe(&["play", "--audio-host", "nosuch", "--keys"], None);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no \"nosuch\" audio host") && run.stderr.contains("available: ALSA"),
        "{}",
        run.stderr
    );
    if !cfg!(feature = "jack") {
        let run = probe(&["play", "--audio-host", "JACK", "--list-audio"], None);
        assert_eq!(run.code, Some(1));
        assert!(run.stderr.contains("--features jack"), "{}", run.stderr);
    }
}

/// Makes ALSA's `default` device, for programs run with `HOME=dir`, write
/// what it is given to `dir/out.raw` (raw samples); returns that path.
pub fn capture_default_pcm(dir: &Path) -> PathBuf {
    let raw = dir.join("out.raw");
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            raw.display()
        ),
    )
    .unwrap();
    raw
}

#[test]
fn play_through_rodio_is_captured_with_the_notes_fed_in() {
    let dir = scratch("play-capture");
    let raw = capture_default_pcm(&dir);
    let midi = dir.join("a4.mid");
    one_note_file(&midi, 69, 600);
    let run = probe(
        &[
            "play",
            "--file",
            midi.to_str().unwrap(),
            "--preset",
            "organ",
        ],
        Some(&dir),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rate: u32 = run
        .stderr
        .split(" Hz")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the sample rate is printed: {}", run.stderr));
    assert!(run.stderr.contains("ms output latency"), "{}", run.stderr);

    // The file plugin wrote the interleaved f32 stereo stream rodio played.
    let bytes = std::fs::read(&raw).expect("audio was captured");
    let left: Vec<f32> = bytes
        .chunks_exact(8)
        .map(|frame| f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]))
        .collect();
    assert!(
        left.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
        "valid f32 samples, no clipping"
    );
    let start = left
        .iter()
        .position(|s| s.abs() > 0.01)
        .expect("the note is in the captured audio");
    let pitch = pitch_hz(&left[start + 2_000..], rate);
    assert!(
        (pitch / 440.0 - 1.0).abs() < 0.01,
        "A4 heard at {pitch:.2} Hz"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `play --usb ARGS` against the emulated DeepComposer replaying
/// `streams/STREAM.ioctl`, with no ALSA configuration.
fn play_usb(stream: &str, args: &[&str]) -> Run {
    let output = Command::new("umockdev-run")
        .arg("-d")
        .arg(fixture("akm322.umockdev"))
        .arg("-i")
        .arg(format!(
            "/dev/bus/usb/001/005={}",
            fixture(&format!("streams/{stream}.ioctl")).display()
        ))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["play", "--usb"])
        .args(args)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .output()
        .unwrap();
    Run::from_output(output)
}

#[test]
fn play_usb_with_wav_renders_what_the_keyboard_played() {
    let dir = scratch("play-wav");
    let wav = dir.join("heard.wav");
    let run = play_usb("akm322-unplug", &["--wav", wav.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("keyboard was disconnected"),
        "{}",
        run.stderr
    );
    let (_, left) = read_wav_with_python(&wav);
    assert!(rms(&left) > 0.005, "the played notes are in the WAV");
    assert!(left.iter().all(|s| s.abs() <= 1.0));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Both channels of the 16-bit WAV `play --usb --wav` writes for the
/// emulated DeepComposer's `akm322-encoder` stream (the encoder, CC 10,
/// turned to 127, then a note), with `extra` flags.
fn play_encoder_stream(name: &str, extra: &[&str]) -> (Vec<f64>, Vec<f64>) {
    let dir = scratch(name);
    let wav = dir.join("heard.wav");
    let mut args = vec!["--no-tui", "--takes", dir.to_str().unwrap()];
    args.extend(extra);
    args.extend(["--wav", wav.to_str().unwrap()]);
    let run = play_usb("akm322-encoder", &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let samples: Vec<f64> = hound::WavReader::open(&wav)
        .unwrap()
        .samples::<i16>()
        .map(|s| f64::from(s.unwrap()))
        .collect();
    std::fs::remove_dir_all(dir).unwrap();
    (
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    )
}

#[test]
fn the_deepcomposer_encoder_morphs_and_general_midi_pans() {
    let energy = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    // The share of energy in the first difference (a gentle high-pass):
    // a brightness measure.
    let brightness = |x: &[f64]| {
        let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        10.0 * (energy(&d) / energy(x)).log10()
    };
    // From the DeepComposer, its own map: the encoder morphs the waveform
    // to a square; nothing pans, so both sides are the same.
    let (l, r) = play_encoder_stream("encoder-dc", &[]);
    assert!(energy(&l) > 0.0, "the note is heard");
    assert!(l == r, "the DeepComposer's encoder does not pan");
    let square = brightness(&l);
    // `--panel gm`: CC 10 = 127 is hard right, the preset's own waveform.
    let (l, r) = play_encoder_stream("encoder-gm", &["--panel", "gm"]);
    let separation = 10.0 * (energy(&r) / energy(&l).max(1e-30)).log10();
    let own = brightness(&r);
    eprintln!(
        "encoder at 127: DeepComposer map brightness {square:.1} dB, centred; \
         --panel gm {own:.1} dB, right {separation:.1} dB above left"
    );
    assert!(separation >= 20.0);
    assert!(
        square > own + 1.5,
        "the encoder's square is brighter than the piano"
    );
}

#[test]
fn a_missing_or_broken_soundfont_is_one_line_and_nothing_is_written() {
    let dir = scratch("soundfont-bad");
    let mid = dir.join("in.mid");
    one_note_file(&mid, 69, 300);
    let broken = dir.join("broken.sf2");
    std::fs::write(&broken, b"RIFF\x04\x00\x00\x00sfbk").unwrap();
    let wav = dir.join("out.wav");
    for font in [dir.join("missing.sf2"), broken, mid.clone()] {
        for command in ["render", "play"] {
            let mut args = vec![command, "--soundfont", font.to_str().unwrap()];
            match command {
                "render" => args.extend([mid.to_str().unwrap(), wav.to_str().unwrap()]),
                _ => args.extend([
                    "--file",
                    mid.to_str().unwrap(),
                    "--wav",
                    wav.to_str().unwrap(),
                ]),
            }
            let run = probe(&args, None);
            assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
            assert!(
                run.stderr.contains(font.to_str().unwrap()),
                "{}",
                run.stderr
            );
            assert!(!wav.exists(), "{args:?} wrote a WAV");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn render_with_the_default_soundfont_says_which_and_plays_in_tune() {
    let dir = scratch("soundfont-render");
    let mid = dir.join("a4.mid");
    let wav = dir.join("a4.wav");
    one_note_file(&mid, 69, 800);
    let run = probe(
        &[
            "render",
            "--soundfont",
            "default",
            mid.to_str().unwrap(),
            wav.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(".sf2 (the installed default)"),
        "{}",
        run.stderr
    );
    let (rate, left) = read_wav_with_python(&wav);
    let start = left
        .iter()
        .position(|s| s.abs() > 0.01)
        .expect("the note is heard");
    let pitch = pitch_hz(&left[start + 4_800..start + 28_800], rate);
    assert!(
        (pitch / 440.0 - 1.0).abs() < 0.01,
        "A4 heard at {pitch:.2} Hz"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Interleaved f32 stereo written by ALSA's file plugin: the left channel.
pub fn read_raw_left(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|frame| f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]))
        .collect()
}

#[test]
fn audio_device_takes_the_listed_names_and_alsa_pcm_names() {
    let dir = scratch("device-names");
    let (default_raw, capture_raw) = (dir.join("default.raw"), dir.join("capture.raw"));
    // Two outputs: ALSA's default, and a PCM named `capture` with a
    // description, as a user's .asoundrc or a distribution declares them.
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n\
             pcm.capture {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" \
             hint {{ show on description \"Test capture file\" }} }}\n",
            default_raw.display(),
            capture_raw.display()
        ),
    )
    .unwrap();
    let listing = probe(&["play", "--list-audio"], Some(&dir));
    assert_eq!(listing.code, Some(0), "{}", listing.stderr);
    assert!(
        listing
            .stdout
            .contains("  Default Audio Device [default]\n")
            && listing.stdout.contains("  Test capture file [capture]\n"),
        "{}",
        listing.stdout
    );
    let midi = dir.join("a4.mid");
    one_note_file(&midi, 69, 200);
    // Each way of naming an output: the sound lands in that output's file.
    for (wanted, raw) in [
        ("Default Audio Device", &default_raw),
        ("default", &default_raw),
        ("Test capture file [capture]", &capture_raw),
        ("Test capture file", &capture_raw),
        ("capture", &capture_raw),
        ("CAPTURE FILE", &capture_raw),
    ] {
        let _ = std::fs::remove_file(&default_raw);
        let _ = std::fs::remove_file(&capture_raw);
        let run = probe(
            &[
                "play",
                "--file",
                midi.to_str().unwrap(),
                "--audio-device",
                wanted,
            ],
            Some(&dir),
        );
        assert_eq!(run.code, Some(0), "{wanted}: {}", run.stderr);
        let left = read_raw_left(raw);
        assert!(
            left.iter().any(|s| s.abs() > 0.01),
            "{wanted}: the note reached {}",
            raw.display()
        );
    }
    // A name nothing has: one line that names what there is.
    let run = probe(&["play", "--keys", "--audio-device", "hw:7,0"], Some(&dir));
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no audio output device matches \"hw:7,0\"")
            && run.stderr.contains("\"Test capture file [capture]\""),
        "{}",
        run.stderr
    );
    // A part several names share: one line that names them.
    let run = probe(&["play", "--keys", "--audio-device", "a"], Some(&dir));
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("part of several"), "{}", run.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}
