#!/usr/bin/env bash
#
# bench/proxy.sh: throughput and latency of paritytap's proxy against
# nginx's proxy_pass and mirror, with a fast and a 200 ms slow candidate.
#
# A benchmark, not a test: `make check` never runs it.  Run it from the
# top of a built tree:
#
#	bench/proxy.sh
#
# Everything listens on 127.0.0.1, on free ports, in a private temporary
# directory; every process it starts is stopped on exit.
#
# Environment:
#	PARITYTAP	paritytap binary [./paritytap]
#	TESTBACKEND	test backend used as the slow candidate
#			[./tests/backends/testbackend; python3 if missing]
#	NGINX		nginx binary [nginx from PATH, or /usr/sbin/nginx]
#	WRK		wrk binary [wrk]
#	DURATION	wrk run time per scenario [10s]
#	CONNS		wrk connections [32]
#	WRK_THREADS	wrk threads [2]
#	THREADS		a comma list of thread counts, say 1,2: run the
#			scaling scenarios instead of the others (see below)
#	WARMUP		warm-up run before each scenario, 0 for none [1s]
#	REPEAT		wrk runs per scenario; the medians are shown [1]
#	DELAY_MS	the slow candidate's delay [200]
#	NGINX_WORKERS	worker processes of the nginx proxy [1]
#	BASELINE	another paritytap binary (say, the last release) run
#			in the same way right after paritytap, for a
#			before/after throughput ratio; unset: not run
#	KEEP=1		keep the temporary directory (logs, captures)
#	STRICT=1	exit 1 when a target is missed
#
# Scenarios:
#	direct		wrk straight to the primary backend (nginx, return 200)
#	nginx		nginx proxy_pass to the primary, keepalive upstream
#	nginx-mirror	nginx proxy_pass + mirror to the candidate
#	paritytap	paritytap proxy, mirror + compare + capture to a file
# and nginx-mirror and paritytap again with a candidate that answers
# after DELAY_MS; then paritytap with a drifting candidate (a member
# changed type, one extra), without alerts and with --alert-url to a
# webhook receiver that answers after DELAY_MS
# (tests/backends/alertsink.py; skipped without python3); then paritytap
# with the fast candidate without an admin listener and with --admin and
# a scraper reading /metrics every second (skipped, with a message, when
# paritytap proxy has no --admin), with paritytap's CPU time per request.
#
# With THREADS=1,2 (any comma list of counts) the scaling scenarios run
# instead, for each count N in one run: nginx proxy_pass and nginx mirror
# with worker_processes N, and paritytap --threads N, each with the CPU
# seconds its processes used per 1,000 requests (from /proc/PID/stat
# before and after the measured runs; nginx's master and workers summed).
# Targets at each N: paritytap at least 2x nginx mirror's throughput and
# 0.7x nginx proxy_pass alone's, with at most 2x its CPU per request.
# The scenarios of one N run in rounds: each runs wrk once per round, in
# turn, REPEAT rounds (with BASELINE, its binary is a fourth scenario),
# and each round's ratios are printed besides the medians' ratios.
#
# Targets: paritytap's throughput at least 2x nginx-mirror's; paritytap's
# p99 with the slow candidate at most 1.5x its p99 with the fast one;
# with the drifting candidate, alerting on at least 0.97x alerting off;
# with the admin listener scraped, at least 0.97x without.  With
# --secondary and with --self-check 1 (a third request for each one), the
# throughput ratio to without is shown, with no target.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
TESTBACKEND=${TESTBACKEND:-./tests/backends/testbackend}
WRK=${WRK:-wrk}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-2}
THREADS=${THREADS:-}
WARMUP=${WARMUP:-1s}
REPEAT=${REPEAT:-1}
DELAY_MS=${DELAY_MS:-200}
NGINX_WORKERS=${NGINX_WORKERS:-1}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
URL_PATH=/v1/items/42
BODY='{"ok":true}'
BODY_DRIFT='{"ok":"true","extra":1}'

if [ -z "${NGINX:-}" ]; then
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
fi

BENCH=bench/proxy.sh
. "$(dirname "$0")/lib.sh"
bench_init proxy
case $CONNS in ''|*[!0-9]*) die "CONNS must be a number: $CONNS" ;; esac
case $REPEAT in ''|*[!0-9]*|0) die "REPEAT must be a number from 1: $REPEAT" ;; esac
case $DELAY_MS in ''|*[!0-9]*) die "DELAY_MS must be a number: $DELAY_MS" ;; esac

free_port PRIMARY_PORT
free_port FAST_PORT
free_port SLOW_PORT
free_port NGINX_PROXY_PORT
free_port NGINX_MIRROR_PORT
free_port NGINX_MIRROR_SLOW_PORT
free_port DRIFT_PORT

# Common nginx settings: everything inside the temporary directory.
nginx_common() {
	if [ "$(id -u)" = 0 ]; then
		# Workers would switch to "nobody", who cannot enter $TMP.
		echo "user $(id -un) $(id -gn);"
	fi
	cat <<EOF
daemon off;
pid $1.pid;
error_log $TMP/$1-error.log warn;
events { worker_connections 16384; }
EOF
}

