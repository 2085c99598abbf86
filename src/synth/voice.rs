//! One voice: two oscillators → low-pass filter → amplitude envelope → pan.
//!
//! Per sample a voice runs its two oscillators (a vectorised loop per
//! block), the filter and four gain ramps (left, right, reverb and chorus
//! sends), four
//! voices side by side in SIMD lanes. Everything else (pitch from key, bend
//! and vibrato; envelopes; cutoff from envelope, velocity and key; channel
//! volume and pan; the steal fade) is computed once per control block and
//! turned into a phase increment, filter coefficients (only recomputed when
//! the cutoff changed) and gains ramped linearly across the block, so level
//! changes never step.
//!
//! Both oscillators start at the same (random) phase, so a strike sounds
//! the same every time; oscillator 1 can fade into oscillator 2 with the
//! filter envelope (the piano), and a tone can scale its decays by key.
//!
//! A stolen voice keeps sounding its old note while a 3 ms linear fade takes
//! it to zero, then restarts with the new note (whose identity it already
//! carries, so Note Off and the pedal find it in the meantime).

use super::envelope::{Adsr, AdsrCoefs, Envelope, Stage};
use super::filter::{Svf, Svf4, SvfCoefs, SvfCoefs4, F4};
use super::oscillator::{Oscillator, Pitch, Shape};
use super::preset::{Preset, Timbre};

/// Samples per control block: envelopes, pitch and cutoff are updated this
/// often (0.67 ms at 48 kHz).
pub const BLOCK: usize = 32;

/// One voice's share of a block in a group of four.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lane {
    /// Filter coefficients for the block.
    pub coefs: SvfCoefs,
    /// Filter state at the start of the block.
    pub filter: Svf,
    /// Left, right, reverb and chorus send gains before the first sample.
    pub gains: [f32; 4],
    /// Gain increments per sample.
    pub steps: [f32; 4],
}

impl Lane {
    /// True if the lane's left and right gains differ during the block
    /// (the voice is panned).
    pub fn off_centre(&self) -> bool {
        self.gains[0] != self.gains[1] || self.steps[0] != self.steps[1]
    }

    /// True if the lane feeds the reverb during the block.
    pub fn sends(&self) -> bool {
        self.gains[2] != 0.0 || self.steps[2] != 0.0
    }

    /// True if the lane feeds the chorus during the block.
    pub fn chorus_sends(&self) -> bool {
        self.gains[3] != 0.0 || self.steps[3] != 0.0
    }
}

/// The mix of one block, four partial sums per sample (summed at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    /// Left output.
    pub left: [F4; BLOCK],
    /// Right output.
    pub right: [F4; BLOCK],
    /// Both outputs: the voices whose left and right gains are equal
    /// (centred) are added once here instead of twice.
    pub centre: [F4; BLOCK],
    /// Reverb send.
    pub send: [F4; BLOCK],
    /// Chorus send.
    pub chorus: [F4; BLOCK],
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            left: [F4::ZERO; BLOCK],
            right: [F4::ZERO; BLOCK],
            centre: [F4::ZERO; BLOCK],
            send: [F4::ZERO; BLOCK],
            chorus: [F4::ZERO; BLOCK],
        }
    }
}

/// Filter four voices' oscillator blocks (`osc[lane]`, `n` samples) side by
/// side, apply their gain ramps and add them to `mix`, lane by lane.
/// Returns the filters' new states.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
pub fn filter_and_mix(
    lanes: &[Lane; 4],
    osc: &[[f32; BLOCK]; 4],
    n: usize,
    mix: &mut Mix,
) -> [Svf; 4] {
    let mut coefs = SvfCoefs4::default();
    let mut filter = Svf4::default();
    for (k, lane) in lanes.iter().enumerate() {
        coefs.set(k, &lane.coefs);
        filter.set(k, &lane.filter);
    }
    // Most voices are centred and send nothing to the reverb or chorus:
    // their ramps are then left out of the per-sample loop.
    let stereo = lanes.iter().any(Lane::off_centre);
    let send = lanes.iter().any(Lane::sends);
    let chorus = lanes.iter().any(Lane::chorus_sends);
    let (c, f) = (&coefs, &mut filter);
    match (stereo, send, chorus) {
        (false, false, false) => mix_lanes::<false, false, false>(lanes, osc, n, c, f, mix),
        (false, false, true) => mix_lanes::<false, false, true>(lanes, osc, n, c, f, mix),
        (false, true, false) => mix_lanes::<false, true, false>(lanes, osc, n, c, f, mix),
        (false, true, true) => mix_lanes::<false, true, true>(lanes, osc, n, c, f, mix),
        (true, false, false) => mix_lanes::<true, false, false>(lanes, osc, n, c, f, mix),
        (true, false, true) => mix_lanes::<true, false, true>(lanes, osc, n, c, f, mix),
        (true, true, false) => mix_lanes::<true, true, false>(lanes, osc, n, c, f, mix),
        (true, true, true) => mix_lanes::<true, true, true>(lanes, osc, n, c, f, mix),
    }
    [filter.get(0), filter.get(1), filter.get(2), filter.get(3)]
}

