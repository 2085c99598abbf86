//! Fuzz the MIDI 1.0 byte-stream decoder: any input, fed whole and then one
//! byte at a time through `push`, must never panic, and every SysEx handed
//! out must start with F0 and stay within the cap.
#![no_main]

use composer_probe::decode::bytes::ByteStreamDecoder;
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
    let mut whole = ByteStreamDecoder::with_sysex_cap(CAP);
    let mut count = 0u64;
    whole.feed(data, |message| {
        check(&message);
        count += 1;
    });
    assert_eq!(whole.stats().messages, count);

    let mut bytewise = ByteStreamDecoder::with_sysex_cap(CAP);
    let mut bytewise_count = 0u64;
    for &byte in data {
        if let Some(message) = bytewise.push(byte) {
            check(&message);
            bytewise_count += 1;
        }
        if let Some(message) = bytewise.take_pending() {
            check(&message);
            bytewise_count += 1;
        }
    }
    assert_eq!(bytewise.stats(), whole.stats());
    assert_eq!(bytewise_count, count);
});
