//! A synthesized General MIDI drum kit: kick, snare, hats, toms, cymbals
//! and the rest of the GM percussion notes 35–81, each made from three
//! parts mixed together:
//!
//! - a **tone**: a sine whose pitch falls exponentially from a start to an
//!   end frequency (the kick's thump, a tom's body, the snare's shell);
//! - **noise**: white noise (the snare's wires, hats, shakers);
//! - **metal**: six square waves at the inharmonic ratios of the TR-808's
//!   cymbal circuit (hats, cymbals, cowbell);
//!
//! noise and metal going through one state-variable filter (high- or
//! band-pass). Every part decays exponentially with its own time. A hit
//! allocates nothing: the [`Kit`] holds a fixed pool of
//! [`Kit::VOICES`] voices (the oldest is taken over when all sound), and
//! the hi-hats choke each other as on a real stand (a closed hat stops an
//! open one, over 5 ms: no click).
//!
//! | keys | instrument | made of |
//! |---|---|---|
//! | 35, 36 | bass drum | tone 150 → 48 Hz |
//! | 37 | side stick | tone 1.1 kHz, band-passed noise, 30 ms |
//! | 38, 40 | snare | tone 190 → 160 Hz + noise high-passed at 1.5 kHz |
//! | 39 | hand clap | noise band-passed at 1.2 kHz |
//! | 41, 43, 45, 47, 48, 50 | toms, low to high | tone 80–200 Hz falling 20 % |
//! | 42, 44, 46 | hi-hat closed, pedal, open | metal + noise above 7 kHz; 50 ms, 90 ms, 0.5 s |
//! | 49, 57, 52, 55 | crash, china, splash | metal + noise above 5 kHz, 0.8–1.8 s |
//! | 51, 59, 53 | ride, ride bell | metal above 4 kHz (bell: band-passed, with a tone) |
//! | 54, 69, 70 | tambourine, cabasa, maracas | noise above 5–7 kHz |
//! | 56, 67, 68 | cowbell, agogô | metal band-passed |
//! | 58, 73, 74 | vibraslap, guiro | noise band-passed |
//! | 60–66, 78, 79 | bongos, congas, timbales, cuíca | short tones 180–600 Hz |
//! | 71, 72 | whistles | tone 2.3 / 2.0 kHz |
//! | 75–77 | claves, wood blocks | short tones 0.8–2.5 kHz |
//! | 80, 81 | triangle, muted and open | tone 2.6 kHz + metal |
//!
//! Keys outside 35–81 are silent.

use super::engine::pan_gains;
use super::oscillator::sine;

/// One instrument of the kit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sound {
    /// Level of the tone.
    tone: f32,
    /// Tone start and end frequency, Hz.
    tone_hz: [f32; 2],
    /// Time constant of the pitch fall, seconds.
    pitch_time: f32,
    /// Time constant of the tone's decay, seconds.
    tone_time: f32,
    /// Level of the noise.
    noise: f32,
    /// Time constant of the noise's decay, seconds.
    noise_time: f32,
    /// Level of the metal.
    metal: f32,
    /// Frequency of the metal's lowest square, Hz.
    metal_hz: f32,
    /// Time constant of the metal's decay, seconds.
    metal_time: f32,
    /// Filter of noise and metal: band-pass (else high-pass), frequency, Q.
    band: bool,
    filter_hz: f32,
    q: f32,
    /// Stereo position, −1 left … 1 right.
    pan: f32,
    /// Hi-hats choke each other.
    hat: bool,
}

/// A silent sound to build the others from.
const NONE: Sound = Sound {
    tone: 0.0,
    tone_hz: [100.0, 100.0],
    pitch_time: 0.05,
    tone_time: 0.1,
    noise: 0.0,
    noise_time: 0.1,
    metal: 0.0,
    metal_hz: 205.3,
    metal_time: 0.1,
    band: false,
    filter_hz: 5000.0,
    q: 0.7,
    pan: 0.0,
    hat: false,
};

/// The TR-808 cymbal oscillators, relative to the lowest (205.3 Hz).
const METAL_RATIOS: [f32; 6] = [1.0, 1.4826, 1.8003, 2.546, 2.6303, 3.8967];

/// A tone-only sound.
const fn tone(from: f32, to: f32, pitch_time: f32, time: f32, level: f32, pan: f32) -> Sound {
    Sound {
        tone: level,
        tone_hz: [from, to],
        pitch_time,
        tone_time: time,
        pan,
        ..NONE
    }
}

