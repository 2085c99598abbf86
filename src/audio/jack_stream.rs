//! The JACK host's output stream, on the `jack` crate directly.
//!
//! cpal finds the JACK server and its device (see [`super::device`]); the
//! stream itself is ours. cpal's JACK stream works out two timestamps and
//! each port's latency in every cycle, whether anyone reads them or not:
//! on an idle synth that was most of what `play` cost above an empty JACK
//! client. Here a cycle pulls the source, splits its frames onto the two
//! ports and counts; the ports' latency is read now and then.

use super::device::{Playing, Timing, SCRATCH_SAMPLES};
use jack::{AudioOut, Client, ClientOptions, Control, LatencyType, Port, ProcessScope};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A running JACK client playing into the server (stops when dropped).
pub struct JackStream {
    _client: jack::AsyncClient<Notifications, Process>,
}

/// How often (in cycles) the ports' playback latency is read again, after
/// every one of the first [`FIRST_LATENCY_READS`]: a graph that changes
/// (another program raising PipeWire's quantum) shows within seconds.
const LATENCY_EVERY: u64 = 512;
/// Cycles at the start whose latency is read each time (the ports are
/// connected just after the client starts).
const FIRST_LATENCY_READS: u64 = 16;

/// The client's name in the JACK graph (the server numbers a second one).
const CLIENT_NAME: &str = "composer-probe";

/// Opens a client on the running server, registers two output ports,
/// starts it and connects it to the system's playback ports. The callback
/// plays silence until a source comes through `handed`.
pub fn start(
    handed: rtrb::Consumer<Playing>,
    timing: &Arc<Timing>,
) -> Result<JackStream, jack::Error> {
    let (client, _status) = Client::new(CLIENT_NAME, ClientOptions::NO_START_SERVER)?;
    let ports = [
        client.register_port("out_0", AudioOut::default())?,
        client.register_port("out_1", AudioOut::default())?,
    ];
    let names: Vec<String> = ports.iter().filter_map(|p| p.name().ok()).collect();
    let process = Process {
        ports,
        handed,
        playing: None,
        scratch: vec![0.0; SCRATCH_SAMPLES].into_boxed_slice(),
        sample_rate: u64::from(client.sample_rate()),
        timing: Arc::clone(timing),
    };
    let notifications = Notifications {
        timing: Arc::clone(timing),
    };
    let client = client.activate_async(notifications, process)?;
    // As cpal did: our outputs to the system's playback ports, in order.
    let system =
        client
            .as_client()
            .ports(Some("system:playback_.*"), None, jack::PortFlags::empty());
    for (ours, theirs) in names.iter().zip(&system) {
        client.as_client().connect_ports_by_name(ours, theirs)?;
    }
    Ok(JackStream { _client: client })
}

/// The real-time side: nothing here allocates, locks or does I/O.
struct Process {
    ports: [Port<AudioOut>; 2],
    handed: rtrb::Consumer<Playing>,
    playing: Option<Playing>,
    scratch: Box<[f32]>,
    sample_rate: u64,
    timing: Arc<Timing>,
}

impl jack::ProcessHandler for Process {
    fn process(&mut self, _: &Client, scope: &ProcessScope) -> Control {
        // The slot holds at most one source, handed over once.
        if self.playing.is_none() {
            self.playing = self.handed.pop().ok();
        }
        let cycle = self.timing.callbacks.load(Ordering::Relaxed);
        if cycle < FIRST_LATENCY_READS || cycle % LATENCY_EVERY == 0 {
            let frames = self
                .ports
                .iter()
                .map(|port| u64::from(port.get_latency_range(LatencyType::Playback).1))
                .max()
                .unwrap_or(0);
            let ns = frames * 1_000_000_000 / self.sample_rate.max(1);
            self.timing.delay_ns.fetch_max(ns, Ordering::Relaxed);
        }
        let [left, right] = &mut self.ports;
        let (left, right) = (left.as_mut_slice(scope), right.as_mut_slice(scope));
        // Nothing to play, or silence to play: zeros.
        let silence = self
            .playing
            .as_mut()
            .is_none_or(|source| source.skip_silence(left.len()));
        match self.playing.as_mut() {
            Some(source) if !silence => {
                let frames = SCRATCH_SAMPLES / 2;
                for (left, right) in left.chunks_mut(frames).zip(right.chunks_mut(frames)) {
                    let samples = &mut self.scratch[..2 * left.len()];
                    source.pull(samples);
                    let split = left.iter_mut().zip(right.iter_mut());
                    for ((l, r), frame) in split.zip(samples.chunks_exact(2)) {
                        *l = frame[0];
                        *r = frame[1];
                    }
                }
            }
            _ => {
                left.fill(0.0);
                right.fill(0.0);
            }
        }
        self.timing
            .frames
            .store(u64::from(scope.n_frames()), Ordering::Relaxed);
        self.timing.callbacks.fetch_add(1, Ordering::Release);
        Control::Continue
    }
}

/// What the server tells the client: xruns count as stream errors (the
/// status line's dropouts); a server that stops leaves the output lost.
struct Notifications {
    timing: Arc<Timing>,
}

impl jack::NotificationHandler for Notifications {
    unsafe fn shutdown(&mut self, _: jack::ClientStatus, _: &str) {
        self.timing.stream_error(true);
    }

    fn xrun(&mut self, _: &Client) -> Control {
        self.timing.stream_error(false);
        Control::Continue
    }
}
