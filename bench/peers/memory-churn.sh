#!/usr/bin/env bash
# A handoff worker's resident memory idle and after 10 s of RST churn from the native client
# (../shared/tools/echoload -x -L), against a bare `node` in the same round; server CPU per
# connection beside it. Variants are Node flags of the primary, which the workers take after
# their own: "--initial-old-space-size=0" is V8's default old space.
# /tmp/echoload: gcc -O2 -o /tmp/echoload ../shared/tools/echoload.c -lpthread
#   npm run build && bash bench/peers/memory-churn.sh [ROUNDS=3] ["default|--initial-old-space-size=0"]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3} variants=${2:-"default|--initial-old-space-size=0"}
node=$PWD/node_modules/.bin/node out=$(mktemp)
trap 'rm -f "$out"' EXIT
rss() { awk '/VmRSS/{printf "%.1f ", $2/1024}' "/proc/$1/status"; }
ticks() { for p in "$@"; do awk '{print $14+$15}' "/proc/$p/stat"; done | paste -sd+ | bc; }
IFS='|' read -ra vs <<< "$variants"
for r in $(seq 1 "$rounds"); do
  "$node" -e 'setInterval(() => {}, 1000)' & bare=$!
  sleep 1.5 && echo "round $r: a bare node $(rss $bare)MiB" && kill $bare
  for v in "${vs[@]}"; do
    # shellcheck disable=SC2046 # the variant is flags
    "$node" $([ "$v" = default ] || echo "$v") dist/main/cli.js --mode handoff --workers 2 --port 0 --admin off > "$out" 2>&1 &
    pid=$! port=""
    while [ -z "$port" ]; do sleep 0.1; port=$(grep -o '"port":[0-9]*' "$out" | head -1 | cut -d: -f2 || true); done
    sleep 2 && workers=$(pgrep -P $pid | tr '\n' ' ')
    # shellcheck disable=SC2086 # a list of pids
    idle=$(for w in $workers; do rss $w; done) c0=$(ticks $pid $workers)
    n=$(/tmp/echoload -p "$port" -c 50 -s 64 -d 10 -x -L | grep -o 'msgs/s=[0-9]*' | cut -d= -f2)
    # shellcheck disable=SC2086
    c1=$(ticks $pid $workers) after=$(for w in $workers; do rss $w; done)
    echo "  $v: workers idle ${idle}MiB, after churn ${after}MiB; $n conn/s, $(echo "($c1 - $c0) * 10000 / ($n * 10)" | bc) us of server CPU a connection"
    kill $pid; wait $pid 2> /dev/null || true
  done
done
