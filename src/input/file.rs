//! A Standard MIDI File replayed into an input stream: as the stream's
//! source (`--file`, in real time or as fast as possible) or as a take
//! played back (▶). The file is read by [`crate::record::read`].

use super::worker::Worker;
use super::{Feed, InputError, InputEvent, MidiEvent, SourceInfo, Via};
use crate::record::read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Opens a MIDI file as a source: real-time replay, or as fast as possible
/// with `fast`. Event times are the file's, so downstream timing is exact.
pub fn open(path: &Path, fast: bool) -> Result<super::InputStream, InputError> {
    let events = read::load(path)?;
    let info = SourceInfo {
        name: path.display().to_string(),
        via: Via::File,
        device: None,
    };
    super::InputStream::start(info, move |feed| {
        Ok(spawn_replay(events, feed, Replay::Source { fast }))
    })
}

/// Plays a saved take into a running stream (▶): the same replay as a file
/// source, its events tagged [`InputEvent::Played`] and shifted to start
/// now. Dropping the returned worker stops it.
pub fn play_back(path: &Path, feed: Feed) -> Result<Worker, read::FileError> {
    let events = read::load(path)?;
    Ok(spawn_replay(events, feed, Replay::Playback))
}

/// How a replay hands its events on.
#[derive(Debug, Clone, Copy)]
enum Replay {
    /// As the stream's own source, ending it when the file ends.
    Source {
        /// As fast as possible instead of in real time.
        fast: bool,
    },
    /// As a take played back into another source's stream.
    Playback,
}

fn spawn_replay(events: Vec<MidiEvent>, feed: Feed, replay: Replay) -> Worker {
    Worker::spawn(move |stopped: &AtomicBool| {
        let start = Instant::now();
        let offset = match replay {
            Replay::Source { .. } => 0,
            Replay::Playback => feed.now_us(),
        };
        let realtime = !matches!(replay, Replay::Source { fast: true });
        let mut last_us = 0;
        for mut event in events {
            if realtime && !sleep_until(start, event.t_us, stopped) {
                return;
            }
            last_us = event.t_us;
            event.t_us += offset;
            let delivered = !stopped.load(Ordering::Relaxed)
                && feed.event(match replay {
                    Replay::Source { .. } => InputEvent::Midi(event),
                    Replay::Playback => InputEvent::Played(event),
                });
            if !delivered {
                return;
            }
        }
        if let Replay::Source { .. } = replay {
            feed.event(InputEvent::Ended { t_us: last_us });
        }
    })
}

/// Sleeps until `t_us` after `start` in short steps; false when stopped.
fn sleep_until(start: Instant, t_us: u64, stop: &AtomicBool) -> bool {
    let due = start + Duration::from_micros(t_us);
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        thread::sleep((due - now).min(Duration::from_millis(50)));
    }
}
