#!/usr/bin/env python3
"""Host side of the real-kernel lane (scripts/test-kernel.sh).

`check.py panel-lines` prints the DeepComposer panel performance that the
umockdev tests replay (tests/fixtures/streams/akm322-panel.expected.json) as
MIDI bytes for the guest to send, one message a line.

`check.py OUT BINARY [SCENARIO...]` asserts on what each scenario left in
OUT/NAME/ (BINARY is the composer-probe that ran in the guest, used here to
render reference audio), prints one line per scenario, and exits 1 when any
failed. Measured figures (key-to-sound latency) are printed, not judged:
under emulation they are figures, not pass marks.
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import wave

import mido
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
PANEL = ROOT / "tests/fixtures/streams/akm322-panel.expected.json"
RATE = 48000
ALL = ["list", "monitor", "play", "record", "replug", "replug-usb", "unplug", "detach", "udev"]
AKM322_PORT = "AKM322:AKM322 MIDI 1"
DEEPCOMPOSER = "AWS DeepComposer keyboard (Midiplus AKM322)"


class Failed(Exception):
    """A scenario's expectation that did not hold."""


def expect(condition, message):
    if not condition:
        raise Failed(message)


def equal(actual, wanted, what):
    expect(actual == wanted, f"{what}: expected {wanted!r}, got {actual!r}")


# ---------------------------------------------------------------------------
# reading what the guest left
# ---------------------------------------------------------------------------
class Scenario:
    def __init__(self, out, name):
        self.dir = out / name
        self.name = name

    def text(self, file):
        path = self.dir / file
        expect(path.exists(), f"{file} is missing (the scenario did not get that far)")
        return path.read_text(errors="replace")

    def code(self, run):
        return int(self.text(f"{run}.code").strip())

    def succeeded(self, run, stderr_has=None):
        """The run exited 0; returns its stderr."""
        stderr = self.text(f"{run}.err")
        equal(self.code(run), 0, f"exit status of {run} (stderr: {stderr.strip()!r})")
        expect("panicked" not in stderr, f"{run} panicked: {stderr}")
        if stderr_has:
            expect(stderr_has in stderr, f"{run} did not say {stderr_has!r}: {stderr!r}")
        return stderr

    def events(self, run):
        lines = [line for line in self.text(f"{run}.out").splitlines() if line.strip()]
        try:
            return [json.loads(line) for line in lines]
        except json.JSONDecodeError as error:
            raise Failed(f"{run} printed something that is not JSON: {error}") from None

    def take(self, file):
        path = self.dir / file
        expect(path.exists(), f"no take was written ({file})")
        return read_take(path)

    def probe(self, file="probe.out"):
        """Capture frames at which key-to-sound sent each event."""
        sent = {}
        for line in self.text(file).splitlines():
            words = line.split()
            if words[:1] == ["sent"]:
                sent[int(words[1])] = int(words[3])
        return sent

    def capture(self, file):
        path = self.dir / file
        expect(path.exists(), f"{file} was not captured")
        samples = np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float64) / 32768
        return samples.reshape(-1, 2)


def read_take(path):
    """(kind, note, velocity, seconds) of every note message in a MIDI file, read by mido."""
    try:
        midi = mido.MidiFile(path)
    except Exception as error:  # mido raises many types on a broken file
        raise Failed(f"mido cannot read {path.name}: {error}") from None
    notes, now = [], 0.0
    for message in midi:
        now += message.time
        if message.type in ("note_on", "note_off"):
            kind = "on" if message.type == "note_on" and message.velocity > 0 else "off"
            notes.append((kind, message.note, message.velocity, now))
    return notes


def simple(events):
    """The parts of monitor events that a keyboard sent (no times, no names)."""
    keep = ("type", "channel", "note", "velocity", "controller", "value")
    return [{k: e[k] for k in keep if k in e} for e in events]


# ---------------------------------------------------------------------------
# sound
# ---------------------------------------------------------------------------
def onset(mono, start, threshold=0.01):
    """First frame at or after `start` louder than `threshold` (full scale 1)."""
    loud = np.nonzero(np.abs(mono[start:]) > threshold)[0]
    expect(len(loud) > 0, f"no sound after frame {start}")
    return start + int(loud[0])


