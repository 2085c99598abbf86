//! SoundFont instruments: `--soundfont FILE.sf2` plays through `rustysynth`
//! (a pure-Rust SoundFont 2 synthesizer, MIT) instead of the built-in voices.
//!
//! [`SoundFont::load`] reads and checks the file once, before any audio
//! starts, and keeps it for the rest of the process: an
//! [`EngineConfig`](super::EngineConfig) holds a `&'static` [`SoundFont`],
//! so it stays `Copy` and every engine made from it (the live one, ▶
//! playback, `--wav`, `render`) shares the same samples. Each
//! [`Engine`](super::Engine) then makes its own `rustysynth` synthesizer in
//! [`Engine::new`](super::Engine::new); from there `handle` and `render`
//! allocate nothing and take no lock (`tests/realtime.rs` counts).
//!
//! Offline (`composer-probe render`), [`SoundFont::render_offline`] splits
//! the notes of a file between several synthesizers, one per thread, and
//! sums them: rustysynth's voices, reverb and chorus are linear in their
//! input, so the sum sounds as one synthesizer would.

use super::effects::Limiter;
use super::{EngineConfig, PanelMap, Preset, SynthEvent};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

/// Where Debian-like systems install General MIDI SoundFonts, best first
/// (`fluid-soundfont-gm`, `musescore-general-soundfont`, `timgm6mb-soundfont`).
pub const DEFAULT_SOUNDFONTS: &[&str] = &[
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/MuseScore_General.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
];

/// Why a SoundFont could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SoundFontError {
    /// The file could not be opened or read.
    #[error("cannot read SoundFont {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a usable SoundFont 2.
    #[error("{path} is not a usable SoundFont: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What rustysynth found wrong.
        reason: String,
    },
    /// `--soundfont default` found none of [`DEFAULT_SOUNDFONTS`].
    #[error("no General MIDI SoundFont is installed (looked for {}); install fluid-soundfont-gm or give --soundfont FILE.sf2", DEFAULT_SOUNDFONTS.join(", "))]
    NoDefault,
}

/// A loaded SoundFont, shared by every engine that plays it.
pub struct SoundFont {
    font: Arc<rustysynth::SoundFont>,
    path: PathBuf,
    /// Per preset: some region of it has an exclusive class (a hi-hat that
    /// cuts the one before it), which acts across voices of a channel.
    exclusive: Vec<bool>,
}

