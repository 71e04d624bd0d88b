"""Load test of a PlanSearch server: concurrent clients, throughput, latency, errors, memory.

    python bench/load_test.py [--clients 20] [--seconds 30] [--max-requests 20000]
    python bench/load_test.py --clients 50 --seconds 60          # the hardening profile
    python bench/load_test.py --base-url http://127.0.0.1:8000 --server-pid PID

Without --base-url it starts ``plansearch serve`` on a free port of 127.0.0.1 (with
--index/--corpus/--model, else the usual settings; a missing index is built first) and
stops it at the end. Only loopback addresses are ever contacted.

N client threads, each with its own keep-alive connection (http.client), send requests
one after the other for T seconds or until --max-requests have been sent, drawing from a
fixed mix (see ``mix``): keyword and hybrid searches, questions, the document list, a
search page, quotation checks, and deliberate bad requests whose 4xx answer is expected.

Reported: throughput, latency p50/p95/p99 overall and per kind, errors (any unexpected
status, a 4xx where 200 was expected included, and every connection error or timeout)
and the server's resident memory at the start, middle and end of the run, sampled from
/proc (a server given by --base-url is sampled only with --server-pid). A warm-up phase
first loads what is loaded on first use, so that it does not count as growth.

Exit status 1 when there was any error or the memory grew by more than --max-growth-mb.
The clients are Python threads on the same machine as the server, so on a small machine
they take some of its CPU: the throughput is a lower bound.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from benchmark import KEYWORD_QUERIES, QUESTIONS, percentiles, rss_mb, write_section
from search.config import PROJECT_ROOT

# A leak of a few KiB a request shows within a run; allocator noise and the bounded caches
# (query vectors, quote index) stay well below this once warmed up.
DEFAULT_MAX_GROWTH_MB = 32.0
RSS_INTERVAL_S = 0.5
REQUEST_TIMEOUT_S = 120  # a question can wait behind many others on two cores
SERVER_THREADS = 8  # `plansearch serve`'s default
LOOPBACK_NAMES = {"localhost"}
QUEUE_WARNING = re.compile(r"Task queue depth is (\d+)")
# Drafts to check, written for this test: a verbatim quote, a changed number, and two
# quotes of which the second is not in the corpus.
VERIFY_DRAFTS = [
    "北碚区提出，要“让科技自立自强成为全社会的普遍共识和共同行动”。",
    "涪陵区的目标是“全社会研发投入年均增长15%以上，强度达到2.7%”。",
    "南川区要求“充分发挥企业在技术创新决策、研发投入、科研组织和成果转化应用方面的主体作用”，"
    "并“全面建成长江上游量子计算产业高地”。",
]


class Request(NamedTuple):
    method: str
    path: str
    body: bytes | None = None
    expect: int = 200  # the status that counts as success


# Bad requests, each with the answer it must get.
PROBES = [
    Request("GET", "/api/search?q=", expect=400),
    Request("GET", "/api/search?" + urllib.parse.urlencode({"q": "科技", "mode": "fast"}), expect=400),
    Request("GET", "/api/documents/no-such-document", expect=404),
]


def _get(path: str, **params: str) -> Request:
    return Request("GET", f"{path}?{urllib.parse.urlencode(params)}" if params else path)


def _verify(rng: random.Random) -> Request:
    body = json.dumps({"text": rng.choice(VERIFY_DRAFTS)}, ensure_ascii=False).encode("utf-8")
    return Request("POST", "/api/verify", body)


def mix(semantic: bool) -> dict[str, tuple[int, Callable[[random.Random], Request]]]:
    """The request kinds: name → (weight, a random request of that kind).

    Without embeddings the server refuses hybrid searches, so those become keyword
    searches of the same queries.
    """
    mode = "hybrid" if semantic else "keyword"
    return {
        "search keyword": (30, lambda r: _get("/api/search", q=r.choice(KEYWORD_QUERIES), mode="keyword")),
        f"search {mode}, all queries": (20, lambda r: _get("/api/search", q=r.choice(KEYWORD_QUERIES + QUESTIONS),
                                                         mode=mode)),
        "ask": (10, lambda r: _get("/api/ask", q=r.choice(QUESTIONS))),
        "documents": (10, lambda r: _get("/api/documents")),
        "search page": (10, lambda r: _get("/search", q=r.choice(KEYWORD_QUERIES), mode="keyword")),
        "verify": (10, _verify),
        "4xx probe": (5, lambda r: r.choice(PROBES)),
    }


@dataclass
class Results:
    """What the clients saw: per kind, latencies in ms and error messages."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)
            if error is not None:
                self.errors.setdefault(kind, []).append(error)

    @property
    def requests(self) -> int:
        return sum(map(len, self.latencies.values()))

    @property
    def error_count(self) -> int:
        return sum(map(len, self.errors.values()))


def check_loopback(base_url: str) -> tuple[str, int]:
    """(host, port) of an http:// URL on a loopback address; ValueError for any other."""
    parts = urllib.parse.urlsplit(base_url)
    host = parts.hostname or ""
    try:
        loopback = host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise ValueError(f"{base_url}: only http:// on a loopback address (127.0.0.1, ::1, localhost) is allowed")
    return host, parts.port or 80


