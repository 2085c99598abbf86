//! The only place that opens an audio device (rodio on cpal: ALSA,
//! CoreAudio, WASAPI).

use rodio::cpal::traits::{DeviceTrait as _, HostTrait as _};
use rodio::cpal::BufferSize;
use rodio::cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use rodio::source::UniformSourceIterator;
use rodio::Source;
use std::num::NonZero;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// JACK was asked for and its library is not installed.
    #[error("JACK was asked for but no JACK library (libjack.so.0) is installed: install libjack-jackd2-0 and start jackd, or on PipeWire install pipewire-jack and run under `pw-jack`")]
    NoJackLibrary,
    /// JACK was asked for and no server answers.
    #[error("no JACK server is running: start one (e.g. `jackd -d alsa`), or on PipeWire run under `pw-jack`; or leave out --audio-host")]
    NoJackServer,
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
        /// The devices there are, as `--list-audio` prints them.
        available: String,
    },
    /// `--audio-device` is part of several devices' names.
    #[error("\"{wanted}\" is part of several audio output devices' names ({candidates}); give one of them whole")]
    DeviceAmbiguous {
        /// What the user asked for.
        wanted: String,
        /// The devices it would have matched.
        candidates: String,
    },
    /// The device exists but refused to open.
    #[error("cannot open the audio output \"{device}\" (use --wav FILE to write what would have been heard)")]
    Open {
        /// Device name.
        device: String,
        /// What cpal said.
        #[source]
        source: rodio::cpal::Error,
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

/// A source the device's callback can pull a whole buffer from: by
/// default sample by sample, as rodio does; the synth hands over whole
/// blocks (see `SynthSource`).
pub trait Pull: Source + Send {
    /// Fills `out` with the next interleaved samples (silence once the
    /// source has ended).
    fn pull(&mut self, out: &mut [f32]) {
        for sample in out {
            *sample = self.next().unwrap_or(0.0);
        }
    }

    /// Lets `frames` frames go by when they are certain to be silence,
    /// returning true (the caller writes the zeros itself); false: pull
    /// them. The idle callback's shortcut.
    fn skip_silence(&mut self, frames: usize) -> bool {
        let _ = frames;
        false
    }
}

/// Any rodio source converted to the device's rate and channels.
impl<S: Source<Item = f32> + Send> Pull for UniformSourceIterator<S> {}

/// What the device's callback plays: one source.
pub(super) type Playing = Box<dyn Pull>;

/// Samples the callback converts at a time for devices that do not take
/// `f32` (allocated before the stream starts).
pub(super) const SCRATCH_SAMPLES: usize = 1024;

/// The running stream: cpal's, or on JACK our own (see
/// [`super::jack_stream`]). Dropping it stops the sound.
enum OutputStream {
    Cpal(#[allow(dead_code)] rodio::cpal::Stream),
    #[cfg(feature = "jack")]
    Jack(#[allow(dead_code)] super::jack_stream::JackStream),
}

/// An open audio output playing into the speakers.
pub struct AudioOutput {
    _stream: OutputStream,
    /// Hands the source to the callback (lock-free; once).
    slot: rtrb::Producer<Playing>,
    channels: u16,
    timing: Arc<Timing>,
    /// The device's name.
    pub device_name: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Frames per buffer: what the device hands the callback (when it ran
    /// before `open` returned), else what was asked for, when fixed.
    pub buffer_frames: Option<u32>,
    /// Set when the requested buffer size was refused and the device's own
    /// was used, or the device runs another size than asked; see
    /// [`AudioOutput::note`].
    fallback_note: Option<String>,
    /// The sound server the device stands for, when it is one (JACK).
    server: Option<&'static str>,
}

/// What the audio callback learns about the device, for people: written
/// there without allocating or locking.
#[derive(Debug, Default)]
pub(super) struct Timing {
    /// Callbacks so far.
    pub(super) callbacks: AtomicU64,
    /// Frames the last callback filled.
    pub(super) frames: AtomicU64,
    /// Largest delay the device reported from a callback to its first
    /// frame being played (ALSA's `snd_pcm_delay`, what PipeWire's ALSA
    /// plugin counts of its graph, JACK's port latency), ns.
    pub(super) delay_ns: AtomicU64,
    /// The device or its server went away while playing (a JACK server
    /// stopped, an interface unplugged): no more sound comes out.
    pub(super) lost: AtomicBool,
}

impl Timing {
    /// Counts one error of the stream; one that means the device is gone
    /// also marks it lost.
    pub(super) fn stream_error(&self, gone: bool) {
        STREAM_ERRORS.fetch_add(1, Ordering::Relaxed);
        if gone {
            self.lost.store(true, Ordering::Release);
        }
    }
}

/// How long `open` waits for the device's first callbacks, to report what
/// the device really does.
const FIRST_CALLBACKS: Duration = Duration::from_millis(500);

/// Errors the audio device reported while playing (underruns, unplug).
pub static STREAM_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Whether an error cpal reported while playing means the device is gone.
fn means_gone(error: &rodio::cpal::Error) -> bool {
    use rodio::cpal::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::DeviceNotAvailable | ErrorKind::HostUnavailable | ErrorKind::StreamInvalidated
    )
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
            hint: if wanted.eq_ignore_ascii_case("jack") && !cfg!(feature = "jack") {
                "; this build left JACK out (`--no-default-features`): build with `--features jack`"
            } else {
                ""
            },
        })
}

/// On PipeWire's JACK (`pw-jack`), asks the graph for `buffer_frames`-frame
/// periods the way its JACK library takes a request: `PIPEWIRE_LATENCY`
/// (the node latency, as PipeWire's ALSA plugin derives it from the ALSA
/// period), unless the user set one. jackd ignores it and keeps its own
/// period, which [`open`] then adopts. Only for the JACK host; call it
/// before any thread starts (it sets an environment variable).
pub fn ask_pipewire_period(host: Option<&str>, buffer_frames: u32) {
    let jack = host.is_some_and(|h| h.eq_ignore_ascii_case("jack"));
    if jack && std::env::var_os("PIPEWIRE_LATENCY").is_none() {
        std::env::set_var("PIPEWIRE_LATENCY", format!("{buffer_frames}/48000"));
    }
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
    let name = host.id().name();
    match wanted_host {
        Some(_) if name == "JACK" && !jack_library_loads() => AudioError::NoJackLibrary,
        Some(_) if name == "JACK" => AudioError::NoJackServer,
        Some(_) => AudioError::NoDeviceOnHost {
            host: name.to_owned(),
        },
        None => AudioError::NoDevice,
    }
}

/// Whether the JACK library the `jack` crate opens at run time is there
/// (jackd2's, or PipeWire's under `pw-jack`).
#[cfg(target_os = "linux")]
fn jack_library_loads() -> bool {
    // SAFETY: dlopen/dlclose with a valid C string; the handle is closed
    // at once and nothing from the library is called.
    unsafe {
        let handle = libc::dlopen(c"libjack.so.0".as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
        if handle.is_null() {
            return false;
        }
        libc::dlclose(handle);
    }
    true
}

#[cfg(not(target_os = "linux"))]
fn jack_library_loads() -> bool {
    true
}

/// An output device as `--list-audio` shows it: the name the system
/// describes it by and its identifier (on ALSA the PCM name that `aplay -D`
/// takes: `default`, `pipewire`, `hw:CARD=PCH,DEV=0`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    /// What the system calls it ("Default Audio Device", "HDA Intel PCH, ALC892 Analog").
    pub name: String,
    /// The host's identifier (ALSA: the PCM name).
    pub id: String,
}

impl DeviceEntry {
    /// The line `--list-audio` prints: the name, then the identifier in
    /// brackets when it differs.
    pub fn label(&self) -> String {
        if self.name == self.id {
            self.name.clone()
        } else {
            format!("{} [{}]", self.name, self.id)
        }
    }
}

/// ALSA's short forms of a card's PCM name in the long form ALSA hints and
/// cpal list: `hw:1,0`, `hw:1` and `hw:CARD=1` are `hw:CARD=1,DEV=0`
/// (likewise `plughw:`, `sysdefault:`…). Anything else is returned as is.
pub fn canonical_alsa_name(name: &str) -> String {
    let Some((prefix, rest)) = name.split_once(':') else {
        return name.to_owned();
    };
    let (card, device) = match rest.split_once(',') {
        Some((card, device)) => (card.trim(), device.trim()),
        None => (rest.trim(), "DEV=0"),
    };
    let card = card.strip_prefix("CARD=").unwrap_or(card);
    let device = device.strip_prefix("DEV=").unwrap_or(device);
    if card.is_empty() || card.contains('=') || device.parse::<u32>().is_err() {
        return name.to_owned();
    }
    format!("{prefix}:CARD={card},DEV={device}")
}

/// Which of `devices` the user means by `wanted`, the way `aplay -D` and
/// fluidsynth take names, and more forgiving: first an exact match
/// (case-insensitive) of an identifier (ALSA short forms such as `hw:1,0`
/// included), a name, or a whole `--list-audio` line, the first listed
/// winning when several devices share a name; else the one device whose
/// line contains `wanted`. Several devices with that part: an error naming
/// them; none: an error naming all.
pub fn match_device(wanted: &str, devices: &[DeviceEntry]) -> Result<usize, AudioError> {
    let lower = wanted.trim().to_lowercase();
    let canonical = canonical_alsa_name(wanted.trim()).to_lowercase();
    let exact = devices.iter().position(|d| {
        let id = d.id.to_lowercase();
        id == lower
            || id == canonical
            || d.name.to_lowercase() == lower
            || d.label().to_lowercase() == lower
    });
    if let Some(index) = exact {
        return Ok(index);
    }
    let partial: Vec<usize> = (0..devices.len())
        .filter(|&i| devices[i].label().to_lowercase().contains(&lower))
        .collect();
    let mut ids: Vec<&str> = partial.iter().map(|&i| devices[i].id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let labels = |indices: &mut dyn Iterator<Item = usize>| {
        indices
            .map(|i| format!("\"{}\"", devices[i].label()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (partial.first(), ids.len()) {
        (Some(&first), 1) => Ok(first),
        (None, _) => Err(AudioError::DeviceNotFound {
            wanted: wanted.to_owned(),
            available: if devices.is_empty() {
                "none".to_owned()
            } else {
                labels(&mut (0..devices.len()))
            },
        }),
        _ => Err(AudioError::DeviceAmbiguous {
            wanted: wanted.to_owned(),
            candidates: labels(&mut partial.into_iter()),
        }),
    }
}

/// The output devices of `host` (else the default host), the default
/// device first.
pub fn list_devices(host: Option<&str>) -> Result<Vec<DeviceEntry>, AudioError> {
    crate::ports::quietly(|| {
        let host = self::host(host).map(|h| (h, host))?;
        Ok(devices(&host.0, host.1)?
            .into_iter()
            .map(|(_, entry)| entry)
            .collect())
    })
}

/// The host's output devices with their entries, the default first (its
/// entry also appears under the name the host's enumeration gives it).
fn devices(
    host: &rodio::cpal::Host,
    wanted_host: Option<&str>,
) -> Result<Vec<(rodio::cpal::Device, DeviceEntry)>, AudioError> {
    let mut devices: Vec<(rodio::cpal::Device, DeviceEntry)> = Vec::new();
    let mut push = |device: rodio::cpal::Device| {
        if let Some(entry) = entry(&device) {
            // A bare identifier adds nothing to a device already listed.
            let known = devices
                .iter()
                .any(|(_, e)| *e == entry || (e.id == entry.id && entry.name == entry.id));
            if !known {
                devices.push((device, entry));
            }
        }
    };
    if let Some(default) = host.default_output_device() {
        push(default);
    }
    match host.output_devices() {
        Ok(listed) => listed.for_each(&mut push),
        Err(_) if !devices.is_empty() => {}
        Err(_) => return Err(no_device(wanted_host, host)),
    }
    Ok(devices)
}

fn entry(device: &rodio::cpal::Device) -> Option<DeviceEntry> {
    let description = device.description().ok();
    if description.as_ref().map(|d| d.direction()) == Some(rodio::cpal::DeviceDirection::Input) {
        return None;
    }
    let name = description.map(|d| d.name().to_owned());
    let id = device.id().ok().map(|id| id.id().to_owned());
    match (name, id) {
        (Some(name), Some(id)) => Some(DeviceEntry { name, id }),
        (Some(only), None) | (None, Some(only)) => Some(DeviceEntry {
            name: only.clone(),
            id: only,
        }),
        (None, None) => None,
    }
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
    let (device, entry) = match choice.device.as_deref() {
        None => {
            let device = host.default_output_device().ok_or_else(no_device)?;
            let entry = entry(&device);
            (device, entry)
        }
        Some(wanted) => {
            let mut devices = devices(&host, choice.host.as_deref())?;
            let index = match_device(
                wanted,
                &devices.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
            )?;
            let (device, entry) = devices.swap_remove(index);
            (device, Some(entry))
        }
    };
    let name = entry.map_or_else(|| "default".to_owned(), |e| e.name);
    let refused = |source: rodio::cpal::Error| AudioError::Open {
        device: name.clone(),
        source,
    };
    let default = device.default_output_config().map_err(refused)?;
    let mut config = default.config();
    // A server with one period for everyone (JACK) takes no other: use its.
    let (buffer_frames, server_note) = match *default.buffer_size() {
        rodio::cpal::SupportedBufferSize::Range { min, max }
            if min == max && min != buffer_frames && min > 0 =>
        {
            let note = format!(
                "the server runs {min}-frame periods, not the {buffer_frames} asked for; using them"
            );
            (min, Some(note))
        }
        _ => (buffer_frames, None),
    };
    config.buffer_size = BufferSize::Fixed(buffer_frames);
    let timing = Arc::new(Timing::default());
    let (stream, slot, fallback_note) =
        match start_stream(&host, &device, &config, default.sample_format(), &timing) {
            Ok((stream, slot)) => (stream, slot, None),
            Err(error) => {
                config.buffer_size = BufferSize::Default;
                let (stream, slot) =
                    start_stream(&host, &device, &config, default.sample_format(), &timing)
                        .map_err(refused)?;
                let note = format!(
                    "the device refused {buffer_frames}-frame buffers ({}); using its default",
                    crate::error::chain(&error)
                );
                (stream, slot, Some(note))
            }
        };
    // What the device really does shows in its first callbacks.
    let started = Instant::now();
    while timing.callbacks.load(Ordering::Acquire) < 3 && started.elapsed() < FIRST_CALLBACKS {
        std::thread::sleep(Duration::from_millis(2));
    }
    let asked = match config.buffer_size {
        BufferSize::Fixed(frames) => Some(frames),
        BufferSize::Default => None,
    };
    let got = match timing.frames.load(Ordering::Acquire) {
        0 => None,
        frames => u32::try_from(frames).ok(),
    };
    let fallback_note = match (fallback_note, asked, got) {
        (None, Some(asked), Some(got)) if asked != got => Some(format!(
            "asked for {asked}-frame buffers, the device runs {got}"
        )),
        (note, ..) => note,
    };
    let fallback_note = fallback_note.or(server_note);
    Ok(AudioOutput {
        _stream: stream,
        slot,
        channels: config.channels,
        timing,
        sample_rate: config.sample_rate,
        buffer_frames: got.or(asked),
        server: (host.id().name() == "JACK").then_some("JACK server"),
        device_name: name,
        fallback_note,
    })
}

/// Builds and starts the output stream. Its callback plays silence until
/// [`AudioOutput::play`] hands it a source through the returned slot, then
/// pulls that source directly (no mixer: one source is all `play` has, and
/// rodio's mixer costs five times the synth's own idle work per sample), and
/// notes the device's timing.
fn start_stream(
    host: &rodio::cpal::Host,
    device: &rodio::cpal::Device,
    config: &StreamConfig,
    format: SampleFormat,
    timing: &Arc<Timing>,
) -> Result<(OutputStream, rtrb::Producer<Playing>), rodio::cpal::Error> {
    let (slot, handed) = rtrb::RingBuffer::new(1);
    #[cfg(feature = "jack")]
    if host.id().name() == "JACK" {
        let stream = super::jack_stream::start(handed, timing)?;
        return Ok((OutputStream::Jack(stream), slot));
    }
    let _ = host;
    let timing = Arc::clone(timing);
    let stream = match format {
        SampleFormat::I16 => build::<i16>(device, config, handed, timing),
        SampleFormat::I32 => build::<i32>(device, config, handed, timing),
        SampleFormat::U16 => build::<u16>(device, config, handed, timing),
        SampleFormat::U8 => build::<u8>(device, config, handed, timing),
        SampleFormat::F64 => build::<f64>(device, config, handed, timing),
        _ => build::<f32>(device, config, handed, timing),
    }?;
    rodio::cpal::traits::StreamTrait::play(&stream)?;
    Ok((OutputStream::Cpal(stream), slot))
}

fn build<T: SizedSample + FromSample<f32>>(
    device: &rodio::cpal::Device,
    config: &StreamConfig,
    mut handed: rtrb::Consumer<Playing>,
    timing: Arc<Timing>,
) -> Result<rodio::cpal::Stream, rodio::cpal::Error> {
    let channels = u64::from(config.channels.max(1));
    let errors = Arc::clone(&timing);
    let mut playing: Option<Playing> = None;
    let mut scratch = vec![0.0f32; SCRATCH_SAMPLES];
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], info| {
            // The slot holds at most one source, handed over once: taking
            // it neither allocates nor frees.
            if playing.is_none() {
                playing = handed.pop().ok();
            }
            let frames = data.len() / channels as usize;
            // Nothing to play, or silence to play: zeros.
            let silence = playing.as_mut().is_none_or(|s| s.skip_silence(frames));
            match playing.as_mut() {
                Some(source) if !silence => {
                    for chunk in data.chunks_mut(SCRATCH_SAMPLES) {
                        let samples = &mut scratch[..chunk.len()];
                        source.pull(samples);
                        for (sample, &value) in chunk.iter_mut().zip(samples.iter()) {
                            *sample = T::from_sample(value);
                        }
                    }
                }
                _ => data.fill(T::EQUILIBRIUM),
            }
            let stamp = info.timestamp();
            let delay = stamp.playback.saturating_duration_since(stamp.callback);
            let delay_ns = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
            timing.delay_ns.fetch_max(delay_ns, Ordering::Relaxed);
            timing
                .frames
                .store(data.len() as u64 / channels, Ordering::Relaxed);
            timing.callbacks.fetch_add(1, Ordering::Release);
        },
        move |error| errors.stream_error(means_gone(&error)),
        None,
    )
}

impl AudioOutput {
    /// Output latency in milliseconds: from a callback to its first frame
    /// being heard, as the device reports it (on ALSA `snd_pcm_delay`,
    /// which through PipeWire includes its quantum; on JACK the playback
    /// ports' latency), and never less than one buffer.
    pub fn latency_ms(&self) -> Option<f64> {
        let buffer_ms = self
            .buffer_frames
            .map(|frames| f64::from(frames) * 1000.0 / f64::from(self.sample_rate));
        let delay_ms = match self.timing.delay_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(ns as f64 / 1e6),
        };
        match (buffer_ms, delay_ms) {
            (Some(buffer), Some(delay)) => Some(buffer.max(delay)),
            (one, other) => one.or(other),
        }
    }

    /// Why the buffer or the latency is not what was asked for, in a few
    /// words, or `None`. Read with [`AudioOutput::latency_ms`]: a sound
    /// server can raise its period after the stream started (PipeWire
    /// applies another program's quantum on its own time), so the delay
    /// behind the note is the same one behind the printed latency.
    pub fn note(&self) -> Option<String> {
        if let Some(note) = &self.fallback_note {
            return Some(note.clone());
        }
        let buffer = u64::from(self.buffer_frames?);
        let delay = self.timing.delay_ns.load(Ordering::Relaxed) * u64::from(self.sample_rate)
            / 1_000_000_000;
        // A device queues up to two buffers of ours; more is a sound
        // server's period on top (PipeWire's quantum, raised by another
        // program or by its settings).
        (delay > 2 * buffer + buffer / 2).then(|| {
            format!(
                "the device reports {delay} frames from buffer to speaker: \
                 the sound server runs larger periods than {buffer} frames"
            )
        })
    }

    /// True once the device or its server went away while playing (a
    /// JACK server stopped, an interface unplugged): nothing is heard any
    /// more.
    pub fn lost(&self) -> bool {
        self.timing.lost.load(Ordering::Acquire)
    }

    /// What went away when [`AudioOutput::lost`], and what to do, in one
    /// line.
    pub fn lost_line(&self) -> String {
        let (what, again) = match self.server {
            Some(server) => (format!("the {server} stopped"), "start it"),
            None => (
                format!("the sound device \"{}\" went away", self.device_name),
                "plug it back in",
            ),
        };
        format!(
            "{what}: no more sound (what is played is still shown and recorded); \
             {again} and run play again"
        )
    }

    /// Starts playing `source` (the synth, or the latency probe around it).
    /// A source already at the device's rate and channel count is pulled
    /// as it is; any other is converted by rodio on the way. One source per
    /// output: a second call is ignored.
    pub fn play<S: Pull + 'static>(&mut self, source: S) {
        let matches = source.sample_rate().get() == self.sample_rate
            && source.channels().get() == self.channels;
        let playing: Playing = if matches {
            Box::new(source)
        } else {
            let channels = NonZero::new(self.channels).unwrap_or(NonZero::<u16>::MIN);
            let rate = NonZero::new(self.sample_rate).unwrap_or(NonZero::<u32>::MIN);
            Box::new(UniformSourceIterator::new(source, channels, rate))
        };
        // Full only after a first call: one source per output.
        let _ = self.slot.push(playing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, id: &str) -> DeviceEntry {
        DeviceEntry {
            name: name.to_owned(),
            id: id.to_owned(),
        }
    }

    /// What ALSA lists on a desktop with PipeWire and one sound card.
    fn desktop() -> Vec<DeviceEntry> {
        vec![
            entry("Default Audio Device", "default"),
            entry(
                "Discard all samples (playback) or generate zero samples (capture)",
                "null",
            ),
            entry("PipeWire Sound Server", "pipewire"),
            entry(
                "Default ALSA Output (currently PipeWire Media Server)",
                "default",
            ),
            entry("HDA Intel PCH, ALC892 Analog", "hw:CARD=PCH,DEV=0"),
            entry("HDA Intel PCH, ALC892 Analog", "plughw:CARD=PCH,DEV=0"),
            entry("HDA Intel PCH, HDMI 0", "hdmi:CARD=PCH,DEV=0"),
            entry("HDA Intel PCH, ALC892 Analog", "hw:CARD=0,DEV=0"),
            entry("HDA Intel PCH, ALC892 Analog", "plughw:CARD=0,DEV=0"),
        ]
    }

    fn id_of(wanted: &str) -> String {
        let devices = desktop();
        match match_device(wanted, &devices) {
            Ok(index) => devices[index].id.clone(),
            Err(error) => panic!("{wanted}: {error}"),
        }
    }

    #[test]
    fn every_listed_name_and_line_opens_its_device() {
        let devices = desktop();
        for (index, device) in devices.iter().enumerate() {
            let by_line = match_device(&device.label(), &devices).unwrap();
            assert_eq!(devices[by_line].id, device.id, "{}", device.label());
            let by_name = match_device(&device.name, &devices).unwrap();
            assert!(by_name <= index, "{}", device.name);
            assert_eq!(
                devices[match_device(&device.id, &devices).unwrap()].id,
                device.id
            );
        }
        assert_eq!(id_of("Default Audio Device"), "default");
        assert_eq!(id_of("default alsa output"), "default");
        assert_eq!(
            id_of("Default ALSA Output (currently PipeWire Media Server)"),
            "default"
        );
    }

    #[test]
    fn alsa_pcm_names_are_taken_as_aplay_takes_them() {
        assert_eq!(id_of("default"), "default");
        assert_eq!(id_of("pipewire"), "pipewire");
        assert_eq!(id_of("null"), "null");
        assert_eq!(id_of("hw:0,0"), "hw:CARD=0,DEV=0");
        assert_eq!(id_of("hw:0"), "hw:CARD=0,DEV=0");
        assert_eq!(id_of("plughw:0"), "plughw:CARD=0,DEV=0");
        assert_eq!(id_of("plughw:PCH,0"), "plughw:CARD=PCH,DEV=0");
        assert_eq!(id_of("hw:CARD=PCH,DEV=0"), "hw:CARD=PCH,DEV=0");
        assert_eq!(id_of("hdmi:CARD=PCH"), "hdmi:CARD=PCH,DEV=0");
        assert_eq!(id_of("HW:pch"), "hw:CARD=PCH,DEV=0");
        assert_eq!(id_of("HDMI"), "hdmi:CARD=PCH,DEV=0");
    }

    #[test]
    fn short_forms_become_alsa_long_names() {
        assert_eq!(canonical_alsa_name("hw:1,0"), "hw:CARD=1,DEV=0");
        assert_eq!(canonical_alsa_name("plughw:1"), "plughw:CARD=1,DEV=0");
        assert_eq!(canonical_alsa_name("hw:CARD=PCH"), "hw:CARD=PCH,DEV=0");
        assert_eq!(
            canonical_alsa_name("hw:CARD=PCH,DEV=3"),
            "hw:CARD=PCH,DEV=3"
        );
        assert_eq!(canonical_alsa_name("default"), "default");
        assert_eq!(
            canonical_alsa_name("surround51:CARD=PCH,DEV=0,X=1"),
            "surround51:CARD=PCH,DEV=0,X=1"
        );
        assert_eq!(canonical_alsa_name("hw:1,x"), "hw:1,x");
    }

    #[test]
    fn an_unknown_name_lists_every_device_and_an_ambiguous_part_lists_its_matches() {
        let devices = desktop();
        let error = match_device("hw:5,0", &devices).unwrap_err().to_string();
        assert!(
            error.starts_with("no audio output device matches \"hw:5,0\""),
            "{error}"
        );
        for device in &devices {
            assert!(error.contains(&device.label()), "{error}");
        }
        let error = match_device("alc892", &devices).unwrap_err().to_string();
        assert!(
            error.contains("\"alc892\" is part of several")
                && error.contains("[hw:CARD=PCH,DEV=0]")
                && error.contains("[plughw:CARD=0,DEV=0]")
                && !error.contains("HDMI")
                && !error.contains("PipeWire"),
            "{error}"
        );
        let error = match_device("x", &[]).unwrap_err().to_string();
        assert!(error.contains("available: none"), "{error}");
    }
}
