#!/bin/sh
# The admin listener's bounds: 64 connections served at once (the 65th
# is answered 503 and closed; once one of the 64 closes, a new one is
# served), a body past 1 KiB is refused with 413, a header block past
# 8 KiB is not served, and none of it disturbs the proxy's clients.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl python3
need_binaries

start_backend primary
start_backend candidate
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" --admin 0 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

# 64 keep-alive connections, each served once and kept open; then a 65th;
# then one of the 64 closes and a 66th comes.  Prints each status.
python3 - "${ADMIN%:*}" "${ADMIN##*:}" >"$T/conns.out" 2>"$T/conns.err" <<'EOP'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def get(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    f = s.makefile("rb")
    status = f.readline().split()[1].decode()
    n = 0
    while True:
        line = f.readline()
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
        if line in (b"\r\n", b""):
            break
    f.read(n)
    return status
conns = []
for i in range(64):
    s = socket.create_connection((host, port))
    conns.append(s)
    print("keep", get(s))
s = socket.create_connection((host, port))
print("extra", get(s))
s.close()
conns.pop().close()
# The close reaches the listener in its own time: try until served.
for i in range(1000):
    s = socket.create_connection((host, port))
    st = get(s)
    s.close()
    if st == "200":
        break
print("after", st)
EOP
is "$(grep -c '^keep 200$' "$T/conns.out")" 64 "64 connections served at once"
is "$(grep '^extra' "$T/conns.out")" "extra 503" "the 65th: 503"
is "$(grep '^after' "$T/conns.out")" "after 200" \
    "once one of them closed, a new connection is served"
diag_file "$T/conns.err"

admin big /healthz -X POST --data-binary "@$top_srcdir/README.md"
is "$HTTP_CODE" 413 "a body past 1 KiB: 413"
admin small /healthz -X PUT -d x
is "$HTTP_CODE" 405 "a small PUT: 405"
pad=$(head -c 9000 /dev/zero | tr '\0' p)
admin pad /healthz -H "X-Pad: $pad"
isnt "$HTTP_CODE" 200 "a 9000-byte header: not served"

req client "$PROXY_URL/after"
is "$HTTP_CODE" 200 "the proxy's client is answered"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"

done_testing
