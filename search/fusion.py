"""Combining rankings from the keyword and semantic indexes."""
from __future__ import annotations

from collections import defaultdict

RRF_K = 60


def reciprocal_rank_fusion(rankings: list[list[str]], weights: list[float] | None = None,
                           k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists by weighted reciprocal rank: sum of w / (k + rank), best first.

    RRF needs no score calibration between BM25 and cosine similarity, which live on
    unrelated scales; ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking):
            scores[item] += weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def interleave(rankings: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Round-robin merge of several rankings (one per district), without repeats.

    A comparison across districts needs every district near the top, not the district
    whose wording happens to match best taking all ten places.
    """
    merged, seen = [], set()
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank][0] not in seen:
                seen.add(ranking[rank][0])
                merged.append(ranking[rank])
    return merged


def defer_repeats(ranked: list[tuple[str, float]], group_of, gap: int = 3) -> list[tuple[str, float]]:
    """Move each further member of a group ``gap`` places down per member already ranked above it.

    ``group_of(id)`` names an item's group, or None for items that are never deferred.
    Rows of one indicator table share their headings, columns and years, so a question
    about one indicator otherwise gets several rows of its table before the prose that
    states and explains the target.
    """
    seen: dict = {}
    keyed = []
    for position, (item, score) in enumerate(ranked):
        group = group_of(item)
        earlier = seen.get(group, 0) if group is not None else 0
        if group is not None:
            seen[group] = earlier + 1
        keyed.append((position + gap * earlier, position, item, score))
    keyed.sort()
    return [(item, score) for _, _, item, score in keyed]


def space_out(ranked: list[tuple[str, float]], group_of, gap: int) -> list[tuple[str, float]]:
    """Keep at least ``gap`` places between two members of a group, wherever they stood.

    Stricter than defer_repeats: when every ranking puts a whole table first, a member
    waits until ``gap`` others have been placed; members are placed back to back only when
    nothing else is left.
    """
    placed: list[tuple[str, float]] = []
    last: dict = {}
    waiting: list[tuple[str, float]] = []
    pending = list(ranked)
    while pending or waiting:
        ready = next((i for i, (item, _) in enumerate(waiting)
                      if len(placed) - last.get(group_of(item), -gap - 1) > gap), None)
        if ready is not None:
            entry = waiting.pop(ready)
        elif pending:
            entry = pending.pop(0)
            group = group_of(entry[0])
            if group is not None and len(placed) - last.get(group, -gap - 1) <= gap:
                waiting.append(entry)
                continue
        else:
            entry = waiting.pop(0)
        group = group_of(entry[0])
        if group is not None:
            last[group] = len(placed)
        placed.append(entry)
    return placed


def demote(ranked: list[tuple[str, float]], demoted, places: int) -> list[tuple[str, float]]:
    """Move every item for which ``demoted(id)`` holds ``places`` places down, keeping order
    otherwise: a soft filter, for items that may still be what is wanted."""
    keyed = sorted(enumerate(ranked), key=lambda e: (e[0] + places * bool(demoted(e[1][0])), e[0]))
    return [item for _, item in keyed]
