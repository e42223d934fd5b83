#!/usr/bin/env python3
"""Collect hostile HTTP/1.x requests from public corpora into the case
format of tests/hostile/requests (without expectations).

	collect.py LLHTTP-GIT-DIR HTTP-GARDEN-GIT-DIR SMUGGLER-GIT-DIR \
	    HTTP11PROBE-GIT-DIR >new-cases

Each argument is a git directory (a clone or a bare mirror) of
github.com/nodejs/llhttp, github.com/narfindustries/http-garden,
github.com/defparam/smuggler and github.com/MDA2AV/Http11Probe; the files
are read from HEAD, whose commit is cited with each case.  The output has no "expect" or "forward" lines:
reference.py fills them in from nginx.  Only the request bytes are taken
from the corpora; how each is turned into bytes is written here:

  llhttp test/request/*.md: the http block of each test, with llhttp's
	fixture conventions (a newline is CRLF, a backslash before a
	newline joins lines, \\r \\n \\t \\f \\xHH and octal escapes).  Tests
	that need inline JavaScript, pause the parser or only test the end
	of input are left out.  A fixture that stops inside its header
	block gets the empty line that ends it.  An HTTP/1.1 request without Host gets
	"Host: localhost" after its request line (so the case tests what the
	fixture is about, not the missing Host); a few keep the original.
  http-garden TROPHIES.md: the "Payload:" of each bug, as written.
  smuggler configs/default.py: each Transfer-Encoding mutation in
	smuggler's request template, with the body of its CL.TE "good
	value" probe (Content-Length 11, "1\\r\\nZ\\r\\n0\\r\\n\\r\\n"): the
	body is complete whether it is read by its length or by chunks.
  Http11Probe docs/content/docs/**/*.md: the one http block under "What
	it sends" of each test page, its line breaks dropped (the page
	writes every byte, \\r\\n included, as an escape; "[TAB]" is a
	tab).  Pages that
	send a sequence, or abridge a long request ("..."), are left out.
"""

import re
import subprocess
import sys


def git_show(gitdir, path):
	return subprocess.run(["git", "--git-dir", gitdir, "show",
	    "HEAD:" + path], check=True, capture_output=True).stdout


def git_head(gitdir):
	return subprocess.run(["git", "--git-dir", gitdir, "rev-parse",
	    "HEAD"], check=True, capture_output=True, text=True).stdout[:7]


def git_ls(gitdir, path):
	out = subprocess.run(["git", "--git-dir", gitdir, "ls-tree",
	    "--name-only", "HEAD", path + "/"], check=True,
	    capture_output=True, text=True).stdout
	return out.split()


def escape(b):
	"""C-style escapes: \\r \\n \\t \\\\ and 3-digit octal; a space at
	the end is octal too, so that no editor can strip it."""
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


def slug(s):
	s = re.sub(r"[^A-Za-z0-9]+", "-", s.lower()).strip("-")
	return s[:48].rstrip("-")


cases = []
seen = {}


def add(cid, source, req, note=None):
	if req in seen:
		return
	n = 2
	base = cid
	while any(c[0] == cid for c in cases):
		cid = "%s-%d" % (base, n)
		n += 1
	seen[req] = cid
	cases.append((cid, source, req, note))


def llhttp_bytes(text):
	# Literal non-ASCII text is UTF-8; an escape stands for one byte.
	text = text.encode("utf-8").decode("latin-1")
	text = re.sub(r"\n\Z", "", text)
	text = re.sub(r"\\(\r\n|\r|\n)", "", text)
	text = re.sub(r"\r\n|\r|\n", "\r\n", text)
	text = text.replace("\\r", "\r").replace("\\n", "\n")
	text = text.replace("\\t", "\t").replace("\\f", "\f")
	text = re.sub(r"\\x([0-9a-fA-F]+)",
	    lambda m: chr(int(m.group(1), 16)), text)
	text = re.sub(r"\\([0-7]{1,3})", lambda m: chr(int(m.group(1), 8)),
	    text)
	return text.encode("latin-1")


def add_host(req):
	"""Host after the request line of an HTTP/1.1 request that has none."""
	start = 0
	while req.startswith(b"\r\n", start):
		start += 2
	eol = req.find(b"\r\n", start)
	if eol < 0 or not req[:eol].endswith(b"HTTP/1.1"):
		return None
	head = req.split(b"\r\n\r\n", 1)[0].lower()
	if b"\nhost:" in head:
		return None
	return req[:eol + 2] + b"Host: localhost\r\n" + req[eol + 2:]


KEEP_WITHOUT_HOST = 4


