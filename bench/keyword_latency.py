#!/usr/bin/env python3
"""Warm latency of keyword search (``KeywordIndex.search``): p50/p95 over a query list.

    python bench/keyword_latency.py                          # the project corpus
    python3 /work/shared/bench/scale_corpus.py corpus /tmp/corpus-100x --factor 100
    python bench/keyword_latency.py --corpus /tmp/corpus-100x --index /tmp/kw-100x

The index is built from ``--corpus`` (parsed by search.corpus.load_corpus) into
``--index``, or reused when ``--index`` already holds one; without ``--index`` it is
built in a temporary directory. Every query runs once to warm up, then ``--repeat``
times, timed. ``--queries FILE`` replaces the built-in mix (one query per line).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.config import PROJECT_ROOT  # noqa: E402
from search.corpus import load_corpus  # noqa: E402
from search.keyword_index import META_FILE, KeywordIndex, build_keyword_index  # noqa: E402

# (query, filters): words, run-together words, phrases, exclusions, questions, filters,
# very common words (the slowest case) and syntax garbage.
QUERIES: list[tuple[str, dict]] = [
    ("专精特新", {}),
    ("页岩气 制氢", {}),
    ("成渝地区双城经济圈 科技合作", {}),
    ("成渝地区双城经济圈科技合作", {}),
    ("中医药", {}),
    ("榨菜 科创基地", {}),
    ("类脑芯片", {}),
    ("第三次全国土壤普查", {}),
    ("氢燃料电池", {}),
    ("慧谷湖科创小镇", {}),
    ("科技创新券", {}),
    ("研发机构", {}),
    ("研发投入强度 2025年", {}),
    ("高新技术企业 3%", {}),
    ("ＡＩ", {}),
    ("科技創新", {}),
    ("科技", {}),
    ("科技 创新 发展 建设", {}),
    ('"科技创新"', {}),
    ('"成渝地区双城经济圈 建设"', {}),
    ("“揭榜挂帅”", {}),
    ('"高质量发展" 人才', {}),
    ("页岩气 -制氢", {}),
    ("人才 -引进", {}),
    ('科技 NOT "科技创新"', {}),
    ("綦江对来綦工作并在当地买房的产业人才有什么补贴？", {}),
    ("涪陵到2025年要累计培育多少家新型研发机构？", {}),
    ("各区规划提出的2025年研发投入强度目标分别是多少？", {}),
    ("把工厂排的温室气体捕捉起来再利用，再靠树林多吸收一些", {}),
    ("让科技自立自强成为全社会的普遍共识和共同行动", {}),
    ("科技创新", {"district": "綦江"}),
    ("人才", {"chapter": "第一章"}),
    ("AND OR NOT * ? ~ [ ] { } : ^", {}),
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    ap.add_argument("--index", type=Path, help="index directory (built if it holds no index)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--queries", type=Path, help="file with one query per line")
    args = ap.parse_args(argv)

    queries = QUERIES
    if args.queries:
        lines = args.queries.read_text(encoding="utf-8").splitlines()
        queries = [(line.strip(), {}) for line in lines if line.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.index or Path(tmp) / "keyword"
        if not (directory / META_FILE).exists():
            t0 = time.perf_counter()
            corpus = load_corpus(args.corpus)
            t1 = time.perf_counter()
            build_keyword_index(corpus.passages, corpus.documents, directory)
            t2 = time.perf_counter()
            print(f"parsed {len(corpus.passages)} passages in {t1 - t0:.1f}s; built the index in {t2 - t1:.1f}s")
        t0 = time.perf_counter()
        index = KeywordIndex(directory)
        size = sum(f.stat().st_size for f in directory.iterdir()) / 2**20
        print(f"opened {len(index)} passages in {time.perf_counter() - t0:.2f}s ({size:.0f} MiB on disk)")

        timings: dict[str, list[float]] = {}
        for query, filters in queries:
            index.search(query, limit=args.limit, **filters)  # warm-up
        for _ in range(args.repeat):
            for query, filters in queries:
                t0 = time.perf_counter()
                index.search(query, limit=args.limit, **filters)
                timings.setdefault(f"{query} {filters or ''}".strip(), []).append((time.perf_counter() - t0) * 1000)
        index.close()

    everything = [t for ts in timings.values() for t in ts]
    print(f"{len(everything)} searches ({len(timings)} queries × {args.repeat}), limit {args.limit}: "
          f"p50 {percentile(everything, 50):.1f} ms, p95 {percentile(everything, 95):.1f} ms, "
          f"max {max(everything):.1f} ms")
    print("slowest queries (median ms):")
    for name, ts in sorted(timings.items(), key=lambda kv: -statistics.median(kv[1]))[:5]:
        print(f"  {statistics.median(ts):7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
