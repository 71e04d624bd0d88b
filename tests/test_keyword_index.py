"""Keyword search: ranking, query language, filters, snippets (search.keyword_index)."""
from __future__ import annotations

import importlib.util
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from whoosh import index as whoosh_index
from whoosh.query import Or, Phrase, Term

from search.config import PROJECT_ROOT
from search.corpus import load_corpus
from search.errors import IndexNotBuilt
from search.keyword_index import (
    ARRAYS_FILE, FIELD_BOOSTS, META_FILE, PHRASE_FIELDS, KeywordIndex, build_keyword_index, highlight, unquoted,
)
from search.model import Document, Passage
from search.tokenizer import dictionary_terms

DOCUMENTS = {
    "qj": Document("qj", "綦江区科技创新规划", "綦江", "qj.txt"),
    "fl": Document("fl", "涪陵区科技创新规划", "涪陵", "fl.txt"),
    "bb": Document("bb", "北碚区科技创新规划", "北碚", "bb.txt"),
}
# (id, doc, heading path, text)
ROWS = [
    ("p1", "qj", ("第一章 发展基础", "第一节 能源"), "推动页岩气制氢技术研发，加快页岩气综合利用。"),
    ("p2", "qj", ("第一章 发展基础",), "页岩气开采装备制造。"),
    ("p3", "fl", ("第二章 产业",), "发展氢能产业，推进电解水制氢。"),
    ("p4", "fl", ("第二章 产业",), "全社会研发投入强度达到3%，2025年目标实现。"),
    ("p5", "bb", ("第三章 数字",), "ＡＩ与大数据融合发展"),
    ("p6", "bb", ("第三章 数字",), "科技創新是第一动力"),
    ("p7", "bb", ("第三章 数字",), "创新科技服务体系"),
    ("p8", "qj", ("第二章 合作",), "加快建设西部（重庆）科学城，融入成渝地区双城经济圈。"),
    ("p9", "qj", ("第二章 合作",), "培育新型研发机构和科技型企业。"),
    ("p10", "fl", (), "榨菜产业的发展"),
]


def ids(results):
    return [pid for pid, _ in results[0]]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    passages = [Passage(pid, doc, heading, text, 0, len(text)) for pid, doc, heading, text in ROWS]
    directory = tmp_path_factory.mktemp("keyword")
    build_keyword_index(passages, DOCUMENTS, directory, progress=False)
    return directory


@pytest.fixture(scope="module")
def index(index_dir):
    index = KeywordIndex(index_dir)
    yield index
    index.close()


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(PROJECT_ROOT / "corpus")


@pytest.fixture(scope="module")
def corpus_dir(corpus, tmp_path_factory):
    directory = tmp_path_factory.mktemp("corpus-keyword")
    build_keyword_index(corpus.passages, corpus.documents, directory, progress=False)
    return directory


@pytest.fixture(scope="module")
def corpus_index(corpus_dir):
    index = KeywordIndex(corpus_dir)
    yield index
    index.close()


# -- ranking and matching ---------------------------------------------------------------


def test_passages_with_every_word_come_first(index):
    results, total = index.search("页岩气 制氢")
    assert total == 3 and ids((results, total))[0] == "p1"
    assert set(ids((results, total))[1:]) == {"p2", "p3"}
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)


def test_require_all_keeps_only_passages_with_every_word(index):
    assert index.search("页岩气 制氢", require_all=True) == (index.search("页岩气 制氢")[0][:1], 1)
    assert index.search("页岩气 榨菜", require_all=True) == ([], 0)


def test_words_typed_without_spaces_are_split_by_the_tokenizer(index):
    assert ids(index.search("页岩气制氢"))[0] == "p1"
    assert ids(index.search("成渝地区双城经济圈建设"))[0] == "p8"


def test_function_words_do_not_keep_the_best_passage_from_ranking_first(index):
    assert ids(index.search("榨菜的发展"))[0] == "p10"
    assert index.search("的")[1] == 1  # a query of function words only still searches them


