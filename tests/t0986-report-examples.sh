#!/bin/sh
# paritytap report --examples N: the earliest N exchanges of each
# signature, each with its request (method, target, headers, body), both
# responses' status and headers and its diffs folded ($.rows[*].v, 63
# places, not 63 lines), indexes in numeric order ($.a[2] before
# $.a[10]), in text, JSON and HTML (rendered in headless Chromium when it
# is installed).  The capture is recorded with the real proxy and
# --keep-secrets, so Authorization, Cookie, X-Api-Key and Set-Cookie are
# stored in clear: the report shows none of them.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend primary "$FIXTURES/examples-primary.json"
start_backend candidate "$FIXTURES/examples-candidate.json"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$T/cap.jsonl" --keep-secrets -q || bail "the proxy did not start"
req rows -H 'Authorization: Bearer tok-s3cr3t' -H 'Cookie: sid=k-s3cr3t' \
    -H 'X-Api-Key: key-s3cr3t' "$PROXY_URL/rows"
[ "$HTTP_CODE" = 200 ] || bail "GET /rows: $HTTP_CODE"
for q in 1 2 3 4 5; do
	req order -H 'Authorization: Bearer tok-s3cr3t' \
	    -H 'Content-Type: application/json' \
	    --data "{\"item\":\"pen\",\"qty\":$q}" "$PROXY_URL/orders"
	[ "$HTTP_CODE" = 200 ] || bail "POST /orders: $HTTP_CODE"
done
stop_proxy
CAP=$T/cap.jsonl
is "$(cap_nlines "$CAP")" 6 "the proxy recorded 6 exchanges"
is "$(grep -o 's3cr3t' "$CAP" | wc -l | tr -d ' ')" 12 \
    "with --keep-secrets the capture holds the secrets in clear (7 in the GET, 1 in each POST)"
# The bodies' lengths, as the backends send them.
PLEN=$(jq '.routes[0].body | length' "$FIXTURES/examples-primary.json")
CLEN=$(jq '.routes[0].body | length' "$FIXTURES/examples-candidate.json")
is "$(jq -c 'select(.route == "POST /orders") | [.diffs[].path]' "$CAP" | sort -u)" \
    '["$.a[2].y","$.a[10].z"]' \
    "the capture lists the diffs with indexes in numeric order: [2] before [10]"

# The POST ids, earliest first, as jq finds them in the capture.
jq -r 'select(.route == "POST /orders") | [.ts, .id] | @tsv' "$CAP" |
    sort | cut -f2 >"$T/order-ids"
ROWS_ID=$(jq -r 'select(.route == "GET /rows") | .id' "$CAP")

# run NAME ARGS...: paritytap report to $T/NAME.out/.err; sets ST, OUT, ERR.
run() {
	_n=$1
	shift
	"$PARITYTAP" report "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
	ERR=$(cat "$T/$_n.err")
}
# sig_block FILE ROUTE: the text lines of the signature on ROUTE, up to
# the next signature or the end of the list.
sig_block() {
	sed -n '/^Signatures/,/^$/p' "$1" | awk -v r="$2" '
	    /^ +[0-9]+  / { on = index($0, " " r " ") > 0 || \
	        substr($0, length($0) - length(r) + 1) == r }
	    on'
}

# --- text ---------------------------------------------------------------------

