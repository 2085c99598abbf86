//! The note tracker: what is held, sustained and set on every channel, and
//! transport button presses. The input stream keeps the one tracker of a
//! session and hands each event on with its meaning; the terminal view, the
//! recorder's stop rule and the SMF writer read tracker state instead of
//! keeping their own.

use super::message::{u4, u7, ChannelMessage, EventMessage};
use crate::devices::{KnownDevice, TransportControls};

/// Controller number of the sustain pedal.
pub const SUSTAIN_PEDAL: u8 = 64;

/// A transport button press (edge-triggered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// ▶
    Play,
    /// ■
    Stop,
    /// ●
    Record,
}

/// State of one MIDI channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    /// Velocity of each key that is physically down (0 = up).
    held: [u8; 128],
    /// Keys released while the pedal was down: still sounding.
    sustained: [bool; 128],
    /// Last value of every controller.
    pub controllers: [u8; 128],
    /// Pitch bend, raw 14-bit (8192 = centre).
    pub pitch_bend: u16,
    /// Last program change.
    pub program: u8,
    /// Last channel pressure.
    pub pressure: u8,
}

impl Default for ChannelState {
    fn default() -> Self {
        ChannelState {
            held: [0; 128],
            sustained: [false; 128],
            controllers: [0; 128],
            pitch_bend: 8192,
            program: 0,
            pressure: 0,
        }
    }
}

impl ChannelState {
    /// True while the sustain pedal is down (value ≥ 64).
    pub fn sustain(&self) -> bool {
        self.controllers[usize::from(SUSTAIN_PEDAL)] >= 64
    }

    /// Velocity of a key that is physically held, if it is.
    pub fn held_velocity(&self, key: u8) -> Option<u8> {
        let velocity = *self.held.get(usize::from(key))?;
        (velocity > 0).then_some(velocity)
    }

    /// True when a key was released but the pedal keeps it sounding.
    pub fn is_sustained(&self, key: u8) -> bool {
        self.sustained
            .get(usize::from(key))
            .copied()
            .unwrap_or(false)
    }

    /// Keys physically held, lowest first.
    pub fn held_keys(&self) -> impl Iterator<Item = u8> + '_ {
        (0u8..128).filter(|k| self.held[usize::from(*k)] > 0)
    }

    /// Keys sounding only because of the pedal, lowest first.
    pub fn sustained_keys(&self) -> impl Iterator<Item = u8> + '_ {
        (0u8..128).filter(|k| self.sustained[usize::from(*k)])
    }
}

/// Keeps the state of all 16 channels of one source, and turns the
/// source's transport controllers into button presses.
#[derive(Debug, Clone)]
pub struct NoteTracker {
    channels: Box<[ChannelState; 16]>,
    transport: Option<TransportControls>,
}

impl NoteTracker {
    /// A tracker for a source; `device` names its transport buttons, if any.
    pub fn new(device: Option<&KnownDevice>) -> Self {
        NoteTracker {
            channels: Box::default(),
            transport: device.and_then(|d| d.transport),
        }
    }

    /// State of a channel (0–15).
    pub fn channel(&self, channel: u4) -> &ChannelState {
        &self.channels[usize::from(channel.as_int())]
    }

