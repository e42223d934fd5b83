#!/bin/sh
# paritytap record and libparitytap-preload (DESIGN §9): the library
# exports only what it interposes and links only libc; the host sees the
# same errno and the same output; files and pipes are not recorded; curl's
# plain HTTP exchanges land in the capture byte for byte and in a pcap
# tshark reads; exit statuses, signal forwarding, usage errors, and the
# warning for Go programs.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
# A test program built with AddressSanitizer runs with the (uninstrumented)
# library loaded before the sanitizer's runtime.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS
[ -f "$LIB" ] || bail "the library $LIB is not built"

# --- the library's symbols and dependencies ---
if command -v nm >/dev/null 2>&1; then
	got=$(nm -D --defined-only "$LIB" | awk '{ print $3 }' | sort | tr '\n' ' ')
	want=$(printf '%s\n' SSL_read SSL_read_ex SSL_write SSL_write_ex _Exit _exit \
	    SSL_accept SSL_connect SSL_do_handshake \
	    __read_chk __recv_chk __recvfrom_chk accept accept4 close \
	    __poll_chk close_range connect dup2 dup3 epoll_pwait epoll_wait \
	    poll ppoll pselect read readv recv recvfrom recvmsg select \
	    send sendfile sendfile64 sendmsg sendto write writev |
	    sort | tr '\n' ' ')
	is "$got" "$want" "nm -D: the library exports only the interposed functions"
else
	skip "nm not installed"
fi
if command -v readelf >/dev/null 2>&1; then
	needed=$(readelf -d "$LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	    sort | tr '\n' ' ')
	unlike "$needed" 'pcap|event|jansson|ssl|crypto|libz' \
	    "the library links none of paritytap's libraries ($needed)"
else
	skip "readelf not installed"
fi

# --- errno and output are what they are without the library ---
(cd "$T" && "$RECPROBE" errno) >"$T/errno.plain" 2>&1
(cd "$T" && PARITYTAP_PRELOAD_OUT=$T/errno LD_PRELOAD=$LIB \
    "$RECPROBE" errno) >"$T/errno.lib" 2>&1
is "$(cat "$T/errno.lib")" "$(cat "$T/errno.plain")" \
    "errno after failing and succeeding calls is the same with the library"
like "$(cat "$T/errno.lib")" '^read\(-1\) rc=-1 errno=Bad file descriptor$' \
    "read on a bad fd gives EBADF with the library loaded"
like "$(cat "$T/errno.lib")" \
    '^send\(tcp\) with errno EXDEV rc=5 errno=Invalid cross-device link$' \
    "a recorded send leaves the caller's errno alone"
ok "the library recorded the probe's TCP connection" \
    test -s "$(ls "$T"/errno.*.pcap 2>/dev/null | head -n 1)"

# --- files and pipes: same output, nothing recorded ---
script='echo hello >f; cat f | wc -c; cat <f | tr a-z A-Z; exec 3<f; read x <&3; echo "$x"'
mkdir "$T/fp"
want=$(cd "$T/fp" && sh -c "$script" 2>&1)
got=$(cd "$T/fp" && "$PARITYTAP" record -o "$T/fp.jsonl" --pcap "$T/fp.pcap" \
    -- sh -c "$script" 2>"$T/fp.err")
is "$?" 0 "files and pipes: record exits 0"
is "$got" "$want" "files and pipes: the program's output is unchanged"
is "$(cap_nlines "$T/fp.jsonl")" 0 "files and pipes: the capture is empty"
is "$(wc -c <"$T/fp.pcap" | tr -d ' ')" 24 \
    "files and pipes: the pcap holds no packet (a 24-byte header)"

# --- curl, plain HTTP ---
start_backend b
BURL=http://127.0.0.1:$BACKEND_PORT
"$PARITYTAP" record -o "$T/curl.jsonl" --pcap "$T/curl.pcap" -- \
    curl -s -o "$T/c1.body" -o "$T/c2.body" -o "$T/c3.body" \
    -H 'Content-Type: application/json' -d '{"kind":"x","n":1}' \
    "$BURL/v1/validate?strict=1" "$BURL/v1/items/42" "$BURL/v1/items/43" \
    2>"$T/curl.err"
is "$?" 0 "curl: record exits with curl's status 0"
is "$(cap_nlines "$T/curl.jsonl")" 3 "curl: three exchanges in the capture"
is "$(jq -r '[.source, .verdict, .request.method, .request.target,
    .request.body, (.responses.primary.status | tostring)] | join(" ")' \
    "$T/curl.jsonl" | tr '\n' '|')" \
    'record recorded POST /v1/validate?strict=1 {"kind":"x","n":1} 200|record recorded POST /v1/items/42 {"kind":"x","n":1} 200|record recorded POST /v1/items/43 {"kind":"x","n":1} 200|' \
    "curl: source record, verdict recorded, the requests as sent"
