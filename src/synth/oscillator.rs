//! Band-limited oscillators: sine, triangle, saw and square.
//!
//! The phase is a 32-bit fixed-point accumulator (one full turn = 2³²), so a
//! step is one integer add and wrapping is free. Saw and square remove their
//! jumps' aliasing with a 2-point PolyBLEP, the triangle its corners' with
//! the integrated residual (PolyBLAMP); the sine is a 9th-order polynomial
//! (error below 4·10⁻⁶). Every waveform peaks at ±1.
//!
//! A [`Shape`] is a position on the line sine (0) — triangle (1) — saw (2) —
//! square (3); positions in between crossfade the two neighbours, which is
//! how the DeepComposer encoder morphs the timbre. A block crossfades
//! sample by sample from one shape to the next, so a moving encoder glides
//! instead of stepping (no clicks, no zipper noise).
//!
//! Nothing here calls `floor`, `powf` or `exp` per sample: the caller builds
//! a [`Pitch`] once per control block, and a block is rendered by a
//! branch-free loop per waveform that the compiler vectorises. That loop
//! makes the naive waveform; the PolyBLEP/BLAMP residuals, nonzero only on
//! the two samples around each jump or corner, are then added at those
//! samples alone (found from the phase with integer arithmetic), which
//! gives the same samples for a fraction of the work.

use super::voice::BLOCK;

/// One of the four basic waveforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waveform {
    /// Pure sine.
    Sine,
    /// Triangle (odd harmonics falling 12 dB per octave).
    Triangle,
    /// Rising sawtooth (all harmonics, 6 dB per octave).
    Saw,
    /// Square, 50 % duty (odd harmonics, 6 dB per octave).
    Square,
}

impl Waveform {
    /// Every waveform, in morph order.
    const ALL: [Waveform; 4] = [
        Waveform::Sine,
        Waveform::Triangle,
        Waveform::Saw,
        Waveform::Square,
    ];

    /// The waveform at a morph position: 0 sine, 1 triangle, 2 saw, 3 square.
    fn at(index: usize) -> Waveform {
        Waveform::ALL[index.min(3)]
    }
}

/// A mix of the four waveforms: one of them, or a crossfade between two
/// neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Weight of sine, triangle, saw and square (summing to 1).
    weights: [f32; 4],
    /// Bit `k` set if `weights[k]` is nonzero.
    used: u8,
}

impl Shape {
    /// A pure waveform.
    pub const fn pure(waveform: Waveform) -> Shape {
        let mut weights = [0.0; 4];
        weights[waveform as usize] = 1.0;
        Shape {
            weights,
            used: 1 << waveform as usize,
        }
    }

    /// A morph position, clamped to 0..=3: 0 sine, 1 triangle, 2 saw,
    /// 3 square; 1.5 is half triangle, half saw.
    pub fn morph(position: f32) -> Shape {
        let p = if position.is_nan() {
            0.0
        } else {
            position.clamp(0.0, 3.0)
        };
        let index = p as usize; // truncation: 0..=3
        let mix = p - index as f32;
        if index >= 3 || mix <= 1e-4 {
            Shape::pure(Waveform::at(index))
        } else {
            let mut weights = [0.0; 4];
            weights[index] = 1.0 - mix;
            weights[index + 1] = mix;
            Shape {
                weights,
                used: 0b11 << index,
            }
        }
    }

    /// The weight of `waveform`.
    #[cfg(test)]
    fn weight(&self, waveform: Waveform) -> f32 {
        self.weights[waveform as usize]
    }
}

/// An oscillator's step, computed once per control block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pitch {
    /// Phase increment per sample, 2³² = one turn.
    inc: u32,
    /// The increment as a fraction of a turn (frequency / sample rate).
    dt: f32,
    /// `1 / dt` (0 when the oscillator stands still).
    inv_dt: f32,
}

impl Pitch {
    /// Highest frequency produced, as a fraction of the sample rate.
    pub const MAX_RATIO: f32 = 0.45;