def test_width_and_script_variants_find_the_same_passages(index):
    assert ids(index.search("AI")) == ids(index.search("ＡＩ")) == ["p5"]
    assert ids(index.search("科技创新", limit=1)) == ids(index.search("科技創新", limit=1))


def test_numbers_and_percentages(index):
    assert ids(index.search("2025年")) == ["p4"]
    assert ids(index.search("3%")) == ids(index.search("3")) == ["p4"]


def test_a_word_matches_the_dictionary_terms_containing_it(index):
    assert ids(index.search("研发机构")) == ["p9"]  # indexed as the single token 新型研发机构
    assert ids(index.search("科学城")) == ["p8"]  # indexed as 西部(重庆)科学城
    assert "p9" in ids(index.search("科技型"))


def test_quoted_phrases_match_only_the_exact_phrase(index):
    for query in ('"科技创新"', "“科技创新”", '"科技 创新"', "「科技创新」"):
        assert ids(index.search(query)) == ["p6"], query  # not p7: 创新科技
    assert ids(index.search('"页岩气制氢"')) == ["p1"]
    assert ids(index.search('"第一节 能源"')) == ["p1"]  # headings count too
    assert index.search('"制氢 页岩气"') == ([], 0)
    assert ids(index.search('"科学城"')) == ["p8"]



def test_unquoted_words_are_plain_words(index):
    assert unquoted("“科技创新”") == " 科技创新 "
    assert set(ids(index.search(unquoted('"科技创新"')))) >= {"p6", "p7"}  # 创新科技 too


def test_exclusions(index):
    assert ids(index.search("页岩气 -制氢")) == ["p2"]
    assert ids(index.search("页岩气 NOT 制氢")) == ["p2"]
    assert set(ids(index.search('页岩气 -"页岩气制氢"'))) == {"p2"}
    assert index.search("-页岩气") == ([], 0)  # nothing positive to look for


def test_filters(index):
    assert ids(index.search("制氢", district="涪陵")) == ["p3"]
    assert ids(index.search("制氢", doc_id="qj")) == ["p1"]
    assert set(ids(index.search("页岩气 制氢", chapter="第一章"))) == {"p1", "p2"}
    assert ids(index.search("页岩气", chapter="第一章 发展基础", district="綦江", doc_id="qj", limit=1)) == ["p1"]
    assert index.search("制氢", district="南川") == ([], 0)
    assert index.search("制氢", chapter="第九章") == ([], 0)


def test_limit_and_total(index):
    results, total = index.search("发展", limit=2)  # p1 and p2 by their heading 发展基础
    assert len(results) == 2 and total == 5
    assert index.search("发展", limit=0) == ([], 5)


@pytest.mark.parametrize("query", [
    "AND OR NOT * ? ~ [ ] { } : ^", '"unbalanced', "“unbalanced", "((", "-", '""', "***",
    "title:页岩气", "页岩气^2", "制氢~", "NOT", "页岩气 AND 制氢", "\x00\n\t", "a" * 500,
])
def test_syntax_garbage_never_raises(index, query):
    results, total = index.search(query)
    assert isinstance(results, list) and total >= len(results)


def test_whoosh_operators_are_read_sensibly(index):
    assert ids(index.search("页岩气 AND 制氢"))[0] == "p1"
    assert set(ids(index.search("页岩气^2"))) == {"p1", "p2"}


def test_empty_queries_match_nothing(index):
    for query in ("", "   ", "，。！", "「」"):
        assert index.search(query) == ([], 0)


def test_coverage_is_the_idf_share_of_the_words_the_best_passage_holds(index):
    both = index.coverage("页岩气 制氢", ["p1"])
    assert both == pytest.approx(1.0)
    shale = index._idf("页岩气")
    assert index.coverage("页岩气 制氢", ["p2"]) == pytest.approx(shale / (shale + index._idf("制氢")))
    assert index.coverage("页岩气 制氢", ["p2", "p1", "p5"]) == pytest.approx(1.0)  # the best one counts
    assert index.coverage("页岩气 制氢", ["p5"]) == 0.0
    assert index.coverage("页岩气 制氢", []) == 0.0
    assert index.coverage("的", ["p1"]) == 0.0  # nothing scored
    # Ignored words (a question's) are left out of the share.
    assert index.coverage("页岩气 榨菜", ["p2"], ignored=frozenset({"榨菜"})) == pytest.approx(1.0)


