//! Fuzz the take journal's reader and `recover` (`record::recover_bytes`:
//! the journal parser with its damaged-header defaults, the take's time
//! bounds, the SMF writer). Must never panic; what it writes must read back
//! with `record::read::parse` and stay within a fixed multiple of the
//! input (no time gap may grow the file); no single allocation over 256 MB
//! (`-malloc_limit_mb`) and no input over 1 s (`-timeout=1`).
#![no_main]

use composer_probe::record::{read::parse, recover_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = recover_bytes(data) else {
        return;
    };
    assert!(
        file.len() <= 8 * data.len() + 4096,
        "{} bytes of journal made a {}-byte file",
        data.len(),
        file.len()
    );
    if let Err(error) = parse(&file) {
        panic!("recover wrote a file the reader refuses: {error}");
    }
});
