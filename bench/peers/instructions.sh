#!/usr/bin/env bash
# User-space instructions a request (valgrind's callgrind) in echoplex's single loop and in the
# obvious node server it is measured against, under the same load: a count that the shared
# machine's noise does not move as it moves rates and CPU times (it leaves out the kernel).
# Each server runs under callgrind with instrumentation off; after a warm-up load, it is counted
# over a second load and divided by the requests that load completed. Runs alternate.
#   npm run build && bash bench/peers/instructions.sh h2c|http1|tcp [RUNS=2]
# h2c: h2load -c50 -m10 -n 8000 (3000 to warm up), 64 B POSTs, echoplex --http2 on against
# bench/servers/minimal-http.ts --style h2c. http1: wrk -t1 -c50 for 10 s (25 s to warm up),
# 64 B POSTs, against --style collect. tcp: echoload -c50 -s64 for 8 s (20 s to warm up), the TCP
# echo against the C epoll server of ../shared/tools (echod, one thread; both built into /tmp as
# echod.sh says). Instruments (not dependencies): valgrind, h2load, wrk, echod and echoload.
set -euo pipefail
cd "$(dirname "$0")/../.."
suite=${1:?h2c or http1} runs=${2:-2}
node=$(readlink -f node_modules/.bin/node) dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 64 /dev/zero | tr '\0' a > "$dir/body"
printf 'wrk.method = "POST"\nwrk.body = string.rep("a", 64)\n' > "$dir/post.lua"

load() { # load PORT WARMUP: prints the requests completed
  if [ "$suite" = tcp ]; then
    local s=8
    [ "$2" = warm ] && s=20
    /tmp/echoload -p "$1" -c 50 -s 64 -d $s | awk -v s=$s '{ for (i = 1; i <= NF; i++) if ($i ~ /^msgs\/s=/) { split($i, a, "="); printf "%.0f", a[2] * s } }'
  elif [ "$suite" = h2c ]; then
    local n=3000
    [ "$2" = warm ] || n=8000
    h2load -c50 -m10 -n $n -d "$dir/body" "http://127.0.0.1:$1/" | grep -o '[0-9]* succeeded' | cut -d' ' -f1
  else
    local s=10
    [ "$2" = warm ] && s=25
    wrk -t1 -c50 -d${s}s -s "$dir/post.lua" "http://127.0.0.1:$1/" | awk '/requests in/{print $1}'
  fi
}

count() { # count NAME PORT ARGS...: instructions a request (ARGS: node's, or a native command)
  local name=$1 port=$2
  shift 2
  [ "${1#/}" = "$1" ] && set -- "$node" --max-semi-space-size=2 "$@"
  valgrind --tool=callgrind --smc-check=all --instr-atstart=no \
    --callgrind-out-file="$dir/$name.%p" "$@" > "$dir/log" 2>&1 &
  local vg=$!
  for _ in $(seq 1 120); do
    sleep 1
    (echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  done
  load $port warm > /dev/null
  callgrind_control -i on $vg > /dev/null 2>&1
  local n
  n=$(load $port count)
  callgrind_control -i off $vg > /dev/null 2>&1
  callgrind_control -d $vg > /dev/null 2>&1
  kill $vg
  wait $vg 2> /dev/null || true
  awk -v n="$n" '/^totals:/{s+=$2} END{printf "%.0f", s/n}' "$dir/$name".*
  rm -f "$dir/$name".*
}

for r in $(seq 1 "$runs"); do
  if [ "$suite" = tcp ]; then
    e=$(count echoplex 7395 dist/main/cli.js --mode single --port 7395 --http off --admin off)
    p=$(count peer 7396 /tmp/echod 7396 1)
    echo "run $r tcp: echoplex $e, echod (C, epoll) $p instructions a message (echoplex/echod $(awk -v a="$p" -v b="$e" 'BEGIN{printf "%.2f", b/a}'))"
  elif [ "$suite" = h2c ]; then
    e=$(count echoplex 7391 dist/main/cli.js --mode single --port 0 --admin off --http2 on --http 7391)
    p=$(count peer 7392 bench/servers/minimal-http.ts --style h2c --port 7392)
    echo "run $r h2c: echoplex $e, node:http2 obvious $p instructions a request (peer/echoplex $(awk -v a="$p" -v b="$e" 'BEGIN{printf "%.2f", a/b}'))"
  else
    e=$(count echoplex 7393 dist/main/cli.js --mode single --port 0 --admin off --http 7393)
    p=$(count peer 7394 bench/servers/minimal-http.ts --style collect --port 7394)
    echo "run $r http1: echoplex $e, node:http obvious $p instructions a request (peer/echoplex $(awk -v a="$p" -v b="$e" 'BEGIN{printf "%.2f", a/b}'))"
  fi
done
