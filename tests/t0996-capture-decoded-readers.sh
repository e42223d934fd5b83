#!/bin/sh
# A capture that keeps gzip and deflate bodies decoded reads back as one
# that keeps the bytes received: replay against the same backend finds no
# divergence, rejudge compares the decoded bodies (not decoding them
# twice), export --format har gives the same responses as from a
# --capture-raw-bodies capture, and export --format pcap encodes such a
# body again, so import reads the JSON back.

. "$(dirname "$0")/lib.sh"
need curl jq gzip base64 cmp head tail
need_binaries

JSON=$(jq -nc '{user: {id: 42, name: "Zoë"}, t: 1,
    items: [range(0; 30) | {n: ., tag: "t\(.)"}]}')
printf '%s' "$JSON" >"$T/json"
gzip -nc <"$T/json" >"$T/json.gz"
tail -c +11 "$T/json.gz" | head -c -8 >"$T/json.deflate"
# The candidate's /drift differs in one value.
printf '%s' "$JSON" | jq -c '.t = 2' | gzip -nc >"$T/drift.gz"
printf '\211PNG\r\n\032\n\000\377\376binary' | gzip -nc >"$T/bin.gz"
{ head -c 20 "$T/json.gz"; printf 'XXXXXXXX'; tail -c +29 "$T/json.gz"; } \
    >"$T/corrupt.gz"

CT='["Content-Type", "application/json"]'
GZ='["Content-Encoding", "gzip"]'
# fixture DRIFT-FILE: the backends' routes, /drift answering that file.
fixture() {
	jq -n --argjson ct "$CT" --argjson gz "$GZ" --arg d "$T" \
	    --arg drift "$1" '{routes: [
	{path: "/gz", headers: [$ct, $gz], body_file: "\($d)/json.gz"},
	{path: "/deflate", headers: [$ct, ["Content-Encoding", "deflate"]],
	    body_file: "\($d)/json.deflate"},
	{path: "/drift", headers: [$ct, $gz], body_file: $drift},
	{path: "/bin", headers: [["Content-Type", "image/png"], $gz],
	    body_file: "\($d)/bin.gz"},
	{path: "/corrupt", headers: [$ct, $gz],
	    body_file: "\($d)/corrupt.gz"}
	]}'
}
fixture "$T/json.gz" >"$T/primary.json"
fixture "$T/drift.gz" >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

# record CAPTURE PROXY-ARGS...: one request per route through a proxy.
record() {
	_cap=$1
	shift
	start_proxy --primary "$P" --candidate "$C" --capture "$_cap" "$@" ||
	    bail "the proxy did not start"
	for r in gz deflate drift bin corrupt; do
		req "rec.$r" "$PROXY_URL/$r"
	done
	stop_proxy
	[ "$PROXY_STATUS" = 0 ] || bail "the proxy exited $PROXY_STATUS"
}
DEC=$T/decoded.jsonl
RAW=$T/raw.jsonl
record "$DEC"
record "$RAW" --capture-raw-bodies

# by TARGET CAPTURE FILTER
by() {
	jq -r --arg t "$1" "select(.request.target == \$t) | $3" "$2"
}

# What the rest reads: bodies decoded in one capture, not in the other.
is "$(by /gz "$DEC" '.responses.primary | [.body_decoded, .body] | join(" ")')" \
    "gzip $JSON" "the capture keeps /gz decoded"
is "$(by /gz "$RAW" '.responses.primary | has("body_decoded")')" false \
    "the --capture-raw-bodies capture keeps /gz as received"
is "$(jq -r '.verdict' "$DEC" | sort | tr '\n' ' ')" \
    "body match match match value " \
    "recorded verdicts: /drift value, /corrupt body, the others match"

# --- replay against the same backend: no divergence ---------------------

# /corrupt is a body divergence by itself (neither side decodes).
jq -c 'select(.request.target != "/corrupt")' "$DEC" >"$T/decoded-ok.jsonl"
"$PARITYTAP" replay -q --candidate "$P" --capture "$T/replayed.jsonl" \
    "$T/decoded-ok.jsonl" >/dev/null 2>"$T/replay.err"
is "$?" 0 "replay of the decoded capture against the primary: exit 0"
is "$(jq -r .verdict "$T/replayed.jsonl" | sort | uniq -c | tr -s ' ' |
    sed 's/^ //')" "4 match" \
    "replay: the recorded (decoded) primary matches the live gzip"