def pitch_hz(segment):
    """Fundamental by autocorrelation with parabolic interpolation."""
    segment = segment - segment.mean()
    n = len(segment)
    spectrum = np.fft.rfft(segment, 2 * n)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    correlation /= correlation[0]
    low, high = RATE // 2000, RATE // 40
    lag = low + int(np.argmax(correlation[low:high]))
    # The strongest peak may be a multiple of the period: take the shortest
    # lag whose peak is nearly as strong.
    for divisor in (4, 3, 2):
        candidate = round(lag / divisor)
        if candidate > low:
            window = slice(candidate - 2, candidate + 3)
            best = candidate - 2 + int(np.argmax(correlation[window]))
            if correlation[best] > 0.9 * correlation[lag]:
                lag = best
                break
    a, b, c = correlation[lag - 1], correlation[lag], correlation[lag + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return RATE / (lag + shift)


def cents(f, reference):
    return 1200 * np.log2(f / reference)


def level_db(segment):
    return 20 * np.log10(np.sqrt(np.mean(segment**2)) + 1e-12)


def key_hz(key):
    return 440.0 * 2 ** ((key - 69) / 12)


def render(binary, notes, seconds):
    """Renders notes [(key, velocity, on_s, off_s)] with `composer-probe render`."""
    with tempfile.TemporaryDirectory() as tmp:
        midi = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack()
        midi.tracks.append(track)
        track.append(mido.MetaMessage("set_tempo", tempo=500000))
        timeline = []
        for key, velocity, on, off in notes:
            timeline.append((on, mido.Message("note_on", note=key, velocity=velocity)))
            timeline.append((off, mido.Message("note_off", note=key, velocity=64)))
        last = 0
        for at, message in sorted(timeline, key=lambda item: item[0]):
            tick = round(at * 960)
            track.append(message.copy(time=tick - last))
            last = tick
        track.append(mido.MetaMessage("end_of_track", time=round(seconds * 960) - last))
        midi.save(f"{tmp}/notes.mid")
        subprocess.run(
            [binary, "render", f"{tmp}/notes.mid", f"{tmp}/notes.wav"],
            check=True,
            capture_output=True,
        )
        with wave.open(f"{tmp}/notes.wav") as wav:
            expect(wav.getframerate() == RATE, "render writes 48 kHz")
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.astype(np.float64).reshape(-1, 2) / 32768


def longest_unbroken(segment, block=48):
    """The longest stretch of `segment` without a dropout (a millisecond of
    exact silence, which is what a late block leaves in the loopback)."""
    blocks = len(segment) // block
    silent = [not np.any(segment[i * block:(i + 1) * block]) for i in range(blocks)]
    best, start = (0, 0), None
    for i, quiet in enumerate(silent + [True]):
        if not quiet and start is None:
            start = i
        elif quiet and start is not None:
            best = max(best, (i - start, start))
            start = None
    length, first = best
    return segment[first * block:(first + length) * block]


def compare_notes(captured, reference, notes, label):
    """Checks each note's pitch in a capture against theory and the render of
    the same notes; returns per-note figures. Emulation may drop blocks: the
    pitch is measured on the longest stretch without a dropout."""
    figures = []
    for key, start_capture, start_render in notes:
        a = slice(start_capture + RATE // 20, start_capture + RATE * 2 // 5)
        b = slice(start_render + RATE // 20, start_render + RATE * 2 // 5)
        heard, rendered = captured[a].mean(axis=1), reference[b].mean(axis=1)
        unbroken = longest_unbroken(heard)
        expect(len(unbroken) >= RATE // 10,
               f"{label}: key {key} has dropouts every few milliseconds (the emulation is starved)")
        if len(unbroken) < len(heard):
            print(f"test-kernel: {label}: key {key}: {len(heard) - len(unbroken)} frames around dropouts left out")
            heard = unbroken
        f_heard, f_rendered = pitch_hz(heard), pitch_hz(rendered)
        off_theory = cents(f_heard, key_hz(key))
        expect(
            abs(off_theory) < 10,
            f"{label}: key {key} sounded at {f_heard:.2f} Hz, {off_theory:+.1f} cents from {key_hz(key):.2f} Hz",
        )
        expect(
            abs(cents(f_heard, f_rendered)) < 5,
            f"{label}: key {key} at {f_heard:.2f} Hz through the sound card but {f_rendered:.2f} Hz rendered",
        )
        figures.append((key, f_heard, level_db(heard), level_db(rendered)))
    return figures


# ---------------------------------------------------------------------------
# the scenarios
# ---------------------------------------------------------------------------
def check_list(s, binary):
    for run in ("list", "json"):
        equal(s.code(run), 0, f"exit status of list ({run})")
        equal(s.text(f"{run}.err"), "", f"stderr of list ({run})")
    report = json.loads(s.text("json.out"))
    devices = [d for d in report["devices"] if (d["vendor_id"], d["product_id"]) == (0x1ACC, 0x1533)]
    equal(len(devices), 1, "DeepComposers listed")
    device = devices[0]
    equal(device["name"], DEEPCOMPOSER, "name")
    equal(device["status"], "ready", "status")
    expect(
        device["verdict"].startswith(f'ready (system port "{AKM322_PORT}'),
        f"verdict names the system port: {device['verdict']!r}",
    )
    equal(device["driver"], "snd-usb-audio", "driver")
    equal(
        (device["manufacturer"], device["product"], device["serial"]),
        ("MIDIPLUS", "AKM322", "MIDIPLUS-CC-1533-00AKM322"),
        "strings",
    )
    equal(device["speed"], "full", "speed")
    equal((device["bus"], device["port_path"]), (1, "1-1"), "bus and port")
    equal(device["problems"], [], "problems")
    equal(device["midi"]["interface"], 1, "MIDI interface")
    equal([i["name"] for i in device["midi"]["inputs"]], ["AKM322 MIDI 1"], "MIDI inputs")
    # Paired by ALSA card: the port on the keyboard's card, not the gadget's own.
    card = int(s.text("akm322-card"))
    on_card = [p for p in report["os_ports"]["inputs"] if p["card"] == card]
    equal([p["name"].rsplit(" ", 1)[0] for p in on_card], [AKM322_PORT], f"input ports on card {card}")
    port_id = on_card[0]["id"]
    equal(
        sorted((p["direction"], p["id"]) for p in device["os_ports"]),
        [("input", port_id), ("output", port_id)],
        "ports paired with the keyboard",
    )
    text = s.text("list.out")
    for line in (DEEPCOMPOSER, f'— ready (system port "{AKM322_PORT}', "Driver     snd-usb-audio",
                 '"MIDIPLUS", "AKM322", serial "MIDIPLUS-CC-1533-00AKM322"'):
        expect(line in text, f"list's text lacks {line!r}")
    equal(text.count('other port in/out "f_midi:f_midi'), 1, "the gadget's own port, named once")


def check_monitor(s, binary):
    stderr = s.succeeded("auto", stderr_has="via system port")
    expect(f"found {DEEPCOMPOSER} at USB port 1-1" in stderr, f"the automatic choice explains itself: {stderr!r}")
    events = s.events("auto")
    wanted = [{k: v for k, v in e.items() if k != "cable"} for e in json.loads(PANEL.read_text())]
    equal(simple(events), wanted, "the panel performance through snd-usb-audio and the sequencer")
    names = {e["controller"]: e["control"] for e in events if "control" in e}
    equal(
        names,
        {1: "Modulation", 7: "Volume", 10: "Encoder", 21: "Knob 1", 22: "Knob 2", 23: "Knob 3",
         91: "Set+Reverb", 105: "Play", 106: "Stop", 107: "Record"},
        "panel names",
    )
    equal([e["transport"] for e in events if "transport" in e], ["play", "record", "stop"], "transport presses")
    s.succeeded("port", stderr_has=f"listening to {AKM322_PORT} via system port")
    equal(
        simple(s.events("port")),
        [{"type": "note_on", "channel": 0, "note": 48, "velocity": 55},
         {"type": "note_off", "channel": 0, "note": 48, "velocity": 0}],
        "monitor --port",
    )


def check_play(s, binary):
    stderr = s.succeeded("play", stderr_has="via system port")
    expect("sound on" in stderr, f"play names its sound output: {stderr!r}")
    if "took longer than real time" in stderr:
        expect("try --buffer 4096" in stderr, f"advice past a 2048-frame buffer leads somewhere: {stderr!r}")
    sent = s.probe()
    equal(sorted(sent), [0, 1, 2, 3], "key presses sent by key-to-sound")
    captured = s.capture("capture.raw")
    mono = captured.mean(axis=1)
    expect(np.max(np.abs(mono[: sent[0]])) < 0.001, "silence before the first key")
    first, second = onset(mono, sent[0]), onset(mono, sent[2])
    reference = render(binary, [(60, 100, 0.5, 1.5), (69, 100, 2.0, 3.0)], 4.0)
    ref_mono = reference.mean(axis=1)
    r_first, r_second = onset(ref_mono, RATE // 2), onset(ref_mono, 2 * RATE)
    figures = compare_notes(captured, reference, [(60, first, r_first), (69, second, r_second)], "play")
    for key, hz, heard_db, rendered_db in figures:
        expect(
            abs(heard_db - rendered_db) < 3,
            f"key {key}: {heard_db:.1f} dB through the sound card, {rendered_db:.1f} dB rendered",
        )
    # Each key is released: the first note has died away before the second.
    expect(np.max(np.abs(mono[second - RATE // 10: second])) < 0.01, "the first note was released")
    latencies = [(first - sent[0]) * 1000 / RATE, (second - sent[2]) * 1000 / RATE]
    for latency in latencies:
        expect(0 < latency < 1000, f"key-to-sound latency {latency:.1f} ms")
    levels = ", ".join(f"{heard - rendered:+.1f} dB" for _, _, heard, rendered in figures)
    return ("key-to-sound " + ", ".join(f"{ms:.1f} ms" for ms in latencies)
            + f" (2048-frame buffer, emulated); level against render {levels}")


def check_record(s, binary):
    s.succeeded("takes", stderr_has="■ saved")
    takes = sorted((s.dir / "takes").glob("*.mid"))
    equal(len(takes), 1, "takes written")
    notes = read_take(takes[0])
    equal([n[:3] for n in notes], [("on", 60, 100), ("off", 60, 64), ("on", 69, 80), ("off", 69, 0)],
          "the take holds exactly what was played between ● and ■")
    # ▶ played the take back through the sound card, with the take's timing.
    sent = s.probe()
    expect(0 in sent, "▶ was pressed")
    captured = s.capture("playback.raw")
    mono = captured.mean(axis=1)
    first = onset(mono, sent[0])
    start = notes[0][3]
    played = [(key, velocity, on - start, off - start)
              for (_, key, velocity, on), (_, _, _, off) in zip(notes[0::2], notes[1::2])]
    reference = render(binary, played, played[-1][3] + 1.0)
    gap = round(played[1][2] * RATE)
    # Under emulation playback may run late by a block: find the second
    # note from a little before where the take puts it.
    second = onset(mono, first + gap - RATE // 10)
    compare_notes(captured, reference, [(60, first, onset(reference.mean(axis=1), 0)),
                                        (69, second, onset(reference.mean(axis=1), gap))], "▶ playback")


def check_replug(s, binary, run="take", monitor=True):
    if monitor:
        s.succeeded("wait")
        before = [e["type"] for e in s.events("while-unplugged")]
        equal(before, ["note_on", "disconnected"], "monitor's events until the replug")
        events = s.events("wait")
        equal([e["type"] for e in events], ["note_on", "disconnected", "reconnected", "note_on", "note_off"],
              "monitor --wait across the replug")
        equal([e.get("note") for e in events if e["type"] == "note_on"], [60, 67], "notes before and after")
    s.succeeded(run)
    while_unplugged = s.text("while-unplugged.out") if not monitor else s.text(f"{run}.out")
    expect("disconnected" in while_unplugged, f"record says the keyboard is gone: {while_unplugged!r}")
    if not monitor:
        expect("reconnected" not in while_unplugged, "reconnected only after the replug")
    expect("reconnected" in s.text(f"{run}.out"), "record says the keyboard is back")
    notes = s.take("take.mid")
    equal([n[:2] for n in notes], [("on", 60), ("off", 60), ("on", 67), ("off", 67)],
          "the take across the replug (the held note released at the unplug)")
    held = notes[1][3] - notes[0][3]
    expect(held < 1.5, f"the note held at the unplug ends at the unplug, not after {held:.1f} s")


def check_replug_usb(s, binary):
    stderr = s.succeeded("take")
    expect("via direct USB" in stderr, f"record --usb reads usbfs: {stderr!r}")
    check_replug(s, binary, monitor=False)


def check_unplug(s, binary):
    stderr = s.succeeded("take", stderr_has="disconnected")
    notes = s.take("take.mid")
    equal([n[:2] for n in notes], [("on", 60), ("off", 60), ("on", 64), ("off", 64)],
          "the take up to the unplug, the held note closed")
    expect("saved" in stderr or "wrote" in stderr or "take.mid" in stderr, f"record says where the take is: {stderr!r}")


def check_detach(s, binary):
    s.succeeded("usb", stderr_has="via direct USB")
    equal(simple(s.events("usb")),
          [{"type": "note_on", "channel": 0, "note": 60, "velocity": 100},
           {"type": "note_off", "channel": 0, "note": 60, "velocity": 64}], "notes read over usbfs")
    drivers = s.text("drivers-after")
    expect("1-1:1.1 " in drivers and drivers.split("1-1:1.1 ")[1].split("\n")[0].endswith("snd-usb-audio"),
           f"the MIDI interface is given back to snd-usb-audio: {drivers!r}")
    s.succeeded("after", stderr_has="via system port")
    equal(simple(s.events("after")),
          [{"type": "note_on", "channel": 0, "note": 64, "velocity": 80},
           {"type": "note_off", "channel": 0, "note": 64, "velocity": 0}],
          "the system port delivers notes again after --detach")


def check_udev(s, binary):
    for run, what in (("akm322", "the DeepComposer"), ("generic", "a class-compliant keyboard (1209:0001)")):
        out = s.text(f"{run}.out")
        equal(s.code(run), 0, f"udevadm test on {what} ({out[-500:]!r})")
        expect("60-composer-probe.rules" in out, f"udevadm read our rule for {what}")
        tags = [line for line in out.splitlines() if line.startswith(("TAGS=", "CURRENT_TAGS="))]
        expect(any("uaccess" in line for line in tags), f"{what} is tagged uaccess: {tags}")
        expect("MODE" not in "".join(l for l in out.splitlines() if "60-composer-probe" in l),
               "the rule sets no mode")


CHECKS = {
    "list": check_list, "monitor": check_monitor, "play": check_play, "record": check_record,
    "replug": check_replug, "replug-usb": check_replug_usb, "unplug": check_unplug,
    "detach": check_detach, "udev": check_udev,
}


def main(argv):
    if argv[1:2] == ["panel-lines"]:
        for event in json.loads(PANEL.read_text()):
            print("".join(f"\\x{b:02x}" for b in message_bytes(event)))
        return 0
    out, binary = pathlib.Path(argv[1]), argv[2]
    names = argv[3:] or ALL
    failed = 0
    for name in names:
        if name not in CHECKS:
            print(f"test-kernel: no scenario {name!r} (there are: {', '.join(ALL)})")
            failed += 1
            continue
        scenario = Scenario(out, name)
        log = ""
        try:
            if not (scenario.dir / "status").exists():
                raise Failed("did not run (see target/kernel-lane/console.log)")
            log = "; ".join(line for line in scenario.text("log").splitlines() if line.startswith("lane:"))
            figure = CHECKS[name](scenario, binary)
            print(f"test-kernel: {name} ok" + (f": {figure}" if figure else ""))
        except Failed as failure:
            failed += 1
            print(f"test-kernel: {name} FAILED: {failure}" + (f" [guest: {log}]" if log else ""))
    print(f"test-kernel: {len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


def message_bytes(event):
    """The MIDI bytes of one expected monitor event."""
    channel, kind = event["channel"], event["type"]
    if kind == "note_on":
        return [0x90 | channel, event["note"], event["velocity"]]
    if kind == "note_off":
        return [0x80 | channel, event["note"], event["velocity"]]
    if kind == "control_change":
        return [0xB0 | channel, event["controller"], event["value"]]
    if kind == "pitch_bend":
        return [0xE0 | channel, event["value"] & 0x7F, event["value"] >> 7]
    raise ValueError(f"no bytes for {kind}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
