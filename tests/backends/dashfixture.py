#!/usr/bin/env python3
"""dashfixture: the admin API's answers from files, for the dashboard tests
(tests/t088*.sh).

    dashfixture.py gen DIR
    dashfixture.py serve PAGE DIR PORTFILE [MODE]

gen writes DIR/summary.json, drifts.json and exchanges.json: 100 routes
and one more with markup and quotes in its name, 1,000 drifts in every
state (the second regressed one's route and path
hold markup and quotes), three divergent exchanges whose strings (route, a JSON key, a
body, a verdict name, a request target) hold <script> and quotes.

serve listens on a free loopback port, writes it to PORTFILE, answers
GET / with PAGE and GET /api/summary, /api/drifts, /api/exchanges with
the files, and appends "PATH AUTHORIZATION" to DIR/requests for each
request.  With DASH_TOKEN in the environment an /api/ request without
"Authorization: Bearer DASH_TOKEN" gets 401.  MODE down answers every
/api/ request with 503.
"""

import http.server
import json
import os
import sys
import threading

HOSTILE_ROUTE = 'GET /<script>alert(1)</script>"\'x'
HOSTILE_KEY = '<b id="k">k</b>'
HOSTILE_VERDICT = '<img src=x onerror=document.title=1>'


def gen(d):
    routes = []
    for i in range(100):
        n = 100 + i
        div = i % 7
        routes.append({"route": "GET /v1/r%03d/{id}" % i, "exchanges": n,
                       "divergent": div,
                       "verdicts": {"match": n - div, "shape": div}})
    routes.append({"route": HOSTILE_ROUTE, "exchanges": 10,
                   "divergent": 9,
                   "verdicts": {"match": 1, "shape": 5, "value": 3,
                                HOSTILE_VERDICT: 1}})
    t0 = 1790000000 - 1790000000 % 60
    rate = [{"t": t0 + 60 * i, "exchanges": 100 + i * 3,
             "divergent": (i * 7) % 40} for i in range(60)]
    summary = {
        "version": "0.0-test", "command": "proxy",
        "started_at": t0, "uptime_seconds": 3600,
        "exchanges": 123456,
        "verdicts": {"match": 120000, "shape": 3456},
        "routes": routes,
        "dropped": {"queue_full": 7, "body_too_large": 2},
        "queue": {"depth": 42, "bytes": 4096, "dropped": 7},
        "capture": {"bytes": 987654, "errors": 3},
        "backends": {
            "primary": {"errors": {}, "inflight": 2, "p50_ms": 1.25,
                        "p99_ms": 8.5},
            "candidate": {"errors": {"timeout": 11, "refused": 2},
                          "inflight": 3, "p50_ms": 2.5, "p99_ms": 31.75}},
        "drifts": {"new": 250, "ongoing": 250, "resolved": 250,
                   "regressed": 250, "baselined": 100},
        "alerts": {"webhook": {"sent": 5, "failed": 1}},
        "rate": rate,
    }
    states = ["new", "ongoing", "resolved", "regressed"]
    drifts = []
    for i in range(1000):
        drifts.append({
            "id": "d%04d" % i, "route": "GET /v1/r%03d/{id}" % (i % 100),
            "kind": "missing", "path": "$.field%04d" % i,
            "side": "candidate", "verdict": "shape",
            "state": states[i % 4], "count": 1000 - i,
            "route_total": 2000, "first_seen": t0, "last_seen": t0 + i,
            "baselined": i % 10 == 0,
            "example": {"trace_id": "t%04d" % i, "request": "GET /"}})
    drifts[7]["route"] = HOSTILE_ROUTE
    drifts[7]["path"] = '$["%s"]' % HOSTILE_KEY.replace('"', '\\"')
    primary = ('{"id":1,"name":"ada","line_offset":0,"%s":'
               '"<script>alert(3)</script>","n":1.0,"10":"ten"}'
               % HOSTILE_KEY.replace('"', '\\"'))
    ex = [{
        "paritytap": 1, "id": "18ea17768c2f59ce-eaa707c9",
        "ts": "2026-11-21T14:59:59.386055Z", "source": "proxy",
        "route": HOSTILE_ROUTE,
        "request": {"method": "GET",
                    "target": "/v1/users/1?q=" + HOSTILE_VERDICT,
                    "version": "1.1", "headers": [], "body": "",
                    "body_bytes": 0},
        "responses": {
            "primary": {"status": 200, "headers": [], "body": primary,
                        "body_bytes": len(primary), "ms": 0.38},
            "candidate": {"status": 200, "headers": [],
                          "body": '{"id":1,"name":"ada","n":1,'
                                  '"10":"ten"}',
                          "body_bytes": 30, "ms": 0.41}},
        "verdict": "shape",
        "diffs": [
            {"kind": "missing", "path": "$.line_offset",
             "side": "candidate", "primary": "0"},
            {"kind": "missing",
             "path": '$["%s"]' % HOSTILE_KEY.replace('"', '\\"'),
             "side": "candidate", "primary": '"<script>alert(3)</script>"'},
            {"kind": "value", "path": "$.n", "primary": "1.0",
             "candidate": "1"}]}]
    ex.append({
        "paritytap": 1, "id": "18ea17768cfae712-c26f3adc",
        "ts": "2026-11-21T14:59:58.000000Z", "source": "proxy",
        "route": "POST /v1/items",
        "request": {"method": "POST", "target": "/v1/items",
                    "version": "1.1", "headers": [], "body": "{}",
                    "body_bytes": 2},
        "responses": {
            "primary": {"status": 201, "headers": [],
                        "body": '{"items":[{"SKU":"a-1"},{"SKU":"b-2"}]}',
                        "body_bytes": 38, "ms": 1.5},
            "candidate": {"status": 201, "headers": [],
                          "body": '{"items":[{"SKU":"a-1"},{"SKU":"b-2"},'
                                  '{"SKU":"c-3"}]}',
                          "body_bytes": 52, "ms": 1.7}},
        "verdict": "shape",
        "diffs": [{"kind": "extra", "path": "$.items[2]",
                   "side": "candidate"}]})
    ex.append({
        "paritytap": 1, "id": "18ea17768d000000-00000001",
        "ts": "2026-11-21T14:59:57.000000Z", "source": "proxy",
        "route": "GET /v1/blob",
        "request": {"method": "GET", "target": "/v1/blob",
                    "version": "1.1", "headers": [], "body": "",
                    "body_bytes": 0},
        "responses": {
            "primary": {"status": 200, "headers": [],
                        "body_b64": "PHNjcmlwdD5iNjQ8L3NjcmlwdD4=",
                        "body_bytes": 20, "ms": 0.5},
            "candidate": {"status": 0, "headers": [], "body": "",
                          "body_bytes": 0, "ms": 5000.21,
                          "error": "timeout"}},
        "verdict": "candidate_error",
        "diffs": []})
    for name, obj in (("summary", summary), ("drifts", {"drifts": drifts}),
                      ("exchanges", {"exchanges": ex})):
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(obj, f)


def serve(page, d, portfile, mode):
    token = os.environ.get("DASH_TOKEN")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            auth = self.headers.get("Authorization", "-")
            with lock:
                with open(os.path.join(d, "requests"), "a") as f:
                    f.write("%s %s\n" % (self.path, auth))
            if path == "/":
                with open(page, "rb") as f:
                    self.answer(200, "text/html; charset=utf-8", f.read())
                return
            name = {"/api/summary": "summary", "/api/drifts": "drifts",
                    "/api/exchanges": "exchanges"}.get(path)
            if name is None:
                self.answer(404, "text/plain", b"not found\n")
            elif mode == "down":
                self.answer(503, "text/plain", b"down\n")
            elif token is not None and auth != "Bearer " + token:
                self.answer(401, "text/plain", b"unauthorized\n")
            else:
                with open(os.path.join(d, name + ".json"), "rb") as f:
                    self.answer(200, "application/json", f.read())

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if sys.argv[1] == "gen":
    gen(sys.argv[2])
else:
    serve(sys.argv[2], sys.argv[3], sys.argv[4],
          sys.argv[5] if len(sys.argv) > 5 else "ok")
