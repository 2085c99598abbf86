#!/usr/bin/env bash
# Idle cost, side by side in one run: CPU and resident memory of programs
# that sit open with nobody playing, each alone in a 100×30 tmux terminal
# for 20 s (first argument) in 3 rounds (IDLE_ROUNDS), from /proc (schedstat: nanoseconds
# on CPU, summed over every thread; status: RSS split into own memory and
# JACK's shared memory):
#   - `composer-probe play --audio-host jack --keys`: the terminal keyboard
#     and the synth playing silence into a paced JACK dummy server;
#   - `composer-probe monitor --tui --keys`: the terminal keyboard alone;
#   - `fluidsynth -a jack -m jack` with the GM SoundFont, at its prompt;
#   - `jack_simple_client`: the least any JACK client costs (the floor).
# The JACK server is `jackd -R -d dummy -r 48000 -p 128` (IDLE_PERIOD
# overrides 128, play's default buffer). It runs real-time: without -R the
# dummy driver here misses its own deadlines over a hundred times a second
# and every client pays for the xrun notifications.
# Then the same on PipeWire's JACK (IDLE_PIPEWIRE=no skips it): a headless
# PipeWire with a null sink in private runtime folders, and under `pw-jack`
#   - `composer-probe play --audio-host jack --keys` (asking for the period);
#   - `jack_simple_client` at the same period (PIPEWIRE_LATENCY).
# Installs JACK and PipeWire when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
seconds=${1:-20}
rounds=${IDLE_ROUNDS:-3}
period=${IDLE_PERIOD:-128}
export JACK_DEFAULT_SERVER="composer-probe-idle-$$"
export JACK_NO_AUDIO_RESERVATION=1
# A tmux server of our own, so the terminals see this JACK server's name.
tmux_socket="cp-idle-$$"
pw_pids=()
cleanup() {
  tmux -L "$tmux_socket" kill-server 2>/dev/null || true
  [ -n "${jackd_pid:-}" ] && kill "$jackd_pid" 2>/dev/null || true
  for pid in "${pw_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${pw_dir:-}" ] && rm -rf "$pw_dir"
  return 0
}
trap cleanup EXIT
jackd -R -d dummy -r 48000 -p "$period" >/dev/null 2>&1 &
jackd_pid=$!
jack_wait -w -t 10 >/dev/null 2>&1

# cpu_ns PID: nanoseconds on CPU of every thread of PID, one "tid ns" line each.
cpu_ns() { for task in /proc/"$1"/task/*; do echo "${task##*/} $(cut -d' ' -f1 "$task/schedstat")"; done; }
kib() { awk -v k="$1" '$1 == k":" { print $2 }' /proc/"$2"/status; }

results=$(mktemp)
trap 'cleanup; rm -f "$results"' EXIT

# measure NAME SETTLE COMMAND...: run COMMAND alone in a terminal of its own,
# let it settle for SETTLE seconds, then record its CPU share and memory
# over $seconds seconds as one "name|cpu%|rss|own|shared|threads" line.
measure() {
  local name=$1 settle=$2
  shift 2
  tmux -L "$tmux_socket" new-session -d -s idle -x 100 -y 30 \
    "exec env JACK_DEFAULT_SERVER=$JACK_DEFAULT_SERVER $*"
  local pid before after ns
  pid=$(tmux -L "$tmux_socket" display-message -p -t idle '#{pane_pid}')
  sleep "$settle"
  before=$(cpu_ns "$pid")
  sleep "$seconds"
  after=$(cpu_ns "$pid")
  ns=$(awk 'NR == FNR { seen[$1] = $2; next } { total += $2 - seen[$1] } END { print total }' \
    <(echo "$before") <(echo "$after"))
  awk -v name="$name" -v ns="$ns" -v s="$seconds" -v threads="$(echo "$after" | wc -l)" \
    -v anon="$(kib RssAnon "$pid")" -v file="$(kib RssFile "$pid")" -v shm="$(kib RssShmem "$pid")" \
    'BEGIN { printf "%s|%.3f|%.1f|%.1f|%.1f|%d\n", name, ns / (s * 1e7),
             (anon + file + shm) / 1024, (anon + file) / 1024, shm / 1024, threads }' >>"$results"
  tmux -L "$tmux_socket" kill-server 2>/dev/null || true
  sleep 1
}

