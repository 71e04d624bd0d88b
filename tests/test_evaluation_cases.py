"""The labelled cases stay honest against the corpus, and the scorer computes what it claims.

Fast: no index or engine is built; evaluate() runs against a stub engine.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from types import SimpleNamespace

import pytest

from search import evaluation
from search.config import PROJECT_ROOT
from search.errors import QueryError
from search.evaluation import (
    answer_in,
    check_floors,
    evaluate,
    format_report,
    load_cases,
    normalise,
    score_case,
)
from search.model import Document, Hit, Passage

CORPUS = PROJECT_ROOT / "corpus"
MINIMUM_PER_TYPE = {
    "keyword": 20, "question": 20, "quote": 10, "quote_altered": 8,
    "table": 12, "paraphrase": 8, "cross": 6, "negative": 8,
}
CASES = load_cases(evaluation.DEFAULT_CASES)
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
# normalised once: the checks below run over hundreds of golds
NORMALISED = {name: normalise(text) for name, text in SOURCES.items()}
LINES = {name: [(line, normalise(line)) for line in text.splitlines()] for name, text in SOURCES.items()}


def golds(*types):
    """(case, gold) pairs of the given case types (all types when none given)."""
    return [(c, g) for c in CASES if not types or c["type"] in types for g in c["gold"]]


def paragraphs_holding(gold) -> list[str]:
    """The source lines (paragraphs or table cells) whose normalised text holds the gold."""
    key = normalise(gold["contains"])
    return [line for line, normal in LINES[gold["file"]] if key in normal]


# --------------------------------------------------------------------------- the case file


def test_enough_cases_of_every_type():
    counts = Counter(c["type"] for c in CASES)
    assert len(CASES) >= 90
    short = {t: counts[t] for t, n in MINIMUM_PER_TYPE.items() if counts[t] < n}
    assert not short, f"too few cases: {short}"


def test_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


def test_gold_files_exist():
    missing = {g["file"] for _, g in golds()} - set(SOURCES)
    assert not missing


def test_every_gold_occurs_in_its_file_within_one_paragraph():
    # normalised as the scorer matches, so a re-extraction that only moves whitespace is fine
    bad = [(c["id"], g["contains"]) for c, g in golds() if "\n" in g["contains"] or not paragraphs_holding(g)]
    assert not bad, f"gold text not found in one paragraph of its file: {bad}"


def test_gold_lengths():
    # table golds are indicator names, which may be short; prose golds must be specific
    bad = [(c["id"], g["contains"]) for c, g in golds()
           if len(g["contains"]) > 40 or (c["type"] != "table" and len(g["contains"]) < 10)]
    assert not bad


def test_gold_headings_occur_in_their_file():
    bad = [(c["id"], g["heading"]) for c, g in golds()
           if "heading" in g and normalise(g["heading"]) not in NORMALISED[g["file"]]]
    assert not bad


def test_keyword_golds_are_paragraphs_containing_every_keyword():
    bad = []
    for case, gold in golds("keyword"):
        terms = [normalise(t) for t in case["query"].split()]
        if not any(all(t in normalise(p) for t in terms) for p in paragraphs_holding(gold)):
            bad.append((case["id"], gold["contains"]))
    assert not bad


def table_row_cells(gold) -> list[list[str]]:
    """The cells of each table row holding the gold: a tab-separated line, or (tables
    flattened one cell per line) the name's line and the cell lines after it up to a blank."""
    lines = LINES[gold["file"]]
    key = normalise(gold["contains"])
    rows = []
    for i, (line, normal) in enumerate(lines):
        if key not in normal:
            continue
        if "\t" in line.strip("\t"):
            rows.append([cell.strip() for cell in line.split("\t")])
        else:
            # A row ends at a blank line; a line holding only its tab is an empty cell.
            end = next((j for j in range(i + 1, len(lines)) if not lines[j][0].strip(" \r\n")), len(lines))
            rows.append([cell.strip() for cell, _ in lines[i:end]])
    return rows


def is_table_cell(gold) -> bool:
    """Whether the gold lies in a table cell of its file (a field of a tab-prefixed or
    tab-separated line, at most 40 characters): indicator names recur across districts'
    tables by design."""
    key = normalise(gold["contains"])
    return any(key in normalise(field) and len(field.strip()) <= 40
               for line in paragraphs_holding(gold) if "\t" in line for field in line.split("\t"))


