#!/usr/bin/env python3
"""Regenerate the fuzz seed corpora in fuzz/seeds/<target>/ from the test
fixtures (plus a few hand-made inputs). Standard library only.

    python3 fuzz/seeds/gen_seeds.py          # from the repository root
"""
import hashlib
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"

# Bytes carried by each USB-MIDI 1.0 Code Index Number (0 and 1 are reserved).
CIN_LEN = {0x2: 2, 0x3: 3, 0x4: 3, 0x5: 1, 0x6: 2, 0x7: 3, 0x8: 3, 0x9: 3,
           0xA: 3, 0xB: 3, 0xC: 2, 0xD: 2, 0xE: 3, 0xF: 1}


def write(target, name, data):
    path = SEEDS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def descriptor_seeds():
    seen = set()
    for fixture in sorted(FIXTURES.glob("*.umockdev")):
        device = None
        for line in fixture.read_text().splitlines():
            if line.startswith("P: "):
                device = line[3:].rsplit("/", 1)[-1]
            m = re.match(r"H: descriptors=([0-9A-Fa-f]+)$", line)
            if m:
                blob = bytes.fromhex(m.group(1))
                digest = hashlib.sha1(blob).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                write("descriptor", f"{fixture.stem}-{device}.bin", blob)
    # The configuration-only example from src/usb/descriptor.rs (no device
    # descriptor in front).
    write("descriptor", "doc-example-config.bin", [
        9, 0x02, 54, 0, 1, 1, 0, 0x80, 50,
        9, 0x04, 0, 0, 1, 1, 3, 0, 0,
        7, 0x24, 1, 0, 1, 36, 0,
        6, 0x24, 2, 2, 1, 0,
        9, 0x24, 3, 1, 2, 1, 1, 1, 0,
        9, 0x05, 0x81, 2, 64, 0, 0, 0, 0,
        5, 0x25, 1, 1, 2,
    ])


def ioctl_transfers(path):
    out = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "USBDEVFS_REAPURBNDELAY" and len(fields) == 10:
            out.append(bytes.fromhex(fields[9]))
    return out


def usb_to_bytes(packets):
    stream = bytearray()
    for i in range(0, len(packets) - 3, 4):
        cin = packets[i] & 0x0F
        stream += packets[i + 1:i + 1 + CIN_LEN.get(cin, 0)]
    return bytes(stream)


def decoder_seeds():
    for ioctl in sorted((FIXTURES / "streams").glob("*.ioctl")):
        transfers = ioctl_transfers(ioctl)
        whole = b"".join(transfers)
        # usb_midi: the whole capture as one input (the target's first byte
        # also picks a re-split size); byte_stream: the same events as a
        # MIDI 1.0 byte stream.
        write("usb_midi", f"{ioctl.stem}.bin", whole)
        write("byte_stream", f"{ioctl.stem}.bin", usb_to_bytes(whole))
    write("usb_midi", "sysex-cable1-interleaved.bin", bytes([
        0x14, 0xF0, 0x7E, 0x7F, 0x09, 0x90, 0x3C, 0x64, 0x14, 0x06, 0x01, 0x02,
        0x0F, 0xF8, 0x00, 0x00, 0x16, 0x03, 0xF7, 0x00, 0x08, 0x80, 0x3C, 0x00,
        0x05, 0xF7, 0x00, 0x00, 0x1F, 0xFE, 0x00, 0x00, 0x0C, 0xC0, 0x05, 0x00,
    ]))
    # byte_stream: running status, real-time bytes inside messages and
    # SysEx, System Common, a SysEx cut off by a status byte, stray data.
    write("byte_stream", "running-status.bin", bytes([
        0x90, 0x3C, 0x64, 0x3E, 0x50, 0x3C, 0x00, 0xB0, 0x07, 0x64, 0x0A, 0x40,
        0xC0, 0x05, 0x06, 0xE0, 0x00, 0x40, 0x7F, 0x7F,
    ]))
    write("byte_stream", "realtime-everywhere.bin", bytes([
        0x90, 0xF8, 0x3C, 0xFE, 0x64, 0xF0, 0x7E, 0xF8, 0x7F, 0x06, 0x01, 0xF7,
        0xFA, 0xFB, 0xFC, 0xFF,
    ]))
    write("byte_stream", "system-common.bin", bytes([
        0xF1, 0x21, 0xF2, 0x10, 0x20, 0xF3, 0x05, 0xF6, 0xF4, 0xF5, 0x80, 0x3C,
        0x40,
    ]))
    write("byte_stream", "sysex-cut-and-stray.bin", bytes([
        0x12, 0x34, 0xF0, 0x43, 0x10, 0x4C, 0x90, 0x3C, 0x64, 0xF7, 0xF0,
        0x7E, 0x7F, 0x09, 0x01, 0xF0, 0x01, 0xF7,
    ]))


