#!/bin/sh
# The cutover demo end to end, on the real services of examples/cutover/:
# the Rust gateway (primary) and its Go rewrite validatord (candidate),
# built with cargo and go.  The request mix (examples/cutover/requests)
# goes through the proxy to the gateway and the rewrite as first shipped;
# each exchange's route, verdict and diffs are checked in the capture and
# on the DIVERGE lines.  The capture is then replayed against the rewrite
# as shipped (exit 1, the same divergences) and with its fixes (-fixed:
# all match, exit 0), and the fixed rewrite is put behind the proxy live.
#
# The services are built under $top_builddir/cutover-build (kept between
# runs: a rebuild with nothing changed takes about a second).

. "$(dirname "$0")/lib.sh"
PATH=$PATH:${HOME:-/nonexistent}/.cargo/bin
export PATH
need curl jq go cargo
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"

B=$top_builddir/cutover-build
# The services propagate X-Trace-Id; the proxy and replay use it too.
TRACE_HEADER=X-Trace-Id
REQUESTS=$top_srcdir/examples/cutover/requests
if ! "$top_srcdir/examples/cutover/build.sh" --test "$B" >"$T/build.log" 2>&1; then
	diag_file "$T/build.log"
	bail "examples/cutover/build.sh failed"
fi
pass "the Rust and Go services build and pass their unit tests"

# start_service NAME PROGRAM ARGS...: run a service on a free port (it
# writes the port to $T/NAME.port); sets SERVICE_URL.
start_service() {
	_name=$1
	shift
	rm -f "$T/$_name.port"
	"$@" "$T/$_name.port" 2>"$T/$_name.berr" &
	_pid=$!
	track "$_pid"
	_n=$(pt_deadline 0)
	while [ ! -s "$T/$_name.port" ]; do
		if ! alive "$_pid" || [ "$_n" -le 0 ]; then
			diag_file "$T/$_name.berr"
			bail "service $_name did not start"
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	SERVICE_URL=http://127.0.0.1:$(cat "$T/$_name.port")
}

start_service gateway "$B/gateway" --listen 127.0.0.1:0 --port-file
GATEWAY=$SERVICE_URL
start_service drifted "$B/validatord" -listen 127.0.0.1:0 -port-file
DRIFTED=$SERVICE_URL
start_service fixed "$B/validatord" -fixed -listen 127.0.0.1:0 -port-file
FIXED=$SERVICE_URL

COMPARE="--trace-header X-Trace-Id --ignore \$.timestamp --ignore \$.daemon
    --ignore \$..recorded_at"

# --- the trace id fallback, straight to each service ---
# session_id URL: "FIXTURE:SESSION_ID" of an iterate row, no trace header
# sent.
session_id() {
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -H 'Content-Type: application/json' \
	    -d '{"fixture":"infra_error"}' "$1/v1/iterate" |
	    jq -r '.fixture + ":" + .session_id'
}
sid_gateway=$(session_id "$GATEWAY")
sid_drifted=$(session_id "$DRIFTED")
sid_fixed=$(session_id "$FIXED")
like "$sid_gateway" "^infra_error:${MINTED_ID_RE#^}" \
    "gateway without a trace header: a minted session id"
is "$sid_drifted" "infra_error:" "validatord as shipped: an empty session id"
like "$sid_fixed" "^infra_error:${MINTED_ID_RE#^}" \
    "validatord -fixed without a trace header: a minted session id"

# --- the mix through the proxy, the rewrite as shipped behind it ---
CAP=$T/cutover.jsonl
# shellcheck disable=SC2086
start_proxy --primary "$GATEWAY" --candidate "$DRIFTED" --capture "$CAP" \
    $COMPARE || bail "the proxy did not start"

# send NAME METHOD PATH [BODY]: one request of the mix through the proxy;
# the trace id the client got back is id_NAME.
send() {
	if [ -n "$4" ]; then
		req "$1" -X "$2" -H 'Content-Type: application/json' \
		    --data-binary "$4" "$PROXY_URL$3"
	else
		req "$1" -X "$2" "$PROXY_URL$3"
	fi
	eval "id_$1=\$TRACE"
	eval "code_$1=\$HTTP_CODE"
}

