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
    }
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
        return run_session(&args.tui_session().map_err(anyhow::Error::msg)?);
    }
    let config = args.config().map_err(anyhow::Error::msg)?;
    let options = args.input.options().map_err(anyhow::Error::msg)?;
    let (mut stream, picked) = select::open(&options)?;
    say!("composer-probe: {picked}; Ctrl+C stops");
    let stop = stream.stop_handle();
    ctrlc::set_handler(move || stop.interrupt()).context("cannot install the Ctrl+C handler")?;
    let mut stdout = std::io::stdout().lock();
    let ending = monitor::run(&mut stream, &config, &mut stdout)
        .context("cannot write to standard output")?;
    stdout.flush().context("cannot write to standard output")?;
    drop(stream);
    if ending == monitor::Ending::Disconnected {
        say!("composer-probe: the keyboard was disconnected; everything received before is shown above");
    }
    Ok(ExitCode::SUCCESS)
}

fn run_play(args: &PlayArgs) -> anyhow::Result<ExitCode> {
    if args.list_audio {
        write_stdout(&audio_listing(args.audio_host.as_deref())?)?;
        return Ok(ExitCode::SUCCESS);
    }
    run_session(&args.config().map_err(anyhow::Error::msg)?)
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
            Ok(devices) => devices.iter().for_each(|d| text += &format!("  {d}\n")),
            Err(error) if wanted_host.is_some() => return Err(error.into()),
            Err(error) => text += &format!("  (unavailable: {error})\n"),
        }
    }
    Ok(text)
}

fn run_record(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    run_session(&args.config().map_err(anyhow::Error::msg)?)
}

fn run_session(config: &SessionConfig) -> anyhow::Result<ExitCode> {
    let summary = session::run(config, std::io::stdout(), std::io::stderr())?;
    if let Some((path, seconds)) = &summary.wav {
        say!("composer-probe: wrote {seconds:.1} s to {}", path.display());
    }
    if summary.disconnected {
        say!("composer-probe: the keyboard was disconnected; everything played before it was kept");
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
    let config = composer_probe::synth::EngineConfig {
        preset: args.preset,
        ..Default::default()
    };
    let summary = render::render_file(&args.input, &args.output, args.rate, args.format(), config)?;
    say!(
        "composer-probe: rendered {} notes, {:.1} s, to {}",
        summary.notes,
        summary.seconds,
        args.output.display()
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