is "$(by /gz "$T/replayed.jsonl" \
    '[.responses.primary.body_decoded, .responses.candidate.body_decoded,
    (.responses.primary.body == .responses.candidate.body)] | join(" ")')" \
    "gzip gzip true" "replay's capture: both sides decoded, the same text"
is "$(by /gz "$T/replayed.jsonl" .responses.primary.body_bytes)" \
    "$(wc -c <"$T/json.gz" | tr -d ' ')" \
    "replay's capture: the recorded side still counts the bytes received"
"$PARITYTAP" replay -q --candidate "$C" "$T/decoded-ok.jsonl" >/dev/null 2>&1
is "$?" 0 "replay against the candidate: exit 0 (a value drift only)"
"$PARITYTAP" replay -q --candidate "$C" --fail-on value \
    "$T/decoded-ok.jsonl" >/dev/null 2>&1
is "$?" 1 "replay with --fail-on value: exit 1 (/drift diverges)"

# --- rejudge: the decoded bodies compared under new rules ---------------

"$PARITYTAP" rejudge -q --ignore '$.t' -o "$T/rejudged.jsonl" "$DEC" \
    2>"$T/rejudge.err"
is "$?" 0 "rejudge --ignore '\$.t': exit 0"
is "$(by /drift "$T/rejudged.jsonl" .verdict)" match \
    "rejudge: /drift matches once \$.t is ignored"
is "$(by /gz "$T/rejudged.jsonl" .verdict)" match "rejudge: /gz still matches"
is "$(by /drift "$T/rejudged.jsonl" .responses.primary.body_decoded)" gzip \
    "rejudge: the line keeps body_decoded"

# --- export --format har: the same as from the bytes received -----------

"$PARITYTAP" export -q --format har -o "$T/dec.har" "$DEC"
is "$?" 0 "export --format har of the decoded capture: exit 0"
"$PARITYTAP" export -q --format har -o "$T/raw.har" "$RAW"
# responses HAR: the responses by URL path, latency left out.
responses() {
	jq -S '[.log.entries[] | {path: (.request.url | sub("^http://[^/]*";
	    "")), response: (.response | del(._ms)),
	    candidate: (._paritytap.responses.candidate | del(._ms))}] |
	    sort_by(.path)' "$1"
}
responses "$T/dec.har" >"$T/dec.resp"
responses "$T/raw.har" >"$T/raw.resp"
ok "HAR: every response as from the --capture-raw-bodies capture" \
    cmp -s "$T/raw.resp" "$T/dec.resp"
is "$(jq -r '.[] | select(.path == "/gz") | .response |
    [.content.text == $j, .content.size, .bodySize,
    .content.compression == .content.size - .bodySize] | join(" ")' \
    --arg j "$JSON" "$T/dec.resp")" \
    "true $(wc -c <"$T/json" | tr -d ' ') $(wc -c <"$T/json.gz" | tr -d ' ') true" \
    "HAR /gz: the text, content.size decoded, bodySize as received"

# --- export --format pcap, then import ----------------------------------

"$PARITYTAP" export -q --format pcap -o "$T/dec.pcap" "$DEC"
is "$?" 0 "export --format pcap of the decoded capture: exit 0"
"$PARITYTAP" import -q -o "$T/imported.jsonl" "$T/dec.pcap" 2>"$T/import.err"
is "$?" 0 "import of that pcap: exit 0"
# imported TARGET FILTER: the response of the first imported exchange of
# TARGET (each side's connection is an exchange of its own; both sides
# sent the same /gz and /deflate).
imported() {
	jq -r --arg t "$1" 'select(.request.target == $t) |
	    .responses.primary | '"$2" "$T/imported.jsonl" | head -n 1
}
is "$(imported /gz '[.body_decoded, .body] | join(" ")')" "gzip $JSON" \
    "pcap then import: /gz was gzip on the wire again, and decodes to the JSON"
is "$(imported /deflate '[.body_decoded, .body] | join(" ")')" \
    "deflate $JSON" "pcap then import: /deflate the same"
"$PARITYTAP" import -q --capture-raw-bodies -o "$T/imported-raw.jsonl" \
    "$T/dec.pcap" 2>/dev/null
is "$(jq -r 'select(.request.target == "/gz") | .responses.primary.body_b64' \
    "$T/imported-raw.jsonl" | head -n 1 | base64 -d | gzip -dc)" "$JSON" \
    "import --capture-raw-bodies: the gzip bytes on the wire, gzip"

done_testing