nginx_http_common() {
	cat <<EOF
	access_log off;
	client_body_temp_path $TMP/$1-body;
	proxy_temp_path $TMP/$1-proxy;
	fastcgi_temp_path $TMP/$1-fastcgi;
	uwsgi_temp_path $TMP/$1-uwsgi;
	scgi_temp_path $TMP/$1-scgi;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
EOF
}

# The backends: primary and fast candidate answer the same small JSON body.
{
	nginx_common backends
	echo "worker_processes 1;"
	echo "http {"
	nginx_http_common backends
	for port in $PRIMARY_PORT $FAST_PORT; do
		cat <<EOF
	server {
		listen 127.0.0.1:$port;
		default_type application/json;
		location / { return 200 '$BODY'; }
	}
EOF
	done
	cat <<EOF
	server {
		listen 127.0.0.1:$DRIFT_PORT;
		default_type application/json;
		location / { return 200 '$BODY_DRIFT'; }
	}
}
EOF
} >"$TMP/backends.conf"

# The nginx proxies: plain, mirror to the fast candidate, mirror to the
# slow one.  Every upstream keeps connections alive, mirrors included, so
# nginx is measured at its best.
{
	nginx_common proxy
	echo "worker_processes $NGINX_WORKERS;"
	cat <<EOF
http {
$(nginx_http_common proxy)
	proxy_http_version 1.1;
	proxy_set_header Connection "";
	upstream primary { server 127.0.0.1:$PRIMARY_PORT; keepalive 256; }
	upstream candidate_fast { server 127.0.0.1:$FAST_PORT; keepalive 256; }
	upstream candidate_slow { server 127.0.0.1:$SLOW_PORT; keepalive 256; }
	server {
		listen 127.0.0.1:$NGINX_PROXY_PORT;
		location / { proxy_pass http://primary; }
	}
	server {
		listen 127.0.0.1:$NGINX_MIRROR_PORT;
		location / { mirror /_mirror; proxy_pass http://primary; }
		location = /_mirror {
			internal;
			proxy_pass http://candidate_fast\$request_uri;
		}
	}
	server {
		listen 127.0.0.1:$NGINX_MIRROR_SLOW_PORT;
		location / { mirror /_mirror; proxy_pass http://primary; }
		location = /_mirror {
			internal;
			proxy_pass http://candidate_slow\$request_uri;
		}
	}
}
EOF
} >"$TMP/proxy.conf"

# Start nginx with config $1 (a name in $TMP) and wait for port $2.
start_nginx() {
	"$NGINX" -p "$TMP" -c "$TMP/$1.conf" -e "$TMP/$1-error.log" \
	    >"$TMP/$1.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	if ! wait_port "$2" "$pid"; then
		cat "$TMP/$1.out" "$TMP/$1-error.log" >&2 2>/dev/null
		die "nginx ($1) did not start"
	fi
}

# A tiny keep-alive HTTP/1.1 server answering BODY after a delay.
cat >"$TMP/slow.py" <<'EOF'
import asyncio, sys

PORT = int(sys.argv[1])
DELAY = int(sys.argv[2]) / 1000.0
BODY = sys.argv[3].encode()
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class Slow(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.close = False

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip() == b"content-length":
                    length = int(value.strip() or 0)
                elif name.strip() == b"connection" and b"close" in value:
                    self.close = True
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            asyncio.get_running_loop().call_later(DELAY, self.answer,
                                                  self.close)

    def answer(self, close):
        if self.t.is_closing():
            return
        self.t.write(RESP)
        if close:
            self.t.close()


async def main():
    server = await asyncio.get_running_loop().create_server(
        Slow, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main())
EOF

# The test backend's fixture: every request gets BODY after DELAY_MS.
cat >"$TMP/slow-fixture.json" <<EOF
{"default":{"status":200,
  "headers":[["Content-Type","application/json"]],
  "body":$(printf '%s' "$BODY" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/'),
  "delay_ms":$DELAY_MS}}
EOF

# Start the slow candidate: the project's test backend if built, else
# the python3 server.
start_slow() {
	if [ -x "$TESTBACKEND" ] && [ -z "${BENCH_PYTHON_SLOW:-}" ]; then
		"$TESTBACKEND" --listen "127.0.0.1:$SLOW_PORT" \
		    --port-file "$TMP/slow.port" \
		    --fixture "$TMP/slow-fixture.json" \
		    >"$TMP/slow.out" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		if wait_port "$SLOW_PORT" "$pid"; then
			SLOW_KIND="testbackend"
			return 0
		fi
		note "testbackend did not start, falling back to python3:"
		sed 's/^/    /' "$TMP/slow.out" >&2
		kill "$pid" 2>/dev/null
	fi
	command -v python3 >/dev/null 2>&1 ||
	    die "no slow candidate: build tests/backends/testbackend or install python3"
	python3 "$TMP/slow.py" "$SLOW_PORT" "$DELAY_MS" "$BODY" \
	    >"$TMP/slow.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_port "$SLOW_PORT" "$pid" || {
		cat "$TMP/slow.out" >&2
		die "python3 slow candidate did not start"
	}
	SLOW_KIND="python3"
}

# Convert a wrk duration ("512.00us", "1.20ms", "2.01s", "1.00m") to ms.
to_ms() {
	echo "$1" | awk '{
		v = $1; u = $1
		sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
		if (u == "us") v = v / 1000
		else if (u == "ms" || u == "") v = v + 0
		else if (u == "s") v = v * 1000
		else if (u == "m") v = v * 60000
		else if (u == "h") v = v * 3600000
		else { print "nan"; exit }
		printf "%.3f\n", v
	}'
}

# Run wrk once on URL $2, output in file $1; append "rps p50 p99 errors"
# to $1.runs (latencies in ms, "nan" when the output is not understood).
wrk_once() {
	out=$1
	"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s \
	    --latency "$2" >"$out" 2>&1
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(awk '$1 == "50%" { print $2 }' "$out")
	p99=$(awk '$1 == "99%" { print $2 }' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	sockerr=$(awk -F'[ ,]+' '/Socket errors:/ {
		s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i
		print s }' "$out")
	if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
		note "wrk output not understood ($out):"
		sed 's/^/    /' "$out" >&2
		rps=nan p50=nan p99=nan
	else
		p50=$(to_ms "$p50")
		p99=$(to_ms "$p99")
	fi
	echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${sockerr:-0} ))" >>"$out.runs"
}

# Run wrk REPEAT times on URL $2 and record the medians under scenario
# name $1 (errors are summed).
run_wrk() {
	name=$1
	url=$2
	if [ "$WARMUP" != 0 ]; then
		"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$url" \
		    >/dev/null 2>&1
	fi
	i=1
	while [ "$i" -le "$REPEAT" ]; do
		wrk_once "$TMP/wrk-$name.$i.txt" "$url"
		cat "$TMP/wrk-$name.$i.txt.runs" >>"$TMP/wrk-$name.runs"
		i=$((i + 1))
	done
	wrk_summary "$name"
}

# Record scenario $1's medians over its runs (errors summed).
wrk_summary() {
	errors=$(awk '{ s += $4 } END { print s + 0 }' "$TMP/wrk-$1.runs")
	echo "$1 $(median 1 "$TMP/wrk-$1.runs")" \
	    "$(median 2 "$TMP/wrk-$1.runs")" \
	    "$(median 3 "$TMP/wrk-$1.runs") $errors" >>"$TMP/results"
}

# Print the requests wrk made in run file $1.
wrk_requests() {
	awk '/ requests in / { n += $1 } END { print n + 0 }' "$1"
}

# Print CPU ms per 1,000 requests from ticks $1 over requests $2.
cpu_per_1000() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		if (n + 0 == 0 || t + 0 < 0) print "nan"
		else printf "%.1f", t / hz * 1e6 / n }'
}

