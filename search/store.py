"""The index directory: builds go into a fresh folder and are swapped in atomically.

Layout of ``index_dir``::

    current -> build-20261124T021500-1234   (a symlink, replaced with os.replace)
    build-…/corpus.json    documents, outlines, passages, source texts
    build-…/keyword/       the whoosh index
    build-…/vectors/       embeddings with their model name and passage hashes
    build-…/manifest.json  written last: a build without it is incomplete

A build killed part way leaves ``current`` pointing at the previous build, which keeps
serving; the next build removes the leftover folder.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .corpus import Corpus
from .errors import IndexNotBuilt
from .model import Document, Heading, Passage

CURRENT = "current"
MANIFEST = "manifest.json"
CORPUS = "corpus.json"
FORMAT_VERSION = 1
REBUILD_HINT = "run `plansearch build` to (re)build it"


def new_build_dir(index_dir: Path) -> Path:
    """A fresh, empty folder for a build inside index_dir."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    path.mkdir()
    return path


def current_build(index_dir: Path) -> Path | None:
    """The build that is being served, or None when there is none (or it is incomplete)."""
    link = index_dir / CURRENT
    if not link.exists():
        return None
    target = link.resolve()
    return target if (target / MANIFEST).exists() else None


def publish(index_dir: Path, build_dir: Path, manifest: dict) -> None:
    """Mark build_dir complete and make it current in one atomic step; prune old builds.

    The previous build is kept (a server that opened it may still read from it); older
    ones and leftovers of interrupted builds are removed.
    """
    (build_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    previous = current_build(index_dir)
    tmp_link = index_dir / f"{CURRENT}.tmp-{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(build_dir.name)
    os.replace(tmp_link, index_dir / CURRENT)
    keep = {build_dir.name, previous.name if previous else None}
    for path in index_dir.glob("build-*"):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def discard(build_dir: Path) -> None:
    """Remove an unfinished build folder."""
    shutil.rmtree(build_dir, ignore_errors=True)


def save_corpus(build_dir: Path, corpus: Corpus) -> None:
    data = {
        "format": FORMAT_VERSION,
        "documents": [d.to_dict() for d in corpus.documents.values()],
        "outlines": {doc_id: [[h.text, h.level, list(h.path), h.first_passage_id] for h in outline]
                     for doc_id, outline in corpus.outlines.items()},
        "passages": [p.to_dict() for p in corpus.passages],
        "sources": corpus.sources,
        "summary": corpus.summary,
        "errors": corpus.errors,
    }
    (build_dir / CORPUS).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def load_corpus_snapshot(build_dir: Path) -> Corpus:
    """The corpus as it was indexed (never re-parsed at serve time)."""
    try:
        data = json.loads((build_dir / CORPUS).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise IndexNotBuilt(f"the index at {build_dir} has an older format; {REBUILD_HINT}")
        return Corpus(
            documents={d["id"]: Document(**d) for d in data["documents"]},
            passages=[Passage.from_dict(p) for p in data["passages"]],
            outlines={doc_id: [Heading(t, lvl, tuple(path), pid) for t, lvl, path, pid in outline]
                      for doc_id, outline in data["outlines"].items()},
            sources=data["sources"],
            summary=data.get("summary", []),
            errors=data.get("errors", []),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexNotBuilt(f"the index at {build_dir} is unreadable ({exc.__class__.__name__}); {REBUILD_HINT}") from None


def read_manifest(build_dir: Path) -> dict:
    try:
        return json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexNotBuilt(f"the index at {build_dir} is unreadable ({exc.__class__.__name__}); {REBUILD_HINT}") from None
