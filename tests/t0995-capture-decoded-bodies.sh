#!/bin/sh
# Response bodies that came gzip- or deflate-encoded (paritytap-capture(5)):
# the capture keeps them decoded when the result is text, so jq reads them,
# with "body_decoded" naming the coding and "body_bytes" the bytes
# received; binary, corrupt and over-limit bodies are kept as received (a
# corrupt one says why); --capture-raw-bodies keeps the bytes received.
# The client gets the primary's exact bytes in every case.

. "$(dirname "$0")/lib.sh"
need curl jq gzip base64 cmp head tail
need_binaries

# The bodies, each encoded as the backends send it.
JSON=$(jq -nc '{user: {id: 42, name: "Zoë", roles: ["admin", "dev"]},
    items: [range(0; 30) | {n: ., tag: "t\(.)"}]}')
printf '%s' "$JSON" >"$T/json"
gzip -nc <"$T/json" >"$T/json.gz"
# Raw deflate, as many servers send "deflate": gzip without its header
# (10 bytes with -n) and trailer (8).
tail -c +11 "$T/json.gz" | head -c -8 >"$T/json.deflate"
# Bytes that are not UTF-8 once decoded.
printf '\211PNG\r\n\032\n\000\377\376binary' >"$T/bin"
gzip -nc <"$T/bin" >"$T/bin.gz"
# A gzip stream broken in its middle.
{ head -c 20 "$T/json.gz"; printf 'XXXXXXXX'; tail -c +29 "$T/json.gz"; } \
    >"$T/corrupt.gz"
# 16 MiB of zeros in a few KB: decoded, it would be far over the 1M limit.
head -c 16777216 /dev/zero | gzip -nc >"$T/bomb.gz"

CT='["Content-Type", "application/json"]'
jq -n --argjson ct "$CT" --arg d "$T" '{routes: [
	{path: "/gz", headers: [$ct, ["Content-Encoding", "gzip"]],
	    body_file: "\($d)/json.gz"},
	{path: "/deflate", headers: [$ct, ["Content-Encoding", "deflate"]],
	    body_file: "\($d)/json.deflate"},
	{path: "/bin", headers: [["Content-Type", "image/png"],
	    ["Content-Encoding", "gzip"]], body_file: "\($d)/bin.gz"},
	{path: "/corrupt", headers: [$ct, ["Content-Encoding", "gzip"]],
	    body_file: "\($d)/corrupt.gz"},
	{path: "/bomb", headers: [["Content-Type", "text/plain"],
	    ["Content-Encoding", "gzip"]], body_file: "\($d)/bomb.gz"}
	]}' >"$T/fixture.json"
start_backend primary "$T/fixture.json"
start_backend candidate "$T/fixture.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

# size FILE: its length in bytes.
size() {
	wc -c <"$1" | tr -d ' '
}

# run_routes TAG: one request per route through the proxy; the client
# must get the primary's exact bytes, Content-Encoding included.
run_routes() {
	for r in gz deflate bin corrupt bomb; do
		req "$1.$r" "$PROXY_URL/$r"
		is "$HTTP_CODE" 200 "$1 /$r: 200"
		eval "id_$r=\$TRACE"
	done
	ok "$1: the client got the exact gzip bytes of /gz" \
	    cmp -s "$T/json.gz" "$T/$1.gz.body"
	ok "$1: the client got the exact deflate bytes of /deflate" \
	    cmp -s "$T/json.deflate" "$T/$1.deflate.body"
	ok "$1: the client got the exact gzip bytes of /bin" \
	    cmp -s "$T/bin.gz" "$T/$1.bin.body"
	ok "$1: the client got the corrupt bytes of /corrupt as sent" \
	    cmp -s "$T/corrupt.gz" "$T/$1.corrupt.body"
	ok "$1: the client got the exact gzip bytes of /bomb" \
	    cmp -s "$T/bomb.gz" "$T/$1.bomb.body"
	is "$(header_of "$T/$1.gz.hdr" Content-Encoding)" gzip \
	    "$1: the client got Content-Encoding: gzip"
}

# --- by default: decoded when it is text --------------------------------

CAP=$T/decoded.jsonl
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" ||
    bail "the proxy did not start"
run_routes dec
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
ok "the capture is valid JSONL" cap_valid "$CAP"

for side in primary candidate; do
	is "$(cap_get "$CAP" "$id_gz" ".responses.$side.body")" "$JSON" \
	    "gzip, $side: the body is the decoded JSON text"
	is "$(cap_get "$CAP" "$id_gz" ".responses.$side.body_decoded")" gzip \
	    "gzip, $side: body_decoded is gzip"
done
is "$(cap_get "$CAP" "$id_gz" \
    '.responses.primary.body | fromjson | .user.name')" "Zoë" \
    "gzip: jq reads a member of the decoded body (fromjson)"
is "$(cap_get "$CAP" "$id_gz" '.responses.primary.body_bytes')" \
    "$(size "$T/json.gz")" "gzip: body_bytes counts the bytes received"
is "$(cap_get "$CAP" "$id_gz" '[.responses.primary | has("body_b64"),
    has("truncated"), has("body_decode_error")] | join(" ")')" \
    "false false false" "gzip: no body_b64, not cut, no error"
