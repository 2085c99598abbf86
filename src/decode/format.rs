//! Words for MIDI events: one text line (as `monitor` prints and the
//! terminal view logs) or one JSON object per event, with note names, panel
//! names and the transport button a message pressed.

use super::message::{
    ChannelMessage, DecodeStats, EventMessage, MidiEvent, SystemCommon, SystemRealtime,
};
use super::names::{control_name, program_name, NoteNaming};
use super::tracker::Transport;
use crate::devices::KnownDevice;
use serde::Serialize;
use std::io::Write;

/// One event as a JSON line. Fields that do not apply are left out.
#[derive(Debug, Serialize)]
pub struct JsonEvent<'a> {
    /// Microseconds since the stream started.
    pub t_us: u64,
    /// `note_on`, `note_off`, `control_change`, `program_change`,
    /// `pitch_bend`, `channel_pressure`, `poly_pressure`, `sysex`,
    /// `time_code`, `song_position`, `song_select`, `tune_request`,
    /// `clock`, `start`, `continue`, `stop`, `active_sensing`, `reset`,
    /// `undefined`; and the stream events `disconnected`, `read_error`,
    /// `reconnected`, `input_problems`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Cable the event came in on (multi-port devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cable: Option<u8>,
    /// Channel 0–15.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<u8>,
    /// Note number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<u8>,
    /// Note name, e.g. `C4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_name: Option<String>,
    /// Note velocity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub velocity: Option<u8>,
    /// Controller number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<u8>,
    /// Controller value, program, pressure, raw 14-bit pitch bend (8192 =
    /// centre), song position, song select, time code byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// Panel or General MIDI name of the controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<&'static str>,
    /// `play`, `stop` or `record` when a transport button was pressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
    /// SysEx bytes in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// True when a SysEx was cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// Why the stream stopped (`disconnected`); what was wrong with the
    /// input (`input_problems`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// `input_problems` only: `malformed_packets`, `stray_bytes` and
    /// `truncated_sysex`, counted since the stream started.
    #[serde(flatten)]
    pub skipped: Option<DecodeStats>,
}

impl JsonEvent<'_> {
    /// An event of `kind` at `t_us` with every other field left out.
    pub fn new(t_us: u64, kind: &'static str) -> Self {
        JsonEvent {
            t_us,
            kind,
            cable: None,
            channel: None,
            note: None,
            note_name: None,
            velocity: None,
            controller: None,
            value: None,
            control: None,
            transport: None,
            data: None,
            truncated: None,
            reason: None,
            skipped: None,
        }
    }
}

fn transport_word(transport: Transport) -> &'static str {
    match transport {
        Transport::Play => "play",
        Transport::Stop => "stop",
        Transport::Record => "record",
    }
}

fn transport_symbol(transport: Transport) -> &'static str {
    match transport {
        Transport::Play => "▶ Play",
        Transport::Stop => "■ Stop",
        Transport::Record => "● Record",
    }
}

fn common_kind(common: &SystemCommon) -> (&'static str, Option<i32>) {
    match *common {
        SystemCommon::TimeCodeQuarterFrame(v) => ("time_code", Some(i32::from(v.as_int()))),
        SystemCommon::SongPosition(v) => ("song_position", Some(i32::from(v.as_int()))),
        SystemCommon::SongSelect(v) => ("song_select", Some(i32::from(v.as_int()))),
        SystemCommon::TuneRequest => ("tune_request", None),
        SystemCommon::Undefined(b) => ("undefined", Some(i32::from(b))),
    }
}

fn realtime_kind(realtime: &SystemRealtime) -> &'static str {
    match realtime {
        SystemRealtime::TimingClock => "clock",
        SystemRealtime::Start => "start",
        SystemRealtime::Continue => "continue",
        SystemRealtime::Stop => "stop",
        SystemRealtime::ActiveSensing => "active_sensing",
        SystemRealtime::Reset => "reset",
        SystemRealtime::Undefined(_) => "undefined",
    }
}

