"""Checking the quotations of a draft against the corpus: verbatim, differs, or not found.

What is checked in a draft:

* every part in “…”, 「…」, 『…』 or "…" of at least ``MIN_QUOTE_CHARS`` characters
  (shorter quoted parts such as “专精特新” are terms, not citations, and stay part of the
  surrounding text). Nested quotation marks belong to the outermost quote.
* when the draft has such quotes, also every unquoted sentence of at least
  ``MIN_COPIED_CHARS`` characters that is copied from the corpus (verbatim, or nearly:
  similarity ≥ ``COPIED_MIN``); the writer's own sentences are not reported.
* when it has none, every sentence of at least ``MIN_QUOTE_CHARS`` characters, each
  always reported; a draft with no such sentence is checked as a whole, so any input
  gets at least one result.

Matching compares a normalised form: NFKC per character, whitespace and invisible
characters (zero-width spaces, BOMs) removed, punctuation kept. NFKC makes full-width and
half-width forms equal (“，” = “,”, “２０２２” = “2022”), so a quote that differs from the
source only in them is still "verbatim"; any other difference, punctuation included,
makes it "differs", with a character diff and ``punctuation_only`` set when only
punctuation differs. Near matches come from passages sharing character n-grams of the
quote without punctuation, aligned with difflib on the best-matching window of the
passage.

A quote that no single passage matches well (two quotes joined, or a quote crossing a
paragraph boundary) is split at sentence ends (also at ；and ellipses, which mark
omissions): consecutive sentences are grouped as long as one passage still matches them,
and each group is reported as its own QuoteCheck with its own source, in draft order.
The split is kept when the whole quote is not found but some parts are; a quote that is
found ("differs") is split only when its parts match better and are verbatim (“A……B”
quoting one paragraph with an omission) or come from several passages, so a quote of one
passage with a changed word stays whole with its diff.

Offsets: ``position`` is the quote's (start, end) in the draft as given (the engine
strips it first); ``span`` is the matched part's (start, end) in the decoded source file,
exact even where a passage joins lines across a page break.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

import numpy as np

from .answers import mark_span
from .citations import full_citation, quotation

if TYPE_CHECKING:
    from .engine import Engine
    from .model import Hit, Passage

MAX_DRAFT_CHARS = 20000
MIN_QUOTE_CHARS = 8  # quoted parts shorter than this are terms (“十四五”, “两区一园一基地”)
MIN_COPIED_CHARS = 15  # shorter unquoted sentences are never reported as copied
# Similarity (difflib ratio) from which a quote "differs" rather than is "not_found".
# Calibrated on the corpus (2,176 sentences and clauses): with 1, 2 or 3 characters
# changed, 3 deleted or 3 inserted, 99.5%, 98%, 89%, 99% and 99% are still found in
# their passage; checked with their own document left out, 2% are "found" elsewhere,
# nearly all shared boilerplate (抄送 lines, “各街道办事处…有关单位：”). Invented
# sentences score 0.26-0.65. Short quotes match by chance more easily (“2022年8月31日
# 印发” vs “2022年10月12日印发”: 0.8), so below SHORT_CHARS they need SHORT_DIFFERS_MIN.
DIFFERS_MIN = 0.75
SHORT_CHARS = 20
SHORT_DIFFERS_MIN = 0.8
COPIED_MIN = 0.9  # an unquoted sentence is reported only when it is (nearly) copied: 0.4% chance
KEEP_TOGETHER = 0.9  # consecutive sentences of a split quote stay one part while matched this well
NGRAM = 3  # at most 3: n-grams are packed into 63 bits
GAP_COST = 0.1  # a matched block is worth reaching across up to 10× its length of source text
CANDIDATES = 8  # passages aligned per near-match search, at most (plus their duplicates)
CANDIDATE_SHARE = 0.5  # ... and only those sharing at least this share of the best one's n-grams
MAX_WHOLE_FACTOR = 2  # a quote longer than this × the longest passage is only checked in parts

QUOTE_MARKS = {"“": "”", "「": "」", "『": "』", '"': '"'}
CLOSING = {close: open_ for open_, close in QUOTE_MARKS.items()}
INVISIBLE = frozenset({"Cc", "Cf"})  # control and format characters: not text
CELL_BREAK = "\x00"  # between table cells: never in a normalised quote, so no match crosses cells
SENTENCE_BREAK = re.compile(r"[。！？!?]+[”’」』）)]*|\n")
PIECE_BREAK = re.compile(r"(?:[。！？!?；;]+|…+|⋯+|\.{3,})[”’」』）)]*|\n")
EDGE_LEAD = re.compile(r"^(?:\s|…|⋯|\.{3,})+")  # omission marks and blanks around a quote
EDGE_TRAIL = re.compile(r"(?:\s|…|⋯|\.{3,})+$")
LINE_BREAKS = re.compile(r"[ \t\u3000]*\n\s*")


@dataclass
class QuoteCheck:
    """The verdict on one quotation of a draft.

    ``span`` is the (start, end) of the matched text in the source file; ``position`` the
    (start, end) of the quote in the draft. When the quote differs, ``diff`` lists
    {"op", "quote", "source"} pieces that rebuild the quote and the source text in order
    (difflib opcodes from quote to source): "equal", "replace", "delete" (text only in
    the quote) or "insert" (source text the quote leaves out).
    """

    text: str
    status: str  # "verbatim" | "differs" | "not_found"
    hit: Hit | None = None
    span: tuple[int, int] | None = None
    diff: list[dict] | None = None
    similarity: float = 0.0
    full_citation: str = ""
    position: tuple[int, int] = (0, 0)
    quotation: str | None = None  # the source's wording, ready to paste with its citation
    punctuation_only: bool = False  # "differs" only in punctuation

    def to_dict(self) -> dict:
        """The JSON form; text/status/source/span/diff are a fixed contract."""
        return {
            "text": self.text,
            "status": self.status,
            "source": self.hit.to_dict() if self.hit else None,
            "span": list(self.span) if self.span else None,
            "diff": self.diff,
            "similarity": round(self.similarity, 4),
            "citation": self.hit.citation if self.hit else None,
            "citation_full": self.full_citation or None,
            "quotation": self.quotation,
            "punctuation_only": self.punctuation_only,
            "position": list(self.position),
        }


@dataclass
class _Match:
    """The best source found for draft[start:end]: a window [a, b) of a passage's normalised text."""

    start: int
    end: int
    passage: int | None = None  # index into QuoteFinder.passages
    window: tuple[int, int] = (0, 0)
    similarity: float = 0.0
    exact: bool = False
    copies: list[int] = field(default_factory=list)  # other passages holding the exact text
    chars: int = 0  # length of the normalised quote

    @property
    def found(self) -> bool:
        return self.exact or self.similarity >= differs_min(self.chars)


