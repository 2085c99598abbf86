//! Master effects: a Freeverb-style reverb and the output limiter.
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
        let n = frames.min(i32::MAX as usize) as i32;
        self.fast = 1.0 - (1.0 - self.fast) * (1.0 - self.fast_release).powi(n);
        self.slow = 1.0 - (1.0 - self.slow) * (1.0 - self.slow_release).powi(n);
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
