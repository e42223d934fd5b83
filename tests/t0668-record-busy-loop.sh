#!/bin/sh
# An event loop that is never idle: its waits find events ready at every
# turn, so the library does not write its buffer before each of them.
# Records still reach the file once they are PT_BUF_AGE_US old, while the
# program runs on, even when no more records come to push them out: a
# Python server answers one request on a connection it keeps open, then
# spins on epoll (and on poll) over a pipe that is always readable.

. "$(dirname "$0")/lib.sh"
need curl python3
need_binaries
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}
[ -f "$LIB" ] || bail "the library $LIB is not built"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

cat >"$T/busy.py" <<'PY'
import os, select, socket, sys
portfile, how, word = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
c, _ = s.accept()
data = b""
while b"\r\n\r\n" not in data:
    data += c.recv(4096)
body = word.encode() + b"\n"
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
# The connection stays open: no close writes the buffer out.
r, w = os.pipe()
os.write(w, b"x")
if how == "epoll":
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    while True:
        ep.poll(1.0)
else:
    p = select.poll()
    p.register(r, select.POLLIN)
    while True:
        p.poll(1000)
PY

for how in epoll poll; do
	word="answered-under-$how-$$"
	PARITYTAP_PRELOAD_OUT=$T/$how LD_PRELOAD=$LIB \
	    python3 "$T/busy.py" "$T/$how.port" "$how" "$word" \
	    2>"$T/$how.err" &
	pid=$!
	track "$pid"
	wait_for 20 test -s "$T/$how.port" || bail "$how: the server did not start"
	got=$(curl -sS --max-time 60 "http://127.0.0.1:$(cat "$T/$how.port")/x")
	is "$got" "$word" "$how: the client got the answer"
	recorded() {
		grep -qa "$word" "$T"/$how.*.pcap 2>/dev/null
	}
	wait_for 60 recorded
	ok "$how: the answer reaches the pcap while the loop keeps spinning" \
	    recorded
	ok "$how: the server is still spinning" alive "$pid"
	kill "$pid"
	wait_pid "$pid" 20
done

done_testing
