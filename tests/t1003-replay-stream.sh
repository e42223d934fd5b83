#!/bin/sh
# paritytap replay - reads a capture streamed in as it comes (tail -f, a
# pipe from another command): each line written to the pipe is replayed
# while the pipe stays open, not once 64 KiB or the end have come; a
# gzip stream is read member by member the same way; and while nothing
# comes, the event loop sleeps instead of polling.  rejudge - -o - writes
# each line out while its input waits.  Then the gzip reader's
# edges, with report: members one after another, a stream cut short and
# data after the stream, each read as gzip -d reads it and the last two
# said on stderr.

. "$(dirname "$0")/lib.sh"
need jq gzip awk
need_binaries

CAP=$FIXTURES/report-a.jsonl
start_backend candidate
CURL=http://127.0.0.1:$(backend_port candidate)

# targets FILE...: the request targets of the capture lines in the files,
# space-separated.
targets() {
	cat "$@" | jq -r .request.target | tr '\n' ' '
}

# got: the targets the candidate received, space-separated.
got() {
	backend_requests candidate | jq -r .target | tr '\n' ' '
}

# wakeups PID: the voluntary context switches of the process's main
# thread, the event loop (each wait it returns from is one).
wakeups() {
	awk '/^voluntary_ctxt_switches/ { print $2 }' \
	    "/proc/$1/task/$1/status"
}

# start NAME: replay from the fifo $T/NAME.in, written through fd 3, one
# exchange at a time (the candidate gets the requests in order).
start() {
	mkfifo "$T/$1.in"
	"$PARITYTAP" replay --concurrency 1 --candidate "$CURL" - <"$T/$1.in" \
	    >"$T/$1.out" 2>"$T/$1.err" &
	RPID=$!
	track "$RPID"
	exec 3>"$T/$1.in"
}

# finish NAME N: close the pipe; replay ends with the input, N replayed.
finish() {
	exec 3>&-
	wait_pid "$RPID" 60
	is "$WAIT_STATUS" 1 \
	    "$1: replay exits 1 at the end of the input (the candidate diverges)"
	like "$(cat "$T/$1.out")" "^paritytap replay: $2 exchanges: " \
	    "$1: the summary counts the $2 exchanges"
	unlike "$(cat "$T/$1.err")" 'read error|torn|ignored' \
	    "$1: nothing was cut or left out"
}

# --- plain lines: one, then a batch, then one after a wait ---
sed -n 1p "$CAP" >"$T/one"
{ sed -n '2,$p' "$CAP"; cat "$CAP" "$CAP"; } >"$T/batch"
start plain
cat "$T/one" >&3
ok "plain: the first line is replayed while the pipe stays open" \
    wait_for 30 backend_nrequests_ge candidate 1
cat "$T/batch" >&3
ok "plain: then a batch of 35" wait_for 30 backend_nrequests_ge candidate 36

# Nothing to await here: an idle loop is one that does not wake.  A
# loop polling for input wakes about 1,000 times a second; a busy
# machine makes it fewer, never more.
a=$(wakeups "$RPID")
sleep 1
b=$(wakeups "$RPID")
cmp_ok $((b - a)) -lt 50 \
    "plain: waiting for input, the loop sleeps ($((b - a)) wakeups in 1 s)"

cat "$T/one" >&3
ok "plain: a line after the wait is replayed" \
    wait_for 30 backend_nrequests_ge candidate 37
finish plain 37
is "$(got)" "$(targets "$T/one" "$T/batch" "$T/one")" \
    "plain: the candidate got the 37 requests in order"

# --- gzip: members one after another, as cat a.gz b.gz makes ---
start gzip
: >"$T/sent"
for i in 4 5 6; do
	sed -n "${i}p" "$CAP" | tee -a "$T/sent" | gzip -c >&3
	ok "gzip: member $((i - 3)) is replayed while the pipe stays open" \
	    wait_for 30 backend_nrequests_ge candidate $((i + 34))
done
finish gzip 3
is "$(got)" "$(targets "$T/one" "$T/batch" "$T/one" "$T/sent")" \
    "gzip: the candidate got its three requests in order, after the others"

# --- rejudge - -o -: what is re-judged is out while the input waits ---
# nlines FILE N: FILE has N lines at least.
nlines() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}
mkfifo "$T/rj.in"
"$PARITYTAP" rejudge - -o - <"$T/rj.in" >"$T/rj.out" 2>"$T/rj.err" &
RJPID=$!
track "$RJPID"
exec 3>"$T/rj.in"
sed -n 1p "$CAP" >&3
ok "rejudge: the first line is out while the pipe stays open" \
    wait_for 30 nlines "$T/rj.out" 1
sed -n 2p "$CAP" >&3
ok "rejudge: so is the second" wait_for 30 nlines "$T/rj.out" 2
exec 3>&-
wait_pid "$RJPID" 60
is "$WAIT_STATUS" 0 "rejudge: exits 0 at the end of the input"
is "$(jq -r .id "$T/rj.out" | tr '\n' ' ')" \
    "$(sed -n 1,2p "$CAP" | jq -r .id | tr '\n' ' ')" \
    "rejudge: the two exchanges, in order"

# --- gzip edges, read by report ---
# rep NAME FILE: report FILE as JSON; RC, $T/NAME.json and $T/NAME.err.
rep() {
	"$PARITYTAP" report -f json "$2" >"$T/$1.json" 2>"$T/$1.err"
	RC=$?
}
head -n 5 "$CAP" | gzip -c >"$T/a.gz"
tail -n 7 "$CAP" | gzip -c >"$T/b.gz"
cat "$T/a.gz" "$T/b.gz" >"$T/ab.gz"
rep members "$T/ab.gz"
is "$RC" 0 "two members: report exits 0"
is "$(jq .exchanges "$T/members.json")" 12 "two members: 5 + 7 exchanges read"

{ cat "$T/a.gz"; echo 'not gzip'; } >"$T/trail.gz"
rep trail "$T/trail.gz"
is "$RC" 0 "data after the stream: report exits 0"
is "$(jq .exchanges "$T/trail.json")" 5 "data after the stream: the 5 exchanges before it read"
is "$(cat "$T/trail.err")" \
    "paritytap: $T/trail.gz: data after the gzip stream is not gzip: ignored" \
    "data after the stream: said on stderr"

gzip -c "$CAP" >"$T/all.gz"
size=$(wc -c <"$T/all.gz")
head -c $((size - 40)) "$T/all.gz" >"$T/cut.gz"
rep cut "$T/cut.gz"
is "$RC" 0 "a stream cut short: report exits 0"
n=$(jq .exchanges "$T/cut.json")
ok "a stream cut short: the exchanges before the cut read ($n)" \
    test "$n" -ge 1 -a "$n" -lt 12
contains "$(cat "$T/cut.err")" \
    "paritytap: $T/cut.gz: the gzip stream ends early (unexpected end of file): read up to there" \
    "a stream cut short: said on stderr"

done_testing