def llhttp(gitdir):
	rev = git_head(gitdir)
	kept = 0
	for path in git_ls(gitdir, "test/request"):
		name = path.split("/")[-1][:-3]
		if name in ("pausing", "finish"):
			continue
		text = git_show(gitdir, path).decode("utf-8")
		heading = None
		blocks = re.split(r"^(#+ .*)$", text, flags=re.M)
		for part in blocks:
			if re.match(r"^#+ ", part):
				heading = part.lstrip("#").strip().replace("`", "")
				continue
			m = re.search(r"<!-- meta=(\{.*?\}) -->\s*```http\n(.*?)```",
			    part, re.S)
			if m is None or heading is None:
				continue
			meta = m.group(1)
			if "request" not in meta or "pause" in meta or \
			    "request-finish" in meta or "${" in m.group(2):
				continue
			req = llhttp_bytes(m.group(2))
			src = ("https://github.com/nodejs/llhttp (%s) %s, \"%s\""
			    % (rev, path, heading))
			cid = "llhttp-%s-%s" % (name, slug(heading))
			notes = []
			if b"\r\n\r\n" not in req and req.endswith(b"\r\n"):
				# The fixture stops inside the header block (its
				# parser fails there); the empty line that ends it
				# is added so that a proxy has a request to judge.
				req += b"\r\n"
				notes.append("the empty line ending the header block "
				    "added")
			withhost = add_host(req)
			if withhost is None:
				add(cid, src, req, "; ".join(notes) or None)
				continue
			add(cid, src, withhost, "; ".join(
			    ["Host: localhost added after the request line"] +
			    notes))
			if kept < KEEP_WITHOUT_HOST and name == "sample":
				add(cid + "-nohost", src, req,
				    "as in the fixture, without Host")
				kept += 1


def garden(gitdir):
	rev = git_head(gitdir)
	text = git_show(gitdir, "TROPHIES.md").decode("utf-8")
	section = None
	num = None
	for line in text.splitlines():
		m = re.match(r"^##+ (.*) [Bb]ugs$", line)
		if m:
			section = slug(m.group(1))
			num = None
			continue
		m = re.match(r"^(\d+)\. ", line)
		if m:
			num = m.group(1)
			continue
		m = re.match(r"^\s*- Payload: `(.*)`$", line)
		if m is None or section is None or num is None:
			continue
		pl = m.group(1)
		if "` `" in pl:
			# Two payloads sent one after the other: one stream.
			pl = pl.replace("` `", "")
		req = pl.encode("latin-1").decode("unicode_escape") \
		    .encode("latin-1")
		src = ("https://github.com/narfindustries/http-garden (%s) "
		    "TROPHIES.md, %s bug %s" % (rev, section, num))
		add("garden-%s-%s" % (section, num), src, req)
		num = None


SMUGGLER_UA = (b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
    b" (KHTML, like Gecko) Chrome/78.0.3904.87 Safari/537.36")


def smuggler(gitdir):
	rev = git_head(gitdir)
	text = git_show(gitdir, "configs/default.py").decode("utf-8")
	names = []
	# The literal mutations, then the loop: the same names and gadgets
	# default.py builds.
	for m in re.finditer(r'^mutations\["(\w+)"\] = render_template\("(.*)"\)$',
	    text, re.M):
		names.append((m.group(1), m.group(2).encode("latin-1")
		    .decode("unicode_escape").encode("latin-1")))
	m = re.search(r"for i in \[(.*?)\]:\n((?:\t.*\n)+)", text)
	chars = [int(x, 16) for x in m.group(1).split(",")]
	lines = re.findall(r'mutations\["(.*?)"%i\] = render_template\("(.*?)"%\(i\)\)',
	    m.group(2))
	for c in chars:
		for name, tmpl in lines:
			g = tmpl.encode("latin-1").decode("unicode_escape")
			names.append((name.replace("%02x", "%02x" % c),
			    g.replace("%c", chr(c)).encode("latin-1")))
	for n, (name, gadget) in enumerate(names):
		body = b"1\r\nZ\r\n0\r\n\r\n"
		req = (b"POST /?cb=%d HTTP/1.1\r\n" % n + gadget + b"\r\n" +
		    b"Host: localhost\r\n" + b"User-Agent: " + SMUGGLER_UA +
		    b"\r\n" + b"Content-type: application/x-www-form-urlencoded;"
		    b" charset=UTF-8\r\n" + b"Content-Length: %d\r\n\r\n" %
		    len(body) + body)
		src = ("https://github.com/defparam/smuggler (%s) "
		    "configs/default.py, mutation \"%s\"" % (rev, name))
		add("smuggler-%s" % name, src, req)


def http11probe(gitdir):
	rev = git_head(gitdir)
	out = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r",
	    "--name-only", "HEAD", "docs/content/docs/"], check=True,
	    capture_output=True, text=True).stdout.split()
	for path in out:
		if not path.endswith(".md"):
			continue
		text = git_show(gitdir, path).decode("utf-8")
		m = re.search(r"\*\*Test ID\*\* \| `([^`]+)`", text)
		if m is None or "## What it sends" not in text:
			continue
		tid = m.group(1)
		sends = text.split("## What it sends", 1)[1].split("\n## ", 1)[0]
		blocks = re.findall(r"```http\n(.*?)```", sends, re.S)
		if len(blocks) != 1 or "..." in blocks[0]:
			continue
		raw = blocks[0].replace("\n", "")
		raw = raw.replace("\\r", "\r").replace("\\n", "\n")
		raw = raw.replace("\\t", "\t").replace("\\0", "\0")
		raw = raw.replace("[TAB]", "\t")
		raw = re.sub(r"\\x([0-9a-fA-F]{2})",
		    lambda x: chr(int(x.group(1), 16)), raw)
		src = ("https://github.com/MDA2AV/Http11Probe (%s) %s, test %s"
		    % (rev, path, tid))
		add("http11probe-%s" % slug(tid), src,
		    raw.encode("utf-8"))


llhttp(sys.argv[1])
garden(sys.argv[2])
smuggler(sys.argv[3])
http11probe(sys.argv[4])
for cid, src, req, note in cases:
	print("case %s" % cid)
	print("source %s" % src)
	if note:
		print("note %s" % note)
	print("request %s" % escape(req))
	print()
