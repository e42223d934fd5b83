#!/bin/sh
# --tls-cert and --tls-key go together; a file that cannot be read, is
# not PEM, or a key that is not the certificate's is a usage error (exit
# 2) naming the file, before anything is opened.  The [proxy] section of
# the config file takes tls-cert and tls-key as the other options.
# --help and the man page list them.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
need curl jq openssl timeout
need_binaries

tls_ca "$T/pki"
tls_server_cert "$T/pki" server
tls_server_cert "$T/pki" other
CAP=$T/never.jsonl

# bad NAME ARGS...: the proxy with ARGS must refuse to start; ST, ERR.
bad() {
	_bn=$1
	shift
	timeout 30 "$PARITYTAP" proxy --listen 127.0.0.1:0 \
	    --primary http://127.0.0.1:1 --candidate http://127.0.0.1:2 \
	    --capture "$CAP" "$@" >"$T/$_bn.out" 2>"$T/$_bn.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_bn.err")
}

bad nokey --tls-cert "$T/pki/server.pem"
is "$ST" 2 "--tls-cert alone: exit 2"
contains "$ERR" "--tls-cert needs --tls-key" "--tls-cert alone: names the missing one"
bad nocert --tls-key "$T/pki/server.key"
is "$ST" 2 "--tls-key alone: exit 2"
contains "$ERR" "--tls-key needs --tls-cert" "--tls-key alone: names the missing one"

bad missing --tls-cert "$T/absent.pem" --tls-key "$T/pki/server.key"
is "$ST" 2 "a missing certificate file: exit 2"
contains "$ERR" "--tls-cert $T/absent.pem: No such file or directory" \
    "a missing certificate file: named, with the reason"
bad missingkey --tls-cert "$T/pki/server.pem" --tls-key "$T/absent.key"
is "$ST" 2 "a missing key file: exit 2"
contains "$ERR" "--tls-key $T/absent.key: No such file or directory" \
    "a missing key file: named, with the reason"
bad dir --tls-cert "$T/pki" --tls-key "$T/pki/server.key"
is "$ST" 2 "a directory: exit 2"
contains "$ERR" "--tls-cert $T/pki: Is a directory" "a directory: named"

bad mism --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/other.key"
is "$ST" 2 "the key of another certificate: exit 2"
contains "$ERR" \
    "--tls-key $T/pki/other.key: the key does not match the certificate in $T/pki/server.pem" \
    "the key of another certificate: both files named"

bad notpem --tls-cert "$T/pki/server.key" --tls-key "$T/pki/server.key"
is "$ST" 2 "a key given as the certificate: exit 2"
contains "$ERR" "--tls-cert $T/pki/server.key: not a PEM certificate" \
    "a key given as the certificate: named"
printf 'not a key\n' >"$T/junk.key"
bad junkkey --tls-cert "$T/pki/server.pem" --tls-key "$T/junk.key"
is "$ST" 2 "a key file that is not PEM: exit 2"
contains "$ERR" "--tls-key $T/junk.key: not an unencrypted PEM private key" \
    "a key file that is not PEM: named"
openssl ec -in "$T/pki/server.key" -aes256 -passout pass:secret \
    -out "$T/enc.key" 2>/dev/null
bad enckey --tls-cert "$T/pki/server.pem" --tls-key "$T/enc.key"
is "$ST" 2 "an encrypted key: exit 2, no passphrase prompt"
contains "$ERR" "--tls-key $T/enc.key: not an unencrypted PEM private key" \
    "an encrypted key: named"

ok "no capture file was made by a refused start" test ! -e "$CAP"

bad adminnokey --admin 0 --admin-tls-cert "$T/pki/server.pem"
is "$ST" 2 "--admin-tls-cert alone: exit 2"
contains "$ERR" "--admin-tls-cert needs --admin-tls-key" \
    "--admin-tls-cert alone: names the missing one"
bad adminnolisten --admin-tls-cert "$T/pki/server.pem" \
    --admin-tls-key "$T/pki/server.key"
is "$ST" 2 "--admin-tls-cert without --admin: exit 2"
contains "$ERR" "--admin-tls-cert needs --admin" \
    "--admin-tls-cert without --admin: says so"
bad adminmissing --admin 0 --admin-tls-cert "$T/absent.pem" \
    --admin-tls-key "$T/pki/server.key"
is "$ST" 2 "--admin-tls-cert of a missing file: exit 2"
contains "$ERR" "--admin-tls-cert $T/absent.pem: No such file or directory" \
    "--admin-tls-cert of a missing file: named"

# --- the config file ---------------------------------------------------------
start_backend primary
start_backend candidate
cat >"$T/tls.ini" <<EOF2
[proxy]
primary = http://127.0.0.1:$(backend_port primary)
candidate = http://127.0.0.1:$(backend_port candidate)
tls-cert = $T/pki/server.pem
tls-key = $T/pki/server.key
EOF2
start_proxy --config "$T/tls.ini" || bail "the proxy did not start"
req cfg --cacert "$T/pki/ca.pem" "https://localhost:$PROXY_PORT/cfg"
is "$HTTP_CODE" 200 "config: tls-cert and tls-key in [proxy] serve HTTPS"
stop_proxy
is "$PROXY_STATUS" 0 "config: the proxy exits 0"
cat >"$T/half.ini" <<EOF2
[proxy]
tls-cert = $T/pki/server.pem
EOF2
bad half --config "$T/half.ini"
is "$ST" 2 "config: tls-cert without tls-key: exit 2"
contains "$ERR" "--tls-cert needs --tls-key" "config: ... says so"

# --- --help and the man page ---------------------------------------------------
"$PARITYTAP" proxy --help >"$T/help" 2>&1
for o in --tls-cert --tls-key --admin-tls-cert --admin-tls-key; do
	contains "$(cat "$T/help")" "$o FILE" "proxy --help lists $o"
done
for o in tls-cert tls-key admin-tls-cert admin-tls-key; do
	ok "the man page describes --$o" \
	    grep -q "^\.It Fl \(-\)\?$o Ar" "$top_srcdir/man/paritytap.1"
done

done_testing
