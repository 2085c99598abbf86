//! Throughput of the two MIDI decoders over a realistic 1 MiB stream, and
//! proof that decoding allocates nothing per message.
//!
//! The stream is what a keyboard such as the AKM322 sends while played:
//! notes (Note On, and Note On velocity 0 to release), CC sweeps and pitch
//! bend sweeps with running status, MIDI clock bytes in between (also in the
//! middle of messages), and an occasional SysEx. The USB-MIDI decoder gets
//! the same events as 4-byte event packets in 64-byte transfers.
//!
//! Before benchmarking, `main` decodes the whole stream twice with a
//! counting global allocator and panics unless the second pass (after the
//! SysEx buffer has grown) allocates nothing. This runs under
//! `cargo test --benches` too.

use composer_probe::decode::bytes::ByteStreamDecoder;
use composer_probe::decode::usb_midi::UsbMidiDecoder;
use composer_probe::decode::Message;
use criterion::{black_box, criterion_group, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// The global allocator, counting every allocation and reallocation.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Size of the byte stream.
const STREAM_BYTES: usize = 1 << 20;
/// Size of one USB bulk transfer at full speed.
const TRANSFER_BYTES: usize = 64;

/// One thing the keyboard sends.
enum Event {
    /// Status and data bytes of a channel message.
    Channel(u8, [u8; 2]),
    /// MIDI clock (0xF8), inserted before the event's last byte.
    ClockInside(Box<Event>),
    /// A whole SysEx message, F0 to F7.
    SysEx(Vec<u8>),
}

/// xorshift64: deterministic, good enough to vary the stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u8 {
        (self.next() % n) as u8
    }
}

/// The events, generated until their byte encoding reaches 1 MiB.
fn events() -> Vec<Event> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut running = None;
    let mut scratch = Vec::new();
    while bytes < STREAM_BYTES {
        let before = events.len();
        match rng.below(100) {
            // A chord or run of notes, each pressed then released.
            0..=54 => {
                for _ in 0..1 + rng.below(4) {
                    let key = 41 + rng.below(32);
                    events.push(Event::Channel(0x90, [key, 1 + rng.below(127)]));
                    events.push(Event::Channel(0x90, [key, 0]));
                }
            }
            // A modulation, volume or knob sweep.
            55..=74 => {
                let controller = [1, 7, 10, 21, 22, 23][usize::from(rng.below(6))];
                for _ in 0..8 + rng.below(24) {
                    events.push(Event::Channel(0xB0, [controller, rng.below(128)]));
                }
            }
            // A pitch wheel move.
            75..=89 => {
                for _ in 0..16 + rng.below(48) {
                    let bend = rng.next() as u16 & 0x3FFF;
                    events.push(Event::Channel(
                        0xE0,
                        [(bend & 0x7F) as u8, (bend >> 7) as u8],
                    ));
                }
            }
            // A clock tick in the middle of a message.
            90..=97 => {
                let inner = Event::Channel(0xB0, [1, rng.below(128)]);
                events.push(Event::ClockInside(Box::new(inner)));
            }
            // Sometimes a SysEx (identity reply, dumps).
            _ => {
                let len = 4 + usize::from(rng.below(250));
                let mut data = vec![0xF0];
                data.extend((0..len).map(|_| rng.below(128)));
                data.push(0xF7);
                events.push(Event::SysEx(data));
            }
        }
        for event in &events[before..] {
            bytes += encode_bytes(event, &mut running, &mut scratch);
        }
        scratch.clear();
    }
    events
}

/// Append one event as MIDI 1.0 bytes with running status; returns the
/// number of bytes written.
fn encode_bytes(event: &Event, running: &mut Option<u8>, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    match event {
        Event::Channel(status, data) => {
            if *running != Some(*status) {
                out.push(*status);
                *running = Some(*status);
            }
            let len = if status >> 4 == 0xC || status >> 4 == 0xD {
                1
            } else {
                2
            };
            out.extend_from_slice(&data[..len]);
        }
        Event::ClockInside(inner) => {
            encode_bytes(inner, running, out);
            let last = out.len() - 1;
            out.insert(last, 0xF8);
        }
        Event::SysEx(data) => {
            out.extend_from_slice(data);
            *running = None;
        }
    }
    out.len() - start
}

