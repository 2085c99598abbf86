//! The control panel: the pitch wheel as a bar centred on zero, the
//! controllers as gauges (0–127), Set+Reverb, the transport buttons lit
//! briefly on a press, the sustain pedal and the last note.
//!
//! Controls carry the keyboard's panel names for the DeepComposer (Knob 1–3
//! are its CC 21–23, the Encoder its CC 10); other keyboards get the
//! common General MIDI controllers under their GM names.

use super::app::App;
use crate::decode::names::{control_name, program_name, NoteNaming};
use crate::decode::tracker::ChannelState;
use crate::devices::KnownDevice;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

/// A filled gauge cell.
pub const FILLED: &str = "█";
/// An empty gauge cell.
pub const EMPTY: &str = "░";
/// The centre mark of the pitch bar.
pub const CENTRE: &str = "┃";
/// An empty pitch-bar cell.
pub const BEND_EMPTY: &str = "─";

/// Controller of the DeepComposer's Set+Reverb button (and GM Reverb).
const REVERB: u8 = 91;
/// The DeepComposer's gauges, in panel order (names come from the device).
const PANEL_GAUGES: [u8; 6] = [1, 7, 10, 21, 22, 23];
/// The gauges for other keyboards: Modulation, Volume, Pan, Expression,
/// Cutoff, Resonance, Reverb.
const GM_GAUGES: [u8; 7] = [1, 7, 10, 11, 74, 71, 91];
/// What a receiver starts with before any message, by General MIDI's
/// reset: Volume 100, Pan centred, Expression full. Other controllers
/// show "not yet moved" until their first message.
const GM_DEFAULTS: [(u8, u8); 3] = [(7, 100), (10, 64), (11, 127)];
/// Shown for a control no message has set and that has no GM default.
pub const NOT_MOVED: &str = "not yet moved";
/// Columns for a control's name.
const LABEL: u16 = 11;
/// Columns for a value.
const VALUE: u16 = 6;

/// The data the panel is drawn from.
#[derive(Debug, Clone)]
pub struct PanelView<'a> {
    /// The keyboard, for panel names and transport buttons.
    pub device: Option<&'static KnownDevice>,
    /// The shown channel's controllers and pitch bend.
    pub state: &'a ChannelState,
    /// The shown channel, 0-based (9: the drum channel).
    pub channel: u8,
    /// Sustain pedal down (on any channel).
    pub pedal: bool,
    /// ▶, ■, ● lit.
    pub lit: [bool; 3],
    /// The last note struck and its velocity.
    pub last_note: Option<(u8, u8)>,
    /// Controllers a message has set on the shown channel.
    pub moved: [bool; 128],
    /// How notes are named.
    pub naming: NoteNaming,
    /// Reverse video instead of colours.
    pub monochrome: bool,
}

impl<'a> PanelView<'a> {
    /// The panel as `app` has it.
    pub fn new(app: &'a App) -> Self {
        PanelView {
            device: app.source().device,
            state: app.control_state(),
            channel: app.control_channel().as_int(),
            pedal: app.pedal_down(),
            lit: app.lit(),
            last_note: app.last_note(),
            moved: std::array::from_fn(|c| app.moved(c as u8)),
            naming: app.naming(),
            monochrome: app.is_monochrome(),
        }
    }

    /// True when the keyboard has the DeepComposer's panel (Knob 1 on CC 21).
    fn has_panel(&self) -> bool {
        self.device.is_some_and(|d| d.control_name(21).is_some())
    }

