"""Chinese text analysis shared by indexing, querying and highlighting.

One analysis, used everywhere, so that what is indexed is exactly what a query looks up:

1. normalise: Unicode NFKC (full-width ＡＩ２０２５ → AI2025, ligatures expanded), lower
   case, traditional → simplified Chinese (OpenCC ``t2s``);
2. split the normalised text into runs: dictionary terms that contain non-Chinese
   characters (西部(重庆)科学城), runs of Chinese characters, and runs of letters/digits
   (2025, 3%, 2.3%, 5g); everything else (punctuation, spaces, symbols) is dropped;
3. segment each Chinese run with a private jieba tokenizer that knows the policy
   vocabulary in ``data/userdict.txt`` (HMM off: unknown words fall back to single
   characters the same way in documents and in queries, instead of being guessed
   differently depending on their context).

Tokens never overlap (only the pieces of one expanded character share it: ½ gives 1 and
2), positions are ordinal (0, 1, 2, ...) and every token carries the character offsets
of its surface form in the *original* text, so highlights land on the characters the
user sees even where normalisation changed the length (ﬁ, ㎡, e + combining accent).
"""
from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Iterator, NamedTuple

from whoosh.analysis import Token, Tokenizer

USERDICT_PATH = Path(__file__).resolve().parent / "data" / "userdict.txt"

# Function words dropped from plain query terms (never from phrases, never at index time,
# so positions and phrase matching are unaffected): they match almost every passage and
# only stop the passages that contain all the real words from ranking first.
STOPWORDS = frozenset(
    "的 地 得 了 着 过 和 与 及 以及 或 或者 并 并且 而 且 等 等等 在 是 对 为 以 之 其 "
    "把 被 将 从 由 于 向 就 都 也 还 又 所 该 这 那 这些 那些 哪 哪些 哪个 什么 怎么 "
    "怎样 怎么样 如何 多少 几 是否 有没有 吗 呢 吧 啊 我 我们 你 你们 他 他们 它 有 要".split()
)

# Words of how a question is put, not of what it asks about: natural-language questions
# (hybrid search, ask) do not score them, nor need them in a passage. The last line is how
# a question points into the documents (指标表里, 原文, 条款): no passage names itself so.
QUESTION_WORDS = frozenset("""什么 怎么 怎样 怎么样 如何 哪些 哪个 哪里 哪 哪几 几个 多少 是否 有没有 吗 呢 吧 啊 的 了 和 与 及
是 有 在 对 把 被 给 让 要 会 能 将 打算 准备 计划 规划 提出 方面 分别 主要 重点 情况 这个 那个 一下 请问 目前 现在
为什么 为何 还 都 也 就 又 到 从 以 由 上 下 中 里 时 后 前 多 少 年 区 我们 他们 其 该
表里 表格 附表 原文 正文 文中 文本 条款 章节 公报""".split())

# What makes a query a question (rather than a list of terms): an interrogative or a question mark.
INTERROGATIVE = re.compile(r"什么|怎么|怎样|如何|为何|哪|几|多少|是否|有没有|吗|呢|[？?]")

# How a question asks to compare districts (各区…分别, 对比): its words, not its subject.
COMPARISON = re.compile(r"各区|各个区|几个区|四个区|各地|各区县|分别|对比|比较|异同")

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Group 1: a run of Chinese characters, for jieba. Group 2: a run of other letters and
# digits, with decimals and a percent sign kept on (2025, 2.3%, 3%, 5g, v1.0).
_RUN_RE = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+(?:\.\d+)*%?)")


class Span(NamedTuple):
    """One token: its normalised text and its [start, end) offsets in the original text."""

    text: str
    start: int
    end: int


class _CharTable(dict):
    """str.translate table: code point → its NFKC + lower-case form, filled on demand."""

    def __missing__(self, cp: int) -> str:
        value = unicodedata.normalize("NFKC", chr(cp)).lower()
        self[cp] = value
        return value


