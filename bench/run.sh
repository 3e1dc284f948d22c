#!/usr/bin/env bash
# bench/run.sh: one command that measures Parapet against a bare Go reverse
# proxy and nginx, on this machine, with wrk, and prints ratios.
#
#   bash bench/run.sh                       # defaults below
#   DURATION=10 ROUNDS=5 bash bench/run.sh  # longer, steadier
#   TARGETS="bareproxy parapet" SCENARIOS=get bash bench/run.sh
#
# Targets run in alternating rounds (round 1: every target, round 2: every
# target, ...) so the machine's drift hits all of them alike; the table
# shows each target's median over the rounds and its ratio to the bare
# proxy and to the upstream itself. Traffic stays on 127.0.0.1.
set -euo pipefail

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
TARGETS=${TARGETS:-"direct bareproxy nginx parapet parapet-nodetect parapet-rules"}
SCENARIOS=${SCENARIOS:-"get post2k"}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/parapet-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null || { echo "bench: $1 not found (apt-get install $2)" >&2; exit 1; }; }
need wrk wrk
need go golang

echo "bench: building into $work" >&2
(cd "$root" && go build -o "$work/upstream" ./bench/upstream && go build -o "$work/bareproxy" ./bench/bareproxy \
  && CGO_ENABLED=0 go build -o "$work/parapet" ./cmd/parapet)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_printing_addr NAME CMD...: start a server that prints its address first.
start_printing_addr() {
  local name=$1; shift
  "$@" >"$work/$name.addr" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$name.addr" ] && break; sleep 0.05; done
  head -n1 "$work/$name.addr"
}

wait_http() {
  for _ in $(seq 600); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.05; done
  echo "bench: $1 did not answer" >&2; exit 1
}

declare -A addr
addr[direct]=$(start_printing_addr upstream "$work/upstream")
up="http://${addr[direct]}"

# wrk is one client at full speed: the built-in rl-reads and rl-writes limits
# are replaced (same ids) by ones it never reaches, so every request still pays
# for a rate-limit decision but none is throttled.
bench_limits='[{id: rl-reads, limit: 100000000/s, methods: [GET, HEAD]}, {id: rl-writes, limit: 100000000/s, methods: [POST, PUT, PATCH, DELETE]}]'
for t in $TARGETS; do
  case $t in
    direct) ;;
    bareproxy)
      addr[bareproxy]=$(start_printing_addr bareproxy "$work/bareproxy" -upstream "$up") ;;
    nginx)
      need nginx nginx
      port=$(free_port)
      mkdir -p "$work/nginx"
      cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream app { server ${addr[direct]}; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
      nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx.log" &
      pids+=($!)
      addr[nginx]=127.0.0.1:$port ;;
    parapet)
      port=$(free_port)
      PARAPET_RATE_LIMITS_RULES="$bench_limits" PARAPET_UPSTREAM="$up" PARAPET_LISTEN="127.0.0.1:$port" "$work/parapet" run >"$work/parapet.log" 2>&1 &
      pids+=($!)
      addr[parapet]=127.0.0.1:$port ;;
    parapet-nodetect)
      # Parapet as above with attack detection (CRS) off: the ratio to
      # "parapet" is what detection costs.
      port=$(free_port)
      PARAPET_DETECTION_ENABLED=false PARAPET_UPSTREAM="$up" PARAPET_LISTEN="127.0.0.1:$port" "$work/parapet" run >"$work/parapet-nodetect.log" 2>&1 &
      pids+=($!)
      addr[parapet-nodetect]=127.0.0.1:$port ;;
    parapet-rules)
      # Parapet with the access-rule load of a big deployment: 1,000,000
      # blocked CIDRs (80% IPv4, 20% IPv6), 1,000 User-Agent patterns, geo
      # lookups (embedded DB) and a country rule. Benchmark traffic matches none.
      python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]
r = random.Random(42)
with open(f"{work}/block.txt", "w") as f:
    for _ in range(1_000_000):
        if r.random() < 0.8:
            a = [r.randrange(1, 224), r.randrange(256), r.randrange(256), r.randrange(256)]
            if a[0] == 127:
                a[0] = 126
            f.write("%d.%d.%d.%d/%d\n" % (*a, r.randrange(16, 33)))
        else:
            f.write("2001:%x:%x::/%d\n" % (r.randrange(65536), r.randrange(65536), r.randrange(32, 65)))
