//! `composer-probe monitor` against emulated USB streams (umockdev ioctl
//! scripts) and MIDI files, checked against the expected event lists that
//! `tests/fixtures/streams/gen_streams.py` and `gen_smf.py` write.

use crate::util::{assert_events_match, expected, fixture, json_lines, Run};
use serde_json::{Map, Value};
use std::process::Command;

/// `monitor ARGS` reading `device` with the USB stream `script` replayed.
fn monitor_usb(device: &str, node: &str, script: &str, args: &[&str]) -> Run {
    let mut full = vec!["monitor"];
    full.extend_from_slice(args);
    crate::util::probe_stream(device, node, &fixture(&format!("streams/{script}")), &full)
}

/// Splits JSON lines into MIDI events and the trailing stream event.
fn split_stream_end(
    mut events: Vec<Map<String, Value>>,
) -> (Vec<Map<String, Value>>, Map<String, Value>) {
    let last = events.pop().expect("at least the disconnect event");
    (events, last)
}

#[test]
fn every_deepcomposer_panel_control_is_named_and_exact() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-panel.ioctl",
        &["--usb", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (events, end) = split_stream_end(json_lines(&run.stdout));
    assert_events_match(&events, &expected("akm322-panel.expected.json"));
    assert_eq!(end["type"], "disconnected");
    assert_eq!(end["reason"], "keyboard disconnected");

    let control_names: Vec<&str> = events
        .iter()
        .filter_map(|e| e.get("control")?.as_str())
        .collect();
    for name in [
        "Modulation",
        "Volume",
        "Encoder",
        "Knob 1",
        "Knob 2",
        "Knob 3",
        "Set+Reverb",
        "Play",
        "Stop",
        "Record",
    ] {
        assert!(
            control_names.contains(&name),
            "{name} missing from {control_names:?}"
        );
    }
    assert!(
        !control_names.contains(&"Pan"),
        "the Encoder is not General MIDI Pan"
    );
    let transports: Vec<&str> = events
        .iter()
        .filter_map(|e| e.get("transport")?.as_str())
        .collect();
    assert_eq!(
        transports,
        ["play", "record", "stop"],
        "Stop's release (value 0) is not a press"
    );
    assert!(
        run.stderr
            .contains("AWS DeepComposer keyboard (Midiplus AKM322) via direct USB"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_lines_read_like_a_musician_would_say_them() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-panel.ioctl",
        &["--usb"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].ends_with("Note on          ch 1  C4 (60)   velocity 100"),
        "{}",
        lines[0]
    );
    for wanted in [
        "Control change   ch 1  Knob 1 (CC 21) = 10",
        "Control change   ch 1  Encoder (CC 10) = 64",
        "Control change   ch 1  Play (CC 105) = 127  ▶ Play pressed",
        "Control change   ch 1  Record (CC 107) = 127  ● Record pressed",
        "Pitch bend       ch 1  +8191 (raw 16383)",
        "Note on          ch 1  F2 (41)   velocity 30",
    ] {
        assert!(
            lines.iter().any(|l| l.ends_with(wanted)),
            "missing {wanted:?} in\n{}",
            run.stdout
        );
    }
    assert!(lines.last().unwrap().ends_with("keyboard disconnected"));
}

#[test]
fn sysex_split_across_transfers_arrives_whole() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-sysex.ioctl",
        &["--usb", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (events, _) = split_stream_end(json_lines(&run.stdout));
    assert_events_match(&events, &expected("akm322-sysex.expected.json"));
    assert_eq!(events.iter().filter(|e| e["type"] == "sysex").count(), 4);
}

#[test]
fn a_two_cable_device_reports_both_cables() {
    let run = monitor_usb(
        "multicable.umockdev",
        "/dev/bus/usb/002/004",
        "multicable-two-cables.ioctl",
        &["--usb=2573:0044", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (events, _) = split_stream_end(json_lines(&run.stdout));
    assert_events_match(&events, &expected("multicable-two-cables.expected.json"));
    let cables: std::collections::BTreeSet<i64> = events
        .iter()
        .map(|e| e.get("cable").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    assert!(cables.contains(&0) && cables.contains(&1), "{cables:?}");
}

#[test]
fn interrupt_endpoints_are_read_too() {
    let run = monitor_usb(
        "keystation.umockdev",
        "/dev/bus/usb/001/007",
        "keystation-interrupt.ioctl",
        &["--usb=1-2", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (events, _) = split_stream_end(json_lines(&run.stdout));
    assert_events_match(&events, &expected("keystation-interrupt.expected.json"));
}

#[test]
fn unplug_mid_stream_ends_cleanly_with_nothing_lost() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-unplug.ioctl",
        &["--usb", "--json"],
    );
    assert_eq!(run.code, Some(0), "unplug is not a failure: {}", run.stderr);
    let (events, end) = split_stream_end(json_lines(&run.stdout));
    assert_events_match(&events, &expected("akm322-unplug.expected.json"));
    assert_eq!(end["type"], "disconnected");
    assert!(
        run.stderr.contains("the keyboard was disconnected"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn without_a_midi_service_the_automatic_choice_falls_back_to_usb() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-unplug.ioctl",
        &["--count", "2"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("via direct USB at USB port 1-1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the system MIDI service is unavailable"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout.lines().count(),
        2,
        "--count 2 stops after two events"
    );
}

#[test]
fn filters_by_type_and_channel() {
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-panel.ioctl",
        &["--usb", "--json", "--type", "cc", "--channel", "1"],
    );
    let (events, _) = split_stream_end(json_lines(&run.stdout));
    let wanted: Vec<Map<String, Value>> = expected("akm322-panel.expected.json")
        .into_iter()
        .filter(|e| e["type"] == "control_change")
        .collect();
    assert!(wanted.len() >= 10, "the panel script moves every control");
    assert_events_match(&events, &wanted);
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-panel.ioctl",
        &["--usb", "--json", "--channel", "2"],
    );
    let (events, end) = split_stream_end(json_lines(&run.stdout));
    assert!(events.is_empty(), "nothing on channel 2: {events:#?}");
    assert_eq!(end["type"], "disconnected");
}

fn monitor_file(name: &str, args: &[&str]) -> Run {
    let path = fixture(&format!("streams/{name}"));
    let output = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .arg("monitor")
        .arg("--file")
        .arg(path)
        .args(args)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("binary runs");
    Run::from_output(output)
}

#[test]
fn midi_files_replay_in_order_with_their_times() {
    for name in ["running-status", "two-tracks"] {
        let run = monitor_file(&format!("{name}.mid"), &["--fast", "--json"]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_events_match(
            &json_lines(&run.stdout),
            &expected(&format!("{name}.expected.json")),
        );
    }
}

#[test]
fn foreign_and_damaged_files_fail_with_one_clear_line() {
    let run = monitor_file("not-midi.mid", &["--fast"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a Standard MIDI File"),
        "{}",
        run.stderr
    );

    let run = monitor_file("truncated.mid", &["--fast"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is a damaged MIDI file"),
        "{}",
        run.stderr
    );

    let run = monitor_file("missing.mid", &["--fast"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

#[test]
fn duration_stops_a_real_time_replay_early() {
    // two-tracks.mid lasts 3 s in real time; 0.3 s shows only its start.
    let run = monitor_file("two-tracks.mid", &["--json", "--duration", "0.3"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = json_lines(&run.stdout);
    let all = expected("two-tracks.expected.json");
    assert!(
        !events.is_empty() && events.len() < all.len(),
        "{} of {}",
        events.len(),
        all.len()
    );
}

#[test]
fn ctrl_c_ends_monitor_cleanly_with_status_0() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["monitor", "--file"])
        .arg(fixture("streams/two-tracks.mid"))
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first events are at t = 0: wait for the first line, then interrupt.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(
        first.contains("Note on") || first.contains("Program"),
        "{first}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn nothing_to_listen_to_says_what_to_do() {
    let run = crate::util::probe(&["empty-bus.umockdev"], &["monitor"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("no keyboard to listen to: no USB MIDI device is connected"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--usb=VID:PID"), "{}", run.stderr);

    let run = crate::util::probe(&[], &["monitor", "--usb=take.mid"]);
    assert_eq!(run.code, Some(2), "a malformed selector is a usage error");
    assert!(run.stderr.contains("neither VID:PID"), "{}", run.stderr);

    let run = crate::util::probe(&[], &["monitor", "--port", "AKM322"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("system MIDI service is unavailable"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_keyboard_held_by_snd_usb_audio_explains_itself() {
    let run = crate::util::probe(&["akm322-snd.umockdev"], &["monitor", "--usb"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("in use by the kernel's snd-usb-audio driver"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--detach"), "{}", run.stderr);

    // Emulated devices have no real driver to detach: the failure says what to do.
    let run = crate::util::probe(&["akm322-snd.umockdev"], &["monitor", "--usb", "--detach"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("cannot take the MIDI interface from the kernel driver"),
        "{}",
        run.stderr
    );

    // There is no MIDI service here, so no system port can exist: the
    // advice is the way to one, or around it.
    let advises_the_way = |run: &crate::util::Run| {
        assert_eq!(run.code, Some(1));
        assert!(
            run.stderr.contains("sudo modprobe snd-seq") && run.stderr.contains("--usb --detach"),
            "{}",
            run.stderr
        );
    };
    let run = crate::util::probe(&["akm322-snd.umockdev"], &["monitor"]);
    advises_the_way(&run);
    // Never "use the system port".
    assert!(
        !run.stderr.contains("use the system port") && !run.stderr.contains("--port NAME"),
        "{}",
        run.stderr
    );
    // Asking for a port says the same, in one sentence of ours.
    let run = crate::util::probe(&["akm322-snd.umockdev"], &["monitor", "--port", "AKM"]);
    advises_the_way(&run);
    assert!(
        !run.stderr.contains("could not be initialized"),
        "the library's words add nothing: {}",
        run.stderr
    );
}

#[test]
fn a_usb_read_error_is_not_an_unplug_and_exits_1() {
    let run = crate::util::probe_stream(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        &crate::util::fixture("streams/akm322-io-error.ioctl"),
        &["monitor", "--usb", "--json"],
    );
    assert_eq!(
        run.code,
        Some(1),
        "scripts can tell it from an unplug: {}",
        run.stderr
    );
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "read_error", "{}", run.stdout);
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .contains("reading the keyboard failed"));
    assert_eq!(
        lines.len(),
        4,
        "every note before the failure is kept: {}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("everything received before is shown above"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("disconnected"), "{}", run.stderr);
}

#[test]
fn skipped_and_cut_off_input_is_counted_at_the_end() {
    // Three packets that make no sense and a SysEx cut off by a note.
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-malformed.ioctl",
        &["--usb", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut lines = json_lines(&run.stdout);
    let problems = lines.pop().expect("the input problems event");
    let (events, end) = split_stream_end(lines);
    assert_events_match(&events, &expected("akm322-malformed.expected.json"));
    assert_eq!(end["type"], "disconnected");
    assert_eq!(problems["type"], "input_problems", "{}", run.stdout);
    assert_eq!(problems["malformed_packets"], 3, "{problems:?}");
    assert_eq!(problems["truncated_sysex"], 1, "{problems:?}");
    assert_eq!(problems["stray_bytes"], 0, "{problems:?}");
    assert_eq!(
        problems["reason"],
        "3 malformed USB-MIDI packets skipped, 1 SysEx message cut short"
    );
    assert!(
        problems["t_us"].as_u64() >= end["t_us"].as_u64(),
        "{problems:?}"
    );

    // The text lines end with the same count.
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-malformed.ioctl",
        &["--usb"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("  3 malformed USB-MIDI packets skipped, 1 SysEx message cut short"),
        "{}",
        run.stdout
    );

    // Clean input says nothing about it.
    let run = monitor_usb(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        "akm322-sysex.ioctl",
        &["--usb", "--json"],
    );
    let lines = json_lines(&run.stdout);
    assert_eq!(
        lines.last().unwrap()["type"],
        "disconnected",
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("input_problems"), "{}", run.stdout);
}
