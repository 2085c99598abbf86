//! The recording side of a session: the take being recorded, the takes
//! saved, and their names (`take-YYYYMMDD-HHMMSS-NN.mid`, in local time).

use super::config::RecordChoice;
use super::view::View;
use super::SessionError;
use crate::decode::counted;
use crate::error::chain;
use crate::input::MidiEvent;
use crate::record::{self, RecordError, RecordOptions, Recorder, TakeSummary};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The takes of a session.
pub(crate) struct Takes {
    choice: RecordChoice,
    options: RecordOptions,
    /// The take being recorded.
    current: Option<Recorder>,
    last_saved: Option<PathBuf>,
    saved: Vec<TakeSummary>,
    counter: u32,
}

impl Takes {
    /// Prepares the recording side; `record OUT.mid` starts its journal
    /// now, after pointing at unfinished takes left beside it.
    pub(crate) fn open(
        choice: &RecordChoice,
        options: &RecordOptions,
        view: &mut View,
    ) -> Result<Self, SessionError> {
        let mut takes = Takes {
            choice: choice.clone(),
            options: options.clone(),
            current: None,
            last_saved: None,
            saved: Vec::new(),
            counter: 0,
        };
        if let RecordChoice::Single { path, force, .. } = choice {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            for journal in record::leftover_journals(dir) {
                view.status(&format!(
                    "found an unfinished take; `composer-probe recover {}` saves it",
                    journal.display()
                ));
            }
            takes.current = Some(Recorder::start(path, options.clone(), *force, 0)?);
        }
        if let RecordChoice::Takes { dir, asked } = choice {
            match record::check_takes_dir(dir) {
                Err(error) if *asked => return Err(error.into()),
                Err(error) => view.status(&format!(
                    "warning: ● cannot save takes: {}; pass --takes DIR",
                    chain(&error)
                )),
                Ok(()) => {}
            }
        }
        Ok(takes)
    }

    /// Gives up a take that never began (the input could not be opened):
    /// its journal goes.
    pub(crate) fn abandon(&mut self) {
        if let Some(recorder) = self.current.take() {
            let _ = std::fs::remove_file(recorder.journal_path());
        }
    }

    /// Records one played event into the current take, if any. When the
    /// journal cannot be written (a full disk), the take stops with one
    /// message, its journal keeping everything written before: `record
    /// OUT.mid` ends with that error, a take of `--takes` ends and the
    /// session goes on. A take past its longest is said once.
    pub(crate) fn record(
        &mut self,
        event: &MidiEvent,
        view: &mut View,
    ) -> Result<(), SessionError> {
        let Some(recorder) = self.current.as_mut() else {
            return Ok(());
        };
        match recorder.record(event) {
            Ok(()) => Ok(()),
            Err(error @ RecordError::TooLong { .. }) => {
                view.status(&format!("warning: {}", chain(&error)));
                Ok(())
            }
            Err(error) => self.stop_failed(error, view),
        }
    }

    /// Syncs the journal when it is time; a failure stops the take as in
    /// [`Takes::record`].
    pub(crate) fn flush_if_due(
        &mut self,
        now_us: u64,
        view: &mut View,
    ) -> Result<(), SessionError> {
        match self.current.as_mut().map(|r| r.flush_if_due(now_us)) {
            Some(Err(error)) => self.stop_failed(error, view),
            _ => Ok(()),
        }
    }

    /// The journal failed: the take stops here, its journal left for
    /// `recover`.
    fn stop_failed(&mut self, error: RecordError, view: &mut View) -> Result<(), SessionError> {
        self.current = None;
        match self.choice {
            RecordChoice::Takes { .. } => {
                view.status(&format!("■ the take stopped: {}", chain(&error)));
                Ok(())
            }
            _ => Err(error.into()),
        }
    }

    /// ● on `record OUT.mid`: time zero is now, if the take has not begun.
    pub(crate) fn mark_start(&mut self, t_us: u64) {
        if let Some(recorder) = self.current.as_mut().filter(|r| !r.started()) {
            recorder.mark_start(t_us);
        }
    }

    /// Starts a new take in the takes directory. A take that cannot start
    /// is said on the status line; the session goes on.
    pub(crate) fn begin(&mut self, now_us: u64, view: &mut View) {
        let RecordChoice::Takes { dir, .. } = &self.choice else {
            return;
        };
        let path = take_path(dir, &mut self.counter, SystemTime::now());
        match Recorder::start(&path, self.options.clone(), false, now_us) {
            Ok(mut recorder) => {
                recorder.mark_start(now_us);
                view.status(&format!("● recording {}", path.display()));
                self.current = Some(recorder);
            }
            Err(error) => view.status(&format!("● cannot start a take: {}", chain(&error))),
        }
    }

