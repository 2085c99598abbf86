//! The polyphonic engine: events in, interleaved stereo out.
//!
//! [`Engine::new`] allocates everything (64 voices, the reverb's delay
//! lines); [`Engine::handle`] and [`Engine::render`] never allocate, lock or
//! panic. An event takes effect from the next rendered sample, so a caller
//! that wants sample-accurate timing splits its buffer at event times.
//! Rendering runs in control blocks of 32 frames; envelopes, pitch (bend,
//! vibrato) and cutoff are updated per block and every gain is ramped across
//! it. While notes sound, volume, expression, pan, sends (reverb and
//! chorus) and the waveform
//! morph glide to a new value with a 12 ms time constant (the morph
//! crossfades sample by sample), cutoff and resonance with 40 ms: turning a
//! knob or the encoder neither clicks nor zippers. A channel with nothing
//! sounding takes its new values at once, so a note starts with the
//! controls sent before it.
//!
//! ## Panel and controller map
//!
//! `v` is the controller value 0–127. The timbre controls (waveform,
//! cutoff, attack, release, resonance) are engine-wide: they apply to all
//! channels and presets and survive Program Changes. "64 = preset" controls
//! are relative: centred, the preset sounds as designed.
//!
//! | control (DeepComposer) | message | `PanelMap::DeepComposer` | `PanelMap::GeneralMidi` |
//! |---|---|---|---|
//! | Pitch wheel | pitch bend | ± `bend_range_semitones` (default 2) | same |
//! | Modulation wheel | CC 1 | vibrato, 5.5 Hz, depth 0–50 cents (v/127 × 50) | same |
//! | Volume knob | CC 7 | channel volume, gain (v/100)²: 100 (default) = unity, 127 = +4.1 dB | same |
//! | — | CC 11 | expression, gain (v/127)² (default 127) | same |
//! | Encoder | CC 10 | waveform of both oscillators, morph position v × 3/127: 0 sine, 42 triangle, 85 saw, 127 square, crossfading between neighbours (until first moved, the preset's own) | pan, constant power: 0 left, 64 centre, 127 right |
//! | Knob 1 | CC 21 | filter cutoff × 16^((v−64)/64): 64 = preset, 0 = 4 octaves down, 127 ≈ 4 octaves up | — |
//! | Knob 2 | CC 22 | attack time × 64^((v−64)/64): 64 = preset, 0 = ÷64, 127 ≈ ×60 (kept within 0.5 ms–30 s) | — |
//! | Knob 3 | CC 23 | release time, same curve as Knob 2 | — |
//! | Set+Reverb | CC 91 | reverb on (send 0.6 on every channel) when v ≥ 64, off when v < 64; the button sends 64 / 0 | reverb send v/127 on this channel |
//! | — | CC 74 | — | filter cutoff, as Knob 1 |
//! | — | CC 73 | — | attack time, as Knob 2 |
//! | — | CC 72 | — | release time, as Knob 3 |
//! | — | CC 71 | — | resonance: preset's + (v−64)/128, kept within 0–0.97 |
//! | — | CC 93 | — | chorus send v/127 on this channel (stereo chorus, `src/synth/effects.rs`) |
//! | — | notes on channel 10 | the channel's preset | the drum kit (`src/synth/drums.rs`) |
//! | (pedal) | CC 64 | sustain: v ≥ 64 holds released notes until it lifts; striking a held key again retriggers it | same |
//! | — | CC 120 | all sound off: the channel's voices fade out in 5 ms | same |
//! | — | CC 121 | reset controllers: modulation 0, bend centre, expression 127, pedal up (volume, pan, reverb and timbre kept, as in RP-015) | same |
//! | — | CC 123 | all notes off: the channel's keys are released (the pedal still holds them, as MIDI 1.0 says) | same |
//! | — | Program Change | the channel's preset for new notes, by GM family (see [`Preset::from_program`]) | same |
//!
//! Every other controller (the transport buttons CC 105–107 included) is
//! ignored. [`SynthEvent::AllNotesOff`] lifts every pedal and releases every
//! note on every channel, each with its own release (no click).
//!
//! ## Voices
//!
//! [`Engine::MAX_VOICES`] = 64. A key struck again on the same channel
//! reuses its voice. Otherwise a free voice is taken, or one is stolen:
//! first one already fading out, then the oldest released note, then the
//! oldest note held only by the pedal, then the oldest held key. A stolen
//! voice fades out over 3 ms before the new note starts, so stealing does
//! not click.
//!
//! ## Levels
//!
//! Velocity scales the level by (velocity/127)² and opens the filter. The
//! presets are matched by loudness, not peak: with the default `gain`
//! (0.5) one note at velocity 100 has an RMS of −26 dBFS over its first
//! 0.5 s (peaks −14 to −21 dBFS), which leaves a two-handed 10-note chord
//! at velocity 100 at most 1.3 dB of limiting. The output limiter
//! (−0.9 dBFS, instant attack, 40 ms release after a transient and 300 ms
//! for a lasting overload, so a held chord is not pumped) and a soft
//! clipper keep every sample strictly inside ±1.

