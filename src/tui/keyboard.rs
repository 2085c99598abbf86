//! The piano keyboard widget: white and black keys drawn with box
//! characters over 1–4 rows plus a row of octave names under the C keys.
//!
//! The shown range (the device's keys, moved by octaves to where the
//! player is) is always drawn; wider areas add keys on both sides, narrower
//! ones scroll to the note played last. White keys are 4, 3 or 2 columns
//! wide, whichever fits. Pressed keys are filled with a colour that follows
//! velocity; keys held by the pedal show [`SUSTAIN_MARK`] in blue. In
//! monochrome mode pressed keys show [`HELD_MARK`] instead of a colour.

use super::app::{App, KeyState};
use crate::decode::names::NoteNaming;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

/// The character that fills held keys in monochrome mode.
pub const HELD_MARK: &str = "#";
/// The character that fills keys sounding only because of the pedal.
pub const SUSTAIN_MARK: &str = "▒";
/// How an unpressed black key is drawn.
pub const BLACK_KEY: &str = "█";
/// The line between two white keys.
pub const KEY_BORDER: &str = "│";

/// Number of white keys in 0–127 (C-1 to G9).
const WHITE_KEYS: i32 = 75;
/// Semitone of each white key in an octave.
const WHITE_SEMITONES: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];

/// The colour of a held key: soft, medium and hard playing.
pub fn velocity_colour(velocity: u8) -> Color {
    match velocity {
        0..=42 => Color::Green,
        43..=95 => Color::Yellow,
        _ => Color::Red,
    }
}

/// The colour of the sustain mark.
pub const SUSTAIN_COLOUR: Color = Color::Blue;

/// True for C#, D#, F#, G#, A#.
pub fn is_black(note: u8) -> bool {
    matches!(note % 12, 1 | 3 | 6 | 8 | 10)
}

/// Index of a white key among all white keys (C-1 = 0); a black key gets
/// the index of the white key above it.
fn white_index(note: u8) -> i32 {
    const BELOW: [i32; 12] = [0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6];
    i32::from(note / 12) * 7 + BELOW[usize::from(note % 12)]
}

/// The note of a white key index.
fn white_note(index: i32) -> u8 {
    let index = index.clamp(0, WHITE_KEYS - 1);
    (index / 7 * 12) as u8 + WHITE_SEMITONES[(index % 7) as usize]
}

/// The data the keyboard is drawn from.
#[derive(Debug, Clone)]
pub struct KeyboardView {
    /// How each note looks.
    pub keys: [KeyState; 128],
    /// The range that must be shown, lowest and highest note.
    pub range: (u8, u8),
    /// The note to scroll to when the range does not fit (the last one played).
    pub focus: Option<u8>,
    /// How the C keys are labelled.
    pub naming: NoteNaming,
    /// Characters instead of colours.
    pub monochrome: bool,
}

impl KeyboardView {
    /// The keyboard as `app` has it.
    pub fn new(app: &App) -> Self {
        KeyboardView {
            keys: app.key_states(),
            range: app.shown_range(),
            focus: app.last_note().map(|(note, _)| note),
            naming: app.naming(),
            monochrome: app.is_monochrome(),
        }
    }
}

impl KeyboardView {
    /// The lowest and highest key drawn in `area` (white keys both), which
    /// is more than [`KeyboardView::range`] where the area is wide and less
    /// where it is narrow; `None` when no key fits.
    pub fn drawn_range(&self, area: Rect) -> Option<(u8, u8)> {
        Geometry::new(self, area).map(|g| g.notes())
    }
}

/// Where the keys go in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    /// Column of the first white key's left border.
    x0: u16,
    /// White index of the first key shown.
    first: i32,
    /// White keys shown.
    count: i32,
    /// Columns per white key (its left border included).
    width: u16,
    /// Rows of keys.
    key_rows: u16,
    /// Rows black keys reach down.
    black_rows: u16,
    /// Row of the note names, when there is room.
    label_row: Option<u16>,
}

