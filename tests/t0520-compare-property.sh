#!/bin/sh
# The compare engine against an independent model of DESIGN 4.2
# (tests/compare-property.py): thousands of random JSON pairs with planted
# differences of every kind, through paritytap diff in both modes and with
# each option that changes the rules.  Reproducible: the seed is fixed
# unless PT_PROPERTY_SEED is set, the number of pairs is PT_PROPERTY_PAIRS;
# a failure prints the seed and the pairs that disagree.

. "$(dirname "$0")/lib.sh"
need python3
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"

SEED=${PT_PROPERTY_SEED:-20261202}
PAIRS=${PT_PROPERTY_PAIRS:-4000}

python3 "$top_srcdir/tests/compare-property.py" --paritytap "$PARITYTAP" \
    --dir "$T" --seed "$SEED" --pairs "$PAIRS" >"$T/report" 2>&1
RC=$?
n=0
while read -r tag name verdicts diffs total; do
	[ "$tag" = CONFIG ] || continue
	n=$((n + 1))
	is "$verdicts/$total" "$total/$total" \
	    "$name: every verdict as the model says (seed $SEED)"
	is "$diffs/$total" "$total/$total" \
	    "$name: every diff list as the model says (seed $SEED)"
done <"$T/report"
is "$n" 5 "five option sets checked"
is "$RC" 0 "the model agrees with paritytap diff on all $PAIRS pairs"
grep '^#' "$T/report" | cut -c1-2000

done_testing
