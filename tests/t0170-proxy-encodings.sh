#!/bin/sh
# Bodies on the wire (DESIGN §3, §7): a chunked primary response reaches
# the client intact; gzip on one side and identity on the other compare on
# the decoded bytes; a candidate cut mid-response is a candidate_error; a
# 1 MiB body is relayed byte for byte both ways and captured cut to
# --capture-body-limit with the sha256 of the whole.

. "$(dirname "$0")/lib.sh"
need curl jq sha256sum gzip base64 head
need_binaries

# Bodies.
B_CHUNKED=$(jq -nc '{items: [range(0; 40) | {id: ., name: "item \(.)",
    tags: ["a", "b"]}], total: 40}')
B_GZIP=$(jq -nc '{user: {id: 42, name: "Zoë", roles: ["admin", "dev"]},
    session_id: "18abbabdc2306a83-c2306aa9"}')
B_CUT=$(jq -nc '{rows: [range(0; 60) | {n: .}]}')
head -c 786432 /dev/urandom | base64 -w 76 | head -c 1048576 >"$T/big.txt"
BIG_SHA=$(sha256sum <"$T/big.txt" | cut -d' ' -f1)
BIG_LEN=$(wc -c <"$T/big.txt" | tr -d ' ')

CT='[["Content-Type", "application/json"]]'
jq -n --arg c "$B_CHUNKED" --arg g "$B_GZIP" --arg x "$B_CUT" \
    --arg big "$T/big.txt" --argjson ct "$CT" '{routes: [
	{path: "/chunked", chunked: true, status: 200, headers: $ct, body: $c},
	{path: "/gzip", gzip: true, status: 200, headers: $ct, body: $g},
	{path: "/cut", status: 200, headers: $ct, body: $x},
	{path: "/big", status: 200, headers: [["Content-Type", "text/plain"]],
	    body_file: $big},
	{path: "/upload", echo: true, status: 200},
	{path: "/cgarbage", status: 200, headers: $ct, body: $g},
	{path: "/pgarbage", raw: "NOT HTTP AT ALL\r\n\r\n"},
	{path: "/pcut", status: 200, headers: $ct, body: $x, close_after: 300,
	    close_delay_ms: 500},
	{path: "/phcut", status: 200, headers: $ct, body: $x, close_after: 20},
	{path: "/pbcut", status: 200, headers: $ct, body: $x, close_after: 300}
	]}' >"$T/primary.json"
jq -n --arg c "$B_CHUNKED" --arg g "$B_GZIP" --arg x "$B_CUT" \
    --arg big "$T/big.txt" --argjson ct "$CT" '{routes: [
	{path: "/chunked", status: 200, headers: $ct, body: $c},
	{path: "/gzip", status: 200, headers: $ct, body: $g},
	{path: "/cut", status: 200, headers: $ct, body: $x, close_after: 200},
	{path: "/big", status: 200, headers: [["Content-Type", "text/plain"]],
	    body_file: $big},
	{path: "/upload", echo: true, status: 200},
	{path: "/cgarbage", raw: "NOT HTTP AT ALL\r\n\r\n"},
	{path: "/pgarbage", status: 200, headers: $ct, body: $g},
	{path: "/pcut", status: 200, headers: $ct, body: $x},
	{path: "/phcut", status: 200, headers: $ct, body: $x},
	{path: "/pbcut", status: 200, headers: $ct, body: $x}
	]}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --capture-body-limit 4096 || bail "the proxy did not start"

# --- chunked ---
req chunked "$PROXY_URL/chunked"
is "$HTTP_CODE" 200 "chunked: 200"
printf '%s' "$B_CHUNKED" >"$T/chunked.want"
ok "chunked: the client got the primary's body intact" \
    cmp -s "$T/chunked.want" "$T/chunked.body"
id_chunked=$TRACE

# --- gzip on the primary, identity on the candidate ---
req gzip "$PROXY_URL/gzip"
is "$HTTP_CODE" 200 "gzip: 200"
is "$(header_of "$T/gzip.hdr" Content-Encoding)" gzip \
    "gzip: the client got the primary's Content-Encoding: gzip"
printf '%s' "$B_GZIP" >"$T/gzip.want"
ok "gzip: the client's body is the primary's gzip stream of the JSON" \
    sh -c "gzip -dc <'$T/gzip.body' | cmp -s - '$T/gzip.want'"
id_gzip=$TRACE

