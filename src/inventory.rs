//! The inventory: the USB devices and the system's MIDI ports joined into
//! one picture — which port belongs to which device (pairing), how usable
//! each device is (assessment: a status word, a verdict, the problems and
//! their fix). `list` presents it (text, JSON); the automatic input choice
//! (`input::select`) decides from it. Building it is pure, so every verdict
//! is unit-tested.

use crate::devices::{self, KnownDevice};
use crate::ports::{MidiPorts, OsPort, ServiceStatus};
use crate::usb::descriptor::{Cable, InJack, MidiEndpoint, OutJack};
use crate::usb::{Access, Speed, UsbDevice};
use serde::Serialize;

/// The udev rule shipped with composer-probe, printed by `composer-probe udev-rule`.
pub const UDEV_RULE: &str = include_str!("../udev/60-composer-probe.rules");

/// Where the udev rule goes.
pub const UDEV_RULE_PATH: &str = "/etc/udev/rules.d/60-composer-probe.rules";

/// Every device and port, paired and assessed; `list --json` prints exactly this.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// MIDI devices (and, with `--all`, every other USB device).
    pub devices: Vec<DeviceReport>,
    /// Whether the system MIDI service answered.
    pub midi_service: ServiceStatus,
    /// Every system MIDI port, matched to a device or not.
    pub os_ports: OsPortList,
    /// Set when the USB bus itself could not be read.
    pub usb_error: Option<String>,
}

/// System MIDI ports by direction.
#[derive(Debug, Clone, Serialize)]
pub struct OsPortList {
    /// Ports we can read from.
    pub inputs: Vec<OsPort>,
    /// Ports we can send to.
    pub outputs: Vec<OsPort>,
}

/// How usable a device is, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Usable now, through its system port or directly over USB.
    Ready,
    /// Usable, but its descriptors are malformed: it may misbehave.
    UsableWithProblems,
    /// A MIDI device that describes no cable towards the computer: nothing
    /// it plays can be received.
    NoInput,
    /// The kernel driver holds the MIDI interface and no system port can be used.
    ClaimedByDriver,
    /// Direct access is refused: the udev rule is missing.
    NoPermission,
    /// The device could not be opened for another reason, or vanished.
    Unreachable,
    /// Its descriptors are too broken to find a MIDI interface.
    Malformed,
    /// Not a MIDI device (listed with `--all`).
    NotMidi,
}

/// One device as `list` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    /// The known-device name, else the product string, else `VID:PID`.
    pub name: String,
    /// One word for how usable it is.
    pub status: Status,
    /// The verdict sentence printed after the name.
    pub verdict: String,
    /// Everything wrong, one sentence each, with what to do.
    pub problems: Vec<String>,
    /// Shell commands that fix the main problem, in order (may be empty).
    pub fix: Vec<String>,
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// `bcdDevice`.
    pub bcd_device: u16,
    /// Bus number.
    pub bus: u8,
    /// Address on the bus.
    pub address: u8,
    /// Kernel port path, e.g. `1-1.3`.
    pub port_path: String,
    /// Link speed.
    pub speed: Speed,
    /// Manufacturer string.
    pub manufacturer: Option<String>,
    /// Product string.
    pub product: Option<String>,
    /// Serial number string.
    pub serial: Option<String>,
    /// Kernel driver on the MIDI interface (or the first bound one for other devices).
    pub driver: Option<String>,
    /// Whether direct USB access is allowed.
    pub access: Access,
    /// sysfs directory (Linux).
    pub sysfs_path: Option<String>,
    /// Facts we know about this model, when we know it.
    pub known: Option<KnownDevice>,
    /// The MIDI interface; `null` for a non-MIDI device.
    pub midi: Option<MidiReport>,
    /// System MIDI ports that belong to this device.
    pub os_ports: Vec<PairedPort>,
}

