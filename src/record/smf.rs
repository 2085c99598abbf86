//! Turning a take into Standard MIDI File bytes (written by midly): time
//! zero and tick conversion, closing what is still sounding, the 8-bar
//! DeepComposer cut, and the format 0 / format 1 track layout.

use super::take::Take;
use super::{RecordOptions, TakeSummary};
use crate::decode::message::{u4, ChannelMessage};
use crate::decode::tracker::NoteTracker;
use crate::input::event::EventMessage;
use midly::num::{u15, u24, u28};
use midly::{Format, Header, MetaMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::PathBuf;

/// Largest tempo an SMF can hold, µs per quarter note.
pub(crate) const MAX_TEMPO: u32 = 0xff_ffff;
/// Bars a DeepComposer input melody may hold.
pub(crate) const DEEPCOMPOSER_BARS: u64 = 8;

/// The longest a take may run from its time zero: 24 hours.
pub(crate) const MAX_TAKE_US: u64 = 24 * 3600 * 1_000_000;
/// The latest tick a take may reach: readers keep absolute ticks in 32 bits.
const MAX_TICKS: u64 = u32::MAX as u64;

/// The longest a take written with `options` may run: [`MAX_TAKE_US`], or
/// less where ticks are so short (high `ppq` and `bpm`) that 24 hours would
/// pass [`MAX_TICKS`]. Every time gap in a file, and so the empty events
/// that bridge long ones, is bounded by it.
pub(crate) fn max_span_us(options: &RecordOptions) -> u64 {
    let tempo = tempo_us_per_beat(options.bpm);
    MAX_TAKE_US.min(us_at_tempo(MAX_TICKS, options.ppq.max(1), tempo))
}

/// The tempo `bpm` is written as: whole µs per quarter note, within what an
/// SMF can hold (120 bpm when `bpm` is not a positive number).
pub(crate) fn tempo_us_per_beat(bpm: f64) -> u32 {
    if !(bpm.is_finite() && bpm > 0.0) {
        return 500_000;
    }
    (60_000_000.0 / bpm)
        .round()
        .clamp(1.0, f64::from(MAX_TEMPO)) as u32
}

/// `elapsed_us` in ticks at `tempo` µs per beat, rounded to nearest (exact
/// integer arithmetic).
pub(crate) fn ticks_at_tempo(elapsed_us: u64, ppq: u16, tempo: u32) -> u64 {
    let tempo = u128::from(tempo.max(1));
    let scaled = u128::from(elapsed_us) * u128::from(ppq) * 2 + tempo;
    u64::try_from(scaled / (2 * tempo)).unwrap_or(u64::MAX)
}

/// Ticks back to µs, rounded to nearest.
fn us_at_tempo(ticks: u64, ppq: u16, tempo: u32) -> u64 {
    let ppq = u128::from(ppq.max(1));
    let us = (u128::from(ticks) * u128::from(tempo) * 2 + ppq) / (2 * ppq);
    u64::try_from(us).unwrap_or(u64::MAX)
}

/// Length of one bar of `options.time_signature`, in ticks.
pub(crate) fn bar_ticks(options: &RecordOptions) -> u64 {
    let (numerator, denominator) = options.time_signature;
    u64::from(options.ppq) * 4 * u64::from(numerator) / u64::from(denominator.max(1))
}

/// A take as an SMF.
#[derive(Debug)]
pub(crate) struct Written {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Note Ons written.
    pub notes: usize,
    /// Take events written (not counting meta events and closing events).
    pub events: usize,
    /// Notes closed at the stop or the cut.
    pub closed_notes: usize,
    /// Length of the take.
    pub duration_us: u64,
}

impl Written {
    /// The summary of this file at `path`.
    pub fn summary(&self, path: PathBuf, warnings: Vec<String>) -> TakeSummary {
        TakeSummary {
            path,
            notes: self.notes,
            events: self.events,
            duration_us: self.duration_us,
            closed_notes: self.closed_notes,
            warnings,
        }
    }
}

/// An event of the file, owning its bytes.
enum Payload {
    Midi {
        channel: u4,
        message: ChannelMessage,
    },
    /// SysEx data after the F0, ending with F7.
    SysEx(Vec<u8>),
    /// System Common / Real-Time bytes, as an escape event.
    Escape(Vec<u8>),
}

impl Payload {
    fn kind(&self) -> TrackEventKind<'_> {
        match self {
            Payload::Midi { channel, message } => TrackEventKind::Midi {
                channel: *channel,
                message: *message,
            },
            Payload::SysEx(data) => TrackEventKind::SysEx(data),
            Payload::Escape(data) => TrackEventKind::Escape(data),
        }
    }

    fn channel(&self) -> Option<u4> {
        match self {
            Payload::Midi { channel, .. } => Some(*channel),
            _ => None,
        }
    }
}

