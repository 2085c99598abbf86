//! Regressions for inputs that crashed (or, by review, could crash) the
//! fuzz targets in `fuzz/`, on the stable toolchain: each calls the library
//! function the target calls, on the offending bytes, and checks that it
//! returns (an error, where the input is damaged) instead of panicking.
//! Plus a replay of every committed seed in `fuzz/seeds/` through the same
//! checks the fuzz targets make.

use composer_probe::decode::bytes::ByteStreamDecoder;
use composer_probe::decode::usb_midi::UsbMidiDecoder;
use composer_probe::record::read::parse;
use composer_probe::record::recover_bytes;
use composer_probe::usb::descriptor::{
    find_midi_interface, parse_configuration, parse_device_blob,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// Counts the bytes allocated by the current thread while `COUNTING` is
/// set, so a test can bound what parsing a file costs.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATED.try_with(|total| total.set(total.get() + size));
    }
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Total bytes `f` allocates on this thread (an upper bound on its peak).
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATED.with(|total| total.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f();
    COUNTING.with(|on| on.set(false));
    (out, ALLOCATED.with(Cell::get))
}

/// What the `smf` fuzz target checks: parse (SysEx and escaped bytes go
/// through the byte-stream decoder inside), then event times never go
/// backwards.
fn smf_checks(data: &[u8]) -> Result<usize, String> {
    let events = parse(data).map_err(|e| e.to_string())?;
    let mut last_us = 0;
    for event in &events {
        assert!(
            event.t_us >= last_us,
            "event times go backwards: {} after {last_us}",
            event.t_us
        );
        last_us = event.t_us;
    }
    Ok(events.len())
}

/// A Standard MIDI File with one header and the given tracks.
fn smf(format: u16, division: u16, tracks: &[&[u8]]) -> Vec<u8> {
    let mut out = b"MThd\0\0\0\x06".to_vec();
    out.extend(format.to_be_bytes());
    out.extend((tracks.len() as u16).to_be_bytes());
    out.extend(division.to_be_bytes());
    for track in tracks {
        out.extend(b"MTrk");
        out.extend((track.len() as u32).to_be_bytes());
        out.extend(*track);
    }
    out
}

/// Found by the `smf` target (fuzz/artifacts/smf/crash-fc41fff9…, 16 bytes),
/// minimized by hand to the header chunk alone: division 0x8000 (SMPTE,
/// "-128 fps"). midly 0.5.3 `Timing::read` computes `-(0x80 as i8)`, which
/// panics with "attempt to negate with overflow" whenever midly is built
/// with overflow checks (every debug/test build of composer-probe). With
/// the checks off it wraps and midly reports "invalid smpte fps".
#[test]
fn smpte_division_minus_128_is_an_error_not_a_panic() {
    const CRASH: &[u8] = &[
        0x4d, 0x54, 0x68, 0x64, // "MThd"
        0x00, 0x00, 0x00, 0x06, // chunk length 6
        0x00, 0x00, // format 0
        0x00, 0x01, // 1 track
        0x80, 0x00, // division: SMPTE, fps byte 0x80
    ];
    assert!(parse(CRASH).is_err());
}

/// A division 0x8000 header chunk: SMPTE timing with an fps byte of 0x80.
fn bad_header_file() -> Vec<u8> {
    smf(0, 0x8000, &[&[0x00, 0xff, 0x2f, 0x00]])
}

/// The same midly bug inside a RIFF (RMID) wrapper: a guard that only
/// looks at the first bytes of the file misses it.
#[test]
fn smpte_division_minus_128_inside_riff_is_an_error_not_a_panic() {
    let bad = bad_header_file();
    let mut data = b"data".to_vec();
    data.extend((bad.len() as u32).to_le_bytes());
    data.extend(&bad);
    let mut riff = b"RIFF".to_vec();
    riff.extend((4 + data.len() as u32).to_le_bytes());
    riff.extend(b"RMID");
    riff.extend(&data);
    assert!(parse(&riff).is_err());
}

