//! Pure parser for USB configuration descriptors and the USB-MIDI 1.0
//! class-specific descriptors they carry.
//!
//! Input is the raw bytes the device reports (on Linux, sysfs `descriptors`);
//! output is a small typed model. Nothing here does I/O, and nothing here
//! panics on malformed input: every problem found is recorded as a
//! [`DescriptorProblem`] and parsing carries on with what could be read.

use serde::Serialize;
use std::fmt;

const DT_DEVICE: u8 = 0x01;
const DT_CONFIG: u8 = 0x02;
const DT_INTERFACE: u8 = 0x04;
const DT_ENDPOINT: u8 = 0x05;
const CS_INTERFACE: u8 = 0x24;
const CS_ENDPOINT: u8 = 0x25;

const CLASS_AUDIO: u8 = 0x01;
const CLASS_VENDOR_SPECIFIC: u8 = 0xff;
const SUBCLASS_MIDI_STREAMING: u8 = 0x03;

const MS_HEADER: u8 = 0x01;
const MIDI_IN_JACK: u8 = 0x02;
const MIDI_OUT_JACK: u8 = 0x03;
const MS_GENERAL: u8 = 0x01;

/// Something wrong in a device's descriptor bytes. The device is still
/// listed; this says what could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescriptorProblem(pub String);

impl fmt::Display for DescriptorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One alternate setting of one interface, with its endpoints and the raw
/// class-specific descriptors that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSetting {
    /// `bInterfaceNumber`.
    pub number: u8,
    /// `bAlternateSetting`.
    pub alternate: u8,
    /// `bInterfaceClass`.
    pub class: u8,
    /// `bInterfaceSubClass`.
    pub subclass: u8,
    /// `bInterfaceProtocol`.
    pub protocol: u8,
    /// Class-specific interface descriptors (type 0x24), bytes as found.
    pub class_specific: Vec<Vec<u8>>,
    /// Endpoints of this setting, in descriptor order.
    pub endpoints: Vec<RawEndpoint>,
}

/// A standard endpoint descriptor and the class-specific bytes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEndpoint {
    /// `bLength` of the standard descriptor (7, or 9 for audio endpoints).
    pub length: u8,
    /// `bEndpointAddress` (bit 7 set = IN, device to computer).
    pub address: u8,
    /// `bmAttributes`.
    pub attributes: u8,
    /// `wMaxPacketSize` (low 11 bits: bytes per packet).
    pub max_packet_size: u16,
    /// `bInterval`.
    pub interval: u8,
    /// Class-specific endpoint descriptors (type 0x25), bytes as found.
    pub class_specific: Vec<Vec<u8>>,
}

/// A parsed configuration: every interface setting it describes, and what
/// was wrong with the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    /// `bConfigurationValue`, when a configuration header was present.
    pub value: Option<u8>,
    /// `bMaxPower` in mA, when a configuration header was present.
    pub max_power_ma: Option<u16>,
    /// Interface settings in descriptor order.
    pub interfaces: Vec<InterfaceSetting>,
    /// What could not be read.
    pub problems: Vec<DescriptorProblem>,
}

/// Splits sysfs-style `descriptors` bytes (a device descriptor followed by
/// configuration descriptors) and parses the first configuration.
pub fn parse_device_blob(bytes: &[u8]) -> Configuration {
    let rest = match bytes {
        [len, DT_DEVICE, ..] if usize::from(*len) <= bytes.len() && *len >= 2 => {
            &bytes[usize::from(*len)..]
        }
        _ => bytes,
    };
    parse_configuration(rest)
}