impl SoundFont {
    /// Reads `path` (the whole file, checked) and keeps it for the rest of
    /// the process. `default` finds an installed GM SoundFont instead (see
    /// [`SoundFont::find_default`]).
    pub fn load(path: &Path) -> Result<&'static SoundFont, SoundFontError> {
        let path = if path == Path::new("default") {
            Self::find_default().ok_or(SoundFontError::NoDefault)?
        } else {
            path.to_owned()
        };
        let file = std::fs::File::open(&path).map_err(|source| SoundFontError::Read {
            path: path.clone(),
            source,
        })?;
        // Parsed straight from the file: the samples are held once.
        let mut reader = std::io::BufReader::new(file);
        let font =
            rustysynth::SoundFont::new(&mut reader).map_err(|e| SoundFontError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let font = Arc::new(font);
        // A font without presets, or one the synthesizer refuses, fails
        // here rather than when the sound starts.
        if font.get_presets().is_empty() {
            return Err(SoundFontError::Invalid {
                path,
                reason: "it has no presets".to_owned(),
            });
        }
        rustysynth::Synthesizer::new(&font, &rustysynth::SynthesizerSettings::new(48_000))
            .map_err(|e| SoundFontError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let exclusive = font
            .get_presets()
            .iter()
            .map(|preset| {
                preset.get_regions().iter().any(|region| {
                    font.get_instruments()
                        .get(region.get_instrument_id())
                        .is_some_and(|i| {
                            i.get_regions().iter().any(|r| r.get_exclusive_class() != 0)
                        })
                })
            })
            .collect();
        Ok(Box::leak(Box::new(SoundFont {
            font,
            path,
            exclusive,
        })))
    }

    /// The first of [`DEFAULT_SOUNDFONTS`] that exists.
    pub fn find_default() -> Option<PathBuf> {
        DEFAULT_SOUNDFONTS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name stored in the file (e.g. "Fluid R3 GM").
    pub fn name(&self) -> &str {
        self.font.get_info().get_bank_name()
    }

    /// Number of presets (instruments and kits).
    pub fn presets(&self) -> usize {
        self.font.get_presets().len()
    }

    /// The name of the instrument a Program Change to `program` (bank 0)
    /// plays, as the file names it (FluidR3_GM: 0 "Yamaha Grand Piano").
    /// A font without that program plays its lowest-numbered preset, as
    /// rustysynth does, and that one is named.
    pub fn preset_name(&self, program: u8) -> Option<&str> {
        let presets = self.font.get_presets();
        let id = |p: &&rustysynth::Preset| (p.get_bank_number() << 16) | p.get_patch_number();
        presets
            .iter()
            .find(|p| id(p) == i32::from(program & 127))
            .or_else(|| presets.iter().min_by_key(id))
            .map(|p| p.get_name().trim())
    }
}

impl SoundFont {
    /// The preset a channel on `bank` and `patch` plays, found as
    /// rustysynth finds it (the GM fallback, then the lowest preset).
    fn preset_index(&self, bank: i32, patch: i32) -> Option<usize> {
        let presets = self.font.get_presets();
        let id = |p: &rustysynth::Preset| (p.get_bank_number() << 16) | p.get_patch_number();
        let find = |wanted: i32| presets.iter().position(|p| id(p) == wanted);
        let fallback = if bank < 128 { patch } else { 128 << 16 };
        find((bank << 16) | patch)
            .or_else(|| find(fallback))
            .or_else(|| (0..presets.len()).min_by_key(|&i| id(&presets[i])))
    }

    /// What a note of `key` and `velocity` on `preset` costs, estimated:
    /// its voices, and the frames (at `rate`) they sound when it is
    /// held `held` frames: the hold plus the release, or a one-shot
    /// sample's length if that is shorter.
    fn note_cost(&self, preset: usize, key: u8, velocity: u8, held: u64, rate: u32) -> (u64, u64) {
        let (key, velocity) = (i32::from(key & 127), i32::from(velocity & 127));
        let Some(preset) = self.font.get_presets().get(preset) else {
            return (1, held);
        };
        let (instruments, headers) = (self.font.get_instruments(), self.font.get_sample_headers());
        let seconds =
            |s: f32| (f64::from(s).clamp(0.0, MAX_RELEASE_SECONDS) * f64::from(rate)) as u64;
        let (mut voices, mut frames) = (0, 0);
        for outer in preset
            .get_regions()
            .iter()
            .filter(|r| r.contains(key, velocity))
        {
            let Some(instrument) = instruments.get(outer.get_instrument_id()) else {
                continue;
            };
            for region in instrument
                .get_regions()
                .iter()
                .filter(|r| r.contains(key, velocity))
            {
                voices += 1;
                let release = seconds(
                    region.get_release_volume_envelope() * outer.get_release_volume_envelope(),
                );
                let mut sounds = held.saturating_add(release);
                if region.get_sample_modes() == rustysynth::LoopMode::NoLoop {
                    if let Some(header) = headers.get(region.get_sample_id()) {
                        let length = (region.get_sample_end() - region.get_sample_start()).max(0);
                        let length = u64::from(length.unsigned_abs()) * u64::from(rate)
                            / u64::from(header.get_sample_rate().max(1).unsigned_abs());
                        sounds = sounds.min(length);
                    }
                }
                frames = frames.max(sounds);
            }
        }
        (voices, frames)
    }

    /// Renders frame-stamped `events` (in time order) offline as
    /// `composer-probe render` does: from frame 0, each event at its frame,
    /// then All Notes Off at frame `tail.start` (the file's end, at or
    /// after the last event) and the tail until every voice has died away
    /// (or `tail.end`). `config` gives the starting preset, the panel map,
    /// the gain and the block.
    ///
    /// The notes are split between up to `jobs` rustysynth synthesizers,
    /// each on its own thread and given its notes plus every other event;
    /// their outputs are summed, then the engine's gain and limiter apply
    /// to the sum. Each note goes to the synthesizer with the fewest voices
    /// sounding then (as estimated from the SoundFont), except that a
    /// channel playing a preset with exclusive classes (a drum kit) stays
    /// on one synthesizer. The sum is one synthesizer's sound apart from
    /// float rounding, and each synthesizer has its own 64 voices to steal
    /// from.
    ///
    /// `write` takes interleaved stereo blocks in order and answers
    /// `Ok(true)` once it wants no more. Returns `Ok(false)` with nothing
    /// written if the synthesizers or threads could not be made.
    pub fn render_offline<E>(
        &self,
        sample_rate: u32,
        config: EngineConfig,
        jobs: NonZeroUsize,
        events: &[(u64, SynthEvent)],
        tail: std::ops::Range<u64>,
        mut write: impl FnMut(&[f32]) -> Result<bool, E>,
    ) -> Result<bool, E> {
        let notes = events.iter().filter(|(_, e)| starts_voice(e)).count();
        let parts = self.split(
            config.preset,
            sample_rate,
            events,
            jobs.get().min(notes).max(1),
        );
        let mut voices = Vec::with_capacity(parts.len());
        for _ in &parts {
            match SoundFontVoices::new(
                self,
                sample_rate,
                config.preset,
                config.panel,
                config.soundfont_block,
            ) {
                Some(v) => voices.push(v),
                None => return Ok(false),
            }
        }
        let end_frame = events
            .last()
            .map_or(tail.start, |(at, _)| tail.start.max(*at));
        let max_tail_frames = tail.end.saturating_sub(end_frame);
        let gain = if config.gain.is_finite() && config.gain >= 0.0 {
            config.gain / 0.5
        } else {
            1.0
        };
        std::thread::scope(|scope| {
            let mut receivers = Vec::with_capacity(parts.len());
            for (part, voices) in parts.iter().zip(voices) {
                let (sender, receiver) = mpsc::sync_channel(AHEAD);
                let spawned = std::thread::Builder::new()
                    .name("soundfont".to_owned())
                    .spawn_scoped(scope, move || {
                        render_part(voices, part, end_frame, max_tail_frames, &sender)
                    });
                if spawned.is_err() {
                    return Ok(false);
                }
                receivers.push(Some(receiver));
            }
            let mut limiter = Limiter::new(sample_rate.max(1));
            let mut mix = vec![0.0f32; 2 * SEGMENT];
            let (mut start, mut last) = (0u64, end_frame);
            loop {
                mix.fill(0.0);
                for slot in &mut receivers {
                    let Some(receiver) = slot else { continue };
                    // A part that stopped (it cannot, short of a panic)
                    // adds nothing from here on.
                    let Ok(segment) = receiver.recv() else {
                        *slot = None;
                        continue;
                    };
                    for (m, s) in mix.iter_mut().zip(&segment.samples) {
                        *m += s;
                    }
                    if let Some(end) = segment.end {
                        last = last.max(end);
                        *slot = None;
                    }
                }
                let done = receivers.iter().all(Option::is_none);
                let frames = if done {
                    (last - start).min(SEGMENT as u64) as usize
                } else {
                    SEGMENT
                };
                let samples = &mut mix[..2 * frames];
                for frame in samples.chunks_exact_mut(2) {
                    let (l, r) = limiter.process(frame[0] * gain, frame[1] * gain);
                    frame[0] = l;
                    frame[1] = r;
                }
                if write(samples)? || done {
                    return Ok(true);
                }
                start += frames as u64;
            }
        })
    }

    /// Each part's events: every event, except that each note starts in
    /// one part only (see [`SoundFont::render_offline`]).
    fn split(
        &self,
        preset: Preset,
        rate: u32,
        events: &[(u64, SynthEvent)],
        parts: usize,
    ) -> Vec<Vec<(u64, SynthEvent)>> {
        if parts <= 1 {
            return vec![events.to_vec()];
        }
        let releases = note_releases(events);
        // Each note's estimated voices and end; the channels that must stay
        // whole (they play a preset with exclusive classes at some note).
        // Banks and programs as rustysynth keeps them.
        let mut bank = [0i32; 16];
        bank[9] = 128;
        let mut patch = [i32::from(preset.program()); 16];
        patch[9] = 0;
        let mut whole = [false; 16];
        let mut costs = vec![(0u64, 0u64); events.len()];
        for (i, &(at, event)) in events.iter().enumerate() {
            let (channel, key, velocity) = match event {
                SynthEvent::Control {
                    channel,
                    controller: 0,
                    value,
                } => {
                    let c = usize::from(channel & 15);
                    bank[c] = i32::from(value & 127) + if c == 9 { 128 } else { 0 };
                    continue;
                }
                SynthEvent::ProgramChange { channel, program } => {
                    patch[usize::from(channel & 15)] = i32::from(program & 127);
                    continue;
                }
                SynthEvent::Drum { key, velocity, .. } if velocity > 0 => (9, key, velocity),
                SynthEvent::NoteOn {
                    channel,
                    key,
                    velocity,
                } if velocity > 0 => (usize::from(channel & 15), key, velocity),
                _ => continue,
            };
            let held = releases[i].saturating_sub(at);
            match self.preset_index(bank[channel], patch[channel]) {
                Some(p) => {
                    whole[channel] |= self.exclusive[p];
                    let (voices, frames) = self.note_cost(p, key, velocity, held, rate);
                    costs[i] = (voices, at.saturating_add(frames));
                }
                None => costs[i] = (1, releases[i]),
            }
        }
        let mut owner: [Option<usize>; 16] = [None; 16];
        // Per part, its notes still sounding (estimated end, voices) and
        // their voices.
        let mut sounding: Vec<BinaryHeap<Reverse<(u64, u64)>>> = vec![BinaryHeap::new(); parts];
        let mut load = vec![0u64; parts];
        let mut out = vec![Vec::with_capacity(events.len()); parts];
        for (&(at, event), &(voices, end)) in events.iter().zip(&costs) {
            let channel = match event {
                SynthEvent::NoteOn { channel, .. } if starts_voice(&event) => channel & 15,
                SynthEvent::Drum { .. } if starts_voice(&event) => 9,
                _ => {
                    for part in &mut out {
                        part.push((at, event));
                    }
                    continue;
                }
            };
            for (notes, load) in sounding.iter_mut().zip(&mut load) {
                while let Some(&Reverse((ends, voices))) = notes.peek() {
                    if ends > at {
                        break;
                    }
                    *load -= voices;
                    notes.pop();
                }
            }
            let c = usize::from(channel);
            let part = owner[c].unwrap_or_else(|| (0..parts).min_by_key(|&p| load[p]).unwrap_or(0));
            if whole[c] {
                owner[c] = Some(part);
            }
            sounding[part].push(Reverse((end, voices)));
            load[part] += voices;
            out[part].push((at, event));
        }
        // A part that got no note would only render silence.
        out.retain(|part| part.iter().any(|(_, e)| starts_voice(e)));
        out
    }
}

/// Frames of interleaved stereo a part hands the mixer at a time.
const SEGMENT: usize = 4096;
/// Segments a part may render ahead of the mixer (1.4 s at 48 kHz): a
/// part with less to do for a while runs on instead of waiting.
const AHEAD: usize = 16;
/// Frames of tail rendered between checks for silence (as
/// `OfflineRenderer::finish_tail` does).
const TAIL_STEP: u64 = 1024;
/// The longest release counted when sharing the notes out, seconds (a
/// voice below −100 dB ends earlier than its nominal release).
const MAX_RELEASE_SECONDS: f64 = 2.0;

/// One part's audio from frame `k × SEGMENT` on; `end`, in its last
/// segment, is the frame where the part fell silent.
struct Segment {
    samples: Vec<f32>,
    end: Option<u64>,
}

/// True for what starts a voice: a Note On with a velocity, or a drum.
fn starts_voice(event: &SynthEvent) -> bool {
    event.starts_note() || matches!(event, SynthEvent::Drum { velocity, .. } if *velocity > 0)
}

/// For each event that starts a note, the frame it is released (by its
/// Note Off, or the sustain pedal's release after that), or the file's end.
fn note_releases(events: &[(u64, SynthEvent)]) -> Vec<u64> {
    fn close(notes: &mut Vec<usize>, at: u64, releases: &mut [u64]) {
        for i in notes.drain(..) {
            releases[i] = at;
        }
    }
    let last = events.last().map_or(0, |(at, _)| *at);
    let mut releases = vec![last; events.len()];
    let mut held: Vec<Vec<usize>> = vec![Vec::new(); 16 * 128];
    let mut pedal = [false; 16];
    let mut pedalled: [Vec<usize>; 16] = Default::default();
    for (i, &(at, event)) in events.iter().enumerate() {
        match event {
            SynthEvent::NoteOn { channel, key, .. } if starts_voice(&event) => {
                held[usize::from(channel & 15) * 128 + usize::from(key & 127)].push(i);
            }
            SynthEvent::Drum { .. } => releases[i] = at,
            SynthEvent::NoteOn { channel, key, .. } | SynthEvent::NoteOff { channel, key } => {
                let c = usize::from(channel & 15);
                let notes = &mut held[c * 128 + usize::from(key & 127)];
                if pedal[c] {
                    pedalled[c].append(notes);
                } else {
                    close(notes, at, &mut releases);
                }
            }
            SynthEvent::Control {
                channel,
                controller: 64,
                value,
            } => {
                let c = usize::from(channel & 15);
                pedal[c] = value >= 64;
                if !pedal[c] {
                    close(&mut pedalled[c], at, &mut releases);
                }
            }
            SynthEvent::AllNotesOff => {
                pedal = [false; 16];
                for notes in held.iter_mut().chain(pedalled.iter_mut()) {
                    close(notes, at, &mut releases);
                }
            }
            _ => {}
        }
    }
    releases
}

/// Renders one part's `events` into segments for the mixer, up to
/// `end_frame`, then its tail until it is silent (at most
/// `max_tail_frames`). Stops early if the mixer hangs up.
fn render_part(
    mut voices: SoundFontVoices,
    events: &[(u64, SynthEvent)],
    end_frame: u64,
    max_tail_frames: u64,
    sender: &mpsc::SyncSender<Segment>,
) {
    let mut segment = Vec::with_capacity(2 * SEGMENT);
    let mut frame = 0u64;
    // Renders up to `target`, sending each full segment; false once the
    // mixer is gone.
    let mut render_to = |voices: &mut SoundFontVoices, segment: &mut Vec<f32>, target: u64| {
        while frame < target {
            let filled = segment.len() / 2;
            let frames = (target - frame).min((SEGMENT - filled) as u64) as usize;
            segment.resize(2 * (filled + frames), 0.0);
            voices.render(&mut segment[2 * filled..], |l, r| (l, r));
            frame += frames as u64;
            if segment.len() == 2 * SEGMENT {
                let full = std::mem::replace(segment, Vec::with_capacity(2 * SEGMENT));
                let sent = sender.send(Segment {
                    samples: full,
                    end: None,
                });
                if sent.is_err() {
                    return None;
                }
            }
        }
        Some(frame)
    };
    for &(at, event) in events {
        if render_to(&mut voices, &mut segment, at).is_none() {
            return;
        }
        voices.handle(event);
    }
    if render_to(&mut voices, &mut segment, end_frame).is_none() {
        return;
    }
    voices.handle(SynthEvent::AllNotesOff);
    let (mut at, limit) = (end_frame, end_frame.saturating_add(max_tail_frames));
    while !voices.is_silent() && at < limit {
        at += TAIL_STEP;
        if render_to(&mut voices, &mut segment, at).is_none() {
            return;
        }
    }
    // The mixer may have hung up meanwhile: nothing to do then.
    let _ = sender.send(Segment {
        samples: segment,
        end: Some(at),
    });
}

impl fmt::Debug for SoundFont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoundFont")
            .field("path", &self.path)
            .field("presets", &self.presets())
            .finish_non_exhaustive()
    }
}

