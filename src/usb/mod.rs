//! USB enumeration: which devices are attached, who they are, and what their
//! descriptors say about MIDI.
//!
//! The descriptor parser ([`descriptor`]) is pure; this module is the glue
//! that gets bytes and identity from the system (sysfs on Linux, libusb via
//! rusb everywhere) and joins them into one [`UsbDevice`] per device.

pub mod descriptor;
#[cfg(target_os = "linux")]
pub(crate) mod sysfs;

use descriptor::{Configuration, DescriptorProblem, MidiInterface};
use rusb::UsbContext as _;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Errors from looking at the USB bus as a whole.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// libusb could not start or list devices.
    #[error("cannot read the USB bus (is this a machine with USB, and is /dev/bus/usb present?)")]
    Unavailable(#[source] rusb::Error),
    /// There is no USB bus at all: not even a root hub, and no `/dev/bus/usb`.
    #[error("cannot read the USB bus: /dev/bus/usb does not exist (a container or a virtual machine without USB? pass the USB bus through to it)")]
    NoBus,
}

/// Link speed of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    /// 1.5 Mbit/s.
    Low,
    /// 12 Mbit/s (the DeepComposer).
    Full,
    /// 480 Mbit/s.
    High,
    /// 5 Gbit/s.
    Super,
    /// 10 Gbit/s or more.
    SuperPlus,
    /// Not reported.
    Unknown,
}

impl Speed {
    /// Human wording, e.g. "full speed (12 Mbit/s)".
    pub fn describe(self) -> &'static str {
        match self {
            Speed::Low => "low speed (1.5 Mbit/s)",
            Speed::Full => "full speed (12 Mbit/s)",
            Speed::High => "high speed (480 Mbit/s)",
            Speed::Super => "SuperSpeed (5 Gbit/s)",
            Speed::SuperPlus => "SuperSpeed+ (10 Gbit/s)",
            Speed::Unknown => "unknown speed",
        }
    }
}

impl From<rusb::Speed> for Speed {
    fn from(speed: rusb::Speed) -> Self {
        match speed {
            rusb::Speed::Low => Speed::Low,
            rusb::Speed::Full => Speed::Full,
            rusb::Speed::High => Speed::High,
            rusb::Speed::Super => Speed::Super,
            rusb::Speed::SuperPlus => Speed::SuperPlus,
            _ => Speed::Unknown,
        }
    }
}

/// Whether this process may open the device node for direct USB access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Access {
    /// The device opened.
    Granted,
    /// The OS refused: no udev rule, or another user's seat.
    Denied,
    /// The device vanished while we looked.
    Gone,
    /// Not checked (not a MIDI device) or some other error.
    Unknown(String),
}

/// One interface of the device's active configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceSummary {
    /// `bInterfaceNumber`.
    pub number: u8,
    /// `bInterfaceClass`.
    pub class: u8,
    /// `bInterfaceSubClass`.
    pub subclass: u8,
    /// Kernel driver bound to it, when the OS says.
    pub driver: Option<String>,
}

/// Everything we could learn about one USB device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbDevice {
    /// Bus number.
    pub bus: u8,
    /// Device address on the bus (changes on every plug).
    pub address: u8,
    /// Kernel-style port path, e.g. `1-1.3` (stable while it stays in the same socket).
    pub port_path: String,
    /// `idVendor`.
    pub vendor_id: u16,
    /// `idProduct`.
    pub product_id: u16,
    /// `bcdDevice`.
    pub bcd_device: u16,
    /// `bDeviceClass`.
    pub device_class: u8,
    /// Link speed.
    pub speed: Speed,
    /// Manufacturer string.
    pub manufacturer: Option<String>,
    /// Product string.
    pub product: Option<String>,
    /// Serial number string.
    pub serial: Option<String>,
    /// Interfaces (first alternate setting of each).
    pub interfaces: Vec<InterfaceSummary>,
    /// The MIDI Streaming interface, when the device has one.
    pub midi: Option<MidiInterface>,
    /// Names of the MIDI cables read from the device (`iJack` strings), by string index.
    pub jack_names: Vec<(u8, String)>,
    /// What was wrong with the descriptor bytes.
    pub descriptor_problems: Vec<DescriptorProblem>,
    /// Whether we may open it for direct USB access (checked for MIDI devices only).
    pub access: Access,
    /// ALSA card numbers the kernel made for it (Linux).
    pub sound_cards: Vec<u32>,
    /// Where it lives in sysfs (Linux).
    pub sysfs_path: Option<String>,
}

impl UsbDevice {
    /// The kernel driver bound to the MIDI interface, if any.
    pub fn midi_driver(&self) -> Option<&str> {
        let midi = self.midi.as_ref()?;
        self.interfaces
            .iter()
            .find(|i| i.number == midi.interface)
            .and_then(|i| i.driver.as_deref())
    }