/// The same midly bug in a second MThd chunk after the tracks: midly
/// parses every header chunk (and then ignores the extra ones), so a guard
/// must look at all of them.
#[test]
fn smpte_division_minus_128_in_a_second_header_is_not_a_panic() {
    let mut file = smf(0, 96, &[&[0x00, 0xff, 0x2f, 0x00]]);
    file.extend(&bad_header_file()[..14]);
    let _ = smf_checks(&file);
}

/// By review of `TickClock::at` (src/record/read.rs): `segment_us + us`
/// overflows once a file's time passes 2^64 µs. With 96 ticks per beat that
/// takes absurd deltas, but with 1 tick per beat, the slowest tempo
/// (0xFFFFFF µs/beat) and the largest delta (0x0FFFFFFF ticks) each event
/// adds ~2^52 µs, so ~4,200 events (21 KB) get there; a tempo event half
/// way makes `segment_us` non-zero so the sum overflows ("attempt to add
/// with overflow" in debug builds; in release the times wrap and go
/// backwards). Times must saturate instead.
#[test]
fn tick_clock_does_not_overflow_past_2_pow_64_us() {
    const SLOWEST_TEMPO: [u8; 6] = [0xff, 0x51, 0x03, 0xff, 0xff, 0xff];
    const MAX_DELTA: [u8; 4] = [0xff, 0xff, 0xff, 0x7f];
    let mut track = vec![0x00];
    track.extend(SLOWEST_TEMPO);
    track.extend([0x00, 0xc0, 0x00]); // program change, then running status
    for half in 0..2 {
        for _ in 0..2100 {
            track.extend(MAX_DELTA);
            track.push(0x00);
        }
        if half == 0 {
            // A meta event cancels running status: say C0 again after it.
            track.extend(MAX_DELTA);
            track.extend(SLOWEST_TEMPO);
            track.extend([0x00, 0xc0, 0x00]);
        }
    }
    track.extend([0x00, 0xff, 0x2f, 0x00]);
    let file = smf(0, 1, &[&track]);
    assert!(file.len() < 22 * 1024);
    assert_eq!(smf_checks(&file), Ok(4202));
}

/// Memory stays proportional to the input: the densest files (an event
/// every 2 bytes, or a track every 12 bytes) allocate ~125 bytes per input
/// byte in all (midly's events, the merged timeline and its regrowth, the
/// events' own bytes; measured 2026-11-26), never anything sized by a
/// number in the file (track count, chunk length).
#[test]
fn parse_allocates_in_proportion_to_the_input() {
    const SIZE: usize = 64 * 1024;
    // One track: program change, then running-status data bytes at delta 0.
    let mut dense = vec![0x00, 0xc0, 0x00];
    while dense.len() < SIZE - 4 {
        dense.extend([0x00, 0x01]);
    }
    dense.extend([0x00, 0xff, 0x2f, 0x00]);
    let dense = smf(0, 96, &[&dense]);
    // As many one-event tracks as a header can announce (format 1).
    let eot: &[u8] = &[0x00, 0xff, 0x2f, 0x00];
    let many = smf(1, 96, &vec![eot; SIZE / 12]);
    // A header announcing 65535 tracks and the largest chunk lengths, with
    // nothing behind them.
    let mut liar = b"MThd\0\0\0\x06\0\x01\xff\xff\0\x60".to_vec();
    for _ in 0..SIZE / 8 {
        liar.extend(b"MTrk\xff\xff\xff\xff");
    }
    for (name, file) in [("dense", dense), ("many", many), ("liar", liar)] {
        let (result, bytes) = allocated_by(|| parse(&file).map(|events| events.len()));
        eprintln!(
            "{name}: {} bytes in, {bytes} allocated, {result:?}",
            file.len()
        );
        assert!(
            bytes <= 256 * file.len(),
            "{name}: {} input bytes, {bytes} allocated",
            file.len()
        );
    }
}

