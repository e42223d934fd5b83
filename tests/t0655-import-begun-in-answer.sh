#!/bin/sh
# paritytap import on the shape of nDPI's 1kxun capture (ntop/nDPI,
# tests/cfgs/default/pcap/1kxun.pcap: an app's keep-alive connections to
# an image server), re-made by pcapgen with text of its own.  The
# capture begins after the handshake: its first packet is a request, and
# the first bytes of its response (the head and the start of the body)
# are not in it, only the body's end.  The client acknowledges that end
# and asks for the next file, and the next: those exchanges are whole.
# The first request is unanswered; the others are paired with their
# responses, not given up as pipelining (the client sent each request
# only after it had every byte the server sent before), and none is
# lost.

. "$(dirname "$0")/lib.sh"

PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}

need jq
need_binaries
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"

# fill N C: N bytes of the letter C.
fill() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

APP='Host: img.example\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\nUser-Agent: okhttp/3.12.1\r\n'
HEAD='HTTP/1.1 200 OK\r\nServer: openresty\r\nDate: Sat, 04 Jun 2022 23:25:44 GMT\r\nContent-Type: image/png\r\nConnection: keep-alive\r\nAccept-Ranges: bytes\r\n'

# One connection: the request, the lost head and start of its response
# (4320 bytes), the rest in two segments; then two small files, each
# response in one segment.  A second connection: the same with larger
# files, their bodies in many segments.
"$PCAPGEN" "$T/app.pcap" <<EOF || bail "pcapgen failed"
mss 1440
step 2000
c GET /js/app.min.js?1644808200 HTTP/1.1\r\n$APP\r\n
s lostfill 4320
s fill 2795
c ack
step 100000
c GET /img/home.png HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 1030\r\n\r\n$(fill 1030 p)
c GET /img/bar.png HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 1337\r\n\r\n$(fill 1337 q)
c ack
conn
step 2000
c GET /cartoons/13ae.jpg?format=webp HTTP/1.1\r\n$APP\r\n
s lostfill 1725
s fill 38174
c ack
c GET /cartoons/3d58.jpg HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 42651\r\n\r\n
s fill 42651
c ack
c GET /cartoons/fc94.jpg HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 43363\r\n\r\n
s fill 43363
c ack
EOF

"$PARITYTAP" import "$T/app.pcap" >"$T/app.jsonl" 2>"$T/app.err"
is "$?" 0 "import exits 0"
is "$(jq -r '[.request.target,
    (.responses.primary | .status, .error, .body_bytes)] | map(tostring) |
    join(" ")' "$T/app.jsonl")" "/js/app.min.js?1644808200 0 reset 0
/img/home.png 200 null 1030
/img/bar.png 200 null 1337
/cartoons/13ae.jpg?format=webp 0 reset 0
/cartoons/3d58.jpg 200 null 42651
/cartoons/fc94.jpg 200 null 43363" \
    "every request is there: each connection's first unanswered, the rest paired"
is "$(jq -r 'select(.responses.primary.error != null) |
    .responses.primary.error_detail' "$T/app.jsonl" | sort -u)" \
    "after a gap in the capture, no response can be told to be its own" \
    "the unanswered ones say why"
is "$(jq -r 'select(.request.target == "/img/bar.png") |
    .responses.primary.body' "$T/app.jsonl")" "$(fill 1337 q)" \
    "a body paired whole"
is "$(tail -n 1 "$T/app.err")" "paritytap import: 6 exchanges from 1 file, 2 connections, 0 unparsable streams, 2 gaps (2 connections resumed, 40969 bytes skipped), 2 unanswered" \
    "the summary: each connection resumed after the bytes of a response begun before the capture"

# The same with every packet at one time, as some capture tools write
# them: only the acknowledgements say the order.
"$PCAPGEN" "$T/flat.pcap" <<EOF || bail "pcapgen failed"
step 0
c GET /a HTTP/1.1\r\n$APP\r\n
s lostfill 4320
s fill 2795
c ack
c GET /b HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 1\r\n\r\nb
c GET /c HTTP/1.1\r\n$APP\r\n
s ${HEAD}Content-Length: 1\r\n\r\nc
c ack
EOF
"$PARITYTAP" import "$T/flat.pcap" >"$T/flat.jsonl" 2>"$T/flat.err"
is "$?" 0 "one time: import exits 0"
is "$(jq -r '[.request.target,
    (.responses.primary | .status, .error, .body)] | map(tostring) |
    join(" ")' "$T/flat.jsonl")" "/a 0 reset 
/b 200 null b
/c 200 null c" "one time: /a unanswered, /b and /c paired"
is "$(tail -n 1 "$T/flat.err")" "paritytap import: 3 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 2795 bytes skipped), 1 unanswered" \
    "one time: the summary"

# Two requests sent back to back before any answer: pipelining, where
# the order of what follows cannot be proven.  Neither is paired with
# the response that comes after the bytes skipped.
"$PCAPGEN" "$T/piped.pcap" <<EOF || bail "pcapgen failed"
c GET /p1 HTTP/1.1\r\n$APP\r\n
c GET /p2 HTTP/1.1\r\n$APP\r\n
s fill 2795
c ack
s ${HEAD}Content-Length: 1\r\n\r\nb
c ack
EOF
"$PARITYTAP" import "$T/piped.pcap" >"$T/piped.jsonl" 2>"$T/piped.err"
is "$(jq -r '[.request.target, .responses.primary.error] | join(" ")' \
    "$T/piped.jsonl")" "/p1 reset
/p2 reset" "pipelined: both unanswered, neither paired with a response it may not own"
is "$(tail -n 1 "$T/piped.err")" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (0 connections resumed, 1 pipelined not resumed, 2795 bytes skipped), 2 unanswered, 1 response without a request" \
    "pipelined: the summary says it was not resumed"

if command -v tshark >/dev/null 2>&1; then
	is "$(tshark_http -r "$T/app.pcap" -Y http.request -T fields \
	    -e http.request.uri 2>/dev/null | tr '\n' ' ')" \
	    "/js/app.min.js?1644808200 /img/home.png /img/bar.png /cartoons/13ae.jpg?format=webp /cartoons/3d58.jpg /cartoons/fc94.jpg " \
	    "tshark: the same six requests"
else
	skip "tshark not installed"
fi

done_testing
