#!/bin/sh
# paritytap import on the shape of Suricata's test capture
# http-gap-whole-body (OISF/suricata-verify,
# tests/http-gap-whole-body/input.pcap), re-made by pcapgen with text of
# its own: one connection, three HTTP/1.0 GETs one after another; the
# first response's head comes in a segment of its own and the segment
# after it, its whole body and two bytes more, is not in the capture;
# the client acknowledges it and asks again.  The second response's
# body comes in five segments of 14 bytes, the third response in one.
# Every exchange, its status and error, and the summary; and what tshark
# makes of the same file, where it is right.

. "$(dirname "$0")/lib.sh"

PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}

need jq
need_binaries
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"

cat >"$T/gap.script" <<'EOF'
syn
s ack
c GET /1 HTTP/1.0\r\nUser-Agent: Mozilla\r\n\r\n
s ack
s HTTP/1.0 200 OK\r\nDate: Tue, 01 Sep 2009 10:00:00 GMT\r\nServer: Apache\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\n
c ack
s lost first page!\n\r\n
c ack
c GET /2 HTTP/1.0\r\nUser-Agent: Mozilla\r\n\r\n
s ack
s HTTP/1.0 200 OK\r\nServer: Apache\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 70\r\n\r\n
c ack
s second-page-1\n
c ack
s second-page-2\n
c ack
s second-page-3\n
c ack
s second-page-4\n
c ack
s second-page-5\n
c ack
c GET /3 HTTP/1.0\r\nUser-Agent: Mozilla\r\n\r\n
s ack
s HTTP/1.0 200 OK\r\nServer: Apache\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\nthird page!\n
c ack
s fin
c ack
c fin
s ack
EOF
"$PCAPGEN" "$T/gap.pcap" <"$T/gap.script" || bail "pcapgen failed"

"$PARITYTAP" import "$T/gap.pcap" >"$T/gap.jsonl" 2>"$T/gap.err"
is "$?" 0 "import exits 0"
is "$(jq -r '[.request.method, .request.target, .request.version,
    (.responses.primary | .status, .error, .body_bytes)] | map(tostring) |
    join(" ")' "$T/gap.jsonl")" "GET /1 1.0 200 reset 0
GET /2 1.0 200 null 70
GET /3 1.0 200 null 12" \
    "every request is there: /1 failed by the hole after its head, /2 and /3 paired"
is "$(jq -r 'select(.request.target == "/1") |
    .responses.primary.error_detail' "$T/gap.jsonl")" \
    "the response stream has a gap in the capture" \
    "/1: the error says the capture has a gap"
is "$(jq -r 'select(.request.target == "/1") | .responses.primary.headers[] |
    select(.name == "Content-Length") | .value' "$T/gap.jsonl")" 12 \
    "/1: the head that came is kept"
is "$(jq -c 'select(.request.target == "/2") | .responses.primary.body' \
    "$T/gap.jsonl")" \
    '"second-page-1\nsecond-page-2\nsecond-page-3\nsecond-page-4\nsecond-page-5\n"' \
    "/2: the body of five segments, whole"
is "$(jq -c 'select(.request.target == "/3") | .responses.primary.body' \
    "$T/gap.jsonl")" '"third page!\n"' "/3: its body"
is "$(tail -n 1 "$T/gap.err")" "paritytap import: 3 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 0 bytes skipped), 1 unanswered" \
    "the summary: one gap, the connection resumed, /1 unanswered, nothing skipped"

# The same with every packet at one time, as some capture tools write
# them: only the acknowledgements say that /2 was sent after the hole.
{ echo "step 0"; cat "$T/gap.script"; } | "$PCAPGEN" "$T/flat.pcap" ||
    bail "pcapgen failed"
"$PARITYTAP" import "$T/flat.pcap" >"$T/flat.jsonl" 2>"$T/flat.err"
is "$(jq -r '[.request.target, (.responses.primary | .status, .error,
    .body_bytes)] | map(tostring) | join(" ")' "$T/flat.jsonl")" "/1 200 reset 0
/2 200 null 70
/3 200 null 12" "one time: the same exchanges"
is "$(tail -n 1 "$T/flat.err")" "paritytap import: 3 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 0 bytes skipped), 1 unanswered" \
    "one time: the same summary"

# tshark sees the same requests and the two whole responses; it never
# ends /1's response (it waits for the body the capture lost), so it
# has no answer for /1 at all.
if command -v tshark >/dev/null 2>&1; then
	is "$(tshark_http -r "$T/gap.pcap" -Y http.request -T fields \
	    -e http.request.uri 2>/dev/null | tr '\n' ' ')" "/1 /2 /3 " \
	    "tshark: the same three requests"
	is "$(tshark_http -r "$T/gap.pcap" -Y http.response -T fields \
	    -e http.response.code -e http.content_length_header \
	    2>/dev/null | tr '\t\n' '  ')" "200 70 200 12 " \
	    "tshark: the responses to /2 and /3, as import pairs them"
else
	skip "tshark not installed"
	skip "tshark not installed"
fi

done_testing