use super::drums::Kit;
use super::effects::{Chorus, Limiter, Reverb, SILENCE};
use super::filter::F4;
use super::oscillator::sine;
use super::oscillator::Shape;
use super::preset::{Preset, Timbre};
use super::soundfont::{SoundFont, SoundFontVoices};
use super::voice::{
    filter_and_mix, ChannelControl, Lane, Mix, Note, PanelControl, Tone, Voice, BLOCK,
};

/// One thing the engine reacts to (already decoded MIDI, channel 0-15).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SynthEvent {
    /// A key pressed; velocity 0 means Note Off.
    NoteOn {
        /// Channel 0-15.
        channel: u8,
        /// Key 0-127 (60 = middle C).
        key: u8,
        /// Velocity 0-127.
        velocity: u8,
    },
    /// A key released.
    NoteOff {
        /// Channel 0-15.
        channel: u8,
        /// Key 0-127.
        key: u8,
    },
    /// A control change; see the module's controller map.
    Control {
        /// Channel 0-15.
        channel: u8,
        /// Controller number 0-127.
        controller: u8,
        /// Value 0-127.
        value: u8,
    },
    /// The pitch wheel.
    PitchBend {
        /// Channel 0-15.
        channel: u8,
        /// Raw 14-bit value, 8192 = centre.
        value: u16,
    },
    /// Select the channel's preset (see [`Preset::from_program`]).
    ProgramChange {
        /// Channel 0-15.
        channel: u8,
        /// Program 0-127.
        program: u8,
    },
    /// Release everything on every channel and lift the pedals (Ctrl+C),
    /// without a click.
    AllNotesOff,
    /// Read the panel's controllers with this map from now on: another
    /// keyboard plays (a DeepComposer plugged in while the computer keyboard
    /// stood in, or the other way round). Channel 10 plays drums with the
    /// General MIDI map and its preset with the DeepComposer's.
    Panel(PanelMap),
    /// Strike a drum of the General MIDI kit (keys 35–81: kick 36, snare
    /// 38, closed hat 42, crash 49, …; see `src/synth/drums.rs`), whatever
    /// the channel's preset. It follows the channel's volume, expression,
    /// pan and reverb send.
    Drum {
        /// Channel 0-15 whose controls it follows.
        channel: u8,
        /// GM percussion key.
        key: u8,
        /// Velocity 1-127 (0 is ignored).
        velocity: u8,
    },
}

/// How panel controllers are read (the full controller table is in the
/// module documentation of `src/synth/engine.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelMap {
    /// The AWS DeepComposer's encoder, knobs and reverb button drive the
    /// timbre (see the module table).
    DeepComposer,
    /// General MIDI meanings: CC 10 pan, CC 91 reverb send, CC 71–74 sound
    /// controllers, CC 93 chorus send, and channel 10 (`9` here) plays the
    /// drum kit from the start (see [`Engine::set_drum_channel`]).
    GeneralMidi,
}

/// Settings fixed when the engine is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Preset of every channel until a Program Change.
    pub preset: Preset,
    /// How panel controllers are read.
    pub panel: PanelMap,
    /// Pitch bend range, semitones each way (default 2, kept within 0–48).
    pub bend_range_semitones: f32,
    /// Master gain (default 0.5: one note at velocity 100 has an RMS of
    /// −26 dBFS over its first half second).
    pub gain: f32,
    /// Play this SoundFont's instruments (through rustysynth) instead of
    /// the built-in voices; `None` (the default): the built-in synth. The
    /// output limiter still applies; the panel map only decides whether
    /// CC 10 is the DeepComposer's encoder (dropped) or pan.
    pub soundfont: Option<&'static SoundFont>,
    /// Frames a SoundFont renders between events (rustysynth's block): an
    /// event takes effect at the next block's start. The default, 64,
    /// renders files fastest; live playing uses [`LIVE_SOUNDFONT_BLOCK`].
    pub soundfont_block: usize,
}

/// The SoundFont block while someone plays: 16 frames, so a key takes
/// effect within 0.33 ms of its time at 48 kHz (64 frames would let it
/// wait up to 1.3 ms, which shows as jitter), for about 45 % more work
/// than rendering a file with 64.
pub const LIVE_SOUNDFONT_BLOCK: usize = 16;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            preset: Preset::Piano,
            panel: PanelMap::DeepComposer,
            bend_range_semitones: 2.0,
            gain: 0.5,
            soundfont: None,
            soundfont_block: 64,
        }
    }
}

impl EngineConfig {
    /// The same synth as someone playing hears it: a SoundFont takes each
    /// event within [`LIVE_SOUNDFONT_BLOCK`] samples of its time.
    pub fn live(self) -> EngineConfig {
        EngineConfig {
            soundfont_block: LIVE_SOUNDFONT_BLOCK,
            ..self
        }
    }

