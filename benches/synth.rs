//! Cost of the synth engine: 48 kHz stereo rendered in 128-frame blocks
//! (a typical audio callback), with 32 and 64 voices held.
//!
//! Criterion measures the time per block (throughput in frames). After it,
//! `main` times the same cases directly and prints the derived figures:
//! real-time factor (audio time per block ÷ time to render it), nanoseconds
//! per voice per sample, and voices per core (one core's 48 000-frame
//! budget per second ÷ the cost of one voice-sample).
//!
//! The `sf_` cases play the same way through the installed General MIDI
//! SoundFont (`--soundfont default`, FluidR3_GM from fluid-soundfont-gm;
//! rustysynth with its reverb and chorus), the voices counted as notes.
//! `sf_organ_32_voices_bare` holds the same notes in a bare
//! `rustysynth::Synthesizer` (same font, same settings, no engine around
//! it): the difference is what the engine adds (event mapping, limiter,
//! interleaving), the rest is rustysynth's own cost.
//!
//! Run with `cargo bench --bench synth`; `cargo test --benches` runs each
//! case once as a smoke test and skips the report.

use composer_probe::synth::{Engine, EngineConfig, PanelMap, Preset, SoundFont, SynthEvent};
use criterion::{black_box, criterion_group, Criterion, Throughput};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Sample rate.
const FS: u32 = 48_000;
/// Frames per rendered block.
const FRAMES: usize = 128;

/// One benchmark case.
struct Case {
    name: &'static str,
    preset: Preset,
    voices: u8,
    /// DeepComposer reverb button on.
    reverb: bool,
    /// Mod wheel up and the pitch wheel off centre: the pitch of every voice
    /// is recomputed every control block.
    modulation: bool,
    /// Through the installed GM SoundFont instead of the built-in voices
    /// (the preset picks its GM program).
    soundfont: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "pad_32_voices",
        preset: Preset::Pad,
        voices: 32,
        reverb: false,
        modulation: false,
        soundfont: false,
    },
    Case {
        name: "pad_32_voices_reverb",
        preset: Preset::Pad,
        voices: 32,
        reverb: true,
        modulation: false,
        soundfont: false,
    },
    Case {
        name: "lead_32_voices_vibrato_reverb",
        preset: Preset::Lead,
        voices: 32,
        reverb: true,
        modulation: true,
        soundfont: false,
    },
    Case {
        name: "organ_32_voices",
        preset: Preset::Organ,
        voices: 32,
        reverb: false,
        modulation: false,
        soundfont: false,
    },
    Case {
        name: "pad_64_voices_reverb",
        preset: Preset::Pad,
        voices: 64,
        reverb: true,
        modulation: false,
        soundfont: false,
    },
    Case {
        name: "sf_organ_32_voices",
        preset: Preset::Organ,
        voices: 32,
        reverb: false,
        modulation: false,
        soundfont: true,
    },
    Case {
        name: "sf_pad_32_voices",
        preset: Preset::Pad,
        voices: 32,
        reverb: false,
        modulation: false,
        soundfont: true,
    },
];

/// The installed GM SoundFont, loaded once.
fn soundfont() -> &'static SoundFont {
    static FONT: OnceLock<&'static SoundFont> = OnceLock::new();
    FONT.get_or_init(|| {
        SoundFont::load(std::path::Path::new("default"))
            .expect("a GM SoundFont (scripts/install-deps.sh test)")
    })
}

/// An engine holding `case.voices` notes, past their attack.
fn playing(case: &Case) -> Engine {
    let mut engine = Engine::new(
        FS,
        EngineConfig {
            preset: case.preset,
            panel: PanelMap::DeepComposer,
            soundfont: case.soundfont.then(soundfont),
            ..EngineConfig::default()
        },
    );
    let control = |controller, value| SynthEvent::Control {
        channel: 0,
        controller,
        value,
    };
    if case.reverb {
        engine.handle(control(91, 64));
    }
    if case.modulation {
        engine.handle(control(1, 100));
        engine.handle(SynthEvent::PitchBend {
            channel: 0,
            value: 9000,
        });
    }
    for i in 0..case.voices {
        engine.handle(SynthEvent::NoteOn {
            channel: 0,
            key: 30 + i,
            velocity: 100,
        });
    }
    let mut buffer = vec![0.0f32; 2 * FRAMES];
    for _ in 0..FS as usize / FRAMES {
        engine.render(&mut buffer);
    }
    assert_eq!(engine.active_voices(), usize::from(case.voices));
    engine
}

