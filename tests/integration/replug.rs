//! The keyboard really unplugged and plugged back in within one run:
//! `tests/fixtures/replug.py` drives umockdev's library, so the device
//! leaves sysfs and `/dev` and comes back answering ANOTHER stream (other
//! keys), and a reconnect cannot be mistaken for a replay. Direct USB
//! (`--usb`) with and without `--wait`.

use crate::record::{as_mido, hanging_notes, read_with_mido};
use crate::sound::{read_wav_with_python, rms, scratch};
use crate::util::{assert_events_match, expected, fixture, json_lines, then_probe, Run};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

/// Played before the unplug; its last note (G4, 67) and the sustain pedal
/// are held when the cable is pulled.
pub const BEFORE: &str = "akm322-replug-before";
/// Played after the replug: C5, E5, G5 (72, 76, 79), never heard before.
pub const AFTER: &str = "akm322-replug-after";
/// How long the keyboard stays out: the program looks for it every half
/// second, so it has several chances to (wrongly) come back early.
const UNPLUGGED_SECS: &str = "1.5";

/// What the program prints for the held note and for the last event of the
/// second half, as JSON and as text.
const HELD_JSON: &str = r#""note_on","channel":0,"note":67"#;
const LAST_JSON: &str = r#""note_off","channel":0,"note":79"#;
pub const HELD_TEXT: &str = "Note on          ch 1  G4 (67)   velocity 80";
pub const LAST_TEXT: &str = "Note off         ch 1  G5 (79)   velocity 0";