def test_text_printed_in_two_files_is_gold_in_both():
    # the scorer matches a gold only in its own file, so a passage that is also printed
    # elsewhere (the 綦江 plan and its copy in the gazette) needs a gold in each file
    bad = []
    for case, gold in golds():
        if is_table_cell(gold):
            continue
        key = normalise(gold["contains"])
        for name, text in NORMALISED.items():
            if name != gold["file"] and key in text and not any(
                    g["file"] == name and normalise(g["contains"]) == key for g in case["gold"]):
                bad.append((case["id"], gold["contains"], name))
    assert not bad, f"passage also in another file without a gold there: {bad}"


def test_table_answers_are_cells_of_a_gold_row():
    bad = [c["id"] for c in CASES if c["type"] == "table"
           and not any(c["answer"] in row for g in c["gold"] for row in table_row_cells(g))]
    assert not bad


def test_cross_cases_have_a_group_per_district():
    for case in CASES:
        if case["type"] == "cross":
            assert case["all"] is True
            assert len({g["group"] for g in case["gold"]}) >= 2, case["id"]


def test_negatives_have_no_gold_and_others_do():
    for case in CASES:
        assert (case["type"] == "negative") == (case["gold"] == []), case["id"]


# --------------------------------------------------------------------------- load_cases


def write_cases(tmp_path, *cases) -> str:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(c if isinstance(c, str) else json.dumps(c, ensure_ascii=False) for c in cases),
                    encoding="utf-8")
    return path


GOOD = {"id": "x1", "type": "question", "query": "问题", "gold": [{"file": "a.txt", "contains": "一段原文"}]}


def test_load_cases_accepts_a_valid_file_and_skips_blank_lines(tmp_path):
    path = write_cases(tmp_path, GOOD, "", {**GOOD, "id": "x2"})
    assert [c["id"] for c in load_cases(path)] == ["x1", "x2"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "invalid JSON"),
        ({**GOOD, "gold": [{"file": "a.txt", "contains": " "}]}, "'contains' must be a non-empty string"),
        ({**GOOD, "gold": [{"file": "a.txt", "contain": "x"}]}, "unknown field"),
        ({**GOOD, "type": "negative"}, "must be empty for negative"),
        ({**GOOD, "gold": []}, "non-empty otherwise"),
        ({**GOOD, "type": "table"}, "'answer' is required"),
        ({**GOOD, "answer": "5"}, "only allowed there"),
        ({**GOOD, "type": "cross", "all": True}, "needs a 'group'"),
        ({**GOOD, "type": "shout"}, "'type' must be one of"),
        ({**GOOD, "query": ""}, "'query' must be a non-empty string"),
        ({**GOOD, "id": "x0"}, "already used on line 1"),
    ],
)
def test_load_cases_names_the_bad_line(tmp_path, bad, message):
    path = write_cases(tmp_path, {**GOOD, "id": "x0"}, bad)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        load_cases(path)
    assert "line 2" in str(info.value)


# --------------------------------------------------------------------------- score_case

CASE = {"id": "t", "type": "question", "query": "q",
        "gold": [{"file": "f.txt", "contains": "研发投入强度达到2.7%", "heading": "（一）发展目标"}]}


def score(case, texts, citations=None, files=None):
    return score_case(case, texts, citations if citations is not None else [""] * len(texts), files)


def test_hit_at_rank_three_gives_reciprocal_rank_one_third():
    result = score(CASE, ["无关", "也无关", "全社会研发投入强度达到2.7%。", "研发投入强度达到2.7%"])
    assert result["rank"] == 3
    assert result["rr"] == pytest.approx(1 / 3)
    assert (result["hit@1"], result["hit@5"], result["hit@10"]) == (False, True, True)


def test_a_miss_scores_zero():
    result = score(CASE, ["无关"] * 10)
    assert result["rank"] is None and result["rr"] == 0.0
    assert not any(result[f"hit@{k}"] for k in (1, 5, 10))
    assert result["heading_ok"] is None


def test_only_the_top_ten_count():
    result = score(CASE, ["无关"] * 10 + ["研发投入强度达到2.7%"])
    assert result["rank"] is None


