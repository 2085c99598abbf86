//! The MIDI input stream: one interface that every source feeds (system
//! port, direct USB, a MIDI file, the computer keyboard), the decoding of
//! what they deliver into [`InputEvent`]s, and the one note tracker every
//! event is applied to on its way out.
//!
//! Sources run on their own threads and only hand raw bytes (or events a
//! file already decoded) over a [`Feed`]; decoding and tracking happen on
//! the reader's side, in [`InputStream`].

pub mod event;
pub(crate) mod file;
pub(crate) mod keys;
pub mod select;
pub(crate) mod system_port;
pub(crate) mod usb;
pub(crate) mod worker;

pub use event::{EventMessage, InputEvent, MidiEvent};
pub use usb::UsbSelector;

use crate::clock::Clock;
use crate::decode::bytes::ByteStreamDecoder;
use crate::decode::message::u4;
use crate::decode::tracker::{NoteTracker, Transport};
use crate::decode::usb_midi::UsbMidiDecoder;
use crate::decode::DecodeStats;
use crate::devices::KnownDevice;
use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How a source reaches the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The operating system's MIDI port (ALSA sequencer, CoreMIDI, WinMM).
    SystemPort,
    /// Directly over USB (libusb), bypassing the kernel's MIDI driver.
    Usb,
    /// A Standard MIDI File played back.
    File,
    /// The computer keyboard played as a piano.
    Keys,
}

impl Via {
    /// Words for people: "system port", "direct USB"...
    pub fn describe(self) -> &'static str {
        match self {
            Via::SystemPort => "system port",
            Via::Usb => "direct USB",
            Via::File => "MIDI file",
            Via::Keys => "computer keyboard",
        }
    }
}

/// What a stream is listening to.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// A name for people: the port name, the device, the file.
    pub name: String,
    /// How it is reached.
    pub via: Via,
    /// The known keyboard behind it, for panel names and transport buttons.
    pub device: Option<&'static KnownDevice>,
}

impl SourceInfo {
    /// "AKM322 MIDI 1 (system port)"; a source whose name is how it is
    /// reached ("computer keyboard") is named once.
    pub fn title(&self) -> String {
        if self.named_by_its_way_in() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.via.describe())
        }
    }

    /// True when the name is just how the source is reached ("computer
    /// keyboard" via computer keyboard): say it once.
    pub fn named_by_its_way_in(&self) -> bool {
        self.name == self.via.describe()
    }
}

/// What sources hand to the stream.
#[derive(Debug)]
enum Raw {
    Bytes {
        t_us: u64,
        cable: u4,
        data: Vec<u8>,
    },
    UsbTransfer {
        t_us: u64,
        data: Vec<u8>,
    },
    Event(InputEvent),
    /// Nothing: the reader is to look up from its wait (see [`Feed::wake`]).
    Wake,
}

impl Raw {
    /// The same, its times moved `us` later (from the clock of a stream
    /// started `us` after this one onto this one's), and none before
    /// `from_us`.
    fn later_by(self, us: u64, from_us: u64) -> Raw {
        let later = |t_us: u64| t_us.saturating_add(us).max(from_us);
        match self {
            Raw::Bytes { t_us, cable, data } => Raw::Bytes {
                t_us: later(t_us),
                cable,
                data,
            },
            Raw::UsbTransfer { t_us, data } => Raw::UsbTransfer {
                t_us: later(t_us),
                data,
            },
            Raw::Event(event) => Raw::Event(match event {
                InputEvent::Midi(event) => InputEvent::Midi(MidiEvent {
                    t_us: later(event.t_us),
                    ..event
                }),
                InputEvent::Played(event) => InputEvent::Played(MidiEvent {
                    t_us: later(event.t_us),
                    ..event
                }),
                InputEvent::Disconnected {
                    t_us,
                    reason,
                    failed,
                } => InputEvent::Disconnected {
                    t_us: later(t_us),
                    reason,
                    failed,
                },
                InputEvent::Reconnected { t_us } => InputEvent::Reconnected { t_us: later(t_us) },
                InputEvent::Ended { t_us } => InputEvent::Ended { t_us: later(t_us) },
                InputEvent::Interrupted { t_us } => InputEvent::Interrupted { t_us: later(t_us) },
                InputEvent::Key(key) => InputEvent::Key(key),
            }),
            Raw::Wake => Raw::Wake,
        }
    }
}

