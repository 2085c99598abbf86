//! Integration tests: the real `composer-probe` binary against emulated USB
//! devices (umockdev), with no system MIDI service.

mod list;
mod util;
