//! `composer-probe list` against every emulated device.

use crate::util::{probe, probe_as_nobody, Device, Report};

/// Device headings of the text output ("name — verdict"), joined back
/// into one line where a long one was wrapped (verdict below the name,
/// continued on lines indented by four).
fn headings(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if let Some(verdict) = lines.get(n + 1).and_then(|next| next.strip_prefix("  — ")) {
            let rest = lines[n + 2..]
                .iter()
                .map_while(|l| l.strip_prefix("    ").filter(|l| !l.starts_with(' ')));
            let verdict = std::iter::once(verdict)
                .chain(rest)
                .collect::<Vec<_>>()
                .join(" ");
            found.push(format!("{line} — {verdict}"));
        } else if line.contains(" — ") && !line.starts_with(' ') {
            found.push((*line).to_owned());
        }
    }
    found
}

fn only_device(report: &Report) -> &Device {
    assert_eq!(report.devices.len(), 1, "{:#?}", report.devices);
    &report.devices[0]
}

fn device(report: &Report, vendor_id: u16, product_id: u16) -> &Device {
    report
        .devices
        .iter()
        .find(|d| d.vendor_id == vendor_id && d.product_id == product_id)
        .unwrap_or_else(|| {
            panic!(
                "{vendor_id:04x}:{product_id:04x} missing: {:#?}",
                report.devices
            )
        })
}

#[test]
fn deepcomposer_is_named_and_ready_over_direct_usb() {
    let report = probe(&["akm322.umockdev"], &["list", "--json"]).report();
    let keyboard = only_device(&report);
    assert_eq!(keyboard.name, "AWS DeepComposer keyboard (Midiplus AKM322)");
    assert_eq!((keyboard.vendor_id, keyboard.product_id), (0x1acc, 0x1533));
    assert_eq!(keyboard.bcd_device, 0x000b);
    assert_eq!((keyboard.bus, keyboard.address), (1, 5));
    assert_eq!(keyboard.port_path, "1-1");
    assert_eq!(keyboard.speed, "full");
    assert_eq!(keyboard.manufacturer.as_deref(), Some("MIDIPLUS"));
    assert_eq!(keyboard.product.as_deref(), Some("AKM322"));
    assert_eq!(
        keyboard.serial.as_deref(),
        Some("MIDIPLUS-CC-1533-00AKM322")
    );
    assert_eq!(keyboard.driver, None);
    assert_eq!(keyboard.status, "ready");
    assert_eq!(keyboard.access.state, "granted");
    assert!(keyboard.problems.is_empty(), "{:?}", keyboard.problems);
    assert!(keyboard
        .sysfs_path
        .as_deref()
        .unwrap()
        .ends_with("/usb1/1-1"));

    let known = keyboard.known.as_ref().expect("known-device facts");
    assert_eq!(known.keys, 32);
    assert_eq!(known.default_range, (41, 72));
    let knob1 = known.controls.iter().find(|c| c.name == "Knob 1").unwrap();
    assert_eq!(knob1.controller, Some(21));
    let encoder = known.controls.iter().find(|c| c.name == "Encoder").unwrap();
    assert_eq!(encoder.controller, Some(10));
    let transport = known.transport.as_ref().expect("transport buttons");
    assert_eq!(
        (transport.play, transport.stop, transport.record),
        (105, 106, 107)
    );

    let midi = keyboard.midi.as_ref().expect("MIDI interface");
    assert_eq!(midi.interface, 1);
    assert!(!midi.vendor_specific);
    assert_eq!(midi.inputs.len(), 1);
    assert_eq!(midi.outputs.len(), 1);
    assert_eq!(midi.inputs[0].name, "AKM322 MIDI 1");
    assert_eq!((midi.inputs[0].endpoint, midi.inputs[0].jack), (0x81, 4));
    assert_eq!((midi.outputs[0].endpoint, midi.outputs[0].jack), (0x02, 1));
    let ep_in = midi.endpoints.iter().find(|e| e.address == 0x81).unwrap();
    assert_eq!(
        (
            ep_in.direction.as_str(),
            ep_in.transfer.as_str(),
            ep_in.max_packet_size
        ),
        ("in", "bulk", 64)
    );
    assert_eq!(midi.in_jacks.len(), 2);
    assert!(midi
        .out_jacks
        .iter()
        .any(|j| j.id == 4 && j.kind == "embedded" && j.sources == [3]));
}