    /// What a Program Change to `program` plays, for people: the
    /// SoundFont's instrument name when one is loaded (e.g. "Yamaha Grand
    /// Piano"; "program N" if it has none there), else the built-in preset
    /// it picks (see [`Preset::from_program`]).
    pub fn program_name(&self, program: u8) -> String {
        let program = program & 127;
        match self.soundfont {
            Some(font) => font
                .preset_name(program)
                .map_or_else(|| format!("program {program}"), str::to_owned),
            None => Preset::from_program(program).to_string(),
        }
    }
}

/// Reverb send of every channel while the DeepComposer's reverb is on.
const DEEPCOMPOSER_REVERB_SEND: f32 = 0.6;
/// Fade of a stolen voice, seconds.
const STEAL_FADE: f32 = 0.003;
/// Fade of All Sound Off, seconds.
const KILL_FADE: f32 = 0.005;
/// Vibrato rate, Hz.
const VIBRATO_HZ: f32 = 5.5;
/// Vibrato depth at full modulation, semitones.
const VIBRATO_DEPTH: f32 = 0.5;
/// Time constant with which volume, expression, pan, sends, the waveform
/// morph, cutoff and resonance follow their controls while notes sound,
/// seconds: a jump glides instead of clicking.
const SMOOTHING: f32 = 0.012;
/// The same for the filter cutoff and resonance, whose coefficients step
/// once per control block: slower, so each step is small.
const FILTER_SMOOTHING: f32 = 0.04;

/// Per-channel MIDI state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Channel {
    preset: Preset,
    volume: u8,
    expression: u8,
    modulation: u8,
    bend: u16,
    sustain: bool,
    /// Left and right gains from CC 10 (General MIDI).
    pan: [f32; 2],
    send: f32,
    /// Chorus send (CC 93, General MIDI).
    chorus: f32,
}

impl Channel {
    /// Gain from volume and expression.
    fn gain(&self) -> f32 {
        let volume = f32::from(self.volume) / 100.0;
        let expression = f32::from(self.expression) / 127.0;
        volume * volume * expression * expression
    }

    fn new(preset: Preset) -> Channel {
        Channel {
            preset,
            volume: 100,
            expression: 127,
            modulation: 0,
            bend: 8192,
            sustain: false,
            pan: [1.0, 1.0],
            send: 0.0,
            chorus: 0.0,
        }
    }
}

/// Timbre controls from the panel, engine-wide; 64 = the preset's value.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Panel {
    cutoff: u8,
    attack: u8,
    release: u8,
    resonance: u8,
    /// Waveform morph, once the encoder has moved.
    shape: Option<u8>,
}

impl Default for Panel {
    fn default() -> Self {
        Panel {
            cutoff: 64,
            attack: 64,
            release: 64,
            resonance: 64,
            shape: None,
        }
    }
}

impl Panel {
    /// Octaves the cutoff moves: 16^((v − 64)/64) is 4 octaves per 64.
    fn cutoff_octaves(&self) -> f32 {
        (f32::from(self.cutoff.min(127)) - 64.0) / 16.0
    }

    /// What the resonance knob adds: (v − 64)/128.
    fn resonance_offset(&self) -> f32 {
        (f32::from(self.resonance.min(127)) - 64.0) / 128.0
    }

    /// `timbre` with the panel's changes to waveform and times (cutoff and
    /// resonance are smoothed by the engine and applied per block).
    fn apply(&self, mut t: Timbre) -> Timbre {
        let rel = |v: u8| (f32::from(v.min(127)) - 64.0) / 64.0;
        let attack = 64f32.powf(rel(self.attack));
        t.amp.attack *= attack;
        t.filter_env.attack *= attack;
        let release = 64f32.powf(rel(self.release));
        t.amp.release *= release;
        t.filter_env.release *= release;
        if let Some(v) = self.shape {
            let position = f32::from(v.min(127)) * 3.0 / 127.0;
            t.shape = [position; 2];
        }
        t
    }
}

