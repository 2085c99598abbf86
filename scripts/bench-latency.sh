#!/usr/bin/env bash
# Key-to-sound latency (input queue → synth → our JACK stream → JACK), 48 kHz, no sound
# card needed, side by side:
#   1. against a paced JACK dummy server (jackd -R -d dummy) at 64, 128 and
#      256-frame periods;
#   2. through PipeWire's JACK (pw-jack) on a headless PipeWire with a null
#      sink, started and stopped by the benchmark, with no configuration but
#      what `play` asks for (its buffer as PIPEWIRE_LATENCY).
# Installs JACK and PipeWire when missing. LATENCY_NOTES (default 200) and
# LATENCY_PERIODS (default 64,128,256) tune both; LATENCY_ONLY=jack or
# LATENCY_ONLY=pipewire runs one. LATENCY_SOUNDFONT=default (or a .sf2 file)
# plays the notes on the SoundFont's piano, as `play --soundfont` does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
status=0
if [ "${LATENCY_ONLY:-}" != pipewire ]; then
  cargo bench --bench latency || status=$?
fi
if [ "${LATENCY_ONLY:-}" != jack ]; then
  LATENCY_SERVER=pipewire pw-jack cargo bench --bench latency || status=$?
fi
exit "$status"
