#!/usr/bin/env bash
# bench/run.sh: one command that measures Parapet against the upstream
# itself, a bare Go reverse proxy, nginx and nginx + ModSecurity v3 + OWASP
# CRS (paranoia 1), on this machine, with wrk, in alternating rounds.
#
#   bash bench/run.sh                         # defaults below
#   DURATION=10 ROUNDS=5 bash bench/run.sh    # longer, steadier
#   TARGETS="bareproxy parapet" SCENARIOS=get bash bench/run.sh
#   UPSTREAM=django bash bench/run.sh         # the Django test app under gunicorn behind each
#   REPORT=LATENCY CONNECTIONS=1 THREADS=1 TARGETS="parapet parapet-detect" SCENARIOS=get bash bench/run.sh
#                                             # one client: the latency detection adds (bench/LATENCY.md)
#   BASELINE=c854228 TARGETS="parapet parapet-baseline" SCENARIOS=get bash bench/run.sh
#                                             # pass-through of this tree against a commit's, in one run
#   BASELINE=97b28d2 TARGETS="parapet parapet-detect-baseline parapet-detect" SCENARIOS=json10k bash bench/run.sh
#                                             # detection of this tree against a commit's, in one run
#   EXTRA_CONFIG='runtime: {gc_percent: 400}' BASELINE=c854228 ...
#                                             # YAML added to the parapet target's config only: hold a
#                                             # setting that changed since BASELINE at its old value
#   PIN=1 ...                                 # the server measured on CPU 0, wrk and the upstream on the
#                                             # others (taskset): no load generator on the server's core
#
# Prints a table per request type (req/s, p50/p99 latency, CPU per request
# and peak RSS of the server process(es), ratios) and writes
# bench/RESULTS.md (with the command that produced it) and
# bench/results/chart.svg. Rounds alternate between targets (round 1:
# every target, round 2: every target, ...) so the machine's drift hits
# all of them alike. Traffic stays on 127.0.0.1; nothing is downloaded.
set -euo pipefail

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
UPSTREAM=${UPSTREAM:-fixed} # fixed: bench/upstream's 2 KB page; django: testdata/djangoapp under gunicorn
GUNICORN_WORKERS=${GUNICORN_WORKERS:-2}
PIN=${PIN:-0} # 1: taskset the target to CPU 0, wrk, the upstream and redis to the other CPUs
# bareproxy-spin (not in the default list) is the bare proxy doing SPIN of
# busy work and allocating GARBAGE bytes per request: detection's cost on a
# GET without detection, to tell what any work of that size adds here.
SPIN=${SPIN:-200us}
GARBAGE=${GARBAGE:-26000}

# The target list.
ALL_TARGETS="direct bareproxy nginx nginx-modsec parapet parapet-rules parapet-detect parapet-detect-ratelimit-redis"
TARGETS=${TARGETS:-$ALL_TARGETS}
SCENARIOS=${SCENARIOS:-"get post2k json10k multipart64k attack"}

# ---- Parapet's configurations ----------------------------------------------
# parapet and parapet-rules measure the proxy and the access rules: detection
# and the built-in rate limits are off. parapet-detect is the default
# configuration (CRS at paranoia 1, built-in rate limits, memory store);
# parapet-detect-ratelimit-redis adds the Redis store ($REDIS_URL is set, a
# local redis-server started, for configs that mention it). wrk is one client
# at full speed: the built-in rl-reads and rl-writes limits are replaced (same
# ids) by ones it never reaches, so every request still pays for a rate-limit
# decision but none is throttled.
PASSTHROUGH_CONFIG="detection: {enabled: false}
rate_limits: {defaults: false}"
bench_limits='rate_limits: {rules: [{id: rl-reads, limit: 100000000/s, methods: [GET, HEAD]}, {id: rl-writes, limit: 100000000/s, methods: [POST, PUT, PATCH, DELETE]}]}'
DETECT_CONFIG=${DETECT_CONFIG:-"$bench_limits"}
DETECT_REDIS_CONFIG=${DETECT_REDIS_CONFIG:-"$bench_limits
store: {type: redis, url: \$REDIS_URL}"}
# ---------------------------------------------------------------------------

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/parapet-bench.XXXXXX)
chmod 755 "$work" # nginx workers run as another user when started by root
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null || { echo "bench: $1 not found (apt-get install $2)" >&2; exit 1; }; }
need wrk wrk
need go golang
need curl curl