/// The per-sample loop of [`filter_and_mix`]: left and right apart or
/// (`STEREO` false) once into the centre, with or without the reverb and
/// chorus sends (inlined into each of its target versions).
#[inline(always)]
fn mix_lanes<const STEREO: bool, const SEND: bool, const CHORUS: bool>(
    lanes: &[Lane; 4],
    osc: &[[f32; BLOCK]; 4],
    n: usize,
    coefs: &SvfCoefs4,
    filter: &mut Svf4,
    mix: &mut Mix,
) {
    let [a, b, c, d] = lanes;
    let gain = |j: usize| F4::new([a.gains[j], b.gains[j], c.gains[j], d.gains[j]]);
    let step = |j: usize| F4::new([a.steps[j], b.steps[j], c.steps[j], d.steps[j]]);
    let (mut gl, mut gr, mut gs, mut gc) = (gain(0), gain(1), gain(2), gain(3));
    let (dl, dr, ds, dc) = (step(0), step(1), step(2), step(3));
    let mut sample = |i: usize, x: F4| {
        let y = filter.process(x, coefs);
        gl = gl + dl;
        if STEREO {
            gr = gr + dr;
            mix.left[i] = mix.left[i] + y * gl;
            mix.right[i] = mix.right[i] + y * gr;
        } else {
            mix.centre[i] = mix.centre[i] + y * gl;
        }
        if SEND {
            gs = gs + ds;
            mix.send[i] = mix.send[i] + y * gs;
        }
        if CHORUS {
            gc = gc + dc;
            mix.chorus[i] = mix.chorus[i] + y * gc;
        }
    };
    // Four samples at a time: the voices' blocks are read four samples
    // each and transposed to four samples of the four voices.
    let n = n.min(BLOCK);
    let whole = n - n % 4;
    for i in (0..whole).step_by(4) {
        let quad = |k: usize| [osc[k][i], osc[k][i + 1], osc[k][i + 2], osc[k][i + 3]];
        let xs = F4::columns([quad(0), quad(1), quad(2), quad(3)]);
        for (j, x) in xs.into_iter().enumerate() {
            sample(i + j, x);
        }
    }
    let [o0, o1, o2, o3] = osc.each_ref().map(|o| &o[whole..n]);
    let rest = o0.iter().zip(o1).zip(o2).zip(o3);
    for (j, (((&a, &b), &c), &d)) in rest.enumerate() {
        sample(whole + j, F4::new([a, b, c, d]));
    }
}

/// The amplitude and filter envelope coefficients for a voice playing
/// `key`: the tone's, or with its decays scaled by key (made at the first
/// block of a note and again if the panel changes the envelopes; kept in
/// `key_coefs`).
fn envelope_coefs<'a>(
    key_coefs: &'a mut Option<([Adsr; 2], [AdsrCoefs; 2])>,
    key: u8,
    tone: &'a Tone,
) -> [&'a AdsrCoefs; 2] {
    if tone.key_decay == 0.0 {
        return [&tone.amp, &tone.filter_env];
    }
    if !matches!(key_coefs, Some((made_from, _)) if *made_from == tone.adsr) {
        let octaves = (f32::from(key) - 60.0) / 12.0;
        let scale = (-tone.key_decay * octaves).exp2();
        let coefs = tone.adsr.map(|a| {
            let scaled = Adsr {
                decay: a.decay * scale,
                ..a
            };
            AdsrCoefs::new(&scaled, tone.sample_rate, BLOCK)
        });
        *key_coefs = Some((tone.adsr, coefs));
    }
    match &*key_coefs {
        Some((_, [amp, fenv])) => [amp, fenv],
        None => [&tone.amp, &tone.filter_env], // just filled
    }
}

