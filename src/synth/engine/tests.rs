//! Engine tests: each renders audio and checks something audible.

use super::*;

const FS: u32 = 48_000;

fn engine_with(preset: Preset, panel: PanelMap) -> Engine {
    Engine::new(
        FS,
        EngineConfig {
            preset,
            panel,
            ..EngineConfig::default()
        },
    )
}

fn engine(preset: Preset) -> Engine {
    engine_with(preset, PanelMap::DeepComposer)
}

/// An engine playing a pure waveform (0 sine … 3 square) from one
/// oscillator, open filter, organ envelope (full sustain, 60 ms release).
fn pure(shape: f32) -> Engine {
    let mut e = engine(Preset::Organ);
    e.set_test_shape(shape);
    e
}

fn on(e: &mut Engine, key: u8, velocity: u8) {
    e.handle(SynthEvent::NoteOn {
        channel: 0,
        key,
        velocity,
    });
}

fn off(e: &mut Engine, key: u8) {
    e.handle(SynthEvent::NoteOff { channel: 0, key });
}

fn cc(e: &mut Engine, controller: u8, value: u8) {
    e.handle(SynthEvent::Control {
        channel: 0,
        controller,
        value,
    });
}

/// Render `secs` seconds, in uneven buffers (100 frames) to exercise
/// partial control blocks; interleaved stereo.
fn render(e: &mut Engine, secs: f32) -> Vec<f32> {
    let frames = (secs * FS as f32) as usize;
    let mut out = vec![f32::NAN; frames * 2];
    for chunk in out.chunks_mut(200) {
        e.render(chunk);
    }
    out
}

