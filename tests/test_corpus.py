"""The corpus model on the real files: documents, headings, paragraphs, tables, offsets, duplicates."""
from __future__ import annotations

import re
import unicodedata

import pytest

from search.corpus import load_corpus
from search.parser import squash
from search.config import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS_DIR)


def nfkc(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def passages_of(corpus, doc_id):
    return [p for p in corpus.passages if p.doc_id == doc_id]


def test_documents_are_split_out_of_the_gazette(corpus):
    assert not corpus.errors
    gazette = [d for d in corpus.documents.values() if d.source_file == "qijiang-gazette-2022-11.txt"]
    titles = {d.title for d in gazette}
    assert len(corpus.documents) == 17
    assert len(gazette) == 13
    assert "用实干“拼”出太空家园（人民论坛）" in titles
    assert "重庆市綦江区人民政府关于做好第三次全国土壤普查的通知" in titles
    assert "政府网站和政务新媒体信息发布“三审三校”工作制度" in titles
    assert "2022年度重庆市綦江区人民政府重大行政决策事项目录" in titles
    assert all(d.published_in for d in gazette)
    assert {d.district for d in corpus.documents.values() if d.kind == "plan"} == {"綦江", "南川", "北碚", "涪陵"}


def test_front_matter_and_table_of_contents_are_not_passages(corpus):
    texts = [p.text for p in corpus.passages]
    assert not any("编辑委员会" in t or "内准印字号" in t for t in texts)
    # the gazette's 目录 lists "第一节\t发展基础\t6": no passage is a bare TOC entry
    assert not any(re.fullmatch(r"第.节\s*\S+\s*\d+", t) for t in texts)


@pytest.mark.parametrize("doc_id, heading_path", [
    ("qijiang-plan", ("第三章 加强科技创新引领，构建产业发展新格局", "第一节 加快特色产业智能化改造升级")),
    ("gazette-qijiang-plan", ("第七章 加强区域科创合作,抢抓协同创新新机遇", "第一节 深化与成渝地区创新合作")),
    ("nanchuan-plan", ("三、重点任务", "（一）打造高水平创新平台", "1.全力创建高新技术产业开发区")),
    ("beibei-plan", ("第三章 构建多层次创新平台体系", "一、推动西南大学科学中心建设", "专栏1 西南大学科学中心重点建设项目")),
    ("fuling-plan", ("五、创新活力与创新生态", "（三）提升开放创新水平", "2．全面融入区域协同创新体系")),
    ("gazette-three-reviews-rules", ("第三条 审核标准",)),
    ("gazette-secrecy-review-rules", ("第三条",)),
])
def test_headings_are_inferred_from_their_text(corpus, doc_id, heading_path):
    assert heading_path in {p.heading_path for p in passages_of(corpus, doc_id)}


def test_a_glossary_is_a_part_of_its_own_not_the_last_section(corpus):
    definitions = [p for p in passages_of(corpus, "fuling-plan") if p.text.startswith("碳中和：是指")]
    # Set as 名  词  解  释 in the source: cited as the word, not under 强化监督考核.
    assert [p.heading_path for p in definitions] == [("名词解释",)]
    assert ("前言",) in {p.heading_path for p in passages_of(corpus, "beibei-plan")}  # 前 言


def test_gazette_heading_levels_ignore_markdown_hashes(corpus):
    # "### 第三章" and "#### 第一节" in the OCR: the chapter still encloses the section
    outline = corpus.outlines["gazette-qijiang-plan"]
    chapter3 = next(h for h in outline if h.text.startswith("第三章"))
    section = next(h for h in outline if h.text.startswith("第一节 加快特色产业"))
    assert chapter3.level == 1 and section.level == 2
    assert section.path == (chapter3.text, section.text)


def test_list_items_are_paragraphs_not_headings(corpus):
    paths = {h for p in corpus.passages for h in p.heading_path}
    assert "(一)政治立场鲜明,主题积极向上,有感染力、影响力。" not in paths
    assert any(p.text.startswith("(一)政治立场鲜明") for p in corpus.passages)


def test_table_rows_name_their_columns(corpus):
    row = next(p for p in passages_of(corpus, "qijiang-plan") if p.kind == "table_row" and "高新技术企业数" in p.text)
    assert "指标名称：高新技术企业数；单位：家；2020年：98；2025年：200" in row.text
    assert row.heading_path[-1] == "表1 綦江区“十四五”时期科技发展主要指标"
    fuling = next(p for p in passages_of(corpus, "fuling-plan") if p.kind == "table_row" and "每万人口发明专利拥有量" in p.text)
    assert dict(fuling.cells)["2025年目标"] == "14"


def test_wrapped_header_cells_and_merged_cells(corpus):
    nanchuan = next(p for p in passages_of(corpus, "nanchuan-plan") if p.kind == "table_row" and "科技进步贡献率" in p.text)
    assert dict(nanchuan.cells) == {"指标名称": "科技进步贡献率（%）", "2015年指标值": "35", "2020年指标值": "50",
                                    "“十三五”变化情况": "↑15"}
    # 涪陵: the merged 类别 cell ("科技\n\n企业") is filled down to the rows below it
    rows = [p for p in passages_of(corpus, "fuling-plan") if p.kind == "table_row"]
    categories = [dict(p.cells).get("类别") for p in rows]
    assert "科技企业" in categories and None not in categories


def test_a_sub_row_counts_in_the_unit_of_the_row_above(corpus):
    # 涪陵's 其中，市级以上科技企业孵化器 leaves its unit cell blank: it is part of 孵化载体 (个).
    rows = {dict(p.cells)["指标"]: dict(p.cells) for p in passages_of(corpus, "fuling-plan") if p.kind == "table_row"}
    assert rows["其中，市级以上科技企业孵化器"]["单位"] == rows["“双创”孵化载体"]["单位"] == "个"
    # A blank cell of a row that is no sub-row stays blank.
    assert all(cells.get("单位") for name, cells in rows.items() if name.startswith("其中"))


def test_gazette_tsv_tables(corpus):
    rows = [p for p in passages_of(corpus, "gazette-qijiang-plan") if p.kind == "table_row"]
    assert len(rows) == 14
    assert "指标名称：高新技术企业数；单位：家；2020年：98；2025年：200" in rows[4].text
    catalogue = [p for p in passages_of(corpus, "gazette-decision-catalogue") if p.kind == "table_row"]
    assert len(catalogue) == 15
    assert dict(catalogue[1].cells)["类别"] == "“十四五”区级规划及相关区级专项规划"


def test_page_breaks_are_repaired(corpus):
    # the gazette breaks "……一事一审、事" / "前审查”的原则" across a page; one passage holds both
    texts = [p.text for p in passages_of(corpus, "gazette-secrecy-review-rules")]
    assert any("“依法审查、一事一审、事前审查”的原则" in t for t in texts)


def test_closing_lines_are_marked_as_sign_off(corpus):
    """Issuer, date and publication note at the end of a notice are kept (a date can be
    quoted) but marked, so that semantic search leaves them out."""
    signed = [p.text for p in passages_of(corpus, "gazette-mentor-call") if p.kind == "sign_off"]
    assert signed == ["2022年10月25日", "重庆市綦江区人力资源和社会保障局办公室", "2022年10月25日印发"]
    assert {p.text for p in corpus.passages if p.kind == "sign_off"} >= {"（此件公开发布）", "2021年12月29日"}
    # Dates inside content stay content: the call's deadline, the plan's own sentences.
    assert all(p.kind != "sign_off" for p in corpus.passages if "征集时间" in p.text or len(p.text) > 40)


def test_long_paragraphs_split_only_at_sentence_ends(corpus):
    for p in corpus.passages:
        if p.kind == "paragraph" and len(p.text) > 60:
            nxt = corpus.sources[corpus.documents[p.doc_id].source_file][p.end:p.end + 1]
            assert p.text[-1] in "。！？!?；;”’」）):：" or nxt in ("\n", "\r", "") or p.text[-1].isalnum(), p.text[-20:]


def test_offsets_point_at_the_source_text(corpus):
    for p in corpus.passages:
        source = corpus.sources[corpus.documents[p.doc_id].source_file][p.start:p.end]
        if p.kind == "paragraph":
            assert nfkc(source) == nfkc(p.text)
        else:
            assert all(nfkc(value) in nfkc(source) or not value for _, value in p.cells[-1:])


def body_sentences(text: str) -> list[str]:
    return [s for s in re.findall(r"[^。！？\n]{6,}[。！？]", text)]


def test_no_text_is_lost(corpus):
    """Every sentence of every file appears in some passage (the 目录 and front matter excepted).

    A heading line may carry text (the gazette's "**第一条** …", OCR-merged box titles):
    such text is found under that heading.
    """
    indexed = "\n".join(squash("".join(p.heading_path[-1:]) + p.text) for p in corpus.passages)
    for name, text in corpus.sources.items():
        missing = [s for s in body_sentences(text) if squash(s) not in indexed]
        assert not missing, (name, missing[:3])


def test_duplicates_link_the_two_copies_of_the_qijiang_plan(corpus):
    own = passages_of(corpus, "qijiang-plan")
    by_id = {p.id: p for p in corpus.passages}
    linked = [p for p in own if any(by_id[d].doc_id == "gazette-qijiang-plan" for d in p.duplicates)]
    assert len(linked) >= 0.8 * len(own)
    for p in linked:
        for d in p.duplicates:
            assert p.id in by_id[d].duplicates  # links go both ways


def test_ids_are_stable_across_rebuilds(corpus):
    again = load_corpus(CORPUS_DIR)
    assert [p.id for p in again.passages] == [p.id for p in corpus.passages]
    assert len({p.id for p in corpus.passages}) == len(corpus.passages)


def test_ids_of_unchanged_passages_survive_an_edit_elsewhere(corpus, corpus_copy):
    path = corpus_copy / "beibei-plan.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("前 言", "前 言\n\n新增的一段说明文字。", 1), encoding="utf-8")
    edited = load_corpus(corpus_copy)
    before = {p.id for p in corpus.passages}
    after = {p.id for p in edited.passages}
    assert len(after - before) == 1 and before - after == set()
