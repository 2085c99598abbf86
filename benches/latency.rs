//! Key-to-sound latency of `play`'s own output path (input queue → synth
//! → rodio → cpal → JACK), against a paced JACK dummy server at 64, 128
//! and 256-frame periods (48 kHz, no hardware needed).
//!
//! For each period it starts `jackd -R -n NAME -d dummy -r 48000 -p P` (a
//! private server name, so a JACK server already running is left alone),
//! waits until `jack_lsp` answers, plays notes through
//! `composer_probe::audio::latency::measure` and stops the server. Notes go
//! in at random times (100–200 ms apart, each after the previous one has
//! died away); a note's latency is the time its first sample above −60
//! dBFS leaves through rodio (callback start + frame offset, on the input
//! clock) plus the server's playback latency (`jack_lsp -l`), minus the
//! time it was queued. Prints p50 / p99 /
//! max, jitter (p99 − p1, and the standard deviation), and dropouts: stream
//! errors (JACK xruns included) and callbacks that took longer than one
//! period.
//!
//! The server runs with real-time scheduling (`-R`, as JACK is used for
//! music) when the system allows it; `LATENCY_JACK=no-realtime` runs
//! `jackd --no-realtime` instead, whose timer thread is an ordinary thread:
//! on a busy machine its cycles then slip (JACK reports xruns) and the
//! figures measure the scheduler more than this program.
//!
//! `LATENCY_SERVER=pipewire`, run under `pw-jack` (as
//! `scripts/bench-latency.sh` does after the JACK run), measures through
//! PipeWire's JACK instead: for each period a headless PipeWire (session
//! bus, `pipewire`, `wireplumber`, a null sink, private runtime folders)
//! started here and stopped after, with no configuration but what `play`
//! asks for (`PIPEWIRE_LATENCY` = the period, see
//! `audio::device::ask_pipewire_period`). The playback latency added is
//! what PipeWire reports for its playback ports.
//!
//! Run with `scripts/bench-latency.sh` (installs JACK) or
//! `cargo bench --features jack --bench latency`. Knobs: `LATENCY_NOTES`
//! (default 200 per period), `LATENCY_PERIODS` (default `64,128,256`),
//! `LATENCY_JACK`, `LATENCY_SOUNDFONT` (a `.sf2` file, or `default` for an
//! installed GM SoundFont: the notes are played by its piano through
//! rustysynth, as `play --soundfont` does, instead of the built-in synth),
//! `LATENCY_PRESET` (a preset name such as `organ`, instead of the piano:
//! a SoundFont's piano samples take up to 2 ms to rise, an organ's do not). Under `cargo test` (no `--bench` argument) it does
//! nothing.

use composer_probe::audio::latency::{self, LatencyConfig, LatencyReport};
use composer_probe::synth::{EngineConfig, ParsePresetError, SoundFont};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Sample rate of the dummy server.
const RATE: u32 = 48_000;
/// Targets from the issue: p99 per period (frames → ms) and jitter.
const TARGETS: &[(u32, f64)] = &[(64, 5.0), (128, 10.0)];
const JITTER_TARGET_MS: f64 = 1.0;

