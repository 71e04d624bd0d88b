"""The HTML pages: search, ask, reader, basket, verify, errors; escaping and the CSP rules."""
from __future__ import annotations

import re
from html import unescape

import pytest

from search.config import Settings
from search.engine import Engine
from search.model import Heading, Passage
from search.parser import CAPTION_LEVEL
from web import create_app
from web.reader import HeadingBlock, ParagraphBlock, TableBlock, reading_blocks

from test_web_api import sentence_of


def html_of(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    return text


# -- start page and search ------------------------------------------------------------------------
def test_home_has_the_search_form_filters_examples_and_documents(client, engine):
    page = html_of(client.get("/"))
    assert 'name="q"' in page and 'value="ask"' in page and 'value="keyword"' in page
    for district in engine.districts():
        assert f'<option value="{district}"' in page
    for document in engine.documents():
        assert f'href="/doc/{document.id}"' in page
    assert "专精特新" in page and "涪陵打算怎么吸引海外人才？" in page


def test_search_page_shows_marked_results_with_citations(client):
    page = html_of(client.get("/search?q=专精特新&mode=keyword"))
    assert "<mark>专精特新</mark>" in page
    assert re.search(r'<a href="/doc/[\w-]+#p-[0-9a-f]+" data-citation-link>《', page)
    assert "共 " in page and "毫秒" in page
    assert 'href="/api/search?q=%E4%B8%93%E7%B2%BE%E7%89%B9%E6%96%B0&amp;mode=keyword"' in page  # the JSON twin
    assert "data-copy-quote" in page and "data-add-quote" in page


def test_search_results_show_where_else_a_passage_appears(client):
    page = html_of(client.get("/search?q=专精特新&mode=keyword&district=綦江"))
    also_in = re.search(r'<p class="also-in">(.*?)</p>', page, re.S)
    assert also_in and re.search(r'<a href="/doc/[\w-]+#p-[0-9a-f]+">《', also_in.group(1))


def test_search_paginates(client):
    page = html_of(client.get("/search?q=科技创新&mode=keyword&k=5"))
    assert 'rel="next"' in page and "page=2" in page
    second = html_of(client.get("/search?q=科技创新&mode=keyword&k=5&page=2"))
    assert 'rel="prev"' in second and 'aria-current="page">2<' in second


def test_search_without_results_suggests_what_to_try(client):
    page = html_of(client.get('/search?q="引力波天文台"&mode=keyword'))
    assert "没有找到" in page and "可以试试" in page and "页岩气 制氢" in page


@pytest.mark.parametrize("url, expected", [
    ("/search?q=", "empty"),
    ("/search?q=%20", "empty"),
    ("/search?q=规划&k=abc", "k must be"),
    ("/search?q=规划&page=0", "page must be"),
    ("/search?q=规划&mode=fuzzy", "mode"),
    ("/search?q=%FF%FE", "not valid UTF-8"),
])
def test_invalid_search_is_a_400_page_with_the_message_and_a_new_search_box(client, url, expected):
    page = html_of(client.get(url), 400)
    assert "请求有误" in page and expected in unescape(page) and 'name="q"' in page


def test_query_with_script_is_shown_as_text(client):
    page = html_of(client.get("/search?q=<script>alert(1)</script>&mode=keyword"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- ask --------------------------------------------------------------------------------------------
def test_ask_page_shows_the_answer_its_confidence_and_marked_sentences(client):
    page = html_of(client.get("/search?q=涪陵打算怎么吸引海外人才？&mode=ask"))
    assert "答：" in page and "置信度" in page
    assert '<mark class="answer">' in page
    assert 'href="/api/ask?q=' in page


def test_ask_page_says_plainly_when_nothing_answers(client):
    page = html_of(client.get("/search?q=上海的个人所得税起征点是多少？&mode=ask"))
    assert "文件中没有找到能回答这个问题的内容" in page
    assert "答：" not in page
    if "related-hit" in page:
        assert "可能相关（不是答案）" in page


# -- reader ----------------------------------------------------------------------------------------
def test_reader_shows_metadata_outline_and_every_passage_as_an_anchor(client, engine):
    view = engine.document("fuling-plan")
    page = html_of(client.get("/doc/fuling-plan"))
    assert "<h1>涪陵区科技创新“十四五”规划（2021—2025年）</h1>" in page
    assert "重庆市涪陵区人民政府" in page and "2021年12月29日" in page
    for passage in view.passages:
        assert f'id="{passage.id}"' in page
    for heading in view.outline:
        if heading.first_passage_id:
            assert f'href="#{heading.first_passage_id}"' in page
    assert re.search(r'<h2 class="doc-heading">', page) and re.search(r'<h3 class="doc-heading">', page)
    assert 'href="/api/documents/fuling-plan"' in page


def test_reader_shows_the_document_number(client):
    assert "綦江府发〔2022〕26号" in html_of(client.get("/doc/qijiang-plan"))


def test_reader_renders_table_rows_as_tables(client, engine):
    rows = [p for p in engine.document("beibei-plan").passages if p.kind == "table_row"]
    page = html_of(client.get("/doc/beibei-plan"))
    assert "<table>" in page and "<caption>表1 “十三五”北碚科技创新主要发展指标完成情况表</caption>" in page
    assert page.count('<tr class="passage"') == len(rows)
    assert '<th scope="col">指标名称</th>' in page


def test_unknown_document_is_a_friendly_404(client):
    page = html_of(client.get("/doc/no-such-doc"), 404)
    assert "没有找到" in page and "no-such-doc" in page


def test_reading_blocks_group_rows_into_tables():
    def passage(pid, path, kind="paragraph", cells=()):
        return Passage(pid, "d", path, pid, 0, 1, kind, cells)

    caption = ("第一章", "表1 指标")
    passages = [
        passage("p1", ("第一章",)),
        passage("r1", caption, "table_row", (("指标", "A"), ("2020年", "1"))),
        passage("r2", caption, "table_row", (("指标", "B"), ("2025年", "2"))),
        passage("p2", ("第二章", "一、任务")),
        passage("r3", ("第二章", "一、任务"), "table_row", (("项目", "C"),)),
    ]
    outline = [Heading("表1 指标", CAPTION_LEVEL, caption, "r1")]
    blocks = reading_blocks(passages, outline)
    assert [type(b) for b in blocks] == [HeadingBlock, ParagraphBlock, TableBlock, HeadingBlock, HeadingBlock,
                                         ParagraphBlock, TableBlock]
    assert [(b.text, b.tag) for b in blocks if isinstance(b, HeadingBlock)] == [
        ("第一章", "h2"), ("第二章", "h2"), ("一、任务", "h3")]
    table = blocks[2]
    assert table.caption == "表1 指标" and table.columns == ["指标", "2020年", "2025年"]
    assert [values for _, values in table.rows] == [["A", "1", ""], ["B", "", "2"]]
    assert blocks[-1].caption == "" and blocks[-1].columns == ["项目"]


# -- basket and verify -----------------------------------------------------------------------------
def test_basket_page(client):
    page = html_of(client.get("/basket"))
    assert "data-basket-list" in page and 'data-export="markdown"' in page and 'data-export="docx"' in page


def test_verify_page_states_the_limit(client):
    page = html_of(client.get("/verify"))
    assert "<textarea" in page and "20,000" in page and 'maxlength="20000"' in page


def test_verify_page_shows_each_status_diff_and_source(client, engine):
    exact = sentence_of(engine, "beibei-plan")
    changed = exact[:5] + "大力" + exact[7:]
    page = html_of(client.post("/verify", data={"text": f"“{exact}”与“{changed}”以及“完全编造的一句不存在的引文内容”"}))
    assert "原文一致" in page and "有出入" in page and "未找到" in page
    assert "<ins" in page or "<del" in page
    assert 'href="/doc/beibei-plan#p-' in page and "data-copy-text=" in page
    assert 'data-export="docx"' in page


@pytest.mark.parametrize("text, status, expected", [("  ", 400, "empty"), ("字" * 20001, 413, "20,000")])
def test_verify_page_keeps_the_text_and_explains_errors(client, text, status, expected):
    page = html_of(client.post("/verify", data={"text": text}), status)
    assert expected in page and "form-error" in page


def test_wrong_method_on_a_page_is_405(client):
    assert "不支持的请求方式" in html_of(client.post("/doc/fuling-plan"), 405)


def test_unknown_page_is_404_html(client):
    assert "没有找到" in html_of(client.get("/no/such/page"), 404)


# -- CSP: no inline code anywhere ---------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/search?q=专精特新", "/search?q=人才&mode=ask", "/doc/beibei-plan",
                                 "/basket", "/verify", "/search?q="])
def test_pages_have_no_inline_scripts_styles_or_handlers(client, url):
    page = client.get(url).get_data(as_text=True)
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page)


# -- a document whose own text holds markup ------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "hostile.txt").write_text(
        "<script>alert('title')</script>科技创新规划\n\n一、总体要求\n\n"
        "推动科技创新<script>alert(1)</script>与<b onmouseover=x>产业创新</b>深度融合，建设创新高地。\n",
        encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("hostile-index"), model="none")
    Engine.build(settings, progress=False)
    engine = Engine.open(settings)
    yield create_app({"TESTING": True, "ENGINE": engine}).test_client()
    engine.close()


def test_markup_in_documents_is_shown_as_text(hostile_client):
    doc_id = hostile_client.get("/api/documents").get_json()[0]["id"]
    for url in (f"/doc/{doc_id}", "/search?q=科技创新&mode=keyword", "/"):
        page = html_of(hostile_client.get(url))
        assert "<script>alert" not in page and "<b onmouseover" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_of(hostile_client.get(f"/doc/{doc_id}"))
