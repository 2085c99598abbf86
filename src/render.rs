//! Offline rendering: the same engine as live play, driven by event
//! timestamps instead of a sound card, written to WAV with hound. Serves
//! `composer-probe render` and `play --wav`.

use crate::record::read::{self, FileError};
use crate::synth::{Engine, EngineConfig, SynthEvent};
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The longest release/reverb tail rendered after the last event.
const MAX_TAIL_SECONDS: u64 = 30;

/// Sample format of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer PCM.
    Int16,
    /// 32-bit float.
    Float32,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The MIDI file could not be used.
    #[error(transparent)]
    File(#[from] FileError),
    /// The WAV file could not be written.
    #[error("cannot write {path} (nothing was left behind)")]
    Write {
        /// The output file.
        path: PathBuf,
        /// What hound (or the file system) said.
        #[source]
        source: hound::Error,
    },
}

/// A WAV file being written: to a temporary name beside the target, renamed
/// into place by [`WavOutput::finish`]; dropped unfinished, it is removed.
pub struct WavOutput {
    writer: Option<hound::WavWriter<BufWriter<fs::File>>>,
    format: WavFormat,
    temporary: PathBuf,
    target: PathBuf,
    frames: u64,
    sample_rate: u32,
}

impl WavOutput {
    /// Starts writing a stereo WAV file.
    pub fn create(target: &Path, sample_rate: u32, format: WavFormat) -> Result<Self, RenderError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = target.with_file_name(format!(".{name}.part"));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate,
            bits_per_sample: match format {
                WavFormat::Int16 => 16,
                WavFormat::Float32 => 32,
            },
            sample_format: match format {
                WavFormat::Int16 => hound::SampleFormat::Int,
                WavFormat::Float32 => hound::SampleFormat::Float,
            },
        };
        let writer =
            hound::WavWriter::create(&temporary, spec).map_err(|source| RenderError::Write {
                path: target.to_owned(),
                source,
            })?;
        Ok(WavOutput {
            writer: Some(writer),
            format,
            temporary,
            target: target.to_owned(),
            frames: 0,
            sample_rate,
        })
    }

    fn failed(&self, source: hound::Error) -> RenderError {
        RenderError::Write {
            path: self.target.clone(),
            source,
        }
    }

    /// Appends interleaved stereo samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), RenderError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let result = match self.format {
            WavFormat::Int16 => {
                // hound's buffered 16-bit writer: one copy per block instead
                // of a checked write per sample.
                let mut block = writer.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    block.write_sample(to_i16(s));
                }
                block.flush()
            }
            WavFormat::Float32 => samples.iter().try_for_each(|&s| writer.write_sample(s)),
        };
        result.map_err(|e| self.failed(e))?;
        self.frames += samples.len() as u64 / 2;
        Ok(())
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Seconds written so far.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    /// Completes the file and moves it into place.
    pub fn finish(mut self) -> Result<PathBuf, RenderError> {
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(|e| self.failed(e))?;
        }
        fs::rename(&self.temporary, &self.target)
            .map_err(|e| self.failed(hound::Error::IoError(e)))?;
        Ok(self.target.clone())
    }
}

impl Drop for WavOutput {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// A sample in −1..=1 as 16-bit PCM, rounded half away from zero (NaN → 0).
#[inline]
fn to_i16(sample: f32) -> i16 {
    let scaled = sample.clamp(-1.0, 1.0) * 32767.0;
    // `as` truncates toward zero and saturates; adding ±0.5 first rounds.
    (scaled + 0.5f32.copysign(scaled)) as i16
}

/// Drives an engine by event times and hands rendered audio on.
pub struct OfflineRenderer {
    engine: Engine,
    frames_done: u64,
    buffer: Vec<f32>,
}

impl OfflineRenderer {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        OfflineRenderer {
            engine,
            frames_done: 0,
            buffer: vec![0.0; 2 * 1024],
        }
    }

    fn frame_of(&self, t_us: u64) -> u64 {
        (u128::from(t_us) * u128::from(self.engine.sample_rate()) / 1_000_000) as u64
    }

    /// Renders everything up to the time `t_us` into `out`.
    pub fn render_until(&mut self, t_us: u64, out: &mut WavOutput) -> Result<(), RenderError> {
        let target = self.frame_of(t_us);
        while self.frames_done < target {
            let frames = (target - self.frames_done).min(1024) as usize;
            self.engine.render(&mut self.buffer[..frames * 2]);
            out.write(&self.buffer[..frames * 2])?;
            self.frames_done += frames as u64;
        }
        Ok(())
    }

    /// Applies an event at the current position.
    pub fn handle(&mut self, event: SynthEvent) {
        self.engine.handle(event);
    }

    /// Releases every note and renders until the engine is silent (at most
    /// 30 s of tail).
    pub fn finish_tail(&mut self, out: &mut WavOutput) -> Result<(), RenderError> {
        self.engine.handle(SynthEvent::AllNotesOff);
        let limit = self.frames_done + MAX_TAIL_SECONDS * u64::from(self.engine.sample_rate());
        while !self.engine.is_silent() && self.frames_done < limit {
            self.engine.render(&mut self.buffer[..2048]);
            out.write(&self.buffer[..2048])?;
            self.frames_done += 1024;
        }
        Ok(())
    }
}

/// What `render` did.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSummary {
    /// Notes played.
    pub notes: u64,
    /// Seconds of audio written.
    pub seconds: f64,
}

/// Renders a MIDI file to a WAV file with the built-in synth.
pub fn render_file(
    input: &Path,
    output: &Path,
    sample_rate: u32,
    format: WavFormat,
    config: EngineConfig,
) -> Result<RenderSummary, RenderError> {
    let events = read::load(input)?;
    let mut wav = WavOutput::create(output, sample_rate, format)?;
    let mut renderer = OfflineRenderer::new(Engine::new(sample_rate, config));
    let mut notes = 0;
    for event in &events {
        renderer.render_until(event.t_us, &mut wav)?;
        if let Some(synth) = SynthEvent::from_midi(&event.message) {
            notes += u64::from(synth.starts_note());
            renderer.handle(synth);
        }
    }
    renderer.finish_tail(&mut wav)?;
    let seconds = wav.seconds();
    wav.finish()?;
    Ok(RenderSummary { notes, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_conversion_rounds_like_round_and_clamps() {
        for i in -40_000..=40_000 {
            let s = i as f32 / 32_768.0;
            let expected = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            assert_eq!(to_i16(s), expected, "sample {s}");
        }
        assert_eq!(to_i16(2.0), 32767);
        assert_eq!(to_i16(-2.0), -32767);
        assert_eq!(to_i16(f32::NAN), 0);
    }
}
