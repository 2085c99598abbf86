//! ADSR envelopes with exponential segments, evaluated per control block.
//!
//! Each segment approaches a target past its end point (an "analog" ADSR):
//! the attack aims at 1.5 and stops at 1, the decay aims slightly below the
//! sustain level and stops on it, the release aims slightly below 0 and
//! stops on it. So every segment ends exactly, after exactly its nominal
//! time when started from full level, and a released note becomes silent
//! (level 0.0, not "nearly") after its release time.
//!
//! The envelope is advanced a whole block at a time with the closed form
//! `level' = target + (level − target)·kⁿ`; the voice ramps linearly across
//! the block, so no `exp` runs per sample. Segment changes happen at block
//! boundaries (at most one block, 0.67 ms at 48 kHz, late).

/// How far past its end point each decaying segment aims, relative to its
/// span: the segment lasts `ln((1 + ε)/ε) ≈ 6.9` time constants.
const OVERSHOOT: f32 = 1e-3;
/// Where the attack aims (it stops at 1.0).
const ATTACK_TARGET: f32 = 1.5;
/// Shortest segment, seconds.
pub const MIN_TIME: f32 = 0.000_5;
/// Longest segment, seconds.
pub const MAX_TIME: f32 = 30.0;

/// Envelope times (seconds) and sustain level (0..=1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adsr {
    /// Time from 0 to full level.
    pub attack: f32,
    /// Time from full level to the sustain level.
    pub decay: f32,
    /// Level held while the key is down, 0..=1 (0: the note dies away).
    pub sustain: f32,
    /// Time from full level to silence after the key (and pedal) let go.
    pub release: f32,
}

/// One exponential segment: target and per-step factors.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    /// Value approached.
    target: f32,
    /// Factor per sample.
    per_sample: f32,
    /// Factor per full control block.
    per_block: f32,
}

impl Segment {
    /// A segment of `time` seconds, aiming at `target`, lasting
    /// `time_constants` time constants.
    fn new(time: f32, target: f32, time_constants: f32, sample_rate: f32, block: usize) -> Segment {
        let time = clamp_time(time);
        let tau = time * sample_rate / time_constants; // samples
        Segment {
            target,
            per_sample: (-1.0 / tau).exp(),
            per_block: (-(block as f32) / tau).exp(),
        }
    }

    /// The factor for `n` samples.
    fn factor(&self, n: usize, block: usize) -> f32 {
        if n == block {
            self.per_block
        } else {
            partial_factor(self.per_sample, n)
        }
    }

    /// Advance `level` by `n` samples.
    fn step(&self, level: f32, n: usize, block: usize) -> f32 {
        self.target + (level - self.target) * self.factor(n, block)
    }
}

/// `per_sample` to the power `n`, for a partial block. Out of line: the
/// compiler would otherwise compute it on every block, full ones too (it
/// may speculate a pure call), and full blocks are nearly all of them.
#[cold]
#[inline(never)]
fn partial_factor(per_sample: f32, n: usize) -> f32 {
    per_sample.powi(n as i32)
}

/// A time clamped to [`MIN_TIME`]..=[`MAX_TIME`] (NaN → minimum).
pub fn clamp_time(t: f32) -> f32 {
    if t.is_nan() {
        MIN_TIME
    } else {
        t.clamp(MIN_TIME, MAX_TIME)
    }
}

/// An [`Adsr`] turned into per-sample and per-block factors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdsrCoefs {
    /// Rise to 1.
    attack: Segment,
    /// Fall to `sustain`.
    decay: Segment,
    /// Sustain level.
    sustain: f32,
    /// Fall to 0.
    release: Segment,
    /// Control block length in samples.
    block: usize,
}

impl AdsrCoefs {
    /// Coefficients of `adsr` at `sample_rate`, for control blocks of
    /// `block` samples.
    pub fn new(adsr: &Adsr, sample_rate: f32, block: usize) -> AdsrCoefs {
        let fs = sample_rate.max(1.0);
        let sustain = if adsr.sustain.is_nan() {
            0.0
        } else {
            adsr.sustain.clamp(0.0, 1.0)
        };
        let tc_attack = (ATTACK_TARGET / (ATTACK_TARGET - 1.0)).ln();
        let tc_fall = ((1.0 + OVERSHOOT) / OVERSHOOT).ln();
        AdsrCoefs {
            attack: Segment::new(adsr.attack, ATTACK_TARGET, tc_attack, fs, block),
            decay: Segment::new(
                adsr.decay,
                sustain - OVERSHOOT * (1.0 - sustain),
                tc_fall,
                fs,
                block,
            ),
            sustain,
            release: Segment::new(adsr.release, -OVERSHOOT, tc_fall, fs, block),
            block,
        }
    }
}

/// Where an envelope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Silent, finished.
    Idle,
    /// Rising to 1.
    Attack,
    /// Falling to the sustain level.
    Decay,
    /// Holding the sustain level.
    Sustain,
    /// Falling to 0 after note off.
    Release,
}

/// The state of one envelope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    /// Current stage.
    stage: Stage,
    /// Current level, 0..=1.
    level: f32,
}