#[test]
fn deepcomposer_text_output_reads_in_80_columns_without_colour() {
    let run = probe(&["akm322.umockdev"], &["list"]);
    let text = run.success();
    assert_eq!(
        text.lines().next(),
        Some("AWS DeepComposer keyboard (Midiplus AKM322) — ready (direct USB)")
    );
    assert!(
        text.contains("1acc:1533, bus 1 address 5, port 1-1, full speed (12 Mbit/s)"),
        "{text}"
    );
    assert!(
        text.contains("\"MIDIPLUS\", \"AKM322\", serial \"MIDIPLUS-CC-1533-00AKM322\""),
        "{text}"
    );
    assert!(text.contains("interface 1, 1 in / 1 out"), "{text}");
    assert!(
        text.contains("AKM322 MIDI 1 (cable 0, jack 4, endpoint 0x81)"),
        "{text}"
    );
    assert!(text.contains("0x81 IN  bulk, 64 bytes, jacks 4"), "{text}");
    assert!(text.contains("32 keys, F2–C5"), "{text}");
    assert!(text.contains("Knob 1 (CC 21)"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "longer than 80 columns: {line:?}"
        );
    }
}

#[test]
fn deepcomposer_held_by_snd_usb_audio_without_a_sequencer_says_how_to_get_a_port() {
    // snd-usb-audio holds it, but there is no MIDI service (no /dev/snd/seq):
    // "use the system port" would lead nowhere.
    let report = probe(&["akm322-snd.umockdev"], &["list", "--json"]).report();
    let keyboard = only_device(&report);
    assert_eq!(keyboard.status, "claimed_by_driver");
    assert_eq!(keyboard.driver.as_deref(), Some("snd-usb-audio"));
    assert_eq!(
        keyboard.verdict,
        "claimed by snd-usb-audio, and the system MIDI service is unavailable \
         (/dev/snd/seq is missing; run `sudo modprobe snd-seq`); or read it with --usb --detach"
    );
    assert_eq!(keyboard.fix, ["sudo modprobe snd-seq"]);
    assert!(
        keyboard.problems[0].contains("the system MIDI service is unavailable"),
        "{:?}",
        keyboard.problems
    );
}

#[test]
fn another_class_compliant_keyboard_with_interrupt_endpoints() {
    let report = probe(&["keystation.umockdev"], &["list", "--json"]).report();
    let keyboard = only_device(&report);
    assert_eq!(keyboard.name, "M-Audio Keystation 49 MK3");
    assert!(keyboard.known.is_none());
    assert_eq!(keyboard.serial, None);
    assert_eq!(keyboard.status, "ready");
    let midi = keyboard.midi.as_ref().unwrap();
    assert!(midi.endpoints.iter().all(|e| e.transfer == "interrupt"));
    assert_eq!(midi.inputs[0].endpoint, 0x83);
    assert_eq!(midi.outputs[0].endpoint, 0x04);
    // Its jack strings cannot be read without control transfers: ALSA-style names.
    assert_eq!(midi.inputs[0].name, "Keystation 49 MK3 MIDI 1");
}

#[test]
fn multi_cable_interface_behind_a_hub_reports_every_cable() {
    let report = probe(&["multicable.umockdev"], &["list", "--json"]).report();
    let interface = only_device(&report);
    assert_eq!(interface.port_path, "2-1.3");
    assert_eq!(interface.speed, "high");
    let midi = interface.midi.as_ref().unwrap();
    let cables: Vec<u8> = midi.inputs.iter().map(|p| p.cable).collect();
    assert_eq!(cables, [0, 1, 2, 3]);
    assert_eq!(midi.outputs.len(), 4);
    assert!(midi.inputs.iter().all(|p| p.endpoint == 0x81));
    assert_eq!(midi.inputs[3].name, "MIDI 4x4 MIDI 4");
    assert_eq!(
        midi.endpoints.iter().map(|e| e.max_packet_size).max(),
        Some(512)
    );
}

#[test]
fn midi_on_interface_3_beside_audio_streaming() {
    let report = probe(&["audio-midi-if3.umockdev"], &["list", "--json"]).report();
    let interface = only_device(&report);
    let midi = interface.midi.as_ref().unwrap();
    assert_eq!(midi.interface, 3);
    assert_eq!((midi.inputs.len(), midi.outputs.len()), (1, 1));
    let addresses: Vec<u8> = midi.endpoints.iter().map(|e| e.address).collect();
    assert_eq!(
        addresses,
        [0x03, 0x84],
        "only the MIDI interface's endpoints"
    );
    assert_eq!(interface.status, "ready");
}

