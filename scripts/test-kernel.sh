#!/usr/bin/env bash
# The real-kernel lane: boots Debian's own Linux kernel in QEMU with the
# DeepComposer emulated as a USB gadget (dummy_hcd + usb_f_midi), so the real
# snd-usb-audio, ALSA sequencer, usbfs and a real sound card (snd-aloop) sit
# between the keyboard and composer-probe, runs the scenarios in
# tests/kernel/scenarios.sh inside it, and checks what they saw on the host
# (tests/kernel/check.py). Installs what it needs first.
#   scripts/test-kernel.sh              every scenario
#   scripts/test-kernel.sh monitor play one or more scenarios by name
# Exits non-zero with one line per failed scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh kernel
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

lane=$root/target/kernel-lane
mkdir -p "$lane"
scenarios=$(IFS=,; echo "${*:-all}")

cargo build --release --quiet
gcc -O2 -Wall -Werror -o "$lane/key-to-sound" tests/kernel/key_to_sound.c -lasound

# Debian's kernel, unpacked once (no install, no root file system).
if [ ! -f "$lane/kernel/ready" ]; then
    rm -rf "$lane/kernel" && mkdir -p "$lane/kernel"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    download() {
        package=$(apt-cache depends linux-image-amd64 2>/dev/null \
            | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        [ -n "$package" ] && (cd "$lane/kernel" && apt-get download -q "$package" >/dev/null 2>&1)
    }
    # Package lists go stale: refresh them once when the download fails.
    download || { $sudo apt-get update -qq && download; } \
        || { echo "test-kernel: cannot download Debian's kernel (linux-image-amd64) with apt-get" >&2; exit 1; }
    dpkg-deb -x "$lane"/kernel/*.deb "$lane/kernel/root"
    rm "$lane"/kernel/*.deb
    touch "$lane/kernel/ready"
fi
kroot=$lane/kernel/root
version=$(ls "$kroot/lib/modules")
[ -f "$kroot/lib/modules/$version/modules.dep" ] || depmod -b "$kroot" "$version"

# The initramfs: busybox, composer-probe, ALSA's tools and udevadm with the
# libraries they link, ALSA's configuration (without alsa.conf.d, which may
# point ALSA at PipeWire), our udev rule, the modules in load order.
initrd=$lane/initrd
rm -rf "$initrd" && mkdir -p "$initrd"/{bin,sbin,usr/bin,etc/lane,lib/modules,lane,share,proc,sys,dev,tmp,run}
cp /bin/busybox "$initrd/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ -e "$initrd/bin/$applet" ] || ln -s busybox "$initrd/bin/$applet"
done
udevadm=$(command -v udevadm)
programs=(target/release/composer-probe "$lane/key-to-sound" /usr/bin/arecord /usr/bin/aplay
    /usr/bin/amidi /usr/bin/aconnect /usr/bin/aseqdump "$udevadm")
for program in "${programs[@]}"; do
    cp "$program" "$initrd/usr/bin/"
    for library in $(ldd "$program" | grep -o '/[^ ]*'); do
        mkdir -p "$initrd$(dirname "$library")"
        cp -L "$library" "$initrd$library"
    done
done
mkdir -p "$initrd/usr/share" "$initrd/etc/udev/rules.d" "$initrd/lib/udev/rules.d"
cp -r /usr/share/alsa "$initrd/usr/share/alsa"
rm -rf "$initrd/usr/share/alsa/alsa.conf.d"
# ALSA's default device: the loopback card through a plug at one fixed
# format, so that key-to-sound's capture (opened first when ▶ plays a take)
# and composer-probe's playback always agree on it (snd-aloop stops the
# capture when the two sides' formats differ).
cat > "$initrd/etc/asound.conf" <<'ALSA'
pcm.!default { type plug; slave { pcm "hw:Loopback,0,0"; format S16_LE; rate 48000; channels 2 } }
ALSA
cp /lib/udev/rules.d/50-udev-default.rules "$initrd/lib/udev/rules.d/"
cp udev/60-composer-probe.rules "$initrd/etc/udev/rules.d/"
printf 'root:x:0:0::/root:/bin/sh\n' > "$initrd/etc/passwd"
printf 'root:x:0:\naudio:x:29:\n' > "$initrd/etc/group"
cp tests/kernel/init "$initrd/init"
cp tests/kernel/scenarios.sh "$initrd/lane/"
/usr/bin/python3 tests/kernel/check.py panel-lines > "$initrd/lane/panel.lines"
# snd-aloop first, so that the loopback is card 0 and ALSA's default device;
# dummy_hcd at full speed, as the AKM322 is.
: > "$initrd/etc/lane/modules"
for module in snd-aloop snd-seq snd-seq-midi snd-usb-audio dummy_hcd libcomposite usb_f_midi \
    virtio_pci 9pnet_virtio 9p; do
    modprobe -d "$kroot" -S "$version" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
    name=$(basename "$path")
    cp "$path" "$initrd/lib/modules/$name"
    case $name in
        snd-aloop.ko) params="index=0 id=Loopback pcm_substreams=2" ;;
        dummy_hcd.ko) params="is_high_speed=0" ;;
        *) params="" ;;
    esac
    echo "$name $params" >> "$initrd/etc/lane/modules"
done
(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$lane/initrd.gz"

share=$lane/share
rm -rf "$share" && mkdir -p "$share/out"
echo "test-kernel: booting Linux $version in QEMU (scenarios: $scenarios)"
status=0
timeout 600 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 \
    -kernel "$kroot/boot/vmlinuz-$version" -initrd "$lane/initrd.gz" \
    -append "console=ttyS0 panic=-1 edd=off rdinit=/init quiet lane.scenarios=$scenarios" \
    -virtfs "local,path=$share,mount_tag=share,security_model=none" \
    -display none -serial "file:$lane/console.log" -no-reboot -nodefaults \
    || status=$?
if [ "$status" -ne 0 ]; then
    echo "test-kernel: QEMU failed (status $status); see $lane/console.log" >&2
    exit 1
fi
/usr/bin/python3 tests/kernel/check.py "$share/out" target/release/composer-probe "$@"
