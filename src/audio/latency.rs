//! Key-to-sound latency of `play`'s own output path, measured against a
//! JACK server (only with the `jack` feature; `benches/latency.rs` drives
//! it).
//!
//! The path is exactly the one `composer-probe play` runs: the output is
//! opened by [`device::open`] (our JACK stream on the server cpal finds, a
//! fixed buffer of one period), notes go into the [`EventSender`](super::realtime::EventSender)
//! stamped with the input [`Clock`], and the
//! [`SynthSource`](super::realtime::SynthSource) is pulled by the device's
//! callback through [`AudioOutput::play`]. The only addition is a probe: a
//! rodio source wrapped around the synth that looks at every sample on its
//! way out. The callback pulls its samples back to back, so the first pull
//! after a pause is the callback's start; the probe reads the input clock
//! there. A note's first frame louder than a threshold, frame `i` of its
//! callback, is dated `callback start + (i + playback latency) /
//! sample_rate`, the playback latency being what the server reports for
//! its playback ports (what `play` reports as its output latency);
//! latency = that time − the time the note was queued.
//!
//! The probe neither allocates nor locks: the injection times come in and
//! the measurements go out through rtrb queues, and the counters are
//! atomics.

use super::device::{self, AudioError, AudioOutput, OutputChoice};
use super::realtime::{self, SynthSource, TimedEvent};
use crate::clock::Clock;
use crate::synth::{Engine, EngineConfig, SynthEvent};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
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
    /// Frames from a buffer's start to the speaker, as the server reports
    /// for its playback ports (`jack_lsp -l`, what `play` reports as its
    /// output latency); `None`: one buffer.
    pub playback_latency_frames: Option<u32>,
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
            playback_latency_frames: None,
        }
    }
}

/// Why a measurement could not run.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    /// The JACK output could not be opened the way `play` opens it.
    #[error("cannot open the JACK output (start a server, e.g. `jackd --no-realtime -d dummy -r 48000 -p 128`)")]
    Output(#[from] AudioError),
    /// The server did not take the period asked for.
    #[error(
        "the JACK output did not take {period}-frame buffers (start the server with -p {period})"
    )]
    Period {
        /// Frames per period asked for.
        period: u32,
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
    /// Key-to-sound latency of every heard note, ns, ascending: the onset
    /// dated on the input clock (callback start + frame offset + playback
    /// latency) minus the note's input-clock time.
    pub latencies_ns: Vec<i64>,
    /// Notes never heard (no onset within 1 s).
    pub missed: usize,
    /// Sounds that started with no note waiting (should be 0).
    pub spurious: u64,
    /// Audio callbacks (as seen by the probe).
    pub callbacks: u64,
    /// Callbacks whose pulls took longer than one period (render overruns).
    pub late_callbacks: u64,
    /// Longest callback, first pull to last, ns.
    pub max_callback_ns: u64,
    /// Callbacks that did not pull exactly one period.
    pub odd_buffers: u64,
    /// Stream errors the device reported during the run (xruns included),
    /// counted where `play` counts them.
    pub stream_errors: u64,
    /// Events the queue had no room for.
    pub dropped_events: u64,
    /// The playback latency added to every onset, ns.
    pub output_latency_ns: i64,
    /// Frames from a note-on to its first loud sample in the synth alone
    /// (offline, keys of the run), max: part of every latency.
    pub synth_onset_frames: usize,
}

impl LatencyReport {
    /// Percentiles of [`latencies_ns`](Self::latencies_ns).
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.latencies_ns)
    }

    /// Stream errors and late callbacks together.
    pub fn dropouts(&self) -> u64 {
        self.stream_errors + self.late_callbacks
    }
}

/// Counters the probe publishes.
#[derive(Debug, Default)]
struct Shared {
    callbacks: AtomicU64,
    late_callbacks: AtomicU64,
    max_callback_ns: AtomicU64,
    odd_buffers: AtomicU64,
    spurious: AtomicU64,
    stale: AtomicU64,
    /// No sound for [`QUIET_RESET`]: the next onset belongs to a new note.
    quiet: AtomicBool,
}

/// A queued note: its time on the input clock.
#[derive(Debug, Clone, Copy)]
struct Injection {
    t_us: u64,
}

/// A heard note.
#[derive(Debug, Clone, Copy)]
struct Onset {
    injected_us: u64,
    latency_ns: i64,
}

