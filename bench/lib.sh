# bench/lib.sh: sourced by the benchmarks (bash).  Set BENCH (the script's
# name for messages), PARITYTAP, NGINX, WRK and KEEP first, then call
# bench_init TAG: it checks the tools, makes $TMP, and stops every pid in
# $PIDS and removes $TMP on exit (KEEP=1 keeps it).

die() {
	echo "$BENCH: $*" >&2
	exit 2
}

note() {
	echo "$BENCH: $*" >&2
}

# Stop what we started, by pid, and remove the temporary directory.
bench_cleanup() {
	trap - EXIT INT TERM HUP
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -9 "$pid" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}

# Check the tools, make $TMP (paritytap-bench-TAG.XXXXXX), set the traps.
bench_init() {
	[ -x "$PARITYTAP" ] ||
	    die "$PARITYTAP not found: build first (make), or set PARITYTAP"
	[ -x "$NGINX" ] || die "nginx not found: apt-get install nginx, or set NGINX"
	command -v "$WRK" >/dev/null 2>&1 ||
	    die "wrk not found: apt-get install wrk, or set WRK"
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/paritytap-bench-$1.XXXXXX") ||
	    die "mktemp failed"
	PIDS=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	# Many connections may be open at once.
	ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
}

# Succeed if something accepts connections on 127.0.0.1:$1 (bash's /dev/tcp).
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Ports below the kernel's ephemeral range, so that no client socket holds
# the one we pick.
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
case ${EPHEMERAL_LOW:-} in ''|*[!0-9]*) EPHEMERAL_LOW=32768 ;; esac
[ "$EPHEMERAL_LOW" -gt 12000 ] || EPHEMERAL_LOW=32768
USED_PORTS=""

# Succeed if port $1 is bound on this machine in any state, as far as ss
# (or, without it, a connection attempt) can tell.
port_taken() {
	if command -v ss >/dev/null 2>&1; then
		ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q . && return 0
		return 1
	fi
	port_open "$1"
}

# Set variable $1 to a free port on 127.0.0.1 that this script has not
# handed out before.
free_port() {
	n=0
	while [ $n -lt 500 ]; do
		p=$(( ($(od -An -N2 -tu2 /dev/urandom) % (EPHEMERAL_LOW - 10000)) + 10000 ))
		n=$((n + 1))
		case " $USED_PORTS " in *" $p "*) continue ;; esac
		port_taken "$p" && continue
		USED_PORTS="$USED_PORTS $p"
		eval "$1=$p"
		return 0
	done
	die "no free port found"
}

# Wait up to 10 s for 127.0.0.1:$1 to accept connections while pid $2
# lives; fail otherwise.
wait_port() {
	n=0
	while [ $n -lt 100 ]; do
		port_open "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# Print the median of column $1 of file $2 ("nan" if any value is).
median() {
	awk -v c="$1" '{ print $c }' "$2" | sort -g | awk '
		{ v[NR] = $1; if ($1 == "nan") bad = 1 }
		END {
			if (bad || NR == 0) { print "nan"; exit }
			if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# Print the user + system CPU ticks of process $1 and of its children
# (nginx's master and its workers; paritytap's threads are in its own).
tree_cpu() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1
		line = $0
		sub(/^.*\) /, "", line)
		split(line, f, " ")
		# f[2] is the parent, f[12] and f[13] utime and stime.
		if (pid == p || f[2] == p)
			t += f[12] + f[13]
	} END { print t + 0 }'
}

# machine_cpu: the machine's busy and idle ticks, all CPUs, from /proc/stat
# as "BUSY IDLE" (busy: user, nice, system, irq, softirq, steal; idle:
# idle and iowait): with wrk and the backends on the same cores, what the
# whole machine spent on a run.
machine_cpu() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6;
	    exit }' /proc/stat
}
