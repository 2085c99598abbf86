//! Lists USB MIDI devices with the composer-probe library.
//!
//! Run: `cargo run --example list_devices`

use composer_probe::{devices, usb};

fn main() -> Result<(), usb::UsbError> {
    let midi_devices: Vec<usb::UsbDevice> = usb::enumerate()?
        .into_iter()
        .filter(|device| device.midi.is_some())
        .collect();
    if midi_devices.is_empty() {
        println!("no USB MIDI device found");
    }
    for device in &midi_devices {
        let name = devices::lookup(device.vendor_id, device.product_id)
            .map(|known| known.name.to_owned())
            .or_else(|| device.product.clone())
            .unwrap_or_else(|| "unnamed device".to_owned());
        let midi = device.midi.as_ref().expect("filtered above");
        println!(
            "{:04x}:{:04x} at port {}: {name}, MIDI interface {}, {} in / {} out, driver {}",
            device.vendor_id,
            device.product_id,
            device.port_path,
            midi.interface,
            midi.inputs.len(),
            midi.outputs.len(),
            device.midi_driver().unwrap_or("none"),
        );
    }
    Ok(())
}
