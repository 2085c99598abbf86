//! Choosing what to listen to: the flags the user gave, or the automatic
//! order (DeepComposer via its system port, then via USB, then any other
//! USB MIDI keyboard).

use super::usb::UsbSelector;
use super::{file, keys, system_port, usb, InputError, InputStream};
use crate::devices;
use crate::list::{DeviceReport, ListReport, PortDirection, Status};
use crate::ports;
use std::path::PathBuf;

/// The source the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChoice {
    /// Pick automatically.
    Auto,
    /// `--port NAME|ID`.
    Port(String),
    /// `--usb[=VID:PID|BUS-PORT]`.
    Usb(UsbSelector),
    /// `--file FILE [--fast]`.
    File {
        /// The MIDI file.
        path: PathBuf,
        /// Replay as fast as possible instead of in real time.
        fast: bool,
    },
    /// `--keys`.
    Keys,
}

/// Everything that decides how the input is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputOptions {
    /// Which source.
    pub choice: SourceChoice,
    /// Take the MIDI interface from the kernel driver for direct USB.
    pub detach: bool,
    /// Keep going across an unplug, waiting for the same keyboard.
    pub wait: bool,
}

/// Opens the input the options describe. Returns the stream and a sentence
/// saying what was picked (and why, for the automatic choice).
pub fn open(options: &InputOptions) -> Result<(InputStream, String), InputError> {
    let stream = match &options.choice {
        SourceChoice::Auto => return open_auto(options),
        SourceChoice::Port(wanted) => {
            let device = known_device_of_port(wanted);
            system_port::open(wanted, device, options.wait)?
        }
        SourceChoice::Usb(selector) => usb::open(selector, options.detach, options.wait)?,
        SourceChoice::File { path, fast } => file::open(path, *fast)?,
        SourceChoice::Keys => keys::open()?,
    };
    let said = describe(&stream);
    Ok((stream, said))
}

fn describe(stream: &InputStream) -> String {
    let info = stream.info();
    format!("listening to {} via {}", info.name, info.via.describe())
}

/// The known keyboard a system port belongs to, when `list` can pair them.
fn known_device_of_port(wanted: &str) -> Option<&'static devices::KnownDevice> {
    let report = ListReport::build(
        crate::usb::enumerate().map_err(|e| e.to_string()),
        ports::discover(),
        false,
    );
    report.devices.iter().find_map(|device| {
        let paired = device.os_ports.iter().any(|p| {
            p.id == wanted
                || p.name == wanted
                || p.name.to_lowercase().contains(&wanted.to_lowercase())
        });
        paired
            .then(|| devices::lookup(device.vendor_id, device.product_id))
            .flatten()
    })
}

fn input_port(device: &DeviceReport) -> Option<&crate::list::PairedPort> {
    device
        .os_ports
        .iter()
        .find(|p| p.direction == PortDirection::Input)
}

fn usb_usable(device: &DeviceReport, detach: bool) -> bool {
    device.midi.as_ref().is_some_and(|m| !m.inputs.is_empty())
        && match device.status {
            Status::Ready => true,
            Status::ClaimedByDriver => detach && device.access == crate::usb::Access::Granted,
            _ => false,
        }
}

fn open_auto(options: &InputOptions) -> Result<(InputStream, String), InputError> {
    let report = ListReport::build(
        crate::usb::enumerate().map_err(|e| e.to_string()),
        ports::discover(),
        false,
    );
    let mut midi: Vec<&DeviceReport> = report
        .devices
        .iter()
        .filter(|d| d.midi.as_ref().is_some_and(|m| !m.inputs.is_empty()))
        .collect();
    // Known keyboards (the DeepComposer) first; the sort is stable.
    midi.sort_by_key(|d| d.known.is_none());
    for device in &midi {
        let known = devices::lookup(device.vendor_id, device.product_id);
        if let Some(port) = input_port(device) {
            let stream = system_port::open(&port.id, known, options.wait)?;
            let said = format!(
                "{} (found {} at USB port {})",
                describe(&stream),
                device.name,
                device.port_path
            );
            return Ok((stream, said));
        }
        if usb_usable(device, options.detach) {
            let selector = UsbSelector::PortPath(device.port_path.clone());
            let stream = usb::open(&selector, options.detach, options.wait)?;
            let why = match &report.midi_service {
                ports::ServiceStatus::Available => "it has no system MIDI port".to_owned(),
                ports::ServiceStatus::Unavailable(reason) => {
                    format!("the system MIDI service is unavailable: {reason}")
                }
            };
            let said = format!(
                "{} at USB port {} ({why})",
                describe(&stream),
                device.port_path
            );
            return Ok((stream, said));
        }
    }
    let found = if midi.is_empty() {
        match &report.usb_error {
            Some(error) => format!("USB could not be read ({error})"),
            None => "no USB MIDI device is connected".to_owned(),
        }
    } else {
        midi.iter()
            .map(|d| format!("{} is {}", d.name, d.verdict))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Err(InputError::NothingToListenTo { found })
}