/// Parses one configuration descriptor with everything under it.
///
/// ```
/// use composer_probe::usb::descriptor::{find_midi_interface, parse_configuration};
///
/// // A MIDI Streaming interface with one cable towards the computer
/// // (bulk IN endpoint 0x81 carrying embedded OUT jack 2).
/// let bytes = [
///     9, 0x02, 54, 0, 1, 1, 0, 0x80, 50, // configuration, 54 bytes in all
///     9, 0x04, 0, 0, 1, 1, 3, 0, 0,      // interface 0: audio / MIDI Streaming
///     7, 0x24, 1, 0, 1, 36, 0,           // MS header, 36 bytes with jacks and endpoint
///     6, 0x24, 2, 2, 1, 0,               // external IN jack 1
///     9, 0x24, 3, 1, 2, 1, 1, 1, 0,      // embedded OUT jack 2, fed by jack 1
///     9, 0x05, 0x81, 2, 64, 0, 0, 0, 0,  // bulk IN endpoint 0x81
///     5, 0x25, 1, 1, 2,                  // ... carrying jack 2
/// ];
/// let midi = find_midi_interface(&parse_configuration(&bytes)).unwrap();
/// assert_eq!(midi.inputs.len(), 1);
/// assert!(midi.outputs.is_empty());
/// assert!(midi.problems.is_empty());
/// ```
pub fn parse_configuration(bytes: &[u8]) -> Configuration {
    let mut config = Configuration::default();
    let mut usable = bytes;
    if bytes.len() >= 9 && bytes[0] >= 9 && bytes[1] == DT_CONFIG {
        {
            let total = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
            config.value = Some(bytes[5]);
            config.max_power_ma = Some(u16::from(bytes[8]) * 2);
            if total > bytes.len() {
                config.problems.push(problem(format!(
                    "configuration says it is {total} bytes long but only {} were given",
                    bytes.len()
                )));
            } else if total >= 9 {
                usable = &bytes[..total];
            }
        }
    }
    let mut offset = 0;
    while offset < usable.len() {
        let rest = &usable[offset..];
        if rest.len() < 2 {
            config.problems.push(problem(format!(
                "{} stray byte(s) at offset {offset} after the last descriptor",
                rest.len()
            )));
            break;
        }
        let length = usize::from(rest[0]);
        if length < 2 {
            config.problems.push(problem(format!(
                "descriptor at offset {offset} has bLength {length}; the rest of the configuration cannot be read"
            )));
            break;
        }
        if length > rest.len() {
            config.problems.push(problem(format!(
                "descriptor at offset {offset} (type 0x{:02x}) is {length} bytes long but only {} remain",
                rest[1],
                rest.len()
            )));
            break;
        }
        let descriptor = &rest[..length];
        take_descriptor(&mut config, descriptor, offset);
        offset += length;
    }
    config
}

fn take_descriptor(config: &mut Configuration, descriptor: &[u8], offset: usize) {
    match descriptor[1] {
        DT_INTERFACE => {
            if descriptor.len() < 9 {
                config.problems.push(problem(format!(
                    "interface descriptor at offset {offset} is only {} bytes long",
                    descriptor.len()
                )));
                return;
            }
            config.interfaces.push(InterfaceSetting {
                number: descriptor[2],
                alternate: descriptor[3],
                class: descriptor[5],
                subclass: descriptor[6],
                protocol: descriptor[7],
                class_specific: Vec::new(),
                endpoints: Vec::new(),
            });
        }
        DT_ENDPOINT => {
            let Some(interface) = config.interfaces.last_mut() else {
                config.problems.push(problem(format!(
                    "endpoint descriptor at offset {offset} comes before any interface"
                )));
                return;
            };
            if descriptor.len() < 7 {
                config.problems.push(problem(format!(
                    "endpoint descriptor at offset {offset} is only {} bytes long",
                    descriptor.len()
                )));
                return;
            }
            interface.endpoints.push(RawEndpoint {
                length: descriptor[0],
                address: descriptor[2],
                attributes: descriptor[3],
                max_packet_size: u16::from_le_bytes([descriptor[4], descriptor[5]]),
                interval: descriptor[6],
                class_specific: Vec::new(),
            });
        }
        CS_INTERFACE => {
            if let Some(interface) = config.interfaces.last_mut() {
                interface.class_specific.push(descriptor.to_vec());
            }
        }
        CS_ENDPOINT => {
            if let Some(endpoint) = config
                .interfaces
                .last_mut()
                .and_then(|interface| interface.endpoints.last_mut())
            {
                endpoint.class_specific.push(descriptor.to_vec());
            } else {
                config.problems.push(problem(format!(
                    "class-specific endpoint descriptor at offset {offset} follows no endpoint"
                )));
            }
        }
        _ => {}
    }
}

/// Whether a jack is inside the device's USB function (embedded, what the
/// computer sees as a port) or a physical connector (external).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JackKind {
    /// `bJackType` 1: the USB side of a cable.
    Embedded,
    /// `bJackType` 2: a socket or the keyboard itself.
    External,
    /// Any other `bJackType` value.
    Unknown,
}

impl JackKind {
    fn from_byte(byte: u8) -> Self {
        match byte {
            1 => JackKind::Embedded,
            2 => JackKind::External,
            _ => JackKind::Unknown,
        }
    }
}

/// A MIDI IN jack: a place MIDI data enters the USB-MIDI function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InJack {
    /// `bJackID`.
    pub id: u8,
    /// Embedded or external.
    pub kind: JackKind,
    /// `iJack` string index (0 = none).
    pub string_index: u8,
}

