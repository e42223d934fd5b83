#!/bin/sh
# paritytap export --format har (DESIGN §9): captures as one HAR 1.2
# document, checked with jq: one entry per exchange, the request with an
# absolute URL, query string and post data, the primary's response with
# its content decoded (base64 when it is not text), and the verdict, the
# diffs and the other sides under _paritytap.  Bad input: a malformed or
# missing capture, an unknown format, a torn last line.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-export.sh"
need curl jq base64 cmp
need_binaries

CAPTURES=$top_srcdir/captures
LC_ALL=C
export LC_ALL

export_record

# ---------------------------------------------------------------------------
# HAR.

H=$T/mine.har
"$PARITYTAP" export -o "$H" "$CAP" 2>"$T/har.err"
is "$?" 0 "recorded capture -> HAR: exit 0"
like "$(cat "$T/har.err")" "^paritytap export: 10 exchanges, 10 entries -> $H\$" \
    "HAR: the summary line (format inferred from .har)"
like "$(cat "$T/har.err")" '2 bodies were cut short' "HAR: the cut bodies counted"
ok "HAR: valid JSON" sh -c "jq -e . '$H' >/dev/null"
is "$(jq -r '.log.version, .log.creator.name' "$H" | tr '\n' ' ')" \
    "1.2 paritytap " "HAR: log.version 1.2, creator paritytap"
is "$(jq -r '.log.creator.version' "$H")" \
    "$("$PARITYTAP" --version | cut -d' ' -f2)" "HAR: creator.version"
is "$(jq '.log.entries | length' "$H")" 10 "HAR: 10 entries"
is "$(jq -c '[.log.entries[] | ._paritytap.id]' "$H")" \
    "$(jq -sc 'map(.id)' "$CAP")" "HAR: the entries in capture order, by id"
is "$(jq -c '[.log.entries[] | .startedDateTime]' "$H")" \
    "$(jq -sc 'map(.ts)' "$CAP")" "HAR: startedDateTime is the exchange's ts"
is "$(jq -c '[.log.entries[] | [.time, .timings.wait, .timings.send, .timings.receive]]' "$H")" \
    "$(jq -sc 'map([.responses.primary.ms, .responses.primary.ms, 0, 0])' "$CAP")" \
    "HAR: time and timings.wait are the primary's ms"
is "$(jq -c '[.log.entries[] | [.response.status, ._paritytap.verdict]]' "$H")" \
    "$(jq -sc 'map([.responses.primary.status, .verdict])' "$CAP")" \
    "HAR: response.status is the primary's, _paritytap.verdict the capture's"
is "$(jq -c '[.log.entries[] | ._paritytap.diffs]' "$H")" \
    "$(jq -sc 'map(.diffs)' "$CAP")" "HAR: _paritytap.diffs as captured"

# har_entry TARGET FILTER
har_entry() {
	jq -r --arg t "$1" ".log.entries[] | select(.request.url |
	    endswith(\$t)) | select(.request.method != \"HEAD\") | $2" "$H"
}
port=$(jq -r 'select(.request.target == "/bin") | .request.headers[] |
    select(.name == "Host") | .value' "$CAP")
is "$(har_entry /bin .request.url)" "http://$port/bin" \
    "HAR: request.url is absolute, from the Host header"
is "$(har_entry /bin '[.request.httpVersion, .request.headersSize, .response.headersSize] | join(" ")')" \
    "HTTP/1.1 -1 -1" "HAR: httpVersion, headersSize -1"
is "$(har_entry /bin .response.content.encoding)" base64 \
    "HAR: a binary body is base64"
har_entry /bin .response.content.text | base64 -d >"$T/har-bin.got"
ok "HAR: the base64 body decodes to the original bytes" \
    cmp -s "$T/bin.dat" "$T/har-bin.got"
bin_len=$(wc -c <"$T/bin.dat" | tr -d ' ')
is "$(har_entry /bin '.response.content.size, .response.bodySize' | tr '\n' ' ')" \
    "$bin_len $bin_len " "HAR: content.size and bodySize of the binary body"
is "$(har_entry /upload '.request.postData.mimeType, .request.postData._encoding, .request.bodySize' |
    tr '\n' ' ')" "application/octet-stream base64 2000 " \
    "HAR: a binary request body: postData with its mimeType, base64"
har_entry /upload .request.postData.text | base64 -d >"$T/har-up.got"
ok "HAR: the request body decodes to the bytes sent" \
    cmp -s "$T/upload.dat" "$T/har-up.got"
is "$(jq -c --arg t "/items?q=caf%C3%A9+au+lait&page=2&flag" \
    '.log.entries[] | select(.request.url | endswith($t)) | .request.queryString' "$H")" \
    '[{"name":"q","value":"café au lait"},{"name":"page","value":"2"},{"name":"flag","value":""}]' \
    "HAR: queryString decoded"
is "$(har_entry /chunked '.response.content.text')" "$B_JSON" \
    "HAR: the chunked body as text"
is "$(har_entry /chunked '.response.content.mimeType')" application/json \
    "HAR: content.mimeType from Content-Type"
is "$(har_entry /gzip '.response.content.text')" "$B_JSON" \
    "HAR: the gzip body decoded"
is "$(har_entry /gzip '.response.content.size - .response.bodySize == .response.content.compression')" \
    true "HAR: content.compression is the bytes gzip saved"
