#!/bin/sh
# paritytap import on the shape of Zeek's putty-upload trace
# (zeek/zeek, testing/btest/Traces/http/putty-upload.pcap), re-made by
# pcapgen with text of its own: a browser on loopback (segments of
# 16384 bytes) gets a form from python's http.server (HTTP/1.0, head and
# body in two segments, the server closes), then on a second connection
# POSTs a 1.6 MB multipart upload; after 80 KB of it the server answers
# 200 with no Content-Length, closes and resets the connection.  Both
# exchanges are kept, the upload's body cut where the answer began and
# marked truncated; and what tshark makes of the same file.

. "$(dirname "$0")/lib.sh"

PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}

need jq
need_binaries
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"

# The browser's headers, as a browser sends them (about 650 bytes).
BROWSER='Host: localhost:8080\r\nConnection: keep-alive\r\nsec-ch-ua: "Chromium";v="108"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\nUpgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n'
FORM='<form action="/upload" enctype="multipart/form-data" method="POST">\n  <input type="file" name="filename">\n  <input type="submit">\n</form>\n'
PART='------FormBoundaryQ3jx8\r\nContent-Disposition: form-data; name="filename"; filename="tool.exe"\r\nContent-Type: application/x-ms-dos-executable\r\n\r\n'
# The part's head and the file's first bytes fill the first segment.
PART_LEN=$(($(printf %b "$PART" | wc -c)))
FORM_LEN=$(($(printf %b "$FORM" | wc -c)))

"$PCAPGEN" "$T/up.pcap" <<EOF || bail "pcapgen failed"
syn
c GET /upload.html HTTP/1.1\r\n$BROWSER\r\n
s ack
s HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: Wed, 14 Dec 2022 15:03:40 GMT\r\nContent-type: text/html\r\nContent-Length: $FORM_LEN\r\nLast-Modified: Wed, 14 Dec 2022 14:26:39 GMT\r\n\r\n
c ack
s $FORM
c ack
s fin
c fin
s ack
conn
mss 16384
syn
c POST /upload HTTP/1.1\r\n${BROWSER}Content-Length: 1648120\r\nContent-Type: multipart/form-data; boundary=----FormBoundaryQ3jx8\r\nOrigin: http://localhost:8080\r\n\r\n
s ack
c $PART
c fill $((16384 - PART_LEN))
s ack
c fill 16384
s ack
c fill 16384
s ack
c fill 16384
s ack
c fill 16384
s HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: Wed, 14 Dec 2022 15:03:45 GMT\r\n\r\n
c ack
s fin
s rst
EOF

"$PARITYTAP" import "$T/up.pcap" >"$T/up.jsonl" 2>"$T/up.err"
is "$?" 0 "import exits 0"
is "$(jq -r '[.request | .method, .target, .body_bytes, .truncated] +
    [.responses.primary | .status, .error, .body_bytes] | map(tostring) |
    join(" ")' "$T/up.jsonl")" "GET /upload.html 0 null 200 null $FORM_LEN
POST /upload 81920 true 200 null 0" \
    "both exchanges: the form, and the upload answered after 80 KB of its body, marked truncated"
is "$(jq -r 'select(.request.target == "/upload.html") |
    .responses.primary.body' "$T/up.jsonl")" "$(printf %b "$FORM")" \
    "the form's body, from its own segment"
printf %b "$PART" >"$T/want.body"
head -c $((81920 - PART_LEN)) /dev/zero | tr '\0' x >>"$T/want.body"
jq -j 'select(.request.target == "/upload") | .request.body' \
    "$T/up.jsonl" >"$T/got.body"
ok "the upload's body is the bytes sent before the answer" \
    cmp -s "$T/got.body" "$T/want.body"
is "$(jq -r 'select(.request.target == "/upload") |
    [.responses.primary.headers[].name] | join(" ")' "$T/up.jsonl")" \
    "Server Date" "the answer's head, no Content-Length: its body ends with the close"
is "$(tail -n 1 "$T/up.err")" "paritytap import: 2 exchanges from 1 file, 2 connections, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the summary: nothing unanswered, no gap"

# tshark waits for the rest of the upload (1648120 bytes) and so never
# shows the POST; it shows its answer with no request.
if command -v tshark >/dev/null 2>&1; then
	is "$(tshark_http -r "$T/up.pcap" -Y http.request -T fields \
	    -e http.request.uri 2>/dev/null | tr '\n' ' ')" "/upload.html " \
	    "tshark: only the GET (the upload is never whole)"
	is "$(tshark_http -r "$T/up.pcap" -Y http.response -T fields \
	    -e http.response.code 2>/dev/null | tr '\n' ' ')" "200 200 " \
	    "tshark: both answers"
else
	skip "tshark not installed"
	skip "tshark not installed"
fi

done_testing
