#!/bin/sh
# paritytap import: real traffic captured with tcpdump on lo, imported,
# and checked exchange by exchange against what was sent and received.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

PCAPMANGLE=${PCAPMANGLE:-$top_builddir/tests/backends/pcapmangle}

need_binaries
need tcpdump jq curl
[ "$(id -u)" -eq 0 ] || skip_all "capturing on lo with tcpdump needs root"
[ -x "$PCAPMANGLE" ] || bail "PCAPMANGLE=$PCAPMANGLE is not executable"

# start_tcpdump NAME IFACE FILTER: capture to $T/NAME.pcap until
# stop_tcpdump; returns once tcpdump is listening.
start_tcpdump() {
	: >"$T/$1.tderr"
	tcpdump -i "$2" -w "$T/$1.pcap" -U --immediate-mode -B 65536 -Z root \
	    -n "$3" 2>"$T/$1.tderr" &
	TCPDUMP_PID=$!
	track "$TCPDUMP_PID"
	wait_for 60 grep -q 'listening on' "$T/$1.tderr" ||
	    bail "tcpdump did not start: $(cat "$T/$1.tderr")"
}

# stop_tcpdump NAME URL: a last exchange with URL marks the end; once
# tcpdump has written its request and its response (a loaded machine may
# leave tcpdump behind), SIGINT it and wait.  Returns 1 when the kernel
# dropped packets: gaps no import can fill, so the capture must be made
# again (see capture).
stop_tcpdump() {
	curl -sS -o /dev/null "$2/__end_of_capture"
	wait_for 60 test "$(grep -ao __end_of_capture "$T/$1.pcap" | wc -l)" \
	    -ge 2 || diag "the end of the capture was not seen in $1.pcap"
	kill -INT "$TCPDUMP_PID"
	wait_pid "$TCPDUMP_PID" 60
	[ -s "$T/$1.pcap" ] || bail "tcpdump wrote nothing: $(cat "$T/$1.tderr")"
	grep -q '^0 packets dropped by kernel' "$T/$1.tderr" && return 0
	diag "tcpdump lost packets: $(tr '\n' ' ' <"$T/$1.tderr")"
	return 1
}

# capture NAME IFACE FILTER URL COMMAND: run COMMAND (the traffic) under
# tcpdump into $T/NAME.pcap.  A busy machine can make the kernel drop
# packets of a live capture; then the traffic is sent again into a new
# capture, up to five times, so that what is asserted of the import
# stays exact: a capture with drops is never imported.
capture() {
	_try=1
	while :; do
		start_tcpdump "$1" "$2" "$3"
		"$5"
		stop_tcpdump "$1" "$4" && return 0
		[ "$_try" -lt 5 ] ||
		    bail "tcpdump lost packets in $_try captures in a row"
		_try=$((_try + 1))
		diag "capturing $1 again (attempt $_try)"
	done
}

# import NAME ARGS...: paritytap import ARGS > $T/NAME.jsonl, stderr in
# $T/NAME.err; sets STATUS and SUMMARY (the last line of stderr).
import() {
	_n=$1
	shift
	"$PARITYTAP" import "$@" >"$T/$_n.jsonl" 2>"$T/$_n.err"
	STATUS=$?
	SUMMARY=$(tail -n 1 "$T/$_n.err")
}

