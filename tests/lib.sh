# tests/lib.sh: sourced by the end-to-end scripts (tests/t*.sh).
#
# TAP output (ok/is/like/..., done_testing), a private temp dir $T removed
# on exit, test backends and a proxy on private ports, and a trap that
# ends every process the script started, on every exit path.
#
# Environment (set by `make check`; defaults let a script run by hand from
# the build directory): PARITYTAP, TESTBACKEND, RAWCLIENT, top_srcdir,
# top_builddir.  PT_KEEP_TMP=1 keeps $T for a post-mortem.
#
# POSIX sh: /bin/sh is dash on Debian.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
PARITYTAP=${PARITYTAP:-$top_builddir/paritytap}
TESTBACKEND=${TESTBACKEND:-$top_builddir/tests/backends/testbackend}
RAWCLIENT=${RAWCLIENT:-$top_builddir/tests/backends/rawclient}
FIXTURES=$top_srcdir/tests/fixtures
TRACE_HEADER=X-Paritytap-Trace-Id

# Loopback only, whatever the caller's environment says.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
NO_COLOR=1
export NO_COLOR

tap_n=0
tap_failed=0
pt_pids=
PROXY_N=0
PROXY_PID=
PROXY_PORT=
PROXY_URL=
PROXY_ERR=
PROXY_STATUS=

# A deadline only bounds a failure: on a loaded machine (make -j, other
# jobs) what takes a second alone can take many, so no wait gives up
# before PT_WAIT_MIN seconds, whatever its caller asked.
PT_WAIT_MIN=${PT_WAIT_MIN:-120}

T=$(mktemp -d "${TMPDIR:-/tmp}/pt-$(basename "$0" .sh).XXXXXX") || {
	echo "Bail out! cannot create a temp dir"
	exit 1
}

# A ThreadSanitizer build (configure --enable-sanitizers=thread) writes
# its reports to $T/tsan.PID, which done_testing counts as a failure; the
# recorder library, never instrumented (it must load into any process),
# is suppressed (tests/tsan.supp).  Other builds ignore TSAN_OPTIONS.
TSAN_OPTIONS="suppressions=$top_srcdir/tests/tsan.supp log_path=$T/tsan${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export TSAN_OPTIONS

# sanitized: print the sanitizer paritytap was built with (AddressSanitizer,
# ThreadSanitizer) and succeed, or fail: a process under one holds freed
# memory (quarantine, shadow), so its peak memory says nothing.
sanitized() {
	_maps=$(ldd "$PARITYTAP" 2>/dev/null)
	case $_maps in
	*libasan*) echo AddressSanitizer ;;
	*libtsan*) echo ThreadSanitizer ;;
	*) return 1 ;;
	esac
}

# --- TAP --------------------------------------------------------------------

# Print lines as TAP diagnostics.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# Print a file (at most its last 40 lines) as TAP diagnostics.
diag_file() {
	[ -f "$1" ] || return 0
	diag "--- $1 (tail)"
	tail -n 40 "$1" | cut -c1-400 | sed 's/^/# /'
}

pass() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

# fail DESC [DIAG-LINE...]
fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	shift
	for l in "$@"; do
		diag "  $l"
	done
}

# ok DESC COMMAND [ARGS...]: passes when the command succeeds.
ok() {
	_d=$1
	shift
	if "$@"; then
		pass "$_d"
	else
		fail "$_d" "command failed: $*"
	fi
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want: '$2'"
	fi
}

# isnt GOT UNWANTED DESC
isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "got '$1', wanted anything else"
	fi
}

# like GOT ERE DESC: some line of GOT matches the extended regexp.
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		pass "$3"
	else
		fail "$3" "got:  '$(printf '%s' "$1" | head -c 2000)'" \
		    "want: match /$2/"
	fi
}

# unlike GOT ERE DESC: no line of GOT matches.
unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		fail "$3" "got:  '$(printf '%s' "$1" | head -c 2000)'" \
		    "want: no match for /$2/"
	else
		pass "$3"
	fi
}

