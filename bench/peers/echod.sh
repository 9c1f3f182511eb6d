#!/usr/bin/env bash
# echoplex's TCP echo (single loop, from dist/) against the C epoll echo server of
# ../shared/tools (echod, one thread), under its C client (echoload -c50, 64 B, one message in
# flight per connection). Interleaved rounds; server CPU per message from /proc; the medians of
# the per-round ratios at the end (ratios.awk). Instruments, not dependencies:
#   gcc -O2 -o /tmp/echod ../shared/tools/echod.c -lpthread
#   gcc -O2 -o /tmp/echoload ../shared/tools/echoload.c -lpthread
#   npm run build && bash bench/peers/echod.sh [ROUNDS=5] [SECONDS=3] [SIZE=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5} seconds=${2:-3} size=${3:-64}
node=$PWD/node_modules/.bin/node out=$(mktemp)
"$node" --max-semi-space-size=2 --initial-old-space-size=4 dist/main/cli.js --mode single \
  --port 0 --http off --admin off > "$out" 2>&1 &
ours=$!
/tmp/echod 7350 1 > /dev/null 2>&1 &
native=$!
trap 'kill $ours $native 2> /dev/null; rm -f "$out"' EXIT
port=""
while [ -z "$port" ]; do sleep 0.1; port=$(grep -o '"port":[0-9]*' "$out" | head -1 | cut -d: -f2 || true); done
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
for r in $(seq 1 "$rounds"); do
  for s in echoplex echod; do
    if [ $s = echoplex ]; then p=$port pid=$ours; else p=7350 pid=$native; fi
    /tmp/echoload -p "$p" -c 50 -s "$size" -d 1 > /dev/null # warm-up
    c0=$(cpu $pid)
    res=$(/tmp/echoload -p "$p" -c 50 -s "$size" -d "$seconds")
    c1=$(cpu $pid)
    rate=$(echo "$res" | grep -o 'msgs/s=[0-9.]*' | cut -d= -f2)
    bad=$(echo "$res" | grep -o 'errors=[0-9]* mismatches=[0-9]*')
    echo "round $r $s $rate msg/s $(awk -v c=$((c1 - c0)) -v n="$rate" -v s="$seconds" 'BEGIN{printf "%.2f", c*10000/(n*s)}') µs/msg $bad"
  done
done | tee /dev/stderr | awk -v peer=echod -f bench/peers/ratios.awk