/// A MIDI OUT jack: a place MIDI data leaves the USB-MIDI function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutJack {
    /// `bJackID`.
    pub id: u8,
    /// Embedded or external.
    pub kind: JackKind,
    /// Ids of the jacks (or elements) feeding this one.
    pub sources: Vec<u8>,
    /// `iJack` string index (0 = none).
    pub string_index: u8,
}

/// Which way data moves over an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Device to computer.
    In,
    /// Computer to device.
    Out,
}

/// The USB transfer type of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferType {
    /// Control endpoint.
    Control,
    /// Isochronous endpoint.
    Isochronous,
    /// Bulk endpoint (most MIDI devices).
    Bulk,
    /// Interrupt endpoint.
    Interrupt,
}

impl fmt::Display for TransferType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferType::Control => "control",
            TransferType::Isochronous => "isochronous",
            TransferType::Bulk => "bulk",
            TransferType::Interrupt => "interrupt",
        })
    }
}

/// An endpoint of the MIDI Streaming interface and the embedded jacks
/// (cables) it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MidiEndpoint {
    /// `bEndpointAddress`, e.g. 0x81.
    pub address: u8,
    /// In (device to computer) or out.
    pub direction: Direction,
    /// Bulk or interrupt, normally.
    pub transfer: TransferType,
    /// Bytes per packet.
    pub max_packet_size: u16,
    /// Embedded jack ids, in cable order: cable N is `jacks[N]`.
    pub jacks: Vec<u8>,
}

/// One cable of the device as the computer sees it: a MIDI port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cable {
    /// Cable number within its endpoint (the high nibble of USB-MIDI packets).
    pub cable: u8,
    /// The endpoint carrying it.
    pub endpoint: u8,
    /// The embedded jack it is.
    pub jack: u8,
    /// `iJack` of that jack, or of the external jack wired to it (0 = none).
    pub string_index: u8,
}

/// The typed model of a USB MIDI Streaming interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MidiInterface {
    /// `bInterfaceNumber`.
    pub interface: u8,
    /// `bAlternateSetting` the model was read from.
    pub alternate: u8,
    /// True when the interface class is vendor-specific (0xff) rather than
    /// Audio/MIDI Streaming, yet it carries MIDI Streaming descriptors.
    pub vendor_specific: bool,
    /// `bcdMSC` of the MS header, e.g. 0x0100, when present.
    pub msc_version: Option<u16>,
    /// MIDI IN jacks.
    pub in_jacks: Vec<InJack>,
    /// MIDI OUT jacks.
    pub out_jacks: Vec<OutJack>,
    /// Bulk/interrupt endpoints with the cables they carry.
    pub endpoints: Vec<MidiEndpoint>,
    /// Cables the device sends to the computer (its MIDI inputs, for us).
    pub inputs: Vec<Cable>,
    /// Cables the computer sends to the device.
    pub outputs: Vec<Cable>,
    /// Inconsistencies between jacks and endpoints.
    pub problems: Vec<DescriptorProblem>,
}

/// Finds the first interface setting that carries MIDI Streaming and builds
/// its model. Audio-class MIDI Streaming (class 1, subclass 3) wins over a
/// vendor-specific interface with MS descriptors.
pub fn find_midi_interface(config: &Configuration) -> Option<MidiInterface> {
    let standard = config.interfaces.iter().find(|setting| {
        setting.class == CLASS_AUDIO && setting.subclass == SUBCLASS_MIDI_STREAMING
    });
    let vendor = || {
        config
            .interfaces
            .iter()
            .find(|setting| vendor_carries_midi(setting))
    };
    let bare = || {
        config
            .interfaces
            .iter()
            .find(|setting| is_bare_vendor_midi(setting))
    };
    match standard.or_else(vendor) {
        Some(setting) => Some(build_midi_interface(setting)),
        None => bare().map(build_bare_vendor_midi),
    }
}