fn hex(bytes: &[u8], separator: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Formats events for people and for programs.
pub struct Formatter {
    /// The known keyboard the events come from (its panel names).
    pub device: Option<&'static KnownDevice>,
    /// How notes are named.
    pub naming: NoteNaming,
}

impl Formatter {
    /// The JSON object of one MIDI event.
    pub fn json(&self, event: &MidiEvent, transport: Option<Transport>) -> JsonEvent<'static> {
        let mut out = JsonEvent::new(event.t_us, "");
        out.cable = (event.cable.as_int() != 0).then_some(event.cable.as_int());
        match &event.message {
            EventMessage::Channel { channel, message } => {
                out.channel = Some(channel.as_int());
                let mut note = |kind, key: u8, velocity: Option<u8>, value: Option<i32>| {
                    out.kind = kind;
                    out.note = Some(key);
                    out.note_name = Some(self.naming.name(key));
                    out.velocity = velocity;
                    out.value = value;
                };
                match *message {
                    ChannelMessage::NoteOn { key, vel } => {
                        note("note_on", key.as_int(), Some(vel.as_int()), None)
                    }
                    ChannelMessage::NoteOff { key, vel } => {
                        note("note_off", key.as_int(), Some(vel.as_int()), None)
                    }
                    ChannelMessage::Aftertouch { key, vel } => note(
                        "poly_pressure",
                        key.as_int(),
                        None,
                        Some(i32::from(vel.as_int())),
                    ),
                    ChannelMessage::Controller { controller, value } => {
                        out.kind = "control_change";
                        out.controller = Some(controller.as_int());
                        out.value = Some(i32::from(value.as_int()));
                        out.control = Some(control_name(self.device, controller.as_int()));
                        out.transport = transport.map(transport_word);
                    }
                    ChannelMessage::ProgramChange { program } => {
                        out.kind = "program_change";
                        out.value = Some(i32::from(program.as_int()));
                    }
                    ChannelMessage::ChannelAftertouch { vel } => {
                        out.kind = "channel_pressure";
                        out.value = Some(i32::from(vel.as_int()));
                    }
                    ChannelMessage::PitchBend { bend } => {
                        out.kind = "pitch_bend";
                        out.value = Some(i32::from(bend.0.as_int()));
                    }
                }
            }
            EventMessage::SysEx { data, truncated } => {
                out.kind = "sysex";
                out.data = Some(hex(data, ""));
                out.truncated = truncated.then_some(true);
            }
            EventMessage::Common(common) => {
                let (kind, value) = common_kind(common);
                out.kind = kind;
                out.value = value;
            }
            EventMessage::Realtime(realtime) => out.kind = realtime_kind(realtime),
        }
        out
    }

    /// One text line for one MIDI event.
    pub fn line(&self, event: &MidiEvent, transport: Option<Transport>) -> String {
        let time = format!("{:>12.6}", event.t_us as f64 / 1e6);
        let cable = if event.cable.as_int() != 0 {
            format!(" cable {}", event.cable.as_int())
        } else {
            String::new()
        };
        let (what, channel, detail) = match &event.message {
            EventMessage::Channel { channel, message } => {
                let drums = channel.as_int() == 9;
                let (what, detail) = self.channel_words(message, transport, drums);
                (what, format!("ch {:<2}", channel.as_int() + 1), detail)
            }
            EventMessage::SysEx { data, truncated } => {
                let shown = &data[..data.len().min(24)];
                let more = if data.len() > shown.len() { " …" } else { "" };
                let cut = if *truncated { " (truncated)" } else { "" };
                (
                    "SysEx",
                    String::new(),
                    format!(
                        "{} bytes{cut}: {}{more}",
                        data.len(),
                        hex(shown, " ").to_uppercase()
                    ),
                )
            }
            EventMessage::Common(common) => {
                let (kind, value) = common_kind(common);
                let what = match kind {
                    "time_code" => "Time code",
                    "song_position" => "Song position",
                    "song_select" => "Song select",
                    "tune_request" => "Tune request",
                    _ => "Undefined",
                };
                (
                    what,
                    String::new(),
                    value.map(|v| v.to_string()).unwrap_or_default(),
                )
            }
            EventMessage::Realtime(realtime) => {
                let what = match realtime {
                    SystemRealtime::TimingClock => "Clock",
                    SystemRealtime::Start => "Start",
                    SystemRealtime::Continue => "Continue",
                    SystemRealtime::Stop => "Stop",
                    SystemRealtime::ActiveSensing => "Active sensing",
                    SystemRealtime::Reset => "Reset",
                    SystemRealtime::Undefined(_) => "Undefined",
                };
                (what, String::new(), String::new())
            }
        };
        format!("{time}{cable}  {what:<16} {channel:<5} {detail}")
            .trim_end()
            .to_owned()
    }

    /// The words for a channel message: what it is and its details.
    fn channel_words(
        &self,
        message: &ChannelMessage,
        transport: Option<Transport>,
        drums: bool,
    ) -> (&'static str, String) {
        let note = |key: u8| format!("{} ({key})", self.naming.name(key));
        match *message {
            ChannelMessage::NoteOn { key, vel } => (
                "Note on",
                format!("{:<9} velocity {}", note(key.as_int()), vel.as_int()),
            ),
            ChannelMessage::NoteOff { key, vel } => (
                "Note off",
                format!("{:<9} velocity {}", note(key.as_int()), vel.as_int()),
            ),
            ChannelMessage::Aftertouch { key, vel } => (
                "Key pressure",
                format!("{:<9} value {}", note(key.as_int()), vel.as_int()),
            ),
            ChannelMessage::Controller { controller, value } => {
                let name = control_name(self.device, controller.as_int());
                let mut detail =
                    format!("{name} (CC {}) = {}", controller.as_int(), value.as_int());
                if let Some(pressed) = transport {
                    detail.push_str(&format!("  {} pressed", transport_symbol(pressed)));
                }
                ("Control change", detail)
            }
            ChannelMessage::ProgramChange { program } => {
                // Counted from 1, as instrument lists print them, with the
                // General MIDI name; channel 10 chooses drum kits instead.
                let program = program.as_int();
                let name = program_name(program, drums);
                let detail = format!("program {} ({name})", u16::from(program) + 1);
                ("Program change", detail)
            }
            ChannelMessage::ChannelAftertouch { vel } => {
                ("Channel pressure", format!("value {}", vel.as_int()))
            }
            ChannelMessage::PitchBend { bend } => (
                "Pitch bend",
                format!("{:+} (raw {})", bend.as_int(), bend.0.as_int()),
            ),
        }
    }
}

