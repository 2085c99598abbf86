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