    /// The step for `frequency_hz` at `sample_rate` Hz, clamped to
    /// 0..=0.45 × the sample rate.
    pub fn new(frequency_hz: f32, sample_rate: f32) -> Pitch {
        let ratio = if sample_rate > 0.0 && frequency_hz > 0.0 {
            (frequency_hz / sample_rate).min(Self::MAX_RATIO)
        } else {
            0.0
        };
        let inc = (f64::from(ratio) * 4_294_967_296.0) as u32;
        let dt = inc as f32 * (1.0 / 4_294_967_296.0);
        Pitch {
            inc,
            dt,
            inv_dt: if dt > 0.0 { 1.0 / dt } else { 0.0 },
        }
    }

    /// Frequency as a fraction of the sample rate.
    #[cfg(test)]
    pub fn ratio(&self) -> f32 {
        self.dt
    }
}

/// Phase accumulator of one oscillator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Oscillator {
    /// Current phase, 2³² = one turn.
    phase: u32,
}

/// A quarter turn of the phase accumulator.
const QUARTER: u32 = 1 << 30;
/// Scale from the top 24 bits of the phase to 0..1.
const UNIT: f32 = 1.0 / 16_777_216.0;

impl Oscillator {
    /// An oscillator starting at `phase` (fraction of a turn, 2³² = one).
    pub fn new(phase: u32) -> Oscillator {
        Oscillator { phase }
    }

    /// Add the next [`BLOCK`] samples to `out`, crossfading sample by
    /// sample from shape `from` at `gain[0]` (at the first sample) to `to`
    /// at `gain[1]` (at sample `n`), then advance by `n` (≤ [`BLOCK`]) steps of `pitch`:
    /// the samples past `n` are scratch. Each sample's phase is computed
    /// from the block's start (no loop-carried state), so the loops
    /// vectorise.
    #[inline]
    pub fn add_block(
        &mut self,
        pitch: &Pitch,
        from: &Shape,
        to: &Shape,
        gain: [f32; 2],
        out: &mut [f32; BLOCK],
        n: usize,
    ) {
        let steps = n.clamp(1, BLOCK);
        let per_sample = 1.0 / steps as f32;
        let mut used = from.used | to.used;
        while used != 0 {
            let k = used.trailing_zeros() as usize & 3;
            used &= used - 1;
            let (a, b) = (from.weights[k], to.weights[k]);
            let ramp = Ramp {
                start: gain[0] * a,
                step: (gain[1] * b - gain[0] * a) * per_sample,
            };
            add_wave(Waveform::ALL[k], self.phase, pitch, ramp, out);
        }
        self.phase = self
            .phase
            .wrapping_add(pitch.inc.wrapping_mul(n.min(BLOCK) as u32));
    }
}

/// A gain that moves linearly over a block: `start + i · step` at sample
/// `i`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ramp {
    start: f32,
    step: f32,
}

/// Add the PolyBLEP/BLAMP residuals of `waveform`'s jumps or corners
/// (kept out of line: most blocks of most notes have none, and inlined its
/// set-up would be paid on every block).
#[inline(never)]
fn band_limit(waveform: Waveform, phase: u32, pitch: &Pitch, ramp: Ramp, out: &mut [f32; BLOCK]) {
    let g = |i: usize| ramp.start + ramp.step * i as f32;
    let p = pitch;
    match waveform {
        Waveform::Sine => {}
        Waveform::Triangle => {
            let slope = 4.0 * p.dt;
            near_turn(phase.wrapping_add(QUARTER), p.inc, |i, t, side| {
                out[i] += g(i) * slope * blamp_side(t, p, side)
            });
            near_turn(phase.wrapping_add(3 * QUARTER), p.inc, |i, t, side| {
                out[i] -= g(i) * slope * blamp_side(t, p, side)
            });
        }
        Waveform::Saw => {
            near_turn(phase.wrapping_add(2 * QUARTER), p.inc, |i, t, side| {
                out[i] -= g(i) * blep_side(t, p, side)
            });
        }
        Waveform::Square => {
            near_turn(phase, p.inc, |i, t, side| {
                out[i] += g(i) * blep_side(t, p, side)
            });
            near_turn(phase.wrapping_add(2 * QUARTER), p.inc, |i, t, side| {
                out[i] -= g(i) * blep_side(t, p, side)
            });
        }
    }
}

