//! Master effects: a Freeverb-style reverb, a chorus and the output
//! limiter.
//!
//! **Reverb.** Jezar's Freeverb: per side eight parallel low-passed comb
//! filters and four series all-passes, the right side's delays 23 samples
//! (at 44.1 kHz) longer for width. Delay lines are sized from the sample
//! rate in [`Reverb::new`] and never resized. Room size 0.75 (feedback 0.91),
//! damping 0.4: a medium hall whose tail falls 60 dB in about 2.5 s. When
//! its input has been silent and its output below −90 dBFS for longer than
//! its longest delay path, the reverb clears its delay lines and goes idle
//! (costs nothing, outputs exact zeros): that is also what keeps its
//! feedback paths from ever reaching denormal numbers.
//!
//! **Chorus.** A mono send into one delay line read by two taps, left and
//! right, each swept around 10 ms by ±2 ms with a 0.5 Hz sine, the two
//! sines a quarter turn apart: a copy of the sound detuned by up to ±11
//! cents that moves between the sides, so a centred part spreads across
//! the stereo field. The taps interpolate linearly; the sines come from a
//! rotating phasor (four multiplies per sample, renormalised per block).
//! Its line is allocated in [`Chorus::new`]; with nothing sent for as long
//! as the line, it goes idle and costs nothing.
//!
//! **Limiter.** A peak limiter with instant attack (the gain drops to
//! exactly what keeps the louder side at the threshold, −0.9 dBFS) and a
//! dual release: 40 ms after a transient, 300 ms (with an 80 ms attack) for
//! a reduction that lasts, so a held chord is not pumped; then a soft
//! clipper (linear up to the
//! threshold, then `k + (1 − k)·z/(1 + z)`) that maps any finite value, even
//! one that slipped past, strictly inside ±1. NaN becomes 0.

/// Comb delays at 44.1 kHz (Freeverb's tuning).
const COMB_TUNING: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
/// All-pass delays at 44.1 kHz.
const ALLPASS_TUNING: [usize; 4] = [556, 441, 341, 225];
/// Extra delay of the right side at 44.1 kHz.
const STEREO_SPREAD: usize = 23;
/// Input scale (Freeverb's fixed gain, both of its input channels).
const INPUT_GAIN: f32 = 0.03;
/// Comb feedback: room size 0.75 × 0.28 + 0.7.
const FEEDBACK: f32 = 0.91;
/// Damping 0.4 × 0.4: weight of the previous value in the comb low-pass.
const DAMP: f32 = 0.16;
/// Output scale of the wet signal.
const WET: f32 = 1.0;
/// Output level below which the tail counts as gone (−90 dBFS).
pub const SILENCE: f32 = 3.162e-5;

/// One low-passed feedback comb.
#[derive(Debug, Clone)]
struct Comb {
    /// Delay line (allocated once).
    buffer: Vec<f32>,
    /// Read/write position.
    pos: usize,
    /// Low-pass state.
    store: f32,
}

impl Comb {
    fn new(len: usize) -> Comb {
        Comb {
            buffer: vec![0.0; len.max(1)],
            pos: 0,
            store: 0.0,
        }
    }

    #[inline(always)]
    fn process(&mut self, input: f32) -> f32 {
        let pos = if self.pos < self.buffer.len() {
            self.pos
        } else {
            0
        };
        let out = self.buffer[pos];
        self.store = out * (1.0 - DAMP) + self.store * DAMP;
        self.buffer[pos] = input + self.store * FEEDBACK;
        self.pos = pos + 1;
        out
    }

    fn clear(&mut self) {
        self.buffer.fill(0.0);
        self.store = 0.0;
    }
}

/// One Schroeder all-pass (Freeverb's approximation, feedback 0.5).
#[derive(Debug, Clone)]
struct Allpass {
    /// Delay line (allocated once).
    buffer: Vec<f32>,
    /// Read/write position.
    pos: usize,
}

