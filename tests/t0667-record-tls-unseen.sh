#!/bin/sh
# paritytap record around a client whose TLS the recorder cannot see:
# wget, which uses GnuTLS.  record says so ("TLS traffic through a library
# the recorder does not interpose"), and not that there was no TCP
# traffic.  curl through OpenSSL whose handshake fails (a certificate it
# refuses) is not reported that way: its TLS was OpenSSL's.

. "$(dirname "$0")/lib.sh"
need openssl
need_binaries
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
    >"$T/openssl.log" 2>&1 || bail "openssl cannot make a certificate"
mkdir "$T/www"
printf '{"hello":"gnutls"}\n' >"$T/www/a.json"
(cd "$T/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 \
    -cert "$T/cert.pem" -key "$T/key.pem") >"$T/s_server.out" \
    2>"$T/s_server.err" &
track $!
wait_for 10 grep -q '^ACCEPT' "$T/s_server.out" ||
    bail "openssl s_server did not start"
PORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$T/s_server.out")

if command -v wget >/dev/null 2>&1 &&
    wget --version 2>/dev/null | grep -qi 'gnutls'; then
	"$PARITYTAP" record -o "$T/wget.jsonl" -- wget -q \
	    --no-check-certificate -O "$T/wget.body" \
	    "https://127.0.0.1:$PORT/a.json" 2>"$T/wget.err"
	is "$?" 0 "wget: record exits with wget's status 0"
	ok "wget: it got the file" cmp -s "$T/wget.body" "$T/www/a.json"
	is "$(cap_nlines "$T/wget.jsonl")" 0 "wget: nothing could be recorded"
	like "$(cat "$T/wget.err")" \
	    '1 TLS connection of wget: TLS traffic through a library the recorder does not interpose' \
	    "wget: record says its TLS went through a library not interposed"
	unlike "$(cat "$T/wget.err")" 'no TCP traffic' \
	    "wget: ... and not that there was no TCP traffic"
	# More processes than the kernel queues notes for (net.unix.
	# max_dgram_qlen, 10 by default) before record reads them.
	"$PARITYTAP" record -o "$T/wgets.jsonl" -- sh -c "
	    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		wget -q --no-check-certificate -O /dev/null \
		    https://127.0.0.1:$PORT/a.json || exit 1
	    done" 2>"$T/wgets.err"
	is "$?" 0 "wget x20: record exits with the script's status 0"
	like "$(cat "$T/wgets.err")" '20 TLS connections of sh: TLS traffic' \
	    "wget x20: each of the 20 connections is counted"
else
	for i in 1 2 3 4 5 6 7; do
		skip "wget (built with GnuTLS) not installed"
	done
fi

if command -v curl >/dev/null 2>&1 &&
    curl --version 2>/dev/null | grep -qi 'openssl'; then
	"$PARITYTAP" record -o "$T/curl.jsonl" -- curl -s -o "$T/curl.body" \
	    "https://127.0.0.1:$PORT/a.json" 2>"$T/curl.err"
	is "$?" 60 "curl: refuses the self-signed certificate (60)"
	unlike "$(cat "$T/curl.err")" 'does not interpose' \
	    "curl: its OpenSSL handshake is not taken for TLS not seen"
else
	skip "curl (built with OpenSSL) not installed"
	skip "curl (built with OpenSSL) not installed"
fi
done_testing