# contains GOT FIXED-STRING DESC
contains() {
	case $1 in
	*"$2"*) pass "$3" ;;
	*) fail "$3" "got:  '$(printf '%s' "$1" | head -c 2000)'" \
	    "want: contains '$2'" ;;
	esac
}

# cmp_ok GOT OP WANT DESC: integer comparison, OP one of test's -eq -le ...
cmp_ok() {
	case $1 in
	''|*[!0-9-]*)
		fail "$4" "got '$1', not an integer" "want: $2 $3"
		return
		;;
	esac
	if test "$1" "$2" "$3"; then
		pass "$4"
	else
		fail "$4" "got:  $1" "want: $2 $3"
	fi
}

# skip REASON: one skipped test point.
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $*"
}

# skip_all REASON: the whole script is skipped.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# bail REASON: the script cannot go on.
bail() {
	echo "Bail out! $*"
	pt_dump_diagnostics
	exit 1
}

# Print the proxy's and backends' stderr when something failed.
pt_dump_diagnostics() {
	for f in "$T"/proxy.*.err "$T"/*.berr; do
		[ -s "$f" ] && diag_file "$f"
	done
	return 0
}

# done_testing: print the plan, exit 1 if any test failed.
done_testing() {
	for _f in "$T"/tsan.*; do
		[ -e "$_f" ] || continue
		fail "ThreadSanitizer: $(grep -c '^WARNING: ThreadSanitizer' \
		    "$_f") report(s) from pid ${_f##*.}"
		diag_file "$_f"
	done
	echo "1..$tap_n"
	if [ "$tap_failed" -gt 0 ]; then
		diag "$tap_failed of $tap_n failed; temp dir $T" \
		    "(PT_KEEP_TMP=1 keeps it)"
		pt_dump_diagnostics
		exit 1
	fi
	exit 0
}

# --- processes --------------------------------------------------------------

# Remember a pid to end on exit.
track() {
	pt_pids="$pt_pids $1"
}

# Print the direct children of a pid.
children_of() {
	if command -v pgrep >/dev/null 2>&1; then
		pgrep -P "$1" 2>/dev/null
	else
		ps -o pid= --ppid "$1" 2>/dev/null
	fi
}

# Send a signal to a pid and, first, to all its descendants.
kill_tree() {
	for _c in $(children_of "$1"); do
		kill_tree "$_c" "$2"
	done
	kill "-$2" "$1" 2>/dev/null
}

# asleep PID: every thread of the process is asleep (state S): it has
# reached a call that waits, and is not between two steps of its work.
asleep() {
	_any=
	for _f in /proc/"$1"/task/*/stat; do
		_st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "$_f" 2>/dev/null)
		[ -n "$_st" ] || continue
		[ "$_st" = S ] || return 1
		_any=1
	done
	[ -n "$_any" ]
}

# Whether a pid is alive (a zombie counts as dead).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" \
	    2>/dev/null)
	[ "$_st" != Z ]
}

