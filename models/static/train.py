#!/usr/bin/env python3
"""Trains ragd-static, ragd's built-in static retrieval embedding.

A text's vector is the L2-normalised sum, over its distinct words w, of
(1 + ln tf(w)) * E[w]: one learned vector per word (the vector's length is
the word's learned weight), words outside the vocabulary share hashed
buckets. E starts from the shipped GloVe vectors scaled by idf and is
trained contrastively (in-batch negatives, both directions) on the pairs of
prepare.py, which come only from the packages shared/eval/TRAINING.md lists.

Usage: train.py PAIRS.jsonl GLOVE.bin OUT.bin [--dev faqs.json]
Deterministic for a given input and torch build (one thread, fixed seeds).
"""
import argparse
import json
import math
import random
import re
import struct
import sys
import time

import numpy as np
import torch

WORD = re.compile(r"[^\W_]+")


def words(s):
    return WORD.findall(s.lower())


def fnv1a(s):
    h = 2166136261
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def read_glove(path):
    b = open(path, "rb").read()
    assert b[:8] == b"RAGDGLV1"
    dims, count, wb = struct.unpack_from("<III", b, 8)
    off = 20
    vocab = b[off:off + wb].decode("utf-8").split("\n")
    off += wb
    scale = np.frombuffer(b, dtype="<f4", count=count, offset=off)
    off += 4 * count
    comp = np.frombuffer(b, dtype=np.int8, count=count * dims, offset=off).reshape(count, dims)
    return vocab, comp.astype(np.float32) * scale[:, None]


class Tok:
    def __init__(self, vocab, buckets):
        self.index = {w: i for i, w in enumerate(vocab)}
        self.n = len(vocab)
        self.buckets = buckets

    def ids(self, text):
        """Distinct ids of a text and their weights 1 + ln tf."""
        tf = {}
        for w in words(text):
            i = self.index.get(w)
            if i is None:
                i = self.n + fnv1a(w) % self.buckets
            tf[i] = tf.get(i, 0) + 1
        return list(tf.keys()), [1.0 + math.log(c) for c in tf.values()]


def batch_tensors(tok, texts):
    ids, wts, offs = [], [], []
    for t in texts:
        i, w = tok.ids(t)
        offs.append(len(ids))
        ids.extend(i)
        wts.extend(w)
    return torch.tensor(ids, dtype=torch.long), torch.tensor(wts), torch.tensor(offs, dtype=torch.long)


def embed(bag, tok, texts, bs=2048):
    out = []
    with torch.no_grad():
        for s in range(0, len(texts), bs):
            i, w, o = batch_tensors(tok, texts[s:s + bs])
            v = bag(i, o, per_sample_weights=w)
            out.append(torch.nn.functional.normalize(v, dim=1))
    return torch.cat(out)


