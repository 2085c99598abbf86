//! Proof that the audio callback is real-time safe: with an
//! allocation-counting global allocator, pulling samples from the synth
//! source (what the audio thread does) while another thread plays densely
//! into the lock-free queue performs zero allocations and deallocations.
//! (Locks and blocking calls are absent from that path by construction:
//! it touches only the rtrb consumer, atomics and the engine.) The same
//! holds with the General MIDI map (drums on channel 10, reverb and chorus
//! sends on every channel) and with a SoundFont loaded (rustysynth).

use composer_probe::audio::device::Pull as _;
use composer_probe::audio::realtime;
use composer_probe::clock::Clock;
use composer_probe::synth::{Engine, EngineConfig, PanelMap, Preset, SoundFont, SynthEvent};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn note(counting: bool) {
    if counting {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(counting());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(counting());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(counting());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(counting());
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A dense, varied performance: chords past the voice limit (stealing),
/// the sustain pedal, pitch bend, the mod wheel, every DeepComposer knob
/// and General MIDI controller, drums (notes on channel 10 and drum
/// events), program changes and all-notes-off.
fn performance(step: u64) -> Vec<SynthEvent> {
    let key = 36 + (step * 7 % 60) as u8;
    let mut events = vec![
        SynthEvent::NoteOn {
            channel: 0,
            key,
            velocity: 40 + (step % 87) as u8,
        },
        SynthEvent::NoteOn {
            channel: 0,
            key: key + 4,
            velocity: 100,
        },
        SynthEvent::PitchBend {
            channel: 0,
            value: (step * 997 % 16384) as u16,
        },
        SynthEvent::Control {
            channel: 0,
            controller: [1, 7, 10, 21, 22, 23, 91, 64, 71, 72, 73, 74, 93][(step % 13) as usize],
            value: (step * 13 % 128) as u8,
        },
        SynthEvent::NoteOn {
            channel: 9,
            key: [36, 38, 42, 46, 49, 51][(step % 6) as usize],
            velocity: 90,
        },
        SynthEvent::Drum {
            channel: 9,
            key: 35 + (step % 47) as u8,
            velocity: 100,
        },
    ];
    if step % 3 == 0 {
        events.push(SynthEvent::NoteOff { channel: 0, key });
    }
    if step % 50 == 0 {
        events.push(SynthEvent::ProgramChange {
            channel: 0,
            program: (step / 50 % 8) as u8,
        });
    }
    if step % 400 == 399 {
        events.push(SynthEvent::AllNotesOff);
    }
    events
}

#[test]
fn the_audio_callback_never_allocates() {
    play_and_count(EngineConfig {
        preset: Preset::Pad,
        ..EngineConfig::default()
    });
}

#[test]
fn the_audio_callback_never_allocates_with_the_general_midi_map() {
    play_and_count(EngineConfig {
        preset: Preset::Lead,
        panel: PanelMap::GeneralMidi,
        ..EngineConfig::default()
    });
}

#[test]
fn the_audio_callback_never_allocates_with_reverb_and_chorus_on_every_channel() {
    play_and_count_after(
        EngineConfig {
            preset: Preset::Organ,
            panel: PanelMap::GeneralMidi,
            ..EngineConfig::default()
        },
        &(0..16)
            .flat_map(|channel| {
                [91, 93].map(|controller| SynthEvent::Control {
                    channel,
                    controller,
                    value: 127,
                })
            })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn the_audio_callback_never_allocates_with_a_soundfont() {
    // FluidR3_GM from fluid-soundfont-gm (scripts/install-deps.sh test).
    let font = SoundFont::load(std::path::Path::new("default")).expect("a GM SoundFont");
    play_and_count(EngineConfig {
        panel: PanelMap::GeneralMidi,
        soundfont: Some(font),
        ..EngineConfig::default()
    });
}

/// Plays [`performance`] into the queue from another thread while this
/// thread pulls samples as the audio thread does, counting its allocations.
fn play_and_count(config: EngineConfig) {
    play_and_count_after(config, &[]);
}

/// [`play_and_count`], the engine first given `prelude`.
fn play_and_count_after(config: EngineConfig, prelude: &[SynthEvent]) {
    let clock = Clock::start();
    let mut engine = Engine::new(48_000, config);
    for &event in prelude {
        engine.handle(event);
    }
    let (mut sender, mut source) = realtime::build(engine, 128, clock, 4096);
    let playing = Arc::new(AtomicBool::new(true));
    let still_playing = Arc::clone(&playing);
    let player = std::thread::spawn(move || {
        for step in 0..2000 {
            for event in performance(step) {
                sender.send(realtime::TimedEvent {
                    t_us: clock.now_us(),
                    event,
                });
            }
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
        still_playing.store(false, Ordering::Relaxed);
    });

    // The audio thread's work, as the device's callback does it: pull a
    // buffer at a time (odd sizes, as devices hand them), block after block.
    let mut peak = 0.0f32;
    let mut samples = 0u64;
    let mut buffer = [0.0f32; 300];
    COUNTING.with(|c| c.set(true));
    while playing.load(Ordering::Relaxed) || samples < 48_000 * 2 {
        source.pull(&mut buffer);
        peak = buffer.iter().fold(peak, |p, s| p.max(s.abs()));
        samples += buffer.len() as u64;
    }
    COUNTING.with(|c| c.set(false));
    player.join().unwrap();

    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations on the audio path"
    );
    assert!(peak > 0.01, "the performance was heard (peak {peak})");
    assert!(peak <= 1.0, "and never clipped (peak {peak})");
    assert!(samples >= 48_000 * 2, "two seconds of audio were pulled");
}
