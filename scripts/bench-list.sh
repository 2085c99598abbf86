#!/usr/bin/env bash
# Wall time of `composer-probe list` with 7 emulated USB devices (3 of them
# MIDI), next to lsusb on the same bus, measured inside one umockdev session.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
umockdev-run -d tests/fixtures/several.umockdev -- \
  hyperfine -N --warmup 5 -m 100 \
  'target/release/composer-probe list' \
  'target/release/composer-probe list --all --json' \
  'lsusb'
