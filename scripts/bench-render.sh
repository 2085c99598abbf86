#!/usr/bin/env bash
# `composer-probe render` against `fluidsynth -F` and `timidity -Ow` on the
# same reference MIDI file (scripts/reference-midi.py: 60 s, up to ~30 voices),
# all writing 16-bit 48 kHz stereo WAV, timed with hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/reference-midi.py "$work/reference.mid"
hyperfine -N --warmup 1 --runs 5 \
  "target/release/composer-probe render --force $work/reference.mid $work/ours.wav" \
  "fluidsynth -ni -q -r 48000 -F $work/fluid.wav /usr/share/sounds/sf2/FluidR3_GM.sf2 $work/reference.mid" \
  "timidity -idq -Ow -s 48000 -o $work/timidity.wav $work/reference.mid"
