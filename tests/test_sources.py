"""Reading corpus files: encodings, empty or heading-less files, new files, bad files."""
from __future__ import annotations

import json

import pytest

from search.corpus import load_corpus
from search.errors import CorpusError
from search.sources import decode

PLAN = "第一章 总体要求\n\n一、发展目标\n\n到2025年，全区高新技术企业达到200家。\n"


def test_gbk_file_is_decoded(tmp_path):
    (tmp_path / "gbk-plan.txt").write_bytes(PLAN.encode("gbk"))
    corpus = load_corpus(tmp_path)
    assert not corpus.errors
    [passage] = corpus.passages
    assert passage.text == "到2025年，全区高新技术企业达到200家。"
    assert passage.heading_path == ("第一章 总体要求", "一、发展目标")


def test_binary_file_is_refused_by_name_and_the_others_still_indexed(tmp_path):
    (tmp_path / "good.txt").write_text(PLAN, encoding="utf-8")
    (tmp_path / "broken.txt").write_bytes(bytes(range(128, 256)) * 20)
    corpus = load_corpus(tmp_path)
    assert len(corpus.errors) == 1 and "broken.txt" in corpus.errors[0]
    assert [p.doc_id for p in corpus.passages] == ["good"]


def test_decode_rejects_non_chinese_bytes(tmp_path):
    with pytest.raises(CorpusError, match="x.txt"):
        decode(tmp_path / "x.txt", b"\xff\xfe\xfa" * 50)


def test_empty_file_and_file_without_headings(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("一段没有标题的说明文字，讲科技创新。\n\n第二段话。\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert not corpus.errors
    assert [p.text for p in corpus.passages] == ["一段没有标题的说明文字，讲科技创新。", "第二段话。"]
    assert all(p.heading_path == () for p in corpus.passages)
    assert {s["document"]: s["passages"] for s in corpus.summary} == {"empty": 0, "notes": 2}


def test_new_markdown_file_gets_a_title_and_district(tmp_path):
    (tmp_path / "yongchuan-plan.md").write_text("# 永川区科技创新规划\n\n## 第一章 总则\n\n永川区大力发展数字经济。\n",
                                                encoding="utf-8")
    corpus = load_corpus(tmp_path)
    doc = corpus.documents["yongchuan-plan"]
    assert doc.title == "永川区科技创新规划" and doc.district == "永川"
    [passage] = corpus.passages
    assert passage.heading_path == ("第一章 总则",) and passage.text == "永川区大力发展数字经济。"


def test_bad_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="manifest.json"):
        load_corpus(tmp_path)


def test_manifest_part_that_does_not_match_is_reported_and_skipped(tmp_path):
    (tmp_path / "a.txt").write_text(PLAN, encoding="utf-8")
    (tmp_path / "b.txt").write_text(PLAN, encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"files": {"a.txt": {"parts": [{"start": "no such line", "id": "x", "title": "X"}]}}}), encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert any("a.txt" in e and "no such line" in e for e in corpus.errors)
    assert list(corpus.documents) == ["b"]
