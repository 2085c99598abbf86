//! Direct USB input: reads the MIDI IN endpoint of a USB MIDI device with
//! libusb (rusb) on a dedicated thread, one transfer in flight at a time.
//! Endpoints come from the device's descriptors, never from a table.

use super::worker::Worker;
use super::{Feed, InputError, InputEvent, InputStream, SourceInfo, Via};
use crate::devices;
use crate::usb::descriptor::TransferType;
use crate::usb::{self, UsbDevice};
use rusb::UsbContext as _;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// How long one read may block before the thread checks whether to stop.
const READ_TIMEOUT: Duration = Duration::from_millis(100);
/// How often `--wait` looks for the keyboard to come back.
const REPLUG_POLL: Duration = Duration::from_millis(500);

/// Which USB device `--usb` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbSelector {
    /// The DeepComposer when present, else the only USB MIDI device.
    Auto,
    /// `--usb=1acc:1533`.
    VidPid(u16, u16),
    /// `--usb=1-1.3` (bus-port path).
    PortPath(String),
}

impl UsbSelector {
    /// Parses the value of `--usb=...` (empty or `auto` means [`UsbSelector::Auto`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == "auto" {
            return Ok(UsbSelector::Auto);
        }
        if let Some((vid, pid)) = text.split_once(':') {
            let parse = |s: &str| u16::from_str_radix(s, 16);
            return match (parse(vid), parse(pid)) {
                (Ok(vid), Ok(pid)) => Ok(UsbSelector::VidPid(vid, pid)),
                _ => Err(format!("\"{text}\" is not VID:PID in hex, e.g. 1acc:1533")),
            };
        }
        let valid_path = text.split_once('-').is_some_and(|(bus, ports)| {
            bus.parse::<u8>().is_ok() && ports.split('.').all(|p| p.parse::<u8>().is_ok())
        });
        if valid_path {
            Ok(UsbSelector::PortPath(text.to_owned()))
        } else {
            Err(format!(
                "\"{text}\" is neither VID:PID (1acc:1533) nor a bus-port path (1-1.3)"
            ))
        }
    }

    fn matches(&self, device: &UsbDevice) -> bool {
        match self {
            UsbSelector::Auto => true,
            UsbSelector::VidPid(vid, pid) => device.vendor_id == *vid && device.product_id == *pid,
            UsbSelector::PortPath(path) => device.port_path == *path,
        }
    }
}

impl fmt::Display for UsbSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsbSelector::Auto => f.write_str("--usb"),
            UsbSelector::VidPid(vid, pid) => write!(f, "{vid:04x}:{pid:04x}"),
            UsbSelector::PortPath(path) => write!(f, "port {path}"),
        }
    }
}

