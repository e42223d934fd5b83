#!/usr/bin/env python3
"""
The compare engine against a model of DESIGN 4.2 written here, apart from
the C code: random JSON pairs (nested, unicode, huge and negative numbers,
empty containers, duplicate keys, U+0000 in keys) with planted differences
of every kind, run through one `paritytap diff --json` per option set, each
document's verdict and diffs checked against what the model says.

Usage: compare-property.py --paritytap PATH --dir DIR [--seed N] [--pairs N]

Prints one line per option set:
    CONFIG <name> <verdicts right> <diffs right> <pairs>
and, for the first pairs that disagree, the seed, the pair and both
answers on lines starting with "#".  Exit status 0 when all agree.
"""

import argparse
import json
import random
import subprocess
import sys

LLONG_MIN = -(1 << 63)
LLONG_MAX = (1 << 63) - 1

# Values: ("obj", [(key, value), ...]) with keys in wire order, repeats
# allowed; ("arr", [...]); ("str", text); ("num", token); ("bool", b);
# ("null", None).

KEYS = ["a", "b", "id", "name", "kind", "Kind", "Schema", "Field",
        "line_offset", "session_id", "key with.dot", "quo\"te", "back\\slash",
        "0", "", "caf\u00e9", "\u65e5\u672c", "\U0001f680", "a\u0000b",
        "a\u0000c", "\u0000", "tab\there", "del\u007f", "x_1", "_"]
STRINGS = ["", "x", "y", "1", "true", "null", "caf\u00e9", "\u65e5\u672c\u8a9e",
           "\U0001f680 rocket", "line\nbreak", "\u0000num:1",
           "\u0000num:99999999999999999999", "a\u0000b", "\u2028", "\"q\"",
           "back\\slash", "ctrl\u0001", "2026-05-02T10:00:00Z"]
INTS = ["0", "1", "-1", "42", "-42", "7", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "99999999999999999999",
        "-123456789012345678901234567890", "100"]
REALS = ["0.0", "-0.0", "1.0", "1.5", "-1.5", "2.5e-3", "1E5", "1e2",
         "100.0", "1e400", "-1e400", "1e-400", "0.1", "3.14159",
         "1.7976931348623157e308"]


def gen_scalar(r):
    t = r.randrange(6)
    if t == 0:
        return ("str", r.choice(STRINGS))
    if t == 1:
        return ("num", r.choice(INTS))
    if t == 2:
        return ("num", r.choice(REALS))
    if t == 3:
        return ("bool", r.random() < 0.5)
    if t == 4:
        return ("null", None)
    return ("str", "s%d" % r.randrange(5))


def gen_value(r, depth):
    if depth >= 4 or r.random() < 0.35:
        return gen_scalar(r)
    n = r.randrange(5)
    if r.random() < 0.55:
        keys = r.sample(KEYS, n)
        items = [(k, gen_value(r, depth + 1)) for k in keys]
        if items and r.random() < 0.1:
            # A key repeated in the same object.
            k, _ = r.choice(items)
            items.insert(r.randrange(len(items) + 1),
                         (k, gen_value(r, depth + 1)))
        return ("obj", items)
    return ("arr", [gen_value(r, depth + 1) for _ in range(n)])


def copy(v):
    if v[0] == "obj":
        return ("obj", [(k, copy(x)) for k, x in v[1]])
    if v[0] == "arr":
        return ("arr", [copy(x) for x in v[1]])
    return v


def containers(v, out):
    """Every object and array of v, for planting differences."""
    if v[0] in ("obj", "arr"):
        out.append(v)
        items = v[1] if v[0] == "arr" else [x for _, x in v[1]]
        for x in items:
            containers(x, out)
    return out


def other_scalar(r, v):
    """A scalar of the same type as v, usually a different value."""
    if v[0] == "str":
        return ("str", r.choice(STRINGS + ["changed"]))
    if v[0] == "bool":
        return ("bool", not v[1])
    if v[0] == "num":
        return ("num", r.choice(INTS if num_kind(v[1]) == "integer"
                               else REALS))
    return v


def plant(r, b):
    """Make one difference of a kind DESIGN 4.2 lists, somewhere in b."""
    cs = containers(b, [])
    if not cs:
        return ("root", gen_value(r, 1))
    c = r.choice(cs)
    kind = r.randrange(13)
    if c[0] == "obj":
        items = c[1]
        if kind == 0 and items:             # missing
            del items[r.randrange(len(items))]
        elif kind == 1:                     # extra
            items.append((r.choice(KEYS), gen_value(r, 3)))
        elif kind == 2 and len(items) > 1:  # order
            r.shuffle(items)
        elif kind == 3:                     # tagged enum vs flat struct
            for i, (k, _) in enumerate(items):
                if k == "Schema":
                    del items[i]
                    break
            items.append(("Kind", ("str", "schema")))
            items.append(("Field", ("str", "x")))
        elif kind == 4 and items:           # duplicate a key
            k, _ = r.choice(items)
            items.append((k, gen_value(r, 3)))
        elif items:
            i = r.randrange(len(items))
            items[i] = (items[i][0], mutate_value(r, items[i][1], kind))
    else:
        items = c[1]
        if kind == 0 and items:             # shorter
            items.pop()
        elif kind == 1:                     # longer (or empty vs not)
            items.append(gen_value(r, 3))
        elif kind == 2:                     # emptied
            del items[:]
        elif kind == 3 and len(items) > 1:  # reordered
            r.shuffle(items)
        elif items:
            i = r.randrange(len(items))
            items[i] = mutate_value(r, items[i], kind)
    return None


