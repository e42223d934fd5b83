#!/bin/sh
# Both backends see the same request (DESIGN §7.2): one canonical
# serialization, framing rebuilt (Content-Length from the body read),
# hop-by-hop headers removed, X-Forwarded-For appended, Host kept unless
# --host.  The client gets the primary's response minus its hop-by-hop
# headers.  Captures redact secrets (DESIGN §3) and are mode 0600.

. "$(dirname "$0")/lib.sh"
need curl jq stat
need_binaries

jq -n '{routes: [{path: "/hop", status: 201, headers: [
	["Content-Type", "application/json"], ["X-Custom", "kept"],
	["Keep-Alive", "timeout=5"], ["Connection", "X-Hop-Response"],
	["X-Hop-Response", "dropped"], ["Set-Cookie", "sid=s3cret; HttpOnly"],
	["Trailer", "X-Checksum"]],
    body: "{\"ok\":true}"},
    {path: "/nocontent", status: 204, headers: [["X-Deleted", "1"]]}]}' \
    >"$T/primary.json"
# The candidate answers without echoing, so that no secret comes back in
# a body.
jq -n '{default: {status: 201, headers: [["Content-Type", "application/json"]],
    body: "{\"ok\":true}"}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --redact-header X-Custom-Secret || bail "the proxy did not start"

# hdr BACKEND TARGET NAME: the values of a header the backend received.
hdr() {
	backend_events "$1" ".event == \"request\" and .target == \"$2\"" |
	    jq -r --arg h "$3" '.headers[] | select(.[0] | ascii_downcase ==
	    ($h | ascii_downcase)) | .[1]'
}

# A chunked request full of hop-by-hop headers.
printf 'line one\nline two\n' >"$T/body"
req fwd -X POST -H 'Transfer-Encoding: chunked' \
    -H 'Connection: keep-alive, X-Hop-Request' -H 'X-Hop-Request: dropped' \
    -H 'Keep-Alive: timeout=5' -H 'TE: trailers' \
    -H 'Proxy-Authorization: Basic cHJveHk6cHJveHk=' \
    -H 'Upgrade: h2c' -H 'X-Forwarded-For: 10.0.0.1' \
    -H 'X-Forwarded-For: 10.0.0.2, 10.0.0.3' \
    -H 'Host: api.example.test' -H 'Authorization: Bearer s3cret' \
    -H 'Cookie: sid=s3cret' -H 'X-Api-Key: s3cret' \
    -H 'X-Custom-Secret: s3cret' -H 'X-Kept: yes' \
    --data-binary "@$T/body" "$PROXY_URL/hop?a=1&b=two"
is "$HTTP_CODE" 201 "the client got the primary's 201"
id=$TRACE
T1='/hop?a=1&b=two'
ok "the candidate received the mirror" wait_for 10 backend_has candidate \
    ".event == \"request\" and .target == \"$T1\""

for b in primary candidate; do
	is "$(backend_events $b ".target == \"$T1\"" | jq -r .method)" POST \
	    "$b: method POST, target with the query string"
	is "$(backend_events $b ".target == \"$T1\"" | jq -r .body)" \
	    "$(cat "$T/body")" "$b: the dechunked body"
	is "$(hdr $b "$T1" Content-Length)" 18 \
	    "$b: Content-Length rebuilt from the body"
	for h in Transfer-Encoding Connection X-Hop-Request Keep-Alive TE \
	    Proxy-Authorization Upgrade; do
		is "$(hdr $b "$T1" $h)" "" "$b: no $h"
	done
	is "$(hdr $b "$T1" X-Forwarded-For)" \
	    "10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1" \
	    "$b: every X-Forwarded-For kept, in order, the client appended"
	is "$(hdr $b "$T1" Host)" api.example.test "$b: Host kept as sent"
	is "$(hdr $b "$T1" Authorization)" "Bearer s3cret" \
	    "$b: Authorization reaches the backend (redaction is capture-only)"
	is "$(hdr $b "$T1" X-Kept)" yes "$b: an end-to-end header is kept"
	is "$(hdr $b "$T1" "$TRACE_HEADER")" "$id" "$b: the trace header"
done
is "$(backend_events primary ".target == \"$T1\"" | jq -c .headers)" \
    "$(backend_events candidate ".target == \"$T1\"" | jq -c .headers)" \
    "both backends received the same header list, in the same order"

# What the client got back.
is "$(header_of "$T/fwd.hdr" X-Custom)" kept "the client got X-Custom"
is "$(header_of "$T/fwd.hdr" X-Hop-Response)" "" \
    "the client did not get a header the primary's Connection lists"
is "$(header_of "$T/fwd.hdr" Keep-Alive)" "" \
    "the client did not get the primary's Keep-Alive"
is "$(header_of "$T/fwd.hdr" Trailer)" "" \
    "the client did not get the primary's Trailer"