def send(conn: http.client.HTTPConnection, request: Request) -> str | None:
    """Send one request and read the whole answer; None when it succeeded, else why not."""
    headers = {"Content-Type": "application/json"} if request.body is not None else {}
    try:
        conn.request(request.method, request.path, body=request.body, headers=headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, malformed
        conn.close()  # the next request reconnects
        return f"{request.method} {request.path}: {exc.__class__.__name__}: {exc}"
    if response.status != request.expect:
        return f"{request.method} {request.path}: status {response.status}, expected {request.expect}"
    return None


def run_clients(host: str, port: int, kinds: dict, clients: int, seconds: float, max_requests: int,
                seed: int = 0) -> tuple[Results, float]:
    """clients threads sending requests for `seconds` or max_requests in all; (results, elapsed s)."""
    results = Results()
    budget = itertools.count()  # next() is atomic under the GIL: a shared request counter
    names = list(kinds)
    weights = [kinds[name][0] for name in names]
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        try:
            while time.monotonic() < deadline and next(budget) < max_requests:
                kind = rng.choices(names, weights)[0]
                request = kinds[kind][1](rng)
                start = time.perf_counter()
                error = send(conn, request)
                results.add(kind, (time.perf_counter() - start) * 1000, error)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


class RssMonitor:
    """Samples a process's RSS every RSS_INTERVAL_S in a thread: (seconds since start, MiB)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while True:
            self.samples.append((time.monotonic() - start, rss_mb(self.pid)))
            if self._stop.wait(RSS_INTERVAL_S):
                break

    def __enter__(self) -> "RssMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.samples[-1][0] if self.samples else 0.0, rss_mb(self.pid)))

    def summary(self) -> dict:
        """RSS at the start, the middle and the end of the run, its peak, and the growth."""
        values = [mb for _, mb in self.samples]
        start, middle, end = values[0], values[len(values) // 2], values[-1]
        return {"start_mb": start, "middle_mb": middle, "end_mb": end, "peak_mb": max(values),
                "growth_mb": end - start, "second_half_growth_mb": end - middle}


def health(host: str, port: int) -> dict:
    """The server's /api/health: its passages, model and whether it answers hybrid searches."""
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("GET", "/api/health")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"/api/health answered {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def run_load(base_url: str, clients: int = 20, seconds: float = 30, max_requests: int = 20000,
             pid: int | None = None, warmup_s: float = 5.0, seed: int = 0) -> dict:
    """The whole test against a running server (pid: its process, for memory): the report as a dict."""
    host, port = check_loopback(base_url)
    server = health(host, port)
    kinds = mix(bool(server["semantic"]))
    load_average = os.getloadavg()
    # Warm-up: every kind once (the model, the quote index and the templates load on first
    # use), then a short concurrent phase (allocator arenas of the server threads grow).
    rng = random.Random(seed)
    warm_conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
    warm_errors = [e for _, make in kinds.values() if (e := send(warm_conn, make(rng))) is not None]
    warm_conn.close()
    warm, _ = run_clients(host, port, kinds, clients, warmup_s, max_requests, seed=seed + 1)
    warm_errors += [e for errors in warm.errors.values() for e in errors]

    with RssMonitor(pid) if pid is not None else nullcontext() as monitor:
        results, elapsed = run_clients(host, port, kinds, clients, seconds, max_requests, seed=seed + 2)
    every = [ms for values in results.latencies.values() for ms in values]
    points = (50, 95, 99)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_average": load_average, "base_url": base_url,
        "server": {key: server.get(key) for key in ("documents", "passages", "model")},
        "mix": {kind: weight for kind, (weight, _) in kinds.items()},
        "clients": clients, "seconds": seconds, "max_requests": max_requests,
        "elapsed_s": elapsed, "requests": results.requests, "throughput_rps": results.requests / elapsed,
        "latency_ms": percentiles(every, points),
        "kinds": {kind: {**percentiles(values, points), "errors": len(results.errors.get(kind, []))}
                  for kind, values in sorted(results.latencies.items())},
        "errors": results.error_count + len(warm_errors),
        "error_samples": ([e for errors in results.errors.values() for e in errors] + warm_errors)[:10],
        "warmup_requests": warm.requests + len(kinds),
        "memory": monitor.summary() if monitor is not None else None,
    }


