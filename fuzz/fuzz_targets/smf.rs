//! Fuzz the Standard MIDI File reader (`record::read::parse`: midly, the
//! End-of-Track check, tick-to-microsecond conversion across tempo changes,
//! the byte-stream decoder on SysEx and escaped bytes). Must never panic; event times must never go backwards.
//! (midly 0.5.3's overflow on an SMPTE division of -128 fps is refused by
//! `parse` before midly sees it; `tests/fuzz_regressions.rs` pins it.)
#![no_main]

use composer_probe::record::read::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(events) = parse(data) else {
        return;
    };
    let mut last_us = 0;
    for event in &events {
        assert!(
            event.t_us >= last_us,
            "event times go backwards: {} after {last_us}",
            event.t_us
        );
        last_us = event.t_us;
    }
});
