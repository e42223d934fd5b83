#!/bin/sh
# Trace ids (DESIGN §6): from the trace header, else a W3C traceparent's
# trace-id, else minted (<16 hex>-<8 hex>); sent to both backends in the
# trace header, echoed to the client, and the capture's id.  A value that
# is not a plausible id is replaced, never forwarded.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend primary
start_backend candidate
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"

# got_header BACKEND TARGET HEADER: the values (one a line) of a header in
# the request the backend received for TARGET.
got_header() {
	backend_events "$1" ".event == \"request\" and .target == \"$2\"" |
	    jq -r --arg h "$3" '.headers[] | select(.[0] | ascii_downcase ==
	    ($h | ascii_downcase)) | .[1]'
}

# candidate_has TARGET: the candidate has received TARGET.
candidate_has() {
	backend_has candidate ".event == \"request\" and .target == \"$1\""
}

# check_propagated TARGET ID WHAT: both backends got ID, once, in the
# trace header for TARGET.
check_propagated() {
	is "$(got_header primary "$1" "$TRACE_HEADER")" "$2" \
	    "$3: the primary got the id in $TRACE_HEADER (once)"
	wait_for 10 candidate_has "$1"
	is "$(got_header candidate "$1" "$TRACE_HEADER")" "$2" \
	    "$3: the candidate got the id in $TRACE_HEADER (once)"
}

# --- client-supplied trace header ---
req c1 -H "$TRACE_HEADER: client-trace-0001" "$PROXY_URL/t/1"
is "$HTTP_CODE" 200 "client id: 200"
is "$TRACE" client-trace-0001 "client id: echoed to the client"
check_propagated /t/1 client-trace-0001 "client id"
id_client=$TRACE

# --- traceparent ---
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
req c2 -H "traceparent: $TP" "$PROXY_URL/t/2"
is "$TRACE" 4bf92f3577b34da6a3ce929d0e0e4736 \
    "traceparent: its trace-id is the id"
check_propagated /t/2 4bf92f3577b34da6a3ce929d0e0e4736 "traceparent"
id_tp=$TRACE

# The trace header wins over traceparent.
req c3 -H "traceparent: $TP" -H "$TRACE_HEADER: both-given-0003" \
    "$PROXY_URL/t/3"
is "$TRACE" both-given-0003 "trace header and traceparent: the header wins"

# An invalid traceparent (all-zero trace-id) is not used.
req c4 -H "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01" \
    "$PROXY_URL/t/4"
like "$TRACE" "$MINTED_ID_RE" "an all-zero traceparent: an id is minted"

# --- an id over 128 bytes is replaced ---
LONG=$(head -c 200 /dev/zero | tr '\0' 'a')
req c5 -H "$TRACE_HEADER: $LONG" "$PROXY_URL/t/5"
is "$HTTP_CODE" 200 "long id: the request is still served"
isnt "$TRACE" "$LONG" "long id: not echoed back"
like "$TRACE" "$MINTED_ID_RE" "long id: replaced by a minted id"
check_propagated /t/5 "$TRACE" "long id"
is "$(grep -c "$LONG" "$T/primary.log" "$T/candidate.log" | awk -F: '{ n += $2 } END { print n }')" \
    0 "long id: never forwarded to a backend"
id_long=$TRACE

# Exactly 128 bytes is still plausible.
ID128=$(head -c 128 /dev/zero | tr '\0' 'b')
req c6 -H "$TRACE_HEADER: $ID128" "$PROXY_URL/t/6"
is "$TRACE" "$ID128" "a 128-byte id is kept"

# --- no id: minted, unique ---
req c7 "$PROXY_URL/t/7"
like "$TRACE" "$MINTED_ID_RE" "no id: a minted <16 hex>-<8 hex> id"
check_propagated /t/7 "$TRACE" "minted id"
id_m1=$TRACE
req c8 "$PROXY_URL/t/8"
like "$TRACE" "$MINTED_ID_RE" "no id: a second minted id"
isnt "$TRACE" "$id_m1" "minted ids differ"
id_m2=$TRACE
cmp_ok "$(printf '%s\n%s\n' "$id_m1" "$id_m2" | sort | head -n 1 | grep -c "^$id_m1$")" \
    -eq 1 "minted ids are time-ordered"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
for id in "$id_client" "$id_tp" "$id_long" "$id_m1"; do
	is "$(cap_get "$CAP" "$id" .id)" "$id" "the capture has a line with id $id"
done
is "$(cap_get "$CAP" "$id_client" .request.target)" /t/1 \
    "the client id's capture line is its request"
is "$(jq -r .id "$CAP" | grep -c "$LONG")" 0 "the long id is not in the capture"

# --- --trace-header NAME ---
CAP2=$T/custom.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP2" \
    --trace-header X-Request-Trace || bail "the proxy did not start"
req d1 -H "X-Request-Trace: custom-42" "$PROXY_URL/u/1"
is "$(header_of "$T/d1.hdr" X-Request-Trace)" custom-42 \
    "--trace-header: the id is echoed in X-Request-Trace"
is "$(got_header primary /u/1 X-Request-Trace)" custom-42 \
    "--trace-header: the primary got X-Request-Trace"
wait_for 10 candidate_has /u/1
is "$(got_header candidate /u/1 X-Request-Trace)" custom-42 \
    "--trace-header: the candidate got X-Request-Trace"
req d2 "$PROXY_URL/u/2"
like "$(header_of "$T/d2.hdr" X-Request-Trace)" "$MINTED_ID_RE" \
    "--trace-header: a minted id comes back in X-Request-Trace"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_get "$CAP2" custom-42 .request.target)" /u/1 \
    "--trace-header: the capture id is the X-Request-Trace value"

done_testing
