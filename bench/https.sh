#!/usr/bin/env bash
#
# bench/https.sh: paritytap's proxy in front of https:// backends, against
# nginx's proxy_pass https:// and proxy_pass + mirror to the same
# backends, in one run.
#
# A benchmark, not a test: `make check` never runs it.  Run it from the
# top of a built tree:
#
#	bench/https.sh
#
# A private CA and a certificate for 127.0.0.1 are made with openssl in a
# temporary directory.  The backends are nginx serving TLS (a small JSON
# body); clients (wrk) speak plain HTTP to the proxies.  Every proxy
# verifies the backends' certificate against the CA, keeps connections
# alive and resumes TLS sessions (nginx: keepalive, proxy_ssl_session_reuse;
# paritytap: its pools), so each is measured at its best.
#
# Environment: PARITYTAP, NGINX, WRK, DURATION [8s], CONNS [32], THREADS
# (wrk's) [2], WARMUP [1s], NGINX_WORKERS [1] (and paritytap's --threads),
# KEEP=1 (keep the directory),
# STRICT=1 (exit 1 when the target is missed).
#
# Printed: requests/s of each, paritytap's ratio to each, and the CPU time
# per 1,000 requests of paritytap's process and of nginx's proxy (master
# and workers), from /proc/PID/stat before and after the measured run.
#
# Target: paritytap at least 2x nginx proxy_pass + mirror.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
WRK=${WRK:-wrk}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-1s}
NGINX_WORKERS=${NGINX_WORKERS:-1}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
URL_PATH=/v1/items/42
BODY='{"ok":true}'
if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi

BENCH=bench/https.sh
. "$(dirname "$0")/lib.sh"
bench_init https
command -v openssl >/dev/null 2>&1 || die "openssl not found"

free_port PRIMARY_PORT
free_port CANDIDATE_PORT
free_port NGINX_PROXY_PORT
free_port NGINX_MIRROR_PORT
free_port PT_PORT

# The CA and the backends' certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 -subj "/CN=bench CA" \
    >/dev/null 2>&1 || die "openssl: cannot make the CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$TMP/srv.key" -out "$TMP/srv.csr" -subj /CN=127.0.0.1 \
    >/dev/null 2>&1 || die "openssl: cannot make a request"
echo "subjectAltName=IP:127.0.0.1" >"$TMP/srv.ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
    -CAcreateserial -days 2 -extfile "$TMP/srv.ext" -out "$TMP/srv.pem" \
    >/dev/null 2>&1 || die "openssl: cannot sign the certificate"

# nginx_conf NAME WORKERS BODY...: an nginx configuration in $TMP.
nginx_conf() {
	{
		if [ "$(id -u)" = 0 ]; then
			echo "user $(id -un) $(id -gn);"
		fi
		cat <<EOF
daemon off;
pid $TMP/$1.pid;
error_log $TMP/$1-error.log warn;
worker_processes $2;
events { worker_connections 16384; }
http {
	${ACCESS_LOG:-access_log off;}
	client_body_temp_path $TMP/$1-body;
	proxy_temp_path $TMP/$1-proxy;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
$3
}
EOF
	} >"$TMP/$1.conf"
}

backend() {
	cat <<EOF
	server {
		listen 127.0.0.1:$1 ssl;
		ssl_certificate $TMP/srv.pem;
		ssl_certificate_key $TMP/srv.key;
		ssl_session_cache shared:S$1:1m;
		default_type application/json;
		location / { return 200 '$BODY'; }
	}
EOF
}
nginx_conf backends 1 "$(backend "$PRIMARY_PORT"; backend "$CANDIDATE_PORT")"

SSL_UP="proxy_ssl_verify on; proxy_ssl_trusted_certificate $TMP/ca.pem;
	proxy_ssl_session_reuse on; proxy_http_version 1.1;
	proxy_set_header Connection \"\";"
