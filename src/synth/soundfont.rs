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

use super::{PanelMap, Preset, SynthEvent};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        Ok(Box::leak(Box::new(SoundFont { font, path })))
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
