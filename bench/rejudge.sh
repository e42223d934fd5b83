#!/usr/bin/env bash
#
# bench/rejudge.sh: how fast paritytap rejudge compares a large capture
# again under new rules, next to paritytap report reading the same capture
# (the same reading cost) in the same run.
#
# A benchmark, not a test: `make check` never runs it.  Run it from the
# top of a built tree:
#
#	bench/rejudge.sh
#	N=20000 BODY=4096 bench/rejudge.sh
#
# The capture is synthetic, written by python3 (standard library only):
# N exchanges over a few routes, each side's body a JSON document of about
# BODY bytes (an order with items, a timestamp and a request id), with a
# mix of outcomes: most match but for the timestamp and the request id
# (value), some with a key missing (shape), a status, a header or a text
# body difference, some a candidate timeout, some skipped.  Its verdicts
# and diffs are written by paritytap itself (rejudge with no rules, not
# timed), so the lines are what a proxy would have written.
#
# Environment:
#	PARITYTAP	paritytap binary [./paritytap]
#	N		exchanges in the capture [100000]
#	BODY		approximate bytes of each body [1000]
#	KEEP=1		keep the temporary directory
#
# Runs: paritytap report --format json CAPTURE; paritytap rejudge
# --ignore '$.ts' --ignore '$..request_id' CAPTURE -o OUT.  Prints each
# one's exchanges/s and CPU seconds per 1,000 exchanges, and the ratios
# of their wall-clock and CPU times.
# Target: a 100,000-exchange capture re-judged in under 15 s.  Both read
# the same lines; what rejudge spends over report is the compare engine
# (both bodies parsed and compared, as the proxy does) and the writing.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
N=${N:-100000}
BODY=${BODY:-1000}
KEEP=${KEEP:-0}
BENCH=bench/rejudge.sh

die() {
	echo "$BENCH: $*" >&2
	exit 2
}

[ -x "$PARITYTAP" ] ||
    die "$PARITYTAP not found: build first (make), or set PARITYTAP"
"$PARITYTAP" help rejudge >/dev/null 2>&1 ||
    die "$PARITYTAP has no rejudge command"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
command -v bc >/dev/null 2>&1 || die "bc not found"
case $N in ''|*[!0-9]*|0) die "N must be a number above 0: $N" ;; esac
case $BODY in ''|*[!0-9]*) die "BODY must be a number: $BODY" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paritytap-bench-rejudge.XXXXXX") ||
    die "mktemp failed"
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "$BENCH: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RAW=$TMP/raw.jsonl
CAP=$TMP/capture.jsonl
python3 - "$RAW" "$N" "$BODY" <<'EOF' || die "writing the capture failed"
import json, random, sys

path, n, body = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(15)
out = open(path, "w", buffering=1 << 20)
JSON = [{"name": "Content-Type", "value": "application/json"}]
routes = ["GET /v1/orders/{id}", "GET /v1/users/{id}/orders",
    "POST /v1/orders", "GET /v1/catalog"]

def doc(i, side, kind):
    items = []
    k = 0
    size = 0
    while size < body - 200:
        it = {"sku": "SKU-%06d" % (i * 7 + k), "qty": k % 5 + 1,
            "price": round(9.99 + k, 2), "title": "item %d of order %d" % (k, i)}
        items.append(it)
        size += len(json.dumps(it))
        k += 1
    d = {"id": i, "status": "open", "customer": {"id": i % 977,
        "name": "customer %d" % (i % 977), "tier": "gold"},
        "items": items, "total": round(sum(x["price"] for x in items), 2),
        "ts": "2026-05-02T10:%02d:%02d.%06dZ" % (i // 60 % 60, i % 60,
            rnd.randrange(1000000)),
        "meta": {"request_id": "%032x" % rnd.getrandbits(128)}}
    if side == 1 and kind == "shape":
        del d["customer"]["tier"]
    return json.dumps(d, separators=(",", ":"))

def side(status, b, headers=JSON, ms=1.0):
    return {"status": status, "headers": headers + [{"name":
        "Content-Length", "value": str(len(b))}], "body": b,
        "body_bytes": len(b), "ms": ms}

