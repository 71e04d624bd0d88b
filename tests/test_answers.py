"""Ask mode on the real corpus: answers, and the confidence that decides refusals."""
from __future__ import annotations

import pytest

from search.answers import ANSWERABLE_AT, ASKED_FIGURES


def figure_wanted(question: str):
    return next((shape for asks, shape in ASKED_FIGURES if asks.search(question)), None)


@pytest.mark.parametrize("question, answer, wanted", [
    ("研发投入强度的目标比例是多少？", "全社会研发投入强度超过3%", True),
    ("研发投入强度的目标比例是多少？", "研发投入强度持续提升", False),
    ("南川计划哪一年创建国家高新区？", "力争2026年创建成为国家高新区", True),
    ("人才公寓的租金是多少？", "到2025年建成人才公寓200套", False),  # a figure, but not an amount of money
    ("人才公寓的租金是多少？", "租金每月800元", True),
    ("高新技术企业要达到多少家？", "高新技术企业达到200家", True),
])
def test_the_kind_of_figure_a_question_asks_for(question, answer, wanted):
    assert bool(figure_wanted(question).search(answer)) is wanted


def test_a_list_question_asks_for_no_figure():
    assert figure_wanted("慧谷湖科创小镇分成哪几个功能区？") is None
    assert figure_wanted("涪陵打算怎么吸引海外人才？") is None


@pytest.mark.parametrize("question", [
    "涪陵打算怎么吸引海外人才？",
    "綦江2025年高新技术企业要达到多少家？",
    "南川和北碚分别打算怎样发展中医药",  # names two districts: each in one of the best answers
])
def test_answerable_questions_are_answered(engine, question):
    result = engine.ask(question)
    assert result.answerable and result.confidence >= ANSWERABLE_AT and result.hits


@pytest.mark.parametrize("question", [
    "上海的个人所得税起征点是多少？",  # a place the plans are not about
    "涪陵区2023年的地区生产总值是多少亿元？",  # a year the plans do not report on
    "北碚区人才公寓每月的租金是多少？",  # the plans build 人才公寓 but state no rent
])
def test_questions_the_documents_do_not_answer_are_refused(engine, question):
    result = engine.ask(question)
    assert not result.answerable and result.confidence < ANSWERABLE_AT
    assert result.hits == [] and all(h.passage.kind != "sign_off" for h in result.related)


def test_features_name_what_the_best_answers_lack(engine):
    hits, features, _ = engine.answers.assess("北碚区人才公寓每月的租金是多少？", 5)
    similarity, coverage, specifics_found, unknown, figure_missing = features
    assert 0 < similarity <= 1 and specifics_found == 1.0 and figure_missing == 1.0
    _, features, _ = engine.answers.assess("北碚2025年高新技术企业要达到多少家？", 5)
    assert features[2] == 1.0 and features[4] == 0.0
