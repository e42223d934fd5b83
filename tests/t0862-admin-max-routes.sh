#!/bin/sh
# --max-routes: 150 distinct routes give exactly 100 route label values
# (the default cap) and route="other" for the rest, and the counts add
# up to what was sent; --max-routes 10 caps at 10.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl
need_binaries

start_backend primary
start_backend candidate

# 150 one-segment paths of letters no route template takes for an id.
L="g h j k m n p q r s t u v w x y z"
names=
n=0
for a in $L; do
	for b in $L; do
		[ "$n" -lt 150 ] || break 2
		names="$names${names:+,}$a$b"
		n=$((n + 1))
	done
done

# run CAP [--max-routes N]: a proxy, every route once plus 20 more on
# the first; leaves the scrape in $T/scrape.body.
run() {
	CAP=$1
	shift
	start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    --capture "$CAP" --admin 0 "$@" || bail "the proxy did not start"
	ADMIN=$(admin_addr)
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    -w '%{http_code}\n' "$PROXY_URL/{$names}" >"$T/codes" \
	    2>"$T/curl.err"
	is "$(grep -c '^200$' "$T/codes")" 150 "150 routes, all answered"
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    -w '%{http_code}\n' "$PROXY_URL/gg?[1-20]" >"$T/codes2" \
	    2>"$T/curl.err"
	is "$(grep -c '^200$' "$T/codes2")" 20 "20 more on the first route"
	sent=170
	ok "every exchange is recorded" wait_for 60 processed
	scrape
	is "$HTTP_CODE" 200 "the scrape"
}

# labels: the distinct route label values of paritytap_exchanges_total.
labels() {
	sed -n 's/^paritytap_exchanges_total{route="\([^"]*\)".*/\1/p' \
	    "$T/scrape.body" | sort -u
}

# total: the sum of paritytap_exchanges_total.
total() {
	awk '/^paritytap_exchanges_total\{/ { s += $NF } END { print s + 0 }' \
	    "$T/scrape.body"
}

run "$T/cap1.jsonl"
is "$(labels | grep -vc '^other$')" 100 "exactly 100 route labels"
is "$(labels | grep -c '^other$')" 1 "... and other"
is "$(total)" 170 "the counts add up to what was sent"
is "$(metric 'paritytap_exchanges_total{route="GET /gg",verdict="value"}')" \
    21 "the first route counts its 21"
is "$(metric 'paritytap_exchanges_total{route="other",verdict="value"}')" \
    50 "other counts the 50 routes past the cap"
is "$(grep -c '^paritytap_backend_latency_seconds_count{side="primary"' \
    "$T/scrape.body")" 101 "the latency histograms have the same 101 routes"
stop_proxy

run "$T/cap2.jsonl" --max-routes 10
is "$(labels | grep -vc '^other$')" 10 "--max-routes 10: 10 route labels"
is "$(metric 'paritytap_exchanges_total{route="other",verdict="value"}')" \
    140 "... other counts 140"
is "$(total)" 170 "... and the counts add up"
stop_proxy

done_testing
