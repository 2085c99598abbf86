//! The `composer-probe` binary: parse the command line, run, map the outcome
//! to an exit status. Everything else lives in the library.

use anyhow::Context as _;
use clap::Parser as _;
use composer_probe::cli::{
    Cli, Command, ListArgs, MonitorArgs, PlayArgs, RecordArgs, RecoverArgs, RenderArgs,
};
use composer_probe::input::select;
use composer_probe::inventory::{self, Inventory};
use composer_probe::session::{self, SessionConfig};
use composer_probe::{audio, list, monitor, record, render};
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

/// A line on standard error that cannot fail: after the terminal has gone
/// (its window closed), there is nobody to tell, and `eprintln!` would panic.
macro_rules! say {
    ($($line:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($line)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain on one line; no library message repeats its cause.
            say!("composer-probe: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A value the program checked after clap parsed it is as much a usage
/// mistake as one clap refused: said the same way, with exit status 2.
fn usage_error<T>(subcommand: &str, message: String) -> T {
    let mut command = <Cli as clap::CommandFactory>::command();
    command.build();
    let mut sub = command
        .find_subcommand(subcommand)
        .cloned()
        .unwrap_or(command);
    sub.error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List(args) => run_list(&args),
        Command::Monitor(args) => run_monitor(&args),
        Command::Play(args) => run_play(&args),
        Command::Record(args) => run_record(&args),
        Command::Recover(args) => run_recover(&args),
        Command::Render(args) => run_render(&args),
        Command::UdevRule => {
            write_stdout(inventory::UDEV_RULE)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(args) => {
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "composer-probe", &mut script);
            // clap_complete 4.6 spells a hyphenated binary's subcommand
            // states two ways in bash, so no subcommand option would ever
            // complete (clap-rs/clap#6421): use the loop's spelling.
            let script = String::from_utf8_lossy(&script)
                .replace("composer__subcmd__probe", "composer__probe");
            write_stdout(&script)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            write_stdout(&manual_page().context("cannot build the manual page")?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One manual page for the whole program: clap_mangen's page for the
/// command, then each subcommand's synopsis and options as its own section,
/// so that `man composer-probe` answers what `--help` of each would. The
/// subcommand list names those sections, not pages of their own
/// (`composer-probe-list(1)` is never installed).
fn manual_page() -> std::io::Result<String> {
    let mut command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    command.build();
    let main = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    main.render_title(&mut page)?;
    main.render_name_section(&mut page)?;
    main.render_synopsis_section(&mut page)?;
    main.render_description_section(&mut page)?;
    main.render_options_section(&mut page)?;
    let mut list = Vec::new();
    main.render_subcommands_section(&mut list)?;
    let mut list = String::from_utf8_lossy(&list).into_owned();
    for sub in command.get_subcommands() {
        let name = sub.get_name().replace('-', "\\-");
        list = list.replace(
            &format!("composer\\-probe\\-{name}(1)"),
            &format!("composer\\-probe {name}"),
        );
    }
    page.extend_from_slice(list.as_bytes());
    for sub in command.get_subcommands() {
        let man = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        let section = String::from_utf8_lossy(&section)
            .replacen(
                ".SH SYNOPSIS",
                &format!(".SH \"COMPOSER-PROBE {}\"", sub.get_name().to_uppercase()),
                1,
            )
            .replace(".SH DESCRIPTION", ".PP")
            .replace(".SH OPTIONS", ".SS Options");
        page.extend_from_slice(section.as_bytes());
    }
    main.render_version_section(&mut page)?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

fn run_list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let report = Inventory::discover(args.all);
    let usb_failed = report.usb_error.is_some();
    let text = if args.json {
        serde_json::to_string_pretty(&report).context("cannot encode the report as JSON")? + "\n"
    } else {
        let stdout = std::io::stdout();
        let color =
            stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        list::render_text(&report, color)
    };
    write_stdout(&text)?;
    Ok(if usb_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_monitor(args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    if args.tui {
        return run_session(
            &args
                .tui_session()
                .unwrap_or_else(|m| usage_error("monitor", m)),
        );
    }
    let config = args.config().unwrap_or_else(|m| usage_error("monitor", m));
    let options = args
        .input
        .options()
        .unwrap_or_else(|m| usage_error("monitor", m));
    let (mut stream, picked) = select::open(&options)?;
    say!("composer-probe: {picked}; Ctrl+C stops");
    let stop = stream.stop_handle();
    ctrlc::set_handler(move || stop.interrupt()).context("cannot install the Ctrl+C handler")?;
    let mut stdout = std::io::stdout().lock();
    let ending = monitor::run(&mut stream, &config, &mut stdout)
        .context("cannot write to standard output")?;
    stdout.flush().context("cannot write to standard output")?;
    drop(stream);
    match ending {
        monitor::Ending::Disconnected => {
            say!("composer-probe: the keyboard was disconnected; everything received before is shown above");
        }
        monitor::Ending::Failed(reason) => {
            say!("composer-probe: {reason}; everything received before is shown above");
            return Ok(ExitCode::FAILURE);
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn run_play(args: &PlayArgs) -> anyhow::Result<ExitCode> {
    if args.list_audio {
        write_stdout(&audio_listing(args.audio_host.as_deref())?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = args.config().unwrap_or_else(|m| usage_error("play", m));
    // Still one thread: the environment may change.
    audio::device::ask_pipewire_period(args.audio_host.as_deref(), args.buffer);
    config.engine.soundfont = load_soundfont(args.soundfont.as_deref())?;
    run_session(&config)
}

/// `--soundfont FILE|default`: loaded (and checked) before any sound starts.
fn load_soundfont(
    arg: Option<&std::path::Path>,
) -> anyhow::Result<Option<&'static composer_probe::synth::SoundFont>> {
    let Some(arg) = arg else {
        return Ok(None);
    };
    let font = composer_probe::synth::SoundFont::load(arg)?;
    let found = if arg == std::path::Path::new("default") {
        " (the installed default)"
    } else {
        ""
    };
    say!(
        "composer-probe: SoundFont \"{}\", {} presets, from {}{found}",
        font.name(),
        font.presets(),
        font.path().display()
    );
    Ok(Some(font))
}

/// `play --list-audio`: each host (or the one asked for) and its output
/// devices, defaults first.
fn audio_listing(wanted_host: Option<&str>) -> anyhow::Result<String> {
    let hosts = match wanted_host {
        Some(wanted) => vec![audio::device::resolve_host(wanted)?.to_owned()],
        None => audio::device::host_names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let mut text = String::new();
    for (index, host) in hosts.iter().enumerate() {
        let default = if index == 0 && wanted_host.is_none() {
            " (default)"
        } else {
            ""
        };
        text += &format!("{host}{default}:\n");
        match audio::device::list_devices(Some(host)) {
            Ok(devices) if devices.is_empty() => text += "  (no output device)\n",
            Ok(devices) => devices
                .iter()
                .for_each(|d| text += &format!("  {}\n", d.label())),
            Err(error) if wanted_host.is_some() => return Err(error.into()),
            Err(error) => text += &format!("  (unavailable: {error})\n"),
        }
    }
    Ok(text)
}

fn run_record(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    // Still one thread: the environment may change.
    audio::device::ask_pipewire_period(args.audio_host.as_deref(), args.buffer);
    run_session(&args.config().unwrap_or_else(|m| usage_error("record", m)))
}

fn run_session(config: &SessionConfig) -> anyhow::Result<ExitCode> {
    let summary = session::run(config, std::io::stdout(), std::io::stderr())?;
    if let Some((path, seconds)) = &summary.wav {
        say!("composer-probe: wrote {seconds:.1} s to {}", path.display());
    }
    if summary.disconnected {
        // Only a take or a WAV keeps anything (`monitor --tui` keeps nothing).
        let kept = if summary.wav.is_some() || !summary.takes.is_empty() {
            "; everything played before it was kept"
        } else {
            ""
        };
        say!("composer-probe: the keyboard was disconnected{kept}");
    }
    if summary.overruns > 0 {
        let advice = match &config.sound {
            // A larger buffer gives rendering more time.
            session::SoundChoice::Speakers(choice) | session::SoundChoice::OnDemand(choice)
                if choice.buffer_frames < 4096 =>
            {
                format!(
                    "; try --buffer {}",
                    (choice.buffer_frames * 2).clamp(256, 4096)
                )
            }
            _ => String::new(),
        };
        say!(
            "composer-probe: {} audio blocks took longer than real time{advice}",
            summary.overruns
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_recover(args: &RecoverArgs) -> anyhow::Result<ExitCode> {
    let summary = record::recover(&args.journal, args.output.as_deref(), args.force)?;
    say!(
        "composer-probe: recovered {}",
        session::describe_take(&summary)
    );
    for warning in &summary.warnings {
        say!("composer-probe: note: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

fn run_render(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    // SIGINT, SIGTERM and SIGHUP stop the render; it removes what it wrote.
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the Ctrl+C handler")?;
    let output = args.destination();
    let mut options = args.options();
    options.engine.soundfont = load_soundfont(args.soundfont.as_deref())?;
    let summary = match render::render_file(&args.input, &output, &options, cancel) {
        Err(render::RenderError::Interrupted) => {
            say!("composer-probe: {}", render::RenderError::Interrupted);
            return Ok(ExitCode::from(130));
        }
        result => result?,
    };
    if let Some(damage) = &summary.damage {
        say!(
            "composer-probe: warning: {} is damaged ({damage}); rendered what could be read",
            args.input.display()
        );
    }
    say!(
        "composer-probe: rendered {}, {:.1} s, to {}",
        composer_probe::decode::counted(summary.notes, "note"),
        summary.seconds,
        output.describe()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
