#!/usr/bin/env python3
"""Builds the training pairs of the built-in ragd-static model.

Reads ONLY the Debian packages that shared/eval/TRAINING.md allows, unpacked
under ROOT (see fetch.sh), and writes JSON lines {"q", "d", "src"}:

  heading -> the text of its section            (HTML manuals, Mallard, POD)
  page title -> the page's first section        (HTML manuals)
  term -> definition                            (HTML <dt>/<dd>: API references)
  man page NAME line -> DESCRIPTION             (man pages, sections 1-8)
  one sentence -> the rest of its paragraph     (inverse cloze, all sources)

Excluded, as TRAINING.md requires: every file whose path or title says FAQ
or "Frequently Asked Questions", every section whose heading does, the
Python faq/ folder and Django's docs/faq, translations (non-English pages).

Usage: prepare.py ROOT OUT.jsonl  (prints per-source counts and writes
OUT.jsonl.files, the sorted list of files read with their sha256).
"""
import gzip
import hashlib
import html.parser
import json
import os
import random
import re
import sys

MAX_WORDS = 256          # a passage is cut to its first 256 words
MIN_PASSAGE_WORDS = 12   # shorter sections teach nothing
FAQ = re.compile(r"faq|frequently\s+asked", re.I)
WORD = re.compile(r"[^\W_]+")
SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")

LANG_DIRS = re.compile(r"/(translations|[a-z]{2}[-_][A-Z]{2}|[a-z]{2})/")


def words(s):
    return WORD.findall(s.lower())


def clean(s):
    s = s.replace("\u00b6", " ").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", s).strip()


def cut(s, n=MAX_WORDS):
    parts = s.split(" ")
    return " ".join(parts[:n])


def english(s):
    if not s:
        return False
    ascii_letters = sum(1 for c in s if c.isascii() and c.isalpha())
    letters = sum(1 for c in s if c.isalpha())
    return letters > 0 and ascii_letters / letters > 0.97


