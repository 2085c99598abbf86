//! Running the real binary under umockdev, and the JSON shapes it prints
//! (test-only types that reject unknown fields, so the README's field list
//! and the output cannot drift apart silently).

// Some JSON fields are only deserialised, never read: they pin the schema.
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Output};

/// Path of a file under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts exit status 0 and an empty stderr, and returns stdout.
    pub fn success(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert_eq!(self.stderr, "", "nothing may be printed on stderr");
        &self.stdout
    }

    /// Parses stdout as the `list --json` document.
    pub fn report(&self) -> Report {
        serde_json::from_str(self.success()).expect("list --json prints the documented JSON")
    }
}

/// A command that runs `composer-probe ARGS` with the given umockdev device
/// files (none: an empty USB bus) and the system MIDI service made
/// unavailable (ALSA reads an empty configuration).
pub fn probe_command(devices: &[&str], args: &[&str]) -> Command {
    let mut command = Command::new("umockdev-run");
    for device in devices {
        command.arg("-d").arg(fixture(device));
    }
    then_probe(&mut command, args).env_remove("NO_COLOR");
    command
}

/// Ends a wrapper's command line (`umockdev-run ...`, `replug.py ...`)
/// with `-- composer-probe ARGS`, the system MIDI service made unavailable
/// (ALSA reads an empty configuration).
pub fn then_probe<'a>(command: &'a mut Command, args: &[&str]) -> &'a mut Command {
    command
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_composer-probe"))
        .args(args)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE")
}

/// Runs `composer-probe ARGS` under umockdev with the given device files.
pub fn probe(devices: &[&str], args: &[&str]) -> Run {
    let output = probe_command(devices, args)
        .output()
        .expect("umockdev-run is installed (Debian package umockdev; the README's test command installs it)");
    Run::from_output(output)
}

/// Runs `composer-probe ARGS` under umockdev with `device` emulated and the
/// USB stream `script` (an ioctl script) replayed on its node `node`.
pub fn probe_stream(device: &str, node: &str, script: &std::path::Path, args: &[&str]) -> Run {
    let mut command = Command::new("umockdev-run");
    command
        .arg("-d")
        .arg(fixture(device))
        .arg("-i")
        .arg(format!("{node}={}", script.display()));
    let output = then_probe(&mut command, args)
        .output()
        .expect("umockdev-run runs");
    Run::from_output(output)
}

/// The expected events of a stream (`tests/fixtures/streams/NAME`).
pub fn expected(name: &str) -> Vec<Map<String, Value>> {
    let text =
        std::fs::read_to_string(fixture(&format!("streams/{name}"))).expect("expected events");
    serde_json::from_str(&text).expect("expected events are JSON")
}

/// Every stdout line parsed as one JSON object (`--json` output).
pub fn json_lines(stdout: &str) -> Vec<Map<String, Value>> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// Every field the expectation names must match; our `value` carries the
/// program number, and an absent `cable` means cable 0.
pub fn assert_events_match(actual: &[Map<String, Value>], expected: &[Map<String, Value>]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "event count\nactual: {actual:#?}"
    );
    for (n, (got, want)) in actual.iter().zip(expected).enumerate() {
        for (key, value) in want {
            let field = if key == "program" {
                "value"
            } else {
                key.as_str()
            };
            let got_value = got.get(field).cloned().unwrap_or(if key == "cable" {
                Value::from(0)
            } else {
                Value::Null
            });
            assert_eq!(
                &got_value, value,
                "event {n} field {key}: got {got:?}, want {want:?}"
            );
        }
    }
}

/// Copies of the binary and a fixture in a fresh directory anyone may
/// read (the checkout itself may be private to root); removed on drop.
pub struct NobodyCopies {
    dir: PathBuf,
    /// The binary.
    pub binary: PathBuf,
    /// The fixture.
    pub fixture: PathBuf,
}

