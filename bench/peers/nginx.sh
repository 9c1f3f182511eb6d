#!/usr/bin/env bash
# echoplex's HTTP/1.1 echo (single loop, from dist/) against nginx with its echo module on one
# worker (Debian's nginx-core and libnginx-mod-http-echo: instruments, not dependencies), under
# wrk -t1 -c50, a 64-byte POST. Interleaved rounds; server CPU per request from /proc; the
# medians of the per-round ratios at the end (ratios.awk).
#   npm run build && bash bench/peers/nginx.sh [ROUNDS=5] [SECONDS=4]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5} seconds=${2:-4}
node=$PWD/node_modules/.bin/node dir=$(mktemp -d)
cat > "$dir/nginx.conf" << CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:7340; location / { echo_read_request_body; echo_request_body; } } }
CONF
printf 'wrk.method = "POST"\nwrk.body = string.rep("a", 64)\n' > "$dir/post.lua"
nginx -c "$dir/nginx.conf"
trap 'nginx -s stop -c "$dir/nginx.conf"; rm -rf "$dir"' EXIT
sleep 0.5
ngx="$(cat "$dir/nginx.pid") $(pgrep -P "$(cat "$dir/nginx.pid")" | tr '\n' ' ')"
cpu() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
for r in $(seq 1 "$rounds"); do
  "$node" --max-semi-space-size=2 dist/main/cli.js --mode single --http 0 --port 0 --admin off > "$dir/out" 2>&1 &
  pid=$! port=""
  while [ -z "$port" ]; do sleep 0.1; port=$(grep -o '"http":[0-9]*' "$dir/out" | head -1 | cut -d: -f2 || true); done
  for s in echoplex nginx; do
    if [ $s = echoplex ]; then p=$port pids=$pid; else p=7340 pids=$ngx; fi
    wrk -t1 -c50 -d1s -s "$dir/post.lua" "http://127.0.0.1:$p/" > /dev/null # warm-up
    c0=$(cpu $pids); res=$(wrk -t1 -c50 -d"${seconds}s" -s "$dir/post.lua" "http://127.0.0.1:$p/"); c1=$(cpu $pids)
    n=$(echo "$res" | awk '/requests in/{print $1}')
    echo "round $r $s $(echo "$res" | awk '/Requests\/sec/{print $2}') req/s $(awk -v c=$((c1 - c0)) -v n="$n" 'BEGIN{printf "%.1f", c*10000/n}') µs/req"
  done
  kill $pid; wait $pid 2> /dev/null || true
done | tee /dev/stderr | awk -v peer=nginx -f bench/peers/ratios.awk
