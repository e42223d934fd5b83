#!/bin/sh
# The validator parity case in thirty seconds: install what is missing,
# build, then put paritytap in front of two backends that disagree the way
# the Rust and Go validators did (externally tagged enum vs flat struct),
# send six requests, and show what paritytap flags and records.
set -eu
cd "$(dirname "$0")"

packages="build-essential autoconf automake libtool pkg-config libevent-dev
	libjansson-dev libpcap-dev libhttp-parser-dev zlib1g-dev libinih-dev
	libssl-dev curl jq"
missing=""
for p in $packages; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "demo: installing$missing"
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing \
	    >/dev/null
fi
if [ ! -x paritytap ] || [ ! -x tests/backends/testbackend ]; then
	echo "demo: building"
	[ -f configure ] || ./bootstrap >/dev/null 2>&1
	[ -f Makefile ] || ./configure >/dev/null
	make -j"$(nproc)" paritytap tests/backends/testbackend >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/paritytap-demo.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

./tests/backends/testbackend --listen 127.0.0.1:0 --port-file "$T/primary" \
    --fixture tests/fixtures/validator-primary.json --name primary &
pids="$pids $!"
./tests/backends/testbackend --listen 127.0.0.1:0 --port-file "$T/candidate" \
    --fixture tests/fixtures/validator-candidate.json --name candidate &
pids="$pids $!"
i=0
while [ ! -s "$T/primary" ] || [ ! -s "$T/candidate" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: backends did not start"; exit 1; }
	sleep 0.05
done

./paritytap proxy --listen 127.0.0.1:0 \
    --primary "http://127.0.0.1:$(cat "$T/primary")" \
    --candidate "http://127.0.0.1:$(cat "$T/candidate")" \
    --capture "$T/run.jsonl" 2>"$T/proxy.err" &
proxy=$!
pids="$pids $proxy"
i=0
until grep -q 'listening on' "$T/proxy.err" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/proxy.err"; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/proxy.err")
# Show what the proxy printed since last time.
seen=0
show_proxy() {
	sleep 0.1
	total=$(wc -l <"$T/proxy.err")
	tail -n +"$((seen + 1))" "$T/proxy.err" | head -n "$((total - seen))" |
	    sed 's/^/    stderr| /'
	seen=$total
}
show_proxy

for c in schema_field schema_type completeness consistency policy valid; do
	echo "\$ curl -s -d '{\"case\":\"$c\"}' http://127.0.0.1:$port/v1/validate"
	curl -s -H 'Content-Type: application/json' -d "{\"case\":\"$c\"}" \
	    "http://127.0.0.1:$port/v1/validate"
	echo
	show_proxy
done
kill -TERM "$proxy"
wait "$proxy" || true
show_proxy

echo
echo "\$ jq -c '{verdict, diffs: [.diffs[] | .path + \" \" + .kind]}' run.jsonl"
jq -c '{verdict, diffs: [.diffs[] | .path + " " + .kind]}' "$T/run.jsonl"