/// What the `journal` fuzz target checks: `recover` on the bytes either
/// refuses them or writes a file the reader accepts, bounded by the input.
fn journal_checks(data: &[u8]) -> Result<usize, String> {
    let file = recover_bytes(data).map_err(|e| e.to_string())?;
    assert!(
        file.len() <= 8 * data.len() + 4096,
        "{} bytes of journal made a {}-byte file",
        data.len(),
        file.len()
    );
    let events = parse(&file).map_err(|e| format!("recover wrote an unreadable file: {e}"))?;
    Ok(events.len())
}

const JOURNAL_HEADER: &str =
    r#"composer-probe journal 1 {"target":"take.mid","start_us":0,"options":{}}"#;

/// Issue 12, defect 9: a time of u64::MAX (or any gap of centuries) made
/// `recover` allocate 3 GB and write 462 MB of empty events.
#[test]
fn a_journal_time_of_u64_max_makes_a_small_file_with_little_memory() {
    for ppq_bpm in [
        r#"{}"#,
        r#"{"ppq":32767,"bpm":60000000.0}"#,
        r#"{"ppq":1,"bpm":4.0}"#,
    ] {
        let header = JOURNAL_HEADER.replace("{}", ppq_bpm);
        let journal = format!(
            "{header}\n0 903c64\n18446744073709551615 803c00\n9223372036854775807 903e64\na 18446744073709551615\n"
        );
        let (result, bytes) = allocated_by(|| journal_checks(journal.as_bytes()));
        assert_eq!(
            result,
            Ok(2),
            "{ppq_bpm}: the first note and its release at the end"
        );
        assert!(bytes < 1 << 20, "{ppq_bpm}: {bytes} bytes allocated");
    }
}

/// Memory for `recover` stays proportional to the journal, whatever its
/// times say.
#[test]
fn recover_allocates_in_proportion_to_the_input() {
    let mut journal = format!("{JOURNAL_HEADER}\n");
    let mut t: u64 = 0;
    while journal.len() < 64 * 1024 {
        journal += &format!("{t} 903c64\n{} 803c00\n", t + 1);
        t = t.wrapping_mul(3).wrapping_add(1 << 40);
    }
    let (result, bytes) = allocated_by(|| journal_checks(journal.as_bytes()));
    assert!(result.is_ok(), "{result:?}");
    assert!(
        bytes <= 256 * journal.len(),
        "{} input bytes, {bytes} allocated",
        journal.len()
    );
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// Every committed seed goes through what its fuzz target does, and the
/// seeds made from real files still mean what they should.
#[test]
fn committed_seeds_pass_the_fuzz_checks() {
    for (name, data) in seeds("descriptor") {
        let blob = parse_device_blob(&data);
        let bare = parse_configuration(&data);
        let midi = find_midi_interface(&blob);
        let _ = find_midi_interface(&bare);
        // Root hubs, the Genesys hub and the mouse carry no MIDI Streaming.
        let expect_midi = !matches!(
            name.as_str(),
            "akm322-snd-usb1.bin" | "multicable-2-1.bin" | "mouse-1-4.bin"
        );
        assert_eq!(midi.is_some(), expect_midi, "{name}");
    }
    for (name, data) in seeds("smf") {
        let result = smf_checks(&data);
        let damaged = matches!(name.as_str(), "not-midi.mid" | "truncated.mid");
        assert_eq!(result.is_err(), damaged, "{name}: {result:?}");
    }
    for (_, data) in seeds("byte_stream") {
        let mut decoder = ByteStreamDecoder::with_sysex_cap(16);
        decoder.feed(&data, |_| {});
    }
    for (_, data) in seeds("usb_midi") {
        let mut decoder = UsbMidiDecoder::with_sysex_cap(16);
        decoder.feed(&data, |_, _| {});
    }
    for (name, data) in seeds("journal") {
        // Every seed is a journal with notes: a damaged header or a cut
        // line costs settings or that line, never the file.
        let events = journal_checks(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(events >= 2, "{name}: {events} events");
    }
}
