#!/bin/sh
# --flag-limit N/DURATION through a real proxy: at most N DIVERGE lines
# per signature (verdict, route, folded paths) per window, the others
# held back and counted in the summary at exit, while the capture and
# --events keep every exchange.  Two signatures have two budgets: one on
# the same route with the same verdict but another path, or a superset
# of the paths, still prints after the first used up its own.  The next
# window's first line says how many the previous one held back.  Windows
# of an hour keep the counts exact however slow the machine is.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PURL=http://127.0.0.1:$(backend_port primary)
CURL=http://127.0.0.1:$(backend_port candidate)

# The three signatures' DIVERGE lines, as EREs.
SIG_A='^DIVERGE shape GET /d/\{id\} id=[^ ]+ status 200=200 \$\.a missing\(candidate\)$'
SIG_D='^DIVERGE shape GET /d/\{id\} id=[^ ]+ status 200=200 \$\.d extra\(candidate\)$'
# (\$.a and \$.d both hold 1: the line says it may be a rename)
SIG_AD='^DIVERGE shape GET /d/\{id\} id=[^ ]+ status 200=200 \$\.a missing\(candidate\) \(renamed to \$\.d\?\) \$\.d extra\(candidate\)$'

# count ERE: the proxy's stderr lines that match.
count() {
	grep -Ec "$1" "$PROXY_ERR"
}

# recorded N: the capture holds N exchanges.
recorded() {
	[ "$(cap_nlines "$CAP")" -ge "$1" ]
}

# summary: the proxy's summary line at exit.
summary() {
	grep '^paritytap proxy: [0-9]* exchanges: ' "$PROXY_ERR"
}

# --- 3 per signature per hour ---
CAP=$T/limit.jsonl
EV=$T/limit.events
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" \
    --events "$EV" --flag-limit 3/1h || bail "the proxy did not start"
is "$(drift_send a "$PROXY_URL/d/100?n=[1-50]")" 50 "50 requests missing \$.a"
ok "... all recorded" wait_for 60 recorded 50
is "$(count "$SIG_A")" 3 "... 3 DIVERGE lines"
is "$(grep -c '^DIVERGE ' "$PROXY_ERR")" 3 "... and no other"

req near "$PROXY_URL/d/010"
ok "one with an extra \$.d (same route and verdict) is recorded" \
    wait_for 60 recorded 51
is "$(count "$SIG_D")" 1 "... its line prints: another signature, its own budget"
req super "$PROXY_URL/d/110"
ok "one with both is recorded" wait_for 60 recorded 52
is "$(count "$SIG_AD")" 1 "... its line prints: a superset is another signature"

is "$(drift_send d "$PROXY_URL/d/010?n=[1-49]")" 49 "49 more with an extra \$.d"
ok "... all recorded" wait_for 60 recorded 101
is "$(count "$SIG_D")" 3 "... 3 DIVERGE lines for that signature in all"
is "$(count "$SIG_A")" 3 "... still 3 for the first"
is "$(grep -c '^DIVERGE ' "$PROXY_ERR")" 7 "7 DIVERGE lines for 101 divergences"
is "$(grep -c 'more like this' "$PROXY_ERR")" 0 \
    "no window ended: no line says what was held back"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
like "$(summary)" '^paritytap proxy: 101 exchanges: .* · 101 shape divergences · .* · 94 DIVERGE lines held back \(--flag-limit\)' \
    "the summary counts the 94 lines held back"
is "$(jq -r .verdict "$CAP" | sort | uniq -c | tr -s ' ' | tr '\n' '|')" \
    " 101 shape|" "the capture has every exchange"
is "$(jq -r 'select(.verdict == "shape") | .request.target' "$EV" |
    sed 's/?.*//' | sort | uniq -c | tr -s ' ' | tr '\n' '|')" \
    " 50 /d/010| 50 /d/100| 1 /d/110|" "--events has every divergence"

# --- replay: the same budget per signature ---
"$PARITYTAP" replay --candidate "$CURL" --flag-limit 2/1h "$T/limit.jsonl" \
    >"$T/replay.out" 2>"$T/replay.err"
is "$?" 1 "replay --flag-limit 2/1h of the 101 exchanges: exit 1 (divergences)"
is "$(grep -Ec "$SIG_A" "$T/replay.err") $(grep -Ec "$SIG_D" "$T/replay.err") $(grep -Ec "$SIG_AD" "$T/replay.err")" \
    "2 2 1" "... 2 DIVERGE lines for each signature, 1 for the single one"
like "$(cat "$T/replay.out")" \
    '^paritytap replay: 101 exchanges: .* · 101 shape divergences · 0 errors · 96 DIVERGE lines held back \(--flag-limit\)$' \
    "... its summary counts the 96 held back"