/// A device's MIDI Streaming interface.
#[derive(Debug, Clone, Serialize)]
pub struct MidiReport {
    /// `bInterfaceNumber`.
    pub interface: u8,
    /// True when the interface is vendor-specific but speaks USB-MIDI.
    pub vendor_specific: bool,
    /// Endpoints with the embedded jacks they carry.
    pub endpoints: Vec<MidiEndpoint>,
    /// One entry per cable the device sends to the computer.
    pub inputs: Vec<PortReport>,
    /// One entry per cable the computer sends to the device.
    pub outputs: Vec<PortReport>,
    /// MIDI IN jacks.
    pub in_jacks: Vec<InJack>,
    /// MIDI OUT jacks.
    pub out_jacks: Vec<OutJack>,
}

/// One cable: what a MIDI program shows as a port.
#[derive(Debug, Clone, Serialize)]
pub struct PortReport {
    /// Cable number on its endpoint.
    pub cable: u8,
    /// Endpoint address.
    pub endpoint: u8,
    /// Embedded jack id.
    pub jack: u8,
    /// The jack's own name, or the name ALSA would give (`AKM322 MIDI 1`).
    pub name: String,
}

/// A system MIDI port matched to a device.
#[derive(Debug, Clone, Serialize)]
pub struct PairedPort {
    /// `input` (we read from it) or `output`.
    pub direction: PortDirection,
    /// The OS port name.
    pub name: String,
    /// midir's port id.
    pub id: String,
}

/// Direction of a system port, from our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortDirection {
    /// We read from it.
    Input,
    /// We send to it.
    Output,
}

impl Inventory {
    /// Enumerates the USB bus and the system's MIDI ports now. `all` keeps
    /// non-MIDI devices.
    pub fn discover(all: bool) -> Self {
        let usb = crate::usb::enumerate().map_err(|e| crate::error::chain(&e));
        Inventory::build(usb, crate::ports::discover(), all)
    }

    /// Builds the inventory from what was enumerated. `all` keeps non-MIDI devices.
    pub fn build(usb: Result<Vec<UsbDevice>, String>, ports: MidiPorts, all: bool) -> Self {
        let (found, usb_error) = match usb {
            Ok(found) => (found, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let devices = found
            .iter()
            .map(|device| report_device(device, &ports))
            .filter(|report| all || report.status != Status::NotMidi)
            .collect();
        Inventory {
            devices,
            midi_service: ports.service,
            os_ports: OsPortList {
                inputs: ports.inputs,
                outputs: ports.outputs,
            },
            usb_error,
        }
    }

    /// True when at least one MIDI device (usable or not) was found.
    pub fn has_midi_devices(&self) -> bool {
        self.devices.iter().any(|d| d.status != Status::NotMidi)
    }

    /// The known keyboard a system port (by id, name or part of its name)
    /// belongs to, when the port is paired with one.
    pub fn known_device_of_port(&self, wanted: &str) -> Option<&'static KnownDevice> {
        let wanted_lower = wanted.to_lowercase();
        self.devices.iter().find_map(|device| {
            let paired = device.os_ports.iter().any(|p| {
                p.id == wanted || p.name == wanted || p.name.to_lowercase().contains(&wanted_lower)
            });
            paired
                .then(|| devices::lookup(device.vendor_id, device.product_id))
                .flatten()
        })
    }
}

impl DeviceReport {
    /// The first system port we can read this device from.
    pub fn input_port(&self) -> Option<&PairedPort> {
        self.os_ports
            .iter()
            .find(|p| p.direction == PortDirection::Input)
    }

