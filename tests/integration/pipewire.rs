//! `play` through a real PipeWire, as on a stock desktop: a headless
//! server (session bus, `pipewire`, `wireplumber`, a null sink) that each
//! test starts in private runtime folders and stops again, capturing what
//! reached the sink with a JACK recorder on PipeWire's JACK (`pw-jack
//! jack_rec`: `pw-record` drops buffers on a busy machine, a JACK client
//! does not).
//!
//! Needs Debian's `pipewire pipewire-bin wireplumber pipewire-alsa
//! pipewire-jack dbus jackd2` (`scripts/install-deps.sh test`); without
//! them the tests say so and pass.

use crate::sound::{pitch_hz, read_wav_with_python, scratch};
use crate::util::{stop, wait_until, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The sink the server plays into (nothing behind it).
const SINK: &str = "cp-test-sink";
/// Frames per second of the sink.
const RATE: u32 = 48_000;

/// A PipeWire server with its session bus and session manager, in a
/// private runtime folder. Dropping it stops exactly the processes it
/// started.
pub struct HeadlessPipewire {
    dir: PathBuf,
    children: Vec<Child>,
    _turn: MutexGuard<'static, ()>,
}

/// Held by the one running server.
static TURN: Mutex<()> = Mutex::new(());

/// The programs the server needs, or why they cannot run here.
fn missing_programs() -> Option<String> {
    let missing: Vec<&str> = [
        "dbus-daemon",
        "pipewire",
        "wireplumber",
        "pw-record",
        "wpctl",
    ]
    .into_iter()
    .filter(|program| {
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .map_or(true, |status| !status.success())
    })
    .collect();
    let alsa_plugin = ["/usr/share/alsa/alsa.conf.d/50-pipewire.conf"]
        .iter()
        .any(|path| Path::new(path).exists());
    match (missing.is_empty(), alsa_plugin) {
        (true, true) => None,
        (false, _) => Some(format!("{} not installed", missing.join(", "))),
        (true, false) => Some("pipewire-alsa not installed".to_owned()),
    }
}

impl HeadlessPipewire {
    /// Starts the server with a null sink at 48 kHz; `None` (with a
    /// printed reason) when PipeWire is not installed.
    pub fn start(name: &str) -> Option<HeadlessPipewire> {
        // One server at a time: two busy graphs on a small machine starve
        // each other.
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(reason) = missing_programs() {
            eprintln!(
                "skipped: no PipeWire here ({reason}; scripts/install-deps.sh test installs it)"
            );
            return None;
        }
        let dir = scratch(&format!("pw-{name}"));
        for sub in ["run", "config/pipewire/pipewire.conf.d", "state", "home"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(
            dir.join("config/pipewire/pipewire.conf.d/50-test-sink.conf"),
            format!(
                "context.objects = [\n  {{ factory = adapter\n    args = {{\n      \
                 factory.name = support.null-audio-sink\n      node.name = \"{SINK}\"\n      \
                 node.description = \"composer-probe test sink\"\n      \
                 media.class = \"Audio/Sink\"\n      audio.position = [ FL FR ]\n      \
                 audio.rate = {RATE}\n      object.linger = true\n    }}\n  }}\n]\n"
            ),
        )
        .unwrap();
        let mut server = HeadlessPipewire {
            dir,
            children: Vec::new(),
            _turn: turn,
        };
        let bus = server.dir.join("run/bus");
        server.spawn(
            Command::new("dbus-daemon")
                .arg("--session")
                .arg(format!("--address=unix:path={}", bus.display()))
                .arg("--nofork"),
        );
        wait_for("the session bus", || bus.exists());
        server.spawn(&mut Command::new("pipewire"));
        // A session manager started before the server listens gives up at
        // once, and no sink ever becomes the default.
        let socket = server.dir.join("run/pipewire-0");
        wait_for("PipeWire's socket", || socket.exists());
        server.spawn(&mut Command::new("wireplumber"));
        let mut manager_starts = 1;
        wait_for("the null sink to be the default", || {
            let is_default = server
                .command("wpctl")
                .args(["inspect", "@DEFAULT_AUDIO_SINK@"])
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(SINK));
            // Still, it may fail to start on a busy machine: start it again.
            let manager = server.children.last_mut().expect("wireplumber started");
            if !is_default && manager_starts < 3 && matches!(manager.try_wait(), Ok(Some(_))) {
                server.children.pop();
                server.spawn(&mut Command::new("wireplumber"));
                manager_starts += 1;
            }
            is_default
        });
        Some(server)
    }

    /// A command that talks to this server (and to no other), with an
    /// empty home: no `.asoundrc` of the user's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .env("HOME", self.dir.join("home"))
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.dir.join("run/bus").display()),
            )
            .env_remove("PIPEWIRE_REMOTE")
            .env_remove("PIPEWIRE_LATENCY")
            .env_remove("ALSA_CONFIG_PATH")
            .env_remove("RUST_BACKTRACE");
        command
    }

    /// The scratch folder of this server (removed when it stops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn spawn(&mut self, command: &mut Command) {
        let program = command.get_program().to_owned();
        let mut ours = self.command(&program);
        ours.args(command.get_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = ours
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program:?}: {e}"));
        self.children.push(child);
    }

    /// Starts a client of this server in the background.
    pub fn start_client(&self, command: &mut Command) -> Child {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("client starts")
    }

    /// Stops the processes this server started (newest first; SIGTERM,
    /// SIGKILL after 10 s) and reports whether all of them are gone.
    pub fn stop(mut self) -> bool {
        self.stop_children()
    }

    fn stop_children(&mut self) -> bool {
        let mut all_gone = true;
        while let Some(mut child) = self.children.pop() {
            let pid = child.id();
            stop(&mut child, libc::SIGTERM);
            // Reaped: no process of that number is left.
            all_gone &= !Path::new(&format!("/proc/{pid}")).exists();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        all_gone
    }
}