run text "$CAP"
is "$ST" 0 "text: exit 0"
sig_block "$T/text.out" "GET /rows" >"$T/rows.txt"
is "$(sed -n '4,$p' "$T/rows.txt" | sed "s/$ROWS_ID/ID/; s/ [0-9T:.-]*Z:/ TS:/; s/127.0.0.1:[0-9]*/HOST/; s/curl\/[0-9.]*/curl/")" \
'          e.g. ID TS: GET /rows
            > Host: HOST; User-Agent: curl; Accept: */*; Authorization: [redacted]; Cookie: [redacted]; X-Api-Key: [redacted]
            < primary   200 Content-Type: application/json; Set-Cookie: [redacted]; Content-Length: '"$PLEN"'
            < candidate 200 Content-Type: application/json; Set-Cookie: [redacted]; Content-Length: '"$CLEN"'
            * value $.rows[*].v (63 places): 0 -> 1000 (first)
            * header set-cookie: [redacted] -> [redacted]' \
    "text: the example's request and response headers, secrets redacted, 63 row diffs in one folded bullet"
is "$(grep -c '\$\.rows\[[0-9]' "$T/text.out")" 0 "text: no line of a single row"
sig_block "$T/text.out" "POST /orders" >"$T/orders.txt"
is "$(grep -c '^          e\.g\. ' "$T/orders.txt")" 3 \
    "text: three examples of the five POSTs by default"
is "$(sed -n 's/^          e\.g\. \([^ ]*\) .*/\1/p' "$T/orders.txt")" \
    "$(head -n 3 "$T/order-ids")" "text: the three earliest, earliest first"
is "$(grep '^            [>*]' "$T/orders.txt" | sed -n '2,4p')" \
'            > body {"item":"pen","qty":1}
            * missing $.a[2].y (candidate): 2 -> -
            * extra $.a[10].z (candidate): - -> 0' \
    "text: the request body, then the diffs with \$.a[2] before \$.a[10]"
unlike "$OUT" 's3cr3t' "text: no secret"

run one --examples 1 "$CAP"
is "$(grep -c '^          e\.g\. ' "$T/one.out")" 2 "--examples 1: one example a signature"
run five --examples 5 "$CAP"
is "$(sig_block "$T/five.out" "POST /orders" | sed -n 's/^          e\.g\. \([^ ]*\) .*/\1/p')" \
    "$(cat "$T/order-ids")" "--examples 5: all five POSTs, earliest first"
run none --examples 0 "$CAP"
is "$(grep -c '^          e\.g\. \|^            [<>*]' "$T/none.out")" 0 "--examples 0: no example"
ok "--examples 0: the signatures are still listed" grep -q '^       5  shape POST /orders ' "$T/none.out"
printf '[report]\nexamples = 2\n' >"$T/report.ini"
run conf --config "$T/report.ini" "$CAP"
is "$(grep -c '^          e\.g\. ' "$T/conf.out")" 3 "examples = 2 in [report]: 1 + 2 examples"
run bad --examples many "$CAP"
is "$ST" 2 "--examples many: exit 2"
contains "$ERR" "--examples: 'many' is not a number from 0 to 1000" "... naming the option"
run help --help
contains "$OUT" "--examples N" "--help documents --examples"

# --- JSON ---------------------------------------------------------------------

run json -f json "$CAP"
is "$ST" 0 "JSON: exit 0"
J=$T/json.out
is "$(jq -r '.signatures[] | select(.route == "POST /orders") | .examples[].id' "$J")" \
    "$(head -n 3 "$T/order-ids")" "JSON: three examples, the earliest first"
is "$(jq -c '.signatures[] | select(.route == "POST /orders") | .examples[0].request | .headers |= map(select(.name != "Host" and .name != "User-Agent"))' "$J")" \
    '{"method":"POST","target":"/orders","headers":[{"name":"Accept","value":"*/*"},{"name":"Authorization","value":"[redacted]"},{"name":"Content-Type","value":"application/json"},{"name":"Content-Length","value":"22"}],"body":"{\"item\":\"pen\",\"qty\":1}","body_truncated":false}' \
    "JSON: the request: method, target, headers (Authorization redacted), body"
is "$(jq -c '.signatures[] | select(.route == "GET /rows") | .examples[0] | [.primary.status, .primary.headers, .candidate.status, .candidate.headers[1]]' "$J")" \
    '[200,[{"name":"Content-Type","value":"application/json"},{"name":"Set-Cookie","value":"[redacted]"},{"name":"Content-Length","value":"'"$PLEN"'"}],200,{"name":"Set-Cookie","value":"[redacted]"}]' \
    "JSON: both responses' status and headers, Set-Cookie redacted"
