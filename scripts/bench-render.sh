#!/usr/bin/env bash
# `composer-probe render` (built-in synth, and with the same SoundFont as
# fluidsynth through --soundfont, on every core and with --jobs 1) against
# `fluidsynth -F` (by default on one core, and with synth.cpu-cores set to
# every core) and `timidity -Ow`, all writing 16-bit 48 kHz stereo WAV,
# timed with hyperfine in one run, wall clock and CPU time (user+sys), on
# two files: the reference file (scripts/reference-midi.py: 60 s, up to ~30
# voices) and tests/fixtures/gm/band.mid (16 s, five GM parts with drums).
#
# INSTRUCTIONS=1 counts instructions instead (valgrind's callgrind, summed
# over threads; needs valgrind): repeatable on a busy machine where
# wall-clock times are not, but blind to how fast each instruction runs
# (fluidsynth's vectorised loops do more per instruction), so it does not
# replace the timed run on a quiet machine. It also counts a bare rustysynth render of
# the reference file (its MidiFileSequencer, no engine around it), which
# shows what our integration adds.
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

if [ "${INSTRUCTIONS:-0}" = 1 ]; then
  command -v valgrind >/dev/null || {
    echo "bench-render: INSTRUCTIONS=1 needs valgrind (apt-get install valgrind)" >&2
    exit 1
  }
  # The bare rustysynth renderer, built against the same crate version.
  version=$(cargo tree --quiet -p rustysynth --depth 0 | awk '{print $2}' | tr -d v)
  mkdir -p "$work/bare/src"
  cat >"$work/bare/Cargo.toml" <<TOML
[package]
name = "bare-rustysynth"
version = "0.0.0"
edition = "2021"
[dependencies]
rustysynth = "=$version"
[workspace]
TOML
  cat >"$work/bare/src/main.rs" <<'RUST'
// Renders a MIDI file with rustysynth alone: sf2 mid out.raw (16-bit
// stereo at 48 kHz, the file's length plus 1.3 s of tail).
use std::io::Write;
use std::sync::Arc;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let font = rustysynth::SoundFont::new(&mut std::io::BufReader::new(std::fs::File::open(&a[1]).unwrap())).unwrap();
    let midi = rustysynth::MidiFile::new(&mut std::fs::File::open(&a[2]).unwrap()).unwrap();
    let (font, midi) = (Arc::new(font), Arc::new(midi));
    let synth = rustysynth::Synthesizer::new(&font, &rustysynth::SynthesizerSettings::new(48_000)).unwrap();
    let mut sequencer = rustysynth::MidiFileSequencer::new(synth);
    sequencer.play(&midi, false);
    let frames = ((midi.get_length() + 1.3) * 48_000.0) as usize;
    let (mut left, mut right) = (vec![0f32; frames], vec![0f32; frames]);
    sequencer.render(&mut left, &mut right);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&a[3]).unwrap());
    for (l, r) in left.iter().zip(&right) {
        for s in [l, r] {
            out.write_all(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes()).unwrap();
        }
    }
}
RUST
  CARGO_TARGET_DIR="$work/bare/target" cargo build --release --quiet --manifest-path "$work/bare/Cargo.toml"
  bare="$work/bare/target/release/bare-rustysynth"
  count() { # name, command...: prints the instruction count
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>"$work/$name.log" >/dev/null
    grep -o 'refs: *[0-9,]*' "$work/$name.log" | tr -dc 0-9
  }
  for name in reference band; do
    mid="$work/$name.mid"
    builtin=$(count built-in target/release/composer-probe render --force "$mid" "$work/ours.wav")
    soundfont=$(count soundfont target/release/composer-probe render --force --soundfont "$sf2" "$mid" "$work/ours-sf.wav")
    soundfont1=$(count soundfont1 target/release/composer-probe render --force --jobs 1 --soundfont "$sf2" "$mid" "$work/ours-sf1.wav")
    fluid=$(count fluidsynth fluidsynth -ni -q -r 48000 -F "$work/fluid.wav" "$sf2" "$mid")
    echo "## $name.mid: instructions (callgrind), and fluidsynth's count ÷ each"
    echo "| renderer | instructions | fluidsynth ÷ this |"
    echo "|---|---|---|"
    rows=("built-in $builtin" "soundfont $soundfont" "soundfont-jobs-1 $soundfont1" "fluidsynth $fluid")
    if [ "$name" = reference ]; then
      rows+=("bare-rustysynth $(count bare "$bare" "$sf2" "$mid" "$work/bare.raw")")
    fi
    for row in "${rows[@]}"; do
      set -- $row
      awk -v n="$1" -v i="$2" -v f="$fluid" 'BEGIN { printf "| %s | %.2f G | %.2f× |\n", n, i / 1e9, f / i }'
    done
  done
  exit 0
fi

cores=$(nproc)
for name in reference band; do
  mid="$work/$name.mid"
  hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-json "$work/$name.json" \
    -n "built-in" "target/release/composer-probe render --force $mid $work/ours.wav" \
    -n "soundfont" "target/release/composer-probe render --force --soundfont $sf2 $mid $work/ours-sf.wav" \
    -n "soundfont --jobs 1" "target/release/composer-probe render --force --jobs 1 --soundfont $sf2 $mid $work/ours-sf1.wav" \
    -n "fluidsynth" "fluidsynth -ni -q -r 48000 -F $work/fluid.wav $sf2 $mid" \
    -n "fluidsynth cpu-cores=$cores" "fluidsynth -ni -q -r 48000 -o synth.cpu-cores=$cores -F $work/fluid-mt.wav $sf2 $mid" \
    -n "timidity" "timidity -idq -Ow -s 48000 -o $work/timidity.wav $mid" >/dev/null
  echo "## $name.mid ($cores cores; wall clock, and CPU time summed over threads)"
  python3 - "$work/$name.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
fluid = next(r["mean"] for r in results if r["command"] == "fluidsynth")
print("| renderer | wall (mean ± σ) | CPU (user+sys) | fluidsynth's wall ÷ this |")
print("|---|---|---|---|")
for r in results:
    cpu = r["user"] + r["system"]
    print(f"| {r['command']} | {r['mean']:.3f} s ± {r['stddev']:.3f} | {cpu:.3f} s | {fluid / r['mean']:.2f}× |")
PY
done
