//! The built-in sounds, each two oscillators through the voice filter.
//!
//! | preset  | oscillators                        | low-pass filter (at middle C)                                                    | amplitude A / D / S / R     |
//! |---------|------------------------------------|----------------------------------------------------------------------------------|-----------------------------|
//! | `piano` | saw fading (τ 0.3 s) into 0.8 triangle (±0.2 cent) | 650 Hz, res 0.1, fixed for the note; +2.5 oct at velocity 127                 | 2 ms / 5 s / 0 / 0.35 s     |
//! | `organ` | sine + 0.5 sine an octave up       | open (12 kHz)                                                                    | 4 ms / – / 1 / 60 ms        |
//! | `pad`   | saw + saw (±6 cents)               | 700 Hz, res 0.2; swells +1.5 oct over 0.8 s, settles at +0.9; +1 oct at vel 127  | 0.45 s / 1.5 s / 0.8 / 1.5 s |
//! | `lead`  | saw + 0.5 square (±3.5 cents)      | 1.2 kHz, res 0.55; +2 oct falling to +0.6 in 0.4 s; +1 oct at vel 127            | 4 ms / 0.3 s / 0.85 / 0.2 s |
//! | `bass`  | square + 0.8 sine an octave down   | 220 Hz, res 0.45; +3 oct falling to 0 in 0.25 s; +1 oct at vel 127               | 3 ms / 0.6 s / 0.7 / 0.12 s |
//! | `pluck` | saw + 0.5 square                   | 250 Hz, res 0.25; +4.5 oct falling to 0 in 0.18 s; +2 oct at vel 127             | 1 ms / 1.2 s / 0 / 0.25 s   |
//!
//! Times are exact segment lengths (see `envelope.rs`): with sustain 0 a
//! held note dies away in its decay time. The piano's decays (given at
//! middle C) halve every two octaves up and double every two down: 10 s at
//! C2, 2.5 s at C6; its brightness comes from the strike (velocity opens the
//! filter, the saw fades as the note rings), not from a moving filter, so
//! its pitch does not bend. Velocity scales the level by
//! (velocity/127)²; the cutoff also follows the key (key tracking 0.8 piano
//! and pluck, 0.6 lead, 0.5 pad, 0.3 bass). Each preset's level is set so
//! that one note at velocity 100 (middle C) has the same loudness: an RMS
//! of −26 dBFS over its first 0.5 s at the default gain.
//!
//! ## Program Change mapping
//!
//! [`Preset::from_program`] follows the General MIDI instrument families, so
//! a GM file gets a fitting sound:
//!
//! | programs (0-based) | GM family                              | preset  |
//! |--------------------|----------------------------------------|---------|
//! | 0–7                | piano                                  | `piano` |
//! | 8–15               | chromatic percussion                   | `pluck` |
//! | 16–23              | organ                                  | `organ` |
//! | 24–31              | guitar                                 | `pluck` |
//! | 32–39              | bass                                   | `bass`  |
//! | 40–55              | strings, ensemble                      | `pad`   |
//! | 56–71              | brass, reed                            | `lead`  |
//! | 72–79              | pipe (flutes)                          | `organ` |
//! | 80–87              | synth lead                             | `lead`  |
//! | 88–103             | synth pad, synth effects               | `pad`   |
//! | 104–119            | ethnic, percussive                     | `pluck` |
//! | 120–127            | sound effects                          | `pad`   |
//!
//! [`Preset::program`] gives one program per preset that maps back to it
//! (piano 0, organ 16, pad 89, lead 80, bass 38, pluck 24).

use super::envelope::Adsr;
use std::fmt;
use std::str::FromStr;

/// A built-in sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Struck, decaying, brighter when hit harder.
    Piano,
    /// Two sine drawbars, steady, quick release.
    Organ,
    /// Detuned saws, slow swell, long release.
    Pad,
    /// Saw and square, resonant, sustained.
    Lead,
    /// Square with a sine sub-octave, punchy filter.
    Bass,
    /// Short plucked string.
    Pluck,
}

/// A name that is not a preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset `{0}` (expected piano, organ, pad, lead, bass or pluck)")]
pub struct ParsePresetError(
    /// The name given.
    pub String,
);

impl Preset {
    /// Every preset, in the order [`Preset::next`] walks them.
    pub const ALL: [Preset; 6] = [
        Preset::Piano,
        Preset::Organ,
        Preset::Pad,
        Preset::Lead,
        Preset::Bass,
        Preset::Pluck,
    ];

