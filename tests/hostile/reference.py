#!/usr/bin/env python3
"""Send each case of a hostile-request file to a reference proxy (nginx,
or any other proxy given as a command) in front of a testbackend, and say
what the client got and what the backend received.

	reference.py [--fill] [--proxy paritytap] [--testbackend PATH]
	    [--paritytap PATH] FILE

nginx is run on loopback from a temporary directory with a stock
configuration (proxy_pass to one testbackend; ignore_invalid_headers and
underscores_in_headers at their defaults, on and off).  Each case is sent
on its own connection, like tests/t0250-proxy-hostile.sh sends it: all its
bytes at once, then the first whole response (or the close) is read.

Without --fill, every case whose "expect"/"forward" lines disagree with
the reference is printed; for nginx, a case's "nginx" line, when it has
one, says what nginx does where paritytap is expected to differ.  With --fill, FILE is printed again with
"expect" and "forward" lines added to the cases that have none, from the
reference; cases the reference does not answer, or answers with more than
one forwarded request (pipelines), are printed as comments to be looked at.
--proxy paritytap runs paritytap proxy (with a second testbackend as its
candidate) instead of nginx.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 3.0


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port


def unescape(s):
	out = bytearray()
	i = 0
	while i < len(s):
		c = s[i]
		if c != "\\":
			out += c.encode("latin-1")
			i += 1
			continue
		n = s[i + 1]
		if n in "rnt\\":
			out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[n]
			i += 2
		elif re.match(r"[0-7]{3}", s[i + 1:i + 4]):
			out.append(int(s[i + 1:i + 4], 8))
			i += 4
		else:
			raise ValueError("bad escape in %r" % s)
	return bytes(out)


def escape(b):
	out = []
	for i, c in enumerate(b):
		if c == 0x0d:
			out.append("\\r")
		elif c == 0x0a:
			out.append("\\n")
		elif c == 0x09:
			out.append("\\t")
		elif c == 0x5c:
			out.append("\\\\")
		elif c == 0x20 and i == len(b) - 1:
			out.append("\\040")
		elif c < 0x20 or c >= 0x7f:
			out.append("\\%03o" % c)
		else:
			out.append(chr(c))
	return "".join(out)


def parse(path):
	"""The cases of a file: a list of (lines, fields)."""
	cases = []
	cur = None
	for line in open(path, encoding="latin-1"):
		line = line.rstrip("\n")
		if line.startswith("case "):
			cur = {"lines": [line], "id": line[5:]}
			cases.append(cur)
		elif cur is not None and line.strip() != "" and \
		    not line.startswith("#"):
			cur["lines"].append(line)
			k, _, v = line.partition(" ")
			cur.setdefault(k, v)
	return cases


def have_response(buf):
	eoh = buf.find(b"\r\n\r\n")
	if eoh < 0:
		return False
	head = buf[:eoh].decode("latin-1").lower()
	m = re.match(r"http/\d\.\d (\d\d\d)", head)
	if m and int(m.group(1)) in (204, 304):
		return True
	m = re.search(r"\r\ncontent-length: *(\d+)", head)
	if re.search(r"\r\ntransfer-encoding:.*chunked", head):
		return buf.endswith(b"0\r\n\r\n")
	if m:
		return len(buf) - eoh - 4 >= int(m.group(1))
	return False


def send(port, req):
	s = socket.create_connection(("127.0.0.1", port))
	s.settimeout(TIMEOUT)
	try:
		s.sendall(req)
	except OSError:
		pass
	buf = b""
	deadline = time.time() + TIMEOUT
	try:
		while time.time() < deadline and not have_response(buf):
			d = s.recv(65536)
			if not d:
				break
			buf += d
		else:
			if not have_response(buf):
				return "timeout"
	except socket.timeout:
		return "timeout" if not buf else status_of(buf)
	except ConnectionResetError:
		pass
	finally:
		s.close()
	return status_of(buf)


def status_of(buf):
	"""The status of the response, after any interim (1xx) ones."""
	while True:
		m = re.match(rb"HTTP/\d\.\d (\d\d\d)", buf)
		if m is None:
			return "close"
		eoh = buf.find(b"\r\n\r\n")
		if not m.group(1).startswith(b"1") or eoh < 0:
			return m.group(1).decode()
		buf = buf[eoh + 4:]


class Backend:
	def __init__(self, binary, tmp, name):
		self.log = os.path.join(tmp, name + ".log")
		pf = os.path.join(tmp, name + ".port")
		self.p = subprocess.Popen([binary, "--listen", "127.0.0.1:0",
		    "--port-file", pf, "--log", self.log, "--name", name],
		    stderr=subprocess.DEVNULL)
		while not os.path.exists(pf) or os.path.getsize(pf) == 0:
			time.sleep(0.05)
		self.port = int(open(pf).read())
		self.seen = 0

	def new_requests(self):
		evs = []
		for line in open(self.log, encoding="utf-8",
		    errors="surrogateescape").read().splitlines():
			try:
				ev = json.loads(line)
			except ValueError:
				continue
			if ev.get("event") in ("request", "bad_request"):
				evs.append(ev)
		new = evs[self.seen:]
		self.seen = len(evs)
		return new


NGINX_CONF = """
daemon off;
worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %(tmp)s/body;
	proxy_temp_path %(tmp)s/proxy;
	fastcgi_temp_path %(tmp)s/fastcgi;
	uwsgi_temp_path %(tmp)s/uwsgi;
	scgi_temp_path %(tmp)s/scgi;
	server {
		listen 127.0.0.1:%(port)d;
		location / {
			proxy_pass http://127.0.0.1:%(backend)d;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
"""


def start_nginx(tmp, backend):
	port = free_port()
	conf = os.path.join(tmp, "nginx.conf")
	with open(conf, "w") as f:
		f.write(NGINX_CONF % {"tmp": tmp, "port": port,
		    "backend": backend.port})
	p = subprocess.Popen(["nginx", "-p", tmp, "-c", conf],
	    stderr=subprocess.DEVNULL)
	for _ in range(100):
		try:
			socket.create_connection(("127.0.0.1", port)).close()
			return p, port
		except OSError:
			time.sleep(0.05)
	raise SystemExit("nginx did not start")


def start_paritytap(tmp, binary, primary, candidate):
	err = os.path.join(tmp, "proxy.err")
	p = subprocess.Popen([binary, "proxy", "--listen", "127.0.0.1:0",
	    "--primary", "http://127.0.0.1:%d" % primary.port,
	    "--candidate", "http://127.0.0.1:%d" % candidate.port, "-q"],
	    stderr=open(err, "w"))
	for _ in range(100):
		m = re.search(r"listening on [^ ]*:(\d+)", open(err).read())
		if m:
			return p, int(m.group(1))
		time.sleep(0.05)
	raise SystemExit("paritytap did not start")


def forward_of(evs):
	if not evs:
		return "none"
	if len(evs) > 1 or evs[0]["event"] != "request":
		return None
	ev = evs[0]
	body = ev.get("body", "").encode("utf-8", "surrogateescape")
	return "%s %s %s" % (ev["method"],
	    escape(ev["target"].encode("utf-8", "surrogateescape")),
	    escape(body) if body else "-")


def main():
	args = sys.argv[1:]
	fill = "--fill" in args
	proxy = "nginx"
	tb = "tests/backends/testbackend"
	pt = "./paritytap"
	while args and args[0].startswith("--"):
		a = args.pop(0)
		if a == "--proxy":
			proxy = args.pop(0)
		elif a == "--testbackend":
			tb = args.pop(0)
		elif a == "--paritytap":
			pt = args.pop(0)
	cases = parse(args[0])
	tmp = tempfile.mkdtemp(prefix="hostile-ref.")
	backend = Backend(tb, tmp, "primary")
	other = None
	if proxy == "nginx":
		p, port = start_nginx(tmp, backend)
	else:
		other = Backend(tb, tmp, "candidate")
		p, port = start_paritytap(tmp, pt, backend, other)
	results = {}
	try:
		for c in cases:
			req = unescape(c["request"])
			st = send(port, req)
			# nginx answers after the backend did; a mirror (paritytap)
			# may come later: a probe request, answered, orders it.
			send(port, b"GET /__probe HTTP/1.1\r\nHost: probe\r\n"
			    b"Connection: close\r\n\r\n")
			if other is not None:
				while not any(e.get("target") == "/__probe"
				    for e in other_events(other)):
					time.sleep(0.01)
			evs = [e for e in backend.new_requests()
			    if e.get("target") != "/__probe"]
			results[c["id"]] = (st, forward_of(evs))
	finally:
		p.send_signal(signal.SIGTERM)
		p.wait()
		backend.p.terminate()
		if other:
			other.p.terminate()
		shutil.rmtree(tmp)
	if fill:
		for c in cases:
			st, fw = results[c["id"]]
			lines = list(c["lines"])
			if "expect" not in c:
				if st in ("timeout",) or fw is None:
					lines = ["# reference: %s, forward %s" %
					    (st, fw)] + ["# " + l for l in lines]
				else:
					lines += ["expect %s" % st, "forward %s" % fw]
			print("\n".join(lines))
			print()
		return
	for c in cases:
		st, fw = results[c["id"]]
		if "nginx" in c and proxy == "nginx":
			st0, _, fw0 = c["nginx"].partition(" ")
			want = (st0, fw0)
		else:
			want = (c.get("expect"), c.get("forward"))
		if want != (st, fw):
			print("%s: file %s / %s; %s %s / %s" % (
			    c["id"], want[0], want[1], proxy, st, fw))


def other_events(b):
	out = []
	for line in open(b.log, encoding="utf-8",
	    errors="surrogateescape").read().splitlines():
		try:
			out.append(json.loads(line))
		except ValueError:
			pass
	return out


main()
