"""Quotations exported as a Word file: each quote as a paragraph followed by its citation."""
from __future__ import annotations

import io
import re

from docx import Document
from docx.shared import Pt, RGBColor

from search.errors import QueryError

from .params import checked_text

MAX_QUOTES = 500
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Characters XML 1.0 cannot hold (python-docx refuses them); they are invisible in a quote anyway.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def quotes_from(data: dict) -> list[dict[str, str]]:
    """The checked {"text", "citation"} pairs of an export request body {"quotes": [...]}."""
    quotes = data.get("quotes")
    if not isinstance(quotes, list) or not quotes:
        raise QueryError('"quotes" must be a non-empty list of {"text": "…", "citation": "…"} objects')
    if len(quotes) > MAX_QUOTES:
        raise QueryError(f"{len(quotes)} quotes; at most {MAX_QUOTES} can be exported at once")
    checked = []
    for n, quote in enumerate(quotes, 1):
        if not isinstance(quote, dict):
            raise QueryError(f"quote {n} must be an object with \"text\" and \"citation\"")
        checked.append({"text": checked_text(quote.get("text"), f"text of quote {n}").strip(),
                        "citation": checked_text(quote.get("citation"), f"citation of quote {n}").strip()})
    return checked


def quotes_docx(quotes: list[dict[str, str]], title: str = "引文") -> bytes:
    """A .docx with a title, then for each quote “text” and, below it, its citation."""
    document = Document()
    document.add_heading(title, level=1)
    for quote in quotes:
        document.add_paragraph("“" + _NOT_XML.sub("", quote["text"]) + "”")
        source = document.add_paragraph().add_run(_NOT_XML.sub("", quote["citation"]))
        source.font.size = Pt(10)
        source.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
