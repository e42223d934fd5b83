#!/usr/bin/env bash
#
# bench/replay.sh: how fast paritytap replay gets through a large capture,
# next to wrk's requests/s against the same backends in the same run.
#
# A benchmark, not a test: `make check` never runs it.  Run it from the
# top of a built tree:
#
#	bench/replay.sh
#
# The capture is synthetic: N exchanges (GET /v1/items/K, the primary's
# recorded answer {"ok":true}) written by awk from a template.  The
# backends are nginx answering {"ok":true} on two ports.  Everything
# listens on 127.0.0.1, in a private temporary directory; every process it
# starts is stopped on exit.
#
# Environment:
#	PARITYTAP	paritytap binary [./paritytap]
#	NGINX		nginx binary [nginx from PATH, or /usr/sbin/nginx]
#	WRK		wrk binary [wrk]
#	N		exchanges in the capture [100000]
#	CONCURRENCY	replay --concurrency, and wrk's connections [64]
#	DURATION	wrk run time [10s]
#	THREADS		wrk threads [1]
#	REPEAT		wrk and recorded-mode replay runs, in turn [3]
#	KEEP=1		keep the temporary directory
#
# Runs: wrk straight to the candidate; replay against the recorded primary
# (one request per exchange: the common CI case); the same writing the
# replay's own capture (--capture); replay with --primary (two requests
# per exchange).  Beside each rate, the client's CPU seconds per 1,000
# requests (wrk's, or paritytap's, all threads: user + system time from
# the shell's `time`, which reads the process's rusage when it ends) and
# the candidate nginx's, from /proc/PID/stat before and after as
# bench/proxy.sh reads paritytap's.  Replay's figure is per 1,000
# exchanges, so with --primary it covers two requests each.
# Target: recorded-mode exchanges/s at least 0.6x wrk's requests/s, in
# the same run.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
WRK=${WRK:-wrk}
N=${N:-100000}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
KEEP=${KEEP:-0}

if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi

BENCH=bench/replay.sh
. "$(dirname "$0")/lib.sh"
bench_init replay
case $N in ''|*[!0-9]*) die "N must be a number: $N" ;; esac
case $CONCURRENCY in ''|*[!0-9]*) die "CONCURRENCY must be a number: $CONCURRENCY" ;; esac
case $REPEAT in ''|*[!0-9]*|0) die "REPEAT must be a number from 1: $REPEAT" ;; esac

free_port PRIMARY_PORT
free_port CANDIDATE_PORT
while [ "$CANDIDATE_PORT" = "$PRIMARY_PORT" ]; do
	free_port CANDIDATE_PORT
done

{
	if [ "$(id -u)" = 0 ]; then
		echo "user $(id -un) $(id -gn);"
	fi
	cat <<EOF
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
worker_processes 1;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path $TMP/body;
	proxy_temp_path $TMP/proxy;
	fastcgi_temp_path $TMP/fastcgi;
	uwsgi_temp_path $TMP/uwsgi;
	scgi_temp_path $TMP/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
	server {
		listen 127.0.0.1:$PRIMARY_PORT;
		listen 127.0.0.1:$CANDIDATE_PORT;
		location / {
			default_type application/json;
			return 200 '{"ok":true}';
		}
	}
}
EOF
} >"$TMP/nginx.conf"
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP" 2>"$TMP/nginx.err" &
NGINX_MASTER=$!
PIDS="$PIDS $!"
n=0
until port_open "$CANDIDATE_PORT"; do
	n=$((n + 1))
	[ $n -lt 100 ] || die "nginx did not start: $(cat "$TMP/nginx.err")"
	sleep 0.1
done

# The capture: one line per exchange, from a template.
CAP=$TMP/capture.jsonl
t0=$(date +%s%N)
awk -v n="$N" -v host="127.0.0.1:$PRIMARY_PORT" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"paritytap\":1,\"id\":\"18ea00000000%04x-%08x\",\"ts\":\"2026-11-21T12:00:00.000000Z\",\"source\":\"proxy\",\"route\":\"GET /v1/items/{id}\",\"request\":{\"method\":\"GET\",\"target\":\"/v1/items/%d\",\"version\":\"1.1\",\"headers\":[{\"name\":\"Host\",\"value\":\"%s\"},{\"name\":\"User-Agent\",\"value\":\"bench\"},{\"name\":\"Accept\",\"value\":\"*/*\"}]},\"responses\":{\"primary\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":\"application/json\"},{\"name\":\"Content-Length\",\"value\":\"11\"}],\"body\":\"{\\\"ok\\\":true}\",\"body_bytes\":11,\"ms\":0.5},\"candidate\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":\"application/json\"},{\"name\":\"Content-Length\",\"value\":\"11\"}],\"body\":\"{\\\"ok\\\":true}\",\"body_bytes\":11,\"ms\":0.5}},\"verdict\":\"match\"}\n", i % 65536, i, i, host
}' >"$CAP"
t1=$(date +%s%N)
printf 'capture: %d exchanges, %d bytes, written in %.2f s\n' "$N" \
    "$(wc -c <"$CAP")" "$(echo "($t1 - $t0) / 1000000000" | bc -l)"

# CPU ticks (user + system) of the nginx processes: the master and its
# worker.
nginx_cpu() {
	for _pid in $NGINX_PIDS; do
		cat "/proc/$_pid/stat" 2>/dev/null
	done | awk '{ n += $14 + $15 } END { print n + 0 }'
}
NGINX_PIDS=$(awk -v m="$NGINX_MASTER" '$4 == m { print $1 }' \
    /proc/[0-9]*/stat 2>/dev/null)