impl Geometry {
    fn new(view: &KeyboardView, area: Rect) -> Option<Geometry> {
        if area.width < 3 || area.height == 0 {
            return None;
        }
        let (lo, hi) = view.range;
        let (lo, hi) = (lo.min(hi).min(127), hi.max(lo).min(127));
        let lo_w = white_index(lo) - i32::from(is_black(lo));
        let hi_w = white_index(hi);
        let needed = hi_w - lo_w + 1;
        let room = i32::from(area.width) - 1;
        let width = [4, 3, 2]
            .into_iter()
            .find(|w| needed * w <= room)
            .unwrap_or(2);
        let fit = (room / width).min(WHITE_KEYS);
        let (first, count) = if fit >= needed {
            let extra = fit - needed;
            let mut first = lo_w - extra / 2;
            let mut last = hi_w + (extra - extra / 2);
            if first < 0 {
                last -= first;
                first = 0;
            }
            if last >= WHITE_KEYS {
                first -= last - (WHITE_KEYS - 1);
                last = WHITE_KEYS - 1;
            }
            let first = first.max(0);
            (first, last - first + 1)
        } else {
            let centre = match view.focus {
                Some(note) if (lo..=hi).contains(&note) => white_index(note),
                _ => (lo_w + hi_w) / 2,
            };
            let first = (centre - fit / 2).clamp(lo_w, hi_w - fit + 1);
            (first, fit)
        };
        let width = width as u16;
        let total = count as u16 * width + 1;
        let label = area.height >= 3;
        let key_rows = (area.height - u16::from(label)).min(4);
        Some(Geometry {
            x0: area.x + (area.width - total) / 2,
            first,
            count,
            width,
            key_rows,
            black_rows: key_rows.saturating_sub(1).max(1),
            label_row: label.then_some(area.y + key_rows),
        })
    }

    /// Column of the left border of the `i`-th white key shown.
    fn border(&self, i: i32) -> u16 {
        self.x0 + i as u16 * self.width
    }

    /// Columns a black key covers when it sits on the border at `b`.
    fn black_columns(&self, b: u16) -> std::ops::RangeInclusive<u16> {
        match self.width {
            4.. => b - 1..=b + 1,
            3 => b - 1..=b,
            _ => b..=b,
        }
    }

    /// First and last note shown.
    fn notes(&self) -> (u8, u8) {
        (
            white_note(self.first),
            white_note(self.first + self.count - 1),
        )
    }
}

impl KeyboardView {
    fn key_style(&self, state: KeyState, black: bool, in_range: bool) -> (&'static str, Style) {
        if self.monochrome {
            return match state {
                KeyState::Up if black => (BLACK_KEY, Style::default()),
                KeyState::Up => (" ", Style::default()),
                KeyState::Held(_) => (HELD_MARK, Style::default().add_modifier(Modifier::BOLD)),
                KeyState::Sustained => (SUSTAIN_MARK, Style::default()),
            };
        }
        let base = if black {
            Color::Black
        } else if in_range {
            Color::White
        } else {
            Color::Gray
        };
        match state {
            KeyState::Up if black => (BLACK_KEY, Style::default().fg(Color::Black).bg(base)),
            KeyState::Up => (" ", Style::default().fg(Color::Black).bg(base)),
            KeyState::Held(velocity) => {
                let colour = velocity_colour(velocity);
                (" ", Style::default().fg(colour).bg(colour))
            }
            KeyState::Sustained => (SUSTAIN_MARK, Style::default().fg(SUSTAIN_COLOUR).bg(base)),
        }
    }

    fn in_range(&self, note: u8) -> bool {
        (self.range.0.min(self.range.1)..=self.range.1.max(self.range.0)).contains(&note)
    }

    fn put(buf: &mut Buffer, x: u16, y: u16, symbol: &str, style: Style) {
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(symbol).set_style(style);
        }
    }
}