def test_matching_ignores_whitespace_and_width():
    assert score(CASE, ["研发投入 强度\n达到２．７％"])["rank"] == 1


def test_heading_is_checked_on_the_first_hitting_result():
    texts = ["研发投入强度达到2.7%", "研发投入强度达到2.7%"]
    assert score(CASE, texts, ["涪陵规划 › （一） 发展目标", "x"])["heading_ok"] is True
    assert score(CASE, texts, ["涪陵规划 › 前言", "（一）发展目标"])["heading_ok"] is False


TABLE = {"id": "tb", "type": "table", "query": "q", "answer": "200",
         "gold": [{"file": "f.txt", "contains": "高新技术企业数"}]}


def test_table_answer_needs_value_and_gold_in_the_same_result():
    split = score(TABLE, ["指标名称：高新技术企业数；2020年：98", "到2025年达到200家"])
    assert split["rank"] == 1 and split["answer_ok"] is False
    together = score(TABLE, ["无关", "指标名称：高新技术企业数；2020年：98；2025年：200"])
    assert together["answer_ok"] is True


def test_table_answer_must_be_in_the_top_five():
    texts = ["无关"] * 5 + ["指标名称：高新技术企业数；2025年：200"]
    result = score(TABLE, texts)
    assert result["hit@10"] and result["answer_ok"] is False


def test_table_answer_is_not_part_of_a_longer_number():
    assert score(TABLE, ["高新技术企业数；2025年：2000"])["answer_ok"] is False
    assert answer_in("200", "2025年：200；属性") and not answer_in("5", "2.5")
    assert answer_in("≥6.1", "2025年：≥6.1") and not answer_in("6.1", "6.15")


CROSS = {"id": "x", "type": "cross", "query": "q", "all": True, "gold": [
    {"file": "a.txt", "contains": "綦江高新技术企业达到200家", "group": "綦江"},
    {"file": "b.txt", "contains": "涪陵高新技术企业达到300家", "group": "涪陵"},
    {"file": "b.txt", "contains": "涪陵培育高新技术企业300家", "group": "涪陵"},
]}


def test_all_at_ten_requires_every_group():
    one_group = score(CROSS, ["涪陵高新技术企业达到300家", "涪陵培育高新技术企业300家"])
    assert one_group["hit@1"] and one_group["all_ok"] is False
    both = score(CROSS, ["无关"] * 8 + ["涪陵培育高新技术企业300家", "綦江高新技术企业达到200家"])
    assert both["all_ok"] is True


def test_metrics_that_do_not_apply_are_none():
    result = score(CASE, ["研发投入强度达到2.7%"])
    assert result["answer_ok"] is None and result["all_ok"] is None
    negative = score({"id": "n", "type": "negative", "query": "q", "gold": []}, ["任何内容"])
    assert negative["answerable"] is False and negative["rank"] is None


def test_with_files_a_gold_only_matches_results_from_its_own_file():
    texts = ["研发投入强度达到2.7%", "研发投入强度达到2.7%"]
    assert score(CASE, texts, files=["corpus/other.txt", "corpus/f.txt"])["rank"] == 2
    assert score(CASE, texts, files=["other.txt", "other.txt"])["rank"] is None
    assert score(CASE, texts)["rank"] == 1  # without files, text alone decides


def test_results_must_align():
    with pytest.raises(ValueError):
        score_case(CASE, ["a", "b"], ["a"])
    with pytest.raises(ValueError):
        score_case(CASE, ["a"], ["a"], ["f.txt", "f.txt"])


# --------------------------------------------------------------------------- evaluate


def make_hit(text: str, heading: str = "", source_file: str = "f.txt") -> Hit:
    document = Document(id="d", title="规划", district="涪陵", source_file=source_file)
    passage = Passage(id="p", doc_id="d", heading_path=(heading,) if heading else (), text=text, start=0, end=len(text))
    return Hit(passage=passage, document=document, score=1.0, highlight=text, citation="《规划》")


