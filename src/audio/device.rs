//! The only place that opens an audio device (rodio on cpal: ALSA,
//! CoreAudio, WASAPI).

use rodio::cpal::traits::{DeviceTrait as _, HostTrait as _};
use rodio::cpal::BufferSize;
use rodio::{DeviceSinkBuilder, MixerDeviceSink};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why audio output could not be opened. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The system has no output device at all.
    #[error("no audio output device found; use --wav FILE to write what would have been heard, or --list-audio to see the devices")]
    NoDevice,
    /// `--audio-host` named a host this build or system does not have.
    #[error("there is no \"{wanted}\" audio host in this build (available: {available}){hint}")]
    HostNotFound {
        /// What the user asked for.
        wanted: String,
        /// The hosts there are.
        available: String,
        /// How to get the host, when we know.
        hint: &'static str,
    },
    /// The host exists but could not be used.
    #[error("the {host} audio host is unavailable")]
    HostUnavailable {
        /// Host name.
        host: String,
        /// What cpal said.
        #[source]
        source: rodio::cpal::Error,
    },
    /// The host went away between listing and opening it.
    #[error("the {host} audio host is gone since it was listed")]
    HostGone {
        /// Host name.
        host: String,
    },
    /// A host other than the default has no output device.
    #[error("the {host} audio host has no output device; is its server running (for JACK: jackd or PipeWire's JACK)? Or leave out --audio-host")]
    NoDeviceOnHost {
        /// Host name.
        host: String,
    },
    /// `--audio-device` matched nothing.
    #[error(
        "no audio output device matches \"{wanted}\" (available: {available}); see --list-audio"
    )]
    DeviceNotFound {
        /// What the user asked for.
        wanted: String,
        /// The devices there are.
        available: String,
    },
    /// The device exists but refused to open.
    #[error("cannot open the audio output \"{device}\" (use --wav FILE to write what would have been heard)")]
    Open {
        /// Device name.
        device: String,
        /// What rodio and cpal said.
        #[source]
        source: rodio::DeviceSinkError,
    },
}

/// Which output to open and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChoice {
    /// Audio host (cpal's name for a sound system: ALSA, JACK, CoreAudio,
    /// WASAPI…), else the platform's default.
    pub host: Option<String>,
    /// Output device (a unique part of its name), else the host's default.
    pub device: Option<String>,
    /// Frames per buffer asked of the device.
    pub buffer_frames: u32,
}

impl OutputChoice {
    /// The default host's default device with `buffer_frames` per buffer.
    pub fn default_device(buffer_frames: u32) -> Self {
        OutputChoice {
            host: None,
            device: None,
            buffer_frames,
        }
    }
}

/// An open audio output playing into the speakers.
pub struct AudioOutput {
    sink: MixerDeviceSink,
    /// The device's name.
    pub device_name: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Frames per buffer, when fixed.
    pub buffer_frames: Option<u32>,
    /// Set when the requested buffer size was refused and the device's own was used.
    pub fallback_note: Option<String>,
}

/// Errors the audio device reported while playing (underruns, unplug).
pub static STREAM_ERRORS: AtomicU64 = AtomicU64::new(0);

fn count_stream_error(_error: rodio::cpal::Error) {
    STREAM_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// Names of the audio hosts this build can use, the default first.
pub fn host_names() -> Vec<&'static str> {
    let default = rodio::cpal::default_host().id();
    let mut ids = rodio::cpal::available_hosts();
    ids.sort_by_key(|id| *id != default);
    ids.into_iter().map(|id| id.name()).collect()
}

/// The canonical name of the host `wanted` names (case-insensitive).
pub fn resolve_host(wanted: &str) -> Result<&'static str, AudioError> {
    host_names()
        .into_iter()
        .find(|name| name.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| AudioError::HostNotFound {
            wanted: wanted.to_owned(),
            available: host_names().join(", "),
            hint: if wanted.eq_ignore_ascii_case("jack") {
                "; JACK output needs a build with `--features jack`"
            } else {
                ""
            },
        })
}

/// The host named `wanted` (case-insensitive), else the default one.
fn host(wanted: Option<&str>) -> Result<rodio::cpal::Host, AudioError> {
    let Some(wanted) = wanted else {
        return Ok(rodio::cpal::default_host());
    };
    let name = resolve_host(wanted)?;
    let id = rodio::cpal::available_hosts()
        .into_iter()
        .find(|id| id.name() == name)
        .ok_or_else(|| AudioError::HostGone {
            host: name.to_owned(),
        })?;
    rodio::cpal::host_from_id(id).map_err(|source| AudioError::HostUnavailable {
        host: name.to_owned(),
        source,
    })
}