# ex FILE TARGET JQ: apply JQ to the exchange whose target is TARGET.
ex() {
	jq -r --arg t "$2" "select(.request.target == \$t) | $3" "$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# --- the traffic --------------------------------------------------------------

head -c 1500000 /dev/urandom >"$T/big.bin"
head -c 300000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 300000 \
    >"$T/upload.txt"
cat >"$T/fixture.json" <<'EOF'
{"routes":[
 {"path":"/chunked","chunked":true,"headers":[["Content-Type","text/plain"]],
  "body":"one chunk, then another, then a third and the last"},
 {"path":"/gzip","gzip":true,"headers":[["Content-Type","application/json"]],
  "body":"{\"zipped\":true,\"padding\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"},
 {"path":"/big","headers":[["Content-Type","application/octet-stream"]],
  "body_file":"BIG"},
 {"path":"/upload","method":"POST","body_json":{"stored":true}},
 {"path":"/notmod","status":304,"headers":[["ETag","\"x\""],["Content-Length","10"]]},
 {"path":"/continue","raw":"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
 {"path":"/untilclose","raw":"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body ends at the close"},
 {"path":"/ws","raw":"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0001\u0002frames"}
]}
EOF
sed "s|BIG|$T/big.bin|" "$T/fixture.json" >"$T/fixture2.json"
start_backend b4 "$T/fixture2.json"
P4=$BACKEND_PORT
"$TESTBACKEND" --listen '[::1]:0' --port-file "$T/b6.port" \
    --log "$T/b6.log" --name b6 2>"$T/b6.berr" &
track $!
wait_for 60 test -s "$T/b6.port" || skip_all "no IPv6 loopback (::1)"
P6=$(cat "$T/b6.port")
U=http://127.0.0.1:$P4

# The traffic captured on lo.
lo_traffic() {
	# Single request; keep-alive (three URLs, one connection); a trace id.
	curl -sS -o "$T/one.body" "$U/one?x=1"
	curl -sS -o "$T/k1.body" "$U/k1" -o "$T/k2.body" "$U/k2" -o "$T/k3.body" "$U/k3"
	curl -sS -o /dev/null -H 'X-Paritytap-Trace-Id: import-trace-1' "$U/traced"
	# Chunked, gzip (kept as received: curl without --compressed), 1.5 MB.
	curl -sS -o "$T/chunked.body" "$U/chunked"
	curl -sS -o "$T/gzip.body" "$U/gzip"
	# Two more on the big one's connection: a segment lost from it must not
	# blind the import to them.
	curl -sS -o "$T/big.body" "$U/big" -o "$T/after1.body" "$U/after1" \
	    -o "$T/after2.body" "$U/after2?x=2"
	curl -sS -o "$T/upload.body" --data-binary @"$T/upload.txt" \
	    -H 'Content-Type: text/plain' "$U/upload"
	# Pipelined: three requests in one write, HEAD and a 304 among them.
	printf 'GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /notmod HTTP/1.1\r\nHost: x\r\n\r\nGET /p4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    "$RAWCLIENT" 127.0.0.1 "$P4" --timeout 60000 >"$T/pipelined.out"
	# A 100 Continue before the answer, a body ended by the close, a switch
	# of protocols followed by bytes that are not HTTP.
	curl -sS -o /dev/null "$U/continue"
	curl -sS -o "$T/untilclose.body" "$U/untilclose"
	printf 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\001\002\003\004' |
	    "$RAWCLIENT" 127.0.0.1 "$P4" --timeout 60000 >/dev/null
	# Not HTTP at all.
	printf '\026\003\001\000\245\001\000\000\241\003\003 not http at all\r\n\r\n' |
	    "$RAWCLIENT" 127.0.0.1 "$P4" --timeout 60000 >/dev/null
	# IPv6.
	curl -sS -g -o "$T/v6.body" "http://[::1]:$P6/v6"
}
capture lo lo "tcp port $P4 or tcp port $P6" "$U" lo_traffic

# --- import -------------------------------------------------------------------

import lo "$T/lo.pcap"
is "$STATUS" 0 "import exits 0 (a stream that is not HTTP is not fatal)"
like "$SUMMARY" '^paritytap import: 20 exchanges from 1 file, [0-9]+ connections, 1 unparsable stream, 0 gaps, 0 unanswered$' \
    "summary line: exchanges, one unparsable stream"
is "$(wc -l <"$T/lo.jsonl" | tr -d ' ')" 20 \
    "20 capture lines (19 and the end of the capture)"
ok "every line is a complete JSON object" cap_valid "$T/lo.jsonl"
is "$(jq -r '[.source, .verdict, (.responses | keys | join(","))] | join(" ")' "$T/lo.jsonl" | sort -u)" \
    "import recorded primary" "source import, verdict recorded, primary only"

F=$T/lo.jsonl
is "$(ex "$F" /one?x=1 '[.request.method, .route, .request.version, .responses.primary.status] | join(" ")')" \
    "GET GET /one 1.1 200" "single request: method, route, version, status"
is "$(ex "$F" /one?x=1 .responses.primary.body)" "$(cat "$T/one.body")" \
    "single request: the body the client got"
like "$(ex "$F" /one?x=1 .id)" "$MINTED_ID_RE" "a request without a trace id gets one in the minted form"
like "$(ex "$F" /one?x=1 .ts)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$' \
    "ts from the packets, RFC 3339 with microseconds"
is "$(ex "$F" /one?x=1 '.request.headers | map(.name) | join(",")')" \
    "Host,User-Agent,Accept" "request headers in wire order"
is "$(ex "$F" /traced .id)" "import-trace-1" "the trace header gives the id"

for k in k1 k2 k3; do
	is "$(ex "$F" "/$k" .responses.primary.body)" "$(cat "$T/$k.body")" \
	    "keep-alive: $k paired with its own response"
done
is "$(jq -r 'select(.request.target | test("^/k")) | .request.target' "$F" | tr '\n' ' ')" \
    "/k1 /k2 /k3 " "keep-alive: in order"

is "$(ex "$F" /chunked .responses.primary.body)" "$(cat "$T/chunked.body")" \
    "chunked: body dechunked"
is "$(ex "$F" /chunked '.responses.primary.headers[] | select(.name == "Transfer-Encoding") | .value')" \
    chunked "chunked: Transfer-Encoding kept in the headers"
is "$(ex "$F" /gzip '.responses.primary.body_b64' | base64 -d | sha256sum | cut -d' ' -f1)" \
    "$(sha "$T/gzip.body")" "gzip: body kept as received (gzip bytes)"
is "$(ex "$F" /gzip '.responses.primary.headers[] | select(.name == "Content-Encoding") | .value')" \
    gzip "gzip: Content-Encoding recorded"

is "$(ex "$F" /big '[.responses.primary.body_bytes, .responses.primary.truncated, .responses.primary.body_sha256] | join(" ")')" \
    "1500000 true $(sha "$T/big.bin")" \
    "1.5 MB over many segments: size, cut in the capture, sha256 of the whole"
is "$(ex "$F" /big '.responses.primary.body_b64' | base64 -d | cmp - "$T/big.bin" 2>&1 | sed 's/.*EOF.*/prefix/')" \
    prefix "1.5 MB: the capture holds the first bytes exactly"
is "$(ex "$F" /upload '.request.body_bytes')" 300000 "300 kB request body: size"
is "$(ex "$F" /upload '.request.body' | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
    "$(sha "$T/upload.txt")" "300 kB request body: bytes"

is "$(jq -r 'select(.request.target | test("^/(p[0-9]|notmod)")) | "\(.request.method) \(.request.target) \(.responses.primary.status) \(.responses.primary.body_bytes)"' "$F" | tr '\n' ';')" \
    "GET /p1 200 $(ex "$F" /p1 '.responses.primary.body | length');HEAD /p2 200 0;GET /notmod 304 0;GET /p4 200 $(ex "$F" /p4 '.responses.primary.body | length');" \
    "pipelined: four pairs in order, HEAD and 304 without a body"
contains "$(cat "$T/pipelined.out")" "$(ex "$F" /p4 .responses.primary.body)" \
    "pipelined: the last body is what the client got"
is "$(ex "$F" /continue '"\(.responses.primary.status) \(.responses.primary.body)"')" \
    "200 ok" "100 Continue skipped, the final response kept"
is "$(ex "$F" /untilclose .responses.primary.body)" "$(cat "$T/untilclose.body")" \
    "a body delimited by the close"
is "$(ex "$F" /ws .responses.primary.status)" 101 "Upgrade: the 101 is recorded, the rest is not parsed"
is "$(ex "$F" /v6 .responses.primary.body)" "$(cat "$T/v6.body")" "IPv6"
like "$(ex "$F" /one?x=1 .responses.primary.ms)" '^[0-9]+(\.[0-9]+)?$' "ms is a number"

# -o FILE, --port, -q.
"$PARITYTAP" import -q -o "$T/lo-o.jsonl" --port "$P6" "$T/lo.pcap" 2>"$T/o.err"
is "$?" 0 "-o and --port: exit 0"
is "$(cat "$T/o.err")" "" "-q: no summary line"
is "$(jq -r .request.target "$T/lo-o.jsonl")" /v6 "--port: only that port's traffic"
is "$(stat -c %a "$T/lo-o.jsonl")" 600 "-o: the capture is mode 0600"

# Redaction like the other commands.
import red --redact-header User-Agent "$T/lo.pcap"
is "$(ex "$T/red.jsonl" /one?x=1 '.request.headers[] | select(.name == "User-Agent") | .value')" \
    "[redacted]" "--redact-header"

# --- pcapng, -i any -------------------------------------------------------------

if command -v editcap >/dev/null 2>&1; then
	editcap -F pcapng "$T/lo.pcap" "$T/lo.pcapng"
	import ng "$T/lo.pcapng"
	is "$STATUS" 0 "pcapng: exit 0"
	ok "pcapng: the same capture lines" cmp -s "$T/lo.jsonl" "$T/ng.jsonl"
else
	skip "editcap not installed (pcapng)"
	skip "editcap not installed (pcapng)"
fi

any_traffic() {
	curl -sS -o "$T/any.body" "$U/any"
}
capture any any "tcp port $P4" "$U" any_traffic
import any "$T/any.pcap"
is "$STATUS" 0 "-i any capture: exit 0"
is "$(ex "$T/any.jsonl" /any .responses.primary.body)" "$(cat "$T/any.body")" \
    "-i any capture (Linux cooked link type)"

# --- segments reordered, duplicated, lost -----------------------------------------

# Reassembly hands on a segment that waited for a hole with the time of
# the packet that filled it, so times (and the ids made from them) may
# move; everything else must be the same.
"$PCAPMANGLE" --shuffle --dup "$T/lo.pcap" "$T/shuffled.pcap" ||
    bail "pcapmangle failed"
import shuffled "$T/shuffled.pcap"
is "$STATUS" 0 "shuffled and duplicated: exit 0"
is "$(echo "$SUMMARY" | sed 's/[0-9]* connections//')" \
    "$(tail -n 1 "$T/lo.err" | sed 's/[0-9]* connections//')" \
    "shuffled and duplicated: the same summary"
untimed='del(.id, .ts, .responses.primary.ms)'
is "$(jq -c "$untimed" "$T/shuffled.jsonl" | sort | sha256sum)" \
    "$(jq -c "$untimed" "$T/lo.jsonl" | sort | sha256sum)" \
    "shuffled and duplicated: the same exchanges"
is "$(jq -r .id "$T/shuffled.jsonl" | sort -u | wc -l | tr -d ' ')" 20 \
    "shuffled and duplicated: ids still unique"
is "$(ex "$T/shuffled.jsonl" /one?x=1 .id)" "$(ex "$T/lo.jsonl" /one?x=1 .id)" \
    "shuffled and duplicated: an id made from the packets is made again"

# Drop the third large segment, which is one of the big response's
# (pcapmangle counts segments with data and no SYN, FIN or RST).
nbig=$(jq -r 'select(.request.target == "/big") | .id' "$T/lo.jsonl")
drop=$(tcpdump -nn -r "$T/lo.pcap" 2>/dev/null | awk '
	{ f = ""; for (i = 1; i < NF; i++) if ($i == "Flags") f = $(i + 1) }
	match($0, /length [0-9]+/) {
		l = substr($0, RSTART + 7, RLENGTH - 7) + 0
		if (l > 0 && f !~ /[SFR]/) {
			n++
			if (l > 10000 && ++big == 3) { print n; exit }
		}
	}')
"$PCAPMANGLE" --drop "$drop" "$T/lo.pcap" "$T/gap.pcap" ||
    bail "pcapmangle failed"
import gap "$T/gap.pcap"
is "$STATUS" 0 "a lost segment: exit 0"
like "$SUMMARY" ', 1 gap \(1 connection resumed, [0-9]+ bytes skipped\), 1 unanswered$' \
    "a lost segment: one gap, the connection resumed, one unanswered"
is "$(cap_get "$T/gap.jsonl" "$nbig" '.responses.primary | "\(.status) \(.error)"')" \
    "200 reset" "a lost segment: the response cut by it is recorded as reset"
is "$(jq -r 'select(.responses.primary.error == null) | .request.target' "$T/gap.jsonl" | wc -l | tr -d ' ')" \
    19 "a lost segment: the other exchanges are kept"
for a in after1 after2?x=2; do
	is "$(ex "$T/gap.jsonl" "/$a" '"\(.responses.primary.status) \(.responses.primary.error)"')" \
	    "200 null" "a lost segment: /$a after it on the same connection imported"
	is "$(ex "$T/gap.jsonl" "/$a" .responses.primary.body)" "$(cat "$T/${a%%\?*}.body")" \
	    "a lost segment: /$a paired with its own response"
	is "$(ex "$T/gap.jsonl" "/$a" 'del(.id, .ts, .responses.primary.ms)')" \
	    "$(ex "$T/lo.jsonl" "/$a" 'del(.id, .ts, .responses.primary.ms)')" \
	    "a lost segment: /$a as imported without the loss"
done

# The same traffic with 802.1Q tags, through --port's packet filter.
"$PCAPMANGLE" --vlan "$T/lo.pcap" "$T/vlan.pcap" || bail "pcapmangle failed"
"$PARITYTAP" import -q --port "$P4" "$T/lo.pcap" >"$T/plain4.jsonl"
import vlan --port "$P4" "$T/vlan.pcap"
is "$STATUS" 0 "802.1Q tags and --port: exit 0"
ok "802.1Q tags and --port: the same capture lines" \
    cmp -s "$T/plain4.jsonl" "$T/vlan.jsonl"
cmp_ok "$(wc -l <"$T/vlan.jsonl" | tr -d ' ')" -eq 19 \
    "802.1Q tags and --port: the IPv4 port's 19 exchanges"

# --- bad input --------------------------------------------------------------------

n=$(tcpdump -r "$T/lo.pcap" 2>/dev/null | wc -l)
size=$(stat -c %s "$T/lo.pcap")
head -c $((size - 7)) "$T/lo.pcap" >"$T/trunc.pcap"
import trunc "$T/trunc.pcap"
is "$STATUS" 2 "truncated pcap: exit 2"
like "$(cat "$T/trunc.err")" "^paritytap import: .*trunc.pcap: truncated after $((n - 1)) packets" \
    "truncated pcap: the file and where it was cut"
cmp_ok "$(wc -l <"$T/trunc.jsonl" | tr -d ' ')" -ge 19 \
    "truncated pcap: what was read before the cut is written"

head -c 4096 /dev/urandom >"$T/garbage.pcap"
import garbage "$T/garbage.pcap"
is "$STATUS" 2 "garbage: exit 2"
like "$(cat "$T/garbage.err")" '^paritytap import: .*garbage.pcap: ' "garbage: names the file"
is "$(cat "$T/garbage.jsonl")" "" "garbage: nothing written"

import missing "$T/lo.pcap" "$T/no-such.pcap"
is "$STATUS" 2 "missing file: exit 2"
like "$(cat "$T/missing.err")" 'no-such.pcap: No such file or directory' "missing file: named"
is "$(cat "$T/missing.jsonl")" "" "missing file: nothing written, not even the good file"

# The link type is the 32-bit word at offset 20 of a pcap header; 105 is
# IEEE 802.11, which import does not decode.
{ head -c 20 "$T/any.pcap"; printf '\151\000\000\000'; tail -c +25 "$T/any.pcap"; } \
    >"$T/wifi.pcap"
import wifi "$T/wifi.pcap"
is "$STATUS" 2 "unsupported link type: exit 2"
like "$(cat "$T/wifi.err")" 'wifi.pcap: link type IEEE802_11 \(105\) is not supported' \
    "unsupported link type: named, with the file"

if command -v script >/dev/null 2>&1; then
	script -qec "'$PARITYTAP' import '$T/any.pcap'" /dev/null >"$T/tty.out" 2>&1
	is "$?" 2 "standard output a terminal and no -o: exit 2"
	like "$(cat "$T/tty.out")" 'standard output is a terminal' \
	    "standard output a terminal: says so"
else
	skip "script not installed (a terminal)"
	skip "script not installed (a terminal)"
fi

import stdin - <"$T/any.pcap"
is "$(jq -r .request.target "$T/stdin.jsonl" | tr '\n' ' ')" \
    "/any /__end_of_capture " "- reads stdin"

"$PARITYTAP" import --port 0 "$T/lo.pcap" >/dev/null 2>"$T/port.err"
is "$?" 2 "--port 0: usage error"
done_testing
