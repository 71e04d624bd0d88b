"""Citations in the form policy writers use.

``《重庆市綦江区科技创新发展“十四五”规划》第三章 加强科技创新引领，构建产业发展新格局 › 第一节 …``
and, for a copied quotation, ``“……”（《…》三、… ›（一）…）``.
"""
from __future__ import annotations

import re

from .model import HEADING_SEPARATOR, Document

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def citation(document: Document, heading_path: tuple[str, ...] | list[str]) -> str:
    """《title》 followed by the heading path."""
    path = HEADING_SEPARATOR.join(heading_path)
    return f"《{document.title}》" + (path if path else "")


def chinese_date(date: str) -> str:
    """'2022-08-27' → '2022年8月27日'; other forms are returned unchanged."""
    m = _ISO_DATE.match(date)
    if not m:
        return date
    year, month, day = m.groups()
    return f"{year}年{int(month)}月{int(day)}日"


def full_citation(document: Document, heading_path: tuple[str, ...] | list[str]) -> str:
    """The citation with what is known of issuer, document number, date and publication."""
    facts = [f for f in (document.issuer, document.doc_number, chinese_date(document.date)) if f]
    if document.published_in:
        facts.append(f"载《{document.published_in}》")
    head = f"《{document.title}》" + (f"（{'，'.join(facts)}）" if facts else "")
    return head + HEADING_SEPARATOR.join(heading_path)


def quotation(text: str, document: Document, heading_path: tuple[str, ...] | list[str]) -> str:
    """A quotation ready to paste: “text”（citation）."""
    return f"“{text.strip()}”（{citation(document, heading_path)}）"
