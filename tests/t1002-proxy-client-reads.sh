#!/bin/sh
# A plain client's bytes, read by the proxy itself: 3,000 requests
# pipelined in one burst (over the 256 KiB the proxy keeps unparsed, so
# it stops reading and comes back) are each answered once, in order, and
# mirrored; a request that comes a byte at a time, and one cut in the
# middle of its header block, are each taken as the whole they make.

. "$(dirname "$0")/lib.sh"
need jq python3
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --threads 1 --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# 3,000 requests of 130 bytes or so: 390 KB in one write.
N=3000
awk -v n=$N 'BEGIN {
	pad = sprintf("%080d", 0)
	for (i = 1; i <= n; i++)
		printf "GET /pipe/%d HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n%s\r\n",
		    i, pad, i == n ? "Connection: close\r\n" : ""
}' >"$T/burst.req"
cmp_ok "$(wc -c <"$T/burst.req")" -gt 262144 \
    "burst: the requests are more than 256 KiB"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/burst.req" >"$T/burst.resp" 2>"$T/burst.err"
is "$?" 0 "burst: the proxy closed after the last request's 'Connection: close'"
is "$(grep -o 'HTTP/1.1 200 ' "$T/burst.resp" | wc -l | tr -d ' ')" $N \
    "burst: $N answers 200"
grep -o '"target":"/pipe/[0-9]*"' "$T/burst.resp" | sed 's/.*pipe.//; s/"//' \
    >"$T/burst.order"
seq 1 $N >"$T/want.order"
ok "burst: the answers come in request order, each once" \
    cmp -s "$T/burst.order" "$T/want.order"
ok "burst: the candidate received all $N mirrors" \
    wait_for 60 backend_nrequests_ge candidate $N
backend_requests primary | jq -r .target | sed 's/.*pipe.//' \
    >"$T/primary.order"
ok "burst: the primary received the $N requests in order" \
    cmp -s "$T/primary.order" "$T/want.order"

# A byte at a time, then a request cut after its first header line: each
# send is its own segment (TCP_NODELAY), and the next one waits until the
# proxy's end has acknowledged the last (SIOCOUTQ: nothing unacknowledged).
python3 - "$PROXY_PORT" "$T" <<'PY' >"$T/slow.log" 2>&1
import fcntl, socket, struct, sys, termios, time
port, t = int(sys.argv[1]), sys.argv[2]
SIOCOUTQ = termios.TIOCOUTQ

def drained(s):
    while struct.unpack("i", fcntl.ioctl(s, SIOCOUTQ, b"\0" * 4))[0]:
        time.sleep(0.001)

def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body

s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = b"POST /bytewise HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
for i in range(len(req)):
    s.send(req[i:i + 1])
    drained(s)
open(t + "/bytewise.resp", "wb").write(read_response(s))
req = (b"GET /cut HTTP/1.1\r\nHost: x\r\n", b"X-Second: 2\r\n\r\n")
s.send(req[0])
drained(s)
s.send(req[1])
open(t + "/cut.resp", "wb").write(read_response(s))
s.close()
PY
is "$?" 0 "slow: the client ran"
like "$(head -1 "$T/bytewise.resp")" '^HTTP/1.1 200 ' \
    "bytewise: a request sent a byte at a time is answered 200"
contains "$(cat "$T/bytewise.resp")" '"method":"POST","target":"/bytewise"' \
    "bytewise: the primary got the POST"
contains "$(cat "$T/bytewise.resp")" '"body":"hello"' \
    "bytewise: with its whole body"
like "$(head -1 "$T/cut.resp")" '^HTTP/1.1 200 ' \
    "cut: a request cut inside its header block is answered 200"
is "$(backend_requests primary | jq -r 'select(.target == "/cut") |
    .headers[] | select(.[0] == "X-Second") | .[1]')" 2 \
    "cut: the header after the cut reached the primary"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" $((N + 2)) "one capture line per request"
ok "the capture is valid JSONL" cap_valid "$CAP"

done_testing
