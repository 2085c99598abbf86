#!/usr/bin/python3
"""Render a General MIDI file with `composer-probe render` and `fluidsynth -F`
(FluidR3_GM) and compare the two WAVs as a listener would: duration, level,
stereo width, and drum presence.

    /usr/bin/python3 scripts/compare-gm.py [FILE.mid]   # default tests/fixtures/gm/band.mid

Needs a release build (cargo build --release), fluidsynth, fluid-soundfont-gm
and numpy (Debian: python3-numpy). Figures per WAV:
  seconds       length of the file
  RMS dBFS      level over the whole file
  side/mid dB   energy of (L-R)/2 relative to (L+R)/2: −∞ is mono, 0 is as
                much difference as common sound
  corr          L/R correlation coefficient (1 mono)
  <150 Hz %     share of the energy below 150 Hz (kick, bass)
  >5 kHz %      share above 5 kHz (hats, cymbals, snare wires)
  drum onsets   20 ms frames whose energy above 5 kHz jumps 6 dB over the
                previous frame (hats and snares struck)
"""
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def read(path):
    with wave.open(path) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    return rate, data[0::2], data[1::2]


def band_share(x, rate, lo, hi):
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return spectrum[(freqs >= lo) & (freqs < hi)].sum() / max(spectrum.sum(), 1e-30)


def onsets(x, rate):
    n = int(0.02 * rate)
    frames = len(x) // n
    spec = np.abs(np.fft.rfft(x[: frames * n].reshape(frames, n), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / rate)
    hf = spec[:, freqs >= 5000].sum(axis=1) + 1e-12
    jumps = 10 * np.log10(hf[1:] / hf[:-1])
    loud = hf[1:] > hf.max() * 1e-3
    return int(((jumps > 6) & loud).sum())


def describe(path):
    rate, left, right = read(path)
    mono = (left + right) / 2
    mid, side = np.sum(mono ** 2), np.sum(((left - right) / 2) ** 2)
    corr = np.corrcoef(left, right)[0, 1]
    return {
        "seconds": len(left) / rate,
        "RMS dBFS": 10 * np.log10(np.mean(np.concatenate([left, right]) ** 2)),
        "side/mid dB": 10 * np.log10(max(side, 1e-30) / mid),
        "corr": corr,
        "<150 Hz %": 100 * band_share(mono, rate, 0, 150),
        ">5 kHz %": 100 * band_share(mono, rate, 5000, rate / 2),
        "drum onsets": onsets(mono, rate),
    }


def main(argv):
    midi = argv[0] if argv else os.path.join(ROOT, "tests/fixtures/gm/band.mid")
    probe = os.path.join(ROOT, "target/release/composer-probe")
    with tempfile.TemporaryDirectory() as work:
        ours, fluid = os.path.join(work, "ours.wav"), os.path.join(work, "fluid.wav")
        dry = os.path.join(work, "dry.wav")
        subprocess.run([probe, "render", midi, ours], check=True, capture_output=True)
        for wav, flags in ((fluid, []), (dry, ["-C0", "-R0"])):
            subprocess.run(["fluidsynth", "-ni", "-q", "-r", "48000", *flags, "-F", wav, SF2, midi],
                           check=True, capture_output=True)
        rows = {
            "composer-probe render": describe(ours),
            "fluidsynth -F (FluidR3_GM)": describe(fluid),
            "fluidsynth -F, chorus and reverb off (-C0 -R0)": describe(dry),
        }
    keys = list(next(iter(rows.values())))
    print("| " + " | ".join(["renderer"] + keys) + " |")
    print("|" + "---|" * (len(keys) + 1))
    for name, row in rows.items():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join([name] + cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