def smf(fmt, division, tracks):
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    for track in tracks:
        out += b"MTrk" + struct.pack(">I", len(track)) + bytes(track)
    return out


EOT = [0x00, 0xFF, 0x2F, 0x00]


def smf_seeds():
    for mid in sorted((FIXTURES / "streams").glob("*.mid")):
        write("smf", mid.name, mid.read_bytes())
    # SMPTE timing (25 fps, 40 subframes), a SysEx, an escape, a tempo that
    # is then changed to the smallest and largest values.
    write("smf", "smpte-sysex-escape.mid", smf(0, 0xE728, [[
        0x00, 0xF0, 0x05, 0x7E, 0x7F, 0x09, 0x01, 0xF7,
        0x10, 0xF7, 0x02, 0xF8, 0xFA,
        0x20, 0x90, 0x3C, 0x64, 0x81, 0x00, 0x3C, 0x00,
    ] + EOT]))
    write("smf", "tempo-extremes.mid", smf(1, 0x0001, [
        [0x00, 0xFF, 0x51, 0x03, 0xFF, 0xFF, 0xFF,
         0x83, 0x60, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00] + EOT,
        [0x00, 0xC0, 0x05, 0xFF, 0xFF, 0xFF, 0x7F, 0xD0, 0x40,
         0x81, 0x80, 0x80, 0x00, 0xE0, 0x00, 0x40] + EOT,
    ]))
    # Format 2 with a RIFF (RMID) wrapper around it.
    inner = smf(2, 96, [[0x00, 0x90, 0x3C, 0x64, 0x60, 0x80, 0x3C, 0x00] + EOT,
                        [0x00, 0xB0, 0x07, 0x64] + EOT])
    data = b"data" + struct.pack("<I", len(inner)) + inner
    riff = b"RIFF" + struct.pack("<I", 4 + len(data)) + b"RMID" + data
    write("smf", "rmid-format2.mid", riff)


JOURNAL_MAGIC = "composer-probe journal 1 "


def journal_header(target="take.mid", start_us=0, **options):
    opts = {"ppq": 480, "bpm": 120.0, "time_signature": [4, 4],
            "split_channels": False, "keep_leading_silence": False,
            "include_realtime": False, "track_name": "composer-probe take",
            "deepcomposer_export": False}
    opts.update(options)
    import json
    return JOURNAL_MAGIC + json.dumps(
        {"target": target, "start_us": start_us, "options": opts},
        separators=(",", ":")) + "\n"


def journal_seeds():
    body = ("1000 c005\n1500 903c64\n2000 b0407f\nm 2500\n500000 803c00\n"
            "600000 e00040\n700000 f0431000f7\n800000 f3\na 1000000\n"
            "900000 d040\n950000 a03c20\n1000000 b04000\n")
    write("journal", "plain.journal", (journal_header() + body).encode())
    write("journal", "split-ppq96.journal", (journal_header(
        split_channels=True, ppq=96, bpm=200.5, time_signature=[7, 8],
        include_realtime=True) + body + "1100000 f8\n1200000 913e64\n").encode())
    write("journal", "deepcomposer-leading.journal", (journal_header(
        start_us=10, deepcomposer_export=True, keep_leading_silence=True)
        + body + "30000000 903c64\n").encode())
    write("journal", "fastest-ticks.journal", (journal_header(
        ppq=32767, bpm=60000000.0) + "0 903c64\n200000 803c00\n").encode())
    write("journal", "huge-gap.journal", (journal_header() +
        "1000 903c64\n18446744073709551615 903e64\na 18446744073709551615\n"
        "500000 803c00\n").encode())
    damaged = journal_header().replace('"ppq":480', '"ppq":4#0')
    write("journal", "damaged-header.journal", (damaged + body).encode())
    merged = journal_header()[:-1] + "_"
    write("journal", "header-newline-lost.journal", (merged + body).encode())
    write("journal", "cut-line.journal", (journal_header() + body + "1300000 90").encode())


if __name__ == "__main__":
    descriptor_seeds()
    decoder_seeds()
    smf_seeds()
    journal_seeds()
