#!/bin/sh
# Memory in flight to the candidate is bounded by bytes (DESIGN §7 rule 1):
# a candidate that reads every request and never answers keeps each mirror
# waiting, and each mirror keeps its request.
#
# One copy: a 4 MiB upload held in flight costs the proxy one copy of its
# body, not two (the exchange's body for the capture, and a serialized
# request for the backends, as it was).
#
# --max-inflight-bytes: past the budget the mirrors are dropped, the
# primary still answers every client, and the drops are recorded as
# skipped with reason inflight_bytes, said while they happen and counted
# in the summary line; the proxy's peak memory stays near the budget.
#
# No wall-clock bound: the candidate holds its answers for an hour (and
# --candidate-timeout is longer still) until the test releases them, so
# what is in flight is known when memory is read.  Memory is the kernel's
# count of the proxy's peak resident set (VmHWM), read before and after.

. "$(dirname "$0")/lib.sh"
need curl jq head tr
need_binaries

HOUR=3600000
BODY_OK='{"ok":true}'
jq -n --arg b "$BODY_OK" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/fast.json"
jq -n --arg b "$BODY_OK" --argjson d "$HOUR" '{default: {status: 200,
    delay_ms: $d, headers: [["Content-Type", "application/json"]],
    body: $b}}' >"$T/silent.json"

MIB=1048576
head -c $((4 * MIB)) /dev/zero | tr '\0' 'a' >"$T/body4m"
head -c $((2 * MIB)) /dev/zero | tr '\0' 'b' >"$T/body2m"

start_backend primary "$T/fast.json"
PRI=http://127.0.0.1:$(backend_port primary)

# hwm: the current proxy's peak resident set, in kB.
hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$PROXY_PID/status"
}

# asan: the proxy runs under a sanitizer (tests/lib.sh), so its peak
# memory says nothing about the proxy's; $san names it.
asan() {
	san=$(sanitized)
}

# err_has TEXT: the proxy's stderr holds TEXT.
err_has() {
	grep -qF -- "$1" "$PROXY_ERR"
}

# nresponds NAME: how many responses the backend has sent.
nresponds() {
	backend_events "$1" '.event == "respond"' | wc -l | tr -d ' '
}

# cap_nlines_ge FILE N: the capture has at least N complete lines.
cap_nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}

# nresponds_ge NAME N: the backend has sent at least N responses.
nresponds_ge() {
	[ "$(nresponds "$1")" -ge "$2" ]
}

# --- one copy of a body in flight ---
start_backend silent1 "$T/silent.json"
CAP=$T/onecopy.jsonl
start_proxy --primary "$PRI" --candidate \
    "http://127.0.0.1:$(backend_port silent1)" --capture "$CAP" \
    --candidate-timeout $((2 * HOUR)) || bail "the proxy did not start"
# A first small upload: the connections, pools and buffers of a request
# exist before the peak is read.
req warm -X POST --data-binary 'warm' "$PROXY_URL/upload"
is "$HTTP_CODE" 200 "one copy: the first upload is answered"
ok "one copy: its mirror reached the candidate" \
    wait_for 10 backend_nrequests_ge silent1 1
h0=$(hwm)
req big -X POST -H 'Expect:' --data-binary "@$T/body4m" "$PROXY_URL/upload"
is "$HTTP_CODE" 200 "one copy: the 4 MiB upload gets the primary's 200"
id_big=$TRACE
ok "one copy: the candidate read the whole 4 MiB mirror" \
    wait_for 30 backend_nrequests_ge silent1 2
is "$(backend_events silent1 '.event == "request"' |
    jq -r '.body | length' | tail -n 1)" $((4 * MIB)) \
    "one copy: the candidate got all 4 MiB of the body"
is "$(nresponds silent1)" 0 "one copy: the mirror is still in flight"
h1=$(hwm)
if asan; then
	skip "peak memory is not meaningful under $san"
	skip "peak memory is not meaningful under $san"
else
	# 4096 kB of body, and a little for the request's head, the parser
	# and the client's read buffer; two copies would be 8192 kB more.
	cmp_ok $((h1 - h0)) -ge 4096 \
	    "one copy: the body in flight is in memory ($h0 -> $h1 kB)"
	cmp_ok $((h1 - h0)) -lt 5120 \
	    "one copy: a 4 MiB body in flight costs under 5 MiB ($h0 -> $h1 kB)"
fi
backend_release silent1
ok "one copy: the exchange is captured once the candidate answers" \
    wait_for 30 cap_has_id "$CAP" "$id_big"
stop_proxy
is "$PROXY_STATUS" 0 "one copy: the proxy exits 0"
is "$(cap_get "$CAP" "$id_big" '.verdict + " " + (.request.body | length |
    tostring)')" "match 1048576" \
    "one copy: the capture has the exchange, its body kept to 1M"

# --- the byte budget ---
# 8M: three mirrors of 2 MiB and a head fit, a fourth does not.  The
# uploads go one at a time, each dropped mirror's exchange recorded before
# the next, so the queue to the capture holds one exchange at most and
# what the peak measures is what is in flight (a small
# --capture-body-limit keeps the capture cheap to write).
start_backend silent2 "$T/silent.json"
CAP=$T/budget.jsonl
start_proxy --primary "$PRI" --candidate \
    "http://127.0.0.1:$(backend_port silent2)" --capture "$CAP" \
    --capture-body-limit 1K --candidate-timeout $((2 * HOUR)) \
    --max-inflight-bytes 8M || bail "the proxy did not start"