class Sections(html.parser.HTMLParser):
    """Splits an HTML page into (heading, text) sections and (dt, dd) pairs."""

    SKIP = {"script", "style", "nav", "header", "footer", "head"}
    BLOCK = {"p", "li", "pre", "dd", "dt", "td", "th", "div", "br", "tr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.title = ""
        self.in_title = False
        self.heading = None      # text being collected for a heading
        self.sections = []       # [heading, [texts]]
        self.dt = None
        self.dd = None
        self.defs = []
        self.depth_dd = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
            return
        if tag == "title":
            self.in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self.heading = []
        elif tag == "dt":
            self.dt = []
        elif tag == "dd":
            if self.depth_dd == 0:
                self.dd = []
            self.depth_dd += 1
        if tag in self.BLOCK:
            self.text(" \n ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "title":
            self.in_title = False
        if re.fullmatch(r"h[1-6]", tag) and self.heading is not None:
            self.sections.append([clean("".join(self.heading)), []])
            self.heading = None
        elif tag == "dt" and self.dt is not None:
            self.last_dt = clean("".join(self.dt))
            self.dt = None
        elif tag == "dd":
            self.depth_dd = max(0, self.depth_dd - 1)
            if self.depth_dd == 0 and self.dd is not None:
                self.defs.append((getattr(self, "last_dt", ""), clean("".join(self.dd))))
                self.dd = None
        if tag in self.BLOCK:
            self.text(" \n ")

    def handle_data(self, data):
        if self.skip:
            return
        if self.in_title:
            self.title += data
            return
        self.text(data)

    def text(self, data):
        if self.heading is not None:
            self.heading.append(data)
            return
        if self.dt is not None:
            self.dt.append(data)
        if self.dd is not None:
            self.dd.append(data)
        if self.sections:
            self.sections[-1][1].append(data)
        else:
            self.sections.append(["", [data]])


class Out:
    def __init__(self, path):
        self.f = open(path, "w")
        self.counts = {}
        self.seen = set()
        self.per_query = {}
        self.files = []

    def pair(self, q, d, src):
        q, d = clean(q), clean(d)
        if FAQ.search(q):
            return
        qw, dw = words(q), words(d)
        if len(qw) < 1 or len(dw) < MIN_PASSAGE_WORDS or not english(q + " " + d[:400]):
            return
        d = cut(d)
        key = (q.lower(), d[:200])
        if key in self.seen:
            return
        # A heading like "Description" or "Examples" heads thousands of
        # unrelated sections: keep a few, or it dominates the batches.
        n = self.per_query.get(q.lower(), 0)
        if n >= 3:
            return
        self.per_query[q.lower()] = n + 1
        self.seen.add(key)
        self.f.write(json.dumps({"q": q, "d": d, "src": src}) + "\n")
        self.counts[src] = self.counts.get(src, 0) + 1

    def cloze(self, para, src, rng):
        """One sentence of a paragraph -> the rest of it (inverse cloze task)."""
        para = clean(para)
        sents = SENT_END.split(para)
        if len(sents) < 3 or rng.random() > 0.5:
            return
        i = rng.randrange(len(sents))
        q = sents[i]
        rest = " ".join(sents[:i] + sents[i + 1:])
        if 5 <= len(words(q)) <= 40:
            self.pair(q, rest, src + ":cloze")


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def html_pages(root):
    for top in ("usr/share/doc", "usr/share/debian-reference", "usr/share/developers-reference"):
        yield from html_tree(root, top)


def html_tree(root, top):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames[:] = sorted(d for d in dirnames if d not in ("_sources", "_static", "_images", "_downloads", "translations") and not FAQ.search(d))
        rel = os.path.relpath(dirpath, os.path.join(root, "usr/share/doc"))
        if "debian-handbook" in rel and "/en-US" not in "/" + rel + "/" and rel != "debian-handbook" and rel != "debian-handbook/html":
            continue
        if rel.startswith("rust-doc/html/") and ("/std/" in "/" + rel + "/" or "/core/" in "/" + rel + "/" or "/alloc/" in "/" + rel + "/"):
            # rustdoc API pages: 30,000 near-identical trait-impl pages.
            continue
        for f in sorted(filenames):
            if top.endswith("debian-reference") and not f.endswith(".en.html"):
                continue
            if f.endswith(".html") and not FAQ.search(f) and f not in ("genindex.html", "search.html", "py-modindex.html"):
                yield os.path.join(dirpath, f)


def read_html(path, out, rng):
    parts = os.path.relpath(path, ROOT).split("/")
    src = parts[3] if parts[2] == "doc" else parts[2]
    p = Sections()
    try:
        p.feed(open(path, encoding="utf-8", errors="replace").read())
    except Exception:
        return
    title = clean(p.title).split(" \u2014 ")[0].split(" - ")[0]
    if FAQ.search(p.title):
        return
    out.files.append(path)
    first = True
    for heading, texts in p.sections:
        body = clean(" ".join(texts))
        if not heading:
            continue
        if FAQ.search(heading):
            continue
        out.pair(heading, body, src + ":heading")
        if first and title and title.lower() != heading.lower():
            out.pair(title, body, src + ":title")
        first = False
        for para in re.split(r"\s*\n\s*\n\s*|\s\n\s", " ".join(texts)):
            out.cloze(para, src, rng)
    for dt, dd in p.defs:
        if dt and len(words(dt)) <= 20:
            out.pair(dt, dd, src + ":def")


TROFF_ESC = [
    (re.compile(r"\\f[BIRPV1-4]|\\f\(..|\\f\[[^\]]*\]"), ""),
    (re.compile(r"\\\(em|\\\(en"), " - "),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\\(.."), " "),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\[&|^%]"), ""),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\s[-+]?\d"), ""),
    (re.compile(r"\\\*\(..|\\\*."), ""),
    (re.compile(r"\\."), ""),
]


def troff_text(line):
    for rx, rep in TROFF_ESC:
        line = rx.sub(rep, line)
    return line


def read_man(path, out, rng):
    try:
        text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    except Exception:
        return
    if text.startswith(".so "):
        return
    out.files.append(path)
    sections, cur = [], None
    for line in text.splitlines():
        m = re.match(r'\.S[HS]\s+"?([^"]*)"?', line)
        if m:
            cur = [troff_text(m.group(1)).strip(), []]
            sections.append(cur)
            continue
        if cur is None or line.startswith(".\\\"") or line.startswith("'\\\""):
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] in (".B", ".I", ".BR", ".IR", ".RB", ".RI", ".BI", ".IB", ".TP", ".IP", ".SM"):
                cur[1].append(troff_text(parts[1].replace('"', "")))
            elif parts and parts[0] in (".PP", ".P", ".LP", ".sp"):
                cur[1].append("\n\n")
            continue
        cur[1].append(troff_text(line))
    name = next((" ".join(b) for h, b in sections if h.upper() == "NAME"), "")
    m = re.match(r"\s*(.*?)\s+-+\s+(.*)", clean(name))
    desc_line = m.group(2) if m else ""
    for h, b in sections:
        body = " ".join(b)
        if h.upper() == "NAME":
            continue
        if h.upper() == "DESCRIPTION" and desc_line:
            out.pair(desc_line, body, "man:name")
        elif h.upper() not in ("SYNOPSIS", "SEE ALSO", "AUTHOR", "AUTHORS", "COLOPHON", "COPYRIGHT", "REPORTING BUGS", "BUGS"):
            if m and len(words(h)) >= 1:
                out.pair(m.group(1).split(",")[0] + " " + h.lower(), body, "man:section")
        for para in re.split(r"\n\n", body):
            out.cloze(para, "man", rng)