/// Noise through a filter.
const fn noise(band: bool, hz: f32, q: f32, time: f32, level: f32, pan: f32) -> Sound {
    Sound {
        noise: level,
        noise_time: time,
        band,
        filter_hz: hz,
        q,
        pan,
        ..NONE
    }
}

/// Metal (and some noise) through a filter.
const fn metal(band: bool, hz: f32, base: f32, time: f32, level: f32, pan: f32) -> Sound {
    Sound {
        metal: level,
        metal_hz: base,
        metal_time: time,
        noise: level * 0.5,
        noise_time: time * 0.6,
        band,
        filter_hz: hz,
        q: 0.8,
        pan,
        ..NONE
    }
}

/// A tom at `hz`, panned.
const fn tom(hz: f32, pan: f32) -> Sound {
    tone(hz * 1.25, hz, 0.08, 0.22, 0.9, pan)
}

/// The sound of GM percussion key `key` (None: silent).
fn sound(key: u8) -> Option<Sound> {
    let s = match key {
        35 | 36 => Sound {
            noise: 0.15,
            noise_time: 0.004,
            band: true,
            filter_hz: 3000.0,
            ..tone(150.0, 48.0, 0.035, 0.28, 1.0, 0.0)
        },
        37 => Sound {
            noise: 0.5,
            noise_time: 0.01,
            band: true,
            filter_hz: 2500.0,
            q: 2.0,
            ..tone(1100.0, 1000.0, 0.01, 0.012, 0.6, -0.1)
        },
        38 | 40 => Sound {
            noise: 1.3,
            noise_time: 0.07,
            filter_hz: 1500.0,
            ..tone(190.0, 160.0, 0.02, 0.06, 1.2, -0.1)
        },
        39 => noise(true, 1200.0, 1.5, 0.05, 1.0, -0.15),
        41 => tom(82.0, -0.4),
        43 => tom(98.0, -0.25),
        45 => tom(117.0, -0.1),
        47 => tom(139.0, 0.05),
        48 => tom(165.0, 0.2),
        50 => tom(196.0, 0.35),
        42 => Sound {
            hat: true,
            ..metal(false, 7000.0, 205.3 * 1.7, 0.012, 0.5, 0.3)
        },
        44 => Sound {
            hat: true,
            ..metal(false, 7000.0, 205.3 * 1.7, 0.02, 0.4, 0.3)
        },
        46 => Sound {
            hat: true,
            ..metal(false, 7000.0, 205.3 * 1.7, 0.12, 0.45, 0.3)
        },
        49 => metal(false, 5000.0, 205.3 * 1.3, 0.4, 0.45, -0.3),
        57 => metal(false, 5000.0, 205.3 * 1.4, 0.4, 0.45, 0.4),
        52 => metal(false, 4000.0, 205.3 * 1.1, 0.35, 0.45, 0.5),
        55 => metal(false, 6000.0, 205.3 * 1.8, 0.2, 0.45, -0.5),
        51 | 59 => metal(false, 5000.0, 205.3 * 2.0, 0.25, 0.4, 0.45),
        53 => Sound {
            band: true,
            ..Sound {
                tone: 0.25,
                tone_hz: [2450.0, 2450.0],
                tone_time: 0.3,
                ..metal(true, 3500.0, 205.3 * 2.0, 0.3, 0.4, 0.45)
            }
        },
        54 => noise(false, 6000.0, 0.9, 0.06, 0.8, 0.4),
        69 => noise(false, 7000.0, 0.8, 0.03, 0.7, -0.3),
        70 => noise(false, 7000.0, 0.8, 0.02, 0.7, 0.3),
        56 => metal(true, 800.0, 540.0, 0.08, 0.7, 0.3),
        67 => metal(true, 1400.0, 880.0, 0.08, 0.6, -0.3),
        68 => metal(true, 1100.0, 660.0, 0.08, 0.6, -0.2),
        58 | 73 | 74 => noise(true, 2500.0, 2.0, 0.08, 0.8, 0.2),
        60 => tone(520.0, 480.0, 0.01, 0.07, 0.7, 0.3),
        61 => tone(400.0, 360.0, 0.01, 0.08, 0.7, 0.25),
        62 => tone(330.0, 300.0, 0.01, 0.05, 0.7, -0.3),
        63 => tone(300.0, 280.0, 0.01, 0.15, 0.7, -0.25),
        64 => tone(220.0, 200.0, 0.01, 0.15, 0.7, -0.2),
        65 => tone(440.0, 400.0, 0.01, 0.12, 0.7, 0.3),
        66 => tone(330.0, 300.0, 0.01, 0.12, 0.7, 0.35),
        78 | 79 => tone(600.0, 300.0, 0.05, 0.1, 0.6, 0.0),
        71 => tone(2300.0, 2300.0, 0.1, 0.05, 0.3, 0.0),
        72 => tone(2000.0, 2000.0, 0.1, 0.15, 0.3, 0.0),
        75 => tone(2500.0, 2500.0, 0.01, 0.02, 0.7, 0.1),
        76 => tone(1000.0, 1000.0, 0.01, 0.025, 0.7, 0.2),
        77 => tone(800.0, 800.0, 0.01, 0.025, 0.7, 0.2),
        80 | 81 => Sound {
            metal: 0.1,
            metal_hz: 1300.0,
            metal_time: if key == 80 { 0.03 } else { 0.3 },
            filter_hz: 4000.0,
            ..tone(
                2600.0,
                2600.0,
                0.1,
                if key == 80 { 0.03 } else { 0.35 },
                0.3,
                0.4,
            )
        },
        _ => return None,
    };
    Some(s)
}

