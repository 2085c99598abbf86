//! The built-in synthesizer: a pure-Rust polyphonic engine with no I/O.
//!
//! Feed it [`SynthEvent`]s (a MIDI message becomes one by
//! [`SynthEvent::from_midi`], in `midi.rs`) with [`Engine::handle`] and
//! pull interleaved stereo `f32` samples with [`Engine::render`];
//! `composer-probe play` drives it from the audio callback and
//! `composer-probe render` from a MIDI file. Neither call allocates, locks or panics; all memory is taken
//! in [`Engine::new`].
//!
//! ```
//! use composer_probe::synth::{Engine, EngineConfig, SynthEvent};
//!
//! let mut engine = Engine::new(48_000, EngineConfig::default());
//! engine.handle(SynthEvent::NoteOn { channel: 0, key: 60, velocity: 100 });
//! let mut buffer = [0.0f32; 2 * 256]; // 256 stereo frames
//! engine.render(&mut buffer);
//! assert!(buffer.iter().any(|&x| x != 0.0));
//! ```
//!
//! The signal path of one voice is two band-limited oscillators (PolyBLEP
//! saw/square, PolyBLAMP triangle, polynomial sine) → a resonant 2-pole TPT state-variable low-pass whose
//! cutoff follows an envelope, velocity and the key → an exponential ADSR →
//! pan. Up to 64 voices are summed with Freeverb-style reverb and stereo chorus sends, then
//! the master gain, a peak limiter and a soft clipper. The presets and the
//! Program Change mapping are tabled in `src/synth/preset.rs`, the
//! panel/controller map (DeepComposer or General MIDI) in
//! `src/synth/engine.rs`.
//!
//! A General MIDI drum kit (`drums`) plays on the channels chosen with
//! [`Engine::set_drum_channel`] or from [`SynthEvent::Drum`].
//!
//! With [`EngineConfig::soundfont`] set (a [`SoundFont`] loaded by
//! [`SoundFont::load`]) the same engine plays the SoundFont's instruments
//! through `rustysynth` instead (`soundfont`).
//!
//! Parts: `oscillator`, `envelope`, `filter`, `voice`, `preset`, `effects`
//! (reverb, chorus, limiter), `drums`, `engine`, `soundfont`.

mod drums;
mod effects;
mod engine;
mod envelope;
mod filter;
mod midi;
mod oscillator;
mod preset;
mod soundfont;
mod voice;

pub use engine::{Engine, EngineConfig, PanelMap, SynthEvent, LIVE_SOUNDFONT_BLOCK};
pub use preset::{ParsePresetError, Preset};
pub use soundfont::{SoundFont, SoundFontError, DEFAULT_SOUNDFONTS};
