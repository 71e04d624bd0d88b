"""Question answering over the ranked passages: the answering sentence, table values, refusal.

A passage answers with its sentence closest to the question (embedding similarity plus
the question's words it contains); a table row answers with the value of the column
the question asks about ("2025年：200家"). Whether the corpus answers at all is a
calibrated confidence from the best semantic similarity and how much of the question's
content the best passages cover, so questions about 上海 or 个人所得税 are refused instead
of being answered with weak matches.
"""
from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import TYPE_CHECKING

import numpy as np

from .sources import KNOWN_DISTRICTS
from .tokenizer import tokenize

if TYPE_CHECKING:
    from .engine import AskResult, Engine
    from .model import Hit, Passage

SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]*[”’」）)]*")
YEAR = re.compile(r"(19|20)\d{2}")
UNIT_IN_NAME = re.compile(r"[（(]([^（）()]{1,6})[）)]\s*$")
# Question words and fillers that say nothing about what is asked.
QUESTION_WORDS = set("""什么 怎么 怎样 怎么样 如何 哪些 哪个 哪里 哪 哪几 几个 多少 是否 有没有 吗 呢 吧 啊 的 了 和 与 及
是 有 在 对 把 被 给 让 要 会 能 将 打算 准备 计划 规划 提出 方面 分别 主要 重点 情况 这个 那个 一下 请问 目前 现在
为什么 为何 还 都 也 就 又 到 从 以 由 上 下 中 里 时 后 前 多 少 年 区 我们 他们 其 该""".split())
# Logistic confidence over the features of AnswerFinder.features: fitted on the
# project's labelled cases by bench/calibrate_confidence.py (answerable vs negative).
# On bench/cases.jsonl (94 answerable, 10 negative; balanced classes) the cut at 0.4
# accepts 89% of answerable questions and refuses 80% of negatives (0.3: 93% / 50%).
CONFIDENCE_WEIGHTS = (0.97, 0.88, 1.45, -6.24)
CONFIDENCE_BIAS = -1.62
ANSWERABLE_AT = 0.4
# Places a question may ask about: the districts, and the provinces and major cities the
# plans mention or users compare with. A question about a place is answered only by a
# passage about that place.
OTHER_PLACES = ("北京", "上海", "天津", "重庆", "四川", "成都", "绵阳", "贵州", "遵义", "广东", "深圳", "广州", "江苏",
                "浙江", "杭州", "湖北", "武汉", "陕西", "西安", "云南", "湖南", "长沙", "中关村", "雄安")
PLACE = re.compile("|".join(KNOWN_DISTRICTS + OTHER_PLACES))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def content_terms(query: str) -> list[str]:
    """The question's words that carry meaning (no question words, punctuation or single characters)."""
    return [t for t in dict.fromkeys(tokenize(query)) if t not in QUESTION_WORDS and len(t) > 1]


def bigrams(text: str) -> set[str]:
    """Character pairs of the Chinese runs of a text, question words excluded."""
    runs = re.findall(r"[\u4e00-\u9fff]+", norm(text))
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)} - QUESTION_WORDS


def split_sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]


def table_value(passage: "Passage", query: str) -> tuple[str, str] | None:
    """(column, value-with-unit) of the table cell a question asks about, or None."""
    cells = dict(passage.cells)
    unit = cells.get("单位", "")
    if not unit:
        name = next((v for c, v in passage.cells if "指标" in c or "名称" in c), "")
        m = UNIT_IN_NAME.search(name)
        unit = m.group(1) if m else ""
    value_columns = [c for c, _ in passage.cells if YEAR.search(c) or any(w in c for w in ("目标", "现状", "预期"))]
    if not value_columns:
        return None
    years = [m.group() for m in YEAR.finditer(query)]
    wanted = [c for c in value_columns if any(y in c for y in years)]
    if not wanted and any(w in query for w in ("目标", "到2025", "将达到", "预计", "规划")):
        wanted = [c for c in value_columns if "目标" in c or "2025" in c]
    if not wanted and any(w in query for w in ("现状", "基期", "目前", "现在", "2020")):
        wanted = [c for c in value_columns if "现状" in c or "2020" in c]
    column = (wanted or value_columns)[-1]
    value = cells[column]
    suffix = unit if unit and unit not in ("%", "—", "-") and not value.endswith(unit) else ("%" if unit == "%" else "")
    return column, value + suffix