    /// Finishes the current take, if any, and keeps its summary. A take
    /// without notes writes no file. With `--takes`, a take that cannot be
    /// saved is said on the status line (its journal stays for `recover`)
    /// and the session goes on; `record OUT.mid` fails with it.
    pub(crate) fn save(&mut self, stop_us: u64, view: &mut View) -> Result<(), SessionError> {
        let Some(recorder) = self.current.take() else {
            return Ok(());
        };
        match recorder.finish(stop_us) {
            Ok(summary) => {
                view.status(&format!("■ saved {}", describe_take(&summary)));
                self.last_saved = Some(summary.path.clone());
                self.saved.push(summary);
                Ok(())
            }
            Err(error) => match self.choice {
                RecordChoice::Takes { .. } => {
                    view.status(&format!("■ {}", chain(&error)));
                    Ok(())
                }
                _ => Err(error.into()),
            },
        }
    }

    /// The take saved last, for ▶.
    pub(crate) fn last_saved(&self) -> Option<&Path> {
        self.last_saved.as_deref()
    }

    /// How long the current take has run, for the status line.
    pub(crate) fn recording_for(&self, now_us: u64) -> Option<Duration> {
        self.current
            .as_ref()
            .map(|recorder| Duration::from_micros(recorder.elapsed_us(now_us)))
    }

    /// True while a take is being recorded.
    pub(crate) fn recording(&self) -> bool {
        self.current.is_some()
    }

    /// True when the take has begun and nothing was played for `quiet`
    /// (with every note and pedal released: the `--until-silence` rule).
    pub(crate) fn silent_for(&self, quiet: Duration, silent: Duration) -> bool {
        self.current
            .as_ref()
            .is_some_and(|r| r.started() && silent >= quiet)
    }

    /// The takes saved.
    pub(crate) fn into_saved(self) -> Vec<TakeSummary> {
        self.saved
    }
}

/// The name of a new take in `dir`: `take-YYYYMMDD-HHMMSS-NN.mid`, the
/// date and time local (the zone of `TZ`, else the system's), `NN` the
/// first counter after `counter` whose file does not exist yet. Both the
/// buttons' takes and `record` without a file name are named here.
pub fn take_path(dir: &Path, counter: &mut u32, now: SystemTime) -> PathBuf {
    let stamp = take_stamp(now, &jiff::tz::TimeZone::system());
    loop {
        *counter += 1;
        let path = dir.join(format!("take-{stamp}-{:02}.mid", counter));
        if !path.exists() {
            return path;
        }
    }
}

/// `YYYYMMDD-HHMMSS` of `now` in `zone`.
fn take_stamp(now: SystemTime, zone: &jiff::tz::TimeZone) -> String {
    // A clock before 1970 or past 9999 has no place in a name: the epoch.
    let at = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    at.to_zoned_datetime(zone.clone())
        .strftime("%Y%m%d-%H%M%S")
        .to_string()
}

/// One line about a saved take.
pub fn describe_take(take: &TakeSummary) -> String {
    let closed = match take.closed_notes {
        0 => String::new(),
        n => format!(", {} closed at the stop", counted(n as u64, "held note")),
    };
    format!(
        "{}: {}, {}, {:.1} s{closed}",
        take.path.display(),
        counted(take.notes as u64, "note"),
        counted(take.events as u64, "event"),
        take.duration_us as f64 / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_names_carry_the_local_date_and_a_counter() {
        let dir = std::env::temp_dir().join(format!("cp-takes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut counter = 0;
        let first = take_path(&dir, &mut counter, SystemTime::now());
        assert!(first.to_str().unwrap().ends_with("-01.mid"), "{first:?}");
        std::fs::write(&first, b"x").unwrap();
        let mut again = 0;
        let second = take_path(&dir, &mut again, SystemTime::now());
        assert_ne!(first, second, "an existing take is never overwritten");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stamps_are_in_the_zone_asked_for() {
        // 2026-11-26 13:33:20 UTC.
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_795_700_000);
        let zone = |name| jiff::tz::TimeZone::get(name).unwrap();
        assert_eq!(take_stamp(at, &jiff::tz::TimeZone::UTC), "20261126-133320");
        assert_eq!(take_stamp(at, &zone("Asia/Kolkata")), "20261126-190320");
        // Across midnight, and daylight saving time (New York in summer).
        assert_eq!(
            take_stamp(at, &zone("Pacific/Kiritimati")),
            "20261127-033320"
        );
        let july = std::time::UNIX_EPOCH + Duration::from_secs(1_783_000_000);
        assert_eq!(
            take_stamp(july, &zone("America/New_York")),
            "20260702-094640"
        );
    }
}