i=1
for n in 1 2 3; do
	jq -j "select(input_line_number == $n) | .responses.primary.body" \
	    "$T/curl.jsonl" >"$T/cap$n.body"
	ok "curl: response $n in the capture is byte for byte what curl got" \
	    cmp -s "$T/cap$n.body" "$T/c$n.body"
done
if command -v tshark >/dev/null 2>&1; then
	uris=$(tshark_http -r "$T/curl.pcap" -Y http.request -T fields \
	    -e http.request.uri 2>/dev/null | tr '\n' ' ')
	is "$uris" "/v1/validate?strict=1 /v1/items/42 /v1/items/43 " \
	    "tshark opens the recorder's pcap and finds the three requests"
	codes=$(tshark_http -r "$T/curl.pcap" -Y http.response -T fields \
	    -e http.response.code 2>/dev/null | tr '\n' ' ')
	is "$codes" "200 200 200 " "tshark finds the three responses"
else
	skip "tshark not installed"
	skip "tshark not installed"
fi

# --- IPv6 ---
"$TESTBACKEND" --listen '[::1]:0' --port-file "$T/v6.port" \
    --log "$T/v6.log" --name v6 2>"$T/v6.berr" &
track $!
if wait_for 5 test -s "$T/v6.port"; then
	v6port=$(cat "$T/v6.port")
	"$PARITYTAP" record -o "$T/v6.jsonl" --pcap "$T/v6.pcap" -- \
	    curl -s -o "$T/v6.body" "http://[::1]:$v6port/six" 2>"$T/v6.err"
	is "$(jq -r .request.target "$T/v6.jsonl")" /six \
	    "IPv6: the exchange over ::1 is in the capture"
	jq -j .responses.primary.body "$T/v6.jsonl" >"$T/v6.cap"
	ok "IPv6: its response body, byte for byte what curl got" \
	    cmp -s "$T/v6.cap" "$T/v6.body"
	if command -v tshark >/dev/null 2>&1; then
		is "$(tshark_http -r "$T/v6.pcap" \
		    -Y 'ipv6.src == ::1 && http.request' \
		    2>/dev/null | wc -l | tr -d ' ')" 1 \
		    "IPv6: tshark finds the request in IPv6 packets"
	else
		skip "tshark not installed"
	fi
else
	skip "no IPv6 on the loopback here"
fi

# --- the port filter ---
"$PARITYTAP" record -o "$T/port.jsonl" --port 1 -- \
    curl -s -o /dev/null "$BURL/filtered" 2>"$T/port.err"
is "$(cap_nlines "$T/port.jsonl")" 0 "--port: other ports are not recorded"
"$PARITYTAP" record -o "$T/port2.jsonl" --port "$BACKEND_PORT" -- \
    curl -s -o /dev/null "$BURL/kept" 2>"$T/port2.err"
is "$(jq -r .request.target "$T/port2.jsonl")" /kept \
    "--port: the backend's port is recorded"

# --- --max-body (--max-bytes before) ---
"$PARITYTAP" record -o "$T/max.jsonl" --pcap "$T/max.pcap" --max-body 60 -- \
    curl -s -o /dev/null "$BURL/a/rather/long/target/that/is/cut" \
    2>"$T/max.err"
like "$(cat "$T/max.err")" 'bytes over --max-body not recorded' \
    "--max-body: the cut is reported"
if command -v tshark >/dev/null 2>&1; then
	is "$(tshark -r "$T/max.pcap" -T fields -e tcp.len 2>/dev/null |
	    awk '{ s += $1 } END { print s + 0 }')" 60 \
	    "--max-body: the pcap holds the first 60 bytes of the connection"
else
	skip "tshark not installed"
fi

# --- exit statuses and signals ---
"$PARITYTAP" record -o "$T/x.jsonl" -- sh -c 'exit 7' 2>/dev/null
is "$?" 7 "exit status: the command's (7)"
"$PARITYTAP" record -o "$T/x.jsonl" -- sh -c 'kill -KILL $$' 2>/dev/null
is "$?" 137 "exit status: 128 + the signal that ended the command"
"$PARITYTAP" record -o "$T/x.jsonl" -- "$T/no-such-program" 2>"$T/x.err"
is "$?" 3 "a command that cannot run: exit 3"
like "$(cat "$T/x.err")" 'no-such-program: No such file or directory' \
    "a command that cannot run: the message names it"