is "$(har_entry /moved '[.response.status, .response.statusText, .response.redirectURL] | join(" ")')" \
    "302 Found /v2/items" "HAR: a redirect's status, statusText and redirectURL"
is "$(har_entry /long '[.response.content._truncated, (.response.content.text | length), .response.bodySize] | join(" ")')" \
    "true 4096 $(wc -c <"$T/long.txt" | tr -d ' ')" "HAR: a cut body: the kept text, bodySize the whole"
is "$(har_entry /cerr '._paritytap | [.verdict, .responses.candidate.status, .responses.candidate._error] | join(" ")')" \
    "candidate_error 0 bad_response" \
    "HAR: the candidate's failure under _paritytap.responses.candidate"
is "$(har_entry /cerr '._paritytap.responses | keys | join(" ")')" candidate \
    "HAR: _paritytap.responses holds the sides other than the primary"
is "$(har_entry /chunked '._paritytap | [.route, .source] | join(" ")')" \
    "GET /chunked proxy" "HAR: _paritytap route and source"

"$PARITYTAP" export --format har "$CAPTURES/validator.jsonl" \
    >"$T/validator.har" 2>/dev/null
is "$(jq -r '.log.entries[] | ._paritytap.verdict' "$T/validator.har" |
    sort | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ',')" \
    "1 match,5 shape," "validator HAR: five shape verdicts, one match"
is "$(jq -r '.log.entries[0]._paritytap.diffs | map(.path + " " + .kind) | join(",")' \
    "$T/validator.har")" \
    "$(jq -rs '.[0].diffs | map(.path + " " + .kind) | join(",")' \
    "$CAPTURES/validator.jsonl")" "validator HAR: the first entry's diffs"
is "$(jq -r '.log.entries[0]._paritytap.responses.candidate.content.text' \
    "$T/validator.har")" \
    "$(jq -rs '.[0].responses.candidate.body' "$CAPTURES/validator.jsonl")" \
    "validator HAR: the candidate's body under _paritytap"

# A third side: a capture whose exchanges have a secondary response too.
jq -c '.responses.secondary = .responses.primary' \
    "$CAPTURES/validator.jsonl" >"$T/three.jsonl"
"$PARITYTAP" export -q -o "$T/three.har" "$T/three.jsonl"
is "$(jq -r '.log.entries[0]._paritytap.responses | keys | join(" ")' \
    "$T/three.har")" "candidate secondary" \
    "secondary: under _paritytap.responses with the candidate"

# ---------------------------------------------------------------------------
# Bad input.

printf '%s\n' "$(head -n 1 "$CAPTURES/clean.jsonl")" '{"paritytap":1,"id":' \
    "$(sed -n 2p "$CAPTURES/clean.jsonl")" >"$T/bad.jsonl"
"$PARITYTAP" export -o "$T/bad.pcap" "$T/bad.jsonl" 2>"$T/bad.err"
is "$?" 2 "a malformed capture line: exit 2"
like "$(cat "$T/bad.err")" "^paritytap export: $T/bad.jsonl:2: invalid JSON" \
    "a malformed capture line: the message names file:line"
ok "a malformed capture line: no output file is left" test ! -e "$T/bad.pcap"
is "$(ls "$T" | grep -c '^bad\.pcap\.')" 0 \
    "a malformed capture line: no temporary file is left"

"$PARITYTAP" export --format pcap -o "$T/x.pcap" "$T/missing.jsonl" \
    2>"$T/missing.err"
is "$?" 2 "a missing capture: exit 2"
like "$(cat "$T/missing.err")" "$T/missing.jsonl: No such file" \
    "a missing capture: the message names the file"

"$PARITYTAP" export --format pcapng -o "$T/x.pcap" "$CAPTURES/clean.jsonl" \
    2>"$T/fmt.err"
is "$?" 2 "--format pcapng: exit 2"
like "$(cat "$T/fmt.err")" "--format: 'pcapng' is not pcap or har" \
    "--format pcapng: the message names the value"

"$PARITYTAP" export -o "$T/x.txt" "$CAPTURES/clean.jsonl" 2>"$T/nofmt.err"
is "$?" 2 "no --format and -o x.txt: exit 2"
like "$(cat "$T/nofmt.err")" "no --format given" \
    "no --format: the message says so"

"$PARITYTAP" export --format har -o "$T/nodir/x.har" "$CAPTURES/clean.jsonl" \
    2>"$T/nodir.err"
is "$?" 2 "-o in a missing directory: exit 2"
like "$(cat "$T/nodir.err")" "--output $T/nodir/x.har: No such file" \
    "-o in a missing directory: the message names it"

# A torn last line is skipped with a warning, never fatal.
{ cat "$CAPTURES/clean.jsonl"; printf '{"paritytap":1,"id":"x'; } \
    >"$T/torn.jsonl"
"$PARITYTAP" export -o "$T/torn.har" "$T/torn.jsonl" 2>"$T/torn.err"
is "$?" 0 "a torn last line: exit 0"
like "$(cat "$T/torn.err")" "torn.jsonl:7: skipping torn last line" \
    "a torn last line: a warning names it"
is "$(jq '.log.entries | length' "$T/torn.har")" 6 \
    "a torn last line: the 6 whole exchanges exported"

"$PARITYTAP" export -q -o "$T/q.har" "$CAPTURES/clean.jsonl" 2>"$T/q.err"
is "$(cat "$T/q.err")" "" "-q: no summary line"

done_testing
