"""Indicator rows and the prose that states the same target.

A plan gives each target twice: as a row of its indicator table (高新技术企业；2025年：300)
and in the prose of its goals (…高新技术企业达到300家). The row answers "how many"; the
prose is what a policy writer quotes. A comparison across districts shows each
district's row followed by its statement.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable

from .model import Passage
from .tokenizer import normalize, normalize_simplified

YEAR_IN_COLUMN = re.compile(r"(?:19|20)\d{2}")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
NAME_COLUMNS = ("指标名称", "指标")
UNIT = re.compile(r"[（(][^（）()]*[）)]")
CONTEXT_CHARS = 25  # the indicator is named just before its value: …比例达到15%
MIN_SHARED_PAIRS = 2
MIN_TERM_CHARS = 4  # a shorter term (研发, 企业) is part of too many indicators' names
CONTAINED, TERM_IN_NAME = 1.0, 0.9


def row_target(row: Passage) -> tuple[str, str] | None:
    """(indicator name, target value) of an indicator row: the number in its latest-year
    column (2025年目标值：>70 gives 70), or None for a row without both."""
    cells = dict(row.cells)
    name = next((cells[c] for c in NAME_COLUMNS if c in cells), None)
    years = [(int(m.group()), column) for column in cells if (m := YEAR_IN_COLUMN.search(column))]
    if not name or not years:
        return None
    value = NUMBER.search(cells[max(years)[1]])
    return (UNIT.sub("", name), value.group()) if value else None


def indicator_match(row: Passage, wordings: Iterable[str]) -> float:
    """How surely an indicator row is the indicator ``wordings`` ask for: the question and
    the documents' terms for the concepts it mentions (search.thesaurus), since plans name
    one indicator differently (研发投入强度 is 綦江's 全社会研发经费占地区生产总值的比重).

    1.0 when a wording contains the row's name, 0.9 when the name contains a wording,
    otherwise the share of the name's character pairs that one wording has (below 0.9:
    全社会研发经费投入增长 is close to 全社会研发经费投入强度 but another indicator).
    0.0 for a row that is not an indicator with a target."""
    target = row_target(row)
    if target is None:
        return 0.0
    name = _clean(target[0])
    pairs = _pairs(name)
    best = 0.0
    for wording in map(_clean, wordings):
        if name in wording:
            return CONTAINED
        if len(wording) >= MIN_TERM_CHARS and wording in name:
            best = TERM_IN_NAME
        elif pairs:
            best = max(best, min(len(pairs & _pairs(wording)) / len(pairs), TERM_IN_NAME - 0.01))
    return best


@functools.lru_cache(maxsize=16384)
def _normalized(text: str) -> str:
    # A row's statement is looked for in every passage of its document: a comparison's
    # first rows took a second (forty over a 100× corpus) before this cache and the
    # simplified-only normalisation.
    return normalize_simplified(text)


def _clean(text: str) -> str:
    return UNIT.sub("", normalize(text))


def _pairs(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fff]+", text)
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)}


def statement_of(row: Passage, prose: Iterable[Passage]) -> Passage | None:
    """The passage of ``prose`` (the row's document's other passages) that states the
    row's target: its value right after words of the indicator's name. Names differ
    between table and text (研究与试验发展经费投入强度 / 研发投入…强度达到2.7%), so
    shared character pairs count, not the whole name."""
    target = row_target(row)
    if target is None:
        return None
    name_pairs = _pairs(normalize(target[0]))
    value = re.compile(rf"(?<![\d.]){re.escape(target[1])}(?![\d])")
    best, best_shared = None, 0
    for passage in prose:
        text = _normalized(passage.text)
        for m in value.finditer(text):
            shared = len(name_pairs & _pairs(text[max(0, m.start() - CONTEXT_CHARS):m.start()]))
            if shared > best_shared and (shared >= MIN_SHARED_PAIRS or shared >= 0.3 * len(name_pairs)):
                best, best_shared = passage, shared
    return best
