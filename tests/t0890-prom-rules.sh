#!/bin/sh
# contrib/prometheus/paritytap.rules.yml: promtool accepts the rules and
# their unit tests pass (each alert fires on series past its threshold
# and stays silent on series short of it; the recording rules' values).
# The unit tests bite: a copy of the rules with any one threshold or
# "for" moved fails them.  Needs promtool (Debian package prometheus).

. "$(dirname "$0")/lib.sh"
need promtool
P=$top_srcdir/contrib/prometheus

promtool check rules "$P/paritytap.rules.yml" >"$T/check.out" 2>&1
st=$?
is "$st" 0 "promtool check rules: the rules are valid"
contains "$(cat "$T/check.out")" "SUCCESS: 12 rules found" \
    "promtool check rules: 7 recording rules and 5 alerts"
for a in ParitytapDivergenceRateHigh ParitytapCandidateErrors \
    ParitytapMirrorsDropped ParitytapCaptureErrors ParitytapCandidateSlower; do
	ok "$a is defined" grep -q "^      - alert: $a\$" "$P/paritytap.rules.yml"
	is "$(awk -v a="$a" '
		$0 ~ "- alert: " { cur = ($3 == a) }
		cur && /^        for: [0-9]+m$/ { f = 1 }
		cur && /^          severity: (warning|critical)$/ { s = 1 }
		cur && /^          summary: / { u = 1 }
		cur && /^          description: / { d = 1 }
		END { print f + s + u + d }' "$P/paritytap.rules.yml")" 4 \
	    "$a has for, severity, summary and description"
done

# The rules and their tests, copied so a mutant sits beside its tests.
cp "$P/paritytap.rules.yml" "$P/paritytap.rules.test.yml" "$T/"
(cd "$T" && promtool test rules paritytap.rules.test.yml) >"$T/test.out" 2>&1
st=$?
is "$st" 0 "promtool test rules: the unit tests pass"
contains "$(cat "$T/test.out")" "SUCCESS" "promtool test rules: SUCCESS"
[ "$st" -eq 0 ] || diag_file "$T/test.out"

# mutant NAME SED-EXPR: the unit tests fail on the rules changed by it.
mutant() {
	sed -e "$2" "$P/paritytap.rules.yml" >"$T/paritytap.rules.yml"
	if cmp -s "$P/paritytap.rules.yml" "$T/paritytap.rules.yml"; then
		fail "$1: the change applies" "sed '$2' changed nothing"
		return
	fi
	(cd "$T" && promtool test rules paritytap.rules.test.yml) \
	    >"$T/mutant.out" 2>&1
	st=$?
	isnt "$st" 0 "$1: promtool test rules fails"
	contains "$(cat "$T/mutant.out")" FAILED "$1: ... and says FAILED"
}
mutant "divergence threshold 5% -> 30%" \
    's/ratio_rate5m > 0.05$/ratio_rate5m > 0.3/'
mutant "divergence traffic floor removed" \
    's/compared_exchanges:rate5m >= 0.05$/compared_exchanges:rate5m >= 0/'
mutant "divergence counting skipped as compared" \
    's/verdict!~"skipped|recorded"/verdict!~"recorded"/'
mutant "divergence for 10m -> 20m" '/DivergenceRateHigh/,/for:/s/for: 10m/for: 20m/'
mutant "candidate errors 1% -> 10%" 's/ratio_rate5m > 0.01$/ratio_rate5m > 0.1/'
mutant "candidate errors counting primary errors" \
    's/verdict="candidate_error"/verdict=~"candidate_error|primary_error"/'
mutant "mirrors dropped without the queue" \
    's/rate(paritytap_queue_dropped_total\[5m\])) > 0/rate(paritytap_queue_dropped_total[5m])) > 1/'
mutant "mirrors dropped for 5m -> 0m" '/MirrorsDropped/,/for:/s/for: 5m/for: 0m/'
mutant "capture errors over 1/s" \
    's/rate(paritytap_capture_errors_total\[5m\])) > 0/rate(paritytap_capture_errors_total[5m])) > 1/'
mutant "capture errors severity warning" \
    '/CaptureErrors/,/severity/s/severity: critical/severity: warning/'
mutant "candidate slower factor 2 -> 20" \
    's/2 \* instance_side_route/20 * instance_side_route/'
mutant "candidate slower without the 50ms floor" 's/^              > 0.05$/              > 0/'
mutant "p99 -> p90" 's/histogram_quantile(0.99,/histogram_quantile(0.9,/'
done_testing