fn render_blocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth_render_128_frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    for case in CASES {
        let mut engine = playing(case);
        let mut buffer = vec![0.0f32; 2 * FRAMES];
        group.bench_function(case.name, |b| {
            b.iter(|| engine.render(black_box(&mut buffer)))
        });
        assert!(buffer.iter().all(|x| x.is_finite() && x.abs() < 1.0));
    }
    group.finish();
}

/// A bare rustysynth synthesizer holding what [`playing`] holds for
/// `case` (a SoundFont case), past the attack.
fn bare(case: &Case) -> rustysynth::Synthesizer {
    let font = soundfont();
    let mut file = std::fs::File::open(font.path()).expect("the SoundFont reads");
    let font = std::sync::Arc::new(rustysynth::SoundFont::new(&mut file).expect("it parses"));
    let settings = rustysynth::SynthesizerSettings::new(FS as i32);
    let mut synth = rustysynth::Synthesizer::new(&font, &settings).expect("it plays");
    synth.process_midi_message(0, 0xC0, i32::from(case.preset.program()), 0);
    for i in 0..case.voices {
        synth.note_on(0, 30 + i32::from(i), 100);
    }
    let (mut left, mut right) = ([0.0f32; FRAMES], [0.0f32; FRAMES]);
    for _ in 0..FS as usize / FRAMES {
        synth.render(&mut left, &mut right);
    }
    synth
}

/// The SoundFont organ case, timed through the engine and through bare
/// rustysynth.
fn bare_case() -> &'static Case {
    CASES
        .iter()
        .find(|c| c.name == "sf_organ_32_voices")
        .expect("the case exists")
}

fn soundfont_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("synth_render_128_frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    let mut synth = bare(bare_case());
    let (mut left, mut right) = ([0.0f32; FRAMES], [0.0f32; FRAMES]);
    group.bench_function("sf_organ_32_voices_bare", |b| {
        b.iter(|| synth.render(black_box(&mut left), black_box(&mut right)))
    });
    assert!(left.iter().any(|&x| x != 0.0));
    group.finish();
}

criterion_group!(benches, render_blocks, soundfont_overhead);

/// Best time per block over several runs of `blocks` blocks.
fn time_per_block(case: &Case, blocks: usize) -> Duration {
    let mut engine = playing(case);
    let mut buffer = vec![0.0f32; 2 * FRAMES];
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..blocks {
                engine.render(black_box(&mut buffer));
            }
            start.elapsed() / blocks as u32
        })
        .min()
        .unwrap_or_default()
}

/// Print real-time factor, ns per voice per sample and voices per core.
fn report() {
    let audio_per_block = FRAMES as f64 / f64::from(FS);
    println!();
    println!(
        "{:<32} {:>12} {:>12} {:>18} {:>16}",
        "case (48 kHz, 128 frames)", "µs/block", "real time ×", "ns/voice/sample", "voices/core"
    );
    let mut engine_sf_organ = 0.0;
    for case in CASES {
        let block = time_per_block(case, 4000).as_secs_f64();
        if std::ptr::eq(case, bare_case()) {
            engine_sf_organ = block;
        }
        let voice_sample = block / (f64::from(case.voices) * FRAMES as f64);
        println!(
            "{:<32} {:>12.2} {:>12.0} {:>18.2} {:>16.0}",
            case.name,
            block * 1e6,
            audio_per_block / block,
            voice_sample * 1e9,
            1.0 / (voice_sample * f64::from(FS)),
        );
    }
    let mut synth = bare(bare_case());
    let (mut left, mut right) = ([0.0f32; FRAMES], [0.0f32; FRAMES]);
    let block = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..4000 {
                synth.render(black_box(&mut left), black_box(&mut right));
            }
            start.elapsed() / 4000
        })
        .min()
        .unwrap_or_default()
        .as_secs_f64();
    println!(
        "{:<32} {:>12.2} {:>12.0}   (the engine's {} costs {:+.1} % over bare rustysynth)",
        "sf_organ_32_voices_bare",
        block * 1e6,
        audio_per_block / block,
        bare_case().name,
        (engine_sf_organ / block - 1.0) * 100.0
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        report();
    }
}