/// One hit sounding.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct DrumVoice {
    active: bool,
    /// Channel whose controls it follows.
    channel: u8,
    /// It is a hi-hat (chokes and is choked).
    hat: bool,
    /// Hit counter value when struck: lower is older.
    age: u64,
    /// Pan gains, left and right.
    pan: [f32; 2],
    /// Tone: phase (turns), frequency above the end, end frequency (as
    /// fractions of the sample rate), per-sample pitch factor.
    phase: f32,
    sweep: f32,
    end: f32,
    sweep_factor: f32,
    /// Amplitudes of tone, noise and metal, and their per-sample factors.
    amp: [f32; 3],
    decay: [f32; 3],
    /// Metal oscillator phases (turns) and steps.
    metal_phase: [f32; 6],
    metal_step: [f32; 6],
    /// Filter (Simper's SVF): coefficients a1, a2, a3, k, states.
    coefs: [f32; 4],
    ic: [f32; 2],
    band: bool,
    /// Noise generator state (xorshift32).
    rng: u32,
}

/// Below this every part is inaudible and the voice ends (−100 dB).
const END: f32 = 1e-5;

impl DrumVoice {
    /// Render `n` samples, adding to `left`, `right` and the reverb and
    /// chorus sends with gains `gain`, `pan` (channel) and `sends`.
    fn render(&mut self, out: [&mut [f32]; 4], gain: f32, pan: [f32; 2], sends: [f32; 2]) {
        let [left, right, reverb, chorus] = out;
        let gl = gain * self.pan[0] * pan[0];
        let gr = gain * self.pan[1] * pan[1];
        let gs = gain * sends[0];
        let gc = gain * sends[1];
        let [a1, a2, a3, k] = self.coefs;
        let out = left
            .iter_mut()
            .zip(right.iter_mut())
            .zip(reverb.iter_mut())
            .zip(chorus.iter_mut());
        for (((l, r), s), c) in out {
            // Tone.
            let tone = self.amp[0] * sine(self.phase);
            self.phase += self.end + self.sweep;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
            self.sweep *= self.sweep_factor;
            // Noise and metal, filtered.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 17;
            self.rng ^= self.rng << 5;
            let white = (self.rng >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0;
            let mut metal = 0.0;
            if self.amp[2] != 0.0 {
                for (p, step) in self.metal_phase.iter_mut().zip(self.metal_step) {
                    *p += step;
                    if *p >= 1.0 {
                        *p -= 1.0;
                    }
                    metal += if *p < 0.5 { 1.0 } else { -1.0 };
                }
                metal *= 1.0 / 6.0;
            }
            let x = self.amp[1] * white + self.amp[2] * metal;
            let [ic1, ic2] = self.ic;
            let v3 = x - ic2;
            let v1 = a1 * ic1 + a2 * v3;
            let v2 = ic2 + a2 * ic1 + a3 * v3;
            self.ic = [2.0 * v1 - ic1, 2.0 * v2 - ic2];
            let bright = if self.band { k * v1 } else { x - k * v1 - v2 };
            let y = tone + bright;
            *l += y * gl;
            *r += y * gr;
            *s += y * gs;
            *c += y * gc;
            for (a, d) in self.amp.iter_mut().zip(self.decay) {
                *a *= d;
            }
        }
        // Nothing decays into subnormal numbers, which cost some CPUs a
        // hundred times a normal multiply: the pitch fall ends, a part that
        // has died away (a snare's snap long before its tone) stops, and so
        // does the filter ringing down on nothing.
        if self.sweep < 1e-12 {
            self.sweep = 0.0;
        }
        for amp in &mut self.amp {
            if amp.abs() < END {
                *amp = 0.0;
            }
        }
        for state in &mut self.ic {
            if state.abs() < 1e-20 {
                *state = 0.0;
            }
        }
        if self.amp.iter().all(|&a| a == 0.0) {
            self.active = false;
        }
    }
}

/// The drum kit: a fixed pool of voices.
#[derive(Debug, Clone)]
pub struct Kit {
    voices: [DrumVoice; Kit::VOICES],
    /// Some voice is active (kept up by `hit` and `render`, the only
    /// places a voice starts or ends): the silence check asks it every
    /// block.
    sounding: bool,
    fs: f32,
    age: u64,
    rng: u32,
}

/// Overall level of the kit: a kick at velocity 100 is about as loud as a
/// note, a few dB above.
const KIT_GAIN: f32 = 0.5;

/// Time constant of a choked hi-hat's fade (and of All Sound Off), s.
const CHOKE_TIME: f32 = 0.001;

impl Kit {
    /// Hits that can sound at once.
    pub const VOICES: usize = 24;

