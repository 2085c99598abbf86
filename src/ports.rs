//! The operating system's MIDI ports (ALSA sequencer, CoreMIDI, WinMM) as
//! midir sees them, with the sound card behind each where the OS says.

use serde::Serialize;

/// Whether the system MIDI service could be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum ServiceStatus {
    /// Ports were listed.
    Available,
    /// The service could not be opened; the text says why.
    Unavailable(String),
}

/// One MIDI port of the operating system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsPort {
    /// Port name as the OS gives it, e.g. `AKM322:AKM322 MIDI 1 24:0`.
    pub name: String,
    /// midir's port id (on Linux `client:port`, which can change between boots).
    pub id: String,
    /// The ALSA card behind the port, for kernel (hardware) ports on Linux.
    pub card: Option<u32>,
}

/// The system's MIDI inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MidiPorts {
    /// Whether the service answered.
    pub service: ServiceStatus,
    /// Ports we can read from (a keyboard's output shows up here).
    pub inputs: Vec<OsPort>,
    /// Ports we can send to.
    pub outputs: Vec<OsPort>,
}

const CLIENT_NAME: &str = "composer-probe";

/// Lists the system MIDI ports. Never fails: an unreachable service is
/// reported in [`MidiPorts::service`].
pub fn discover() -> MidiPorts {
    let unavailable = |reason: String| MidiPorts {
        service: ServiceStatus::Unavailable(reason),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    let input = match quietly(|| midir::MidiInput::new(CLIENT_NAME)) {
        Ok(input) => input,
        Err(error) => return unavailable(explain(&error.to_string())),
    };
    let output = match quietly(|| midir::MidiOutput::new(CLIENT_NAME)) {
        Ok(output) => output,
        Err(error) => return unavailable(explain(&error.to_string())),
    };
    let inputs = input
        .ports()
        .iter()
        .filter_map(|port| Some(os_port(input.port_name(port).ok()?, port.id())))
        .collect();
    let outputs = output
        .ports()
        .iter()
        .filter_map(|port| Some(os_port(output.port_name(port).ok()?, port.id())))
        .collect();
    MidiPorts {
        service: ServiceStatus::Available,
        inputs,
        outputs,
    }
}

fn os_port(name: String, id: String) -> OsPort {
    let card = alsa_card::of_port_id(&id);
    OsPort { name, id, card }
}

fn explain(error: &str) -> String {
    service_problem().unwrap_or_else(|| error.to_owned())
}

/// Why the system MIDI service cannot be opened, with what to do, where the
/// system says (on Linux: the ALSA sequencer's device node).
pub(crate) fn service_problem() -> Option<String> {
    if cfg!(target_os = "linux") {
        let seq = std::path::Path::new("/dev/snd/seq");
        if !seq.exists() {
            return Some("/dev/snd/seq is missing; run `sudo modprobe snd-seq`".into());
        }
        if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(seq)
            .is_err()
        {
            return Some("no permission on /dev/snd/seq; join the 'audio' group".into());
        }
    }
    None
}

/// Runs `open` with the MIDI library's own error printing silenced, so that
/// our one-line explanation is all the user sees.
pub(crate) fn quietly<T>(open: impl FnOnce() -> T) -> T {
    alsa_card::with_silenced_errors(open)
}

#[cfg(target_os = "linux")]
mod alsa_card {
    //! ALSA specifics, through the safe `alsa` crate: which card a
    //! sequencer client belongs to, and keeping alsa-lib's stderr messages
    //! out of sight.

    /// Runs `open` with alsa-lib's messages on this thread going to a
    /// buffer instead of stderr. The crate has no way to put the previous
    /// handler back, so the thread keeps a (fresh, empty) buffer afterwards.
    pub fn with_silenced_errors<T>(open: impl FnOnce() -> T) -> T {
        let _buffer = alsa::Output::local_error_handler();
        open()
    }

    /// The card of a kernel sequencer client, from midir's `client:port` id.
    pub fn of_port_id(id: &str) -> Option<u32> {
        let client: i32 = id.split(':').next()?.parse().ok()?;
        with_silenced_errors(|| {
            let seq = alsa::Seq::open(None, None, true).ok()?;
            let card = seq.get_any_client_info(client).ok()?.get_card().ok()?;
            u32::try_from(card).ok()
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod alsa_card {
    pub fn with_silenced_errors<T>(open: impl FnOnce() -> T) -> T {
        open()
    }

    pub fn of_port_id(_id: &str) -> Option<u32> {
        None
    }
}