class StubEngine:
    """Answers from a fixed table: query → hits; refuses queries it has no hits for."""

    def __init__(self, answers: dict[str, list[Hit]]):
        self.answers = answers
        self.calls: list[tuple[str, str, int]] = []

    def search(self, query, mode="hybrid", k=10):
        self.calls.append((query, mode, k))
        if mode == "broken":
            raise QueryError("unknown mode")
        return SimpleNamespace(hits=self.answers.get(query, []))

    def close(self):
        self.closed = True

    def ask(self, query, k=10):
        self.calls.append((query, "ask", k))
        hits = self.answers.get(query, [])
        return SimpleNamespace(hits=hits, answerable=bool(hits), confidence=0.9 if hits else 0.1)


STUB_CASES = [
    {**CASE, "id": "a", "query": "qa"},
    {**CASE, "id": "b", "query": "qb"},
    {**TABLE, "id": "c", "query": "qc"},
    {"id": "n", "type": "negative", "query": "qn", "gold": []},
]
STUB_ANSWERS = {
    "qa": [make_hit("研发投入强度达到2.7%", "（一）发展目标")],
    # the first result holds the text but comes from another file, so qb is hit at rank 2
    "qb": [make_hit("研发投入强度达到2.7%", "（一）发展目标", "other.txt"),
           make_hit("研发投入强度达到2.7%", "前言")],
    "qc": [make_hit("指标名称：高新技术企业数；2025年：200")],
}


def test_evaluate_summarises_each_mode():
    engine = StubEngine(STUB_ANSWERS)
    report = evaluate(engine, STUB_CASES, ["keyword", "ask"])
    assert {mode for _, mode, _ in engine.calls} == {"keyword", "ask"}
    assert all(k == 10 for *_, k in engine.calls)
    keyword = report["modes"]["keyword"]["summary"]
    assert keyword["answerable_n"] == 3 and keyword["negative_n"] == 1
    assert keyword["hit@1"] == pytest.approx(2 / 3)
    assert keyword["mrr@10"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert keyword["heading"] == pytest.approx(1 / 2)  # the table gold names no heading
    assert keyword["answer@5"] == 1.0 and keyword["all@10"] is None
    assert keyword["latency_p50_ms"] is not None and "refusal" not in keyword
    ask = report["modes"]["ask"]["summary"]
    assert ask["refusal"] == 1.0 and ask["acceptance"] == 1.0
    by_type = report["modes"]["ask"]["by_type"]
    assert by_type["question"]["hit@5"] == 1.0 and by_type["negative"]["refusal"] == 1.0


def test_evaluate_records_query_errors_instead_of_aborting():
    report = evaluate(StubEngine(STUB_ANSWERS), STUB_CASES, ["broken"])
    summary = report["modes"]["broken"]["summary"]
    assert summary["errors"] == 4 and summary["hit@10"] == 0.0


def test_evaluate_needs_ten_results():
    with pytest.raises(ValueError):
        evaluate(StubEngine({}), STUB_CASES, ["keyword"], k=5)


def test_format_report_has_a_row_per_mode_and_per_type_hit5():
    text = format_report(evaluate(StubEngine(STUB_ANSWERS), STUB_CASES, ["keyword", "ask"]))
    lines = text.splitlines()
    assert any(line.startswith("keyword") and "0.667" in line for line in lines)
    assert any(line.startswith("ask") for line in lines)
    assert "hit@5 by case type" in text and "negative" in text


def test_check_floors():
    report = evaluate(StubEngine(STUB_ANSWERS), STUB_CASES, ["keyword"])
    assert check_floors(report, min_hit5=1.0, min_mrr=0.8) == []
    failures = check_floors(report, min_hit5=1.0, min_heading=0.9)
    assert failures == ["keyword: heading 0.500 is below the floor 0.900"]


def test_main_exit_codes(tmp_path, monkeypatch, capsys):
    cases = write_cases(tmp_path, *STUB_CASES)
    monkeypatch.setattr(evaluation, "_open_engine", lambda index, model: StubEngine(STUB_ANSWERS))
    out = tmp_path / "report.json"
    assert evaluation.main(["--mode", "keyword", "--cases", str(cases), "--min-hit5", "0.9", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["modes"]["keyword"]["summary"]["hit@5"] == 1.0
    assert evaluation.main(["--mode", "keyword", "--cases", str(cases), "--min-mrr", "0.95"]) == 1
    assert "below the floor" in capsys.readouterr().err
    bad = write_cases(tmp_path, "{")
    assert evaluation.main(["--cases", str(bad)]) == 2
