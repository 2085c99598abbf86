//! The terminal keyboard, driven for real in tmux (send-keys, capture-pane).

use crate::sound::scratch;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A MIDI file holding C4 (velocity 100) and E4 (60) for 30 s, with Knob 1
/// at 100 and the pitch wheel up.
fn held_chord(path: &Path) {
    held_chord_after(path, &[]);
}

/// [`held_chord`] after the events `first` (delta times included).
fn held_chord_after(path: &Path, first: &[u8]) {
    // PPQ 1000 at 120 bpm: one tick = 0.5 ms; 60000 ticks = 30 s (VLQ 83 D4 60).
    let mut track = first.to_vec();
    track.extend([
        0x00, 0x90, 60, 100, 0x00, 0x90, 64, 60, 0x00, 0xb0, 21, 100, 0x00, 0xe0, 0x00, 0x60, 0x83,
        0xd4, 0x60, 0x80, 60, 0, 0x00, 0x80, 64, 0, 0x00, 0xff, 0x2f, 0x00,
    ]);
    let mut bytes = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    std::fs::write(path, bytes).unwrap();
}

/// A tmux session running one command; killed when dropped.
struct Tmux(String);

impl Tmux {
    fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let session = format!("cp-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!("{command}; echo EXITED $?; sleep 60"))
            .status()
            .expect("tmux is installed");
        assert!(status.success());
        Tmux(session)
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen contains `text` (at most 10 s).
    fn wait_for(&self, text: &str) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(text) || Instant::now() > until {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.0, keys])
            .status()
            .unwrap();
    }

    fn resize(&self, width: u16, height: u16) {
        Command::new("tmux")
            .args([
                "resize-window",
                "-t",
                &self.0,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .status()
            .unwrap();
    }

    /// The program the session's shell started (its only child).
    fn program_pid(&self) -> u32 {
        let output = Command::new("tmux")
            .args(["list-panes", "-t", &self.0, "-F", "#{pane_pid}"])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no program under the shell {shell}"))
    }

    /// Closes the window: tmux hangs the terminal up under the program.
    fn close(self) {
        drop(self);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_composer-probe")
}

/// Columns of the keyboard's bottom row marked as held (`#`).
/// `monitor --tui` (monochrome) showing [`held_chord`] in a `width`×`height`
/// tmux window; returns the scratch directory and the session.
fn monitor_held_chord(name: &str, width: u16, height: u16) -> (std::path::PathBuf, Tmux) {
    let dir = scratch(&format!("tui-{name}"));
    let midi = dir.join("held.mid");
    held_chord(&midi);
    let tmux = Tmux::start(
        name,
        width,
        height,
        &format!(
            "NO_COLOR=1 ALSA_CONFIG_PATH=/dev/null {} monitor --tui --file {}",
            binary(),
            midi.display()
        ),
    );
    (dir, tmux)
}

fn held_columns(screen: &str) -> Vec<usize> {
    let keyboard: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Keyboard"))
        .skip(1)
        .take(4)
        .collect();
    let bottom = keyboard.last().expect("keyboard rows");
    bottom
        .chars()
        .enumerate()
        .filter(|(_, c)| *c == '#')
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn monitor_tui_lights_the_held_keys_and_q_restores_the_terminal() {
    let (dir, tmux) = monitor_held_chord("monitor", 80, 24);
    let screen = tmux.wait_for("Pitch bend");
    assert!(screen.contains("Keyboard C3–C6"), "{screen}");
    assert!(screen.contains("# held"), "monochrome legend: {screen}");
    // C4 and E4 are two white keys two apart: two separate marked runs.
    let columns = held_columns(&screen);
    assert!(!columns.is_empty(), "held keys are marked:\n{screen}");
    let runs = columns.windows(2).filter(|w| w[1] != w[0] + 1).count() + 1;
    assert_eq!(runs, 2, "C4 and E4 marked, nothing else:\n{screen}");
    let c4_label = screen
        .lines()
        .find(|l| l.contains("C4"))
        .unwrap()
        .find("C4")
        .unwrap();
    assert!(
        columns[0] <= c4_label + 1 && c4_label <= columns[0] + 3,
        "the first mark is at C4:\n{screen}"
    );
    assert!(screen.contains("Last  E4 vel 60"), "{screen}");
    assert!(screen.contains("+4096"), "pitch wheel: {screen}");
    assert!(screen.contains("q quit"), "{screen}");

    tmux.keys("q");
    let after = tmux.wait_for("EXITED");
    assert!(
        after.contains("EXITED 0"),
        "q quits with status 0:\n{after}"
    );
    assert!(
        !after.contains("Keyboard"),
        "the screen is restored:\n{after}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn resizing_from_120x30_to_80x24_keeps_a_sane_layout() {
    let (dir, tmux) = monitor_held_chord("resize", 120, 30);
    let wide = tmux.wait_for("Pitch bend");
    assert!(
        wide.lines().any(|l| l.chars().count() > 100),
        "uses the width:\n{wide}"
    );
    tmux.resize(80, 24);
    std::thread::sleep(Duration::from_millis(500));
    let narrow = tmux.screen();
    for part in ["Keyboard", "Controls", "Events", "q quit"] {
        assert!(
            narrow.contains(part),
            "{part} missing after resize:\n{narrow}"
        );
    }
    assert!(narrow.lines().all(|l| l.chars().count() <= 80));
    assert_eq!(
        held_columns(&narrow)
            .windows(2)
            .filter(|w| w[1] != w[0] + 1)
            .count()
            + 1,
        2,
        "{narrow}"
    );
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_shows_the_keyboard_and_its_sound_status_by_default_on_a_terminal() {
    let dir = scratch("tui-play");
    let midi = dir.join("held.mid");
    held_chord(&midi);
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            dir.join("out.raw").display()
        ),
    )
    .unwrap();
    let tmux = Tmux::start(
        "play",
        80,
        24,
        &format!(
            "cd {dir} && HOME={dir} NO_COLOR=1 {} play --file {}",
            binary(),
            midi.display(),
            dir = dir.display()
        ),
    );
    let screen = tmux.wait_for("Pitch bend");
    assert!(screen.contains("Keyboard"), "{screen}");
    let status_line = screen.lines().next().unwrap();
    assert!(
        status_line.contains("held.mid (MIDI file)"),
        "{status_line}"
    );
    assert!(
        status_line.contains("ms"),
        "latency in the status line: {status_line}"
    );
    assert!(
        status_line.contains("piano"),
        "preset in the status line: {status_line}"
    );
    tmux.keys("]");
    let switched = tmux.wait_for("♪ organ");
    assert!(
        switched.lines().next().unwrap().contains("organ"),
        "] selects the next preset:\n{switched}"
    );
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    assert!(
        std::fs::metadata(dir.join("out.raw")).is_ok_and(|m| m.len() > 0),
        "sound went out"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn play_with_a_soundfont_shows_the_soundfont_instrument_in_the_status_line() {
    // FluidR3_GM (fluid-soundfont-gm): program 38 is its "Synth Bass 1",
    // 24 (the next preset, pluck) its "Nylon String Guitar".
    let dir = scratch("tui-soundfont");
    let midi = dir.join("bass.mid");
    held_chord_after(&midi, &[0x00, 0xc0, 38]);
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            dir.join("out.raw").display()
        ),
    )
    .unwrap();
    let tmux = Tmux::start(
        "soundfont",
        100,
        24,
        &format!(
            "cd {dir} && HOME={dir} NO_COLOR=1 {} play --soundfont default --file {}",
            binary(),
            midi.display(),
            dir = dir.display()
        ),
    );
    let screen = tmux.wait_for("♪ Synth Bass 1");
    let status_line = screen.lines().next().unwrap_or_default();
    assert!(
        status_line.contains("♪ Synth Bass 1"),
        "the file's program, by the SoundFont's name: {screen}"
    );
    tmux.keys("]");
    let switched = tmux.wait_for("♪ Nylon String Guitar");
    assert!(
        switched
            .lines()
            .next()
            .is_some_and(|l| l.contains("♪ Nylon String Guitar")),
        "] selects the next preset, named by the SoundFont:\n{switched}"
    );
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Whether `pid` ended within 10 s (gone, or a zombie nobody reaped yet).
fn ends_soon(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')) => {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    false
}

#[test]
fn closing_the_window_ends_the_view_instead_of_spinning() {
    let (dir, tmux) = monitor_held_chord("hangup", 80, 24);
    tmux.wait_for("Pitch bend");
    let pid = tmux.program_pid();
    tmux.close();
    assert!(ends_soon(pid), "monitor --tui outlived its terminal");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn closing_the_window_mid_take_ends_the_recording_and_keeps_it() {
    let dir = scratch("tui-hangup-take");
    let take = dir.join("take.mid");
    let tmux = Tmux::start(
        "hangup-take",
        80,
        24,
        &format!(
            "ALSA_CONFIG_PATH=/dev/null {} record {} --keys",
            binary(),
            take.display()
        ),
    );
    tmux.wait_for("Esc quits");
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys("z");
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys("x");
    std::thread::sleep(Duration::from_millis(1_000));
    let pid = tmux.program_pid();
    tmux.close();
    assert!(ends_soon(pid), "record --keys outlived its terminal");
    let (_, _, messages) = crate::record::read_with_mido(&take);
    let notes = messages
        .iter()
        .filter(|(_, m)| m.starts_with("note_on:") && !m.contains("velocity=0"))
        .count();
    assert_eq!(notes, 2, "both notes kept: {messages:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keys_without_the_view_print_lines_not_a_staircase() {
    let tmux = Tmux::start(
        "keys-lines",
        100,
        20,
        &format!(
            "ALSA_CONFIG_PATH=/dev/null NO_COLOR=1 {} monitor --keys",
            env!("CARGO_BIN_EXE_composer-probe")
        ),
    );
    tmux.wait_for("Ctrl+C stops");
    tmux.keys("z");
    tmux.wait_for("C3 (48)");
    tmux.keys("x");
    let screen = tmux.wait_for("Note off         ch 1  D3 (50)");
    tmux.keys("Escape");
    assert!(
        screen.contains("listening to the computer keyboard;"),
        "named once:\n{screen}"
    );
    // Every event line starts at the left edge with its time, as aseqdump's do.
    let events: Vec<&str> = screen.lines().filter(|l| l.contains("Note")).collect();
    assert!(events.len() >= 4, "{screen}");
    for line in events {
        assert!(
            line.starts_with("    ") && line.trim_start().starts_with(|c: char| c.is_ascii_digit()),
            "a line that does not start at the left edge: {line:?}\n{screen}"
        );
    }
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
}