/// The one interface every source feeds. Cheap to clone; its methods only
/// copy bytes and hand them on, so they are safe to call from a MIDI
/// library's callback thread.
#[derive(Debug, Clone)]
pub struct Feed {
    sender: Sender<Raw>,
    clock: Clock,
}

impl Feed {
    /// Microseconds since the stream started.
    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// MIDI 1.0 bytes (one or more messages, running status allowed) that
    /// arrived now on `cable`. Returns false once the stream is gone.
    pub fn bytes(&self, cable: u4, data: &[u8]) -> bool {
        self.sender
            .send(Raw::Bytes {
                t_us: self.now_us(),
                cable,
                data: data.to_vec(),
            })
            .is_ok()
    }

    /// One USB transfer of USB-MIDI event packets that arrived now.
    pub fn usb_transfer(&self, data: &[u8]) -> bool {
        self.sender
            .send(Raw::UsbTransfer {
                t_us: self.now_us(),
                data: data.to_vec(),
            })
            .is_ok()
    }

    /// A stream event (disconnect, reconnect, end, interrupt).
    pub fn event(&self, event: InputEvent) -> bool {
        self.sender.send(Raw::Event(event)).is_ok()
    }

    /// Ends the reader's wait at once, with no event ([`Next::Timeout`]):
    /// something it looks at between waits has news (a keyboard to take
    /// over, see [`select::Watch`]).
    pub fn wake(&self) -> bool {
        self.sender.send(Raw::Wake).is_ok()
    }
}

/// Lets another thread (a signal handler) end a stream cleanly.
#[derive(Debug, Clone)]
pub struct StopHandle(Feed);

impl StopHandle {
    /// Delivers [`InputEvent::Interrupted`] to the stream's reader.
    pub fn interrupt(&self) {
        let t_us = self.0.now_us();
        self.0.event(InputEvent::Interrupted { t_us });
    }
}

/// Something a running source owns (a thread, a port connection); dropping
/// it stops the source.
pub trait Running: Send {}

impl<T: Send> Running for T {}

/// How often a forwarder of a switched-to source looks whether to stop.
/// It is stopped after its source, whose end wakes it at once (the
/// channel disconnects); only a source stuck past its stop leaves the
/// forwarder to this timeout, which stays within the worker's join grace.
const FORWARD_POLL: Duration = Duration::from_secs(1);

/// The result of waiting for the next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// An event arrived; the stream's tracker has applied it.
    Event {
        /// The event.
        event: InputEvent,
        /// The transport button a keyboard event pressed (never one of a
        /// take played back).
        transport: Option<Transport>,
    },
    /// Nothing arrived in time.
    Timeout,
    /// Every source is gone and everything was delivered.
    Closed,
}

/// A running input: decoded events from one source, in arrival order, each
/// applied to the stream's note tracker as it is handed out.
pub struct InputStream {
    info: SourceInfo,
    tracker: NoteTracker,
    receiver: Receiver<Raw>,
    feed: Feed,
    byte_decoders: Vec<ByteStreamDecoder>,
    usb_decoder: UsbMidiDecoder,
    pending: VecDeque<InputEvent>,
    running: Option<Box<dyn Running>>,
}

