#!/bin/sh
# t0880: the dashboard page (src/dashboard.html) in headless Chromium,
# against the admin API's answers served from files
# (tests/backends/dashfixture.py): 101 routes, 1,000 drifts in every state,
# divergent exchanges side by side with their diff paths marked as in the
# HTML report, strings from traffic holding markup and quotes that must
# stay text, the token from the URL fragment, the state filter from the
# fragment, and "disconnected" when the API refuses or fails.

. "$(dirname "$0")/lib.sh"
need python3

PAGE=$top_srcdir/src/dashboard.html
FIXTURE=$top_srcdir/tests/backends/dashfixture.py
[ -f "$PAGE" ] || bail "$PAGE is missing"
command -v chromium >/dev/null 2>&1 ||
    skip_all "chromium is not installed: the dashboard is not rendered"

CHROME="chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync"

# serve NAME [MODE]: the fixture server on a free port, its files in
# $T/NAME; sets URL.
serve() {
	mkdir "$T/$1"
	python3 "$FIXTURE" gen "$T/$1" || bail "dashfixture.py gen failed"
	python3 "$FIXTURE" serve "$PAGE" "$T/$1" "$T/$1.port" ${2:-} \
	    2>"$T/$1.berr" &
	track $!
	wait_for 30 test -s "$T/$1.port" || bail "the fixture server did not start"
	URL=http://127.0.0.1:$(cat "$T/$1.port")
}

# settled FILE: the page has finished a poll (whatever its outcome).
settled() {
	grep -q '<body[^>]* data-state="[a-z]*"' "$1"
}

# dump NAME URL: the page's DOM once a poll has finished, in $T/NAME.html;
# sets D.  Virtual time runs the polling without waiting for the clock;
# a machine too busy to answer within it gets another try.
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
		settled "$T/$1.html" && break
	done
	D=$(cat "$T/$1.html")
}

# count PATTERN FILE: how many times the fixed string occurs in FILE.
count() {
	grep -o -F -e "$1" "$2" | wc -l | tr -d ' '
}

# --- the whole page, token from the fragment ---------------------------------

DASH_TOKEN=s3cret
export DASH_TOKEN
serve live
dump live "$URL/#token=s3cret"
F=$T/live.html
is "$DUMP_STATUS" 0 "chromium --dump-dom exits 0"
contains "$D" '<body data-state="live"' "the page polled the API and is live"
contains "$D" '<span id="conn" class="up">live</span>' "the header says live"
is "$(grep -c '^/api/' "$T/live/requests")" \
    "$(grep -c '^/api/.* Bearer s3cret$' "$T/live/requests")" \
    "every API request carried the token from the fragment"
cmp_ok "$(grep -c '^/api/summary ' "$T/live/requests")" -ge 1 \
    "the page asked for the summary"
cmp_ok "$(grep -c '^/api/drifts ' "$T/live/requests")" -ge 1 \
    "the page asked for the drifts"
cmp_ok "$(grep -c '^/api/exchanges?limit=10 ' "$T/live/requests")" -ge 1 \
    "the page asked for the latest ten exchanges"

# Health.
contains "$D" '<div id="h-exchanges"><b>123,456</b>exchanges</div>' \
    "health: the exchange count"
contains "$D" '<div id="h-mirrors-dropped" class="bad"><b>9</b>mirrors dropped</div>' \
    "health: mirrors dropped, summed over the reasons, marked"
contains "$D" '<div id="h-queue-depth"><b>42</b>queue depth</div>' \
    "health: the queue depth"
contains "$D" '<div id="h-capture-errors" class="bad"><b>3</b>capture errors</div>' \
    "health: capture errors, marked"
contains "$D" '<div id="h-candidate-errors" class="bad"><b>13</b>candidate errors</div>' \
    "health: candidate errors, summed over the reasons, marked"
contains "$D" '<div id="h-p99-candidate" class="bad"><b>31.75 ms</b>p99 candidate</div>' \
    "health: the candidate's p99, marked when well above the primary's"
contains "$D" '<div id="h-p99-primary"><b>8.50 ms</b>p99 primary</div>' \
    "health: the primary's p99"

# The rate chart: one bar of each kind per minute.
is "$(count '<rect class="rate all"' "$F")" 60 "rate chart: 60 minutes of all exchanges"
is "$(count '<rect class="rate divergent"' "$F")" 60 "rate chart: 60 minutes of divergent ones"

