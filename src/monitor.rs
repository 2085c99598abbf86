//! `composer-probe monitor`: one line per event, like aseqdump but with
//! timestamps, note names, panel names and filters; or JSON lines.

use crate::decode::format::{write_input_problems, write_stream_event, Formatter};
use crate::decode::message::ChannelMessage;
use crate::decode::names::NoteNaming;
use crate::input::{EventMessage, InputEvent, InputStream, Next};
use std::io::Write;
use std::time::{Duration, Instant};

/// The kinds of event `--type` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Note on and note off.
    Note,
    /// Control change.
    ControlChange,
    /// Program change.
    ProgramChange,
    /// Pitch bend.
    PitchBend,
    /// Channel pressure.
    ChannelPressure,
    /// Polyphonic key pressure.
    PolyPressure,
    /// System Exclusive.
    SysEx,
    /// System Common (time code, song position, song select, tune request).
    Common,
    /// System Real-Time (clock, start, stop, active sensing, reset).
    Realtime,
}

impl EventKind {
    /// Parses one `--type` word: `note`, `cc`, `program`, `bend`,
    /// `pressure`, `aftertouch`, `sysex`, `common`, `realtime` (or the JSON
    /// type names such as `control_change`).
    pub fn parse(word: &str) -> Result<Self, String> {
        Ok(match word.trim() {
            "note" | "notes" | "note_on" | "note_off" => EventKind::Note,
            "cc" | "control" | "control_change" => EventKind::ControlChange,
            "program" | "pc" | "program_change" => EventKind::ProgramChange,
            "bend" | "pitch" | "pitch_bend" => EventKind::PitchBend,
            "pressure" | "channel_pressure" => EventKind::ChannelPressure,
            "aftertouch" | "poly_pressure" => EventKind::PolyPressure,
            "sysex" => EventKind::SysEx,
            "common" => EventKind::Common,
            "realtime" | "clock" => EventKind::Realtime,
            other => {
                return Err(format!(
                    "unknown event type \"{other}\" (use note, cc, program, bend, pressure, aftertouch, sysex, common, realtime)"
                ))
            }
        })
    }

    fn of(message: &EventMessage) -> Self {
        match message {
            EventMessage::Channel { message, .. } => match message {
                ChannelMessage::NoteOn { .. } | ChannelMessage::NoteOff { .. } => EventKind::Note,
                ChannelMessage::Controller { .. } => EventKind::ControlChange,
                ChannelMessage::ProgramChange { .. } => EventKind::ProgramChange,
                ChannelMessage::PitchBend { .. } => EventKind::PitchBend,
                ChannelMessage::ChannelAftertouch { .. } => EventKind::ChannelPressure,
                ChannelMessage::Aftertouch { .. } => EventKind::PolyPressure,
            },
            EventMessage::SysEx { .. } => EventKind::SysEx,
            EventMessage::Common(_) => EventKind::Common,
            EventMessage::Realtime(_) => EventKind::Realtime,
        }
    }
}

/// Which events to show. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Event kinds to keep.
    pub kinds: Vec<EventKind>,
    /// Channels to keep, 0–15 (system messages always pass).
    pub channels: Vec<u8>,
}

impl Filter {
    /// True when the event should be shown.
    pub fn accepts(&self, message: &EventMessage) -> bool {
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&EventKind::of(message));
        let channel_ok = match message {
            EventMessage::Channel { channel, .. } => {
                self.channels.is_empty() || self.channels.contains(&channel.as_int())
            }
            _ => true,
        };
        kind_ok && channel_ok
    }
}

/// Settings of one `monitor` run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorConfig {
    /// What to show.
    pub filter: Filter,
    /// JSON lines instead of text.
    pub json: bool,
    /// Stop after this many shown events.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// How notes are named.
    pub naming: NoteNaming,
    /// Keep going across unplugs (the source waits for the keyboard).
    pub wait: bool,
}

/// How a monitor run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// `--count` reached.
    Count,
    /// `--duration` elapsed.
    Duration,
    /// Ctrl+C, SIGTERM, or Esc in `--keys`.
    Interrupted,
    /// The keyboard was unplugged (without `--wait`).
    Disconnected,
    /// Reading the keyboard failed (without `--wait`); why.
    Failed(String),
    /// The file ended, or the source went away.
    Ended,
}

/// Reads the stream and writes one line per shown event to `out` until a
/// stop condition, then what the decoders skipped or cut short, if
/// anything. Write errors (a closed pipe) end the run with `Err`.
pub fn run(
    stream: &mut InputStream,
    config: &MonitorConfig,
    out: &mut dyn Write,
) -> std::io::Result<Ending> {
    let ending = show_events(stream, config, out)?;
    let stats = stream.decode_stats();
    write_input_problems(out, config.json, stream.now_us(), &stats)?;
    Ok(ending)
}

fn show_events(
    stream: &mut InputStream,
    config: &MonitorConfig,
    out: &mut dyn Write,
) -> std::io::Result<Ending> {
    let started = Instant::now();
    let deadline = config.duration.map(|d| started + d);
    let info = stream.info().clone();
    let formatter = Formatter {
        device: info.device,
        naming: config.naming,
    };
    let mut shown = 0u64;
    loop {
        if config.count.is_some_and(|limit| shown >= limit) {
            return Ok(Ending::Count);
        }
        let wait = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Ending::Duration);
                }
                left.min(Duration::from_millis(200))
            }
            None => Duration::from_millis(200),
        };
        let (event, transport) = match stream.next_timeout(wait) {
            Next::Event { event, transport } => (event, transport),
            Next::Timeout => continue,
            Next::Closed => return Ok(Ending::Ended),
        };
        match event {
            InputEvent::Midi(event) => {
                if !config.filter.accepts(&event.message) {
                    continue;
                }
                shown += 1;
                if config.json {
                    let json = serde_json::to_string(&formatter.json(&event, transport))
                        .map_err(std::io::Error::other)?;
                    writeln!(out, "{json}")?;
                } else {
                    writeln!(out, "{}", formatter.line(&event, transport))?;
                }
            }
            InputEvent::Disconnected {
                t_us,
                reason,
                failed,
            } => {
                let kind = if failed { "read_error" } else { "disconnected" };
                write_stream_event(out, config.json, t_us, kind, Some(&reason))?;
                if failed && !config.wait {
                    return Ok(Ending::Failed(reason));
                }
                if !config.wait {
                    return Ok(Ending::Disconnected);
                }
            }
            InputEvent::Reconnected { t_us } => {
                write_stream_event(
                    out,
                    config.json,
                    t_us,
                    "reconnected",
                    Some("keyboard reconnected"),
                )?;
            }
            InputEvent::Played(_) | InputEvent::Key(_) => {}
            InputEvent::Ended { .. } => return Ok(Ending::Ended),
            InputEvent::Interrupted { .. } => return Ok(Ending::Interrupted),
        }
    }
}
