//! A background thread that is told to stop, and joined, when its handle
//! is dropped: how every source (and take playback) keeps its thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Owns a thread; dropping it raises the stop flag and waits for the thread.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Wakes a thread that waits on something other than parking.
    wake: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("stop", &self.stop)
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Runs `body` on a new thread; `body` gets the stop flag and should
    /// return soon after it is raised. The thread is also unparked then, so
    /// a body that waits with [`thread::park_timeout`] need not wake up
    /// often just to look at the flag.
    pub fn spawn(body: impl FnOnce(&AtomicBool) + Send + 'static) -> Worker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || body(&flag));
        Worker {
            stop,
            thread: Some(thread),
            wake: None,
        }
    }

    /// Also runs `wake` when the worker is dropped, after the stop flag is
    /// raised: for a body that waits on a file descriptor or a channel, so
    /// it can wait without a timeout and still end at once.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn on_stop(mut self, wake: impl FnOnce() + Send + 'static) -> Worker {
        self.wake = Some(Box::new(wake));
        self
    }
}

/// How long a dropped worker is waited for before it is left behind.
const JOIN_GRACE: Duration = Duration::from_secs(2);

impl Drop for Worker {
    /// Raises the stop flag and waits for the thread, at most
    /// [`JOIN_GRACE`]: a thread stuck inside a library call (a read that
    /// never returns) is left behind rather than keeping the program from
    /// finishing; it ends with the process.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return;
        };
        thread.thread().unpark();
        if let Some(wake) = self.wake.take() {
            wake();
        }
        let deadline = Instant::now() + JOIN_GRACE;
        while !thread.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_stops_and_joins_the_thread() {
        let finished = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&finished);
        let worker = Worker::spawn(move |stop| {
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(1));
            }
            done.store(true, Ordering::Relaxed);
        });
        drop(worker);
        assert!(
            finished.load(Ordering::Relaxed),
            "joined after it saw the flag"
        );
    }

    #[test]
    fn a_parked_thread_is_woken_to_stop() {
        let worker = Worker::spawn(|stop| {
            while !stop.load(Ordering::Relaxed) {
                thread::park_timeout(Duration::from_secs(60));
            }
        });
        thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        drop(worker);
        assert!(
            started.elapsed() < JOIN_GRACE,
            "joined at once, not after the grace: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_thread_that_never_looks_at_the_flag_is_left_behind() {
        let worker = Worker::spawn(|_| thread::sleep(Duration::from_secs(60)));
        let started = Instant::now();
        drop(worker);
        let waited = started.elapsed();
        assert!(
            waited >= JOIN_GRACE && waited < JOIN_GRACE + Duration::from_secs(5),
            "waited {waited:?}"
        );
    }
}
