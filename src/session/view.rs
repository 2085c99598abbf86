//! How a session shows what happens: event lines on standard output and
//! status lines on standard error, written by a thread of their own through
//! a bounded queue (a stalled or closed pipe loses lines, never the sound,
//! the take or its journal); or the full-screen terminal keyboard.

use super::config::DisplayChoice;
use crate::decode::format::Formatter;
use crate::decode::names::NoteNaming;
use crate::decode::tracker::{NoteTracker, Transport};
use crate::input::keys::{transport_key, KeyAction, KeysState, BUTTONS_LINE};
use crate::input::worker::Worker;
use crate::input::{Feed, MidiEvent, SourceInfo, Via};
use crate::terminal::{read_keys, wait_for_input, KeyRoute, RawMode, TerminalInput};
use crate::tui::{Action, App, Status, TerminalGuard};
use crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines waiting for the writer: enough for a burst of a fast file replay.
const LINE_QUEUE: usize = 8192;
/// The shortest time between two redraws: at most 60 a second.
const FRAME: Duration = Duration::from_millis(16);
/// How long an idle view waits for input before looking at the screen.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// One line for the writer thread.
enum Line {
    /// For standard output.
    Event(String),
    /// For standard error, after "composer-probe: ".
    Status(String),
}

/// The line writer: its queue and its thread.
struct Lines {
    /// `None` once the writer is gone.
    sender: Option<SyncSender<Line>>,
    /// `None` once joined.
    writer: Option<JoinHandle<io::Result<()>>>,
    /// Lines lost because the writer fell behind.
    dropped: u64,
}

impl Lines {
    fn start(out: Box<dyn Write + Send>, status: Box<dyn Write + Send>) -> Self {
        let (sender, receiver) = mpsc::sync_channel(LINE_QUEUE);
        let writer = std::thread::spawn(move || write_lines(&receiver, out, status));
        Lines {
            sender: Some(sender),
            writer: Some(writer),
            dropped: 0,
        }
    }

