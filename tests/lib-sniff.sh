# tests/lib-sniff.sh: sourced after lib.sh by the tests that run
# paritytap sniff on the loopback (t0620, t080*, t086*, t089*).

# sniff_once NAME ARGS...: paritytap sniff -i lo with a port and a
# candidate that exits at once (bounded to 10 s): usage errors and
# --help.  Sets ST, and ERR to its stderr; stdout in $T/NAME.out.
sniff_once() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" sniff -i lo --port 80 \
	    --candidate http://127.0.0.1:2 "$@" >"$T/$_n.out" \
	    2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

# can_capture: this process may capture on lo (uid 0 with CAP_NET_RAW
# effective).
can_capture() {
	_capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status 2>/dev/null)
	[ "$(id -u)" -eq 0 ] && [ -n "$_capeff" ] &&
	    [ $(((0x$_capeff >> 13) & 1)) -eq 1 ]
}

# need_capture: the rest of the test captures on lo; without the right,
# it says so (one skip) and ends here.
need_capture() {
	can_capture && return 0
	skip "sniff: capturing on lo needs root with CAP_NET_RAW (uid $(id -u))"
	done_testing
}

SNIFF_N=0
SNIFF_PID=
SNIFF_ERR=

# start_sniff ARGS...: paritytap sniff -i lo ARGS in the background,
# stderr to $SNIFF_ERR, its pid in $SNIFF_PID; waits up to 10 s for its
# "sniff: listening on lo" line.
start_sniff() {
	SNIFF_N=$((SNIFF_N + 1))
	SNIFF_ERR=$T/sniff.$SNIFF_N.err
	: >"$SNIFF_ERR"
	"$PARITYTAP" sniff -i lo "$@" >"$T/sniff.$SNIFF_N.out" \
	    2>"$SNIFF_ERR" </dev/null &
	SNIFF_PID=$!
	track "$SNIFF_PID"
	if ! wait_for 10 grep -q '^sniff: listening on lo ' "$SNIFF_ERR"; then
		diag_file "$SNIFF_ERR"
		return 1
	fi
}

# stop_sniff [SIGNAL]: signal sniff (INT) and wait; sets SNIFF_STATUS
# and WAIT_STATUS.
stop_sniff() {
	kill "-${1:-INT}" "$SNIFF_PID" 2>/dev/null
	wait_pid "$SNIFF_PID" 30
	SNIFF_STATUS=$WAIT_STATUS
}
