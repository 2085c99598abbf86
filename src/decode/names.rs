//! Names people use for MIDI numbers: notes, controllers, and the
//! DeepComposer's panel controls.

use crate::devices::KnownDevice;

const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// How octaves are numbered: which octave middle C (note 60) is in.
/// Scientific pitch (the default) says C4; Yamaha-style says C3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteNaming {
    /// Octave number of middle C.
    pub middle_c_octave: i8,
}

impl Default for NoteNaming {
    fn default() -> Self {
        NoteNaming { middle_c_octave: 4 }
    }
}

impl NoteNaming {
    /// The name of a note number, e.g. `C4` for 60 by default.
    pub fn name(self, note: u8) -> String {
        let octave = i32::from(note / 12) - 5 + i32::from(self.middle_c_octave);
        format!("{}{octave}", NOTE_NAMES[usize::from(note % 12)])
    }
}

/// The General MIDI / MIDI 1.0 name of a controller number.
pub fn gm_controller_name(controller: u8) -> &'static str {
    match controller {
        0 => "Bank Select",
        1 => "Modulation",
        2 => "Breath",
        4 => "Foot Controller",
        5 => "Portamento Time",
        6 => "Data Entry",
        7 => "Volume",
        8 => "Balance",
        10 => "Pan",
        11 => "Expression",
        12 => "Effect 1",
        13 => "Effect 2",
        16..=19 => [
            "General Purpose 1",
            "General Purpose 2",
            "General Purpose 3",
            "General Purpose 4",
        ][usize::from(controller - 16)],
        32..=63 => "LSB",
        64 => "Sustain Pedal",
        65 => "Portamento",
        66 => "Sostenuto",
        67 => "Soft Pedal",
        68 => "Legato",
        69 => "Hold 2",
        70 => "Sound Variation",
        71 => "Resonance",
        72 => "Release Time",
        73 => "Attack Time",
        74 => "Cutoff",
        75 => "Decay Time",
        76 => "Vibrato Rate",
        77 => "Vibrato Depth",
        78 => "Vibrato Delay",
        79 => "Sound Controller 10",
        80..=83 => [
            "General Purpose 5",
            "General Purpose 6",
            "General Purpose 7",
            "General Purpose 8",
        ][usize::from(controller - 80)],
        84 => "Portamento Control",
        88 => "High Resolution Velocity",
        91 => "Reverb",
        92 => "Tremolo",
        93 => "Chorus",
        94 => "Detune",
        95 => "Phaser",
        96 => "Data Increment",
        97 => "Data Decrement",
        98 => "NRPN LSB",
        99 => "NRPN MSB",
        100 => "RPN LSB",
        101 => "RPN MSB",
        120 => "All Sound Off",
        121 => "Reset All Controllers",
        122 => "Local Control",
        123 => "All Notes Off",
        124 => "Omni Off",
        125 => "Omni On",
        126 => "Mono On",
        127 => "Poly On",
        _ => "Undefined",
    }
}

/// The name to show for a controller: the panel name when the source is a
/// known keyboard that uses it (the DeepComposer's CC 10 is its Encoder,
/// not General MIDI's Pan), else the General MIDI name.
pub fn control_name(device: Option<&KnownDevice>, controller: u8) -> &'static str {
    device
        .and_then(|d| d.control_name(controller))
        .unwrap_or_else(|| gm_controller_name(controller))
}

/// What a program number (0-based, as sent) selects: its General MIDI
/// instrument, or "drum kit" on channel 10 (`drums`), where programs choose
/// kits.
pub fn program_name(program: u8, drums: bool) -> &'static str {
    if drums {
        "drum kit"
    } else {
        GM_PROGRAMS[usize::from(program & 127)]
    }
}

/// General MIDI instrument names, by program number (0-based, as sent;
/// people count them from 1).
pub const GM_PROGRAMS: [&str; 128] = [
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Voice",
    "Orchestra Hit",
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::DEEPCOMPOSER;

    #[test]
    fn middle_c_is_c4_unless_configured() {
        assert_eq!(NoteNaming::default().name(60), "C4");
        assert_eq!(NoteNaming::default().name(41), "F2");
        assert_eq!(NoteNaming::default().name(0), "C-1");
        assert_eq!(NoteNaming::default().name(127), "G9");
        assert_eq!(NoteNaming { middle_c_octave: 3 }.name(60), "C3");
    }

    #[test]
    fn deepcomposer_controls_use_panel_names() {
        assert_eq!(control_name(Some(&DEEPCOMPOSER), 10), "Encoder");
        assert_eq!(control_name(Some(&DEEPCOMPOSER), 91), "Set+Reverb");
        assert_eq!(control_name(Some(&DEEPCOMPOSER), 64), "Sustain Pedal");
        assert_eq!(control_name(None, 10), "Pan");
        assert_eq!(control_name(None, 17), "General Purpose 2");
        assert_eq!(control_name(None, 3), "Undefined");
    }
}