# --- candidate cut mid-response ---
req cut "$PROXY_URL/cut"
is "$HTTP_CODE" 200 "cut candidate: the client got the primary's 200"
printf '%s' "$B_CUT" >"$T/cut.want"
ok "cut candidate: the client got the primary's whole body" \
    cmp -s "$T/cut.want" "$T/cut.body"
id_cut=$TRACE

# --- a candidate that does not speak HTTP ---
req cgarbage "$PROXY_URL/cgarbage"
is "$HTTP_CODE" 200 "garbage candidate: the client got the primary's 200"
id_cgarbage=$TRACE

# --- a primary that does not speak HTTP: 502 ---
req pgarbage "$PROXY_URL/pgarbage"
is "$HTTP_CODE" 502 "garbage primary: the client gets 502"
is "$(jq -r .trace_id "$T/pgarbage.body" 2>/dev/null)" "$TRACE" \
    "garbage primary: the 502 body names the trace id"
id_pgarbage=$TRACE

# --- a primary cut mid-body, 0.5 s after its headers: the client has
# the headers already and must not see a complete answer ---
req pcut "$PROXY_URL/pcut"
is "$HTTP_CODE" 200 "primary cut mid-body: the client got the headers (200)"
like "$TRACE" '^[[:graph:]]+$' "primary cut mid-body: ... with the trace header"
isnt "$CURL_STATUS" 0 \
    "primary cut mid-body: the client's transfer fails (curl exit $CURL_STATUS)"
ok "primary cut mid-body: the client did not get the whole body" \
    sh -c "! cmp -s '$T/cut.want' '$T/pcut.body'"
id_pcut=$TRACE

# --- a primary cut inside its header block: nothing was relayed yet, so
# the client gets a 502 (DESIGN §7.5) ---
req phcut "$PROXY_URL/phcut"
is "$HTTP_CODE" 502 "primary cut in its headers: the client gets 502"
is "$(jq -r .trace_id "$T/phcut.body" 2>/dev/null)" "$TRACE" \
    "primary cut in its headers: the 502 body names the trace id"
id_phcut=$TRACE

# --- a primary that sends its headers and part of its body, then closes,
# all at once: whatever the proxy had relayed by then, the client gets a
# status and the trace id (a 502, or the 200 cut short), never an empty
# reply ---
n_answered=0
i=0
while [ $i -lt 5 ]; do
	req pbcut "$PROXY_URL/pbcut"
	case $HTTP_CODE in
	502) [ "$(jq -r .trace_id "$T/pbcut.body" 2>/dev/null)" = "$TRACE" ] &&
	    n_answered=$((n_answered + 1)) ;;
	200) [ -n "$TRACE" ] && [ "$CURL_STATUS" -ne 0 ] &&
	    n_answered=$((n_answered + 1)) ;;
	*) diag "pbcut: HTTP $HTTP_CODE, curl exit $CURL_STATUS: $(cat "$T/pbcut.curlerr")" ;;
	esac
	i=$((i + 1))
done
is "$n_answered" 5 \
    "primary cut with its headers: 5/5 clients got a 502 or a cut 200, with the trace id"

# --- 1 MiB response ---
req big "$PROXY_URL/big"
is "$HTTP_CODE" 200 "1 MiB: 200"
is "$(sha256sum <"$T/big.body" | cut -d' ' -f1)" "$BIG_SHA" \
    "1 MiB: the client got the primary's body byte for byte (sha256)"
id_big=$TRACE

# --- 1 MiB request body ---
req upload -X POST -H 'Content-Type: text/plain' \
    --data-binary "@$T/big.txt" "$PROXY_URL/upload"
is "$HTTP_CODE" 200 "1 MiB upload: 200"
id_upload=$TRACE
ok "1 MiB upload: the candidate got it" \
    wait_for 20 backend_has candidate '.target == "/upload"'
for b in primary candidate; do
	is "$(jq -j 'select(.target == "/upload") | .body' "$T/$b.log" |
	    sha256sum | cut -d' ' -f1)" "$BIG_SHA" \
	    "1 MiB upload: the $b got the body byte for byte (sha256)"
done

# After the broken backends, the pools still work.
req again "$PROXY_URL/chunked"
ok "after the broken responses the next request is answered intact" \
    cmp -s "$T/chunked.want" "$T/again.body"

# --- Expect: 100-continue ---
# curl waits --expect100-timeout (an hour here) for "100 Continue" before
# sending the body; a proxy that answers the expectation lets it go on at
# once, one that does not leaves curl waiting past its --max-time.
printf '{"expect":"continue"}' >"$T/expect.req"
res=$(curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o "$T/expect.body" \
    -w '%{http_code} %{time_total}' --expect100-timeout 3600 \
    -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
    --data-binary "@$T/expect.req" "$PROXY_URL/upload" 2>"$T/expect.err")
