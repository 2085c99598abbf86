//! The real-time path: events reach the audio thread through a lock-free
//! single-producer queue (rtrb), and [`SynthSource`] — the code that runs
//! in the audio callback — renders the engine in blocks, placing each event
//! at its sample inside the block. Nothing here allocates, locks, blocks,
//! logs or does I/O after construction (see `tests/realtime.rs`).

use crate::clock::Clock;
use crate::synth::{Engine, SynthEvent};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest block the audio thread renders at once.
pub const MAX_BLOCK_FRAMES: usize = 1024;

/// An event for the synth with the time it happened (input stream clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedEvent {
    /// Microseconds on the input stream's clock.
    pub t_us: u64,
    /// What to do.
    pub event: SynthEvent,
}

/// The sending end of the event queue (the input side owns it).
pub struct EventSender {
    producer: rtrb::Producer<TimedEvent>,
    stats: Arc<AudioStats>,
}

impl EventSender {
    /// Queues an event without blocking; a full queue drops it and counts it.
    pub fn send(&mut self, event: TimedEvent) -> bool {
        let sent = self.producer.push(event).is_ok();
        if !sent {
            self.stats.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// True once everything sent has been played and has rung out: the
    /// audio thread has taken every queued event, rendered another whole
    /// block after the one that took the last, and the engine is silent.
    /// The silent flag alone is no answer while the audio thread is late:
    /// it still tells of the blocks before the last notes arrived. `mark`
    /// (start with `None`) keeps the block count seen when the queue was
    /// first found empty.
    pub fn rung_out(&self, mark: &mut Option<u64>) -> bool {
        if self.producer.slots() < self.producer.buffer().capacity() {
            *mark = None;
            return false;
        }
        // Acquire: a block count seen here brings the flags the audio
        // thread stored before it (`blocks` is added to with Release).
        let blocks = self.stats.blocks.load(Ordering::Acquire);
        let taken_by = *mark.get_or_insert(blocks);
        // The block that took the last event may still be publishing:
        // two more counts mean it has, and one block has followed.
        blocks >= taken_by + 2 && self.stats.silent.load(Ordering::Acquire)
    }
}

/// Figures the audio thread publishes for the display (atomics only).
#[derive(Debug, Default)]
pub struct AudioStats {
    /// Blocks rendered.
    pub blocks: AtomicU64,
    /// Voices sounding after the last block.
    pub voices: AtomicU32,
    /// Render time of the last block as a share of its duration, in 1/1000.
    pub load_permille: AtomicU32,
    /// Highest load seen, in 1/1000.
    pub peak_load_permille: AtomicU32,
    /// Blocks whose rendering took longer than their duration.
    pub overruns: AtomicU64,
    /// Events that found the queue full.
    pub dropped_events: AtomicU64,
    /// True while the engine is silent (no voice, no tail).
    pub silent: AtomicBool,
}

/// Builds the queue and the audio-thread source around an engine.
///
/// `block_frames` is how many frames the source renders at a time (the
/// output buffer size); `clock` is the input stream's clock, so event
/// times and the audio thread's notion of "now" agree.
pub fn build(
    engine: Engine,
    block_frames: usize,
    clock: Clock,
    capacity: usize,
) -> (EventSender, SynthSource) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let stats = Arc::new(AudioStats::default());
    let block_frames = block_frames.clamp(16, MAX_BLOCK_FRAMES);
    let source = SynthSource {
        sample_rate: engine.sample_rate(),
        engine,
        events: consumer,
        clock,
        block: vec![0.0; block_frames * 2].into_boxed_slice(),
        block_frames,
        position: block_frames * 2,
        block_is_silence: false,
        stats: Arc::clone(&stats),
    };
    (EventSender { producer, stats }, source)
}

/// The synth as the audio callback sees it: an iterator of interleaved
/// stereo samples (a rodio `Source`).
pub struct SynthSource {
    engine: Engine,
    events: rtrb::Consumer<TimedEvent>,
    clock: Clock,
    block: Box<[f32]>,
    block_frames: usize,
    position: usize,
    /// The block holds the zeros of an idle block.
    block_is_silence: bool,
    sample_rate: u32,
    stats: Arc<AudioStats>,
}

impl SynthSource {
    /// The shared statistics.
    pub fn stats(&self) -> Arc<AudioStats> {
        Arc::clone(&self.stats)
    }

    /// Frames per rendered block.
    pub fn block_frames(&self) -> usize {
        self.block_frames
    }

    /// Renders the next block. The block stands for the time window that
    /// ended one block ago, so every event that happened inside it can be
    /// placed at its own sample (a constant one-block delay, no jitter).
    fn render_block(&mut self) {
        if self.rest_if_idle(self.block_frames) {
            // Silence already in the block is not written again.
            if !self.block_is_silence {
                self.block.fill(0.0);
                self.block_is_silence = true;
            }
            self.position = 0;
            return;
        }
        self.block_is_silence = false;
        let started = Instant::now();
        let block_us = self.block_us();
        let now = self.clock.now_us();
        // The window always ends "now": a window allowed to run ahead of
        // the clock (after an early callback) would treat the next notes as
        // late and start them a block off, which is jitter.
        let start = now.saturating_sub(block_us);
        self.render_window(start);
        self.publish_stats(started.elapsed(), block_us);
    }