# on_server / on_load prefix the commands that start the target measured
# and everything else (wrk, the upstream, redis) when PIN=1.
on_server=() on_load=()
cpus="$(nproc) cores (shared with wrk and the upstream)"
if [ "$PIN" = 1 ]; then
  need taskset util-linux
  [ "$(nproc)" -ge 2 ] || { echo "bench: PIN=1 needs 2 CPUs or more" >&2; exit 1; }
  load_cpus=1-$(($(nproc) - 1))
  [ "$(nproc)" = 2 ] && load_cpus=1
  on_server=(taskset -c 0) on_load=(taskset -c "$load_cpus")
  cpus="$(nproc) cores, pinned: the target on CPU 0, wrk and the upstream on CPU $load_cpus"
fi

echo "bench: building into $work" >&2
(cd "$root" && go build -o "$work/upstream" ./bench/upstream && go build -o "$work/bareproxy" ./bench/bareproxy \
  && CGO_ENABLED=0 go build -o "$work/parapet" ./cmd/parapet)
# BASELINE=<commit>: that commit's parapet, as target parapet-baseline (the
# pass-through configuration), to measure a change against in the same run.
if [ -n "${BASELINE:-}" ]; then
  mkdir -p "$work/baseline-src"
  git -C "$root" archive "$BASELINE" | tar -x -C "$work/baseline-src"
  (cd "$work/baseline-src" && CGO_ENABLED=0 go build -o "$work/parapet-baseline" ./cmd/parapet)
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_printing_addr NAME CMD...: start a server that prints its address first.
start_printing_addr() {
  local name=$1; shift
  "$@" >"$work/$name.addr" 2>"$work/$name.log" &
  pids+=($!)
  pid_of[$name]=$!
  for _ in $(seq 100); do [ -s "$work/$name.addr" ] && break; sleep 0.05; done
  addr[$name]=$(head -n1 "$work/$name.addr")
}

wait_http() {
  for _ in $(seq 600); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.05; done
  echo "bench: $1 did not answer" >&2; exit 1
}

declare -A addr pid_of maddr

# The upstream every target forwards to.
if [ "$UPSTREAM" = django ]; then
  [ -x /usr/bin/gunicorn ] || { echo "bench: /usr/bin/gunicorn not found (apt-get install gunicorn python3-django)" >&2; exit 1; }
  port=$(free_port)
  (cd "$root/testdata/djangoapp" && DJANGO_SETTINGS_MODULE=testapp.settings PYTHONDONTWRITEBYTECODE=1 \
    exec "${on_load[@]}" /usr/bin/gunicorn --workers "$GUNICORN_WORKERS" --threads 4 --bind "127.0.0.1:$port" --log-level warning \
    testapp.wsgi:application) >"$work/gunicorn.log" 2>&1 &
  pids+=($!); pid_of[direct]=$!
  addr[direct]=127.0.0.1:$port
else
  start_printing_addr direct "${on_load[@]}" "$work/upstream"
fi
up="http://${addr[direct]}"
wait_http "${addr[direct]}"

# start_nginx NAME MAIN_EXTRA HTTP_EXTRA: an nginx with proxy_pass and
# upstream keep-alive; one worker per core (NGINX_WORKERS), as Parapet and
# the Go proxy use every core.
start_nginx() {
  local name=$1 main=$2 http_extra=$3 port
  need nginx nginx
  port=$(free_port)
  mkdir -p "$work/$name"
  cat >"$work/$name/nginx.conf" <<NGINX
$main
daemon off;
worker_processes ${NGINX_WORKERS:-auto};
pid $work/$name/nginx.pid;
error_log $work/$name/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 25m;
  client_body_buffer_size 128k; # bodies up to 128 KB stay in memory (Parapet reads 64 KB ahead in memory)
  client_body_temp_path $work/$name/body;
  proxy_temp_path $work/$name/proxy;
  fastcgi_temp_path $work/$name/fastcgi;
  uwsgi_temp_path $work/$name/uwsgi;
  scgi_temp_path $work/$name/scgi;
  upstream app { server ${addr[direct]}; keepalive 64; }
  $http_extra
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
  "${on_server[@]}" nginx -p "$work/$name" -c "$work/$name/nginx.conf" 2>"$work/$name.log" &
  pids+=($!); pid_of[$name]=$!
  addr[$name]=127.0.0.1:$port
}