/// Two SoundFonts are the same if they are the same load.
impl PartialEq for SoundFont {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Frames rendered by rustysynth per call (its own block is 64).
const CHUNK: usize = 256;
/// Output below this peak, with no key down, counts as silence (−100 dBFS).
const SILENT_PEAK: f32 = 1e-5;
/// Frames of such silence after which the engine reports silent (0.1 s at
/// 48 kHz; the reverb tail is longer than a block).
const SILENT_FRAMES: usize = 4_800;

/// One engine's SoundFont synthesizer and its scratch buffers.
pub(crate) struct SoundFontVoices {
    synth: rustysynth::Synthesizer,
    left: Vec<f32>,
    right: Vec<f32>,
    panel: PanelMap,
    /// Keys down (or held by the pedal's release), per channel, as bits.
    keys: [u128; 16],
    /// Frames of quiet output with no key down.
    quiet_frames: usize,
}

impl SoundFontVoices {
    /// A synthesizer at `sample_rate` (kept within rustysynth's 16–192
    /// kHz) playing `font`, every channel starting on `preset`'s GM
    /// program. Allocates; nothing after this does.
    pub(crate) fn new(
        font: &SoundFont,
        sample_rate: u32,
        preset: Preset,
        panel: PanelMap,
        block_frames: usize,
    ) -> Option<SoundFontVoices> {
        let rate = sample_rate.clamp(16_000, 192_000) as i32;
        let mut settings = rustysynth::SynthesizerSettings::new(rate);
        settings.block_size = block_frames.clamp(8, 1024);
        let mut synth = rustysynth::Synthesizer::new(&font.font, &settings).ok()?;
        for channel in 0..16 {
            if channel != 9 {
                synth.process_midi_message(channel, 0xC0, i32::from(preset.program()), 0);
            }
        }
        Some(SoundFontVoices {
            synth,
            left: vec![0.0; CHUNK],
            right: vec![0.0; CHUNK],
            panel,
            keys: [0; 16],
            quiet_frames: SILENT_FRAMES,
        })
    }

