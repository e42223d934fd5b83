#!/bin/sh
# One configuration file serves a whole cutover: proxy, replay, report,
# noise and rejudge each read [compare], the routes and their own section,
# and pass over the other commands' sections.  A section no command has,
# or a misspelt key in a command's own section, still fails, naming the
# file and line.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"id\":1,\"ts\":\"a\"}"}}' >"$T/p.json"
jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"id\":1,\"ts\":\"b\"}"}}' >"$T/c.json"
start_backend primary "$T/p.json"
start_backend candidate "$T/c.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

printf '%s\n' '[compare]' 'ignore = $.ts' '' \
    '[route "GET /items/{id}"]' 'ignore-header = X-Request-Id' '' \
    '[proxy]' "primary = $PRI" "candidate = $CAN" 'candidate-timeout = 2s' '' \
    '[replay]' "candidate = $CAN" 'concurrency = 2' '' \
    '[report]' 'format = json' '' \
    '[sniff]' 'port = 8080' >"$T/cutover.conf"

start_proxy --config "$T/cutover.conf" --capture "$T/run.jsonl" ||
    bail "proxy --config on the shared file did not start"
req one "$PROXY_URL/items/1"
is "$HTTP_CODE" 200 "proxy: reads [proxy] (its backends) and passes over [replay]"
ok "proxy: the capture line is written" wait_for 10 cap_has_id "$T/run.jsonl" "$TRACE"
is "$(cap_get "$T/run.jsonl" "$TRACE" .verdict)" match \
    "proxy: [compare]'s ignore holds (\$.ts differs)"
stop_proxy

"$PARITYTAP" replay --config "$T/cutover.conf" --capture "$T/replayed.jsonl" \
    "$T/run.jsonl" >"$T/replay.out" 2>"$T/replay.err"
is "$?" 0 "replay: reads [replay] and [compare], passes over [proxy] and [sniff]"
is "$(jq -r .verdict "$T/replayed.jsonl")" match "replay: the ignore holds"

"$PARITYTAP" report --config "$T/cutover.conf" "$T/run.jsonl" \
    >"$T/report.out" 2>"$T/report.err"
is "$?" 0 "report: reads [report], passes over [compare] it has no use for"
is "$(jq -r .exchanges "$T/report.out")" 1 "report: format = json from [report]"

"$PARITYTAP" noise --config "$T/cutover.conf" "$T/run.jsonl" \
    >/dev/null 2>"$T/noise.err"
is "$?" 0 "noise: reads the shared file"
"$PARITYTAP" rejudge --config "$T/cutover.conf" -o "$T/rejudged.jsonl" \
    "$T/run.jsonl" >/dev/null 2>"$T/rejudge.err"
is "$?" 0 "rejudge: reads the shared file"

# Still refused: a section no command has, a misspelt key in one's own.
printf '[compare]\nignore = $.ts\n[alerts]\nurl = x\n' >"$T/bad1.conf"
"$PARITYTAP" replay --config "$T/bad1.conf" --candidate "$CAN" \
    "$T/run.jsonl" >/dev/null 2>"$T/bad1.err"
is "$?" 2 "an unknown section: exit 2"
like "$(head -n 1 "$T/bad1.err")" "bad1.conf:4: unknown section \\[alerts\\]" \
    "an unknown section: file and line"
printf '[replay]\nconcurency = 2\n[proxy]\nnot-a-key = 1\n' >"$T/bad2.conf"
"$PARITYTAP" replay --config "$T/bad2.conf" --candidate "$CAN" \
    "$T/run.jsonl" >/dev/null 2>"$T/bad2.err"
is "$?" 2 "a misspelt key in [replay]: exit 2"
like "$(head -n 1 "$T/bad2.err")" "bad2.conf:2: unknown key 'concurency' in \\[replay\\] \\(did you mean 'concurrency'\\?\\)" \
    "a misspelt key in [replay]: file, line and the closest key"
printf '[compare]\nignroe = $.ts\n' >"$T/bad3.conf"
"$PARITYTAP" report --config "$T/bad3.conf" "$T/run.jsonl" >/dev/null \
    2>"$T/bad3.err"
is "$?" 2 "a misspelt key in [compare]: exit 2, even for report"
like "$(head -n 1 "$T/bad3.err")" "bad3.conf:2: unknown key 'ignroe' in \\[compare\\]" \
    "a misspelt key in [compare]: file and line"

done_testing
