//! The per-voice low-pass filter: a 2-pole state-variable filter in the
//! topology-preserving (TPT, trapezoidal) form of Zavalishin and Simper.
//!
//! It is unconditionally stable for every cutoff below Nyquist and every
//! damping above 0, keeps its tuning up to the top of the range, and can be
//! modulated freely. The update is written as a 2×2 state matrix so that one
//! sample costs nine multiplies and six adds with a dependency chain of one
//! multiply and two adds, and four voices' filters run side by side in the
//! lanes of [`Svf4`]; coefficients are computed (one `tan`) only when the
//! cutoff or resonance changes, at most once per control block.

use std::f32::consts::PI;
use wide::f32x4;

/// Highest resonance accepted (damping `k = 2·(1 − r)` stays ≥ 0.06, Q ≤ 16).
pub const MAX_RESONANCE: f32 = 0.97;

/// Low-pass coefficients for one cutoff and resonance (the default is all
/// zeros: silence).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SvfCoefs {
    /// Output weights of input, state 1 and state 2.
    y: [f32; 3],
    /// Next state 1 from input, state 1 and state 2.
    s1: [f32; 3],
    /// Next state 2 from input, state 1 and state 2.
    s2: [f32; 3],
}

impl SvfCoefs {
    /// Low-pass at `cutoff_hz` (clamped to 10 Hz … 0.45 × `sample_rate`)
    /// with `resonance` 0 … 0.97 (0.29 ≈ Butterworth, 0 = Q 0.5, 0.97 =
    /// Q 16).
    pub fn lowpass(cutoff_hz: f32, resonance: f32, sample_rate: f32) -> SvfCoefs {
        let fs = if sample_rate > 0.0 {
            sample_rate
        } else {
            48_000.0
        };
        let fc = if cutoff_hz.is_nan() {
            fs * 0.45
        } else {
            cutoff_hz.clamp(10.0, fs * 0.45)
        };
        let r = if resonance.is_nan() {
            0.0
        } else {
            resonance.clamp(0.0, MAX_RESONANCE)
        };
        let k = 2.0 - 2.0 * r;
        let g = (PI * fc / fs).tan();
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        // Simper's update (v3 = x − ic2; v1 = a1·ic1 + a2·v3; v2 = ic2 + a2·ic1
        // + a3·v3; ic1' = 2v1 − ic1; ic2' = 2v2 − ic2; low = v2), expanded.
        SvfCoefs {
            y: [a3, a2, 1.0 - a3],
            s1: [2.0 * a2, 2.0 * a1 - 1.0, -2.0 * a2],
            s2: [2.0 * a3, 2.0 * a2, 1.0 - 2.0 * a3],
        }
    }
}

/// State of one filter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Svf {
    /// First integrator's state.
    ic1: f32,
    /// Second integrator's state.
    ic2: f32,
}

impl Svf {
    /// Set states too small to matter to zero, so a decaying filter never
    /// runs on denormals. Call once per block.
    pub fn flush_denormals(&mut self) {
        if self.ic1.abs() < 1e-15 {
            self.ic1 = 0.0;
        }
        if self.ic2.abs() < 1e-15 {
            self.ic2 = 0.0;
        }
    }

    /// Forget the past (silent state).
    pub fn reset(&mut self) {
        *self = Svf::default();
    }
}

/// Four `f32` lanes, one per voice: a [`wide::f32x4`], so the arithmetic
/// is always packed SSE/NEON instructions (the compiler's auto-vectoriser
/// packed plain arrays only in some loops, and fell back to one lane at a
/// time in others).
#[derive(Clone, Copy)]
pub struct F4(pub f32x4);

impl F4 {
    /// All lanes zero.
    pub const ZERO: F4 = F4(f32x4::ZERO);

    /// The vector of `lanes`.
    #[inline(always)]
    pub fn new(lanes: [f32; 4]) -> F4 {
        F4(f32x4::new(lanes))
    }

    /// The lanes.
    #[inline(always)]
    pub fn to_array(self) -> [f32; 4] {
        self.0.to_array()
    }

    /// The sum of the four lanes.
    #[inline(always)]
    pub fn sum(self) -> f32 {
        let a = self.to_array();
        (a[0] + a[2]) + (a[1] + a[3])
    }

    /// [`F4::sum`] of each of four vectors, as one vector (a transpose
    /// and three packed adds instead of four horizontal sums).
    #[inline(always)]
    pub fn sums(v: [F4; 4]) -> F4 {
        let [a, b, c, d] = f32x4::transpose([v[0].0, v[1].0, v[2].0, v[3].0]);
        F4((a + c) + (b + d))
    }

    /// The four vectors whose lane `k` holds `rows[k]`'s four values: four
    /// samples of four voices, as four samples each holding the voices.
    #[inline(always)]
    pub fn columns(rows: [[f32; 4]; 4]) -> [F4; 4] {
        f32x4::transpose(rows.map(f32x4::new)).map(F4)
    }
}

impl Default for F4 {
    fn default() -> Self {
        F4::ZERO
    }
}

impl PartialEq for F4 {
    fn eq(&self, other: &F4) -> bool {
        self.to_array() == other.to_array()
    }
}