/// One step of `replug.py`'s script.
pub enum Step<'a> {
    /// Until the program has printed a line containing this.
    WaitFor(&'a str),
    /// Until the program has printed a line containing this on stderr.
    WaitForStderr(&'a str),
    /// Typed on the program's terminal (`replug.py --pty`).
    Type(&'a str),
    Unplug,
    Sleep(&'a str),
    /// Plug back in, answering this stream.
    Replug(&'a str),
    /// Ctrl+C.
    Interrupt,
}

#[derive(Debug, Deserialize)]
pub struct Line {
    /// Seconds since the program started, when the line arrived.
    pub t: f64,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Mark {
    step: String,
    /// When the step began and ended (seconds since the program started).
    pub t: f64,
    done: f64,
    /// Stdout lines that had arrived when it began.
    lines_before: usize,
}

#[derive(Debug, Deserialize)]
struct Report {
    code: Option<i32>,
    failure: Option<String>,
    stdout: String,
    stderr: String,
    lines: Vec<Line>,
    marks: Vec<Mark>,
}

/// A run of the program with the keyboard unplugged (and replugged).
pub struct Replugged {
    pub run: Run,
    pub lines: Vec<Line>,
    marks: Vec<Mark>,
}

impl Replugged {
    /// The first `step` of the script.
    pub fn mark(&self, step: &str) -> &Mark {
        self.marks
            .iter()
            .find(|m| m.step == step)
            .unwrap_or_else(|| panic!("no {step} step in {:?}", self.marks))
    }

    /// When the first line containing `text` arrived.
    fn arrival(&self, text: &str) -> f64 {
        self.lines
            .iter()
            .find(|l| l.text.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} in\n{}", self.run.stdout))
            .t
    }

    /// `disconnected` after the unplug began, nothing reconnected while the
    /// keyboard was out (it was out for several of the program's looks),
    /// `reconnected` only after the replug began, and exactly once.
    fn assert_reconnect_only_after_replug(&self, disconnected: &str, reconnected: &str) {
        let (unplug, replug) = (self.mark("unplug"), self.mark("replug"));
        assert!(
            self.arrival(disconnected) >= unplug.t,
            "disconnected before the unplug: {:?}\n{:?}",
            self.lines,
            self.marks
        );
        let while_out: Vec<&str> = self.lines[unplug.lines_before..replug.lines_before]
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert!(
            while_out.len() == 1 && while_out[0].contains(disconnected),
            "while unplugged only the disconnect is reported: {while_out:?}"
        );
        assert!(
            self.arrival(reconnected) >= replug.t,
            "reconnected before the replug: {:?}\n{:?}",
            self.lines,
            self.marks
        );
        let count = self
            .lines
            .iter()
            .filter(|l| l.text.contains(reconnected))
            .count();
        assert_eq!(count, 1, "one reconnect: {}", self.run.stdout);
        assert!(replug.done - unplug.t > 1.0, "the keyboard was really out");
    }
}

/// Runs `composer-probe ARGS` on the DeepComposer playing [`BEFORE`], with
/// `replug.py` following `steps`.
fn replugged(args: &[&str], steps: &[Step]) -> Replugged {
    replugged_with(&[], args, steps)
}

/// [`replugged`] with more of `replug.py`'s options (`--start-unplugged`,
/// `--pty`).
pub fn replugged_with(options: &[&str], args: &[&str], steps: &[Step]) -> Replugged {
    let stream = |name: &str| fixture(&format!("streams/{name}.ioctl"));
    let mut command = Command::new("/usr/bin/python3");
    command
        .arg(fixture("replug.py"))
        .args(options)
        .arg("--device")
        .arg(fixture("akm322.umockdev"))
        .args(["--node", "/dev/bus/usb/001/005", "--stream"])
        .arg(stream(BEFORE));
    for step in steps {
        match step {
            Step::WaitFor(text) => command.args(["--wait-for", text]),
            Step::WaitForStderr(text) => command.args(["--wait-for-stderr", text]),
            Step::Type(text) => command.args(["--type", text]),
            Step::Unplug => command.arg("--unplug"),
            Step::Sleep(secs) => command.args(["--sleep", secs]),
            Step::Replug(name) => command.arg("--replug").arg(stream(name)),
            Step::Interrupt => command.arg("--interrupt"),
        };
    }
    let output = then_probe(&mut command, args)
        .output()
        .expect("Debian's python3 runs (the README's test command installs python3-gi and gir1.2-umockdev-1.0)");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let report: Report = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "replug.py failed ({e}): {text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        report.failure, None,
        "stdout:\n{}\nstderr:\n{}",
        report.stdout, report.stderr
    );
    assert!(!report.stderr.contains("panicked"), "{}", report.stderr);
    Replugged {
        run: Run {
            code: report.code,
            stdout: report.stdout,
            stderr: report.stderr,
        },
        lines: report.lines,
        marks: report.marks,
    }
}

/// Play [`BEFORE`], pull the cable with G4 held, wait, plug in again, play
/// [`AFTER`], Ctrl+C.
fn unplug_and_replug(args: &[&str], held: &str, disconnected: &str, last: &str) -> Replugged {
    replugged(
        args,
        &[
            Step::WaitFor(held),
            Step::Unplug,
            Step::WaitFor(disconnected),
            Step::Sleep(UNPLUGGED_SECS),
            Step::Replug(AFTER),
            Step::WaitFor(last),
            Step::Interrupt,
        ],
    )
}

fn stream_event(kind: &str, reason: &str) -> Map<String, Value> {
    let mut event = Map::new();
    event.insert("type".into(), kind.into());
    event.insert("reason".into(), reason.into());
    event
}

/// `monitor --json` printed the first half and the disconnect, then (after
/// a replug) the reconnect and the second half, and nothing else.
fn assert_json_events(r: &Replugged, replugged: bool) {
    let mut wanted = events(BEFORE);
    wanted.push(stream_event("disconnected", "keyboard disconnected"));
    if replugged {
        wanted.push(stream_event("reconnected", "keyboard reconnected"));
        wanted.extend(events(AFTER));
    }
    assert_events_match(&json_lines(&r.run.stdout), &wanted);
}

fn events(name: &str) -> Vec<Map<String, Value>> {
    expected(&format!("{name}.expected.json"))
}

/// Seconds at the start of a text line (`    0.024962  keyboard ...`), in µs.
fn line_us(line: &str) -> u64 {
    let seconds: f64 = line.split_whitespace().next().unwrap().parse().unwrap();
    (seconds * 1e6).round() as u64
}

/// µs from the take start to ticks, as the file stores them (PPQ 480, 120
/// bpm: 500 000 µs per beat), rounded to nearest.
fn ticks(us: u64) -> u64 {
    (us * 480 + 250_000) / 500_000
}

/// The take's messages, and the tick at which the held G4 was released.
fn take_with_g4_release(take: &Path) -> (Vec<String>, u64) {
    let (_, _, messages) = read_with_mido(take);
    assert!(hanging_notes(&messages).is_empty(), "{messages:?}");
    let release = messages
        .iter()
        .find(|(_, m)| m == "note_off:channel=0,note=67,velocity=0")
        .unwrap_or_else(|| panic!("G4 released: {messages:?}"))
        .0;
    (messages.into_iter().map(|(_, m)| m).collect(), release)
}

/// The first half as mido reads it, then the releases of G4 and of the
/// sustain pedal (at the unplug, or at the stop without `--wait`).
fn first_half_released() -> Vec<String> {
    let mut wanted: Vec<String> = events(BEFORE).iter().map(as_mido).collect();
    wanted.push("note_off:channel=0,note=67,velocity=0".into());
    wanted.push("control_change:channel=0,control=64,value=0".into());
    wanted
}

#[test]
fn monitor_wait_reports_the_unplug_and_the_replug_then_the_new_notes() {
    let r = unplug_and_replug(
        &["monitor", "--usb", "--wait", "--json"],
        HELD_JSON,
        "disconnected",
        LAST_JSON,
    );
    assert_eq!(
        r.run.code,
        Some(0),
        "Ctrl+C is a clean stop: {}",
        r.run.stderr
    );
    // Exactly: the first half, the disconnect, the reconnect, the second
    // half. Nothing replayed, nothing twice.
    assert_json_events(&r, true);
    r.assert_reconnect_only_after_replug(r#""disconnected""#, r#""reconnected""#);
    assert!(
        r.arrival(r#""note":72"#) >= r.mark("replug").t,
        "the second half is played after the replug"
    );
}

#[test]
fn monitor_wait_text_says_disconnected_then_reconnected() {
    let r = unplug_and_replug(
        &["monitor", "--usb", "--wait"],
        HELD_TEXT,
        "keyboard disconnected",
        LAST_TEXT,
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    let (before, after) = (events(BEFORE).len(), events(AFTER).len());
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    assert_eq!(lines.len(), before + 2 + after, "{}", r.run.stdout);
    assert!(lines[before - 1].ends_with(HELD_TEXT), "{}", r.run.stdout);
    assert!(lines[before].ends_with("  keyboard disconnected"));
    assert!(lines[before + 1].ends_with("  keyboard reconnected"));
    assert!(
        lines[before + 2].ends_with("Note on          ch 1  C5 (72)   velocity 110"),
        "{}",
        r.run.stdout
    );
    assert!(lines[lines.len() - 1].ends_with(LAST_TEXT));
    r.assert_reconnect_only_after_replug("keyboard disconnected", "keyboard reconnected");
}

#[test]
fn record_wait_keeps_both_halves_and_releases_the_note_held_at_the_unplug() {
    let dir = scratch("replug-record-wait");
    let take = dir.join("take.mid");
    let r = unplug_and_replug(
        &["record", "--usb", "--wait", take.to_str().unwrap()],
        HELD_TEXT,
        "keyboard disconnected",
        LAST_TEXT,
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    r.assert_reconnect_only_after_replug("keyboard disconnected", "keyboard reconnected");
    assert!(
        r.run.stderr.contains("■ saved") && !r.run.stderr.contains("closed at the stop"),
        "nothing was left held for the stop to close: {}",
        r.run.stderr
    );
    let (messages, release) = take_with_g4_release(&take);
    let mut wanted = first_half_released();
    wanted.extend(events(AFTER).iter().map(as_mido));
    assert_eq!(messages, wanted, "both halves, G4 released between them");
    // Released at the moment the program reported the unplug, not later.
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let disconnected = lines.iter().find(|l| l.ends_with("keyboard disconnected"));
    let elapsed = line_us(disconnected.unwrap()) - line_us(lines[0]);
    assert_eq!(release, ticks(elapsed), "{}", r.run.stdout);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_wait_an_unplug_ends_monitor_cleanly() {
    let r = replugged(
        &["monitor", "--usb", "--json"],
        &[Step::WaitFor(HELD_JSON), Step::Unplug],
    );
    assert_eq!(
        r.run.code,
        Some(0),
        "unplug is not a failure: {}",
        r.run.stderr
    );
    assert_json_events(&r, false);
    assert!(r.arrival(r#""disconnected""#) >= r.mark("unplug").t);
    assert!(
        r.run.stderr.contains("the keyboard was disconnected"),
        "{}",
        r.run.stderr
    );
}

#[test]
fn without_wait_an_unplug_saves_the_take_up_to_the_unplug() {
    let dir = scratch("replug-record");
    let take = dir.join("take.mid");
    let r = replugged(
        &["record", "--usb", take.to_str().unwrap()],
        &[Step::WaitFor(HELD_TEXT), Step::Unplug],
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    assert!(
        r.run.stderr.contains("1 held note closed at the stop"),
        "{}",
        r.run.stderr
    );
    let (messages, release) = take_with_g4_release(&take);
    assert_eq!(messages, first_half_released());
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let out = events(BEFORE).len();
    assert_eq!(lines.len(), out + 1, "{lines:?}");
    assert!(lines[out].ends_with("keyboard disconnected"), "{lines:?}");
    assert_eq!(release, ticks(line_us(lines[out]) - line_us(lines[0])));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_wait_silences_the_note_held_at_the_unplug_until_the_replug() {
    let dir = scratch("replug-play-wait");
    let wav = dir.join("heard.wav");
    // The organ holds a note for as long as its key is down.
    let r = unplug_and_replug(
        &[
            "play",
            "--usb",
            "--wait",
            "--preset",
            "organ",
            "--wav",
            wav.to_str().unwrap(),
        ],
        HELD_TEXT,
        "keyboard disconnected",
        LAST_TEXT,
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    r.assert_reconnect_only_after_replug("keyboard disconnected", "keyboard reconnected");
    let lines: Vec<&str> = r.run.stdout.lines().collect();
    let at = |text: &str| line_us(lines.iter().find(|l| l.ends_with(text)).unwrap());
    let (out, back) = (at("keyboard disconnected"), at("keyboard reconnected"));
    let (rate, left) = read_wav_with_python(&wav);
    let sample = |us: u64| (us * u64::from(rate) / 1_000_000) as usize;
    // From 0.3 s after the unplug (the release has died away) to the replug.
    let unplugged = &left[sample(out + 300_000)..sample(back)];
    assert!(
        rms(unplugged) < 1e-4,
        "G4 still sounds while the keyboard is unplugged: RMS {}",
        rms(unplugged)
    );
    // The loudest 50 ms after the replug, at least 26 dB above the silence
    // asked of the unplugged stretch (the session may end soon after the
    // last key, so the notes can be short).
    let after = left[sample(back)..]
        .chunks(usize::try_from(rate / 20).unwrap())
        .map(rms)
        .fold(0.0, f32::max);
    assert!(
        after > 0.002,
        "the keys played after the replug are heard: loudest 50 ms at RMS {after}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
