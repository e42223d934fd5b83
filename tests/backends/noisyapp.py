#!/usr/bin/env python3
"""noisyapp: a JSON service whose answers carry noise, for the noise tests.

    noisyapp.py serve primary|candidate PORT-FILE
    noisyapp.py capture N [SELF-CHECK-EVERY]  > CAPTURE.jsonl

GET /items/ID answers {"id","name","price","currency","ts","request_id",
"counter","tags"} with an X-Served-At header.  Noise, different on every
answer of every copy: "ts" and X-Served-At (RFC 3339, microseconds),
"request_id" (a UUID), "counter" (from a random start), "tags" (eight
strings in a random order, never that of either of the last two
answers).  "started_at" is the same on all the answers
of one copy (a process), and another in another copy: noise between two
copies, but not between two answers of one.  The candidate has three real drifts: no
"name" when ID % 3 == 0 (shape), "price" a string when ID % 5 == 0
(shape), "currency" "USD" instead of "EUR" when ID % 7 == 0 (a value).

capture writes N exchanges GET /items/1..N as paritytap capture lines:
primary and candidate answers, and a second answer of the primary's
(responses.secondary) on every exchange, or on every SELF-CHECK-EVERY-th
one with "self_check": true.  Verdicts are left for the reader to judge.
"""

import datetime
import http.server
import json
import random
import sys
import threading
import uuid

TAGS = ["a", "b", "c", "d", "e", "f", "g", "h"]
LAST_TAGS = []
FAKE = [datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)]


def wall():
    return datetime.datetime.now(datetime.timezone.utc)


def fake():
    """capture's clock: every answer a few microseconds after the last,
    so no two answers carry the same time."""
    FAKE[0] += datetime.timedelta(microseconds=random.randrange(1, 1000))
    return FAKE[0]


CLOCK = wall


class Copy:
    def __init__(self, role):
        self.role = role
        self.counter = random.randrange(10**6, 10**9)
        # Each copy's wall clock is off by up to a second: two copies
        # woken by the same mirrored request run the same code on two
        # cores and would often read the same microsecond.  (capture's
        # clock is one for all copies and never repeats.)
        self.skew = datetime.timedelta(microseconds=random.randrange(
            1, 10**6))
        self.lock = threading.Lock()
        self.last = None
        # When this copy started: the same on all its answers, another
        # in another copy, different by a random number of seconds.
        self.started = (datetime.datetime(2026, 1, 1,
                        tzinfo=datetime.timezone.utc) +
                        datetime.timedelta(seconds=random.randrange(
                            1, 10**7))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def answer(self, ident):
        # One answer at a time reads the clock: two answers of one copy
        # (a --self-check request beside the first) never share a time.
        with self.lock:
            self.counter += 1
            counter = self.counter
            t = CLOCK() + (self.skew if CLOCK is wall else
                           datetime.timedelta(0))
            if self.last is not None and t <= self.last:
                t = self.last + datetime.timedelta(microseconds=1)
            self.last = t
        now = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # Never the order of either of the last two answers: capture's
        # three answers of one exchange then always differ, as noise
        # does, and the rates the tests compare are exactly equal.
        tags = TAGS[:]
        random.shuffle(tags)
        while tags in LAST_TAGS:
            random.shuffle(tags)
        LAST_TAGS[:] = [tags] + LAST_TAGS[:1]
        body = {"id": ident, "name": "item-%d" % ident, "price": 10,
                "currency": "EUR", "ts": now,
                "request_id": str(uuid.uuid4()), "counter": counter,
                "started_at": self.started,
                "tags": tags}
        if self.role == "candidate":
            if ident % 3 == 0:
                del body["name"]
            if ident % 5 == 0:
                body["price"] = "10"
            if ident % 7 == 0:
                body["currency"] = "USD"
        text = json.dumps(body, separators=(",", ":"))
        headers = [("Content-Type", "application/json"),
                   ("X-Served-At", now),
                   ("Content-Length", str(len(text)))]
        return 200, headers, text


def serve(role, port_file):
    copy = Copy(role)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            parts = self.path.split("?")[0].split("/")
            try:
                ident = int(parts[2]) if parts[1] == "items" else None
            except (IndexError, ValueError):
                ident = None
            if ident is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, headers, text = copy.answer(ident)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


def side(copy, ident):
    status, headers, text = copy.answer(ident)
    return {"status": status,
            "headers": [{"name": n, "value": v} for n, v in headers],
            "body": text, "body_bytes": len(text), "ms": 1.0}


def capture(n, every):
    global CLOCK
    CLOCK = fake
    primary, candidate = Copy("primary"), Copy("candidate")
    second = Copy("primary")
    for ident in range(1, n + 1):
        line = {"paritytap": 1, "id": "%016x-%08x" % (ident, ident),
                "ts": "2026-12-01T00:00:00.%06dZ" % ident,
                "source": "proxy", "route": "GET /items/{id}",
                "request": {"method": "GET", "target": "/items/%d" % ident,
                            "version": "1.1", "headers": [], "body": "",
                            "body_bytes": 0},
                "responses": {"primary": side(primary, ident),
                              "candidate": side(candidate, ident)},
                "verdict": "match", "diffs": []}
        if every == 0 or ident % every == 0:
            s = side(primary if every else second, ident)
            if every:
                s["self_check"] = True
            line["responses"]["secondary"] = s
        print(json.dumps(line, separators=(",", ":")))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        capture(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3
                else 0)
