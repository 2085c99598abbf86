//! What we know about particular keyboards, beyond what their descriptors say.
//!
//! The only entry today is the AWS DeepComposer keyboard (a rebadged Midiplus
//! AKM322); facts come from `shared/devices/akm322.md`. Everything not listed
//! here is read from the device at run time.

use serde::Serialize;

/// A panel control and the MIDI message it sends (channel 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PanelControl {
    /// The name printed on the panel, e.g. "Knob 1".
    pub name: &'static str,
    /// What it sends, e.g. "CC 21".
    pub message: &'static str,
    /// The controller number for control changes; `None` for pitch bend.
    pub controller: Option<u8>,
}

/// A device we recognise by vendor and product id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KnownDevice {
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// The name users know it by.
    pub name: &'static str,
    /// Number of keys.
    pub keys: u8,
    /// Lowest and highest note at the default octave (MIDI note numbers).
    pub default_range: (u8, u8),
    /// Panel controls and what they send.
    pub controls: &'static [PanelControl],
    /// Controllers of the transport buttons, when the device has them.
    pub transport: Option<TransportControls>,
}

/// Controller numbers of a keyboard's transport buttons (▶ ■ ●).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TransportControls {
    /// ▶ Play: sends 127 on press, never a release.
    pub play: u8,
    /// ■ Stop: sends 127 on press and 0 on release.
    pub stop: u8,
    /// ● Record: sends 127 on press, never a release.
    pub record: u8,
}

impl KnownDevice {
    /// The panel name of a controller, e.g. `Knob 1` for CC 21.
    pub fn control_name(&self, controller: u8) -> Option<&'static str> {
        self.controls
            .iter()
            .find(|c| c.controller == Some(controller))
            .map(|c| c.name)
    }
}

const fn cc(name: &'static str, message: &'static str, controller: u8) -> PanelControl {
    PanelControl {
        name,
        message,
        controller: Some(controller),
    }
}

/// The AWS DeepComposer keyboard's panel, as it reaches the computer.
pub const DEEPCOMPOSER_CONTROLS: &[PanelControl] = &[
    PanelControl {
        name: "Pitch",
        message: "pitch bend",
        controller: None,
    },
    cc("Modulation", "CC 1", 1),
    cc("Volume", "CC 7", 7),
    cc("Encoder", "CC 10", 10),
    cc("Knob 1", "CC 21", 21),
    cc("Knob 2", "CC 22", 22),
    cc("Knob 3", "CC 23", 23),
    cc("Set+Reverb", "CC 91", 91),
    cc("Play", "CC 105", 105),
    cc("Stop", "CC 106", 106),
    cc("Record", "CC 107", 107),
];

/// The AWS DeepComposer keyboard (Midiplus AKM322).
pub const DEEPCOMPOSER: KnownDevice = KnownDevice {
    vendor_id: 0x1acc,
    product_id: 0x1533,
    name: "AWS DeepComposer keyboard (Midiplus AKM322)",
    keys: 32,
    default_range: (41, 72),
    controls: DEEPCOMPOSER_CONTROLS,
    transport: Some(TransportControls {
        play: 105,
        stop: 106,
        record: 107,
    }),
};

const KNOWN: &[KnownDevice] = &[DEEPCOMPOSER];

/// Looks a device up by its USB ids.
pub fn lookup(vendor_id: u16, product_id: u16) -> Option<&'static KnownDevice> {
    KNOWN
        .iter()
        .find(|d| d.vendor_id == vendor_id && d.product_id == product_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepcomposer_is_known_by_its_ids_only() {
        let found = lookup(0x1acc, 0x1533).expect("DeepComposer");
        assert_eq!(found.keys, 32);
        assert_eq!(found.default_range, (41, 72));
        assert!(lookup(0x1acc, 0x1534).is_none());
        assert_eq!(found.control_name(21), Some("Knob 1"));
        assert_eq!(found.control_name(10), Some("Encoder"));
        assert_eq!(found.control_name(64), None);
    }
}