# One at a time (a JACK client's cost depends on where it sits in the
# server's chain of clients), in rounds, so a busy moment of the machine
# shows up as spread rather than as one program's figure.
for round in $(seq "$rounds"); do
  measure "composer-probe play (view + synth)" 5 \
    target/release/composer-probe play --audio-host jack --buffer "$period" --keys
  measure "composer-probe monitor --tui" 3 \
    env ALSA_CONFIG_PATH=/dev/null target/release/composer-probe monitor --tui --keys
  measure "fluidsynth -a jack (GM SoundFont)" 15 \
    fluidsynth -a jack -m jack -r 48000 -o audio.jack.autoconnect=1 /usr/share/sounds/sf2/FluidR3_GM.sf2
  measure "jack_simple_client (JACK floor)" 3 jack_simple_client
done
kill "$jackd_pid" 2>/dev/null || true
jackd_pid=

# The same pair on PipeWire's JACK, on a headless PipeWire of our own.
if [ "${IDLE_PIPEWIRE:-yes}" != no ]; then
  pw_dir=$(mktemp -d)
  mkdir -p "$pw_dir/run" "$pw_dir/state" "$pw_dir/config/pipewire/pipewire.conf.d"
  chmod 700 "$pw_dir/run"
  cat >"$pw_dir/config/pipewire/pipewire.conf.d/50-null-sink.conf" <<CONF
context.objects = [ { factory = adapter args = { factory.name = support.null-audio-sink
  node.name = "cp-idle-sink" media.class = "Audio/Sink" audio.position = [ FL FR ]
  audio.rate = 48000 object.linger = true } } ]
CONF
  pw_env="XDG_RUNTIME_DIR=$pw_dir/run XDG_CONFIG_HOME=$pw_dir/config XDG_STATE_HOME=$pw_dir/state DBUS_SESSION_BUS_ADDRESS=unix:path=$pw_dir/run/bus"
  env $pw_env dbus-daemon --session --address="unix:path=$pw_dir/run/bus" --nofork >/dev/null 2>&1 &
  pw_pids+=($!)
  for _ in $(seq 100); do [ -S "$pw_dir/run/bus" ] && break; sleep 0.05; done
  env $pw_env pipewire >/dev/null 2>&1 &
  pw_pids+=($!)
  env $pw_env wireplumber >/dev/null 2>&1 &
  pw_pids+=($!)
  for _ in $(seq 200); do
    env $pw_env wpctl inspect @DEFAULT_AUDIO_SINK@ 2>/dev/null | grep -q cp-idle-sink && break
    sleep 0.1
  done
  for round in $(seq "$rounds"); do
    measure "pw-jack composer-probe play" 5 \
      env $pw_env pw-jack target/release/composer-probe play --audio-host jack --buffer "$period" --keys
    measure "pw-jack jack_simple_client" 3 \
      env $pw_env PIPEWIRE_LATENCY="$period/48000" pw-jack jack_simple_client
  done
fi

echo "JACK dummy server, then headless PipeWire's JACK: 48000 Hz, $period-frame periods; each program alone, $rounds × $seconds s, nobody playing"
awk -F'|' '
  { n[$1]++; cpu[$1, n[$1]] = $2; rss[$1] = $3; own[$1] = $4; shm[$1] = $5; thr[$1] = $6
    if (!($1 in order)) { order[$1] = ++names; name[names] = $1 } }
  END {
    for (i = 1; i <= names; i++) {
      k = name[i]; c = n[k]
      for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++)
        if (cpu[k, b] < cpu[k, a]) { t = cpu[k, a]; cpu[k, a] = cpu[k, b]; cpu[k, b] = t }
      printf "%-34s CPU %.3f%% of a core (median; %.3f–%.3f)  RSS %6.1f MB = own %6.1f MB + JACK shared %6.1f MB  threads %d\n",
        k, cpu[k, int((c + 1) / 2)], cpu[k, 1], cpu[k, c], rss[k], own[k], shm[k], thr[k]
    }
  }' "$results"
