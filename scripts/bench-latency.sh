#!/usr/bin/env bash
# Key-to-sound latency (input queue → synth → cpal → JACK) against a paced
# JACK dummy server at 64, 128 and 256-frame periods, 48 kHz; no sound card
# needed. Installs JACK (jackd2, libjack-jackd2-dev) when missing.
# LATENCY_NOTES (default 200) and LATENCY_PERIODS (default 64,128,256) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
exec cargo bench --features jack --bench latency