/// A preset ready to play at one sample rate, after the panel controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Morph positions of oscillators 1 and 2 (0 sine … 3 square): where
    /// the engine's smoothed shapes head.
    pub morph: [f32; 2],
    /// Frequencies of oscillators 1 and 2 relative to the key: a detune
    /// is split around the key (see [`detune_ratios`]), so the voice is in
    /// tune.
    pub ratios: [f32; 2],
    /// Level of oscillator 2 relative to oscillator 1.
    pub osc2_level: f32,
    /// Amplitude envelope.
    pub amp: AdsrCoefs,
    /// Filter envelope.
    pub filter_env: AdsrCoefs,
    /// The amplitude and filter envelopes in seconds (for key scaling).
    pub adsr: [Adsr; 2],
    /// Decay times are multiplied by 2^(−`key_decay` × octaves above
    /// middle C).
    pub key_decay: f32,
    /// Share of oscillator 1 that fades with the filter envelope.
    pub osc1_fade: f32,
    /// Sample rate the coefficients are for.
    pub sample_rate: f32,
    /// Base cutoff (middle C, velocity 0, envelope 0).
    pub cutoff_hz: f32,
    /// Filter resonance.
    pub resonance: f32,
    /// Octaves of cutoff at full filter envelope.
    pub env_octaves: f32,
    /// Octaves of cutoff at velocity 127.
    pub velocity_octaves: f32,
    /// Cutoff key tracking.
    pub key_tracking: f32,
    /// Output scale.
    pub level: f32,
}

impl Tone {
    /// The tone of `timbre` at `sample_rate`.
    pub fn new(timbre: &Timbre, sample_rate: f32) -> Tone {
        let adsr = |a: &Adsr| AdsrCoefs::new(a, sample_rate, BLOCK);
        Tone {
            morph: timbre.shape,
            ratios: detune_ratios(timbre),
            osc2_level: timbre.osc2_level,
            amp: adsr(&timbre.amp),
            filter_env: adsr(&timbre.filter_env),
            adsr: [timbre.amp, timbre.filter_env],
            key_decay: timbre.key_decay,
            osc1_fade: timbre.osc1_fade.clamp(0.0, 1.0),
            sample_rate,
            cutoff_hz: timbre.cutoff_hz,
            resonance: timbre.resonance,
            env_octaves: timbre.env_octaves,
            velocity_octaves: timbre.velocity_octaves,
            key_tracking: timbre.key_tracking,
            level: timbre.level,
        }
    }
}

/// Amplitude of the fundamental of a waveform at morph position `p` (0
/// sine, 1 triangle, 2 saw, 3 square, crossfades in between: their
/// fundamentals are in phase, so they mix linearly).
fn fundamental(p: f32) -> f32 {
    const AMPLITUDE: [f32; 4] = [
        1.0,
        8.0 / (std::f32::consts::PI * std::f32::consts::PI),
        2.0 / std::f32::consts::PI,
        4.0 / std::f32::consts::PI,
    ];
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 3.0) };
    let i = (p as usize).min(2);
    let mix = p - i as f32;
    AMPLITUDE[i] * (1.0 - mix) + AMPLITUDE[i + 1] * mix
}

/// Frequency ratios of oscillators 1 and 2 to the key. An interval of an
/// octave or more (organ, bass) keeps oscillator 1 on the key. A detune
/// (under half an octave) is split around the key, weighted by the power
/// of the two fundamentals, so the power-weighted mean frequency (the
/// pitch the ear hears from a chorus) is the key's: equal oscillators go
/// ±half the detune.
pub fn detune_ratios(timbre: &Timbre) -> [f32; 2] {
    let cents = if timbre.osc2_cents.is_finite() {
        timbre.osc2_cents
    } else {
        0.0
    };
    let ratio = |c: f32| (c / 1200.0).exp2();
    if cents.abs() >= 600.0 {
        return [1.0, ratio(cents)];
    }
    let p1 = fundamental(timbre.shape[0]).powi(2);
    let p2 = (fundamental(timbre.shape[1]) * timbre.osc2_level).powi(2);
    let w2 = if p1 + p2 > 0.0 { p2 / (p1 + p2) } else { 0.5 };
    [ratio(-cents * w2), ratio(cents * (1.0 - w2))]
}

