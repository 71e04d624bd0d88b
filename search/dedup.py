"""Linking near-duplicate passages across documents (the 綦江 plan is printed twice).

Exact duplicates are found by a normalised key (NFKC, no blanks or punctuation); OCR
variants by the Jaccard similarity of character 4-gram shingles, compared only between
passages that share a rare shingle so the work stays near-linear.
"""
from __future__ import annotations

from collections import defaultdict

from .model import Passage
from .parser import squash

SHINGLE = 4
MIN_JACCARD = 0.8
MIN_CHARS = 12  # very short passages ("略") are not worth linking
MAX_POSTING = 8  # a shingle shared by more passages than this is too common to seed candidates


def shingles(key: str) -> set[str]:
    return {key[i:i + SHINGLE] for i in range(max(1, len(key) - SHINGLE + 1))}


def link_duplicates(passages: list[Passage]) -> int:
    """Fill ``Passage.duplicates`` (both ways, other documents only); return the number of links."""
    keys = [squash(p.text) for p in passages]
    sets = [shingles(k) if len(k) >= MIN_CHARS else set() for k in keys]
    postings: dict[str, list[int]] = defaultdict(list)
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        by_key[keys[i]].append(i)
        for sh in s:
            postings[sh].append(i)
    links = 0
    for i, s in enumerate(sets):
        if not s:
            continue
        candidates = {j for sh in s if len(postings[sh]) <= MAX_POSTING for j in postings[sh] if j > i}
        candidates.update(j for j in by_key[keys[i]] if j > i)
        for j in sorted(candidates):
            if passages[i].doc_id == passages[j].doc_id:
                continue
            if keys[i] == keys[j] or len(s & sets[j]) / len(s | sets[j]) >= MIN_JACCARD:
                passages[i].duplicates.append(passages[j].id)
                passages[j].duplicates.append(passages[i].id)
                links += 1
    return links
