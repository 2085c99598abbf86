//! `play --audio-host jack` in the default build: against a JACK server
//! running another period than `--buffer` (jackd's dummy driver, started
//! and stopped here), with no server, and with no JACK library at all.

use crate::util::{stop, wait_until, Run};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `jackd -d dummy` under a name of its own, stopped on drop. One at a
/// time: two jackd starting at once here can leave one never answering.
struct DummyJack {
    name: String,
    child: Child,
    _alone: std::sync::MutexGuard<'static, ()>,
}

static ONE_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl DummyJack {
    /// `None` (with a printed reason) when jackd is not installed.
    fn start(tag: &str, period: u32) -> Option<DummyJack> {
        let alone = ONE_SERVER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = format!("cp-test-{tag}-{}", std::process::id());
        let child = match Command::new("jackd")
            .args(["--no-realtime", "-n", &name, "-d", "dummy", "-r", "48000"])
            .args(["-p", &period.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                eprintln!("skipped: cannot start jackd ({error}; scripts/install-deps.sh test installs jackd2)");
                return None;
            }
        };
        let server = DummyJack {
            name,
            child,
            _alone: alone,
        };
        wait_until("jackd answering", Duration::from_secs(60), || {
            server
                .command("jack_lsp")
                .output()
                .is_ok_and(|out| out.status.success())
        });
        Some(server)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("JACK_DEFAULT_SERVER", &self.name)
            .env_remove("RUST_BACKTRACE")
            .env_remove("PIPEWIRE_LATENCY");
        command
    }
}

impl Drop for DummyJack {
    fn drop(&mut self) {
        stop(&mut self.child, libc::SIGTERM);
    }
}

/// Reads `pipe` to its end on another thread, handing each line to `tell`
/// as it comes: the whole text, when joined.
fn read_lines_in_background(
    pipe: impl std::io::Read + Send + 'static,
    tell: std::sync::mpsc::Sender<String>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(pipe)) {
            let line = line.unwrap();
            text.push_str(&line);
            text.push('\n');
            let _ = tell.send(line);
        }
        text
    })
}

fn play_keys_briefly(mut command: Command) -> Run {
    command
        .arg(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["play", "--audio-host", "jack", "--file"])
        .arg(crate::util::fixture("streams/running-status.mid"));
    Run::from_output(command.output().expect("binary runs"))
}

#[test]
fn a_jack_server_with_another_period_is_used_at_its_period() {
    let Some(server) = DummyJack::start("period", 256) else {
        return;
    };
    let mut command = server.command("env");
    command.arg("--");
    let run = play_keys_briefly(command);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sound on \"JACK Output\", 48000 Hz, 256-frame buffer")
            && run
                .stderr
                .contains("the server runs 256-frame periods, not the 128 asked for; using them"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn no_jack_server_is_one_clear_line() {
    let mut command = Command::new("env");
    command
        .env(
            "JACK_DEFAULT_SERVER",
            format!("cp-test-none-{}", std::process::id()),
        )
        .env_remove("RUST_BACKTRACE")
        .arg("--");
    let run = play_keys_briefly(command);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no JACK server is running"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_jack_library_is_one_clear_line() {
    // Hide libjack.so.0 from this one process: a private mount namespace
    // (root only) with /dev/null over every copy of the library.
    let libraries: Vec<String> = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|dir| format!("{dir}/libjack.so.0"))
    .filter(|path| std::path::Path::new(path).exists())
    .collect();
    let hide: String = libraries
        .iter()
        .map(|path| format!("mount --bind /dev/null {path} && "))
        .collect();
    let probe = Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !probe {
        eprintln!("skipped: cannot make a private mount namespace here (needs root and unshare)");
        return;
    }
    let mut command = Command::new("unshare");
    command
        .args(["-m", "sh", "-c", &format!("{hide}exec \"$@\""), "sh"])
        .env_remove("RUST_BACKTRACE");
    let run = play_keys_briefly(command);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no JACK library (libjack.so.0) is installed"),
        "{}",
        run.stderr
    );
}

/// A MIDI file of `notes` quarter notes, one every half second (C4 up).
fn half_second_notes(path: &std::path::Path, notes: u8) {
    // PPQ 1000 at the default 120 bpm: one tick = 0.5 ms.
    let mut track = Vec::new();
    for i in 0..notes {
        let on_delta: &[u8] = if i == 0 { &[0x00] } else { &[0x83, 0x10] }; // 400
        track.extend(on_delta);
        track.extend([0x90, 60 + i, 90, 0x84, 0x58, 0x80, 60 + i, 0]); // held 600
    }
    track.extend([0x00, 0xff, 0x2f, 0x00]);
    let mut bytes = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_jack_server_that_stops_mid_play_is_one_line_and_the_session_goes_on() {
    let Some(server) = DummyJack::start("stops", 128) else {
        return;
    };
    let dir = crate::sound::scratch("jack-stops");
    let midi = dir.join("notes.mid");
    half_second_notes(&midi, 8);
    let mut child = server
        .command(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["play", "--audio-host", "jack", "--file"])
        .arg(&midi)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // Stop the server once play has its stream (it says where the sound
    // goes) and plays the first note, not after a guess at how long
    // starting takes on this machine.
    let (tell, lines) = std::sync::mpsc::channel();
    let stdout = read_lines_in_background(child.stdout.take().unwrap(), tell.clone());
    let stderr = read_lines_in_background(child.stderr.take().unwrap(), tell);
    let (mut playing, mut first_note) = (false, false);
    let started = Instant::now();
    while !(playing && first_note) {
        let left = Duration::from_secs(60).saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) => {
                playing |= line.contains("sound on \"JACK Output\"");
                first_note |= line.contains("Note on");
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "play did not start playing on JACK within 60 s: {}",
                    stderr.join().unwrap()
                );
            }
        }
    }
    drop(server);
    let status = child.wait().unwrap();
    let run = Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the JACK server stopped: no more sound (what is played is still shown and recorded); \
             start it and run play again"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Every note of the file is still shown, the last well after the stop.
    assert_eq!(run.stdout.matches("Note on").count(), 8, "{}", run.stdout);
    assert!(run.stdout.contains("G4 (67)"), "{}", run.stdout);
    std::fs::remove_dir_all(dir).unwrap();
}