/// The engine-wide panel controls for one block, smoothed by the engine
/// so that a jump glides over a few milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelControl {
    /// Shapes of oscillators 1 and 2 at the block's start and end: the
    /// block crossfades between them sample by sample.
    pub shapes: [[Shape; 2]; 2],
    /// Octaves added to the cutoff (Knob 1 / CC 74).
    pub cutoff_octaves: f32,
    /// Added to the preset's resonance (CC 71).
    pub resonance: f32,
}

impl PanelControl {
    /// The controls at rest: `morph` positions, the preset's cutoff and
    /// resonance.
    pub fn steady(morph: [f32; 2]) -> PanelControl {
        let shape = morph.map(Shape::morph);
        PanelControl {
            shapes: [[shape[0]; 2], [shape[1]; 2]],
            cutoff_octaves: 0.0,
            resonance: 0.0,
        }
    }
}

/// What a voice needs from its channel for one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelControl {
    /// Semitones added to the key (pitch bend and vibrato).
    pub pitch_offset: f32,
    /// Channel volume × expression.
    pub gain: f32,
    /// Left and right pan gains (1, 1 at centre).
    pub pan: [f32; 2],
    /// Reverb send level.
    pub send: f32,
    /// Chorus send level.
    pub chorus: f32,
}

/// The note a voice plays (or will play once its steal fade ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// MIDI channel 0-15.
    pub channel: u8,
    /// MIDI key 0-127.
    pub key: u8,
    /// Note On velocity 1-127.
    pub velocity: u8,
    /// The preset it sounds with.
    pub preset: Preset,
    /// Note On counter value when it started: lower is older.
    pub age: u64,
}

/// One voice of the pool.
#[derive(Debug, Clone)]
pub struct Voice {
    /// Sounding (or fading out before a restart).
    pub active: bool,
    /// The note (the new one while a steal fade runs).
    pub note: Note,
    /// The note being heard (the old one while a steal fade runs).
    sound: Note,
    /// The key is down.
    pub gate: bool,
    /// The key is up but the sustain pedal holds the note.
    pub sustained: bool,
    /// Fading out, then restarting with `note`.
    pending: bool,
    /// Fade multiplier, 1 → 0 while stealing or killing.
    fade: f32,
    /// Fade decrement per sample (0: not fading).
    fade_step: f32,
    /// Start phase of both oscillators for the next (re)start.
    phase: u32,
    /// Level from velocity.
    velocity_gain: f32,
    osc: [Oscillator; 2],
    pitch: [Pitch; 2],
    /// Key + offset the pitches were computed for (NaN: none yet).
    pitch_semis: f32,
    /// Oscillator ratios the pitches were computed for.
    pitch_ratios: [f32; 2],
    env: Envelope,
    filter_env: Envelope,
    /// This key's envelope coefficients (amplitude, filter) when the tone
    /// scales its decays by key, and the envelopes they were made from.
    key_coefs: Option<([Adsr; 2], [AdsrCoefs; 2])>,
    /// Gain of oscillator 1 at the end of the last block (NaN: none yet).
    osc1_gain: f32,
    filter: Svf,
    coefs: SvfCoefs,
    /// Cutoff octave offset `cutoff_scale` was computed for (NaN: none).
    cutoff_octaves: f32,
    /// `2^cutoff_octaves`.
    cutoff_scale: f32,
    /// Cutoff and resonance `coefs` were computed for.
    coefs_for: (f32, f32),
    /// Left, right, reverb and chorus gains reached at the end of the last
    /// block.
    gains: [f32; 4],
}

impl Default for Voice {
    fn default() -> Self {
        let note = Note {
            channel: 0,
            key: 0,
            velocity: 0,
            preset: Preset::Piano,
            age: 0,
        };
        Voice {
            active: false,
            note,
            sound: note,
            gate: false,
            sustained: false,
            pending: false,
            fade: 1.0,
            fade_step: 0.0,
            phase: 0,
            velocity_gain: 0.0,
            osc: [Oscillator::default(); 2],
            pitch: [Pitch::new(0.0, 1.0); 2],
            pitch_semis: f32::NAN,
            pitch_ratios: [1.0; 2],
            env: Envelope::default(),
            filter_env: Envelope::default(),
            key_coefs: None,
            osc1_gain: f32::NAN,
            filter: Svf::default(),
            coefs: SvfCoefs::lowpass(1000.0, 0.0, 48_000.0),
            cutoff_octaves: f32::NAN,
            cutoff_scale: 1.0,
            coefs_for: (f32::NAN, f32::NAN),
            gains: [0.0; 4],
        }
    }
}

