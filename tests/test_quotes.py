"""Quotation checking (search.quotes) on the real corpus: verbatim, differs, not found, spans.

This module overrides conftest's ``engine`` with a keyword-only one (model="none"):
quotation checking never needs embeddings, and building without them keeps it fast.
"""
from __future__ import annotations

import json
import random
import unicodedata

import pytest

from search.errors import QueryError
from search.quotes import (CELL_BREAK, MAX_DRAFT_CHARS, PIECE_BREAK, QuoteFinder, content_length, normalise,
                           normalise_with_origin, quoted_spans, split_at, trim)

GAZETTE = "qijiang-gazette-2022-11.txt"


@pytest.fixture(scope="module")
def engine(keyword_engine):
    """Quotation checks need no embeddings."""
    return keyword_engine


@pytest.fixture(scope="module")
def finder(engine):
    return QuoteFinder(engine)


def nfkc(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def span_text(engine, check) -> str:
    return engine.corpus.sources[check.hit.document.source_file][check.span[0]:check.span[1]]


def only(checks):
    assert len(checks) == 1, [c.to_dict() for c in checks]
    return checks[0]


# -- pure functions --------------------------------------------------------------------------
def test_normalise_folds_widths_and_drops_blanks_and_invisible_characters():
    assert normalise("中国，空间站；\u3000２０２２年\n\n（一）\u200b Ａ") == "中国,空间站;2022年(一)A"
    assert normalise("。、“”") == "。、“”"  # no half-width form: unchanged, never dropped


@pytest.mark.parametrize("text, cells", [
    ("版图\n\n的关键变量", False),
    ("智慧仓\n\n\n\n储、智能分拣、RFID 电子标签", False),
    ("﹙一﹚㈠ ①ｸﾞ\ufeffé", False),
    ("1\n\t研究与试验发展经费投入强度（%）\n\t2.2\n\t4.4（预估）", True),
    ("\t甲\t\u200b\t乙 丙\n", True),
])
def test_normalise_with_origin_agrees_and_points_back(text, cells):
    norm, origin = normalise_with_origin(text, cells)
    assert norm == normalise(text, cells)
    assert len(origin) == len(norm)
    assert origin == sorted(origin)
    assert all(norm[k] in normalise(text[i]) or norm[k] == CELL_BREAK for k, i in enumerate(origin))


def test_table_cells_are_kept_apart():
    assert normalise("6\n\t技术合同成交额（亿元）\n\t6.6", cell_breaks=True) == "6\x00技术合同成交额(亿元)\x006.6"


def test_quoted_spans_outermost_nested_and_unbalanced():
    draft = '他说“为推进“十四五”时期的工作”，又说「甲乙」和"丙丁"，还有“未闭合的「内层」'
    spans = [draft[a:b] for a, b in quoted_spans(draft)]
    assert spans == ["为推进“十四五”时期的工作", "甲乙", "丙丁", "内层"]
    assert quoted_spans('“A"B”') == [(1, 4)]  # an unclosed inner mark does not swallow the closer
    assert quoted_spans("”没有开头“") == []


def test_split_and_trim_treat_ellipses_as_omissions():
    text = "……甲乙丙。丁戊己；庚……辛"
    assert [text[a:b] for a, b in split_at(PIECE_BREAK, text, 0, len(text))] == ["甲乙丙。", "丁戊己；", "庚", "辛"]
    assert text[slice(*trim(text, 0, len(text)))] == "甲乙丙。丁戊己；庚……辛"
    assert trim("……", 0, 2) == (0, 2)
    assert content_length("“十四五”，") == 3


# -- verbatim quotes from every document -------------------------------------------------------
REAL_QUOTES = [
    ("以科技创新推动高质量发展的攻坚阶段", "qijiang-plan"),
    ("着力推动企业成为创新主体，区域科技创新能力不断增强", "beibei-plan"),
    ("也是我区以科技创新催生新发展动能、推动高质量发展和创造高品质生活的关键时期", "fuling-plan"),
    ("奋力建设具有全国影响力的科技创新中心，着力打造高质量发展新的动力源的关键时期", "nanchuan-plan"),
    ("经过一步一步执着前行,中国人建成自己空间站的梦想正在实现。", "gazette-space-station-commentary"),
    ("为顺利开展第三次全国土壤普查工作提供基础数据支撑。", "gazette-soil-census-notice"),  # page break inside
    ("建立“三审三校”制度,坚持分级分类审核、先审后发", "gazette-three-reviews-rules"),
    ("政府信息公开保密审查应遵循“谁主管、谁负责,谁公开、谁审查”和“依法审查、一事一审、事前审查”的原则",
     "gazette-secrecy-review-rules"),  # nested quotes, and a page break inside
    ("制定本辖区、本部门、本单位重大行政决策事项目录", "gazette-decision-catalogue-notice"),  # page break
    ("提高我区创业导师服务质量和水平", "gazette-mentor-call"),
    ("推动綦江区大中型零售企业销售额超5亿元", "gazette-news"),  # the source has blanks around "5"
]


@pytest.mark.parametrize("quote, doc_id", REAL_QUOTES)
def test_real_quotes_are_verbatim_with_exact_source_spans(engine, finder, quote, doc_id):
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "verbatim" and check.similarity == 1.0 and check.diff is None
    assert check.hit.document.id == doc_id
    assert nfkc(span_text(engine, check)) == nfkc(quote)
    assert check.text == quote and check.position == (1, 1 + len(quote))
    assert check.quotation.startswith("“") and "\n" not in check.quotation
    assert nfkc(check.quotation).startswith(nfkc(f"“{quote}”（《{check.hit.document.title}》"))
    assert check.full_citation.startswith(f"《{check.hit.document.title}》")


def test_spans_stay_exact_across_gazette_page_breaks(engine, finder):
    check = only(finder.check("“为顺利开展第三次全国土壤普查工作提供基础数据支撑”"))
    assert check.hit.document.source_file == GAZETTE
    assert "\n\n" in span_text(engine, check)
    assert check.quotation.startswith("“为顺利开展第三次全国土壤普查工作提供基础数据支撑”（")


def test_every_sentence_of_the_corpus_is_found_at_its_span(engine, finder):
    rng = random.Random(7)
    for passage in rng.sample([p for p in engine.corpus.passages if p.kind == "paragraph"], 100):
        pieces = split_at(PIECE_BREAK, passage.text, 0, len(passage.text))
        a, b = rng.choice(pieces)
        if content_length(passage.text[a:b]) < 8:
            continue
        check = only(finder.check(f"“{passage.text[a:b]}”"))
        assert check.status == "verbatim", passage.text[a:b]
        assert nfkc(span_text(engine, check)) == nfkc(check.text)


def test_a_table_cell_is_found_inside_its_row(engine, finder):
    check = only(finder.check("“研究与试验发展经费投入强度（%）”"))
    assert check.status == "verbatim" and check.hit.passage.kind == "table_row"
    assert span_text(engine, check) == "研究与试验发展经费投入强度（%）"


# -- widths, punctuation and changed characters --------------------------------------------------
def test_own_file_is_preferred_and_the_gazette_copy_listed(finder):
    full_width = "坚持以习近平新时代中国特色社会主义思想为指导，坚持党对科技工作的全面领导"
    for quote in (full_width, full_width.replace("，", ",")):  # the gazette prints ","
        check = only(finder.check(f"“{quote}”"))
        assert check.status == "verbatim"
        assert check.hit.document.id == "qijiang-plan"
        assert "gazette-qijiang-plan" in {d["doc_id"] for d in check.hit.duplicates}


def test_half_width_punctuation_of_a_full_width_source_is_verbatim(finder):
    quote = "经过一步一步执着前行，中国人建成自己空间站的梦想正在实现。"  # the gazette has ","
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "verbatim" and check.hit.document.id == "gazette-space-station-commentary"


def test_changed_punctuation_differs_and_says_so(finder):
    quote = "经过一步一步执着前行,中国人建成自己空间站的梦想正在实现，三舱相拥于苍穹"
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "differs" and check.punctuation_only
    assert [op for op in check.diff if op["op"] != "equal"] == [{"op": "replace", "quote": "，", "source": "。"}]
    assert check.similarity > 0.95


def test_one_changed_character_differs_with_the_character_in_the_diff(engine, finder):
    quote = "也是我区以科技创新催化新发展动能、推动高质量发展和创造高品质生活的关键时期"
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "differs" and not check.punctuation_only
    assert check.hit.document.id == "fuling-plan"
    assert [op for op in check.diff if op["op"] != "equal"] == [{"op": "replace", "quote": "化", "source": "生"}]
    assert "".join(op["quote"] for op in check.diff) == quote
    assert "".join(op["source"] for op in check.diff) == span_text(engine, check)
    assert "催生新发展动能" in check.quotation  # the source's wording, ready to paste


def test_a_changed_first_character_still_belongs_to_the_span(engine, finder):
    check = only(finder.check("“X技创新已成为影响和改变世界经济版图的关键变量”"))
    assert check.status == "differs"
    assert span_text(engine, check) == "科技创新已成为影响和改变世界经济版图的关键变量"
    assert check.diff[0] == {"op": "replace", "quote": "X", "source": "科"}


def test_an_omission_without_ellipsis_shows_as_missing_source_text(finder):
    quote = "科技创新已成为影响和改变世界经济版图的关键变量，在新一轮科技革命下，基础科学不断向宏观拓展、向微观深入"
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "differs"
    assert [op for op in check.diff if op["op"] != "equal"] == [
        {"op": "insert", "quote": "", "source": "和产业变革加速演进"}]


def test_verbatim_is_never_claimed_for_a_different_text(finder):
    for quote in ("以科技创新推动高质量发展的攻坚阶段。", "以科技创新推动高质量发展的攻坚阶", "以科技创新推动高质量发展之攻坚阶段"):
        check = only(finder.check(f"“{quote}”"))
        assert check.status != "verbatim" or nfkc(quote) in nfkc(check.hit.passage.text), quote


# -- quotes spanning passages --------------------------------------------------------------------
def test_two_quotes_joined_are_found_each_in_its_passage(finder):
    first = "“十四五”时期，是重庆市深入推动科技创新，奋力建设具有全国影响力的科技创新中心，着力打造高质量发展新的动力源的关键时期。"
    second = "着力推动企业成为创新主体，区域科技创新能力不断增强"
    checks = finder.check(f"“{first}{second}”")
    assert [(c.status, c.hit.document.id, c.text) for c in checks] == [
        ("verbatim", "nanchuan-plan", first), ("verbatim", "beibei-plan", second)]
    assert checks[0].position == (1, 1 + len(first)) and checks[1].position == (1 + len(first), 1 + len(first) + len(second))


def test_a_quote_crossing_a_paragraph_boundary_is_split_there(finder):
    end = "科技创新综合实力和竞争力有了较大进步，奠定了“十四五”科技创新的坚实基础。"
    start = "创新格局逐步显现。区委、区政府坚持把创新作为引领发展的第一动力"
    checks = finder.check(f"“{end}{start}”")
    assert [c.status for c in checks] == ["verbatim", "verbatim"]
    assert checks[0].hit.passage.id != checks[1].hit.passage.id
    assert checks[0].span[1] < checks[1].span[0]


def test_an_ellipsis_marks_an_omission(finder):
    checks = finder.check("“科技创新已成为影响和改变世界经济版图的关键变量……基础科学不断向宏观拓展、向微观深入”")
    assert [(c.status, c.text) for c in checks] == [
        ("verbatim", "科技创新已成为影响和改变世界经济版图的关键变量"), ("verbatim", "基础科学不断向宏观拓展、向微观深入")]
    assert checks[0].hit.passage.id == checks[1].hit.passage.id


def test_a_quote_with_an_invented_part_reports_each_part(finder):
    real = "研究与试验发展经费投入强度达4.4%，位列全市第一。"
    invented = "我区将于明年建成世界一流的量子计算中心。"
    checks = finder.check(f"“{real}{invented}”")
    assert [(c.status, c.text) for c in checks] == [("verbatim", real), ("not_found", invented)]


def test_a_sentence_found_nowhere_is_not_split(finder):
    row = "指标名称：技术合同成交额（亿元）；2015年指标值：6.6；2020年指标值：7；“十三五”变化：增加0.4亿元"
    assert only(finder.check(row)).status == "not_found"  # the rendered row is not the document's text
    assert only(finder.check("“技术合同成交额（亿元）”")).hit.passage.kind == "table_row"


def test_a_typo_in_a_long_quote_keeps_it_whole(finder):
    quote = ("“十三五”时期，綦江聚焦全区科技创新总体目标，深入贯彻创新驱动发展战略，加快科技体制改革。"
             "充分发挥科技的示范和引导作用，加大创新投入、集聚创新资源、优化创新环境")
    check = only(finder.check(f"“{quote}”"))
    assert check.status == "differs"
    assert [op for op in check.diff if op["op"] != "equal"] == [
        {"op": "replace", "quote": "。", "source": "，"}, {"op": "replace", "quote": "导", "source": "领"}]


# -- not found, drafts, bad input ----------------------------------------------------------------
@pytest.mark.parametrize("quote", [
    "到2030年，全区将建成十个国家级人工智能开放创新平台。",
    "南川区计划在三年内引进诺贝尔奖得主五名。",
    "加强基础研究，提升原始创新能力，打造具有全国影响力的科技创新中心。",
])
def test_invented_sentences_are_not_found(finder, quote):
    for draft in (quote, f"“{quote}”"):
        check = only(finder.check(draft))
        assert check.status == "not_found" and check.hit is None and check.span is None and check.diff is None
        assert check.similarity < 0.75
        assert check.to_dict()["source"] is None


def test_a_draft_paragraph_reports_quotes_and_copied_sentences_in_order(finder):
    copied = "研究与试验发展经费投入强度达4.4%，位列全市第一。"
    draft = ("我区在编制规划时认真学习了兄弟区县的好经验好做法。綦江区的规划指出：“科技创新已成为影响和改变世界经济版图的关键变量”，"
             "涪陵区则强调“也是我区以科技创新催生新发展动能、推动高质量发展和创造高品质生活的关键时期”。"
             f"{copied}我们将结合本区实际，认真抓好各项任务的落实。")
    checks = finder.check(draft)
    assert [(c.status, c.hit.document.id) for c in checks] == [
        ("verbatim", "qijiang-plan"), ("verbatim", "fuling-plan"), ("verbatim", "beibei-plan")]
    assert checks[2].text == copied
    assert [draft[a:b] for a, b in (c.position for c in checks)] == [c.text for c in checks]


def test_short_quoted_terms_are_not_quotations(finder):
    check = only(finder.check("对“专精特新”企业实行定点帮扶，强化指导提升申报质量。"))
    assert check.status == "verbatim" and check.text == "对“专精特新”企业实行定点帮扶，强化指导提升申报质量。"


def test_a_sentence_without_quotation_marks_gets_exactly_one_result(finder):
    assert only(finder.check("以科技创新推动高质量发展的攻坚阶段")).status == "verbatim"
    assert only(finder.check("科技创新")).status == "verbatim"  # too short to split, still checked
    assert len(finder.check("以科技创新推动高质量发展的攻坚阶段。我区将建设世界一流的量子计算中心。")) == 2


@pytest.mark.parametrize("draft", ["hello world", "12345 !!!", "……"])
def test_text_without_chinese_is_not_found(finder, draft):
    check = only(finder.check(draft))
    assert check.status == "not_found" and check.text == draft


def test_html_is_returned_as_plain_text(finder):
    quote = "<script>alert('x')</script>我区将建成世界一流的量子计算中心"
    result = only(finder.check(f"“{quote}”")).to_dict()
    assert result["text"] == quote and result["status"] == "not_found"
    assert "<script>" in json.dumps(result, ensure_ascii=False)  # escaping is the web layer's job


def test_to_dict_contract(finder):
    data = only(finder.check("“以科技创新推动高质量发展的攻坚阶段”")).to_dict()
    assert {"text", "status", "source", "span", "diff", "similarity", "citation", "citation_full",
            "quotation", "position"} <= set(data)
    assert data["source"]["document"]["id"] == "qijiang-plan"
    assert data["citation"] == data["source"]["citation"]
    assert "綦江府发〔2022〕26号" in data["citation_full"] and "2022年8月27日" in data["citation_full"]
    assert isinstance(data["span"], list) and isinstance(data["position"], list)
    json.dumps(data)


def test_engine_verify_validates_and_builds_once(engine):
    with pytest.raises(QueryError):
        engine.verify("   ")
    with pytest.raises(QueryError, match=str(MAX_DRAFT_CHARS)):
        engine.verify("字" * (MAX_DRAFT_CHARS + 1))
    assert only(engine.verify("  “以科技创新推动高质量发展的攻坚阶段”  ")).status == "verbatim"
    finder = engine._quotes
    engine.verify("以科技创新推动高质量发展的攻坚阶段")
    assert engine._quotes is finder


# -- sources for the search box --------------------------------------------------------------------
def test_find_sources_puts_the_exact_source_first(engine, finder):
    sources = finder.find_sources("以科技创新推动高质量发展的攻坚阶段")
    assert sources[0][1:] == (1.0, True)
    assert engine.passage(sources[0][0]).doc_id == "qijiang-plan"
    assert engine.passage(sources[1][0]).doc_id == "gazette-qijiang-plan"
    near = finder.find_sources("也是我区以科技创新催化新发展动能、推动高质量发展和创造高品质生活的关键时期", limit=1)
    assert len(near) == 1 and engine.passage(near[0][0]).doc_id == "fuling-plan" and not near[0][2]
    assert finder.find_sources("南川区计划在三年内引进诺贝尔奖得主五名") == []
    assert finder.find_sources("，。……") == []