NGINX_PIDS="$NGINX_MASTER $NGINX_PIDS"
HZ=$(getconf CLK_TCK)

# timed FILE CMD...: run CMD with the shell's `time` on its user and
# system seconds, written to FILE as "user sys"; CMD's own output is
# redirected by the caller.
timed() {
	_tf=$1
	shift
	TIMEFORMAT='%3U %3S'
	{ time "$@" 2>&3 3>&-; } 3>&2 2>"$_tf"
}

# cpu_per NAME TIMEFILE NGINX0 NGINX1 COUNT: print paritytap's or wrk's
# CPU seconds per 1,000 (from TIMEFILE) and nginx's.
cpu_per() {
	awk -v n="$5" -v a="$3" -v b="$4" -v hz="$HZ" '{
		if (n + 0 == 0) { print "nan nan"; exit }
		printf "%.4f %.4f\n", ($1 + $2) * 1000 / n,
		    (b - a) / hz * 1000 / n
	}' "$2"
}

# run_wrk: wrk straight to the candidate, the same connection count; set
# WRK_RPS, WRK_CPU (wrk's CPU seconds per 1,000 requests) and WRK_NGINX
# (nginx's).
run_wrk() {
	n0=$(nginx_cpu)
	timed "$TMP/wrk.time" "$WRK" -t "$THREADS" -c "$CONCURRENCY" \
	    -d "$DURATION" "http://127.0.0.1:$CANDIDATE_PORT/v1/items/1" \
	    >"$TMP/wrk.out" 2>&1
	n1=$(nginx_cpu)
	WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
	WRK_REQS=$(awk '/ requests in / { print $1 }' "$TMP/wrk.out")
	[ -n "$WRK_RPS" ] || die "wrk failed: $(cat "$TMP/wrk.out")"
	set -- $(cpu_per wrk "$TMP/wrk.time" "$n0" "$n1" "$WRK_REQS")
	WRK_CPU=$1
	WRK_NGINX=$2
	printf '%-26s %8.0f requests/s   %s CPU s/1,000 (nginx %s)\n' \
	    "wrk -> candidate" "$WRK_RPS" "$WRK_CPU" "$WRK_NGINX"
}

# replay_rate NAME ARGS...: run replay, print and set RATE (exchanges/s)
# and CPU (paritytap's CPU seconds per 1,000 exchanges).
replay_rate() {
	name=$1
	shift
	n0=$(nginx_cpu)
	t0=$(date +%s%N)
	timed "$TMP/$name.time" "$PARITYTAP" replay -q \
	    --concurrency "$CONCURRENCY" "$@" "$CAP" \
	    >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	t1=$(date +%s%N)
	n1=$(nginx_cpu)
	RATE=$(echo "$N / (($t1 - $t0) / 1000000000)" | bc -l)
	set -- $(cpu_per "$name" "$TMP/$name.time" "$n0" "$n1" "$N")
	CPU=$1
	printf '%-26s %8.0f exchanges/s  %s CPU s/1,000 (nginx %s)  exit %d\n' \
	    "$name" "$RATE" "$1" "$2" "$rc"
	printf '    %s\n' "$(cat "$TMP/$name.out")"
}

echo "$N exchanges, -c $CONCURRENCY, wrk $DURATION, $REPEAT pairs; $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

# wrk and recorded-mode replay in turn, REPEAT times: on a shared machine
# the load moves between runs, and the medians of pairs hold better than
# one of each.
: >"$TMP/pairs"
r=0
while [ $r -lt "$REPEAT" ]; do
	r=$((r + 1))
	run_wrk
	replay_rate "replay (recorded primary)" \
	    --candidate "http://127.0.0.1:$CANDIDATE_PORT"
	echo "$WRK_RPS $RATE $WRK_CPU $CPU" | awk '{
		printf "%s %s %s %s %.4f %.4f\n", $1, $2, $3, $4, $2 / $1,
		    $4 / $3 }' >>"$TMP/pairs"
done
replay_rate "replay --capture" \
    --candidate "http://127.0.0.1:$CANDIDATE_PORT" \
    --capture "$TMP/replayed.jsonl"
rm -f "$TMP/replayed.jsonl"
replay_rate "replay --primary (live)" \
    --primary "http://127.0.0.1:$PRIMARY_PORT" \
    --candidate "http://127.0.0.1:$CANDIDATE_PORT"
printf 'median of %d pairs: wrk %.0f requests/s, replay %.0f exchanges/s; CPU s/1,000: wrk %.4f, replay %.4f\n' \
    "$REPEAT" "$(median 1 "$TMP/pairs")" "$(median 2 "$TMP/pairs")" \
    "$(median 3 "$TMP/pairs")" "$(median 4 "$TMP/pairs")"
printf 'ratio (recorded mode / wrk), each pair: %s\n' \
    "$(awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $5 }' "$TMP/pairs")"
printf 'CPU per 1,000 (replay / wrk), each pair: %s\n' \
    "$(awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $6 }' "$TMP/pairs")"
printf 'ratio, median: %.2f (target >= 0.6); CPU per 1,000, median: %.2fx wrk'"'"'s\n' \
    "$(median 5 "$TMP/pairs")" "$(median 6 "$TMP/pairs")"