# Routes: all 101, the most divergent first, the hostile name as text.
is "$(sed -n '/<table id="routes">/,/<\/table>/p' "$F" | grep -o '<tr><td class="name">' | wc -l | tr -d ' ')" \
    101 "routes: 101 rows"
contains "$D" 'id="routes-note">101 of 101 routes<' "routes: the count says so"
contains "$D" '<tbody><tr><td class="name">GET /&lt;script&gt;alert(1)&lt;/script&gt;"'"'"'x</td><td>10</td><td class="bad">9</td><td>90.0%</td>' \
    "routes: the most divergent route first, its name escaped"
contains "$D" '<span class="v-other" title="&lt;img src=x onerror=document.title=1&gt;: 1" style="width: 10%;"></span>' \
    "routes: a verdict name from traffic is a title, not markup"
contains "$D" '<span class="v-shape" title="shape: 5" style="width: 50%;"></span>' \
    "routes: the stacked bar's share of a verdict"

# Drifts: at most 300 rows, the rest counted; the worst states first.
is "$(count '<tr data-id="d' "$F")" 300 "drifts: 300 of 1,000 rows rendered"
contains "$D" 'id="drifts-more">700 more: narrow the filter to see them<' \
    "drifts: the rest counted"
contains "$D" 'id="drifts-note">1000 of 1000 drifts<' "drifts: the total"
contains "$D" '<tr data-id="d0003"><td class="state st-regressed">regressed</td><td class="name">GET /v1/r003/{id}</td><td class="name">missing</td><td class="path">$.field0003</td><td class="name">candidate</td><td>997</td><td>49.9%</td>' \
    "drifts: the most frequent regressed drift first, with its count and share"
is "$(count '<td class="state st-regressed">regressed</td>' "$F")" 250 \
    "drifts: the 250 regressed ones first"
is "$(count '<td class="state st-new">new</td>' "$F")" 50 \
    "drifts: then the new ones not baselined"
is "$(count '<td class="state st-ongoing">' "$F")$(count '<td class="state st-resolved">' "$F")" \
    00 "drifts: ongoing and resolved ones come after those that need a look"
contains "$D" '<tr data-id="d0007"><td class="state st-regressed">regressed</td><td class="name">GET /&lt;script&gt;alert(1)&lt;/script&gt;"'"'"'x</td><td class="name">missing</td><td class="path">$["&lt;b id=\"k\"&gt;k&lt;/b&gt;"]</td>' \
    "drifts: a route and a path holding markup stay text"

# Exchanges side by side, diff paths marked as in the report.
is "$(count '<section class="example"' "$F")" 3 "exchanges: three shown"
is "$(count '<div class="side-by-side">' "$F")" 3 "exchanges: each side by side"
contains "$D" '<h3>shape · GET /&lt;script&gt;alert(1)&lt;/script&gt;"'"'"'x</h3>' \
    "exchanges: the route in the title, escaped"
contains "$D" '<p class="meta">GET /v1/users/1?q=&lt;img src=x onerror=document.title=1&gt; · id 18ea17768c2f59ce-eaa707c9 · 2026-11-21T14:59:59.386055Z</p>' \
    "exchanges: the request, its target escaped, the id and time"
contains "$D" '<div class="side primary"><h4>primary · 200 · 0.38 ms</h4>' \
    "exchanges: the primary's side with its status"
contains "$D" '<div class="side candidate"><h4>candidate · 200 · 0.41 ms</h4>' \
    "exchanges: the candidate's side with its status"
contains "$D" '<mark class="diff diff-missing" data-path="$.line_offset">"line_offset": 0</mark>' \
    "exchanges: the missing member marked in the primary's body"
contains "$D" '<mark class="diff diff-missing" data-path="$[&quot;&lt;b id=\&quot;k\&quot;&gt;k&lt;/b&gt;&quot;]">"&lt;b id=\"k\"&gt;k&lt;/b&gt;": "&lt;script&gt;alert(3)&lt;/script&gt;"</mark>' \
    "exchanges: a key holding markup, its path marked, its value text"
contains "$D" '<mark class="diff" data-path="$.n">"n": 1.0</mark>' \
    "exchanges: a number kept as written (1.0), marked"
contains "$D" '<mark class="diff" data-path="$.n">"n": 1</mark>' \
    "exchanges: the candidate's 1, marked"