/// Add `ramp` × `waveform` from `phase` on to `out`: the naive waveform
/// in one vectorised pass, then, if a jump or corner falls in or next to
/// the block, the band-limiting residuals at the samples beside it (all
/// other samples' residuals are exactly zero, so computing them for every
/// sample would only cost time). Compiled twice: for the baseline CPU and
/// for AVX2 + FMA, picked once at run time (eight samples per instruction
/// instead of four).
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn add_wave(waveform: Waveform, phase: u32, pitch: &Pitch, ramp: Ramp, out: &mut [f32; BLOCK]) {
    let inc = pitch.inc;
    add_naive(waveform, phase, inc, ramp, out);
    // The phases at which the waveform jumps (or bends), and whether the
    // block's span of phases, from the sample before it to the one after
    // it, reaches one of them.
    let (first, second) = match waveform {
        Waveform::Sine => return,
        Waveform::Triangle => (QUARTER, 3 * QUARTER),
        Waveform::Saw => (2 * QUARTER, 2 * QUARTER),
        Waveform::Square => (0, 2 * QUARTER),
    };
    let before = phase.wrapping_sub(inc);
    let span = u64::from(inc) * (BLOCK as u64 + 1);
    let reaches = |at: u32| u64::from(at.wrapping_sub(before)) <= span;
    if reaches(first) || reaches(second) {
        band_limit(waveform, phase, pitch, ramp, out);
    }
}

/// [`add_wave`]'s naive waveform (inlined into each of its versions).
#[inline(always)]
fn add_naive(waveform: Waveform, phase: u32, inc: u32, ramp: Ramp, out: &mut [f32; BLOCK]) {
    let Ramp { start, step } = ramp;
    if step == 0.0 {
        match waveform {
            Waveform::Sine => each(out, phase, inc, |_, ph| start * sine(unit(ph))),
            Waveform::Triangle => each(out, phase, inc, |_, ph| start * naive_triangle(ph)),
            Waveform::Saw => each(out, phase, inc, |_, ph| start * naive_saw(ph)),
            Waveform::Square => each(out, phase, inc, |_, ph| start * naive_square(ph)),
        }
    } else {
        let g = |i: f32| start + step * i;
        match waveform {
            Waveform::Sine => each(out, phase, inc, |i, ph| g(i) * sine(unit(ph))),
            Waveform::Triangle => each(out, phase, inc, |i, ph| g(i) * naive_triangle(ph)),
            Waveform::Saw => each(out, phase, inc, |i, ph| g(i) * naive_saw(ph)),
            Waveform::Square => each(out, phase, inc, |i, ph| g(i) * naive_square(ph)),
        }
    }
}

/// `out[i] += wave(i, phase + i·inc)` over the block.
#[inline(always)]
fn each(out: &mut [f32; BLOCK], phase: u32, inc: u32, wave: impl Fn(f32, u32) -> f32) {
    for (i, o) in out.iter_mut().enumerate() {
        *o += wave(i as f32, phase.wrapping_add(inc.wrapping_mul(i as u32)));
    }
}

/// Which side of a jump a sample is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The last sample before it.
    Before,
    /// The first sample after it.
    After,
}

/// Call `f(i, t, side)` for every sample `i` of the block whose phase
/// `phase + i·inc` lies within one step of a whole turn: the last sample
/// before the accumulator wraps and the first one after (`t` is that
/// sample's phase in 0..1, as [`unit`] gives it). Only these samples have
/// a nonzero PolyBLEP or PolyBLAMP residual for a jump at phase 0. With at
/// most 0.45 turn per step, no sample is both.
#[inline(always)]
fn near_turn(phase: u32, inc: u32, mut f: impl FnMut(usize, f32, Side)) {
    const TURN: u64 = 1 << 32;
    let (p0, step) = (u64::from(phase), u64::from(inc));
    if step == 0 {
        return;
    }
    let at = |i: usize| unit(phase.wrapping_add(inc.wrapping_mul(i as u32)));
    // The accumulator wrapped on the step into sample 0.
    if p0 < step {
        f(0, at(0), Side::After);
    }
    // Each later turn boundary: the first sample at or past it (and the
    // one before). The quotient is exact where it matters (≤ 33 steps), and
    // a float division is several times quicker than a 64-bit integer one.
    // Boundaries up to the phase of the sample after the block.
    let end = p0 + step * BLOCK as u64;
    let mut boundary = TURN;
    while boundary <= end {
        // Through i64, whose conversions are single instructions (u64's
        // are not); both values are below 2³³.
        let steps = (boundary - p0) as i64 as f64 / step as i64 as f64;
        let whole = steps as i64; // rounded up below (`ceil` is a libm call)
        let after = ((whole + i64::from((whole as f64) < steps)) as usize).clamp(1, BLOCK);
        f(after - 1, at(after - 1), Side::Before);
        if after < BLOCK {
            f(after, at(after), Side::After);
        }
        boundary += TURN;
    }
}

