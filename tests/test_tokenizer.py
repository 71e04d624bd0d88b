"""The analysis shared by indexing, querying and highlighting (search.tokenizer)."""
from __future__ import annotations

import pickle
import re
import threading
from pathlib import Path

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import tokenizer
from search.config import PROJECT_ROOT
from search.tokenizer import (analyze, analyzer, dictionary_terms, locate, normalize, normalize_simplified, part_of_speech,
                              tokenize)

# Named in the brief of the user dictionary: each must survive segmentation as one token.
DOMAIN_TERMS = [
    "专精特新", "成渝地区双城经济圈", "揭榜挂帅", "科技特派员", "知识价值信用贷款",
    "西部(重庆)科学城", "页岩气", "制氢", "慧谷湖科创小镇", "科技创新券", "新型研发机构",
]

MIXED = "ＡＩ与２０２５年的3%增长，比重达2.3%；科技創新、西部（重庆）科学城 ﬁnance ㎡ …… e\u0301clair 第3章"


def test_tokens_of_mixed_text():
    assert tokenize(MIXED) == [
        "ai", "与", "2025", "年", "的", "3%", "增长", "比重", "达", "2.3%", "科技", "创新",
        "西部(重庆)科学城", "finance", "m2", "éclair", "第", "3", "章",
    ]


def test_offsets_point_at_the_original_characters():
    spans = analyze(MIXED)
    for span in spans:
        assert normalize(MIXED[span.start : span.end]) == span.text
    by_text = {s.text: MIXED[s.start : s.end] for s in spans}
    # NFKC changed the length of these: the offsets still cover the original characters.
    assert by_text["finance"] == "ﬁnance"
    assert by_text["m2"] == "㎡"
    assert by_text["éclair"] == "e\u0301clair"
    assert by_text["西部(重庆)科学城"] == "西部（重庆）科学城"
    assert by_text["ai"] == "ＡＩ"
    assert by_text["创新"] == "創新"
    starts = [s.start for s in spans]
    assert starts == sorted(starts) and all(a.end <= b.start for a, b in zip(spans, spans[1:]))


def test_whoosh_tokens_have_ordinal_positions_and_exact_offsets():
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in analyzer()(MIXED, positions=True, chars=True)]
    assert [pos for _, pos, _, _ in tokens] == list(range(len(tokens)))
    assert [(text, start, end) for text, _, start, end in tokens] == [tuple(s) for s in analyze(MIXED)]
    assert [t.text for t in analyzer()(MIXED, mode="query")] == tokenize(MIXED)


def test_the_analyzer_can_be_pickled_into_a_whoosh_schema():
    clone = pickle.loads(pickle.dumps(analyzer()))
    assert [t.text for t in clone("页岩气制氢")] == ["页岩气", "制氢"]


@pytest.mark.parametrize(("variant", "plain"), [
    ("ＡＩ", "AI"), ("２０２５年", "2025年"), ("科技創新", "科技创新"), ("ＡＩ科技　创新", "ai 科技 创新"),
])
def test_width_case_and_script_variants_analyse_alike(variant, plain):
    assert tokenize(variant) == tokenize(plain)


def test_normalize():
    assert normalize("ＡＩ科技創新（２０２５）") == "ai科技创新(2025)"


def test_numbers_and_percentages_stay_whole():
    assert tokenize("2025年") == ["2025", "年"]
    assert tokenize("达到3%，比上年增长12.5%") == ["达到", "3%", "比", "上年", "增长", "12.5%"]
    assert tokenize("第1章第2节") == ["第", "1", "章", "第", "2", "节"]


def test_punctuation_and_whitespace_are_dropped_but_function_words_are_kept():
    assert tokenize("“十四五”时期，\t是……关键！") == ["十四五", "时期", "是", "关键"]
    assert tokenize("科技的发展") == ["科技", "的", "发展"]
    assert tokenize("") == [] and tokenize(" ，。") == []