fn left(x: &[f32]) -> Vec<f32> {
    x.iter().step_by(2).copied().collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn db(x: f32) -> f32 {
    20.0 * x.log10()
}

/// Largest sample-to-sample step of a mono signal.
fn max_jump(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
}

/// Frequency from rising zero crossings (linearly interpolated), Hz.
fn frequency(x: &[f32]) -> f64 {
    let mut crossings = Vec::new();
    for (i, w) in x.windows(2).enumerate() {
        if w[0] < 0.0 && w[1] >= 0.0 {
            let frac = f64::from(-w[0]) / f64::from(w[1] - w[0]);
            crossings.push(i as f64 + frac);
        }
    }
    assert!(crossings.len() > 10, "no periodic signal");
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * f64::from(FS) / span
}

/// Pitch of `key` rendered as a sine, over 0.5 s after the attack.
fn pitch_of(e: &mut Engine, key: u8) -> f64 {
    on(e, key, 100);
    render(e, 0.05);
    frequency(&left(&render(e, 0.5)))
}

fn key_hz(key: f64) -> f64 {
    440.0 * ((key - 69.0) / 12.0).exp2()
}

fn assert_close(measured: f64, expected: f64, what: &str) {
    let err = (measured / expected - 1.0).abs();
    assert!(
        err < 0.005,
        "{what}: {measured:.3} Hz, expected {expected:.3} Hz ({:.3} %)",
        err * 100.0
    );
}

#[test]
fn pitch_of_low_middle_and_high_notes() {
    for key in [69u8, 33, 105, 21, 120] {
        let measured = pitch_of(&mut pure(0.0), key);
        assert_close(measured, key_hz(f64::from(key)), &format!("key {key}"));
    }
    // A band-limited saw rises through zero once per period too.
    let measured = pitch_of(&mut pure(2.0), 69);
    assert_close(measured, 440.0, "saw A4");
}

#[test]
fn pitch_bend_shifts_by_the_range() {
    let mut e = pure(0.0);
    e.handle(SynthEvent::PitchBend {
        channel: 0,
        value: 16383,
    });
    assert_close(
        pitch_of(&mut e, 69),
        440.0 * (2.0f64 / 12.0).exp2(),
        "bend up",
    );

    let mut e = pure(0.0);
    e.handle(SynthEvent::PitchBend {
        channel: 0,
        value: 0,
    });
    assert_close(
        pitch_of(&mut e, 69),
        440.0 * (-2.0f64 / 12.0).exp2(),
        "bend down",
    );

    // While sounding, with a 12-semitone range: an octave up.
    let mut e = Engine::new(
        FS,
        EngineConfig {
            preset: Preset::Organ,
            bend_range_semitones: 12.0,
            ..EngineConfig::default()
        },
    );
    e.set_test_shape(0.0);
    on(&mut e, 57, 100);
    render(&mut e, 0.1);
    e.handle(SynthEvent::PitchBend {
        channel: 0,
        value: 16383,
    });
    render(&mut e, 0.01);
    assert_close(frequency(&left(&render(&mut e, 0.5))), 440.0, "octave bend");
}

#[test]
fn mod_wheel_adds_vibrato_of_about_50_cents() {
    let mut e = pure(0.0);
    cc(&mut e, 1, 127);
    on(&mut e, 69, 100);
    render(&mut e, 0.05);
    let x = left(&render(&mut e, 1.0));
    // Period-by-period frequency.
    let mut crossings = Vec::new();
    for (i, w) in x.windows(2).enumerate() {
        if w[0] < 0.0 && w[1] >= 0.0 {
            crossings.push(i as f64 + f64::from(-w[0]) / f64::from(w[1] - w[0]));
        }
    }
    let freqs: Vec<f64> = crossings
        .windows(2)
        .map(|w| f64::from(FS) / (w[1] - w[0]))
        .collect();
    let hi = freqs.iter().cloned().fold(0.0, f64::max);
    let lo = freqs.iter().cloned().fold(f64::MAX, f64::min);
    let cents = |f: f64| 1200.0 * (f / 440.0).log2();
    assert!(cents(hi) > 40.0 && cents(hi) < 60.0, "up {}", cents(hi));
    assert!(cents(lo) < -40.0 && cents(lo) > -60.0, "down {}", cents(lo));
    // The average stays on pitch.
    assert_close(frequency(&x), 440.0, "vibrato centre");
}

#[test]
fn velocity_changes_level() {
    for preset in Preset::ALL {
        let level = |velocity| {
            let mut e = engine(preset);
            on(&mut e, 60, velocity);
            rms(&render(&mut e, 0.8))
        };
        let (soft, medium, hard) = (level(30), level(100), level(127));
        assert!(
            soft < medium && medium < hard && soft * 4.0 < hard,
            "{preset}: {soft} {medium} {hard}"
        );
    }
}

#[test]
fn single_note_loudness_is_sensible() {
    for preset in Preset::ALL {
        for key in [36u8, 60, 84] {
            let mut e = engine(preset);
            on(&mut e, key, 100);
            let p = db(peak(&render(&mut e, 1.5)));
            eprintln!("{preset} key {key}: peak {p:.1} dBFS");
            assert!(
                (-24.0..=-12.0).contains(&p),
                "{preset} key {key}: {p:.1} dBFS"
            );
        }
    }
}

#[test]
fn sustain_pedal_holds_released_notes_until_it_lifts() {
    let mut e = engine(Preset::Organ);
    on(&mut e, 60, 100);
    render(&mut e, 0.3);
    let held = rms(&render(&mut e, 0.2));
    cc(&mut e, 64, 127);
    off(&mut e, 60);
    render(&mut e, 0.5);
    let pedalled = rms(&render(&mut e, 0.2));
    assert!(
        (pedalled / held - 1.0).abs() < 0.05,
        "held {held}, pedalled {pedalled}"
    );
    assert_eq!(e.active_voices(), 1);
    cc(&mut e, 64, 0);
    render(&mut e, 0.06 + 0.01); // organ release 60 ms + one block
    assert!(e.is_silent());
    assert!(render(&mut e, 0.2).iter().all(|&x| x == 0.0));
}

#[test]
fn restriking_a_pedalled_key_retriggers_it_in_the_same_voice() {
    let mut e = engine(Preset::Piano);
    cc(&mut e, 64, 127);
    on(&mut e, 60, 100);
    render(&mut e, 0.1);
    off(&mut e, 60);
    render(&mut e, 1.5);
    let decayed = rms(&render(&mut e, 0.1));
    on(&mut e, 60, 100);
    let restruck = rms(&render(&mut e, 0.1));
    assert!(restruck > 2.0 * decayed, "{decayed} -> {restruck}");
    assert_eq!(e.active_voices(), 1);
    // Re-striking while the key is still down reuses the voice too.
    on(&mut e, 60, 80);
    assert_eq!(e.active_voices(), 1);
}

#[test]
fn chord_of_32_notes_at_full_velocity_never_clips() {
    for panel in [PanelMap::DeepComposer, PanelMap::GeneralMidi] {
        for preset in Preset::ALL {
            let mut e = engine_with(preset, panel);
            cc(&mut e, 91, 127);
            cc(&mut e, 7, 127);
            for key in 41..73 {
                on(&mut e, key, 127);
            }
            assert_eq!(e.active_voices(), 32);
            let mut x = render(&mut e, 1.5);
            for key in 41..73 {
                off(&mut e, key);
            }
            x.extend(render(&mut e, 2.0));
            assert!(x.iter().all(|v| v.is_finite()), "{preset}: NaN");
            let p = peak(&x);
            eprintln!("{panel:?} {preset}: 32-note chord peak {:.2} dBFS", db(p));
            assert!(p <= 1.0, "{preset}: peak {p}");
        }
    }
}

#[test]
fn silence_after_release() {
    for preset in Preset::ALL {
        let release = preset.timbre().amp.release;
        let mut e = engine(preset);
        for key in [48, 60, 67] {
            on(&mut e, key, 127);
        }
        render(&mut e, 0.6);
        for key in [48, 60, 67] {
            off(&mut e, key);
        }
        // Release time plus one control block.
        render(&mut e, release + 32.0 / FS as f32);
        assert!(e.is_silent(), "{preset}: {} voices", e.active_voices());
        assert!(render(&mut e, 0.5).iter().all(|&x| x == 0.0), "{preset}");
    }
}

#[test]
fn reverb_tail_ends_in_exact_silence() {
    let mut e = engine(Preset::Pluck);
    cc(&mut e, 91, 64);
    on(&mut e, 60, 127);
    render(&mut e, 0.3);
    off(&mut e, 60);
    let mut secs = 0.0;
    while !e.is_silent() {
        let x = render(&mut e, 0.1);
        secs += 0.1;
        assert!(secs < 8.0, "tail never ended");
        if e.active_voices() == 0 && secs > 0.5 {
            // The tail keeps decaying.
            assert!(peak(&x) < 0.05);
        }
    }
    eprintln!("reverb tail: silent {secs:.1} s after note off");
    assert!(render(&mut e, 0.5).iter().all(|&x| x == 0.0));
}

#[test]
fn stealing_does_not_click() {
    // Sines, so the normal sample-to-sample step is small and a click (a
    // voice cut at a non-zero value) stands out. The 10 oldest notes are loud
    // low ones: those get stolen.
    let mut e = pure(0.0);
    let loud: Vec<u8> = (36..46).collect();
    for &key in &loud {
        on(&mut e, key, 110);
    }
    for key in 46..100 {
        on(&mut e, key, 12);
    }
    assert_eq!(e.active_voices(), 64);
    let normal = left(&render(&mut e, 0.3));
    let normal_jump = max_jump(&normal[4800..]);

    for key in 100..110 {
        on(&mut e, key, 12);
    }
    let stealing = left(&render(&mut e, 0.1));
    let steal_jump = max_jump(&stealing);
    for (i, w) in stealing.windows(2).enumerate() {
        if (w[1] - w[0]).abs() > 0.05 {
            eprintln!("jump at {i}: {:?}", &stealing[i.saturating_sub(3)..i + 4]);
            break;
        }
    }
    assert_eq!(e.active_voices(), 64);
    for v in &e.voices {
        assert!(!loud.contains(&v.note.key), "loud key {} kept", v.note.key);
    }

    // What a hard cut would add: up to one loud voice's peak per voice.
    let mut single = pure(0.0);
    on(&mut single, 36, 110);
    let voice_peak = peak(&left(&render(&mut single, 0.2)));
    eprintln!(
        "max step: normal {normal_jump:.5}, stealing {steal_jump:.5}, one loud voice's peak {voice_peak:.5}"
    );
    // A 3 ms fade adds at most peak/144 per sample per stolen voice; the
    // natural step of the loud 65–110 Hz sines is about the same size, so
    // twice the normal step bounds a click-free steal, while a single hard
    // cut would jump by up to a voice's peak, far above that.
    let threshold = 2.0 * normal_jump;
    assert!(threshold < 0.5 * voice_peak, "test too weak");
    assert!(steal_jump <= threshold, "{steal_jump} > {threshold}");
}

#[test]
fn stealing_prefers_released_voices_then_the_oldest() {
    let mut e = engine(Preset::Pad);
    for key in 20..84 {
        on(&mut e, key, 100);
    }
    render(&mut e, 0.1);
    off(&mut e, 50); // pad release 1.5 s: still sounding
    render(&mut e, 0.01);
    on(&mut e, 100, 100);
    let keys: Vec<u8> = e.voices.iter().map(|v| v.note.key).collect();
    assert!(!keys.contains(&50) && keys.contains(&20) && keys.contains(&100));
    on(&mut e, 101, 100);
    let keys: Vec<u8> = e.voices.iter().map(|v| v.note.key).collect();
    assert!(!keys.contains(&20) && keys.contains(&101));
    // 100 more notes, far beyond the pool: still 64 voices, nothing breaks.
    for key in 0..100 {
        on(&mut e, key, 90);
    }
    let x = render(&mut e, 0.2);
    assert_eq!(e.active_voices(), Engine::MAX_VOICES);
    assert!(x.iter().all(|v| v.is_finite() && v.abs() < 1.0));
}

/// Energy above about 2 kHz (two 2nd-order Butterworth high-passes).
fn energy_above_2k(x: &[f32]) -> f32 {
    let w = std::f32::consts::TAU * 2000.0 / FS as f32;
    let alpha = w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
    let (c, a0) = (w.cos(), 1.0 + alpha);
    let b = [(1.0 + c) / 2.0 / a0, -(1.0 + c) / a0, (1.0 + c) / 2.0 / a0];
    let a = [-2.0 * c / a0, (1.0 - alpha) / a0];
    let mut y: Vec<f32> = x.to_vec();
    for _ in 0..2 {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in y.iter_mut() {
            let out = b[0] * *v + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = out;
            *v = out;
        }
    }
    y.iter().map(|v| v * v).sum()
}

#[test]
fn deepcomposer_knob_1_sets_brightness() {
    for preset in [Preset::Pad, Preset::Lead, Preset::Piano] {
        let bright = |knob| {
            let mut e = engine(preset);
            cc(&mut e, 21, knob);
            on(&mut e, 48, 100);
            energy_above_2k(&left(&render(&mut e, 1.0)))
        };
        let (down, centre, up) = (bright(0), bright(64), bright(127));
        eprintln!("{preset}: above 2 kHz knob 0 {down:.3e}, 64 {centre:.3e}, 127 {up:.3e}");
        assert!(down * 10.0 < centre && centre < up, "{preset}");
    }
    // In General MIDI mode CC 21 does nothing and CC 74 is the cutoff.
    let bright = |controller| {
        let mut e = engine_with(Preset::Lead, PanelMap::GeneralMidi);
        cc(&mut e, controller, 0);
        on(&mut e, 48, 100);
        energy_above_2k(&left(&render(&mut e, 1.0)))
    };
    assert!(bright(74) * 10.0 < bright(21));
}

#[test]
fn deepcomposer_encoder_morphs_the_waveform() {
    // Sine → square: more energy above 2 kHz, same pitch.
    let brightness = |value| {
        let mut e = engine(Preset::Organ);
        cc(&mut e, 10, value);
        on(&mut e, 48, 100);
        let x = left(&render(&mut e, 0.5));
        energy_above_2k(&x) / x.iter().map(|v| v * v).sum::<f32>()
    };
    let (sine, saw, square) = (brightness(0), brightness(85), brightness(127));
    assert!(
        sine * 100.0 < saw && sine * 100.0 < square,
        "{sine} {saw} {square}"
    );
    // Left at pan neutral: both channels equal (the encoder is not pan).
    let mut e = engine(Preset::Organ);
    cc(&mut e, 10, 0);
    on(&mut e, 60, 100);
    let x = render(&mut e, 0.2);
    assert!(x.chunks(2).all(|f| f[0] == f[1]));
}

#[test]
fn deepcomposer_knobs_2_and_3_set_attack_and_release() {
    let attack_rms = |knob| {
        let mut e = engine(Preset::Organ);
        cc(&mut e, 22, knob);
        on(&mut e, 60, 100);
        rms(&render(&mut e, 0.02))
    };
    assert!(attack_rms(127) * 3.0 < attack_rms(64));
    let release_tail = |knob| {
        let mut e = engine(Preset::Organ);
        cc(&mut e, 23, knob);
        on(&mut e, 60, 100);
        render(&mut e, 0.2);
        off(&mut e, 60);
        render(&mut e, 0.1);
        rms(&render(&mut e, 0.1))
    };
    assert_eq!(release_tail(64), 0.0); // 60 ms release: gone
    assert!(release_tail(127) > 0.01); // ~3.6 s release
}

#[test]
fn deepcomposer_reverb_button_toggles_the_tail() {
    let tail = |value| {
        let mut e = engine(Preset::Organ);
        cc(&mut e, 91, value);
        on(&mut e, 60, 100);
        render(&mut e, 0.3);
        off(&mut e, 60);
        render(&mut e, 0.1); // organ release 60 ms: the voice is gone
        assert_eq!(e.active_voices(), 0);
        rms(&render(&mut e, 0.3))
    };
    let on_tail = tail(64);
    eprintln!("reverb tail rms {:.1} dBFS", db(on_tail));
    assert!(on_tail > 1e-3, "no tail: {on_tail}");
    assert_eq!(tail(0), 0.0);
    assert_eq!(tail(63), 0.0);
    // Switching off keeps the running tail (no cut), but new notes are dry.
    let mut e = engine(Preset::Organ);
    cc(&mut e, 91, 64);
    on(&mut e, 60, 100);
    render(&mut e, 0.3);
    off(&mut e, 60);
    cc(&mut e, 91, 0);
    render(&mut e, 0.1);
    assert!(rms(&render(&mut e, 0.1)) > 1e-3);
}

#[test]
fn general_midi_pan_and_send() {
    let mut e = engine_with(Preset::Organ, PanelMap::GeneralMidi);
    cc(&mut e, 10, 0);
    on(&mut e, 60, 100);
    let x = render(&mut e, 0.3);
    let l = rms(&left(&x));
    let r = rms(&left(&x[1..]));
    assert!(r < l * 1e-3, "left {l}, right {r}");
    // GM CC 91 is a send level: 127 gives more tail than 20.
    let tail = |value| {
        let mut e = engine_with(Preset::Organ, PanelMap::GeneralMidi);
        cc(&mut e, 91, value);
        on(&mut e, 60, 100);
        render(&mut e, 0.3);
        off(&mut e, 60);
        render(&mut e, 0.1);
        rms(&render(&mut e, 0.3))
    };
    let (low, high) = (tail(20), tail(127));
    assert!(low > 0.0 && high > 3.0 * low);
    // GM CC 71 resonance: a peak at the cutoff raises the level.
    let level = |value| {
        let mut e = engine_with(Preset::Bass, PanelMap::GeneralMidi);
        cc(&mut e, 71, value);
        on(&mut e, 36, 100);
        rms(&render(&mut e, 0.5))
    };
    assert!(level(127) > level(0));
}

#[test]
fn volume_expression_and_reset_controllers() {
    let level = |events: &[(u8, u8)]| {
        let mut e = engine(Preset::Organ);
        for &(c, v) in events {
            cc(&mut e, c, v);
        }
        on(&mut e, 60, 100);
        rms(&render(&mut e, 0.3))
    };
    let normal = level(&[]);
    assert_eq!(level(&[(7, 0)]), 0.0);
    assert!(level(&[(7, 127)]) > normal * 1.4);
    assert!(level(&[(11, 64)]) < normal * 0.3);
    assert!((level(&[(11, 64), (121, 0)]) / normal - 1.0).abs() < 0.02);
    // CC 121 centres the bend and lifts the pedal.
    let mut e = pure(0.0);
    e.handle(SynthEvent::PitchBend {
        channel: 0,
        value: 0,
    });
    cc(&mut e, 121, 0);
    assert_close(pitch_of(&mut e, 69), 440.0, "reset bend");
}

#[test]
fn all_notes_off_and_sound_off() {
    // CC 123 releases keys but the pedal still holds them.
    let mut e = engine(Preset::Organ);
    cc(&mut e, 64, 127);
    on(&mut e, 60, 100);
    on(&mut e, 64, 100);
    cc(&mut e, 123, 0);
    render(&mut e, 0.3);
    assert_eq!(e.active_voices(), 2);
    // AllNotesOff releases everything, pedal or not, without a click.
    e.handle(SynthEvent::AllNotesOff);
    let x = left(&render(&mut e, 0.1));
    assert!(max_jump(&x) < 0.05);
    assert!(e.is_silent());
    // CC 120 silences within 5 ms even with a long release.
    let mut e = engine(Preset::Pad);
    on(&mut e, 60, 100);
    render(&mut e, 0.5);
    cc(&mut e, 120, 0);
    render(&mut e, 0.006);
    assert!(e.is_silent());
}

#[test]
fn events_take_effect_from_the_next_sample() {
    let mut e = engine(Preset::Organ);
    let mut out = [1.0f32; 64];
    e.render(&mut out);
    assert!(out.iter().all(|&x| x == 0.0));
    on(&mut e, 60, 127);
    e.render(&mut out);
    assert!(out[..8].iter().any(|&x| x != 0.0));
    // A Note Off in the middle: the release begins with the next buffer.
    let mut e = engine(Preset::Organ);
    on(&mut e, 60, 127);
    render(&mut e, 0.1);
    off(&mut e, 60);
    let x = left(&render(&mut e, 0.01));
    assert!(peak(&x[..32]) > 2.0 * peak(&x[x.len() - 32..]));
}

#[test]
fn odd_and_empty_buffers() {
    let mut e = engine(Preset::Lead);
    on(&mut e, 60, 100);
    e.render(&mut []);
    let mut odd = [f32::NAN; 7];
    e.render(&mut odd);
    assert!(odd[..6].iter().all(|x| x.is_finite()));
    assert_eq!(odd[6], 0.0);
    let mut one = [f32::NAN; 2];
    for _ in 0..1000 {
        e.render(&mut one);
        assert!(one.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn random_events_never_produce_nan_or_clip() {
    let mut rng = 0x1234_5678u32;
    let mut next = move |n: u32| {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng % n
    };
    for panel in [PanelMap::DeepComposer, PanelMap::GeneralMidi] {
        let mut e = Engine::new(
            44_100,
            EngineConfig {
                panel,
                gain: 4.0,
                bend_range_semitones: 48.0,
                ..EngineConfig::default()
            },
        );
        let mut buf = vec![0.0f32; 2 * 300];
        for _ in 0..3000 {
            let channel = next(20) as u8; // some out of range
            let event = match next(8) {
                0..=2 => SynthEvent::NoteOn {
                    channel,
                    key: next(140) as u8,
                    velocity: next(140) as u8,
                },
                3 => SynthEvent::NoteOff {
                    channel,
                    key: next(128) as u8,
                },
                4 => SynthEvent::Control {
                    channel,
                    controller: [
                        1, 7, 10, 11, 21, 22, 23, 64, 71, 72, 73, 74, 91, 120, 121, 123,
                    ][next(16) as usize],
                    value: next(130) as u8,
                },
                5 => SynthEvent::PitchBend {
                    channel,
                    value: next(20_000) as u16,
                },
                6 => SynthEvent::ProgramChange {
                    channel,
                    program: next(256) as u8,
                },
                _ => SynthEvent::AllNotesOff,
            };
            e.handle(event);
            let frames = 1 + next(300) as usize;
            let out = &mut buf[..2 * frames];
            e.render(out);
            assert!(
                out.iter().all(|x| x.is_finite() && x.abs() < 1.0),
                "{event:?}"
            );
        }
    }
}

#[test]
fn program_change_selects_the_preset() {
    let mut e = engine(Preset::Piano);
    assert_eq!(e.preset(), Preset::Piano);
    e.handle(SynthEvent::ProgramChange {
        channel: 3,
        program: Preset::Bass.program(),
    });
    assert_eq!(e.preset(), Preset::Bass);
    e.handle(SynthEvent::NoteOn {
        channel: 3,
        key: 40,
        velocity: 100,
    });
    on(&mut e, 40, 100);
    let presets: Vec<Preset> = e
        .voices
        .iter()
        .filter(|v| v.active)
        .map(|v| v.note.preset)
        .collect();
    assert_eq!(presets, [Preset::Bass, Preset::Piano]);
    e.set_preset(Preset::Pad);
    assert_eq!(e.preset(), Preset::Pad);
    assert_eq!(e.sample_rate(), FS);
}

#[test]
fn buffer_sizes_do_not_change_the_sound() {
    // Buffers of 99 frames end in partial control blocks (3 × 32 + 3):
    // the chord must sound as when rendered in whole blocks.
    let play = |frames: usize| {
        let mut e = engine(Preset::Piano);
        for key in [48, 55, 60, 64, 67, 71] {
            on(&mut e, key, 90);
        }
        let mut out = vec![0.0f32; FS as usize];
        for chunk in out.chunks_mut(2 * frames) {
            e.render(chunk);
        }
        out
    };
    let (whole, partial) = (play(1024), play(99));
    let diff: Vec<f32> = whole.iter().zip(&partial).map(|(a, b)| a - b).collect();
    let ratio = db(rms(&diff) / rms(&whole));
    eprintln!("difference {ratio:.1} dB, peak {:.2e}", peak(&diff));
    assert!(ratio < -50.0, "{ratio:.1} dB");
}

#[test]
fn a_bend_sent_before_a_note_applies_from_its_first_sample() {
    // Key 60 bent up a whole tone (the full default range) sounds as key
    // 62 from the first control block on.
    let first_block = |key: u8, bend: u16| {
        let mut e = pure(0.0);
        e.handle(SynthEvent::PitchBend {
            channel: 0,
            value: bend,
        });
        on(&mut e, key, 100);
        let mut out = [0.0f32; 2 * 32];
        e.render(&mut out);
        out
    };
    let (bent, played) = (first_block(60, 16_383), first_block(62, 8192));
    let diff = bent
        .iter()
        .zip(&played)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-6, "bent C differs from D by {diff}");
}