/// The polyphonic synthesizer.
pub struct Engine {
    sample_rate: u32,
    /// Sample rate used in computations (never 0).
    fs: f32,
    config: EngineConfig,
    voices: Vec<Voice>,
    /// Some voice may be active: set when a note starts, recomputed as
    /// blocks end (so the idle check need not scan every voice).
    voices_sounding: bool,
    /// Channels whose controls glide block by block: those with a voice
    /// sounding at the end of the last block or a note or drum started
    /// since. The others' controls are settled when a note starts on them
    /// (see [`Engine::settle_idle`]), so following them would be wasted.
    busy: u16,
    channels: [Channel; 16],
    controls: [ChannelControl; 16],
    tones: [Tone; 6],
    /// Each tone's smoothed panel controls for the current block.
    panels: [PanelControl; 6],
    /// Smoothed morph positions of each tone's oscillators.
    morph: [[f32; 2]; 6],
    /// Smoothed cutoff offset, octaves.
    cutoff_octaves: f32,
    /// Smoothed resonance offset.
    resonance: f32,
    panel: Panel,
    /// A test override: pure waveform, open filter, one oscillator.
    #[cfg(test)]
    test_shape: Option<f32>,
    preset: Preset,
    reverb: Reverb,
    chorus: Chorus,
    limiter: Limiter,
    /// The drum kit.
    kit: Kit,
    /// Channels whose notes play the drum kit (bit per channel).
    drum_channels: u16,
    /// Oscillator output of the voices of one lane group.
    osc: [[f32; BLOCK]; 4],
    /// The block's mix, per lane.
    mix: Mix,
    mix_left: [f32; BLOCK],
    mix_right: [f32; BLOCK],
    mix_send: [f32; BLOCK],
    mix_chorus: [f32; BLOCK],
    /// Vibrato LFO phase, 0..1.
    lfo_phase: f32,
    /// Note On counter.
    age: u64,
    /// xorshift32 state for start phases.
    rng: u32,
    /// The SoundFont synthesizer, when the configuration names a SoundFont:
    /// it then plays every event instead of the built-in voices.
    soundfont: Option<Box<SoundFontVoices>>,
}

impl Engine {
    /// Size of the voice pool.
    pub const MAX_VOICES: usize = 64;

    /// An engine at `sample_rate` Hz. All allocation happens here.
    pub fn new(sample_rate: u32, config: EngineConfig) -> Engine {
        let defaults = EngineConfig::default();
        let config = EngineConfig {
            bend_range_semitones: if config.bend_range_semitones.is_finite() {
                config.bend_range_semitones.clamp(0.0, 48.0)
            } else {
                defaults.bend_range_semitones
            },
            gain: if config.gain.is_finite() && config.gain >= 0.0 {
                config.gain
            } else {
                defaults.gain
            },
            ..config
        };
        let fs = if sample_rate == 0 {
            48_000.0
        } else {
            sample_rate as f32
        };
        let panel = Panel::default();
        let mut engine = Engine {
            sample_rate,
            fs,
            config,
            voices: vec![Voice::default(); Self::MAX_VOICES],
            voices_sounding: false,
            busy: 0,
            channels: [Channel::new(config.preset); 16],
            controls: [ChannelControl {
                pitch_offset: 0.0,
                gain: 1.0,
                pan: [1.0; 2],
                send: 0.0,
                chorus: 0.0,
            }; 16],
            tones: Preset::ALL.map(|p| Tone::new(&p.timbre(), fs)),
            panels: Preset::ALL.map(|p| PanelControl::steady(p.timbre().shape)),
            morph: Preset::ALL.map(|p| p.timbre().shape),
            cutoff_octaves: 0.0,
            resonance: 0.0,
            panel,
            #[cfg(test)]
            test_shape: None,
            preset: config.preset,
            reverb: Reverb::new(fs as u32),
            chorus: Chorus::new(fs as u32),
            limiter: Limiter::new(sample_rate.max(1)),
            kit: Kit::new(fs),
            // General MIDI puts its drum kit on channel 10.
            drum_channels: match config.panel {
                PanelMap::GeneralMidi => 1 << 9,
                PanelMap::DeepComposer => 0,
            },
            osc: [[0.0; BLOCK]; 4],
            mix: Mix::default(),
            mix_left: [0.0; BLOCK],
            mix_right: [0.0; BLOCK],
            mix_send: [0.0; BLOCK],
            mix_chorus: [0.0; BLOCK],
            lfo_phase: 0.0,
            age: 0,
            rng: 0x9E37_79B9,
            soundfont: config.soundfont.and_then(|font| {
                SoundFontVoices::new(
                    font,
                    sample_rate,
                    config.preset,
                    config.panel,
                    config.soundfont_block,
                )
                .map(Box::new)
            }),
        };
        engine.rebuild_tones();
        engine.settle_idle();
        engine
    }

    /// React to one event, from the next rendered sample on. Never
    /// allocates or panics; out-of-range numbers are masked to 7 bits
    /// (channels to 4).
    pub fn handle(&mut self, event: SynthEvent) {
        if let Some(soundfont) = self.soundfont.as_mut() {
            if let SynthEvent::ProgramChange { program, .. } = event {
                self.preset = Preset::from_program(program);
            }
            soundfont.handle(event);
            return;
        }
        match event {
            SynthEvent::NoteOn {
                channel,
                key,
                velocity,
            } => {
                if self.drum_channels & (1 << (channel & 15)) != 0 {
                    self.drum(channel & 15, key & 127, velocity.min(127));
                } else if velocity == 0 {
                    self.note_off(channel & 15, key & 127);
                } else {
                    self.note_on(channel & 15, key & 127, velocity.min(127));
                }
            }
            SynthEvent::NoteOff { channel, key } => self.note_off(channel & 15, key & 127),
            SynthEvent::Control {
                channel,
                controller,
                value,
            } => self.control(channel & 15, controller & 127, value.min(127)),
            SynthEvent::PitchBend { channel, value } => {
                self.channels[usize::from(channel & 15)].bend = value.min(16383);
            }
            SynthEvent::ProgramChange { channel, program } => {
                let preset = Preset::from_program(program);
                self.channels[usize::from(channel & 15)].preset = preset;
                self.preset = preset;
            }
            SynthEvent::Drum {
                channel,
                key,
                velocity,
            } => self.drum(channel & 15, key & 127, velocity.min(127)),
            SynthEvent::AllNotesOff => {
                for ch in &mut self.channels {
                    ch.sustain = false;
                }
                for v in self.voices.iter_mut().filter(|v| v.active) {
                    v.release_all();
                }
            }
            SynthEvent::Panel(map) => {
                self.config.panel = map;
                self.set_drum_channel(9, map == PanelMap::GeneralMidi);
            }
        }
    }

