#!/usr/bin/env bash
# `composer-probe render` (built-in synth, and with the same SoundFont as
# fluidsynth through --soundfont) against `fluidsynth -F` and `timidity -Ow`,
# all writing 16-bit 48 kHz stereo WAV, timed with hyperfine in one run, on
# two files: the reference file (scripts/reference-midi.py: 60 s, up to ~30
# voices) and tests/fixtures/gm/band.mid (16 s, five GM parts with drums).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sf2=/usr/share/sounds/sf2/FluidR3_GM.sf2
python3 scripts/reference-midi.py "$work/reference.mid"
cp tests/fixtures/gm/band.mid "$work/band.mid"
for name in reference band; do
  mid="$work/$name.mid"
  hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-markdown "$work/$name.md" \
    -n "built-in" "target/release/composer-probe render --force $mid $work/ours.wav" \
    -n "soundfont" "target/release/composer-probe render --force --soundfont $sf2 $mid $work/ours-sf.wav" \
    -n "fluidsynth" "fluidsynth -ni -q -r 48000 -F $work/fluid.wav $sf2 $mid" \
    -n "timidity" "timidity -idq -Ow -s 48000 -o $work/timidity.wav $mid"
  echo "## $name.mid"
  cat "$work/$name.md"
done