/// The synth as `play` plays it, watched on its way out: a rodio source
/// around the [`SynthSource`] that dates each note's first loud frame.
struct Probe {
    source: SynthSource,
    clock: Clock,
    injections: rtrb::Consumer<Injection>,
    onsets: rtrb::Producer<Onset>,
    shared: Arc<Shared>,
    threshold: f32,
    sample_rate: u32,
    period_frames: usize,
    /// Pulls further apart than this belong to different callbacks.
    gap: Duration,
    /// One period: a callback that pulls for longer is late.
    budget: Duration,
    /// The playback latency, added to every onset.
    output_latency_ns: i64,
    /// The current callback's first pull: its instant, and the input clock.
    entry: Instant,
    entry_ns: i64,
    /// When the last sample was handed out.
    last_pull: Instant,
    /// Samples pulled in the current callback.
    pulled: usize,
    /// A sample of the current frame was loud.
    loud: bool,
    sounding: bool,
    quiet_frames: usize,
    quiet_reset_frames: usize,
}

impl Probe {
    /// The callback that just ended: counted, timed and sized.
    fn end_callback(&mut self) {
        if self.pulled == 0 {
            return;
        }
        let shared = &*self.shared;
        let took = self.last_pull.duration_since(self.entry);
        shared.callbacks.fetch_add(1, Ordering::Relaxed);
        let took_ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        shared.max_callback_ns.fetch_max(took_ns, Ordering::Relaxed);
        if took > self.budget {
            shared.late_callbacks.fetch_add(1, Ordering::Relaxed);
        }
        if self.pulled != self.period_frames * usize::from(CHANNELS) {
            shared.odd_buffers.fetch_add(1, Ordering::Relaxed);
        }
        shared.quiet.store(!self.sounding, Ordering::Release);
    }

    /// Frame `frame` of the current callback is complete.
    fn frame_done(&mut self, frame: usize) {
        if std::mem::take(&mut self.loud) {
            self.quiet_frames = 0;
            if !self.sounding {
                self.sounding = true;
                let offset_ns = frame as i64 * 1_000_000_000 / i64::from(self.sample_rate);
                self.onset(self.entry_ns + offset_ns + self.output_latency_ns);
            }
        } else if self.sounding {
            self.quiet_frames += 1;
            if self.quiet_frames >= self.quiet_reset_frames {
                self.sounding = false;
            }
        }
    }

    /// A sound starts playing at `at_ns` on the input clock: match it with
    /// the note that caused it. The injector queues a note's time before
    /// the note itself, so it is always here before its sound.
    fn onset(&mut self, at_ns: i64) {
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
            });
            return;
        }
        self.shared.spurious.fetch_add(1, Ordering::Relaxed);
    }
}

impl Iterator for Probe {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        let now = Instant::now();
        if now.duration_since(self.last_pull) > self.gap {
            self.end_callback();
            self.entry = now;
            self.entry_ns = self.clock.now_us() as i64 * 1000;
            self.pulled = 0;
        }
        let sample = self.source.next().unwrap_or(0.0);
        self.last_pull = Instant::now();
        self.loud |= sample.abs() > self.threshold;
        self.pulled += 1;
        if self.pulled % usize::from(CHANNELS) == 0 {
            self.frame_done(self.pulled / usize::from(CHANNELS) - 1);
        }
        Some(sample)
    }
}

/// Sample by sample: the probe looks at each one on its way out.
impl device::Pull for Probe {}

