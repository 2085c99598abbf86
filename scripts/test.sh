#!/usr/bin/env bash
# Quick start, command 2: install what is missing (umockdev included), check
# formatting and lints, build the examples and benchmarks, run every test,
# then the real-kernel lane (scripts/test-kernel.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Benchmarks run once each in test mode: they must keep working.
cargo test --benches
# Unit and integration tests, examples built, doc tests last.
cargo test
# The real-kernel lane: snd-usb-audio, the ALSA sequencer, usbfs and a sound
# card in QEMU (about 3 minutes; installs QEMU and fetches Debian's kernel).
scripts/test-kernel.sh
