"""The domain objects shared by every module: documents, passages and search hits."""
from __future__ import annotations

from dataclasses import dataclass, field

HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Document:
    """One source document (a plan, a notice, a rule set, a news item...)."""

    id: str
    title: str
    district: str
    source_file: str
    issuer: str = ""
    date: str = ""
    doc_number: str = ""
    kind: str = "plan"
    published_in: str = ""  # e.g. the gazette issue a document was printed in

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "district": self.district,
            "source_file": self.source_file,
            "issuer": self.issuer,
            "date": self.date,
            "doc_number": self.doc_number,
            "kind": self.kind,
            "published_in": self.published_in,
        }


@dataclass
class Passage:
    """One paragraph (or table row) of a document: the unit that is indexed and cited.

    ``start``/``end`` are character offsets into the decoded source file, so that a
    quotation can be checked against the original text verbatim.
    """

    id: str
    doc_id: str
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int
    kind: str = "paragraph"  # "paragraph", "table_row" or "sign_off" (closing lines: issuer, date)
    cells: tuple[tuple[str, str], ...] = ()  # table rows: (column name, value) pairs
    duplicates: list[str] = field(default_factory=list)  # ids of near-identical passages elsewhere

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "heading_path": list(self.heading_path),
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "cells": [list(c) for c in self.cells],
            "duplicates": list(self.duplicates),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        return cls(
            id=d["id"],
            doc_id=d["doc_id"],
            heading_path=tuple(d["heading_path"]),
            text=d["text"],
            start=d["start"],
            end=d["end"],
            kind=d.get("kind", "paragraph"),
            cells=tuple(tuple(c) for c in d.get("cells", [])),
            duplicates=list(d.get("duplicates", [])),
        )


@dataclass(frozen=True)
class Heading:
    """A heading in a document's outline (for the reader's table of contents)."""

    text: str
    level: int
    path: tuple[str, ...]
    first_passage_id: str | None


@dataclass
class Hit:
    """A passage returned for a query, with everything a client needs to show and cite it."""

    passage: Passage
    document: Document
    score: float
    highlight: str  # HTML: matched terms in <mark>, everything else escaped
    citation: str
    duplicates: list[dict] = field(default_factory=list)  # [{"id", "doc_id", "title", "citation"}]
    answer: str | None = None  # ask mode: the sentence or value that answers the question

    def to_dict(self) -> dict:
        d = {
            "id": self.passage.id,
            "text": self.passage.text,
            "highlight": self.highlight,
            "score": round(float(self.score), 6),
            "document": {
                "id": self.document.id,
                "title": self.document.title,
                "district": self.document.district,
                "date": self.document.date,
            },
            "heading_path": list(self.passage.heading_path),
            "citation": self.citation,
            "url": f"/doc/{self.document.id}#{self.passage.id}",
            "kind": self.passage.kind,
            "span": [self.passage.start, self.passage.end],
            "duplicates": self.duplicates,
        }
        if self.answer is not None:
            d["answer"] = self.answer
        return d