n=0
names=
while read -r method path body; do
	case $method in
	''|'#'*) continue ;;
	esac
	n=$((n + 1))
	names="$names r$n"
	send "r$n" "$method" "$path" "$body"
	# The same request, straight to the gateway, for the client's view.
	if [ -n "$body" ]; then
		curl -sS --noproxy '*' -o "$T/r$n.direct" -X "$method" \
		    -H 'Content-Type: application/json' --data-binary "$body" \
		    "$GATEWAY$path"
	else
		curl -sS --noproxy '*' -o "$T/r$n.direct" "$GATEWAY$path"
	fi
done <"$REQUESTS"
is "$n" 13 "the mix holds 13 requests"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0 on SIGTERM"
SUMMARY_DRIFT='13 exchanges: 13/13 status match · 6/13 shape match · 7 shape divergences · 4 value divergences · 0 errors'
is "$(sed -n 's/^paritytap proxy: \([0-9]* exchanges:\)/\1/p' "$PROXY_ERR")" \
    "$SUMMARY_DRIFT · 9 drifts (9 new this run)" \
    "the proxy's exit summary, with the drifts: 7 shape drifts of /v1/validate, 2 of /v1/evidence"
ok "the capture is valid JSONL" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" 13 "the capture has 13 lines"

# What the client sees is the gateway's answer (its clock fields aside).
strip() {
	jq -cS 'del(.timestamp, .session_id) |
	    (.rows // empty) |= map(del(.provenance.recorded_at))' "$1"
}
for r in $names; do
	eval "code=\$code_$r"
	if [ "$(strip "$T/$r.body")" = "$(strip "$T/$r.direct")" ] &&
	    [ -s "$T/$r.body" ]; then
		pass "$r: the client got the gateway's answer ($code)"
	else
		fail "$r: the client got the gateway's answer" \
		    "got:  $(cat "$T/$r.body")" "want: $(cat "$T/$r.direct")"
	fi
done

# check NAME STATUS ROUTE VERDICT DIFFS: the exchange's status (both
# sides), route, verdict and diffs ("PATH KIND" sorted, comma-separated)
# in the capture, and its DIVERGE line (none for a match).
DL=$(diverge_lines)
check() {
	eval "_id=\$id_$1"
	_got=$(cap_get "$CAP" "$_id" '[.responses.primary.status,
	    .responses.candidate.status, .route, .verdict,
	    ([.diffs[]? | .path + " " + .kind] | sort | join(","))] |
	    map(tostring) | join(" | ")')
	is "$_got" "$2 | $2 | $3 | $4 | $5" "$1: $3: $4 ${5:-(no diffs)}"
	_line=$(printf '%s\n' "$DL" | grep -F " id=$_id ")
	if [ "$4" = match ]; then
		is "$_line" "" "$1: no DIVERGE line"
		return
	fi
	_want="DIVERGE $4 $3 id=$_id status $2=$2"
	_old_ifs=$IFS
	IFS=,
	for _d in $5; do
		_want="$_want ${_d% *} ${_d##* }"
		[ "${_d##* }" = value ] || _want="$_want(candidate)"
	done
	IFS=$_old_ifs
	is "$_line" "$_want" "$1: the DIVERGE line"
}
TAGGED='$.Field extra,$.Kind extra,$.Reason extra,$.Schema missing'
check r1 422 'POST /v1/validate' shape "$TAGGED"
check r2 422 'POST /v1/validate' shape "$TAGGED"
check r3 422 'POST /v1/validate' shape \
    '$.Completeness missing,$.Kind extra,$.Reason extra'
check r4 422 'POST /v1/validate' shape \
    '$.Consistency missing,$.Kind extra,$.Reason extra'
check r5 422 'POST /v1/validate' shape \
    '$.Kind extra,$.Policy missing,$.Reason extra'
check r6 200 'POST /v1/validate' match ''
check r7 200 'POST /v1/validate' match ''
for r in r8 r9 r10 r11; do
	check "$r" 200 'POST /v1/iterate' value '$.session_id value'
done
check r12 200 'GET /v1/evidence/incidents-q3' shape \
    '$.rows[0].provenance.line_offset missing'
check r13 200 'GET /v1/evidence/runbooks' shape \
    '$.rows[0].provenance.line_offset missing'
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE')" 11 "11 DIVERGE lines, no more"

# The bodies behind the verdicts.
is "$(cap_get "$CAP" "$id_r1" .responses.primary.body)" \
    '{"Schema":{"field":"evidence","reason":"required field missing"}}' \
    "r1: the gateway's tagged enum"
is "$(cap_get "$CAP" "$id_r1" .responses.candidate.body)" \
    '{"Kind":"schema","Field":"evidence","Reason":"required field missing"}' \
    "r1: the rewrite's flat struct"
is "$(cap_get "$CAP" "$id_r8" '.responses | [.primary, .candidate] |
    map(.body | fromjson | .session_id) | join(",")')" "$id_r8," \
    "r8: the gateway's session id is the trace id, the rewrite's is empty"
is "$(cap_get "$CAP" "$id_r11" '.responses | [.primary, .candidate] |
    map(.body | fromjson | .prompt) | unique | join(",")')" \
    'Résumé des données — 日本語のテスト ✓ 🚀' \
    "r11: both decode the unicode prompt the same"
is "$(cap_get "$CAP" "$id_r12" '.responses | [.primary, .candidate] |
    map(.body | fromjson | .rows[0].provenance.line_offset) |
    map(tostring) | join(",")')" "0,null" \
    "r12: line_offset 0 on the gateway, dropped by the rewrite"

# --- replay: the rewrite as shipped fails the gate ---
# shellcheck disable=SC2086
"$PARITYTAP" replay --candidate "$DRIFTED" $COMPARE "$CAP" \
    >"$T/drift.out" 2>"$T/drift.err"
is "$?" 1 "replay against validatord as shipped: exit 1"
is "$(cat "$T/drift.out")" "paritytap replay: $SUMMARY_DRIFT" "... the same summary"
is "$(grep '^DIVERGE' "$T/drift.err" | sort)" \
    "$(printf '%s\n' "$DL" | grep '^DIVERGE' | sort)" \
    "... the same 11 DIVERGE lines as the proxy's"

# --- replay: the rewrite with its fixes passes ---
# shellcheck disable=SC2086
"$PARITYTAP" replay --candidate "$FIXED" $COMPARE --capture "$T/fixed.jsonl" \
    "$CAP" >"$T/fixed.out" 2>"$T/fixed.err"
is "$?" 0 "replay against validatord -fixed: exit 0"
is "$(cat "$T/fixed.out")" \
    'paritytap replay: 13 exchanges: 13/13 status match · 13/13 shape match · 0 divergences · 0 errors' \
    "... every exchange matches"
is "$(grep -c '^DIVERGE' "$T/fixed.err")" 0 "... no DIVERGE line"
is "$(jq -r .verdict "$T/fixed.jsonl" | sort | uniq -c | tr -s ' ')" \
    " 13 match" "... the replay's capture: 13 verdicts match"

# --- the fixed rewrite live behind the proxy ---
# shellcheck disable=SC2086
start_proxy --primary "$GATEWAY" --candidate "$FIXED" \
    --capture "$T/live-fixed.jsonl" $COMPARE || bail "the proxy did not start"
while read -r method path body; do
	case $method in
	''|'#'*) continue ;;
	esac
	send live "$method" "$path" "$body"
done <"$REQUESTS"
stop_proxy
is "$(sed -n 's/^paritytap proxy: \([0-9]* exchanges:\)/\1/p' "$PROXY_ERR")" \
    '13 exchanges: 13/13 status match · 13/13 shape match · 0 divergences · 0 errors' \
    "live, validatord -fixed: every exchange matches"
is "$(diverge_lines | wc -l | tr -d ' ')" 0 "live, validatord -fixed: no DIVERGE line"

done_testing