    /// The lowercase name (`"piano"`, …), as parsed by `FromStr`.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::Piano => "piano",
            Preset::Organ => "organ",
            Preset::Pad => "pad",
            Preset::Lead => "lead",
            Preset::Bass => "bass",
            Preset::Pluck => "pluck",
        }
    }

    /// Position in [`Preset::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Preset::Piano => 0,
            Preset::Organ => 1,
            Preset::Pad => 2,
            Preset::Lead => 3,
            Preset::Bass => 4,
            Preset::Pluck => 5,
        }
    }

    /// The preset for a General MIDI program number (0-based; values above
    /// 127 use their low 7 bits), by instrument family:
    ///
    /// | programs | GM family                      | preset  |
    /// |----------|--------------------------------|---------|
    /// | 0–7      | piano                          | `piano` |
    /// | 8–15     | chromatic percussion           | `pluck` |
    /// | 16–23    | organ                          | `organ` |
    /// | 24–31    | guitar                         | `pluck` |
    /// | 32–39    | bass                           | `bass`  |
    /// | 40–55    | strings, ensemble              | `pad`   |
    /// | 56–71    | brass, reed                    | `lead`  |
    /// | 72–79    | pipe (flutes)                  | `organ` |
    /// | 80–87    | synth lead                     | `lead`  |
    /// | 88–103   | synth pad, synth effects       | `pad`   |
    /// | 104–119  | ethnic, percussive             | `pluck` |
    /// | 120–127  | sound effects                  | `pad`   |
    pub const fn from_program(program: u8) -> Preset {
        match program & 0x7F {
            0..=7 => Preset::Piano,
            8..=15 => Preset::Pluck,
            16..=23 => Preset::Organ,
            24..=31 => Preset::Pluck,
            32..=39 => Preset::Bass,
            40..=55 => Preset::Pad,
            56..=71 => Preset::Lead,
            72..=79 => Preset::Organ,
            80..=87 => Preset::Lead,
            88..=103 => Preset::Pad,
            104..=119 => Preset::Pluck,
            _ => Preset::Pad,
        }
    }

    /// A program number that selects this preset (for sending a Program
    /// Change): piano 0, organ 16, pad 89, lead 80, bass 38, pluck 24.
    pub const fn program(self) -> u8 {
        match self {
            Preset::Piano => 0,
            Preset::Organ => 16,
            Preset::Pad => 89,
            Preset::Lead => 80,
            Preset::Bass => 38,
            Preset::Pluck => 24,
        }
    }

    /// The next preset in [`Preset::ALL`], wrapping around.
    pub const fn next(self) -> Preset {
        Preset::ALL[(self.index() + 1) % Preset::ALL.len()]
    }

    /// The previous preset in [`Preset::ALL`], wrapping around.
    pub const fn previous(self) -> Preset {
        Preset::ALL[(self.index() + Preset::ALL.len() - 1) % Preset::ALL.len()]
    }

    /// The sound's parameters.
    pub(crate) fn timbre(self) -> Timbre {
        match self {
            Preset::Piano => Timbre {
                shape: [2.0, 1.0],
                osc2_cents: 0.4,
                osc2_level: 0.8,
                amp: Adsr {
                    attack: 0.002,
                    decay: 5.0,
                    sustain: 0.0,
                    release: 0.35,
                },
                // Fades the saw into the triangle: bright at the strike,
                // mellow as the note rings on.
                filter_env: Adsr {
                    attack: 0.001,
                    decay: 2.0,
                    sustain: 0.0,
                    release: 0.35,
                },
                cutoff_hz: 650.0,
                resonance: 0.1,
                // The cutoff stays put while the note sounds (a moving
                // low-pass would bend the pitch of the fundamental).
                env_octaves: 0.0,
                velocity_octaves: 2.5,
                key_tracking: 0.8,
                level: 0.285,
                key_decay: 0.5,
                osc1_fade: 0.85,
            },
            Preset::Organ => Timbre {
                shape: [0.0, 0.0],
                osc2_cents: 1200.0,
                osc2_level: 0.5,
                amp: Adsr {
                    attack: 0.004,
                    decay: 0.1,
                    sustain: 1.0,
                    release: 0.06,
                },
                filter_env: Adsr {
                    attack: 0.001,
                    decay: 0.1,
                    sustain: 1.0,
                    release: 0.06,
                },
                cutoff_hz: 12_000.0,
                resonance: 0.0,
                env_octaves: 0.0,
                velocity_octaves: 0.0,
                key_tracking: 0.0,
                level: 0.205,
                key_decay: 0.0,
                osc1_fade: 0.0,
            },
            Preset::Pad => Timbre {
                shape: [2.0, 2.0],
                osc2_cents: 12.0,
                osc2_level: 1.0,
                amp: Adsr {
                    attack: 0.45,
                    decay: 1.5,
                    sustain: 0.8,
                    release: 1.5,
                },
                filter_env: Adsr {
                    attack: 0.8,
                    decay: 2.0,
                    sustain: 0.6,
                    release: 1.5,
                },
                cutoff_hz: 700.0,
                resonance: 0.2,
                env_octaves: 1.5,
                velocity_octaves: 1.0,
                key_tracking: 0.5,
                level: 0.338,
                key_decay: 0.0,
                osc1_fade: 0.0,
            },
            Preset::Lead => Timbre {
                shape: [2.0, 3.0],
                osc2_cents: 7.0,
                // The square's fundamental is then the saw's: the detune
                // splits evenly around the key.
                osc2_level: 0.5,
                amp: Adsr {
                    attack: 0.004,
                    decay: 0.3,
                    sustain: 0.85,
                    release: 0.2,
                },
                filter_env: Adsr {
                    attack: 0.002,
                    decay: 0.4,
                    sustain: 0.3,
                    release: 0.2,
                },
                cutoff_hz: 1200.0,
                resonance: 0.55,
                env_octaves: 2.0,
                velocity_octaves: 1.0,
                key_tracking: 0.6,
                level: 0.247,
                key_decay: 0.0,
                osc1_fade: 0.0,
            },
            Preset::Bass => Timbre {
                shape: [3.0, 0.0],
                osc2_cents: -1200.0,
                osc2_level: 0.8,
                amp: Adsr {
                    attack: 0.003,
                    decay: 0.6,
                    sustain: 0.7,
                    release: 0.12,
                },
                filter_env: Adsr {
                    attack: 0.001,
                    decay: 0.25,
                    sustain: 0.0,
                    release: 0.12,
                },
                cutoff_hz: 220.0,
                resonance: 0.45,
                env_octaves: 3.0,
                velocity_octaves: 1.0,
                key_tracking: 0.3,
                level: 0.187,
                key_decay: 0.0,
                osc1_fade: 0.0,
            },
            Preset::Pluck => Timbre {
                shape: [2.0, 3.0],
                osc2_cents: 0.0,
                osc2_level: 0.5,
                amp: Adsr {
                    attack: 0.001,
                    decay: 1.2,
                    sustain: 0.0,
                    release: 0.25,
                },
                filter_env: Adsr {
                    attack: 0.0005,
                    decay: 0.18,
                    sustain: 0.0,
                    release: 0.25,
                },
                cutoff_hz: 250.0,
                resonance: 0.25,
                env_octaves: 4.5,
                velocity_octaves: 2.0,
                key_tracking: 0.8,
                level: 0.401,
                key_decay: 0.0,
                osc1_fade: 0.0,
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = ParsePresetError;

    /// Parse a preset name, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<Preset, ParsePresetError> {
        let name = s.trim();
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParsePresetError(name.to_string()))
    }
}

