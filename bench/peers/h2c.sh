#!/usr/bin/env bash
# echoplex's h2c echo (fast path on, then off) against the obvious node:http2 echo, under h2load
# (Debian's nghttp2-client: an instrument, not a dependency). Interleaved rounds; server CPU per
# request from /proc, at full load and at a fixed 15k requests/s (50 clients at --rps 300), where
# neither side is saturated and the CPU a request takes is steadier; the medians of the per-round
# ratios at full load at the end (ratios.awk). Build first: npm run build.
#   bash bench/peers/h2c.sh [ROUNDS=5] [SECONDS=4]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5} seconds=${2:-4}
node=$PWD/node_modules/.bin/node body=$(mktemp) out=$(mktemp)
trap 'rm -f "$body" "$out"' EXIT
head -c 64 /dev/zero | tr '\0' a > "$body"
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
for r in $(seq 1 "$rounds"); do
  for s in fast slow node:http2; do
    case $s in
      fast) "$node" dist/main/cli.js --mode single --http 0 --http2 on --port 0 --admin off > "$out" 2>&1 & ;;
      slow) "$node" dist/main/cli.js --mode single --http 0 --http2 on --port 0 --admin off --http-fast-path off > "$out" 2>&1 & ;;
      node:http2) "$node" bench/servers/minimal-http.ts --style h2c --port 0 > "$out" 2>&1 & ;;
    esac
    pid=$! port=""
    while [ -z "$port" ]; do sleep 0.1; port=$(grep -o '"http":[0-9]*' "$out" | head -1 | cut -d: -f2 || true); done
    h2load -c50 -m10 -D 1 -d "$body" "http://127.0.0.1:$port/" > /dev/null 2>&1 # warm-up
    c0=$(cpu $pid)
    res=$(h2load -c50 -m10 -D "$seconds" -d "$body" "http://127.0.0.1:$port/" 2>&1)
    c1=$(cpu $pid)
    n=$(echo "$res" | grep -o '[0-9]* succeeded, [0-9]* failed')
    done_n=${n%% *}
    c2=$(cpu $pid)
    fixed=$(h2load -c50 -m10 --rps 300 -D "$seconds" -d "$body" "http://127.0.0.1:$port/" 2>&1)
    c3=$(cpu $pid)
    f=$(echo "$fixed" | grep -o '[0-9]* succeeded, [0-9]* failed')
    f_n=${f%% *}
    echo "round $r $s $(echo "$res" | grep -o '[0-9.]* req/s') $(awk -v c=$((c1 - c0)) -v n="$done_n" 'BEGIN{printf "%.1f", c*10000/n}') µs/req ($n); at 15k/s: $(awk -v c=$((c3 - c2)) -v n="$f_n" 'BEGIN{printf "%.1f", c*10000/n}') µs/req ($f)"
    kill $pid; wait $pid 2> /dev/null || true
  done
done | tee /dev/stderr | awk -v peer=node:http2 -f bench/peers/ratios.awk