is "$(jq -c '.signatures[] | select(.route == "GET /rows") | .examples[0].diffs' "$J")" \
    '[{"kind":"value","path":"$.rows[*].v","side":null,"places":63,"primary":"0","candidate":"1000","detail":null,"noise":false},{"kind":"header","path":"set-cookie","side":null,"places":1,"primary":"[redacted]","candidate":"[redacted]","detail":null,"noise":false}]' \
    "JSON: the diffs folded, with the number of places; the header diff redacted"
is "$(jq -c '.signatures[] | select(.route == "POST /orders") | .examples[0].diffs | map(.path)' "$J")" \
    '["$.a[2].y","$.a[10].z"]' "JSON: \$.a[2] before \$.a[10]"
is "$(jq -c '.signatures[] | select(.route == "GET /rows") | .examples[0].primary.body | fromjson | .rows | length' "$J")" \
    63 "JSON: the primary's body"
unlike "$(cat "$J")" 's3cr3t' "JSON: no secret"
run json0 -f json --examples 0 "$CAP"
is "$(jq -c '[.signatures[].examples | length]' "$T/json0.out")" '[0,0]' \
    "JSON --examples 0: empty lists"

# --- HTML ---------------------------------------------------------------------

run html -f html -o "$T/report.html" "$CAP"
is "$ST" 0 "HTML: exit 0"
H=$(cat "$T/report.html")
unlike "$H" 's3cr3t' "HTML: no secret"
contains "$H" '<li>value $.rows[*].v <span class="places">(63 places)</span>: 0 &#8594; 1000 (first)</li>' \
    "HTML: the folded bullet"
is "$(printf '%s\n' "$H" | grep -c '<li>value \$\.rows\[[0-9]')" 0 "HTML: no bullet of a single row"
contains "$H" 'Authorization: [redacted]' "HTML: the request's Authorization redacted"
contains "$H" 'Set-Cookie: [redacted]' "HTML: the responses' Set-Cookie redacted"
contains "$H" '<pre class="request-body">{&#34;item&#34;:&#34;pen&#34;,&#34;qty&#34;:1}</pre>' \
    "HTML: the request's body"
run html0 -f html --examples 0 "$CAP"
unlike "$OUT" '<section class="example"' "HTML --examples 0: no example section"
unlike "$OUT" 'href="#example-' "HTML --examples 0: ... and no link to one"
contains "$OUT" '<td class="name">shape POST /orders $.a[*].y $.a[*].z</td>' \
    "HTML --examples 0: the signature is still listed"

if ! have_chromium; then
	skip "chromium is not installed: the HTML page is not rendered"
else
	chrome_dom dom "file://$T/report.html"
	is "$?" 0 "chromium --dump-dom exits 0"
	# One line a tag, to count the elements the browser parsed.
	sed 's/</\n</g' "$T/dom.html" >"$T/dom.lines"
	is "$(grep -c '^<div class="exchange"' "$T/dom.lines")" 4 \
	    "rendered: 4 example exchanges (1 + 3)"
	is "$(grep -c '^<pre class="headers">' "$T/dom.lines")" 12 \
	    "rendered: each with the request's and both responses' headers"
	is "$(sed -n '/^<section class="example" id="example-1"/,/^<\/section>/p' "$T/dom.lines" |
	    grep -c '^<div class="exchange" data-id=')" 3 \
	    "rendered: the most frequent signature (the POSTs) has three"
	is "$(sed -n '/^<section class="example" id="example-1"/,/^<div class="side-by-side">/p' "$T/dom.lines" |
	    grep '^<li>' | sed 's/<li>//')" \
'missing $.a[2].y (candidate): 2 → -
extra $.a[10].z (candidate): - → 0' \
	    "rendered: the bullets, \$.a[2] first"
fi

done_testing