    /// A silent kit at `sample_rate` Hz.
    pub fn new(sample_rate: f32) -> Kit {
        Kit {
            voices: [DrumVoice::default(); Kit::VOICES],
            sounding: false,
            fs: if sample_rate > 0.0 {
                sample_rate
            } else {
                48_000.0
            },
            age: 0,
            rng: 0x2545_F491,
        }
    }

    /// True while a hit sounds.
    pub fn is_active(&self) -> bool {
        self.sounding
    }

    /// The channels with a hit sounding, one bit per channel.
    pub fn busy_channels(&self) -> u16 {
        self.voices
            .iter()
            .filter(|v| v.active)
            .fold(0, |bits, v| bits | 1 << (v.channel & 15))
    }

    /// Strike GM percussion key `key` at `velocity` (1–127) on `channel`
    /// (whose volume, pan and send it follows). Keys without a sound are
    /// ignored.
    pub fn hit(&mut self, channel: u8, key: u8, velocity: u8) {
        let Some(s) = sound(key) else { return };
        let fs = self.fs;
        let factor = |time: f32| (-1.0 / (time.max(1e-4) * fs)).exp();
        if s.hat {
            for v in self.voices.iter_mut().filter(|v| v.active && v.hat) {
                v.decay = [factor(CHOKE_TIME); 3];
            }
        }
        self.age = self.age.wrapping_add(1);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let v = f32::from(velocity.min(127)) / 127.0;
        let level = KIT_GAIN * v * v;

        let nyquist = 0.45 * fs;
        let fc = s.filter_hz.min(nyquist);
        let g = (std::f32::consts::PI * fc / fs).tan();
        let k = 1.0 / s.q.max(0.1);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let voice = DrumVoice {
            active: true,
            channel,
            hat: s.hat,
            age: self.age,
            pan: pan_gains(s.pan),
            phase: 0.0,
            sweep: (s.tone_hz[0] - s.tone_hz[1]).min(nyquist) / fs,
            end: s.tone_hz[1].min(nyquist) / fs,
            sweep_factor: factor(s.pitch_time),
            amp: [s.tone * level, s.noise * level, s.metal * level],
            decay: [
                factor(s.tone_time),
                factor(s.noise_time),
                factor(s.metal_time),
            ],
            metal_phase: [0.0, 0.13, 0.29, 0.41, 0.67, 0.83],
            metal_step: METAL_RATIOS.map(|r| (s.metal_hz * r).min(nyquist) / fs),
            coefs: [a1, g * a1, g * g * a1, k],
            ic: [0.0; 2],
            band: s.band,
            rng: self.rng | 1,
        };
        let slot = match self.voices.iter().position(|v| !v.active) {
            Some(i) => i,
            None => {
                // The oldest hit gives way.
                let mut oldest = 0;
                for (i, v) in self.voices.iter().enumerate() {
                    if v.age < self.voices[oldest].age {
                        oldest = i;
                    }
                }
                oldest
            }
        };
        self.voices[slot] = voice;
        self.sounding = true;
    }