    fn colour(&self, colour: Color) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(colour)
        }
    }

    /// A lit thing: coloured background, or reverse video in monochrome.
    fn lit_style(&self, colour: Color) -> Style {
        let style = Style::default().add_modifier(Modifier::BOLD);
        if self.monochrome {
            style.add_modifier(Modifier::REVERSED)
        } else {
            style.fg(Color::Black).bg(colour)
        }
    }

    fn label(&self, buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str) -> u16 {
        buf.set_stringn(
            x,
            y,
            text,
            usize::from(width.min(LABEL - 1)),
            Style::default().add_modifier(Modifier::BOLD),
        );
        width.min(LABEL)
    }

    /// What a controller is at: its last value, else its General MIDI
    /// default (where the keyboard uses it as GM does: the DeepComposer's
    /// Encoder on CC 10 is no pan), else `None` (not yet moved).
    fn controller(&self, controller: u8) -> Option<u8> {
        let controller = controller.min(127);
        if self.moved[usize::from(controller)] {
            return Some(self.state.controllers[usize::from(controller)]);
        }
        let own_name = self.device.and_then(|d| d.control_name(controller));
        if own_name.is_some_and(|name| name != control_name(None, controller)) {
            return None;
        }
        GM_DEFAULTS
            .iter()
            .find(|(c, _)| *c == controller)
            .map(|(_, value)| *value)
    }

    /// `Name  ████████░░░░  100`, or `Name  not yet moved`.
    fn gauge(&self, buf: &mut Buffer, area: Rect, name: &str, value: Option<u8>) {
        let used = self.label(buf, area.x, area.y, area.width, name);
        let Some(value) = value else {
            let room = area.width.saturating_sub(used);
            buf.set_stringn(
                area.x + used,
                area.y,
                NOT_MOVED,
                usize::from(room),
                self.colour(Color::DarkGray),
            );
            return;
        };
        let bar = area.width.saturating_sub(LABEL + VALUE);
        let filled = (u32::from(value.min(127)) * u32::from(bar) + 63) / 127;
        for i in 0..bar {
            let (symbol, style) = if u32::from(i) < filled {
                (FILLED, self.colour(Color::Cyan))
            } else {
                (EMPTY, self.colour(Color::DarkGray))
            };
            buf.set_string(area.x + used + i, area.y, symbol, style);
        }
        self.value(buf, area, &value.to_string());
    }

    fn value(&self, buf: &mut Buffer, area: Rect, text: &str) {
        if area.width >= LABEL + VALUE {
            let text = format!("{text:>5}");
            buf.set_string(
                area.x + area.width - VALUE + 1,
                area.y,
                text,
                Style::default(),
            );
        }
    }

    /// `Pitch ───────┃████──  +2048`: right of centre for up, left for down.
    fn bend(&self, buf: &mut Buffer, area: Rect) {
        let used = self.label(buf, area.x, area.y, area.width, "Pitch");
        let mut bar = area.width.saturating_sub(LABEL + VALUE);
        if bar % 2 == 0 {
            bar = bar.saturating_sub(1);
        }
        let bend = i32::from(self.state.pitch_bend) - 8192;
        let half = i32::from(bar / 2);
        let (from, to) = if bend > 0 {
            (1, (bend * half + 4095) / 8191)
        } else {
            (-(-bend * half + 4096) / 8192, -1)
        };
        for i in 0..bar {
            let offset = i32::from(i) - half;
            let (symbol, style) = if offset == 0 {
                (CENTRE, Style::default().add_modifier(Modifier::BOLD))
            } else if (from..=to).contains(&offset) {
                (FILLED, self.colour(Color::Magenta))
            } else {
                (BEND_EMPTY, self.colour(Color::DarkGray))
            };
            buf.set_string(area.x + used + i, area.y, symbol, style);
        }
        self.value(buf, area, &format!("{bend:+}"));
    }

    /// `Set+Reverb  ON` / `off`.
    fn switch(&self, buf: &mut Buffer, area: Rect, name: &str, value: u8) {
        let used = self.label(buf, area.x, area.y, area.width, name);
        let (text, style) = if value >= 64 {
            (" ON ", self.lit_style(Color::Green))
        } else {
            (" off ", self.colour(Color::DarkGray))
        };
        let room = area.width.saturating_sub(used);
        buf.set_stringn(area.x + used, area.y, text, usize::from(room), style);
    }

    /// ▶ ■ ● (or the program), pedal, last note.
    fn status_row(&self, buf: &mut Buffer, area: Rect) {
        let right = area.x + area.width;
        let mut x = area.x;
        let mut put = |buf: &mut Buffer, text: &str, style: Style| {
            if x < right {
                let (end, _) = buf.set_stringn(x, area.y, text, usize::from(right - x), style);
                x = end;
            }
        };
        if self.device.is_some_and(|d| d.transport.is_some()) {
            let buttons = [
                (" ▶ Play ", Color::Green),
                (" ■ Stop ", Color::Yellow),
                (" ● Rec ", Color::Red),
            ];
            for ((text, colour), lit) in buttons.into_iter().zip(self.lit) {
                let style = if lit {
                    self.lit_style(colour)
                } else {
                    Style::default()
                };
                put(buf, text, style);
                put(buf, " ", Style::default());
            }
        } else {
            put(
                buf,
                &format!(
                    " Program {} {}  ",
                    u16::from(self.state.program) + 1,
                    program_name(self.state.program, self.channel == 9)
                ),
                Style::default(),
            );
        }
        put(
            buf,
            "  Pedal ",
            Style::default().add_modifier(Modifier::BOLD),
        );
        if self.pedal {
            put(buf, " down ", self.lit_style(Color::Blue));
        } else {
            put(buf, " up ", Style::default());
        }
        put(
            buf,
            "   Last ",
            Style::default().add_modifier(Modifier::BOLD),
        );
        let last = match self.last_note {
            Some((note, velocity)) => format!("{} vel {velocity}", self.naming.name(note)),
            None => "–".to_owned(),
        };
        put(buf, &format!(" {last}"), Style::default());
    }

    fn name(&self, controller: u8) -> &'static str {
        match control_name(self.device, controller) {
            "Sustain Pedal" => "Sustain",
            name => name,
        }
    }
}

