//! The transport buttons' meaning in a session: ● starts a take (or marks
//! time zero of `record OUT.mid`), ■ saves it (or ends `record OUT.mid`),
//! ▶ plays the last take back, opening the speakers if `record` had none.

use super::config::{RecordChoice, SoundChoice};
use super::output::Sink;
use super::view::View;
use super::{Deck, SessionError};
use crate::audio::device::{self, AudioError};
use crate::decode::tracker::Transport;
use crate::error::chain;
use crate::input::{file, InputError, InputStream};
use std::path::Path;

impl Deck {
    /// Routes a button press. Returns true when it ends the session (■
    /// while recording a single file).
    pub(crate) fn press(
        &mut self,
        pressed: Transport,
        t_us: u64,
        stream: &InputStream,
        view: &mut View,
    ) -> Result<bool, SessionError> {
        match (pressed, &self.recording) {
            (Transport::Record, RecordChoice::Single { .. }) => self.takes.mark_start(t_us),
            (Transport::Stop, RecordChoice::Single { .. }) => return Ok(true),
            (Transport::Record, RecordChoice::Takes { .. }) => {
                self.playback = None;
                self.takes.save(t_us, view)?;
                self.takes.begin(t_us, view);
            }
            (Transport::Stop, RecordChoice::Takes { .. }) => {
                self.playback = None;
                self.takes.save(t_us, view)?;
            }
            (Transport::Play, RecordChoice::Takes { .. }) => self.play_last_take(stream, view)?,
            (Transport::Play, RecordChoice::Single { .. }) | (_, RecordChoice::Off) => {}
        }
        Ok(false)
    }

    /// ▶: the last take, played back into the stream as
    /// [`InputEvent::Played`](crate::input::InputEvent::Played) events.
    fn play_last_take(
        &mut self,
        stream: &InputStream,
        view: &mut View,
    ) -> Result<(), SessionError> {
        self.playback = None;
        let Some(path) = self.takes.last_saved().map(ToOwned::to_owned) else {
            view.status("▶ no take yet: press ● to record one");
            return Ok(());
        };
        self.open_sound_on_demand(&path, stream, view);
        if self.sink.is_some() {
            view.status(&format!("▶ playing {}", path.display()));
            let worker = file::play_back(&path, stream.feed()).map_err(InputError::from)?;
            self.playback = Some(worker);
        }
        Ok(())
    }

    /// `record` opens the speakers only when ▶ asks to hear `take`.
    fn open_sound_on_demand(&mut self, take: &Path, stream: &InputStream, view: &mut View) {
        if self.sink.is_some() {
            return;
        }
        if let SoundChoice::OnDemand(choice) = &self.sound {
            match device::open(choice) {
                Ok(output) => self.sink = Some(Sink::speakers(output, self.engine, stream.clock())),
                Err(error) => view.status(&cannot_play_back(take, &error)),
            }
        }
    }
}

/// ▶ in `record` found no sound: why, then what `record` itself offers
/// (`play`'s `--wav` and `--list-audio` are not among its options), and
/// how to hear the take, which is saved, without it.
fn cannot_play_back(take: &Path, error: &AudioError) -> String {
    let why = match error {
        // These name `play`'s --wav.
        AudioError::NoDevice => "there is no audio output device".to_owned(),
        AudioError::Open { device, source } => {
            let source = source.to_string();
            let source = source.trim_end_matches('.');
            format!("the audio output \"{device}\" does not open: {source}")
        }
        other => chain(other),
    };
    format!(
        "▶ cannot play back: {why}; choose the sound with --audio-device NAME or \
         --audio-host HOST (`composer-probe play --list-audio` lists them), or \
         make a WAV of the saved take: `composer-probe render {} {}`",
        take.display(),
        take.with_extension("wav").display()
    )
}