# Start paritytap (or $PT_BIN) against candidate port $2, capture name $1,
# more options after; sets PT_PORT once the ready line is printed and the
# port accepts connections.
start_paritytap() {
	free_port PT_PORT
	_name=$1
	_cport=$2
	shift 2
	"${PT_BIN:-$PARITYTAP}" proxy --listen "127.0.0.1:$PT_PORT" \
	    --primary "http://127.0.0.1:$PRIMARY_PORT" \
	    --candidate "http://127.0.0.1:$_cport" \
	    --capture "$TMP/$_name.jsonl" -q "$@" >"$TMP/$_name.out" \
	    2>"$TMP/$_name.log" &
	set -- "$_name"
	PT_PID=$!
	PIDS="$PIDS $PT_PID"
	n=0
	while [ $n -lt 100 ]; do
		if grep -qs '^paritytap: proxy listening on' "$TMP/$1.log" &&
		    port_open "$PT_PORT"; then
			return 0
		fi
		kill -0 "$PT_PID" 2>/dev/null || break
		sleep 0.1
		n=$((n + 1))
	done
	note "paritytap did not start (scenario $1):"
	sed 's/^/    /' "$TMP/$1.log" >&2
	return 1
}

# Stop paritytap with SIGTERM and describe its capture $1.
stop_paritytap() {
	kill -TERM "$PT_PID" 2>/dev/null
	n=0
	while kill -0 "$PT_PID" 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$PT_PID" 2>/dev/null; then
		note "paritytap still running 30 s after SIGTERM (scenario $1)"
		kill -9 "$PT_PID" 2>/dev/null
	fi
	wait "$PT_PID" 2>/dev/null
	status=$?
	lines=$(wc -l <"$TMP/$1.jsonl" 2>/dev/null || echo 0)
	if command -v jq >/dev/null 2>&1 && [ -s "$TMP/$1.jsonl" ]; then
		verdicts=$(jq -r '.verdict + (if .skip_reason then
		    "/" + .skip_reason else "" end)' "$TMP/$1.jsonl" 2>/dev/null |
		    sort | uniq -c | sort -rn |
		    awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
	else
		verdicts="(jq not installed)"
	fi
	summary=$(grep 'exchanges' "$TMP/$1.log" | tail -n 1)
	{
		echo "$1: exit $status, $lines capture lines: $verdicts"
		[ -n "$summary" ] && echo "    $summary"
	} >>"$TMP/notes"
}

# Print results field $2 (2 rps, 3 p50, 4 p99) of scenario $1.
field() {
	awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$TMP/results"
}

