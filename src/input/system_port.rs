//! The operating system's MIDI input port (ALSA sequencer, CoreMIDI,
//! WinMM) via midir. midir reports no unplug, so a watcher thread checks
//! that the port still exists.

use super::worker::Worker;
use super::{Feed, InputError, InputEvent, InputStream, SourceInfo, Via};
use crate::decode::message::u4;
use crate::devices::KnownDevice;
use crate::ports::quietly;
use midir::{Ignore, MidiInput, MidiInputConnection, MidiInputPort};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

const CLIENT_NAME: &str = "composer-probe";
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// A port name without ALSA's trailing `client:port` numbers, which change
/// between boots and replugs.
fn stable_name(name: &str) -> &str {
    match name.rsplit_once(' ') {
        Some((head, tail))
            if tail.split(':').all(|n| n.parse::<u32>().is_ok()) && tail.contains(':') =>
        {
            head
        }
        _ => name,
    }
}

fn new_input() -> Result<MidiInput, InputError> {
    let mut input =
        quietly(|| MidiInput::new(CLIENT_NAME)).map_err(|error| InputError::MidiService {
            problem: crate::ports::service_problem().unwrap_or_else(|| error.to_string()),
        })?;
    input.ignore(Ignore::None);
    Ok(input)
}

/// Finds an input port by its exact id, exact name, or a unique
/// case-insensitive part of its name.
fn find_port(input: &MidiInput, wanted: &str) -> Result<(MidiInputPort, String), InputError> {
    let ports: Vec<(MidiInputPort, String)> = input
        .ports()
        .into_iter()
        .filter_map(|p| {
            let name = input.port_name(&p).ok()?;
            Some((p, name))
        })
        .collect();
    let lower = wanted.to_lowercase();
    let exact = ports
        .iter()
        .find(|(p, name)| p.id() == wanted || name == wanted || stable_name(name) == wanted);
    let partial: Vec<&(MidiInputPort, String)> = ports
        .iter()
        .filter(|(_, name)| name.to_lowercase().contains(&lower))
        .collect();
    match (exact, partial.as_slice()) {
        (Some(found), _) => Ok(found.clone()),
        (None, [found]) => Ok((*found).clone()),
        _ => Err(InputError::PortNotFound {
            wanted: wanted.to_owned(),
            available: if ports.is_empty() {
                "none".to_owned()
            } else {
                ports
                    .iter()
                    .map(|(_, n)| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
    }
}

fn connect(
    input: MidiInput,
    port: &MidiInputPort,
    name: &str,
    feed: Feed,
) -> Result<MidiInputConnection<Feed>, InputError> {
    input
        .connect(
            port,
            "composer-probe input",
            // Runs on midir's thread: copy the bytes and hand them on, nothing more.
            |_stamp, bytes, feed: &mut Feed| {
                feed.bytes(u4::new(0), bytes);
            },
            feed,
        )
        .map_err(|e| InputError::PortConnect {
            port: name.to_owned(),
            source: super::ConnectFailed(e.kind()),
        })
}

/// Opens a system MIDI input port by id or name. `device` is the known
/// keyboard behind it, if the caller matched one.
pub fn open(
    wanted: &str,
    device: Option<&'static KnownDevice>,
    wait: bool,
) -> Result<InputStream, InputError> {
    let input = new_input()?;
    let (port, name) = find_port(&input, wanted)?;
    let info = SourceInfo {
        name: stable_name(&name).to_owned(),
        via: Via::SystemPort,
        device,
    };
    InputStream::start(info, move |feed| {
        let connection = connect(input, &port, &name, feed.clone())?;
        Ok(spawn_watcher(
            connection,
            port.id(),
            stable_name(&name).to_owned(),
            wait,
            feed,
        ))
    })
}

fn spawn_watcher(
    connection: MidiInputConnection<Feed>,
    mut port_id: String,
    name: String,
    wait: bool,
    feed: Feed,
) -> Worker {
    Worker::spawn(move |stopped: &AtomicBool| {
        let mut connection = Some(connection);
        let Ok(watcher) = new_input() else { return };
        while !stopped.load(Ordering::Relaxed) {
            thread::sleep(WATCH_INTERVAL);
            let present = watcher.ports().iter().any(|p| p.id() == port_id);
            match (&connection, present) {
                (Some(_), false) => {
                    connection = None;
                    feed.event(InputEvent::Disconnected {
                        t_us: feed.now_us(),
                        reason: format!("keyboard disconnected (port \"{name}\" is gone)"),
                        failed: false,
                    });
                    if !wait {
                        return;
                    }
                }
                (None, _) => {
                    let again = new_input().and_then(|input| {
                        let (port, found) = find_port(&input, &name)?;
                        let id = port.id();
                        connect(input, &port, &found, feed.clone()).map(|c| (c, id))
                    });
                    if let Ok((reconnected, id)) = again {
                        connection = Some(reconnected);
                        port_id = id;
                        feed.event(InputEvent::Reconnected {
                            t_us: feed.now_us(),
                        });
                    }
                }
                (Some(_), true) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_names_drop_alsa_client_numbers() {
        assert_eq!(
            stable_name("AKM322:AKM322 MIDI 1 24:0"),
            "AKM322:AKM322 MIDI 1"
        );
        assert_eq!(stable_name("IAC Driver Bus 1"), "IAC Driver Bus 1");
    }
}