/// The phase as a fraction of a turn in 0..1 (24-bit resolution).
#[inline(always)]
fn unit(phase: u32) -> f32 {
    // Below 2²⁴ after the shift: exact as i32 → f32 (one packed convert).
    ((phase >> 8) as i32) as f32 * UNIT
}

/// `a < b ? a : b` without NaN handling (compiles to one `minss`).
#[inline(always)]
fn min(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// `a > b ? a : b` without NaN handling (compiles to one `maxss`).
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// Naive triangle at `phase`: rises through 0 at phase 0, peaks at ¼
/// (band-limited by [`add_wave`] with PolyBLAMP residuals at its corners,
/// phase ¾ and ¼).
#[inline(always)]
fn naive_triangle(phase: u32) -> f32 {
    let peak = unit(phase.wrapping_add(3 * QUARTER));
    4.0 * (peak - 0.5).abs() - 1.0
}

/// Naive rising saw at `phase`: half a turn late, so that like the others
/// it rises through 0 at phase 0 and its fundamental is in phase with the
/// sine (the morph between them does not cancel). Band-limited by
/// [`add_wave`] with a PolyBLEP residual at its jump, phase ½.
#[inline(always)]
fn naive_saw(phase: u32) -> f32 {
    2.0 * unit(phase.wrapping_add(2 * QUARTER)) - 1.0
}

/// Naive square at `phase`: +1 for the first half turn (band-limited by
/// [`add_wave`] with PolyBLEP residuals at its jumps, phase 0 and ½).
#[inline(always)]
fn naive_square(phase: u32) -> f32 {
    if unit(phase) < 0.5 {
        1.0
    } else {
        -1.0
    }
}

/// `sin(2πt)` for `t` in 0..1.
#[inline(always)]
pub fn sine(t: f32) -> f32 {
    // sin(2πt) = -sin(2πx) for x = t - ½; fold |x| into 0..¼ (sin(π-θ) = sin θ).
    let x = t - 0.5;
    let f = 0.25 - (x.abs() - 0.25).abs();
    let f2 = f * f;
    // Taylor series of sin(2πf) up to f⁹; error < 4e-6 on 0..¼.
    const C1: f32 = std::f32::consts::TAU;
    const C3: f32 = -C1 * C1 * C1 / 6.0;
    const C5: f32 = -C3 * C1 * C1 / 20.0;
    const C7: f32 = -C5 * C1 * C1 / 42.0;
    const C9: f32 = -C7 * C1 * C1 / 72.0;
    let s = f * (C1 + f2 * (C3 + f2 * (C5 + f2 * (C7 + f2 * C9))));
    if x < 0.0 {
        s
    } else {
        -s
    }
}

/// PolyBLEP residual of a unit downward jump at phase 0 (subtract it from a
/// naive saw; add it at upward jumps). Branch-free: both polynomial pieces
/// are clamped to zero outside one step around the jump. The tests' every
/// sample reference for [`blep_side`].
#[cfg(test)]
fn blep(t: f32, pitch: &Pitch) -> f32 {
    let after = 1.0 - min(t * pitch.inv_dt, 1.0); // 1 - t/dt, just after the jump
    let before = 1.0 + max((t - 1.0) * pitch.inv_dt, -1.0); // just before it
    before * before - after * after
}

/// The PolyBLEP residual of a unit downward jump at phase 0 on one side
/// of it, one step wide (subtract it from a naive saw; add it at upward
/// jumps): `1 − t/dt` squared, negated, just after the jump; `1 + (t −
/// 1)/dt` squared just before it; each clamped to 0 farther away.
#[inline(always)]
fn blep_side(t: f32, pitch: &Pitch, side: Side) -> f32 {
    match side {
        Side::After => {
            let after = 1.0 - min(t * pitch.inv_dt, 1.0);
            -(after * after)
        }
        Side::Before => {
            let before = 1.0 + max((t - 1.0) * pitch.inv_dt, -1.0);
            before * before
        }
    }
}

/// The PolyBLAMP residual of a slope change at phase 0 on one side of it
/// (the integral of [`blep_side`], scaled by the caller with the slope
/// change and `dt`).
#[inline(always)]
fn blamp_side(t: f32, pitch: &Pitch, side: Side) -> f32 {
    match side {
        Side::After => {
            let after = min(t * pitch.inv_dt, 1.0) - 1.0;
            -(after * after * after) * (1.0 / 3.0)
        }
        Side::Before => {
            let before = max((t - 1.0) * pitch.inv_dt, -1.0) + 1.0;
            before * before * before * (1.0 / 3.0)
        }
    }
}

/// PolyBLAMP residual of a slope change at phase 0, both sides at once:
/// the tests' every sample reference for [`blamp_side`].
#[cfg(test)]
fn blamp(t: f32, pitch: &Pitch) -> f32 {
    let after = min(t * pitch.inv_dt, 1.0) - 1.0;
    let before = max((t - 1.0) * pitch.inv_dt, -1.0) + 1.0;
    (before * before * before - after * after * after) * (1.0 / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f32 = 48_000.0;

    /// Power of `x` at `freq` Hz (Goertzel), as mean square of that sinusoid.
    fn power_at(x: &[f32], freq: f64) -> f64 {
        let w = std::f64::consts::TAU * freq / f64::from(FS);
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let c = 2.0 * w.cos();
        for &v in x {
            let s = f64::from(v) + c * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - c * s1 * s2;
        2.0 * p / (x.len() as f64 * x.len() as f64)
    }

    /// Energy of the aliases of `x` (a waveform at `f0`) that fold into
    /// the most audible band, 20 Hz – 10 kHz, relative to the fundamental,
    /// dB. Over one second at 1 Hz resolution, so each alias is one bin.
    fn audible_alias_db(x: &[f32], f0: f64) -> f64 {
        let fs = f64::from(FS);
        let mut seen = Vec::new();
        let mut alias = 0.0;
        let mut k = (fs / 2.0 / f0).ceil();
        while k * f0 < 40.0 * fs {
            let folded = ((k * f0 + fs / 2.0).rem_euclid(fs) - fs / 2.0)
                .abs()
                .round();
            if (20.0..10_000.0).contains(&folded) && !seen.contains(&folded) {
                seen.push(folded);
                alias += power_at(x, folded);
            }
            k += 1.0;
        }
        10.0 * (alias.max(1e-30) / power_at(x, f0)).log10()
    }

    fn render(shape: Shape, freq: f32, naive: bool) -> Vec<f32> {
        let pitch = Pitch::new(freq, FS);
        let pitch = if naive {
            Pitch {
                inv_dt: 1e30,
                dt: 0.0,
                ..pitch
            }
        } else {
            pitch
        };
        let mut osc = Oscillator::new(0);
        let mut x = Vec::new();
        for _ in 0..FS as usize / BLOCK {
            let mut block = [0.0; BLOCK];
            osc.add_block(&pitch, &shape, &shape, [1.0; 2], &mut block, BLOCK);
            x.extend_from_slice(&block);
        }
        x
    }

    #[test]
    fn sine_polynomial_is_accurate() {
        for i in 0..10_000 {
            let t = i as f32 / 10_000.0;
            let exact = (std::f32::consts::TAU * t).sin();
            assert!((sine(t) - exact).abs() < 1e-5, "t={t}");
        }
    }

    #[test]
    fn polyblep_cuts_aliasing_at_high_notes() {
        // 2950 Hz (about F#7) and 4186 Hz (C8): harmonics above Nyquist fold
        // back between the wanted ones. The naive waveforms alias at about
        // -13 dB (saw, square) and -40 dB (triangle) below 10 kHz.
        for f0 in [2950.0, 4186.0] {
            for (waveform, max_db) in [
                (Waveform::Saw, -40.0),
                (Waveform::Square, -40.0),
                (Waveform::Triangle, -60.0),
            ] {
                let shape = Shape::pure(waveform);
                let naive = audible_alias_db(&render(shape, f0 as f32, true), f0);
                let blep = audible_alias_db(&render(shape, f0 as f32, false), f0);
                eprintln!("{f0} Hz {waveform:?}: aliases below 10 kHz naive {naive:.1} dB, band-limited {blep:.1} dB");
                assert!(blep < naive - 25.0, "{waveform:?}");
                assert!(blep < max_db, "{waveform:?}");
            }
        }
    }

    #[test]
    fn residuals_added_near_jumps_equal_residuals_at_every_sample() {
        // The band-limited waveforms as formulas evaluated at every sample.
        fn dense(waveform: Waveform, ph: u32, p: &Pitch) -> f32 {
            match waveform {
                Waveform::Sine => sine(unit(ph)),
                Waveform::Triangle => {
                    let rise = unit(ph.wrapping_add(QUARTER));
                    let peak = unit(ph.wrapping_add(3 * QUARTER));
                    naive_triangle(ph) + 4.0 * p.dt * (blamp(rise, p) - blamp(peak, p))
                }
                Waveform::Saw => naive_saw(ph) - blep(unit(ph.wrapping_add(2 * QUARTER)), p),
                Waveform::Square => {
                    naive_square(ph) + blep(unit(ph), p)
                        - blep(unit(ph.wrapping_add(2 * QUARTER)), p)
                }
            }
        }
        let mut seed = 0x1234_5678u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        // Low to the highest notes (up to 14 jumps a block), and phases
        // that land exactly on a jump.
        for freq in [0.0, 27.5, 261.6, 1000.0, 4186.0, 12_000.0, 21_600.0] {
            let pitch = Pitch::new(freq, FS);
            for trial in 0..200 {
                let phase = match trial {
                    0 => 0,
                    1 => 2 * QUARTER,
                    2 => 0u32.wrapping_sub(pitch.inc),
                    _ => next(),
                };
                let ramp = Ramp {
                    start: 0.8,
                    step: -0.01,
                };
                for waveform in Waveform::ALL {
                    let mut out = [0.0; BLOCK];
                    add_wave(waveform, phase, &pitch, ramp, &mut out);
                    for (i, &got) in out.iter().enumerate() {
                        let ph = phase.wrapping_add(pitch.inc.wrapping_mul(i as u32));
                        let want =
                            (ramp.start + ramp.step * i as f32) * dense(waveform, ph, &pitch);
                        assert!(
                            (got - want).abs() < 1e-5,
                            "{waveform:?} {freq} Hz phase {phase} sample {i}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn waveforms_peak_near_one_and_average_zero() {
        for shape in [0.0, 1.0, 1.5, 2.0, 2.5, 3.0].map(Shape::morph) {
            let x = render(shape, 220.0, false);
            let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let mean: f32 = x.iter().sum::<f32>() / x.len() as f32;
            assert!(peak > 0.7 && peak < 1.2, "{shape:?} peak {peak}");
            assert!(mean.abs() < 0.01, "{shape:?} mean {mean}");
        }
    }

    #[test]
    fn morph_positions() {
        assert_eq!(Shape::morph(0.0), Shape::pure(Waveform::Sine));
        assert_eq!(Shape::morph(3.0), Shape::pure(Waveform::Square));
        assert_eq!(Shape::morph(9.0), Shape::pure(Waveform::Square));
        assert_eq!(Shape::morph(f32::NAN), Shape::pure(Waveform::Sine));
        let half = Shape::morph(1.5);
        assert!((half.weight(Waveform::Triangle) - 0.5).abs() < 1e-6);
        assert!((half.weight(Waveform::Saw) - 0.5).abs() < 1e-6);
        assert_eq!(
            half.weight(Waveform::Sine) + half.weight(Waveform::Square),
            0.0
        );
    }

    #[test]
    fn pitch_clamps_below_nyquist() {
        assert!(Pitch::new(1e9, FS).ratio() <= Pitch::MAX_RATIO);
        assert_eq!(Pitch::new(-5.0, FS).ratio(), 0.0);
        assert_eq!(Pitch::new(440.0, 0.0).ratio(), 0.0);
    }
}
