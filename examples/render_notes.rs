//! Renders a few notes to a WAV file with the library's synth.
//!
//! Run: `cargo run --example render_notes -- notes.wav`

use composer_probe::synth::{Engine, EngineConfig, Preset, SynthEvent};

fn main() -> Result<(), hound::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "notes.wav".to_owned());
    let rate = 48_000;
    let mut engine = Engine::new(
        rate,
        EngineConfig {
            preset: Preset::Pluck,
            ..EngineConfig::default()
        },
    );
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(&path, spec)?;
    let mut block = vec![0.0f32; 2 * 4800]; // 0.1 s
                                            // C major arpeggio, a tenth of a second apart, then let it ring.
    for (step, key) in [60u8, 64, 67, 72].into_iter().enumerate() {
        engine.handle(SynthEvent::NoteOn {
            channel: 0,
            key,
            velocity: 90 - 10 * step as u8,
        });
        engine.render(&mut block);
        block
            .iter()
            .try_for_each(|s| wav.write_sample((s * 32767.0) as i16))?;
    }
    engine.handle(SynthEvent::AllNotesOff);
    while !engine.is_silent() {
        engine.render(&mut block);
        block
            .iter()
            .try_for_each(|s| wav.write_sample((s * 32767.0) as i16))?;
    }
    wav.finalize()?;
    println!("wrote {path}");
    Ok(())
}
