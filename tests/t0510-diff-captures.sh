#!/bin/sh
# The committed sample captures (captures/*.jsonl) cannot rot silently:
# their verdicts are checked here with jq, `paritytap diff` on their
# extracted bodies reproduces the parity probes, and captures/make.sh,
# run again with the proxy, gives the same verdicts, diffs and bodies.

. "$(dirname "$0")/lib.sh"
need jq curl
need_binaries
C=$top_srcdir/captures
DOT=$(printf '\302\267')

# verdicts FILE: the verdicts of a capture, in order, comma separated.
verdicts() {
	jq -r .verdict "$1" | paste -sd, -
}

# --- the committed captures ---------------------------------------------

for f in validator session-log clean; do
	ok "$f.jsonl: every line is a complete JSON object" cap_valid "$C/$f.jsonl"
	is "$(jq -r 'select(.paritytap != 1 or .source != "proxy" or
	    .responses.primary.status != .responses.candidate.status) | .id' \
	    "$C/$f.jsonl")" "" \
	    "$f.jsonl: format 1, recorded by the proxy, statuses equal"
done

is "$(cap_nlines "$C/validator.jsonl")" 6 "validator.jsonl: 6 exchanges"
is "$(verdicts "$C/validator.jsonl")" "shape,shape,shape,shape,shape,match" \
    "validator.jsonl: 5 shape verdicts, then a match"
is "$(jq -r 'select(.verdict == "shape") | [.diffs[] |
    select(.kind == "missing") | .path] | join(",")' "$C/validator.jsonl" |
    paste -sd' ' -)" '$.Schema $.Schema $.Completeness $.Consistency $.Policy' \
    "validator.jsonl: the tagged enum variant is missing on the candidate"

is "$(cap_nlines "$C/session-log.jsonl")" 4 "session-log.jsonl: 4 exchanges"
is "$(jq -r '.request.body | fromjson | .fixture' "$C/session-log.jsonl" |
    paste -sd, -)" "accepted_grounded,max_iter_exhausted,infra_error,unicode_in_prompt" \
    "session-log.jsonl: the four session fixtures, in order"
is "$(verdicts "$C/session-log.jsonl")" "match,match,value,match" \
    "session-log.jsonl: timestamp and daemon ignored, infra_error differs"
is "$(jq -r 'select(.verdict == "value") | [.diffs[].path] | join(",")' \
    "$C/session-log.jsonl")" '$.session_id' \
    "session-log.jsonl: the one difference is the empty session_id"
is "$(jq -r 'select(.verdict == "value") | .responses.candidate.body |
    fromjson | .session_id' "$C/session-log.jsonl")" "" \
    "session-log.jsonl: the candidate's session_id is empty"
contains "$(jq -r '.responses.candidate.body' "$C/session-log.jsonl")" \
    '日本語のテスト ✓' "session-log.jsonl: the unicode prompt is intact"

is "$(cap_nlines "$C/clean.jsonl")" 6 "clean.jsonl: 6 exchanges"
is "$(verdicts "$C/clean.jsonl")" "match,match,match,match,match,match" \
    "clean.jsonl: every verdict is match"

# --- diff on the extracted bodies reproduces the parity probes ----------

# bodies FILE SIDE OUT: one body per line (each body is one JSON line).
bodies() {
	jq -r ".responses.$2.body" "$1" >"$3"
}

bodies "$C/validator.jsonl" primary "$T/vp.jsonl"
bodies "$C/validator.jsonl" candidate "$T/vc.jsonl"
"$PARITYTAP" diff "$T/vp.jsonl" "$T/vc.jsonl" >"$T/out" 2>"$T/err"
is "$?" 1 "validator probe: diff exits 1"
is "$(cat "$T/out")" "paritytap diff: 6 documents: 1/6 shape match $DOT 5 shape divergences $DOT 0 errors" \
    "validator probe: 5/6 body shapes diverge"
is "$(grep -c '^DIVERGE shape line [1-5] ' "$T/err")" 5 \
    "validator probe: lines 1-5 flagged"
contains "$(cat "$T/err")" 'DIVERGE shape line 1 $.Field extra(candidate) $.Kind extra(candidate) $.Reason extra(candidate) $.Schema missing(candidate)' \
    "validator probe: the tagged-enum drift on line 1"

bodies "$C/session-log.jsonl" primary "$T/sp.jsonl"
bodies "$C/session-log.jsonl" candidate "$T/sc.jsonl"
"$PARITYTAP" diff "$T/sp.jsonl" "$T/sc.jsonl" >"$T/out" 2>"$T/err"
is "$?" 0 "session-log probe, shape mode: exit 0"
is "$(cat "$T/out")" "paritytap diff: 4 documents: 4/4 shape match $DOT 0 divergences $DOT 0 errors" \
    "session-log probe, shape mode: 4/4"
"$PARITYTAP" diff --mode exact --ignore '$.timestamp' --ignore '$.daemon' \
    "$T/sp.jsonl" "$T/sc.jsonl" >"$T/out" 2>"$T/err"
is "$?" 1 "session-log probe, exact mode: exit 1 (the empty session_id)"
is "$(cat "$T/out")" "paritytap diff: 4 documents: 4/4 shape match $DOT 3/4 exact match $DOT 1 value divergence $DOT 0 errors" \
    "session-log probe, exact mode: 3/4"
is "$(cat "$T/err")" 'DIVERGE value line 3 $.session_id value' \
    "session-log probe: infra_error's session_id flagged"

bodies "$C/clean.jsonl" primary "$T/cp.jsonl"
bodies "$C/clean.jsonl" candidate "$T/cc.jsonl"
"$PARITYTAP" diff --mode exact "$T/cp.jsonl" "$T/cc.jsonl" >"$T/out" 2>&1
is "$?" 0 "clean: exact mode, exit 0"
contains "$(cat "$T/out")" "6/6 exact match" "clean: 6/6 exact match"

# --- make.sh regenerates the same captures ------------------------------

# The parts of a capture that do not change from run to run.
STABLE='[.route, .request.body, .verdict, .diffs,
    .responses.primary.status, .responses.candidate.status,
    .responses.primary.body, .responses.candidate.body]'
"$C/make.sh" "$T/regen" >"$T/make.out" 2>"$T/make.err"
is "$?" 0 "captures/make.sh exits 0"
for f in validator session-log clean; do
	is "$(jq -c "$STABLE" "$T/regen/$f.jsonl" 2>&1)" \
	    "$(jq -c "$STABLE" "$C/$f.jsonl")" \
	    "make.sh: $f.jsonl regenerates with the same verdicts and bodies"
done
contains "$(cat "$T/make.out")" \
    "session-log: 4 exchanges: 4/4 status match $DOT 4/4 shape match $DOT 1 value divergence $DOT 0 errors" \
    "make.sh prints each proxy's summary"

done_testing