is "$(cap_get "$CAP" "$id_gz" \
    '.responses.primary.headers[] | select(.name == "Content-Encoding") |
    .value')" gzip "gzip: the headers still say what was received"
is "$(cap_get "$CAP" "$id_gz" .verdict)" match "gzip: verdict match"

is "$(cap_get "$CAP" "$id_deflate" .responses.primary.body)" "$JSON" \
    "deflate: the body is the decoded JSON text"
is "$(cap_get "$CAP" "$id_deflate" \
    '[.responses.primary.body_decoded, .responses.primary.body_bytes] |
    join(" ")')" "deflate $(size "$T/json.deflate")" \
    "deflate: body_decoded is deflate, body_bytes the bytes received"
is "$(cap_get "$CAP" "$id_deflate" .verdict)" match "deflate: verdict match"

cap_get "$CAP" "$id_bin" .responses.primary.body_b64 | base64 -d \
    >"$T/bin.captured"
ok "binary once decoded: kept as received, the gzip bytes in body_b64" \
    cmp -s "$T/bin.gz" "$T/bin.captured"
is "$(cap_get "$CAP" "$id_bin" '.responses.primary | has("body_decoded")')" \
    false "binary once decoded: no body_decoded"

cap_get "$CAP" "$id_corrupt" .responses.primary.body_b64 | base64 -d \
    >"$T/corrupt.captured"
ok "corrupt gzip: kept as received, in body_b64" \
    cmp -s "$T/corrupt.gz" "$T/corrupt.captured"
like "$(cap_get "$CAP" "$id_corrupt" .responses.primary.body_decode_error)" \
    '^cannot decode gzip body: ' "corrupt gzip: body_decode_error says why"
is "$(cap_get "$CAP" "$id_corrupt" '.responses.primary | has("body_decoded")')" \
    false "corrupt gzip: no body_decoded"

cap_get "$CAP" "$id_bomb" .responses.primary.body_b64 | base64 -d \
    >"$T/bomb.captured"
ok "gzip past the body limit once decoded: kept as received" \
    cmp -s "$T/bomb.gz" "$T/bomb.captured"
is "$(cap_get "$CAP" "$id_bomb" \
    '[.responses.primary | has("body_decoded"), has("body_decode_error"),
    .body_bytes] | join(" ")')" "false false $(size "$T/bomb.gz")" \
    "gzip past the body limit: no body_decoded, no error, bytes received"

# --- a limit the decoded JSON is over -----------------------------------

CAP=$T/small.jsonl
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" \
    --capture-body-limit "$(($(size "$T/json") - 1))" ||
    bail "the proxy did not start"
req small.gz "$PROXY_URL/gz"
id_small=$TRACE
stop_proxy
cap_get "$CAP" "$id_small" .responses.primary.body_b64 | base64 -d \
    >"$T/small.captured"
ok "decoded over --capture-body-limit: the bytes received are kept" \
    cmp -s "$T/json.gz" "$T/small.captured"
is "$(cap_get "$CAP" "$id_small" '.responses.primary | has("body_decoded")')" \
    false "decoded over --capture-body-limit: no body_decoded"

# --- --capture-raw-bodies: as received ----------------------------------

CAP=$T/raw.jsonl
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" \
    --capture-raw-bodies || bail "the proxy did not start"
run_routes raw
stop_proxy
is "$PROXY_STATUS" 0 "--capture-raw-bodies: the proxy exits 0"
cap_get "$CAP" "$id_gz" .responses.primary.body_b64 | base64 -d \
    >"$T/raw.captured"
ok "--capture-raw-bodies: body_b64 holds the exact gzip bytes received" \
    cmp -s "$T/json.gz" "$T/raw.captured"
is "$(gzip -dc <"$T/raw.captured")" "$JSON" \
    "--capture-raw-bodies: ... which decode to the JSON"
is "$(jq -s '[.[].responses[] | select(has("body_decoded"))] | length' \
    "$CAP")" 0 "--capture-raw-bodies: no body_decoded anywhere"
is "$(cap_get "$CAP" "$id_gz" .verdict)" match \
    "--capture-raw-bodies: verdict match"

# --- the config file's key ----------------------------------------------

CAP=$T/conf.jsonl
printf '[proxy]\ncapture-raw-bodies = true\n' >"$T/raw.conf"
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" \
    --config "$T/raw.conf" || bail "the proxy did not start"
req conf.gz "$PROXY_URL/gz"
id_conf=$TRACE
stop_proxy
cap_get "$CAP" "$id_conf" .responses.primary.body_b64 | base64 -d \
    >"$T/conf.captured"
ok "capture-raw-bodies = true in [proxy]: the gzip bytes are kept" \
    cmp -s "$T/json.gz" "$T/conf.captured"

printf '[proxy]\ncapture-raw-bodies = maybe\n' >"$T/bad.conf"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$P" --candidate "$C" \
    --config "$T/bad.conf" >/dev/null 2>"$T/bad.err"
is "$?" 2 "capture-raw-bodies = maybe: exit 2"
like "$(cat "$T/bad.err")" 'bad\.conf:2.*capture-raw-bodies' \
    "capture-raw-bodies = maybe: the error names file, line and key"

done_testing
