#!/bin/sh
# paritytap export (DESIGN §9): captures as a pcap of synthesized TCP
# streams that tshark reads like a recording of the wire (every request
# once per side, every response, one conversation per side, no malformed
# packet, no bad checksum, the bodies byte for byte with a Content-Length
# that matches) and as HAR 1.2 (entries, the primary's response, the other
# sides and the verdict under _paritytap).  The sample captures and one
# recorded here with the proxy: a chunked response, a gzip one, binary
# bodies both ways, a body cut by --capture-body-limit, a candidate that
# does not speak HTTP, a redirect, a query string, a HEAD request.

. "$(dirname "$0")/lib.sh"
need curl jq tshark xxd base64 gzip cmp
need_binaries

CAPTURES=$top_srcdir/captures
LC_ALL=C
export LC_ALL

# tshark prints a warning when run as root; keep only its output.
tsh() {
	tshark "$@" 2>/dev/null
}

# stream_hex PCAP STREAM DIR: the bytes of one TCP stream as hex, DIR c
# (the client's) or s (the server's), from tshark's raw follow output.
stream_hex() {
	tsh -r "$1" -q -z "follow,tcp,raw,$2" | awk -v dir="$3" '
		/^=+$/ { n++; next }
		n != 1 || /^(Follow|Filter|Node [01]):/ { next }
		/^\t/ { if (dir == "s") { sub(/^\t/, ""); printf "%s", $0 } next }
		{ if (dir == "c") printf "%s", $0 }
		END { print "" }'
}

# split_message HEX HEAD BODY: a message's bytes (hex) into its header
# block (text, CR removed) and its body (bytes), at the first blank line.
split_message() {
	printf '%s\n' "$1" | awk '{
		for (i = 1; i + 7 <= length($0); i += 2)
			if (substr($0, i, 8) == "0d0a0d0a")
				break
		print substr($0, 1, i - 1) >"/dev/stderr"
		print substr($0, i + 8)
	}' 2>"$T/split.head" | xxd -r -p >"$3"
	xxd -r -p <"$T/split.head" | tr -d '\r' >"$2"
}

# stream_of PCAP URI SERVER: the tcp.stream whose request has that URI,
# sent to that server address.
stream_of() {
	tsh -r "$1" -Y "http.request.uri == \"$2\" && ip.dst == $3" \
	    -T fields -e tcp.stream | head -n 1
}

# ---------------------------------------------------------------------------
# The sample captures.

"$PARITYTAP" export -o "$T/validator.pcap" "$CAPTURES/validator.jsonl" \
    2>"$T/validator.err"
is "$?" 0 "validator.jsonl -> pcap: exit 0"
is "$(cat "$T/validator.err")" \
    "export: 6 exchanges, 12 streams -> $T/validator.pcap" \
    "validator.jsonl -> pcap: the summary line (format inferred from .pcap)"
is "$(tsh -r "$T/validator.pcap" -Y http.request -T fields \
    -e http.request.method -e http.request.uri | sort | uniq -c |
    tr -s ' ' | sed 's/^ //')" "12 POST	/v1/validate" \
    "validator pcap: 12 requests, POST /v1/validate once per side"
is "$(tsh -r "$T/validator.pcap" -Y 'http.request && ip.dst == 198.51.100.1' |
    wc -l | tr -d ' ')" 6 "validator pcap: 6 requests to the primary's address"
is "$(tsh -r "$T/validator.pcap" -Y 'http.request && ip.dst == 198.51.100.2' |
    wc -l | tr -d ' ')" 6 "validator pcap: 6 to the candidate's address"
want=$(jq -r '.responses[] | .status' "$CAPTURES/validator.jsonl" | sort |
    uniq -c)
is "$(tsh -r "$T/validator.pcap" -Y http.response -T fields \
    -e http.response.code | sort | uniq -c)" "$want" \
    "validator pcap: 12 responses, the captured statuses"
is "$(tsh -r "$T/validator.pcap" -q -z conv,tcp | grep -c '<->')" 12 \
    "validator pcap: 12 TCP conversations"
is "$(tsh -r "$T/validator.pcap" -o tcp.check_checksum:TRUE \
    -o ip.check_checksum:TRUE -Y \
    '_ws.malformed || tcp.checksum.status == Bad || ip.checksum.status == Bad || _ws.expert.severity >= warning')" \
    "" "validator pcap: no malformed packet, bad checksum or TCP warning"
is "$(tsh -r "$T/validator.pcap" -o tcp.check_checksum:TRUE \
    -o ip.check_checksum:TRUE -T fields -e tcp.checksum.status \
    -e ip.checksum.status | sort -u)" "1	1" \
    "validator pcap: every IP and TCP checksum verified good"
