#!/bin/sh
# --max-inflight is the whole proxy's cap, however many --threads: with
# four loops and --max-inflight 2, requests on connections of their own
# (spread over the loops by the kernel) send two mirrors to a candidate
# that holds them, and every later one is dropped and counted, once, in
# /metrics, the capture and the exit summary.  /metrics sums what every
# loop has in flight.  The same for the secondary's own cap, which a
# request meets only once its mirror went to the candidate.
#
# No clock: the candidate and the secondary hold their answers for an hour
# (the deadlines are longer) until the test releases them.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl jq
need_binaries

N=8
HOUR=3600000
jq -n '{default: {status: 200, headers: [["Content-Type",
    "application/json"]], body: "{\"ok\":true}"}}' >"$T/fast.json"
jq -n --argjson d "$HOUR" '{default: {status: 200, delay_ms: $d,
    headers: [["Content-Type", "application/json"]],
    body: "{\"ok\":true}"}}' >"$T/slow.json"
start_backend primary "$T/fast.json"
start_backend candidate "$T/slow.json"
start_backend secondary "$T/slow.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --secondary "http://127.0.0.1:$(backend_port secondary)" \
    --candidate-timeout $((2 * HOUR)) --secondary-timeout $((2 * HOUR)) \
    --capture "$CAP" --admin 0 --threads 4 --max-inflight 2 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

i=1
while [ "$i" -le "$N" ]; do
	req "r$i" "$PROXY_URL/r/$i"
	is "$HTTP_CODE" 200 "request $i on its own connection: answered 200"
	i=$((i + 1))
done
ok "the candidate has two mirrors" wait_for 30 backend_nrequests_ge candidate 2

scrape
is "$(metric 'paritytap_mirror_dropped_total{reason="inflight"}')" \
    "$((N - 2))" "/metrics: $((N - 2)) mirrors dropped over the one cap"
is "$(metric 'paritytap_inflight{side="candidate"}')" 2 \
    "/metrics: two requests in flight to the candidate, over all loops"

backend_release candidate
backend_release secondary
ok "the capture has a line per request" wait_for 30 sh -c \
    "[ \$(wc -l <'$CAP') -ge $N ]"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
ok "the candidate has read all the proxy sent" wait_for 10 backend_idle candidate
is "$(backend_nrequests candidate)" 2 "the candidate got two mirrors, no more"
is "$(cap_nlines "$CAP")" "$N" "$N capture lines"
is "$(jq -r 'select(.verdict == "skipped") | .skip_reason' "$CAP" |
    grep -c '^inflight$')" "$((N - 2))" \
    "$((N - 2)) recorded as skipped, reason inflight"
contains "$(cat "$PROXY_ERR")" "$((N - 2)) mirrors dropped (--max-inflight)" \
    "the exit summary counts the drops of every loop"

# The secondary's cap: the candidate answers at once, the secondary holds.
start_backend candidate2 "$T/fast.json"
start_backend secondary2 "$T/slow.json"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate2)" \
    --secondary "http://127.0.0.1:$(backend_port secondary2)" \
    --secondary-timeout $((2 * HOUR)) \
    --capture "$T/second.jsonl" --admin 0 --threads 4 --max-inflight 2 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
i=1
while [ "$i" -le "$N" ]; do
	req "s$i" "$PROXY_URL/s/$i"
	i=$((i + 1))
done
ok "secondary: the candidate has every mirror" \
    wait_for 30 backend_nrequests_ge candidate2 "$N"
ok "secondary: two copies reached it" \
    wait_for 30 backend_nrequests_ge secondary2 2
scrape
is "$(metric 'paritytap_mirror_dropped_total{reason="secondary_inflight"}')" \
    "$((N - 2))" "secondary: /metrics: $((N - 2)) copies dropped over its cap"
is "$(metric 'paritytap_inflight{side="secondary"}')" 2 \
    "secondary: /metrics: two in flight to it, over all loops"
backend_release secondary2
ok "secondary: a capture line per request" wait_for 30 sh -c \
    "[ \$(wc -l <'$T/second.jsonl') -ge $N ]"
stop_proxy
is "$PROXY_STATUS" 0 "secondary: the proxy exits 0"
ok "secondary: it has read all the proxy sent" wait_for 10 backend_idle secondary2
is "$(backend_nrequests secondary2)" 2 "secondary: two copies, no more"

done_testing
