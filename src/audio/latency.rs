//! Key-to-sound latency of the real play path, measured against a JACK
//! server (only with the `jack` feature; `benches/latency.rs` drives it).
//!
//! The path is the one `composer-probe play` uses: notes go into the
//! [`EventSender`](super::realtime::EventSender) stamped with the input
//! [`Clock`], and a [`SynthSource`](super::realtime::SynthSource) rendering
//! blocks of exactly one period is pulled from a cpal output stream on
//! cpal's JACK host. The data callback scans what it writes for the first
//! sample louder than a threshold after each note and dates it with cpal's
//! playback timestamp: frame `i` of a buffer plays at
//! `timestamp().playback + i / sample_rate`. That instant is on JACK's
//! clock; reading [`Clock::now_us`] at callback entry next to
//! `timestamp().callback` (JACK's "now" for the same moment) gives the
//! offset between the two clocks, so the onset lands on the input clock the
//! note was stamped with. Latency = onset playback time − injection time.
//!
//! The callback neither allocates nor locks: the injection times come in
//! and the measurements go out through rtrb queues, and the counters are
//! atomics.

use super::realtime::{self, SynthSource, TimedEvent};
use crate::clock::Clock;
use crate::synth::{Engine, EngineConfig, SynthEvent};
use rodio::cpal;
use rodio::cpal::traits::{DeviceTrait as _, HostTrait as _, StreamTrait as _};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Output channels (the synth renders interleaved stereo).
const CHANNELS: u16 = 2;
/// An injection older than this when a sound starts is a note that was
/// never heard; it is dropped and counted, not matched.
const STALE_NS: i64 = 1_000_000_000;
/// Silence needed after a note before the next sound counts as an onset.
const QUIET_RESET: Duration = Duration::from_millis(10);
/// How long to wait for a note to be heard before calling it missed.
const ONSET_TIMEOUT: Duration = Duration::from_secs(1);
/// How long to wait for a note's tail to fall below the threshold.
const QUIET_TIMEOUT: Duration = Duration::from_secs(3);

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyConfig {
    /// Frames per period: the stream's fixed buffer size and the synth's block.
    pub period_frames: u32,
    /// Notes to play.
    pub notes: usize,
    /// A sample counts as sound when its magnitude exceeds this.
    pub threshold: f32,
    /// Shortest and longest time from one note-on to the next, ms (drawn at
    /// random, to the microsecond, so notes fall at every phase of the period).
    pub interval_ms: (u64, u64),
    /// Time from note-on to note-off, ms.
    pub hold_ms: u64,
    /// Seed of the pseudo-random intervals and keys.
    pub seed: u32,
    /// The synth.
    pub engine: EngineConfig,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            period_frames: 128,
            notes: 200,
            threshold: 1e-3,
            interval_ms: (100, 200),
            hold_ms: 50,
            seed: 0x2545_F491,
            engine: EngineConfig::default(),
        }
    }
}

/// Why a measurement could not run.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    /// cpal was built without its JACK host or it failed to start.
    #[error("cannot open cpal's JACK host: {0}")]
    Host(String),
    /// No JACK server answered.
    #[error("no JACK server to connect to (start one, e.g. `jackd --no-realtime -d dummy -r 48000 -p 128`; libjack says why on stderr)")]
    NoServer,
    /// The server refused the stream (e.g. its period is not the one asked for).
    #[error("cannot open a {period}-frame JACK output stream: {reason}")]
    Stream {
        /// Frames per period asked for.
        period: u32,
        /// What cpal said.
        reason: String,
    },
    /// The stream opened but its callback never ran.
    #[error("the JACK stream opened but its callback did not run within 2 s")]
    NoCallbacks,
}

/// Percentiles of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// 1st percentile, ms.
    pub p1_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Worst, ms.
    pub max_ms: f64,
    /// Standard deviation, ms.
    pub std_dev_ms: f64,
}

