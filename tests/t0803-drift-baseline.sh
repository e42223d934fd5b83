#!/bin/sh
# --baseline FILE: drifts known and accepted are followed and counted but
# print no NEW or RESOLVED line (they reach --events marked baselined),
# while the others still print; -q silences every drift line; a baseline
# that does not parse, or cannot be read, is a usage error naming the
# file and line.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq timeout
need_binaries

# run NAME ARGS...: paritytap proxy that exits at once (bounded to 10 s);
# sets ST and ERR.
run() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" proxy --listen 127.0.0.1:0 \
	    --primary http://127.0.0.1:1 --candidate http://127.0.0.1:2 "$@" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

B=$T/baseline
printf '# accepted: the candidate drops $.a\n\n' >"$B"
printf 'GET /d/{id}\tmissing\t$.a\tcandidate\n' >>"$B"
printf '  # and a route this run never sees\n' >>"$B"
printf 'GET /gone\tstatus 200->500\t-\tboth\n' >>"$B"

# --- bad baselines ---
printf '# ok\nGET /d/{id}\tmissing\t$.a\tcandidate\nGET /d/{id} missing $.b candidate\n' \
    >"$T/spaces"
run spaces --baseline "$T/spaces"
is "$ST" 2 "a baseline line with spaces for tabs: exit 2"
like "$ERR" "^paritytap proxy: --baseline $T/spaces:3: fewer than 4 tab-separated fields" \
    "... the error names the file, the line and what is wrong"
printf 'GET /x\tmissing\t$.a\tleft\n' >"$T/side"
run side --baseline "$T/side"
is "$ST" 2 "an unknown side: exit 2"
contains "$ERR" "--baseline $T/side:1: the side is not primary, candidate" \
    "... the error says so"
run absent --baseline "$T/absent"
is "$ST" 2 "a baseline that does not exist: exit 2"
contains "$ERR" "--baseline $T/absent: No such file or directory" \
    "... the error names the file"

# --- a baseline ---
drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
EV=$T/events.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --baseline "$B" --events "$EV" --resolve-after 300ms ||
    bail "the proxy did not start"
E=$PROXY_ERR
req d111 "$PROXY_URL/d/111"
is "$HTTP_CODE" 200 "a request carrying the three drifts"
has_new() {
	grep -Eq "^NEW shape $1 " "$E"
}
ok "NEW: \$.d, not in the baseline" wait_for 30 has_new "$DRIFT_D"
ok "NEW: \$.c, not in the baseline" wait_for 30 has_new "$DRIFT_C"
events_line() {
	[ "$(cap_nlines "$EV")" -ge 1 ]
}
ok "the exchange's events line is written" wait_for 30 events_line
is "$(nlines NEW "$E")" 2 "no NEW line for \$.a, which the baseline lists"
is "$(jq -r '.drifts[] | .path + "=" + .state + "/" +
    (.baselined // false | tostring)' "$EV" | tr '\n' ' ')" \
    '$.d=new/false $.a=new/true $.c=new/false ' \
    "--events: \$.a is new and baselined, the others new"
like "$(nlines DIVERGE "$E")" '^1$' \
    "the exchange still prints its DIVERGE line, \$.a included"

# Matches until the drifts resolve: all three in the same exchange.
resolved_c() {
	req m "$PROXY_URL/d/000"
	grep -Eq "^RESOLVED shape $DRIFT_C " "$E"
}
ok "RESOLVED: \$.c after matching traffic" wait_for 60 resolved_c
ok "RESOLVED: \$.d in the same exchange" \
    grep -Eq "^RESOLVED shape $DRIFT_D " "$E"
is "$(nlines RESOLVED "$E")" 2 "no RESOLVED line for \$.a"
drift_lines() {
	[ "$(jq -c 'select(.event == "drift")' "$EV" | wc -l)" -ge 3 ]
}
ok "--events: three resolved drifts" wait_for 30 drift_lines
is "$(jq -r 'select(.event == "drift") | .path + "=" + .state + "/" +
    (.baselined | tostring)' "$EV" | tr '\n' ' ')" \
    '$.d=resolved/false $.a=resolved/true $.c=resolved/false ' \
    "... \$.a marked baselined"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
like "$(grep '^paritytap proxy: [0-9]* exchanges:' "$E")" \
    ' · 3 drifts \(2 new this run, 3 resolved, 1 in baseline\)$' \
    "the summary counts the baselined drift apart"

# --- -q: no drift lines at all ---
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" -q ||
    bail "the proxy did not start (-q)"
req q "$PROXY_URL/d/111"
is "$HTTP_CODE" 200 "-q: a request carrying the three drifts"
stop_proxy
is "$PROXY_STATUS" 0 "-q: the proxy exits 0"
is "$(grep -Ec '^(NEW|RESOLVED|REGRESSED|DIVERGE) ' "$PROXY_ERR")" 0 \
    "-q: no NEW, RESOLVED, REGRESSED or DIVERGE line"
like "$(grep '^paritytap proxy: [0-9]* exchanges*:' "$PROXY_ERR")" \
    ' · 3 drifts \(3 new this run\)$' "-q: the summary still counts them"

done_testing
