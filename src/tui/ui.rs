//! The whole screen, drawn from an [`App`] by one pure function: status
//! line, keyboard, control panel, event log, key hint, and the help
//! overlay when asked for. Sections shrink or go (log first, then the
//! panel) as the terminal gets smaller; below [`MIN_WIDTH`]×[`MIN_HEIGHT`]
//! only a "terminal too small" line is drawn.

use super::app::{App, LogKind};
use super::keyboard::{KeyboardView, HELD_MARK, SUSTAIN_MARK};
use super::panel::{panel_height, PanelView};
use crate::input::Via;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use ratatui::Frame;

/// Narrowest terminal drawn.
pub const MIN_WIDTH: u16 = 20;
/// Shortest terminal drawn.
pub const MIN_HEIGHT: u16 = 4;

/// The key hint at the bottom, where a synth plays.
pub const HINT: &str = "q quit  ? help  [ ] preset";
/// The key hint without a synth (`monitor --tui`): nothing to switch.
pub const LISTEN_HINT: &str = "q quit  ? help";
/// The hint when the computer keyboard plays: most of its keys are notes.
pub const KEYS_HINT: &str = "Esc quit  ? help  a…' play  z x octave  c v velocity";
/// What [`KEYS_HINT`] adds where takes are recorded (`play`).
pub const KEYS_BUTTONS_HINT: &str = "  r● Space■ Enter▶";

/// Draws the screen.
pub fn ui(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Draws the screen into a buffer (what [`ui`] does with the frame's).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!("terminal too small ({}×{})", area.width, area.height);
        if !area.is_empty() {
            buf.set_stringn(
                area.x,
                area.y,
                text,
                usize::from(area.width),
                Style::default(),
            );
        }
        return;
    }
    let hint = area.height >= 8;
    let [title, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(u16::from(hint)),
    ])
    .areas(area);
    status_line(app, title, buf);
    if hint {
        hint_line(app, bottom, buf);
    }
    let (keyboard, panel) = heights(body.height, panel_height(body.width));
    let log = body.height - keyboard - panel;
    let [keyboard_area, panel_area, log_area] = Layout::vertical([
        Constraint::Length(keyboard),
        Constraint::Length(panel),
        Constraint::Length(log),
    ])
    .areas(body);
    keyboard_section(app, keyboard_area, buf);
    if panel > 0 {
        panel_section(app, panel_area, buf);
    }
    if log >= 2 {
        log_section(app, log_area, buf);
    }
    if app.help_shown() {
        help(app, area, buf);
    }
}

/// Rows for the keyboard section and the panel section in a body this tall.
/// Each section has a title row; the keyboard wants 4 key rows and a label
/// row, the panel its rows, the log at least three rows.
fn heights(body: u16, panel_rows: u16) -> (u16, u16) {
    let full_panel = panel_rows + 1;
    let candidates = [
        (6, full_panel, 3),
        (5, full_panel, 3),
        (4, full_panel, 3),
        (4, full_panel, 2),
        (4, full_panel, 0),
        (4, panel_rows, 0),
        (6, 0, 0),
        (5, 0, 0),
        (4, 0, 0),
    ];
    candidates
        .into_iter()
        .find(|(k, p, l)| k + p + l <= body)
        .map_or((body, 0), |(k, p, _)| (k, p))
}