_CHAR_TABLE = _CharTable()


def _changing_chars() -> set[str]:
    """Characters that OpenCC's t2s dictionaries may change.

    The converter replaces dictionary keys by values that differ from the key only where
    the key holds one of these characters, so a text without any is left as it is and
    the (slow, pure-Python) conversion can be skipped.
    """
    import opencc

    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    chars: set[str] = set()
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            key, values = line.split("\t", 1)
            for value in values.split(" "):
                chars.update(k for k, v in zip(key, value) if k != v)
    return chars


def _nfkc_lower(s: str) -> str:
    return unicodedata.normalize("NFKC", s).lower()


def _normalize_with_map(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFKC + lower case, with a map back to the original text.

    Returns ``(normalised, starts, ends)``: normalised character ``j`` comes from original
    characters ``starts[j]:ends[j]``. Both maps are None when the mapping is one-to-one
    (the usual case), which saves building them.
    """
    per_char = text.translate(_CHAR_TABLE)
    # Per-character normalisation equals whole-text NFKC unless characters compose
    # (e + combining accent) or reorder; NFC-normal output rules that out.
    if len(per_char) == len(text) and unicodedata.is_normalized("NFC", per_char):
        return per_char, None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        norm = _CHAR_TABLE[ord(text[i])]
        # Grow the cluster while the next character changes how it normalises.
        while j < n:
            joined = _nfkc_lower(text[i : j + 1])
            if joined == norm + _CHAR_TABLE[ord(text[j])]:
                break
            norm = joined
            j += 1
        out.append(norm)
        starts.extend([i] * len(norm))
        ends.extend([j] * len(norm))
        i = j
    return "".join(out), starts, ends


class _Analysis:
    """The loaded resources: jieba tokenizer, OpenCC converter, dictionary terms."""

    def __init__(self) -> None:
        import jieba
        from opencc import OpenCC

        jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict..." on stderr
        self.jieba = jieba.Tokenizer()
        self.jieba.initialize()
        self.t2s = OpenCC("t2s")
        self.convertible = re.compile(f"[{''.join(map(re.escape, sorted(_changing_chars())))}]")
        terms: set[str] = set()
        protected: list[str] = []
        for word, freq, tag in _read_userdict(USERDICT_PATH):
            word = self.normalize(word)
            terms.add(word)
            run = _RUN_RE.fullmatch(word)
            if run and run.group(1):
                self.jieba.add_word(word, freq, tag)
            else:  # jieba would split it at its non-Chinese characters: match it first
                protected.append(word)
        self.terms = frozenset(terms)
        protected.sort(key=len, reverse=True)
        self.protected = re.compile("|".join(map(re.escape, protected))) if protected else None

    @functools.cached_property
    def word_tags(self) -> dict[str, str]:
        """jieba's part-of-speech tag of each word of its dictionaries (ours included)."""
        from jieba.posseg import POSTokenizer

        tagger = POSTokenizer(self.jieba)
        tagger.makesure_userdict_loaded()
        return tagger.word_tag_tab

    def normalize(self, text: str) -> str:
        return self.convert(_normalize_with_map(text)[0])

    def convert(self, normalised: str) -> str:
        # t2s maps every string to one of the same length (checked in the tests), so
        # offsets computed on the normalised text stay valid.
        if self.convertible.search(normalised):
            return self.t2s.convert(normalised)
        return normalised

    def analyze(self, text: str) -> list[Span]:
        norm, starts, ends = _normalize_with_map(text)
        norm = self.convert(norm)
        spans: list[Span] = []

        def emit(token: str, a: int, b: int) -> None:
            if starts is None:
                spans.append(Span(token, a, b))
            else:
                spans.append(Span(token, starts[a], ends[b - 1]))

        def runs(a: int, b: int) -> None:
            for m in _RUN_RE.finditer(norm, a, b):
                if m.group(1):
                    pos = m.start()
                    for word in self.jieba.cut(m.group(1), HMM=False):
                        emit(word, pos, pos + len(word))
                        pos += len(word)
                else:
                    emit(m.group(0), m.start(), m.end())

        pos = 0
        if self.protected is not None:
            # Protected terms split the text first; jieba then segments the gaps.
            for m in self.protected.finditer(norm):
                runs(pos, m.start())
                emit(m.group(0), m.start(), m.end())
                pos = m.end()
        runs(pos, len(norm))
        return spans

    def locate(self, text: str, needle: str) -> list[tuple[int, int]]:
        norm, starts, ends = _normalize_with_map(text)
        norm = self.convert(norm)
        found = []
        i = norm.find(needle) if needle else -1
        while i >= 0:
            j = i + len(needle)
            found.append((i, j) if starts is None else (starts[i], ends[j - 1]))
            i = norm.find(needle, j)
        return found


_lock = threading.Lock()
_analysis: _Analysis | None = None


def _get() -> _Analysis:
    """The shared analysis resources, loaded once, on first use, by one thread."""
    global _analysis
    if _analysis is None:
        with _lock:
            if _analysis is None:
                _analysis = _Analysis()
    return _analysis


def _read_userdict(path: Path) -> Iterator[tuple[str, int | None, str | None]]:
    """``(word, freq, tag)`` of each line "word [freq] [tag]" of a jieba user dictionary
    (``#`` starts a comment line). A missing freq is left to jieba, which then picks one
    just high enough to keep the word whole."""
    for line in path.read_text(encoding="utf-8").splitlines():
        word, *rest = line.split() or ["#"]
        if word.startswith("#"):
            continue
        freq = next((int(p) for p in rest if p.isdigit()), None)
        tag = next((p for p in rest if not p.isdigit()), None)
        yield word, freq, tag


def normalize(text: str) -> str:
    """NFKC, lower case and traditional → simplified Chinese: the form that is indexed."""
    return _get().normalize(text)


def normalize_simplified(text: str) -> str:
    """NFKC and lower case, without the traditional → simplified pass: for the corpus's own
    text, which is in simplified characters, when it is matched against normalised words
    in bulk (a district's whole text, every passage of a document). The pass costs ~0.3 ms
    a passage: over a 100× corpus, a district's text took seconds and a comparison's first
    turns forty."""
    return unicodedata.normalize("NFKC", text).lower()


def analyze(text: str) -> list[Span]:
    """Tokens of ``text`` with their offsets in ``text`` (see the module docstring)."""
    return _get().analyze(text)


def tokenize(text: str) -> list[str]:
    """The normalised tokens of ``text``, in order: exactly the indexed terms."""
    return [span.text for span in _get().analyze(text)]


def locate(text: str, needle: str) -> list[tuple[int, int]]:
    """Offsets in ``text`` of the occurrences of ``needle`` (normalised) in its normalised form."""
    return _get().locate(text, needle)


def part_of_speech(word: str) -> str | None:
    """jieba's part-of-speech tag of a token (n, v, r…), or None for a word it has no tag for."""
    return _get().word_tags.get(word)


def dictionary_terms() -> frozenset[str]:
    """The (normalised) words of the user dictionary: domain terms kept as one token."""
    return _get().terms


class JiebaTokenizer(Tokenizer):
    """whoosh tokenizer running :func:`analyze`: ordinal positions, original offsets.

    Holds no state, so whoosh can pickle it into the index schema.
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        spans = analyze(value) if tokenize else [Span(normalize(value), 0, len(value))]
        for i, span in enumerate(spans):
            t.text = span.text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[span.start : span.end]
            if positions:
                t.pos = start_pos + i
            if chars:
                t.startchar = start_char + span.start
                t.endchar = start_char + span.end
            yield t


def analyzer() -> JiebaTokenizer:
    """The whoosh analyzer for every text field (index time and query time alike)."""
    return JiebaTokenizer()