impl InputStream {
    /// Starts a stream: `start` gets the [`Feed`] to hand data to and
    /// returns whatever keeps the source running.
    pub fn start<F, R>(info: SourceInfo, start: F) -> Result<Self, InputError>
    where
        F: FnOnce(Feed) -> Result<R, InputError>,
        R: Running + 'static,
    {
        let (sender, receiver) = mpsc::channel();
        let feed = Feed {
            sender,
            clock: Clock::start(),
        };
        let running = start(feed.clone())?;
        Ok(InputStream {
            tracker: NoteTracker::new(info.device),
            info,
            receiver,
            feed,
            byte_decoders: Vec::new(),
            usb_decoder: UsbMidiDecoder::new(),
            pending: VecDeque::new(),
            running: Some(Box::new(running)),
        })
    }

    /// What this stream listens to.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// What is held, sustained and set on every channel, as of the last
    /// event handed out.
    pub fn tracker(&self) -> &NoteTracker {
        &self.tracker
    }

    /// Releases everything the tracker holds, at `t_us`: the keyboard went
    /// away and `--wait` waits for it, so the releases of what it held are
    /// lost. Returns the releases, already tracked, to be played.
    pub fn release_held(&mut self, t_us: u64) -> Vec<MidiEvent> {
        let releases = self.tracker.releases();
        releases
            .into_iter()
            .map(|(channel, message)| {
                self.tracker.apply(channel, &message);
                MidiEvent {
                    t_us,
                    cable: u4::new(0),
                    message: EventMessage::Channel { channel, message },
                }
            })
            .collect()
    }