    /// The name of a cable's jack string, when the device told us.
    pub fn jack_name(&self, string_index: u8) -> Option<&str> {
        self.jack_names
            .iter()
            .find(|(index, _)| *index == string_index && string_index != 0)
            .map(|(_, name)| name.as_str())
    }
}

/// Lists every USB device on the system with what its descriptors say.
///
/// Devices that vanish while being read are skipped.
pub fn enumerate() -> Result<Vec<UsbDevice>, UsbError> {
    // A context of our own: rusb's global one panics when libusb cannot start.
    let context = rusb::Context::new().map_err(UsbError::Unavailable)?;
    let list = context.devices().map_err(UsbError::Unavailable)?;
    let mut found: Vec<UsbDevice> = list.iter().filter_map(|d| describe(&d)).collect();
    // A machine with USB lists its root hubs even with nothing plugged in;
    // nothing at all and no device nodes means there is no bus to look at,
    // which no cable or keyboard can explain.
    if found.is_empty() && cfg!(target_os = "linux") && !Path::new("/dev/bus/usb").exists() {
        return Err(UsbError::NoBus);
    }
    found.sort_by(|a, b| (a.bus, &a.port_path).cmp(&(b.bus, &b.port_path)));
    Ok(found)
}

/// Kernel-style name of a device: `usbN` for a root hub, else `BUS-P.P.P`.
pub fn port_path(bus: u8, ports: &[u8]) -> String {
    if ports.is_empty() {
        return format!("usb{bus}");
    }
    let ports: Vec<String> = ports.iter().map(u8::to_string).collect();
    format!("{bus}-{}", ports.join("."))
}

fn describe<T: rusb::UsbContext>(device: &rusb::Device<T>) -> Option<UsbDevice> {
    let descriptor = device.device_descriptor().ok()?;
    let bus = device.bus_number();
    let port_path = port_path(bus, &device.port_numbers().unwrap_or_default());
    let system = SystemFacts::read(&port_path);

    let config = match &system.descriptors {
        Some(bytes) => descriptor::parse_device_blob(bytes),
        None => rebuilt_configuration(device),
    };
    let midi = descriptor::find_midi_interface(&config);
    let mut interfaces = summarize_interfaces(&config);
    for interface in &mut interfaces {
        interface.driver = system.driver_of(interface.number);
    }

    let mut found = UsbDevice {
        bus,
        address: device.address(),
        port_path,
        vendor_id: descriptor.vendor_id(),
        product_id: descriptor.product_id(),
        bcd_device: bcd(descriptor.device_version()),
        device_class: descriptor.class_code(),
        speed: device.speed().into(),
        manufacturer: system.manufacturer,
        product: system.product,
        serial: system.serial,
        interfaces,
        midi,
        jack_names: Vec::new(),
        descriptor_problems: config.problems,
        access: Access::Unknown("not checked".into()),
        sound_cards: system.sound_cards,
        sysfs_path: system.path,
    };
    if found.midi.is_some() {
        check_access_and_strings(device, &descriptor, &mut found);
    }
    Some(found)
}

/// Opens a MIDI device briefly: that tells whether direct access is allowed,
/// and lets us read strings sysfs did not have.
fn check_access_and_strings<T: rusb::UsbContext>(
    device: &rusb::Device<T>,
    descriptor: &rusb::DeviceDescriptor,
    found: &mut UsbDevice,
) {
    const STRING_TIMEOUT: Duration = Duration::from_millis(100);
    let handle = match device.open() {
        Ok(handle) => handle,
        Err(rusb::Error::Access) => {
            found.access = Access::Denied;
            return;
        }
        Err(rusb::Error::NoDevice) => {
            found.access = Access::Gone;
            return;
        }
        Err(other) => {
            found.access = Access::Unknown(other.to_string());
            return;
        }
    };
    found.access = Access::Granted;
    let needs_strings = found.manufacturer.is_none()
        || found.product.is_none()
        || found.midi.iter().any(|m| {
            m.inputs
                .iter()
                .chain(&m.outputs)
                .any(|cable| cable.string_index != 0)
        });
    if !needs_strings {
        return;
    }
    let Some(language) = handle
        .read_languages(STRING_TIMEOUT)
        .ok()
        .and_then(|languages| languages.first().copied())
    else {
        return;
    };
    let read = |index: Option<u8>| {
        index.and_then(|i| {
            handle
                .read_string_descriptor(language, i, STRING_TIMEOUT)
                .ok()
        })
    };
    if found.manufacturer.is_none() {
        found.manufacturer = read(descriptor.manufacturer_string_index());
    }
    if found.product.is_none() {
        found.product = read(descriptor.product_string_index());
    }
    if found.serial.is_none() {
        found.serial = read(descriptor.serial_number_string_index());
    }
    let mut indexes: Vec<u8> = found
        .midi
        .iter()
        .flat_map(|m| m.inputs.iter().chain(&m.outputs))
        .map(|cable| cable.string_index)
        .filter(|index| *index != 0)
        .collect();
    indexes.sort_unstable();
    indexes.dedup();
    found.jack_names = indexes
        .into_iter()
        .filter_map(|index| Some((index, read(Some(index))?)))
        .collect();
}

