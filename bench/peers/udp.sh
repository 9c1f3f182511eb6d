#!/usr/bin/env bash
# echoplex's UDP echo on loopback with its defaults against the same with --udp-rate 0, by the
# load client, interleaved rounds.
#   npm run build && bash bench/peers/udp.sh [ROUNDS=3] [SECONDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3} seconds=${2:-3}
node=$PWD/node_modules/.bin/node out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  for v in defaults "--udp-rate 0"; do
    # shellcheck disable=SC2086 # the variant is flags
    "$node" dist/main/cli.js --mode single --udp 0 --port 0 --admin off $([ "$v" = defaults ] || echo $v) > "$out" 2>&1 &
    pid=$! port=""
    while [ -z "$port" ]; do sleep 0.1; port=$(grep -o '"udp":[0-9]*' "$out" | head -1 | cut -d: -f2 || true); done
    report=$("$node" dist/load/cli.js --protocol udp --port "$port" --duration "$seconds" --warmup 0.5)
    echo "round $r $v: $(echo "$report" | grep -E 'throughput|datagrams|CLIENT' | tr -s ' ' | tr '\n' ';')"
    kill $pid; wait $pid 2> /dev/null || true
  done
done