    /// Make the notes of `channel` (0-15) play the drum kit (`true`) or
    /// its preset (`false`, the default with [`PanelMap::DeepComposer`]).
    /// General MIDI puts its drums on channel 10, which is `9` here: with
    /// [`PanelMap::GeneralMidi`] it starts as a drum channel. Note Offs on a drum channel are
    /// ignored (every drum is one-shot).
    pub fn set_drum_channel(&mut self, channel: u8, drums: bool) {
        let bit = 1u16 << (channel & 15);
        if drums {
            self.drum_channels |= bit;
        } else {
            self.drum_channels &= !bit;
        }
    }

    /// Place `channel` (0-15) in the stereo field, whatever the panel map:
    /// `pan` −1 hard left, 0 centre (the default), 1 hard right, constant
    /// power (as CC 10 does with [`PanelMap::GeneralMidi`]). Notes and drums
    /// already sounding glide there.
    pub fn set_pan(&mut self, channel: u8, pan: f32) {
        let pan = if pan.is_nan() { 0.0 } else { pan };
        self.channels[usize::from(channel & 15)].pan = pan_gains(pan);
    }

    /// Set `channel`'s (0-15) reverb send, 0 (dry, the default) to 1,
    /// whatever the panel map (as CC 91 does with
    /// [`PanelMap::GeneralMidi`]).
    pub fn set_reverb_send(&mut self, channel: u8, level: f32) {
        let level = if level.is_nan() {
            0.0
        } else {
            level.clamp(0.0, 1.0)
        };
        self.channels[usize::from(channel & 15)].send = level;
    }

    /// True if `channel`'s notes play the drum kit.
    pub fn is_drum_channel(&self, channel: u8) -> bool {
        self.drum_channels & (1 << (channel & 15)) != 0
    }

    /// Select `preset` for new notes on every channel (as a Program Change
    /// on each would).
    pub fn set_preset(&mut self, preset: Preset) {
        for ch in &mut self.channels {
            ch.preset = preset;
        }
        self.preset = preset;
    }

    /// Render `out.len() / 2` frames of interleaved stereo (L, R, L, R…),
    /// overwriting `out` (an odd last sample is set to 0). Never allocates,
    /// locks or panics; every sample is finite and strictly inside ±1.
    pub fn render(&mut self, out: &mut [f32]) {
        if self.is_silent() {
            // Nothing sounds: skip the voice and effect loops (the idle
            // cost of an open output), letting the limiter recover as if
            // the zeros had gone through it.
            out.fill(0.0);
            self.limiter.rest(out.len() / 2);
            return;
        }
        if let Some(soundfont) = self.soundfont.as_mut() {
            let (limiter, gain) = (&mut self.limiter, self.config.gain / 0.5);
            soundfont.render(out, |l, r| limiter.process(l * gain, r * gain));
            if out.len() % 2 == 1 {
                if let Some(odd) = out.last_mut() {
                    *odd = 0.0;
                }
            }
            return;
        }
        let mut frames = out.chunks_exact_mut(2 * BLOCK);
        for chunk in &mut frames {
            self.render_block(chunk);
        }
        let rest = frames.into_remainder();
        let whole = rest.len() & !1;
        if whole > 0 {
            self.render_block(&mut rest[..whole]);
        }
        if let Some(odd) = rest.get_mut(whole) {
            *odd = 0.0;
        }
    }

    /// Voices sounding (including ones fading out).
    pub fn active_voices(&self) -> usize {
        if let Some(soundfont) = &self.soundfont {
            return soundfont.keys_down();
        }
        if !self.voices_sounding {
            return 0;
        }
        self.voices.iter().filter(|v| v.active).count()
    }

    /// Lets `frames` frames of silence go by while [`Engine::is_silent`]:
    /// what [`Engine::render`] does then, without writing the zeros (for a
    /// caller whose buffer already holds them).
    pub fn rest(&mut self, frames: usize) {
        self.limiter.rest(frames);
    }