/// A JACK server this benchmark started; stopped (SIGTERM, then SIGKILL)
/// when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(name: &str, period: u32, realtime: bool) -> Result<Server, String> {
        let log = std::env::temp_dir().join(format!("{name}-p{period}.log"));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let args = [
            if realtime { "-R" } else { "--no-realtime" }.to_owned(),
            "-n".to_owned(),
            name.to_owned(),
            "-d".to_owned(),
            "dummy".to_owned(),
            "-r".to_owned(),
            RATE.to_string(),
            "-p".to_owned(),
            period.to_string(),
        ];
        let command = format!("jackd {}", args.join(" "));
        let child = Command::new("jackd")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("`{command}` failed to start: {e} (install jackd2)"))?;
        let mut server = Server { child, log };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "`{command}` exited ({status}):\n{}",
                    server.log_text()
                ));
            }
            let ready = Command::new("jack_lsp")
                .args(["-s", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                if realtime
                    && server
                        .log_text()
                        .contains("Cannot use real-time scheduling")
                {
                    eprintln!("latency: jackd could not get real-time scheduling; it runs as an ordinary thread");
                }
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "`{command}` did not answer `jack_lsp -s {name}` within 10 s:\n{}",
                    server.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn periods() -> Vec<u32> {
    std::env::var("LATENCY_PERIODS")
        .ok()
        .map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .filter(|p: &Vec<u32>| !p.is_empty())
        .unwrap_or_else(|| vec![64, 128, 256])
}

/// The playback latency the server reports for its first playback port
/// (`jack_lsp -l`: "port playback latency = [ MIN MAX ] frames"), MAX.
fn playback_latency(name: &str) -> Option<u32> {
    let out = Command::new("jack_lsp")
        .args(["-s", name, "-l", "system:playback_1"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("playback latency"))?;
    let range = line.split('[').nth(1)?.split(']').next()?;
    range.split_whitespace().nth(1)?.parse().ok()
}

/// A headless PipeWire this benchmark started (session bus, pipewire,
/// wireplumber, a null sink), in private runtime folders this process
/// points its environment at; stopped when dropped.
struct Pipewire {
    dir: PathBuf,
    children: Vec<Child>,
}

impl Pipewire {
    fn start(tag: &str) -> Result<Pipewire, String> {
        let dir = std::env::temp_dir().join(format!("cp-latency-pw-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let conf = dir.join("config/pipewire/pipewire.conf.d");
        for sub in [dir.join("run"), dir.join("state"), conf.clone()] {
            std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        }
        std::fs::write(
            conf.join("50-null-sink.conf"),
            format!(
                "context.objects = [ {{ factory = adapter args = {{ \
                 factory.name = support.null-audio-sink node.name = \"cp-latency-sink\" \
                 media.class = \"Audio/Sink\" audio.position = [ FL FR ] \
                 audio.rate = {RATE} object.linger = true }} }} ]\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        // This process is the JACK client: its own environment names the server.
        let bus = dir.join("run/bus");
        std::env::set_var("XDG_RUNTIME_DIR", dir.join("run"));
        std::env::set_var("XDG_CONFIG_HOME", dir.join("config"));
        std::env::set_var("XDG_STATE_HOME", dir.join("state"));
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", bus.display()),
        );
        let mut server = Pipewire {
            dir,
            children: Vec::new(),
        };
        let address = format!("--address=unix:path={}", bus.display());
        for command in [
            vec!["dbus-daemon", "--session", &address, "--nofork"],
            vec!["pipewire"],
            vec!["wireplumber"],
        ] {
            let child = Command::new(command[0])
                .args(&command[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!(
                        "`{}` failed to start: {e} (install pipewire, wireplumber, dbus)",
                        command[0]
                    )
                })?;
            server.children.push(child);
            if command[0] == "dbus-daemon" {
                let started = Instant::now();
                while !bus.exists() && started.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        let started = Instant::now();
        loop {
            let ready = Command::new("wpctl")
                .args(["inspect", "@DEFAULT_AUDIO_SINK@"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cp-latency-sink"));
            if ready {
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("PipeWire's null sink did not appear within 20 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pipewire {
    fn drop(&mut self) {
        while let Some(mut child) = self.children.pop() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The playback latency PipeWire's JACK reports for the null sink's ports
/// (`jack_lsp -l`), MAX; at least one period, the graph cycle that carries
/// a buffer to the sink. (The null sink reports 0 frames, where jackd's
/// dummy driver reports two periods: the rows differ by that accounting.)
fn pipewire_playback_latency(period: u32) -> Option<u32> {
    let out = Command::new("jack_lsp")
        .args(["-l", "cp-latency-sink:playback_FL"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("playback latency"))?;
    let range = line.split('[').nth(1)?.split(']').next()?;
    let reported: u32 = range.split_whitespace().nth(1)?.parse().ok()?;
    Some(reported.max(period))
}

fn run_pipewire(period: u32, notes: usize) -> Result<LatencyReport, String> {
    let _server = Pipewire::start(&period.to_string())?;
    // What `play --audio-host jack --buffer PERIOD` asks of PipeWire.
    std::env::set_var("PIPEWIRE_LATENCY", format!("{period}/{RATE}"));
    let config = LatencyConfig {
        period_frames: period,
        notes,
        playback_latency_frames: pipewire_playback_latency(period),
        engine: engine()?,
        ..LatencyConfig::default()
    };
    latency::measure(&config).map_err(|e| e.to_string())
}

fn run(name: &str, period: u32, notes: usize, realtime: bool) -> Result<LatencyReport, String> {
    let _server = Server::start(name, period, realtime)?;
    let config = LatencyConfig {
        period_frames: period,
        notes,
        playback_latency_frames: playback_latency(name),
        engine: engine()?,
        ..LatencyConfig::default()
    };
    latency::measure(&config).map_err(|e| e.to_string())
}

/// The synth the notes play on: the built-in one, or the SoundFont
/// `LATENCY_SOUNDFONT` names (loaded once, before any stream starts).
fn engine() -> Result<EngineConfig, String> {
    let soundfont = match std::env::var_os("LATENCY_SOUNDFONT") {
        Some(path) => Some(SoundFont::load(path.as_ref()).map_err(|e| e.to_string())?),
        None => None,
    };
    let preset = match std::env::var("LATENCY_PRESET") {
        Ok(name) => name.parse().map_err(|e: ParsePresetError| e.to_string())?,
        Err(_) => EngineConfig::default().preset,
    };
    Ok(EngineConfig {
        soundfont,
        preset,
        ..EngineConfig::default()
    })
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn print_table(reports: &[LatencyReport], mode: &str) {
    println!();
    println!("key-to-sound latency, {mode}, {RATE} Hz; jitter = p99 − p1");
    let row = |cells: [&str; 10]| {
        println!(
            "{:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>7}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9]
        );
    };
    row([
        "period", "period", "p50", "p99", "max", "jitter", "sd", "stream", "late", "heard",
    ]);
    row([
        "frames", "ms", "ms", "ms", "ms", "ms", "ms", "errors", "cb", "/sent",
    ]);
    for r in reports {
        let s = r.summary();
        row([
            &r.period_frames.to_string(),
            &format!(
                "{:.2}",
                f64::from(r.period_frames) * 1000.0 / f64::from(r.sample_rate)
            ),
            &ms(s.map(|s| s.p50_ms)),
            &ms(s.map(|s| s.p99_ms)),
            &ms(s.map(|s| s.max_ms)),
            &ms(s.map(|s| s.jitter_ms())),
            &ms(s.map(|s| s.std_dev_ms)),
            &r.stream_errors.to_string(),
            &r.late_callbacks.to_string(),
            &format!("{}/{}", r.latencies_ns.len(), r.notes_sent),
        ]);
    }
    println!();
    for r in reports {
        let onset_ms = r.synth_onset_frames as f64 * 1000.0 / f64::from(r.sample_rate);
        println!(
            "p{}: {} callbacks (longest {:.3} ms); playback latency added {:.2} ms; \
             synth onset ≤ {} frames ({onset_ms:.3} ms); \
             odd-sized buffers {}, spurious onsets {}, dropped events {}",
            r.period_frames,
            r.callbacks,
            r.max_callback_ns as f64 / 1e6,
            r.output_latency_ns as f64 / 1e6,
            r.synth_onset_frames,
            r.odd_buffers,
            r.spurious,
            r.dropped_events,
        );
    }
    for &(period, target) in TARGETS {
        if let Some(s) = reports
            .iter()
            .find(|r| r.period_frames == period)
            .and_then(LatencyReport::summary)
        {
            println!(
                "target {period} frames: p99 {:.2} ms ≤ {target} ms {}; jitter {:.2} ms ≤ {JITTER_TARGET_MS} ms {}",
                s.p99_ms,
                if s.p99_ms <= target { "met" } else { "MISSED" },
                s.jitter_ms(),
                if s.jitter_ms() <= JITTER_TARGET_MS {
                    "met"
                } else {
                    "MISSED"
                },
            );
        }
    }
}

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        println!("latency: run with `cargo bench --features jack --bench latency`");
        return ExitCode::SUCCESS;
    }
    let notes = env_or("LATENCY_NOTES", 200usize);
    if std::env::var("LATENCY_SERVER").is_ok_and(|v| v == "pipewire") {
        return run_all(
            "PipeWire's JACK (pw-jack), headless, null sink",
            &mut |period| run_pipewire(period, notes),
        );
    }
    // libjack reads the server name from here; set before any thread starts.
    let name = format!("composer-probe-latency-{}", std::process::id());
    std::env::set_var("JACK_DEFAULT_SERVER", &name);
    let realtime = std::env::var("LATENCY_JACK").map_or(true, |v| v != "no-realtime");
    let mode = if realtime {
        "JACK dummy server (jackd -R: real-time scheduling)"
    } else {
        "JACK dummy server (jackd --no-realtime)"
    };
    run_all(mode, &mut |period| run(&name, period, notes, realtime))
}

/// Measures every period with `measure` and prints the table.
fn run_all(mode: &str, measure: &mut dyn FnMut(u32) -> Result<LatencyReport, String>) -> ExitCode {
    let notes = env_or("LATENCY_NOTES", 200usize);

    let mut reports = Vec::new();
    let mut failed = false;
    for period in periods() {
        eprintln!("latency: {period}-frame periods, {notes} notes…");
        match measure(period) {
            Ok(report) => reports.push(report),
            Err(error) => {
                eprintln!("latency: {period}-frame periods: {error}");
                failed = true;
            }
        }
    }
    let mut mode = mode.to_owned();
    if let Ok(font) = std::env::var("LATENCY_SOUNDFONT") {
        mode += &format!(", SoundFont {font}");
    }
    if let Ok(preset) = std::env::var("LATENCY_PRESET") {
        mode += &format!(", preset {preset}");
    }
    print_table(&reports, &mode);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