impl Allpass {
    fn new(len: usize) -> Allpass {
        Allpass {
            buffer: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    #[inline(always)]
    fn process(&mut self, input: f32) -> f32 {
        let pos = if self.pos < self.buffer.len() {
            self.pos
        } else {
            0
        };
        let delayed = self.buffer[pos];
        self.buffer[pos] = input + delayed * 0.5;
        self.pos = pos + 1;
        delayed - input
    }

    fn clear(&mut self) {
        self.buffer.fill(0.0);
    }
}

/// One side of the reverb.
#[derive(Debug, Clone)]
struct Side {
    combs: [Comb; 8],
    allpasses: [Allpass; 4],
}

impl Side {
    fn new(scale: f64, extra: usize) -> Side {
        let len = |n: usize| ((n + extra) as f64 * scale).round() as usize;
        Side {
            combs: COMB_TUNING.map(|n| Comb::new(len(n))),
            allpasses: ALLPASS_TUNING.map(|n| Allpass::new(len(n))),
        }
    }

    #[inline(always)]
    fn process(&mut self, input: f32) -> f32 {
        let mut sum = 0.0;
        for comb in &mut self.combs {
            sum += comb.process(input);
        }
        for allpass in &mut self.allpasses {
            sum = allpass.process(sum);
        }
        sum
    }

    fn clear(&mut self) {
        self.combs.iter_mut().for_each(Comb::clear);
        self.allpasses.iter_mut().for_each(Allpass::clear);
    }

    /// Longest path through the side, samples.
    fn longest_path(&self) -> usize {
        let comb = self.combs.iter().map(|c| c.buffer.len()).max().unwrap_or(0);
        comb + self.allpasses.iter().map(|a| a.buffer.len()).sum::<usize>()
    }
}

/// Stereo Freeverb-style reverb fed from a mono send.
#[derive(Debug, Clone)]
pub struct Reverb {
    left: Side,
    right: Side,
    /// True while cleared and not fed: [`Reverb::process`] does nothing.
    idle: bool,
    /// Samples since the input stopped with the output below [`SILENCE`].
    quiet: usize,
    /// `quiet` needed to go idle.
    quiet_needed: usize,
}

impl Reverb {
    /// A reverb for `sample_rate`; allocates all delay lines.
    pub fn new(sample_rate: u32) -> Reverb {
        let scale = f64::from(sample_rate.max(1)) / 44_100.0;
        let left = Side::new(scale, 0);
        let right = Side::new(scale, STEREO_SPREAD);
        let quiet_needed = left.longest_path().max(right.longest_path()) * 2;
        Reverb {
            left,
            right,
            idle: true,
            quiet: 0,
            quiet_needed,
        }
    }

    /// True when the tail has died away (below −90 dBFS at unity master
    /// gain) and nothing is feeding it.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Add the reverb of `send` (mono) to `left` and `right`. `send_active`
    /// false means `send` is all zeros (skips the scan). `silence` is the
    /// output level, in the units of `left`/`right`, below which the tail
    /// counts as gone.
    pub fn process(
        &mut self,
        send: &[f32],
        send_active: bool,
        left: &mut [f32],
        right: &mut [f32],
        silence: f32,
    ) {
        let input_peak = if send_active {
            send.iter().fold(0.0f32, |m, &x| m.max(x.abs()))
        } else {
            0.0
        };
        if self.idle && input_peak == 0.0 {
            return;
        }
        self.idle = false;
        let mut output_peak = 0.0f32;
        for ((&s, l), r) in send.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            let input = s * INPUT_GAIN;
            let wl = self.left.process(input) * WET;
            let wr = self.right.process(input) * WET;
            output_peak = output_peak.max(wl.abs()).max(wr.abs());
            *l += wl;
            *r += wr;
        }
        // (`f32::max` skips NaN, so a NaN can't keep the tail alive.)
        if input_peak == 0.0 && output_peak < silence {
            self.quiet += send.len();
            if self.quiet >= self.quiet_needed {
                self.left.clear();
                self.right.clear();
                self.idle = true;
                self.quiet = 0;
            }
        } else {
            self.quiet = 0;
        }
    }
}

/// Centre of the chorus taps' delay, seconds.
const CHORUS_DELAY: f32 = 0.010;
/// How far the taps sweep each way, seconds.
const CHORUS_DEPTH: f32 = 0.002;
/// Sweep rate, Hz.
const CHORUS_RATE: f32 = 0.5;
/// Level of each tap relative to the send.
const CHORUS_WET: f32 = 0.7;

/// Stereo chorus fed from a mono send (see the module documentation).
#[derive(Debug, Clone)]
pub struct Chorus {
    /// Delay line (allocated once), written at `pos`.
    line: Vec<f32>,
    pos: usize,
    /// The sweep as a unit phasor: left tap follows `sin`, right `cos`.
    sin: f32,
    cos: f32,
    /// The phasor's rotation per sample.
    step: (f32, f32),
    /// Delay centre and sweep, samples.
    delay: f32,
    depth: f32,
    /// True while nothing in the line is non-zero: `process` does nothing.
    idle: bool,
    /// Samples (at least) since the send was last non-zero.
    quiet: usize,
}

impl Chorus {
    /// A chorus for `sample_rate`; allocates its delay line.
    pub fn new(sample_rate: u32) -> Chorus {
        let fs = sample_rate.max(1) as f32;
        let (delay, depth) = (CHORUS_DELAY * fs, CHORUS_DEPTH * fs);
        let w = std::f32::consts::TAU * CHORUS_RATE / fs;
        Chorus {
            line: vec![0.0; (delay + depth) as usize + 3],
            pos: 0,
            sin: 0.0,
            cos: 1.0,
            step: (w.sin(), w.cos()),
            delay,
            depth,
            idle: true,
            quiet: 0,
        }
    }