    /// No voice sounds, the reverb tail has decayed below −90 dBFS and the
    /// chorus line holds nothing:
    /// from here on `render` writes exact zeros until the next note.
    pub fn is_silent(&self) -> bool {
        if let Some(soundfont) = &self.soundfont {
            return soundfont.is_silent();
        }
        self.reverb.is_idle()
            && self.chorus.is_idle()
            && !self.voices_sounding
            && !self.kit.is_active()
    }

    /// The preset most recently selected: by the configuration,
    /// [`Engine::set_preset`], or a Program Change on any channel.
    pub fn preset(&self) -> Preset {
        self.preset
    }

    /// The sample rate given to [`Engine::new`].
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The configuration (after clamping).
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Controls of channels with no sounding voice jump to their values
    /// (and the panel's when nothing sounds): smoothing is only for what
    /// is heard, and a note starts with the controls sent before it.
    fn settle_idle(&mut self) {
        let mut busy = self.kit.busy_channels();
        for v in self.voices.iter().filter(|v| v.active) {
            busy |= 1 << (v.sound().channel & 15);
        }
        for (c, (control, ch)) in self.controls.iter_mut().zip(&self.channels).enumerate() {
            if busy & (1 << c) == 0 {
                control.gain = ch.gain();
                control.pan = ch.pan;
                control.send = ch.send;
                control.chorus = ch.chorus;
            }
        }
        if busy == 0 {
            for (morph, tone) in self.morph.iter_mut().zip(&self.tones) {
                *morph = tone.morph;
            }
            self.cutoff_octaves = self.panel.cutoff_octaves();
            self.resonance = self.panel.resonance_offset();
            for (panel, morph) in self.panels.iter_mut().zip(&self.morph) {
                *panel = PanelControl {
                    cutoff_octaves: self.cutoff_octaves,
                    resonance: self.resonance,
                    ..PanelControl::steady(*morph)
                };
            }
        }
    }

    fn note_on(&mut self, channel: u8, key: u8, velocity: u8) {
        self.settle_idle();
        self.voices_sounding = true;
        self.busy |= 1 << channel;
        self.age = self.age.wrapping_add(1);
        let age = self.age;
        if let Some(v) = self.voices.iter_mut().find(|v| v.plays(channel, key)) {
            v.retrigger(velocity, age);
            return;
        }
        let note = Note {
            channel,
            key,
            velocity,
            preset: self.channels[usize::from(channel)].preset,
            age,
        };
        let phase = self.random();
        if let Some(v) = self.voices.iter_mut().find(|v| !v.active) {
            v.start(note, phase);
            return;
        }
        let step = 1.0 / (STEAL_FADE * self.fs);
        if let Some(v) = self.voices.iter_mut().min_by_key(|v| v.steal_rank()) {
            v.steal(note, phase, step);
        }
    }

    fn drum(&mut self, channel: u8, key: u8, velocity: u8) {
        if velocity > 0 {
            self.settle_idle();
            self.busy |= 1 << channel;
            self.kit.hit(channel, key, velocity);
        }
    }

    fn note_off(&mut self, channel: u8, key: u8) {
        let pedal = self.channels[usize::from(channel)].sustain;
        for v in self.voices.iter_mut() {
            if v.plays(channel, key) && v.gate {
                v.key_up(pedal);
            }
        }
    }

    fn control(&mut self, channel: u8, controller: u8, value: u8) {
        let ch = &mut self.channels[usize::from(channel)];
        let panel = self.config.panel;
        match (controller, panel) {
            (1, _) => ch.modulation = value,
            (7, _) => ch.volume = value,
            (11, _) => ch.expression = value,
            (64, _) => {
                let down = value >= 64;
                if ch.sustain && !down {
                    for v in self.voices.iter_mut() {
                        if v.active && v.note.channel == channel {
                            v.pedal_up();
                        }
                    }
                }
                self.channels[usize::from(channel)].sustain = down;
            }
            (120, _) => {
                self.kit.silence(channel);
                let step = 1.0 / (KILL_FADE * self.fs);
                for v in self.voices.iter_mut() {
                    if v.active && v.note.channel == channel {
                        v.kill(step);
                    }
                }
            }
            (121, _) => {
                ch.modulation = 0;
                ch.bend = 8192;
                ch.expression = 127;
                self.control(channel, 64, 0);
            }
            (123, _) => {
                let pedal = ch.sustain;
                for v in self.voices.iter_mut() {
                    if v.active && v.note.channel == channel && v.gate {
                        v.key_up(pedal);
                    }
                }
            }
            (10, PanelMap::DeepComposer) => self.set_panel(|p| p.shape = Some(value)),
            (21, PanelMap::DeepComposer) | (74, PanelMap::GeneralMidi) => {
                self.set_panel(|p| p.cutoff = value)
            }
            (22, PanelMap::DeepComposer) | (73, PanelMap::GeneralMidi) => {
                self.set_panel(|p| p.attack = value)
            }
            (23, PanelMap::DeepComposer) | (72, PanelMap::GeneralMidi) => {
                self.set_panel(|p| p.release = value)
            }
            (71, PanelMap::GeneralMidi) => self.set_panel(|p| p.resonance = value),
            (91, PanelMap::DeepComposer) => {
                let send = if value >= 64 {
                    DEEPCOMPOSER_REVERB_SEND
                } else {
                    0.0
                };
                for ch in &mut self.channels {
                    ch.send = send;
                }
            }
            (91, PanelMap::GeneralMidi) => ch.send = f32::from(value) / 127.0,
            (93, PanelMap::GeneralMidi) => ch.chorus = f32::from(value) / 127.0,
            (10, PanelMap::GeneralMidi) => {
                // 0 and 1 are both hard left; 64 is the exact centre.
                ch.pan = pan_gains(f32::from(value.max(1) - 1) / 63.0 - 1.0);
            }
            _ => {}
        }
    }