def mutate_value(r, v, kind):
    if kind == 5:
        return other_scalar(r, v)           # value
    if kind == 6:                           # type
        return r.choice([("str", "1"), ("null", None), ("num", "1"),
                         ("bool", True), ("obj", []), ("arr", [])])
    if kind == 7 and v[0] == "num":         # integer vs real, same value
        t = v[1]
        if num_kind(t) == "integer":
            return ("num", t + ".0")
        return ("num", t.replace("E", "e").replace("e2", "e+2"))
    if kind == 8 and v[0] == "num" and num_kind(v[1]) == "real":
        return ("num", "-" + v[1] if not v[1].startswith("-") else v[1][1:])
    if kind == 9:
        return ("null", None)               # null vs the value
    if kind == 10:
        return ("num", "0")                 # 0 vs the value
    return v                                # an equal value


def dumps_str(r, s):
    return json.dumps(s, ensure_ascii=r.random() < 0.5)


def serialize(r, v, out):
    t = v[0]
    if t == "obj":
        out.append("{")
        for i, (k, x) in enumerate(v[1]):
            if i:
                out.append(r.choice([",", ", ", " ,"]))
            out.append(dumps_str(r, k))
            out.append(r.choice([":", ": ", "\t:"]))
            serialize(r, x, out)
        out.append("}")
    elif t == "arr":
        out.append("[")
        for i, x in enumerate(v[1]):
            if i:
                out.append(r.choice([",", ", "]))
            serialize(r, x, out)
        out.append("]")
    elif t == "str":
        out.append(dumps_str(r, v[1]))
    elif t == "num":
        out.append(v[1])
    elif t == "bool":
        out.append("true" if v[1] else "false")
    else:
        out.append("null")


# --- the model -------------------------------------------------------------

def num_kind(tok):
    return "real" if any(c in tok for c in ".eE") else "integer"


def num_value(tok):
    """("int", n), ("real", x) or ("text", tok) for numbers held as text."""
    if num_kind(tok) == "integer":
        n = int(tok)
        if LLONG_MIN <= n <= LLONG_MAX:
            return ("int", n)
        return ("text", tok)
    x = float(tok)
    if x in (float("inf"), float("-inf")):
        return ("text", tok)
    return ("real", x)


def num_equal(a, b):
    va, vb = num_value(a), num_value(b)
    if va[0] == "text" or vb[0] == "text":
        return va == vb
    return va[1] == vb[1]


def type_name(v):
    if v[0] == "num":
        return num_kind(v[1])
    return {"obj": "object", "arr": "array", "str": "string",
            "bool": "boolean", "null": "null"}[v[0]]


def path_key(path, k):
    if k and all(c == "_" or c.isascii() and c.isalpha() or
                 (i > 0 and c.isascii() and c.isdigit())
                 for i, c in enumerate(k)):
        return path + "." + k
    s = ""
    for c in k:
        if c in "\"\\":
            s += "\\" + c
        elif ord(c) < 0x20 or ord(c) == 0x7f:
            s += "\\u%04x" % ord(c)
        else:
            s += c
    return path + '["' + s + '"]'


def members(v):
    """An object's members as a parser keeps them: last value wins, at
    the place of the first."""
    d = {}
    for k, x in v[1]:
        d[k] = x
    return d


def model_equal(x, y, path, opts):
    d = []
    model_diff(x, y, path, opts, d)
    return not d


def model_reordered(xs, ys, path, opts):
    """Two arrays of one length that differ index by index but hold the
    same elements (a multiset match)."""
    n = len(xs)
    if n < 2:
        return False
    same = [model_equal(xs[i], ys[i], "%s[%d]" % (path, i), opts)
            for i in range(n)]
    if all(same):
        return False
    used = [same[j] for j in range(n)]
    for i in range(n):
        if same[i]:
            continue
        for j in range(n):
            if not used[j] and model_equal(xs[i], ys[j],
                                           "%s[%d]" % (path, i), opts):
                used[j] = True
                break
        else:
            return False
    return True