/// Writes a stream event (disconnected, reconnected) as a line or as JSON.
pub fn write_stream_event(
    out: &mut dyn Write,
    json: bool,
    t_us: u64,
    kind: &'static str,
    reason: Option<&str>,
) -> std::io::Result<()> {
    if json {
        let mut event = JsonEvent::new(t_us, kind);
        event.reason = reason;
        let text = serde_json::to_string(&event).map_err(std::io::Error::other)?;
        writeln!(out, "{text}")
    } else {
        writeln!(
            out,
            "{:>12.6}  {}",
            t_us as f64 / 1e6,
            reason.unwrap_or(kind)
        )
    }
}

/// What a stream's decoders skipped or cut short, for people ("3 malformed
/// USB-MIDI packets skipped, 1 SysEx message cut short"); `None` when the
/// input was clean.
pub fn input_problems(stats: &DecodeStats) -> Option<String> {
    let parts: Vec<String> = [
        (
            stats.malformed_packets,
            "malformed USB-MIDI packet",
            "skipped",
        ),
        (stats.stray_bytes, "stray data byte", "skipped"),
        (stats.truncated_sysex, "SysEx message", "cut short"),
    ]
    .into_iter()
    .filter(|(count, _, _)| *count > 0)
    .map(|(count, noun, what)| format!("{} {what}", counted(count, noun)))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Writes what the input's decoders skipped or cut short, if anything, as a
/// stream line or as an `input_problems` JSON event with the counts.
pub fn write_input_problems(
    out: &mut dyn Write,
    json: bool,
    t_us: u64,
    stats: &DecodeStats,
) -> std::io::Result<()> {
    let Some(text) = input_problems(stats) else {
        return Ok(());
    };
    if !json {
        return write_stream_event(out, false, t_us, "input_problems", Some(&text));
    }
    let mut event = JsonEvent::new(t_us, "input_problems");
    event.reason = Some(&text);
    event.skipped = Some(*stats);
    let line = serde_json::to_string(&event).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")
}

/// "1 note", "2 notes": a count with its noun in the right number.
pub fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::message::{u4, u7};

    fn program_line(channel: u8, program: u8) -> String {
        let formatter = Formatter {
            device: None,
            naming: NoteNaming::default(),
        };
        let event = MidiEvent {
            t_us: 0,
            cable: u4::new(0),
            message: EventMessage::Channel {
                channel: u4::new(channel),
                message: ChannelMessage::ProgramChange {
                    program: u7::new(program),
                },
            },
        };
        formatter.line(&event, None)
    }

    #[test]
    fn programs_are_counted_from_1_with_their_general_midi_names() {
        assert!(program_line(0, 0).ends_with("program 1 (Acoustic Grand Piano)"));
        assert!(program_line(0, 5).ends_with("program 6 (Electric Piano 2)"));
        assert!(program_line(0, 127).ends_with("program 128 (Gunshot)"));
        assert!(program_line(9, 0).ends_with("program 1 (drum kit)"));
    }

    #[test]
    fn input_problems_are_said_only_when_there_are_some() {
        let mut out = Vec::new();
        write_input_problems(&mut out, true, 5, &DecodeStats::default()).unwrap();
        assert!(out.is_empty(), "clean input says nothing");

        let stats = DecodeStats {
            messages: 40,
            stray_bytes: 1,
            malformed_packets: 0,
            truncated_sysex: 2,
        };
        assert_eq!(
            input_problems(&stats).as_deref(),
            Some("1 stray data byte skipped, 2 SysEx messages cut short")
        );
        write_input_problems(&mut out, true, 5, &stats).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "t_us": 5,
                "type": "input_problems",
                "reason": "1 stray data byte skipped, 2 SysEx messages cut short",
                "stray_bytes": 1,
                "malformed_packets": 0,
                "truncated_sysex": 2
            })
        );
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(counted(1, "note"), "1 note");
        assert_eq!(counted(0, "note"), "0 notes");
        assert_eq!(counted(2, "event"), "2 events");
    }
}