class AnswerFinder:
    """Answers questions for an Engine (kept apart so the engine stays a thin facade)."""

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.corpus_text = norm("\n".join(p.text for p in engine.corpus.passages))

    def answer(self, query: str, k: int, district: str | None, doc: str | None) -> "AskResult":
        from .engine import AskResult

        engine = self.engine
        # The passages are those of hybrid search (keyword search without a model); the
        # semantic ranking on its own gives the confidence its similarity feature.
        semantic = engine.similarities(query, k, district, doc)
        fused, _ = engine.rank(query, "keyword" if semantic is None else "hybrid", k, district, doc)
        groups = engine._collapse(fused)[:k]
        confidence = self.confidence(self.features(query, [pid for pid, _, _ in groups[:3]], semantic))
        hits = self._answers(query, groups)
        if confidence >= ANSWERABLE_AT:
            return AskResult(query, True, confidence, hits)
        return AskResult(query, False, confidence, [], related=hits)

    def features(self, query: str, top_ids: list[str], semantic: list[tuple[str, float]] | None) -> list[float]:
        """What the confidence is computed from.

        - the best semantic similarity (0 without a model: the word features decide);
        - the share of the question's content words found in the best passages;
        - whether the specifics the question names (years, places) are in the best passage,
          its headings or its document's title: 綦江's 2022 GDP is not answered by its 2020
          figures, 上海's plan not by 涪陵's;
        - the share of the question's content words found nowhere in the corpus (上海, 个人所得税;
          but paraphrases also use words the plans do not, so this only weighs, never decides).
        """
        if not top_ids:
            return [0.0, 0.0, 0.0, 1.0]
        terms = content_terms(query)
        docs = self.engine.corpus.documents
        top = [self.engine.passages[p] for p in top_ids]
        text = norm("".join(p.text + docs[p.doc_id].title for p in top))
        coverage = sum(1 for t in terms if t in text) / len(terms) if terms else 0.0
        best = norm(top[0].text + "".join(top[0].heading_path) + docs[top[0].doc_id].title)
        specifics = [m.group() for m in YEAR.finditer(query)] + PLACE.findall(query)
        specifics_found = all(s in best or s == docs[top[0].doc_id].district for s in specifics)
        unknown = sum(1 for t in terms if t not in self.corpus_text) / len(terms) if terms else 0.0
        similarity = semantic[0][1] if semantic else 0.0
        return [similarity, coverage, float(specifics_found), unknown]

    @staticmethod
    def confidence(features: list[float]) -> float:
        """Probability that the corpus answers the question (see CONFIDENCE_WEIGHTS)."""
        return sigmoid(sum(w * x for w, x in zip(CONFIDENCE_WEIGHTS, features)) + CONFIDENCE_BIAS)

    def _answers(self, query: str, groups: list) -> list["Hit"]:
        passages = [self.engine.passages[pid] for pid, _, _ in groups]
        sentences = [split_sentences(p.text) if p.kind != "table_row" else [] for p in passages]
        scores = self._sentence_scores(query, passages, sentences)
        hits = []
        for (pid, score, dups), passage, spans, sentence_scores in zip(groups, passages, sentences, scores):
            if passage.kind == "table_row" and (found := table_value(passage, query)):
                column, value = found
                answer = f"{column}：{value}"
                span = _find_cell(passage.text, column, dict(passage.cells)[column])
            elif spans:
                a, b = spans[int(np.argmax(sentence_scores))]
                answer, span = passage.text[a:b].strip(), (a, b)
            else:
                answer, span = passage.text, (0, len(passage.text))
            hits.append(self.engine.hit(pid, score, query, duplicates=dups, answer=answer,
                                        highlight_html=mark_span(passage.text, span)))
        return hits

    @staticmethod
    def _sentence_scores(query: str, passages, sentences) -> list[np.ndarray]:
        """Per passage, a score for each sentence: the question's words and character pairs it shares.

        Embedding every candidate sentence costs ~0.1 s each on two cores; the passage was
        already chosen by meaning, so picking its sentence by shared words is enough.
        """
        terms = content_terms(query)
        pairs = bigrams(query)
        out = []
        for passage, spans in zip(passages, sentences):
            scores = []
            for a, b in spans:
                sentence = norm(passage.text[a:b])
                scores.append(2 * sum(1 for t in terms if t in sentence) + len(pairs & bigrams(sentence)))
            out.append(np.array(scores, dtype=float))
        return out


def _find_cell(text: str, column: str, value: str) -> tuple[int, int]:
    needle = f"{column}：{value}"
    start = text.find(needle)
    return (start, start + len(needle)) if start >= 0 else (0, len(text))


def mark_span(text: str, span: tuple[int, int], css_class: str = "answer") -> str:
    """The passage as HTML with one span (an answer, a quotation) in <mark class="…">."""
    a, b = span
    return (html.escape(text[:a]) + f'<mark class="{css_class}">' + html.escape(text[a:b]) + "</mark>"
            + html.escape(text[b:]))
