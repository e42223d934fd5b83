#!/bin/sh
# paritytap export --format pcap (DESIGN §9): captures as a pcap of
# synthesized TCP streams that tshark reads like a recording of the wire:
# every request once per side, every response, one conversation per side,
# no malformed packet, no bad checksum, the bodies byte for byte with a
# Content-Length that matches.  The sample captures, and one recorded here
# with the proxy (tests/lib-export.sh).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-export.sh"
need curl jq tshark xxd gzip cmp
need_binaries

CAPTURES=$top_srcdir/captures
LC_ALL=C
export LC_ALL

# What no packet may be: malformed, or with a bad checksum.
BAD='_ws.malformed || tcp.checksum.status == Bad || ip.checksum.status == Bad'

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
    "paritytap export: 6 exchanges, 12 streams -> $T/validator.pcap" \
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
    "$BAD || _ws.expert.severity >= warning")" \
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
is "$(cat "$T/two.err")" "paritytap export: 10 exchanges, 20 streams -> stdout" \
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

export_record

P=$T/mine.pcap
"$PARITYTAP" export --format pcap -o "$P" "$CAP" 2>"$T/mine.err"
is "$?" 0 "recorded capture -> pcap: exit 0"
warn='^paritytap export: 2 bodies were cut short in the capture; each is'
warn="$warn written as the part kept, with a Content-Length of its size\$"
like "$(cat "$T/mine.err")" "$warn" \
    "recorded capture: one warning counts the 2 cut bodies"
like "$(cat "$T/mine.err")" "^paritytap export: 10 exchanges, 20 streams -> $P\$" \
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
    "$BAD")" \
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
is "$(tsh -r "$P" -Y "tcp.stream == $s && tcp.len > 0 &&
    ip.src == 198.51.100.2" | wc -l | tr -d ' ')" 3 \
    "binary response: 3 segments of at most 1460 bytes"
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
done_testing