def ndcg(bag, tok, pairs):
    q = embed(bag, tok, [p["Question"] for p in pairs])
    d = embed(bag, tok, [p["Answer"] for p in pairs])
    s = q @ d.T
    top = s.topk(10, dim=1).indices
    total, r10 = 0.0, 0
    for i in range(len(pairs)):
        hits = (top[i] == i).nonzero()
        if len(hits):
            total += 1 / math.log2(hits[0].item() + 2)
            r10 += 1
    return total / len(pairs), r10 / len(pairs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("glove")
    ap.add_argument("out")
    ap.add_argument("--golden", help="write sample texts and their vectors here, for the Go parity test")
    ap.add_argument("--dev", help="faqs.json with dev sets to print nDCG@10 on (never trained on)")
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--vocab", type=int, default=120000)
    ap.add_argument("--buckets", type=int, default=16384)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=0.07)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--mixed-batches", action="store_true", help="draw batches from all packages at once instead of one package per batch")
    ap.add_argument("--glove-words", type=int, default=50000)
    args = ap.parse_args()

    torch.manual_seed(1)
    random.seed(1)
    torch.set_num_threads(1)
    pairs = [json.loads(l) for l in open(args.pairs)]
    print(f"{len(pairs)} pairs", file=sys.stderr)

    # Vocabulary: words seen min-count times in the training text, and the
    # most frequent GloVe words (general English the manuals rarely use).
    df = {}
    for p in pairs:
        for w in set(words(p["q"]) + words(p["d"])):
            df[w] = df.get(w, 0) + 1
    gvocab, gvec = read_glove(args.glove)
    gindex = {w: i for i, w in enumerate(gvocab)}
    ranked = sorted((w for w, c in df.items() if c >= args.min_count), key=lambda w: (-df[w], w))
    vocab = ranked[: args.vocab]
    have = set(vocab)
    for w in gvocab[: args.glove_words]:
        if len(vocab) >= args.vocab + args.glove_words:
            break
        if w not in have and WORD.fullmatch(w):
            vocab.append(w)
            have.add(w)
    vocab.sort()
    tok = Tok(vocab, args.buckets)
    n = len(vocab) + args.buckets
    print(f"vocabulary {len(vocab)} words + {args.buckets} buckets, {args.dims} dims", file=sys.stderr)

    # Initial vectors: idf x the unit GloVe vector in the first dimensions
    # (small noise elsewhere and for words GloVe lacks).
    N = len(pairs) * 2
    g = torch.Generator().manual_seed(1)
    E = torch.randn(n, args.dims, generator=g) * 0.02
    gd = gvec.shape[1]
    for i, w in enumerate(vocab):
        idf = math.log(N / (1 + df.get(w, 0)))
        j = gindex.get(w)
        if j is not None:
            v = torch.from_numpy(gvec[j].copy())
            E[i, :gd] = v / (v.norm() + 1e-9)
        else:
            E[i] *= 10
        E[i] *= max(idf, 0.1)
    E[len(vocab):] *= 5
    bag = torch.nn.EmbeddingBag(n, args.dims, mode="sum", sparse=True)
    bag.weight.data.copy_(E)
    opt = torch.optim.SparseAdam(bag.parameters(), lr=args.lr)

    dev = json.load(open(args.dev)) if args.dev else {}

    def report(tag):
        for name, ps in sorted(dev.items()):
            nd, r = ndcg(bag, tok, ps)
            print(f"  {tag} {name}: nDCG@10 {nd:.3f} R@10 {r:.3f}", file=sys.stderr)

    report("init")
    steps = 0
    for epoch in range(args.epochs):
        t0 = time.time()
        total = 0.0
        for b in batches(pairs, args.batch, args.mixed_batches):
            qi, qw, qo = batch_tensors(tok, [p["q"] for p in b])
            di, dw, do = batch_tensors(tok, [p["d"] for p in b])
            q = torch.nn.functional.normalize(bag(qi, qo, per_sample_weights=qw), dim=1)
            d = torch.nn.functional.normalize(bag(di, do, per_sample_weights=dw), dim=1)
            logits = args.scale * q @ d.T
            labels = torch.arange(len(b))
            loss = (torch.nn.functional.cross_entropy(logits, labels) + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
            if steps % 100 == 0:
                print(f"epoch {epoch} step {steps} loss {total / 100:.3f} {time.time() - t0:.0f}s", file=sys.stderr)
                total = 0.0
        report(f"epoch {epoch}")
    save(args.out, vocab, args.buckets, bag.weight.data.numpy())
    # Check the quantised weights as Go will load them.
    bag.weight.data.copy_(torch.from_numpy(load_quantised(args.out)))
    report("int8")
    if args.golden:
        texts = GOLDEN_TEXTS
        vecs = embed(bag, tok, texts)
        for v in vecs:
            if v.abs().sum() == 0:
                v[0] = 1  # a text without words: ragd's first unit vector
        with open(args.golden, "w") as f:
            json.dump({"texts": texts, "vectors": [[round(x, 6) for x in v.tolist()] for v in vecs]}, f)
            f.write("\n")


# Texts the Go implementation must embed like the trainer: prose, code,
# identifiers outside the vocabulary, repeated words, Unicode, no words.
GOLDEN_TEXTS = [
    "How do I install a package from a local .deb file?",
    "Use dpkg -i package.deb, then apt-get -f install to pull in missing dependencies.",
    "os.path.join(path, *paths) joins one or more path components intelligently.",
    "xyzzyfrobnicate_42 quux-9000 zzqqv",
    "the the the the cat",
    "Über naïve café — résumé, 東京 and 1½ cups",
    "!!! ... ---",
    "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction';",
]


def batches(pairs, size, mixed):
    """Shuffled batches of pairs. Unless mixed, each batch holds pairs of
    one package only, so its in-batch negatives share the topic and the
    model must learn finer distinctions than "Perl or PostgreSQL"."""
    groups = {}
    for i, p in enumerate(pairs):
        key = "all" if mixed else p["src"].split(":")[0]
        groups.setdefault(key, []).append(i)
    out = []
    for key in sorted(groups):
        idx = groups[key]
        random.shuffle(idx)
        # A package smaller than a batch joins the "rest" pool.
        full = len(idx) - len(idx) % size
        out.extend(idx[s:s + size] for s in range(0, full, size))
        groups[key] = idx[full:]
    rest = [i for key in sorted(groups) for i in groups[key]]
    random.shuffle(rest)
    out.extend(rest[s:s + size] for s in range(0, len(rest) - size + 1, size))
    random.shuffle(out)
    return [[pairs[i] for i in b] for b in out]


def save(path, vocab, buckets, W):
    """Layout, little-endian: "RAGDSTA1" | dims | words | buckets | wordBytes
    (uint32 each) | words joined by "\\n" | (words+buckets) x float32 scale |
    (words+buckets) x dims x int8; component = int8 * scale."""
    W = W.astype(np.float32)
    scale = np.abs(W).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(W / scale[:, None]), -127, 127).astype(np.int8)
    wb = "\n".join(vocab).encode("utf-8")
    with open(path, "wb") as f:
        f.write(b"RAGDSTA1")
        f.write(struct.pack("<IIII", W.shape[1], len(vocab), buckets, len(wb)))
        f.write(wb)
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())


def load_quantised(path):
    b = open(path, "rb").read()
    dims, nw, nb, wb = struct.unpack_from("<IIII", b, 8)
    n = nw + nb
    off = 24 + wb
    scale = np.frombuffer(b, dtype="<f4", count=n, offset=off)
    off += 4 * n
    q = np.frombuffer(b, dtype=np.int8, count=n * dims, offset=off).reshape(n, dims)
    return q.astype(np.float32) * scale[:, None]


if __name__ == "__main__":
    main()