/// Append one event as USB-MIDI event packets on cable 0.
fn encode_packets(event: &Event, out: &mut Vec<u8>) {
    match event {
        Event::Channel(status, data) => {
            let len = if status >> 4 == 0xC || status >> 4 == 0xD {
                1
            } else {
                2
            };
            let mut packet = [status >> 4, *status, 0, 0];
            packet[2..2 + len].copy_from_slice(&data[..len]);
            out.extend_from_slice(&packet);
        }
        Event::ClockInside(inner) => {
            out.extend_from_slice(&[0x0F, 0xF8, 0, 0]);
            encode_packets(inner, out);
        }
        Event::SysEx(data) => {
            let mut chunks = data.chunks(3).peekable();
            while let Some(chunk) = chunks.next() {
                let cin = match (chunks.peek().is_some(), chunk.len()) {
                    (true, _) => 0x4,
                    (false, 1) => 0x5,
                    (false, 2) => 0x6,
                    (false, _) => 0x7,
                };
                let mut packet = [cin, 0, 0, 0];
                packet[1..1 + chunk.len()].copy_from_slice(chunk);
                out.extend_from_slice(&packet);
            }
        }
    }
}

/// The byte stream and the USB stream of the same events.
fn streams() -> (Vec<u8>, Vec<u8>) {
    let events = events();
    let mut bytes = Vec::with_capacity(STREAM_BYTES + 1024);
    let mut usb = Vec::new();
    let mut running = None;
    for event in &events {
        encode_bytes(event, &mut running, &mut bytes);
        encode_packets(event, &mut usb);
    }
    (bytes, usb)
}

/// Something cheap from each message, so decoding cannot be optimised away.
#[inline]
fn weigh(message: &Message<'_>) -> u64 {
    match message {
        Message::Channel { channel, .. } => 1 + u64::from(channel.as_int()),
        Message::SysEx { data, .. } => data.len() as u64,
        Message::Common(_) => 2,
        Message::Realtime(_) => 3,
    }
}

fn decode_bytes(decoder: &mut ByteStreamDecoder, stream: &[u8]) -> u64 {
    let mut sum = 0;
    decoder.feed(stream, |message| sum += weigh(&message));
    sum
}

fn decode_usb(decoder: &mut UsbMidiDecoder, stream: &[u8]) -> u64 {
    let mut sum = 0;
    for transfer in stream.chunks(TRANSFER_BYTES) {
        decoder.feed(transfer, |_cable, message| sum += weigh(&message));
    }
    sum
}

/// Allocations made while running `f`.
fn allocations(f: impl FnOnce() -> u64) -> u64 {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    black_box(f());
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// Panic unless decoding the stream allocates nothing once the SysEx
/// buffers have grown, and only a few times (buffer growth) before that.
fn check_no_allocation(bytes: &[u8], usb: &[u8]) {
    let mut decoder = ByteStreamDecoder::new();
    let first = allocations(|| decode_bytes(&mut decoder, bytes));
    let second = allocations(|| decode_bytes(&mut decoder, bytes));
    // The first SysEx allocates the buffer: proof the counter works.
    assert!(
        (1..=4).contains(&first),
        "byte decoder: {first} allocations on first pass"
    );
    assert_eq!(second, 0, "byte decoder allocated after warm-up");
    assert_eq!(decoder.stats().stray_bytes, 0);
    assert_eq!(decoder.stats().truncated_sysex, 0);

    let mut decoder = UsbMidiDecoder::new();
    let first = allocations(|| decode_usb(&mut decoder, usb));
    let second = allocations(|| decode_usb(&mut decoder, usb));
    assert!(
        (1..=4).contains(&first),
        "USB decoder: {first} allocations on first pass"
    );
    assert_eq!(second, 0, "USB decoder allocated after warm-up");
    assert_eq!(decoder.stats().malformed_packets, 0);
    assert_eq!(decoder.stats().truncated_sysex, 0);
    eprintln!(
        "decoders: 0 allocations decoding {} stream bytes and {} USB bytes after warm-up",
        bytes.len(),
        usb.len()
    );
}

fn bench(c: &mut Criterion) {
    let (bytes, usb) = streams();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("byte_stream_1MiB", |b| {
        let mut decoder = ByteStreamDecoder::new();
        b.iter(|| decode_bytes(&mut decoder, black_box(&bytes)));
    });
    group.throughput(Throughput::Bytes(usb.len() as u64));
    group.bench_function("usb_midi_same_events", |b| {
        let mut decoder = UsbMidiDecoder::new();
        b.iter(|| decode_usb(&mut decoder, black_box(&usb)));
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    let (bytes, usb) = streams();
    check_no_allocation(&bytes, &usb);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
