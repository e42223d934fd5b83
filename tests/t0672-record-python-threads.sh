#!/bin/sh
# paritytap record around python's http.server as a threaded server
# (ThreadingHTTPServer: a thread for each connection) speaking HTTP/1.1,
# so that connections are kept alive, under 64 concurrent keep-alive
# connections: every exchange is in the capture, each body byte for byte
# what its client got, and record says that no record was lost.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-record.sh"
need curl jq
need_binaries
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

# The interpreter itself, not a wrapper script (pyenv's) that runs it.
PYTHON=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)' \
    2>/dev/null) || skip_all "python3 not installed"
[ -x "$PYTHON" ] || skip_all "python3 not installed"
"$PYTHON" -c 'import http.server; http.server.ThreadingHTTPServer' \
    2>/dev/null || skip_all "python3 has no http.server.ThreadingHTTPServer"

CONNS=64
REQS=256

mkdir "$T/www"
i=1
while [ $i -le $REQS ]; do
	head -c $((1000 + (i * 7919) % 150000)) /dev/urandom |
	    od -An -tx1 -v | tr -d ' \n' | head -c $((1000 + (i * 7919) % 150000)) \
	    >"$T/www/f$i.txt"
	i=$((i + 1))
done

# The server: files from DIR, its port (the kernel's choice) written to
# PORTFILE once it listens; SIGTERM ends it with status 0.
cat >"$T/server.py" <<'EOF'
import http.server, os, signal, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: 64 clients at once
    # would wait for SYN retransmissions.
    request_queue_size = 128

def stop(signum, frame):
    sys.exit(0)

os.chdir(sys.argv[1])
signal.signal(signal.SIGTERM, stop)
srv = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
EOF

"$PARITYTAP" record -o "$T/py.jsonl" -- \
    "$PYTHON" "$T/server.py" "$T/www" "$T/py.port" 2>"$T/py.err" &
pid=$!
track "$pid"
wait_for 20 test -s "$T/py.port" || {
	diag_file "$T/py.err"
	bail "the python server did not start under record"
}
PORT=$(cat "$T/py.port")

record_fetch "$PORT" record_file_path
record_files_check "$T/www"
kill -TERM "$pid"
wait_pid "$pid" 30
is "$WAIT_STATUS" 0 "SIGTERM through record stops the server; exit status 0"

unlike "$(cat "$T/py.err")" 'dropped|not written|could not|no TCP traffic' \
    "no record was dropped"
like "$(cat "$T/py.err")" \
    'record: 1 process wrote [1-9][0-9]* records; 0 lost to a busy lock, 0 lost to write errors' \
    "record says what the server wrote and that it lost nothing"
like "$(cat "$T/py.err")" "^paritytap record: $REQS exchanges from .*, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the import found every exchange whole"
is "$(cap_nlines "$T/py.jsonl")" "$REQS" "exactly $REQS exchanges in the capture"
is "$(jq -r '.request.headers[] | select(.name == "Connection") | .value' \
    "$T/py.jsonl" | sort -u)" "" "no request asked to close its connection"
ok "connections were kept alive: fewer connections than exchanges" \
    test "$(sed -n 's/.* \([0-9][0-9]*\) connections, .*/\1/p' "$T/py.err")" \
    -lt "$REQS"
jq -r '.request.target + " " + .responses.primary.body' "$T/py.jsonl" |
    sort >"$T/got"
sort "$T/want" >"$T/want.sorted"
ok "every body in the capture is byte for byte what its client got" \
    cmp -s "$T/got" "$T/want.sorted"
is "$(jq -r '.responses.primary.status' "$T/py.jsonl" | sort -u)" 200 \
    "every exchange is a 200"

done_testing
