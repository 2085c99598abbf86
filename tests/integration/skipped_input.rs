//! Damaged input said at the end of a session without the terminal view
//! (`record`, `play --no-tui`): what the decoders skipped or cut short goes
//! to standard error with the other closing words. (`monitor` prints it as
//! its last line, see `monitor.rs`; the view shows it on its status line,
//! see `tui.rs`.)

use crate::sound::scratch;
use crate::util::{fixture, probe_stream};

#[test]
fn record_without_the_view_says_what_it_skipped_at_the_end() {
    let dir = scratch("skipped-input");
    let take = dir.join("take.mid");
    let run = probe_stream(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        &fixture("streams/akm322-malformed.ioctl"),
        &["record", "--usb", take.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "\ncomposer-probe: input problems: 3 malformed USB-MIDI packets skipped, \
             1 SysEx message cut short\n"
        ),
        "{}",
        run.stderr
    );
    assert!(take.exists(), "the take is kept: {}", run.stderr);

    // Clean input: not a word about it.
    let run = probe_stream(
        "akm322.umockdev",
        "/dev/bus/usb/001/005",
        &fixture("streams/akm322-unplug.ioctl"),
        &["record", "--usb", dir.join("clean.mid").to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("input problems"), "{}", run.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}