"$PARITYTAP" record -o "$T/sig.jsonl" -- sh -c \
    'trap "echo got-term >'"$T"'/sig.out; exit 5" TERM; : >'"$T"'/sig.ready; while :; do sleep 0.1; done' \
    2>"$T/sig.err" &
rpid=$!
track "$rpid"
# record passes signals on from before it starts the command.
wait_for 10 test -f "$T/sig.ready" || bail "the command did not start"
kill -TERM "$rpid"
wait_pid "$rpid" 10
is "$WAIT_STATUS" 5 "SIGTERM is passed on to the command; its exit status is returned"
is "$(cat "$T/sig.out" 2>/dev/null)" got-term "the command saw SIGTERM"

# --- usage errors ---
"$PARITYTAP" record -o "$T/x.jsonl" 2>"$T/u.err"
is "$?" 2 "no command: exit 2"
like "$(cat "$T/u.err")" 'no command to run' "no command: the message says so"
"$PARITYTAP" record --port 0 -- true 2>"$T/u.err"
is "$?" 2 "--port 0: exit 2"
like "$(cat "$T/u.err")" '--port' "--port 0: the message names the option"
"$PARITYTAP" record --bogus -- true 2>"$T/u.err"
is "$?" 2 "an unknown option: exit 2"
PARITYTAP_PRELOAD=$T/missing.so "$PARITYTAP" record -o "$T/x.jsonl" -- true \
    2>"$T/u.err"
is "$?" 3 "a missing library: exit 3"
like "$(cat "$T/u.err")" 'PARITYTAP_PRELOAD=.*missing.so' \
    "a missing library: the message names it"
like "$("$PARITYTAP" record --help)" '--max-body' "--help lists the options"

# --- without PARITYTAP_PRELOAD_OUT the library does nothing ---
mkdir "$T/off"
(cd "$T/off" && LD_PRELOAD=$LIB curl -s -o body "$BURL/off" &&
    LD_PRELOAD=$LIB "$RECPROBE" errno >errno.txt 2>&1)
is "$(ls "$T/off" | tr '\n' ' ')" "body errno.txt " \
    "no PARITYTAP_PRELOAD_OUT: the library writes no file"
is "$(cat "$T/off/errno.txt")" "$(cat "$T/errno.plain")" \
    "no PARITYTAP_PRELOAD_OUT: errno is the same"

# --- a static program and a set-user-ID one get a warning ---
if command -v cc >/dev/null 2>&1 &&
    printf 'int main(void) { return 0; }\n' >"$T/static.c" &&
    cc -static -o "$T/static" "$T/static.c" >"$T/static.build" 2>&1; then
	"$PARITYTAP" record -o "$T/static.jsonl" -- "$T/static" 2>"$T/static.err"
	is "$?" 0 "static: record runs it and exits 0"
	like "$(cat "$T/static.err")" \
	    'is statically linked: .*paritytap proxy or paritytap sniff' \
	    "static: the warning says it cannot be seen and what to use"
else
	skip "cannot build a static program here"
fi
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp "$RECPROBE" "$T/suid"
	chown nobody "$T/suid" && chmod 4755 "$T/suid"
	"$PARITYTAP" record -o "$T/suid.jsonl" -- "$T/suid" errno \
	    >/dev/null 2>"$T/suid.err"
	like "$(cat "$T/suid.err")" 'set-user-ID or set-group-ID: the loader ignores LD_PRELOAD' \
	    "set-user-ID: the warning says LD_PRELOAD is ignored"
else
	skip "not root: cannot make a set-user-ID program of another user"
fi

# --- a Go program gets the warning ---
if command -v go >/dev/null 2>&1; then
	mkdir "$T/go"
	cat >"$T/go/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello from go") }
EOF
	if (cd "$T/go" && HOME=$T GOCACHE=$T/gocache GOPATH=$T/gopath \
	    GO111MODULE=off GOFLAGS= go build -o hello main.go) \
	    >"$T/go.build" 2>&1; then
		out=$("$PARITYTAP" record -o "$T/go.jsonl" -- "$T/go/hello" \
		    2>"$T/go.err")
		is "$?" 0 "Go: record runs it and exits 0"
		is "$out" "hello from go" "Go: its output is unchanged"
		like "$(cat "$T/go.err")" \
		    'is a Go program: .*paritytap proxy or paritytap sniff' \
		    "Go: the warning says it cannot be seen and what to use"
	else
		diag_file "$T/go.build"
		fail "Go: the test program builds"
	fi
else
	skip "go not installed"
fi

done_testing