    /// Fade out every hit on `channel` within a few milliseconds.
    pub fn silence(&mut self, channel: u8) {
        let d = (-1.0 / (CHOKE_TIME * self.fs)).exp();
        for v in self
            .voices
            .iter_mut()
            .filter(|v| v.active && v.channel == channel)
        {
            v.decay = [d; 3];
        }
    }

    /// Add the kit's next `left.len()` samples to `left`, `right` and
    /// `sends` (reverb, chorus); `control(channel)` gives a channel's gain,
    /// pan gains and send levels. Returns which sends were fed.
    pub fn render(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        sends: [&mut [f32]; 2],
        control: impl Fn(u8) -> (f32, [f32; 2], [f32; 2]),
    ) -> [bool; 2] {
        let [reverb, chorus] = sends;
        let mut sent = [false; 2];
        for v in self.voices.iter_mut().filter(|v| v.active) {
            let (gain, pan, levels) = control(v.channel);
            sent[0] |= levels[0] != 0.0;
            sent[1] |= levels[1] != 0.0;
            let out = [&mut *left, &mut *right, &mut *reverb, &mut *chorus];
            v.render(out, gain, pan, levels);
        }
        self.sounding = self.voices.iter().any(|v| v.active);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gm_key_sounds_and_ends() {
        for key in 0..128u8 {
            let mut kit = Kit::new(48_000.0);
            kit.hit(9, key, 127);
            let mut peak = 0.0f32;
            let mut blocks = 0;
            while kit.is_active() {
                let (mut l, mut r) = ([0.0f32; 64], [0.0f32; 64]);
                let (mut s, mut c) = ([0.0f32; 64], [0.0f32; 64]);
                kit.render(&mut l, &mut r, [&mut s, &mut c], |_| {
                    (1.0, [1.0, 1.0], [0.0; 2])
                });
                assert!(l.iter().chain(&r).all(|x| x.is_finite()), "key {key}");
                peak = l.iter().chain(&r).fold(peak, |m, x| m.max(x.abs()));
                blocks += 1;
                assert!(blocks < 48_000 * 10 / 64, "key {key} never ends");
            }
            if (35..=81).contains(&key) {
                assert!(peak > 0.05 && peak < 3.0, "key {key}: peak {peak}");
            } else {
                assert_eq!(peak, 0.0, "key {key}");
            }
        }
    }

    /// Every number a voice carries from block to block.
    fn state(v: &DrumVoice) -> Vec<f32> {
        let mut all = vec![v.phase, v.sweep];
        all.extend(v.amp.iter().chain(&v.ic).chain(&v.metal_phase));
        all
    }

    #[test]
    fn no_drum_decays_into_subnormal_numbers() {
        // Subnormals make some CPUs a hundred times slower per multiply
        // (a 16 s band file rendered 3× slower for them); whatever dies
        // away must reach zero instead.
        for key in 35..=81u8 {
            let mut kit = Kit::new(48_000.0);
            kit.hit(9, key, 127);
            while kit.is_active() {
                let (mut l, mut r) = ([0.0f32; 64], [0.0f32; 64]);
                let (mut s, mut c) = ([0.0f32; 64], [0.0f32; 64]);
                kit.render(&mut l, &mut r, [&mut s, &mut c], |_| {
                    (1.0, [1.0, 1.0], [0.0; 2])
                });
                for v in kit.voices.iter().filter(|v| v.active) {
                    let subnormal = state(v).into_iter().find(|x| x.is_subnormal());
                    assert_eq!(subnormal, None, "key {key}: {v:?}");
                }
            }
        }
    }

    #[test]
    fn a_closed_hat_chokes_the_open_one() {
        let mut kit = Kit::new(48_000.0);
        kit.hit(9, 46, 100);
        let mut l = [0.0f32; 480];
        let (mut r, mut s, mut c) = ([0.0f32; 480], [0.0f32; 480], [0.0f32; 480]);
        let unity = |_| (1.0, [1.0, 1.0], [0.0; 2]);
        kit.render(&mut l, &mut r, [&mut s, &mut c], unity);
        kit.hit(9, 42, 100);
        for _ in 0..100 {
            kit.render(&mut l, &mut r, [&mut s, &mut c], unity);
        }
        // 1 s later: the open hat (0.5 s) would still ring, choked it ended.
        assert!(!kit.is_active());
    }
}
