//! Fuzz the Standard MIDI File reader (`input::file::parse`: midly, the
//! End-of-Track check, tick-to-microsecond conversion across tempo changes)
//! and then the byte-stream decoder on every event it returns, as a file
//! replay does. Must never panic; event times must never go backwards.
//! (midly 0.5.3's overflow on an SMPTE division of -128 fps is refused by
//! `parse` before midly sees it; `tests/fuzz_regressions.rs` pins it.)
#![no_main]

use composer_probe::decode::bytes::ByteStreamDecoder;
use composer_probe::input::file::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(events) = parse(data) else {
        return;
    };
    let mut decoder = ByteStreamDecoder::new();
    let mut last_us = 0;
    for event in &events {
        assert!(
            event.t_us >= last_us,
            "event times go backwards: {} after {last_us}",
            event.t_us
        );
        last_us = event.t_us;
        decoder.feed(&event.bytes, |_message| {});
    }
});
