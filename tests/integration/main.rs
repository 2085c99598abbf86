//! Integration tests: the real `composer-probe` binary against emulated USB
//! devices (umockdev) and files, with no system MIDI service.

mod list;
mod monitor;
mod record;
mod replug;
mod sound;
mod tui;
mod util;