def model_diff(a, b, path, opts, out):
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        if (opts["lenient"] and a[0] == "num" and b[0] == "num"):
            if not num_equal(a[1], b[1]):
                out.append(("value", path, None))
            return
        out.append(("type", path, None))
        return
    if a[0] == "num":
        if not num_equal(a[1], b[1]):
            out.append(("value", path, None))
    elif a[0] in ("str", "bool"):
        if a[1] != b[1]:
            out.append(("value", path, None))
    elif a[0] == "arr":
        if len(a[1]) != len(b[1]):
            out.append(("value", path, None))
        elif model_reordered(a[1], b[1], path, opts):
            # Same elements, another order: one value diff (hint order).
            out.append(("value", path, None))
            return
        for i, (x, y) in enumerate(zip(a[1], b[1])):
            model_diff(x, y, "%s[%d]" % (path, i), opts, out)
    elif a[0] == "obj":
        ma, mb = members(a), members(b)
        for k in ma:
            if k not in mb:
                out.append(("missing", path_key(path, k), "candidate"))
            else:
                model_diff(ma[k], mb[k], path_key(path, k), opts, out)
        for k in mb:
            if k not in ma:
                out.append(("extra", path_key(path, k), "candidate"))
        if opts["strict"]:
            oa = [k for k in ma if k in mb]
            ob = [k for k in mb if k in ma]
            if oa != ob:
                out.append(("order", path, "candidate"))


def model_dups(v, path, out):
    """(object path, key) for each key an object repeats, once per key."""
    if v[0] == "obj":
        seen, done = set(), set()
        for k, x in v[1]:
            if k in seen and k not in done:
                out.append((path, k))
                done.add(k)
            seen.add(k)
            model_dups(x, path_key(path, k), out)
    elif v[0] == "arr":
        for i, x in enumerate(v[1]):
            model_dups(x, "%s[%d]" % (path, i), out)
    return out


def model(a, b, opts):
    diffs = []
    model_diff(a, b, "$", opts, diffs)
    da, db = model_dups(a, "$", []), model_dups(b, "$", [])
    diffs += [("duplicate_key", p, "primary") for p, _ in da]
    diffs += [("duplicate_key", p, "candidate") for p, _ in db]
    kinds = set(d[0] for d in diffs)
    if kinds & {"missing", "extra", "type", "order"}:
        verdict = "shape"
    elif sorted(da) != sorted(db):
        verdict = "body"
    elif "value" in kinds:
        verdict = "value"
    else:
        verdict = "match"
    return verdict, sorted(diffs, key=repr)


# --- the run -----------------------------------------------------------------

CONFIGS = [
    ("shape", []),
    ("shape-strict-order", ["--strict-order"]),
    ("shape-lenient-numbers", ["--lenient-numbers"]),
    ("exact-strict-order", ["--mode", "exact", "--strict-order"]),
    ("exact-lenient-numbers", ["--mode", "exact", "--lenient-numbers"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paritytap", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()

    r = random.Random(args.seed)
    pairs, texts_a, texts_b = [], [], []
    for _ in range(args.pairs):
        a = gen_value(r, 0)
        if a[0] not in ("obj", "arr"):
            a = ("obj", [("v", a)])
        b = copy(a)
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            root = plant(r, b)
            if root is not None:
                b = root[1]
        pairs.append((a, b))
        for v, texts in ((a, texts_a), (b, texts_b)):
            out = []
            serialize(r, v, out)
            texts.append("".join(out))
    fa, fb = args.dir + "/a.jsonl", args.dir + "/b.jsonl"
    with open(fa, "w", encoding="utf-8") as f:
        f.write("\n".join(texts_a) + "\n")
    with open(fb, "w", encoding="utf-8") as f:
        f.write("\n".join(texts_b) + "\n")

    status = 0
    for name, flags in CONFIGS:
        opts = {"strict": "--strict-order" in flags,
                "lenient": "--lenient-numbers" in flags,
                "exact": "exact" in flags}
        p = subprocess.run([args.paritytap, "diff", "-q", "--json"] + flags +
                           [fa, fb], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        try:
            results = json.loads(p.stdout)["results"]
        except (ValueError, KeyError):
            print("# %s: no JSON from paritytap diff (exit %d): %s" %
                  (name, p.returncode, p.stderr[:300]))
            print("CONFIG %s 0 0 %d" % (name, args.pairs))
            status = 1
            continue
        vok = dok = shown = 0
        for i, (a, b) in enumerate(pairs):
            verdict, diffs = model(a, b, opts)
            got = results[i] if i < len(results) else {}
            gv = got.get("verdict")
            gd = sorted(((d.get("kind"), d.get("path"), d.get("side"))
                         for d in got.get("diffs", [])), key=repr)
            right_v = gv == verdict
            if opts["exact"] and "exact_match" in got:
                right_v = right_v and got.get("exact_match") == \
                    (verdict == "match")
            right_d = gd == diffs or bool(got.get("diffs_truncated") and
                                          len(diffs) >= len(gd))
            vok += right_v
            dok += right_d
            if (not right_v or not right_d) and shown < args.show:
                shown += 1
                print("# %s: seed %d, pair %d (line %d) disagrees" %
                      (name, args.seed, i + 1, i + 1))
                print("#   A: %s" % texts_a[i])
                print("#   B: %s" % texts_b[i])
                print("#   model:     %s %s" % (verdict, diffs))
                print("#   paritytap: %s exact_match=%s %s" %
                      (gv, got.get("exact_match"), gd))
        print("CONFIG %s %d %d %d" % (name, vok, dok, args.pairs))
        if vok != args.pairs or dok != args.pairs:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
