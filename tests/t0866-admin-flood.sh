#!/bin/sh
# Admin traffic beside client traffic: 20 loops hammer /metrics,
# /api/summary and /api/exchanges while clients send 300 requests.  Every client
# request is answered by the primary with its own body, the capture has
# every line, and the admin requests are answered too (200, or 503 past
# the connection limit) — the admin listener never holds up the proxy.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl jq
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 || bail "the proxy did not start"
ADMIN=$(admin_addr)

# hammer N: admin requests until $T/stop exists; codes to $T/hammer.N.
hammer() {
	while [ ! -f "$T/stop" ]; do
		for p in /metrics /api/summary /api/exchanges; do
			curl -s --noproxy '*' --max-time "$PT_WAIT_MIN" \
			    -o /dev/null -w '%{http_code}\n' "http://$ADMIN$p"
		done
	done >"$T/hammer.$1" 2>/dev/null
}
pids=
i=0
while [ "$i" -lt 20 ]; do
	hammer "$i" &
	pids="$pids $!"
	track $!
	i=$((i + 1))
done
# Hammering has begun, and is served, before the clients start.
started() {
	[ "$(cat "$T"/hammer.* 2>/dev/null | grep -c '^200$')" -ge 20 ]
}
ok "the admin loops are running and served" wait_for 60 started

mkdir "$T/out"
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -w '%{http_code}\n' \
    -o "$T/out/#1" "$PROXY_URL/c/[1-150]" >"$T/codes1" 2>"$T/curl1.err" &
c1=$!
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -w '%{http_code}\n' \
    -o "$T/out/#1.b" "$PROXY_URL/c/[1-150]" >"$T/codes2" 2>"$T/curl2.err"
wait "$c1"
: >"$T/stop"
for p in $pids; do
	wait "$p"
done

is "$(cat "$T/codes1" "$T/codes2" | grep -c '^200$')" 300 \
    "all 300 client requests: 200"
n=0
for f in "$T"/out/*; do
	[ "$(jq -r '.name + " " + .target' "$f")" = \
	    "primary /c/$(basename "$f" .b)" ] && n=$((n + 1))
done
is "$n" 300 "... each with the primary's answer to its own request"
sent=300
ok "the capture has every line" wait_for 60 processed
is "$(cap_nlines "$CAP")" 300 "... exactly 300"
admin_codes=$(cat "$T"/hammer.* | sort | uniq -c | awk '{ print $2 }' |
    tr '\n' ' ')
like "$admin_codes" '^200 (503 )?$' \
    "admin requests: 200, or 503 past the connection limit"
scrape
is "$(awk '/^paritytap_exchanges_total\{/ { s += $NF } END { print s }' \
    "$T/scrape.body")" 300 "/metrics counts the 300"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"

done_testing
