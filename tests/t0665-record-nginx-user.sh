#!/bin/sh
# paritytap record around nginx started as root with the user directive of
# Debian's stock nginx.conf (user www-data): the workers, which serve
# every connection, run as www-data and write their own files in record's
# directory.  Every exchange is in the capture, byte for byte what curl
# got, and no warning says that nothing was recorded.  Then the same run
# with record's directory out of the workers' reach: record names the uid
# that could not write.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

if [ "$(id -u)" != 0 ]; then
	skip_all "not root: nginx cannot switch its workers to another user"
fi
NGINX=${NGINX:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || skip_all "nginx not installed"
NGUSER=www-data
id "$NGUSER" >/dev/null 2>&1 || NGUSER=nobody
NGUID=$(id -u "$NGUSER")

# The workers read the files they serve: $T is made reachable (not
# readable) by every user, the site readable.
chmod 0711 "$T"
mkdir "$T/www"
printf '{"hello":"workers","n":[1,2,3]}\n' >"$T/www/a.json"
i=0
while [ $i -lt 2000 ]; do
	echo "line $i of a file served by a worker that is not root"
	i=$((i + 1))
done >"$T/www/big.txt"
chmod -R a+rX "$T/www"

# nginx_conf DIR PORT: the configuration, with Debian's user directive.
nginx_conf() {
	mkdir "$1"
	cat >"$1/nginx.conf" <<EOF
user $NGUSER;
daemon off;
master_process on;
worker_processes 2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	sendfile on;
	default_type application/octet-stream;
	types { application/json json; text/plain txt; }
	server {
		listen 127.0.0.1:$2;
		root $T/www;
	}
}
EOF
}

# run NAME: nginx under record, three requests (two on one connection),
# stopped with SIGTERM through record.
run() {
	_port=$("$RECPROBE" freeport)
	nginx_conf "$T/$1" "$_port"
	"$PARITYTAP" record -o "$T/$1.jsonl" -- \
	    "$NGINX" -p "$T/$1" -c "$T/$1/nginx.conf" -e "$T/$1/error.log" \
	    >"$T/$1.out" 2>"$T/$1.err" &
	_pid=$!
	track "$_pid"
	if ! "$RECPROBE" waitport "$_port" 10; then
		diag_file "$T/$1.err"
		bail "nginx did not start under record"
	fi
	curl -s -o "$T/$1.a" -o "$T/$1.big" "http://127.0.0.1:$_port/a.json" \
	    "http://127.0.0.1:$_port/big.txt" &&
	    curl -s -o "$T/$1.missing" "http://127.0.0.1:$_port/missing"
	is "$?" 0 "$1: curl got its answers"
	kill -TERM "$_pid"
	wait_pid "$_pid" 20
	is "$WAIT_STATUS" 0 "$1: SIGTERM through record stops nginx; exit 0"
}

run ng
ok "ng: the workers run as $NGUSER" \
    test "$(stat -c %u "$T/ng/body" 2>/dev/null)" = "$NGUID"
is "$(cap_nlines "$T/ng.jsonl")" 3 "ng: the three exchanges are in the capture"
is "$(jq -r '.request.target + " " + (.responses.primary.status | tostring)' \
    "$T/ng.jsonl" | sort | tr '\n' '|')" \
    "/a.json 200|/big.txt 200|/missing 404|" "ng: the requests and statuses"
for f in a big missing; do
	case $f in
	a) t=/a.json ;;
	big) t=/big.txt ;;
	missing) t=/missing ;;
	esac
	jq -j --arg t "$t" 'select(.request.target == $t) |
	    .responses.primary.body' "$T/ng.jsonl" >"$T/ng.cap.$f"
	ok "ng: the body of $t is byte for byte what curl got" \
	    cmp -s "$T/ng.cap.$f" "$T/ng.$f"
done
unlike "$(cat "$T/ng.err")" 'no TCP traffic|could not create' \
    "ng: no warning that something was not recorded"

# Record's directory under a directory only root can enter: the workers
# cannot reach it, and record says which uid could not write.
mkdir -m 0700 "$T/private"
TMPDIR=$T/private
export TMPDIR
run closed
unset TMPDIR
is "$(cap_nlines "$T/closed.jsonl")" 0 "closed: nothing could be recorded"
like "$(cat "$T/closed.err")" "\\(uid $NGUID\\).*could not create" \
    "closed: record names the workers' uid as the one that could not write"
done_testing
