//! Cost of the pure parts of `composer-probe list`: parsing a device's
//! descriptors and building the report. (The whole command, USB bus
//! included, is timed with hyperfine: see the README.)

use composer_probe::inventory::Inventory;
use composer_probe::ports::{MidiPorts, ServiceStatus};
use composer_probe::usb::descriptor::{find_midi_interface, parse_device_blob};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// The `descriptors` bytes of an emulated device file.
fn fixture_descriptors(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    let hex = text
        .lines()
        .find_map(|line| line.strip_prefix("H: descriptors="))
        .expect("descriptors line");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn parse(c: &mut Criterion) {
    for fixture in [
        "akm322.umockdev",
        "multicable.umockdev",
        "audio-midi-if3.umockdev",
    ] {
        let bytes = fixture_descriptors(fixture);
        c.bench_function(&format!("parse descriptors {fixture}"), |b| {
            b.iter(|| find_midi_interface(&parse_device_blob(black_box(&bytes))))
        });
    }
}

fn report(c: &mut Criterion) {
    let bytes = fixture_descriptors("akm322.umockdev");
    let config = parse_device_blob(&bytes);
    let device = composer_probe::usb::UsbDevice {
        bus: 1,
        address: 5,
        port_path: "1-1".into(),
        vendor_id: 0x1acc,
        product_id: 0x1533,
        bcd_device: 0x000b,
        device_class: 0,
        speed: composer_probe::usb::Speed::Full,
        manufacturer: Some("MIDIPLUS".into()),
        product: Some("AKM322".into()),
        serial: Some("MIDIPLUS-CC-1533-00AKM322".into()),
        interfaces: Vec::new(),
        midi: find_midi_interface(&config),
        jack_names: Vec::new(),
        descriptor_problems: config.problems,
        access: composer_probe::usb::Access::Granted,
        sound_cards: Vec::new(),
        sysfs_path: None,
    };
    let devices = vec![device; 4];
    c.bench_function("build and render a report of 4 MIDI devices", |b| {
        b.iter(|| {
            let ports = MidiPorts {
                service: ServiceStatus::Available,
                inputs: Vec::new(),
                outputs: Vec::new(),
            };
            let report = Inventory::build(Ok(black_box(devices.clone())), ports, false);
            composer_probe::list::render_text(&report, false)
        })
    });
}

criterion_group!(benches, parse, report);
criterion_main!(benches);