    /// Apply one event (as MIDI to rustysynth).
    pub(crate) fn handle(&mut self, event: SynthEvent) {
        let synth = &mut self.synth;
        match event {
            SynthEvent::NoteOn {
                channel,
                key,
                velocity,
            } => {
                let (channel, key) = (channel & 15, key & 127);
                synth.note_on(
                    i32::from(channel),
                    i32::from(key),
                    i32::from(velocity & 127),
                );
                self.set_key(channel, key, velocity > 0);
            }
            SynthEvent::NoteOff { channel, key } => {
                let (channel, key) = (channel & 15, key & 127);
                synth.note_off(i32::from(channel), i32::from(key));
                self.set_key(channel, key, false);
            }
            SynthEvent::Drum { key, velocity, .. } => {
                // The SoundFont's kit is on channel 10.
                if velocity > 0 {
                    synth.note_on(9, i32::from(key & 127), i32::from(velocity & 127));
                    self.quiet_frames = 0;
                }
            }
            SynthEvent::Control {
                channel,
                controller,
                value,
            } => {
                // From the DeepComposer, CC 10 is the encoder (a waveform
                // morph the SoundFont has no use for), not pan.
                if !(self.panel == PanelMap::DeepComposer && controller == 10) {
                    synth.process_midi_message(
                        i32::from(channel & 15),
                        0xB0,
                        i32::from(controller & 127),
                        i32::from(value & 127),
                    );
                }
                if matches!(controller, 120 | 123) {
                    self.keys[usize::from(channel & 15)] = 0;
                }
            }
            SynthEvent::PitchBend { channel, value } => synth.process_midi_message(
                i32::from(channel & 15),
                0xE0,
                i32::from(value & 127),
                i32::from((value >> 7) & 127),
            ),
            SynthEvent::ProgramChange { channel, program } => synth.process_midi_message(
                i32::from(channel & 15),
                0xC0,
                i32::from(program & 127),
                0,
            ),
            SynthEvent::AllNotesOff => {
                for channel in 0..16 {
                    synth.process_midi_message(channel, 0xB0, 64, 0);
                }
                synth.note_off_all(false);
                self.keys = [0; 16];
            }
            SynthEvent::Panel(map) => self.panel = map,
        }
    }