class _CharTable(dict):
    """str.translate table filled on demand: code point → fn(character)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def __missing__(self, cp: int):
        value = self[cp] = self.fn(chr(cp))
        return value


def _fold(ch: str) -> str:
    if ch.isspace() or unicodedata.category(ch) in INVISIBLE:
        return ""
    return "".join(c for c in unicodedata.normalize("NFKC", ch) if not c.isspace())


# NFKC is applied per character, so that every normalised character has one origin.
FOLD = _CharTable(_fold)
NO_PUNCTUATION = _CharTable(lambda ch: None if unicodedata.category(ch)[0] == "P" else ch)


def normalise(text: str, cell_breaks: bool = False) -> str:
    """Text as compared: NFKC, without whitespace or invisible characters.

    With ``cell_breaks`` (table rows, whose cells are separated by tabs and line breaks)
    each run of blanks between cells becomes CELL_BREAK.
    """
    if not cell_breaks:
        return text.translate(FOLD)
    return CELL_BREAK.join(cell for cell in (c.translate(FOLD) for c in text.split()) if cell)


def normalise_with_origin(text: str, cell_breaks: bool = False) -> tuple[str, list[int]]:
    """normalise(text) and, for each of its characters, the index in text of the character it comes from."""
    out: list[str] = []
    origin: list[int] = []
    gap = False
    for i, ch in enumerate(text):
        folded = FOLD[ord(ch)]
        gap = gap or ch.isspace()
        if not folded:
            continue
        if cell_breaks and gap and out:
            out.append(CELL_BREAK)
            origin.append(i)
        gap = False
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


def differs_min(chars: int) -> float:
    """The similarity a quote of this normalised length needs to be "differs", not "not_found"."""
    return DIFFERS_MIN if chars >= SHORT_CHARS else SHORT_DIFFERS_MIN


def strip_punctuation(norm: str) -> str:
    """A normalised text without punctuation (what n-grams are taken from)."""
    return norm.translate(NO_PUNCTUATION)


def content_length(text: str) -> int:
    """The number of characters that are neither blank nor punctuation."""
    return len(strip_punctuation(normalise(text)))


def gram_codes(squashed: str) -> np.ndarray:
    """The character n-grams of a text, each packed into one int64 (21 bits per code point)."""
    cps = np.frombuffer(squashed.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    count = len(cps) - NGRAM + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    codes = np.zeros(count, dtype=np.int64)
    for k in range(NGRAM):
        codes = (codes << 21) | cps[k:k + count]
    return codes


def quoted_spans(draft: str) -> list[tuple[int, int]]:
    """(start, end) of the content of every outermost quoted part, in draft order.

    Directional marks nest (“…“十四五”…”); an ASCII '"' closes an open '"', else opens one.
    Marks without a partner are ignored, so an unclosed outer quote leaves its inner ones.
    """
    pairs, stack = [], []
    for i, ch in enumerate(draft):
        opener = CLOSING.get(ch)
        depth = next((d for d in range(len(stack) - 1, -1, -1) if stack[d][0] == opener), None)
        if opener and depth is not None:  # close it, and any unclosed quote opened inside it
            pairs.append((stack[depth][1] + 1, i))
            del stack[depth:]
        elif ch in QUOTE_MARKS:
            stack.append((ch, i))
    outermost: list[tuple[int, int]] = []
    for start, end in sorted(pairs, key=lambda p: (p[0], -p[1])):
        if not outermost or start > outermost[-1][1]:
            outermost.append((start, end))
    return outermost


def split_at(pattern: re.Pattern, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut after every match of pattern, each piece trimmed; pieces of
    nothing but blanks and punctuation dropped."""
    cuts = [m.end() for m in pattern.finditer(text, start, end)]
    pieces = [trim(text, a, b) for a, b in zip([start] + cuts, cuts + [end])]
    return [(a, b) for a, b in pieces if content_length(text[a:b])]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The range without blanks and omission marks (……) at either end (unchanged if nothing else is left)."""
    piece = text[start:end]
    lead = EDGE_LEAD.search(piece)
    trail = EDGE_TRAIL.search(piece)
    a = start + (lead.end() if lead else 0)
    b = start + (trail.start() if trail else len(piece))
    return (a, b) if a < b else (start, end)


class QuoteFinder:
    """Finds the source of quotations in an engine's corpus (built once per engine)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.passages: list[Passage] = engine.corpus.passages
        self.index_of = {p.id: i for i, p in enumerate(self.passages)}
        documents = engine.corpus.documents
        # Copies printed in a gazette rank after the document's own file.
        self.is_copy = [bool(documents[p.doc_id].published_in) for p in self.passages]
        # The source file's text of each passage, normalised: what a quote must occur in.
        self.norm = [normalise(engine.source_text(p), p.kind == "table_row") for p in self.passages]
        self.longest = max((len(n) for n in self.norm), default=0)
        # An inverted index of n-grams without punctuation, as sorted arrays: the passages
        # holding n-gram gram_keys[k] are gram_owners[gram_starts[k]:gram_starts[k + 1]].
        codes = [np.unique(gram_codes(strip_punctuation(n))) for n in self.norm]
        owners = np.repeat(np.arange(len(codes), dtype=np.int32), [len(c) for c in codes])
        all_codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
        order = np.argsort(all_codes, kind="stable")
        self.gram_keys, starts = np.unique(all_codes[order], return_index=True)
        self.gram_starts = np.append(starts, len(all_codes))
        self.gram_owners = owners[order]

    # -- public API ---------------------------------------------------------------------
    def check(self, draft: str) -> list[QuoteCheck]:
        """Every quotation of a draft (see the module docstring), in draft order."""
        quotes = [(a, b) for a, b in quoted_spans(draft) if content_length(draft[a:b]) >= MIN_QUOTE_CHARS]
        if not quotes:
            sentences = [(a, b) for a, b in split_at(SENTENCE_BREAK, draft, 0, len(draft))
                         if content_length(draft[a:b]) >= MIN_QUOTE_CHARS]
            items = [(a, b, True) for a, b in sentences or [(0, len(draft))]]
        else:
            items = [(a, b, True) for a, b in quotes]
            bounds = [0] + [x for a, b in quotes for x in (a - 1, b + 1)] + [len(draft)]
            for gap_start, gap_end in zip(bounds[::2], bounds[1::2]):
                items += [(a, b, False) for a, b in split_at(SENTENCE_BREAK, draft, gap_start, gap_end)
                          if content_length(draft[a:b]) >= MIN_COPIED_CHARS]
        checks = []
        for start, end, quoted in sorted(items):
            for match in self._check_range(draft, start, end):
                if quoted or self._is_copied(draft, match):
                    checks.append(self._result(draft, match))
        return checks

    def find_sources(self, quote: str, limit: int = 5) -> list[tuple[str, float, bool]]:
        """(passage id, similarity, exact) of the passages a text is quoted from, best first.

        Exact matches first (a document's own file before its gazette copy), then near
        matches similar enough to count as "differs".
        """
        norm = normalise(quote)
        found = [(i, 1.0, True) for i in self._exact(norm)]
        if len(found) < limit:
            exact = {i for i, _, _ in found}
            found += [(i, sim, False) for i, _, sim in self._near(norm)
                      if sim >= differs_min(len(norm)) and i not in exact]
        return [(self.passages[i].id, sim, exact) for i, sim, exact in found[:limit]]

    # -- matching -------------------------------------------------------------------------
    def _check_range(self, draft: str, start: int, end: int) -> list[_Match]:
        """The match of draft[start:end], or of its parts when they match better (see module doc)."""
        pieces = _merge_short(draft, split_at(PIECE_BREAK, draft, start, end))
        whole = None
        if len(pieces) <= 1 or len(normalise(draft[start:end])) <= MAX_WHOLE_FACTOR * self.longest:
            whole = self._match(draft, start, end)
            if whole.exact or len(pieces) <= 1:
                return [whole]
        parts: list[_Match] = []
        i = 0
        while i < len(pieces):
            match, j = self._match(draft, *pieces[i]), i + 1
            # Grow a found group while one passage holds the longer run at least as well.
            while j < len(pieces) and match.found:
                longer = self._match(draft, pieces[i][0], pieces[j][1])
                if not (longer.exact or (not match.exact and longer.similarity >= max(KEEP_TOGETHER, match.similarity))):
                    break
                match, j = longer, j + 1
            parts.append(match)
            i = j
        found = [m for m in parts if m.found]
        if whole is None:
            return parts
        if not whole.found:
            return parts if found else [whole]
        # A quote found in one passage stays whole with its diff (a changed word), unless
        # every part is verbatim (“A……B”) or the parts come from several passages.
        one_source = len({m.passage for m in found}) == 1 and not all(m.exact for m in parts)
        return parts if not one_source and _weighted_similarity(parts) > whole.similarity else [whole]

    def _match(self, draft: str, start: int, end: int) -> _Match:
        """The best single-passage source of draft[start:end] (trimmed)."""
        start, end = trim(draft, start, end)
        norm = normalise(draft[start:end])
        exact = self._exact(norm)
        if exact:
            i = exact[0]
            a = self.norm[i].find(norm)
            return _Match(start, end, i, (a, a + len(norm)), 1.0, True, exact[1:], len(norm))
        near = self._near(norm)
        if not near:
            return _Match(start, end, chars=len(norm))
        i, window, sim = near[0]
        return _Match(start, end, i, window, sim, chars=len(norm))

    def _exact(self, norm: str) -> list[int]:
        """Passages whose normalised text contains norm, own files first."""
        if not strip_punctuation(norm):
            return []  # punctuation alone quotes nothing
        postings, complete = self._postings(norm)
        if not complete:
            return []  # an n-gram no passage holds
        # Every passage containing the text holds its rarest n-gram.
        candidates = min(postings, key=len) if postings else range(len(self.passages))
        return sorted((int(i) for i in candidates if norm in self.norm[i]), key=self._preference)

    def _near(self, norm: str) -> list[tuple[int, tuple[int, int], float]]:
        """(passage, window, similarity) of the passages sharing most n-grams, best aligned first."""
        postings = self._postings(norm)[0]
        if not postings:
            return []
        shared = np.bincount(np.concatenate(postings), minlength=len(self.passages))
        top = np.argpartition(-shared, CANDIDATES)[:CANDIDATES] if len(shared) > CANDIDATES else range(len(shared))
        # Passages sharing far fewer n-grams than the best one are not worth aligning.
        floor = max(1, CANDIDATE_SHARE * shared.max())
        candidates = {int(i) for i in top if shared[i] >= floor}
        # A document and its gazette copy score alike: align both so that the own file wins ties.
        candidates |= {self.index_of[d] for i in list(candidates) for d in self.passages[i].duplicates}
        aligned = [(i, *self._align(norm, i)) for i in candidates]
        return sorted(aligned, key=lambda r: (-r[2], self._preference(r[0])))

    def _postings(self, norm: str) -> tuple[list[np.ndarray], bool]:
        """The passages holding each n-gram of a text that the corpus has, and whether it has them all."""
        codes = np.unique(gram_codes(strip_punctuation(norm)))
        at = np.searchsorted(self.gram_keys, codes)
        known = at < len(self.gram_keys)
        known[known] = self.gram_keys[at[known]] == codes[known]
        postings = [self.gram_owners[self.gram_starts[k]:self.gram_starts[k + 1]] for k in at[known]]
        return postings, bool(known.all())

    def _align(self, norm: str, index: int) -> tuple[tuple[int, int], float]:
        """The window of a passage that best matches norm, and their similarity (difflib ratio).

        The longest common block anchors where the quote lies in the passage. Around it
        (with room for omitted words), the window is the run of matching blocks that
        matches most of the quote, each source character it adds beyond the matched ones
        costing GAP_COST; it is widened by the quote's unmatched ends (a changed first or
        last character still belongs to the quoted span).
        """
        text = self.norm[index]
        matcher = SequenceMatcher(None, norm, text, autojunk=False)
        anchor = matcher.find_longest_match(0, len(norm), 0, len(text))
        if anchor.size == 0:
            return (0, 0), 0.0
        lo = max(0, anchor.b - anchor.a - len(norm))
        hi = min(len(text), anchor.b - anchor.a + 2 * len(norm))
        matcher.set_seq2(text[lo:hi])
        blocks = [m for m in matcher.get_matching_blocks() if m.size]
        best = (-1.0, 0, 0)
        for k, first in enumerate(blocks):
            matched = 0
            for last in blocks[k:]:
                matched += last.size
                a = max(0, first.b - first.a)
                b = min(hi - lo, last.b + len(norm) - last.a)
                best = max(best, (matched - GAP_COST * (b - a - matched), -a, b))
        a, b = lo - best[1], lo + best[2]
        matcher.set_seq2(text[a:b])
        return (a, b), matcher.ratio()

    def _preference(self, index: int) -> tuple[bool, int]:
        return self.is_copy[index], index

    def _is_copied(self, draft: str, match: _Match) -> bool:
        """Whether an unquoted part of a draft is copied from the corpus (and worth reporting)."""
        return ((match.exact or match.similarity >= COPIED_MIN)
                and content_length(draft[match.start:match.end]) >= MIN_COPIED_CHARS)

    # -- results ----------------------------------------------------------------------------
    def _result(self, draft: str, match: _Match) -> QuoteCheck:
        text = draft[match.start:match.end]
        position = (match.start, match.end)
        if not match.found:
            return QuoteCheck(text, "not_found", similarity=match.similarity, position=position)
        passage = self.passages[match.passage]
        document = self.engine.corpus.documents[passage.doc_id]
        source = self.engine.source_text(passage)
        source_norm, origin = normalise_with_origin(source, passage.kind == "table_row")
        a, b = match.window
        span_start, span_end = origin[a], origin[b - 1] + 1
        duplicates = list(dict.fromkeys(
            [self.passages[i].id for i in match.copies] + passage.duplicates))
        quoted = LINE_BREAKS.sub("", source[span_start:span_end]).strip()
        at = passage.text.find(quoted)  # mark the quoted part of the passage rather than its words
        marked = mark_span(passage.text, (at, at + len(quoted)), "quote") if at >= 0 else None
        check = QuoteCheck(
            text, "verbatim" if match.exact else "differs",
            hit=self.engine.hit(passage.id, match.similarity, text, duplicates=duplicates, highlight_html=marked),
            span=(passage.start + span_start, passage.start + span_end),
            similarity=match.similarity,
            full_citation=full_citation(document, passage.heading_path),
            position=position,
            quotation=quotation(quoted, document, passage.heading_path),
        )
        if not match.exact:
            quote_norm, quote_origin = normalise_with_origin(text)
            window = source_norm[a:b]
            ops = SequenceMatcher(None, quote_norm, window, autojunk=False).get_opcodes()
            source_origin = origin[a:b]
            check.diff = [{"op": op,
                           "quote": _original(text, quote_origin, i1, i2),
                           "source": _original(source, source_origin, j1, j2)}
                          for op, i1, i2, j1, j2 in ops]
            check.punctuation_only = strip_punctuation(quote_norm) == strip_punctuation(window)
        return check


def _original(text: str, origin: list[int], i: int, j: int) -> str:
    """The original characters behind normalised characters i..j, without line breaks
    (a passage joins its lines across page breaks)."""
    return LINE_BREAKS.sub("", text[origin[i]:origin[j - 1] + 1]) if j > i else ""


def _merge_short(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pieces too short to be quoted alone (“略。”) joined to the piece before (or after)."""
    merged: list[tuple[int, int]] = []
    for a, b in pieces:
        if merged and MIN_QUOTE_CHARS > min(content_length(text[a:b]), content_length(text[slice(*merged[-1])])):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _weighted_similarity(parts: list[_Match]) -> float:
    """The similarity of a split quote: its parts' similarities weighted by their length."""
    total = sum(m.end - m.start for m in parts)
    return sum(m.similarity * (m.end - m.start) for m in parts) / total if total else 0.0
