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
# Windows must build through the same crates: type-checked for it, warnings
# as errors, when this toolchain has its standard library (rustup target add
# x86_64-pc-windows-gnu); no linker is needed for a check.
if rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
  RUSTFLAGS="-D warnings" cargo check --quiet --target x86_64-pc-windows-gnu
else
  echo "test.sh: skipped the Windows check (no x86_64-pc-windows-gnu standard library)"
fi
# Benchmarks run once each in test mode: they must keep working.
cargo test --benches
# Unit and integration tests, examples built, doc tests last.
cargo test
# The real-kernel lane: snd-usb-audio, the ALSA sequencer, usbfs and a sound
# card in QEMU (about 3 minutes; installs QEMU and fetches Debian's kernel).
scripts/test-kernel.sh