follow=$(tsh -r "$T/validator.pcap" -q -z follow,tcp,ascii,0)
first_body=$(jq -r 'select(input_line_number == 1) | .request.body' \
    "$CAPTURES/validator.jsonl")
first_resp=$(jq -r 'select(input_line_number == 1) | .responses.primary.body' \
    "$CAPTURES/validator.jsonl")
contains "$follow" "POST /v1/validate HTTP/1.1" \
    "follow stream 0: the first request line"
contains "$follow" "$first_body" "follow stream 0: the first request's body"
contains "$follow" "HTTP/1.1 422 Unprocessable Entity" \
    "follow stream 0: the primary's status line with its reason"
contains "$follow" "$first_resp" "follow stream 0: the primary's body"
"$PARITYTAP" export -q -o "$T/validator2.pcap" "$CAPTURES/validator.jsonl"
ok "the same capture gives the same pcap, byte for byte" \
    cmp -s "$T/validator.pcap" "$T/validator2.pcap"

"$PARITYTAP" export --format pcap "$CAPTURES/session-log.jsonl" \
    "$CAPTURES/clean.jsonl" >"$T/two.pcap" 2>"$T/two.err"
is "$?" 0 "two captures -> pcap on standard output: exit 0"
is "$(cat "$T/two.err")" "export: 10 exchanges, 20 streams -> stdout" \
    "two captures: the summary names stdout"
is "$(tsh -r "$T/two.pcap" -Y http.request -T fields -e http.request.uri |
    sort | uniq -c | tr -s ' ' | sed 's/^ //')" \
    "$(printf '8 /v1/iterate\n12 /v1/validate')" \
    "two captures: every request once per side"
is "$(tsh -r "$T/two.pcap" -Y http.response | wc -l | tr -d ' ')" 20 \
    "two captures: 20 responses"
is "$(tsh -r "$T/two.pcap" -q -z conv,tcp | grep -c '<->')" 20 \
    "two captures: 20 conversations"

gzip -c "$CAPTURES/clean.jsonl" >"$T/clean.jsonl.gz"
"$PARITYTAP" export -q --format pcap - <"$T/clean.jsonl.gz" | \
    tsh -r - -Y http.response -T fields -e http.response.code >"$T/gz.codes"
is "$(wc -l <"$T/gz.codes" | tr -d ' ')" 12 \
    "a .jsonl.gz on standard input, the pcap piped to tshark: 12 responses"

# ---------------------------------------------------------------------------
# A capture recorded here.

head -c 3000 /dev/urandom >"$T/bin.dat"
printf '\000\377\376binary\r\n\000' >>"$T/bin.dat"
head -c 2000 /dev/urandom >"$T/upload.dat"
awk 'BEGIN { for (i = 0; i < 400; i++) printf "line %04d of a long text body\n", i }' \
    >"$T/long.txt"
head -c 3000 "$T/long.txt" >"$T/short.txt"
B_JSON=$(jq -nc '{items: [range(0; 30) | {id: ., name: "item \(.)"}]}')
CT='[["Content-Type", "application/json"]]'
jq -n --arg j "$B_JSON" --arg bin "$T/bin.dat" --arg long "$T/long.txt" \
    --argjson ct "$CT" '{routes: [
	{path: "/chunked", chunked: true, status: 200, headers: $ct, body: $j},
	{path: "/gzip", gzip: true, status: 200, headers: $ct, body: $j},
	{path: "/bin", status: 200,
	    headers: [["Content-Type", "application/octet-stream"]],
	    body_file: $bin},
	{path: "/long", status: 200, headers: [["Content-Type", "text/plain"]],
	    body_file: $long},
	{path: "/cerr", status: 200, headers: $ct, body: $j},
	{path: "/upload", status: 201, headers: $ct, body: "{\"ok\":true}"},
	{path: "/chunkedup", status: 201, headers: $ct, body: "{\"ok\":true}"},
	{path: "/moved", status: 302, headers: [["Location", "/v2/items"]],
	    body: ""},
	{path: "/items", status: 200, headers: $ct, body: $j}
	]}' >"$T/primary.json"
jq '.routes |= map(if .path == "/cerr" then
	{path: "/cerr", raw: "NOT HTTP AT ALL\r\n\r\n"}
    elif .path == "/chunked" then del(.chunked) else . end)' \
    "$T/primary.json" >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --capture-body-limit 4096 || bail "the proxy did not start"