    /// True when nothing sent in the last delay-line length is left.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Add the chorus of `send` (mono) to `left` and `right`.
    /// `send_active` false means `send` is all zeros.
    pub fn process(
        &mut self,
        send: &[f32],
        send_active: bool,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        if self.idle && !send_active {
            return;
        }
        let len = self.line.len();
        let (ws, wc) = self.step;
        let mut any = false;
        for ((&s, l), r) in send.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            any |= s != 0.0;
            self.line[self.pos] = s;
            let tap = |line: &[f32], delay: f32| {
                // `delay` is at most len − 3: both reads are in the line.
                let whole = delay as usize;
                let frac = delay - whole as f32;
                let wrap = |k: usize| if k >= len { k - len } else { k };
                let i = wrap(self.pos + len - whole);
                let j = wrap(self.pos + len - whole - 1);
                line[i] + (line[j] - line[i]) * frac
            };
            *l += CHORUS_WET * tap(&self.line, self.delay + self.depth * self.sin);
            *r += CHORUS_WET * tap(&self.line, self.delay + self.depth * self.cos);
            let (sin, cos) = (self.sin, self.cos);
            self.sin = sin * wc + cos * ws;
            self.cos = cos * wc - sin * ws;
            self.pos = if self.pos + 1 == len { 0 } else { self.pos + 1 };
        }
        // Keep the phasor on the unit circle despite rounding.
        let norm = (self.sin * self.sin + self.cos * self.cos).sqrt();
        if norm.is_finite() && norm > 0.0 {
            self.sin /= norm;
            self.cos /= norm;
        } else {
            (self.sin, self.cos) = (0.0, 1.0);
        }
        if any {
            self.quiet = 0;
            self.idle = false;
        } else {
            // Once the line is as long ago, every sample in it is a zero.
            self.quiet = self.quiet.saturating_add(send.len());
            self.idle = self.quiet >= len;
        }
    }
}

/// Peak limiter plus soft clipper on the stereo output.
///
/// Two gain envelopes, the output taking the lower: a fast one that drops
/// at once to what keeps a peak at the threshold and recovers with a
/// 40 ms time constant (a transient costs a few milliseconds of
/// reduction), and a slow one that follows a reduction wanted for longer
/// (80 ms attack) and recovers over 300 ms, so a held loud chord gets one
/// steady gain instead of pumping on its peaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limiter {
    /// Fast envelope, ≤ 1.
    fast: f32,
    /// Slow envelope, ≤ 1.
    slow: f32,
    /// Per-sample release factor of the fast envelope toward 1.
    fast_release: f32,
    /// Per-sample attack factor of the slow envelope toward the wanted
    /// gain.
    slow_attack: f32,
    /// Per-sample release factor of the slow envelope toward 1.
    slow_release: f32,
}

/// Level the limiter holds peaks to (−0.9 dBFS), also the clipper's knee.
pub const THRESHOLD: f32 = 0.9;

impl Limiter {
    /// A limiter at `sample_rate`.
    pub fn new(sample_rate: u32) -> Limiter {
        let fs = sample_rate.max(1) as f32;
        let factor = |seconds: f32| 1.0 - (-1.0 / (seconds * fs)).exp();
        Limiter {
            fast: 1.0,
            slow: 1.0,
            fast_release: factor(0.04),
            slow_attack: factor(0.08),
            slow_release: factor(0.3),
        }
    }

    /// Current gain reduction factor (1 = none).
    #[cfg(test)]
    pub fn gain(&self) -> f32 {
        self.fast.min(self.slow)
    }