is "${res%% *}" 200 "Expect: 100-continue: 200"
is "$(awk -v t="${res#* }" 'BEGIN { print (t < 3600) ? "yes" : "no" }')" yes \
    "Expect: 100-continue: the proxy did not make curl wait for its timeout"
is "$(backend_events primary '.event == "request" and .body ==
    "{\"expect\":\"continue\"}"' | wc -l | tr -d ' ')" 1 \
    "Expect: 100-continue: the body reached the primary"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
ok "the capture is valid JSONL" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" 16 "16 capture lines"
is "$(jq -r 'select(.route == "GET /pbcut") | .verdict' "$CAP" | sort | uniq -c |
    tr -s ' ' | sed 's/^ //')" "5 primary_error" \
    "primary cut with its headers: 5 primary_error lines"

is "$(cap_get "$CAP" "$id_cgarbage" '.verdict + " " +
    .responses.candidate.error')" "candidate_error bad_response" \
    "garbage candidate: candidate_error, error bad_response"
is "$(cap_get "$CAP" "$id_pgarbage" '.verdict + " " +
    .responses.primary.error')" "primary_error bad_response" \
    "garbage primary: primary_error, error bad_response"
is "$(cap_get "$CAP" "$id_pcut" .verdict)" primary_error \
    "primary cut mid-body: verdict primary_error"
like "$(cap_get "$CAP" "$id_pcut" .responses.primary.error)" \
    '^(reset|bad_response)$' "primary cut mid-body: error reset or bad_response"
is "$(cap_get "$CAP" "$id_phcut" .verdict)" primary_error \
    "primary cut in its headers: verdict primary_error"

is "$(cap_get "$CAP" "$id_chunked" .verdict)" match "chunked: verdict match"
is "$(cap_get "$CAP" "$id_chunked" .responses.primary.body)" "$B_CHUNKED" \
    "chunked: the capture holds the dechunked body"

is "$(cap_get "$CAP" "$id_gzip" .verdict)" match \
    "gzip vs identity, same JSON: verdict match"
is "$(cap_get "$CAP" "$id_gzip" .responses.primary.body)" "$B_GZIP" \
    "gzip: the capture records the primary's body decoded, as text"
is "$(cap_get "$CAP" "$id_gzip" '[.responses.primary.body_decoded,
    .responses.primary.body_bytes] | join(" ")')" \
    "gzip $(wc -c <"$T/gzip.body" | tr -d ' ')" \
    "gzip: the coding it was decoded from, and the bytes received"
is "$(cap_get "$CAP" "$id_gzip" .responses.candidate.body)" "$B_GZIP" \
    "gzip: the candidate's identity body is recorded as is"

is "$(cap_get "$CAP" "$id_cut" .verdict)" candidate_error \
    "cut candidate: verdict candidate_error"
like "$(cap_get "$CAP" "$id_cut" .responses.candidate.error)" \
    '^(reset|bad_response)$' "cut candidate: error reset or bad_response"

is "$(cap_get "$CAP" "$id_big" .verdict)" match "1 MiB: verdict match"
is "$(cap_get "$CAP" "$id_big" .responses.primary.truncated)" true \
    "1 MiB: the captured body is marked truncated"
is "$(cap_get "$CAP" "$id_big" '.responses.primary.body | length')" 4096 \
    "1 MiB: the captured body is cut to --capture-body-limit"
is "$(cap_get "$CAP" "$id_big" .responses.primary.body)" \
    "$(head -c 4096 "$T/big.txt")" "1 MiB: the captured prefix is exact"
is "$(cap_get "$CAP" "$id_big" .responses.primary.body_sha256)" "$BIG_SHA" \
    "1 MiB: body_sha256 is the sha256 of the whole body"
is "$(cap_get "$CAP" "$id_big" .responses.primary.body_bytes)" "$BIG_LEN" \
    "1 MiB: body_bytes is the whole length"
is "$(cap_get "$CAP" "$id_upload" .request.truncated)" true \
    "1 MiB upload: the captured request body is marked truncated"
is "$(cap_get "$CAP" "$id_upload" .request.body_sha256)" "$BIG_SHA" \
    "1 MiB upload: the request's body_sha256"
is "$(cap_get "$CAP" "$id_upload" .request.body_bytes)" "$BIG_LEN" \
    "1 MiB upload: the request's body_bytes"

done_testing