    /// Change the panel and recompute the tones if it changed.
    fn set_panel(&mut self, change: impl FnOnce(&mut Panel)) {
        let before = self.panel;
        change(&mut self.panel);
        if self.panel != before {
            self.rebuild_tones();
        }
    }

    /// Recompute every preset's tone from the panel (no allocation).
    fn rebuild_tones(&mut self) {
        for (tone, preset) in self.tones.iter_mut().zip(Preset::ALL) {
            #[allow(unused_mut)]
            let mut timbre = self.panel.apply(preset.timbre());
            #[cfg(test)]
            if let Some(shape) = self.test_shape {
                timbre.shape = [shape; 2];
                timbre.osc2_level = 0.0;
                timbre.cutoff_hz = 1e9;
                timbre.resonance = 0.29;
            }
            *tone = Tone::new(&timbre, self.fs);
        }
    }

    /// A random start phase (xorshift32).
    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// Render one block of up to [`BLOCK`] frames into `out` (interleaved).
    fn render_block(&mut self, out: &mut [f32]) {
        let n = (out.len() / 2).min(BLOCK);
        let fs = self.fs;

        // Vibrato LFO, one value per block.
        let lfo = sine(self.lfo_phase);
        self.lfo_phase += VIBRATO_HZ * n as f32 / fs;
        if self.lfo_phase >= 1.0 {
            self.lfo_phase -= 1.0;
        }
        // Controls glide towards their values (one-pole, per block; the
        // voices ramp their gains linearly across the block).
        let k = 1.0 - (-(n as f32) / (SMOOTHING * fs)).exp();
        let bend_range = self.config.bend_range_semitones;
        let mut busy = self.busy;
        if self.kit.is_active() {
            busy |= self.kit.busy_channels();
        }
        let channels = self.controls.iter_mut().zip(&self.channels).enumerate();
        for (_, (control, ch)) in channels.filter(|(c, _)| busy & (1 << c) != 0) {
            let bend = (f32::from(ch.bend) - 8192.0) / 8192.0 * bend_range;
            let vibrato = f32::from(ch.modulation) / 127.0 * VIBRATO_DEPTH * lfo;
            control.pitch_offset = bend + vibrato;
            glide(&mut control.gain, ch.gain(), k, 1e-6);
            glide(&mut control.pan[0], ch.pan[0], k, 1e-6);
            glide(&mut control.pan[1], ch.pan[1], k, 1e-6);
            glide(&mut control.send, ch.send, k, 1e-6);
            glide(&mut control.chorus, ch.chorus, k, 1e-6);
        }
        let kf = 1.0 - (-(n as f32) / (FILTER_SMOOTHING * fs)).exp();
        glide(
            &mut self.cutoff_octaves,
            self.panel.cutoff_octaves(),
            kf,
            1e-4,
        );
        glide(&mut self.resonance, self.panel.resonance_offset(), kf, 1e-5);
        for ((panel, morph), tone) in self.panels.iter_mut().zip(&mut self.morph).zip(&self.tones) {
            for (j, (position, target)) in morph.iter_mut().zip(tone.morph).enumerate() {
                // The block starts where the last one ended, which is
                // always the shape at `position`.
                let from = panel.shapes[j][1];
                let to = if *position == target {
                    from
                } else {
                    glide(position, target, k, 1e-4);
                    Shape::morph(*position)
                };
                panel.shapes[j] = [from, to];
            }
            panel.cutoff_octaves = self.cutoff_octaves;
            panel.resonance = self.resonance;
        }

        // Voices, four at a time (one per SIMD lane of the filter).
        let mix = &mut self.mix;
        for acc in [
            &mut mix.left,
            &mut mix.right,
            &mut mix.centre,
            &mut mix.send,
            &mut mix.chorus,
        ] {
            acc[..n].fill(F4::ZERO);
        }
        let mut send_active = false;
        let mut chorus_active = false;
        let mut off_centre = false;
        let mut lanes = [Lane::default(); 4];
        let mut members = [0usize; 4];
        let mut count = 0;
        let mut sounding = 0;
        for index in 0..self.voices.len() {
            let Some(v) = self.voices.get_mut(index).filter(|v| v.active) else {
                continue;
            };
            let control = &self.controls[usize::from(v.sound().channel & 15)];
            let preset = v.sound().preset.index();
            let (tone, panel) = (&self.tones[preset], &self.panels[preset]);
            let lane = v.begin_block(tone, panel, control, fs, n, &mut self.osc[count]);
            send_active |= lane.sends();
            chorus_active |= lane.chorus_sends();
            off_centre |= lane.off_centre();
            lanes[count] = lane;
            members[count] = index;
            count += 1;
            if count == 4 {
                sounding |= mix_group(&mut self.voices, &lanes, &members, &self.osc, n, mix);
                count = 0;
            }
        }
        if count > 0 {
            lanes[count..].fill(Lane::default());
            let members = &members[..count];
            sounding |= mix_group(&mut self.voices, &lanes, members, &self.osc, n, mix);
        }
        self.voices_sounding = sounding != 0;
        self.busy = sounding;
        let left = &mut self.mix_left[..n];
        let right = &mut self.mix_right[..n];
        let send = &mut self.mix_send[..n];
        let chorus = &mut self.mix_chorus[..n];
        if off_centre {
            for ((l, r), &c) in mix.left.iter_mut().zip(&mut mix.right).zip(&mix.centre) {
                *l = *l + c;
                *r = *r + c;
            }
            sum_lanes(&mix.left, left);
            sum_lanes(&mix.right, right);
        } else {
            sum_lanes(&mix.centre, left);
            right.copy_from_slice(left);
        }
        if send_active {
            sum_lanes(&mix.send, send);
        } else {
            send.fill(0.0);
        }
        if chorus_active {
            sum_lanes(&mix.chorus, chorus);
        } else {
            chorus.fill(0.0);
        }
        if self.kit.is_active() {
            let controls = &self.controls;
            let [reverb, chorus] = self.kit.render(left, right, [send, chorus], |c| {
                let c = &controls[usize::from(c & 15)];
                (c.gain, c.pan, [c.send, c.chorus])
            });
            send_active |= reverb;
            chorus_active |= chorus;
        }
        let (send, chorus) = (&self.mix_send[..n], &self.mix_chorus[..n]);
        self.chorus.process(chorus, chorus_active, left, right);
        let gain = self.config.gain;
        self.reverb
            .process(send, send_active, left, right, SILENCE / gain.max(1e-6));

        self.limiter.process_block(left, right, gain, out);
    }

