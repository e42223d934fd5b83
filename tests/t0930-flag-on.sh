#!/bin/sh
# --flag-on LIST chooses the verdicts whose exchanges print a DIVERGE
# line (proxy, replay; sniff parses it the same way): a status and a
# shape divergence through a real proxy, only the chosen one printed,
# both in the capture; none prints no DIVERGE line but keeps the NEW
# lines; the config key; the bad values, each named in its error.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq
need_binaries

J='"headers":[["Content-Type","application/json"]]'
printf '{"routes":[{"path":"/status","status":200,%s,"body_json":{"ok":1}},{"path":"/shape","status":200,%s,"body_json":{"count":1}}]}\n' \
    "$J" "$J" >"$T/primary.json"
printf '{"routes":[{"path":"/status","status":500,%s,"body_json":{"ok":1}},{"path":"/shape","status":200,%s,"body_json":{"count":"1"}}]}\n' \
    "$J" "$J" >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PURL=http://127.0.0.1:$(backend_port primary)
CURL=http://127.0.0.1:$(backend_port candidate)

# run_proxy NAME ARGS...: a proxy with ARGS and a capture $T/NAME.jsonl;
# one request to /status and one to /shape, both recorded, then stopped.
# Its stderr is $T/NAME.err.
run_proxy() {
	_rp=$1
	shift
	start_proxy --primary "$PURL" --candidate "$CURL" \
	    --capture "$T/$_rp.jsonl" "$@" ||
	    bail "$_rp: the proxy did not start"
	req "$_rp-status" "$PROXY_URL/status"
	req "$_rp-shape" "$PROXY_URL/shape"
	ok "$_rp: both exchanges recorded" \
	    wait_for 30 eval '[ "$(cap_nlines "$T/$_rp.jsonl")" -ge 2 ]'
	stop_proxy
	is "$PROXY_STATUS" 0 "$_rp: the proxy exits 0"
	cp "$PROXY_ERR" "$T/$_rp.err"
}

# verdicts NAME: the capture's verdicts, sorted, one line.
verdicts() {
	jq -r .verdict "$T/$1.jsonl" | sort | tr '\n' ' '
}

# --- the default: both print ---
run_proxy all
is "$(grep '^DIVERGE ' "$T/all.err" | cut -d' ' -f2-4 | sort | tr '\n' '|')" \
    "shape GET /shape|status GET /status|" \
    "the default: a DIVERGE line for each divergence"

# --- --flag-on status: only the status divergence prints ---
run_proxy status --flag-on status
is "$(grep '^DIVERGE ' "$T/status.err" | cut -d' ' -f2-4 | tr '\n' '|')" \
    "status GET /status|" "--flag-on status: only the status line"
is "$(verdicts status)" "shape status " "... the capture has both verdicts"

# --- --flag-on shape: only the shape divergence prints ---
run_proxy shape --flag-on shape
is "$(grep '^DIVERGE ' "$T/shape.err" | cut -d' ' -f2-4 | tr '\n' '|')" \
    "shape GET /shape|" "--flag-on shape: only the shape line"
is "$(verdicts shape)" "shape status " "... the capture has both verdicts"

# --- a list, spaces and commas as replay's --fail-on ---
run_proxy list --flag-on 'shape, status'
is "$(grep -c '^DIVERGE ' "$T/list.err")" 2 \
    "--flag-on 'shape, status': both lines"

# --- none: no DIVERGE line, the NEW lines stay ---
run_proxy none --flag-on none
is "$(grep -c '^DIVERGE ' "$T/none.err")" 0 "--flag-on none: no DIVERGE line"
like "$(grep '^NEW ' "$T/none.err" | tr '\n' '|')" \
    'NEW shape GET /shape \$\.count type\(integer->string\) ' \
    "... the drift's NEW line is still printed"
is "$(verdicts none)" "shape status " "... the capture has both verdicts"

# --- the config key ---
printf '[proxy]\nflag-on = status\n' >"$T/status.ini"
run_proxy config --config "$T/status.ini"
is "$(grep '^DIVERGE ' "$T/config.err" | cut -d' ' -f2-4 | tr '\n' '|')" \
    "status GET /status|" "flag-on = status in [proxy]: only the status line"
run_proxy flagwins --config "$T/status.ini" --flag-on shape
is "$(grep '^DIVERGE ' "$T/flagwins.err" | cut -d' ' -f2-4 | tr '\n' '|')" \
    "shape GET /shape|" "... a flag wins over the file"

# --- replay: the same choice ---
rreplay() {
	"$PARITYTAP" replay --candidate "$CURL" "$@" "$T/all.jsonl" \
	    >"$T/replay.out" 2>"$T/replay.err"
	RC=$?
}
rreplay --flag-on shape
is "$RC" 1 "replay --flag-on shape: the run still fails (--fail-on)"
is "$(grep '^DIVERGE ' "$T/replay.err" | cut -d' ' -f2-4 | tr '\n' '|')" \
    "shape GET /shape|" "replay --flag-on shape: only the shape line"
rreplay --flag-on none
is "$(grep -c '^DIVERGE ' "$T/replay.err")" 0 \
    "replay --flag-on none: no DIVERGE line"
like "$(cat "$T/replay.out")" '^paritytap replay: 2 exchanges: .*1 shape divergence' \
    "... the summary counts both divergences"

# --- bad values: usage errors that name them ---
DIVS='value, header, body, shape, status, both_failed, candidate_error, primary_error'

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
bad unknown --flag-on shape,nonsense
contains "$ERR" "--flag-on: unknown verdict 'nonsense' (one of $DIVS)" \
    "... names the word and lists the divergences"
bad match --flag-on match
contains "$ERR" "--flag-on: unknown verdict 'match' (one of $DIVS)" \
    "--flag-on match: a match is no divergence"
bad skipped --flag-on skipped
contains "$ERR" "--flag-on: unknown verdict 'skipped'" \
    "--flag-on skipped: refused"
bad empty --flag-on ''
contains "$ERR" "--flag-on: no verdict named (none: no DIVERGE line)" \
    "--flag-on '': says none is the way to print none"
bad commas --flag-on ' , '
contains "$ERR" "--flag-on: no verdict named" "--flag-on ' , ': the same"
printf '[proxy]\nflag-on = shape, sttus\n' >"$T/bad.ini"
bad ini --config "$T/bad.ini"
contains "$ERR" "bad.ini:2: --flag-on: unknown verdict 'sttus'" \
    "a bad flag-on in the file: file, line and word"

"$PARITYTAP" replay --candidate "$CURL" --flag-on nonsense "$T/all.jsonl" \
    >"$T/rbad.out" 2>"$T/rbad.err"
is "$?" 2 "replay --flag-on nonsense: exit 2"
contains "$(cat "$T/rbad.err")" \
    "--flag-on: unknown verdict 'nonsense' (one of $DIVS)" "... named"
sniff_once sbad --flag-on nonsense
is "$ST" 2 "sniff --flag-on nonsense: exit 2"
contains "$ERR" "--flag-on: unknown verdict 'nonsense' (one of $DIVS)" \
    "... named"

# --- --help ---
for cmd in proxy replay sniff; do
	"$PARITYTAP" "$cmd" --help >"$T/help.$cmd" 2>&1
	like "$(grep -A1 -- '--flag-on LIST' "$T/help.$cmd" | tr '\n' ' ')" \
	    'verdicts that print a DIVERGE' "$cmd --help: --flag-on"
done

done_testing
