//! Soak: 60 s of dense emulated playing through the real-time path (the
//! `SynthSource` the audio callback pulls from), paced like a sound card:
//! each 128-frame block is pulled when its period comes round on the clock,
//! on a real-time (SCHED_FIFO) thread where the system allows one, as audio
//! callbacks run under JACK and PipeWire. An allocation-counting allocator
//! watches the pulls. Reports allocations on the audio path (must be 0), the
//! worst block render time against its budget, the worst wake-up delay, and
//! dropouts: blocks not ready by the time the next period starts (what a
//! sound card would play as a gap), and how many of them rendering itself
//! caused (the rest are the thread woken late by the system). `cargo bench --bench soak`; under
//! `cargo test --benches` it runs 5 s as a check.

use composer_probe::audio::realtime::{self, TimedEvent};
use composer_probe::clock::Clock;
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

/// Asks for real-time scheduling, as audio threads get; says what it got.
#[cfg(target_os = "linux")]
fn real_time_priority() -> String {
    let param = libc::sched_param { sched_priority: 70 };
    // SAFETY: plain syscall on the calling thread with a valid parameter.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        "SCHED_FIFO 70".to_owned()
    } else {
        format!(
            "normal priority ({}; dropouts then include scheduler stalls)",
            std::io::Error::last_os_error()
        )
    }
}

#[cfg(not(target_os = "linux"))]
fn real_time_priority() -> String {
    "normal priority".to_owned()
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let seconds: u64 = if benching { 60 } else { 5 };
    let priority = real_time_priority();
    let clock = Clock::start();
    let config = EngineConfig {
        preset: Preset::Pad,
        ..EngineConfig::default()
    };
    let (mut sender, mut source) = realtime::build(Engine::new(RATE, config), BLOCK, clock, 8192);
    let step_us = 60_000_000 / 160 / 4;
    let block_us = BLOCK as u64 * 1_000_000 / u64::from(RATE);
    let block_budget = Duration::from_micros(block_us);
    let blocks = seconds * u64::from(RATE) / BLOCK as u64;
    let (mut worst, mut worst_wake, mut peak) = (Duration::ZERO, 0u64, 0.0f32);
    // Gaps, and those of them where rendering itself overran its period.
    let (mut dropouts, mut overruns) = (0u64, 0u64);
    let mut next_step = 0u64;
    let mut block = vec![0.0f32; BLOCK * 2];
    for index in 0..blocks {
        // The period this block stands for ends now; wait for it.
        let due_us = (index + 1) * block_us;
        let now = clock.now_us();
        if now < due_us {
            std::thread::sleep(Duration::from_micros(due_us - now));
        }
        let woke_us = clock.now_us();
        worst_wake = worst_wake.max(woke_us - due_us);
        // The input side: queue what the player has pressed by now.
        while next_step * step_us <= woke_us {
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
        // A card plays this block during the next period: late past that is a gap.
        let late = clock.now_us() > due_us + block_us;
        dropouts += u64::from(late);
        overruns += u64::from(late && took > block_budget);
        peak = block.iter().fold(peak, |p, s| p.max(s.abs()));
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    println!(
        "soak: {seconds} s of dense playing ({next_step} chords) paced in real time at {priority}, {blocks} blocks of {BLOCK} frames: {allocations} allocations on the audio path, worst block {:.1} µs of a {:.0} µs budget ({:.1} %), worst wake-up {:.1} ms late, {dropouts} dropouts ({overruns} from rendering, the rest from late wake-ups), peak {peak:.3}",
        worst.as_secs_f64() * 1e6,
        block_budget.as_secs_f64() * 1e6,
        worst.as_secs_f64() / block_budget.as_secs_f64() * 100.0,
        worst_wake as f64 / 1000.0,
    );
    assert_eq!(allocations, 0, "the audio path allocated");
    assert!(
        peak <= 1.0 && peak > 0.01,
        "heard and never clipped (peak {peak})"
    );
}
