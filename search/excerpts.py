"""What is embedded for each passage: the passage, and excerpts of a long one.

A small model reads a long passage as being about all of its sentences at once, so a
question in other words about one of them (网上约票 for 景区预约, in a paragraph about
tourism) finds the passage far down. Long passages are therefore also embedded as
excerpts of a few consecutive sentences, and a passage scores as its best match, the
whole or one excerpt (what the literature calls MaxP). On the project's cases, main
model only: hybrid hit@1 / hit@5 / MRR@10 0.769 / 0.935 / 0.832 -> 0.789 / 0.949 / 0.849,
paraphrase hit@5 0.75 -> 0.80; the companion model with excerpts too ranked the dev
set's questions lower (hit@1 0.79 -> 0.74), so it embeds whole passages only.

Excerpt vectors are stored with the passage vectors, after all of them, under the id
``<passage id>#<n>``; a store without them (an older build) searches whole passages.
"""
from __future__ import annotations

import re

from .corpus import Corpus
from .model import Document, Passage

SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]*[”’」）)]*")
EXCERPT_FROM_CHARS = 150  # shorter passages are about one thing (the median is ~125 characters)
EXCERPT_CHARS = 100  # sentences join an excerpt while it stays this short: about two
EXCERPT_MARK = "#"  # between a passage's id and an excerpt's number


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the sentences (and clauses ending in ；) of ``text``."""
    return [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]


def excerpt_spans(passage: Passage) -> list[tuple[int, int]]:
    """The excerpts of a passage as (start, end) spans, or [] when it is embedded whole
    only: a table row, a short passage or a single sentence."""
    if passage.kind == "table_row" or len(passage.text) < EXCERPT_FROM_CHARS:
        return []
    sentences = split_sentences(passage.text)
    if len(sentences) < 2:
        return []
    spans = [list(sentences[0])]
    for start, end in sentences[1:]:
        if end - spans[-1][0] <= EXCERPT_CHARS:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(start, end) for start, end in spans]


def embedding_text(document: Document, passage: Passage, span: tuple[int, int] | None = None) -> str:
    """What is embedded for a passage (or the excerpt ``span`` of it): its document title
    and headings give it context (a table row alone does not say which district or table
    it is from)."""
    text = passage.text if span is None else passage.text[span[0]:span[1]]
    return " ".join((document.title, *passage.heading_path, text))


def embedding_texts(corpus: Corpus, excerpts: bool = True) -> list[tuple[str, str]]:
    """(vector id, text) for every passage of ``corpus``, in corpus order, followed by
    the excerpts of long passages when ``excerpts`` is true."""
    texts = [(p.id, embedding_text(corpus.documents[p.doc_id], p)) for p in corpus.passages]
    if excerpts:
        texts += [(f"{p.id}{EXCERPT_MARK}{n}", embedding_text(corpus.documents[p.doc_id], p, span))
                  for p in corpus.passages for n, span in enumerate(excerpt_spans(p), 1)]
    return texts


def passage_of(vector_id: str) -> str:
    """The id of the passage a vector id (a passage's or an excerpt's) belongs to."""
    return vector_id.partition(EXCERPT_MARK)[0]