    /// With nothing queued and the engine silent (no voice, no tail), the
    /// next `frames` frames are silence whatever their window: they go by
    /// as idle blocks, neither clock asked nor anything rendered (the idle
    /// cost of an open output). `frames` is a whole number of blocks.
    fn rest_if_idle(&mut self, frames: usize) -> bool {
        let idle = self.events.is_empty() && self.engine.is_silent();
        if idle {
            self.engine.rest(frames);
            self.publish_idle((frames / self.block_frames) as u64);
        }
        idle
    }

    fn block_us(&self) -> u64 {
        self.block_frames as u64 * 1_000_000 / u64::from(self.sample_rate)
    }

    /// Renders the block standing for the time window that starts at
    /// `start` (µs on the input clock): each queued event inside the window
    /// takes effect at its own sample; later events wait for their block.
    fn render_window(&mut self, start: u64) {
        let end = start + self.block_us();
        let mut done = 0;
        while let Ok(next) = self.events.peek() {
            if next.t_us >= end {
                break;
            }
            let Ok(timed) = self.events.pop() else { break };
            let offset = (timed.t_us.saturating_sub(start) * u64::from(self.sample_rate)
                / 1_000_000) as usize;
            let offset = offset.clamp(done, self.block_frames);
            self.engine.render(&mut self.block[done * 2..offset * 2]);
            self.engine.handle(timed.event);
            done = offset;
        }
        self.engine.render(&mut self.block[done * 2..]);
        self.position = 0;
    }

    /// The figures of a block rendered idle: no voice, no load.
    fn publish_idle(&self, blocks: u64) {
        let stats = &self.stats;
        stats.blocks.fetch_add(blocks, Ordering::Release);
        stats.voices.store(0, Ordering::Relaxed);
        stats.load_permille.store(0, Ordering::Relaxed);
        // Released after the figures: whoever sees it silent sees them.
        stats.silent.store(true, Ordering::Release);
    }

    fn publish_stats(&self, elapsed: Duration, block_us: u64) {
        let budget = Duration::from_micros(block_us.max(1));
        let load = (elapsed.as_nanos() * 1000 / budget.as_nanos()) as u32;
        let stats = &self.stats;
        stats.blocks.fetch_add(1, Ordering::Release);
        stats
            .voices
            .store(self.engine.active_voices() as u32, Ordering::Relaxed);
        stats.load_permille.store(load, Ordering::Relaxed);
        stats.peak_load_permille.fetch_max(load, Ordering::Relaxed);
        if load > 1000 {
            stats.overruns.fetch_add(1, Ordering::Relaxed);
        }
        stats
            .silent
            .store(self.engine.is_silent(), Ordering::Release);
    }
}

impl Iterator for SynthSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.position >= self.block.len() {
            self.render_block();
        }
        let sample = self.block[self.position];
        self.position += 1;
        Some(sample)
    }
}

impl crate::audio::device::Pull for SynthSource {
    /// Between blocks, idle frames (see `rest_if_idle`) are not even
    /// copied.
    fn skip_silence(&mut self, frames: usize) -> bool {
        self.position >= self.block.len()
            && frames % self.block_frames == 0
            && self.rest_if_idle(frames)
    }

    /// Copies whole runs of rendered blocks (the callback's usual path).
    fn pull(&mut self, out: &mut [f32]) {
        let mut filled = 0;
        while filled < out.len() {
            if self.position >= self.block.len() {
                self.render_block();
            }
            let n = (self.block.len() - self.position).min(out.len() - filled);
            out[filled..filled + n].copy_from_slice(&self.block[self.position..self.position + n]);
            self.position += n;
            filled += n;
        }
    }
}

