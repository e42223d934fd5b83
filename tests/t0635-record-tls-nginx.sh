#!/bin/sh
# paritytap record with real programs: curl and Python over HTTPS against
# a local TLS server (openssl s_server, a self-signed certificate made
# here): the capture holds the plaintext and no ciphertext stream; nginx
# as a server
# with two workers (forked: each writes its own file), sendfile on, plain
# and TLS, driven by curl and stopped with SIGTERM through record.  Each
# capture holds exactly the exchanges that happened, byte for byte.

. "$(dirname "$0")/lib.sh"
need curl jq openssl
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
# A test program built with AddressSanitizer runs with the (uninstrumented)
# library loaded before the sanitizer's runtime.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

# body_of CAPTURE TARGET: the response body recorded for TARGET.
body_of() {
	jq -j --arg t "$2" 'select(.request.target == $t) |
	    .responses.primary.body' "$1"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
    >"$T/openssl.log" 2>&1 || bail "openssl cannot make a certificate"
mkdir "$T/www"
printf '{"hello":"tls","n":[1,2,3]}\n' >"$T/www/a.json"
# A body larger than one segment and than nginx's first sendfile.
i=0
while [ $i -lt 3000 ]; do
	echo "line $i of a file nginx sends with sendfile, padded to be long enough"
	i=$((i + 1))
done >"$T/www/big.txt"

# --- curl over HTTPS, openssl s_server -WWW ---
(cd "$T/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 \
    -cert "$T/cert.pem" -key "$T/key.pem") >"$T/s_server.out" \
    2>"$T/s_server.err" &
track $!
wait_for 10 grep -q '^ACCEPT' "$T/s_server.out" ||
    bail "openssl s_server did not start"
TLS_PORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$T/s_server.out")
"$PARITYTAP" record -o "$T/https.jsonl" --pcap "$T/https.pcap" -- \
    curl -sk --http1.1 -o "$T/https.body" "https://127.0.0.1:$TLS_PORT/a.json" \
    2>"$T/https.err"
is "$?" 0 "https: record exits with curl's status 0"
is "$(cap_nlines "$T/https.jsonl")" 1 "https: one exchange in the capture"
is "$(jq -r '.request.method + " " + .request.target' "$T/https.jsonl")" \
    "GET /a.json" "https: the plaintext request"
body_of "$T/https.jsonl" /a.json >"$T/https.cap"
ok "https: the plaintext response body, byte for byte what curl got" \
    cmp -s "$T/https.cap" "$T/https.body"
ok "https: ... which is the file served" cmp -s "$T/https.body" "$T/www/a.json"
like "$(cat "$T/https.err")" ' 0 unparsable' \
    "https: no stream that is not HTTP (no ciphertext) in the pcap"
if command -v tshark >/dev/null 2>&1; then
	is "$(tshark -r "$T/https.pcap" -Y tls 2>/dev/null | wc -l | tr -d ' ')" \
	    0 "https: tshark finds no TLS record in the pcap"
	is "$(tshark_http -r "$T/https.pcap" -Y http.request -T fields \
	    -e http.request.uri 2>/dev/null)" /a.json \
	    "https: tshark finds the plaintext request"
else
	skip "tshark not installed"
	skip "tshark not installed"
fi

# --- Python over HTTPS: SSL_read_ex/SSL_write_ex, libssl loaded with the
# ssl extension module (RTLD_LOCAL, out of the global scope) ---
if command -v python3 >/dev/null 2>&1 && python3 -c 'import ssl' 2>/dev/null; then
	cat >"$T/get.py" <<EOF
import ssl, sys, urllib.request
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
body = urllib.request.urlopen("https://127.0.0.1:$TLS_PORT/a.json",
    context=ctx).read()
sys.stdout.buffer.write(body)
EOF
	"$PARITYTAP" record -o "$T/py.jsonl" -- python3 "$T/get.py" \
	    >"$T/py.body" 2>"$T/py.err"
	is "$?" 0 "python https: record exits with python's status 0"
	ok "python https: python got the file" cmp -s "$T/py.body" "$T/www/a.json"
	is "$(jq -r .request.target "$T/py.jsonl")" "/a.json" \
	    "python https: the plaintext request is in the capture"
	body_of "$T/py.jsonl" "/a.json" >"$T/py.cap"
	ok "python https: the response body, byte for byte what python got" \
	    cmp -s "$T/py.cap" "$T/py.body"
else
	skip "python3 with ssl not installed"
fi

# --- nginx: two workers, sendfile, plain and TLS ---
if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi
if [ ! -x "$NGINX" ]; then
	skip "nginx not installed"
	done_testing
fi
HTTP_PORT=$("$RECPROBE" freeport)
HTTPS_PORT=$("$RECPROBE" freeport)
mkdir "$T/ng"
{
	# Workers would switch to "nobody", who cannot enter $T.
	[ "$(id -u)" = 0 ] && echo "user $(id -un) $(id -gn);"
	cat <<EOF
daemon off;
master_process on;
worker_processes 2;
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
	sendfile on;
	default_type application/octet-stream;
	types { application/json json; text/plain txt; }
	server {
		listen 127.0.0.1:$HTTP_PORT;
		listen 127.0.0.1:$HTTPS_PORT ssl;
		ssl_certificate $T/cert.pem;
		ssl_certificate_key $T/key.pem;
		root $T/www;
	}
}
EOF
} >"$T/ng/nginx.conf"
"$PARITYTAP" record -o "$T/nginx.jsonl" --pcap "$T/nginx.pcap" -- \
    "$NGINX" -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/error.log" \
    >"$T/nginx.out" 2>"$T/nginx.err" &
NGPID=$!
track "$NGPID"
if ! "$RECPROBE" waitport "$HTTP_PORT" 10 ||
    ! "$RECPROBE" waitport "$HTTPS_PORT" 10; then
	diag_file "$T/nginx.err"
	diag_file "$T/ng/error.log"
	bail "nginx did not start under record"
fi
H=http://127.0.0.1:$HTTP_PORT
S=https://127.0.0.1:$HTTPS_PORT
curl -s -o "$T/n1" -o "$T/n2" -o "$T/n3" "$H/a.json" "$H/big.txt" "$H/missing" &&
curl -s -o "$T/n4" "$H/big.txt" &&
curl -sk --http1.1 -o "$T/n5" -o "$T/n6" "$S/a.json" "$S/big.txt"
is "$?" 0 "nginx: curl got its answers"
ok "nginx: the big file came whole over plain HTTP" cmp -s "$T/n2" "$T/www/big.txt"
ok "nginx: the big file came whole over TLS" cmp -s "$T/n6" "$T/www/big.txt"
kill -TERM "$NGPID"
wait_pid "$NGPID" 20
is "$WAIT_STATUS" 0 "nginx: SIGTERM through record stops it; exit status 0"
is "$(cap_nlines "$T/nginx.jsonl")" 6 "nginx: exactly six exchanges in the capture"
is "$(jq -r '.request.target + " " + (.responses.primary.status | tostring)' \
    "$T/nginx.jsonl" | sort | tr '\n' '|')" \
    "/a.json 200|/a.json 200|/big.txt 200|/big.txt 200|/big.txt 200|/missing 404|" \
    "nginx: the requests and their statuses"
body_of "$T/nginx.jsonl" /a.json >"$T/cap.a"
cat "$T/n1" "$T/n5" >"$T/want.a"
ok "nginx: both /a.json bodies (plain, TLS) are byte for byte what curl got" \
    cmp -s "$T/cap.a" "$T/want.a"
body_of "$T/nginx.jsonl" /big.txt >"$T/cap.big"
cat "$T/n2" "$T/n4" "$T/n6" >"$T/want.big"
ok "nginx: the three sendfile/TLS bodies of /big.txt are byte for byte what curl got" \
    cmp -s "$T/cap.big" "$T/want.big"
body_of "$T/nginx.jsonl" /missing >"$T/cap.missing"
ok "nginx: the 404 page is recorded too, byte for byte" \
    cmp -s "$T/cap.missing" "$T/n3"
like "$(cat "$T/nginx.err")" ' 0 unparsable' \
    "nginx: no stream that is not HTTP (no ciphertext)"
if command -v tshark >/dev/null 2>&1; then
	is "$(tshark_http -r "$T/nginx.pcap" -Y http.request 2>/dev/null |
	    wc -l | tr -d ' ')" 6 \
	    "nginx: tshark finds the six requests in the merged pcap"
else
	skip "tshark not installed"
fi

done_testing