impl std::fmt::Debug for F4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_array().fmt(f)
    }
}

impl std::ops::Add for F4 {
    type Output = F4;
    #[inline(always)]
    fn add(self, o: F4) -> F4 {
        F4(self.0 + o.0)
    }
}

impl std::ops::Mul for F4 {
    type Output = F4;
    #[inline(always)]
    fn mul(self, o: F4) -> F4 {
        F4(self.0 * o.0)
    }
}

/// The coefficients of four filters, lane by lane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SvfCoefs4 {
    y: [F4; 3],
    s1: [F4; 3],
    s2: [F4; 3],
}

impl SvfCoefs4 {
    /// Set lane `lane` (0-3) to `c`.
    pub fn set(&mut self, lane: usize, c: &SvfCoefs) {
        let lane = lane & 3;
        for k in 0..3 {
            self.y[k].0.as_array_mut()[lane] = c.y[k];
            self.s1[k].0.as_array_mut()[lane] = c.s1[k];
            self.s2[k].0.as_array_mut()[lane] = c.s2[k];
        }
    }
}

/// The states of four filters run side by side, one per lane: four voices'
/// filters cost about what one costs alone, since each sample's dependency
/// chain (multiply, add, add) is shared.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Svf4 {
    ic1: F4,
    ic2: F4,
}

impl Svf4 {
    /// Set lane `lane` (0-3) to `state`.
    pub fn set(&mut self, lane: usize, state: &Svf) {
        let lane = lane & 3;
        self.ic1.0.as_array_mut()[lane] = state.ic1;
        self.ic2.0.as_array_mut()[lane] = state.ic2;
    }

    /// The state of lane `lane` (0-3).
    pub fn get(&self, lane: usize) -> Svf {
        let lane = lane & 3;
        Svf {
            ic1: self.ic1.0.as_array_ref()[lane],
            ic2: self.ic2.0.as_array_ref()[lane],
        }
    }

    /// Filter one sample in each lane.
    #[inline(always)]
    pub fn process(&mut self, x: F4, c: &SvfCoefs4) -> F4 {
        let (s1, s2) = (self.ic1, self.ic2);
        let y = c.y[0] * x + (c.y[1] * s1 + c.y[2] * s2);
        self.ic1 = c.s1[0] * x + (c.s1[1] * s1 + c.s1[2] * s2);
        self.ic2 = c.s2[0] * x + (c.s2[1] * s1 + c.s2[2] * s2);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f32 = 48_000.0;

    /// One filter in lane 0.
    fn one(c: &SvfCoefs) -> SvfCoefs4 {
        let mut c4 = SvfCoefs4::default();
        c4.set(0, c);
        c4
    }

    fn process(f: &mut Svf4, x: f32, c: &SvfCoefs4) -> f32 {
        f.process(F4::new([x, 0.0, 0.0, 0.0]), c).to_array()[0]
    }

    /// Steady-state gain of the filter for a sine at `freq`.
    fn gain(c: &SvfCoefs, freq: f32) -> f32 {
        let c = &one(c);
        let mut f = Svf4::default();
        let mut peak = 0.0f32;
        for i in 0..48_000 {
            let x = (std::f32::consts::TAU * freq * i as f32 / FS).sin();
            let y = process(&mut f, x, c);
            if i > 24_000 {
                peak = peak.max(y.abs());
            }
        }
        peak
    }

    #[test]
    fn lowpass_response() {
        let c = SvfCoefs::lowpass(1000.0, 0.29, FS);
        assert!((gain(&c, 100.0) - 1.0).abs() < 0.02);
        let at_cutoff = gain(&c, 1000.0);
        assert!((at_cutoff - 0.707).abs() < 0.03, "{at_cutoff}");
        // 12 dB per octave: two octaves up is about -24 dB.
        assert!(gain(&c, 4000.0) < 0.08);
    }

    #[test]
    fn stable_and_finite_at_extremes() {
        let mut f = Svf4::default();
        let settings = [
            (10.0, 0.0),
            (1e9, 0.97),
            (21_000.0, 1.0),
            (f32::NAN, f32::NAN),
            (-3.0, -1.0),
        ];
        for (i, &(fc, r)) in settings.iter().cycle().take(5_000).enumerate() {
            let c = one(&SvfCoefs::lowpass(fc, r, FS));
            for j in 0..64 {
                let x = if (i + j) % 7 < 3 { 1.0 } else { -1.0 };
                let y = process(&mut f, x, &c);
                assert!(y.is_finite() && y.abs() < 100.0, "{fc} {r}: {y}");
            }
        }
    }

    #[test]
    fn decays_to_exact_zero_with_flush() {
        let c = one(&SvfCoefs::lowpass(500.0, 0.9, FS));
        let mut f4 = Svf4::default();
        process(&mut f4, 1.0, &c);
        for _ in 0..20_000 {
            for _ in 0..32 {
                process(&mut f4, 0.0, &c);
            }
            let mut f = f4.get(0);
            f.flush_denormals();
            f4.set(0, &f);
        }
        assert_eq!(f4.get(0), Svf::default());
    }
}