impl Voice {
    /// Start `note` now, from silence, both oscillators at `phase`.
    pub fn start(&mut self, note: Note, phase: u32) {
        self.note = note;
        self.phase = phase;
        self.restart();
    }

    /// (Re)initialise everything for `self.note` at `self.phase`.
    fn restart(&mut self) {
        self.active = true;
        self.sound = self.note;
        self.gate = true;
        self.sustained = false;
        self.pending = false;
        self.fade = 1.0;
        self.fade_step = 0.0;
        let v = f32::from(self.note.velocity.min(127)) / 127.0;
        self.velocity_gain = v * v;
        // Both oscillators start together: tuned (nearly) alike, they add
        // the same way on every strike instead of adding or cancelling by
        // chance. Only the common start phase is random, so the voices of
        // a chord do not peak together.
        self.osc = [Oscillator::new(self.phase); 2];
        self.pitch_semis = f32::NAN;
        self.env.reset();
        self.env.gate_on();
        self.filter_env.reset();
        self.filter_env.gate_on();
        self.key_coefs = None;
        self.osc1_gain = f32::NAN;
        self.filter.reset();
        self.cutoff_octaves = f32::NAN;
        self.coefs_for = (f32::NAN, f32::NAN);
        self.gains = [0.0; 4];
    }

    /// The same key struck again: new velocity, attack from the current
    /// level (no click).
    pub fn retrigger(&mut self, velocity: u8, age: u64) {
        self.note.velocity = velocity;
        self.note.age = age;
        self.gate = true;
        self.sustained = false;
        if !self.pending {
            self.sound = self.note;
            let v = f32::from(velocity.min(127)) / 127.0;
            self.velocity_gain = v * v;
            self.env.gate_on();
            self.filter_env.gate_on();
        }
    }

    /// Key released; `pedal` true if the sustain pedal is down.
    pub fn key_up(&mut self, pedal: bool) {
        self.gate = false;
        if pedal {
            self.sustained = true;
        } else {
            self.sustained = false;
            self.release_envelopes();
        }
    }

    /// The sustain pedal lifted: release if only the pedal held the note.
    pub fn pedal_up(&mut self) {
        if self.sustained {
            self.sustained = false;
            if !self.gate {
                self.release_envelopes();
            }
        }
    }

    /// Release regardless of key and pedal.
    pub fn release_all(&mut self) {
        self.gate = false;
        self.sustained = false;
        self.release_envelopes();
    }

    fn release_envelopes(&mut self) {
        if !self.pending {
            self.env.gate_off();
            self.filter_env.gate_off();
        }
    }

    /// Fade out over `fade_step`⁻¹ samples, then play `note`.
    pub fn steal(&mut self, note: Note, phase: u32, fade_step: f32) {
        self.note = note;
        self.phase = phase;
        self.pending = true;
        self.gate = true;
        self.sustained = false;
        self.fade_step = self.fade_step.max(fade_step);
    }

    /// Fade out over `fade_step`⁻¹ samples and stop (All Sound Off).
    pub fn kill(&mut self, fade_step: f32) {
        self.pending = false;
        self.gate = false;
        self.sustained = false;
        self.fade_step = self.fade_step.max(fade_step);
    }

    /// How willing the voice is to be stolen: lower first. Fading out, then
    /// released (envelope in its release), then held by the pedal only, then
    /// keys down, last voices already waiting to restart.
    pub fn steal_rank(&self) -> (u8, u64) {
        let class = if self.pending {
            4
        } else if self.fade_step > 0.0 {
            0
        } else if !self.gate && !self.sustained {
            1
        } else if self.sustained {
            2
        } else {
            3
        };
        (class, self.note.age)
    }

    /// True while this voice answers to `channel`/`key` (sounding it, or
    /// about to after a steal fade; not when only fading out).
    pub fn plays(&self, channel: u8, key: u8) -> bool {
        self.active
            && self.note.channel == channel
            && self.note.key == key
            && (self.pending || self.fade_step == 0.0)
    }

