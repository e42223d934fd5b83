#!/bin/bash
# bench/preload.sh: what libparitytap-preload costs a server.  nginx (one
# worker, sendfile on, keep-alive) serves a small JSON file under wrk,
# without the library and with it in LD_PRELOAD recording every
# connection, in the same run, alternating ROUNDS times; prints the median
# requests/s and p99 of each and the throughput ratio.
#
# Target: throughput with the library / without >= 0.9.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
PRELOAD_LIB=${PRELOAD_LIB:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}
WRK=${WRK:-wrk}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-1s}
ROUNDS=${ROUNDS:-3}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
# Where the library writes its pcap (a directory): the file system matters.
OUT_DIR=${OUT_DIR:-}
BODY='{"id":42,"name":"widget","tags":["a","b"],"price":12.5,"ok":true}'

if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi

BENCH=bench/preload.sh
. "$(dirname "$0")/lib.sh"
bench_init preload
[ -f "$PRELOAD_LIB" ] ||
    die "$PRELOAD_LIB not found: build first (make), or set PRELOAD_LIB"
case $ROUNDS in ''|*[!0-9]*|0) die "ROUNDS must be a number from 1: $ROUNDS" ;; esac

[ -n "$OUT_DIR" ] || OUT_DIR=$TMP/rec
mkdir -p "$TMP/www" "$OUT_DIR" || die "cannot make $OUT_DIR"
OUT_DIR=$(mktemp -d "$OUT_DIR/paritytap-bench-rec.XXXXXX") || die "mktemp in $OUT_DIR"
printf '%s' "$BODY" >"$TMP/www/item.json"
free_port PORT
{
	if [ "$(id -u)" = 0 ]; then
		# Workers would switch to "nobody", who cannot enter $TMP.
		echo "user $(id -un) $(id -gn);"
	fi
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/body;
	proxy_temp_path $TMP/proxy;
	fastcgi_temp_path $TMP/fastcgi;
	uwsgi_temp_path $TMP/uwsgi;
	scgi_temp_path $TMP/scgi;
	sendfile on;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
	types { application/json json; }
	server {
		listen 127.0.0.1:$PORT;
		root $TMP/www;
	}
}
EOF
} >"$TMP/nginx.conf"

# Start nginx, with the library if $1 is "preload"; sets NGINX_PID.
start_nginx() {
	if [ "$1" = preload ]; then
		rm -f "$OUT_DIR"/*
		PARITYTAP_PRELOAD_OUT=$OUT_DIR/nginx LD_PRELOAD=$PRELOAD_LIB \
		    "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" \
		    >"$TMP/nginx.out" 2>&1 &
	else
		"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" \
		    >"$TMP/nginx.out" 2>&1 &
	fi
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
	if ! wait_port "$PORT" "$NGINX_PID"; then
		cat "$TMP/nginx.out" "$TMP/error.log" >&2 2>/dev/null
		die "nginx ($1) did not start"
	fi
}

# Stop nginx (SIGTERM: workers exit and the library writes its counters).
stop_nginx() {
	kill -TERM "$NGINX_PID" 2>/dev/null
	n=0
	while kill -0 "$NGINX_PID" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -9 "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
	# The port is free again once no socket holds it.
	n=0
	while port_open "$PORT" && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

# Print the user + system CPU ticks of process $1.
worker_cpu() {
	[ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# Run wrk once against nginx started as $1; append "rps p99_ms" to
# $TMP/$1.runs.
run_once() {
	start_nginx "$1"
	url=http://127.0.0.1:$PORT/item.json
	[ "$WARMUP" != 0 ] && "$WRK" -t"$THREADS" -c"$CONNS" -d"$WARMUP" \
	    "$url" >/dev/null 2>&1
	out=$TMP/wrk-$1-$round.txt
	worker=$(pgrep -P "$NGINX_PID" 2>/dev/null | head -n 1)
	cpu0=$(worker_cpu "$worker")
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" \
	    >"$out" 2>&1
	cpu1=$(worker_cpu "$worker")
	stop_nginx
	reqs=$(awk '/requests in/ { print $1 }' "$out")
	# The worker's CPU time per request, in microseconds: steadier than
	# requests/s on a machine that is busy with other work.
	us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="${reqs:-0}" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { if (n + 0 == 0 || a == "" || b == "") print "nan"
		else printf "%.1f", (b - a) / hz * 1e6 / n }')
	echo "$us" >>"$TMP/$1.cpu"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", v)
		sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000
		printf "%.3f", v }' "$out")
	if [ -z "$rps" ]; then
		note "wrk output not understood ($out):"
		sed 's/^/    /' "$out" >&2
		rps=nan p99=nan
	fi
	echo "$rps $p99" >>"$TMP/$1.runs"
	if [ "$1" = preload ]; then
		bytes=$(cat "$OUT_DIR"/*.pcap 2>/dev/null | wc -c)
		dropped=$(cat "$OUT_DIR"/*.stats 2>/dev/null |
		    awk '$1 == "dropped" || $1 == "write_errors" { s += $2 }
		    END { print s + 0 }')
		echo "round $round: $rps requests/s recorded, pcap $((bytes / 1048576)) MiB, $dropped records dropped" >>"$TMP/notes"
	fi
}

: >"$TMP/notes"
echo "libparitytap-preload benchmark: nginx (1 worker, sendfile) serving ${#BODY} bytes of JSON;"
echo "wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds each, alternating"
echo "$("$NGINX" -v 2>&1); $("$WRK" --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "$(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "pcap written to $OUT_DIR ($(stat -f -c %T "$OUT_DIR" 2>/dev/null || echo '?'))"
echo

round=1
while [ "$round" -le "$ROUNDS" ]; do
	note "round $round: without the library"
	run_once plain
	note "round $round: with the library"
	run_once preload
	round=$((round + 1))
done

plain_rps=$(median 1 "$TMP/plain.runs")
plain_p99=$(median 2 "$TMP/plain.runs")
pre_rps=$(median 1 "$TMP/preload.runs")
pre_p99=$(median 2 "$TMP/preload.runs")
plain_cpu=$(median 1 "$TMP/plain.cpu")
pre_cpu=$(median 1 "$TMP/preload.cpu")
printf '%-22s %12s %10s %18s\n' scenario requests/s p99_ms worker_us/request
printf '%-22s %12s %10s %18s\n' nginx "$plain_rps" "$plain_p99" "$plain_cpu"
printf '%-22s %12s %10s %18s\n' nginx+preload "$pre_rps" "$pre_p99" "$pre_cpu"
echo
cat "$TMP/notes"
ratio=$(awk -v a="$pre_rps" -v b="$plain_rps" 'BEGIN {
	if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"
	else printf "%.2f\n", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN {
	if (r == "n/a") print "n/a"; else print (r + 0 >= 0.9) ? "ok" : "MISSED" }')
cpu_ratio=$(awk -v a="$plain_cpu" -v b="$pre_cpu" 'BEGIN {
	if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"
	else printf "%.2f\n", a / b }')
echo
echo "throughput with the library / without: $ratio (target >= 0.9: $verdict)"
echo "worker CPU per request, without / with: $cpu_ratio"
rm -rf "$OUT_DIR"
[ "$STRICT" = 1 ] && [ "$verdict" != ok ] && exit 1
rm -rf "$OUT_DIR"
exit 0