# start_parapet NAME CONFIG_FILE_OR_EMPTY
# Targets with detection also serve metrics on a private port: the time
# detection added to each request (parapet_detection_duration_seconds) is
# read from them around every run.
start_parapet() {
  local name=$1 cfg=$2 port metrics=""
  port=$(free_port)
  local args=(run)
  [ -n "$cfg" ] && args+=(--config "$cfg")
  if [[ $name == *detect* ]]; then
    metrics=127.0.0.1:$(free_port)
    maddr[$name]=$metrics
  fi
  PARAPET_UPSTREAM="$up" PARAPET_LISTEN="127.0.0.1:$port" PARAPET_FEED_CACHE_DIR="$work/feeds" PARAPET_METRICS_LISTEN="$metrics" \
    "${on_server[@]}" "$work/${bin:-parapet}" "${args[@]}" >"$work/$name.log" 2>&1 &
  pids+=($!); pid_of[$name]=$!
  addr[$name]=127.0.0.1:$port
}

start_redis() {
  [ -n "${REDIS_URL:-}" ] && return 0
  need redis-server redis-server
  local port; port=$(free_port)
  "${on_load[@]}" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no >"$work/redis.log" 2>&1 &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$port/0"
}

# parapet_with NAME CONFIG: run Parapet with the YAML config text CONFIG
# ($VARS expanded; a local redis-server started when it names REDIS_URL).
parapet_with() {
  local name=$1 cfg=$2
  if grep -q 'REDIS_URL' <<<"$cfg"; then start_redis; fi
  python3 -c 'import os, sys; sys.stdout.write(os.path.expandvars(sys.argv[1]) + "\n")' "$cfg" >"$work/$name.yaml"
  start_parapet "$name" "$work/$name.yaml"
}

run_targets=()
for t in $TARGETS; do
  case $t in
    direct) ;;
    bareproxy)
      start_printing_addr bareproxy "${on_server[@]}" "$work/bareproxy" -upstream "$up" ;;
    bareproxy-spin)
      start_printing_addr bareproxy-spin "${on_server[@]}" "$work/bareproxy" -upstream "$up" -spin "$SPIN" -garbage "$GARBAGE" ;;
    nginx)
      start_nginx nginx "" "" ;;
    nginx-modsec)
      # ModSecurity v3 with Debian's recommended settings and the OWASP CRS
      # from Debian's modsecurity-crs, blocking, at paranoia level 1. Audit
      # log, status beacon and response-body inspection off (Parapet
      # inspects requests; the audit log would measure the disk).
      mod=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
      [ -f "$mod" ] && [ -f /usr/share/modsecurity-crs/rules/REQUEST-901-INITIALIZATION.conf ] || {
        echo "bench: nginx-modsec needs apt-get install libnginx-mod-http-modsecurity modsecurity-crs" >&2; exit 1; }
      mkdir -p "$work/nginx-modsec/tmp" && chmod 777 "$work/nginx-modsec/tmp"
      cat >"$work/nginx-modsec/modsec.conf" <<MODSEC