nginx_conf proxy "$NGINX_WORKERS" "
	upstream primary { server 127.0.0.1:$PRIMARY_PORT; keepalive 256; }
	upstream candidate { server 127.0.0.1:$CANDIDATE_PORT; keepalive 256; }
	$SSL_UP
	proxy_ssl_name 127.0.0.1;
	server {
		listen 127.0.0.1:$NGINX_PROXY_PORT;
		location / { proxy_pass https://primary; }
	}
	server {
		listen 127.0.0.1:$NGINX_MIRROR_PORT;
		location / { mirror /_mirror; proxy_pass https://primary; }
		location = /_mirror {
			internal;
			proxy_pass https://candidate\$request_uri;
		}
	}"

# start NAME PORT CMD...: start a server and wait for its port.
start() {
	_n=$1
	_p=$2
	shift 2
	"$@" >"$TMP/$_n.out" 2>&1 &
	_pid=$!
	PIDS="$PIDS $_pid"
	wait_port "$_p" "$_pid" || {
		cat "$TMP/$_n.out" >&2
		die "$_n did not start"
	}
	eval "PID_$_n=$_pid"
}

# measure NAME URL PID: wrk on URL; "NAME rps ms-per-1000" to results.
measure() {
	[ "$WARMUP" = 0 ] || "$WRK" -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$2" \
	    >/dev/null 2>&1
	_c0=$(tree_cpu "$3")
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$DURATION" "$2" >"$TMP/wrk-$1.txt" 2>&1
	_c1=$(tree_cpu "$3")
	awk -v name="$1" -v a="$_c0" -v b="$_c1" -v hz="$(getconf CLK_TCK)" '
		/ requests in / { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx|Socket errors/ { bad = bad " " $0 }
		END {
			if (n + 0 == 0) { print name, "nan", "nan"; exit }
			printf "%s %s %.1f%s\n", name, rps,
			    (b - a) / hz * 1e6 / n, bad ? " #" bad : ""
		}' "$TMP/wrk-$1.txt" >>"$TMP/results"
}

: >"$TMP/results"
start backends "$PRIMARY_PORT" "$NGINX" -p "$TMP" -c "$TMP/backends.conf" \
    -e "$TMP/backends-error.log"
wait_port "$CANDIDATE_PORT" "$PID_backends" || die "backends did not start"
start proxy "$NGINX_PROXY_PORT" "$NGINX" -p "$TMP" -c "$TMP/proxy.conf" \
    -e "$TMP/proxy-error.log"
echo "paritytap https:// backends benchmark: wrk -t$THREADS -c$CONNS -d$DURATION, GET $URL_PATH -> $BODY over TLS"
measure nginx "http://127.0.0.1:$NGINX_PROXY_PORT$URL_PATH" "$PID_proxy"
measure nginx-mirror "http://127.0.0.1:$NGINX_MIRROR_PORT$URL_PATH" "$PID_proxy"
start paritytap "$PT_PORT" "$PARITYTAP" proxy --listen "127.0.0.1:$PT_PORT" \
    --primary "https://127.0.0.1:$PRIMARY_PORT" \
    --candidate "https://127.0.0.1:$CANDIDATE_PORT" --ca-file "$TMP/ca.pem" \
    --threads "$NGINX_WORKERS" --capture "$TMP/capture.jsonl" -q
measure paritytap "http://127.0.0.1:$PT_PORT$URL_PATH" "$PID_paritytap"
kill -TERM "$PID_paritytap"
wait "$PID_paritytap" 2>/dev/null

awk '{ printf "  %-13s %10s req/s  %6s ms CPU per 1,000 requests%s\n",
    $1, $2, $3, (NF > 3 ? "  " substr($0, index($0, "#")) : "") }' \
    "$TMP/results"
r() {
	awk -v a="$1" -v b="$2" '$1 == a { x = $2 } $1 == b { y = $2 }
	    END { if (x + 0 == 0 || y + 0 == 0) print "n/a";
		else printf "%.2fx\n", x / y }' "$TMP/results"
}
c() {
	awk -v a="$1" -v b="$2" '$1 == a { x = $3 } $1 == b { y = $3 }
	    END { if (x + 0 == 0 || y + 0 == 0) print "n/a";
		else printf "%.2fx\n", x / y }' "$TMP/results"
}
MIRROR=$(r paritytap nginx-mirror)
echo "paritytap / nginx-mirror throughput: $MIRROR (target >= 2x)"
echo "paritytap / nginx proxy_pass throughput: $(r paritytap nginx)"
echo "paritytap / nginx-mirror CPU per request: $(c paritytap nginx-mirror)"
echo "paritytap / nginx proxy_pass CPU per request: $(c paritytap nginx)"
echo "(wrk, the backends and the proxy share this machine's $(nproc) cores)"
if [ "$STRICT" = 1 ]; then
	awk -v r="$MIRROR" 'BEGIN { sub(/x$/, "", r); exit !(r + 0 >= 2) }' ||
	    exit 1
fi
exit 0