/// What a preset is made of, before panel controls and sample rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timbre {
    /// Morph position of oscillators 1 and 2 (0 sine, 1 triangle, 2 saw,
    /// 3 square).
    pub shape: [f32; 2],
    /// Oscillator 2's pitch relative to oscillator 1, cents (a detune under
    /// half an octave is split around the key, see `voice::detune_ratios`).
    pub osc2_cents: f32,
    /// Oscillator 2's level relative to oscillator 1.
    pub osc2_level: f32,
    /// Amplitude envelope.
    pub amp: Adsr,
    /// Filter envelope (its level times `env_octaves` raises the cutoff).
    pub filter_env: Adsr,
    /// Cutoff at middle C, velocity 0, envelope 0.
    pub cutoff_hz: f32,
    /// Filter resonance 0..0.97.
    pub resonance: f32,
    /// Octaves added to the cutoff at full filter envelope.
    pub env_octaves: f32,
    /// Octaves added to the cutoff at velocity 127.
    pub velocity_octaves: f32,
    /// Cutoff key tracking: 1 = the cutoff follows the key exactly.
    pub key_tracking: f32,
    /// Output scale, so presets are about equally loud.
    pub level: f32,
    /// Decay times (amplitude and filter envelope) halve every
    /// `1 / key_decay` octaves up from middle C (0: the same everywhere).
    pub key_decay: f32,
    /// Share of oscillator 1 that fades out with the filter envelope (0:
    /// none), so the timbre moves towards oscillator 2 as the note rings.
    pub osc1_fade: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Preset::ALL {
            assert_eq!(p.to_string().parse::<Preset>(), Ok(p));
            assert_eq!(p.name().to_uppercase().parse::<Preset>(), Ok(p));
            assert_eq!(Preset::ALL[p.index()], p);
        }
        assert!("harpsichord".parse::<Preset>().is_err());
    }

    #[test]
    fn programs_round_trip_and_cycle() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_program(p.program()), p);
            assert_eq!(p.next().previous(), p);
        }
        assert_eq!(Preset::Pluck.next(), Preset::Piano);
        assert_eq!(Preset::Piano.previous(), Preset::Pluck);
        assert_eq!(Preset::from_program(0), Preset::Piano);
        assert_eq!(Preset::from_program(19), Preset::Organ);
        assert_eq!(Preset::from_program(33), Preset::Bass);
        assert_eq!(Preset::from_program(128), Preset::Piano);
        assert_eq!(Preset::from_program(255), Preset::Pad);
    }
}
