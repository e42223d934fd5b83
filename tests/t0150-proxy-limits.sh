#!/bin/sh
# What is not mirrored is still recorded (DESIGN §7.3, §7.6, §4.1): a body
# over --max-body gets 413 and reaches nobody; --sample 0 and
# --mirror-methods keep requests from the candidate.  Each such exchange
# is one capture line with verdict "skipped" and its skip_reason.

. "$(dirname "$0")/lib.sh"
need curl jq head
need_binaries

BODY_OK='{"ok":true}'
start_json_backends "$BODY_OK"

head -c 500 /dev/zero | tr '\0' 'a' >"$T/small"
head -c 5000 /dev/zero | tr '\0' 'b' >"$T/big"

# nreq NAME: requests a backend received so far.
nreq() {
	backend_nrequests "$1"
}

# settle: once the proxy has exited, wait until both backends have read
# all it sent them (what did not arrive then never will).
both_idle() {
	backend_idle primary && backend_idle candidate
}
settle() {
	ok "the backends have read all the proxy sent" wait_for 10 both_idle
}

# --- --max-body ---
CAP=$T/maxbody.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --max-body 1024 || bail "the proxy did not start"
req small -X POST --data-binary "@$T/small" "$PROXY_URL/upload"
is "$HTTP_CODE" 200 "max-body: a 500-byte body is relayed"
id_small=$TRACE
ok "max-body: the candidate got the 500-byte body" \
    wait_for 10 backend_nrequests_ge candidate 1

req big -X POST -H 'Expect:' --data-binary "@$T/big" "$PROXY_URL/upload"
is "$HTTP_CODE" 413 "max-body: a 5000-byte body gets 413"
id_big=$TRACE
like "$TRACE" '^[[:graph:]]+$' "max-body: the 413 carries $TRACE_HEADER"
is "$(jq -r .trace_id "$T/big.body" 2>/dev/null)" "$TRACE" \
    "max-body: the 413 body's trace_id is the trace header"
like "$(jq -r .error "$T/big.body" 2>/dev/null)" '1024' \
    "max-body: the 413 body names the limit"

req bigchunked -X POST -H 'Expect:' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$T/big" "$PROXY_URL/upload"
is "$HTTP_CODE" 413 "max-body: a 5000-byte chunked body gets 413"
id_bigchunked=$TRACE

stop_proxy
is "$PROXY_STATUS" 0 "max-body: the proxy exits 0"
settle
is "$(nreq primary)" 1 "max-body: the primary got only the small request"
is "$(nreq candidate)" 1 "max-body: the candidate got only the small request"
is "$(cap_nlines "$CAP")" 3 "max-body: 3 capture lines"
is "$(cap_get "$CAP" "$id_small" .verdict)" match \
    "max-body: the small request matched"
for id in "$id_big" "$id_bigchunked"; do
	is "$(cap_get "$CAP" "$id" .verdict)" skipped \
	    "max-body: the big request ($id) is recorded as skipped"
	is "$(cap_get "$CAP" "$id" .skip_reason)" body_too_large \
	    "max-body: ... with skip_reason body_too_large"
done
is "$(cap_get "$CAP" "$id_big" .request.method)" POST \
    "max-body: the skipped line records the request"
is "$(diverge_lines | wc -l | tr -d ' ')" 0 "max-body: skipped is not flagged"

# --- --sample 0 ---
CAP=$T/sample.jsonl
p0=$(nreq primary)
c0=$(nreq candidate)
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --sample 0 || bail "the proxy did not start"
req s1 "$PROXY_URL/items"
is "$HTTP_CODE" 200 "sample 0: the client gets the primary's 200"
is "$BODY" "$BODY_OK" "sample 0: ... and its body"
id_s1=$TRACE
req s2 -X POST --data-binary '{"x":1}' "$PROXY_URL/items"
is "$HTTP_CODE" 200 "sample 0: a POST too"
id_s2=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "sample 0: the proxy exits 0"
settle
is "$(nreq primary)" $((p0 + 2)) "sample 0: the primary got both requests"
is "$(nreq candidate)" "$c0" "sample 0: the candidate got nothing"
is "$(cap_nlines "$CAP")" 2 "sample 0: 2 capture lines"
for id in "$id_s1" "$id_s2"; do
	is "$(cap_get "$CAP" "$id" '.verdict + " " + .skip_reason')" \
	    "skipped sample" "sample 0: $id skipped, skip_reason sample"
	is "$(cap_get "$CAP" "$id" .responses.primary.status)" 200 \
	    "sample 0: $id records the primary's response"