impl Default for Envelope {
    fn default() -> Self {
        Envelope {
            stage: Stage::Idle,
            level: 0.0,
        }
    }
}

impl Envelope {
    /// Start (or restart) the attack from the current level, so a
    /// retriggered note does not click.
    pub fn gate_on(&mut self) {
        self.stage = Stage::Attack;
    }

    /// Start the release (no effect when idle).
    pub fn gate_off(&mut self) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Release;
        }
    }

    /// Back to silence at once.
    pub fn reset(&mut self) {
        *self = Envelope::default();
    }

    /// The current stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The current level.
    #[cfg(test)]
    pub fn level(&self) -> f32 {
        self.level
    }

    /// Advance by `n` samples and return the new level.
    pub fn advance(&mut self, n: usize, c: &AdsrCoefs) -> f32 {
        if n == 0 {
            return self.level;
        }
        match self.stage {
            Stage::Idle => self.level = 0.0,
            Stage::Attack => {
                self.level = c.attack.step(self.level, n, c.block);
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = if c.sustain >= 1.0 {
                        Stage::Sustain
                    } else {
                        Stage::Decay
                    };
                }
            }
            Stage::Decay => {
                self.level = c.decay.step(self.level, n, c.block);
                if self.level <= c.sustain {
                    self.level = c.sustain;
                    self.stage = if c.sustain <= 0.0 {
                        Stage::Idle
                    } else {
                        Stage::Sustain
                    };
                }
            }
            Stage::Sustain => {
                // Follow a changed sustain level smoothly (over ~5 blocks).
                self.level += (c.sustain - self.level) * 0.2;
                if (self.level - c.sustain).abs() < 1e-6 {
                    self.level = c.sustain;
                }
                if self.level <= 0.0 {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
            Stage::Release => {
                self.level = c.release.step(self.level, n, c.block);
                if self.level <= 0.0 {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
        }
        self.level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f32 = 48_000.0;
    const BLOCK: usize = 32;

    /// Blocks until `stage` is left, from the current state.
    fn blocks_in(env: &mut Envelope, c: &AdsrCoefs, stage: Stage) -> usize {
        let mut blocks = 0;
        while env.stage() == stage {
            env.advance(BLOCK, c);
            blocks += 1;
            assert!(blocks < 10_000_000);
        }
        blocks
    }

    #[test]
    fn segments_last_their_nominal_time() {
        let adsr = Adsr {
            attack: 0.01,
            decay: 0.2,
            sustain: 0.5,
            release: 0.3,
        };
        let c = AdsrCoefs::new(&adsr, FS, BLOCK);
        let mut env = Envelope::default();
        env.gate_on();
        let secs = |blocks: usize| (blocks * BLOCK) as f32 / FS;
        let attack = secs(blocks_in(&mut env, &c, Stage::Attack));
        assert!((attack - 0.01).abs() < 0.001, "attack {attack}");
        let decay = secs(blocks_in(&mut env, &c, Stage::Decay));
        assert!((decay - 0.2).abs() < 0.002, "decay {decay}");
        assert_eq!(env.level(), 0.5);
        for _ in 0..100 {
            env.advance(BLOCK, &c);
        }
        assert_eq!((env.stage(), env.level()), (Stage::Sustain, 0.5));
        env.gate_off();
        let release = secs(blocks_in(&mut env, &c, Stage::Release));
        // From 0.5 the release ends sooner than from full level.
        assert!(release < 0.3 && release > 0.2, "release {release}");
        assert_eq!((env.stage(), env.level()), (Stage::Idle, 0.0));
    }

    #[test]
    fn zero_sustain_dies_away_while_held() {
        let adsr = Adsr {
            attack: 0.001,
            decay: 1.0,
            sustain: 0.0,
            release: 0.1,
        };
        let c = AdsrCoefs::new(&adsr, FS, BLOCK);
        let mut env = Envelope::default();
        env.gate_on();
        blocks_in(&mut env, &c, Stage::Attack);
        let decay = (blocks_in(&mut env, &c, Stage::Decay) * BLOCK) as f32 / FS;
        assert!((decay - 1.0).abs() < 0.01, "{decay}");
        assert_eq!((env.stage(), env.level()), (Stage::Idle, 0.0));
    }

    #[test]
    fn retrigger_starts_from_current_level_and_partial_blocks_agree() {
        let adsr = Adsr {
            attack: 0.05,
            decay: 0.1,
            sustain: 0.7,
            release: 0.5,
        };
        let c = AdsrCoefs::new(&adsr, FS, BLOCK);
        let (mut a, mut b) = (Envelope::default(), Envelope::default());
        a.gate_on();
        b.gate_on();
        for _ in 0..20 {
            a.advance(BLOCK, &c);
            b.advance(BLOCK / 2, &c);
            b.advance(BLOCK / 2, &c);
        }
        assert!((a.level() - b.level()).abs() < 1e-4);
        a.gate_off();
        a.advance(BLOCK * 10, &c);
        let before = a.level();
        a.gate_on();
        let after = a.advance(1, &c);
        assert!(after >= before && after - before < 0.01);
    }
}
