//! `play` with no MIDI keyboard: on a terminal the computer keyboard plays
//! until a MIDI keyboard is plugged in (really added with `replug.py`),
//! and again once it is unplugged, with no note left hanging; elsewhere one
//! clear line. With no sound either, both problems are named.

use crate::replug::{replugged_with, Step, AFTER, BEFORE, HELD_TEXT, LAST_TEXT};
use crate::sound::{read_wav_with_python, rms, scratch};
use crate::util::probe;

/// a pressed, in the keyboard protocol of a terminal that reports releases:
/// C4 is held until a is released (it never is).
const PRESS_A: &str = "\x1b[97u";
/// s pressed and released: D4.
const PRESS_S: &str = "\x1b[115u";
const RELEASE_S: &str = "\x1b[115;1:3u";

const C4_ON: &str = "Note on          ch 1  C4 (60)";
const C4_OFF: &str = "Note off         ch 1  C4 (60)";
const D4_ON: &str = "Note on          ch 1  D4 (62)";
const D4_OFF: &str = "Note off         ch 1  D4 (62)";
/// The plugged-in keyboard's first note.
const C5_ON: &str = "Note on          ch 1  C5 (72)";

/// The stream time an event line starts with, in seconds.
fn line_seconds(line: &str) -> f64 {
    line.split_whitespace()
        .next()
        .and_then(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no time in {line:?}"))
}

/// The index of the first of `lines` that contains `text`.
fn line_of(lines: &[&str], text: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in\n{}", lines.join("\n")))
}

#[test]
fn play_without_a_midi_keyboard_plays_the_computer_keyboard_until_one_is_plugged_in() {
    let dir = scratch("play-fallback");
    let wav = dir.join("heard.wav");
    // The organ sounds for as long as a key is down: a hung note is heard.
    let r = replugged_with(
        &["--start-unplugged", "--pty"],
        &[
            "play",
            "--no-tui",
            "--preset",
            "organ",
            "--wav",
            wav.to_str().unwrap(),
        ],
        &[
            Step::WaitForStderr("no MIDI keyboard found"),
            Step::Type(PRESS_A),
            Step::WaitFor(C4_ON),
            Step::Sleep("0.5"),
            Step::Replug(AFTER),
            Step::WaitFor(LAST_TEXT),
            Step::Unplug,
            Step::WaitForStderr("keyboard disconnected; playing the computer keyboard"),
            Step::Sleep("0.8"),
            Step::Type(PRESS_S),
            Step::WaitFor(D4_ON),
            Step::Sleep("0.3"),
            Step::Type(RELEASE_S),
            Step::WaitFor(D4_OFF),
            Step::Interrupt,
        ],
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    let said: Vec<&str> = r.run.stderr.lines().collect();
    assert!(
        said.iter().any(|l| l.ends_with(
            "no MIDI keyboard found (no USB MIDI device is connected); playing the computer \
             keyboard — plug a MIDI keyboard in and it takes over"
        )),
        "{}",
        r.run.stderr
    );
    assert!(
        said.iter()
            .any(|l| l.contains("direct USB")
                && l.ends_with("the computer keyboard no longer plays")),
        "the plugged-in keyboard is named: {}",
        r.run.stderr
    );
    assert!(
        said.iter().any(|l| l.ends_with(
            "keyboard disconnected; playing the computer keyboard — plug a MIDI keyboard in and \
             it takes over"
        )),
        "{}",
        r.run.stderr
    );

    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let at = |text: &str| line_of(&lines, text);
    // C4 sounds until the keyboard takes over, then is released before
    // the keyboard's first note.
    let (c3_on, plugged, c3_off, c5_on) = (
        at(C4_ON),
        at("MIDI keyboard plugged in"),
        at(C4_OFF),
        at(C5_ON),
    );
    assert!(
        c3_on < plugged && plugged < c3_off && c3_off < c5_on,
        "{}",
        r.run.stdout
    );
    assert!(
        r.lines[c3_off].t >= r.mark("replug").t,
        "C4 was held until the keyboard was plugged in"
    );
    // Its notes all came through; unplugged, the computer keyboard plays again.
    let disconnected = at("keyboard disconnected");
    assert!(at(LAST_TEXT) < disconnected && disconnected < at(D4_ON));
    for key in ["C4 (60)", "D4 (62)", "C5 (72)", "E5 (76)", "G5 (79)"] {
        let count = |kind: &str| {
            lines
                .iter()
                .filter(|l| l.contains(kind) && l.contains(key))
                .count()
        };
        assert_eq!(
            (count("Note on"), count("Note off")),
            (1, 1),
            "{key} once, released: {}",
            r.run.stdout
        );
    }

    // Times never go back, across both switches.
    let times: Vec<f64> = lines
        .iter()
        .filter(|l| l.contains("Note"))
        .map(|l| line_seconds(l))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}", r.run.stdout);

    let (rate, left) = read_wav_with_python(&wav);
    let sample = |line: usize| (line_seconds(lines[line]) * f64::from(rate)) as usize;
    let keys = &left[sample(c3_on) + 2_400..sample(c5_on)];
    assert!(
        rms(keys) > 0.002,
        "the computer keyboard is heard: RMS {}",
        rms(keys)
    );
    // From 0.3 s after the keyboard's last note (the release has died
    // away) to D4: nothing hangs, not C4 of the computer keyboard either.
    let quiet = &left[sample(at(LAST_TEXT)) + rate as usize * 3 / 10..sample(at(D4_ON))];
    assert!(
        rms(quiet) < 1e-4,
        "a note hangs after the keyboard left: RMS {}",
        rms(quiet)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_keyboard_unplugged_during_play_hands_over_to_the_computer_keyboard() {
    let dir = scratch("play-fallback-unplug");
    let wav = dir.join("heard.wav");
    // The keyboard is there from the start; G4 and the pedal are held
    // when it is unplugged.
    let r = replugged_with(
        &["--pty"],
        &[
            "play",
            "--no-tui",
            "--preset",
            "organ",
            "--wav",
            wav.to_str().unwrap(),
        ],
        &[
            Step::WaitFor(HELD_TEXT),
            Step::Unplug,
            Step::WaitForStderr("keyboard disconnected; playing the computer keyboard"),
            Step::Sleep("0.8"),
            Step::Type(PRESS_S),
            Step::WaitFor(D4_ON),
            Step::Sleep("0.3"),
            Step::Type(RELEASE_S),
            Step::WaitFor(D4_OFF),
            Step::Interrupt,
        ],
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    assert!(
        !r.run.stderr.contains("no MIDI keyboard found"),
        "{}",
        r.run.stderr
    );
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let at = |text: &str| line_of(&lines, text);
    assert!(at(HELD_TEXT) < at("keyboard disconnected"));
    assert!(at("keyboard disconnected") < at(D4_ON) && at(D4_ON) < at(D4_OFF));
    let (rate, left) = read_wav_with_python(&wav);
    let sample = |line: usize| (line_seconds(lines[line]) * f64::from(rate)) as usize;
    // G4 is silenced at the unplug (its release has died away 0.3 s
    // later), and the computer keyboard's D4 is heard.
    let unplugged = sample(at("keyboard disconnected"));
    let quiet = &left[unplugged + rate as usize * 3 / 10..sample(at(D4_ON))];
    assert!(rms(quiet) < 1e-4, "G4 hangs: RMS {}", rms(quiet));
    let d4 = &left[sample(at(D4_ON)) + 2_400..sample(at(D4_OFF))];
    assert!(rms(d4) > 0.002, "D4 is heard: RMS {}", rms(d4));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn with_wait_the_keyboard_that_took_over_is_waited_for() {
    let dir = scratch("play-fallback-wait");
    let wav = dir.join("heard.wav");
    let r = replugged_with(
        &["--start-unplugged", "--pty"],
        &["play", "--wait", "--no-tui", "--wav", wav.to_str().unwrap()],
        &[
            Step::WaitForStderr("no MIDI keyboard found"),
            Step::Replug(AFTER),
            Step::WaitFor(LAST_TEXT),
            Step::Unplug,
            Step::WaitFor("keyboard disconnected"),
            Step::Sleep("1"),
            Step::Replug(BEFORE),
            Step::WaitFor(HELD_TEXT),
            Step::Interrupt,
        ],
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    assert!(
        !r.run
            .stderr
            .contains("keyboard disconnected; playing the computer keyboard"),
        "the computer keyboard stays off while the keyboard is waited for: {}",
        r.run.stderr
    );
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let at = |text: &str| line_of(&lines, text);
    assert!(
        at("keyboard disconnected") < at("keyboard reconnected")
            && at("keyboard reconnected") < at(HELD_TEXT),
        "{}",
        r.run.stdout
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_deepcomposer_that_takes_over_has_its_encoder_read_as_the_deepcomposers() {
    // The computer keyboard stands in with the General MIDI map (CC 10 is
    // pan); the DeepComposer that takes over turns its encoder to 127 and
    // plays C4. Read as pan that would be hard right; read as the
    // DeepComposer's encoder it changes the waveform and C4 stays centred.
    let dir = scratch("play-fallback-panel");
    let wav = dir.join("heard.wav");
    let r = replugged_with(
        &["--start-unplugged", "--pty"],
        &["play", "--no-tui", "--wav", wav.to_str().unwrap()],
        &[
            Step::WaitForStderr("no MIDI keyboard found"),
            Step::Replug("akm322-encoder"),
            Step::WaitFor(C4_ON),
            Step::Sleep("0.5"),
            Step::Interrupt,
        ],
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let on = line_seconds(lines[line_of(&lines, C4_ON)]);
    let mut reader = hound::WavReader::open(&wav).expect("a WAV");
    let rate = reader.spec().sample_rate as f64;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let from = ((on + 0.05) * rate) as usize * 2;
    let to = (((on + 0.4) * rate) as usize * 2).min(samples.len());
    let level = |channel: usize| {
        let part: Vec<f32> = samples[from..to]
            .iter()
            .skip(channel)
            .step_by(2)
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        20.0 * rms(&part).log10()
    };
    let (left, right) = (level(0), level(1));
    assert!(left > -50.0, "C4 is heard: {left:.1} dB");
    assert!(
        (left - right).abs() < 1.0,
        "C4 stays centred: left {left:.1} dB, right {right:.1} dB"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_without_a_keyboard_or_a_terminal_says_so_in_one_line() {
    let dir = scratch("play-no-terminal");
    let wav = dir.join("heard.wav");
    // Standard input is not a terminal here.
    let run = probe(
        &["empty-bus.umockdev"],
        &["play", "--wav", wav.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no keyboard to listen to: no USB MIDI device is connected")
            && run
                .stderr
                .contains("the computer keyboard plays only when standard input is a terminal"),
        "{}",
        run.stderr
    );
    assert!(!wav.exists(), "nothing was played");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_with_neither_sound_nor_keyboard_names_both() {
    // No ALSA configuration: no sound device; an empty USB bus.
    let run = probe(&["empty-bus.umockdev"], &["play"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let said: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(said.len(), 2, "one line each: {}", run.stderr);
    assert!(
        said.iter()
            .any(|l| l.contains("cannot open the audio output")),
        "{}",
        run.stderr
    );
    assert!(
        said.iter()
            .any(|l| l.contains("no keyboard to listen to: no USB MIDI device is connected")),
        "{}",
        run.stderr
    );
}
