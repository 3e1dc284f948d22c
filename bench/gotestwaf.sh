#!/usr/bin/env bash
# bench/gotestwaf.sh: GoTestWAF (Wallarm's public WAF test suite,
# github.com/wallarm/gotestwaf) against Parapet's defaults in edge mode in
# front of a plain 200 upstream (bench/upstream), twice: with the second
# detection stage (the default) and with the CRS alone
# (detection.analyzer: false). Prints the true-positive and true-negative
# scores and the table per category that bench/ACCURACY.md records.
#
#   GOTESTWAF=/path/to/gotestwaf-binary GOTESTWAF_DIR=/path/to/gotestwaf-checkout bash bench/gotestwaf.sh [OUTDIR]
#
# GoTestWAF is not part of this repository and is never downloaded by this
# script: build it yourself outside the repository (go build ./cmd/gotestwaf
# in its checkout) and point GOTESTWAF at the binary, GOTESTWAF_DIR at the
# checkout (its config.yaml and testcases/). Without GOTESTWAF the script
# says so and exits 0.
# Only detection is measured: the built-in rate limits and auto-bans are off
# (GoTestWAF sends hundreds of attacks a second from one address, which they
# would rightly stop), everything else is Parapet's defaults. Traffic stays on
# 127.0.0.1.
set -euo pipefail

if [[ -z "${GOTESTWAF:-}" || ! -x "${GOTESTWAF}" ]]; then
	echo "GOTESTWAF is not set to a GoTestWAF binary: nothing to do (see the comment at the top)" >&2
	exit 0
fi
GTWDIR=${GOTESTWAF_DIR:?GOTESTWAF_DIR must name GoTestWAF\'s checkout (config.yaml, testcases/)}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$(mktemp -d /tmp/parapet-gotestwaf.XXXXXX)}
mkdir -p "$OUT"

cd "$REPO"
go build -o "$OUT/parapet" ./cmd/parapet
go build -o "$OUT/upstream" ./bench/upstream

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$OUT/upstream" -addr 127.0.0.1:0 >"$OUT/upstream.addr" &
pids+=($!)
for _ in $(seq 50); do [[ -s "$OUT/upstream.addr" ]] && break; sleep 0.1; done
UPADDR=$(head -1 "$OUT/upstream.addr")

run() { # run NAME [ENV=VAL...]
	local name=$1
	shift
	local port=$((20000 + RANDOM % 20000))
	mkdir -p "$OUT/$name"
	env PARAPET_UPSTREAM="http://$UPADDR" PARAPET_LISTEN="127.0.0.1:$port" \
		PARAPET_RATE_LIMITS_DEFAULTS=false PARAPET_AUTO_BAN_ENABLED=false \
		PARAPET_FEED_CACHE_DIR="$OUT/$name/feeds" "$@" "$OUT/parapet" run >"$OUT/$name/parapet.log" 2>&1 &
	local pid=$!
	pids+=($pid)
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
	"$GOTESTWAF" --url "http://127.0.0.1:$port/" --configPath "$GTWDIR/config.yaml" \
		--testCasesPath "$GTWDIR/testcases" --blockStatusCodes 403 \
		--noEmailReport --skipWAFBlockCheck --skipWAFIdentification --sendDelay 0 --randomDelay 1 \
		--workers 4 --reportFormat json --reportPath "$OUT/$name" --reportName report --quiet \
		>"$OUT/$name/gotestwaf.log" 2>&1 || true
	kill "$pid" 2>/dev/null || true
}

run analyzer
run crs-only PARAPET_DETECTION_ANALYZER=false

python3 - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
runs = {name: json.load(open(f"{out}/{name}/report.json"))["summary"] for name in ("crs-only", "analyzer")}
def score(s, kind):
    t = s[kind]["summary"]
    if kind == "true_positive_tests":
        return t["blocked_tests"], t["resolved_tests"]
    return t["bypassed_tests"], t["resolved_tests"]
print("| | CRS alone | CRS + analyzer |\n| --- | --- | --- |")
for kind, label in (("true_positive_tests", "true positives (attacks blocked)"), ("true_negative_tests", "true negatives (legitimate passed)")):
    cells = []
    for name in ("crs-only", "analyzer"):
        ok, n = score(runs[name], kind)
        cells.append(f"{100 * ok / n:.2f}% ({ok}/{n})" if n else "-")
    print(f"| {label} | {cells[0]} | {cells[1]} |")
print("\n| set | category | CRS alone | CRS + analyzer |\n| --- | --- | --- | --- |")
cats = runs["analyzer"]["true_positive_tests"]["test_sets"]
for ts in sorted(cats):
    for case in sorted(cats[ts]):
        cells = []
        for name in ("crs-only", "analyzer"):
            c = runs[name]["true_positive_tests"]["test_sets"][ts][case]
            n = c["blocked"] + c["bypassed"]
            cells.append(f"{100 * c['blocked'] / n:.0f}% ({c['blocked']}/{n})" if n else "- (unresolved)")
        print(f"| {ts} | {case} | {cells[0]} | {cells[1]} |")
EOF
echo "reports in $OUT"
