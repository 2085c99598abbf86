//! The take in memory: every recorded event with its stream time, and the
//! rules for where the take's time zero is. Used both while recording and
//! when replaying a journal, so a recovered take starts where the live one
//! would have.

use super::{is_note_start, RecordOptions};
use crate::decode::message::{u7, ChannelMessage};
use crate::input::event::EventMessage;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timed {
    /// Stream clock, µs.
    pub t_us: u64,
    /// The message (Note On velocity 0 already a Note Off).
    pub message: EventMessage,
}

/// A take being recorded (or replayed from a journal).
#[derive(Debug, Clone)]
pub(crate) struct Take {
    keep_leading_silence: bool,
    zero_us: Option<u64>,
    note_seen: bool,
    mark_seen: bool,
    /// The latest time the take is known to have run to.
    last_us: u64,
    /// The longest a take can run from its time zero (see
    /// `smf::max_span_us`).
    span_us: u64,
    /// Events refused because they came after that.
    pub too_late: usize,
    /// Everything recorded, in arrival order.
    pub events: Vec<Timed>,
}

impl Take {
    /// An empty take begun at `start_us` (time zero there with
    /// `keep_leading_silence`, otherwise at the first note or mark).
    pub fn new(start_us: u64, options: &RecordOptions) -> Self {
        let keep_leading_silence = options.keep_leading_silence;
        Take {
            keep_leading_silence,
            zero_us: keep_leading_silence.then_some(start_us),
            note_seen: false,
            mark_seen: false,
            last_us: start_us,
            span_us: super::smf::max_span_us(options),
            too_late: 0,
            events: Vec::new(),
        }
    }

    /// Adds an event; the first Note On sets time zero unless a mark or
    /// `keep_leading_silence` set it already. An event after the longest a
    /// take can run is refused (false) and counted in `too_late`: no time
    /// gap, and so no file, grows without bound.
    pub fn push(&mut self, t_us: u64, message: EventMessage) -> bool {
        if self.is_too_late(t_us) {
            self.too_late += 1;
            return false;
        }
        if !self.note_seen && is_note_start(&message) {
            self.note_seen = true;
            if !self.mark_seen && !self.keep_leading_silence {
                self.zero_us = Some(t_us);
            }
        }
        self.seen(t_us);
        self.events.push(Timed { t_us, message });
        true
    }

    /// `t_us` is past the longest a take can run from its time zero
    /// (never before time zero is known: earlier events go at its start).
    pub fn is_too_late(&self, t_us: u64) -> bool {
        self.zero_us
            .is_some_and(|zero| t_us.saturating_sub(zero) > self.span_us)
    }

    /// The longest this take can run from its time zero, µs.
    pub fn span_us(&self) -> u64 {
        self.span_us
    }

    /// A Record-button mark: time zero moves to `t_us` unless a note has
    /// been recorded. Returns whether it counted.
    pub fn mark(&mut self, t_us: u64) -> bool {
        if self.note_seen {
            return false;
        }
        self.mark_seen = true;
        self.zero_us = Some(t_us);
        self.seen(t_us);
        true
    }

    /// The take ran at least until `t_us` (ignored past its longest).
    pub fn seen(&mut self, t_us: u64) {
        if !self.is_too_late(t_us) {
            self.last_us = self.last_us.max(t_us);
        }
    }

    /// Time zero on the stream clock, once known.
    pub fn zero_us(&self) -> Option<u64> {
        self.zero_us
    }

    /// A note or a mark has been seen.
    pub fn started(&self) -> bool {
        self.note_seen || self.mark_seen
    }

    /// The latest time the take is known to have run to (start, events,
    /// marks, journal heartbeats).
    pub fn last_us(&self) -> u64 {
        self.last_us
    }
}

/// Note On velocity 0 becomes Note Off velocity 0; everything else as is.
pub(crate) fn normalize(message: EventMessage) -> EventMessage {
    match message {
        EventMessage::Channel {
            channel,
            message: ChannelMessage::NoteOn { key, vel },
        } if vel.as_int() == 0 => EventMessage::Channel {
            channel,
            message: ChannelMessage::NoteOff {
                key,
                vel: u7::new(0),
            },
        },
        other => other,
    }
}
