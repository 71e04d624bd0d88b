"""Keyword search over passages: BM25 ranking, "phrases", -exclusions, filters, snippets.

Two structures are built in one pass from the same tokens (search.tokenizer):

* a whoosh index, the index of record: one document per passage with the fields id,
  text, heading (the heading path), title (the document's), district, doc_id and
  chapter (the top heading), text and heading with positions. Tools can query it with
  whoosh and the same analyzer.
* the arrays that serve queries (numpy, saved beside it): a term → passages matrix of
  precomputed BM25 weights, and every term's token positions. whoosh walks postings in
  Python: 300–530 ms for plain words and 1–2 s for a common phrase at 100× the corpus,
  where these arrays take a few milliseconds. The weights are whoosh's own BM25F
  formula, field by field with the same field boosts, and phrases match the passages
  whoosh's Phrase query matches: the tests check both against whoosh.

Query language (never raises; anything unparseable is read as plain words):
    页岩气 制氢           words: passages with any of them, those with all of them first
    成渝地区双城经济圈科技合作   no spaces needed: the words are found by the tokenizer
    "科技 创新" “揭榜挂帅”   exact phrases (in the text or headings), all required
    -榨菜 NOT "十三五"      exclusions
A word also matches the dictionary terms that contain it (研发机构 matches the single
token 新型研发机构) and a number matches its percentage (3 matches 3%). Function words
(STOPWORDS) are ignored unless the query has nothing else.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from tqdm import tqdm
from whoosh import index as whoosh_index
from whoosh.fields import ID, TEXT, Schema

from .errors import IndexNotBuilt
from .model import HEADING_SEPARATOR, Document, Passage
from .tokenizer import STOPWORDS, analyze, analyzer, dictionary_terms, locate, normalize, tokenize

# Each field is scored on its own and the scores add up, so a word in a passage's heading
# or document title already counts on top of the text. Boosts multiply term frequencies
# (whoosh's field_boost); heading/title boosts of 1.5-4 did not help on bench/cases.jsonl.
FIELD_BOOSTS = {"text": 1.0, "heading": 1.0, "title": 1.0}
PHRASE_FIELDS = ("text", "heading")  # quoted phrases are looked for here, not in titles
FILTERS = ("district", "doc_id", "chapter")
K1 = 1.2
B = 0.75
FORMAT_VERSION = 1
RELATED_WEIGHT = 0.5
META_FILE = "keyword-meta.json"
ARRAYS_FILE = "keyword-bm25.npz"
REBUILD_HINT = "rebuild the index with `plansearch build`"

_NUMBER = re.compile(r"\d+(?:\.\d+)*")
# Lucene/whoosh decorations that carry no words: boosts (word^2) and fuzziness (word~1).
_DECORATION = re.compile(r"[\^~]\d*(?:\.\d+)?")
_CLAUSE = re.compile(
    r'(?P<neg>-+)?(?:"(?P<q1>[^"]*)"|“(?P<q2>[^”]*)”|「(?P<q3>[^」]*)」|(?P<word>[^\s"“”「」]+))'
)
_QUOTATION_MARKS = re.compile(r'["“”「」]')
_CLAUSE_END = re.compile(r"[。；！？，、,;!?:：]")  # a snippet may start after one of these


def _schema() -> Schema:
    ana = analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        text=TEXT(analyzer=ana, phrase=True, field_boost=FIELD_BOOSTS["text"]),
        heading=TEXT(analyzer=ana, phrase=True, field_boost=FIELD_BOOSTS["heading"]),
        title=TEXT(analyzer=ana, phrase=False, field_boost=FIELD_BOOSTS["title"]),
        district=ID,
        doc_id=ID,
        chapter=ID,
    )


def _chapter_key(chapter: str) -> str:
    return "".join(normalize(chapter).split())


class _Field(NamedTuple):
    """One analysed field value."""

    tokens: list[str]
    ids: array  # the term id of each token
    terms: array  # the distinct term ids
    tfs: array  # and their frequencies


class _ArraysBuilder:
    """Collects the tokens of every passage, then computes the search arrays.

    * BM25: (term, passage, tf) per field → a term → passages matrix of weights;
    * positions: the text and heading tokens of all passages laid end to end (term ids,
      -1 after each field so that no phrase spans two) → each term's positions.
    """

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.vocab: dict[str, int] = {}
        self.postings = {f: (array("i"), array("i"), array("i")) for f in FIELD_BOOSTS}
        self.lengths = {f: np.zeros(n_rows, np.int32) for f in FIELD_BOOSTS}
        self.stream = array("i")
        self.row_start = array("q")

    def analyse(self, value: str) -> _Field:
        tokens = tokenize(value)
        ids = array("i", [self.vocab.setdefault(t, len(self.vocab)) for t in tokens])
        counts = Counter(ids)
        return _Field(tokens, ids, array("i", counts.keys()), array("i", counts.values()))

    def add(self, row: int, fields: dict[str, _Field]) -> None:
        self.row_start.append(len(self.stream))
        for name in PHRASE_FIELDS:
            self.stream.extend(fields[name].ids)
            self.stream.append(-1)
        for name, field in fields.items():
            terms, rows, tfs = self.postings[name]
            terms.extend(field.terms)
            rows.extend(array("i", [row]) * len(field.terms))
            tfs.extend(field.tfs)
            self.lengths[name][row] = len(field.tokens)

    def finish(self) -> dict[str, np.ndarray]:
        return {**self._bm25(), **self._positions()}

    def _bm25(self) -> dict[str, np.ndarray]:
        """CSR by term: passages ``rows[indptr[t]:indptr[t+1]]`` with ``weights``."""
        n = max(self.n_rows, 1)
        n_terms = len(self.vocab)
        keys, weights = [np.zeros(0, np.int64)], [np.zeros(0)]
        for field, boost in FIELD_BOOSTS.items():
            terms, rows, freqs = (np.frombuffer(a, dtype=np.int32) for a in self.postings[field])
            # whoosh: idf = log(N / (df + 1)) + 1; bm25 = idf * tf(K1+1) / (tf + K1(1-B+B*len/avg))
            idf = np.log(n / (np.bincount(terms, minlength=n_terms) + 1.0)) + 1.0
            lengths = self.lengths[field]
            avg = lengths.sum() / n or 1.0
            tf = freqs * boost
            norm = K1 * ((1 - B) + B * lengths[rows] / avg)
            weights.append(idf[terms] * tf * (K1 + 1) / (tf + norm))
            keys.append(terms.astype(np.int64) * n + rows)
        key = np.concatenate(keys)
        weight = np.concatenate(weights)
        order = np.argsort(key, kind="stable")
        key, weight = key[order], weight[order]
        unique, first = np.unique(key, return_index=True)
        return {
            "indptr": np.searchsorted(unique // n, np.arange(n_terms + 1)).astype(np.int64),
            "rows": (unique % n).astype(np.int32),
            # a term in several fields of one passage: the field scores add up
            "weights": np.add.reduceat(weight, first).astype(np.float32) if len(key) else weight.astype(np.float32),
        }

    def _positions(self) -> dict[str, np.ndarray]:
        """CSR by term: positions ``positions[pos_indptr[t]:pos_indptr[t+1]]``, ascending."""
        stream = np.frombuffer(self.stream, dtype=np.int32)
        order = np.argsort(stream, kind="stable")  # stable: positions stay ascending
        terms = stream[order]
        skip = int(np.searchsorted(terms, 0))  # the -1 separators sort first
        return {
            "positions": order[skip:].astype(np.int32 if len(stream) < 2**31 else np.int64),
            "pos_indptr": np.searchsorted(terms[skip:], np.arange(len(self.vocab) + 1)).astype(np.int64),
            "row_start": np.frombuffer(self.row_start, dtype=np.int64).copy(),
        }


class _Codes:
    """Small integer codes for the values of a filter field."""

    def __init__(self, n_rows: int) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self.codes = np.zeros(n_rows, np.int32)

    def set(self, row: int, value: str) -> None:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        self.codes[row] = code


def build_keyword_index(
    passages: list[Passage],
    documents: dict[str, Document],
    directory: Path,
    progress: bool = True,
) -> None:
    """Write a new keyword index of ``passages`` into ``directory`` (new or empty).

    ``documents`` supplies each passage's title and district. The caller swaps the whole
    index directory into place when everything has been written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(directory), _schema())
    n = len(passages)
    arrays = _ArraysBuilder(n)
    filters = {name: _Codes(n) for name in FILTERS}
    # Every passage of a section repeats its heading path and every passage of a
    # document its title: analyse each distinct value once.
    cache: dict[str, _Field] = {}

    def analysed(value: str) -> _Field:
        hit = cache.get(value)
        if hit is None:
            hit = cache[value] = arrays.analyse(value)
        return hit

    # whoosh holds postings in memory up to limitmb, then spills sorted runs to disk and
    # merges them, which is slow: 1 GB holds about 6M postings (90,000 passages).
    writer = ix.writer(limitmb=1024)
    try:
        for row, passage in enumerate(tqdm(passages, desc="keyword index", unit="passage", disable=not progress)):
            document = documents.get(passage.doc_id)
            if document is None:
                raise ValueError(f"passage {passage.id} belongs to unknown document {passage.doc_id!r}")
            fields = {
                "text": arrays.analyse(passage.text),
                "heading": analysed(HEADING_SEPARATOR.join(passage.heading_path)),
                "title": analysed(document.title),
            }
            arrays.add(row, fields)
            values = {"district": document.district, "doc_id": document.id,
                      "chapter": passage.heading_path[0] if passage.heading_path else ""}
            for name, value in values.items():
                filters[name].set(row, value)
            # Lists of tokens bypass whoosh's analyzer: each text is analysed only once.
            writer.add_document(id=passage.id, **{name: field.tokens for name, field in fields.items()},
                                **{k: v for k, v in values.items() if v})
    except BaseException:
        writer.cancel()
        raise
    writer.commit()

    data = arrays.finish()
    data.update({f"{name}_codes": codes.codes for name, codes in filters.items()})
    np.savez(directory / ARRAYS_FILE, **data)
    meta = {
        "format": FORMAT_VERSION,
        "ids": [p.id for p in passages],
        "vocab": sorted(arrays.vocab, key=arrays.vocab.__getitem__),
        **{f"{name}_values": codes.values for name, codes in filters.items()},
    }
    (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


@dataclass(frozen=True)
class _Clause:
    source: str  # the normalised words as typed
    tokens: tuple[str, ...]
    phrase: bool  # the tokens must occur consecutively
    exclude: bool

    @property
    def joined(self) -> str:
        return "".join(self.tokens)


def _parse(query: str) -> list[_Clause]:
    """Split a query into words and phrases, positive or excluded. Never raises."""
    clauses: list[_Clause] = []
    negate_next = False
    for m in _CLAUSE.finditer(_DECORATION.sub(" ", unicodedata.normalize("NFKC", query))):
        word = m.group("word")
        if word in ("AND", "OR"):  # operators of the whoosh/Lucene syntax: words are ORed anyway
            continue
        if word == "NOT":
            negate_next = True
            continue
        quoted = next((q for q in m.group("q1", "q2", "q3") if q is not None), None)
        source = normalize(quoted if quoted is not None else word).strip()
        tokens = tuple(tokenize(source))
        exclude = bool(m.group("neg")) or negate_next
        negate_next = False
        if tokens:
            # An excluded multi-token word means that exact wording, as a phrase.
            phrase = quoted is not None or (exclude and len(tokens) > 1)
            clauses.append(_Clause(source, tokens, phrase, exclude))
    return clauses


def unquoted(query: str) -> str:
    """``query`` with its quotation marks as spaces: the words they set off become plain words."""
    return _QUOTATION_MARKS.sub(" ", query)


def _containing(needle: str) -> set[str]:
    """Index terms that contain ``needle`` as a part: the dictionary terms that do
    (研发机构 → 新型研发机构) and, for a number, its percentage (3 → 3%)."""
    found = {term for term in dictionary_terms() if needle in term and term != needle}
    if _NUMBER.fullmatch(needle):
        found.add(needle + "%")
    return found


def _alternatives(token: str, clause: _Clause) -> set[str]:
    """The index terms that count as an occurrence of ``token`` of a query word."""
    alternatives = {token} | _containing(clause.joined)
    if len(token) > 1 or _NUMBER.fullmatch(token):
        alternatives |= _containing(token)
    return alternatives


def _scoring_terms(clauses: list[_Clause], ignored: frozenset[str] = frozenset()) -> list[tuple[str, _Clause]]:
    """The (token, clause) pairs that are scored: positive tokens minus function words
    (and minus ``ignored`` words)."""
    pairs = [(t, c) for c in clauses if not c.exclude for t in c.tokens]
    content = [(t, c) for t, c in pairs if t not in STOPWORDS and t not in ignored] or pairs
    seen: set[str] = set()
    return [(t, c) for t, c in content if not (t in seen or seen.add(t))]


class KeywordIndex:
    """A keyword index opened for searching: read-only arrays, safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            meta = json.loads((self.directory / META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {meta.get('format')!r}, this version reads {FORMAT_VERSION}")
            # np.load leaves the file open when it fails on a damaged file: close it here.
            with open(self.directory / ARRAYS_FILE, "rb") as file, np.load(file) as data:
                arrays = {name: data[name] for name in data.files}
            self._ids: list[str] = meta["ids"]
            self._vocab = {term: i for i, term in enumerate(meta["vocab"])}
            self._indptr, self._rows, self._weights = arrays["indptr"], arrays["rows"], arrays["weights"]
            self._pos_indptr, self._positions = arrays["pos_indptr"], arrays["positions"]
            self._row_start = arrays["row_start"]
            self._codes = {name: arrays[f"{name}_codes"] for name in FILTERS}
            self._values = {name: {v: i for i, v in enumerate(meta[f"{name}_values"])} for name in FILTERS}
            sizes = {len(self._ids), len(self._row_start), *(len(c) for c in self._codes.values())}
            if len(sizes) != 1 or len(self._indptr) != len(self._vocab) + 1:
                raise ValueError("the index files do not match each other")
        # Whatever fails here (missing or truncated files, a version from another build)
        # means the same to the user: there is no usable index.
        except Exception as error:
            raise IndexNotBuilt(
                f"The keyword index in {self.directory} is missing or unreadable ({error}); {REBUILD_HINT}."
            ) from error
        self._chapter_keys = [(_chapter_key(c), i) for c, i in self._values["chapter"].items()]
        self._row_of = {pid: row for row, pid in enumerate(self._ids)}

    def close(self) -> None:
        """Drop the arrays (no files stay open); the index is unusable afterwards."""
        self.__dict__.clear()

    def __len__(self) -> int:
        return len(self._ids)

    # -- matching ---------------------------------------------------------------------

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        t = self._vocab.get(term)
        if t is None:
            return None
        a, b = self._indptr[t], self._indptr[t + 1]
        return self._rows[a:b], self._weights[a:b]

    def _idf(self, term: str) -> float:
        t = self._vocab.get(term)
        df = 0 if t is None else self._indptr[t + 1] - self._indptr[t]
        return float(np.log(len(self._ids) / (df + 1.0)) + 1.0)

    def _term_group(self, token: str, alternatives: set[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows matching ``token`` or one of its alternatives, with the best weight of each.

        An alternative (新型研发机构 for 研发机构) is rarer than the token, so its weights
        are scaled down to the token's idf: it counts as an occurrence of the token.
        """
        postings = []
        for term in sorted(alternatives):
            found = self._postings(term)
            if found is not None:
                scale = 1.0 if term == token else min(1.0, self._idf(token) / self._idf(term))
                postings.append((found[0], found[1] * np.float32(scale)) if scale < 1.0 else found)
        if len(postings) <= 1:
            return postings[0] if postings else None
        best = np.zeros(len(self._ids), np.float32)
        for rows, weights in postings:
            best[rows] = np.maximum(best[rows], weights)
        rows = np.flatnonzero(best)
        return rows, best[rows]

    def _term_positions(self, term: str) -> np.ndarray:
        t = self._vocab.get(term)
        if t is None:
            return self._positions[:0]
        return self._positions[self._pos_indptr[t] : self._pos_indptr[t + 1]]

    def _phrase_mask(self, clause: _Clause) -> np.ndarray:
        """Rows whose text or headings contain the clause's tokens consecutively (or a
        dictionary term containing them)."""
        found = [self._term_positions(t) for t in _containing(clause.joined)]
        found.append(self._sequence(clause.tokens))
        mask = np.zeros(len(self._ids), bool)
        mask[np.searchsorted(self._row_start, np.concatenate(found), side="right") - 1] = True
        return mask

    def _sequence(self, tokens: tuple[str, ...]) -> np.ndarray:
        """Positions where ``tokens`` occur one after the other."""
        lists = [self._term_positions(t) for t in tokens]
        rarest = min(range(len(lists)), key=lambda i: len(lists[i]))
        starts = lists[rarest] - rarest
        for offset, positions in enumerate(lists):
            if offset != rarest:
                wanted = starts + offset
                i = np.searchsorted(positions, wanted)
                hit = i < len(positions)
                hit[hit] = positions[i[hit]] == wanted[hit]
                starts = starts[hit]
        return starts

    def _excluded_mask(self, clause: _Clause) -> np.ndarray:
        """Rows that the clause, searched on its own, would match."""
        if clause.phrase:
            return self._phrase_mask(clause)
        mask = np.zeros(len(self._ids), bool)
        group = self._term_group(clause.tokens[0], _alternatives(clause.tokens[0], clause))
        if group is not None:
            mask[group[0]] = True
        return mask

    def _filter_mask(self, district: str | None, doc_id: str | None, chapter: str | None) -> np.ndarray | None:
        masks = [self._codes[name] == self._values[name].get(value, -1)
                 for name, value in (("district", district), ("doc_id", doc_id)) if value is not None]
        if chapter is not None:
            # The exact top heading, or its beginning ("第七章" for "第七章  加强区域科创合作…").
            key = _chapter_key(chapter)
            codes = [i for k, i in self._chapter_keys if key and k.startswith(key)]
            masks.append(np.isin(self._codes["chapter"], codes))
        return np.logical_and.reduce(masks) if masks else None

    # -- public API ---------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        district: str | None = None,
        doc_id: str | None = None,
        chapter: str | None = None,
        related: Sequence[str] = (),
        ignored: frozenset[str] = frozenset(),
        require_all: bool = False,
    ) -> tuple[list[tuple[str, float]], int]:
        """Passages matching ``query``, best first: ``([(passage_id, score)...], total)``.

        ``total`` counts every matching passage, not just the ``limit`` returned. Scores
        are BM25 (text, headings and title); passages that contain every query word get
        a bonus equal to the best score, so they rank above those that miss a word. The
        filters keep passages of one district, one document and/or one chapter (top
        heading, or its beginning such as 第七章). A query with no words after analysis
        matches nothing.

        ``related`` terms (the thesaurus's document terms for the query's wordings) count
        where they occur whole, with RELATED_WEIGHT of their BM25 score, and match on their
        own; they are never required, so passages with all the query's words stay first.
        ``ignored`` words (QUESTION_WORDS for a question) are neither scored nor required.
        ``require_all`` keeps only the passages containing every query word.
        """
        clauses = _parse(query)
        terms = _scoring_terms(clauses, ignored)
        if not terms:
            return [], 0
        n = len(self._ids)
        scores = np.zeros(n, np.float32)
        matched = np.zeros(n, np.int16)
        for token, clause in terms:
            group = self._term_group(token, _alternatives(token, clause))
            if group is not None:
                rows, weights = group
                scores[rows] += weights
                matched[rows] += 1
        mask = matched == len(terms) if require_all else matched > 0
        for term in related:
            found = self._related_scores(term)
            if found is not None:
                rows, weights = found
                scores[rows] += RELATED_WEIGHT * weights
                mask[rows] = True
        for clause in clauses:
            if clause.exclude:
                mask &= ~self._excluded_mask(clause)
            elif clause.phrase:
                mask &= self._phrase_mask(clause)
        filter_mask = self._filter_mask(district, doc_id, chapter)
        if filter_mask is not None:
            mask &= filter_mask
        rows = np.flatnonzero(mask)
        total = int(rows.size)
        if total == 0 or limit <= 0:
            return [], total
        s = scores[rows].astype(np.float64)
        complete = matched[rows] == len(terms)
        if complete.any():
            s += complete * s.max()
        k = min(limit, total)
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.lexsort((rows[top], -s[top]))]  # ties: corpus order
        return [(self._ids[rows[i]], float(s[i])) for i in top], total

    def coverage(self, query: str, passage_ids: Sequence[str], ignored: frozenset[str] = frozenset()) -> float:
        """The largest share of ``query``'s scored words, weighted by idf, that one of
        ``passage_ids`` contains (0 to 1; 0 for no passages or no words).

        How well the best keyword matches match: a question in other words than the
        documents' matches only its incidental words, and its keyword ranking says little.
        """
        terms = _scoring_terms(_parse(query), ignored)
        rows = np.array([self._row_of[pid] for pid in passage_ids], dtype=np.int64)
        if not terms or rows.size == 0:
            return 0.0
        idf = np.array([self._idf(token) for token, _ in terms])
        found = np.zeros((len(terms), rows.size))
        for i, (token, clause) in enumerate(terms):
            group = self._term_group(token, _alternatives(token, clause))
            if group is not None:
                found[i] = np.isin(rows, group[0])
        return float((idf @ found).max() / idf.sum())

    def _related_scores(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows where ``term`` occurs whole (its tokens in a row), with the sum of their weights."""
        tokens = tuple(tokenize(term))
        if not tokens:
            return None
        starts = self._sequence(tokens) if len(tokens) > 1 else self._term_positions(tokens[0])
        rows = np.unique(np.searchsorted(self._row_start, starts, side="right") - 1)
        if rows.size == 0:
            return None
        total = np.zeros(rows.size, np.float32)
        for token in dict.fromkeys(tokens):
            posting_rows, weights = self._postings(token)
            at = np.searchsorted(posting_rows, rows)
            total += weights[np.minimum(at, len(posting_rows) - 1)]
        return rows, total

    def query_terms(self, query: str) -> list[str]:
        """The normalised words and phrases of ``query`` to mark in results (see highlight)."""
        clauses = _parse(query)
        scored = {t for t, _ in _scoring_terms(clauses)}
        terms: list[str] = []
        for clause in clauses:
            if clause.exclude:
                continue
            if clause.phrase or len(clause.tokens) > 1:
                terms.append(clause.source)
            if not clause.phrase:
                # Single characters of a longer word (年 of 2025年) would light up everywhere.
                terms += [t for t in clause.tokens if t in scored and (len(t) > 1 or len(clause.tokens) == 1)]
        return list(dict.fromkeys(terms))


def _match_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Merged, sorted [start, end) spans of ``text`` where the terms occur, by tokens."""
    spans = analyze(text)
    tokens = [s.text for s in spans]
    compounds = dictionary_terms()
    found: list[tuple[int, int]] = []
    for term in terms:
        seq = tokenize(term)
        if not seq:
            continue
        k = len(seq)
        percent = seq[0] + "%" if k == 1 and _NUMBER.fullmatch(seq[0]) else None
        for i in range(len(tokens) - k + 1):
            if tokens[i : i + k] == seq or tokens[i] == percent:
                found.append((spans[i].start, spans[i + k - 1].end))
        needle = "".join(seq)
        for span in spans:
            if span.text in compounds and needle in span.text and span.text != needle:
                found += [(span.start + a, span.start + b) for a, b in locate(text[span.start : span.end], needle)]
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:  # overlapping or adjacent: one mark
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, marks: list[tuple[int, int]], max_chars: int) -> tuple[int, int]:
    """The [start, end) part of ``text`` to show: the one with the most whole marks."""
    if len(text) <= max_chars:
        return 0, len(text)
    best = (0, max_chars)
    best_count = -1
    lead = max_chars // 4  # context kept before the first mark
    for anchor, _ in marks:
        start = max(0, min(anchor - lead, len(text) - max_chars))
        # Begin after a clause boundary when there is one before the mark.
        boundary = None
        for m in _CLAUSE_END.finditer(text, start, anchor):
            boundary = m.end()
        if boundary is not None:
            start = boundary
        end = start + max_chars
        count = sum(1 for a, b in marks if a >= start and b <= end)
        if count > best_count:
            best, best_count = (start, end), count
    start, end = best
    for a, b in marks:  # never cut a mark in two
        if a < end < b:
            end = a
    return start, min(end, len(text))


def highlight(text: str, terms: list[str], max_chars: int = 160) -> str:
    """HTML snippet of ``text`` with each occurrence of ``terms`` in ``<mark>``.

    ``terms`` are as returned by :meth:`KeywordIndex.query_terms`. Matches are found on
    tokens of the normalised text and marked on the original characters, so ＡＩ is
    marked for the query AI. Everything else is HTML-escaped. Texts longer than
    ``max_chars`` are cut around the matches, with "…" where something was left out.
    """
    marks = _match_spans(text, terms)
    start, end = _window(text, marks, max_chars)
    out = ["…"] if start > 0 else []
    pos = start
    for a, b in marks:
        if a < start or b > end:
            continue
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
