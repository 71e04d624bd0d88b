"""Indicator rows and the prose stating the same target (search.targets), on the real corpus."""
from __future__ import annotations

import re

import pytest

from search.targets import indicator_match, row_target, statement_of


def row(engine, doc_id: str, indicator: str):
    return next(p for p in engine.corpus.passages
                if p.doc_id == doc_id and p.kind == "table_row" and indicator in p.text)


def prose(engine, doc_id: str):
    return [p for p in engine.corpus.passages if p.doc_id == doc_id and p.kind != "table_row"]


@pytest.mark.parametrize("doc_id, indicator, target, stated", [
    ("fuling-plan", "指标：高新技术企业；", ("高新技术企业", "300"), "高新技术企业达到300家"),
    # The table's name and the text's differ: 研究与试验发展经费投入强度 / 研发投入…强度达到2.7%.
    ("fuling-plan", "研究与试验发展经费投入强度", ("研究与试验发展经费投入强度", "2.7"), "强度达到2.7%"),
    ("nanchuan-plan", "公民具备科学素质的比例", ("公民具备科学素质的比例", "15"), "公民具备科学素质的比例达到15%"),
])
def test_an_indicator_row_is_stated_in_its_documents_prose(keyword_engine, doc_id, indicator, target, stated):
    indicator_row = row(keyword_engine, doc_id, indicator)
    assert row_target(indicator_row) == target
    statement = statement_of(indicator_row, prose(keyword_engine, doc_id))
    assert statement is not None and stated in statement.text


def test_a_row_without_a_target_value_has_no_statement(keyword_engine):
    growth = row(keyword_engine, "nanchuan-plan", "全社会研发经费投入增长")  # 2025年目标值：—
    assert row_target(growth) is None
    assert statement_of(growth, prose(keyword_engine, "nanchuan-plan")) is None


def test_the_same_value_after_other_words_is_not_a_statement(keyword_engine):
    indicator_row = row(keyword_engine, "fuling-plan", "引育博士")  # 2025年目标：100
    others = [p for p in prose(keyword_engine, "fuling-plan") if re.search(r"(?<![\d.])100(?!\d)", p.text)
              and "博士" not in p.text]
    assert others  # 100 occurs in other passages: 100亿元, 100个…
    assert statement_of(indicator_row, others) is None


def test_a_comparison_of_targets_shows_each_row_then_its_statement(engine):
    hits = engine.search("各区到2025年万人发明专利拥有量的目标分别是多少？", k=10).hits
    ids = [hit.passage.id for hit in hits]
    rows = [hit.passage for hit in hits if hit.passage.kind == "table_row"]
    assert {r.doc_id.split("-")[0] for r in rows} >= {"beibei", "nanchuan", "qijiang", "fuling"}
    stated = 0
    for indicator_row in rows:
        statement = engine._statement_of(indicator_row.id)
        if statement is not None:
            stated += 1
            assert statement in ids and ids.index(statement) > ids.index(indicator_row.id)
    assert stated >= 3


def test_the_row_of_the_indicator_asked_is_found_through_the_documents_terms(keyword_engine):
    # 綦江's table calls R&D intensity 全社会研发经费占地区生产总值的比重: it shares only 研发
    # with the question, and the thesaurus gives its name.
    wordings = ["研发投入强度", *keyword_engine.thesaurus.expand("研发投入强度")]
    intensity = row(keyword_engine, "qijiang-plan", "全社会研发经费占地区生产总值的比重")
    growth = row(keyword_engine, "qijiang-plan", "全社会研发经费投入增长")
    institutions = row(keyword_engine, "qijiang-plan", "市级及以上研发机构数")
    assert indicator_match(intensity, wordings) >= 0.9
    assert indicator_match(intensity, wordings) > indicator_match(growth, wordings)
    assert indicator_match(institutions, wordings) < 0.5
    assert indicator_match(intensity, ["研发投入强度"]) < 0.5  # without the thesaurus
    # 2025年目标值：— is no target to compare.
    assert indicator_match(row(keyword_engine, "nanchuan-plan", "全社会研发经费投入增长"), wordings) == 0.0


def test_a_comparison_leads_each_district_with_the_row_of_the_indicator_asked(engine):
    hits = engine.search("四个区到2025年研发投入强度的目标", k=10).hits
    rows: dict[str, str] = {}  # each district's first row
    for hit in hits:
        if hit.passage.kind == "table_row":
            rows.setdefault(hit.document.district, hit.passage.text)
    assert set(rows) == {"綦江", "南川", "北碚", "涪陵"}
    assert all(re.search("强度|占地区生产总值|占GDP", text) for text in rows.values())
    texts = [hit.passage.text for hit in hits]
    assert any("研发投入强度超过3%" in re.sub(r"\s", "", t) for t in texts)  # 綦江's own statement