    /// A handle that interrupts this stream from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.feed.clone())
    }

    /// Microseconds since the stream started.
    pub fn now_us(&self) -> u64 {
        self.feed.now_us()
    }

    /// A feed into this stream, for playing a take back into it.
    pub fn feed(&self) -> Feed {
        self.feed.clone()
    }

    /// The clock event times are measured on.
    pub fn clock(&self) -> Clock {
        self.feed.clock
    }

    /// What the stream's decoders produced, skipped and cut short so far.
    pub fn decode_stats(&self) -> DecodeStats {
        self.byte_decoders
            .iter()
            .map(ByteStreamDecoder::stats)
            .fold(self.usb_decoder.stats(), |all, one| all + one)
    }

    /// Stops the source (its thread or port connection) now.
    pub fn stop_source(&mut self) {
        self.running = None;
    }

    /// Listens to `next`'s source from now on instead of this stream's:
    /// the current source is stopped first, so what it sends on the way out
    /// (the computer keyboard's releases) comes before anything of `next`.
    /// Everything else stays: this stream's clock (`next`'s times are
    /// moved onto it), its feeds (Ctrl+C, the view's keys, take playback)
    /// and what its tracker holds; the tracker now knows `next`'s buttons.
    ///
    /// Returns the moment of the switch: what `next` received before it
    /// (it was already running) counts as arriving then, when it is first
    /// heard, so that times never go back.
    pub fn switch_to(&mut self, next: InputStream) -> u64 {
        self.stop_source();
        let from_us = self.now_us();
        let InputStream {
            info,
            receiver,
            feed: next_feed,
            running,
            ..
        } = next;
        let offset = next_feed.clock.started_after(self.feed.clock);
        let feed = self.feed.clone();
        // Hands on what `next`'s source sends, on this stream's clock.
        let forward = worker::Worker::spawn(move |stopped| {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match receiver.recv_timeout(FORWARD_POLL) {
                    Ok(raw) => {
                        if feed.sender.send(raw.later_by(offset, from_us)).is_err() {
                            return;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        let mut tracker = NoteTracker::new(info.device);
        for channel in (0u8..16).map(u4::new) {
            tracker.mirror(channel, &self.tracker);
        }
        self.tracker = tracker;
        self.info = info;
        // The source stops before its forwarder (fields drop in order).
        self.running = Some(Box::new((running, forward)));
        from_us
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_timeout(&mut self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.pending.pop_front() {
                let transport = match &event {
                    InputEvent::Midi(midi) => self.tracker.track(&midi.message),
                    InputEvent::Played(played) => {
                        self.tracker.track(&played.message);
                        None
                    }
                    _ => None,
                };
                return Next::Event { event, transport };
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(wait) {
                Ok(Raw::Wake) => return Next::Timeout,
                Ok(raw) => self.decode(raw),
                Err(RecvTimeoutError::Timeout) => return Next::Timeout,
                Err(RecvTimeoutError::Disconnected) => return Next::Closed,
            }
        }
    }

    fn decode(&mut self, raw: Raw) {
        let pending = &mut self.pending;
        match raw {
            Raw::Bytes { t_us, cable, data } => {
                let index = usize::from(cable.as_int());
                if self.byte_decoders.len() <= index {
                    self.byte_decoders
                        .resize_with(index + 1, ByteStreamDecoder::new);
                }
                self.byte_decoders[index].feed(&data, |message| {
                    pending.push_back(InputEvent::Midi(MidiEvent {
                        t_us,
                        cable,
                        message: message.into(),
                    }));
                });
            }
            Raw::UsbTransfer { t_us, data } => {
                self.usb_decoder.feed(&data, |cable, message| {
                    pending.push_back(InputEvent::Midi(MidiEvent {
                        t_us,
                        cable,
                        message: message.into(),
                    }));
                });
            }
            Raw::Event(event) => pending.push_back(event),
            Raw::Wake => {}
        }
    }
}

/// Why midir could not connect a port: its words (it gives no more).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectFailed(pub midir::ConnectErrorKind);

/// Why an input could not be opened. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Nothing suitable was found by the automatic choice.
    #[error("no keyboard to listen to: {found}; choose one with {choices}")]
    NothingToListenTo {
        /// What was found instead, for people.
        found: String,
        /// The options that can name a source here (no `--port` where no
        /// system MIDI service runs).
        choices: &'static str,
    },
    /// The system MIDI service could not be opened. What the system says
    /// is wrong stands in for midir's own words ("MIDI support could not
    /// be initialized"), which are kept only when the system says nothing.
    #[error("the system MIDI service is unavailable: {problem}; or read a USB keyboard directly with --usb (--usb --detach while snd-usb-audio holds it)")]
    MidiService {
        /// What is wrong and what to do, as `list` says it.
        problem: String,
    },
    /// `--port` matched nothing.
    #[error("no MIDI input port matches \"{wanted}\" (available: {available}); `composer-probe list` shows the ports")]
    PortNotFound {
        /// What the user asked for.
        wanted: String,
        /// Port names there are.
        available: String,
    },
    /// The port exists but could not be connected.
    #[error("cannot connect to MIDI port \"{port}\"")]
    PortConnect {
        /// Port name.
        port: String,
        /// Why, in midir's words.
        #[source]
        source: ConnectFailed,
    },
    /// `--usb` matched a MIDI device that only receives.
    #[error("{0} sends no MIDI: its descriptor has no cable towards the computer (it can only receive MIDI)")]
    SendsNoMidi(String),
    /// `--usb` matched no device.
    #[error("no USB MIDI device matches {0}; `composer-probe list` shows what is connected")]
    UsbNotFound(String),
    /// `--usb` without a value, and no USB MIDI device at all.
    #[error("no USB MIDI device is connected; `composer-probe list --all` shows what is")]
    UsbNoneConnected,
    /// `--usb=VID:PID` or `--usb=BUS-PORT` names a device that is not MIDI.
    #[error("{0} is not a MIDI device; `composer-probe list` shows the MIDI devices connected")]
    UsbNotMidi(String),
    /// `--usb` without a value, and several devices could be meant.
    #[error("several USB MIDI devices are connected ({0}); pick one with --usb=VID:PID or --usb=BUS-PORT")]
    UsbAmbiguous(String),
    /// The device node may not be opened.
    #[error("no permission to open {node}: install the udev rule (`composer-probe list` prints the commands), then replug the keyboard")]
    UsbPermission {
        /// `/dev/bus/usb/BBB/DDD`.
        node: String,
    },
    /// The MIDI interface is held by a kernel driver or another program.
    #[error("the keyboard's MIDI interface is in use by {holder}; use its system port (--port), close the other program, or pass --detach to take it from the kernel driver")]
    UsbBusy {
        /// `snd-usb-audio` or "another program".
        holder: String,
    },
    /// `--detach` could not take the interface from the kernel driver.
    #[error("cannot take the MIDI interface from the kernel driver ({0}); use the keyboard's system port (--port) instead")]
    Detach(rusb::Error),
    /// The device vanished while opening it.
    #[error("the keyboard was unplugged while it was being opened")]
    UsbGone,
    /// Another libusb error.
    #[error("USB error while opening the keyboard")]
    Usb(#[from] rusb::Error),
    /// The USB bus could not be read.
    #[error(transparent)]
    UsbBus(#[from] crate::usb::UsbError),
    /// A MIDI file could not be used.
    #[error(transparent)]
    File(#[from] crate::record::read::FileError),
    /// The terminal could not be put in raw mode for `--keys`.
    #[error("cannot read the computer keyboard (--keys needs an interactive terminal)")]
    Terminal(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::message::ChannelMessage;

    fn info(name: &str) -> SourceInfo {
        SourceInfo {
            name: name.into(),
            via: Via::Keys,
            device: None,
        }
    }

    /// A source that releases a key as it stops, as the computer keyboard does.
    struct ReleasesOnStop(Feed);

    impl Drop for ReleasesOnStop {
        fn drop(&mut self) {
            self.0.bytes(u4::new(0), &[0x80, 48, 0]);
        }
    }

    /// (time, key, sounding) of the note events: the first `count` waited
    /// for up to 60 s each (a loaded machine may run the thread that hands
    /// them on late), then any more until the stream is quiet for 200 ms.
    fn notes(stream: &mut InputStream, count: usize) -> Vec<(u64, u8, bool)> {
        let mut found = Vec::new();
        loop {
            let wait = if found.len() < count { 60_000 } else { 200 };
            let Next::Event { event, .. } = stream.next_timeout(Duration::from_millis(wait)) else {
                return found;
            };
            if let InputEvent::Midi(MidiEvent {
                t_us,
                message: EventMessage::Channel { message, .. },
                ..
            }) = event
            {
                match message {
                    ChannelMessage::NoteOn { key, .. } => found.push((t_us, key.as_int(), true)),
                    ChannelMessage::NoteOff { key, .. } => found.push((t_us, key.as_int(), false)),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_switch_releases_the_old_source_first_and_times_never_go_back() {
        let mut stream = InputStream::start(info("old"), |feed| {
            feed.bytes(u4::new(0), &[0x90, 48, 100]);
            Ok(ReleasesOnStop(feed))
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // The new source is already playing before the switch.
        let next = InputStream::start(info("new"), |feed| {
            feed.bytes(u4::new(0), &[0x90, 72, 100]);
            Ok(())
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let switched_us = stream.switch_to(next);
        assert_eq!(stream.info().name, "new");
        let heard = notes(&mut stream, 3);
        let order: Vec<(u8, bool)> = heard.iter().map(|&(_, key, on)| (key, on)).collect();
        assert_eq!(order, [(48, true), (48, false), (72, true)], "{heard:?}");
        assert!(
            heard.windows(2).all(|w| w[0].0 <= w[1].0),
            "times go back: {heard:?}"
        );
        assert_eq!(heard[2].0, switched_us, "heard from the switch on");
        let held: Vec<u8> = stream.tracker().channel(u4::new(0)).held_keys().collect();
        assert_eq!(held, [72], "the tracker goes on across the switch");
    }
}
