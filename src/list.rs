//! `composer-probe list`: the [inventory](crate::inventory) presented as
//! text for a terminal of 80 columns (JSON is the inventory itself).

use crate::decode::names::NoteNaming;
use crate::devices::KnownDevice;
use crate::inventory::{DeviceReport, Inventory, MidiReport, PairedPort, PortDirection, Status};
use crate::ports::{OsPort, ServiceStatus};
use std::fmt::Write as _;

/// Colours for the text output; all empty when colour is off.
struct Palette {
    bold: &'static str,
    good: &'static str,
    warn: &'static str,
    bad: &'static str,
    dim: &'static str,
    reset: &'static str,
}

impl Palette {
    fn new(color: bool) -> Self {
        if color {
            Palette {
                bold: "\x1b[1m",
                good: "\x1b[32m",
                warn: "\x1b[33m",
                bad: "\x1b[31m",
                dim: "\x1b[2m",
                reset: "\x1b[0m",
            }
        } else {
            Palette {
                bold: "",
                good: "",
                warn: "",
                bad: "",
                dim: "",
                reset: "",
            }
        }
    }

    fn of(&self, status: Status) -> &'static str {
        match status {
            Status::Ready => self.good,
            Status::ClaimedByDriver
            | Status::Malformed
            | Status::UsableWithProblems
            | Status::NoInput => self.warn,
            Status::NoPermission | Status::Unreachable => self.bad,
            Status::NotMidi => self.dim,
        }
    }
}