    /// Start a block of `n` (≤ [`BLOCK`]) samples: update pitch,
    /// envelopes, cutoff and gains, and write the oscillators into `osc`.
    /// `tone` and `ch` belong to the note being heard ([`Voice::sound`]).
    /// The returned lane goes through [`filter_and_mix`], whose new filter
    /// state comes back to [`Voice::end_block`].
    pub fn begin_block(
        &mut self,
        tone: &Tone,
        panel: &PanelControl,
        ch: &ChannelControl,
        sample_rate: f32,
        n: usize,
        osc: &mut [f32; BLOCK],
    ) -> Lane {
        let n = n.clamp(1, BLOCK);
        let sound = self.sound;
        // Pitch, only when key + bend + vibrato moved.
        let semis = f32::from(sound.key) + ch.pitch_offset;
        if semis != self.pitch_semis || tone.ratios != self.pitch_ratios {
            self.pitch_semis = semis;
            self.pitch_ratios = tone.ratios;
            let f1 = 440.0 * ((semis - 69.0) * (1.0 / 12.0)).exp2();
            self.pitch = [
                Pitch::new(f1 * tone.ratios[0], sample_rate),
                Pitch::new(f1 * tone.ratios[1], sample_rate),
            ];
        }
        // Envelopes and fade.
        let [amp_coefs, fenv_coefs] = envelope_coefs(&mut self.key_coefs, self.sound.key, tone);
        let amp = self.env.advance(n, amp_coefs);
        let fenv = self.filter_env.advance(n, fenv_coefs);
        if self.fade_step > 0.0 {
            self.fade = (self.fade - self.fade_step * n as f32).max(0.0);
        }
        // Cutoff, only when it moved.
        let velocity = f32::from(sound.velocity.min(127)) * (1.0 / 127.0);
        let octaves = tone.env_octaves * fenv
            + panel.cutoff_octaves
            + tone.velocity_octaves * velocity
            + tone.key_tracking * (f32::from(sound.key) - 60.0) * (1.0 / 12.0);
        if octaves != self.cutoff_octaves {
            self.cutoff_octaves = octaves;
            self.cutoff_scale = octaves.exp2();
        }
        let cutoff = tone.cutoff_hz * self.cutoff_scale;
        let resonance = tone.resonance + panel.resonance;
        if (cutoff, resonance) != self.coefs_for {
            self.coefs_for = (cutoff, resonance);
            self.coefs = SvfCoefs::lowpass(cutoff, resonance, sample_rate);
        }
        // Gains at the end of the block, ramped to from the last block's.
        let level = amp * self.fade * self.velocity_gain * tone.level * ch.gain;
        let end = [
            level * ch.pan[0],
            level * ch.pan[1],
            level * ch.send,
            level * ch.chorus,
        ];
        let step = 1.0 / n as f32;
        let start = self.gains;
        self.gains = end;

        osc.fill(0.0);
        let [o1, o2] = &mut self.osc;
        let osc1_gain = 1.0 - tone.osc1_fade * (1.0 - fenv);
        let osc1_from = if self.osc1_gain.is_nan() {
            osc1_gain
        } else {
            self.osc1_gain
        };
        self.osc1_gain = osc1_gain;
        let [[from1, to1], [from2, to2]] = &panel.shapes;
        o1.add_block(&self.pitch[0], from1, to1, [osc1_from, osc1_gain], osc, n);
        if tone.osc2_level != 0.0 {
            let level = [tone.osc2_level; 2];
            o2.add_block(&self.pitch[1], from2, to2, level, osc, n);
        }
        Lane {
            coefs: self.coefs,
            filter: self.filter,
            gains: start,
            steps: [
                (end[0] - start[0]) * step,
                (end[1] - start[1]) * step,
                (end[2] - start[2]) * step,
                (end[3] - start[3]) * step,
            ],
        }
    }

    /// Finish the block with the filter's new state: end the note, or
    /// restart after a steal fade.
    pub fn end_block(&mut self, mut filter: Svf) {
        filter.flush_denormals();
        self.filter = filter;
        let faded = self.fade_step > 0.0 && self.fade <= 0.0;
        let silent = self.env.stage() == Stage::Idle;
        if faded || silent {
            if self.pending && (self.gate || self.sustained) {
                self.restart();
            } else {
                self.active = false;
            }
        }
    }

    /// The note being heard: the old one while a steal fade runs (its
    /// preset and channel choose the tone and controls to render with).
    pub fn sound(&self) -> &Note {
        &self.sound
    }
}
