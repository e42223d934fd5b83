#!/bin/sh
# A real Prometheus (Debian prometheus) scrapes a proxy under traffic
# every second, with the admin token as its bearer credentials, its
# target from a file; its HTTP API then holds paritytap_exchanges_total
# by route and verdict exactly as sent, and the target is up.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries
command -v prometheus >/dev/null 2>&1 ||
    skip_all "prometheus not installed (Debian package prometheus)"

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
printf 'prom-token-42\n' >"$T/token"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 --admin-token "$T/token" ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

printf '[{"targets":["%s"],"labels":{"run":"t0865"}}]\n' "$ADMIN" \
    >"$T/targets.json"
cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: paritytap
    authorization:
      type: Bearer
      credentials_file: $T/token
    file_sd_configs:
      - files: [$T/targets.json]
EOC
promtool check config "$T/prometheus.yml" >"$T/check.out" 2>&1
is "$?" 0 "promtool check config accepts the scrape config"
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
	    curl -sf "http://127.0.0.1:$(prom_port)/-/ready" >/dev/null
}
wait_for 120 prom_ready || {
	diag_file "$T/prometheus.err"
	bail "prometheus did not start"
}
PROM=http://127.0.0.1:$(prom_port)

# query PROMQL: the result vector, as [[labels..., value]] sorted.
query() {
	curl -sf --noproxy '*' -G "$PROM/api/v1/query" \
	    --data-urlencode "query=$1" >"$T/query.json" || return 1
	jq -c '[.data.result[] | [.metric.route, .metric.verdict,
	    .value[1]]] | sort' "$T/query.json"
}

# Traffic: 4 exchanges that drop $.a, 3 that match, 2 on another route.
for p in /d/100 /d/000 /d/100 /d/000 /d/100 /d/000 /d/100 /other/x \
    /other/y; do
	one "r$sent" "$PROXY_URL$p"
	[ "$HTTP_CODE" = 200 ] || diag "$p: $HTTP_CODE"
done
ok "the nine exchanges are recorded" wait_for 30 processed

WANT='[["GET /d/{id}","match","3"],["GET /d/{id}","shape","4"],["GET /other/x","match","1"],["GET /other/y","match","1"]]'
counted() {
	[ "$(query paritytap_exchanges_total)" = "$WANT" ]
}
ok "Prometheus holds the exchanges by route and verdict" \
    wait_for 120 counted
is "$(query paritytap_exchanges_total)" "$WANT" "... exactly as sent"
is "$(query 'up{job="paritytap"}' >/dev/null;
    jq -r '.data.result[0].value[1]' "$T/query.json")" 1 \
    "the target is up (the bearer token was accepted)"
is "$(query 'sum(paritytap_drifts)' >/dev/null;
    jq -r '.data.result[0].value[1]' "$T/query.json")" 1 \
    "paritytap_drifts: the one drift"
is "$(query 'paritytap_backend_latency_seconds_count{side="candidate",route="GET /d/{id}"}' >/dev/null;
    jq -r '.data.result[0].value[1]' "$T/query.json")" 7 \
    "the candidate's latency histogram, as Prometheus reads it"
is "$(query 'scrape_samples_post_metric_relabeling{job="paritytap"} > 0' \
    >/dev/null; jq -r '.data.result | length' "$T/query.json")" 1 \
    "the scrape has samples"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"

done_testing
