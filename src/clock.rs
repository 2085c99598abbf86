//! The one clock every stage measures event times on: microseconds since an
//! input stream started. Sources stamp events with it, the audio thread
//! places them in its blocks by it, and takes count from it.

use std::time::Instant;

/// A monotonic clock counting from the start of a stream.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// Starts counting now.
    pub fn start() -> Self {
        Clock(Instant::now())
    }

    /// Microseconds since the start.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Microseconds from `earlier`'s start to this clock's (0 when this one
    /// started first): what turns this clock's times into `earlier`'s.
    pub fn started_after(&self, earlier: Clock) -> u64 {
        u64::try_from(self.0.saturating_duration_since(earlier.0).as_micros()).unwrap_or(u64::MAX)
    }
}