/// Waits until `ready`, at most 60 s (a busy machine starts PipeWire slowly).
fn wait_for(what: &str, ready: impl FnMut() -> bool) {
    wait_until(&format!("PipeWire: {what}"), Duration::from_secs(60), ready);
}

impl Drop for HeadlessPipewire {
    fn drop(&mut self) {
        self.stop_children();
    }
}

/// A format-0 MIDI file: `notes` as (key, start ms, length ms).
fn notes_file(path: &Path, notes: &[(u8, u32, u32)]) {
    // PPQ 1000 at 120 bpm: one tick = 0.5 ms.
    let mut events: Vec<(u32, [u8; 3])> = Vec::new();
    for &(key, start, length) in notes {
        events.push((start * 2, [0x90, key, 100]));
        events.push(((start + length) * 2, [0x80, key, 0]));
    }
    events.sort_by_key(|(tick, _)| *tick);
    let mut track = Vec::new();
    let mut now = 0;
    for (tick, bytes) in events {
        let mut value = tick - now;
        now = tick;
        let mut delta = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            delta.push(0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        delta.reverse();
        track.extend(delta);
        track.extend(bytes);
    }
    track.extend([0x00, 0xff, 0x2f, 0x00]);
    let mut bytes = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    std::fs::write(path, bytes).unwrap();
}

/// Records `seconds` of what reaches the sink into `wav` (16-bit stereo)
/// with `jack_rec` on PipeWire's JACK, once it is connected. It asks for
/// `quantum`-frame periods: PipeWire's JACK clients lock the quantum while
/// they run (`node.lock-quantum`), so the recorder must not hold another.
/// Its thread that writes the file is an ordinary one: it runs in front of
/// the other tests and gets a 5 s ring buffer instead of 0.34 s (starved
/// longer than that, it drops audio and the notes heard run together).
fn record_sink(server: &HeadlessPipewire, seconds: u32, wav: &Path, quantum: u32) -> Child {
    let mut command = server.command("pw-jack");
    command
        .env("PIPEWIRE_LATENCY", format!("{quantum}/{RATE}"))
        .args(["jack_rec", "-b", "16", "-B", "262144"])
        .args(["-d", &seconds.to_string(), "-f"])
        .arg(wav)
        .args([
            "composer-probe test sink:monitor_FL",
            "composer-probe test sink:monitor_FR",
        ]);
    in_front_of_other_tests(&mut command);
    let mut recorder = server.start_client(&mut command);
    wait_for("jack_rec to be connected", || {
        if let Ok(Some(status)) = recorder.try_wait() {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(recorder.stderr.as_mut().unwrap(), &mut stderr);
            panic!("jack_rec ended before recording ({status}): {stderr}");
        }
        server
            .command("pw-link")
            .arg("-l")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("jackrec:input2"))
    });
    recorder
}

/// Sounding stretches of `samples` (louder than 0.01; gaps under 300 ms
/// bridged, as a dropout of a debug build on a busy machine is not a new
/// note, and the notes are 600 ms apart): (first, last) sample.
fn sounds(samples: &[f32]) -> Vec<(usize, usize)> {
    let gap = RATE as usize * 3 / 10;
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.abs() <= 0.01 {
            continue;
        }
        match found.last_mut() {
            Some((_, last)) if i - *last < gap => *last = i,
            _ => found.push((i, i)),
        }
    }
    found
}

