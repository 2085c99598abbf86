//! composer-probe: find, hear and record USB MIDI keyboards.
//!
//! Data flows one way: USB enumerator → MIDI input stream → note decoder →
//! synth, recorder, `--thru`, view. One note, in that order:
//!
//! 1. **Finding the keyboard.** [`usb`] enumerates devices and parses their
//!    descriptors, [`ports`] lists the system's MIDI ports, and
//!    [`inventory`] pairs the two and assesses each device; [`list`] prints
//!    the inventory, and [`input::select`] picks a source from it (a pure
//!    function of the inventory) and opens it.
//! 2. **Bytes in.** The source runs on its own thread: direct USB reads
//!    bulk transfers (`09 90 3C 64`), a system port gets midir callbacks
//!    (`90 3C 64`), a file is replayed, the computer keyboard is read by
//!    the terminal's one reader and translated (`--keys`). Each hands what
//!    it got to an [`input::Feed`], stamped on the stream's [`clock`].
//! 3. **Decoding.** [`input::InputStream`] decodes on the reader's side
//!    ([`decode::usb_midi`] for USB-MIDI packets, [`decode::bytes`] for byte
//!    streams) into a [`decode::MidiEvent`], applies it to the stream's one
//!    [`decode::tracker::NoteTracker`] and hands it out with the transport
//!    button it pressed, if any.
//! 4. **The sound.** [`session`] fans the event out, the synth first: the
//!    message becomes a [`synth::SynthEvent`] ([`synth::SynthEvent::from_midi`]),
//!    goes through the lock-free queue of [`audio::realtime`] to the audio
//!    callback, where [`synth::Engine`] renders it at its sample; rodio
//!    ([`audio::device`]) takes the samples to the speaker. With `--wav`,
//!    [`render`] renders the same engine by event time into a file.
//! 5. **The take.** Next, [`record::Recorder`] keeps the event and journals
//!    it (a crash loses at most a second); at the stop the take is written
//!    as a Standard MIDI File. [`record::read`] reads such files back (for
//!    `--file`, `render` and ▶).
//! 6. **Forwarding and showing.** Then the `--thru` port, then the view:
//!    lines written by their own thread ([`monitor`] and `play --no-tui`
//!    share [`decode`]'s formatter) or the terminal keyboard view, which can
//!    never hold up the sound or the take.
//!
//! [`devices`] holds what we know about particular models (the AWS
//! DeepComposer keyboard); [`cli`] turns the command line into settings.
pub mod audio;
pub mod cli;
pub mod clock;
pub mod decode;
pub mod devices;
pub(crate) mod error;
pub mod input;
pub mod inventory;
pub mod list;
pub mod monitor;
pub mod ports;
pub mod record;
pub mod render;
pub mod session;
pub mod synth;
pub(crate) mod terminal;
pub(crate) mod tui;
pub mod usb;
