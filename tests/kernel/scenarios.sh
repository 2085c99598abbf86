#!/bin/sh
# The real-kernel lane's scenarios, run inside the guest by /init. Each
# scenario drives the real composer-probe against the DeepComposer emulated
# as a USB gadget (dummy_hcd + usb_f_midi, bound by the real snd-usb-audio)
# and leaves what it saw in /share/out/NAME/; tests/kernel/check.py on the
# host asserts on those files. Usage: scenarios.sh [NAME...] (default: all).
set -u
OUT=/share/out
PROBE=/usr/bin/composer-probe
GADGETS=/sys/kernel/config/usb_gadget
export HOME=/tmp/home NO_COLOR=1
mkdir -p "$HOME"

log() { echo "lane: $*"; }

# make_gadget NAME VID PID MANUFACTURER PRODUCT SERIAL SIDE: a USB MIDI gadget
# (SIDE: the ALSA id of the gadget side's own card, where keys are pressed)
# with one MIDI in and one out port, not yet plugged in.
make_gadget() {
    g=$GADGETS/$1
    mkdir -p "$g/strings/0x409" "$g/configs/c.1/strings/0x409" "$g/functions/midi.usb0"
    echo "$2" > "$g/idVendor"
    echo "$3" > "$g/idProduct"
    echo "$4" > "$g/strings/0x409/manufacturer"
    echo "$5" > "$g/strings/0x409/product"
    echo "$6" > "$g/strings/0x409/serialnumber"
    echo 100 > "$g/configs/c.1/MaxPower"
    echo 1 > "$g/functions/midi.usb0/in_ports"
    echo 1 > "$g/functions/midi.usb0/out_ports"
    echo "$7" > "$g/functions/midi.usb0/id"
    ln -s "$g/functions/midi.usb0" "$g/configs/c.1/"
}

