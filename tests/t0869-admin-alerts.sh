#!/bin/sh
# The alert channels' counts in /metrics and /api/summary: a webhook that
# takes the NEW alert counts it sent, one that answers 500 counts it
# failed (after --alert-tries), each under its channel's name.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
. "$top_srcdir/tests/lib-alert.sh"
need curl jq python3
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"

# run MODE: a proxy whose webhook answers MODE; one drifting request.
run() {
	start_sink "$1" "$1"
	CAP=$T/$1.jsonl
	sent=0
	start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    --capture "$CAP" --admin 0 --alert-url "$SINK_URL/hook" \
	    --alert-group-wait 500ms --alert-tries 2 ||
	    bail "the proxy did not start"
	ADMIN=$(admin_addr)
	one r "$PROXY_URL/d/100"
	is "$HTTP_CODE" 200 "$1: a drifting request answered"
}

# counted WHAT N: /metrics says paritytap_alerts_WHAT_total of the
# webhook is N.
counted() {
	scrape
	[ "$(metric "paritytap_alerts_$1_total{channel=\"webhook\"}")" = "$2" ]
}

run ok
ok "ok: the webhook got the alert" wait_for 60 sink_ge ok 1
ok "ok: /metrics counts it sent" wait_for 60 counted sent 1
is "$(metric 'paritytap_alerts_failed_total{channel="webhook"}')" 0 \
    "ok: none failed"
admin summary /api/summary
is "$(jq -c .alerts "$T/summary.body")" '{"webhook":{"sent":1,"failed":0}}' \
    "ok: /api/summary's alerts"
stop_proxy

run 500
ok "500: the webhook was tried" wait_for 60 sink_ge 500 2
ok "500: /metrics counts it failed" wait_for 60 counted failed 1
is "$(metric 'paritytap_alerts_sent_total{channel="webhook"}')" 0 \
    "500: none sent"
stop_proxy

done_testing
