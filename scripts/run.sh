#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run composer-probe.
#   scripts/run.sh              runs `composer-probe play` (the keyboard through the synth)
#   scripts/run.sh ARGS...      runs `composer-probe ARGS...`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
if [ $# -eq 0 ]; then
  set -- play
fi
exec target/release/composer-probe "$@"
