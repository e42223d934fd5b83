#!/bin/sh
# The shipped rules on a real scrape: a Prometheus (Debian prometheus)
# run with contrib/prometheus/prometheus.yml (its target the proxy's
# admin listener, its intervals 1s) evaluates paritytap.rules.yml
# without an error on a proxy under traffic: a route whose every
# exchange drifts has a divergence ratio of 1 and its
# ParitytapDivergenceRateHigh pending, a route that matches 0 (not
# absent) and no alert; both sides' p99 per route are there.  Every query of the Grafana
# dashboard runs on the same Prometheus, and those on the exchanges
# return series.  Skipped without prometheus, or without --admin.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq promtool
need_binaries
command -v prometheus >/dev/null 2>&1 ||
    skip_all "prometheus not installed (Debian package prometheus)"
"$PARITYTAP" proxy --help 2>&1 | grep -q -- '--admin ADDR' ||
    skip_all "paritytap proxy has no --admin"
P=$top_srcdir/contrib/prometheus
D=$P/grafana-dashboard.json

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
start_proxy -q --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --admin 127.0.0.1:0 || bail "the proxy did not start"
ADMIN=$(sed -n 's/.*proxy listening on .*admin \(127\.0\.0\.1:[0-9]*\).*/\1/p' \
    "$PROXY_ERR" | head -n 1)
[ -n "$ADMIN" ] || bail "no admin address on the proxy's first line"

# The shipped config: 1s intervals, the proxy as its target, alerts to a
# port nothing listens on.
cp "$P/paritytap.rules.yml" "$T/"
sed -e 's/_interval: 15s/_interval: 1s/' \
    -e "s/'127.0.0.1:9464'/'$ADMIN'/" \
    -e "s/'127.0.0.1:9093'/'127.0.0.1:1'/" "$P/prometheus.yml" \
    >"$T/prometheus.yml"
promtool check config "$T/prometheus.yml" >"$T/check.out" 2>&1
is "$?" 0 "promtool check config: the adapted example"
prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/tsdb" --web.listen-address=127.0.0.1:0 \
    >"$T/prometheus.err" 2>&1 &
track $!
prom_port() {
	sed -n 's/.*Listening on.*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$T/prometheus.err" | head -n 1
}
prom_ready() {
	[ -n "$(prom_port)" ] &&
	    curl -sf --noproxy '*' "http://127.0.0.1:$(prom_port)/-/ready" \
	    >/dev/null
}
wait_for 120 prom_ready || {
	diag_file "$T/prometheus.err"
	bail "prometheus did not start"
}
PROM=http://127.0.0.1:$(prom_port)

# query PROMQL: the API's answer in $T/query.json; fails on an error.
query() {
	curl -sf --noproxy '*' -G "$PROM/api/v1/query" \
	    --data-urlencode "query=$1" >"$T/query.json" &&
	    [ "$(jq -r .status "$T/query.json")" = success ]
}

# value PROMQL: the single value of a query, "" when there is none.
value() {
	query "$1" && jq -r '.data.result[0].value[1] // ""' "$T/query.json"
}

# traffic: one exchange that drops $.a, one that matches.
traffic() {
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    -o /dev/null "$PROXY_URL/d/100" "$PROXY_URL/other/x"
}

# Traffic until the rules hold values for both routes and the alert of
# the drifting one is pending.
settled() {
	traffic
	[ "$(value 'instance_route:paritytap_divergence:ratio_rate5m{route="GET /d/{id}"}')" = 1 ] &&
	    [ "$(value 'instance_route:paritytap_divergence:ratio_rate5m{route="GET /other/x"}')" = 0 ] &&
	    [ -n "$(value 'ALERTS{alertname="ParitytapDivergenceRateHigh",route="GET /d/{id}"}')" ]
}
ok "under traffic the rules settle" wait_for 120 settled
traffic

is "$(value 'instance_route:paritytap_divergence:ratio_rate5m{route="GET /d/{id}"}')" \
    1 "divergence ratio: every exchange of GET /d/{id} diverges"
is "$(value 'instance_route:paritytap_divergence:ratio_rate5m{route="GET /other/x"}')" \
    0 "divergence ratio: none of GET /other/x does"
is "$(value 'instance_route:paritytap_candidate_errors:ratio_rate5m{route="GET /d/{id}"}')" \
    0 "candidate error ratio: 0"
cmp_ok "$(value 'count(instance_route:paritytap_compared_exchanges:rate5m > 0)')" \
    -eq 2 "compared exchanges/s: both routes"
is "$(value 'count(instance_side_route:paritytap_backend_latency_seconds:p99_5m{route="GET /d/{id}"} > 0)')" \
    2 "p99 latency: primary and candidate on GET /d/{id}"
query 'ALERTS{alertname="ParitytapDivergenceRateHigh"}'
is "$(jq -c '[.data.result[].metric | [.route, .alertstate, .severity]]' \
    "$T/query.json")" '[["GET /d/{id}","pending","warning"]]' \
    "ParitytapDivergenceRateHigh pending on GET /d/{id} only (for: 10m)"
is "$(value 'count(ALERTS{alertstate="firing"})')" "" \
    "no alert firing (each has a for: of a minute or more)"

# Every rule evaluated without an error.
curl -sf --noproxy '*' "$PROM/api/v1/rules" >"$T/rules.json"
is "$(jq '[.data.groups[].rules[]] | length' "$T/rules.json")" 12 \
    "Prometheus loaded the 12 rules"
is "$(jq -c '[.data.groups[].rules[] | select(.health != "ok") |
    [.name, .lastError]]' "$T/rules.json")" '[]' \
    "every rule's last evaluation is healthy"

# The dashboard's queries, with Grafana's variables given values.
jq -r '.panels[] | select(.type != "row") | .title as $t |
    .targets[] | "\($t)\t\(.expr)"' "$D" |
    sed -e 's/\$__rate_interval/1m/g' -e 's/\$instance/.*/g' >"$T/exprs"
bad=
empty=
while IFS="$(printf '\t')" read -r title expr; do
	if ! query "$expr"; then
		bad="$bad [$title]"
		continue
	fi
	case $expr in
	*paritytap_exchanges_total*|*paritytap_backend_latency*)
		[ "$(jq '.data.result | length' "$T/query.json")" -gt 0 ] ||
		    empty="$empty [$title]"
		;;
	esac
done <"$T/exprs"
cmp_ok "$(wc -l <"$T/exprs")" -ge 20 "the dashboard has its 20 and more queries"
is "$bad" "" "every dashboard query runs on Prometheus"
is "$empty" "" "the queries on exchanges and latency return series"
is "$(query "$(jq -r '.panels[] | select(.title == "Divergence by route") |
    .targets[0].expr' "$D" | sed -e 's/\$__rate_interval/1m/g' \
    -e 's/\$instance/.*/g')"
    jq -c '[.data.result[] | [.metric.route, .value[1]]] | sort' "$T/query.json")" \
    '[["GET /d/{id}","1"],["GET /other/x","0"]]' \
    "the dashboard's divergence by route: 1 and 0"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"
done_testing