/// A vendor-specific interface that really is MIDI Streaming: an MS header
/// of a MIDI version (bcdMSC 1.00 or 2.00), jacks or MIDI endpoint
/// descriptors, and no isochronous endpoint. An Audio Streaming interface
/// has a 7-byte subtype-1 descriptor too (AS_GENERAL), but no MIDI version,
/// jacks, and streams isochronously.
fn vendor_carries_midi(setting: &InterfaceSetting) -> bool {
    let midi_version = setting
        .class_specific
        .iter()
        .any(|d| is_ms_header(d) && matches!(u16::from_le_bytes([d[3], d[4]]), 0x0100 | 0x0200));
    let jacks = setting
        .class_specific
        .iter()
        .any(|d| matches!(d.get(2), Some(&MIDI_IN_JACK | &MIDI_OUT_JACK)));
    let midi_endpoints = setting.endpoints.iter().any(|e| {
        e.class_specific
            .iter()
            .any(|d| d.len() >= 4 && d[2] == MS_GENERAL)
    });
    let isochronous = setting.endpoints.iter().any(|e| e.attributes & 0x03 == 1);
    setting.class == CLASS_VENDOR_SPECIFIC
        && midi_version
        && (jacks || midi_endpoints)
        && !isochronous
}

/// Yamaha/Steinberg-style MIDI: a vendor-specific interface of the MIDI
/// Streaming subclass whose bulk or interrupt endpoints carry USB-MIDI
/// packets without any class-specific descriptor.
fn is_bare_vendor_midi(setting: &InterfaceSetting) -> bool {
    setting.class == CLASS_VENDOR_SPECIFIC
        && setting.subclass == SUBCLASS_MIDI_STREAMING
        && setting.class_specific.is_empty()
        && setting
            .endpoints
            .iter()
            .any(|e| e.address & 0x80 != 0 && matches!(e.attributes & 0x03, 2 | 3))
}

/// A bare vendor MIDI interface: one cable (0) on each bulk or interrupt endpoint.
fn build_bare_vendor_midi(setting: &InterfaceSetting) -> MidiInterface {
    let mut midi = build_midi_interface(setting);
    for endpoint in &mut midi.endpoints {
        if matches!(
            endpoint.transfer,
            TransferType::Bulk | TransferType::Interrupt
        ) {
            endpoint.jacks = vec![0];
        }
    }
    midi.inputs.clear();
    midi.outputs.clear();
    assign_cables(&mut midi);
    midi
}

fn is_ms_header(descriptor: &[u8]) -> bool {
    // The MS header is exactly 7 bytes; an Audio Control header also has
    // subtype 1 but is at least 9 bytes long.
    descriptor.len() == 7 && descriptor[2] == MS_HEADER
}

fn build_midi_interface(setting: &InterfaceSetting) -> MidiInterface {
    let mut midi = MidiInterface {
        interface: setting.number,
        alternate: setting.alternate,
        vendor_specific: setting.class == CLASS_VENDOR_SPECIFIC,
        msc_version: None,
        in_jacks: Vec::new(),
        out_jacks: Vec::new(),
        endpoints: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        problems: Vec::new(),
    };
    for descriptor in &setting.class_specific {
        read_jack_descriptor(&mut midi, descriptor);
    }
    for endpoint in &setting.endpoints {
        let jacks = endpoint
            .class_specific
            .iter()
            .find(|d| d.len() >= 4 && d[2] == MS_GENERAL)
            .map(|d| {
                let count = usize::from(d[3]);
                let listed = &d[4..];
                if listed.len() < count {
                    midi.problems.push(problem(format!(
                        "endpoint 0x{:02x} says it carries {count} jack(s) but lists {}",
                        endpoint.address,
                        listed.len()
                    )));
                }
                listed[..count.min(listed.len())].to_vec()
            })
            .unwrap_or_default();
        midi.endpoints.push(MidiEndpoint {
            address: endpoint.address,
            direction: if endpoint.address & 0x80 != 0 {
                Direction::In
            } else {
                Direction::Out
            },
            transfer: match endpoint.attributes & 0x03 {
                0 => TransferType::Control,
                1 => TransferType::Isochronous,
                2 => TransferType::Bulk,
                _ => TransferType::Interrupt,
            },
            max_packet_size: endpoint.max_packet_size & 0x07ff,
            jacks,
        });
    }
    check_header_length(&mut midi, setting);
    check_jack_wiring(&mut midi);
    assign_cables(&mut midi);
    midi
}