/// Builds the SMF for `take` stopped at `stop_us` (stream clock).
pub(crate) fn write_take(
    take: &Take,
    stop_us: u64,
    options: &RecordOptions,
) -> std::io::Result<Written> {
    let ppq = options.ppq.max(1);
    let tempo = tempo_us_per_beat(options.bpm);
    let zero = take
        .zero_us()
        .or(take.events.first().map(|e| e.t_us))
        .unwrap_or(stop_us);
    // Nothing is placed past the longest take, however far the input's
    // times run.
    let latest = zero.saturating_add(take.span_us());
    let stop_us = stop_us.min(latest);
    let at = |t_us: u64| ticks_at_tempo(t_us.min(latest).saturating_sub(zero), ppq, tempo);
    let limit = options
        .deepcomposer_export
        .then(|| DEEPCOMPOSER_BARS * bar_ticks(options));

    let mut placed = place(take, options, &at, limit);
    let events = placed.events.len();
    let stop_tick = at(stop_us).max(placed.last_tick);
    let (end_tick, duration_us) = match limit {
        Some(limit) if stop_tick > limit => (limit, us_at_tempo(limit, ppq, tempo)),
        _ => (
            stop_tick,
            stop_us.max(placed.last_us.max(zero)).saturating_sub(zero),
        ),
    };
    let closed_notes = close_held(&mut placed, end_tick);
    let names: Vec<String> = (1..=16).map(|n| format!("Channel {n}")).collect();
    let smf = Smf {
        header: Header::new(layout_format(options), Timing::Metrical(u15::new(ppq))),
        tracks: layout(&placed.events, options, tempo, end_tick, &names),
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)?;
    Ok(Written {
        bytes,
        notes: placed.notes,
        events,
        closed_notes,
        duration_us,
    })
}

/// The take's events at their ticks, and what is still open after them.
struct Placed {
    events: Vec<(u64, Payload)>,
    /// What the take holds after its last event: the notes to close and
    /// pedals to lift at the stop.
    open: NoteTracker,
    notes: usize,
    last_tick: u64,
    /// Stream time of the last event placed (0 before any).
    last_us: u64,
}

/// Places every event of the take at its tick (never before the one
/// before it), up to the DeepComposer cut at `limit`. A Note Off whose Note
/// On is not in the take is left out.
fn place(
    take: &Take,
    options: &RecordOptions,
    at: &dyn Fn(u64) -> u64,
    limit: Option<u64>,
) -> Placed {
    let mut placed = Placed {
        events: Vec::with_capacity(take.events.len() + 8),
        open: NoteTracker::new(None),
        notes: 0,
        last_tick: 0,
        last_us: 0,
    };
    for event in &take.events {
        if take.is_too_late(event.t_us) {
            continue;
        }
        let tick = at(event.t_us).max(placed.last_tick);
        if limit.is_some_and(|limit| tick >= limit) {
            break;
        }
        let payload = match &event.message {
            EventMessage::Channel { channel, message } => {
                let message = match *message {
                    ChannelMessage::NoteOn { vel, .. } if vel.as_int() > 0 => {
                        placed.notes += 1;
                        *message
                    }
                    ChannelMessage::NoteOn { key, vel } | ChannelMessage::NoteOff { key, vel } => {
                        let held = placed.open.channel(*channel).held_velocity(key.as_int());
                        if held.is_none() {
                            // Released before the take: its Note On is not in it.
                            continue;
                        }
                        ChannelMessage::NoteOff { key, vel }
                    }
                    other => other,
                };
                placed.open.apply(*channel, &message);
                Payload::Midi {
                    channel: *channel,
                    message,
                }
            }
            EventMessage::SysEx { data, .. } => {
                let mut body = data.strip_prefix(&[0xf0]).unwrap_or(data).to_vec();
                if body.last() != Some(&0xf7) {
                    body.push(0xf7);
                }
                Payload::SysEx(body)
            }
            EventMessage::Realtime(_) if !options.include_realtime => continue,
            EventMessage::Common(_) | EventMessage::Realtime(_) => {
                let mut bytes = Vec::with_capacity(3);
                event.message.write_bytes(&mut bytes);
                Payload::Escape(bytes)
            }
        };
        placed.last_tick = tick;
        placed.last_us = placed.last_us.max(event.t_us);
        placed.events.push((tick, payload));
    }
    placed
}

