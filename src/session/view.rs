//! How a session shows what happens: event lines on standard output and
//! status lines on standard error, written by a thread of their own through
//! a bounded queue (a stalled or closed pipe loses lines, never the sound,
//! the take or its journal); or the full-screen terminal keyboard.

use super::config::DisplayChoice;
use crate::decode::format::Formatter;
use crate::decode::names::NoteNaming;
use crate::decode::tracker::{NoteTracker, Transport};
use crate::input::worker::Worker;
use crate::input::{Feed, MidiEvent, SourceInfo, Via};
use crate::terminal::{read_keys, KeyRoute, RawMode};
use crate::tui::{Action, App, Status, TerminalGuard};
use crossterm::event::KeyEvent;
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

    /// A key of the computer keyboard: what the view makes of it.
    pub(crate) fn key(&mut self, key: KeyEvent) -> Action {
        match &mut self.screen {
            Some(screen) => screen.app.handle_key(key),
            None => Action::None,
        }
    }

    /// Gives the terminal back; later words go to the lines.
    pub(crate) fn leave_screen(&mut self) {
        self.screen = None;
    }

    /// A status line (a take saved, a warning).
    pub(crate) fn status(&mut self, text: &str) {
        match &mut self.screen {
            Some(screen) => screen.app.note_stream_event(text),
            None => self.lines.send(Line::Status(text.to_owned())),
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
    /// button flash, or a short idle sleep.
    pub(crate) fn wait(&self) -> Duration {
        let Some(screen) = &self.screen else {
            return IDLE_WAIT;
        };
        let now = Instant::now();
        let next_frame = (screen.last_draw + FRAME).saturating_duration_since(now);
        if screen.app.is_dirty() {
            return next_frame;
        }
        let flash = screen
            .app
            .next_deadline()
            .map_or(IDLE_WAIT, |at| at.saturating_duration_since(now));
        flash.clamp(next_frame, IDLE_WAIT)
    }

    /// Redraws if anything changed (terminal only; `status` is asked for
    /// only then).
    pub(crate) fn refresh(&mut self, status: impl FnOnce() -> Status) -> io::Result<()> {
        let Some(screen) = &mut self.screen else {
            return Ok(());
        };
        screen.app.set_status(status());
        let now = Instant::now();
        screen.app.tick(now);
        if now >= screen.last_draw + FRAME {
            screen.guard.draw(&mut screen.app)?;
            screen.last_draw = now;
        }
        Ok(())
    }

    /// Leaves the screen and writes out every line still queued.
    pub(crate) fn finish(mut self) -> io::Result<()> {
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