fn read_jack_descriptor(midi: &mut MidiInterface, descriptor: &[u8]) {
    let short = |what: &str| {
        problem(format!(
            "{what} descriptor is only {} bytes long",
            descriptor.len()
        ))
    };
    match descriptor.get(2) {
        Some(&MS_HEADER) if descriptor.len() >= 5 => {
            midi.msc_version = Some(u16::from_le_bytes([descriptor[3], descriptor[4]]));
        }
        Some(&MIDI_IN_JACK) => {
            if descriptor.len() < 5 {
                midi.problems.push(short("MIDI IN jack"));
                return;
            }
            midi.in_jacks.push(InJack {
                id: descriptor[4],
                kind: JackKind::from_byte(descriptor[3]),
                string_index: descriptor.get(5).copied().unwrap_or(0),
            });
        }
        Some(&MIDI_OUT_JACK) => {
            if descriptor.len() < 6 {
                midi.problems.push(short("MIDI OUT jack"));
                return;
            }
            let pins = usize::from(descriptor[5]);
            let pin_bytes = descriptor.get(6..).unwrap_or_default();
            if pin_bytes.len() < pins * 2 {
                midi.problems.push(problem(format!(
                    "MIDI OUT jack {} says it has {pins} input pin(s) but its descriptor is too short for them",
                    descriptor[4]
                )));
            }
            let sources = pin_bytes
                .chunks_exact(2)
                .take(pins)
                .map(|pair| pair[0])
                .collect();
            midi.out_jacks.push(OutJack {
                id: descriptor[4],
                kind: JackKind::from_byte(descriptor[3]),
                sources,
                string_index: pin_bytes.get(pins * 2).copied().unwrap_or(0),
            });
        }
        _ => {}
    }
}

/// The MS header's `wTotalLength` covers the header, jacks, elements and
/// endpoints; a value past what follows means the descriptor was cut short.
fn check_header_length(midi: &mut MidiInterface, setting: &InterfaceSetting) {
    let Some(header) = setting.class_specific.iter().find(|d| is_ms_header(d)) else {
        return;
    };
    let declared = usize::from(u16::from_le_bytes([header[5], header[6]]));
    let present: usize = setting.class_specific.iter().map(Vec::len).sum::<usize>()
        + setting
            .endpoints
            .iter()
            .map(|e| usize::from(e.length) + e.class_specific.iter().map(Vec::len).sum::<usize>())
            .sum::<usize>();
    if declared > present {
        midi.problems.push(problem(format!(
            "MIDI Streaming header says its descriptors take {declared} bytes but only {present} are present"
        )));
    }
}

fn check_jack_wiring(midi: &mut MidiInterface) {
    let mut found = Vec::new();
    for jack in &midi.out_jacks {
        for source in &jack.sources {
            if !midi.in_jacks.iter().any(|j| j.id == *source)
                && !midi.out_jacks.iter().any(|j| j.id == *source)
            {
                found.push(problem(format!(
                    "MIDI OUT jack {} takes its data from jack {source}, which is not described",
                    jack.id
                )));
            }
        }
    }
    for endpoint in &midi.endpoints {
        for jack in &endpoint.jacks {
            let known = match endpoint.direction {
                // Data from the computer enters the device at an embedded IN jack.
                Direction::Out => midi.in_jacks.iter().any(|j| j.id == *jack),
                // Data to the computer leaves the device at an embedded OUT jack.
                Direction::In => midi.out_jacks.iter().any(|j| j.id == *jack),
            };
            if !known {
                found.push(problem(format!(
                    "endpoint 0x{:02x} names jack {jack}, which is not a MIDI {} jack of this interface",
                    endpoint.address,
                    match endpoint.direction {
                        Direction::Out => "IN",
                        Direction::In => "OUT",
                    }
                )));
            }
        }
    }
    midi.problems.extend(found);
}

fn assign_cables(midi: &mut MidiInterface) {
    for endpoint in &midi.endpoints {
        for (cable, jack) in endpoint.jacks.iter().enumerate() {
            let entry = Cable {
                cable: u8::try_from(cable).unwrap_or(u8::MAX),
                endpoint: endpoint.address,
                jack: *jack,
                string_index: jack_string(midi, *jack, endpoint.direction),
            };
            match endpoint.direction {
                Direction::In => midi.inputs.push(entry),
                Direction::Out => midi.outputs.push(entry),
            }
        }
    }
}

/// The string naming a cable: the embedded jack's own `iJack`, else that of
/// the external jack wired to it.
fn jack_string(midi: &MidiInterface, jack: u8, direction: Direction) -> u8 {
    match direction {
        Direction::In => {
            let Some(out) = midi.out_jacks.iter().find(|j| j.id == jack) else {
                return 0;
            };
            if out.string_index != 0 {
                return out.string_index;
            }
            out.sources
                .iter()
                .find_map(|s| midi.in_jacks.iter().find(|j| j.id == *s))
                .map_or(0, |j| j.string_index)
        }
        Direction::Out => {
            let Some(input) = midi.in_jacks.iter().find(|j| j.id == jack) else {
                return 0;
            };
            if input.string_index != 0 {
                return input.string_index;
            }
            midi.out_jacks
                .iter()
                .find(|j| j.sources.contains(&jack))
                .map_or(0, |j| j.string_index)
        }
    }
}

