//! Fuzz the USB-MIDI 1.0 packet decoder: any input, fed as one transfer and
//! again split into transfers at fuzzer-chosen points, must never panic,
//! and every SysEx handed out must start with F0 and stay within the cap.
#![no_main]

use composer_probe::decode::usb_midi::UsbMidiDecoder;
use composer_probe::decode::Message;
use libfuzzer_sys::fuzz_target;

/// A small cap, so the fuzzer reaches truncation quickly.
const CAP: usize = 16;

fn check(message: &Message<'_>) {
    if let Message::SysEx { data, .. } = message {
        assert!(data.len() <= CAP);
        assert_eq!(data.first(), Some(&0xF0));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut whole = UsbMidiDecoder::with_sysex_cap(CAP);
    let mut count = 0u64;
    whole.feed(data, |_cable, message| {
        check(&message);
        count += 1;
    });
    assert_eq!(whole.stats().messages, count);

    // First byte picks the transfer size (in packets), as a device's
    // endpoint would: splitting on packet boundaries changes nothing.
    if let Some((&size, rest)) = data.split_first() {
        let transfer = 4 * (usize::from(size % 16) + 1);
        let mut split = UsbMidiDecoder::with_sysex_cap(CAP);
        for chunk in rest.chunks(transfer) {
            split.feed(chunk, |_cable, message| check(&message));
        }
    }
});
