#!/usr/bin/env bash
# Key-to-sound latency (input queue → synth → cpal → JACK) against a paced
# JACK dummy server at 64, 128 and 256-frame periods, 48 kHz; no sound card
# needed. Installs JACK (jackd2, libjack-jackd2-dev) when missing.
# LATENCY_NOTES (default 200) and LATENCY_PERIODS (default 64,128,256) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v jackd >/dev/null 2>&1 || missing+=(jackd2)
command -v jack_lsp >/dev/null 2>&1 || missing+=(jackd2)
dpkg -s libjack-jackd2-dev >/dev/null 2>&1 || missing+=(libjack-jackd2-dev)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
exec cargo bench --features jack --bench latency
