#!/bin/sh
# t0881: the dashboard served by a real proxy's admin listener (--admin 0),
# in headless Chromium, after traffic with three known
# drifts on GET /d/{id} (tests/lib-drift.sh): the page shows those drifts
# with the states the API gives them, the route's counts, and the latest
# divergent exchange side by side with its diff paths marked.  Then a
# proxy with --admin-token: the page opened as /#token=TOKEN polls with it
# and is live; opened with no token or a wrong one it says disconnected
# and shows no data.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries
command -v chromium >/dev/null 2>&1 ||
    skip_all "chromium is not installed: the dashboard is not rendered"

CHROME="chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync"

# dump NAME URL: the page's DOM once a poll has finished, in $T/NAME.html
# (another try when the machine was too busy to finish one); sets D.
dump() {
	_i=0
	while [ "$_i" -lt 5 ]; do
		_i=$((_i + 1))
		rm -rf "$T/chrome-$1"
		mkdir "$T/chrome-$1"
		timeout 120 $CHROME --user-data-dir="$T/chrome-$1" \
		    --virtual-time-budget=5000 --dump-dom "$2" \
		    >"$T/$1.html" 2>"$T/chrome-$1.err"
		DUMP_STATUS=$?
		grep -q '<body[^>]* data-state="[a-z]*"' "$T/$1.html" && break
	done
	D=$(cat "$T/$1.html")
}

count() {
	grep -o -F -e "$1" "$2" | wc -l | tr -d ' '
}

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

# Each drift alone, a match, then all three at once, last.
for p in /d/100 /d/010 /d/001 /d/000 /other/x /d/111; do
	one "r$sent" "$PROXY_URL$p"
	[ "$HTTP_CODE" = 200 ] || diag "$p: $HTTP_CODE"
done
ok "the six exchanges are recorded" wait_for 30 processed
last=$(jq -r .id "$CAP" | tail -n 1)
is "$(jq -r .request.target "$CAP" | tail -n 1)" \
    /d/111 "the last exchange is GET /d/111"
admin drifts /api/drifts
is "$(jq '.drifts | length' "$T/drifts.body")" 3 "the API has the three drifts"

dump live "http://$ADMIN/"
F=$T/live.html
is "$DUMP_STATUS" 0 "chromium --dump-dom exits 0"
contains "$D" '<body data-state="live"' "the page is live"
contains "$D" '<div id="h-exchanges"><b>6</b>exchanges</div>' \
    "health: the six exchanges"
contains "$D" '<tr><td class="name">GET /d/{id}</td><td>5</td><td class="bad">4</td><td>80.0%</td>' \
    "routes: GET /d/{id}, 4 of 5 divergent, first"
contains "$D" '<tr><td class="name">GET /other/x</td><td>1</td><td>0</td><td>0.0%</td>' \
    "routes: GET /other/x, none divergent"
is "$(count '<tr data-id="' "$F")" 3 "drifts: three rows"
for path in '$.a' '$.d' '$.c'; do
	id=$(jq -r --arg p "$path" '.drifts[] | select(.path == $p) | .id' \
	    "$T/drifts.body")
	st=$(jq -r --arg p "$path" '.drifts[] | select(.path == $p) | .state' \
	    "$T/drifts.body")
	side=$(jq -r --arg p "$path" '.drifts[] | select(.path == $p) | .side' \
	    "$T/drifts.body")
	# As the DOM writes it: type(integer-&gt;string).
	kind=$(jq -r --arg p "$path" '.drifts[] | select(.path == $p) | .kind' \
	    "$T/drifts.body" | sed 's/>/\&gt;/g')
	contains "$D" "<tr data-id=\"$id\"><td class=\"state st-$st\">$st</td><td class=\"name\">GET /d/{id}</td><td class=\"name\">$kind</td><td class=\"path\">$path</td><td class=\"name\">$side</td><td>2</td>" \
	    "drifts: $path ($kind, $side), $st, seen twice"
done

# The latest divergent exchange first, side by side.
like "$(grep -o '<section class="example" data-id="[^"]*"' "$F" | head -n 1)" \
    "data-id=\"$last\"" "exchanges: the latest (GET /d/111) first"
is "$(count '<div class="side-by-side">' "$F")" 4 \
    "exchanges: the four divergent ones, each side by side"
contains "$D" '<mark class="diff diff-missing" data-path="$.a">"a": 1</mark>' \
    "exchanges: \$.a marked missing in the primary's body"
contains "$D" '<mark class="diff diff-extra" data-path="$.d">"d": 1</mark>' \
    "exchanges: \$.d marked extra in the candidate's body"
contains "$D" '<mark class="diff diff-type" data-path="$.c">"c": "1"</mark>' \
    "exchanges: \$.c marked, a string in the candidate's body"
contains "$D" '<mark class="diff diff-type" data-path="$.c">"c": 1</mark>' \
    "exchanges: \$.c marked, a number in the primary's body"

timeout 120 $CHROME --user-data-dir="$T/chrome-shot" \
    --virtual-time-budget=5000 --window-size=1280,1800 \
    --screenshot="$T/dashboard.png" "http://$ADMIN/" \
    >/dev/null 2>"$T/chrome-shot.err"
is "$?" 0 "chromium --screenshot exits 0"
is "$(head -c 8 "$T/dashboard.png" | od -An -tx1 | tr -d ' \n')" \
    89504e470d0a1a0a "the screenshot is a PNG"
if [ -n "${PT_KEEP_SHOT:-}" ]; then
	cp "$T/dashboard.png" "$PT_KEEP_SHOT"
fi

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# --- --admin-token ---
printf 's3cr3t-t0k3n\n' >"$T/token"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$T/capture2.jsonl" --admin 0 --admin-token "$T/token" ||
    bail "the proxy with --admin-token did not start"
ADMIN=$(admin_addr)
CAP=$T/capture2.jsonl
sent=0
one tok1 "$PROXY_URL/d/100"
ok "an exchange through the proxy with --admin-token" wait_for 30 processed
dump tok "http://$ADMIN/#token=s3cr3t-t0k3n"
contains "$D" '<body data-state="live"' "with #token=TOKEN the page is live"
contains "$D" '<div id="h-exchanges"><b>1</b>exchanges</div>' \
    "... and shows the exchange"
unlike "$D" 's3cr3t' "... and the token is in no element of the page"
for u in "" "#token=wrong"; do
	dump notok "http://$ADMIN/$u"
	contains "$D" '<body data-state="disconnected"' \
	    "opened as /$u: the page says disconnected"
	unlike "$D" 'GET /d/\{id\}' "... and shows no route"
done
stop_proxy
is "$PROXY_STATUS" 0 "the second proxy exits 0"
done_testing