Include /etc/nginx/modsecurity.conf
SecRuleEngine On
SecAuditEngine Off
SecStatusEngine Off
SecResponseBodyAccess Off
SecUnicodeMapFile /etc/nginx/unicode.mapping 20127
SecTmpDir $work/nginx-modsec/tmp
SecDataDir $work/nginx-modsec/tmp
Include /etc/modsecurity/crs/crs-setup.conf
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1"
Include /usr/share/modsecurity-crs/rules/*.conf
MODSEC
      start_nginx nginx-modsec "load_module $mod;" "modsecurity on; modsecurity_rules_file $work/nginx-modsec/modsec.conf;" ;;
    parapet)
      parapet_with parapet "$PASSTHROUGH_CONFIG${EXTRA_CONFIG:+
$EXTRA_CONFIG}" ;;
    parapet-baseline)
      [ -x "$work/parapet-baseline" ] || { echo "bench: parapet-baseline needs BASELINE=<commit>" >&2; exit 2; }
      bin=parapet-baseline parapet_with parapet-baseline "$PASSTHROUGH_CONFIG" ;;
    parapet-detect-baseline)
      bin=parapet-baseline parapet_with parapet-detect-baseline "$DETECT_CONFIG" ;;
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
    f.write("detection: {enabled: false}\nrate_limits: {defaults: false}\n")
    f.write("rules:\n  - id: big-blocklist\n    ip_files: [%s/block.txt]\n" % work)
    f.write("  - id: no-kp\n    countries: [KP]\n")
    f.write("  - id: many-bots\n    user_agents:\n      contains:\n")
    for _ in range(1000):
        f.write("        - %s-bot/\n" % "".join(r.choice(letters) for _ in range(r.randrange(5, 12))))
PY
      start_parapet parapet-rules "$work/rules.yaml" ;;
    parapet-detect)
      parapet_with parapet-detect "$DETECT_CONFIG" ;;
    parapet-detect-ratelimit-redis)
      parapet_with parapet-detect-ratelimit-redis "$DETECT_REDIS_CONFIG" ;;
    *) echo "bench: unknown target $t (known: $ALL_TARGETS)" >&2; exit 2 ;;
  esac
  run_targets+=("$t")
done
for t in "${run_targets[@]}"; do wait_http "${addr[$t]}"; done

# Request bodies and wrk scripts, one per scenario.
python3 - "$work" <<'PY'
import json, random, sys, urllib.parse
work = sys.argv[1]
r = random.Random(7)
# Benign words only: CRS at PL1 scores "sed" at the start of a value as a Unix command.
words = "lorem ipsum dolor sit amet consectetur adipiscing elit eiusmod tempor incididunt labore magna aliqua".split()
text = lambda n: " ".join(r.choice(words) for _ in range(n))
form = urllib.parse.urlencode({"title": "A normal article title", "body": text(400), "csrfmiddlewaretoken": "x" * 64})[:2048]
open(f"{work}/post2k.body", "w").write(form)
items, doc = [], ""
while len(doc) < 10 * 1024:
    items.append({"id": len(items), "name": text(3), "email": "user%d@example.com" % len(items), "tags": text(4).split(), "note": text(12)})
    doc = json.dumps({"items": items})
open(f"{work}/json10k.body", "w").write(doc)
boundary = "----ParapetBench7MA4YWxkTrZu0gW"
content = "\x89PNG\r\n" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(64 * 1024 - 6))
mp = ("--%s\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n"
      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n%s\r\n--%s--\r\n") % (boundary, boundary, content, boundary)
open(f"{work}/multipart64k.body", "w").write(mp)
open(f"{work}/multipart64k.ctype", "w").write("multipart/form-data; boundary=" + boundary)
PY
common='wrk.headers["Host"] = "app.example.com"
wrk.headers["Cookie"] = "sessionid=abc123def456; csrftoken=def456abc123"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
wrk.headers["Accept"] = "text/html,application/xhtml+xml"
wrk.headers["Accept-Language"] = "en-GB,en;q=0.9"'
body_from() { echo "local f = io.open(\"$work/$1.body\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"; }
cat >"$work/get.lua" <<LUA
wrk.method = "GET"
wrk.path = "/?page=2&sort=-date&q=garden+chairs"
$common
LUA
cat >"$work/post2k.lua" <<LUA
wrk.method = "POST"
wrk.path = "/api/echo/"
$common
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
$(body_from post2k)
LUA
cat >"$work/json10k.lua" <<LUA
wrk.method = "POST"
wrk.path = "/api/echo/"
$common
wrk.headers["Content-Type"] = "application/json"
$(body_from json10k)
LUA
cat >"$work/multipart64k.lua" <<LUA
wrk.method = "POST"
wrk.path = "/upload/"
$common
wrk.headers["Content-Type"] = "$(cat "$work/multipart64k.ctype")"
$(body_from multipart64k)
LUA
# The fresh scenarios give every request values no request had before
# (the engine remembers what its rules learnt of values that come back:
# these show the cost without that). setup numbers wrk's threads so two
# threads never send the same value.
fresh_setup='local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
local function fresh() n = n + 1; return tid .. "x" .. n end'
cat >"$work/getfresh.lua" <<LUA
$fresh_setup
wrk.method = "GET"
$common
function request()
  local v = fresh()
  return wrk.format(nil, "/?page=" .. v .. "&sort=-date&q=garden+chairs+" .. v)
end
LUA
cat >"$work/json10kfresh.lua" <<LUA
$fresh_setup
wrk.method = "POST"
wrk.path = "/api/echo/"
$common
wrk.headers["Content-Type"] = "application/json"
$(body_from json10k)
local template = wrk.body
function request()
  local v = fresh()
  return wrk.format(nil, nil, nil, (template:gsub('": "', '": "' .. v .. ' ')))
end
LUA
cat >"$work/attack.lua" <<LUA
wrk.method = "GET"
wrk.path = "/?id=1%27%20OR%20%271%27%3D%271&page=2"
$common
LUA

# cpu_ticks PID: user+system clock ticks of PID and its children (nginx
# workers, gunicorn workers).
cpu_ticks() {
  local total=0 p v
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
# peak_rss_kb PID: VmHWM of PID plus its children.
peak_rss_kb() {
  local total=0 p v
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

# detection_quantiles TARGET BEFORE AFTER -> "p50ms p99ms" of the time
# detection added to the requests between two scrapes ("- -" without, or
# when a scrape failed: the difference would count earlier runs too).
detection_quantiles() {
  if [ -z "${maddr[$1]:-}" ] || [ ! -s "$2" ] || [ ! -s "$3" ]; then echo "- -"; return; fi
  python3 "$root/bench/report.py" --quantiles "$2" "$3"
}
scrape_metrics() { [ -n "${maddr[$1]:-}" ] && curl -sf "http://${maddr[$1]}/_parapet/metrics" >"$2" || : >"$2"; }

# measure TARGET SCENARIO -> "rps p50ms p99ms cpu_us_per_req non2xx requests errors detect_p50ms detect_p99ms"
measure() {
  local t=$1 s=$2 out c0 c1 dq
  scrape_metrics "$t" "$work/metrics.before"
  c0=$(cpu_ticks "${pid_of[$t]}")
  out=$("${on_load[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/$s.lua" "http://${addr[$t]}" 2>&1)
  c1=$(cpu_ticks "${pid_of[$t]}")
  scrape_metrics "$t" "$work/metrics.after"
  dq=$(detection_quantiles "$t" "$work/metrics.before" "$work/metrics.after")
  awk -v c0="$c0" -v c1="$c1" -v hz="$hz" -v dq="$dq" '
    function ms(v) { if (v ~ /us$/) { sub(/us/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms/, "", v); return v } if (v ~ /s$/) { sub(/s/, "", v); return v * 1000 } return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    /Socket errors/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
    END { cpu = n > 0 ? (c1 - c0) / hz / n * 1e6 : 0; printf "%s %s %s %.1f %d %d %d %s\n", rps + 0, p50 + 0, p99 + 0, cpu, bad + 0, n + 0, err + 0, dq }' <<<"$out"
}

results="$work/results.txt"
: >"$results"
for s in $SCENARIOS; do
  for t in "${run_targets[@]}"; do "${on_load[@]}" wrk -t1 -c4 -d1s -s "$work/$s.lua" "http://${addr[$t]}" >/dev/null 2>&1; done # warm-up
  for r in $(seq "$ROUNDS"); do
    for t in "${run_targets[@]}"; do
      read -r rps p50 p99 cpu bad n err dp50 dp99 < <(measure "$t" "$s")
      echo "$s $t $r $rps $p50 $p99 $cpu $bad $n $err $dp50 $dp99" >>"$results"
      echo "bench: $s round $r $t: $rps req/s, p50 ${p50} ms, p99 ${p99} ms, ${cpu} us CPU/req, $bad non-2xx, $err socket errors, detection p50 ${dp50} ms p99 ${dp99} ms" >&2
    done
  done
done
rss="$work/rss.txt"
: >"$rss"
for t in "${run_targets[@]}"; do echo "$t $(peak_rss_kb "${pid_of[$t]}")" >>"$rss"; done

commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo none)
cmd="DURATION=$DURATION ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS UPSTREAM=$UPSTREAM"
[ "$TARGETS" != "$ALL_TARGETS" ] && cmd="$cmd TARGETS=\"$TARGETS\""
cmd="$cmd SCENARIOS=\"$SCENARIOS\" bash bench/run.sh"
mkdir -p "$root/bench/results"
# REPORT names the report: bench/$REPORT.md and bench/results/$REPORT.svg
# (the default, RESULTS, keeps its chart at results/chart.svg).
report=${REPORT:-RESULTS}
chart=results/$report.svg
[ "$report" = RESULTS ] && chart=results/chart.svg
[ "$report" != RESULTS ] && cmd="REPORT=$report $cmd"
[ "$PIN" = 1 ] && cmd="PIN=1 $cmd"
[ -n "${BASELINE:-}" ] && cmd="BASELINE=$BASELINE $cmd"
[ -n "${EXTRA_CONFIG:-}" ] && cmd="EXTRA_CONFIG=$(printf %q "$EXTRA_CONFIG") $cmd"
[[ " $TARGETS " == *" bareproxy-spin "* ]] && cmd="SPIN=$SPIN GARBAGE=$GARBAGE $cmd"
python3 "$root/bench/report.py" --results "$results" --rss "$rss" \
  --header "$(date -u +%Y-%m-%dT%H:%MZ), commit $commit, $cpus, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds, upstream: $UPSTREAM." \
  --note "$( [ "$DURATION" -lt 5 ] || [ "$ROUNDS" -lt 3 ] && echo "Smoke run (DURATION < 5 or ROUNDS < 3): it proves the script works; do not quote these numbers." )" \
  --command "$cmd" --markdown "$root/bench/$report.md" --svg "$root/bench/$chart" --chart-link "$chart"
cp "$results" "$root/bench/results/latest.csv"