fn section<'a>(app: &App, title: impl Into<Line<'a>>) -> Block<'a> {
    let style = if app.is_monochrome() {
        Style::default()
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::new()
        .borders(Borders::TOP)
        .border_style(style)
        .title(
            title
                .into()
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
}

fn keyboard_section(app: &App, area: Rect, buf: &mut Buffer) {
    let keys = KeyboardView::new(app);
    let inner = if area.height >= 4 {
        section(app, "").inner(area)
    } else {
        area
    };
    // The keys drawn, not the range asked for: wide views draw more.
    let (lo, hi) = keys.drawn_range(inner).unwrap_or(keys.range);
    let naming = app.naming();
    let mut title = format!(" Keyboard {}–{} ", naming.name(lo), naming.name(hi));
    match app.octave_shift() {
        0 => {}
        shift => title.push_str(&format!("(octave {shift:+}) ")),
    }
    if app.is_monochrome() {
        title.push_str(&format!(" {HELD_MARK} held  {SUSTAIN_MARK} pedal "));
    }
    if area.height >= 4 {
        section(app, title).render(area, buf);
    }
    keys.render(inner, buf);
}

fn panel_section(app: &App, area: Rect, buf: &mut Buffer) {
    let inner = if area.height > panel_height(area.width) {
        let block = section(
            app,
            format!(" Controls  ch {} ", app.control_channel().as_int() + 1),
        );
        let inner = block.inner(area);
        block.render(area, buf);
        inner
    } else {
        area
    };
    PanelView::new(app).render(inner, buf);
}

fn log_section(app: &App, area: Rect, buf: &mut Buffer) {
    let block = section(app, " Events ");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 {
        return;
    }
    let stream_style = if app.is_monochrome() {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    };
    // Newest first, until the rows are full: an event is one row (cut at
    // the edge), a message wraps so that its advice is read whole; the
    // oldest one shown may lose its first rows.
    let mut rows_left = inner.height;
    let mut shown = Vec::new();
    for (kind, line) in app.log().rev() {
        if rows_left == 0 {
            break;
        }
        let paragraph = match kind {
            LogKind::Event => Paragraph::new(line),
            LogKind::Stream => Paragraph::new(line)
                .style(stream_style)
                .wrap(Wrap { trim: true }),
        };
        let rows = u16::try_from(paragraph.line_count(inner.width))
            .unwrap_or(u16::MAX)
            .max(1);
        let visible = rows.min(rows_left);
        shown.push((paragraph.scroll((rows - visible, 0)), visible));
        rows_left -= visible;
    }
    let mut y = inner.y;
    for (paragraph, rows) in shown.into_iter().rev() {
        paragraph.render(
            Rect {
                y,
                height: rows,
                ..inner
            },
            buf,
        );
        y += rows;
    }
}

/// `AKM322 (system port)  → default  256fr 5.8ms  3 voices  load 12%
/// 0 dropouts  ♪ preset  ● REC 01:23`; pieces of low importance go first
/// when the line is too long (load and voices, then timing, the audio
/// device, dropouts, the preset; the input and REC stay).
fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let mut pieces = status_pieces(app);
    let width = |pieces: &[(u8, String, Style)]| -> usize {
        pieces
            .iter()
            .map(|(_, text, _)| Span::raw(text.as_str()).width() + 2)
            .sum()
    };
    while width(&pieces) > usize::from(area.width) + 2 && pieces.len() > 1 {
        let least = pieces
            .iter()
            .enumerate()
            .min_by_key(|(_, (importance, _, _))| *importance)
            .map_or(0, |(i, _)| i);
        pieces.remove(least);
    }
    let mut spans = Vec::new();
    for (i, (_, text, style)) in pieces.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(text, style));
    }
    Line::from(spans).render(area, buf);
}