    /// True when the device describes a cable towards the computer.
    pub fn sends_midi(&self) -> bool {
        self.midi.as_ref().is_some_and(|m| !m.inputs.is_empty())
    }
}

fn display_name(device: &UsbDevice, known: Option<&KnownDevice>) -> String {
    if let Some(known) = known {
        return known.name.to_owned();
    }
    match (&device.manufacturer, &device.product) {
        (Some(maker), Some(product)) if !product.starts_with(maker.as_str()) => {
            format!("{maker} {product}")
        }
        (_, Some(product)) => product.clone(),
        _ => id_database_name(device.vendor_id, device.product_id).map_or_else(
            || {
                format!(
                    "USB device {:04x}:{:04x}",
                    device.vendor_id, device.product_id
                )
            },
            |name| format!("{name} (name from the USB ID Repository)"),
        ),
    }
}

/// What lsusb would call a device that names nothing itself: its vendor and
/// product from the USB ID Repository.
fn id_database_name(vendor_id: u16, product_id: u16) -> Option<String> {
    let device = usb_ids::Device::from_vid_pid(vendor_id, product_id)?;
    Some(format!("{} {}", device.vendor().name(), device.name()))
}

fn report_device(device: &UsbDevice, ports: &MidiPorts) -> DeviceReport {
    let known = devices::lookup(device.vendor_id, device.product_id).copied();
    let name = display_name(device, known.as_ref());
    let os_ports = pair_ports(device, ports);
    let midi = device.midi.as_ref().map(|midi| {
        let base = device
            .product
            .clone()
            .or_else(|| id_database_name(device.vendor_id, device.product_id))
            .unwrap_or_else(|| name.clone());
        let cable_names = |cables: &[Cable]| -> Vec<PortReport> {
            cables
                .iter()
                .enumerate()
                .map(|(n, cable)| PortReport {
                    cable: cable.cable,
                    endpoint: cable.endpoint,
                    jack: cable.jack,
                    name: device
                        .jack_name(cable.string_index)
                        .map_or_else(|| format!("{base} MIDI {}", n + 1), str::to_owned),
                })
                .collect()
        };
        MidiReport {
            interface: midi.interface,
            vendor_specific: midi.vendor_specific,
            endpoints: midi.endpoints.clone(),
            inputs: cable_names(&midi.inputs),
            outputs: cable_names(&midi.outputs),
            in_jacks: midi.in_jacks.clone(),
            out_jacks: midi.out_jacks.clone(),
        }
    });
    let Assessment {
        status,
        verdict,
        mut problems,
        fix,
    } = assess(device, &os_ports, &ports.service);
    let malformed = device
        .descriptor_problems
        .iter()
        .chain(device.midi.iter().flat_map(|m| &m.problems));
    let before = problems.len();
    problems.extend(malformed.map(|p| format!("malformed descriptor: {p}")));
    // A usable device with a broken descriptor is not simply ready.
    let (status, verdict) = if problems.len() > before && status == Status::Ready {
        (
            Status::UsableWithProblems,
            format!("{verdict}, but its descriptor is malformed"),
        )
    } else if problems.len() > before && status != Status::Malformed {
        (status, format!("{verdict}; malformed descriptor"))
    } else {
        (status, verdict)
    };
    let driver = device
        .midi_driver()
        .or_else(|| device.interfaces.iter().find_map(|i| i.driver.as_deref()))
        .map(str::to_owned);
    DeviceReport {
        name,
        status,
        verdict,
        problems,
        fix,
        vendor_id: device.vendor_id,
        product_id: device.product_id,
        bcd_device: device.bcd_device,
        bus: device.bus,
        address: device.address,
        port_path: device.port_path.clone(),
        speed: device.speed,
        manufacturer: device.manufacturer.clone(),
        product: device.product.clone(),
        serial: device.serial.clone(),
        driver,
        access: device.access.clone(),
        sysfs_path: device.sysfs_path.clone(),
        known,
        midi,
        os_ports,
    }
}

/// Matches system ports to a device: by ALSA card where the OS says which
/// card a port belongs to, else by the product name appearing in the port name.
fn pair_ports(device: &UsbDevice, ports: &MidiPorts) -> Vec<PairedPort> {
    if device.midi.is_none() {
        return Vec::new();
    }
    let belongs = |port: &OsPort| match port.card {
        Some(card) => device.sound_cards.contains(&card),
        None => device
            .product
            .as_deref()
            .is_some_and(|product| port.name.contains(product)),
    };
    let paired = |list: &[OsPort], direction| {
        list.iter()
            .filter(|port| belongs(port))
            .map(move |port| PairedPort {
                direction,
                name: port.name.clone(),
                id: port.id.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut found = paired(&ports.inputs, PortDirection::Input);
    found.extend(paired(&ports.outputs, PortDirection::Output));
    found
}

/// The exact commands that give the logged-in user access to USB MIDI devices.
pub fn udev_install_commands() -> Vec<String> {
    install_then_reload(format!(
        "composer-probe udev-rule | sudo tee {UDEV_RULE_PATH}"
    ))
}

/// A one-line udev rule that gives the logged-in user access to one device,
/// by its ids (`uaccess` only, never a mode).
fn device_udev_rule(vendor_id: u16, product_id: u16) -> String {
    format!(
        "SUBSYSTEM==\"usb\", ENV{{DEVTYPE}}==\"usb_device\", ATTR{{idVendor}}==\"{vendor_id:04x}\", \
         ATTR{{idProduct}}==\"{product_id:04x}\", TAG+=\"uaccess\""
    )
}

/// The exact commands that install [`device_udev_rule`] for one device.
fn device_udev_install_commands(vendor_id: u16, product_id: u16) -> Vec<String> {
    install_then_reload(format!(
        "echo '{}' | sudo tee /etc/udev/rules.d/60-composer-probe-{vendor_id:04x}-{product_id:04x}.rules",
        device_udev_rule(vendor_id, product_id)
    ))
}

fn install_then_reload(install: String) -> Vec<String> {
    vec![
        install,
        "sudo udevadm control --reload-rules".into(),
        "sudo udevadm trigger --subsystem-match=usb".into(),
    ]
}

/// Whether the shipped udev rule ([`UDEV_RULE`]) matches this device, as
/// udev would: the DeepComposer by its ids, else an interface of class
/// 01/03 (MIDI Streaming) or ff/03 (vendor-specific, MIDI Streaming
/// subclass). A vendor-specific MIDI interface of another subclass is told
/// apart only by its descriptors, which a rule cannot read.
fn shipped_rule_covers(device: &UsbDevice) -> bool {
    let deepcomposer = (device.vendor_id, device.product_id)
        == (
            devices::DEEPCOMPOSER.vendor_id,
            devices::DEEPCOMPOSER.product_id,
        );
    let class_midi = device.midi.as_ref().is_some_and(|m| !m.vendor_specific);
    let vendor_midi_subclass = device
        .interfaces
        .iter()
        .any(|i| (i.class, i.subclass) == (0xff, 0x03));
    deepcomposer || class_midi || vendor_midi_subclass
}

/// What `assess` concluded about one device.
struct Assessment {
    status: Status,
    verdict: String,
    problems: Vec<String>,
    fix: Vec<String>,
}

impl Assessment {
    fn new(status: Status, verdict: impl Into<String>, problems: Vec<String>) -> Self {
        Assessment {
            status,
            verdict: verdict.into(),
            problems,
            fix: Vec::new(),
        }
    }
}

fn assess(device: &UsbDevice, os_ports: &[PairedPort], service: &ServiceStatus) -> Assessment {
    let mut problems = Vec::new();
    let Some(midi) = &device.midi else {
        if device.descriptor_problems.is_empty() {
            return Assessment::new(Status::NotMidi, "not a MIDI device", problems);
        }
        return Assessment::new(
            Status::Malformed,
            "malformed descriptor: no MIDI interface could be read",
            problems,
        );
    };
    if midi.inputs.is_empty() {
        problems.push("the device describes no cable towards the computer, so nothing it plays can be received".into());
        return Assessment::new(
            Status::NoInput,
            "sends no MIDI (no cable towards the computer)",
            problems,
        );
    }
    if let Some(input) = os_ports
        .iter()
        .find(|p| p.direction == PortDirection::Input)
    {
        let verdict = format!("ready (system port \"{}\")", input.name);
        return Assessment::new(Status::Ready, verdict, problems);
    }
    if let Some(driver) = device.midi_driver() {
        problems.push(match service {
            ServiceStatus::Unavailable(reason) => format!(
                "{driver} holds the MIDI interface, but the system MIDI service is unavailable: {reason}"
            ),
            ServiceStatus::Available => format!(
                "{driver} holds the MIDI interface, but no system MIDI port was found for it; replug the keyboard"
            ),
        });
        if device.access == Access::Granted {
            problems.push(format!(
                "direct USB access would mean detaching {driver} from the device (this takes the whole sound card away from other programs)"
            ));
        }
        // Without the MIDI service no system port can exist: say how to get
        // one, or how to read the keyboard without it.
        let (verdict, fix) = match service {
            ServiceStatus::Unavailable(reason) => {
                let fix = if reason.contains("modprobe snd-seq") {
                    vec!["sudo modprobe snd-seq".to_owned()]
                } else {
                    Vec::new()
                };
                let verdict = format!(
                    "claimed by {driver}, and the system MIDI service is unavailable ({reason}); or read it with --usb --detach"
                );
                (verdict, fix)
            }
            ServiceStatus::Available => (
                format!("claimed by {driver}, use the system port"),
                Vec::new(),
            ),
        };
        return Assessment {
            fix,
            ..Assessment::new(Status::ClaimedByDriver, verdict, problems)
        };
    }
    let node = format!("/dev/bus/usb/{:03}/{:03}", device.bus, device.address);
    match &device.access {
        Access::Granted => Assessment::new(Status::Ready, "ready (direct USB)", problems),
        Access::Denied if shipped_rule_covers(device) => {
            problems.push(format!(
                "this user may not open {node}: install the udev rule with the commands below, then unplug and replug the keyboard"
            ));
            Assessment {
                fix: udev_install_commands(),
                ..Assessment::new(
                    Status::NoPermission,
                    "no permission: install the udev rule",
                    problems,
                )
            }
        }
        Access::Denied => {
            problems.push(format!(
                "this user may not open {node}, and its vendor-specific MIDI interface is one the udev rule cannot recognise: install a rule for this device with the commands below, then unplug and replug it"
            ));
            Assessment {
                fix: device_udev_install_commands(device.vendor_id, device.product_id),
                ..Assessment::new(
                    Status::NoPermission,
                    "no permission: install a udev rule for this device",
                    problems,
                )
            }
        }
        Access::Gone => {
            problems
                .push("the device disappeared while it was being read; plug it in again".into());
            Assessment::new(Status::Unreachable, "unplugged", problems)
        }
        Access::Unknown(reason) => {
            problems.push(format!("{node} could not be opened ({reason})"));
            let verdict = format!("cannot be opened: {reason}");
            Assessment::new(Status::Unreachable, verdict, problems)
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Hand-built devices and ports for the inventory's and its users' tests.
    use super::*;
    use crate::usb::descriptor::{Direction, MidiInterface, TransferType};
    use crate::usb::InterfaceSummary;

    /// An AKM322 on bus 1, port 1-1, sound card 2.
    pub(crate) fn keyboard(driver: Option<&str>, access: Access) -> UsbDevice {
        let cable = |endpoint| Cable {
            cable: 0,
            endpoint,
            jack: 1,
            string_index: 0,
        };
        UsbDevice {
            bus: 1,
            address: 5,
            port_path: "1-1".into(),
            vendor_id: 0x1acc,
            product_id: 0x1533,
            bcd_device: 0x000b,
            device_class: 0,
            speed: Speed::Full,
            manufacturer: Some("MIDIPLUS".into()),
            product: Some("AKM322".into()),
            serial: None,
            interfaces: vec![InterfaceSummary {
                number: 1,
                class: 1,
                subclass: 3,
                driver: driver.map(str::to_owned),
            }],
            midi: Some(MidiInterface {
                interface: 1,
                alternate: 0,
                vendor_specific: false,
                msc_version: Some(0x0100),
                in_jacks: Vec::new(),
                out_jacks: Vec::new(),
                endpoints: vec![MidiEndpoint {
                    address: 0x81,
                    direction: Direction::In,
                    transfer: TransferType::Bulk,
                    max_packet_size: 64,
                    jacks: vec![1],
                }],
                inputs: vec![cable(0x81)],
                outputs: vec![cable(0x02)],
                problems: Vec::new(),
            }),
            jack_names: Vec::new(),
            descriptor_problems: Vec::new(),
            access,
            sound_cards: vec![2],
            sysfs_path: None,
        }
    }

    /// One system port both ways, on `card`.
    pub(crate) fn ports(card: Option<u32>, name: &str) -> MidiPorts {
        let port = OsPort {
            name: name.into(),
            id: "24:0".into(),
            card,
        };
        MidiPorts {
            service: ServiceStatus::Available,
            inputs: vec![port.clone()],
            outputs: vec![port],
        }
    }

    /// No system MIDI service.
    pub(crate) fn no_service() -> MidiPorts {
        MidiPorts {
            service: ServiceStatus::Unavailable(
                "/dev/snd/seq is missing; run `sudo modprobe snd-seq`".into(),
            ),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{keyboard, no_service, ports};
    use super::*;

    fn report_of(device: UsbDevice, ports: MidiPorts) -> DeviceReport {
        Inventory::build(Ok(vec![device]), ports, false)
            .devices
            .remove(0)
    }

    #[test]
    fn system_port_on_the_same_card_makes_the_keyboard_ready() {
        let report = report_of(
            keyboard(Some("snd-usb-audio"), Access::Granted),
            ports(Some(2), "AKM322:AKM322 MIDI 1 24:0"),
        );
        assert_eq!(report.status, Status::Ready);
        assert_eq!(
            report.verdict,
            "ready (system port \"AKM322:AKM322 MIDI 1 24:0\")"
        );
        assert_eq!(report.os_ports.len(), 2);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn a_port_on_another_card_is_not_paired_even_with_the_same_name() {
        let report = report_of(
            keyboard(Some("snd-usb-audio"), Access::Granted),
            ports(Some(3), "AKM322:AKM322 MIDI 1 28:0"),
        );
        assert_eq!(report.status, Status::ClaimedByDriver);
        assert!(report.os_ports.is_empty());
        assert!(report.problems[0].contains("no system MIDI port was found"));
    }

    #[test]
    fn without_card_numbers_ports_pair_by_product_name() {
        let report = report_of(keyboard(None, Access::Granted), ports(None, "AKM322"));
        assert_eq!(report.status, Status::Ready);
        assert_eq!(report.os_ports.len(), 2);
        let report = report_of(keyboard(None, Access::Granted), ports(None, "Other Synth"));
        assert!(report.os_ports.is_empty());
    }

    #[test]
    fn driver_bound_and_no_service_says_how_to_get_a_port_or_go_around_it() {
        let report = report_of(
            keyboard(Some("snd-usb-audio"), Access::Granted),
            no_service(),
        );
        assert_eq!(report.status, Status::ClaimedByDriver);
        // No system port can exist: the way to one, or around it.
        assert_eq!(
            report.verdict,
            "claimed by snd-usb-audio, and the system MIDI service is unavailable \
             (/dev/snd/seq is missing; run `sudo modprobe snd-seq`); or read it with --usb --detach"
        );
        assert_eq!(report.fix, ["sudo modprobe snd-seq"]);
        assert!(report.problems[0].contains("/dev/snd/seq is missing"));
    }

    #[test]
    fn denied_access_without_driver_asks_for_the_udev_rule() {
        let report = report_of(keyboard(None, Access::Denied), no_service());
        assert_eq!(report.status, Status::NoPermission);
        assert_eq!(report.fix, udev_install_commands());
        assert!(report.problems[0].contains("/dev/bus/usb/001/005"));
    }

    #[test]
    fn denied_vendor_midi_the_rule_cannot_see_gets_a_rule_for_itself() {
        let vendor = |subclass| {
            let mut device = keyboard(None, Access::Denied);
            (device.vendor_id, device.product_id) = (0x0582, 0x01ff);
            device.interfaces[0].class = 0xff;
            device.interfaces[0].subclass = subclass;
            device.midi.as_mut().unwrap().vendor_specific = true;
            device
        };
        // Vendor class, MIDI Streaming subclass: the shipped rule matches it.
        let report = report_of(vendor(0x03), no_service());
        assert_eq!(report.fix, udev_install_commands());
        // Any other subclass: only its descriptors say MIDI, so a rule by ids.
        let report = report_of(vendor(0x00), no_service());
        assert_eq!(report.status, Status::NoPermission);
        assert_eq!(
            report.verdict,
            "no permission: install a udev rule for this device"
        );
        assert_eq!(report.fix, device_udev_install_commands(0x0582, 0x01ff));
        assert!(report.fix[0].contains("ATTR{idVendor}==\"0582\", ATTR{idProduct}==\"01ff\""));
        assert!(!report.fix[0].contains("MODE"));
    }

    #[test]
    fn vanished_device_is_unreachable() {
        let report = report_of(keyboard(None, Access::Gone), no_service());
        assert_eq!(report.status, Status::Unreachable);
        assert_eq!(report.verdict, "unplugged");
    }

    #[test]
    fn a_port_names_its_known_keyboard() {
        let inventory = Inventory::build(
            Ok(vec![keyboard(Some("snd-usb-audio"), Access::Granted)]),
            ports(Some(2), "AKM322:AKM322 MIDI 1 24:0"),
            false,
        );
        let known = inventory.known_device_of_port("akm322 midi");
        assert_eq!(
            known.map(|k| k.name),
            Some("AWS DeepComposer keyboard (Midiplus AKM322)")
        );
        assert!(inventory.known_device_of_port("Other Synth").is_none());
    }
}

#[cfg(test)]
mod id_database_tests {
    use super::*;

    #[test]
    fn devices_without_strings_are_named_from_the_usb_id_repository() {
        let name = id_database_name(0x06f8, 0xd002).expect("06f8:d002 is in the repository");
        assert!(
            name.starts_with("Guillemot") && !name.contains("(name from"),
            "{name}"
        );
        assert_eq!(
            id_database_name(0x1209, 0xfff0),
            None,
            "an unknown id has no name"
        );
    }

    #[test]
    fn ports_of_a_device_named_from_the_repository_carry_its_name_only() {
        let mut device = test_support::keyboard(None, Access::Granted);
        (device.vendor_id, device.product_id) = (0x0499, 0x1009);
        (device.manufacturer, device.product) = (None, None);
        let report = Inventory::build(Ok(vec![device]), test_support::no_service(), false)
            .devices
            .remove(0);
        assert_eq!(
            report.name,
            "Yamaha Corp. UX16 MIDI I/F (name from the USB ID Repository)"
        );
        let midi = report.midi.expect("a MIDI device");
        assert_eq!(midi.inputs[0].name, "Yamaha Corp. UX16 MIDI I/F MIDI 1");
        assert_eq!(midi.outputs[0].name, "Yamaha Corp. UX16 MIDI I/F MIDI 1");
    }
}
