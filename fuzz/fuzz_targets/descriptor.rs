//! Fuzz the USB descriptor parser: any bytes, read as a sysfs `descriptors`
//! blob and as a bare configuration, must parse without panicking, and the
//! MIDI Streaming model built from the result must be self-consistent.
#![no_main]

use composer_probe::usb::descriptor::{
    find_midi_interface, parse_configuration, parse_device_blob, Configuration, Direction,
};
use libfuzzer_sys::fuzz_target;

fn check(config: &Configuration) {
    // Problems are shown to the user: formatting them must not panic.
    for problem in &config.problems {
        let _ = problem.to_string();
    }
    let Some(midi) = find_midi_interface(config) else {
        return;
    };
    // The model comes from one of the parsed settings.
    assert!(config
        .interfaces
        .iter()
        .any(|s| s.number == midi.interface && s.alternate == midi.alternate));
    // Every jack an endpoint lists becomes exactly one cable on its side.
    let mut ins = 0;
    let mut outs = 0;
    for endpoint in &midi.endpoints {
        assert!(endpoint.max_packet_size <= 0x07ff);
        match endpoint.direction {
            Direction::In => ins += endpoint.jacks.len(),
            Direction::Out => outs += endpoint.jacks.len(),
        }
    }
    assert_eq!(midi.inputs.len(), ins);
    assert_eq!(midi.outputs.len(), outs);
    for problem in &midi.problems {
        let _ = problem.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    check(&parse_device_blob(data));
    check(&parse_configuration(data));
});