#[test]
fn device_with_only_an_in_endpoint() {
    let report = probe(&["in-only.umockdev"], &["list", "--json"]).report();
    let midi = only_device(&report).midi.as_ref().unwrap();
    assert_eq!(midi.inputs.len(), 1);
    assert!(midi.outputs.is_empty());
    assert_eq!(midi.endpoints.len(), 1);
    assert_eq!(midi.endpoints[0].direction, "in");
}

#[test]
fn vendor_specific_interface_carrying_midi_streaming() {
    let report = probe(&["vendor-midi.umockdev"], &["list", "--json"]).report();
    let midi = only_device(&report).midi.as_ref().unwrap();
    assert!(midi.vendor_specific);
    assert_eq!(midi.interface, 0);
    assert_eq!((midi.inputs.len(), midi.outputs.len()), (1, 1));
}

#[test]
fn a_mouse_is_not_a_midi_device() {
    let report = probe(&["mouse.umockdev"], &["list", "--json"]).report();
    assert!(report.devices.is_empty(), "{:#?}", report.devices);

    let report = probe(&["mouse.umockdev"], &["list", "--all", "--json"]).report();
    let mouse = device(&report, 0x046d, 0xc077);
    assert!(mouse.midi.is_none());
    assert_eq!(mouse.status, "not_midi");
    assert_eq!(mouse.driver.as_deref(), Some("usbhid"));
    assert_eq!(mouse.speed, "low");
}

#[test]
fn malformed_descriptors_are_listed_with_a_note_not_a_panic() {
    for fixture in ["malformed.umockdev", "malformed-truncated.umockdev"] {
        let report = probe(&[fixture], &["list", "--json"]).report();
        let broken = only_device(&report);
        assert!(
            broken.verdict.contains("descriptor is malformed"),
            "{fixture}: {}",
            broken.verdict
        );
        // Usable, but not simply "ready": the JSON says so too.
        assert_eq!(broken.status, "usable_with_problems", "{fixture}");
        assert!(
            broken
                .problems
                .iter()
                .any(|p| p.contains("jack 9, which is not described")),
            "{fixture}: {:?}",
            broken.problems
        );
    }
    let report = probe(&["malformed.umockdev"], &["list", "--json"]).report();
    assert!(only_device(&report)
        .problems
        .iter()
        .any(|p| p.contains("bLength 0")));
    let report = probe(&["malformed-truncated.umockdev"], &["list", "--json"]).report();
    assert!(only_device(&report)
        .problems
        .iter()
        .any(|p| p.contains("header says its descriptors take 129 bytes")));
}

#[test]
fn several_devices_in_text_with_all() {
    let run = probe(&["several.umockdev"], &["list", "--all"]);
    let text = run.success();
    let headings = headings(text);
    assert_eq!(headings.len(), 3, "{text}");
    assert!(headings[0].starts_with("AWS DeepComposer keyboard (Midiplus AKM322) — ready"));
    assert!(headings[1].starts_with("M-Audio Keystation 49 MK3 — ready"));
    assert!(headings[2].starts_with("ESI MIDI 4x4 — ready"));
    let others = text
        .split("Other USB devices")
        .nth(1)
        .expect("other devices section");
    assert!(
        others.contains("046d:c077  1-4      Logitech USB Optical Mouse [usbhid]"),
        "{text}"
    );
    assert!(
        others.contains("05e3:0610  2-1"),
        "the hub is listed: {text}"
    );

    let report = probe(&["several.umockdev"], &["list", "--json"]).report();
    assert_eq!(report.devices.len(), 3, "only MIDI devices without --all");
}

#[test]
fn no_device_at_all_gets_a_friendly_sentence_and_exit_0() {
    // A machine with USB and nothing plugged in: only its root hub.
    let run = probe(&["empty-bus.umockdev"], &["list"]);
    let text = run.success();
    assert!(
        text.starts_with("No USB MIDI device found. Check that the keyboard is plugged in"),
        "{text}"
    );
    assert!(text.contains("composer-probe list --all"));
    let report = probe(&["empty-bus.umockdev"], &["list", "--json"]).report();
    assert!(report.devices.is_empty());
    assert_eq!(report.usb_error, None);
}