letters = "abcdefghijklmnopqrstuvwxyz"
with open(f"{work}/rules.yaml", "w") as f:
    f.write("rules:\n  - id: big-blocklist\n    ip_files: [%s/block.txt]\n" % work)
    f.write("  - id: no-kp\n    countries: [KP]\n")
    f.write("  - id: many-bots\n    user_agents:\n      contains:\n")
    for _ in range(1000):
        f.write("        - %s-bot/\n" % "".join(r.choice(letters) for _ in range(r.randrange(5, 12))))
PY
      port=$(free_port)
      PARAPET_RATE_LIMITS_RULES="$bench_limits" PARAPET_UPSTREAM="$up" PARAPET_LISTEN="127.0.0.1:$port" "$work/parapet" run --config "$work/rules.yaml" >"$work/parapet-rules.log" 2>&1 &
      pids+=($!)
      addr[parapet-rules]=127.0.0.1:$port ;;
    *) echo "bench: unknown target $t" >&2; exit 2 ;;
  esac
done
for t in $TARGETS; do wait_http "${addr[$t]}"; done

# Scenarios: a wrk Lua script each (method, path, headers, body).
body2k=$(python3 -c 'import urllib.parse; print(urllib.parse.urlencode({"title":"A normal article title","body":"Lorem ipsum dolor sit amet, "*68,"csrfmiddlewaretoken":"x"*64})[:2048])')
cat >"$work/get.lua" <<'LUA'
wrk.method = "GET"
wrk.path = "/articles/?page=2&sort=-date"
wrk.headers["Cookie"] = "sessionid=abc123def456; csrftoken=def456abc123"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
wrk.headers["Accept"] = "text/html,application/xhtml+xml"
wrk.headers["Host"] = "www.example.com"
LUA
cat >"$work/post2k.lua" <<LUA
wrk.method = "POST"
wrk.path = "/articles/new/"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "sessionid=abc123def456; csrftoken=def456abc123"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
wrk.headers["Accept"] = "text/html,application/xhtml+xml"
wrk.headers["Host"] = "www.example.com"
wrk.body = "$body2k"
LUA

# measure TARGET SCENARIO -> "reqs p99ms"
measure() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/$2.lua" "http://${addr[$1]}" 2>&1)
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  echo "${rps:-0} ${p99:-0}"
}

results="$work/results.txt"
: >"$results"
for s in $SCENARIOS; do
  for t in $TARGETS; do wrk -t1 -c4 -d1s -s "$work/$s.lua" "http://${addr[$t]}" >/dev/null 2>&1; done # warm-up
  for r in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
      read -r rps p99 < <(measure "$t" "$s")
      echo "$s $t $r $rps $p99" >>"$results"
      echo "bench: $s round $r $t: $rps req/s, p99 ${p99} ms" >&2
    done
  done
done

commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo none)
mkdir -p "$root/bench/results"
{
  echo "# Parapet benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $commit, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds, 2 KB upstream page."
  echo "Command: \`DURATION=$DURATION ROUNDS=$ROUNDS bash bench/run.sh\`"
  python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
data = {}
for s, t, r, rps, p99 in rows:
    data.setdefault(s, {}).setdefault(t, []).append((float(rps), float(p99)))
for s, targets in data.items():
    med = {t: (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals)) for t, vals in targets.items()}
    base = med.get("bareproxy", (0, 0))[0]
    direct = med.get("direct", (0, 0))[0]
    print(f"\n## {s}\n")
    print("| target | req/s (median) | p99 ms | vs bare Go proxy | vs direct |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for t, (rps, p99) in med.items():
        rb = f"{rps / base:.2f}" if base else "-"
        rd = f"{rps / direct:.2f}" if direct else "-"
        print(f"| {t} | {rps:,.0f} | {p99:.2f} | {rb} | {rd} |")
PY
} | tee "$root/bench/results/latest.md"
cp "$results" "$root/bench/results/latest.csv"