# The exit trap: end everything this script started, remove $T.
pt_cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	for _p in $pt_pids; do
		alive "$_p" && kill_tree "$_p" TERM
	done
	_i=0
	for _p in $pt_pids; do
		while alive "$_p" && [ "$_i" -lt 30 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		alive "$_p" && kill_tree "$_p" KILL
	done
	if [ -n "${PT_KEEP_TMP:-}" ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$_status"
}
trap pt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# pt_deadline SECONDS: SECONDS, at least PT_WAIT_MIN, in tenths.
pt_deadline() {
	if [ "$1" -lt "$PT_WAIT_MIN" ]; then
		echo $((PT_WAIT_MIN * 10))
	else
		echo $(($1 * 10))
	fi
}

# wait_for SECONDS COMMAND [ARGS...]: poll every 0.1 s until it succeeds
# (SECONDS, at least PT_WAIT_MIN, bounds a failure).
wait_for() {
	_n=$(pt_deadline "$1")
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@"
}

# wait_pid PID SECONDS: wait for a tracked child to exit; sets WAIT_STATUS
# (its exit status, or "timeout" after SIGKILL when it would not die;
# SECONDS, at least PT_WAIT_MIN, bounds a failure).
wait_pid() {
	_n=$(pt_deadline "$2")
	while alive "$1" && [ "$_n" -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	if alive "$1"; then
		kill_tree "$1" KILL
		wait "$1" 2>/dev/null
		WAIT_STATUS=timeout
		return 1
	fi
	wait "$1" 2>/dev/null
	WAIT_STATUS=$?
	return 0
}

# need PROGRAM...: skip the whole script when a tool is missing.
# tshark_http ARGS: tshark reading every TCP port as HTTP.  A test
# backend's port is whatever the kernel gave, and tshark dissects a port
# another protocol registered (5060: SIP) as that protocol, not HTTP.
tshark_http() {
	tshark -d 'tcp.port==1-65535,http' "$@"
}

need() {
	for _p in "$@"; do
		command -v "$_p" >/dev/null 2>&1 || skip_all "$_p not installed"
	done
}

# Check the programs under test exist.
need_binaries() {
	[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"
	[ -x "$TESTBACKEND" ] || bail "TESTBACKEND=$TESTBACKEND is not executable"
	[ -x "$RAWCLIENT" ] || bail "RAWCLIENT=$RAWCLIENT is not executable"
}

# --- backends ---------------------------------------------------------------

# start_backend NAME [FIXTURE]: start a testbackend on a free port, logging
# to $T/NAME.log; sets BACKEND_PORT (also readable with backend_port NAME).
start_backend() {
	case $1 in
	''|*[!A-Za-z0-9_]*) bail "start_backend: bad name '$1'" ;;
	esac
	rm -f "$T/$1.port"
	: >"$T/$1.log"
	# $BACKEND_OPTS: more options (--tls-cert ...), split on spaces.
	# shellcheck disable=SC2086
	if [ -n "${2:-}" ]; then
		"$TESTBACKEND" --listen 127.0.0.1:0 --port-file "$T/$1.port" \
		    --log "$T/$1.log" --name "$1" --fixture "$2" \
		    ${BACKEND_OPTS:-} 2>"$T/$1.berr" &
	else
		"$TESTBACKEND" --listen 127.0.0.1:0 --port-file "$T/$1.port" \
		    --log "$T/$1.log" --name "$1" ${BACKEND_OPTS:-} \
		    2>"$T/$1.berr" &
	fi
	_pid=$!
	track "$_pid"
	eval "pt_backend_pid_$1=$_pid"
	_n=$(pt_deadline 0)
	while [ ! -s "$T/$1.port" ]; do
		if ! alive "$_pid" || [ "$_n" -le 0 ]; then
			diag_file "$T/$1.berr"
			bail "backend $1 did not start"
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	BACKEND_PORT=$(cat "$T/$1.port")
}

# backend_port NAME
backend_port() {
	cat "$T/$1.port"
}

# stop_backend NAME: SIGTERM it and wait (it must exit 0).
stop_backend() {
	eval "_pid=\$pt_backend_pid_$1"
	kill -TERM "$_pid" 2>/dev/null
	wait_pid "$_pid" 10
}

# backend_idle NAME: the backend is asleep in its event loop, so it has
# read and logged every byte written to it before this was called (a
# write on loopback wakes the reader at once).  Wait for it once the
# sender is done (e.g. the proxy has exited) before counting what a
# backend did NOT receive.
backend_idle() {
	eval "_pid=\$pt_backend_pid_$1"
	asleep "$_pid"
}

# backend_release NAME: the backend sends every response it holds for a
# "delay_ms" now, and no longer delays (SIGUSR1).
backend_release() {
	eval "_pid=\$pt_backend_pid_$1"
	kill -USR1 "$_pid"
}

# backend_events NAME [JQ-FILTER]: the backend's log events (compact JSON,
# one a line) that pass the filter.  A line still being written is
# skipped, never an error.
backend_events() {
	jq -cR "fromjson? | select(${2:-true})" "$T/$1.log"
}

# backend_requests NAME: the request events the backend logged.
backend_requests() {
	backend_events "$1" '.event == "request"'
}

# backend_nrequests NAME: how many requests the backend received.
backend_nrequests() {
	backend_events "$1" '.event == "request"' | wc -l | tr -d ' '
}

# backend_has NAME JQ-CONDITION: some logged event satisfies it.
backend_has() {
	[ -n "$(backend_events "$1" "$2" | head -n 1)" ]
}

# backend_nrequests_ge NAME N: the backend has received at least N
# requests.
backend_nrequests_ge() {
	[ "$(backend_nrequests "$1")" -ge "$2" ]
}

# backend_stats NAME: the backend's /__stats document.
backend_stats() {
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" \
	    "http://127.0.0.1:$(backend_port "$1")/__stats"
}

# --- proxy ------------------------------------------------------------------

# start_proxy ARGS...: run "$PARITYTAP" proxy --listen 127.0.0.1:0 ARGS in
# the background, stderr to $PROXY_ERR; wait (PT_WAIT_MIN) for its "proxy
# listening on" line.  Sets PROXY_PID, PROXY_PORT, PROXY_URL.  Returns 1
# (with diagnostics) if it exited or never got ready.
start_proxy() {
	PROXY_N=$((PROXY_N + 1))
	PROXY_ERR=$T/proxy.$PROXY_N.err
	PROXY_OUT=$T/proxy.$PROXY_N.out
	PROXY_PORT=
	PROXY_STATUS=
	: >"$PROXY_ERR"
	"$PARITYTAP" proxy --listen 127.0.0.1:0 "$@" \
	    >"$PROXY_OUT" 2>"$PROXY_ERR" &
	PROXY_PID=$!
	track "$PROXY_PID"
	_n=$(pt_deadline 0)
	while :; do
		PROXY_PORT=$(sed -n \
		    's/.*proxy listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' \
		    "$PROXY_ERR" | head -n 1)
		[ -n "$PROXY_PORT" ] && break
		if ! alive "$PROXY_PID"; then
			wait "$PROXY_PID" 2>/dev/null
			PROXY_STATUS=$?
			diag "proxy exited with status $PROXY_STATUS: $*"
			diag_file "$PROXY_ERR"
			return 1
		fi
		if [ "$_n" -le 0 ]; then
			diag "proxy not ready after $PT_WAIT_MIN s: $*"
			diag_file "$PROXY_ERR"
			return 1
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	PROXY_URL=http://127.0.0.1:$PROXY_PORT
	return 0
}

# stop_proxy [SIGNAL]: signal the proxy (TERM) and wait for it; sets
# PROXY_STATUS (the exit status, or "timeout").
stop_proxy() {
	[ -n "$PROXY_PID" ] || return 0
	kill "-${1:-TERM}" "$PROXY_PID" 2>/dev/null
	wait_pid "$PROXY_PID" 30
	PROXY_STATUS=$WAIT_STATUS
	PROXY_PID=
}

# diverge_lines: the DIVERGE lines the current proxy printed.
diverge_lines() {
	grep '^DIVERGE ' "$PROXY_ERR"
}

# --- requests ---------------------------------------------------------------

# header_of FILE NAME: the value of a header in a curl -D dump (the last
# response in it), CR and surrounding blanks removed.
header_of() {
	tr -d '\r' <"$1" | awk -v name="$2" '
		/^HTTP\// { v = "" }
		{
			i = index($0, ":")
			if (i > 0 && tolower(substr($0, 1, i - 1)) == tolower(name)) {
				v = substr($0, i + 1)
				sub(/^[ \t]+/, "", v)
				sub(/[ \t]+$/, "", v)
			}
		}
		END { print v }'
}

# req NAME CURL-ARGS...: one request with curl.  Headers go to
# $T/NAME.hdr, the body to $T/NAME.body.  Sets HTTP_CODE (000 when no
# response), CURL_STATUS, TRACE (the response's trace header) and BODY.
req() {
	_name=$1
	shift
	HTTP_CODE=$(curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -D "$T/$_name.hdr" \
	    -o "$T/$_name.body" -w '%{http_code}' "$@" 2>"$T/$_name.curlerr")
	CURL_STATUS=$?
	[ -f "$T/$_name.hdr" ] || : >"$T/$_name.hdr"
	[ -f "$T/$_name.body" ] || : >"$T/$_name.body"
	TRACE=$(header_of "$T/$_name.hdr" "$TRACE_HEADER")
	BODY=$(cat "$T/$_name.body")
}

# now_ms: the wall clock in milliseconds (the backends log the same clock).
now_ms() {
	date +%s%3N
}

# --- captures ---------------------------------------------------------------

# cap_nlines FILE: the number of lines in a capture file (0 if absent).
cap_nlines() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# cap_has_id FILE ID: whether a capture holds a (complete) line with that
# id.
cap_has_id() {
	[ -f "$1" ] && [ -n "$(jq -cR --arg id "$2" \
	    'fromjson? | select(.id == $id)' "$1" | head -n 1)" ]
}

# cap_get FILE ID JQ-FILTER: apply a filter to the capture line with id.
cap_get() {
	jq -r --arg id "$2" "select(.id == \$id) | $3" "$1"
}

# cap_line FILE ID: the capture line with that id, compact.
cap_line() {
	jq -c --arg id "$2" 'select(.id == $id)' "$1"
}

# cap_valid FILE: every line is a complete JSON object and the file ends
# with a newline (no torn line).
cap_valid() {
	[ -f "$1" ] || return 1
	if [ -s "$1" ] &&
	    [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
		return 1
	fi
	_bad=$(jq -R 'try (fromjson | type == "object") catch false' "$1" |
	    grep -c false)
	[ "$_bad" -eq 0 ]
}

# A minted trace id: 16 hex, a dash, 8 hex.
MINTED_ID_RE='^[0-9a-f]{16}-[0-9a-f]{8}$'

# The headless Chromium the HTML checks render pages with (no network of
# its own, a profile per run).
CHROME="chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync"

# have_chromium: whether the HTML pages can be rendered.
have_chromium() {
	command -v chromium >/dev/null 2>&1
}

# chrome_dom NAME URL: the DOM Chromium renders from URL in $T/NAME.html,
# its messages in $T/NAME.err; returns Chromium's exit status.
chrome_dom() {
	mkdir -p "$T/chrome-$1"
	timeout 90 $CHROME --user-data-dir="$T/chrome-$1" --dump-dom "$2" \
	    >"$T/$1.html" 2>"$T/$1.err"
}

# start_json_backends BODY: a primary and a candidate that both answer
# every request 200 with BODY as application/json; sets PRI and CAN to
# their URLs.
start_json_backends() {
	jq -n --arg b "$1" '{default: {status: 200,
	    headers: [["Content-Type", "application/json"]], body: $b}}' \
	    >"$T/ok.json"
	start_backend primary "$T/ok.json"
	start_backend candidate "$T/ok.json"
	PRI=http://127.0.0.1:$(backend_port primary)
	CAN=http://127.0.0.1:$(backend_port candidate)
}

# start_slow_backends P_MS C_MS: a primary that answers {"ok":true} after
# P_MS ms, and never within the hour on /slow, and a candidate that
# answers after C_MS ms: exchanges that are in flight when a test stops
# the proxy.
start_slow_backends() {
	jq -n --argjson p "$1" '{routes: [{path: "/slow", delay_ms: 3600000,
	    headers: [["Content-Type", "application/json"]],
	    body: "{\"ok\":true}"}],
	    default: {status: 200, delay_ms: $p,
	    headers: [["Content-Type", "application/json"]],
	    body: "{\"ok\":true}"}}' >"$T/primary.json"
	jq -n --argjson c "$2" '{default: {status: 200, delay_ms: $c,
	    headers: [["Content-Type", "application/json"]],
	    body: "{\"ok\":true}"}}' >"$T/candidate.json"
	start_backend primary "$T/primary.json"
	start_backend candidate "$T/candidate.json"
}
