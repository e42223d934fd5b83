#!/bin/sh
# contrib/prometheus/prometheus.yml: promtool accepts the example scrape
# config, the rules it loads included, as shipped and with the admin
# token lines it shows commented out turned on.  A config naming a rule
# file that is not there fails the same check.  Needs promtool (Debian
# package prometheus).

. "$(dirname "$0")/lib.sh"
need promtool
P=$top_srcdir/contrib/prometheus

cp "$P/prometheus.yml" "$P/paritytap.rules.yml" "$T/"
promtool check config "$T/prometheus.yml" >"$T/check.out" 2>&1
is "$?" 0 "promtool check config: the example is valid"
contains "$(cat "$T/check.out")" "SUCCESS: 1 rule files found" \
    "promtool check config: it loads the rule file"
contains "$(cat "$T/check.out")" "SUCCESS: 12 rules found" \
    "promtool check config: ... with its 12 rules"
is "$(grep -c "job_name: paritytap" "$T/prometheus.yml")" 1 \
    "one scrape job, paritytap"
like "$(cat "$T/prometheus.yml")" '^    metrics_path: /metrics$' \
    "it scrapes /metrics"

# --admin-token: the commented authorization block, turned on.
printf 's3cret\n' >"$T/admin.token"
sed -e 's/^    #authorization:/    authorization:/' \
    -e 's/^    #  /      /' \
    -e "s|credentials_file: /etc/paritytap/admin.token|credentials_file: $T/admin.token|" \
    "$P/prometheus.yml" >"$T/token.yml"
like "$(cat "$T/token.yml")" "^      credentials_file: $T/admin.token\$" \
    "token variant: the authorization block is on"
promtool check config "$T/token.yml" >"$T/token.out" 2>&1
st=$?
is "$st" 0 "promtool check config: the token variant is valid"
[ "$st" -eq 0 ] || diag_file "$T/token.out"

# --admin-tls-cert: the commented scheme and tls_config lines, turned on.
printf 'not read by promtool\n' >"$T/admin-ca.pem"
sed -e 's/^    #scheme: https/    scheme: https/' \
    -e 's/^    #tls_config:/    tls_config:/' \
    -e "s|/etc/paritytap/admin-ca.pem|$T/admin-ca.pem|" \
    "$P/prometheus.yml" >"$T/https.yml"
like "$(cat "$T/https.yml")" '^    scheme: https$' \
    "https variant: the scheme line is on"
promtool check config "$T/https.yml" >"$T/https.out" 2>&1
st=$?
is "$st" 0 "promtool check config: the https variant is valid"
[ "$st" -eq 0 ] || diag_file "$T/https.out"

sed 's/- paritytap.rules.yml/- missing.rules.yml/' "$P/prometheus.yml" \
    >"$T/missing.yml"
promtool check config "$T/missing.yml" >"$T/missing.out" 2>&1
isnt "$?" 0 "promtool check config fails on a rule file that is not there"
done_testing
