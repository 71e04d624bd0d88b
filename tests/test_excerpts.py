"""Excerpts: long passages are also embedded a few sentences at a time, and score as their best part."""
from __future__ import annotations

import numpy as np
import pytest

from search.config import PROJECT_ROOT
from search.corpus import load_corpus
from search.embeddings import SemanticIndex, VectorSet
from search.errors import IndexNotBuilt
from search.excerpts import (
    EXCERPT_CHARS,
    EXCERPT_FROM_CHARS,
    EXCERPT_MARK,
    embedding_text,
    embedding_texts,
    excerpt_spans,
    passage_of,
    split_sentences,
)


CORPUS_DIR = PROJECT_ROOT / "corpus"

# The last sentence of a long paragraph of 北碚's plan on smart agriculture, asked about in
# everyday words: the whole paragraph is mostly about sensors and data collection.
TRACING = "加强二维码、射频识别等技术应用，实现对农产品从生产源头到零售终端的全链条追踪。"
TRACING_QUESTION = "手机扫一扫就知道这棵菜从哪块地长出来、怎么运到店里的"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS_DIR)


def test_long_passages_are_cut_into_runs_of_whole_sentences(corpus):
    cut = 0
    for passage in corpus.passages:
        spans = excerpt_spans(passage)
        if passage.kind == "table_row" or len(passage.text) < EXCERPT_FROM_CHARS:
            assert spans == []
            continue
        sentences = split_sentences(passage.text)
        if len(sentences) < 2:
            assert spans == []
            continue
        cut += 1
        # In order, together exactly the passage's sentences, each excerpt whole sentences.
        assert spans[0][0] == sentences[0][0] and spans[-1][1] == sentences[-1][1]
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        starts, ends = {s for s, _ in sentences}, {e for _, e in sentences}
        assert all(start in starts and end in ends for start, end in spans)
        for start, end in spans:
            assert end - start <= EXCERPT_CHARS or (start, end) in sentences  # only a long sentence is longer
    assert cut > 300  # a third of the plans' paragraphs are long


def test_embedding_texts_list_passages_then_their_excerpts(corpus):
    texts = embedding_texts(corpus)
    passages = corpus.passages
    assert [vid for vid, _ in texts[:len(passages)]] == [p.id for p in passages]
    excerpts = texts[len(passages):]
    assert excerpts and all(EXCERPT_MARK in vid for vid, _ in excerpts)
    owners = [passage_of(vid) for vid, _ in excerpts]
    order = {p.id: i for i, p in enumerate(passages)}
    assert owners == sorted(owners, key=order.get)  # grouped by passage, in corpus order
    passage = next(p for p in passages if TRACING in p.text)
    document = corpus.documents[passage.doc_id]
    mine = [text for vid, text in excerpts if passage_of(vid) == passage.id]
    assert embedding_text(document, passage, (0, 0)) == " ".join((document.title, *passage.heading_path, ""))
    assert any(text.endswith(TRACING) and text.startswith(document.title) for text in mine)
    assert [vid for vid, _ in embedding_texts(corpus, excerpts=False)] == [p.id for p in passages]


class FixedEmbedder:
    """Stands in for a model: every question is the vector given."""

    name = "fixed"

    def __init__(self, vector):
        self.vector = np.asarray(vector, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.vector


def unit(*values: float) -> list[float]:
    vector = np.asarray(values, dtype=np.float32)
    return list(vector / np.linalg.norm(vector))


def test_a_passage_scores_as_its_best_excerpt():
    ids = ["a", "b", "c", f"b{EXCERPT_MARK}1", f"b{EXCERPT_MARK}2", f"c{EXCERPT_MARK}1"]
    vectors = np.array([unit(1, 0, 0), unit(0, 1, 0), unit(1, 1, 0),
                        unit(0, 1, 1), unit(0, 0, 1), unit(0, 1, 0)], dtype=np.float32)
    store = VectorSet(ids, ["h"] * len(ids), vectors, "fixed")
    index = SemanticIndex(store, FixedEmbedder(unit(0, 0, 1)))
    assert len(index) == 3 and index.passage_ids == ["a", "b", "c"]
    hits = index.search("问", limit=10)
    assert [pid for pid, _ in hits] == ["b", "a", "c"]  # b's second excerpt is the question itself
    assert hits[0][1] == pytest.approx(1.0) and hits[1][1] == pytest.approx(0.0)
    only_c = np.array([False, False, True])
    assert index.search("问", allowed=only_c) == [("c", pytest.approx(0.0))]
    # Without excerpts (an older store), passages score as themselves.
    plain = SemanticIndex(VectorSet(ids[:3], ["h"] * 3, vectors[:3], "fixed"), FixedEmbedder(unit(0, 1, 0)))
    assert [pid for pid, _ in plain.search("问")] == ["b", "c", "a"]


@pytest.mark.parametrize("ids, problem", [
    (["a", "b", f"b{EXCERPT_MARK}1", f"a{EXCERPT_MARK}1"], "out of order"),
    (["a", "b", f"z{EXCERPT_MARK}1", f"b{EXCERPT_MARK}1"], "belongs to no passage"),
])
def test_a_damaged_excerpt_store_asks_for_a_rebuild(ids, problem):
    store = VectorSet(ids, ["h"] * 4, np.eye(4, dtype=np.float32), "fixed")
    with pytest.raises(IndexNotBuilt, match=problem):
        SemanticIndex(store, FixedEmbedder(unit(1, 0, 0, 0)))


def test_a_question_about_the_end_of_a_long_paragraph_finds_it(engine):
    index = engine.semantic()
    row = next(i for i, p in enumerate(engine.corpus.passages) if TRACING in p.text)
    passage_id = engine.corpus.passages[row].id
    vector = index.embedder.encode_query(TRACING_QUESTION)
    excerpts = [i for i, vid in enumerate(index.vectors.ids) if passage_of(vid) == passage_id and vid != passage_id]
    whole = float(index.vectors.vectors[row] @ vector)
    best = max(float(index.vectors.vectors[i] @ vector) for i in excerpts)
    assert len(excerpts) >= 2 and best > whole  # the last excerpt is closer than the paragraph
    assert index.scores(TRACING_QUESTION)[row] == pytest.approx(best)
    assert engine.search(TRACING_QUESTION, mode="semantic").hits[0].passage.id == passage_id