fn summarize_interfaces(config: &Configuration) -> Vec<InterfaceSummary> {
    let mut summaries: Vec<InterfaceSummary> = Vec::new();
    for setting in &config.interfaces {
        if summaries.iter().any(|s| s.number == setting.number) {
            continue;
        }
        summaries.push(InterfaceSummary {
            number: setting.number,
            class: setting.class,
            subclass: setting.subclass,
            driver: None,
        });
    }
    summaries
}

fn bcd(version: rusb::Version) -> u16 {
    let major = u16::from(version.major());
    (major / 10) << 12
        | (major % 10) << 8
        | u16::from(version.minor()) << 4
        | u16::from(version.sub_minor())
}

/// Rebuilds configuration bytes from libusb's parsed descriptors, for
/// systems without sysfs, so that one parser serves every platform.
fn rebuilt_configuration<T: rusb::UsbContext>(device: &rusb::Device<T>) -> Configuration {
    let Ok(config) = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))
    else {
        return Configuration::default();
    };
    let mut bytes = Vec::new();
    for interface in config.interfaces() {
        for setting in interface.descriptors() {
            bytes.extend([
                9,
                0x04,
                setting.interface_number(),
                setting.setting_number(),
                setting.num_endpoints(),
                setting.class_code(),
                setting.sub_class_code(),
                setting.protocol_code(),
                setting.description_string_index().unwrap_or(0),
            ]);
            bytes.extend(setting.extra());
            for endpoint in setting.endpoint_descriptors() {
                let attributes = endpoint.transfer_type() as u8
                    | (endpoint.sync_type() as u8) << 2
                    | (endpoint.usage_type() as u8) << 4;
                let size = endpoint.max_packet_size().to_le_bytes();
                bytes.extend([
                    endpoint.length().max(7),
                    0x05,
                    endpoint.address(),
                    attributes,
                    size[0],
                    size[1],
                    endpoint.interval(),
                ]);
                if endpoint.length() >= 9 {
                    bytes.extend([endpoint.refresh(), endpoint.synch_address()]);
                }
                bytes.extend(endpoint.extra().unwrap_or_default());
            }
        }
    }
    let mut parsed = descriptor::parse_configuration(&bytes);
    parsed.value = Some(config.number());
    parsed.max_power_ma = Some(config.max_power());
    parsed
}

/// Identity the operating system gives without opening the device.
#[derive(Default)]
struct SystemFacts {
    path: Option<String>,
    manufacturer: Option<String>,
    product: Option<String>,
    serial: Option<String>,
    descriptors: Option<Vec<u8>>,
    drivers: Vec<(u8, String)>,
    sound_cards: Vec<u32>,
}

impl SystemFacts {
    #[cfg(target_os = "linux")]
    fn read(port_path: &str) -> Self {
        let Some(device) = sysfs::read_device(port_path) else {
            return SystemFacts::default();
        };
        SystemFacts {
            path: Some(device.path.display().to_string()),
            manufacturer: device.manufacturer,
            product: device.product,
            serial: device.serial,
            descriptors: device.descriptors,
            drivers: device
                .interfaces
                .iter()
                .filter_map(|i| Some((i.number, i.driver.clone()?)))
                .collect(),
            sound_cards: device
                .interfaces
                .iter()
                .flat_map(|i| i.sound_cards.iter().copied())
                .collect(),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn read(_port_path: &str) -> Self {
        SystemFacts::default()
    }

    fn driver_of(&self, interface: u8) -> Option<String> {
        self.drivers
            .iter()
            .find(|(number, _)| *number == interface)
            .map(|(_, driver)| driver.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_paths_follow_the_kernel_naming() {
        assert_eq!(port_path(1, &[]), "usb1");
        assert_eq!(port_path(1, &[1]), "1-1");
        assert_eq!(port_path(2, &[1, 3]), "2-1.3");
    }

    #[test]
    fn bcd_is_rebuilt_from_the_version() {
        assert_eq!(bcd(rusb::Version::from_bcd(0x000b)), 0x000b);
        assert_eq!(bcd(rusb::Version::from_bcd(0x1234)), 0x1234);
    }
}