    /// Queues a line without ever waiting.
    fn send(&mut self, line: Line) {
        let Some(sender) = &self.sender else {
            return;
        };
        match sender.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.dropped += 1,
            Err(TrySendError::Disconnected(_)) => self.sender = None,
        }
    }

    /// Writes what is queued and waits for the writer: the session is over.
    fn finish(&mut self) -> io::Result<()> {
        if let Some(sender) = self.sender.take() {
            if self.dropped > 0 {
                let _ = sender.send(Line::Status(format!(
                    "{} lines were not shown: the output was not read fast enough",
                    self.dropped
                )));
            }
        }
        match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the output thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Lines {
    /// A session that failed still writes out what it said before.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The writer thread: event lines until standard output fails (then
/// they are dropped, and the failure is the thread's result), status lines
/// as long as standard error takes them.
fn write_lines(
    lines: &Receiver<Line>,
    mut out: Box<dyn Write + Send>,
    mut status: Box<dyn Write + Send>,
) -> io::Result<()> {
    let mut failed = None;
    for line in lines {
        match line {
            Line::Event(_) if failed.is_some() => {}
            Line::Event(text) => {
                if let Err(error) = writeln!(out, "{text}").and_then(|()| out.flush()) {
                    failed = Some(error);
                }
            }
            Line::Status(text) => {
                let _ = writeln!(status, "composer-probe: {text}");
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => out.flush(),
    }
}

/// The terminal keyboard view and its drawing cadence.
struct Screen {
    /// The terminal's reader handing keys to the view; `None` when the
    /// computer keyboard is the instrument (its keys are MIDI). Stopped
    /// before the screen goes.
    _keys: Option<Worker>,
    app: Box<App>,
    guard: TerminalGuard,
    /// When the screen was last drawn (for the 60-per-second cap).
    last_draw: Instant,
}

/// Where the session's words and events go.
pub(crate) struct View {
    /// The computer keyboard's octave and velocity (`--keys`), followed
    /// key by key as its translator sets them.
    keys: Option<KeysState>,
    /// The last thing said about the stream: why it ended, after an unplug.
    last_stream_event: Option<String>,
    /// Status lines said while the view stays up after the session ended,
    /// written out again once it is gone.
    after_end: Vec<String>,
    lines: Lines,
    formatter: Formatter,
    /// The terminal view, while it is up.
    screen: Option<Screen>,
    /// No event lines; what happens to the stream is a status line.
    quiet: bool,
}

impl View {
    /// Starts the line writer on `out` (events, unless `display` is
    /// [`DisplayChoice::Quiet`]) and `status` (status).
    pub(crate) fn start(
        out: Box<dyn Write + Send>,
        status: Box<dyn Write + Send>,
        display: DisplayChoice,
    ) -> Self {
        View {
            lines: Lines::start(out, status),
            keys: None,
            last_stream_event: None,
            after_end: Vec::new(),
            formatter: Formatter {
                device: None,
                naming: NoteNaming::default(),
            },
            screen: None,
            quiet: display == DisplayChoice::Quiet,
        }
    }

    /// Shows events from `info`: names its panel, and takes the terminal
    /// for the keyboard view when `terminal` is asked for, its keys coming
    /// in through `feed`.
    pub(crate) fn show(&mut self, info: &SourceInfo, terminal: bool, feed: Feed) -> io::Result<()> {
        self.formatter.device = info.device;
        // A source shown anew (a keyboard taking over) starts afresh.
        self.keys = (info.via == Via::Keys).then(KeysState::default);
        if self.keys.is_some() && !terminal {
            // `play` and `record`: both take the buttons.
            self.lines.send(Line::Status(BUTTONS_LINE.to_owned()));
        }
        if terminal {
            let mut app = App::new(info.clone(), NoteNaming::default());
            app.monochrome(crate::tui::terminal::wants_monochrome());
            let guard = TerminalGuard::enter()?;
            let keys = match info.via {
                Via::Keys => None,
                _ => Some(read_keys(feed, RawMode::enter(false)?, KeyRoute::View)),
            };
            self.screen = Some(Screen {
                _keys: keys,
                app: Box::new(app),
                guard,
                last_draw: Instant::now() - FRAME,
            });
        }
        Ok(())
    }

    /// A key of the computer keyboard: what the view makes of it. Under
    /// `--keys` only the keys that play no note come here: octave and
    /// velocity (followed, to be shown), `r` ● Space ■ Enter ▶ (lines
    /// and view alike), then the view's own keys.
    pub(crate) fn key(&mut self, key: KeyEvent) -> Action {
        if let Some(keys) = &mut self.keys {
            if keys.press(key) == KeyAction::Changed {
                return Action::None;
            }
            // `monitor --tui` has no takes: its r, Space and Enter do nothing.
            let buttons = self.screen.as_ref().is_none_or(|s| s.app.plays());
            if let Some(pressed) = transport_key(key).filter(|_| buttons) {
                match &mut self.screen {
                    Some(screen) => screen.app.press(pressed, Instant::now()),
                    None => self.lines.send(Line::Status(format!(
                        "{} pressed",
                        match pressed {
                            Transport::Record => "● record (r)",
                            Transport::Stop => "■ stop (Space)",
                            Transport::Play => "▶ play (Enter)",
                        }
                    ))),
                }
                return Action::Transport(pressed);
            }
        }
        match &mut self.screen {
            Some(screen) => screen.app.handle_key(key),
            None => Action::None,
        }
    }

    /// Gives the terminal back; later words go to the lines.
    pub(crate) fn leave_screen(&mut self) {
        self.screen = None;
        for text in std::mem::take(&mut self.after_end) {
            self.lines.send(Line::Status(text));
        }
    }

    /// A status line (a take saved, a warning).
    pub(crate) fn status(&mut self, text: &str) {
        match &mut self.screen {
            Some(screen) => {
                screen.app.note_stream_event(text);
                if screen.app.ended().is_some() {
                    self.after_end.push(text.to_owned());
                }
            }
            None => self.lines.send(Line::Status(text.to_owned())),
        }
    }

    /// The session ended because the keyboard went away: the view (and
    /// its history) stays up with the reason until a key is pressed (see
    /// [`View::finish`]); what is said meanwhile (the take saved) shows
    /// in it and again on the normal screen after it.
    pub(crate) fn keep_after_unplug(&mut self) {
        let why = self
            .last_stream_event
            .as_deref()
            .unwrap_or("the keyboard went away");
        if let Some(screen) = &mut self.screen {
            screen.app.end(&format!("{why} — press any key to leave"));
            // Its keys went with the stream: [`View::finish`] reads them.
            screen._keys = None;
        }
    }

    /// Shows the view that [`View::keep_after_unplug`] kept until a key is
    /// pressed or the terminal goes.
    fn wait_for_a_key(&mut self) -> io::Result<()> {
        let Some(screen) = &mut self.screen else {
            return Ok(());
        };
        if screen.app.ended().is_none() {
            return Ok(());
        }
        screen.guard.draw(&mut screen.app)?;
        loop {
            if wait_for_input(IDLE_WAIT) == TerminalInput::Closed {
                return Ok(());
            }
            while event::poll(Duration::ZERO)? {
                match event::read()? {
                    Event::Key(key) if key.kind != KeyEventKind::Release => return Ok(()),
                    Event::Resize(..) => screen.guard.draw(&mut screen.app)?,
                    _ => {}
                }
            }
        }
    }

    /// A MIDI event, with the transport button it pressed and the
    /// tracker's state after it.
    pub(crate) fn event(
        &mut self,
        event: &MidiEvent,
        transport: Option<Transport>,
        tracker: &NoteTracker,
    ) {
        match &mut self.screen {
            Some(screen) => screen.app.apply(event, transport, tracker, Instant::now()),
            None if self.quiet => {}
            None => {
                let line = self.formatter.line(event, transport);
                self.lines.send(Line::Event(line));
            }
        }
    }

    /// Something that happened to the stream (unplugged, back).
    pub(crate) fn stream_event(&mut self, t_us: u64, text: &str) {
        self.last_stream_event = Some(text.to_owned());
        match &mut self.screen {
            Some(screen) => screen.app.note_stream_event(text),
            None if self.quiet => self.lines.send(Line::Status(text.to_owned())),
            None => {
                let line = format!("{:>12.6}  {text}", t_us as f64 / 1e6);
                self.lines.send(Line::Event(line));
            }
        }
    }

    /// How long to wait for input before the screen needs attention again:
    /// the next frame when something is waiting to be drawn, the end of a
    /// button flash, or `idle` at most.
    pub(crate) fn wait(&self, idle: Duration) -> Duration {
        let Some(screen) = &self.screen else {
            return idle;
        };
        let now = Instant::now();
        let next_frame = (screen.last_draw + FRAME).saturating_duration_since(now);
        if screen.app.is_dirty() {
            return next_frame;
        }
        let flash = screen
            .app
            .next_deadline()
            .map_or(idle, |at| at.saturating_duration_since(now));
        flash.clamp(next_frame, idle.max(next_frame))
    }

    /// Redraws if anything changed (terminal only; `status` is asked for
    /// only then).
    pub(crate) fn refresh(&mut self, status: impl FnOnce() -> Status) -> io::Result<()> {
        let Some(screen) = &mut self.screen else {
            return Ok(());
        };
        let mut status = status();
        status.keys = self.keys;
        screen.app.set_status(status);
        let now = Instant::now();
        screen.app.tick(now);
        if now >= screen.last_draw + FRAME {
            screen.guard.draw(&mut screen.app)?;
            screen.last_draw = now;
        }
        Ok(())
    }

    /// Leaves the screen (a view kept after an unplug once a key is
    /// pressed) and writes out every line still queued.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        // A view that cannot be shown any more is left at once.
        let _ = self.wait_for_a_key();
        self.leave_screen();
        self.lines.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Standard output that has gone away (a closed pipe).
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Standard error, kept for the test to read.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_loses_event_lines_but_not_status_lines() {
        let kept = Kept::default();
        let mut lines = Lines::start(Box::new(Closed), Box::new(kept.clone()));
        lines.send(Line::Event("note".into()));
        lines.send(Line::Status("■ saved take.mid".into()));
        let result = lines.finish();
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let text = String::from_utf8(kept.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "composer-probe: ■ saved take.mid\n");
    }

    /// Standard output nobody reads (`| less` paused): blocks until opened.
    struct Stalled(Arc<std::sync::atomic::AtomicBool>);

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            while !self.0.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_output_never_holds_up_the_sender() {
        let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let kept = Kept::default();
        let mut lines = Lines::start(Box::new(Stalled(Arc::clone(&open))), Box::new(kept));
        let started = Instant::now();
        for n in 0..LINE_QUEUE + 100 {
            lines.send(Line::Event(format!("event {n}")));
        }
        assert!(started.elapsed() < Duration::from_secs(1), "sending waited");
        assert!(lines.dropped >= 99, "{} dropped", lines.dropped);
        open.store(true, std::sync::atomic::Ordering::Relaxed);
        lines.finish().unwrap();
    }
}