    fn set_key(&mut self, channel: u8, key: u8, down: bool) {
        let bit = 1u128 << key;
        let keys = &mut self.keys[usize::from(channel)];
        if down {
            *keys |= bit;
            self.quiet_frames = 0;
        } else {
            *keys &= !bit;
        }
    }

    /// Render interleaved stereo into `out` (an odd last sample is left
    /// alone), each sample through `post` (the engine's limiter).
    pub(crate) fn render(&mut self, out: &mut [f32], mut post: impl FnMut(f32, f32) -> (f32, f32)) {
        let mut peak = 0.0f32;
        for frames in out.chunks_mut(2 * CHUNK) {
            let n = frames.len() / 2;
            let (left, right) = (&mut self.left[..n], &mut self.right[..n]);
            self.synth.render(left, right);
            for (frame, (&l, &r)) in frames
                .chunks_exact_mut(2)
                .zip(left.iter().zip(right.iter()))
            {
                peak = peak.max(l.abs()).max(r.abs());
                let (l, r) = post(l, r);
                frame[0] = l;
                frame[1] = r;
            }
        }
        if self.keys.iter().all(|&k| k == 0) && peak < SILENT_PEAK {
            self.quiet_frames = self.quiet_frames.saturating_add(out.len() / 2);
        } else {
            self.quiet_frames = 0;
        }
    }