    /// Recover as over `frames` frames of silence.
    pub fn rest(&mut self, frames: usize) {
        // Recovered (as `process_block` snaps it): nothing moves.
        if self.fast == 1.0 && self.slow == 1.0 {
            return;
        }
        let n = frames.min(i32::MAX as usize) as i32;
        self.fast = 1.0 - (1.0 - self.fast) * (1.0 - self.fast_release).powi(n);
        self.slow = 1.0 - (1.0 - self.slow) * (1.0 - self.slow_release).powi(n);
        for envelope in [&mut self.fast, &mut self.slow] {
            if *envelope >= 1.0 - 1e-6 {
                *envelope = 1.0;
            }
        }
    }

    /// Limit a block: `out` gets the frames `left[i]`·`gain`,
    /// `right[i]`·`gain` interleaved, limited. A recovered limiter passes
    /// a block whose peaks stay at or below the threshold straight
    /// through: frame by frame it would not touch them either.
    pub fn process_block(&mut self, left: &[f32], right: &[f32], gain: f32, out: &mut [f32]) {
        // The recovery only approaches 1: the last millionth is inaudible
        // (−120 dB), and at exactly 1 the limiter is idle.
        for envelope in [&mut self.fast, &mut self.slow] {
            if *envelope >= 1.0 - 1e-6 {
                *envelope = 1.0;
            }
        }
        let frames = out.chunks_exact_mut(2).zip(left.iter().zip(right));
        if self.fast == 1.0 && self.slow == 1.0 {
            // No short-circuit, so the check vectorises; NaN fails it.
            let mut below = true;
            for side in [left, right] {
                for &x in side {
                    below &= (x * gain).abs() <= THRESHOLD;
                }
            }
            if below {
                for (frame, (&l, &r)) in frames {
                    frame[0] = l * gain;
                    frame[1] = r * gain;
                }
                return;
            }
        }
        for (frame, (&l, &r)) in frames {
            let (l, r) = self.process(l * gain, r * gain);
            frame[0] = l;
            frame[1] = r;
        }
    }

    /// Limit one stereo frame.
    #[inline(always)]
    pub fn process(&mut self, left: f32, right: f32) -> (f32, f32) {
        let peak = left.abs().max(right.abs());
        // The gain that keeps this frame at the threshold (1 if below).
        let wanted = if peak > THRESHOLD {
            THRESHOLD / peak
        } else {
            1.0
        };
        if wanted < self.fast {
            self.fast = wanted;
        }
        if wanted < self.slow {
            self.slow += (wanted - self.slow) * self.slow_attack;
        }
        let g = self.fast.min(self.slow);
        self.fast += (1.0 - self.fast) * self.fast_release;
        self.slow += (1.0 - self.slow) * self.slow_release;
        (soft_clip(left * g), soft_clip(right * g))
    }
}

