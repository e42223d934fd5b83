#!/bin/sh
# paritytap record around nginx serving static files: a 200 KB POST to a
# static file is answered 405 before nginx reads the body.  The capture
# holds that exchange, paired with its answer, the request body marked
# truncated, and the next request on a new connection; nothing is
# unanswered and no response is without a request.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi
[ -x "$NGINX" ] || skip_all "nginx not installed"

mkdir "$T/www" "$T/ng"
printf 'static\n' >"$T/www/index.html"
head -c 200000 /dev/zero | tr '\0' p >"$T/post.bin"
PORT=$("$RECPROBE" freeport)
{
	# Workers would switch to "nobody", who cannot enter $T.
	[ "$(id -u)" = 0 ] && echo "user $(id -un) $(id -gn);"
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ng/body;
	proxy_temp_path $T/ng/proxy;
	fastcgi_temp_path $T/ng/fastcgi;
	uwsgi_temp_path $T/ng/uwsgi;
	scgi_temp_path $T/ng/scgi;
	server {
		listen 127.0.0.1:$PORT;
		root $T/www;
	}
}
EOF
} >"$T/ng/nginx.conf"
"$PARITYTAP" record -o "$T/rec.jsonl" -- \
    "$NGINX" -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/error.log" \
    >"$T/rec.out" 2>"$T/rec.err" &
NGPID=$!
track "$NGPID"
if ! "$RECPROBE" waitport "$PORT" 10; then
	diag_file "$T/rec.err"
	diag_file "$T/ng/error.log"
	bail "nginx did not start under record"
fi
H=http://127.0.0.1:$PORT
is "$(curl -s -o "$T/post.out" -w '%{http_code}' --data-binary @"$T/post.bin" \
    "$H/index.html")" 405 "curl: the POST got 405"
is "$(curl -s -w '%{http_code}' "$H/index.html")" "static
200" "curl: the GET got the file"
kill -TERM "$NGPID"
wait_pid "$NGPID" 20
is "$WAIT_STATUS" 0 "SIGTERM through record stops nginx; exit status 0"
is "$(jq -r '[.request.method, .request.target, .request.truncated,
    .responses.primary.status, .responses.primary.error] | map(tostring) |
    join(" ")' "$T/rec.jsonl" | sort)" \
    "GET /index.html null 200 null
POST /index.html true 405 null" \
    "the capture: the POST answered 405, its body truncated, and the GET"
ok "the POST's recorded body is a prefix of what curl sent" \
    test "$(jq -r 'select(.request.method == "POST") | .request.body' \
    "$T/rec.jsonl")" = "$(head -c "$(jq -r 'select(.request.method ==
    "POST") | .request.body_bytes' "$T/rec.jsonl")" "$T/post.bin")"
is "$(jq -j 'select(.request.method == "POST") | .responses.primary.body' \
    "$T/rec.jsonl")" "$(cat "$T/post.out")" \
    "the 405 page recorded is what curl got"
like "$(cat "$T/rec.err")" ', 0 unanswered$' \
    "the summary: nothing unanswered, no response without a request"
done_testing
