//! Linux sysfs: identity, drivers and sound cards of a USB device, readable
//! without any permission on the device node and without a udev rule.

use std::fs;
use std::path::{Path, PathBuf};

const USB_DEVICES: &str = "/sys/bus/usb/devices";

/// What sysfs says about one USB device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysfsDevice {
    /// The device's directory, links resolved.
    pub path: PathBuf,
    /// `manufacturer` attribute.
    pub manufacturer: Option<String>,
    /// `product` attribute.
    pub product: Option<String>,
    /// `serial` attribute.
    pub serial: Option<String>,
    /// Raw device + configuration descriptors (`descriptors`).
    pub descriptors: Option<Vec<u8>>,
    /// The interfaces of the active configuration.
    pub interfaces: Vec<SysfsInterface>,
}

/// One interface directory (`1-1:1.0`) of a USB device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysfsInterface {
    /// `bInterfaceNumber`.
    pub number: u8,
    /// The kernel driver bound to it, e.g. `snd-usb-audio`.
    pub driver: Option<String>,
    /// ALSA card numbers created for it (`sound/cardN`).
    pub sound_cards: Vec<u32>,
}

/// Reads the device named like the kernel names it (`1-1.3`), or `None`
/// when sysfs does not have it.
pub fn read_device(name: &str) -> Option<SysfsDevice> {
    read_device_at(Path::new(USB_DEVICES), name)
}

fn read_device_at(root: &Path, name: &str) -> Option<SysfsDevice> {
    let link = root.join(name);
    let path = fs::canonicalize(&link).unwrap_or(link);
    if !path.is_dir() {
        return None;
    }
    let interface_prefix = format!("{name}:");
    let mut interfaces: Vec<SysfsInterface> = fs::read_dir(&path)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(&interface_prefix)
        })
        .filter_map(|entry| read_interface(&entry.path()))
        .collect();
    interfaces.sort_by_key(|i| i.number);
    Some(SysfsDevice {
        manufacturer: text_attribute(&path, "manufacturer"),
        product: text_attribute(&path, "product"),
        serial: text_attribute(&path, "serial"),
        descriptors: fs::read(path.join("descriptors")).ok(),
        interfaces,
        path,
    })
}

fn read_interface(path: &Path) -> Option<SysfsInterface> {
    let number = u8::from_str_radix(&text_attribute(path, "bInterfaceNumber")?, 16).ok()?;
    let driver = fs::read_link(path.join("driver"))
        .ok()
        .and_then(|target| target.file_name().map(|n| n.to_string_lossy().into_owned()));
    let mut sound_cards: Vec<u32> = fs::read_dir(path.join("sound"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .strip_prefix("card")?
                .parse()
                .ok()
        })
        .collect();
    sound_cards.sort_unstable();
    Some(SysfsInterface {
        number,
        driver,
        sound_cards,
    })
}

fn text_attribute(dir: &Path, name: &str) -> Option<String> {
    let text = fs::read_to_string(dir.join(name)).ok()?;
    let text = text.trim_end_matches(['\n', '\0']).trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_drivers_and_cards_from_a_sysfs_tree() {
        let root = std::env::temp_dir().join(format!("cp-sysfs-{}", std::process::id()));
        let device = root.join("1-1");
        let interface = device.join("1-1:1.1");
        fs::create_dir_all(interface.join("sound/card2")).unwrap();
        fs::create_dir_all(root.join("drivers/snd-usb-audio")).unwrap();
        fs::write(device.join("product"), "AKM322\n").unwrap();
        fs::write(device.join("manufacturer"), "MIDIPLUS\n").unwrap();
        fs::write(interface.join("bInterfaceNumber"), "01\n").unwrap();
        std::os::unix::fs::symlink(root.join("drivers/snd-usb-audio"), interface.join("driver"))
            .unwrap();

        let found = read_device_at(&root, "1-1").expect("device");
        assert_eq!(found.product.as_deref(), Some("AKM322"));
        assert_eq!(found.serial, None);
        assert_eq!(
            found.interfaces,
            vec![SysfsInterface {
                number: 1,
                driver: Some("snd-usb-audio".into()),
                sound_cards: vec![2]
            }]
        );
        assert!(read_device_at(&root, "1-2").is_none());
        fs::remove_dir_all(root).unwrap();
    }
}
