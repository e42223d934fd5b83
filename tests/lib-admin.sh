# tests/lib-admin.sh: sourced after lib.sh by the admin listener's tests
# (t086*, t087*).

# admin_addr: the admin listener's ADDR:PORT, from the proxy's start line.
admin_addr() {
	sed -n 's/.*listening on .*, admin \([^)]*\)).*/\1/p' "$PROXY_ERR" |
	    head -n 1
}

# admin NAME PATH [CURL ARGS]: one admin request; like req, the status in
# $HTTP_CODE, the body in $T/NAME.body and $BODY, headers in $T/NAME.hdr.
admin() {
	_an=$1
	_ap=$2
	shift 2
	req "$_an" "$@" "http://$ADMIN$_ap"
}

# metric NAME{LABELS}: the value of one sample of the last scrape in
# $T/scrape.body (empty if absent).
metric() {
	awk -v k="$1" '{
		v = $NF
		s = substr($0, 1, length($0) - length(v) - 1)
		if (s == k)
			print v
	}' "$T/scrape.body"
}

# scrape: GET /metrics into $T/scrape.body.
scrape() {
	admin scrape /metrics "$@"
}

# one NAME URL: one client request through the proxy; counts what was
# sent in $sent.
sent=0
one() {
	req "$1" "$2"
	sent=$((sent + 1))
}

# processed: every request sent is a capture line ($CAP).
processed() {
	[ "$(cap_nlines "$CAP")" -ge "$sent" ]
}