req warm2 -X POST --data-binary 'warm' "$PROXY_URL/upload"
is "$HTTP_CODE" 200 "budget: the first upload is answered"
ok "budget: its mirror reached the candidate" \
    wait_for 10 backend_nrequests_ge silent2 1
h0=$(hwm)
: >"$T/budget.codes"
paced=yes
i=1
while [ $i -le 40 ]; do
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -H 'Expect:' \
	    --data-binary "@$T/body2m" -o /dev/null -w '%{http_code}\n' \
	    "$PROXY_URL/upload/$i" >>"$T/budget.codes" 2>>"$T/budget.err"
	if [ $i -gt 3 ] && ! wait_for 30 cap_nlines_ge "$CAP" $((i - 3)); then
		paced=no
		break
	fi
	i=$((i + 1))
done
is "$paced" yes "budget: past the third, each upload is recorded at once"
is "$(grep -c '^200$' "$T/budget.codes")" 40 \
    "budget: all 40 uploads of 2 MiB got the primary's 200"
ok "budget: the drops are said while they happen" \
    wait_for 10 err_has "the candidate is behind: mirrors dropped: "
ok "budget: ... naming the budget" \
    err_has "over --max-inflight-bytes (8388608 bytes)"
ok "budget: the three mirrors within the budget reached the candidate" \
    wait_for 30 backend_nrequests_ge silent2 4
is "$(nresponds silent2)" 0 "budget: the candidate answered none"
h1=$(hwm)
if asan; then
	skip "peak memory is not meaningful under $san"
else
	# The budget, the upload being read, the exchange on its way to
	# the capture: 40 bodies held would be 80 MB at least.
	cmp_ok $((h1 - h0)) -lt $((8192 + 16384)) \
	    "budget: peak memory grew by less than the budget and 16 MB ($h0 -> $h1 kB)"
fi
# Released, the candidate answers what it holds and the budget is free
# again: the next upload is mirrored.
backend_release silent2
ok "budget: the candidate answered the four mirrors it held" \
    wait_for 30 nresponds_ge silent2 4
req after -X POST -H 'Expect:' --data-binary "@$T/body2m" \
    "$PROXY_URL/upload/after"
is "$HTTP_CODE" 200 "budget: an upload after the release is answered"
id_after=$TRACE
ok "budget: the capture has it" wait_for 30 cap_has_id "$CAP" "$id_after"
stop_proxy
is "$PROXY_STATUS" 0 "budget: the proxy exits 0"
ok "budget: the candidate has read all the proxy sent" \
    wait_for 10 backend_idle silent2
is "$(backend_nrequests silent2)" 5 \
    "budget: the candidate got the first, three of the 40, and the last"
is "$(cap_nlines "$CAP")" 42 "budget: 42 capture lines"
is "$(jq -s '[.[] | select(.verdict == "skipped" and
    .skip_reason == "inflight_bytes")] | length' "$CAP")" 37 \
    "budget: 37 exchanges skipped with skip_reason inflight_bytes"
is "$(jq -s '[.[] | select(.verdict == "match")] | length' "$CAP")" 5 \
    "budget: the 5 mirrored exchanges match"
is "$(jq -s '[.[] | select(.verdict == "skipped") |
    .responses.primary.status] | unique' -c "$CAP")" "[200]" \
    "budget: the skipped ones hold the primary's 200"
is "$(cap_get "$CAP" "$id_after" .verdict)" match \
    "budget: the upload after the release was mirrored and compared"
is "$(sed -n 's/.*the candidate is behind: mirrors dropped.*: \([0-9]*\) over --max-inflight-bytes.*/\1/p' \
    "$PROXY_ERR" | awk '{ n += $1 } END { print n }')" 37 \
    "budget: the reports, the last one at the stop, say all 37 drops"
like "$(grep '^paritytap proxy: 42 exchanges' "$PROXY_ERR")" \
    ' 37 skipped .* 37 mirrors dropped \(--max-inflight-bytes\)$' \
    "budget: the summary line counts the 37 dropped mirrors"

# --- 0 mirrors nothing ---
start_backend silent3 "$T/silent.json"
CAP=$T/zero.jsonl
start_proxy --primary "$PRI" --candidate \
    "http://127.0.0.1:$(backend_port silent3)" --capture "$CAP" \
    --max-inflight-bytes 0 || bail "the proxy did not start"
req zero "$PROXY_URL/items/1"
is "$HTTP_CODE" 200 "zero: the client gets the primary's 200"
is "$BODY" "$BODY_OK" "zero: ... and its body"
id_zero=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "zero: the proxy exits 0"
ok "zero: the candidate has read all the proxy sent" \
    wait_for 10 backend_idle silent3
is "$(backend_nrequests silent3)" 0 "zero: the candidate got nothing"
is "$(cap_get "$CAP" "$id_zero" '.verdict + " " + .skip_reason')" \
    "skipped inflight_bytes" "zero: skipped, skip_reason inflight_bytes"
like "$(grep '^paritytap proxy: 1 exchange' "$PROXY_ERR")" \
    ' 1 mirror dropped \(--max-inflight-bytes\)$' \
    "zero: the summary line counts the dropped mirror"

# --- a bad size ---
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" \
    --candidate "$PRI" --max-inflight-bytes 8Q >/dev/null 2>"$T/bad.err"
is "$?" 2 "bad size: exit 2"
like "$(cat "$T/bad.err")" "max-inflight-bytes.*'8Q' is not a size" \
    "bad size: the message names the option and the value"

done_testing