impl rodio::Source for Probe {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.source.channels()
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.source.sample_rate()
    }

    fn total_duration(&self) -> Option<Duration> {
        None
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

/// A run in progress: the open output and both ends of the probe.
struct Run {
    output: AudioOutput,
    clock: Clock,
    sender: realtime::EventSender,
    injections: rtrb::Producer<Injection>,
    onsets: rtrb::Consumer<Onset>,
    shared: Arc<Shared>,
    audio_stats: Arc<realtime::AudioStats>,
    output_latency_ns: i64,
    /// A SoundFont plays: its reverb and release tails outlast the gap
    /// between notes, so they are turned off for the run (CC 91 and 93 at
    /// 0) and each note is silenced (CC 120) once its onset is heard.
    silence_tails: bool,
}

/// Opens the JACK output as `play` does and starts the synth through the
/// probe.
fn start(config: &LatencyConfig) -> Result<Run, LatencyError> {
    let period = config.period_frames;
    let mut output = device::open(&OutputChoice {
        host: Some("JACK".to_owned()),
        device: None,
        buffer_frames: period,
    })?;
    if output.buffer_frames != Some(period) {
        return Err(LatencyError::Period { period });
    }
    let sample_rate = output.sample_rate;
    let latency_frames = config.playback_latency_frames.unwrap_or(period);
    let output_latency_ns = i64::from(latency_frames) * 1_000_000_000 / i64::from(sample_rate);
    let clock = Clock::start();
    // As `play` plays (see `session::output`).
    let engine = Engine::new(sample_rate, config.engine.live());
    let (mut sender, source) = realtime::build(engine, period as usize, clock, 1024);
    let silence_tails = config.engine.soundfont.is_some();
    if silence_tails {
        for controller in [91, 93] {
            sender.send(TimedEvent {
                t_us: 0,
                event: SynthEvent::Control {
                    channel: 0,
                    controller,
                    value: 0,
                },
            });
        }
    }
    let audio_stats = source.stats();
    let (injections, injections_out) = rtrb::RingBuffer::new(config.notes + 1);
    let (onsets_in, onsets) = rtrb::RingBuffer::new(config.notes + 1);
    let shared = Arc::new(Shared::default());
    shared.quiet.store(true, Ordering::Relaxed);
    let period_time = Duration::from_secs_f64(f64::from(period) / f64::from(sample_rate));
    let now = Instant::now();
    output.play(Probe {
        source,
        clock,
        injections: injections_out,
        onsets: onsets_in,
        shared: Arc::clone(&shared),
        threshold: config.threshold,
        sample_rate,
        period_frames: period as usize,
        gap: period_time / 4,
        budget: period_time,
        output_latency_ns,
        entry: now,
        entry_ns: 0,
        last_pull: now - period_time,
        pulled: 0,
        loud: false,
        sounding: false,
        quiet_frames: 0,
        quiet_reset_frames: (QUIET_RESET.as_secs_f64() * f64::from(sample_rate)) as usize,
    });
    Ok(Run {
        output,
        clock,
        sender,
        injections,
        onsets,
        shared,
        audio_stats,
        output_latency_ns,
        silence_tails,
    })
}

impl Run {
    /// Plays one note (after the last one has died away, at a random phase
    /// of the period) and waits for its onset. `None`: never heard.
    fn note(&mut self, key: u8, at: Instant, hold: Duration) -> Option<i64> {
        let quiet_since = Instant::now();
        while !self.shared.quiet.load(Ordering::Acquire) && quiet_since.elapsed() < QUIET_TIMEOUT {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let on = Instant::now();
        let t_us = self.clock.now_us();
        let _ = self.injections.push(Injection { t_us });
        let velocity = 100;
        self.sender.send(TimedEvent {
            t_us,
            event: SynthEvent::NoteOn {
                channel: 0,
                key,
                velocity,
            },
        });
        std::thread::sleep(hold);
        self.sender.send(TimedEvent {
            t_us: self.clock.now_us(),
            event: SynthEvent::NoteOff { channel: 0, key },
        });
        loop {
            // An onset for another note was heard after its timeout: skip it.
            if let Ok(onset) = self.onsets.pop() {
                if onset.injected_us == t_us {
                    if self.silence_tails {
                        self.sender.send(TimedEvent {
                            t_us: self.clock.now_us(),
                            event: SynthEvent::Control {
                                channel: 0,
                                controller: 120,
                                value: 0,
                            },
                        });
                    }
                    return Some(onset.latency_ns);
                }
                continue;
            }
            if on.elapsed() > ONSET_TIMEOUT {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Plays `config.notes` notes through `play`'s output path into a JACK
/// server running at `config.period_frames` frames, and measures when each
/// is heard.
pub fn measure(config: &LatencyConfig) -> Result<LatencyReport, LatencyError> {
    let errors_before = device::STREAM_ERRORS.load(Ordering::Relaxed);
    let mut run = start(config)?;
    let started = Instant::now();
    while run.shared.callbacks.load(Ordering::Relaxed) == 0 {
        if started.elapsed() > Duration::from_secs(2) {
            return Err(LatencyError::NoCallbacks);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));

    let mut rng = Rng(config.seed.max(1));
    let mut keys = Vec::with_capacity(config.notes);
    let mut latencies_ns = Vec::with_capacity(config.notes);
    let (lo, hi) = config.interval_ms;
    let mut next_on = Instant::now();
    for _ in 0..config.notes {
        let at = next_on.max(Instant::now() + Duration::from_micros(rng.range(0, 20_000)));
        let key = 48 + (rng.next() % 25) as u8;
        keys.push(key);
        next_on = at + Duration::from_micros(rng.range(lo * 1000, hi.max(lo) * 1000));
        latencies_ns.extend(run.note(key, at, Duration::from_millis(config.hold_ms)));
    }
    std::thread::sleep(Duration::from_millis(100));
    let sample_rate = run.output.sample_rate;
    drop(run.output);
    latencies_ns.sort_unstable();
    keys.sort_unstable();
    keys.dedup();

    let shared = &run.shared;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(LatencyReport {
        period_frames: config.period_frames,
        sample_rate,
        notes_sent: config.notes,
        missed: config.notes - latencies_ns.len(),
        latencies_ns,
        spurious: load(&shared.spurious),
        callbacks: load(&shared.callbacks),
        late_callbacks: load(&shared.late_callbacks),
        max_callback_ns: load(&shared.max_callback_ns),
        odd_buffers: load(&shared.odd_buffers),
        stream_errors: load(&device::STREAM_ERRORS) - errors_before,
        dropped_events: load(&run.audio_stats.dropped_events),
        output_latency_ns: run.output_latency_ns,
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