is "$(header_of "$T/fwd.hdr" Set-Cookie)" "sid=s3cret; HttpOnly" \
    "the client got the primary's Set-Cookie unredacted"
is "$BODY" '{"ok":true}' "the client got the primary's body"

# HEAD and 204: no body, and the pooled primary connection stays in step.
# A body that is not UTF-8 reaches both backends byte for byte.
printf '\377\376\000\001binary\200' >"$T/bin"
req bin -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/bin" "$PROXY_URL/bin"
id_bin=$TRACE
ok "binary: the candidate received it" wait_for 10 backend_has candidate \
    '.event == "request" and .target == "/bin"'
BIN_B64=$(base64 <"$T/bin" | tr -d '\n')
for b in primary candidate; do
	is "$(backend_events $b '.target == "/bin"' | jq -r .body_b64)" \
	    "$BIN_B64" "binary: the $b got the exact bytes"
done

# HEAD then GET on one client connection: the HEAD response must end at
# its blank line, or the GET's response would be misread.
printf 'HEAD /hop HTTP/1.1\r\nHost: x\r\n\r\nGET /hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    >"$T/head.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) <"$T/head.req" \
    >"$T/head.resp" 2>"$T/head.err"
is "$?" 0 "HEAD+GET: the proxy closed after the GET"
# Split the raw bytes at each status line.
is "$(grep -o 'HTTP/1\.[01] [0-9][0-9][0-9]' "$T/head.resp" | tr '\n' ' ')" \
    "HTTP/1.1 201 HTTP/1.1 201 " "HEAD+GET: two 201 responses"
is "$(tr -d '\r' <"$T/head.resp" | awk '/^HTTP\// { n++ } n == 1' |
    sed '1,/^$/d' | tr -d '\n')" "" "HEAD: no body before the next response"
like "$(tr -d '\r' <"$T/head.resp" | awk '/^HTTP\// { n++ } n == 1')" \
    '^[Cc]ontent-[Ll]ength: 11$' "HEAD: the primary's Content-Length"
is "$(tr -d '\r' <"$T/head.resp" | awk '/^HTTP\// { n++ } n == 2' |
    sed '1,/^$/d')" '{"ok":true}' "HEAD+GET: the GET got its body"
req nocontent -X DELETE "$PROXY_URL/nocontent"
is "$HTTP_CODE" 204 "204: the primary's status"
is "$(header_of "$T/nocontent.hdr" X-Deleted)" 1 "204: the primary's headers"
req after "$PROXY_URL/hop"
is "$HTTP_CODE" 201 "after HEAD and 204, the next request is answered"
is "$BODY" '{"ok":true}' "... with the right body"

# --host rewrites Host for both backends.
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
CAP2=$T/keep.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP2" \
    --host api.internal --keep-secrets || bail "the proxy did not start"
req host -H 'Host: public.example' -H 'Authorization: Bearer s3cret' \
    "$PROXY_URL/host"
ok "the candidate received /host" wait_for 10 backend_has candidate \
    '.event == "request" and .target == "/host"'
is "$(hdr primary /host Host)" api.internal "--host: the primary got Host api.internal"
is "$(hdr candidate /host Host)" api.internal "--host: the candidate too"
id2=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# The captures.
is "$(stat -c %a "$CAP")" 600 "the capture file is mode 0600"
# capval FILE ID SIDE-PATH NAME: a recorded header's value.
capval() {
	cap_get "$1" "$2" "[$3.headers[] | select(.name | ascii_downcase ==
	    (\"$4\" | ascii_downcase)) | .value] | join(\",\")"
}
for h in Authorization Cookie X-Api-Key X-Custom-Secret; do
	is "$(capval "$CAP" "$id" .request "$h")" "[redacted]" \
	    "capture: request $h is [redacted]"
done
is "$(capval "$CAP" "$id" .responses.primary Set-Cookie)" "[redacted]" \
    "capture: response Set-Cookie is [redacted]"
is "$(capval "$CAP" "$id" .request X-Kept)" yes \
    "capture: other headers are recorded as is"
is "$(grep -c s3cret "$CAP")" 0 "capture: the secret appears nowhere"
is "$(cap_get "$CAP" "$id" .request.target)" "$T1" \
    "capture: the target with its query string"
is "$(cap_get "$CAP" "$id" .request.body)" "$(cat "$T/body")" \
    "capture: the request body"
is "$(cap_get "$CAP" "$id" .request.body_bytes)" 18 "capture: body_bytes"
is "$(cap_get "$CAP" "$id_bin" .request.body_b64)" "$BIN_B64" \
    "capture: a body that is not UTF-8 is recorded as body_b64"
is "$(cap_get "$CAP" "$id_bin" .request.body_bytes)" 11 \
    "capture: ... with its body_bytes"
is "$(capval "$CAP2" "$id2" .request Authorization)" "Bearer s3cret" \
    "--keep-secrets: Authorization recorded as is"

done_testing
