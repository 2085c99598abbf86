#!/usr/bin/env bash
# Idle cost of the terminal view: CPU and resident memory of
# `monitor --tui --keys` (view open, input waiting, nobody playing) over
# 60 s in a tmux terminal, from /proc (schedstat: nanoseconds on CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
seconds=${1:-60}
session="cp-idle-$$"
tmux new-session -d -s "$session" -x 80 -y 24 "ALSA_CONFIG_PATH=/dev/null exec target/release/composer-probe monitor --tui --keys"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 2
pid=$(pgrep -n -x composer-probe)
cpu_ns() { local total=0; for task in /proc/"$pid"/task/*; do total=$((total + $(cut -d' ' -f1 "$task/schedstat"))); done; echo "$total"; }
before=$(cpu_ns)
sleep "$seconds"
after=$(cpu_ns)
echo "threads: $(ls /proc/"$pid"/task | wc -l)"
echo "CPU: $(awk -v ns=$((after - before)) -v s="$seconds" 'BEGIN { printf "%.3f%% of a core (%.1f ms in %d s)", ns / (s * 1e7), ns / 1e6, s }')"
echo "RSS: $(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' /proc/"$pid"/status)"