@pytest.mark.parametrize("term", DOMAIN_TERMS)
def test_domain_terms_are_single_tokens(term):
    assert tokenize(term) == [term]
    assert term in tokenize(f"加快推进{term}建设")


def test_every_dictionary_term_is_one_token_on_its_own():
    assert set(DOMAIN_TERMS) <= dictionary_terms()
    assert [t for t in sorted(dictionary_terms()) if tokenize(t) != [t]] == []


def test_domain_terms_stay_whole_everywhere_in_the_corpus():
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            norm = normalize(line)
            terms = [term for term in DOMAIN_TERMS if term in norm]
            tokens = tokenize(line) if terms else []
            for term in terms:
                whole = sum(token.count(term) for token in tokens if term in token)
                assert whole == norm.count(term), f"{term} is split in {path.name}: {line}"


def test_userdict_entries_are_normalised_and_well_formed():
    lines = [line for line in (tokenizer.USERDICT_PATH).read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    for line in lines:
        word, freq, tag = line.split()
        assert normalize(word) == word and freq.isdigit() and re.fullmatch(r"[a-z]+", tag), line
    assert len({line.split()[0] for line in lines}) == len(lines), "duplicate entries"


def test_t2s_conversion_keeps_lengths_so_offsets_survive():
    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            key, values = line.split("\t")
            assert all(len(v) == len(key) for v in values.split(" ")), line


def test_locate_finds_a_normalised_needle_in_the_original_text():
    text = "建设西部（重庆）科学城和ＡＩ产业"
    assert [text[a:b] for a, b in locate(text, "(重庆)科学")] == ["（重庆）科学"]
    assert [text[a:b] for a, b in locate(text, "ai")] == ["ＡＩ"]
    assert locate(text, "不存在") == []


def test_lazy_initialisation_happens_once_across_threads_and_quietly(monkeypatch, capfd):
    built = []
    original = tokenizer._Analysis

    class Counting(original):
        def __init__(self):
            built.append(1)
            super().__init__()

    monkeypatch.setattr(tokenizer, "_analysis", None)
    monkeypatch.setattr(tokenizer, "_Analysis", Counting)
    barrier = threading.Barrier(8)
    results = []

    def work():
        barrier.wait()
        results.append(tokenize("成渝地区双城经济圈科技合作"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1
    assert results == [["成渝地区双城经济圈", "科技", "合作"]] * 8
    assert "prefix dict" not in capfd.readouterr().err


# Chinese (simplified and traditional), full-width forms, ligatures and other characters
# whose NFKC form is longer, combining accents, digits, percent signs and punctuation.
_ALPHABET = "科技创新創頭髮页岩气制氢专精特新西部重庆科学城（）()ＡＩａｉAIai２０２５2025年%％.．ﬁ㎡①½…e\u0301\u0323 ，。、“”"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_offsets_always_cover_the_token(text):
    spans = analyze(text)
    assert [s.text for s in spans] == tokenize(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.text in normalize(text[span.start : span.end])
    # In order; a token may share an original character only with its neighbour from the
    # same character (½ gives the tokens 1 and 2).
    assert all(a.start <= b.start and a.end <= b.end for a, b in zip(spans, spans[1:]))
    assert tokenize(normalize(text)) == tokenize(text)


@pytest.mark.parametrize("text", ["全社会研发投入（R&D）占ＧＤＰ比重：２．５％", "到2025年，高新技术企业达到300家。"])
def test_simplified_text_normalises_alike_without_the_traditional_pass(text):
    assert normalize_simplified(text) == normalize(text)


def test_the_simplified_only_normalisation_leaves_traditional_characters():
    assert normalize("科技創新") == "科技创新" and normalize_simplified("科技創新") == "科技創新"


def test_part_of_speech_of_a_word_and_of_a_policy_term():
    assert part_of_speech("改成") == "v" and part_of_speech("那样") == "r"
    assert part_of_speech("疫苗") == "n"
    assert part_of_speech(normalize("专精特新")) == "nz"  # the project's dictionary's tag
    assert part_of_speech("不是一个词") is None