for i in range(n):
    r = rnd.random()
    kind = ("value" if r < 0.80 else "shape" if r < 0.88 else
        "status" if r < 0.91 else "header" if r < 0.94 else
        "text" if r < 0.96 else "error" if r < 0.98 else "skipped")
    route = routes[i % len(routes)]
    method, tmpl = route.split(" ")
    target = tmpl.replace("{id}", str(i))
    ex = {"paritytap": 1, "id": "%016x-%08x" % (0x18ea000000000000 + i, i),
        "ts": "2026-05-02T10:%02d:%02d.%06dZ" % (i // 3600 % 60,
            i // 60 % 60, i % 1000000), "source": "proxy", "route": route,
        "request": {"method": method, "target": target, "version": "1.1",
            "headers": [{"name": "Host", "value": "api.example"},
                {"name": "Accept", "value": "*/*"}],
            "body": "", "body_bytes": 0}}
    p = doc(i, 0, kind)
    c = doc(i, 1, kind)
    resp = {"primary": side(200, p, ms=1.5)}
    if kind == "status":
        resp["candidate"] = side(500, c)
    elif kind == "header":
        resp["candidate"] = side(200, c, JSON + [{"name": "Cache-Control",
            "value": "no-store"}])
    elif kind == "text":
        t = [{"name": "Content-Type", "value": "text/plain"}]
        resp["primary"] = side(200, p, t)
        resp["candidate"] = side(200, c, t)
    elif kind == "error":
        resp["candidate"] = {"status": 0, "headers": [], "body": "",
            "body_bytes": 0, "ms": 5000.0, "error": "timeout"}
    elif kind != "skipped":
        resp["candidate"] = side(200, c, ms=1.2)
    ex["responses"] = resp
    ex["verdict"] = "match"
    ex["diffs"] = []
    if kind == "skipped":
        ex["verdict"] = "skipped"
        ex["skip_reason"] = "sample"
    elif kind == "error":
        ex["verdict"] = "candidate_error"
        ex["diffs"] = [{"kind": "error", "side": "candidate",
            "detail": "timeout"}]
    out.write(json.dumps(ex, separators=(",", ":")) + "\n")
out.close()
EOF
# The verdicts and diffs as paritytap writes them.
"$PARITYTAP" rejudge -q "$RAW" -o "$CAP" || die "judging the capture failed"
rm -f "$RAW"
printf 'capture: %d exchanges, %d bytes (bodies of about %d bytes)\n' \
    "$N" "$(wc -c <"$CAP")" "$BODY"

# run NAME CMD...: time CMD (stdout to $TMP/NAME.out, stderr to
# $TMP/NAME.err); sets REAL, CPU (user + system seconds).
run() {
	local name=$1 t
	shift
	TIMEFORMAT='%R %U %S'
	t=$( { time "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; } 2>&1 ) ||
	    die "$name failed: $(cat "$TMP/$name.err")"
	read -r REAL user sys <<<"$t"
	CPU=$(echo "$user + $sys" | bc -l)
}

# Let the page cache hold the capture for both.
cat "$CAP" >/dev/null

run report "$PARITYTAP" report --format json "$CAP"
R_REAL=$REAL R_CPU=$CPU
run rejudge "$PARITYTAP" rejudge --ignore '$.ts' --ignore '$..request_id' \
    "$CAP" -o "$TMP/rejudged.jsonl"
J_REAL=$REAL J_CPU=$CPU
[ "$(wc -l <"$TMP/rejudged.jsonl")" -eq "$N" ] ||
    die "rejudge wrote $(wc -l <"$TMP/rejudged.jsonl") lines, not $N"

printf '%-8s %7.2f s  %9.0f exchanges/s  %6.3f CPU s per 1,000\n' report \
    "$R_REAL" "$(echo "$N / $R_REAL" | bc -l)" \
    "$(echo "$R_CPU * 1000 / $N" | bc -l)"
printf '%-8s %7.2f s  %9.0f exchanges/s  %6.3f CPU s per 1,000\n' rejudge \
    "$J_REAL" "$(echo "$N / $J_REAL" | bc -l)" \
    "$(echo "$J_CPU * 1000 / $N" | bc -l)"
printf 'ratio (rejudge time / report time): %.2f; CPU: %.2f\n' \
    "$(echo "$J_REAL / $R_REAL" | bc -l)" "$(echo "$J_CPU / $R_CPU" | bc -l)"
echo "$(tail -n 1 "$TMP/rejudge.err")"
[ "$(echo "$J_REAL < 15" | bc -l)" = 1 ] ||
    echo "$BENCH: rejudge took $J_REAL s, over the 15 s target" >&2