# The sound card with this ALSA id, as a number (empty when absent).
card_number() {
    for id in /proc/asound/card*/id; do
        [ -f "$id" ] || continue
        if [ "$(cat "$id")" = "$1" ]; then
            n=${id#/proc/asound/card}
            echo "${n%/id}"
            return
        fi
    done
}

# wait_until SECONDS COMMAND...: polls every 0.1 s; false on time-out.
wait_until() {
    limit=$(( $1 * 10 )); shift
    while ! "$@" >/dev/null 2>&1; do
        limit=$((limit - 1))
        [ "$limit" -gt 0 ] || return 1
        sleep 0.1
    done
}

has_card() { [ -n "$(card_number "$1")" ]; }
lacks_card() { [ -z "$(card_number "$1")" ]; }

# Plug the keyboard in and wait until the host side has its card and its
# sequencer port; the gadget side's rawmidi node is then $KEYS.
plug() {
    ls /sys/class/udc > "$GADGETS/akm322/UDC"
    wait_until 10 has_card AKM322 || log "the AKM322 card did not appear"
    wait_until 10 grep -q 'AKM322 MIDI 1' /proc/asound/seq/clients \
        || log "the AKM322 sequencer port did not appear"
    KEYS=/dev/snd/midiC$(card_number Keys)D0
}

unplug() {
    echo "" > "$GADGETS/akm322/UDC"
    wait_until 10 lacks_card AKM322 || log "the AKM322 card did not go away"
}

# press OCTAL-BYTES: the keyboard sends these MIDI bytes over USB.
press() { printf "$1" > "$KEYS"; }

# started NAME COMMAND...: runs COMMAND in the background with its stdout
# and stderr in $dir/NAME.out and $dir/NAME.err; its pid is then $pid.
started() {
    name=$1; shift
    "$@" > "$dir/$name.out" 2> "$dir/$name.err" &
    pid=$!
}

# finished NAME: waits for the last started command; its status in NAME.code.
finished() {
    wait "$pid"
    echo $? > "$dir/$1.code"
}

# listening NAME: waits until the command says which input it listens to.
listening() {
    wait_until 20 grep -q 'Ctrl+C' "$dir/$1.err" || log "$1 never started listening"
    sleep 0.5
}

# play_lines FILE: the keyboard sends each line of FILE (printf escapes).
play_lines() {
    while read -r bytes; do
        press "$bytes"
        sleep 0.02
    done < "$1"
}

# 1. list and list --json see the gadget as the system sees a DeepComposer.
scenario_list() {
    $PROBE list > "$dir/list.out" 2> "$dir/list.err"; echo $? > "$dir/list.code"
    $PROBE list --json > "$dir/json.out" 2> "$dir/json.err"; echo $? > "$dir/json.code"
    card_number AKM322 > "$dir/akm322-card"
    cat /proc/asound/cards /proc/asound/seq/clients
}

# 2. monitor picks the system port by itself, and --port by name; the whole
# DeepComposer panel performance arrives exact.
scenario_monitor() {
    count=$(wc -l < /lane/panel.lines)
    started auto $PROBE monitor --json --count "$count"
    listening auto
    play_lines /lane/panel.lines
    finished auto
    started port $PROBE monitor --json --port "AKM322 MIDI 1" --count 2
    listening port
    press '\x90\x30\x37'
    press '\x80\x30\x00'
    finished port
}

# 3. play through a real ALSA sound card; the other end of the loopback is
# captured, with the key presses on the capture's clock.
scenario_play() {
    started play $PROBE play --no-tui --buffer 2048
    listening play
    key-to-sound "$KEYS" plughw:Loopback,1,0 "$dir/capture.raw" 4 \
        500:903C64 1500:803C40 2000:904564 3000:804540 > "$dir/probe.out" 2> "$dir/probe.err"
    kill -INT "$pid"
    finished play
}

# 4. record with the keyboard's own buttons: ● starts a take, ■ saves it,
# ▶ plays it back through the sound card (captured, as in 3).
scenario_record() {
    mkdir -p "$dir/takes"
    started takes $PROBE record --takes "$dir/takes" --buffer 2048
    listening takes
    press '\x90\x24\x50'; press '\x80\x24\x00'     # before ●: not in the take
    press '\xb0\x6b\x7f'; sleep 0.3                     # ●
    press '\x90\x3c\x64'; sleep 0.4; press '\x80\x3c\x40'; sleep 0.8
    press '\x90\x45\x50'; sleep 0.4; press '\x80\x45\x00'
    press '\xb0\x6a\x7f'; press '\xb0\x6a\x00'; sleep 1  # ■
    press '\x90\x26\x50'; press '\x80\x26\x00'     # after ■: not in the take
    key-to-sound "$KEYS" plughw:Loopback,1,0 "$dir/playback.raw" 6 500:B0697F \
        > "$dir/probe.out" 2> "$dir/probe.err"           # ▶
    kill -INT "$pid"
    finished takes
}

# 5a. --wait on the system port: unplug mid-note, replug, play again.
# monitor shows the order of events; record keeps both halves in one take.
scenario_replug() {
    started take $PROBE record --wait "$dir/take.mid"
    take_pid=$pid
    listening take
    started wait $PROBE monitor --json --wait
    listening wait
    press '\x90\x3c\x64'; sleep 0.3
    unplug; sleep 2
    cp "$dir/wait.out" "$dir/while-unplugged.out"
    plug
    wait_until 10 grep -q reconnected "$dir/wait.out" || log "monitor: no reconnected line"
    wait_until 10 grep -q reconnected "$dir/take.out" || log "record: no reconnected line"
    sleep 0.5
    press '\x90\x43\x50'; sleep 0.2; press '\x80\x43\x00'; sleep 1
    kill -INT "$pid" "$take_pid"
    finished wait
    pid=$take_pid
    finished take
}

# 5b. --wait with --usb --detach: the same through usbfs.
scenario_replug_usb() {
    started take $PROBE record --wait --usb --detach "$dir/take.mid"
    listening take
    press '\x90\x3c\x64'; sleep 0.3
    unplug; sleep 2
    cp "$dir/take.out" "$dir/while-unplugged.out"
    plug
    wait_until 10 grep -q reconnected "$dir/take.out" || log "no reconnected line"
    sleep 0.5
    press '\x90\x43\x50'; sleep 0.2; press '\x80\x43\x00'; sleep 1
    kill -INT "$pid"
    finished take
}

# 5c. Without --wait an unplug ends recording cleanly with the take kept.
scenario_unplug() {
    started take $PROBE record "$dir/take.mid"
    listening take
    press '\x90\x3c\x64'; sleep 0.2; press '\x80\x3c\x40'
    press '\x90\x40\x50'; sleep 0.3
    unplug
    finished take
    plug
}

# 6. --usb --detach reads usbfs while the driver is detached; afterwards
# the system port is back and delivers notes.
scenario_detach() {
    started usb $PROBE monitor --json --usb --detach --count 2
    listening usb
    ls /proc/asound > "$dir/cards-while-detached"
    press '\x90\x3c\x64'; press '\x80\x3c\x40'
    finished usb
    sleep 1
    for d in /sys/bus/usb/devices/*:*; do echo "$d $(readlink "$d/driver")"; done > "$dir/drivers-after"
    started after $PROBE monitor --json --port "AKM322 MIDI 1" --count 2
    listening after
    press '\x90\x40\x50'; press '\x80\x40\x00'
    finished after
}

# 7. The udev rule tags the keyboard for the logged-in user (uaccess): the
# DeepComposer by its ids, and any other class-compliant keyboard by its
# MIDI Streaming interface (the same gadget under another vendor's ids).
scenario_udev() {
    udevadm test "$(readlink -f /sys/bus/usb/devices/1-1)" > "$dir/akm322.out" 2>&1
    echo $? > "$dir/akm322.code"
    unplug
    echo 0x1209 > "$GADGETS/akm322/idVendor"
    echo 0x0001 > "$GADGETS/akm322/idProduct"
    ls /sys/class/udc > "$GADGETS/akm322/UDC"
    wait_until 10 test -e /sys/bus/usb/devices/1-1/idVendor
    sleep 0.5
    udevadm test "$(readlink -f /sys/bus/usb/devices/1-1)" > "$dir/generic.out" 2>&1
    echo $? > "$dir/generic.code"
    echo "" > "$GADGETS/akm322/UDC"
    echo 0x1acc > "$GADGETS/akm322/idVendor"
    echo 0x1533 > "$GADGETS/akm322/idProduct"
}

make_gadget akm322 0x1acc 0x1533 MIDIPLUS AKM322 MIDIPLUS-CC-1533-00AKM322 Keys
[ "$*" != all ] || set -- list monitor play record replug replug-usb unplug detach udev
for name in "$@"; do
    log "scenario $name"
    dir=$OUT/$name
    mkdir -p "$dir"
    # Every scenario starts with the keyboard freshly plugged in.
    [ -z "$(cat "$GADGETS/akm322/UDC")" ] || unplug
    plug
    "scenario_$(echo "$name" | tr - _)" > "$dir/log" 2>&1 &
    scenario=$!
    ( sleep 60; kill -9 "$scenario" 2>/dev/null && echo "lane: $name timed out" ) &
    watchdog=$!
    wait "$scenario"
    echo $? > "$dir/status"
    kill "$watchdog" 2>/dev/null
    killall -9 composer-probe key-to-sound 2>/dev/null
done