def read_pod(path, out, rng):
    if FAQ.search(os.path.basename(path)):
        return
    out.files.append(path)
    head, body = None, []

    def flush():
        if head and not FAQ.search(head):
            text = re.sub(r"[A-Z]<+([^>]*)>+", r"\1", "\n".join(body))
            out.pair(head, text, "pod:heading")
            for para in text.split("\n\n"):
                out.cloze(para, "pod", rng)

    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"=(head\d|item)\s+(.*)", line)
        if m:
            flush()
            head = re.sub(r"[A-Z]<+([^>]*)>+", r"\1", m.group(2)).strip()
            body = []
        elif line.startswith("="):
            continue
        else:
            body.append(line.rstrip("\n"))
    flush()


class Mallard(html.parser.HTMLParser):
    """GNOME help pages: title, desc and the text of each section."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.title, self.desc, self.texts = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass
        if tag in ("p", "item", "title"):
            self.texts.append(" ")

    def handle_data(self, data):
        if "info" in self.stack or "credit" in self.stack:
            if self.stack and self.stack[-1] == "desc":
                self.desc.append(data)
            return
        if self.stack and self.stack[-1] == "title" and len(self.title) == 0:
            self.title.append(data)
        else:
            self.texts.append(data)


def read_mallard(path, out, rng):
    p = Mallard()
    try:
        p.feed(open(path, encoding="utf-8", errors="replace").read())
    except Exception:
        return
    title, desc, body = clean("".join(p.title)), clean("".join(p.desc)), clean(" ".join(p.texts))
    if FAQ.search(title) or FAQ.search(path):
        return
    out.files.append(path)
    out.pair(title, body, "gnome:title")
    if desc:
        out.pair(desc, body, "gnome:desc")


def main():
    global ROOT
    ROOT, dest = sys.argv[1], sys.argv[2]
    rng = random.Random(1)
    out = Out(dest)
    for path in html_pages(ROOT):
        read_html(path, out, rng)
    for sec in "12345678":
        d = os.path.join(ROOT, "usr/share/man/man" + sec)
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                read_man(os.path.join(d, f), out, rng)
    pod = os.path.join(ROOT, "usr/share/perl")
    for dirpath, dirnames, filenames in os.walk(pod):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".pod"):
                read_pod(os.path.join(dirpath, f), out, rng)
    helpdir = os.path.join(ROOT, "usr/share/help/C")
    for dirpath, dirnames, filenames in os.walk(helpdir):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".page"):
                read_mallard(os.path.join(dirpath, f), out, rng)
    out.f.close()
    with open(dest + ".files", "w") as f:
        for p in sorted(out.files):
            f.write(sha(p) + "  " + os.path.relpath(p, ROOT) + "\n")
    for k in sorted(out.counts):
        print(f"{out.counts[k]:8d} {k}", file=sys.stderr)
    print(f"{sum(out.counts.values()):8d} pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