    /// Test only: every preset plays a pure waveform at morph `shape` (0
    /// sine … 3 square) from one oscillator through an open filter.
    #[cfg(test)]
    pub(crate) fn set_test_shape(&mut self, shape: f32) {
        self.test_shape = Some(shape);
        self.rebuild_tones();
        self.settle_idle();
    }
}

/// Filter and mix one group of up to four voices (`members`, indexes
/// into `voices`, whose blocks are in `osc`) into `mix` and end their
/// blocks. Returns the channels of those still sounding (a bit each).
fn mix_group(
    voices: &mut [Voice],
    lanes: &[Lane; 4],
    members: &[usize],
    osc: &[[f32; BLOCK]; 4],
    n: usize,
    mix: &mut Mix,
) -> u16 {
    let states = filter_and_mix(lanes, osc, n, mix);
    let mut sounding = 0;
    for (&member, state) in members.iter().zip(states) {
        if let Some(v) = voices.get_mut(member) {
            v.end_block(state);
            if v.active {
                sounding |= 1 << (v.sound().channel & 15);
            }
        }
    }
    sounding
}

/// `out[i]` = the sum of `acc[i]`'s lanes, four samples at a time.
fn sum_lanes(acc: &[F4; BLOCK], out: &mut [f32]) {
    let mut sums = acc[..out.len().min(BLOCK)].chunks_exact(4);
    let mut quads = out.chunks_exact_mut(4);
    for (o, v) in (&mut quads).zip(&mut sums) {
        o.copy_from_slice(&F4::sums([v[0], v[1], v[2], v[3]]).to_array());
    }
    for (o, v) in quads.into_remainder().iter_mut().zip(sums.remainder()) {
        *o = v.sum();
    }
}

/// Left and right gains for `pan` −1 (left) … 1 (right), constant power,
/// both 1 at the centre.
pub(crate) fn pan_gains(pan: f32) -> [f32; 2] {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
    let s = std::f32::consts::SQRT_2;
    [s * angle.cos(), s * angle.sin()]
}

/// Move `value` a fraction `k` of the way to `target`, landing on it once
/// within `snap`.
#[inline(always)]
fn glide(value: &mut f32, target: f32, k: f32, snap: f32) {
    if *value == target {
        return; // at rest, the usual case
    }
    let v = *value + (target - *value) * k;
    *value = if (target - v).abs() <= snap || !v.is_finite() {
        target
    } else {
        v
    };
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sample_rate", &self.sample_rate)
            .field("config", &self.config)
            .field("preset", &self.preset)
            .field("active_voices", &self.active_voices())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