req chunked "$PROXY_URL/chunked"
req gzip --compressed "$PROXY_URL/gzip"
req bin "$PROXY_URL/bin"
req long "$PROXY_URL/long"
req cerr "$PROXY_URL/cerr"
req upload -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/upload.dat" "$PROXY_URL/upload"
req chunkedup -X POST -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: text/plain' --data-binary "@$T/short.txt" \
    "$PROXY_URL/chunkedup"
req moved "$PROXY_URL/moved"
req items "$PROXY_URL/items?q=caf%C3%A9+au+lait&page=2&flag"
req head -I "$PROXY_URL/gzip"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy recorded 10 exchanges and exited 0"
is "$(cap_nlines "$CAP")" 10 "the capture has 10 lines"
is "$(jq -r 'select(.request.target == "/chunkedup") | .request.headers[] |
    select(.name == "Transfer-Encoding") | .value' "$CAP")" chunked \
    "the /chunkedup request was chunked"
is "$(jq -r 'select(.request.target == "/long") | .responses.primary.truncated' \
    "$CAP")" true "the /long body is cut in the capture (--capture-body-limit)"
is "$(jq -r 'select(.request.target == "/cerr") | .responses.candidate.status' \
    "$CAP")" 0 "the /cerr candidate failed (status 0) in the capture"

P=$T/mine.pcap
"$PARITYTAP" export --format pcap -o "$P" "$CAP" 2>"$T/mine.err"
is "$?" 0 "recorded capture -> pcap: exit 0"
like "$(cat "$T/mine.err")" \
    '^paritytap export: 2 bodies were cut short in the capture; each is written as the part kept, with a Content-Length of its size$' \
    "recorded capture: one warning counts the 2 cut bodies"
like "$(cat "$T/mine.err")" "^export: 10 exchanges, 20 streams -> $P\$" \
    "recorded capture: the summary line"
is "$(tsh -r "$P" -Y http.request | wc -l | tr -d ' ')" 20 \
    "recorded pcap: 20 requests (10 exchanges, 2 sides)"
is "$(tsh -r "$P" -Y http.request -T fields -e http.request.method \
    -e http.request.uri | sort | uniq -c | tr -s ' ' | sed 's/^ //')" \
    "$(printf '%s\n' '2 GET	/bin' '2 GET	/cerr' '2 GET	/chunked' \
    '2 GET	/gzip' '2 GET	/items?q=caf%C3%A9+au+lait&page=2&flag' \
    '2 GET	/long' '2 GET	/moved' '2 HEAD	/gzip' '2 POST	/chunkedup' \
    '2 POST	/upload')" \
    "recorded pcap: each method and target once per side"
is "$(tsh -r "$P" -Y http.response | wc -l | tr -d ' ')" 19 \
    "recorded pcap: 19 responses (the failed candidate has none)"
is "$(tsh -r "$P" -q -z conv,tcp | grep -c '<->')" 20 \
    "recorded pcap: 20 conversations"
is "$(tsh -r "$P" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -Y \
    '_ws.malformed || tcp.checksum.status == Bad || ip.checksum.status == Bad')" \
    "" "recorded pcap: no malformed packet, no bad checksum"

# The failed candidate: the request, then a reset from its address.
s=$(stream_of "$P" /cerr 198.51.100.2)
is "$(tsh -r "$P" -Y "tcp.stream == $s && http.response" | wc -l | tr -d ' ')" \
    0 "failed candidate: no response on its stream"
is "$(tsh -r "$P" -Y "tcp.stream == $s && tcp.flags.reset == 1" -T fields \
    -e ip.src)" 198.51.100.2 "failed candidate: its server resets the stream"
s=$(stream_of "$P" /cerr 198.51.100.1)
is "$(tsh -r "$P" -Y "tcp.stream == $s && tcp.flags.fin == 1" | wc -l |
    tr -d ' ')" 2 "the primary's stream of the same exchange ends with two FINs"

# The chunked response: dechunked, one Content-Length.
s=$(stream_of "$P" /chunked 198.51.100.1)
split_message "$(stream_hex "$P" "$s" s)" "$T/chunked.head" "$T/chunked.got"
printf '%s' "$B_JSON" >"$T/chunked.want"
ok "chunked response: the body is the dechunked bytes" \
    cmp -s "$T/chunked.want" "$T/chunked.got"
hdrs=$(cat "$T/chunked.head")
unlike "$hdrs" '^Transfer-Encoding' "chunked response: no Transfer-Encoding"
like "$hdrs" "^Content-Length: ${#B_JSON}\$" \
    "chunked response: Content-Length ${#B_JSON}, the body's size"

# The gzip response: bytes as received, Content-Encoding kept.
s=$(stream_of "$P" /gzip 198.51.100.1)
is "$(tsh -r "$P" -Y "tcp.stream == $s && http.response" -T fields \
    -e http.content_encoding)" gzip "gzip response: Content-Encoding kept"