contains "$D" '"line_offset": 0</mark>,
  <mark class="diff diff-missing"' "exchanges: the members in their order"
contains "$D" '"n": 1.0</mark>,
  "10": "ten"
}' "exchanges: an integer-like key stays where it was"
contains "$D" '<mark class="diff diff-extra" data-path="$.items[2]">{
      "SKU": "c-3"
    }</mark>' "exchanges: an extra array element marked in the candidate's body"
contains "$D" '<li>value $.n: 1.0 → 1</li>' "exchanges: the diff list"
contains "$D" '<div class="side candidate"><h4>candidate · error timeout · 5000.21 ms</h4>' \
    "exchanges: a candidate error in the side's title"
contains "$D" '<pre class="body">&lt;script&gt;b64&lt;/script&gt;</pre>' \
    "exchanges: a body_b64 body decoded, as text"

# Nothing injected: the page's own script is the only one, no element
# from the strings of the traffic.
is "$(count '<script' "$F")" 1 "no injected <script> element"
is "$(count '<img' "$F")" 0 "no injected <img> element"
is "$(count '<b id=' "$F")" 0 "no injected <b> element"
contains "$D" '<title>paritytap</title>' "no handler from the traffic ran"

timeout 120 $CHROME --user-data-dir="$T/chrome-shot" \
    --virtual-time-budget=5000 --window-size=1280,2400 \
    --screenshot="$T/dashboard.png" "$URL/#token=s3cret" \
    >/dev/null 2>"$T/chrome-shot.err"
is "$?" 0 "chromium --screenshot exits 0"
is "$(head -c 8 "$T/dashboard.png" | od -An -tx1 | tr -d ' \n')" \
    89504e470d0a1a0a "the screenshot is a PNG"
cmp_ok "$(wc -c <"$T/dashboard.png" | tr -d ' ')" -gt 50000 \
    "the screenshot is not blank"
if [ -n "${PT_KEEP_SHOT:-}" ]; then
	cp "$T/dashboard.png" "$PT_KEEP_SHOT"
fi

# --- the state filter from the fragment --------------------------------------

dump regressed "$URL/#token=s3cret&state=regressed"
F=$T/regressed.html
is "$(count '<tr data-id="d' "$F")" 250 "state=regressed: the 250 regressed drifts"
is "$(count '<td class="state st-regressed">' "$F")" 250 \
    "state=regressed: every row is regressed"
contains "$D" 'id="drifts-note">250 of 1000 drifts<' "state=regressed: counted"
contains "$D" '<p class="more meta" id="drifts-more" hidden="">' \
    "state=regressed: nothing more to show"

dump new "$URL/#token=s3cret&state=new"
F=$T/new.html
is "$(count '<td class="state st-new">new</td>' "$F")" 200 \
    "state=new: the 200 new drifts not baselined"
is "$(count '<td class="state st-new">new (baselined)</td>' "$F")" 50 \
    "state=new: the 50 baselined ones too, said so"
is "$(grep -o '<td class="state st-new">[a-z() ]*</td>' "$F" | uniq | tr '\n' '|')" \
    '<td class="state st-new">new</td>|<td class="state st-new">new (baselined)</td>|' \
    "state=new: baselined ones after the others"

dump path "$URL/#token=s3cret&drift=field0042"
F=$T/path.html
is "$(count '<tr data-id="d' "$F")" 1 "drift=field0042: one row"
contains "$D" '<td class="path">$.field0042</td>' "drift=field0042: that drift"

# --- disconnected -------------------------------------------------------------

dump notoken "$URL/"
contains "$D" '<body data-state="disconnected"' \
    "without the token (401) the page is disconnected"
contains "$D" '<span id="conn" class="down" title="/api/summary: 401">disconnected</span>' \
    "the header says disconnected and why"
is "$(grep -c '^/api/.* Bearer' "$T/live/requests")" \
    "$(grep -c '^/api/.* Bearer s3cret$' "$T/live/requests")" \
    "no other token was sent"

unset DASH_TOKEN
serve down down
dump down "$URL/"
contains "$D" '<body data-state="disconnected"' "an API that fails: disconnected"
is "$(grep -c '^/api/.* -$' "$T/down/requests")" \
    "$(grep -c '^/api/' "$T/down/requests")" \
    "without a token the page sends no Authorization header"

done_testing