class Server:
    """`plansearch serve` started by this script on a free loopback port.

    Its stderr (build progress, logs) is passed through, except waitress's "Task queue
    depth is N" warnings, one per request that waits for a worker thread: only their
    maximum is kept, in max_queue_depth.
    """

    def __init__(self, options: list[str], threads: int):
        self.threads = threads
        self.max_queue_depth = 0
        self.command = [sys.executable, "-m", "search.cli", "serve", "--host", "127.0.0.1", "--port", "0",
                        "--threads", str(threads), *options]
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._relay_stderr, daemon=True).start()
        self.base_url = self._address()

    def _address(self) -> str:
        """The URL the server prints on stdout once it listens."""
        for line in self.process.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                return found.group(0)
        self.process.wait()
        raise RuntimeError(f"`{' '.join(self.command)}` exited with status {self.process.returncode} before serving")

    def _relay_stderr(self) -> None:
        for line in self.process.stderr:
            queued = QUEUE_WARNING.search(line)
            if queued:
                self.max_queue_depth = max(self.max_queue_depth, int(queued.group(1)))
            else:
                sys.stderr.write(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def report(result: dict, max_growth_mb: float) -> str:
    """The result as Markdown (also printed)."""
    lat, server = result["latency_ms"], result["server"]
    load = ", ".join(f"{x:.1f}" for x in result["load_average"])
    mix_text = ", ".join(f"{kind} {weight}" for kind, weight in result["mix"].items())
    lines = [
        f"Measured {result['date']} (load average at start {load}): {result['clients']} clients × "
        f"{result['seconds']:g} s (at most {result['max_requests']:,} requests) against {result['base_url']} "
        f"({server['documents']} documents, {server['passages']} passages, model {server['model'] or 'none'}), after "
        f"{result['warmup_requests']} warm-up requests. Mix (weights): {mix_text}.",
        "",
        f"- **{result['requests']:,} requests in {result['elapsed_s']:.1f} s: {result['throughput_rps']:.1f} req/s**; "
        f"latency p50 {lat.get('p50', 0):.0f} ms, p95 {lat.get('p95', 0):.0f} ms, p99 {lat.get('p99', 0):.0f} ms",
        f"- **errors: {result['errors']}** (unexpected status or connection error, warm-up included)",
    ]
    if "threads" in server:
        lines.append(f"- server: `plansearch serve`, {server['threads']} worker threads; up to "
                     f"{server['max_queue_depth']} requests waited in waitress's queue for a thread")
    memory = result["memory"]
    if memory is None:
        lines.append("- server memory: not measured (pass --server-pid with --base-url)")
    else:
        lines.append(f"- server RSS: start {memory['start_mb']:.0f} MiB, middle {memory['middle_mb']:.0f} MiB, "
                     f"end {memory['end_mb']:.0f} MiB, peak {memory['peak_mb']:.0f} MiB; **growth "
                     f"{memory['growth_mb']:+.1f} MiB** (second half {memory['second_half_growth_mb']:+.1f} MiB; "
                     f"bound {max_growth_mb:g} MiB)")
    lines += ["", "| kind | requests | errors | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    for kind, stats in result["kinds"].items():
        lines.append(f"| {kind} | {stats['n']:,} | {stats['errors']} | {stats['p50']:.0f} | {stats['p95']:.0f} | "
                     f"{stats['p99']:.0f} |")
    if result["error_samples"]:
        lines += ["", "First errors:", *[f"- {e}" for e in result["error_samples"]]]
    return "\n".join(lines)


def failed(result: dict, max_growth_mb: float) -> bool:
    """Whether the run fails: any error, or memory growth above the bound."""
    memory = result["memory"]
    return result["errors"] > 0 or (memory is not None and memory["growth_mb"] > max_growth_mb)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--seconds", type=float, default=30, help="length of the measured run (default 30)")
    p.add_argument("--max-requests", type=int, default=20000, help="stop after this many requests (default 20000)")
    p.add_argument("--warmup", type=float, default=5, help="seconds of concurrent warm-up first (default 5)")
    p.add_argument("--max-growth-mb", type=float, default=DEFAULT_MAX_GROWTH_MB,
                   help=f"fail when the server's RSS grows more than this (default {DEFAULT_MAX_GROWTH_MB:g} MiB)")
    p.add_argument("--base-url", help="test this running server (loopback only) instead of starting one")
    p.add_argument("--server-pid", type=int, help="its process id, to sample its memory")
    p.add_argument("--threads", type=int, default=SERVER_THREADS, help="worker threads of the server started")
    for option in ("--index", "--corpus", "--model"):
        p.add_argument(option, help=f"passed to `plansearch serve` {option}")
    p.add_argument("--out", type=Path, help="also write the report into this Markdown file (e.g. BENCHMARKS.md)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = None
    if args.base_url is None:
        options = [x for option in ("index", "corpus", "model") if getattr(args, option)
                   for x in (f"--{option}", str(getattr(args, option)))]
        server = Server(options, args.threads)
        base_url, pid = server.base_url, server.process.pid
    else:
        check_loopback(args.base_url)
        base_url, pid = args.base_url.rstrip("/"), args.server_pid
    try:
        result = run_load(base_url, args.clients, args.seconds, args.max_requests, pid, args.warmup)
    finally:
        if server is not None:
            server.stop()
    if server is not None:
        result["server"].update(threads=server.threads, max_queue_depth=server.max_queue_depth)
    text = report(result, args.max_growth_mb)
    print(text)
    if args.out:
        write_section(args.out, f"load-{args.clients}x{args.seconds:g}s", text,
                      f"Load test: {args.clients} clients × {args.seconds:g} s (`make load`)")
    return 1 if failed(result, args.max_growth_mb) else 0


if __name__ == "__main__":
    sys.exit(main())