fn problem(text: String) -> DescriptorProblem {
    DescriptorProblem(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = body.concat();
        let total = (9 + body.len()) as u16;
        let interfaces = body.windows(2).filter(|w| w[1] == DT_INTERFACE).count() as u8;
        let mut bytes = vec![
            9,
            DT_CONFIG,
            total as u8,
            (total >> 8) as u8,
            interfaces,
            1,
            0,
            0x80,
            50,
        ];
        bytes.extend(body);
        bytes
    }

    fn interface(number: u8, class: u8, subclass: u8, endpoints: u8) -> Vec<u8> {
        vec![9, DT_INTERFACE, number, 0, endpoints, class, subclass, 0, 0]
    }

    fn ms_header() -> Vec<u8> {
        vec![7, CS_INTERFACE, MS_HEADER, 0x00, 0x01, 0x41, 0x00]
    }

    fn in_jack(kind: u8, id: u8, string: u8) -> Vec<u8> {
        vec![6, CS_INTERFACE, MIDI_IN_JACK, kind, id, string]
    }

    fn out_jack(kind: u8, id: u8, source: u8, string: u8) -> Vec<u8> {
        vec![
            9,
            CS_INTERFACE,
            MIDI_OUT_JACK,
            kind,
            id,
            1,
            source,
            1,
            string,
        ]
    }

    fn endpoint(address: u8, attributes: u8, jacks: &[u8]) -> Vec<u8> {
        let mut bytes = vec![9, DT_ENDPOINT, address, attributes, 64, 0, 0, 0, 0];
        bytes.extend([
            4 + jacks.len() as u8,
            CS_ENDPOINT,
            MS_GENERAL,
            jacks.len() as u8,
        ]);
        bytes.extend(jacks);
        bytes
    }

    /// The AKM322's layout: AC on 0, MS on 1, one cable each way, bulk.
    fn akm322() -> Vec<u8> {
        config(&[
            &interface(0, 1, 1, 0),
            &[9, CS_INTERFACE, 1, 0, 1, 9, 0, 1, 1],
            &interface(1, 1, 3, 2),
            &ms_header(),
            &in_jack(1, 1, 0),
            &in_jack(2, 2, 0),
            &out_jack(1, 3, 2, 0),
            &out_jack(2, 4, 1, 0),
            &endpoint(0x01, 2, &[1]),
            &endpoint(0x81, 2, &[3]),
        ])
    }

    #[test]
    fn reads_the_akm322_layout() {
        let parsed = parse_configuration(&akm322());
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.max_power_ma, Some(100));
        let midi = find_midi_interface(&parsed).expect("MIDI interface");
        assert_eq!(midi.interface, 1);
        assert!(!midi.vendor_specific);
        assert_eq!(midi.msc_version, Some(0x0100));
        assert_eq!(midi.in_jacks.len(), 2);
        assert_eq!(midi.out_jacks.len(), 2);
        assert_eq!(midi.endpoints.len(), 2);
        assert_eq!(midi.endpoints[1].direction, Direction::In);
        assert_eq!(midi.endpoints[1].transfer, TransferType::Bulk);
        assert_eq!(midi.endpoints[1].max_packet_size, 64);
        assert_eq!(
            midi.inputs,
            vec![Cable {
                cable: 0,
                endpoint: 0x81,
                jack: 3,
                string_index: 0
            }]
        );
        assert_eq!(
            midi.outputs,
            vec![Cable {
                cable: 0,
                endpoint: 0x01,
                jack: 1,
                string_index: 0
            }]
        );
        assert!(midi.problems.is_empty(), "{:?}", midi.problems);
    }

    #[test]
    fn skips_the_device_descriptor_of_a_sysfs_blob() {
        let mut blob = vec![
            18, DT_DEVICE, 0x10, 0x01, 0, 0, 0, 64, 0xcc, 0x1a, 0x33, 0x15, 0x0b, 0, 1, 2, 3, 1,
        ];
        blob.extend(akm322());
        let midi = find_midi_interface(&parse_device_blob(&blob)).expect("MIDI interface");
        assert_eq!(midi.inputs.len(), 1);
    }

    #[test]
    fn several_cables_on_one_endpoint_with_interrupt_transfers() {
        let bytes = config(&[
            &interface(0, 1, 3, 2),
            &ms_header(),
            &in_jack(1, 1, 5),
            &in_jack(1, 2, 6),
            &out_jack(1, 3, 11, 7),
            &out_jack(1, 4, 12, 8),
            &in_jack(2, 11, 0),
            &in_jack(2, 12, 0),
            &endpoint(0x02, 3, &[1, 2]),
            &endpoint(0x82, 3, &[3, 4]),
        ]);
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        assert_eq!(midi.interface, 0);
        assert_eq!(midi.inputs.len(), 2);
        assert_eq!(midi.outputs.len(), 2);
        assert_eq!(midi.inputs[1].cable, 1);
        assert_eq!(midi.inputs[1].string_index, 8);
        assert_eq!(midi.outputs[0].string_index, 5);
        assert!(midi
            .endpoints
            .iter()
            .all(|e| e.transfer == TransferType::Interrupt));
    }

    #[test]
    fn midi_on_a_later_interface_beside_audio_streaming() {
        let bytes = config(&[
            &interface(0, 1, 1, 0),
            &interface(1, 1, 2, 0),
            &[9, DT_INTERFACE, 1, 1, 1, 1, 2, 0, 0],
            &[9, DT_ENDPOINT, 0x03, 0x05, 0xc8, 0, 1, 0, 0],
            &interface(3, 1, 3, 1),
            &ms_header(),
            &in_jack(2, 1, 0),
            &out_jack(1, 2, 1, 0),
            &endpoint(0x84, 2, &[2]),
        ]);
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        assert_eq!(midi.interface, 3);
        assert_eq!(midi.inputs.len(), 1);
        assert!(midi.outputs.is_empty(), "an IN-only device has no outputs");
    }

    #[test]
    fn vendor_specific_interface_with_ms_descriptors() {
        let bytes = config(&[
            &interface(0, 0xff, 0, 2),
            &ms_header(),
            &in_jack(1, 1, 0),
            &out_jack(1, 2, 1, 0),
            &endpoint(0x01, 2, &[1]),
            &endpoint(0x81, 2, &[2]),
        ]);
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        assert!(midi.vendor_specific);
        assert_eq!(midi.inputs.len() + midi.outputs.len(), 2);
    }

    #[test]
    fn vendor_specific_interface_without_ms_descriptors_is_not_midi() {
        let bytes = config(&[&interface(0, 0xff, 0, 0), &[5, CS_INTERFACE, 1, 0, 1]]);
        assert_eq!(find_midi_interface(&parse_configuration(&bytes)), None);
    }

    #[test]
    fn audio_control_header_is_not_taken_for_midi() {
        let bytes = config(&[
            &interface(0, 1, 1, 0),
            &[9, CS_INTERFACE, 1, 0, 1, 9, 0, 0, 0],
        ]);
        assert_eq!(find_midi_interface(&parse_configuration(&bytes)), None);
    }

    #[test]
    fn zero_length_descriptor_stops_parsing_with_a_problem() {
        let mut bytes = akm322();
        let end = bytes.len();
        bytes.extend([0, CS_INTERFACE, 0, 0]);
        bytes[2] = (end + 4) as u8;
        let parsed = parse_configuration(&bytes);
        assert!(
            parsed.problems[0].0.contains("bLength 0"),
            "{:?}",
            parsed.problems
        );
        assert!(
            find_midi_interface(&parsed).is_some(),
            "what came before is kept"
        );
    }

    #[test]
    fn descriptor_running_past_the_end_is_reported() {
        let mut bytes = akm322();
        bytes.extend([20, CS_INTERFACE, 2]);
        let total = bytes.len() as u16;
        bytes[2..4].copy_from_slice(&total.to_le_bytes());
        let parsed = parse_configuration(&bytes);
        assert!(
            parsed.problems[0].0.contains("only 3 remain"),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn ms_header_longer_than_what_follows_is_reported() {
        let mut bytes = akm322();
        let header = bytes
            .windows(3)
            .position(|w| w == [7, CS_INTERFACE, MS_HEADER])
            .unwrap();
        bytes[header + 5] = 0x80;
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        assert!(
            midi.problems[0].0.contains("128 bytes but only 65"),
            "{:?}",
            midi.problems
        );
    }

    #[test]
    fn truncated_configuration_is_reported() {
        let bytes = akm322();
        let parsed = parse_configuration(&bytes[..bytes.len() - 5]);
        assert!(!parsed.problems.is_empty());
    }

    #[test]
    fn jack_pointing_at_nothing_is_reported() {
        let bytes = config(&[
            &interface(0, 1, 3, 1),
            &ms_header(),
            &in_jack(2, 1, 0),
            &out_jack(1, 2, 9, 0),
            &endpoint(0x81, 2, &[2, 7]),
        ]);
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        let text: Vec<_> = midi.problems.iter().map(|p| p.0.as_str()).collect();
        assert!(text.iter().any(|p| p.contains("jack 9")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("jack 7")), "{text:?}");
    }

    #[test]
    fn short_jack_and_endpoint_descriptors_never_panic() {
        let bytes = config(&[
            &interface(0, 1, 3, 1),
            &[3, CS_INTERFACE, MIDI_IN_JACK],
            &[6, CS_INTERFACE, MIDI_OUT_JACK, 1, 2, 9],
            &[7, DT_ENDPOINT, 0x81, 2, 64, 0, 0],
            &[5, CS_ENDPOINT, MS_GENERAL, 4, 2],
        ]);
        let midi = find_midi_interface(&parse_configuration(&bytes)).expect("MIDI interface");
        assert!(midi.problems.len() >= 2, "{:?}", midi.problems);
    }

    #[test]
    fn every_prefix_of_a_valid_configuration_parses_without_panic() {
        let bytes = akm322();
        for end in 0..bytes.len() {
            let parsed = parse_configuration(&bytes[..end]);
            let _ = find_midi_interface(&parsed);
        }
    }
}

#[cfg(test)]
mod vendor_tests {
    use super::*;

    fn setting(
        subclass: u8,
        class_specific: Vec<Vec<u8>>,
        endpoints: Vec<RawEndpoint>,
    ) -> Configuration {
        Configuration {
            value: Some(1),
            max_power_ma: Some(100),
            interfaces: vec![InterfaceSetting {
                number: 0,
                alternate: 0,
                class: CLASS_VENDOR_SPECIFIC,
                subclass,
                protocol: 0,
                class_specific,
                endpoints,
            }],
            problems: Vec::new(),
        }
    }

    fn endpoint(address: u8, attributes: u8, class_specific: Vec<Vec<u8>>) -> RawEndpoint {
        RawEndpoint {
            length: 7,
            address,
            attributes,
            max_packet_size: 64,
            interval: 0,
            class_specific,
        }
    }

    #[test]
    fn a_vendor_audio_streaming_interface_is_not_taken_for_midi() {
        // AS_GENERAL: bTerminalLink 1, bDelay 1, wFormatTag PCM; an isochronous endpoint.
        let audio = setting(
            0x02,
            vec![vec![7, 0x24, 0x01, 0x01, 0x01, 0x01, 0x00]],
            vec![endpoint(0x81, 0x05, vec![vec![7, 0x25, 0x01, 0, 0, 0, 0]])],
        );
        assert_eq!(find_midi_interface(&audio), None);
    }

    #[test]
    fn a_vendor_interface_with_a_midi_header_and_jacks_is_midi() {
        let midi = setting(
            0x00,
            vec![
                vec![7, 0x24, 0x01, 0x00, 0x01, 0x19, 0x00],
                vec![6, 0x24, 0x02, 0x02, 0x01, 0x00],
                vec![9, 0x24, 0x03, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00],
            ],
            vec![endpoint(0x81, 0x02, vec![vec![5, 0x25, 0x01, 0x01, 0x02]])],
        );
        let found = find_midi_interface(&midi).expect("MIDI");
        assert!(found.vendor_specific);
        assert_eq!(found.inputs.len(), 1);
    }

    #[test]
    fn yamaha_style_bare_vendor_midi_gets_one_cable_per_endpoint() {
        let yamaha = setting(
            SUBCLASS_MIDI_STREAMING,
            Vec::new(),
            vec![
                endpoint(0x02, 0x02, Vec::new()),
                endpoint(0x81, 0x02, Vec::new()),
            ],
        );
        let found = find_midi_interface(&yamaha).expect("MIDI");
        assert_eq!(
            (found.inputs.len(), found.outputs.len()),
            (1, 1),
            "{found:?}"
        );
        assert_eq!((found.inputs[0].endpoint, found.inputs[0].cable), (0x81, 0));
        assert_eq!(found.outputs[0].endpoint, 0x02);
        // Not every vendor interface without descriptors is MIDI: subclass 0 is not.
        let other = setting(0x00, Vec::new(), vec![endpoint(0x81, 0x02, Vec::new())]);
        assert_eq!(find_midi_interface(&other), None);
    }
}
