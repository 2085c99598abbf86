//! composer-probe: find, hear and record USB MIDI keyboards.
pub mod usb;