/// Closes what the take leaves open at `end_tick`: a Note Off for every
/// held note and a release for every pedal down. Returns the notes closed.
fn close_held(placed: &mut Placed, end_tick: u64) -> usize {
    let mut closed_notes = 0;
    for (channel, message) in placed.open.releases() {
        closed_notes += usize::from(matches!(message, ChannelMessage::NoteOff { .. }));
        placed
            .events
            .push((end_tick, Payload::Midi { channel, message }));
    }
    closed_notes
}

/// Format 1 (a conductor track and one track per channel) when the
/// channels are split, else format 0.
fn layout_format(options: &RecordOptions) -> Format {
    if options.split_channels && !options.deepcomposer_export {
        Format::Parallel
    } else {
        Format::SingleTrack
    }
}

/// The tracks of the file: the conductor's meta events (name, tempo, time
/// signature) first, then the events, in one track or split by channel.
fn layout<'a>(
    placed: &'a [(u64, Payload)],
    options: &'a RecordOptions,
    tempo: u32,
    end_tick: u64,
    names: &'a [String],
) -> Vec<Vec<TrackEvent<'a>>> {
    let (numerator, denominator) = options.time_signature;
    let conductor = [
        MetaMessage::TrackName(options.track_name.as_bytes()),
        MetaMessage::Tempo(u24::new(tempo)),
        MetaMessage::TimeSignature(numerator, denominator.trailing_zeros() as u8, 24, 8),
    ];
    let mut first: Vec<(u64, TrackEventKind<'_>)> = conductor
        .iter()
        .map(|meta| (0, TrackEventKind::Meta(*meta)))
        .collect();
    if layout_format(options) == Format::SingleTrack {
        first.extend(placed.iter().map(|(tick, p)| (*tick, p.kind())));
        return vec![track(first, end_tick)];
    }
    first.extend(
        placed
            .iter()
            .filter(|(_, p)| p.channel().is_none())
            .map(|(tick, p)| (*tick, p.kind())),
    );
    let mut tracks = vec![track(first, end_tick)];
    for (c, name) in names.iter().enumerate() {
        let channel = Some(u4::new(c as u8));
        if !placed.iter().any(|(_, p)| p.channel() == channel) {
            continue;
        }
        let mut events = vec![(
            0,
            TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
        )];
        events.extend(
            placed
                .iter()
                .filter(|(_, p)| p.channel() == channel)
                .map(|(tick, p)| (*tick, p.kind())),
        );
        tracks.push(track(events, end_tick));
    }
    tracks
}

/// A track from events at absolute ticks (in order), ended at `end_tick`.
/// A gap too long for one delta time is bridged by empty text events.
fn track(events: Vec<(u64, TrackEventKind<'_>)>, end_tick: u64) -> Vec<TrackEvent<'_>> {
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut now = 0u64;
    let mut put = |tick: u64, kind| {
        let mut delta = tick.saturating_sub(now);
        let max = u64::from(u28::max_value().as_int());
        while delta > max {
            out.push(TrackEvent {
                delta: u28::max_value(),
                kind: TrackEventKind::Meta(MetaMessage::Text(b"")),
            });
            delta -= max;
        }
        out.push(TrackEvent {
            delta: u28::new(delta as u32),
            kind,
        });
        now = now.max(tick);
    };
    for (tick, kind) in events {
        put(tick, kind);
    }
    put(end_tick, TrackEventKind::Meta(MetaMessage::EndOfTrack));
    out
}
