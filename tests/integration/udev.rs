//! The udev rule judged by udev itself: `udevadm test` on emulated devices
//! says whether a device gets the `uaccess` tag after a user follows the
//! advice `list` prints when access is denied. Needs root (as in CI): the
//! rules go into a private mount namespace, never into the machine's own
//! rules directories.

use crate::util::{probe, probe_as_nobody, running_as_root, Device, Report};
use std::process::Command;

/// The tags udev gives the device at `sysfs` (emulated from `fixture`)
/// once `install` has run: a command line from `list`'s advice, run as root
/// (`sudo` does nothing more) with `composer-probe` on the PATH, in a mount
/// namespace whose `/etc/udev/rules.d` and `/run` start empty. The
/// system's own rules (`/usr/lib/udev/rules.d`, where `uaccess` is
/// acted on) stay in place.
fn tags_after(fixture: &str, sysfs: &str, install: &str) -> Vec<String> {
    let script = r#"set -e
mkdir -p /etc/udev/rules.d
mount -t tmpfs composer-probe-test /etc/udev/rules.d
mount -t tmpfs composer-probe-test /run
sudo() { "$@"; }
eval "$INSTALL" >/dev/null
umockdev-run -d "$FIXTURE" -- udevadm test --resolve-names=never "$DEVICE" 2>&1
"#;
    let binary_dir = std::path::Path::new(env!("CARGO_BIN_EXE_composer-probe"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("INSTALL", install)
        .env("FIXTURE", crate::util::fixture(fixture))
        .env("DEVICE", sysfs)
        .env("PATH", path)
        .output()
        .expect("unshare (util-linux), umockdev-run and udevadm are installed");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "udevadm test failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tags = text
        .lines()
        .find_map(|line| line.strip_prefix("TAGS="))
        .unwrap_or_else(|| panic!("udevadm test printed no TAGS line:\n{text}"));
    tags.split(':')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What `list --json` says about every device of `fixture` to a user who
/// may not open any USB device node (as before any udev rule).
fn advice_without_access(fixture: &str) -> Report {
    probe_as_nobody(
        fixture,
        "chmod 444 \"$UMOCKDEV_DIR\"/dev/bus/usb/*/* && \"$PROBE\" list --json",
    )
    .report()
}

/// The shipped rule, installed as the README says.
const SHIPPED_RULE: &str =
    "composer-probe udev-rule | sudo tee /etc/udev/rules.d/60-composer-probe.rules";

fn skip_unless_root() -> bool {
    if running_as_root() {
        return false;
    }
    eprintln!("skipped: needs root for a private mount namespace (unshare) around udevadm test");
    true
}

fn sysfs(device: &Device) -> &str {
    device
        .sysfs_path
        .as_deref()
        .expect("an emulated device has a sysfs path")
}

#[test]
fn every_midi_device_gets_uaccess_by_following_lists_advice() {
    if skip_unless_root() {
        return;
    }
    // Class-compliant keyboards, a vendor-class MIDI interface with MIDI
    // Streaming descriptors (ff/00, which no udev match can tell from any
    // other vendor device) and a Yamaha-style one (ff/03, no descriptors).
    for fixture in [
        "akm322.umockdev",
        "keystation.umockdev",
        "multicable.umockdev",
        "audio-midi-if3.umockdev",
        "in-only.umockdev",
        "vendor-midi.umockdev",
        "vendor-midi-bare.umockdev",
    ] {
        let report = advice_without_access(fixture);
        let [device] = &report.devices[..] else {
            panic!("{fixture}: one MIDI device expected: {:#?}", report.devices);
        };
        assert_eq!(device.status, "no_permission", "{fixture}: {device:#?}");
        let [install, reload, trigger] = &device.fix[..] else {
            panic!("{fixture}: three commands expected: {:?}", device.fix);
        };
        assert_eq!(reload, "sudo udevadm control --reload-rules", "{fixture}");
        assert_eq!(
            trigger, "sudo udevadm trigger --subsystem-match=usb",
            "{fixture}"
        );
        let tags = tags_after(fixture, sysfs(device), install);
        assert!(
            tags.contains(&"uaccess".to_owned()),
            "{fixture}: after `{install}` udev tags it {tags:?}"
        );
        // The advice points at the shipped rule exactly when that rule
        // covers the device; otherwise it is a rule for this device alone.
        let shipped_covers =
            tags_after(fixture, sysfs(device), SHIPPED_RULE).contains(&"uaccess".to_owned());
        assert_eq!(
            install == SHIPPED_RULE,
            shipped_covers,
            "{fixture}: advice `{install}`, shipped rule covers it: {shipped_covers}"
        );
    }
}

#[test]
fn vendor_class_midi_without_the_midi_subclass_gets_a_rule_for_that_device_only() {
    if skip_unless_root() {
        return;
    }
    let report = advice_without_access("vendor-midi.umockdev");
    let device = &report.devices[0];
    assert_eq!(
        device.fix[0],
        "echo 'SUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", ATTR{idVendor}==\"0582\", \
         ATTR{idProduct}==\"01ff\", TAG+=\"uaccess\"' \
         | sudo tee /etc/udev/rules.d/60-composer-probe-0582-01ff.rules"
    );
    // The shipped rule alone leaves it locked: that is why it gets its own.
    let tags = tags_after("vendor-midi.umockdev", sysfs(device), SHIPPED_RULE);
    assert!(!tags.contains(&"uaccess".to_owned()), "{tags:?}");
}

#[test]
fn vendor_class_devices_that_are_not_midi_stay_locked() {
    if skip_unless_root() {
        return;
    }
    // A USB serial adapter (vendor class ff/ff/ff with bulk endpoints, like
    // many vendor MIDI devices) and a mouse: the rules grant them nothing.
    for fixture in ["vendor-serial.umockdev", "mouse.umockdev"] {
        let report = probe(&[fixture], &["list", "--all", "--json"]).report();
        let other = report
            .devices
            .iter()
            .find(|d| d.vendor_id != 0x1d6b)
            .expect("the device is listed with --all");
        assert_eq!(other.status, "not_midi", "{fixture}");
        let tags = tags_after(fixture, sysfs(other), SHIPPED_RULE);
        assert!(
            !tags.contains(&"uaccess".to_owned()),
            "{fixture}: the shipped rule tags it {tags:?}"
        );
    }
}