def test_query_terms(index):
    assert index.query_terms('页岩气 "科技 创新" -制氢') == ["页岩气", "科技 创新"]
    assert index.query_terms("榨菜的发展") == ["榨菜的发展", "榨菜", "发展"]
    assert index.query_terms("2025年") == ["2025年", "2025"]  # not 年 alone
    assert index.query_terms("ＡＩ") == ["ai"]
    assert index.query_terms("") == []


def test_concurrent_searches_agree_with_sequential_ones(index):
    queries = ["页岩气 制氢", '"科技创新"', "发展", "页岩气 -制氢", "研发机构"] * 20
    expected = [index.search(q) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(index.search, queries)) == expected


def test_missing_or_broken_index_raises_index_not_built(tmp_path, index_dir):
    with pytest.raises(IndexNotBuilt, match="plansearch build"):
        KeywordIndex(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / META_FILE).write_bytes((index_dir / META_FILE).read_bytes())
    (broken / ARRAYS_FILE).write_bytes((index_dir / ARRAYS_FILE).read_bytes()[:100])
    with pytest.raises(IndexNotBuilt):
        KeywordIndex(broken)


# -- consistency with whoosh, the index of record ---------------------------------------


def whoosh_ranking(directory, token):
    """whoosh's own BM25F ranking of one token over every scored field."""
    with whoosh_index.open_dir(str(directory)).searcher() as searcher:
        hits = searcher.search(Or([Term(f, token) for f in FIELD_BOOSTS]), limit=None)
        return [(hit["id"], hit.score) for hit in hits]


@pytest.mark.parametrize("token", ["发展", "建设", "页岩气", "中医药", "北碚", "榨菜"])
def test_bm25_scores_equal_whooshs(corpus_dir, corpus_index, token):
    assert not any(token in term for term in dictionary_terms() - {token})  # no alternatives
    expected = dict(whoosh_ranking(corpus_dir, token))
    results, total = corpus_index.search(token, limit=len(expected) + 10)
    assert total == len(expected) > 0
    # Every passage has the single word, so every one gets the same bonus (the top raw
    # score): top score = 2 × bonus. whoosh rounds field lengths, hence the tolerance.
    bonus = results[0][1] / 2
    assert {pid: score - bonus for pid, score in results} == pytest.approx(expected, rel=0.05)
    order = [pid for pid, _ in results]
    assert all(expected[a] >= expected[b] * 0.95 for a, b in zip(order, order[1:]))


def whoosh_phrase(directory, phrase):
    """The passages whose text or headings whoosh finds ``phrase`` (space-separated tokens) in."""
    with whoosh_index.open_dir(str(directory)).searcher() as searcher:
        query = Or([Phrase(f, phrase.split()) for f in PHRASE_FIELDS])
        return {searcher.stored_fields(d)["id"] for d in searcher.docs_for_query(query)}


@pytest.mark.parametrize("phrase", ["成渝地区双城经济圈 建设", "的 发展", "页岩气 制氢", "高质量 发展", "创新 驱动 发展"])
def test_phrases_match_the_passages_whoosh_finds(corpus_dir, corpus_index, phrase):
    results, total = corpus_index.search(f'"{phrase}"', limit=10_000)
    assert {pid for pid, _ in results} == whoosh_phrase(corpus_dir, phrase) and total == len(results) > 0


def test_a_phrase_also_matches_dictionary_terms_containing_it(corpus, corpus_dir, corpus_index):
    results, _ = corpus_index.search('"科技 创新"', limit=10_000)
    extra = {pid for pid, _ in results} - whoosh_phrase(corpus_dir, "科技 创新")
    texts = {p.id: p.text for p in corpus.passages}
    assert extra and all("科技创新券" in texts[pid] for pid in extra)