    /// Applies one channel message; returns a transport press when the
    /// message is one. Play and Record send only 127 (never a release), so
    /// every value ≥ 64 is a press; Stop sends 127/0 and presses on the
    /// rising edge.
    pub fn apply(&mut self, channel: u4, message: &ChannelMessage) -> Option<Transport> {
        let state = &mut self.channels[usize::from(channel.as_int())];
        match *message {
            ChannelMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                let key = usize::from(key.as_int());
                state.held[key] = vel.as_int();
                state.sustained[key] = false;
            }
            ChannelMessage::NoteOn { key, .. } | ChannelMessage::NoteOff { key, .. } => {
                let key = usize::from(key.as_int());
                if state.held[key] > 0 && state.sustain() {
                    state.sustained[key] = true;
                }
                state.held[key] = 0;
            }
            ChannelMessage::Controller { controller, value } => {
                let number = controller.as_int();
                let previous = state.controllers[usize::from(number)];
                state.controllers[usize::from(number)] = value.as_int();
                if number == SUSTAIN_PEDAL && value.as_int() < 64 {
                    state.sustained = [false; 128];
                }
                return self.transport_press(number, previous, value.as_int());
            }
            ChannelMessage::PitchBend { bend } => state.pitch_bend = bend.0.as_int(),
            ChannelMessage::ProgramChange { program } => state.program = program.as_int(),
            ChannelMessage::ChannelAftertouch { vel } => state.pressure = vel.as_int(),
            ChannelMessage::Aftertouch { .. } => {}
        }
        None
    }

    /// Applies any message: channel messages change the state (see
    /// [`NoteTracker::apply`]); others mean nothing to it.
    pub fn track(&mut self, message: &EventMessage) -> Option<Transport> {
        match message {
            EventMessage::Channel { channel, message } => self.apply(*channel, message),
            _ => None,
        }
    }

    /// Copies one channel's state from `other` (a view showing what the
    /// stream's tracker says).
    pub fn mirror(&mut self, channel: u4, other: &NoteTracker) {
        let index = usize::from(channel.as_int());
        self.channels[index].clone_from(&other.channels[index]);
    }

    /// What releases everything held, channel by channel: a Note Off for
    /// every key down, then a sustain release where the pedal is down.
    pub fn releases(&self) -> Vec<(u4, ChannelMessage)> {
        let mut found = Vec::new();
        for channel in (0u8..16).map(u4::new) {
            let state = self.channel(channel);
            for key in state.held_keys() {
                let (key, vel) = (u7::new(key), u7::new(0));
                found.push((channel, ChannelMessage::NoteOff { key, vel }));
            }
            if state.sustain() {
                let (controller, value) = (u7::new(SUSTAIN_PEDAL), u7::new(0));
                found.push((channel, ChannelMessage::Controller { controller, value }));
            }
        }
        found
    }

    /// True when no note is held or sustained and no sustain pedal is down.
    pub fn all_released(&self) -> bool {
        self.channels.iter().all(|state| {
            !state.sustain()
                && state.held_keys().next().is_none()
                && state.sustained_keys().next().is_none()
        })
    }

    fn transport_press(&self, controller: u8, previous: u8, value: u8) -> Option<Transport> {
        let map = self.transport?;
        if value < 64 {
            return None;
        }
        if controller == map.play {
            Some(Transport::Play)
        } else if controller == map.record {
            Some(Transport::Record)
        } else if controller == map.stop && previous < 64 {
            Some(Transport::Stop)
        } else {
            None
        }
    }

    /// Every (channel, key) that sounds: held or sustained.
    pub fn sounding(&self) -> Vec<(u4, u8)> {
        let mut found = Vec::new();
        for (channel, state) in self.channels.iter().enumerate() {
            let channel = u4::new(channel as u8);
            for key in 0u8..128 {
                if state.held[usize::from(key)] > 0 || state.sustained[usize::from(key)] {
                    found.push((channel, key));
                }
            }
        }
        found
    }

    /// Channels whose sustain pedal is down.
    pub fn pedals_down(&self) -> Vec<u4> {
        (0u8..16)
            .map(u4::new)
            .filter(|c| self.channel(*c).sustain())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::message::{u14, u7, PitchBend};
    use crate::devices::DEEPCOMPOSER;

    fn ch() -> u4 {
        u4::new(0)
    }
    fn on(key: u8, vel: u8) -> ChannelMessage {
        ChannelMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(vel),
        }
    }
    fn off(key: u8) -> ChannelMessage {
        ChannelMessage::NoteOff {
            key: u7::new(key),
            vel: u7::new(0),
        }
    }
    fn cc(controller: u8, value: u8) -> ChannelMessage {
        ChannelMessage::Controller {
            controller: u7::new(controller),
            value: u7::new(value),
        }
    }

    #[test]
    fn notes_are_held_until_released() {
        let mut tracker = NoteTracker::new(None);
        tracker.apply(ch(), &on(60, 100));
        tracker.apply(ch(), &on(64, 90));
        assert_eq!(tracker.channel(ch()).held_velocity(60), Some(100));
        tracker.apply(ch(), &off(60));
        assert_eq!(tracker.channel(ch()).held_velocity(60), None);
        assert_eq!(tracker.sounding(), vec![(ch(), 64)]);
        tracker.apply(ch(), &on(64, 0));
        assert!(tracker.sounding().is_empty(), "note on velocity 0 releases");
    }

    #[test]
    fn the_pedal_keeps_released_notes_until_it_lifts() {
        let mut tracker = NoteTracker::new(None);
        tracker.apply(ch(), &on(60, 100));
        tracker.apply(ch(), &cc(64, 127));
        tracker.apply(ch(), &off(60));
        assert!(tracker.channel(ch()).is_sustained(60));
        assert_eq!(tracker.sounding(), vec![(ch(), 60)]);
        assert_eq!(tracker.pedals_down(), vec![ch()]);
        tracker.apply(ch(), &on(60, 80));
        assert!(
            !tracker.channel(ch()).is_sustained(60),
            "struck again: held, not sustained"
        );
        tracker.apply(ch(), &off(60));
        assert!(!tracker.all_released(), "the pedal is still down");
        tracker.apply(ch(), &cc(64, 0));
        assert!(tracker.sounding().is_empty());
        assert!(tracker.all_released());
    }

    #[test]
    fn releases_lift_every_held_key_and_pedal() {
        let mut tracker = NoteTracker::new(None);
        tracker.apply(ch(), &on(60, 100));
        tracker.apply(u4::new(3), &on(64, 90));
        tracker.apply(ch(), &cc(64, 127));
        let releases = tracker.releases();
        assert_eq!(
            releases,
            vec![(ch(), off(60)), (ch(), cc(64, 0)), (u4::new(3), off(64))]
        );
        for (channel, message) in &releases {
            tracker.apply(*channel, message);
        }
        assert!(tracker.all_released());
    }

    #[test]
    fn controllers_bend_and_program_are_kept() {
        let mut tracker = NoteTracker::new(None);
        tracker.apply(ch(), &cc(21, 64));
        tracker.apply(
            ch(),
            &ChannelMessage::PitchBend {
                bend: PitchBend(u14::new(12000)),
            },
        );
        tracker.apply(
            ch(),
            &ChannelMessage::ProgramChange {
                program: u7::new(5),
            },
        );
        let state = tracker.channel(ch());
        assert_eq!(state.controllers[21], 64);
        assert_eq!(state.pitch_bend, 12000);
        assert_eq!(state.program, 5);
        assert_eq!(tracker.channel(u4::new(1)).pitch_bend, 8192);
    }

    #[test]
    fn deepcomposer_transport_buttons_are_edge_triggered_presses() {
        let mut tracker = NoteTracker::new(Some(&DEEPCOMPOSER));
        assert_eq!(tracker.apply(ch(), &cc(107, 127)), Some(Transport::Record));
        assert_eq!(
            tracker.apply(ch(), &cc(107, 127)),
            Some(Transport::Record),
            "● sends only 127: every one is a press"
        );
        assert_eq!(tracker.apply(ch(), &cc(105, 127)), Some(Transport::Play));
        assert_eq!(tracker.apply(ch(), &cc(106, 127)), Some(Transport::Stop));
        assert_eq!(
            tracker.apply(ch(), &cc(106, 127)),
            None,
            "■ held: no second press"
        );
        assert_eq!(tracker.apply(ch(), &cc(106, 0)), None);
        assert_eq!(tracker.apply(ch(), &cc(106, 127)), Some(Transport::Stop));
        assert_eq!(
            NoteTracker::new(None).apply(ch(), &cc(105, 127)),
            None,
            "other keyboards: just a CC"
        );
    }
}
