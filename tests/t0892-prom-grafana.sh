#!/bin/sh
# contrib/prometheus/grafana-dashboard.json: valid JSON, a Grafana
# dashboard of schema 38 importable with a ${DS_PROMETHEUS} datasource
# input, every panel and query on that datasource, panels on the
# divergence by route, the verdict mix, drifts by state, candidate
# against primary p99, drops and queue, capture errors and alerts; every
# query uses only paritytap's metric names (DESIGN §5), each of them at
# least once, and parses as PromQL (promtool, when installed).  A copy
# with one metric name misspelt fails the check.

. "$(dirname "$0")/lib.sh"
need jq
D=$top_srcdir/contrib/prometheus/grafana-dashboard.json

# The metric names /metrics exposes; the histogram's series with their
# suffixes.
cat >"$T/metrics" <<'LIST'
paritytap_exchanges_total
paritytap_drifts
paritytap_drift_events_total
paritytap_backend_errors_total
paritytap_backend_latency_seconds_bucket
paritytap_backend_latency_seconds_sum
paritytap_backend_latency_seconds_count
paritytap_mirror_dropped_total
paritytap_queue_depth
paritytap_queue_dropped_total
paritytap_capture_bytes_total
paritytap_capture_errors_total
paritytap_alerts_sent_total
paritytap_alerts_failed_total
paritytap_inflight
paritytap_build_info
process_resident_memory_bytes
process_cpu_seconds_total
process_open_fds
process_start_time_seconds
LIST

# exprs FILE: every query of a dashboard, one a line: the panels'
# targets and the template variables'.
exprs() {
	jq -r '(.panels[] | .targets[]?.expr),
	    (.templating.list[] | .query | if type == "object" then .query
	    else . end)' "$1"
}

# panel_exprs FILE: the panels' queries, PromQL (the template variable's
# label_values() is Grafana's own).
panel_exprs() {
	jq -r '.panels[] | .targets[]?.expr' "$1"
}

# unknown_metrics FILE: the metric-like names its queries use that are
# not in the list.
unknown_metrics() {
	exprs "$1" | grep -oE '\b(paritytap|process)_[a-z_]+' | sort -u |
	    grep -vxF -f "$T/metrics"
}

jq -e . "$D" >/dev/null 2>"$T/jq.err"
is "$?" 0 "valid JSON"
is "$(jq -r .schemaVersion "$D")" 38 "schemaVersion 38"
is "$(jq -r '.__inputs[] | select(.name == "DS_PROMETHEUS") |
    "\(.type) \(.pluginId)"' "$D")" "datasource prometheus" \
    "a DS_PROMETHEUS datasource input for import"
is "$(jq '[.panels[] | select(.type != "row") |
    select(.datasource.uid != "${DS_PROMETHEUS}")] | length' "$D")" 0 \
    "every panel uses \${DS_PROMETHEUS}"
is "$(jq '[.panels[] | .targets[]? |
    select(.datasource.uid != "${DS_PROMETHEUS}")] | length' "$D")" 0 \
    "every query uses \${DS_PROMETHEUS}"
is "$(jq '[.panels[].id] | length == (unique | length)' "$D")" true \
    "panel ids are unique"
is "$(jq '[.panels[] | select(.gridPos.w == null or .gridPos.h == null)] |
    length' "$D")" 0 "every panel has a place on the grid"
is "$(jq '[.panels[] | select(.type != "row") | select((.targets | length) == 0)] |
    length' "$D")" 0 "every panel has a query"
is "$(exprs "$D" | grep -cvE '\b(paritytap|process)_[a-z_]+')" 0 \
    "every query reads a paritytap or process metric"
is "$(unknown_metrics "$D" | tr '\n' ' ')" "" \
    "every metric name in the queries is one /metrics exposes"
for m in $(grep -v '_sum$\|_count$' "$T/metrics"); do
	ok "$m is on the dashboard" sh -c "jq -r '.panels[].targets[]?.expr' \
	    '$D' | grep -qw '$m'"
done
for t in "Divergence by route" "Verdict mix" "Drifts by state" \
    "p99 latency, candidate and primary" "Candidate p99 / primary p99" \
    "Drops" "Queue depth" "Capture" "Alerts sent and failed"; do
	is "$(jq --arg t "$t" '[.panels[] | select(.title == $t)] | length' \
	    "$D")" 1 "a panel '$t'"
done
is "$(jq -r '.panels[] | select(.title == "Divergence by route") |
    .targets[0].expr' "$D" | grep -c 'sum by (route)')" 1 \
    "divergence is summed by route"

# The check bites: one misspelt name is found.
sed 's/paritytap_queue_depth/paritytap_queue_length/' "$D" >"$T/typo.json"
is "$(unknown_metrics "$T/typo.json")" paritytap_queue_length \
    "a misspelt metric name is caught"

# Every panel's query parses as PromQL: as recording rules, with Grafana's
# variables given values.
if command -v promtool >/dev/null 2>&1; then
	{
		echo 'groups:'
		echo '  - name: dashboard'
		echo '    rules:'
		panel_exprs "$D" | sed -e 's/\$__rate_interval/5m/g' \
		    -e 's/\$instance/.*/g' | awk '{
			gsub(/\\/, "\\\\"); gsub(/"/, "\\\"")
			printf "      - record: dashboard_q%d\n", NR
			printf "        expr: \"%s\"\n", $0
		}'
	} >"$T/queries.yml"
	promtool check rules "$T/queries.yml" >"$T/queries.out" 2>&1
	st=$?
	is "$st" 0 "every panel's query parses as PromQL (promtool check rules)"
	[ "$st" -eq 0 ] || diag_file "$T/queries.out"
	sed 's/sum by (verdict) (rate(/sum by (verdict) (rate((/' "$D" \
	    >"$T/broken.json"
	panel_exprs "$T/broken.json" | sed -e 's/\$__rate_interval/5m/g' \
	    -e 's/\$instance/.*/g' | awk 'BEGIN {
		print "groups:\n  - name: dashboard\n    rules:" }
		{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\"")
		printf "      - record: q%d\n        expr: \"%s\"\n", NR, $0 }' \
	    >"$T/broken.yml"
	promtool check rules "$T/broken.yml" >/dev/null 2>&1
	isnt "$?" 0 "a query with unbalanced parentheses is caught"
else
	skip "promtool not installed: the queries' PromQL is not parsed"
	skip "promtool not installed"
fi
done_testing
