//! The terminal keyboard, driven for real in tmux (send-keys, capture-pane).

use crate::sound::{capture_default_pcm, scratch};
use crate::util::wait_until;
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

/// A tmux session running one command, on a tmux server of its own (its
/// own socket, no configuration read): tests running at once never share
/// a server that one of them is shutting down. Killed when dropped.
struct Tmux {
    session: String,
    socket: std::path::PathBuf,
}

impl Tmux {
    fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let session = format!("cp-{name}-{}", std::process::id());
        let socket = std::env::temp_dir().join(format!("cp-tmux-{name}-{}", std::process::id()));
        let tmux = Tmux { session, socket };
        let status = tmux
            .tmux()
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &tmux.session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!("{command}; echo EXITED $?; sleep 60"))
            .status()
            .expect("tmux is installed");
        assert!(status.success());
        tmux
    }

    /// `tmux` talking to this session's server.
    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket);
        command
    }

    fn screen(&self) -> String {
        let output = self
            .tmux()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen contains `text` (at most 60 s: a loaded
    /// machine starts a debug build slowly); returns the screen.
    fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, 60)
    }

    /// Waits until the screen contains `text` (at most `secs`).
    fn wait_for_within(&self, text: &str, secs: u64) -> String {
        self.wait_until_within(|screen| screen.contains(text), secs)
    }

    /// Waits until the screen contains every one of `texts`: a frame is
    /// drawn from the top down, and a screen read in the middle of one has
    /// the first of them without the rest.
    fn wait_for_all(&self, texts: &[&str]) -> String {
        self.wait_until(|screen| texts.iter().all(|text| screen.contains(text)))
    }

    /// Waits until `ready` holds for the screen (at most 60 s); returns
    /// the last screen seen.
    fn wait_until(&self, ready: impl Fn(&str) -> bool) -> String {
        self.wait_until_within(ready, 60)
    }

    fn wait_until_within(&self, ready: impl Fn(&str) -> bool, secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if ready(&screen) || Instant::now() > until {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        self.tmux()
            .args(["send-keys", "-t", &self.session, keys])
            .status()
            .unwrap();
    }

    fn resize(&self, width: u16, height: u16) {
        self.tmux()
            .args([
                "resize-window",
                "-t",
                &self.session,
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
        let output = self
            .tmux()
            .args(["list-panes", "-t", &self.session, "-F", "#{pane_pid}"])
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
        let _ = self.tmux().arg("kill-server").status();
        let _ = std::fs::remove_file(&self.socket);
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
    let screen = tmux.wait_for_all(&["Pitch bend", "q quit"]);
    assert!(screen.contains("Keyboard A2–E6"), "{screen}");
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
    // Redrawn at the new size: no row wider than the window.
    let narrow = tmux.wait_until(|screen| {
        screen.lines().all(|l| l.chars().count() <= 80) && screen.contains("q quit")
    });
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
    let raw = capture_default_pcm(&dir);
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
        std::fs::metadata(&raw).is_ok_and(|m| m.len() > 0),
        "sound went out"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_status_line_counts_skipped_and_cut_off_input() {
    // Three malformed packets and a cut-off SysEx between good notes. With
    // --wait the view outlives the unplug (under umockdev the keyboard comes
    // straight back and plays the stream again, so the counts grow).
    let tmux = Tmux::start(
        "skipped",
        160,
        24,
        &format!(
            "NO_COLOR=1 ALSA_CONFIG_PATH=/dev/null umockdev-run -d {} -i /dev/bus/usb/001/005={} \
             -- {} monitor --tui --usb --wait",
            crate::util::fixture("akm322.umockdev").display(),
            crate::util::fixture("streams/akm322-malformed.ioctl").display(),
            binary()
        ),
    );
    let screen = tmux.wait_for("cut short");
    let status_line = screen.lines().next().unwrap();
    let shown = status_line
        .split_once("⚠ ")
        .map(|(_, problems)| problems.trim())
        .unwrap_or_else(|| panic!("no input problems on the status line:\n{screen}"));
    let (packets, sysex) = shown
        .split_once(" malformed USB-MIDI packets skipped, ")
        .unwrap_or_else(|| panic!("{shown}"));
    // A pass skips three packets and cuts one SysEx, the second packet
    // and the SysEx in the same transfer.
    let packets: u64 = packets.parse().unwrap();
    let (cut, _) = sysex
        .split_once(" SysEx message")
        .unwrap_or_else(|| panic!("{shown}"));
    let cut: u64 = cut.parse().unwrap();
    assert!(sysex.ends_with(" cut short"), "{shown}");
    assert!(
        cut >= 1 && (2 * cut..=3 * cut + 1).contains(&packets),
        "{shown}"
    );
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
}

#[test]
fn play_with_a_soundfont_shows_the_soundfont_instrument_in_the_status_line() {
    // FluidR3_GM (fluid-soundfont-gm): program 38 is its "Synth Bass 1",
    // 24 (the next preset, pluck) its "Nylon String Guitar".
    let dir = scratch("tui-soundfont");
    let midi = dir.join("bass.mid");
    held_chord_after(&midi, &[0x00, 0xc0, 38]);
    capture_default_pcm(&dir);
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

/// Whether `pid` ended within 30 s (gone, or a zombie nobody reaped yet).
fn ends_soon(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(30);
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
    tmux.keys("a");
    tmux.wait_for("C4 (60)");
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys("s");
    // Both notes shown: played, so they must be kept.
    let shown = tmux.wait_for("D4 (62)");
    assert!(shown.contains("C4 (60)"), "{shown}");
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
    tmux.keys("a");
    tmux.wait_for("C4 (60)");
    tmux.keys("s");
    let screen = tmux.wait_for("Note off         ch 1  D4 (62)");
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

#[test]
fn keys_with_the_output_redirected_write_only_events_to_it() {
    // `monitor --keys --json > file`: the terminal is still the instrument,
    // but no question to the terminal may land in the file (a JSON reader
    // would choke on it), nor hold up the start waiting for an answer that
    // went there.
    let dir = scratch("tui-keys-redirected");
    let out = dir.join("events.json");
    let tmux = Tmux::start(
        "keys-redirected",
        100,
        20,
        &format!(
            "ALSA_CONFIG_PATH=/dev/null {} monitor --keys --json > {}",
            env!("CARGO_BIN_EXE_composer-probe"),
            out.display()
        ),
    );
    tmux.wait_for("Ctrl+C stops");
    tmux.keys("a");
    wait_until("a written to the file", Duration::from_secs(10), || {
        std::fs::read_to_string(&out).is_ok_and(|text| text.contains("\"note_on\""))
    });
    tmux.keys("C-c");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    let written = std::fs::read(&out).unwrap();
    assert!(
        !written.contains(&0x1b),
        "terminal escapes in the output: {:?}",
        String::from_utf8_lossy(&written)
    );
    for line in String::from_utf8(written).unwrap().lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The text of one control in the panel: from its name to the end of its
/// column (the panel has two 40-column columns at 80 columns).
fn control<'a>(screen: &'a str, name: &str) -> &'a str {
    let line = screen
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no {name}:\n{screen}"));
    let start = line.find(name).unwrap();
    let rest = &line[start..];
    let end = rest
        .char_indices()
        .nth(38)
        .map_or(rest.len(), |(index, _)| index);
    rest[..end].trim_end()
}

#[test]
fn controllers_no_message_set_show_their_gm_default_or_not_yet_moved() {
    let (dir, tmux) = monitor_held_chord("defaults", 80, 24);
    let screen = tmux.wait_for("Pitch bend");
    // held_chord sets no controller the panel of an unknown keyboard shows.
    let volume = control(&screen, "Volume");
    assert!(
        volume.ends_with(" 100"),
        "GM volume 100: {volume:?}\n{screen}"
    );
    let expression = control(&screen, "Expression");
    assert!(
        expression.ends_with(" 127"),
        "GM expression 127: {expression:?}\n{screen}"
    );
    assert!(control(&screen, "Pan").ends_with(" 64"), "{screen}");
    for knob in ["Modulation", "Cutoff", "Resonance", "Reverb"] {
        assert!(
            control(&screen, knob).ends_with("not yet moved"),
            "{knob}:\n{screen}"
        );
    }
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// MIDI note number of a white key's name as the view writes it (C4 = 60).
fn white_note(name: &str) -> i32 {
    let semitone = match &name[..1] {
        "C" => 0,
        "D" => 2,
        "E" => 4,
        "F" => 5,
        "G" => 7,
        "A" => 9,
        "B" => 11,
        other => panic!("not a white key: {other} in {name}"),
    };
    (name[1..].parse::<i32>().unwrap() + 1) * 12 + semitone
}

#[test]
fn the_keyboard_header_names_the_keys_drawn_at_40_80_and_200_columns() {
    for width in [40, 80, 200] {
        let (dir, tmux) = monitor_held_chord(&format!("header-{width}"), width, 24);
        // The whole view is drawn ("Last" does not fit in 40 columns).
        let screen =
            tmux.wait_until(|screen| screen.contains(" Keyboard ") && screen.contains("q quit"));
        let lines: Vec<&str> = screen.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(" Keyboard "))
            .unwrap_or_else(|| panic!("no header at {width}:\n{screen}"));
        let range = lines[at]
            .split(" Keyboard ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap();
        let (lo, hi) = range.split_once('–').expect("LOW–HIGH");
        let (lo, hi) = (white_note(lo), white_note(hi));
        let whites_named = (lo..=hi)
            .filter(|n| ![1, 3, 6, 8, 10].contains(&(n % 12)))
            .count();
        // The bottom key row: one border left of each white key, one after.
        let borders = lines[at + 4].matches('│').count();
        assert_eq!(
            borders - 1,
            whites_named,
            "{width} columns: the header says {range}, the keys drawn differ:\n{screen}"
        );
        let cs_named = (lo..=hi).filter(|n| n % 12 == 0).count();
        let cs_drawn = lines[at + 5].matches('C').count();
        assert_eq!(cs_drawn, cs_named, "{width} columns, {range}:\n{screen}");
        tmux.keys("q");
        assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn monitor_tui_offers_only_what_monitor_can_do() {
    let (dir, tmux) = monitor_held_chord("monitor-keys", 80, 24);
    let screen = tmux.wait_for_all(&["Pitch bend", "? help"]);
    let hint = screen.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    assert_eq!(hint.trim_end(), "q quit  ? help", "{screen}");
    tmux.keys("?");
    let help = tmux.wait_for("this help");
    assert!(!help.contains("preset"), "no synth, no presets:\n{help}");
    tmux.keys("Escape");
    tmux.keys("]");
    std::thread::sleep(Duration::from_millis(500));
    let after = tmux.screen();
    assert!(!after.contains("preset"), "] does nothing:\n{after}");
    assert!(
        !after.contains("EXITED"),
        "Esc closed the help only:\n{after}"
    );
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The take files in `dir`.
fn takes_in(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("take-") && n.ends_with(".mid"))
        })
        .collect()
}

/// The notes (note_on with a velocity) of a MIDI file, as mido prints them.
fn notes_in(path: &Path) -> Vec<String> {
    let (_, _, messages) = crate::record::read_with_mido(path);
    messages
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.starts_with("note_on:") && !m.contains("velocity=0"))
        .collect()
}

#[test]
fn keys_in_the_view_reach_help_presets_and_the_buttons_and_show_octave_and_velocity() {
    let dir = scratch("tui-keys-view");
    let tmux = Tmux::start(
        "keys-view",
        100,
        30,
        &format!(
            "cd {dir} && HOME={dir} NO_COLOR=1 {} play --keys --wav out.wav",
            binary(),
            dir = dir.display()
        ),
    );
    let screen = tmux.wait_for_all(&["a=C4 vel 100", "z x octave"]);
    let status_line = screen.lines().next().unwrap();
    assert!(status_line.contains("a=C4 vel 100"), "{screen}");
    assert!(
        screen.contains("z x octave"),
        "the hint names the keys:\n{screen}"
    );
    tmux.keys("x");
    tmux.wait_for("a=C5 vel 100");
    tmux.keys("v");
    let screen = tmux.wait_for("a=C5 vel 116");
    assert!(
        screen.lines().next().unwrap().contains("a=C5 vel 116"),
        "{screen}"
    );
    tmux.keys("?");
    let help = tmux.wait_for_all(&["octave down, up", "next preset"]);
    assert!(help.contains("next preset"), "{help}");
    tmux.keys("Escape");
    let closed = tmux.wait_until(|screen| !screen.contains("octave down, up"));
    assert!(
        !closed.contains("octave down, up") && !closed.contains("EXITED"),
        "Esc closes the help first:\n{closed}"
    );
    tmux.keys("]");
    let switched = tmux.wait_for("♪ organ");
    assert!(
        switched.lines().next().unwrap().contains("♪ organ"),
        "] selects the next preset:\n{switched}"
    );
    tmux.keys("r");
    tmux.wait_for("● REC");
    tmux.keys("a");
    tmux.wait_for("C5 vel 116");
    std::thread::sleep(Duration::from_millis(800));
    tmux.keys("Space");
    let saved = tmux.wait_for("■ saved");
    assert!(!saved.contains("● REC"), "■ stopped the take:\n{saved}");
    tmux.keys("Enter");
    tmux.wait_for("▶ playing");
    tmux.keys("q");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    let takes = takes_in(&dir);
    assert_eq!(takes.len(), 1, "{takes:?}");
    let notes = notes_in(&takes[0]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("note=72") && notes[0].contains("velocity=116"),
        "a played C5 at velocity 116: {notes:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keys_without_the_view_have_buttons_and_say_octave_and_velocity_on_change() {
    let dir = scratch("tui-keys-lines");
    let take = dir.join("take.mid");
    let tmux = Tmux::start(
        "keys-buttons",
        120,
        30,
        &format!(
            "ALSA_CONFIG_PATH=/dev/null NO_COLOR=1 {} record {} --keys",
            binary(),
            take.display()
        ),
    );
    let start = tmux.wait_for("Enter ▶");
    assert!(start.contains("keys: r ● Space ■ Enter ▶"), "{start}");
    assert!(start.contains("z x octave, c v velocity"), "{start}");
    assert!(start.contains("keys: a = C4, velocity 100"), "{start}");
    tmux.keys("z");
    tmux.wait_for("keys: a = C3, velocity 100");
    tmux.keys("c");
    tmux.wait_for("keys: a = C3, velocity 84");
    tmux.keys("r");
    tmux.wait_for("● record (r) pressed");
    tmux.keys("a");
    tmux.wait_for("C3 (48)");
    std::thread::sleep(Duration::from_millis(800));
    tmux.keys("Space");
    let end = tmux.wait_for("EXITED");
    assert!(end.contains("EXITED 0"), "■ ends the recording:\n{end}");
    let notes = notes_in(&take);
    assert_eq!(notes.len(), 1, "{notes:?}\n{end}");
    assert!(
        notes[0].contains("note=48") && notes[0].contains("velocity=84"),
        "{notes:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `replug.py` in a tmux window: the DeepComposer plays its first stream
/// to `composer-probe ARGS`, and is unplugged 4 s after the start. The
/// program keeps the window's terminal (the script would give it pipes);
/// the script's report goes to `report.json` in `dir`.
fn unplugged_in_tmux(name: &str, dir: &Path, args: &str) -> Tmux {
    let fixture = crate::util::fixture;
    Tmux::start(
        name,
        100,
        24,
        &format!(
            "cd {dir} && HOME={dir} NO_COLOR=1 ALSA_CONFIG_PATH=/dev/null /usr/bin/python3 {script} \
             --device {device} --node /dev/bus/usb/001/005 --stream {stream} \
             --sleep 4 --unplug -- sh -c 'exec {} {args} >/dev/tty 2>&1' > report.json",
            binary(),
            dir = dir.display(),
            script = fixture("replug.py").display(),
            device = fixture("akm322.umockdev").display(),
            stream = fixture("streams/akm322-replug-before.ioctl").display(),
        ),
    )
}

/// The exit code `replug.py` reported for the program.
fn reported_code(dir: &Path) -> serde_json::Value {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["failure"], serde_json::Value::Null, "{report}");
    report["code"].clone()
}

#[test]
fn an_unplug_keeps_the_view_and_its_history_until_a_key_with_the_sound_already_saved() {
    let dir = scratch("tui-unplug");
    let tmux = unplugged_in_tmux("unplug", &dir, "play --usb --wav out.wav");
    let kept = tmux.wait_for_within("press any key to leave", 30);
    assert!(
        kept.contains("keyboard disconnected — press any key to leave"),
        "{kept}"
    );
    for part in ["Keyboard", "Events", "G4 (67)", "Last  G4 vel 80"] {
        assert!(kept.contains(part), "{part}: the history is kept:\n{kept}");
    }
    // Saved at the unplug, not when the view goes.
    let (_, samples) = crate::sound::read_wav_with_python(&dir.join("out.wav"));
    assert!(!samples.is_empty(), "the WAV is complete already");
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(tmux.screen().contains("press any key to leave"));
    tmux.keys("x");
    let after = tmux.wait_for("EXITED");
    assert!(!after.contains("press any key"), "the view went:\n{after}");
    assert!(
        after.contains("the keyboard was disconnected; everything played before it was kept"),
        "{after}"
    );
    assert_eq!(reported_code(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unplug_under_monitor_tui_does_not_claim_anything_was_kept() {
    let dir = scratch("tui-unplug-monitor");
    let tmux = unplugged_in_tmux("unplug-monitor", &dir, "monitor --usb --tui");
    tmux.wait_for_within("press any key to leave", 30);
    tmux.keys("Enter");
    let after = tmux.wait_for("EXITED");
    assert!(
        after.contains("composer-probe: the keyboard was disconnected\n"),
        "{after}"
    );
    assert!(!after.contains("kept"), "monitor keeps nothing:\n{after}");
    assert_eq!(reported_code(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_long_message_in_the_view_wraps_instead_of_losing_its_end() {
    // No MIDI keyboard: `play` says it plays the computer keyboard and
    // that a keyboard plugged in takes over; at 60 columns that sentence
    // is longer than a row and must be read whole.
    let dir = scratch("tui-wrap");
    let tmux = Tmux::start(
        "wrap",
        60,
        24,
        &format!(
            "cd {dir} && NO_COLOR=1 umockdev-run -d {fixture} -- env ALSA_CONFIG_PATH=/dev/null {} play --wav out.wav",
            binary(),
            dir = dir.display(),
            fixture = crate::util::fixture("empty-bus.umockdev").display(),
        ),
    );
    let screen = tmux.wait_for("preset piano");
    let events: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Events"))
        .skip(1)
        .collect();
    assert!(events.iter().all(|l| l.chars().count() <= 60), "{screen}");
    let text = events
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(
            "no MIDI keyboard found (no USB MIDI device is connected); playing the computer \
             keyboard — plug a MIDI keyboard in and it takes over"
        ),
        "{screen}"
    );
    assert!(
        text.contains("writing what would be heard to out.wav; preset piano"),
        "the next message follows:\n{screen}"
    );
    tmux.keys("Escape");
    assert!(tmux.wait_for("EXITED").contains("EXITED 0"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Times each thread of `pid` was switched in so far (schedstat's third
/// field), summed.
fn wakeups(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().nth(2)?.parse::<u64>().ok())
        .sum()
}

#[test]
fn an_open_view_nobody_plays_sleeps_until_a_key_and_still_quits_at_once() {
    let dir = scratch("tui-idle");
    let tmux = Tmux::start(
        "idle",
        100,
        30,
        &format!(
            "cd {dir} && HOME={dir} NO_COLOR=1 {} monitor --tui --keys",
            binary(),
            dir = dir.display()
        ),
    );
    tmux.wait_for("a=C4 vel 100");
    let pid = tmux.program_pid();
    std::thread::sleep(Duration::from_millis(1500));
    let before = wakeups(pid);
    std::thread::sleep(Duration::from_secs(4));
    let woken = wakeups(pid) - before;
    // The view's loop and the key reader used to look in ten times a
    // second each (80 in 4 s); now the loop's second is all there is.
    assert!(
        woken <= 12,
        "an unplayed view woke its threads {woken} times in 4 s"
    );
    // A key still arrives, and q still quits, at once.
    tmux.keys("x");
    tmux.wait_for_within("a=C5 vel 100", 2);
    tmux.keys("q");
    let after = tmux.wait_for_within("EXITED", 2);
    assert!(after.contains("EXITED 0"), "q quits at once:\n{after}");
    std::fs::remove_dir_all(dir).unwrap();
}