/// `composer-probe play` on this server, with `args` after `play`.
fn play(server: &HeadlessPipewire, args: &[&str]) -> Run {
    let output = server
        .command(env!("CARGO_BIN_EXE_composer-probe"))
        .arg("play")
        .args(args)
        .output()
        .expect("binary runs");
    Run::from_output(output)
}

/// Runs `command` at the priority PipeWire's `module-rt` gives its own
/// processes (nice -11; root only, elsewhere it runs as it is). What is
/// measured here is when play's notes reach the sink: the tests running
/// beside this one must not starve the recorder's thread that writes the
/// file.
fn in_front_of_other_tests(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: setpriority(2) is async-signal-safe; nothing else runs in
    // the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setpriority(libc::PRIO_PROCESS, 0, -11);
            Ok(())
        });
    }
}

/// [`in_front_of_other_tests`], and in real time: SCHED_FIFO at priority
/// 20, below PipeWire's own threads (88). Play's audio thread, starved by
/// the tests running beside this one, made blocks late and shifted the
/// notes after them (a dropout, which play reports, not a timing of its
/// own); nice -11 alone still left one late block in a few runs of 64
/// tests at once on two cores.
fn in_real_time(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    in_front_of_other_tests(command);
    // SAFETY: sched_setscheduler(2) is async-signal-safe and `param` lives
    // on the child's stack; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let param = libc::sched_param { sched_priority: 20 };
            libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
            Ok(())
        });
    }
}

/// A4, E5, A5: one second apart, after a second of silence (key, start
/// ms, length ms).
const NOTES: [(u8, u32, u32); 3] = [(69, 1000, 400), (76, 2000, 400), (81, 3000, 400)];

