#!/bin/sh
# --admin-tls-cert/--admin-tls-key: the admin listener speaks HTTPS, with
# a certificate of its own (the proxy's --listen may or may not use TLS);
# SIGHUP reads it again.  sniff's --admin takes the same options.
# paritytap_client_tls_errors_total is there when --listen speaks TLS.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq openssl timeout
need_binaries

start_backend primary
start_backend candidate
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
tls_ca "$T/pki"
tls_server_cert "$T/pki" admin
tls_server_cert "$T/pki" admin2
tls_server_cert "$T/pki" server
mkdir "$T/live"
cp "$T/pki/admin.pem" "$T/live/admin.pem"
cp "$T/pki/admin.key" "$T/live/admin.key"

# --- plain --listen, HTTPS --admin -------------------------------------------
start_proxy --primary "$PRI" --candidate "$CAN" --admin 0 -v \
    --admin-tls-cert "$T/live/admin.pem" --admin-tls-key "$T/live/admin.key" ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
APORT=${ADMIN##*:}
req one "$PROXY_URL/one"
is "$HTTP_CODE" 200 "plain --listen: 200"

req m --cacert "$T/pki/ca.pem" "https://localhost:$APORT/metrics"
is "$CURL_STATUS" 0 "HTTPS admin: curl --cacert /metrics succeeds"
is "$HTTP_CODE" 200 "HTTPS admin: /metrics 200"
contains "$BODY" "paritytap_build_info" "HTTPS admin: the metrics are there"
unlike "$BODY" "paritytap_client_tls_errors_total" \
    "plain --listen: no paritytap_client_tls_errors_total"
req h --cacert "$T/pki/ca.pem" "https://localhost:$APORT/healthz"
is "$HTTP_CODE" 200 "HTTPS admin: /healthz 200"
req noca "https://localhost:$APORT/metrics"
is "$CURL_STATUS" 60 "HTTPS admin: without the CA, verification fails"
req plain "http://$ADMIN/metrics"
isnt "$HTTP_CODE" 200 "HTTPS admin: plain HTTP gets no metrics"
ok "HTTPS admin: still serving after those" \
    sh -c "curl -sS --noproxy '*' --cacert '$T/pki/ca.pem' \
    'https://localhost:$APORT/healthz' >/dev/null"

S1=$(tls_serial "$T/pki/admin.pem")
S2=$(tls_serial "$T/pki/admin2.pem")
is "$(tls_peer_serial "$ADMIN" "$T/pki/ca.pem")" "$S1" \
    "HTTPS admin: the admin certificate"
cp "$T/pki/admin2.pem" "$T/live/admin.pem"
cp "$T/pki/admin2.key" "$T/live/admin.key"
kill -HUP "$PROXY_PID"
ok "SIGHUP: the admin certificate is reloaded" wait_for 10 grep -q \
    -- "--admin-tls-cert $T/live/admin.pem: certificate reloaded" "$PROXY_ERR"
is "$(tls_peer_serial "$ADMIN" "$T/pki/ca.pem")" "$S2" \
    "SIGHUP: the admin serves the new certificate"
cp "$T/pki/server.key" "$T/live/admin.key"
kill -HUP "$PROXY_PID"
ok "SIGHUP, mismatched key: a warning naming the file" wait_for 10 grep -q \
    -- "--admin-tls-key $T/live/admin.key: the key does not match" "$PROXY_ERR"
is "$(tls_peer_serial "$ADMIN" "$T/pki/ca.pem")" "$S2" \
    "SIGHUP, mismatched key: the admin keeps the certificate it had"
req m2 --cacert "$T/pki/ca.pem" "https://localhost:$APORT/metrics"
is "$HTTP_CODE" 200 "SIGHUP, mismatched key: /metrics still 200"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# --- HTTPS on both, each its own certificate ---------------------------------
start_proxy --primary "$PRI" --candidate "$CAN" --admin 0 \
    --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" \
    --admin-tls-cert "$T/pki/admin.pem" --admin-tls-key "$T/pki/admin.key" ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
APORT=${ADMIN##*:}
is "$(tls_peer_serial "127.0.0.1:$PROXY_PORT" "$T/pki/ca.pem")" \
    "$(tls_serial "$T/pki/server.pem")" "both: --listen has --tls-cert's"
is "$(tls_peer_serial "$ADMIN" "$T/pki/ca.pem")" \
    "$(tls_serial "$T/pki/admin.pem")" "both: --admin has --admin-tls-cert's"
req bad "https://localhost:$PROXY_PORT/bad"
is "$CURL_STATUS" 60 "both: a client without the CA fails"
req m3 --cacert "$T/pki/ca.pem" "https://localhost:$APORT/metrics"
is "$HTTP_CODE" 200 "both: /metrics 200"
# tls_errors_are N: /metrics (over HTTPS) counts N failed handshakes; the
# refused one is counted once the proxy has read the client's alert.
tls_errors_are() {
	req m3 --cacert "$T/pki/ca.pem" "https://localhost:$APORT/metrics"
	[ "$(awk '$1 == "paritytap_client_tls_errors_total" { print $2 }' \
	    "$T/m3.body")" = "$1" ]
}
# The s_client handshakes above completed: only the refused one counts.
ok "both: paritytap_client_tls_errors_total 1" wait_for 10 tls_errors_are 1
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# --- sniff -------------------------------------------------------------------
sniff_once nokey --admin 0 --admin-tls-cert "$T/pki/admin.pem"
is "$ST" 2 "sniff --admin-tls-cert without its key: exit 2"
contains "$ERR" "--admin-tls-cert needs --admin-tls-key" "... saying so"
sniff_once mism --admin 0 --admin-tls-cert "$T/pki/admin.pem" \
    --admin-tls-key "$T/pki/server.key"
is "$ST" 2 "sniff, mismatched admin key: exit 2"
contains "$ERR" \
    "--admin-tls-key $T/pki/server.key: the key does not match the certificate in $T/pki/admin.pem" \
    "... naming the file"

need_capture
start_sniff --port "$(backend_port primary)" --candidate "$CAN" \
    --stats-interval 0 --admin 0 \
    --admin-tls-cert "$T/pki/admin.pem" --admin-tls-key "$T/pki/admin.key" ||
    bail "sniff did not start"
ADMIN=$(sed -n 's/.*, admin \([^ ]*\)$/\1/p' "$SNIFF_ERR" | head -n 1)
req sm --cacert "$T/pki/ca.pem" "https://localhost:${ADMIN##*:}/metrics"
is "$HTTP_CODE" 200 "sniff: HTTPS admin /metrics 200"
contains "$BODY" "paritytap_build_info" "sniff: the metrics are there"
stop_sniff
is "$SNIFF_STATUS" 0 "sniff exits 0"

done_testing