done
is "$(diverge_lines | wc -l | tr -d ' ')" 0 "sample 0: nothing flagged"

# --- --mirror-methods GET ---
CAP=$T/methods.jsonl
c0=$(nreq candidate)
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --mirror-methods GET || bail "the proxy did not start"
req m1 -X POST --data-binary '{"x":1}' "$PROXY_URL/orders"
is "$HTTP_CODE" 200 "mirror-methods GET: a POST gets the primary's 200"
id_post=$TRACE
req m2 -X DELETE "$PROXY_URL/orders/12"
id_delete=$TRACE
req m3 "$PROXY_URL/orders"
is "$HTTP_CODE" 200 "mirror-methods GET: a GET gets 200"
id_get=$TRACE
ok "mirror-methods GET: the GET is mirrored" \
    wait_for 10 backend_nrequests_ge candidate $((c0 + 1))
stop_proxy
is "$PROXY_STATUS" 0 "mirror-methods: the proxy exits 0"
settle
is "$(backend_requests candidate | tail -n +$((c0 + 1)) | jq -r '.method + " " + .target' | tr '\n' ' ')" \
    "GET /orders " "mirror-methods GET: the candidate got only the GET"
is "$(cap_nlines "$CAP")" 3 "mirror-methods: 3 capture lines"
is "$(cap_get "$CAP" "$id_post" '.verdict + " " + .skip_reason')" \
    "skipped method" "mirror-methods: the POST is skipped, skip_reason method"
is "$(cap_get "$CAP" "$id_delete" '.verdict + " " + .skip_reason')" \
    "skipped method" "mirror-methods: the DELETE is skipped, skip_reason method"
is "$(cap_get "$CAP" "$id_get" .verdict)" match \
    "mirror-methods: the GET is compared (match)"

# --- --max-inflight ---
# A candidate that holds its answers (an hour, until released), at most
# one mirror in flight: the second request's mirror is dropped, not
# queued.  The first mirror is provably still in flight when the second
# request comes: the candidate is released only afterwards.
jq -n --arg b "$BODY_OK" '{default: {status: 200, delay_ms: 3600000,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/slow.json"
start_backend slowcand "$T/slow.json"
CAP=$T/inflight.jsonl
start_proxy --primary "$PRI" --candidate "http://127.0.0.1:$BACKEND_PORT" \
    --capture "$CAP" --max-inflight 1 --candidate-timeout 7200000 ||
    bail "the proxy did not start"
req i1 "$PROXY_URL/inflight/1"
id_i1=$TRACE
ok "max-inflight: the first mirror reached the candidate" \
    wait_for 10 backend_nrequests_ge slowcand 1
req i2 "$PROXY_URL/inflight/2"
id_i2=$TRACE
is "$HTTP_CODE" 200 "max-inflight: the client is served while the cap is full"
is "$(backend_events slowcand '.event == "respond"' | wc -l | tr -d ' ')" 0 \
    "max-inflight: the first mirror was still in flight"
backend_release slowcand
ok "max-inflight: the first exchange is captured once released" \
    wait_for 10 cap_has_id "$CAP" "$id_i1"
stop_proxy
is "$PROXY_STATUS" 0 "max-inflight: the proxy exits 0"
ok "max-inflight: the candidate has read all the proxy sent" \
    wait_for 10 backend_idle slowcand
is "$(backend_nrequests slowcand)" 1 "max-inflight: the candidate got 1 mirror"
is "$(cap_get "$CAP" "$id_i1" .verdict)" match \
    "max-inflight: the first exchange was compared"
is "$(cap_get "$CAP" "$id_i2" '.verdict + " " + .skip_reason')" \
    "skipped inflight" "max-inflight: the second is skipped, skip_reason inflight"

done_testing