# --- the limit counts only the lines --flag-on prints ---
CAP=$T/on.jsonl
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" \
    --flag-on status --flag-limit 1/1h || bail "the proxy did not start"
is "$(drift_send on "$PROXY_URL/d/100?n=[1-5]")" 5 \
    "--flag-on status --flag-limit 1/1h: 5 shape divergences"
ok "... recorded" wait_for 60 recorded 5
stop_proxy
is "$(grep -c '^DIVERGE ' "$PROXY_ERR")" 0 "... no DIVERGE line"
unlike "$(summary)" 'held back' "... and none held back: none was due"

# --- 0: no limit ---
CAP=$T/off.jsonl
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" \
    --flag-limit 0 || bail "the proxy did not start"
is "$(drift_send off "$PROXY_URL/d/100?n=[1-50]")" 50 \
    "--flag-limit 0: 50 requests missing \$.a"
ok "... recorded" wait_for 60 recorded 50
stop_proxy
is "$(count "$SIG_A")" 50 "... 50 DIVERGE lines"
unlike "$(summary)" 'held back' "... none held back"

# --- the config key ---
CAP=$T/ini.jsonl
printf '[proxy]\nflag-limit = 2/1h\n' >"$T/limit.ini"
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" \
    --config "$T/limit.ini" || bail "the proxy did not start"
is "$(drift_send ini "$PROXY_URL/d/100?n=[1-10]")" 10 \
    "flag-limit = 2/1h in [proxy]: 10 requests missing \$.a"
ok "... recorded" wait_for 60 recorded 10
stop_proxy
is "$(count "$SIG_A")" 2 "... 2 DIVERGE lines"
like "$(summary)" ' · 8 DIVERGE lines held back \(--flag-limit\)( · |$)' \
    "... 8 held back"

# --- a window ends: its next line says how many were held back ---
# One line per 300 ms window.  Requests go one at a time, each compared
# before the next, until a line says what its window held back: however
# long each takes, every request but those lines was held back, and each
# held-back one is on exactly one "+N" (the last line opened a window
# that holds nothing yet).
CAP=$T/window.jsonl
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" \
    --flag-limit 1/300ms || bail "the proxy did not start"
sent=0
one_more() {
	req w "$PROXY_URL/d/100"
	sent=$((sent + 1))
	wait_for 60 recorded "$sent" || return 1
	grep -q 'more like this in the previous 300ms)$' "$PROXY_ERR"
}
ok "a line says what the window before it held back" wait_for 60 one_more
stop_proxy
lines=$(count '^DIVERGE ')
plus=$(sed -n 's/.* (+\([0-9]*\) more like this in the previous 300ms)$/\1/p' \
    "$PROXY_ERR" | awk '{ s += $1 } END { print s + 0 }')
cmp_ok "$lines" -ge 2 "$sent requests: at least two windows printed"
is "$plus" $((sent - lines)) \
    "the \"+N\" of the lines add up to the requests not printed"
like "$(tail -n 1 "$CAP" | jq -r .verdict)" shape "the last one is recorded"
like "$(grep 'more like this' "$PROXY_ERR" | tail -n 1)" \
    "${SIG_A%\$} \\(\\+[1-9][0-9]* more like this in the previous 300ms\\)\$" \
    "... the line is the signature's usual line, then the count"
like "$(summary)" " · $((sent - lines)) DIVERGE lines? held back \\(--flag-limit\\)( · |\$)" \
    "the summary counts them"

# --- bad values ---
# bad NAME ARGS...: proxy with ARGS must exit 2; sets ERR.
bad() {
	_bn=$1
	shift
	timeout 30 "$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PURL" \
	    --candidate "$CURL" "$@" >"$T/$_bn.out" 2>"$T/$_bn.err" \
	    </dev/null
	ST=$?
	ERR=$(cat "$T/$_bn.err")
	is "$ST" 2 "$*: exit 2"
}
bad noslash --flag-limit 10
contains "$ERR" "--flag-limit: '10' is not N/DURATION like 10/10s (0: no limit)" \
    "... names the value and the form"
bad notnum --flag-limit ten/10s
contains "$ERR" "--flag-limit: 'ten' is not a number from 0 to 1000000" \
    "... names the count"
bad baddur --flag-limit 10/soon
contains "$ERR" '--flag-limit: "soon" is not a duration' "... names the duration"
bad zerodur --flag-limit 10/0
contains "$ERR" "--flag-limit: 0 seconds: out of range" "... a window of 0"
bad baddur --flag-limit 10/
contains "$ERR" '--flag-limit: "" is not a duration' "... an empty duration"

"$PARITYTAP" proxy --help >"$T/help" 2>&1
like "$(grep -A2 -- '--flag-limit N/DURATION' "$T/help" | tr '\n' ' ')" \
    'per signature per +DURATION.*\[10/10s\]' "--help: --flag-limit and its default"

done_testing