/// The error for a host without output devices: on the default host it is
/// the plain "no audio output device"; on one the user chose, it asks
/// whether that host's server runs.
fn no_device(wanted_host: Option<&str>, host: &rodio::cpal::Host) -> AudioError {
    match wanted_host {
        Some(_) => AudioError::NoDeviceOnHost {
            host: host.id().name().to_owned(),
        },
        None => AudioError::NoDevice,
    }
}

/// Names of the output devices of `host` (else the default host), the
/// default device first.
pub fn list_devices(host: Option<&str>) -> Result<Vec<String>, AudioError> {
    crate::ports::quietly(|| list_devices_noisily(host))
}

fn list_devices_noisily(wanted_host: Option<&str>) -> Result<Vec<String>, AudioError> {
    let host = host(wanted_host)?;
    let default = host.default_output_device().and_then(|d| device_name(&d));
    let mut names: Vec<String> = host
        .output_devices()
        .map_err(|_| no_device(wanted_host, &host))?
        .filter_map(|d| device_name(&d))
        .collect();
    if let Some(default) = default {
        names.retain(|n| *n != default);
        names.insert(0, default);
    }
    Ok(names)
}

fn device_name(device: &rodio::cpal::Device) -> Option<String> {
    device.description().ok().map(|d| d.name().to_owned())
}

/// Opens the output `choice` names, asking for its buffer size; falls back
/// to the device's own buffer size, with a note, when that is refused.
pub fn open(choice: &OutputChoice) -> Result<AudioOutput, AudioError> {
    // ALSA prints its own complaints on stderr; our error says it in one line.
    crate::ports::quietly(|| open_noisily(choice))
}

fn open_noisily(choice: &OutputChoice) -> Result<AudioOutput, AudioError> {
    let host = host(choice.host.as_deref())?;
    let no_device = || no_device(choice.host.as_deref(), &host);
    let buffer_frames = choice.buffer_frames;
    let device = match choice.device.as_deref() {
        None => host.default_output_device().ok_or_else(no_device)?,
        Some(wanted) => {
            let devices: Vec<rodio::cpal::Device> =
                host.output_devices().map_err(|_| no_device())?.collect();
            let lower = wanted.to_lowercase();
            let found = devices
                .iter()
                .find(|d| device_name(d).is_some_and(|n| n.to_lowercase().contains(&lower)))
                .cloned();
            found.ok_or_else(|| AudioError::DeviceNotFound {
                wanted: wanted.to_owned(),
                available: devices
                    .iter()
                    .filter_map(device_name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?
        }
    };
    let name = device_name(&device).unwrap_or_else(|| "default".to_owned());
    let refused = |source: rodio::DeviceSinkError| AudioError::Open {
        device: name.clone(),
        source,
    };
    let fixed = DeviceSinkBuilder::from_device(device.clone())
        .map_err(refused)?
        .with_buffer_size(BufferSize::Fixed(buffer_frames))
        .with_error_callback(count_stream_error)
        .open_stream();
    let (mut sink, fallback_note) = match fixed {
        Ok(sink) => (sink, None),
        Err(error) => {
            let sink = DeviceSinkBuilder::from_device(device)
                .map_err(refused)?
                .with_error_callback(count_stream_error)
                .open_stream()
                .map_err(refused)?;
            let note = format!(
                "the device refused {buffer_frames}-frame buffers ({}); using its default",
                crate::error::chain(&error)
            );
            (sink, Some(note))
        }
    };
    sink.log_on_drop(false);
    let config = sink.config();
    let buffer = match config.buffer_size() {
        BufferSize::Fixed(frames) => Some(*frames),
        BufferSize::Default => None,
    };
    Ok(AudioOutput {
        sample_rate: config.sample_rate().get(),
        buffer_frames: buffer,
        device_name: name,
        fallback_note,
        sink,
    })
}

impl AudioOutput {
    /// Output latency of one buffer in milliseconds (the device may add its own).
    pub fn latency_ms(&self) -> Option<f64> {
        self.buffer_frames
            .map(|frames| f64::from(frames) * 1000.0 / f64::from(self.sample_rate))
    }

    /// Starts playing `source` (the synth, or the latency probe around it)
    /// through rodio's mixer.
    pub fn play(&self, source: impl rodio::Source + Send + 'static) {
        self.sink.mixer().add(source);
    }
}
