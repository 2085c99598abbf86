//! Command-line interface: what the user typed (clap types only).

use clap::{Parser, Subcommand};

/// Find, hear and record USB MIDI keyboards such as the AWS DeepComposer.
#[derive(Debug, Parser)]
#[command(name = "composer-probe", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find USB MIDI devices and explain what the system sees and what is wrong.
    List(ListArgs),
    /// Print the udev rule that gives the logged-in user access to USB MIDI devices.
    UdevRule,
}

/// Options of `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Also list USB devices that are not MIDI devices, one line each.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON document instead of text (fields documented in the README).
    #[arg(long)]
    pub json: bool,
}
