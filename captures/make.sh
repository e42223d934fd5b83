#!/bin/sh
# Regenerate the sample captures with the real proxy: for each case, two
# test backends (tests/backends/testbackend with a primary and a candidate
# fixture from tests/fixtures/), `paritytap proxy --capture` in front of
# them, the case's requests sent with curl, the proxy stopped, and its
# capture copied out.  Nothing in a capture is written by hand.
#
#	captures/make.sh [OUTDIR]
#
# Run it from the build directory after `make check` (which builds the
# test backends), or set PARITYTAP and TESTBACKEND.  OUTDIR defaults to
# the captures/ directory beside this script.  Ids, timestamps, ports and
# latencies change from run to run; verdicts and bodies do not (the tests
# check that).

. "$(dirname "$0")/../tests/lib.sh"

OUT=${1:-$top_srcdir/captures}
need curl jq
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable (run make)"
[ -x "$TESTBACKEND" ] ||
    bail "TESTBACKEND=$TESTBACKEND is not executable (run make check)"
mkdir -p "$OUT" || bail "cannot create $OUT"

# record NAME PRIMARY-FIXTURE CANDIDATE-FIXTURE PATH FIELD CASES
#     [PROXY-ARGS...]: one capture, $OUT/NAME.jsonl, one POST PATH with the
# body {"FIELD":"CASE"} per case, in order.
record() {
	rec_name=$1 rec_pf=$2 rec_cf=$3 rec_path=$4 rec_field=$5 rec_cases=$6
	shift 6
	start_backend primary "$FIXTURES/$rec_pf"
	start_backend candidate "$FIXTURES/$rec_cf"
	rm -f "$T/$rec_name.jsonl"
	start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    --capture "$T/$rec_name.jsonl" "$@" ||
	    bail "$rec_name: the proxy did not start"
	rec_n=0
	for rec_case in $rec_cases; do
		req "$rec_name-$rec_case" -H 'Content-Type: application/json' \
		    -d "{\"$rec_field\":\"$rec_case\"}" "$PROXY_URL$rec_path"
		[ "$HTTP_CODE" != 000 ] || bail "$rec_name: $rec_case: no response"
		rec_n=$((rec_n + 1))
	done
	stop_proxy
	[ "$PROXY_STATUS" = 0 ] ||
	    bail "$rec_name: the proxy exited with status $PROXY_STATUS"
	stop_backend primary
	stop_backend candidate
	[ "$(cap_nlines "$T/$rec_name.jsonl")" = "$rec_n" ] ||
	    bail "$rec_name: $(cap_nlines "$T/$rec_name.jsonl") lines, not $rec_n"
	# Ids are minted from a clock: sorted, the lines are in request
	# order whatever order the comparisons finished in.
	LC_ALL=C sort "$T/$rec_name.jsonl" >"$OUT/$rec_name.jsonl" ||
	    bail "cannot write $OUT/$rec_name.jsonl"
	sed -n "s/^paritytap proxy: \([0-9]* exchanges*:\)/$rec_name: \1/p" "$PROXY_ERR"
}

VALIDATOR_CASES="schema_field schema_type completeness consistency policy valid"
SESSION_CASES="accepted_grounded max_iter_exhausted infra_error unicode_in_prompt"

# The validator probe: Rust's tagged enums against Go's flat errors.
record validator validator-primary.json validator-candidate.json \
    /v1/validate case "$VALIDATOR_CASES"
# The session-log probe: timestamp and daemon differ by producer.
record session-log session-log-primary.json session-log-candidate.json \
    /v1/iterate fixture "$SESSION_CASES" \
    --ignore '$.timestamp' --ignore '$.daemon'
# After the fix: two copies of the contract, every exchange a match.
record clean validator-primary.json validator-primary.json \
    /v1/validate case "$VALIDATOR_CASES"