    /// Keys down on every channel (rustysynth does not tell its voice
    /// count): what the status line shows as voices.
    pub(crate) fn keys_down(&self) -> usize {
        self.keys.iter().map(|k| k.count_ones() as usize).sum()
    }

    /// No key down and the output has stayed below −100 dBFS for 0.1 s.
    pub(crate) fn is_silent(&self) -> bool {
        self.quiet_frames >= SILENT_FRAMES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_shared_evenly_and_a_drum_kit_stays_on_one_synthesizer() {
        // FluidR3_GM (fluid-soundfont-gm): its kits cut hi-hats with
        // exclusive classes, which act only within one synthesizer.
        let font = SoundFont::load(Path::new("default")).expect("a GM SoundFont is installed");
        let mut events = vec![(
            0,
            SynthEvent::Control {
                channel: 0,
                controller: 7,
                value: 90,
            },
        )];
        for key in 48..60 {
            events.push((
                0,
                SynthEvent::NoteOn {
                    channel: 0,
                    key,
                    velocity: 80,
                },
            ));
        }
        for hit in 0..16u64 {
            let key = if hit % 4 == 3 { 46 } else { 42 };
            events.push((
                hit * 6_000,
                SynthEvent::NoteOn {
                    channel: 9,
                    key,
                    velocity: 90,
                },
            ));
            events.push((hit * 6_000 + 100, SynthEvent::NoteOff { channel: 9, key }));
        }
        events.sort_by_key(|(at, _)| *at);
        let parts = font.split(Preset::Piano, 48_000, &events, 2);
        assert_eq!(parts.len(), 2);
        let notes = |part: &[(u64, SynthEvent)], channel: u8| {
            part.iter()
                .filter(
                    |(_, e)| matches!(e, SynthEvent::NoteOn { channel: c, .. } if *c == channel),
                )
                .count()
        };
        // The chord is shared out, the kit is whole on one side.
        assert_eq!(notes(&parts[0], 0) + notes(&parts[1], 0), 12);
        assert!(notes(&parts[0], 0).abs_diff(notes(&parts[1], 0)) <= 2);
        assert!([notes(&parts[0], 9), notes(&parts[1], 9)].contains(&16));
        // Everything else reaches both.
        for part in &parts {
            let others = part.iter().filter(|(_, e)| !starts_voice(e)).count();
            assert_eq!(others, 17, "the volume and every Note Off");
        }
    }
}