split_message "$(stream_hex "$P" "$s" s)" "$T/gzip.head" "$T/gzip.body"
gzip -dc <"$T/gzip.body" >"$T/gzip.got" 2>/dev/null
ok "gzip response: the body is the gzip stream of the JSON" \
    cmp -s "$T/chunked.want" "$T/gzip.got"

# HEAD: no body, the announced length kept.
s=$(tsh -r "$P" -Y 'http.request.method == "HEAD" && ip.dst == 198.51.100.1' \
    -T fields -e tcp.stream)
split_message "$(stream_hex "$P" "$s" s)" "$T/head.head" "$T/head.body"
is "$(wc -c <"$T/head.body" | tr -d ' ')" 0 "HEAD: no body written"
like "$(cat "$T/head.head")" '^Content-Length: [1-9][0-9]*$' \
    "HEAD: the response keeps its Content-Length"

# Binary bodies, both ways.
s=$(stream_of "$P" /bin 198.51.100.2)
split_message "$(stream_hex "$P" "$s" s)" "$T/bin.head" "$T/bin.got"
ok "binary response: the body byte for byte (from body_b64)" \
    cmp -s "$T/bin.dat" "$T/bin.got"
is "$(tsh -r "$P" -Y "tcp.stream == $s && tcp.len > 0 && ip.src == 198.51.100.2" |
    wc -l | tr -d ' ')" 3 "binary response: 3 segments of at most 1460 bytes"
s=$(stream_of "$P" /upload 198.51.100.1)
split_message "$(stream_hex "$P" "$s" c)" "$T/upload.head" "$T/upload.got"
ok "binary request body byte for byte" cmp -s "$T/upload.dat" "$T/upload.got"

# A chunked request: dechunked, one Content-Length, over several segments.
s=$(stream_of "$P" /chunkedup 198.51.100.1)
split_message "$(stream_hex "$P" "$s" c)" "$T/chunkedup.head" \
    "$T/chunkedup.got"
ok "chunked request: the body is the dechunked bytes" \
    cmp -s "$T/short.txt" "$T/chunkedup.got"
unlike "$(cat "$T/chunkedup.head")" '^Transfer-Encoding' \
    "chunked request: no Transfer-Encoding"
like "$(cat "$T/chunkedup.head")" \
    "^Content-Length: 3000\$" \
    "chunked request: Content-Length of the body"
is "$(tsh -r "$P" -Y "tcp.stream == $s && http.request" -T fields \
    -e http.content_length)" 3000 \
    "chunked request: tshark reassembles it whole"

# The cut body: the kept prefix with its own Content-Length.
s=$(stream_of "$P" /long 198.51.100.1)
is "$(tsh -r "$P" -Y "tcp.stream == $s && http.response" -T fields \
    -e http.content_length)" 4096 "cut body: Content-Length 4096"
split_message "$(stream_hex "$P" "$s" s)" "$T/long.head" "$T/long.got"
head -c 4096 "$T/long.txt" >"$T/long.want"
ok "cut body: the first 4096 bytes" cmp -s "$T/long.want" "$T/long.got"

# A pcap is never written to a terminal.
if command -v script >/dev/null 2>&1; then
	script -qec "'$PARITYTAP' export --format pcap '$CAP'; echo rc=\$?" \
	    /dev/null </dev/null >"$T/tty.out" 2>&1
	tty_out=$(tr -d '\r' <"$T/tty.out")
	like "$tty_out" "^rc=2\$" "pcap to a terminal: exit 2"
	like "$tty_out" 'not writing a binary pcap to a terminal' \
	    "pcap to a terminal: the message says why"
else
	skip "script(1) is not installed"
	skip "script(1) is not installed"
fi

# ---------------------------------------------------------------------------
# HAR.

H=$T/mine.har
"$PARITYTAP" export -o "$H" "$CAP" 2>"$T/har.err"
is "$?" 0 "recorded capture -> HAR: exit 0"
like "$(cat "$T/har.err")" "^export: 10 exchanges, 10 entries -> $H\$" \
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
"$PARITYTAP" export -q -o "$T/three.pcap" "$T/three.jsonl"
is "$(tsh -r "$T/three.pcap" -Y http.request -T fields -e ip.dst | sort |
    uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ,)" \
    "6 198.51.100.1,6 198.51.100.2,6 198.51.100.3," \
    "secondary: each request once to each of the three servers"
is "$(tsh -r "$T/three.pcap" -q -z conv,tcp | grep -c '<->')" 18 \
    "secondary: 18 conversations"
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
