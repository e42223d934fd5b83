#!/bin/sh
# SIGHUP with --threads 4: the main thread takes the signal and asks the
# pipeline, the capture's one writer, to reopen once.  The exchanges that
# finished before it, on every loop, are in the file logrotate moved away;
# those after it in the new one; none is lost or written twice.  SIGUSR2's
# summary line sums every loop's exchanges while the proxy runs.
#
# No clock: each phase's clients are awaited, and each phase's lines are
# awaited in the capture before the next step.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

CLIENTS=8
PER=10
PHASE=$((CLIENTS * PER))

jq -n '{default: {status: 200, headers: [["Content-Type",
    "application/json"]], body: "{\"ok\":true}"}}' >"$T/backend.json"
start_backend primary "$T/backend.json"
start_backend candidate "$T/backend.json"
CAP=$T/capture.jsonl
start_proxy -v --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --threads 4 || bail "the proxy did not start"

# phase NAME: CLIENTS clients in parallel, PER requests each on one
# connection; the trace ids the clients got go to $T/NAME.ids.
phase() {
	_pids=
	_c=1
	while [ "$_c" -le "$CLIENTS" ]; do
		curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" \
		    -D "$T/$1.$_c.hdr" -o /dev/null -w '%{http_code}\n' \
		    "$PROXY_URL/$1/$_c/[1-$PER]" >"$T/$1.$_c.codes" \
		    2>/dev/null &
		track $!
		_pids="$_pids $!"
		_c=$((_c + 1))
	done
	for _p in $_pids; do
		wait_pid "$_p" 300
	done
	is "$(cat "$T/$1".*.codes | grep -c '^200$')" "$PHASE" \
	    "$1: all $PHASE requests answered 200"
	cat "$T/$1".*.hdr | tr -d '\r' | awk -v h="$TRACE_HEADER" \
	    'tolower($1) == tolower(h) ":" { print $2 }' | sort >"$T/$1.ids"
}

# nlines_eq FILE N
nlines_eq() {
	[ "$(cap_nlines "$1")" -eq "$2" ]
}

phase before
ok "before: every line is flushed" wait_for 30 nlines_eq "$CAP" "$PHASE"
mv "$CAP" "$CAP.1"
kill -HUP "$PROXY_PID"
ok "the proxy reopened its files" \
    wait_for 30 grep -q 'SIGHUP: reopening the capture and events files' \
    "$PROXY_ERR"
phase after
ok "after: every line is flushed to a new file" \
    wait_for 30 nlines_eq "$CAP" "$PHASE"

kill -USR2 "$PROXY_PID"
ok "SIGUSR2: the summary so far counts every loop's exchanges" \
    wait_for 30 grep -q "^paritytap proxy: $((2 * PHASE)) exchanges" "$PROXY_ERR"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(grep -c 'reopening the capture' "$PROXY_ERR")" 1 \
    "one SIGHUP, one reopen"
ok "the moved file has no torn line" cap_valid "$CAP.1"
ok "the new file has no torn line" cap_valid "$CAP"
jq -r .id "$CAP.1" | sort >"$T/old.ids"
jq -r .id "$CAP" | sort >"$T/new.ids"
is "$(comm -3 "$T/before.ids" "$T/old.ids" | grep -c .)" 0 \
    "the moved file holds exactly the exchanges before SIGHUP"
is "$(comm -3 "$T/after.ids" "$T/new.ids" | grep -c .)" 0 \
    "the new file holds exactly the exchanges after it"
is "$(sort -u "$T/old.ids" "$T/new.ids" | grep -c .)" "$((2 * PHASE))" \
    "no exchange is in both files"

done_testing