/// Plays [`NOTES`] with `play` and `args` (after `--file`) while recording
/// the sink; checks that every note is heard in tune, whole, and one second
/// after the last within a `quantum`-frame period. Returns what play said.
fn play_and_hear(server: &HeadlessPipewire, program: &[&str], args: &[&str], quantum: u32) -> Run {
    let midi = server.dir().join("notes.mid");
    notes_file(&midi, &NOTES);
    let wav = server.dir().join("heard.wav");
    // Eight seconds: the notes end at 3.4 s, after play has started, which
    // on a busy machine takes a while.
    let recorder = record_sink(server, 8, &wav, quantum);
    let binary = env!("CARGO_BIN_EXE_composer-probe");
    let mut command = server.command(program.first().copied().unwrap_or(binary));
    if !program.is_empty() {
        command.args(&program[1..]).arg(binary);
    }
    command
        .args(["play", "--preset", "organ", "--file"])
        .arg(&midi)
        .args(args);
    in_real_time(&mut command);
    let run = Run::from_output(command.output().expect("binary runs"));
    let recorded = recorder.wait_with_output().expect("jack_rec ends");
    let recorder_said = String::from_utf8_lossy(&recorded.stderr);
    assert!(recorded.status.success(), "{recorder_said}");
    // A recorder that dropped audio (it says so, and still exits 0) would
    // make any timing below a lie.
    assert!(
        !recorder_said.contains("overruns"),
        "jack_rec lost audio: {recorder_said}"
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    let (rate, left) = read_wav_with_python(&wav);
    assert_eq!(rate, RATE);
    let heard = sounds(&left);
    eprintln!(
        "heard (first, last sample): {heard:?}; play said: {}",
        run.stderr
    );
    assert_eq!(
        heard.len(),
        3,
        "three notes, apart: {heard:?}; {}",
        run.stderr
    );
    let period = f64::from(quantum) / f64::from(RATE);
    for (index, ((first, last), (key, _, length))) in heard.iter().zip(NOTES).enumerate() {
        let want = 440.0 * 2f64.powf((f64::from(key) - 69.0) / 12.0);
        let pitch = pitch_hz(&left[first + 2_400..], RATE);
        assert!(
            (pitch / want - 1.0).abs() < 0.01,
            "note {index}: {want:.1} Hz heard at {pitch:.1} Hz"
        );
        // Whole, within a period and the file player's 20 ms (below).
        let seconds = (last - first) as f64 / f64::from(RATE);
        assert!(
            seconds >= f64::from(length) / 1000.0 - period - 0.020,
            "note {index} lasts its {length} ms (plus release): {seconds:.3} s"
        );
    }
    // Notes one second apart are heard one second apart, within a period
    // and 20 ms (less than an ear notices; the file player's thread is not
    // real-time and the test machine is busy: a Note On it sends 10 ms late
    // makes its note 10 ms short).
    for pair in heard.windows(2) {
        let apart = (pair[1].0 - pair[0].0) as f64 / f64::from(RATE);
        assert!(
            (apart - 1.0).abs() <= period + 0.020,
            "one second apart, heard {apart:.4} s apart: {heard:?}"
        );
    }
    run
}

#[test]
fn play_through_alsa_into_pipewire_is_heard_in_tune_and_in_time() {
    let Some(server) = HeadlessPipewire::start("alsa") else {
        return;
    };
    // ALSA's `pipewire` PCM, as `aplay -D pipewire` takes it; 1024-frame
    // buffers, PipeWire's own default quantum.
    let run = play_and_hear(
        &server,
        &[],
        &["--audio-device", "pipewire", "--buffer", "1024"],
        1024,
    );
    assert!(
        run.stderr
            .contains("sound on \"PipeWire Sound Server\", 48000 Hz, 1024-frame buffer"),
        "{}",
        run.stderr
    );
    assert!(server.stop(), "the server's processes all stopped");
}

#[test]
fn play_through_pipewires_jack_is_heard_in_tune_and_in_time_at_the_buffer_asked() {
    let Some(server) = HeadlessPipewire::start("jack") else {
        return;
    };
    // PipeWire's default quantum is 1024; play asks for 256 (and so does
    // the recorder, which would otherwise lock the quantum at 1024).
    let run = play_and_hear(
        &server,
        &["pw-jack"],
        &["--audio-host", "jack", "--buffer", "256"],
        256,
    );
    assert!(
        run.stderr
            .contains("sound on \"JACK Output\", 48000 Hz, 256-frame buffer"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    assert!(server.stop(), "the server's processes all stopped");
}

/// The output latency `play` printed, ms.
fn printed_latency_ms(stderr: &str) -> f64 {
    stderr
        .split(" ms output latency")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("the output latency is printed: {stderr}"))
}

#[test]
fn the_latency_play_prints_counts_pipewires_quantum() {
    let Some(server) = HeadlessPipewire::start("latency") else {
        return;
    };
    let midi = server.dir().join("note.mid");
    notes_file(&midi, &[(69, 0, 100)]);
    let play_at = |buffer: &str| {
        let run = play(
            &server,
            &[
                "--file",
                midi.to_str().unwrap(),
                "--audio-device",
                "pipewire",
                "--buffer",
                buffer,
            ],
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run
    };
    // Asked for 128 frames, PipeWire runs its graph at 128 (the ALSA
    // period becomes the node's latency): a few ms, not the default
    // quantum's 21.3 ms.
    let run = play_at("128");
    let ms = printed_latency_ms(&run.stderr);
    assert!(
        (128.0 / 48.0..1024.0 / 48.0).contains(&ms),
        "128 frames through PipeWire: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    // Through PipeWire's JACK likewise: play asks for its buffer and gets it.
    let run = Run::from_output(
        server
            .command("pw-jack")
            .arg(env!("CARGO_BIN_EXE_composer-probe"))
            .args(["play", "--audio-host", "jack", "--buffer", "128", "--file"])
            .arg(&midi)
            .output()
            .expect("pw-jack runs"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("128-frame buffer, 2.7 ms output latency;"),
        "{}",
        run.stderr
    );
    // Another program holds the quantum at 1024: the printed latency
    // counts it, and a note says why it is higher than the buffer.
    let forced = server
        .command("pw-metadata")
        .args(["-n", "settings", "0", "clock.force-quantum", "1024"])
        .output()
        .expect("pw-metadata runs");
    assert!(forced.status.success());
    // The server applies the setting on its own time: a `play` started
    // in the same moment may still find the old quantum (about one run
    // in ten here), so it gets three starts.
    let mut run = play_at("128");
    for _ in 0..2 {
        if printed_latency_ms(&run.stderr) >= 1024.0 / 48.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        run = play_at("128");
    }
    let ms = printed_latency_ms(&run.stderr);
    assert!(
        ms >= 1024.0 / 48.0,
        "a 1024-frame quantum is in the printed latency: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("128-frame buffer")
            && run
                .stderr
                .contains("the sound server runs larger periods than 128 frames"),
        "{}",
        run.stderr
    );
    assert!(server.stop(), "the server's processes all stopped");
}