def test_real_corpus_queries(corpus, corpus_index):
    passages = {p.id: p for p in corpus.passages}
    top = ids(corpus_index.search("慧谷湖科创小镇", limit=5))
    assert len(top) == 5
    assert all("慧谷湖科创小镇" in " ".join((*passages[p].heading_path, passages[p].text)) for p in top)
    results, total = corpus_index.search("成渝地区双城经济圈科技合作", limit=5)
    assert total > 5 and all("成渝地区双城经济圈" in passages[p].text for p, _ in results)


# -- highlight -----------------------------------------------------------------------------


def unmarked(snippet):
    return re.sub(r"</?mark>", "", snippet)


def test_highlight_escapes_html():
    text = "<script>alert('页岩气')</script> & 页岩气"
    assert highlight(text, ["页岩气"]) == (
        "&lt;script&gt;alert(&#x27;<mark>页岩气</mark>&#x27;)&lt;/script&gt; &amp; <mark>页岩气</mark>"
    )


def test_highlight_marks_every_occurrence_without_nesting_or_doubling():
    text = "页岩气制氢，页岩气开采，电解水制氢。"
    snippet = highlight(text, ["页岩气", "页岩气制氢", "制氢", "页岩气 制氢"])
    assert snippet == "<mark>页岩气制氢</mark>，<mark>页岩气</mark>开采，电解水<mark>制氢</mark>。"
    assert "<mark><mark>" not in snippet and unmarked(snippet) == text


def test_highlight_marks_original_characters_for_normalised_terms():
    assert highlight("发展ＡＩ产业", ["ai"]) == "发展<mark>ＡＩ</mark>产业"
    assert highlight("ﬁnance与科技創新", ["finance", "科技创新"]) == "<mark>ﬁnance</mark>与<mark>科技創新</mark>"
    assert highlight("建设西部（重庆）科学城", ["科学城"]) == "建设西部（重庆）<mark>科学城</mark>"


def test_highlight_numbers_and_percentages():
    assert highlight("到2025年研发投入强度达3%，2.5%以上", ["2025年", "3"]) == (
        "到<mark>2025年</mark>研发投入强度达<mark>3%</mark>，2.5%以上"
    )


def test_highlight_a_phrase_only_where_it_occurs(index):
    terms = index.query_terms('"科技 创新"')
    assert highlight("推动科技创新，创新科技服务", terms) == "推动<mark>科技创新</mark>，创新科技服务"


def test_highlight_inside_dictionary_terms():
    assert highlight("培育新型研发机构", ["研发机构"]) == "培育新型<mark>研发机构</mark>"


def test_highlight_cuts_long_text_around_the_matches():
    text = "前" * 300 + "，推动页岩气制氢技术研发。" + "后" * 300
    snippet = highlight(text, ["页岩气"], max_chars=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>页岩气</mark>" in snippet and len(unmarked(snippet)) <= 62
    assert unmarked(snippet).strip("…").startswith("推动")  # starts after the clause boundary
    short = "页岩气制氢"
    assert highlight(short, ["制氢"]) == "页岩气<mark>制氢</mark>"
    assert highlight("无关文本" * 100, ["页岩气"], max_chars=20) == "无关文本" * 5 + "…"


def test_latency_bench_runs_on_a_built_index(corpus_dir, capsys):
    spec = importlib.util.spec_from_file_location("keyword_latency", PROJECT_ROOT / "bench" / "keyword_latency.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--index", str(corpus_dir), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"searches .* p50 [\d.]+ ms, p95 [\d.]+ ms", out), out


def test_keyword_mode_gives_each_compared_district_its_turn_with_the_words(engine):
    """A comparison typed as keywords (南川 涪陵 … 分别) interleaves the districts' passages,
    each containing the word compared: within 南川's documents, 涪陵 and 分别 are not searched
    for. The total counts every matching passage of both."""
    result = engine.search("南川 涪陵 中医药 分别", mode="keyword", k=6)
    assert [h.document.district for h in result.hits] == ["南川", "涪陵"] * 3
    assert all("中医药" in h.passage.text for h in result.hits)
    assert result.total > len(result.hits)
