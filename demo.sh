#!/bin/sh
# The cutover demo: a Rust service in production (the primary) and its Go
# rewrite (the candidate), both real, built from examples/cutover/.
# paritytap proxies a realistic mix of requests to both and flags the Go
# rewrite's wire-format drift as it happens; the report sums the capture
# up; the capture is then replayed against the Go rewrite with its fixes
# on, and passes.
#
# Installs what is missing (apt-get, as root or with sudo), builds
# paritytap and both services, runs on free loopback ports and leaves no
# process behind.  The services are built under ./cutover-build.
set -eu
cd "$(dirname "$0")"
top=$(pwd)
start=$(date +%s)

PATH=$PATH:${HOME:-/nonexistent}/.cargo/bin
export PATH
packages="build-essential autoconf automake libtool pkg-config libevent-dev
	libjansson-dev libpcap-dev libhttp-parser-dev zlib1g-dev libinih-dev
	libssl-dev curl jq"
missing=""
for p in $packages; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
command -v go >/dev/null 2>&1 || missing="$missing golang-go"
command -v cargo >/dev/null 2>&1 || missing="$missing cargo"
if [ -n "$missing" ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "demo: please install:$missing"
			exit 1
		}
		sudo=sudo
	fi
	echo "demo: installing$missing"
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing \
	    >/dev/null
fi
[ -x paritytap ] || echo "demo: building paritytap"
[ -f configure ] || ./bootstrap >/dev/null 2>&1
[ -f Makefile ] || ./configure >/dev/null
make -j"$(nproc)" paritytap >/dev/null
echo "demo: building the services (examples/cutover: cargo, go build)"
examples/cutover/build.sh cutover-build
B=$top/cutover-build
built=$(date +%s)

T=$(mktemp -d "${TMPDIR:-/tmp}/paritytap-demo.XXXXXX")
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# wait_file FILE WHAT: wait up to 10 s for a file to be non-empty.
wait_file() {
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "demo: $2 did not start"; exit 1; }
		sleep 0.05
	done
}

"$B/gateway" --port-file "$T/gateway.port" 2>"$T/gateway.err" &
pids="$pids $!"
"$B/validatord" -port-file "$T/drifted.port" 2>"$T/drifted.err" &
pids="$pids $!"
"$B/validatord" -fixed -port-file "$T/fixed.port" 2>"$T/fixed.err" &
pids="$pids $!"
wait_file "$T/gateway.port" gateway
wait_file "$T/drifted.port" validatord
wait_file "$T/fixed.port" "validatord -fixed"
PRIMARY=http://127.0.0.1:$(cat "$T/gateway.port")
DRIFTED=http://127.0.0.1:$(cat "$T/drifted.port")
FIXED=http://127.0.0.1:$(cat "$T/fixed.port")

# The services take their session ids from X-Trace-Id: paritytap sends
# its trace id there, the same to both.  Timestamps and the daemon name
# are each producer's own: not compared.
set -- --trace-header X-Trace-Id --ignore '$.timestamp' \
    --ignore '$.daemon' --ignore '$..recorded_at'
./paritytap proxy --listen 127.0.0.1:0 --primary "$PRIMARY" \
    --candidate "$DRIFTED" --capture "$T/cutover.jsonl" "$@" \
    2>"$T/proxy.err" &
proxy=$!
pids="$pids $proxy"
i=0
until grep -q 'listening on' "$T/proxy.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$T/proxy.err"; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/proxy.err")
seen=1
# Print the proxy's new DIVERGE lines.
show_flags() {
	sleep 0.15
	total=$(wc -l <"$T/proxy.err")
	sed -n "$((seen + 1)),${total}p" "$T/proxy.err" | grep '^DIVERGE' |
	    sed 's/^/    /' || true
	seen=$total
}

cat <<EOF

primary   gateway (Rust)        $PRIMARY   the production contract
candidate validatord (Go)       $DRIFTED   the rewrite, as first shipped
$ paritytap proxy --listen 127.0.0.1:$port --primary $PRIMARY \\
    --candidate $DRIFTED --capture cutover.jsonl --trace-header X-Trace-Id \\
    --ignore '\$.timestamp' --ignore '\$.daemon' --ignore '\$..recorded_at'

== 1. Clients talk to the proxy and get the gateway's answers; each
==    answer of the Go rewrite that differs is flagged live (DIVERGE).
EOF
grep -v '^#' examples/cutover/requests >"$T/requests"
# Not in a pipeline: a signal ends the loop at once, with the cleanup.
while read -r method path body; do
	if [ -n "$body" ]; then
		code=$(curl -sS -o "$T/body" -w '%{http_code}' -X "$method" \
		    -H 'Content-Type: application/json' --data-binary "$body" \
		    "http://127.0.0.1:$port$path")
	else
		code=$(curl -sS -o "$T/body" -w '%{http_code}' -X "$method" \
		    "http://127.0.0.1:$port$path")
	fi
	printf '%s %s %.42s -> %s %.60s\n' "$method" "$path" "$body" "$code" \
	    "$(cat "$T/body")"
	show_flags
done <"$T/requests"
kill -TERM "$proxy"
wait "$proxy" || true
grep '^paritytap proxy: [0-9]* exchanges' "$T/proxy.err" || true
cat <<EOF
Caught: errors sent as a flat struct, not the tagged enum callers parse
(shape); line_offset 0 dropped by omitempty (shape); empty session ids,
the Go service never reading the trace id (value).
EOF

cat <<EOF

== 2. The capture, summed up: one signature per kind of drift.
$ paritytap report cutover.jsonl
EOF
(cd "$T" && "$top/paritytap" report cutover.jsonl)

cat <<EOF

== 3. The capture as a CI gate: replayed against the Go rewrite as first
==    shipped, it fails (exit 1); with its fixes on (validatord -fixed:
==    a MarshalJSON for the tagged enum, no omitempty on line_offset, a
==    session id from the trace header), it passes (exit 0).
$ paritytap replay -q --candidate $DRIFTED ... cutover.jsonl
EOF
status=0
./paritytap replay -q --candidate "$DRIFTED" "$@" "$T/cutover.jsonl" ||
    status=$?
echo "exit $status"
echo "\$ paritytap replay --candidate $FIXED ... cutover.jsonl"
status=0
./paritytap replay --candidate "$FIXED" "$@" "$T/cutover.jsonl" || status=$?
echo "exit $status"
end=$(date +%s)
echo
echo "demo: done in $((end - built)) s (build $((built - start)) s)"
[ "$status" -eq 0 ]