impl Drop for NobodyCopies {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes [`NobodyCopies`] of the binary and a fixture.
pub fn copies_for_nobody(device: &str) -> NobodyCopies {
    use std::os::unix::fs::PermissionsExt as _;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cp-nobody-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.join("composer-probe");
    std::fs::copy(env!("CARGO_BIN_EXE_composer-probe"), &binary).unwrap();
    let copy = dir.join(device);
    std::fs::copy(fixture(device), &copy).unwrap();
    for file in [&binary, &copy] {
        let mode = if *file == binary { 0o755 } else { 0o644 };
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    NobodyCopies {
        dir,
        binary,
        fixture: copy,
    }
}

/// Polls `ready` every 50 ms until it holds; fails the test, naming
/// `what`, after `within` (generous: a loaded machine starts servers and
/// programs slowly).
pub fn wait_until(what: &str, within: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < within,
            "{what}: not so after {within:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Asks `child` to stop with `signal` and waits for it: its exit status,
/// or `None` when it had to be killed after 10 s.
pub fn stop(child: &mut Child, signal: libc::c_int) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // SAFETY: kill(2) on a child we spawned and have not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let asked = std::time::Instant::now();
    while asked.elapsed() < std::time::Duration::from_secs(10) {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    eprintln!("process {} ignored signal {signal}: killed", child.id());
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// True when the tests run as root (as in CI).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uid_line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            Some(uid_line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// Runs a shell script under umockdev as an unprivileged user (`nobody`
/// when the tests run as root, else the current user), with `$PROBE` naming
/// the binary; the testbed belongs to that user.
pub fn probe_as_nobody(device: &str, script: &str) -> Run {
    let copies = copies_for_nobody(device);
    let mut command = if running_as_root() {
        let mut setpriv = Command::new("setpriv");
        setpriv.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "umockdev-run",
        ]);
        setpriv
    } else {
        Command::new("umockdev-run")
    };
    let output = command
        .arg("-d")
        .arg(&copies.fixture)
        .args(["--", "sh", "-c", script])
        .env("PROBE", &copies.binary)
        .env("ALSA_CONFIG_PATH", "/dev/null")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("setpriv (util-linux) and umockdev-run are installed");
    Run::from_output(output)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub devices: Vec<Device>,
    pub midi_service: Service,
    pub os_ports: OsPorts,
    pub usb_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsPorts {
    pub inputs: Vec<OsPort>,
    pub outputs: Vec<OsPort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsPort {
    pub name: String,
    pub id: String,
    pub card: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub name: String,
    pub status: String,
    pub verdict: String,
    pub problems: Vec<String>,
    pub fix: Vec<String>,
    pub vendor_id: u16,
    pub product_id: u16,
    pub bcd_device: u16,
    pub bus: u8,
    pub address: u8,
    pub port_path: String,
    pub speed: String,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    pub driver: Option<String>,
    pub access: Access,
    pub sysfs_path: Option<String>,
    pub known: Option<Known>,
    pub midi: Option<Midi>,
    pub os_ports: Vec<PairedPort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    pub state: String,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    pub vendor_id: u16,
    pub product_id: u16,
    pub name: String,
    pub keys: u8,
    pub default_range: (u8, u8),
    pub controls: Vec<Control>,
    pub transport: Option<Transport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    pub play: u8,
    pub stop: u8,
    pub record: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub name: String,
    pub message: String,
    pub controller: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Midi {
    pub interface: u8,
    pub vendor_specific: bool,
    pub endpoints: Vec<Endpoint>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    pub in_jacks: Vec<InJack>,
    pub out_jacks: Vec<OutJack>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub address: u8,
    pub direction: String,
    pub transfer: String,
    pub max_packet_size: u16,
    pub jacks: Vec<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub cable: u8,
    pub endpoint: u8,
    pub jack: u8,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InJack {
    pub id: u8,
    pub kind: String,
    pub string_index: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutJack {
    pub id: u8,
    pub kind: String,
    pub sources: Vec<u8>,
    pub string_index: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairedPort {
    pub direction: String,
    pub name: String,
    pub id: String,
}

/// The names of the files in `dir`, sorted: what a user's `ls` shows.
pub fn dir_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
