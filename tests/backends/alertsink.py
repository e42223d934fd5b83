#!/usr/bin/env python3
"""alertsink: an HTTP receiver for the alerting tests (tests/t082*.sh).

    alertsink.py PORTFILE BODIES [MODE] [DELAY_MS]

Listens on a free loopback port and writes it to PORTFILE.  Each POST's
body is appended to BODIES as one line (its line ends removed), then
"METHOD PATH CONTENT-TYPE" to BODIES.reqs.  MODE says how it answers:
ok (200, the default), 500, 400, or hang (never answers: it holds the
request until the client gives up).  DELAY_MS waits that long before
answering.  With ALERTSINK_TLS=FILE in the environment (a PEM file
holding the certificate and its key) it speaks https.
"""

import http.server
import os
import ssl
import sys
import threading
import time

portfile, bodies = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
delay = int(sys.argv[4]) / 1000.0 if len(sys.argv) > 4 else 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).replace(b"\r", b"").replace(b"\n", b"")
        with lock:
            with open(bodies + ".reqs", "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path,
                        self.headers.get("Content-Type", "-")))
            if mode != "hang":
                with open(bodies, "ab") as f:
                    f.write(body + b"\n")
        if mode == "hang":
            while True:
                time.sleep(3600)
        if delay:
            time.sleep(delay)
        code = {"ok": 200, "500": 500, "400": 400}[mode]
        msg = b"nope\n" if code != 200 else b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if os.environ.get("ALERTSINK_TLS"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["ALERTSINK_TLS"])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, portfile)
server.serve_forever()
