"""Everyday wordings → the documents' own terms.

People ask in their own words (温室气体捕捉, 牵线搭桥的中介) for what the plans call
碳捕集 or 技术经纪人. Neither BM25 nor the small embedding models bridge such gaps
reliably, so a thesaurus does, as search engines' synonym files do: a question's
wordings that the thesaurus knows add the documents' terms to the search.

File format (``data/thesaurus.txt``), one concept per line, ``#`` starts a comment::

    技术经纪人, 技术经理人 = 技术中介, 中介人员, 牵线搭桥

Left of ``=``: terms as the documents write them. Right: other wordings of the same
concept. A query that contains any of them (or all the words of one, in any order)
expands to the left-side terms it does not already contain.
"""
from __future__ import annotations

import collections
import functools
from dataclasses import dataclass
from pathlib import Path

from .errors import ThesaurusError
from .tokenizer import STOPWORDS, normalize, tokenize

MIN_KEY_CHARS = 2  # a single character would match far too many questions
# Two lines name one concept when they share two names: one shared name may be a loose
# grouping (独角兽 stands beside 高成长企业 on one line and beside 领军企业 on another).
SHARED_NAMES = 2


@dataclass(frozen=True)
class Concept:
    """One line of the thesaurus: the documents' terms and the other wordings of them."""

    terms: tuple[str, ...]
    wordings: tuple[str, ...]


@dataclass(frozen=True)
class _Key:
    """A wording (or term) as matched against a query: its normalised text and words."""

    text: str
    words: frozenset[str]
    concept: int


def parse_thesaurus(text: str, source: str = "thesaurus") -> list[Concept]:
    """The concepts of a thesaurus file's text; raises ThesaurusError naming the bad line."""
    concepts = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        left, sep, right = line.partition("=")
        terms = _items(left)
        if not sep or not terms:
            raise ThesaurusError(f"{source}, line {number}: expected 'term, term = wording, wording', got {line!r}")
        concepts.append(Concept(terms, _items(right)))
    return concepts


def _items(side: str) -> tuple[str, ...]:
    parts = (p.strip() for p in side.replace("，", ",").split(","))  # not 、: terms contain it (双随机、一公开)
    return tuple(dict.fromkeys(p for p in parts if p))


class Thesaurus:
    """Expands queries with the documents' terms for the wordings they contain."""

    def __init__(self, concepts: list[Concept]) -> None:
        self.concepts = concepts
        keys = []
        for i, concept in enumerate(concepts):
            for surface in (*concept.terms, *concept.wordings):
                text = normalize(surface)
                if len(text) >= MIN_KEY_CHARS:
                    words = frozenset(t for t in tokenize(text) if t not in STOPWORDS)
                    keys.append(_Key(text, words, i))
        self._keys = keys
        self._keys_of: dict[int, list[_Key]] = {}
        for key in keys:
            self._keys_of.setdefault(key.concept, []).append(key)
        self._concepts_named: dict[str, set[int]] = {}
        for key in keys:
            self._concepts_named.setdefault(key.text, set()).add(key.concept)
        # A comparison expands one question once per district, and each pass reads every key.
        self._mentioned = functools.lru_cache(maxsize=1024)(self._find_concepts)

    @classmethod
    def load(cls, path: Path) -> "Thesaurus":
        """The thesaurus in ``path``; raises ThesaurusError if it is missing or malformed."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ThesaurusError(f"cannot read the thesaurus {path}: {error}") from error
        return cls(parse_thesaurus(text, str(path)))

    def expand(self, query: str, scope: str | None = None) -> list[str]:
        """The documents' terms of the concepts ``query`` mentions that it does not already
        contain, in the order the concepts are first mentioned.

        With ``scope``, the normalised text of the documents searched (one district's, or
        all), a query that already uses the documents' own wording of a concept (a term or
        wording of it that ``scope`` contains) is searched as written: 慧谷湖科创小镇 must not
        pull in other districts' science towns. A comparison searches each district's
        documents in turn, so where 涪陵's plan writes 技术合同交易额 for what 北碚's calls
        技术合同成交额, the question's 成交额 still finds 涪陵's term.
        """
        text = normalize(query)
        found = self._mentioned(text)
        terms: list[str] = []
        for i in sorted(found, key=found.get):
            if scope is not None and any(k.text in text and k.text in scope for k in self._keys_of[i]):
                continue
            terms += [t for t in self.concepts[i].terms if normalize(t) not in text]
        return list(dict.fromkeys(terms))

    def names(self, query: str) -> frozenset[str]:
        """All the terms and wordings, normalised, of the concepts ``query`` mentions and of
        the concepts sharing SHARED_NAMES of theirs: each document has its own line for a
        concept, and a question matching 綦江's line for 研发投入强度 may be answered in
        南川's words (全社会研发投入(R&D)占GDP比重), which another line lists."""
        related = set()
        for i in self._mentioned(normalize(query)):
            names = {k.text for k in self._keys_of[i]}
            shared = collections.Counter(j for name in names for j in self._concepts_named[name])
            related |= {j for j, count in shared.items() if count >= SHARED_NAMES}
        return frozenset(k.text for i in related for k in self._keys_of[i])

    def _find_concepts(self, text: str) -> dict[int, int]:
        """The concepts a normalised query mentions, with where (a key whole, or a key's
        words all among the query's)."""
        words = set(tokenize(text))
        found: dict[int, int] = {}
        for key in self._keys:
            if key.concept not in found:
                at = text.find(key.text)
                if at < 0 and len(key.words) > 1 and key.words <= words:
                    at = min(text.find(w) for w in key.words)
                if at >= 0:
                    found[key.concept] = at
        return found


@functools.lru_cache(maxsize=4)
def load_thesaurus(path: Path) -> Thesaurus:
    """The thesaurus in ``path``, read once per process."""
    return Thesaurus.load(path)
