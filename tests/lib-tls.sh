# tests/lib-tls.sh: sourced after lib.sh by the tests that need
# certificates: a private CA made on the spot with openssl, and server and
# client certificates it signs.  EC P-256 keys, so making one takes
# milliseconds; nothing depends on the network or the system's CAs.
#
#   tls_ca DIR                      DIR/ca.pem, DIR/ca.key
#   tls_server_cert DIR NAME [HOSTS]
#                                   DIR/NAME.pem, DIR/NAME.key: a server
#                                   certificate for HOSTS (comma list of
#                                   names and addresses; default
#                                   localhost,127.0.0.1), CN=HOSTS' first
#   tls_expired_cert DIR NAME [HOSTS]
#                                   the same, expired a day ago
#   tls_client_cert DIR NAME [CN]   DIR/NAME.pem, DIR/NAME.key: a client
#                                   certificate (mTLS), CN default NAME
#   tls_serial FILE                 a certificate's serial, hex
#   tls_subject FILE                its subject, "CN = ..."
#
# Each certificate gets a serial of its own (a counter in DIR), so a
# certificate made again under the same NAME is told apart by its serial.

# tls_key FILE: a new EC key.
tls_key() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null ||
	    bail "openssl: cannot make a key"
}

# tls_next_serial DIR: the next serial number from DIR's counter.
tls_next_serial() {
	_ts=$(cat "$1/serial" 2>/dev/null || echo 4096)
	_ts=$((_ts + 1))
	echo "$_ts" >"$1/serial"
	echo "$_ts"
}

# tls_ca DIR: a CA certificate and key.
tls_ca() {
	mkdir -p "$1"
	tls_key "$1/ca.key"
	openssl req -x509 -new -key "$1/ca.key" -sha256 -days 30 \
	    -subj "/CN=paritytap test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -set_serial "$(tls_next_serial "$1")" \
	    -out "$1/ca.pem" 2>/dev/null || bail "openssl: cannot make the CA"
}

# tls_sign DIR NAME SUBJECT EXTFILE [expired]: sign NAME's request.
tls_sign() {
	tls_key "$1/$2.key"
	openssl req -new -key "$1/$2.key" -subj "$3" -out "$1/$2.csr" \
	    2>/dev/null || bail "openssl: cannot make a request for $2"
	if [ "${5:-}" = expired ]; then
		# openssl 3.4 and later can set the dates; before, a negative
		# -days ends the validity a day before it starts (now).
		if openssl x509 -help 2>&1 | grep -q -- '-not_before'; then
			_tv="-not_before 20000101000000Z -not_after 20000102000000Z"
		else
			_tv="-days -1"
		fi
	else
		_tv="-days 30"
	fi
	# shellcheck disable=SC2086
	openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
	    -sha256 $_tv -set_serial "$(tls_next_serial "$1")" \
	    -extfile "$4" -out "$1/$2.pem" 2>/dev/null ||
	    bail "openssl: cannot sign $2"
	rm -f "$1/$2.csr"
}

# tls_sans HOSTS: subjectAltName's value for a comma list of hosts.
tls_sans() {
	printf '%s\n' "$1" | tr ',' '\n' | while read -r _h; do
		case $_h in
		*[!0-9.]*) case $_h in *:*) echo "IP:$_h" ;; *) echo "DNS:$_h" ;;
		    esac ;;
		*) echo "IP:$_h" ;;
		esac
	done | paste -sd, -
}

# tls_server_cert DIR NAME [HOSTS] [expired]
tls_server_cert() {
	_th=${3:-localhost,127.0.0.1}
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=serverAuth"
		echo "subjectAltName=$(tls_sans "$_th")"
	} >"$1/$2.ext"
	tls_sign "$1" "$2" "/CN=${_th%%,*}" "$1/$2.ext" "${4:-}"
}

# tls_expired_cert DIR NAME [HOSTS]
tls_expired_cert() {
	tls_server_cert "$1" "$2" "${3:-localhost,127.0.0.1}" expired
}

# tls_client_cert DIR NAME [CN]
tls_client_cert() {
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=clientAuth"
	} >"$1/$2.ext"
	tls_sign "$1" "$2" "/CN=${3:-$2}" "$1/$2.ext"
}

# tls_serial FILE: the certificate's serial (hex, as openssl prints it).
tls_serial() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

# tls_subject FILE: the certificate's subject.
tls_subject() {
	openssl x509 -in "$1" -noout -subject | sed 's/^subject= *//'
}

# tls_peer_serial HOST:PORT [CAFILE]: the serial of the certificate a
# server presents (empty if the handshake fails).
tls_peer_serial() {
	openssl s_client -connect "$1" -servername localhost \
	    ${2:+-CAfile "$2"} </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
