#!/usr/bin/env bash
# Idle cost, side by side in one run: CPU and resident memory over 60 s
# (first argument: seconds) of programs that sit open with nobody playing,
# each in its own 100×30 tmux terminal, from /proc (schedstat: nanoseconds
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
# and every client pays for the xrun notifications. Installs JACK when
# missing; builds with the `jack` feature.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
missing=()
command -v jackd >/dev/null 2>&1 || missing+=(jackd2)
dpkg -s libjack-jackd2-dev >/dev/null 2>&1 || missing+=(libjack-jackd2-dev)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet --features jack
seconds=${1:-60}
period=${IDLE_PERIOD:-128}
export JACK_DEFAULT_SERVER="composer-probe-idle-$$"
export JACK_NO_AUDIO_RESERVATION=1
# A tmux server of our own, so the terminals see this JACK server's name.
tmux_socket="cp-idle-$$"
cleanup() {
  tmux -L "$tmux_socket" kill-server 2>/dev/null || true
  [ -n "${jackd_pid:-}" ] && kill "$jackd_pid" 2>/dev/null || true
}
trap cleanup EXIT
jackd -R -d dummy -r 48000 -p "$period" >/dev/null 2>&1 &
jackd_pid=$!
jack_wait -w -t 10 >/dev/null 2>&1

# cpu_ns PID: nanoseconds on CPU of every thread of PID, one "tid ns" line each.
cpu_ns() { for task in /proc/"$1"/task/*; do echo "${task##*/} $(cut -d' ' -f1 "$task/schedstat")"; done; }
kib() { awk -v k="$1" '$1 == k":" { print $2 }' /proc/"$2"/status; }

# start NAME COMMAND...: run COMMAND in a terminal of its own.
names=()
pids=()
start() {
  local name=$1 session="idle-${#names[@]}"
  shift
  tmux -L "$tmux_socket" new-session -d -s "$session" -x 100 -y 30 \
    "exec env JACK_DEFAULT_SERVER=$JACK_DEFAULT_SERVER $*"
  names+=("$name")
  pids+=("$(tmux -L "$tmux_socket" display-message -p -t "$session" '#{pane_pid}')")
}

# All four run at once, so each sees the same machine over the same window.
start "composer-probe play (view + synth)" \
  target/release/composer-probe play --audio-host jack --buffer "$period" --keys
start "composer-probe monitor --tui" \
  env ALSA_CONFIG_PATH=/dev/null target/release/composer-probe monitor --tui --keys
start "fluidsynth -a jack (GM SoundFont)" \
  fluidsynth -a jack -m jack -r 48000 -o audio.jack.autoconnect=1 /usr/share/sounds/sf2/FluidR3_GM.sf2
start "jack_simple_client (JACK floor)" jack_simple_client
sleep 15 # FluidSynth loads its 140 MB SoundFont first
before=()
for pid in "${pids[@]}"; do before+=("$(cpu_ns "$pid")"); done
sleep "$seconds"
echo "JACK dummy server: 48000 Hz, $period-frame periods; $seconds s, all at once, nobody playing"
for i in "${!pids[@]}"; do
  pid=${pids[$i]}
  if ! after=$(cpu_ns "$pid" 2>/dev/null) || [ -z "$after" ]; then
    echo "${names[$i]}: exited early"
    continue
  fi
  ns=$(awk 'NR == FNR { seen[$1] = $2; next } { total += $2 - seen[$1] } END { print total }' \
    <(echo "${before[$i]}") <(echo "$after"))
  awk -v name="${names[$i]}" -v ns="$ns" -v s="$seconds" -v threads="$(echo "$after" | wc -l)" \
    -v anon="$(kib RssAnon "$pid")" -v file="$(kib RssFile "$pid")" -v shm="$(kib RssShmem "$pid")" \
    'BEGIN { printf "%-34s CPU %6.3f%% of a core (%7.1f ms in %d s)  RSS %6.1f MB = own %6.1f MB + JACK shared %6.1f MB  threads %d\n",
             name, ns / (s * 1e7), ns / 1e6, s, (anon + file + shm) / 1024, (anon + file) / 1024, shm / 1024, threads }'
done
