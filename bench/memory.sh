#!/usr/bin/env bash
# bench/memory.sh: Parapet's resident memory beside its speed, for choosing
# the runtime settings of a 512 MB dyno (issue 17). For each configuration
# (pass-through, detection) and each runtime.memory_limit in MEMORY_LIMITS it
# starts Parapet in front of bench/upstream, then records
#   - idle RSS, 5 s after it answers its first request;
#   - req/s and the peak RSS (VmHWM) under wrk load, per scenario;
#   - RSS after RELOADS config reloads (SIGHUP), each followed by a request.
# and writes bench/$REPORT.md.
#
#   bash bench/memory.sh
#   MEMORY_LIMITS="0 64MB 96MB" SCENARIOS="get json10k" DURATION=10 bash bench/memory.sh
#
# Needs wrk, curl and python3. The load and the upstream share the machine's
# cores with Parapet: compare rows of one run, not runs on different days.
set -euo pipefail

MEMORY_LIMITS=${MEMORY_LIMITS:-"0 96MB"} # 0: no limit (runtime.memory_limit 0)
SCENARIOS=${SCENARIOS:-"get json10k"}
CONFIGS=${CONFIGS:-"passthrough detect"}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
RELOADS=${RELOADS:-5}
REPORT=${REPORT:-MEMORY}
export PATH="/usr/local/go/bin:$PATH"

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/parapet-memory.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/upstream" ./bench/upstream && CGO_ENABLED=0 go build -o "$work/parapet" ./cmd/parapet)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] && commit="$commit (with uncommitted changes)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
mb() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

"$work/upstream" >"$work/upstream.addr" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/upstream.addr" ] && break; sleep 0.05; done
up="http://$(head -n1 "$work/upstream.addr")"

# The scenarios' requests: the same as bench/run.sh's get and json10k.
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
r = random.Random(7)
words = "lorem ipsum dolor sit amet consectetur adipiscing elit eiusmod tempor incididunt labore magna aliqua".split()
text = lambda n: " ".join(r.choice(words) for _ in range(n))
items, doc = [], ""
while len(doc) < 10 * 1024:
    items.append({"id": len(items), "name": text(3), "email": "user%d@example.com" % len(items), "tags": text(4).split(), "note": text(12)})
    doc = json.dumps({"items": items})
open(f"{work}/json10k.body", "w").write(doc)
PY
common='wrk.headers["Host"] = "app.example.com"
wrk.headers["Cookie"] = "sessionid=abc123def456; csrftoken=def456abc123"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"'
cat >"$work/get.lua" <<LUA
wrk.method = "GET"
wrk.path = "/?page=2&sort=-date&q=garden+chairs"
$common
LUA
cat >"$work/json10k.lua" <<LUA
wrk.method = "POST"
wrk.path = "/api/echo/"
$common
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/json10k.body", "rb"); wrk.body = f:read("*a"); f:close()
LUA

limits='rate_limits: {rules: [{id: rl-reads, limit: 100000000/s, methods: [GET, HEAD]}, {id: rl-writes, limit: 100000000/s, methods: [POST, PUT, PATCH, DELETE]}]}'
rows=()
for cfg in $CONFIGS; do
  for limit in $MEMORY_LIMITS; do
    case $cfg in
      passthrough) yaml="detection: {enabled: false}
rate_limits: {defaults: false}" ;;
      detect) yaml="$limits" ;;
      *) echo "memory.sh: unknown config $cfg" >&2; exit 2 ;;
    esac
    printf '%s\nruntime: {memory_limit: %s}\n' "$yaml" "$limit" >"$work/parapet.yaml"
    port=$(free_port)
    PARAPET_UPSTREAM="$up" PARAPET_LISTEN="127.0.0.1:$port" PARAPET_FEED_CACHE_DIR="$work/feeds" \
      "$work/parapet" run --config "$work/parapet.yaml" >"$work/parapet.log" 2>&1 &
    pid=$!
    pids+=($pid)
    for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
    sleep 5
    idle=$(kb VmRSS $pid)
    row="| $cfg | $limit | $(mb "$idle")"
    for s in $SCENARIOS; do
      rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/$s.lua" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {printf "%.0f", $2}')
      row="$row | $rps"
    done
    row="$row | $(mb "$(kb VmHWM $pid)")"
    for _ in $(seq "$RELOADS"); do
      kill -HUP "$pid"
      sleep 2
      curl -s -o /dev/null "http://127.0.0.1:$port/"
    done
    reloads=$(grep -c '"config reloaded"' "$work/parapet.log" || true)
    [ "$reloads" -eq "$RELOADS" ] || { echo "memory.sh: $reloads of $RELOADS reloads logged" >&2; cat "$work/parapet.log" >&2; exit 1; }
    row="$row | $(mb "$(kb VmRSS $pid)") |"
    rows+=("$row")
    echo "$row"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

{
  echo "# Parapet memory"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $commit, $(nproc) cores (shared with wrk and the upstream), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per scenario."
  echo
  echo "Command: \`MEMORY_LIMITS=\"$MEMORY_LIMITS\" SCENARIOS=\"$SCENARIOS\" CONFIGS=\"$CONFIGS\" DURATION=$DURATION RELOADS=$RELOADS bash bench/memory.sh\`"
  echo
  echo "RSS from /proc (VmRSS; peak is VmHWM over start and load). Idle: 5 s after the first answer."
  echo "After reloads: VmRSS after $RELOADS config reloads (SIGHUP), each followed by a request."
  echo "memory_limit 0 is no limit (Go's collector paced by gc_percent alone: 400 with detection, 100 without)."
  echo
  header="| config | memory_limit | idle MB"
  sep="| --- | --- | ---:"
  for s in $SCENARIOS; do header="$header | $s req/s"; sep="$sep | ---:"; done
  echo "$header | peak MB | after reloads MB |"
  echo "$sep | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
} >"$root/bench/$REPORT.md"
echo "memory.sh: wrote bench/$REPORT.md"
