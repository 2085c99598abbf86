//! composer-probe: find, hear and record USB MIDI keyboards.
//!
//! Data flows one way: [`usb`] finds devices and parses their descriptors,
//! [`ports`] finds the operating system's MIDI ports, and [`list`] joins the
//! two into the report users see. [`devices`] holds what we know about
//! particular models (the AWS DeepComposer keyboard).
pub mod cli;
pub mod devices;
pub mod list;
pub mod ports;
pub mod usb;
