//! Integration tests: the real `composer-probe` binary against emulated USB
//! devices (umockdev) and files, with no system MIDI service.
//!
//! Linux only: umockdev, setpriv, ALSA's `file` plugin and tmux are what
//! they drive, so elsewhere this binary is empty and `cargo check
//! --all-targets` still works.
#![cfg(target_os = "linux")]

mod conventions;
mod jack;
mod list;
mod monitor;
mod pipewire;
mod record;
mod record_safety;
mod render;
mod replug;
mod skipped_input;
mod sound;
mod tui;
mod udev;
mod util;
