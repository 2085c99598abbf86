//! composer-probe: find, hear and record USB MIDI keyboards.
//!
//! Data flows one way: [`usb`] finds devices and parses their descriptors,
//! [`ports`] finds the operating system's MIDI ports, [`inventory`] joins
//! the two and assesses each device, and [`list`] presents it. [`input`] turns a source (system port,
//! direct USB, a MIDI file, the computer keyboard) into one stream of
//! events, decoded by [`decode`] (the place to look for anything MIDI);
//! [`monitor`] prints them. [`devices`] holds what we know about particular
//! models (the AWS DeepComposer keyboard).
pub mod audio;
pub mod cli;
pub mod clock;
pub mod decode;
pub mod devices;
pub(crate) mod error;
pub mod input;
pub mod inventory;
pub mod list;
pub mod monitor;
pub mod ports;
pub mod record;
pub mod render;
pub mod session;
pub mod synth;
pub(crate) mod terminal;
pub(crate) mod tui;
pub mod usb;