/// The panel's items in reading order.
enum Item {
    Bend,
    Gauge(u8),
    Switch(u8),
}

impl Widget for &PanelView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let mut items = vec![Item::Bend];
        if self.has_panel() {
            items.extend(PANEL_GAUGES.map(Item::Gauge));
            items.push(Item::Switch(REVERB));
        } else {
            items.extend(GM_GAUGES.map(Item::Gauge));
        }
        // Two columns when there is room, else one under the other.
        let columns: u16 = if area.width >= 60 { 2 } else { 1 };
        let column_width = area.width / columns;
        let rows = (items.len() as u16).div_ceil(columns);
        for (i, item) in items.iter().enumerate() {
            let (row, column) = (i as u16 / columns, i as u16 % columns);
            if row >= area.height {
                break;
            }
            let cell = Rect::new(
                area.x + column * column_width,
                area.y + row,
                column_width.saturating_sub(2).max(1),
                1,
            );
            match *item {
                Item::Bend => self.bend(buf, cell),
                Item::Gauge(controller) => self.gauge(
                    buf,
                    cell,
                    self.name(controller),
                    self.controller(controller),
                ),
                Item::Switch(controller) => self.switch(
                    buf,
                    cell,
                    self.name(controller),
                    self.state.controllers[usize::from(controller)],
                ),
            }
        }
        if rows < area.height {
            self.status_row(buf, Rect::new(area.x, area.y + rows, area.width, 1));
        }
    }
}

