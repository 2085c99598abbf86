//! Choosing what to listen to: the flags the user gave, or the automatic
//! order (DeepComposer via its system port, then via USB, then any other
//! USB MIDI keyboard), a pure function of the [`Inventory`]. For `play`,
//! the computer keyboard stands in while no MIDI keyboard is there, and a
//! [`Watch`] looks for one to take over.

use super::usb::UsbSelector;
use super::worker::Worker;
use super::{file, keys, system_port, usb, Feed, InputError, InputStream};
use crate::devices;
use crate::inventory::{DeviceReport, Inventory, Status};
use crate::ports;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How often a [`Watch`] looks for a MIDI keyboard.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// The source the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChoice {
    /// Pick automatically.
    Auto,
    /// Pick automatically; with nothing to pick, play the computer
    /// keyboard (on a terminal) until a MIDI keyboard is plugged in, and
    /// again whenever it is unplugged (`play`).
    AutoOrKeys,
    /// `--port NAME|ID`.
    Port(String),
    /// `--usb[=VID:PID|BUS-PORT]`.
    Usb(UsbSelector),
    /// `--file FILE [--fast]`.
    File {
        /// The MIDI file.
        path: PathBuf,
        /// Replay as fast as possible instead of in real time.
        fast: bool,
    },
    /// `--keys`.
    Keys,
}

/// Everything that decides how the input is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputOptions {
    /// Which source.
    pub choice: SourceChoice,
    /// Take the MIDI interface from the kernel driver for direct USB.
    pub detach: bool,
    /// Keep going across an unplug, waiting for the same keyboard.
    pub wait: bool,
}

impl InputOptions {
    /// The same, except that the automatic choice falls back to the
    /// computer keyboard ([`SourceChoice::AutoOrKeys`]).
    pub fn falling_back_to_keys(self) -> Self {
        InputOptions {
            choice: match self.choice {
                SourceChoice::Auto => SourceChoice::AutoOrKeys,
                other => other,
            },
            ..self
        }
    }

    /// True when the computer keyboard stands in for a MIDI keyboard that
    /// is not there: the automatic choice of `play`, with standard input a
    /// terminal. (Under `--wait` an unplugged keyboard is waited for
    /// instead; the computer keyboard only plays until the first one.)
    pub fn keys_stand_in(&self) -> bool {
        self.choice == SourceChoice::AutoOrKeys && std::io::stdin().is_terminal()
    }
}

/// What is said whenever the computer keyboard starts standing in.
pub const TAKES_OVER: &str = "plug a MIDI keyboard in and it takes over";

/// Opens the input the options describe. Returns the stream and a sentence
/// saying what was picked (and why, for the automatic choice).
pub fn open(options: &InputOptions) -> Result<(InputStream, String), InputError> {
    let stream = match &options.choice {
        SourceChoice::Auto => return open_auto(options),
        SourceChoice::AutoOrKeys => {
            return match choose(&Inventory::discover(false), options.detach) {
                Ok(pick) => open_pick(pick, options),
                Err(found) if options.keys_stand_in() => Ok((
                    keys::open()?,
                    format!("no MIDI keyboard found ({found}); playing the computer keyboard — {TAKES_OVER}"),
                )),
                Err(found) => Err(nothing_to_listen_to(format!(
                    "{found} (and the computer keyboard plays only when standard input is a terminal)"
                ))),
            }
        }
        SourceChoice::Port(wanted) => {
            let device = Inventory::discover(false).known_device_of_port(wanted);
            system_port::open(wanted, device, options.wait)?
        }
        SourceChoice::Usb(selector) => usb::open(selector, options.detach, options.wait)?,
        SourceChoice::File { path, fast } => file::open(path, *fast)?,
        SourceChoice::Keys => keys::open()?,
    };
    let said = describe(&stream);
    Ok((stream, said))
}

fn describe(stream: &InputStream) -> String {
    let info = stream.info();
    if info.named_by_its_way_in() {
        format!("listening to the {}", info.name)
    } else {
        format!("listening to {} via {}", info.name, info.via.describe())
    }
}

/// What the automatic choice picked, and why, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pick {
    /// A device's system input port.
    Port {
        /// midir's port id.
        id: String,
        /// The device, for people.
        device: String,
        /// Its USB port path.
        port_path: String,
        /// What we know of the model.
        known: Option<&'static devices::KnownDevice>,
    },
    /// A device read directly over USB.
    Usb {
        /// Its USB port path.
        port_path: String,
        /// Why not through a system port.
        why: String,
    },
}