impl Widget for &KeyboardView {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        let Some(g) = Geometry::new(self, area) else {
            return;
        };
        let border_style = if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(Color::DarkGray).bg(Color::White)
        };
        for row in 0..g.key_rows {
            let y = area.y + row;
            for i in 0..g.count {
                let note = white_note(g.first + i);
                let (symbol, style) =
                    self.key_style(self.keys[usize::from(note)], false, self.in_range(note));
                let b = g.border(i);
                KeyboardView::put(buf, b, y, KEY_BORDER, border_style);
                for x in b + 1..b + g.width {
                    KeyboardView::put(buf, x, y, symbol, style);
                }
            }
            KeyboardView::put(buf, g.border(g.count), y, KEY_BORDER, border_style);
            if row >= g.black_rows {
                continue;
            }
            for i in 0..g.count - 1 {
                let note = white_note(g.first + i) + 1;
                if !is_black(note) {
                    continue;
                }
                let (symbol, style) =
                    self.key_style(self.keys[usize::from(note)], true, self.in_range(note));
                for x in g.black_columns(g.border(i + 1)) {
                    KeyboardView::put(buf, x, y, symbol, style);
                }
            }
        }
        let Some(y) = g.label_row else {
            return;
        };
        let right = area.x + area.width;
        for i in 0..g.count {
            let note = white_note(g.first + i);
            if note % 12 != 0 {
                continue;
            }
            let x = g.border(i);
            let style = if self.monochrome || self.in_range(note) {
                Style::default()
            } else {
                Style::default().fg(Color::DarkGray)
            };
            let name = self.naming.name(note);
            buf.set_stringn(x, y, &name, usize::from(right - x), style);
        }
        // Arrows tell of sounding keys that are scrolled out of view.
        let (first, last) = g.notes();
        let sounding = |note: usize| self.keys[note] != KeyState::Up;
        if (0..usize::from(first)).any(sounding) {
            KeyboardView::put(buf, area.x, y, "◀", Style::default());
        }
        if (usize::from(last) + 1..128).any(sounding) {
            KeyboardView::put(buf, right - 1, y, "▶", Style::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::tests::{cc, deepcomposer, off, on, show};
    use std::time::Instant;

    fn view(held: &[(u8, u8)], monochrome: bool) -> KeyboardView {
        let mut keys = [KeyState::Up; 128];
        for &(note, velocity) in held {
            keys[usize::from(note)] = KeyState::Held(velocity);
        }
        KeyboardView {
            keys,
            range: (41, 72),
            focus: None,
            naming: NoteNaming::default(),
            monochrome,
        }
    }

    fn render(view: &KeyboardView, width: u16, height: u16) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
        view.render(buf.area, &mut buf);
        buf
    }

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_owned())
            .collect()
    }

    /// The cells of the bottom key row (white keys only, no black key
    /// over them) and of the top row (black keys) that belong to `note`.
    fn cells_of(view: &KeyboardView, area: Rect, note: u8) -> Vec<(u16, u16)> {
        let g = Geometry::new(view, area).expect("fits");
        if is_black(note) {
            let i = (0..g.count)
                .find(|i| white_note(g.first + i) + 1 == note)
                .expect("shown");
            g.black_columns(g.border(i + 1))
                .map(|x| (x, area.y))
                .collect()
        } else {
            let i = (0..g.count)
                .find(|i| white_note(g.first + i) == note)
                .expect("shown");
            let y = area.y + g.key_rows - 1;
            (g.border(i) + 1..g.border(i + 1)).map(|x| (x, y)).collect()
        }
    }

    #[test]
    fn deepcomposer_range_fits_80_columns_at_four_per_key() {
        let v = view(&[], true);
        let g = Geometry::new(&v, Rect::new(0, 0, 80, 5)).expect("fits");
        assert_eq!((g.width, g.count), (4, 19));
        assert_eq!(g.notes(), (41, 72));
        let g = Geometry::new(&v, Rect::new(0, 0, 120, 5)).expect("fits");
        assert_eq!(g.width, 4);
        let (first, last) = g.notes();
        assert!(first < 41 && last > 72, "wider: more keys around");
        let below = white_index(41) - white_index(first);
        let above = white_index(last) - white_index(72);
        assert!(below.abs_diff(above) <= 1, "symmetric: {below} vs {above}");
        let g = Geometry::new(&v, Rect::new(0, 0, 40, 5)).expect("fits");
        assert_eq!(g.width, 2, "narrow: two columns");
        assert_eq!(g.count, 19, "still the whole range");
    }

    #[test]
    fn monochrome_drawing_of_c4_and_e4_held() {
        let v = view(&[(60, 100), (64, 40)], true);
        let buf = render(&v, 80, 5);
        let expected = [
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │  ███ ███ ███  │  ███ ███  │  ███ ███ ███  │##███ ███##│  ███ ███ ███  │   │  ",
            " │   │   │   │   │   │   │   │   │   │   │   │###│   │###│   │   │   │   │   │  ",
            "                 C3                          C4                          C5     ",
        ];
        for (y, line) in expected.iter().enumerate() {
            assert_eq!(row(&buf, y as u16), *line, "row {y}");
        }
    }

    #[test]
    fn held_keys_are_marked_at_80_and_120_columns() {
        for (width, height) in [(80, 5), (120, 5), (80, 3), (120, 4)] {
            for monochrome in [true, false] {
                let v = view(&[(60, 100), (64, 20), (66, 70)], monochrome);
                let area = Rect::new(0, 0, width, height);
                let buf = render(&v, width, height);
                let g = Geometry::new(&v, area).expect("fits");
                let (first, last) = g.notes();
                // Black keys at the very edges are not drawn.
                for note in (first..=last).filter(|&n| !is_black(n) || (n > first && n < last)) {
                    for (x, y) in cells_of(&v, area, note) {
                        let cell = &buf[(x, y)];
                        let held = [60, 64, 66].contains(&note);
                        if monochrome {
                            assert_eq!(
                                cell.symbol() == HELD_MARK,
                                held,
                                "{width}×{height} note {note} at {x},{y}"
                            );
                        } else {
                            let lit = [Color::Red, Color::Green, Color::Yellow].contains(&cell.bg);
                            assert_eq!(lit, held, "{width}×{height} note {note} at {x},{y}");
                        }
                    }
                }
                if !monochrome {
                    let shade = |note| buf[cells_of(&v, area, note)[0]].bg;
                    assert_eq!(shade(60), Color::Red, "hard");
                    assert_eq!(shade(64), Color::Green, "soft");
                    assert_eq!(shade(66), Color::Yellow, "medium");
                }
            }
        }
    }

    #[test]
    fn c_keys_are_labelled_under_their_left_edge() {
        let v = view(&[], false);
        let area = Rect::new(0, 0, 120, 5);
        let buf = render(&v, 120, 5);
        let g = Geometry::new(&v, area).expect("fits");
        let labels = row(&buf, 4);
        for c in [36u8, 48, 60, 72] {
            let i = (0..g.count)
                .find(|i| white_note(g.first + i) == c)
                .expect("C shown");
            let x = usize::from(g.border(i));
            let name = NoteNaming::default().name(c);
            assert_eq!(labels.chars().skip(x).take(2).collect::<String>(), name);
        }
        assert_eq!(
            labels.split_whitespace().collect::<Vec<_>>(),
            ["C2", "C3", "C4", "C5"]
        );
        let yamaha = KeyboardView {
            naming: NoteNaming { middle_c_octave: 3 },
            ..v
        };
        let buf = render(&yamaha, 80, 5);
        assert_eq!(
            row(&buf, 4).split_whitespace().collect::<Vec<_>>(),
            ["C2", "C3", "C4"]
        );
    }

    #[test]
    fn sustained_keys_differ_from_held_keys() {
        let now = Instant::now();
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        show(&mut app, &on(60, 100), now);
        show(&mut app, &cc(64, 127), now);
        show(&mut app, &on(62, 100), now);
        show(&mut app, &off(62), now);
        show(&mut app, &on(61, 100), now);
        show(&mut app, &off(61), now);
        let area = Rect::new(0, 0, 80, 5);
        for monochrome in [true, false] {
            app.monochrome(monochrome);
            let v = KeyboardView::new(&app);
            let buf = render(&v, 80, 5);
            let held = &buf[cells_of(&v, area, 60)[0]];
            for note in [61, 62] {
                let sustained = &buf[cells_of(&v, area, note)[0]];
                assert_eq!(sustained.symbol(), SUSTAIN_MARK, "note {note}");
                assert_ne!(sustained, held);
                if !monochrome {
                    assert_eq!(sustained.fg, SUSTAIN_COLOUR);
                }
            }
        }
    }

    #[test]
    fn the_view_follows_an_octave_shift() {
        let mut app = App::new(deepcomposer(), NoteNaming::default());
        app.monochrome(true);
        show(&mut app, &on(84, 100), Instant::now());
        let v = KeyboardView::new(&app);
        let area = Rect::new(0, 0, 80, 5);
        let (first, last) = Geometry::new(&v, area).expect("fits").notes();
        assert_eq!((first, last), (53, 84), "F3–C6");
        let buf = render(&v, 80, 5);
        for (x, y) in cells_of(&v, area, 84) {
            assert_eq!(buf[(x, y)].symbol(), HELD_MARK);
        }
        assert_eq!(
            row(&buf, 4).split_whitespace().collect::<Vec<_>>(),
            ["C4", "C5", "C6"]
        );
    }

    #[test]
    fn narrow_areas_scroll_to_the_played_note() {
        let mut v = view(&[(72, 100)], true);
        v.focus = Some(72);
        let area = Rect::new(0, 0, 21, 5);
        let g = Geometry::new(&v, area).expect("fits");
        assert_eq!(g.width, 2);
        let (first, last) = g.notes();
        assert!((first..=last).contains(&72) && first > 41, "{first}–{last}");
        let buf = render(&v, 21, 5);
        assert!(row(&buf, 3).contains(HELD_MARK));
        v.focus = Some(41);
        v.keys[72] = KeyState::Up;
        v.keys[70] = KeyState::Held(1);
        let buf = render(&v, 21, 5);
        assert_eq!(Geometry::new(&v, area).expect("fits").notes().0, 41);
        assert_eq!(buf[(20, 4)].symbol(), "▶", "a held key out of view");
    }

    #[test]
    fn tiny_areas_do_not_panic() {
        let v = view(&[(60, 100), (61, 100)], false);
        for width in 0..30 {
            for height in 0..7 {
                let mut buf = Buffer::empty(Rect::new(0, 0, width.max(1), height.max(1)));
                v.render(Rect::new(0, 0, width, height), &mut buf);
                v.render(Rect::new(3, 2, width, height), &mut buf);
            }
        }
    }
}
