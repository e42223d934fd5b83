#!/usr/bin/env bash
#
# bench/sniff.sh: how much of a primary's traffic paritytap sniff sees,
# and how much of it the candidate gets, when wrk drives the primary
# directly on the loopback interface.
#
# A benchmark, not a test: `make check` never runs it.  Run it as root
# (capturing needs CAP_NET_RAW) from the top of a built tree after `make
# check` has built the test backend:
#
#	bench/sniff.sh
#
# The primary and the candidate are tests/backends/testbackend with the
# validator fixtures (POST /v1/validate; the candidate's bodies drifted).
# Everything listens on 127.0.0.1, in a private temporary directory;
# every process it starts is stopped on exit.
#
# Environment:
#	PARITYTAP	paritytap binary [./paritytap]
#	TESTBACKEND	test backend [tests/backends/testbackend]
#	WRK		wrk binary [wrk]
#	CONNECTIONS	wrk's keep-alive connections, a list [1 8 64]
#	DURATION	wrk run time [5s]
#	KEEP=1		keep the temporary directory
#
# For each run: wrk's requests/s to the primary, the exchanges sniff saw
# (all of them, when no packet was lost), how many the candidate answered
# and how many were skipped over --max-inflight, and pcap's packet and
# drop counts.

set -u

BENCH=bench/sniff.sh
PARITYTAP=${PARITYTAP:-./paritytap}
TESTBACKEND=${TESTBACKEND:-tests/backends/testbackend}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WRK=${WRK:-wrk}
CONNECTIONS=${CONNECTIONS:-1 8 64}
DURATION=${DURATION:-5s}
KEEP=${KEEP:-0}

. "$(dirname "$0")/lib.sh"
bench_init sniff
[ -x "$TESTBACKEND" ] || die "$TESTBACKEND not found: run make check first"
[ "$(id -u)" -eq 0 ] || die "capturing needs root (or CAP_NET_RAW)"

# backend NAME FIXTURE: start a test backend; sets PORT.
backend() {
	"$TESTBACKEND" --listen 127.0.0.1:0 --port-file "$TMP/$1.port" \
	    --log /dev/null --name "$1" --fixture "fixtures/$2" \
	    2>"$TMP/$1.err" &
	PIDS="$PIDS $!"
	n=0
	while [ ! -s "$TMP/$1.port" ]; do
		[ $n -lt 100 ] || die "$1 did not start"
		sleep 0.1
		n=$((n + 1))
	done
	PORT=$(cat "$TMP/$1.port")
}

case $PARITYTAP in /*) ;; *) PARITYTAP=$PWD/$PARITYTAP ;; esac
case $TESTBACKEND in /*) ;; *) TESTBACKEND=$PWD/$TESTBACKEND ;; esac
ln -s "$PWD/tests/fixtures" "$TMP/fixtures"
cd "$TMP" || exit 2
backend primary validator-primary.json
PPORT=$PORT
backend candidate validator-candidate.json
CPORT=$PORT
cat >post.lua <<'EOF'
wrk.method = "POST"
wrk.body = '{"case":"policy","input":{"claim":"the sky is blue"}}'
wrk.headers["Content-Type"] = "application/json"
EOF

printf '%-12s %10s %10s %10s %10s %10s %8s\n' connections "wrk req/s" \
    seen compared skipped packets dropped
for c in $CONNECTIONS; do
	: >sniff.err
	"$PARITYTAP" sniff -q -i lo --port "$PPORT" \
	    --candidate "http://127.0.0.1:$CPORT" --capture "sniff.$c.jsonl" \
	    --stats-interval 0 2>sniff.err &
	spid=$!
	PIDS="$PIDS $spid"
	n=0
	until grep -q '^sniff: listening' sniff.err; do
		[ $n -lt 100 ] || die "sniff did not start: $(cat sniff.err)"
		sleep 0.1
		n=$((n + 1))
	done
	rps=$("$WRK" -t1 -c"$c" -d"$DURATION" -s post.lua \
	    "http://127.0.0.1:$PPORT/v1/validate" |
	    awk '/Requests\/sec/ { print $2 }')
	sleep 1
	kill -INT "$spid"
	wait "$spid"
	seen=$(sed -n 's/^paritytap sniff: \([0-9]*\) exchanges\{0,1\}:.*/\1/p' sniff.err)
	skipped=$(sed -n 's/.* \([0-9]*\) skipped$/\1/p' sniff.err)
	skipped=${skipped:-0}
	pk=$(sed -n 's/^paritytap sniff: \([0-9]*\) packets received, \([0-9]*\) dropped by the kernel.*/\1 \2/p' \
	    sniff.err)
	printf '%-12s %10s %10s %10s %10s %10s %8s\n' "$c" "$rps" "$seen" \
	    "$((seen - skipped))" "$skipped" ${pk:-? ?}
done