impl Summary {
    /// Percentiles (nearest rank) of `sorted` (ns, ascending); `None` when empty.
    pub fn of(sorted: &[i64]) -> Option<Summary> {
        let n = sorted.len();
        let last = *sorted.last()?;
        let ms = |ns: i64| ns as f64 / 1e6;
        let at = |p: f64| ms(sorted[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1]);
        let mean = sorted.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var = sorted
            .iter()
            .map(|&x| (x as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        Some(Summary {
            p1_ms: at(1.0),
            p50_ms: at(50.0),
            p99_ms: at(99.0),
            max_ms: ms(last),
            std_dev_ms: var.sqrt() / 1e6,
        })
    }

    /// Jitter as p99 − p1, ms.
    pub fn jitter_ms(&self) -> f64 {
        self.p99_ms - self.p1_ms
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyReport {
    /// Frames per period.
    pub period_frames: u32,
    /// The server's sample rate.
    pub sample_rate: u32,
    /// Notes played.
    pub notes_sent: usize,
    /// Key-to-sound latency of every heard note, ns, ascending: the onset's
    /// `playback` time brought onto the input clock through the callback's
    /// `callback` timestamp, minus the note's input-clock time.
    pub latencies_ns: Vec<i64>,
    /// The same notes measured on JACK's clock alone: the onset's `playback`
    /// time minus `Stream::now()` read when the note was queued, ascending.
    /// Differs from [`latencies_ns`](Self::latencies_ns) by how far JACK's
    /// filtered cycle time is from the real wake-up.
    pub jack_clock_latencies_ns: Vec<i64>,
    /// Notes never heard (no onset within 1 s).
    pub missed: usize,
    /// Sounds that started with no note waiting (should be 0).
    pub spurious: u64,
    /// Audio callbacks.
    pub callbacks: u64,
    /// Callbacks that took longer than one period (render overruns).
    pub late_callbacks: u64,
    /// Longest callback, ns.
    pub max_callback_ns: u64,
    /// Callbacks whose buffer was not exactly one period.
    pub odd_buffers: u64,
    /// Xruns JACK reported through cpal's error callback.
    pub xruns: u64,
    /// Other cpal stream errors.
    pub stream_errors: u64,
    /// The first of those errors, for the report.
    pub first_error: Option<String>,
    /// Events the queue had no room for.
    pub dropped_events: u64,
    /// `playback − callback` as cpal reports it (min, max), ns.
    pub playback_lead_ns: (i64, i64),
    /// `callback` minus the input clock's "now" at callback entry, brought
    /// onto one clock through `Stream::now()` (min, max), ns: how far JACK's
    /// filtered cycle time strays from the real wake-up.
    pub callback_error_ns: (i64, i64),
    /// Frames from a note-on to its first loud sample in the synth alone
    /// (offline, keys of the run), max: part of every latency.
    pub synth_onset_frames: usize,
}

impl LatencyReport {
    /// Percentiles of [`latencies_ns`](Self::latencies_ns).
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.latencies_ns)
    }

    /// Percentiles of [`jack_clock_latencies_ns`](Self::jack_clock_latencies_ns).
    pub fn jack_clock_summary(&self) -> Option<Summary> {
        Summary::of(&self.jack_clock_latencies_ns)
    }

    /// Xruns, stream errors and late callbacks together.
    pub fn dropouts(&self) -> u64 {
        self.xruns + self.stream_errors + self.late_callbacks
    }
}

/// Counters the callback and the error callback publish.
#[derive(Debug)]
struct Shared {
    callbacks: AtomicU64,
    late_callbacks: AtomicU64,
    max_callback_ns: AtomicU64,
    odd_buffers: AtomicU64,
    spurious: AtomicU64,
    stale: AtomicU64,
    xruns: AtomicU64,
    errors: AtomicU64,
    first_error: OnceLock<String>,
    /// No sound for [`QUIET_RESET`]: the next onset belongs to a new note.
    quiet: AtomicBool,
    offset_min_ns: AtomicI64,
    offset_max_ns: AtomicI64,
    lead_min_ns: AtomicI64,
    lead_max_ns: AtomicI64,
}

impl Shared {
    fn new() -> Self {
        Shared {
            callbacks: AtomicU64::new(0),
            late_callbacks: AtomicU64::new(0),
            max_callback_ns: AtomicU64::new(0),
            odd_buffers: AtomicU64::new(0),
            spurious: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: OnceLock::new(),
            quiet: AtomicBool::new(true),
            offset_min_ns: AtomicI64::new(i64::MAX),
            offset_max_ns: AtomicI64::new(i64::MIN),
            lead_min_ns: AtomicI64::new(i64::MAX),
            lead_max_ns: AtomicI64::new(i64::MIN),
        }
    }

    fn count_error(&self, error: cpal::Error) {
        if error.kind() == cpal::ErrorKind::Xrun {
            self.xruns.fetch_add(1, Ordering::Relaxed);
        } else {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let _ = self.first_error.set(error.to_string());
        }
    }
}

/// A queued note: its time on the input clock and on JACK's.
#[derive(Debug, Clone, Copy)]
struct Injection {
    t_us: u64,
    jack_ns: i64,
}

/// A heard note.
#[derive(Debug, Clone, Copy)]
struct Onset {
    injected_us: u64,
    latency_ns: i64,
    jack_clock_latency_ns: i64,
}

/// Everything the data callback owns.
struct Probe {
    source: SynthSource,
    clock: Clock,
    injections: rtrb::Consumer<Injection>,
    onsets: rtrb::Producer<Onset>,
    shared: Arc<Shared>,
    threshold: f32,
    sample_rate: i64,
    period_frames: usize,
    budget_ns: u64,
    sounding: bool,
    quiet_frames: usize,
    quiet_reset_frames: usize,
}

impl Probe {
    fn process(&mut self, data: &mut [f32], info: &cpal::OutputCallbackInfo) {
        let entry = Instant::now();
        let now_ns = self.clock.now_us() as i64 * 1000;
        let stamp = info.timestamp();
        let callback_ns = stamp.callback.as_nanos() as i64;
        let playback_ns = stamp.playback.as_nanos() as i64;
        // Input clock = JACK clock + offset.
        let offset_ns = now_ns - callback_ns;
        let first_frame_ns = playback_ns + offset_ns;
        let shared = &*self.shared;
        shared.offset_min_ns.fetch_min(offset_ns, Ordering::Relaxed);
        shared.offset_max_ns.fetch_max(offset_ns, Ordering::Relaxed);
        shared
            .lead_min_ns
            .fetch_min(playback_ns - callback_ns, Ordering::Relaxed);
        shared
            .lead_max_ns
            .fetch_max(playback_ns - callback_ns, Ordering::Relaxed);

        for sample in data.iter_mut() {
            *sample = self.source.next().unwrap_or(0.0);
        }
        let channels = usize::from(CHANNELS);
        if data.len() != self.period_frames * channels {
            self.shared.odd_buffers.fetch_add(1, Ordering::Relaxed);
        }
        for (i, frame) in data.chunks_exact(channels).enumerate() {
            if frame.iter().any(|x| x.abs() > self.threshold) {
                self.quiet_frames = 0;
                if !self.sounding {
                    self.sounding = true;
                    let frame_ns = i as i64 * 1_000_000_000 / self.sample_rate;
                    self.onset(first_frame_ns + frame_ns, playback_ns + frame_ns);
                }
            } else if self.sounding {
                self.quiet_frames += 1;
                if self.quiet_frames >= self.quiet_reset_frames {
                    self.sounding = false;
                }
            }
        }
        let shared = &*self.shared;
        shared.quiet.store(!self.sounding, Ordering::Release);

        let took = entry.elapsed().as_nanos() as u64;
        shared.callbacks.fetch_add(1, Ordering::Relaxed);
        shared.max_callback_ns.fetch_max(took, Ordering::Relaxed);
        if took > self.budget_ns {
            shared.late_callbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A sound starts playing at `at_ns` on the input clock, `at_jack_ns`
    /// on JACK's: match it with the note that caused it. The injector
    /// queues a note's times before the note itself, so they are always
    /// here before its sound.
    fn onset(&mut self, at_ns: i64, at_jack_ns: i64) {
        while let Ok(injected) = self.injections.pop() {
            let latency_ns = at_ns - injected.t_us as i64 * 1000;
            if latency_ns > STALE_NS {
                self.shared.stale.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // Sized for every note: never full.
            let _ = self.onsets.push(Onset {
                injected_us: injected.t_us,
                latency_ns,
                jack_clock_latency_ns: at_jack_ns - injected.jack_ns,
            });
            return;
        }
        self.shared.spurious.fetch_add(1, Ordering::Relaxed);
    }
}

/// xorshift32: reproducible intervals and keys without a dependency.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + u64::from(self.next()) % (hi - lo + 1)
    }
}

/// cpal's JACK output device, if a JACK server answers.
pub fn jack_output_device() -> Result<cpal::Device, LatencyError> {
    let host =
        cpal::host_from_id(cpal::HostId::Jack).map_err(|e| LatencyError::Host(e.to_string()))?;
    host.default_output_device().ok_or(LatencyError::NoServer)
}

/// Frames from a note-on at frame 0 to the first sample louder than
/// `threshold`, in the synth alone: the largest over `keys`.
pub fn synth_onset_frames(
    engine: EngineConfig,
    sample_rate: u32,
    threshold: f32,
    keys: impl IntoIterator<Item = u8>,
) -> usize {
    let mut buffer = vec![0.0f32; 2 * 4096];
    let mut worst = 0;
    for key in keys {
        let mut synth = Engine::new(sample_rate, engine);
        synth.handle(SynthEvent::NoteOn {
            channel: 0,
            key,
            velocity: 100,
        });
        synth.render(&mut buffer);
        let first = buffer
            .chunks_exact(2)
            .position(|f| f.iter().any(|x| x.abs() > threshold))
            .unwrap_or(4096);
        worst = worst.max(first);
    }
    worst
}

/// Plays `config.notes` notes through the synth into a JACK output stream
/// of `config.period_frames` frames and measures when each is heard. Needs
/// a JACK server running at that period.
pub fn measure(config: &LatencyConfig) -> Result<LatencyReport, LatencyError> {
    let device = jack_output_device()?;
    let period = config.period_frames;
    let stream_error = |e: cpal::Error| LatencyError::Stream {
        period,
        reason: e.to_string(),
    };
    let sample_rate = device
        .default_output_config()
        .map_err(stream_error)?
        .sample_rate();
    let stream_config = cpal::StreamConfig {
        channels: CHANNELS,
        sample_rate,
        buffer_size: cpal::BufferSize::Fixed(period),
    };

    let clock = Clock::start();
    let engine = Engine::new(sample_rate, config.engine);
    let (mut sender, source) = realtime::build(engine, period as usize, clock, 1024);
    let audio_stats = source.stats();
    let (mut injections, injections_out) = rtrb::RingBuffer::new(config.notes + 1);
    let (onsets_in, mut onsets) = rtrb::RingBuffer::new(config.notes + 1);
    let shared = Arc::new(Shared::new());
    let mut probe = Probe {
        source,
        clock,
        injections: injections_out,
        onsets: onsets_in,
        shared: Arc::clone(&shared),
        threshold: config.threshold,
        sample_rate: i64::from(sample_rate),
        period_frames: period as usize,
        budget_ns: u64::from(period) * 1_000_000_000 / u64::from(sample_rate),
        sounding: false,
        quiet_frames: 0,
        quiet_reset_frames: (QUIET_RESET.as_secs_f64() * f64::from(sample_rate)) as usize,
    };
    let errors = Arc::clone(&shared);
    let stream = device
        .build_output_stream(
            stream_config,
            move |data: &mut [f32], info: &cpal::OutputCallbackInfo| probe.process(data, info),
            move |error| errors.count_error(error),
            Some(Duration::from_secs(5)),
        )
        .map_err(stream_error)?;
    stream.play().map_err(stream_error)?;
    // Input clock − JACK clock, read back to back (both are monotonic
    // clocks; on Linux the same one), for the callback-error figure.
    let jack_now_ns = |clock: &Clock| {
        let t_us = clock.now_us();
        (t_us, stream.now().as_nanos() as i64)
    };
    let (t_us, jack_ns) = jack_now_ns(&clock);
    let clock_minus_jack_ns = t_us as i64 * 1000 - jack_ns;

    let started = Instant::now();
    while shared.callbacks.load(Ordering::Relaxed) == 0 {
        if started.elapsed() > Duration::from_secs(2) {
            return Err(LatencyError::NoCallbacks);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));

    let mut rng = Rng(config.seed.max(1));
    let mut keys = Vec::with_capacity(config.notes);
    let mut latencies_ns = Vec::with_capacity(config.notes);
    let mut jack_clock_latencies_ns = Vec::with_capacity(config.notes);
    let mut missed = 0;
    let (lo, hi) = config.interval_ms;
    let mut next_on = Instant::now();
    for _ in 0..config.notes {
        // Start from silence, at a random phase of the period.
        let quiet_since = Instant::now();
        while !shared.quiet.load(Ordering::Acquire) && quiet_since.elapsed() < QUIET_TIMEOUT {
            std::thread::sleep(Duration::from_millis(1));
        }
        let at = next_on.max(Instant::now() + Duration::from_micros(rng.range(0, 20_000)));
        std::thread::sleep(at.saturating_duration_since(Instant::now()));

        let key = 48 + (rng.next() % 25) as u8;
        keys.push(key);
        let on = Instant::now();
        let (t_us, jack_ns) = jack_now_ns(&clock);
        next_on = on + Duration::from_micros(rng.range(lo * 1000, hi.max(lo) * 1000));
        let _ = injections.push(Injection { t_us, jack_ns });
        sender.send(TimedEvent {
            t_us,
            event: SynthEvent::NoteOn {
                channel: 0,
                key,
                velocity: 100,
            },
        });
        std::thread::sleep(Duration::from_millis(config.hold_ms));
        sender.send(TimedEvent {
            t_us: clock.now_us(),
            event: SynthEvent::NoteOff { channel: 0, key },
        });
        let heard = loop {
            // An onset for another note was heard after its timeout: skip it.
            if let Ok(onset) = onsets.pop() {
                if onset.injected_us == t_us {
                    break Some(onset);
                }
                continue;
            }
            if on.elapsed() > ONSET_TIMEOUT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        match heard {
            Some(onset) => {
                latencies_ns.push(onset.latency_ns);
                jack_clock_latencies_ns.push(onset.jack_clock_latency_ns);
            }
            None => missed += 1,
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    drop(stream);
    latencies_ns.sort_unstable();
    jack_clock_latencies_ns.sort_unstable();
    keys.sort_unstable();
    keys.dedup();

    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let load_i = |a: &AtomicI64| a.load(Ordering::Relaxed);
    Ok(LatencyReport {
        period_frames: period,
        sample_rate,
        notes_sent: config.notes,
        latencies_ns,
        jack_clock_latencies_ns,
        missed,
        spurious: load(&shared.spurious),
        callbacks: load(&shared.callbacks),
        late_callbacks: load(&shared.late_callbacks),
        max_callback_ns: load(&shared.max_callback_ns),
        odd_buffers: load(&shared.odd_buffers),
        xruns: load(&shared.xruns),
        stream_errors: load(&shared.errors),
        first_error: shared.first_error.get().cloned(),
        dropped_events: load(&audio_stats.dropped_events),
        playback_lead_ns: (load_i(&shared.lead_min_ns), load_i(&shared.lead_max_ns)),
        // offset = clock − callback, so callback − now (JACK clock) is
        // (clock − JACK) − offset.
        callback_error_ns: (
            clock_minus_jack_ns - load_i(&shared.offset_max_ns),
            clock_minus_jack_ns - load_i(&shared.offset_min_ns),
        ),
        synth_onset_frames: synth_onset_frames(config.engine, sample_rate, config.threshold, keys),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ns: Vec<i64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let s = Summary::of(&ns).expect("not empty");
        assert_eq!(s.p1_ms, 1.0);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.jitter_ms(), 98.0);
        assert!((s.std_dev_ms - 28.866).abs() < 0.01, "{}", s.std_dev_ms);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn the_synth_sounds_within_a_few_frames() {
        let frames = synth_onset_frames(EngineConfig::default(), 48_000, 1e-3, 48..=72);
        assert!(frames < 48, "{frames}");
    }
}
