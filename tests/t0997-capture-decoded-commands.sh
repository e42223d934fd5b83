#!/bin/sh
# Decoded bodies in every command that writes a capture: each lists
# --capture-raw-bodies; a request body sent gzip-encoded is kept as
# received (replay sends those bytes again) while its response is kept
# decoded; replay --capture-raw-bodies keeps the live candidate's bytes;
# record and sniff keep a gzip answer decoded, or as received with the
# option.
# Sniffing needs root with CAP_NET_RAW; without, that part is skipped.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq gzip base64 cmp timeout
need_binaries

for c in proxy replay sniff import record; do
	"$PARITYTAP" "$c" --help >"$T/$c.help" 2>&1
	contains "$(cat "$T/$c.help")" "--capture-raw-bodies" \
	    "$c --help lists --capture-raw-bodies"
done

JSON=$(jq -nc '{user: {id: 42, name: "Zoë"}, n: [1, 2, 3]}')
printf '%s' "$JSON" >"$T/json"
gzip -nc <"$T/json" >"$T/json.gz"
printf '%s' '{"kind":"upload","rows":[1,2,3]}' | gzip -nc >"$T/upload.gz"

CT='["Content-Type", "application/json"]'
jq -n --argjson ct "$CT" --arg d "$T" '{routes: [
	{path: "/gz", headers: [$ct, ["Content-Encoding", "gzip"]],
	    body_file: "\($d)/json.gz"}
	]}' >"$T/fixture.json"
start_backend primary "$T/fixture.json"
start_backend candidate "$T/fixture.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

# --- a gzip request body: kept as received, replayed as received --------

CAP=$T/proxy.jsonl
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" ||
    bail "the proxy did not start"
req gz "$PROXY_URL/gz"
id_gz=$TRACE
req up -X POST -H 'Content-Type: application/json' \
    -H 'Content-Encoding: gzip' --data-binary "@$T/upload.gz" \
    "$PROXY_URL/upload"
id_up=$TRACE
is "$HTTP_CODE" 200 "gzip upload: 200"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

cap_get "$CAP" "$id_up" .request.body_b64 | base64 -d >"$T/up.captured"
ok "gzip request body: the capture keeps the bytes sent" \
    cmp -s "$T/upload.gz" "$T/up.captured"
is "$(cap_get "$CAP" "$id_up" '.request | has("body_decoded")')" false \
    "gzip request body: no body_decoded on a request"
backend_events primary '.event == "request" and .target == "/upload"' |
    jq -r .body_b64 | base64 -d >"$T/up.primary"
ok "gzip request body: the primary received the exact bytes" \
    cmp -s "$T/upload.gz" "$T/up.primary"
is "$(cap_get "$CAP" "$id_gz" .responses.primary.body_decoded)" gzip \
    "the gzip response of the same run is kept decoded"

"$PARITYTAP" replay -q --candidate "$C" --capture "$T/replay.jsonl" \
    "$CAP" >/dev/null 2>"$T/replay.err"
is "$?" 0 "replay of the capture: exit 0"
backend_events candidate '.event == "request" and .target == "/upload"' |
    jq -r .body_b64 | tail -n 1 | base64 -d >"$T/up.replayed"
is "$(backend_nrequests candidate)" 4 \
    "the candidate got 4 requests: 2 mirrored, 2 replayed"
ok "replay sent the gzip request body byte for byte" \
    cmp -s "$T/upload.gz" "$T/up.replayed"
# The default answer echoes the backend's name and the request's headers:
# /upload differs in values, as recorded.
is "$(jq -r '.request.target + " " + .verdict' "$T/replay.jsonl" | sort |
    tr '\n' ',')" "/gz match,/upload value," \
    "replay: /gz matches, /upload differs in values as recorded"
jq -r 'select(.request.target == "/upload") | .request.body_b64' \
    "$T/replay.jsonl" | base64 -d >"$T/up.replay-cap"
