//! Soak: 60 s of dense emulated playing through the real-time path (the
//! `SynthSource` the audio callback pulls from), with an allocation-counting
//! allocator. Reports allocations on the audio path (must be 0), the worst
//! block render time against its budget, and dropouts (blocks that took
//! longer than their own duration). `cargo bench --bench soak`; under
//! `cargo test --benches` it runs 5 s as a check.

use composer_probe::audio::realtime::{self, TimedEvent};
use composer_probe::input::Clock;
use composer_probe::synth::{Engine, EngineConfig, Preset, SynthEvent};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn note() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const RATE: u32 = 48_000;
const BLOCK: usize = 128;

/// Dense playing at 16th notes of 160 bpm: four-note chords, a held pedal
/// half the time, bends, the mod wheel and every DeepComposer knob.
fn events_for_step(step: u64) -> Vec<SynthEvent> {
    let root = 36 + (step * 5 % 48) as u8;
    let mut events: Vec<SynthEvent> = [0u8, 4, 7, 11]
        .iter()
        .map(|i| SynthEvent::NoteOn {
            channel: 0,
            key: root + i,
            velocity: 60 + (step * 17 % 67) as u8,
        })
        .collect();
    events.push(SynthEvent::Control {
        channel: 0,
        controller: 64,
        value: if step % 32 < 16 { 127 } else { 0 },
    });
    events.push(SynthEvent::PitchBend {
        channel: 0,
        value: (8192 + (step as i64 * 731 % 4096) - 2048) as u16,
    });
    events.push(SynthEvent::Control {
        channel: 0,
        controller: [1, 10, 21, 22, 23, 91][(step % 6) as usize],
        value: (step * 29 % 128) as u8,
    });
    if step >= 2 {
        let old = 36 + ((step - 2) * 5 % 48) as u8;
        events.extend([0u8, 4, 7, 11].iter().map(|i| SynthEvent::NoteOff {
            channel: 0,
            key: old + i,
        }));
    }
    events
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let seconds: u64 = if benching { 60 } else { 5 };
    let clock = Clock::start();
    let config = EngineConfig {
        preset: Preset::Pad,
        ..EngineConfig::default()
    };
    let (mut sender, mut source) = realtime::build(Engine::new(RATE, config), BLOCK, clock, 8192);
    let step_us = 60_000_000 / 160 / 4;
    let block_budget = Duration::from_micros(BLOCK as u64 * 1_000_000 / u64::from(RATE));
    let frames = seconds * u64::from(RATE);
    let (mut worst, mut dropouts, mut blocks, mut peak) = (Duration::ZERO, 0u64, 0u64, 0.0f32);
    let mut next_step = 0u64;
    let mut audio_us = 0u64;
    let mut block = vec![0.0f32; BLOCK * 2];
    for _ in 0..frames / BLOCK as u64 {
        // The input side: queue what is due by now (on the audio timeline).
        while next_step * step_us <= audio_us + 10_000 {
            for event in events_for_step(next_step) {
                sender.send(TimedEvent {
                    t_us: next_step * step_us,
                    event,
                });
            }
            next_step += 1;
        }
        // The audio side: one block pulled through the callback path, counted.
        let started = Instant::now();
        COUNTING.with(|c| c.set(true));
        for sample in block.iter_mut() {
            *sample = source.next().unwrap_or(0.0);
        }
        COUNTING.with(|c| c.set(false));
        let took = started.elapsed();
        worst = worst.max(took);
        dropouts += u64::from(took > block_budget);
        blocks += 1;
        peak = block.iter().fold(peak, |p, s| p.max(s.abs()));
        audio_us += BLOCK as u64 * 1_000_000 / u64::from(RATE);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    println!(
        "soak: {seconds} s of dense playing ({} chords), {blocks} blocks of {BLOCK} frames: {allocations} allocations on the audio path, worst block {:.1} µs of a {:.0} µs budget ({:.1} %), {dropouts} dropouts, peak {peak:.3}",
        next_step,
        worst.as_secs_f64() * 1e6,
        block_budget.as_secs_f64() * 1e6,
        worst.as_secs_f64() / block_budget.as_secs_f64() * 100.0,
    );
    assert_eq!(allocations, 0, "the audio path allocated");
    assert!(
        peak <= 1.0 && peak > 0.01,
        "heard and never clipped (peak {peak})"
    );
}