/// Renders the report for a terminal of 80 columns; `color` adds ANSI colour.
pub fn render_text(report: &Inventory, color: bool) -> String {
    let p = Palette::new(color);
    let mut out = String::new();
    if let Some(error) = &report.usb_error {
        let _ = writeln!(out, "{}USB: {error}{}", p.bad, p.reset);
    }
    let midi_devices: Vec<&DeviceReport> = report
        .devices
        .iter()
        .filter(|d| d.status != Status::NotMidi)
        .collect();
    if midi_devices.is_empty() && report.usb_error.is_none() {
        let advice = "No USB MIDI device found. Check that the keyboard is plugged in directly (not through an unpowered hub) with a data cable, not a charge-only one; `composer-probe list --all` shows every USB device this computer sees.";
        for line in wrap(advice, 78) {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    for device in &midi_devices {
        render_device(&mut out, device, &p);
    }
    let others: Vec<&DeviceReport> = report
        .devices
        .iter()
        .filter(|d| d.status == Status::NotMidi)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "{}Other USB devices{}", p.bold, p.reset);
        for device in others {
            let _ = writeln!(
                out,
                "  {:04x}:{:04x}  {:<8} {}{}",
                device.vendor_id,
                device.product_id,
                device.port_path,
                device.name,
                device
                    .driver
                    .as_deref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    render_service(&mut out, report, &p);
    out
}

fn render_device(out: &mut String, device: &DeviceReport, p: &Palette) {
    // "name — verdict" on one line when it fits; else the verdict below,
    // wrapped under itself.
    let (separator, verdict) =
        if device.name.chars().count() + device.verdict.chars().count() + 3 > 80 {
            ("\n  — ", wrap(&device.verdict, 76).join("\n    "))
        } else {
            (" — ", device.verdict.clone())
        };
    let _ = writeln!(
        out,
        "{}{}{}{separator}{}{verdict}{}",
        p.bold,
        device.name,
        p.reset,
        p.of(device.status),
        p.reset
    );
    row(
        out,
        "USB",
        &format!(
            "{:04x}:{:04x}, bus {} address {}, port {}, {}",
            device.vendor_id,
            device.product_id,
            device.bus,
            device.address,
            device.port_path,
            device.speed.describe()
        ),
    );
    let strings: Vec<String> = [
        device.manufacturer.as_ref().map(|m| format!("\"{m}\"")),
        device.product.as_ref().map(|m| format!("\"{m}\"")),
        device.serial.as_ref().map(|s| format!("serial \"{s}\"")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !strings.is_empty() {
        row(out, "Strings", &strings.join(", "));
    }
    if let Some(midi) = &device.midi {
        midi_rows(out, midi);
    }
    row(
        out,
        "Driver",
        device.driver.as_deref().unwrap_or("none bound"),
    );
    port_rows(out, &device.os_ports);
    if let Some(known) = &device.known {
        keyboard_rows(out, known);
    }
    for problem in &device.problems {
        let lines = wrap(problem, 74);
        for (n, line) in lines.iter().enumerate() {
            let bullet = if n == 0 { "! " } else { "  " };
            let _ = writeln!(out, "  {}{bullet}{line}{}", p.warn, p.reset);
        }
    }
    for command in &device.fix {
        let _ = writeln!(out, "  {command}");
    }
    out.push('\n');
}

/// One labelled row, wrapped to the width with the label on the first line.
fn row(out: &mut String, label: &str, value: &str) {
    for (n, line) in wrap(value, 67).iter().enumerate() {
        let label = if n == 0 { label } else { "" };
        let _ = writeln!(out, "  {label:<11}{line}");
    }
}

/// The MIDI interface: its cables both ways and its endpoints.
fn midi_rows(out: &mut String, midi: &MidiReport) {
    row(
        out,
        "MIDI",
        &format!(
            "interface {}{}, {} in / {} out",
            midi.interface,
            if midi.vendor_specific {
                " (vendor-specific class)"
            } else {
                ""
            },
            midi.inputs.len(),
            midi.outputs.len()
        ),
    );
    // Yamaha-style vendor interfaces have no jack descriptors: no jacks to name.
    let has_jacks = !midi.in_jacks.is_empty() || !midi.out_jacks.is_empty();
    for (label, ports) in [("Inputs", &midi.inputs), ("Outputs", &midi.outputs)] {
        for (n, port) in ports.iter().enumerate() {
            row(
                out,
                if n == 0 { label } else { "" },
                &if has_jacks {
                    format!(
                        "{} (cable {}, jack {}, endpoint 0x{:02x})",
                        port.name, port.cable, port.jack, port.endpoint
                    )
                } else {
                    format!(
                        "{} (cable {}, endpoint 0x{:02x})",
                        port.name, port.cable, port.endpoint
                    )
                },
            );
        }
    }
    for (n, endpoint) in midi.endpoints.iter().enumerate() {
        let jacks: Vec<String> = endpoint.jacks.iter().map(u8::to_string).collect();
        row(
            out,
            if n == 0 { "Endpoints" } else { "" },
            &format!(
                "0x{:02x} {} {}, {} bytes{}",
                endpoint.address,
                match endpoint.direction {
                    crate::usb::descriptor::Direction::In => "IN ",
                    crate::usb::descriptor::Direction::Out => "OUT",
                },
                endpoint.transfer,
                endpoint.max_packet_size,
                match (has_jacks, jacks.is_empty()) {
                    (false, _) => String::new(),
                    (true, true) => ", jacks none".to_owned(),
                    (true, false) => format!(", jacks {}", jacks.join(", ")),
                }
            ),
        );
    }
}

/// The system ports paired with the device.
fn port_rows(out: &mut String, os_ports: &[PairedPort]) {
    if os_ports.is_empty() {
        row(out, "OS ports", "none");
    }
    for (n, port) in os_ports.iter().enumerate() {
        row(
            out,
            if n == 0 { "OS ports" } else { "" },
            &format!(
                "{} \"{}\" (id {})",
                match port.direction {
                    PortDirection::Input => "in ",
                    PortDirection::Output => "out",
                },
                port.name,
                port.id
            ),
        );
    }
}

/// What we know of the model: keys, range and panel controls.
fn keyboard_rows(out: &mut String, known: &KnownDevice) {
    row(
        out,
        "Keyboard",
        &format!(
            "{} keys, {}–{} at the default octave",
            known.keys,
            NoteNaming::default().name(known.default_range.0),
            NoteNaming::default().name(known.default_range.1)
        ),
    );
    let controls: Vec<String> = known
        .controls
        .iter()
        .map(|c| format!("{} ({})", c.name, c.message))
        .collect();
    for (n, line) in wrap_list(&controls, 67).iter().enumerate() {
        let _ = writeln!(out, "  {:<11}{line}", if n == 0 { "Controls" } else { "" });
    }
}

fn render_service(out: &mut String, report: &Inventory, p: &Palette) {
    match &report.midi_service {
        ServiceStatus::Unavailable(reason) => {
            let _ = writeln!(
                out,
                "{}MIDI service unavailable: {reason}{}",
                p.dim, p.reset
            );
        }
        ServiceStatus::Available => {
            let paired: Vec<&str> = report
                .devices
                .iter()
                .flat_map(|d| d.os_ports.iter().map(|p| p.id.as_str()))
                .collect();
            // A port that reads and writes is one port: name it once, with both directions.
            let mut unpaired: Vec<(&OsPort, &str)> = Vec::new();
            for (port, direction) in report
                .os_ports
                .inputs
                .iter()
                .map(|port| (port, "in"))
                .chain(report.os_ports.outputs.iter().map(|port| (port, "out")))
                .filter(|(port, _)| !paired.contains(&port.id.as_str()))
            {
                match unpaired.iter_mut().find(|(seen, _)| seen.id == port.id) {
                    Some(entry) => entry.1 = "in/out",
                    None => unpaired.push((port, direction)),
                }
            }
            let _ = writeln!(
                out,
                "{}MIDI service: {} input port(s), {} output port(s){}",
                p.dim,
                report.os_ports.inputs.len(),
                report.os_ports.outputs.len(),
                p.reset
            );
            for (port, direction) in unpaired {
                let _ = writeln!(
                    out,
                    "  other port {direction} \"{}\" (id {})",
                    port.name, port.id
                );
            }
        }
    }
}

/// Joins items with ", " into lines of at most `width` characters,
/// breaking only between items.
fn wrap_list(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let piece = if n + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + piece.chars().count() <= width => {
                line.push(' ');
                line.push_str(&piece);
            }
            _ => lines.push(piece),
        }
    }
    lines
}

/// Splits text at spaces into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::test_support::{keyboard, no_service};
    use crate::usb::Access;

    #[test]
    fn usb_error_is_carried_into_the_report_and_the_text() {
        let report = Inventory::build(Err("cannot read the USB bus".into()), no_service(), false);
        assert!(!report.has_midi_devices());
        let text = render_text(&report, false);
        assert!(text.starts_with("USB: cannot read the USB bus\n"), "{text}");
        assert!(!text.contains("No USB MIDI device found"));
    }

    #[test]
    fn colour_only_when_asked() {
        let report = Inventory::build(
            Ok(vec![keyboard(None, Access::Granted)]),
            no_service(),
            false,
        );
        assert!(render_text(&report, true).contains("\x1b[32mready (direct USB)\x1b[0m"));
        assert!(!render_text(&report, false).contains('\x1b'));
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("a-very-long-word x", 4), ["a-very-long-word", "x"]);
        let items = ["Knob 1 (CC 21)".to_owned(), "Knob 2 (CC 22)".to_owned()];
        assert_eq!(wrap_list(&items, 20), ["Knob 1 (CC 21),", "Knob 2 (CC 22)"]);
    }
}
