#!/bin/sh
# The alert options of proxy and sniff: --help lists them, the config
# file takes them, a bad value is a usage error (exit 2) that names the
# option, and the proxy's summary line counts the alerts.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"
need_binaries

OPTS="alertmanager alert-url alert-format alert-exec alert-exec-timeout
alert-exec-max alert-instance alert-group-wait alert-group-interval
alert-repeat alert-timeout alert-tries alert-queue"
for cmd in proxy sniff; do
	help=$("$PARITYTAP" "$cmd" --help)
	missing=
	for o in $OPTS; do
		printf '%s\n' "$help" | grep -q -- "--$o " || missing="$missing $o"
	done
	is "$missing" "" "$cmd --help lists every alert option"
done

# usage CMD WANT ARGS...: exit 2 and the message.
usage() {
	_want=$1
	shift
	"$PARITYTAP" "$@" >"$T/u.out" 2>"$T/u.err"
	_st=$?
	is "$_st" 2 "exit 2: $*"
	contains "$(cat "$T/u.err")" "$_want" "says: $_want"
}
P="--listen 127.0.0.1:0 --primary http://127.0.0.1:1 --candidate http://127.0.0.1:2"
usage "--alert-format: 'xml' is not json or slack" proxy $P --alert-format xml
usage "--alert-group-wait: \"5x\": unknown unit \"x\" (ms, s, m, h)" \
    proxy $P --alert-group-wait 5x
usage "--alert-repeat: 10ms: out of range (1000ms to 86400000ms)" \
    proxy $P --alert-repeat 10ms
usage "--alert-tries: " proxy $P --alert-tries 0
usage "--alert-queue: " proxy $P --alert-queue many
usage "--alert-url: 'ftp://x/y': only http:// and https:// URLs" proxy $P \
    --alert-url ftp://x/y
usage "--alertmanager: 'am:9093' is not a URL (http://HOST:PORT/PATH)" \
    proxy $P --alertmanager am:9093
usage "--alert-exec: no command given" proxy $P --alert-exec "  "
usage "--alert-instance: empty name" proxy $P --alert-instance ""
usage "--alert-url: 'ftp://x/y': only http:// and https:// URLs" sniff -i lo --port 1 \
    --candidate http://127.0.0.1:2 --alert-url ftp://x/y
usage "--alert-exec-timeout: \"soon\" is not a duration" sniff -i lo \
    --port 1 --candidate http://127.0.0.1:2 --alert-exec-timeout soon

# The config file's [proxy] takes the keys; a bad one names its line.
cat >"$T/bad.ini" <<EOC
[proxy]
alert-format = yaml
EOC
usage "alert-format: 'yaml' is not json or slack" proxy $P --config "$T/bad.ini"
contains "$(cat "$T/u.err")" "bad.ini:2" "the config file's line"

# A proxy with alerting on: it runs, and its summary counts the alerts
# (no drift table hands it transitions: 0).
start_sink hook
cat >"$T/good.ini" <<EOC
[proxy]
alert-url = $SINK_URL/hook
alert-group-wait = 1s
alert-instance = users
EOC
start_backend primary
start_backend candidate
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --config "$T/good.ini" || bail "the proxy did not start"
req r "$PROXY_URL/x"
is "$HTTP_CODE" 200 "alerting on: the client gets its answer"
stop_proxy
is "$PROXY_STATUS" 0 "alerting on: exit status 0"
like "$(cat "$PROXY_ERR")" '^paritytap proxy: .* · 0 alerts sent, 0 failed$' \
    "alerting on: the summary line counts the alerts"
is "$(sink_n hook)" 0 "alerting on: nothing sent without drifts"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" ||
    bail "the proxy did not start"
stop_proxy
unlike "$(cat "$PROXY_ERR")" 'alerts sent' \
    "alerting off: the summary line does not speak of alerts"

done_testing
