//! What a command-line user expects besides the commands themselves: shell
//! completions and a manual page, generated from the same option types.

use std::process::Command;

/// Runs `sh -c SCRIPT` with `$PROBE` naming the binary; returns stdout.
fn shell(shell: &str, script: &str) -> String {
    let output = Command::new(shell)
        .args(["-c", script])
        .env("PROBE", env!("CARGO_BIN_EXE_composer-probe"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env_remove("MANOPT")
        .output()
        .expect("the shell runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{script}: {stdout}\n{stderr}");
    stdout
}

#[test]
fn bash_completes_subcommands_and_options() {
    // What bash does when the user presses Tab after `composer-probe pl`
    // and after `composer-probe play --buf`.
    let script = r#"
        source <("$PROBE" completions bash)
        complete -p composer-probe
        complete_fn=$(complete -p composer-probe | sed 's/.*-F \([^ ]*\).*/\1/')
        COMP_WORDS=(composer-probe pl); COMP_CWORD=1; "$complete_fn" composer-probe pl composer-probe
        echo "subcommands: ${COMPREPLY[*]}"
        COMP_WORDS=(composer-probe play --buf); COMP_CWORD=2; "$complete_fn" composer-probe --buf play
        echo "options: ${COMPREPLY[*]}"
    "#;
    let out = shell("bash", script);
    assert!(
        out.contains("complete ") && out.contains(" composer-probe"),
        "{out}"
    );
    assert!(out.contains("subcommands: play"), "{out}");
    assert!(out.contains("options: --buffer"), "{out}");
}

#[test]
fn every_shell_clap_knows_gets_a_script() {
    for (name, marker) in [
        ("zsh", "#compdef composer-probe"),
        ("fish", "complete -c composer-probe"),
        ("elvish", "edit:completion:arg-completer[composer-probe]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = shell("sh", &format!("\"$PROBE\" completions {name}"));
        assert!(out.contains(marker), "{name}: {out}");
        assert!(out.contains("audio-device"), "{name} completes options");
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_manual_page_reads_in_man_and_covers_every_subcommand() {
    let page = shell("sh", r#""$PROBE" man | man -l -"#);
    for section in [
        "NAME",
        "SYNOPSIS",
        "COMPOSER-PROBE PLAY",
        "COMPOSER-PROBE RECORD",
        "COMPOSER-PROBE LIST",
    ] {
        assert!(page.contains(section), "{section} missing from:\n{page}");
    }
    assert!(
        page.contains("--buffer <FRAMES>"),
        "play's options are described"
    );
    // groff finds nothing wrong with the roff (preconv turns UTF-8 into roff escapes first).
    let warnings = shell(
        "sh",
        r#""$PROBE" man | preconv | groff -man -Tutf8 -ww -z 2>&1"#,
    );
    assert_eq!(warnings, "", "groff warnings");
}

#[test]
fn every_option_with_a_bad_value_is_a_usage_error_with_status_2() {
    // (arguments, what the one-line error must say); checked before any
    // device, file or sound is touched.
    let cases: &[(&[&str], &str)] = &[
        (&["monitor", "--channel", "17"], "channels are 1 to 16"),
        (&["monitor", "--channel", "4-1"], "empty range"),
        (
            &["monitor", "--channel", "one"],
            "channel one does not exist",
        ),
        (
            &["monitor", "--type", "bogus"],
            "unknown event type \"bogus\"",
        ),
        (&["monitor", "--count", "many"], "--count"),
        (&["monitor", "--duration", "NaN"], "not a number of seconds"),
        (
            &["monitor", "--duration", "abc"],
            "invalid value 'abc' for '--duration <SECS>': abc is not a number of seconds",
        ),
        (
            &["monitor", "--duration", "1e20"],
            "not a number of seconds",
        ),
        (&["monitor", "--middle-c", "5"], "--middle-c"),
        (&["monitor", "--usb=take.mid"], "take.mid"),
        (&["play", "--buffer", "0"], "16 to 4096 frames"),
        (&["play", "--bend-range", "100"], "0 to 24 semitones"),
        (&["play", "--preset", "flute"], "--preset"),
        (&["play", "--ppq", "0"], "1..=32767"),
        (&["record", "x.mid", "--ppq", "0"], "1..=32767"),
        // Above what a MIDI file holds, below what a u16 holds: the same
        // range is named, not 0..=65535.
        (&["record", "x.mid", "--ppq", "40000"], "1..=32767"),
        (&["record", "x.mid", "--ppq", "70000"], "1..=32767"),
        (&["record", "x.mid", "--timesig", "4/3"], "not a note value"),
        (&["record", "x.mid", "--timesig", "300/4"], "beats per bar"),
        (&["record", "x.mid", "--timesig", "4"], "N/D"),
        (
            &["record", "x.mid", "--bpm", "1e300"],
            "tempos from 4 to 60000000 bpm",
        ),
        (
            &["record", "x.mid", "--duration", "inf"],
            "not a number of seconds",
        ),
        (
            &["record", "x.mid", "--until-silence", "NaN"],
            "not a number of seconds",
        ),
        (
            &["record", "x.mid", "--duration", "1e20"],
            "not a number of seconds",
        ),
        (
            &["record", "x.mid", "--until-silence", "1e20"],
            "not a number of seconds",
        ),
        (&["record", "x.mid", "--buffer", "1"], "16 to 4096 frames"),
        (&["record", "a.mid", "--takes", "d"], "cannot be used with"),
        (&["record", "--quiet=loud"], "--quiet"),
        (
            &["render", "a.mid", "b.wav", "--rate", "0"],
            "8000..=192000",
        ),
        (
            &["render", "a.mid", "b.wav", "--max-length", "1d"],
            "such as 300, 90m or 2h",
        ),
        (&["play", "--force"], "--wav"),
    ];
    for (args, says) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_composer-probe"))
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(says),
            "{args:?} should say {says:?}: {stderr}"
        );
        assert!(
            stderr.contains("--help"),
            "{args:?} points at --help: {stderr}"
        );
        let longest = stderr.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 200, "{args:?}: a line of {longest} characters");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
    }
}

#[test]
fn the_help_of_keys_names_the_layout_the_keys_play() {
    // `a` plays C and `w` C♯ (Musical Typing), `z`/`x` change the octave:
    // the old layout (`z s x d c`, `q 2 w 3 e`) must not be promised.
    for command in ["monitor", "play", "record"] {
        let help = shell("sh", &format!("\"$PROBE\" {command} --help"));
        // From `--keys` to the next option (clap may wrap the description).
        let mut lines = help
            .lines()
            .skip_while(|line| !line.trim_start().starts_with("--keys"));
        let first = lines
            .next()
            .unwrap_or_else(|| panic!("{command} --help has --keys:\n{help}"));
        let rest = lines.take_while(|line| !line.trim_start().starts_with('-'));
        let keys = std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(keys.contains("a s d f"), "{command}: {keys}");
        assert!(keys.contains("z/x octave"), "{command}: {keys}");
        assert!(!keys.contains("z s x"), "{command}: {keys}");
    }
}

#[test]
fn the_manual_page_points_only_at_pages_that_exist() {
    // One page is installed; its subcommand list must not send the reader
    // to `man composer-probe-list`, which does not exist.
    let page = shell("sh", r#""$PROBE" man | man -l -"#);
    assert!(!page.contains("composer-probe-list(1)"), "{page}");
    assert!(!page.contains("-help(1)"), "{page}");
    let list = page
        .lines()
        .skip_while(|l| l.trim() != "SUBCOMMANDS")
        .take_while(|l| l.trim() != "VERSION" && !l.starts_with("COMPOSER-PROBE"))
        .collect::<Vec<_>>()
        .join("\n");
    for name in ["list", "monitor", "play", "record", "udev-rule", "man"] {
        assert!(
            list.contains(&format!("composer-probe {name}")),
            "{name} listed as a section of this page:\n{list}"
        );
    }
}