/// The status line's pieces: (importance, higher stays longer; text; style).
fn status_pieces(app: &App) -> Vec<(u8, String, Style)> {
    let status = app.status();
    let mono = app.is_monochrome();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let colour = |c: Color| {
        if mono {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    };
    // (importance: higher stays longer, text, style)
    let mut pieces: Vec<(u8, String, Style)> = Vec::new();
    let input = if status.input.is_empty() {
        app.source().title()
    } else {
        status.input.clone()
    };
    pieces.push((9, input, bold));
    match &status.audio {
        Some(device) => pieces.push((6, format!("→ {device}"), Style::default())),
        None => pieces.push((6, "no audio".into(), colour(Color::DarkGray))),
    }
    let mut timing = Vec::new();
    if let Some(frames) = status.buffer_frames {
        timing.push(format!("{frames}fr"));
    }
    if let Some(ms) = status.latency_ms {
        timing.push(format!("{ms:.1}ms"));
    }
    if !timing.is_empty() {
        pieces.push((5, timing.join(" "), Style::default()));
    }
    if status.audio.is_some() {
        pieces.push((4, format!("{} voices", status.voices), Style::default()));
        let load = if status.load_percent >= 80.0 {
            colour(Color::Red)
        } else {
            Style::default()
        };
        pieces.push((4, format!("load {:.0}%", status.load_percent), load));
        let dropouts = if status.dropouts > 0 {
            colour(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        pieces.push((7, format!("{} dropouts", status.dropouts), dropouts));
    }
    if let Some(problems) = &status.input_problems {
        let style = colour(Color::Yellow).add_modifier(Modifier::BOLD);
        pieces.push((7, format!("⚠ {problems}"), style));
    }
    if let Some(preset) = &status.preset {
        pieces.push((8, format!("♪ {preset}"), colour(Color::Cyan)));
    }
    if let Some(keys) = status.keys {
        let naming = app.naming();
        let text = format!("a={} vel {}", naming.name(keys.base), keys.velocity);
        pieces.push((8, text, Style::default()));
    }
    if let Some(elapsed) = status.recording {
        let secs = elapsed.as_secs();
        let style = if mono {
            bold.add_modifier(Modifier::REVERSED)
        } else {
            bold.fg(Color::Red)
        };
        pieces.push((
            10,
            format!("● REC {:02}:{:02}", secs / 60, secs % 60),
            style,
        ));
    }
    pieces
}

fn hint_line(app: &App, area: Rect, buf: &mut Buffer) {
    if let Some(why) = app.ended() {
        let style = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        Line::styled(format!(" {why} "), style).render(area, buf);
        return;
    }
    let text = match (app.source().via, app.plays()) {
        (Via::Keys, true) => format!("{KEYS_HINT}{KEYS_BUTTONS_HINT}"),
        (Via::Keys, false) => KEYS_HINT.to_owned(),
        (_, true) => HINT.to_owned(),
        (_, false) => LISTEN_HINT.to_owned(),
    };
    let style = if app.is_monochrome() {
        Style::default()
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Line::styled(text, style).render(area, buf);
}

fn help(app: &App, area: Rect, buf: &mut Buffer) {
    let mut text: Vec<String> = vec![
        "q  Esc  Ctrl+C   quit".into(),
        "?                this help (Esc closes it)".into(),
    ];
    if app.plays() {
        text.push("]  +             next preset".into());
        text.push("[  -             previous preset".into());
    }
    if app.source().via == Via::Keys {
        text.extend(
            [
                "a s d f g h j k  white keys from C",
                "w e  t y u  o p  black keys",
                "z  x             octave down, up",
                "c  v             velocity down, up",
            ]
            .map(String::from),
        );
        if app.plays() {
            text.push("r  Space  Enter  ● record  ■ stop  ▶ play".into());
        }
    }
    text.extend([
        String::new(),
        "Keys: lit while held, the colour follows".into(),
        "velocity (green soft, yellow, red hard);".into(),
        format!("{SUSTAIN_MARK} blue: held by the sustain pedal."),
        format!("Without colour: {HELD_MARK} held, {SUSTAIN_MARK} pedal."),
        "The view follows the notes and the octave keys.".into(),
    ]);
    let width =
        (text.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16 + 4).min(area.width);
    let height = (text.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    Clear.render(popup, buf);
    let border = if app.is_monochrome() {
        Style::default()
    } else {
        Style::default().fg(Color::Cyan)
    };
    Paragraph::new(text.into_iter().map(Line::raw).collect::<Vec<_>>())
        .block(
            Block::bordered()
                .border_style(border)
                .title(" Help ")
                .title_style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .render(popup, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::names::NoteNaming;
    use crate::tui::app::tests::{bend, cc, deepcomposer, on, show};
    use crate::tui::app::Status;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::time::{Duration, Instant};

    pub(crate) fn lines(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect()
            })
            .collect()
    }

    pub(crate) fn sample_app() -> App {
        let now = Instant::now();
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        for event in [on(60, 100), on(64, 80), bend(12288), cc(21, 100)] {
            show(&mut app, &event, now);
        }
        app.set_status(Status {
            input: "AKM322 (system port)".into(),
            audio: Some("default".into()),
            buffer_frames: Some(256),
            latency_ms: Some(5.8),
            voices: 2,
            load_percent: 3.0,
            dropouts: 0,
            input_problems: None,
            preset: Some("Piano".into()),
            recording: Some(Duration::from_secs(83)),
            keys: None,
        });
        app
    }

    fn draw(terminal: &mut Terminal<TestBackend>, app: &App) -> Vec<String> {
        terminal.draw(|frame| ui(frame, app)).expect("draw");
        lines(terminal.backend().buffer())
    }

    fn has_all_sections(screen: &[String]) {
        let all = screen.join("\n");
        for part in [
            "Keyboard",
            "Controls",
            "Events",
            "Note on",
            HINT,
            "● REC 01:23",
            "Knob 1",
        ] {
            assert!(all.contains(part), "{part} missing:\n{all}");
        }
    }

    #[test]
    fn resizing_keeps_every_section() {
        let app = sample_app();
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).expect("terminal");
        let wide = draw(&mut terminal, &app);
        has_all_sections(&wide);
        terminal.backend_mut().resize(80, 24);
        let narrow = draw(&mut terminal, &app);
        has_all_sections(&narrow);
        assert_eq!(narrow.len(), 24);
        assert!(narrow[23].starts_with(HINT));
        assert_eq!(
            narrow[0].trim_end(),
            "AKM322 (system port)  → default  256fr 5.8ms  0 dropouts  ♪ Piano  ● REC 01:23"
        );
        assert!(wide[0].contains("2 voices  load 3%"), "{}", wide[0]);
    }

    #[test]
    fn every_size_draws_without_panicking() {
        let mut app = sample_app();
        for help in [false, true] {
            if help != app.help_shown() {
                app.handle_key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char('?'),
                ));
            }
            for width in (0..=32).chain([40, 59, 60, 61, 79, 80, 81, 90]) {
                for height in 0..=26 {
                    let mut terminal =
                        Terminal::new(TestBackend::new(width, height)).expect("terminal");
                    terminal.draw(|frame| ui(frame, &app)).expect("draw");
                }
            }
        }
        let mut terminal = Terminal::new(TestBackend::new(10, 5)).expect("terminal");
        let screen = draw(&mut terminal, &app);
        assert!(screen[0].starts_with("terminal t"), "{screen:?}");
    }

    #[test]
    fn help_overlay_is_centred() {
        let mut app = sample_app();
        app.handle_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('?'),
        ));
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let screen = draw(&mut terminal, &app).join("\n");
        assert!(
            screen.contains("Help") && screen.contains("next preset"),
            "{screen}"
        );
    }

    #[test]
    fn monochrome_screen_marks_held_keys() {
        let mut app = sample_app();
        app.monochrome(true);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let screen = draw(&mut terminal, &app);
        let buf = terminal.backend().buffer();
        assert!(buf
            .content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
        let marked = screen
            .iter()
            .filter(|l| l.contains(&HELD_MARK.repeat(3)))
            .count();
        assert!(marked >= 1, "{screen:#?}");
    }

    #[test]
    fn the_hint_and_the_header_say_what_is_there() {
        let mut app = sample_app();
        app.set_status(Status::default());
        let mut terminal = Terminal::new(TestBackend::new(40, 24)).expect("terminal");
        let screen = draw(&mut terminal, &app);
        assert_eq!(screen[23].trim_end(), LISTEN_HINT, "no synth, no presets");
        // 40 columns draw 19 white keys of the DeepComposer's 19, F2–C5.
        assert!(screen[1].starts_with(" Keyboard F2–C5 "), "{}", screen[1]);
        terminal.backend_mut().resize(120, 24);
        let screen = draw(&mut terminal, &app);
        assert!(screen[1].starts_with(" Keyboard A1–A5 "), "{}", screen[1]);
        app.end("keyboard disconnected — press any key to leave");
        let screen = draw(&mut terminal, &app);
        assert_eq!(
            screen[23].trim(),
            "keyboard disconnected — press any key to leave"
        );
    }

    #[test]
    fn screen_at_80_by_24() {
        let mut app = sample_app();
        app.monochrome(true);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let screen = draw(&mut terminal, &app);
        let expected = [
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │   │   │   │   │   │   │   │   │   │   │   │###│   │###│   │   │   │   │   │  ",
            "                 C3                          C4                          C5     ",
        ];
        assert_eq!(screen[2..7], expected, "{}", screen.join("\n"));
        assert!(screen[1].starts_with(" Keyboard F2–C5  # held  ▒ pedal ─"));
        assert!(screen[8].starts_with("Pitch      ──────────┃█████───── +4096"));
        assert!(screen[10].starts_with("Knob 1     █████████████████░░░░   100"));
        assert!(screen[12].starts_with(" ▶ Play   ■ Stop   ● Rec    Pedal  up    Last  E4 vel 80"));
        assert!(screen[14].contains("Note on          ch 1  C4 (60)   velocity 100"));
        println!("{}", screen.join("\n"));
    }
}
