//! Decodes a captured USB-MIDI packet dump (hex, as `usbmon` or a umockdev
//! ioctl script shows transfers) into MIDI events.
//!
//! Run: `cargo run --example decode_usb_dump -- "0b b0 15 40  09 90 3c 64"`
//! or pipe a dump on standard input, one transfer per line.

use composer_probe::decode::names::{control_name, NoteNaming};
use composer_probe::decode::usb_midi::UsbMidiDecoder;
use composer_probe::decode::{ChannelMessage, Message};
use std::io::BufRead as _;

fn parse_hex(line: &str) -> Vec<u8> {
    let digits: String = line.chars().filter(char::is_ascii_hexdigit).collect();
    (0..digits.len() / 2)
        .filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn main() {
    let transfers: Vec<Vec<u8>> = match std::env::args().nth(1) {
        Some(arg) => vec![parse_hex(&arg)],
        None => std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .map(|l| parse_hex(&l))
            .collect(),
    };
    let naming = NoteNaming::default();
    let mut decoder = UsbMidiDecoder::new();
    for transfer in &transfers {
        decoder.feed(transfer, |cable, message| {
            let text = match message {
                Message::Channel { channel, message } => match message {
                    ChannelMessage::NoteOn { key, vel } => {
                        format!(
                            "ch {} note on  {} velocity {}",
                            channel.as_int() + 1,
                            naming.name(key.as_int()),
                            vel
                        )
                    }
                    ChannelMessage::NoteOff { key, vel } => {
                        format!(
                            "ch {} note off {} velocity {}",
                            channel.as_int() + 1,
                            naming.name(key.as_int()),
                            vel
                        )
                    }
                    ChannelMessage::Controller { controller, value } => format!(
                        "ch {} {} (CC {controller}) = {value}",
                        channel.as_int() + 1,
                        control_name(None, controller.as_int())
                    ),
                    other => format!("ch {} {other:?}", channel.as_int() + 1),
                },
                Message::SysEx { data, truncated } => format!(
                    "SysEx {} bytes{}",
                    data.len(),
                    if truncated { " (truncated)" } else { "" }
                ),
                other => format!("{other:?}"),
            };
            println!("cable {cable}: {text}");
        });
    }
    let stats = decoder.stats();
    eprintln!(
        "{} messages, {} malformed packets skipped",
        stats.messages, stats.malformed_packets
    );
}