# Print $1 / $2, or "n/a".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0)
			print "n/a"
		else
			printf "%.2fx\n", a / b
	}'
}

# Print "ok" or "MISSED" for ratio $1 against "ge"/"le" target $2 $3.
verdict() {
	awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (r == "n/a") { print "n/a"; exit }
		sub(/x$/, "", r)
		ok = (op == "ge") ? (r + 0 >= t + 0) : (r + 0 <= t + 0)
		print ok ? "ok" : "MISSED"
	}'
}

# run_wrk_cpu NAME URL PID: run_wrk for scenario NAME on URL, and the
# CPU time process PID (its threads, and its children: nginx's master
# and workers) used over the measured runs, not the warm-up, in ms per
# 1,000 requests, appended to $TMP/cpu as "NAME ms": steadier than
# requests/s on a machine busy with other work.
run_wrk_cpu() {
	if [ "$WARMUP" != 0 ]; then
		"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$2" \
		    >/dev/null 2>&1
	fi
	_warmup=$WARMUP
	WARMUP=0
	_cpu0=$(tree_cpu "$3")
	run_wrk "$1" "$2"
	_cpu1=$(tree_cpu "$3")
	WARMUP=$_warmup
	_reqs=$(cat "$TMP/wrk-$1".*.txt | wrk_requests /dev/stdin)
	echo "$1 $(cpu_per_1000 $((_cpu1 - _cpu0)) "$_reqs")" >>"$TMP/cpu"
}

