//! The note decoder stage: everything MIDI lives here.
//!
//! - [`message`]: the decoded message type both decoders produce, and its
//!   owned copy [`EventMessage`].
//! - [`bytes`]: MIDI 1.0 byte streams (running status, real-time bytes
//!   anywhere, SysEx with a cap), as system ports and files deliver them.
//! - [`usb_midi`]: USB-MIDI 1.0 event packets, as the USB endpoint delivers them.
//! - [`format`]: the words for a decoded event (text lines and JSON).
//! - [`names`] and [`tracker`]: note and panel names, and what is held.
//!
//! Both decoders are pure: no I/O, no panics, no allocation per message.
pub mod bytes;
pub(crate) mod format;
pub use format::counted;
pub mod message;
pub mod names;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tracker;
pub mod usb_midi;

pub use message::{ChannelMessage, DecodeStats, EventMessage, Message, MidiEvent, SystemCommon};
