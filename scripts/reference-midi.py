#!/usr/bin/env python3
"""Writes the reference MIDI file the render benchmark uses: 60 s of dense
four-part playing (chords of up to 12 voices with sustain, a bass line, a
melody, arpeggios), format 1, 480 PPQ, 120 bpm. Stdlib only, deterministic."""
import struct
import sys


def vlq(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (tick, bytes) in any order -> MTrk chunk."""
    body = b""
    last = 0
    for tick, data in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        body += vlq(tick - last) + data
        last = tick
    body += vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def note(events, channel, start, length, key, velocity):
    events.append((start, bytes([0x90 | channel, key, velocity])))
    events.append((start + length, bytes([0x80 | channel, key, 0])))


PPQ = 480
BEATS = 120  # 60 s at 120 bpm
chords = [[48, 52, 55, 60, 64, 67], [45, 48, 52, 57, 60, 64], [41, 45, 48, 53, 57, 60], [43, 47, 50, 55, 59, 62]]
pads, bass, melody, arps = [], [], [], []
for beat in range(0, BEATS, 4):
    chord = chords[(beat // 4) % 4]
    pads.append((beat * PPQ, bytes([0xB0, 64, 127])))
    for key in chord + [k + 12 for k in chord]:
        note(pads, 0, beat * PPQ, 4 * PPQ - 10, key, 70)
    pads.append(((beat + 4) * PPQ - 5, bytes([0xB0, 64, 0])))
for beat in range(BEATS):
    note(bass, 1, beat * PPQ, PPQ // 2, chords[(beat // 4) % 4][0] - 12, 100)
    for i in range(4):
        key = chords[(beat // 4) % 4][(beat + i) % 6] + 24
        note(arps, 3, beat * PPQ + i * PPQ // 4, PPQ // 4, key, 60 + 10 * i)
    note(melody, 2, beat * PPQ, PPQ - 20, 72 + (beat * 5) % 12, 90)
tempo = [(0, b"\xff\x51\x03\x07\xa1\x20")]
data = b"MThd" + struct.pack(">IHHH", 6, 1, 5, PPQ)
data += track(tempo) + track(pads) + track(bass) + track(melody) + track(arps)
with open(sys.argv[1], "wb") as out:
    out.write(data)