# run_rounds NAME URL PID [NAME URL PID ...]: each scenario warmed up,
# then REPEAT rounds in which each runs wrk once in turn, so that a
# machine that slows down or speeds up over a run's minutes weighs on
# every scenario alike.  The medians go to $TMP/results, each scenario's
# CPU per 1,000 requests over all its runs (process PID and its
# children) to $TMP/cpu, and each run to $TMP/rounds as "ROUND NAME
# REQUESTS/S CPU-MS/1000".
run_rounds() {
	_scen=$*
	set -- $_scen
	while [ $# -ge 3 ]; do
		if [ "$WARMUP" != 0 ]; then
			"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$2" \
			    >/dev/null 2>&1
		fi
		: >"$TMP/ticks-$1"
		shift 3
	done
	_r=1
	while [ "$_r" -le "$REPEAT" ]; do
		set -- $_scen
		while [ $# -ge 3 ]; do
			_c0=$(tree_cpu "$3")
			_m0=$(machine_cpu)
			wrk_once "$TMP/wrk-$1.$_r.txt" "$2"
			_m1=$(machine_cpu)
			_c1=$(tree_cpu "$3")
			cat "$TMP/wrk-$1.$_r.txt.runs" >>"$TMP/wrk-$1.runs"
			echo "$((_c1 - _c0)) $(wrk_requests "$TMP/wrk-$1.$_r.txt")" \
			    >>"$TMP/ticks-$1"
			_req=$(wrk_requests "$TMP/wrk-$1.$_r.txt")
			echo "$_r $1 $(awk '{ print $1 }' \
			    "$TMP/wrk-$1.$_r.txt.runs") $(cpu_per_1000 \
			    $((_c1 - _c0)) "$_req") $(echo "$_m0 $_m1" | awk \
			    -v n="$_req" -v hz="$(getconf CLK_TCK)" '{
				b = $3 - $1; i = $4 - $2
				if (n + 0 == 0 || b + i == 0) print "nan nan"
				else printf "%.1f %.0f\n", b / hz * 1e6 / n,
				    100 * i / (b + i) }')" >>"$TMP/rounds"
			shift 3
		done
		_r=$((_r + 1))
	done
	set -- $_scen
	while [ $# -ge 3 ]; do
		wrk_summary "$1"
		echo "$1 $(cpu_per_1000 "$(awk '{ t += $1 } END { print t + 0 }' \
		    "$TMP/ticks-$1")" "$(awk '{ n += $2 } END { print n + 0 }' \
		    "$TMP/ticks-$1")")" >>"$TMP/cpu"
		shift 3
	done
}

# Print, for each round of count $1, paritytap's ratios to nginx's
# scenarios (and a BASELINE's) in that round: their spread is the noise.
# Then the whole machine's CPU per request (wrk, the backends and the
# proxy on the same cores) in nginx proxy_pass's run and in paritytap's,
# with the idle share of each run: when both runs leave the machine
# busy, their throughput ratio is close to the inverse of these.  From
# them, the most CPU paritytap itself could use per request for 0.7x
# proxy_pass's throughput, everything else in its run (wrk, two backend
# legs, the kernel's share) unchanged: the machine's per request in
# proxy_pass's run over 0.7, less what paritytap's run spent outside
# paritytap; and the medians of that ceiling and of what it used.
round_ratios() {
	awk -v tc="$1" '
		{
			rps[$1 " " $2] = $3; cpu[$1 " " $2] = $4
			mach[$1 " " $2] = $5; idle[$1 " " $2] = $6
			if ($1 > n) n = $1
		}
		function r(a, b) {
			return (a == "" || b == "" || a == "nan" || b == "nan" ||
			    b + 0 == 0) ? "n/a" : sprintf("%.2fx", a / b)
		}
		function med(a, k,    i, j, t) {
			for (i = 1; i <= k; i++)
				for (j = i + 1; j <= k; j++)
					if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		END {
			for (i = 1; i <= n; i++) {
				pt = i " paritytap-" tc
				line = sprintf("%s: round %d: paritytap / mirror %s, " \
				    "/ proxy_pass %s, CPU / proxy_pass %s", tc, i,
				    r(rps[pt], rps[i " nginx-mirror-" tc]),
				    r(rps[pt], rps[i " nginx-" tc]),
				    r(cpu[pt], cpu[i " nginx-" tc]))
				if ((i " baseline-" tc) in rps)
					line = line sprintf(", / baseline %s, " \
					    "CPU / baseline %s",
					    r(rps[pt], rps[i " baseline-" tc]),
					    r(cpu[pt], cpu[i " baseline-" tc]))
				print line
			}
			k = 0
			for (i = 1; i <= n; i++) {
				pt = i " paritytap-" tc
				ng = i " nginx-" tc
				if (mach[pt] == "" || mach[pt] == "nan" ||
				    mach[ng] == "" || mach[ng] == "nan" ||
				    cpu[pt] == "nan")
					continue
				ceil = mach[ng] / 0.7 - (mach[pt] - cpu[pt])
				printf "%s: round %d: machine CPU ms/1,000: " \
				    "proxy_pass %.1f (idle %d%%), paritytap %.1f " \
				    "(idle %d%%); for 0.7x proxy_pass paritytap " \
				    "itself at most %.1f (used %.1f)\n", tc, i,
				    mach[ng], idle[ng], mach[pt], idle[pt], ceil,
				    cpu[pt]
				k++
				c[k] = ceil
				u[k] = cpu[pt]
			}
			if (k > 0)
				printf "%s: for 0.7x proxy_pass on this machine, " \
				    "paritytap itself at most %.1f ms of CPU per " \
				    "1,000 requests (median of %d rounds); it used " \
				    "%.1f\n", tc, med(c, k), k, med(u, k)
		}' "$TMP/rounds"
}

# The scaling scenarios: for each count N in THREADS, nginx proxy_pass
# and nginx mirror with worker_processes N, then paritytap --threads N,
# one right after the other, with their CPU per 1,000 requests.
run_scaling() {
	"$PARITYTAP" proxy --help 2>&1 | grep -q -- '--threads N' ||
	    die "$PARITYTAP proxy has no --threads"
	echo "paritytap proxy scaling: THREADS=$THREADS, wrk -t$WRK_THREADS -c$CONNS -d$DURATION x $REPEAT, GET $URL_PATH -> $BODY"
	echo "$("$PARITYTAP" --version 2>&1 | head -n 1); $("$NGINX" -v 2>&1); $("$WRK" --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
	echo "$(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'); wrk and the backends share them"
	echo
	for tc in $(echo "$THREADS" | tr ',' ' '); do
		case $tc in
		''|*[!0-9]*|0) die "THREADS: '$tc' is not a count from 1" ;;
		esac
		free_port SCALE_PROXY_PORT
		free_port SCALE_MIRROR_PORT
		{
			nginx_common "scale-$tc"
			echo "worker_processes $tc;"
			cat <<EOF
http {
$(nginx_http_common "scale-$tc")
	proxy_http_version 1.1;
	proxy_set_header Connection "";
	upstream primary { server 127.0.0.1:$PRIMARY_PORT; keepalive 256; }
	upstream candidate_fast { server 127.0.0.1:$FAST_PORT; keepalive 256; }
	server {
		listen 127.0.0.1:$SCALE_PROXY_PORT;
		location / { proxy_pass http://primary; }
	}
	server {
		listen 127.0.0.1:$SCALE_MIRROR_PORT;
		location / { mirror /_mirror; proxy_pass http://primary; }
		location = /_mirror {
			internal;
			proxy_pass http://candidate_fast\$request_uri;
		}
	}
}
EOF
		} >"$TMP/scale-$tc.conf"
		start_nginx "scale-$tc" "$SCALE_PROXY_PORT"
		_npid=$pid
		wait_port "$SCALE_MIRROR_PORT" "$_npid" ||
		    die "nginx (scale-$tc): port $SCALE_MIRROR_PORT"
		set -- "nginx-$tc" "http://127.0.0.1:$SCALE_PROXY_PORT$URL_PATH" \
		    "$_npid" "nginx-mirror-$tc" \
		    "http://127.0.0.1:$SCALE_MIRROR_PORT$URL_PATH" "$_npid"
		_pt=0
		_bl=0
		note "paritytap-$tc"
		if start_paritytap "paritytap-$tc" "$FAST_PORT" --threads "$tc"
		then
			_pt=$PT_PID
			set -- "$@" "paritytap-$tc" \
			    "http://127.0.0.1:$PT_PORT$URL_PATH" "$PT_PID"
		else
			echo "paritytap-$tc nan nan nan 0" >>"$TMP/results"
			echo "paritytap-$tc nan" >>"$TMP/cpu"
		fi
		if [ -n "${BASELINE:-}" ]; then
			note "baseline-$tc ($BASELINE)"
			if PT_BIN=$BASELINE start_paritytap "baseline-$tc" \
			    "$FAST_PORT" --threads "$tc"; then
				_bl=$PT_PID
				set -- "$@" "baseline-$tc" \
				    "http://127.0.0.1:$PT_PORT$URL_PATH" "$PT_PID"
			fi
		fi
		note "rounds: $(echo "$@" | awk '{ for (i = 1; i <= NF; i += 3)
		    printf "%s%s", (i > 1 ? ", " : ""), $i }')"
		run_rounds "$@"
		kill -TERM "$_npid" 2>/dev/null
		wait "$_npid" 2>/dev/null
		if [ "$_pt" != 0 ]; then
			PT_PID=$_pt
			stop_paritytap "paritytap-$tc"
		fi
		if [ "$_bl" != 0 ]; then
			PT_PID=$_bl
			stop_paritytap "baseline-$tc"
		fi
	done

	printf '%-20s %12s %10s %10s %8s %14s\n' scenario requests/s p50_ms \
	    p99_ms errors cpu_ms/1000req
	while read -r name rps p50 p99 errors; do
		printf '%-20s %12s %10s %10s %8s %14s\n' "$name" "$rps" "$p50" \
		    "$p99" "$errors" "$(awk -v n="$name" \
		    '$1 == n { print $2 }' "$TMP/cpu")"
	done <"$TMP/results"
	echo
	echo "(errors: non-2xx responses plus socket errors seen by wrk;"
	echo "cpu: user + system time of the proxy's processes per 1,000 requests)"
	echo
	missed=0
	for tc in $(echo "$THREADS" | tr ',' ' '); do
		r_mirror=$(ratio "$(field "paritytap-$tc" 2)" \
		    "$(field "nginx-mirror-$tc" 2)")
		r_nginx=$(ratio "$(field "paritytap-$tc" 2)" \
		    "$(field "nginx-$tc" 2)")
		c_pt=$(awk -v n="paritytap-$tc" '$1 == n { print $2 }' "$TMP/cpu")
		c_ng=$(awk -v n="nginx-$tc" '$1 == n { print $2 }' "$TMP/cpu")
		r_cpu=$(ratio "$c_pt" "$c_ng")
		printf '%-58s %7s  %s\n' \
		    "$tc: paritytap / nginx-mirror throughput" "$r_mirror" \
		    "target >= 2x: $(verdict "$r_mirror" ge 2)" \
		    "$tc: paritytap / nginx proxy_pass throughput" "$r_nginx" \
		    "target >= 0.7x: $(verdict "$r_nginx" ge 0.7)" \
		    "$tc: paritytap / nginx proxy_pass CPU per request" "$r_cpu" \
		    "target <= 2x: $(verdict "$r_cpu" le 2)"
		for v in "$(verdict "$r_mirror" ge 2)" \
		    "$(verdict "$r_nginx" ge 0.7)" "$(verdict "$r_cpu" le 2)"; do
			[ "$v" = ok ] || missed=1
		done
	done
	for tc in $(echo "$THREADS" | tr ',' ' '); do
		round_ratios "$tc"
	done
	first=$(echo "$THREADS" | cut -d, -f1)
	for tc in $(echo "$THREADS" | tr ',' ' '); do
		[ "$tc" = "$first" ] && continue
		printf '%-58s %7s\n' \
		    "paritytap throughput, $tc threads / $first" \
		    "$(ratio "$(field "paritytap-$tc" 2)" \
		    "$(field "paritytap-$first" 2)")" \
		    "nginx proxy_pass throughput, $tc workers / $first" \
		    "$(ratio "$(field "nginx-$tc" 2)" "$(field "nginx-$first" 2)")"
	done
	echo
	cat "$TMP/notes"
	[ "$STRICT" = 1 ] && [ $missed = 1 ] && return 1
	return 0
}

: >"$TMP/results"
: >"$TMP/notes"
: >"$TMP/cpu"
: >"$TMP/rounds"

start_nginx backends "$PRIMARY_PORT"
wait_port "$FAST_PORT" "$pid" || die "nginx backends: port $FAST_PORT"
if [ -n "$THREADS" ]; then
	run_scaling
	exit $?
fi
start_slow
start_nginx proxy "$NGINX_PROXY_PORT"

echo "paritytap proxy benchmark: wrk -t$WRK_THREADS -c$CONNS -d$DURATION x $REPEAT, GET $URL_PATH -> $BODY"
echo "$("$PARITYTAP" --version 2>&1 | head -n 1); $("$NGINX" -v 2>&1); $("$WRK" --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "slow candidate: $SLOW_KIND, ${DELAY_MS} ms; $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo

note "direct"
run_wrk direct "http://127.0.0.1:$PRIMARY_PORT$URL_PATH"
note "nginx"
run_wrk nginx "http://127.0.0.1:$NGINX_PROXY_PORT$URL_PATH"
note "nginx-mirror"
run_wrk nginx-mirror "http://127.0.0.1:$NGINX_MIRROR_PORT$URL_PATH"
note "paritytap"
if start_paritytap paritytap "$FAST_PORT"; then
	run_wrk paritytap "http://127.0.0.1:$PT_PORT$URL_PATH"
	stop_paritytap paritytap
else
	echo "paritytap nan nan nan 0" >>"$TMP/results"
fi
if [ -n "${BASELINE:-}" ]; then
	note "baseline ($BASELINE)"
	if PT_BIN=$BASELINE start_paritytap baseline "$FAST_PORT"; then
		run_wrk baseline "http://127.0.0.1:$PT_PORT$URL_PATH"
		stop_paritytap baseline
	else
		echo "baseline nan nan nan 0" >>"$TMP/results"
	fi
fi
note "nginx-mirror-slow"
run_wrk nginx-mirror-slow "http://127.0.0.1:$NGINX_MIRROR_SLOW_PORT$URL_PATH"
note "paritytap-slow"
if start_paritytap paritytap-slow "$SLOW_PORT"; then
	run_wrk paritytap-slow "http://127.0.0.1:$PT_PORT$URL_PATH"
	stop_paritytap paritytap-slow
else
	echo "paritytap-slow nan nan nan 0" >>"$TMP/results"
fi
# Alerting: the same drifting candidate without and with alert channels,
# one right after the other.
note "paritytap-drift"
if start_paritytap paritytap-drift "$DRIFT_PORT"; then
	run_wrk paritytap-drift "http://127.0.0.1:$PT_PORT$URL_PATH"
	stop_paritytap paritytap-drift
else
	echo "paritytap-drift nan nan nan 0" >>"$TMP/results"
fi
ALERTSINK=$(dirname "$0")/../tests/backends/alertsink.py
if command -v python3 >/dev/null 2>&1 && [ -f "$ALERTSINK" ]; then
	note "paritytap-drift-alert"
	python3 "$ALERTSINK" "$TMP/sink.port" "$TMP/sink.bodies" ok \
	    "$DELAY_MS" 2>"$TMP/sink.log" &
	PIDS="$PIDS $!"
	n=0
	while [ ! -s "$TMP/sink.port" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if [ -s "$TMP/sink.port" ] && start_paritytap paritytap-drift-alert \
	    "$DRIFT_PORT" --alert-url "http://127.0.0.1:$(cat \
	    "$TMP/sink.port")/hook" --alert-group-wait 1s \
	    --alert-group-interval 1s; then
		run_wrk paritytap-drift-alert \
		    "http://127.0.0.1:$PT_PORT$URL_PATH"
		stop_paritytap paritytap-drift-alert
		echo "    webhook messages received: $(cat \
		    "$TMP/sink.bodies" 2>/dev/null | wc -l)" >>"$TMP/notes"
	else
		echo "paritytap-drift-alert nan nan nan 0" >>"$TMP/results"
	fi
else
	note "no python3: alerting scenario skipped"
fi

# The admin listener: the same fast candidate without it, then with
# --admin and a scraper reading /metrics every second, as Prometheus
# would (its scrape_interval is seldom shorter), one right after the
# other.
ADMIN=0
if "$PARITYTAP" proxy --help 2>&1 | grep -q -- '--admin ADDR'; then
	ADMIN=1
	note "paritytap-admin-off"
	if start_paritytap paritytap-admin-off "$FAST_PORT"; then
		run_wrk_cpu paritytap-admin-off \
		    "http://127.0.0.1:$PT_PORT$URL_PATH" "$PT_PID"
		stop_paritytap paritytap-admin-off
	else
		echo "paritytap-admin-off nan nan nan 0" >>"$TMP/results"
	fi
	note "paritytap-admin"
	free_port ADMIN_PORT
	if start_paritytap paritytap-admin "$FAST_PORT" \
	    --admin "127.0.0.1:$ADMIN_PORT" &&
	    wait_port "$ADMIN_PORT" "$PT_PID"; then
		: >"$TMP/scrapes"
		while :; do
			curl -s --noproxy '*' --max-time 5 -o /dev/null \
			    -w '%{http_code}\n' \
			    "http://127.0.0.1:$ADMIN_PORT/metrics" >>"$TMP/scrapes"
			sleep 1
		done &
		SCRAPER=$!
		PIDS="$PIDS $SCRAPER"
		run_wrk_cpu paritytap-admin \
		    "http://127.0.0.1:$PT_PORT$URL_PATH" "$PT_PID"
		kill "$SCRAPER" 2>/dev/null
		wait "$SCRAPER" 2>/dev/null
		stop_paritytap paritytap-admin
		echo "    /metrics scrapes: $(grep -c '^200$' "$TMP/scrapes") \
answered 200, $(grep -vc '^200$' "$TMP/scrapes") not" >>"$TMP/notes"
	else
		echo "paritytap-admin nan nan nan 0" >>"$TMP/results"
	fi
else
	note "paritytap proxy has no --admin: admin scenario skipped"
fi

# The third side: the same fast candidate without a secondary, then with
# --secondary (a second copy of the primary: the primary's own server
# here) and with --self-check 1 (every GET asked of the primary twice),
# one right after the other.
SECONDARY=0
if "$PARITYTAP" proxy --help 2>&1 | grep -q -- '--secondary URL'; then
	SECONDARY=1
	for sc in paritytap-secondary-off paritytap-secondary \
	    paritytap-self-check; do
		note "$sc"
		case $sc in
		paritytap-secondary-off) set -- ;;
		paritytap-secondary)
			set -- --secondary "http://127.0.0.1:$PRIMARY_PORT" ;;
		paritytap-self-check) set -- --self-check 1 ;;
		esac
		if start_paritytap "$sc" "$FAST_PORT" "$@"; then
			run_wrk_cpu "$sc" \
			    "http://127.0.0.1:$PT_PORT$URL_PATH" "$PT_PID"
			stop_paritytap "$sc"
		else
			echo "$sc nan nan nan 0" >>"$TMP/results"
		fi
	done
else
	note "paritytap proxy has no --secondary: secondary scenario skipped"
fi

printf '%-20s %12s %10s %10s %8s\n' scenario requests/s p50_ms p99_ms errors
while read -r name rps p50 p99 errors; do
	printf '%-20s %12s %10s %10s %8s\n' "$name" "$rps" "$p50" "$p99" "$errors"
done <"$TMP/results"
echo
echo "(errors: non-2xx responses plus socket errors seen by wrk)"
echo

r_fast=$(ratio "$(field paritytap 2)" "$(field nginx-mirror 2)")
r_slow=$(ratio "$(field paritytap-slow 2)" "$(field nginx-mirror-slow 2)")
r_p99=$(ratio "$(field paritytap-slow 4)" "$(field paritytap 4)")
r_nginx=$(ratio "$(field nginx-mirror-slow 2)" "$(field nginx-mirror 2)")
printf '%-58s %7s  %s\n' \
    "paritytap / nginx-mirror throughput, fast candidate" "$r_fast" \
    "target >= 2x: $(verdict "$r_fast" ge 2)" \
    "paritytap / nginx-mirror throughput, slow candidate" "$r_slow" \
    "target >= 2x: $(verdict "$r_slow" ge 2)" \
    "paritytap p99, slow candidate / fast candidate" "$r_p99" \
    "target <= 1.5x: $(verdict "$r_p99" le 1.5)" \
    "nginx-mirror throughput, slow candidate / fast candidate" "$r_nginx" \
    ""
r_alert=$(ratio "$(field paritytap-drift-alert 2)" "$(field paritytap-drift 2)")
printf '%-58s %7s  %s\n' \
    "paritytap throughput, drifting candidate, alerts on / off" "$r_alert" \
    "target >= 0.97: $(verdict "$r_alert" ge 0.97)"
if [ "$ADMIN" = 1 ]; then
	r_admin=$(ratio "$(field paritytap-admin 2)" \
	    "$(field paritytap-admin-off 2)")
	printf '%-58s %7s  %s\n' \
	    "paritytap throughput, admin scraped each 1s / no admin" \
	    "$r_admin" "target >= 0.97: $(verdict "$r_admin" ge 0.97)"
	cpu_off=$(awk '$1 == "paritytap-admin-off" { print $2 }' "$TMP/cpu")
	cpu_on=$(awk '$1 == "paritytap-admin" { print $2 }' "$TMP/cpu")
	printf '%-58s %7s\n' \
	    "paritytap CPU per request, no admin (us)" "${cpu_off:-nan}" \
	    "paritytap CPU per request, admin scraped each 1s (us)" \
	    "${cpu_on:-nan}"
	printf '%-58s %7s\n' \
	    "paritytap CPU per request, admin scraped / no admin" \
	    "$(ratio "$cpu_on" "$cpu_off")"
fi
if [ "$SECONDARY" = 1 ]; then
	printf '%-58s %7s\n' \
	    "paritytap throughput, --secondary / without" \
	    "$(ratio "$(field paritytap-secondary 2)" \
	    "$(field paritytap-secondary-off 2)")" \
	    "paritytap throughput, --self-check 1 / without" \
	    "$(ratio "$(field paritytap-self-check 2)" \
	    "$(field paritytap-secondary-off 2)")"
	cpu_off=$(awk '$1 == "paritytap-secondary-off" { print $2 }' "$TMP/cpu")
	cpu_on=$(awk '$1 == "paritytap-secondary" { print $2 }' "$TMP/cpu")
	printf '%-58s %7s\n' \
	    "paritytap CPU per request, --secondary / without" \
	    "$(ratio "$cpu_on" "$cpu_off")"
fi
if [ -n "${BASELINE:-}" ]; then
	r_base=$(ratio "$(field paritytap 2)" "$(field baseline 2)")
	printf '%-58s %7s  %s\n' \
	    "paritytap / baseline throughput, fast candidate" "$r_base" \
	    "target >= 0.97: $(verdict "$r_base" ge 0.97)"
fi
echo
cat "$TMP/notes"

missed=0
grep -q nan "$TMP/results" && missed=1
for v in "$(verdict "$r_fast" ge 2)" "$(verdict "$r_slow" ge 2)" \
    "$(verdict "$r_p99" le 1.5)" "$(verdict "$r_alert" ge 0.97)"; do
	[ "$v" = ok ] || missed=1
done
if [ "$ADMIN" = 1 ] && [ "$(verdict "$r_admin" ge 0.97)" != ok ]; then
	missed=1
fi
[ "$STRICT" = 1 ] && [ $missed = 1 ] && exit 1
exit 0