/// Picks the device `selector` means among the enumerated ones.
pub fn choose(devices: &[UsbDevice], selector: &UsbSelector) -> Result<UsbDevice, InputError> {
    let chosen = devices
        .iter()
        .filter(|d| d.midi.is_some() && selector.matches(d));
    let (midi, receive_only): (Vec<&UsbDevice>, Vec<&UsbDevice>) =
        chosen.partition(|d| d.midi.as_ref().is_some_and(|m| !m.inputs.is_empty()));
    if let ([], [device, ..]) = (midi.as_slice(), receive_only.as_slice()) {
        return Err(InputError::SendsNoMidi(device_label(device)));
    }
    if *selector == UsbSelector::Auto {
        if let Some(known) = midi
            .iter()
            .find(|d| devices::lookup(d.vendor_id, d.product_id).is_some())
        {
            return Ok((*known).clone());
        }
    }
    let named_but_not_midi = || {
        devices
            .iter()
            .find(|d| *selector != UsbSelector::Auto && selector.matches(d))
    };
    match midi.as_slice() {
        [] if *selector == UsbSelector::Auto => Err(InputError::UsbNoneConnected),
        [] => Err(named_but_not_midi().map_or_else(
            || InputError::UsbNotFound(selector.to_string()),
            |device| InputError::UsbNotMidi(device_label(device)),
        )),
        [one] => Ok((*one).clone()),
        several => Err(InputError::UsbAmbiguous(
            several
                .iter()
                .map(|d| {
                    format!(
                        "{:04x}:{:04x} at {}",
                        d.vendor_id, d.product_id, d.port_path
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Opens the chosen device and starts reading it.
///
/// `detach` takes the MIDI interface from a kernel driver (and gives it
/// back on exit); `wait` keeps the stream alive across an unplug, waiting
/// for the same device (VID:PID and port path) to return.
pub fn open(selector: &UsbSelector, detach: bool, wait: bool) -> Result<InputStream, InputError> {
    let device = choose(&usb::enumerate()?, selector)?;
    let known = devices::lookup(device.vendor_id, device.product_id);
    let info = SourceInfo {
        name: known.map_or_else(|| product_or_ids(&device), |k| k.name.to_owned()),
        via: Via::Usb,
        device: known,
    };
    let target = Target::of(&device)?;
    let connection = Connection::open(&target, detach)?;
    InputStream::start(info, move |feed| {
        Ok(spawn_reader(connection, target, detach, wait, feed))
    })
}

/// Where to read: the device's identity and its MIDI IN endpoint.
#[derive(Debug, Clone)]
struct Target {
    vendor_id: u16,
    product_id: u16,
    port_path: String,
    interface: u8,
    endpoint: u8,
    transfer: TransferType,
    /// One read's size: the endpoint's packet size (what the emulation
    /// answers, and plenty for MIDI).
    read_size: usize,
}

impl Target {
    /// The device now at the target's port with its identity, if any.
    fn find(&self) -> Result<Option<rusb::Device<rusb::Context>>, rusb::Error> {
        let context = rusb::Context::new()?;
        let found = context.devices()?.iter().find(|d| {
            let ids = d
                .device_descriptor()
                .ok()
                .map(|desc| (desc.vendor_id(), desc.product_id()));
            ids == Some((self.vendor_id, self.product_id))
                && usb::port_path(d.bus_number(), &d.port_numbers().unwrap_or_default())
                    == self.port_path
        });
        Ok(found)
    }

    /// After a read error: whether the keyboard has left. Linux fails the
    /// read in flight at an unplug with an I/O error as often as with "no
    /// device", and takes a moment to remove the device: look for it for up
    /// to a second before calling the error a failing link.
    fn has_left(&self) -> bool {
        for _ in 0..10 {
            if matches!(self.find(), Ok(None)) {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn of(device: &UsbDevice) -> Result<Self, InputError> {
        let midi = device
            .midi
            .as_ref()
            .ok_or_else(|| InputError::UsbNotFound(device.port_path.clone()))?;
        let endpoint = midi
            .inputs
            .first()
            .and_then(|cable| midi.endpoints.iter().find(|e| e.address == cable.endpoint))
            .ok_or_else(|| {
                InputError::UsbNotFound(format!(
                    "{} (it has no MIDI IN endpoint)",
                    device.port_path
                ))
            })?;
        Ok(Target {
            vendor_id: device.vendor_id,
            product_id: device.product_id,
            port_path: device.port_path.clone(),
            interface: midi.interface,
            endpoint: endpoint.address,
            transfer: endpoint.transfer,
            read_size: usize::from(endpoint.max_packet_size.clamp(4, 16 * 1024)),
        })
    }
}

/// An open device with its MIDI interface claimed.
struct Connection {
    handle: rusb::DeviceHandle<rusb::Context>,
    interface: u8,
    reattach: bool,
}

impl Connection {
    fn open(target: &Target, detach: bool) -> Result<Self, InputError> {
        let device = target.find()?.ok_or(InputError::UsbGone)?;
        let node = format!(
            "/dev/bus/usb/{:03}/{:03}",
            device.bus_number(),
            device.address()
        );
        let handle = device.open().map_err(|e| match e {
            rusb::Error::Access => InputError::UsbPermission { node },
            rusb::Error::NoDevice => InputError::UsbGone,
            other => InputError::Usb(other),
        })?;
        let driver_active = handle
            .kernel_driver_active(target.interface)
            .unwrap_or(false)
            || kernel_driver_bound(&target.port_path, target.interface);
        let mut reattach = false;
        if driver_active {
            if !detach {
                return Err(InputError::UsbBusy {
                    holder: "the kernel's snd-usb-audio driver".into(),
                });
            }
            handle
                .detach_kernel_driver(target.interface)
                .map_err(InputError::Detach)?;
            reattach = true;
        }
        handle
            .claim_interface(target.interface)
            .map_err(|e| match e {
                rusb::Error::Busy => InputError::UsbBusy {
                    holder: "another program".into(),
                },
                rusb::Error::NoDevice => InputError::UsbGone,
                other => InputError::Usb(other),
            })?;
        Ok(Connection {
            handle,
            interface: target.interface,
            reattach,
        })
    }

    fn read(&self, target: &Target, buffer: &mut [u8]) -> rusb::Result<usize> {
        match target.transfer {
            TransferType::Interrupt => {
                self.handle
                    .read_interrupt(target.endpoint, buffer, READ_TIMEOUT)
            }
            _ => self.handle.read_bulk(target.endpoint, buffer, READ_TIMEOUT),
        }
    }
}

impl Connection {
    /// Gives the MIDI interface back to the kernel driver it was taken from.
    /// snd-usb-audio refuses to probe the MIDI interface alone (its card
    /// belongs to the audio-control interface, and Linux answers EBUSY), so
    /// when the interface stays without a driver, the device's other
    /// driver-bound interfaces are detached and attached again: the driver
    /// then builds the whole sound card afresh, MIDI port included.
    fn give_back(&self) {
        let _ = self.handle.attach_kernel_driver(self.interface);
        if self.handle.kernel_driver_active(self.interface) != Ok(false) {
            return;
        }
        let Ok(config) = self.handle.device().active_config_descriptor() else {
            return;
        };
        let others: Vec<u8> = config
            .interfaces()
            .map(|interface| interface.number())
            .filter(|&number| number != self.interface)
            .filter(|&number| self.handle.kernel_driver_active(number) == Ok(true))
            .collect();
        for &number in &others {
            let _ = self.handle.detach_kernel_driver(number);
        }
        for &number in &others {
            let _ = self.handle.attach_kernel_driver(number);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.handle.release_interface(self.interface);
        if self.reattach {
            self.give_back();
        }
    }
}

/// Whether sysfs says a kernel driver holds the interface (libusb's own
/// answer is not always available, e.g. under emulation).
fn kernel_driver_bound(port_path: &str, interface: u8) -> bool {
    #[cfg(target_os = "linux")]
    {
        usb::sysfs::read_device(port_path).is_some_and(|d| {
            d.interfaces
                .iter()
                .any(|i| i.number == interface && i.driver.is_some())
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (port_path, interface);
        false
    }
}

fn spawn_reader(
    connection: Connection,
    target: Target,
    detach: bool,
    wait: bool,
    feed: Feed,
) -> Worker {
    Worker::spawn(move |stopped: &AtomicBool| {
        let mut connection = Some(connection);
        let mut buffer = vec![0u8; target.read_size];
        while !stopped.load(Ordering::Relaxed) {
            let Some(open) = &connection else {
                // Waiting for the keyboard to come back (`--wait`).
                thread::sleep(REPLUG_POLL);
                if let Ok(again) = Connection::open(&target, detach) {
                    connection = Some(again);
                    feed.event(InputEvent::Reconnected {
                        t_us: feed.now_us(),
                    });
                }
                continue;
            };
            match open.read(&target, &mut buffer) {
                Ok(length) => {
                    if !feed.usb_transfer(&buffer[..length]) {
                        return;
                    }
                }
                Err(rusb::Error::Timeout | rusb::Error::Interrupted | rusb::Error::Overflow) => {}
                Err(error) => {
                    connection = None;
                    let failed = error != rusb::Error::NoDevice && !target.has_left();
                    let reason = if failed {
                        format!("reading the keyboard failed: {error} (a bad cable or hub?)")
                    } else {
                        "keyboard disconnected".to_owned()
                    };
                    feed.event(InputEvent::Disconnected {
                        t_us: feed.now_us(),
                        reason,
                        failed,
                    });
                    if !wait {
                        return;
                    }
                }
            }
        }
    })
}

/// How a device is named in messages: its product string, else VID:PID,
/// with where it is plugged in.
fn device_label(device: &UsbDevice) -> String {
    format!(
        "{} at USB port {}",
        product_or_ids(device),
        device.port_path
    )
}

/// A device's product string, else its `VID:PID`.
fn product_or_ids(device: &UsbDevice) -> String {
    device
        .product
        .clone()
        .unwrap_or_else(|| format!("{:04x}:{:04x}", device.vendor_id, device.product_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_ids_and_port_paths() {
        assert_eq!(UsbSelector::parse(""), Ok(UsbSelector::Auto));
        assert_eq!(
            UsbSelector::parse("1acc:1533"),
            Ok(UsbSelector::VidPid(0x1acc, 0x1533))
        );
        assert_eq!(
            UsbSelector::parse("1-1.3"),
            Ok(UsbSelector::PortPath("1-1.3".into()))
        );
        assert!(UsbSelector::parse("take.mid").is_err());
        assert!(UsbSelector::parse("zz:1").is_err());
    }
}