/// The automatic choice: known keyboards (the DeepComposer) first, each by
/// its system port when it has one, else directly over USB when that can
/// work (with `detach`, also from the kernel driver). `Err` says what was
/// found instead.
fn choose(inventory: &Inventory, detach: bool) -> Result<Pick, String> {
    let mut midi: Vec<&DeviceReport> = inventory
        .devices
        .iter()
        .filter(|d| d.sends_midi())
        .collect();
    // The sort is stable: otherwise the bus order stays.
    midi.sort_by_key(|d| d.known.is_none());
    for device in &midi {
        if let Some(port) = device.input_port() {
            return Ok(Pick::Port {
                id: port.id.clone(),
                device: device.name.clone(),
                port_path: device.port_path.clone(),
                known: devices::lookup(device.vendor_id, device.product_id),
            });
        }
        if usb_usable(device, detach) {
            let why = match &inventory.midi_service {
                ports::ServiceStatus::Available => "it has no system MIDI port".to_owned(),
                ports::ServiceStatus::Unavailable(reason) => {
                    format!("the system MIDI service is unavailable: {reason}")
                }
            };
            return Ok(Pick::Usb {
                port_path: device.port_path.clone(),
                why,
            });
        }
    }
    // MIDI devices that cannot send (they only receive) are named, not
    // passed over as if nothing were connected.
    let silent: Vec<String> = inventory
        .devices
        .iter()
        .filter(|d| d.status == Status::NoInput)
        .map(|d| format!("{} {}", d.name, d.verdict))
        .collect();
    Err(if midi.is_empty() {
        match &inventory.usb_error {
            Some(error) => format!("USB could not be read ({error})"),
            None if !silent.is_empty() => silent.join("; "),
            None => "no USB MIDI device is connected".to_owned(),
        }
    } else {
        midi.iter()
            .map(|d| format!("{} is {}", d.name, d.verdict))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Direct USB can work: the device is ready, or held by the kernel driver
/// and `--detach` may take it.
fn usb_usable(device: &DeviceReport, detach: bool) -> bool {
    match device.status {
        Status::Ready | Status::UsableWithProblems => true,
        Status::ClaimedByDriver => detach && device.access == crate::usb::Access::Granted,
        _ => false,
    }
}

/// Why the automatic choice would find no keyboard, without opening
/// anything; `None` when it would, or when a source was named.
pub fn missing_keyboard(options: &InputOptions) -> Option<InputError> {
    match options.choice {
        SourceChoice::Auto | SourceChoice::AutoOrKeys => {
            choose(&Inventory::discover(false), options.detach)
                .err()
                .map(nothing_to_listen_to)
        }
        _ => None,
    }
}

/// The automatic choice found no keyboard (`found` says what there is):
/// the error names only the options that can work here.
fn nothing_to_listen_to(found: String) -> InputError {
    let choices = if crate::ports::service_problem().is_some() {
        "--usb=VID:PID, --file FILE or --keys"
    } else {
        "--port NAME, --usb=VID:PID, --file FILE or --keys"
    };
    InputError::NothingToListenTo { found, choices }
}

fn open_auto(options: &InputOptions) -> Result<(InputStream, String), InputError> {
    let pick = choose(&Inventory::discover(false), options.detach).map_err(nothing_to_listen_to)?;
    open_pick(pick, options)
}

/// Looks for a MIDI keyboard on a thread of its own while the computer
/// keyboard stands in, and opens the one the automatic choice picks as
/// soon as it is there. Stops when dropped.
pub struct Watch {
    found: Receiver<(InputStream, String)>,
    _worker: Worker,
}

impl Watch {
    /// Starts looking, every half second; `wake` is woken when a keyboard
    /// was found and opened.
    pub fn start(options: &InputOptions, wake: Feed) -> Watch {
        let (sender, found) = mpsc::channel();
        let options = options.clone();
        let worker = Worker::spawn(move |stopped: &AtomicBool| {
            let mut next = Instant::now() + WATCH_INTERVAL;
            while !stopped.load(Ordering::Relaxed) {
                // Dropping the watch unparks it: it ends at once without
                // waking up in between.
                std::thread::park_timeout(next.saturating_duration_since(Instant::now()));
                if Instant::now() < next {
                    continue;
                }
                next = Instant::now() + WATCH_INTERVAL;
                let Ok(pick) = choose(&Inventory::discover(false), options.detach) else {
                    continue;
                };
                // One that cannot be opened yet (still settling) is tried again.
                if let Ok(opened) = open_pick(pick, &options) {
                    let _ = sender.send(opened);
                    wake.wake();
                    return;
                }
            }
        });
        Watch {
            found,
            _worker: worker,
        }
    }

    /// The keyboard that was plugged in, opened, and what was picked.
    pub fn found(&self) -> Option<(InputStream, String)> {
        self.found.try_recv().ok()
    }
}

/// Opens what the automatic choice picked.
fn open_pick(pick: Pick, options: &InputOptions) -> Result<(InputStream, String), InputError> {
    match pick {
        Pick::Port {
            id,
            device,
            port_path,
            known,
        } => {
            let stream = system_port::open(&id, known, options.wait)?;
            let said = format!(
                "{} (found {device} at USB port {port_path})",
                describe(&stream)
            );
            Ok((stream, said))
        }
        Pick::Usb { port_path, why } => {
            let selector = UsbSelector::PortPath(port_path.clone());
            let stream = usb::open(&selector, options.detach, options.wait)?;
            let said = format!("{} at USB port {port_path} ({why})", describe(&stream));
            Ok((stream, said))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::test_support::{keyboard, no_service, ports};
    use crate::usb::{Access, UsbDevice};

    const KEYBOARD: &str = "AWS DeepComposer keyboard (Midiplus AKM322)";

    /// Another maker's keyboard at port 1-2, readable directly.
    fn other_keyboard() -> UsbDevice {
        UsbDevice {
            vendor_id: 0x1234,
            product_id: 0x0001,
            port_path: "1-2".into(),
            product: Some("Other Keys".into()),
            sound_cards: Vec::new(),
            ..keyboard(None, Access::Granted)
        }
    }

    fn inventory(devices: Vec<UsbDevice>, ports: crate::ports::MidiPorts) -> Inventory {
        Inventory::build(Ok(devices), ports, false)
    }

    #[test]
    fn a_paired_system_port_comes_first() {
        let found = inventory(
            vec![keyboard(Some("snd-usb-audio"), Access::Granted)],
            ports(Some(2), "AKM322:AKM322 MIDI 1 24:0"),
        );
        let Ok(Pick::Port {
            id,
            device,
            port_path,
            known,
        }) = choose(&found, false)
        else {
            panic!("{:?}", choose(&found, false));
        };
        assert_eq!(
            (id.as_str(), device.as_str(), port_path.as_str()),
            ("24:0", KEYBOARD, "1-1")
        );
        assert_eq!(known.map(|k| k.name), Some(KEYBOARD));
    }

    #[test]
    fn without_a_port_a_free_interface_is_read_directly() {
        let found = inventory(vec![keyboard(None, Access::Granted)], no_service());
        assert_eq!(
            choose(&found, false),
            Ok(Pick::Usb {
                port_path: "1-1".into(),
                why: "the system MIDI service is unavailable: /dev/snd/seq is missing; \
                      run `sudo modprobe snd-seq`"
                    .into(),
            })
        );
    }

    #[test]
    fn a_driver_held_interface_needs_detach() {
        let found = inventory(
            vec![keyboard(Some("snd-usb-audio"), Access::Granted)],
            no_service(),
        );
        assert_eq!(
            choose(&found, false),
            Err(format!(
                "{KEYBOARD} is claimed by snd-usb-audio, and the system MIDI service is \
                 unavailable (/dev/snd/seq is missing; run `sudo modprobe snd-seq`); or read \
                 it with --usb --detach"
            ))
        );
        assert!(matches!(choose(&found, true), Ok(Pick::Usb { .. })));
        let denied = inventory(
            vec![keyboard(Some("snd-usb-audio"), Access::Denied)],
            no_service(),
        );
        assert!(choose(&denied, true).is_err(), "detach needs access");
    }

    #[test]
    fn the_known_keyboard_wins_over_one_found_earlier() {
        let found = inventory(
            vec![other_keyboard(), keyboard(None, Access::Granted)],
            no_service(),
        );
        assert!(matches!(
            choose(&found, false),
            Ok(Pick::Usb { port_path, .. }) if port_path == "1-1"
        ));
        let only_other = inventory(vec![other_keyboard()], no_service());
        assert!(matches!(
            choose(&only_other, false),
            Ok(Pick::Usb { port_path, .. }) if port_path == "1-2"
        ));
    }

    #[test]
    fn nothing_found_says_what_there_is() {
        assert_eq!(
            choose(&inventory(Vec::new(), no_service()), false),
            Err("no USB MIDI device is connected".into())
        );
        let unreadable = Inventory::build(Err("no USB".into()), no_service(), false);
        assert_eq!(
            choose(&unreadable, false),
            Err("USB could not be read (no USB)".into())
        );
        let denied = inventory(vec![keyboard(None, Access::Denied)], no_service());
        assert_eq!(
            choose(&denied, false),
            Err(format!(
                "{KEYBOARD} is no permission: install the udev rule"
            ))
        );
    }
}