ok "replay's capture: the request body as sent, gzip" \
    cmp -s "$T/upload.gz" "$T/up.replay-cap"

# --- replay --capture-raw-bodies ----------------------------------------

"$PARITYTAP" replay -q --candidate "$C" --capture "$T/replay-raw.jsonl" \
    --capture-raw-bodies "$CAP" >/dev/null 2>&1
is "$?" 0 "replay --capture-raw-bodies: exit 0"
jq -r 'select(.request.target == "/gz") | .responses.candidate.body_b64' \
    "$T/replay-raw.jsonl" | base64 -d >"$T/gz.replay-raw"
ok "replay --capture-raw-bodies: the live candidate's gzip bytes" \
    cmp -s "$T/json.gz" "$T/gz.replay-raw"
is "$(jq -r 'select(.request.target == "/gz") |
    [.responses.primary.body_decoded, .responses.primary.body] | join(" ")' \
    "$T/replay-raw.jsonl")" "gzip $JSON" \
    "replay --capture-raw-bodies: the recorded primary stays as read (decoded)"

# --- record ---------------------------------------------------------------

"$PARITYTAP" record -o "$T/rec.jsonl" -- \
    curl -s -o "$T/rec.body" "$P/gz" 2>"$T/rec.err"
is "$?" 0 "record: exit 0"
ok "record: curl got the exact gzip bytes" cmp -s "$T/json.gz" "$T/rec.body"
is "$(jq -r 'select(.request.target == "/gz") |
    [.responses.primary.body_decoded, .responses.primary.body] | join(" ")' \
    "$T/rec.jsonl")" "gzip $JSON" "record: the gzip answer is kept decoded"
"$PARITYTAP" record --capture-raw-bodies -o "$T/rec-raw.jsonl" -- \
    curl -s -o /dev/null "$P/gz" 2>"$T/rec-raw.err"
is "$?" 0 "record --capture-raw-bodies: exit 0"
jq -r 'select(.request.target == "/gz") | .responses.primary.body_b64' \
    "$T/rec-raw.jsonl" | base64 -d >"$T/gz.rec-raw"
ok "record --capture-raw-bodies: the gzip bytes curl received" \
    cmp -s "$T/json.gz" "$T/gz.rec-raw"

# --- sniff ---------------------------------------------------------------

need_capture
PPORT=$(backend_port primary)

# sniff_gz TAG ARGS...: one request to the primary under sniff; the line's
# id in $SID.
sniff_gz() {
	_tag=$1
	shift
	_before=$(backend_nrequests candidate)
	start_sniff --port "$PPORT" --candidate "$C" \
	    --capture "$T/sniff-$_tag.jsonl" "$@" ||
	    bail "sniff did not start"
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o "$T/s-$_tag.body" \
	    "$P/gz" || bail "curl to the primary failed"
	ok "sniff $_tag: the candidate got the request" \
	    wait_for 30 backend_nrequests_ge candidate $((_before + 1))
	stop_sniff
	is "$SNIFF_STATUS" 0 "sniff $_tag: exit 0"
}

sniff_gz dec
is "$(jq -r 'select(.request.target == "/gz") |
    [.responses.primary.body_decoded, .responses.primary.body] | join(" ")' \
    "$T/sniff-dec.jsonl")" "gzip $JSON" \
    "sniff: the primary's gzip answer is kept decoded"
is "$(jq -r 'select(.request.target == "/gz") | .verdict' \
    "$T/sniff-dec.jsonl")" match "sniff: verdict match"

sniff_gz raw --capture-raw-bodies
jq -r 'select(.request.target == "/gz") | .responses.primary.body_b64' \
    "$T/sniff-raw.jsonl" | base64 -d >"$T/gz.sniff-raw"
ok "sniff --capture-raw-bodies: the gzip bytes seen on the wire" \
    cmp -s "$T/json.gz" "$T/gz.sniff-raw"

done_testing
