#!/bin/sh
# paritytap record around Apache with its event MPM (Debian's default:
# a listener thread hands connections to a pool of worker threads) under
# 64 concurrent keep-alive connections: every exchange is in the
# capture, each body byte for byte what its client got, and record says
# that no record was lost.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-record.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

APACHE=${APACHE:-/usr/sbin/apache2}
MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
if [ ! -x "$APACHE" ] || [ ! -f "$MODULES/mod_mpm_event.so" ]; then
	skip_all "apache2 not installed"
fi

CONNS=64
REQS=256

# Apache will not serve as root; as root, record and Apache run as
# nobody, in a directory of its own.
AS=
D=$T/ap
mkdir "$D" "$D/www" "$D/run" "$D/tmp"
if [ "$(id -u)" = 0 ]; then
	need setpriv
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 "$T"
	chown -R 65534:65534 "$D"
fi

# Text files of 1000 to 150999 bytes.
i=1
while [ $i -le $REQS ]; do
	head -c $((1000 + (i * 7919) % 150000)) /dev/urandom |
	    od -An -tx1 -v | tr -d ' \n' | head -c $((1000 + (i * 7919) % 150000)) \
	    >"$D/www/f$i.txt"
	i=$((i + 1))
done

PORT=$("$RECPROBE" freeport)
cat >"$D/httpd.conf" <<EOC
ServerRoot $D/run
ServerName localhost
Listen 127.0.0.1:$PORT
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
PidFile $D/run/httpd.pid
ErrorLog $D/run/error.log
DocumentRoot $D/www
StartServers 1
ServerLimit 1
ThreadsPerChild 64
ThreadLimit 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
KeepAlive On
MaxKeepAliveRequests 0
Mutex file:$D/run default
EOC
TMPDIR=$D/tmp $AS "$PARITYTAP" record -o "$D/run/apache.jsonl" -- \
    "$APACHE" -f "$D/httpd.conf" -DFOREGROUND 2>"$T/apache.err" &
pid=$!
track "$pid"
if ! "$RECPROBE" waitport "$PORT" 10; then
	diag_file "$T/apache.err"
	diag_file "$D/run/error.log"
	bail "apache2 did not start under record"
fi

record_fetch "$PORT" record_file_path
record_files_check "$D/www"
kill -TERM "$pid"
wait_pid "$pid" 30
is "$WAIT_STATUS" 0 "SIGTERM through record stops apache2; exit status 0"

unlike "$(cat "$T/apache.err")" 'dropped|not written' "no record was dropped"
like "$(cat "$T/apache.err")" \
    'record: [0-9]+ process(es)? wrote [1-9][0-9]* records; 0 lost to a busy lock, 0 lost to write errors' \
    "record says what apache2 wrote and that it lost nothing"
is "$(cap_nlines "$D/run/apache.jsonl")" "$REQS" \
    "exactly $REQS exchanges in the capture"
jq -r '.request.target + " " + .responses.primary.body' \
    "$D/run/apache.jsonl" | sort >"$T/got"
sort "$T/want" >"$T/want.sorted"
ok "every body in the capture is byte for byte what its client got" \
    cmp -s "$T/got" "$T/want.sorted"
is "$(jq -r '.responses.primary.status' "$D/run/apache.jsonl" | sort -u)" \
    200 "every exchange is a 200"

done_testing
