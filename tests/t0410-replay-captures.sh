#!/bin/sh
# The committed sample captures as a CI gate: replayed against the test
# backends, the clean capture passes at 100%, the validator capture fails
# on the drifted candidate (five shape divergences, exit 1) and passes
# once the candidate answers like the primary (the Go side's fix).

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

CAPS=$top_srcdir/captures
start_backend drifted "$FIXTURES/validator-candidate.json"
start_backend fixed "$FIXTURES/validator-primary.json"
DRIFTED="http://127.0.0.1:$(backend_port drifted)"
FIXED="http://127.0.0.1:$(backend_port fixed)"

"$PARITYTAP" replay --candidate "$FIXED" "$CAPS/clean.jsonl" \
    >"$T/clean.out" 2>"$T/clean.err"
is "$?" 0 "clean.jsonl replays with exit 0"
is "$(cat "$T/clean.out")" \
    "paritytap replay: 6 exchanges: 6/6 status match · 6/6 shape match · 0 divergences · 0 errors" \
    "clean.jsonl: 100% match"

"$PARITYTAP" replay --candidate "$DRIFTED" "$CAPS/validator.jsonl" \
    >"$T/drift.out" 2>"$T/drift.err"
is "$?" 1 "validator.jsonl against the drifted candidate exits 1"
is "$(cat "$T/drift.out")" \
    "paritytap replay: 6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors" \
    "... with the parity summary"
is "$(grep -c '^DIVERGE shape POST /v1/validate' "$T/drift.err")" 5 \
    "... and five DIVERGE shape lines"

"$PARITYTAP" replay --candidate "$FIXED" "$CAPS/validator.jsonl" \
    >"$T/fixed.out" 2>"$T/fixed.err"
is "$?" 0 "validator.jsonl against the fixed candidate exits 0"
is "$(cat "$T/fixed.out")" \
    "paritytap replay: 6 exchanges: 6/6 status match · 6/6 shape match · 0 divergences · 0 errors" \
    "... 6/6 match, where it was 1/6"

done_testing
