//! The synth's view of a MIDI message: which decoded messages the engine
//! acts on, as a conversion into [`SynthEvent`].

use super::SynthEvent;
use crate::decode::message::{ChannelMessage, EventMessage};

impl SynthEvent {
    /// The synth's view of a MIDI message, if it has one (channel voice
    /// messages other than key and channel pressure).
    pub fn from_midi(message: &EventMessage) -> Option<Self> {
        let EventMessage::Channel { channel, message } = message else {
            return None;
        };
        let channel = channel.as_int();
        Some(match *message {
            ChannelMessage::NoteOn { key, vel } => SynthEvent::NoteOn {
                channel,
                key: key.as_int(),
                velocity: vel.as_int(),
            },
            ChannelMessage::NoteOff { key, .. } => SynthEvent::NoteOff {
                channel,
                key: key.as_int(),
            },
            ChannelMessage::Controller { controller, value } => SynthEvent::Control {
                channel,
                controller: controller.as_int(),
                value: value.as_int(),
            },
            ChannelMessage::PitchBend { bend } => SynthEvent::PitchBend {
                channel,
                value: bend.0.as_int(),
            },
            ChannelMessage::ProgramChange { program } => SynthEvent::ProgramChange {
                channel,
                program: program.as_int(),
            },
            ChannelMessage::Aftertouch { .. } | ChannelMessage::ChannelAftertouch { .. } => {
                return None
            }
        })
    }

    /// True for a Note On that starts a note (velocity above 0).
    pub fn starts_note(&self) -> bool {
        matches!(self, SynthEvent::NoteOn { velocity, .. } if *velocity > 0)
    }
}