impl rodio::Source for SynthSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        rodio::ChannelCount::new(2).expect("2 is not zero")
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        rodio::SampleRate::new(self.sample_rate).unwrap_or(rodio::SampleRate::MIN)
    }

    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::EngineConfig;

    fn source() -> (EventSender, SynthSource) {
        build(
            Engine::new(48_000, EngineConfig::default()),
            480,
            Clock::start(),
            64,
        )
    }

    /// Queues A4 at velocity 100, due at once.
    fn a4(sender: &mut EventSender) {
        sender.send(TimedEvent {
            t_us: 0,
            event: SynthEvent::NoteOn {
                channel: 0,
                key: 69,
                velocity: 100,
            },
        });
    }

    fn first_loud_frame(block: &[f32]) -> Option<usize> {
        block
            .chunks(2)
            .position(|frame| frame[0].abs() > 1e-4 || frame[1].abs() > 1e-4)
    }

    #[test]
    fn events_start_at_their_own_sample_inside_a_block() {
        let (mut sender, mut source) = source();
        // A 480-frame block at 48 kHz is 10 ms; the note comes 6 ms in.
        sender.send(TimedEvent {
            t_us: 1_006_000,
            event: SynthEvent::NoteOn {
                channel: 0,
                key: 69,
                velocity: 127,
            },
        });
        source.render_window(1_000_000);
        let first = first_loud_frame(&source.block).expect("the note starts in this block");
        assert!(
            (288..=292).contains(&first),
            "note started at frame {first}, expected 288"
        );
    }

    #[test]
    fn pulling_buffers_gives_the_samples_pulled_one_by_one() {
        use crate::audio::device::Pull as _;
        let (mut one_sender, mut one_by_one) = source();
        let (mut buffer_sender, mut buffers) = source();
        a4(&mut one_sender);
        a4(&mut buffer_sender);
        let expected: Vec<f32> = (0..3000).map(|_| one_by_one.next().unwrap()).collect();
        let mut got = vec![0.0; 3000];
        for chunk in got.chunks_mut(333) {
            buffers.pull(chunk);
        }
        assert!(expected.iter().any(|s| s.abs() > 1e-3), "the note sounds");
        assert_eq!(got, expected);
    }

    #[test]
    fn silence_is_skipped_only_while_nothing_sounds_or_waits() {
        use crate::audio::device::Pull as _;
        let (mut sender, mut source) = source();
        assert!(source.skip_silence(480), "idle: the block is skipped");
        assert!(!source.skip_silence(100), "not a whole number of blocks");
        a4(&mut sender);
        assert!(!source.skip_silence(480), "a queued note is rendered");
        let mut heard = vec![0.0; 960];
        source.pull(&mut heard);
        assert!(first_loud_frame(&heard).is_some(), "the note sounds");
        assert!(!source.skip_silence(480), "a sounding note is rendered");
        sender.send(TimedEvent {
            t_us: 0,
            event: SynthEvent::AllNotesOff,
        });
        let mut tail = vec![0.0; 960];
        let mut blocks = 0;
        while blocks < 3000 && !source.skip_silence(480) {
            source.pull(&mut tail);
            blocks += 1;
        }
        assert!(
            (2..3000).contains(&blocks),
            "the tail rings out ({blocks} blocks), then silence is skipped again"
        );
    }

    #[test]
    fn events_after_the_window_wait_for_their_block() {
        let (mut sender, mut source) = source();
        sender.send(TimedEvent {
            t_us: 1_012_000,
            event: SynthEvent::NoteOn {
                channel: 0,
                key: 69,
                velocity: 127,
            },
        });
        source.render_window(1_000_000);
        assert_eq!(first_loud_frame(&source.block), None, "not yet");
        source.render_window(1_010_000);
        let first = first_loud_frame(&source.block).expect("now");
        assert!((94..=98).contains(&first), "{first}");
    }

    #[test]
    fn late_events_play_at_the_start_of_the_block() {
        let (mut sender, mut source) = source();
        sender.send(TimedEvent {
            t_us: 500,
            event: SynthEvent::NoteOn {
                channel: 0,
                key: 69,
                velocity: 127,
            },
        });
        source.render_window(1_000_000);
        assert!(first_loud_frame(&source.block).is_some_and(|f| f < 4));
    }

    #[test]
    fn the_last_notes_ring_out_only_after_the_audio_thread_played_them() {
        use crate::audio::device::Pull as _;
        let (mut sender, mut source) = source();
        let mut buffer = vec![0.0; 960];
        source.pull(&mut buffer);
        source.pull(&mut buffer);
        let mut mark = None;
        while !sender.rung_out(&mut mark) {
            source.pull(&mut buffer);
        }
        // The last note, sent while the audio thread is late (a loaded
        // machine): nothing of it has been heard yet.
        a4(&mut sender);
        let mut mark = None;
        assert!(!sender.rung_out(&mut mark), "queued, not played yet");
        source.pull(&mut buffer);
        assert!(first_loud_frame(&buffer).is_some(), "the note sounds");
        source.pull(&mut buffer);
        source.pull(&mut buffer);
        assert!(!sender.rung_out(&mut mark), "it still sounds");
        sender.send(TimedEvent {
            t_us: 0,
            event: SynthEvent::AllNotesOff,
        });
        assert!(!sender.rung_out(&mut mark), "the stop is not played yet");
        let mut blocks = 0;
        while blocks < 3000 && !sender.rung_out(&mut mark) {
            source.pull(&mut buffer);
            blocks += 1;
        }
        assert!(
            (2..3000).contains(&blocks),
            "rung out after {blocks} blocks"
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (mut sender, source) = source();
        let event = TimedEvent {
            t_us: 0,
            event: SynthEvent::AllNotesOff,
        };
        let sent = (0..100).filter(|_| sender.send(event)).count();
        assert_eq!(sent, 64);
        assert_eq!(source.stats().dropped_events.load(Ordering::Relaxed), 36);
    }
}
