#!/usr/bin/env python3
"""bm25_baseline.py - recall@k of plain BM25 over raw turns, per subject.

For every query in a recall-benchmark file (format: shared/eval/README.md), ranks the event texts
of the query's own subject with Okapi BM25 (k1=1.2, b=0.75, lowercase alphanumeric tokens, no
stemming, no stopwords) and scores the top k ids against ``expected``: recall@k is the share of a
query's expected ids in the first k, averaged over queries.  Prints one JSON object per file with
overall and per-category recall@k.  Standard library only.

Usage::

    python bench/evalsets/bm25_baseline.py bench/evalsets/chatter-seed1.jsonl [more.jsonl ...] [--k 10]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path


def tokenize(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lens = [len(d) for d in docs]
        self.avg = sum(self.lens) / max(len(docs), 1)
        self.k1, self.b = k1, b
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        out = []
        for tf, ln in zip(self.docs, self.lens, strict=False):
            s = 0.0
            for t in query:
                f = tf.get(t, 0)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * ln / self.avg))
            out.append(s)
        return out


def evaluate(path: Path, k: int) -> dict[str, object]:
    events: dict[str, list[tuple[str, str]]] = defaultdict(list)
    queries: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec["type"] == "event":
                events[rec["subject"]].append((rec["id"], rec["text"]))
            elif rec["type"] == "query":
                queries.append(rec)
    index = {s: BM25([tokenize(t) for _, t in evs]) for s, evs in events.items()}
    per_cat: dict[str, list[float]] = defaultdict(list)
    allr: list[float] = []
    for q in queries:
        subj = str(q["subject"])
        evs = events[subj]
        sc = index[subj].scores(tokenize(str(q["text"])))
        order = sorted(range(len(evs)), key=lambda i: (-sc[i], i))[:k]
        top = {evs[i][0] for i in order}
        expected = list(q["expected"])  # type: ignore[arg-type]
        r = sum(1 for e in expected if e in top) / len(expected)
        allr.append(r)
        per_cat[str(q.get("category", "?"))].append(r)
    return {
        "file": str(path),
        "k": k,
        "queries": len(allr),
        f"recall@{k}": round(sum(allr) / max(len(allr), 1), 4),
        "per_category": {
            c: {f"recall@{k}": round(sum(v) / len(v), 4), "queries": len(v)} for c, v in sorted(per_cat.items())
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="recall@k of BM25 over raw turns")
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args(argv)
    for f in args.files:
        print(json.dumps(evaluate(f, args.k)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