/// Rows the panel needs at a width.
pub fn panel_height(width: u16) -> u16 {
    if width >= 60 {
        5
    } else {
        9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::message::{u7, ChannelMessage};
    use crate::tui::app::tests::{bend, cc, deepcomposer, event, on, other_keyboard, show};
    use std::time::Instant;

    fn render(app: &App, width: u16) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 5));
        PanelView::new(app).render(buf.area, &mut buf);
        buf
    }

    fn text(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect()
            })
            .collect()
    }

    /// The bar of the control named `name`: the cells after its label.
    fn bar(buf: &Buffer, name: &str) -> String {
        for line in text(buf) {
            for half in [
                &line[..],
                &line[line.char_indices().nth(40).map_or(0, |(i, _)| i)..],
            ] {
                if half.starts_with(&format!("{name} ")) {
                    return half
                        .chars()
                        .skip(usize::from(LABEL))
                        .take(40 - usize::from(LABEL + VALUE))
                        .collect::<String>()
                        .trim_end()
                        .to_owned();
                }
            }
        }
        panic!("no {name} in {:#?}", text(buf));
    }

    fn app_with(source: crate::input::SourceInfo, events: &[crate::input::MidiEvent]) -> App {
        let mut app = App::new(source, NoteNaming::default());
        for event in events {
            show(&mut app, event, Instant::now());
        }
        app
    }

    /// The text of the control named `name`, from its label to the end of
    /// its column (40 cells at 80 columns).
    fn cell(buf: &Buffer, name: &str) -> String {
        text(buf)
            .iter()
            .flat_map(|line| {
                let middle = line.char_indices().nth(40).map_or(0, |(i, _)| i);
                [line[..middle].to_owned(), line[middle..].to_owned()]
            })
            .find(|half| half.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {:#?}", text(buf)))
            .trim_end()
            .to_owned()
    }

    #[test]
    fn before_any_message_gm_defaults_show_and_knobs_are_not_yet_moved() {
        let app = app_with(deepcomposer(), &[]);
        let buf = render(&app, 80);
        assert!(cell(&buf, "Volume").ends_with(" 100"), "{:#?}", text(&buf));
        for knob in ["Modulation", "Encoder", "Knob 1", "Knob 3"] {
            assert!(cell(&buf, knob).ends_with(NOT_MOVED), "{knob}");
        }
        let app = app_with(other_keyboard(), &[]);
        let buf = render(&app, 80);
        assert!(cell(&buf, "Expression").ends_with(" 127"));
        assert!(cell(&buf, "Pan").ends_with(" 64"), "GM's Pan is centred");
        // A message sets it, even to 0.
        let app = app_with(other_keyboard(), &[cc(7, 0), cc(74, 0)]);
        let buf = render(&app, 80);
        assert!(cell(&buf, "Volume").ends_with(" 0"), "{:#?}", text(&buf));
        assert!(cell(&buf, "Cutoff").ends_with(" 0"), "{:#?}", text(&buf));
    }

    #[test]
    fn the_program_is_counted_from_1_with_its_general_midi_name() {
        let shown = |events: &[crate::input::MidiEvent]| {
            text(&render(&app_with(other_keyboard(), events), 80)).join("\n")
        };
        assert!(shown(&[]).contains("Program 1 Acoustic Grand Piano"));
        let violin = ChannelMessage::ProgramChange {
            program: u7::new(40),
        };
        assert!(shown(&[event(violin)]).contains("Program 41 Violin"));
    }

    #[test]
    fn bend_up_fills_right_of_centre_and_down_left() {
        let centre = bar(&render(&app_with(deepcomposer(), &[]), 80), "Pitch");
        assert!(!centre.contains(FILLED), "{centre}");
        let middle = centre
            .chars()
            .position(|c| c.to_string() == CENTRE)
            .expect("centre");
        assert_eq!(middle, centre.chars().count() / 2);
        let up = bar(
            &render(&app_with(deepcomposer(), &[bend(12288)]), 80),
            "Pitch",
        );
        let filled: Vec<usize> = up.char_indices_filled();
        assert!(
            !filled.is_empty() && filled.iter().all(|&i| i > middle),
            "{up}"
        );
        let down = bar(&render(&app_with(deepcomposer(), &[bend(0)]), 80), "Pitch");
        let filled = down.char_indices_filled();
        assert_eq!(filled.len(), middle, "full down: {down}");
        assert!(filled.iter().all(|&i| i < middle), "{down}");
    }

    trait Filled {
        fn char_indices_filled(&self) -> Vec<usize>;
    }
    impl Filled for String {
        fn char_indices_filled(&self) -> Vec<usize> {
            self.chars()
                .enumerate()
                .filter(|(_, c)| c.to_string() == FILLED)
                .map(|(i, _)| i)
                .collect()
        }
    }

    #[test]
    fn knob_gauges_go_from_empty_to_full() {
        let full = bar(
            &render(&app_with(deepcomposer(), &[cc(21, 127)]), 80),
            "Knob 1",
        );
        assert!(
            !full.is_empty() && full.chars().all(|c| c.to_string() == FILLED),
            "{full}"
        );
        let empty = bar(
            &render(&app_with(deepcomposer(), &[cc(21, 0)]), 80),
            "Knob 1",
        );
        assert!(!empty.contains(FILLED), "{empty}");
        let half = bar(
            &render(&app_with(deepcomposer(), &[cc(21, 64)]), 80),
            "Knob 1",
        );
        let filled = half.char_indices_filled().len();
        assert!(filled * 2 >= half.chars().count() - 1 && filled * 2 <= half.chars().count() + 1);
        let lines = text(&render(&app_with(deepcomposer(), &[cc(21, 100)]), 80)).join("\n");
        assert!(lines.contains("100"), "{lines}");
    }

    #[test]
    fn deepcomposer_uses_panel_names_others_gm_names() {
        let dc = text(&render(&app_with(deepcomposer(), &[]), 80)).join("\n");
        for name in [
            "Pitch",
            "Modulation",
            "Volume",
            "Encoder",
            "Knob 1",
            "Knob 2",
            "Knob 3",
            "Set+Reverb",
            "▶ Play",
            "■ Stop",
            "● Rec",
        ] {
            assert!(dc.contains(name), "{name} missing:\n{dc}");
        }
        assert!(!dc.contains("Pan "), "{dc}");
        let gm = text(&render(&app_with(other_keyboard(), &[]), 80)).join("\n");
        for name in [
            "Pitch",
            "Modulation",
            "Volume",
            "Pan",
            "Expression",
            "Cutoff",
            "Program",
        ] {
            assert!(gm.contains(name), "{name} missing:\n{gm}");
        }
        assert!(
            !gm.contains("Knob") && !gm.contains("Encoder") && !gm.contains("▶"),
            "{gm}"
        );
    }

    #[test]
    fn reverb_pedal_last_note_and_flashes() {
        let mut app = app_with(deepcomposer(), &[cc(91, 64), cc(64, 127), on(64, 90)]);
        let lines = text(&render(&app, 80)).join("\n");
        assert!(lines.contains("Set+Reverb  ON"), "{lines}");
        assert!(
            lines.contains("down") && lines.contains("E4 vel 90"),
            "{lines}"
        );
        app.monochrome(true);
        show(&mut app, &cc(107, 127), Instant::now());
        let buf = render(&app, 80);
        let row = text(&buf)
            .into_iter()
            .position(|l| l.contains("● Rec"))
            .expect("row");
        let x = text(&buf)[row].chars().position(|c| c == '●').expect("●") as u16;
        assert!(
            buf[(x, row as u16)].modifier.contains(Modifier::REVERSED),
            "lit"
        );
        let play = text(&buf)[row].chars().position(|c| c == '▶').expect("▶") as u16;
        assert!(!buf[(play, row as u16)]
            .modifier
            .contains(Modifier::REVERSED));
    }

    #[test]
    fn narrow_and_tiny_panels_do_not_panic() {
        let app = app_with(deepcomposer(), &[bend(16383), cc(1, 127)]);
        for width in 0..90 {
            for height in 0..10 {
                let mut buf = Buffer::empty(Rect::new(0, 0, 90, 10));
                PanelView::new(&app).render(Rect::new(1, 1, width, height), &mut buf);
            }
        }
    }
}
