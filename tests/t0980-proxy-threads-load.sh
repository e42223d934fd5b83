#!/bin/sh
# --threads 4 under concurrent clients: four event loops, each with its
# own listening socket on the one port, its own clients and its own pools.
# Every request is answered, has exactly one capture line (the one the
# client's trace id names), and the backends see their connections kept
# alive: each client connection stays on the loop that accepted it, and
# that loop's pool has an idle primary connection for its next request,
# so the primary never sees more connections than there are clients.
#
# No clock: eight clients in parallel, each sending its requests one after
# the other on one keep-alive connection, and the test waits for them.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

CLIENTS=8
PER=50
TOTAL=$((CLIENTS * PER))

BODY='{"ok":true,"n":1}'
jq -n --arg b "$BODY" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/backend.json"
start_backend primary "$T/backend.json"
start_backend candidate "$T/backend.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --threads 4 || bail "the proxy did not start"

# The main thread runs the first loop; the others are named threads.
if [ -d "/proc/$PROXY_PID/task" ]; then
	is "$(cat /proc/"$PROXY_PID"/task/*/comm | grep -c '^proxy-loop-')" 3 \
	    "three event loops run on threads of their own beside the main one"
else
	skip "no /proc: the proxy's threads are not listed"
fi

# Each client: PER requests in a row on one connection (curl keeps it
# alive across the URLs of one run).
pids=
c=1
while [ "$c" -le "$CLIENTS" ]; do
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -D "$T/c.$c.hdr" \
	    -o /dev/null -w '%{http_code} %{num_connects}\n' \
	    "$PROXY_URL/load/$c/[1-$PER]" >"$T/c.$c.out" 2>"$T/c.$c.err" &
	track $!
	pids="$pids $!"
	c=$((c + 1))
done
for p in $pids; do
	wait_pid "$p" 300
done

cat "$T"/c.*.out >"$T/all.out"
is "$(grep -c '^200 ' "$T/all.out")" "$TOTAL" \
    "every one of the $TOTAL requests was answered 200"
is "$(awk '{ n += $2 } END { print n }' "$T/all.out")" "$CLIENTS" \
    "each client used one connection for all its requests"
cat "$T"/c.*.hdr | tr -d '\r' |
    awk -v h="$TRACE_HEADER" 'tolower($1) == tolower(h) ":" { print $2 }' |
    sort >"$T/answered"
is "$(sort -u "$T/answered" | grep -c .)" "$TOTAL" \
    "every response carried its own trace id"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0 on SIGTERM"
ok "the capture has no torn line" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" "$TOTAL" "$TOTAL capture lines"
jq -r .id "$CAP" | sort >"$T/captured"
is "$(uniq -d "$T/captured" | grep -c .)" 0 "no trace id has two lines"
is "$(comm -3 "$T/answered" "$T/captured" | grep -c .)" 0 \
    "the capture's ids are exactly the ids the clients got"
is "$(jq -r .request.target "$CAP" | sort -u | grep -c '^/load/')" "$TOTAL" \
    "each request's target is captured once"
is "$(jq -r .verdict "$CAP" | grep -vc '^match$')" 0 "every exchange matched"
like "$(cat "$PROXY_ERR")" "paritytap proxy: $TOTAL exchanges: $TOTAL/$TOTAL status match" \
    "the exit summary counts every exchange of every loop"

ok "the primary has read all the proxy sent" wait_for 10 backend_idle primary
ps=$(backend_stats primary)
is "$(printf '%s' "$ps" | jq .requests)" "$TOTAL" \
    "the primary got each request once"
cmp_ok "$(printf '%s' "$ps" | jq .connections)" -le "$CLIENTS" \
    "the primary saw at most one connection per client: each loop reuses its own"
cs=$(backend_stats candidate)
is "$(printf '%s' "$cs" | jq .requests)" "$TOTAL" \
    "the candidate got each mirror once"
cmp_ok "$(printf '%s' "$cs" | jq .connections)" -lt "$((TOTAL / 2))" \
    "the candidate's connections are kept alive too"

done_testing