#[test]
fn no_usb_bus_at_all_is_not_blamed_on_the_cable_and_exits_1() {
    // A container or a VM without USB: no root hub, no /dev/bus/usb.
    let run = probe(&[], &["list"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("cannot read the USB bus: /dev/bus/usb does not exist"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("cable"), "{}", run.stdout);
    let json = probe(&[], &["list", "--json"]);
    assert_eq!(json.code, Some(1));
    let report: crate::util::Report = serde_json::from_str(&json.stdout).unwrap();
    assert!(report
        .usb_error
        .unwrap()
        .contains("/dev/bus/usb does not exist"));
}

#[test]
fn a_midi_device_that_only_receives_is_not_ready_and_says_why() {
    let report = probe(&["out-only.umockdev"], &["list", "--json"]).report();
    let module = only_device(&report);
    assert_eq!(module.status, "no_input");
    assert!(
        module.verdict.contains("sends no MIDI"),
        "{}",
        module.verdict
    );
    let run = probe(&["out-only.umockdev"], &["monitor", "--usb=16c0:05e5"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("MIDI Sound Module at USB port 1-10 sends no MIDI"),
        "not 'no such device': {}",
        run.stderr
    );
    let run = probe(&["out-only.umockdev"], &["monitor"]);
    assert!(
        run.stderr
            .contains("Stomp Labs MIDI Sound Module sends no MIDI"),
        "{}",
        run.stderr
    );
}

#[test]
fn unavailable_midi_service_is_one_line_and_alsa_stays_quiet() {
    let run = probe(&["akm322.umockdev"], &["list"]);
    let text = run.success();
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("MIDI service"))
        .collect();
    assert_eq!(notes.len(), 1, "{text}");
    assert!(
        notes[0].starts_with("MIDI service unavailable: "),
        "{}",
        notes[0]
    );
    let report = probe(&["akm322.umockdev"], &["list", "--json"]).report();
    assert_eq!(report.midi_service.state, "unavailable");
    assert!(report.midi_service.reason.is_some());
    assert!(report.os_ports.inputs.is_empty() && report.os_ports.outputs.is_empty());
}

#[test]
fn no_permission_prints_the_udev_commands() {
    // As an ordinary user whose device node is not writable, as without the udev rule.
    let run = probe_as_nobody(
        "akm322.umockdev",
        "chmod 444 \"$UMOCKDEV_DIR/dev/bus/usb/001/005\" && \"$PROBE\" list",
    );
    let text = run.success();
    assert_eq!(
        headings(text),
        ["AWS DeepComposer keyboard (Midiplus AKM322) — no permission: install the udev rule"],
        "{text}"
    );
    assert!(text.contains("may not open /dev/bus/usb/001/005"), "{text}");
    assert!(
        text.contains(
            "\n  composer-probe udev-rule | sudo tee /etc/udev/rules.d/60-composer-probe.rules\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n  sudo udevadm control --reload-rules\n"),
        "{text}"
    );

    let run = probe_as_nobody(
        "akm322.umockdev",
        "chmod 444 \"$UMOCKDEV_DIR/dev/bus/usb/001/005\" && \"$PROBE\" list --json",
    );
    let report = run.report();
    let keyboard = only_device(&report);
    assert_eq!(keyboard.status, "no_permission");
    assert_eq!(keyboard.access.state, "denied");
    assert_eq!(keyboard.fix.len(), 3);
}

#[test]
fn vendor_midi_the_udev_rule_cannot_recognise_gets_a_rule_of_its_own() {
    // Class ff/00 with MIDI Streaming descriptors: no udev match tells it
    // from any other vendor device, so the advice is a rule by its ids.
    let run = probe_as_nobody(
        "vendor-midi.umockdev",
        "chmod 444 \"$UMOCKDEV_DIR/dev/bus/usb/001/013\" && \"$PROBE\" list",
    );
    let text = run.success();
    assert_eq!(
        headings(text),
        ["Roland VS-1 MIDI — no permission: install a udev rule for this device"],
        "{text}"
    );
    assert!(
        text.contains(
            "\n  echo 'SUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", ATTR{idVendor}==\"0582\", \
             ATTR{idProduct}==\"01ff\", TAG+=\"uaccess\"' | sudo tee \
             /etc/udev/rules.d/60-composer-probe-0582-01ff.rules\n"
        ),
        "{text}"
    );
    assert!(!text.contains("composer-probe udev-rule"), "{text}");

    // Yamaha-style (ff/03, no class descriptors): the shipped rule covers it.
    let run = probe_as_nobody(
        "vendor-midi-bare.umockdev",
        "chmod 444 \"$UMOCKDEV_DIR/dev/bus/usb/001/017\" && \"$PROBE\" list",
    );
    let text = run.success();
    assert_eq!(
        headings(text),
        ["YAMAHA UX16 — no permission: install the udev rule"],
        "{text}"
    );
    assert!(
        text.contains("\n  composer-probe udev-rule | sudo tee "),
        "{text}"
    );
}

#[test]
fn a_vendor_interface_without_jack_descriptors_shows_no_jacks() {
    // Yamaha-style interfaces carry no jack descriptors: list says cables
    // and endpoints only, never a made-up "jack 0".
    let run = probe(&["vendor-midi-bare.umockdev"], &["list"]);
    let text = run.success();
    assert!(
        text.contains("UX16 MIDI 1 (cable 0, endpoint 0x81)")
            && text.contains("0x81 IN  bulk, 64 bytes\n"),
        "{text}"
    );
    assert!(!text.contains("jack"), "{text}");
}

#[test]
fn udev_rule_grants_access_through_uaccess_only() {
    let run = probe(&[], &["udev-rule"]);
    let rule = run.success();
    let rules: Vec<&str> = rule
        .lines()
        .filter(|l| l.starts_with("SUBSYSTEM"))
        .collect();
    assert_eq!(rules.len(), 3, "{rule}");
    assert!(rules.iter().all(|r| r.ends_with("TAG+=\"uaccess\"")));
    assert!(rules[0].contains("ATTR{idVendor}==\"1acc\", ATTR{idProduct}==\"1533\""));
    // MIDI Streaming, of the audio class and of the vendor class.
    assert!(rules[1].contains("ENV{ID_USB_INTERFACES}==\"*:0103??:*\""));
    assert!(rules[2].contains("ENV{ID_USB_INTERFACES}==\"*:ff03??:*\""));
    assert!(!rule.contains("MODE="), "never world-writable");
}

#[test]
fn unreadable_usb_bus_is_one_clear_line_and_a_failure() {
    if !crate::util::running_as_root() {
        eprintln!("skipped: needs root to run the binary as another user than the testbed's owner");
        return;
    }
    // The testbed belongs to root; as nobody, libusb cannot start its monitor.
    let copies = crate::util::copies_for_nobody("akm322.umockdev");
    let output = std::process::Command::new("umockdev-run")
        .arg("-d")
        .arg(crate::util::fixture("akm322.umockdev"))
        .args([
            "--",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(&copies.binary)
        .arg("list")
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("USB: cannot read the USB bus"),
        "{stdout}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usb_naming_no_midi_device_says_what_is_there() {
    // `--usb` with only a mouse plugged in: nothing "matches --usb".
    let run = probe(&["mouse.umockdev"], &["monitor", "--usb"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("no USB MIDI device is connected"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("matches --usb"), "{}", run.stderr);
    // `--usb=VID:PID` of the mouse: it is there, it just is not MIDI.
    let run = probe(&["mouse.umockdev"], &["monitor", "--usb=046d:c077"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("USB Optical Mouse at USB port 1-4 is not a MIDI device"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn every_line_of_list_fits_an_80_column_terminal() {
    // The longest verdict: a keyboard held by snd-usb-audio with no MIDI
    // service, whose advice (modprobe, or --usb --detach) must be read
    // without a terminal cutting or folding it mid-word.
    for fixture in [
        "akm322-snd.umockdev",
        "several.umockdev",
        "malformed.umockdev",
    ] {
        let run = probe(&[fixture], &["list", "--all"]);
        let text = run.success();
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{fixture}: {line}\n{text}");
        }
    }
    let run = probe(&["akm322-snd.umockdev"], &["list"]);
    assert_eq!(
        headings(run.success()),
        [
            "AWS DeepComposer keyboard (Midiplus AKM322) — claimed by snd-usb-audio, and \
          the system MIDI service is unavailable (/dev/snd/seq is missing; run `sudo \
          modprobe snd-seq`); or read it with --usb --detach"
        ]
    );
}