/// Identity up to [`THRESHOLD`], then a smooth curve approaching ±1; NaN → 0.
#[inline(always)]
pub fn soft_clip(x: f32) -> f32 {
    let a = x.abs();
    if a <= THRESHOLD {
        x
    } else if a.is_nan() {
        0.0
    } else {
        let z = (a - THRESHOLD) * (1.0 / (1.0 - THRESHOLD));
        let y = THRESHOLD + (1.0 - THRESHOLD) * (z / (1.0 + z));
        // z/(1+z) rounds to 1 for huge z: keep strictly inside ±1.
        let y = y.min(0.999_999);
        if x < 0.0 {
            -y
        } else {
            y
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_clip_is_bounded_and_smooth() {
        assert_eq!(soft_clip(0.5), 0.5);
        assert_eq!(soft_clip(-0.9), -0.9);
        assert_eq!(soft_clip(f32::NAN), 0.0);
        for x in [0.95f32, 1.0, 2.0, 1e6, f32::MAX, f32::INFINITY] {
            let y = soft_clip(x);
            assert!(y > THRESHOLD && y < 1.0, "{x} -> {y}");
            assert_eq!(soft_clip(-x), -y);
        }
        // Continuous slope at the knee.
        let d = (soft_clip(THRESHOLD + 1e-3) - THRESHOLD) / 1e-3;
        assert!((d - 1.0).abs() < 0.02, "{d}");
    }

    #[test]
    fn limiter_holds_peaks_and_recovers() {
        let mut lim = Limiter::new(48_000);
        for i in 0..4800 {
            let x = 5.0 * (i as f32 * 0.05).sin();
            let (l, r) = lim.process(x, -x);
            assert!(l.abs() <= THRESHOLD + 1e-6 && r.abs() <= THRESHOLD + 1e-6);
        }
        for _ in 0..96_000 {
            lim.process(0.0, 0.0);
        }
        assert!(lim.gain() > 0.99, "{}", lim.gain());
    }

    #[test]
    fn limiter_rests_as_it_would_through_silence() {
        let mut through = Limiter::new(48_000);
        through.process(9.0, 9.0);
        let mut rested = through;
        for _ in 0..4_800 {
            through.process(0.0, 0.0);
        }
        rested.rest(4_800);
        assert!(
            through.gain() < 0.95,
            "still recovering: {}",
            through.gain()
        );
        assert!((rested.gain() - through.gain()).abs() < 1e-4);
    }

    #[test]
    fn chorus_sweeps_its_taps_apart_then_goes_idle() {
        // A click every 0.25 s for 2 s: where each echo lands on each side.
        let fs = 48_000;
        let mut chorus = Chorus::new(fs);
        assert!(chorus.is_idle());
        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
        for _ in 0..8 {
            let mut send = vec![0.0f32; 12_000];
            send[0] = 1.0;
            let (mut l, mut r) = (vec![0.0f32; 12_000], vec![0.0f32; 12_000]);
            for ((s, l), r) in send.chunks(32).zip(l.chunks_mut(32)).zip(r.chunks_mut(32)) {
                chorus.process(s, true, l, r);
            }
            // The echo's centre of mass, in milliseconds.
            let at = |x: &[f32]| {
                let (sum, weight) = x.iter().enumerate().fold((0.0, 0.0), |(s, w), (i, v)| {
                    (s + i as f32 * v.abs(), w + v.abs())
                });
                sum / weight / fs as f32 * 1000.0
            };
            lefts.push(at(&l));
            rights.push(at(&r));
        }
        let range = |x: &[f32]| {
            let lo = x.iter().cloned().fold(f32::MAX, f32::min);
            let hi = x.iter().cloned().fold(f32::MIN, f32::max);
            (lo, hi)
        };
        let ((l_lo, l_hi), (r_lo, r_hi)) = (range(&lefts), range(&rights));
        assert!(l_lo >= 7.9 && l_hi <= 12.1 && r_lo >= 7.9 && r_hi <= 12.1);
        assert!(
            l_hi - l_lo > 2.5 && r_hi - r_lo > 2.5,
            "{lefts:?} {rights:?}"
        );
        let apart = lefts.iter().zip(&rights).map(|(a, b)| (a - b).abs());
        assert!(apart.fold(0.0, f32::max) > 1.5, "{lefts:?} {rights:?}");
        // Nothing sent: idle once the line has emptied, adding nothing.
        let zeros = [0.0f32; 32];
        let (mut l, mut r) = ([0.0f32; 32], [0.0f32; 32]);
        chorus.process(&zeros, false, &mut l, &mut r);
        assert!(chorus.is_idle());
        l = [0.5; 32];
        chorus.process(&zeros, false, &mut l, &mut r);
        assert_eq!(l, [0.5; 32]);
    }

    #[test]
    fn reverb_tail_decays_then_goes_idle_with_exact_zeros() {
        let mut rev = Reverb::new(48_000);
        assert!(rev.is_idle());
        let mut send = [0.0f32; 32];
        send[0] = 1.0;
        let (mut l, mut r) = ([0.0f32; 32], [0.0f32; 32]);
        rev.process(&send, true, &mut l, &mut r, SILENCE);
        assert!(!rev.is_idle());
        let zeros = [0.0f32; 32];
        let mut tail_energy = 0.0;
        let mut blocks = 0;
        while !rev.is_idle() {
            l = [0.0; 32];
            r = [0.0; 32];
            rev.process(&zeros, false, &mut l, &mut r, SILENCE);
            tail_energy += l.iter().chain(&r).map(|x| x * x).sum::<f32>();
            assert!(l.iter().chain(&r).all(|x| x.is_finite()));
            blocks += 1;
            assert!(blocks < 48_000 * 20 / 32, "never went idle");
        }
        let secs = blocks as f32 * 32.0 / 48_000.0;
        assert!(tail_energy > 1e-3, "no tail");
        assert!(secs > 0.5 && secs < 8.0, "tail {secs} s");
        l = [1.0; 32];
        rev.process(&zeros, false, &mut l, &mut r, SILENCE);
        assert_eq!(l, [1.0; 32]);
    }
}
