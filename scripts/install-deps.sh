#!/usr/bin/env bash
# Installs what composer-probe needs and is missing, on Debian or Ubuntu.
#   scripts/install-deps.sh          what building and running needs
#   scripts/install-deps.sh test     ... plus what the tests need (umockdev,
#                                    a headless PipeWire)
#   scripts/install-deps.sh bench    ... plus the benchmarks' peers and tools
#                                    (hyperfine, the JACK server and library)
#   scripts/install-deps.sh kernel   what the real-kernel lane needs (QEMU,
#                                    busybox, ALSA's tools, udevadm)
# System packages come from apt (through sudo when not root); the Rust
# toolchain from rustup when cargo is missing or older than the crate needs.
set -euo pipefail

purpose=${1:-run}
min_rust=1.85

# No JACK package: the JACK host is in the default build, but the binary
# opens libjack.so.0 only when JACK is asked for, and the pkg-config entry
# jack-sys's build script asks for comes from .cargo/pkgconfig/jack.pc.
packages=(build-essential pkg-config libusb-1.0-0-dev libasound2-dev ca-certificates curl)
if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  # umockdev emulates USB devices; setpriv (util-linux) runs tests as another
  # user; sox, mido, fluidsynth and timidity check our audio and MIDI files
  # from outside; tmux drives the terminal view.
  # man and groff read the generated manual page.
  packages+=(umockdev usbutils util-linux sox python3 python3-mido fluidsynth fluid-soundfont-gm timidity tmux man-db groff-base)
  # udevadm (udev) judges our udev rule on emulated devices
  # (tests/integration/udev.rs); numpy measures rendered audio in Python
  # (tests/integration/render.rs).
  packages+=(udev python3-numpy)
  # umockdev's library API through GObject introspection (Debian's python3):
  # tests/fixtures/replug.py unplugs and replugs an emulated keyboard in one
  # run, which `umockdev-run` cannot do.
  packages+=(gir1.2-umockdev-1.0 python3-gi)
  # tests/integration/pipewire.rs starts a headless PipeWire (session bus,
  # wireplumber, a null sink) and plays into it through ALSA and JACK;
  # jack_rec (jackd2) records what reached it, through pw-jack.
  # pipewire-alsa makes PipeWire ALSA's machine-wide `default`; tests that
  # capture through their own .asoundrc or ALSA_CONFIG_PATH override it.
  packages+=(pipewire pipewire-bin wireplumber pipewire-alsa pipewire-jack dbus jackd2)
fi
if [ "$purpose" = kernel ]; then
  # scripts/test-kernel.sh: QEMU boots Debian's kernel (fetched by apt-get
  # download) with an initramfs of busybox, ALSA's tools and udevadm; numpy
  # and mido check the captured sound and the takes on the host.
  packages+=(qemu-system-x86 busybox-static alsa-utils udev cpio kmod python3 python3-mido python3-numpy)
fi
if [ "$purpose" = bench ]; then
  # hyperfine times whole commands; a JACK dummy server paces the latency
  # and idle benchmarks.
  packages+=(hyperfine jackd2)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: need root to install ${missing[*]}: run as root or install sudo" >&2
    exit 1
  fi
}

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get); install them by hand" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust: rustup's cargo in ~/.cargo/bin may not be on PATH yet.
if [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_ok() {
  command -v cargo >/dev/null 2>&1 || return 1
  local version
  version=$(rustc --version 2>/dev/null | awk '{print $2}')
  [ "$(printf '%s\n%s\n' "$min_rust" "$version" | sort -V | head -n1)" = "$min_rust" ]
}
if ! rust_ok; then
  if command -v rustup >/dev/null 2>&1; then
    echo "install-deps: updating the Rust toolchain (need $min_rust or newer)"
    rustup toolchain install stable --profile minimal -c clippy,rustfmt
    rustup default stable
  else
    echo "install-deps: installing Rust $min_rust or newer with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if [ "$purpose" != run ] && command -v rustup >/dev/null 2>&1; then
  for component in clippy rustfmt; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" \
      || rustup component add "$component"
  done
fi
