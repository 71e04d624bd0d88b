"""The JSON API: the fixed contract, every error as JSON, security headers, exports."""
from __future__ import annotations

import io
import re

import docx
import pytest

from search.engine import MAX_QUERY_CHARS
from search.quotes import MAX_DRAFT_CHARS
from web import SECURITY_HEADERS, create_app

RESULT_FIELDS = {"id", "text", "highlight", "score", "document", "heading_path", "citation", "url", "duplicates"}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def error_of(response, status: int) -> str:
    """The message of an API error response, after checking its status and shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    message = body["error"]["message"]
    assert message and "Traceback" not in message
    return message


def sentence_of(engine, doc_id: str, min_chars: int = 25) -> str:
    """A whole sentence of a paragraph of a document: a quote that is in the corpus verbatim."""
    for passage in engine.document(doc_id).passages:
        if passage.kind == "paragraph":
            for sentence in re.findall(r"[^。；]+。", passage.text):
                if len(sentence) >= min_chars and "“" not in sentence:
                    return sentence
    raise AssertionError(f"no sentence of {min_chars}+ characters in {doc_id}")


# -- search --------------------------------------------------------------------------------
def test_keyword_search_returns_marked_passages_in_the_contract_shape(client):
    response = client.get("/api/search?q=专精特新&mode=keyword")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert {"query", "mode", "total", "took_ms", "results"} <= set(body)
    assert body["query"] == "专精特新" and body["mode"] == "keyword" and body["total"] >= len(body["results"]) > 0
    for result in body["results"]:
        assert RESULT_FIELDS <= set(result)
        assert "专精特新" in result["text"]
        assert "<mark>专精特新</mark>" in result["highlight"]
        assert {"id", "title", "district"} <= set(result["document"])
        assert result["url"] == f"/doc/{result['document']['id']}#{result['id']}"
        assert result["citation"].startswith(f"《{result['document']['title']}》")
        for duplicate in result["duplicates"]:
            assert duplicate["url"].startswith("/doc/") and duplicate["citation"]


def test_search_defaults_to_hybrid_with_ten_results(client):
    body = client.get("/api/search?q=科技特派员").get_json()
    assert body["mode"] == "hybrid"
    assert 0 < len(body["results"]) <= 10


def test_search_pages_do_not_overlap(client):
    first = client.get("/api/search?q=科技创新&mode=keyword&k=5&page=1").get_json()
    second = client.get("/api/search?q=科技创新&mode=keyword&k=5&page=2").get_json()
    assert len(first["results"]) == len(second["results"]) == 5
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_search_filters_by_district_and_document(client):
    by_district = client.get("/api/search?q=人才&mode=keyword&district=涪陵").get_json()["results"]
    assert by_district and all(r["document"]["district"] == "涪陵" for r in by_district)
    by_doc = client.get("/api/search?q=人才&mode=keyword&doc=beibei-plan").get_json()["results"]
    assert by_doc and all(r["document"]["id"] == "beibei-plan" for r in by_doc)


def test_semantic_search(client):
    body = client.get("/api/search?q=氢能产业发展&mode=semantic&k=3").get_json()
    assert body["mode"] == "semantic" and len(body["results"]) == 3


# -- ask -----------------------------------------------------------------------------------
def test_ask_answers_with_the_answering_sentence_marked(client):
    body = client.get("/api/ask?q=涪陵打算怎么吸引海外人才？").get_json()
    assert {"query", "answerable", "confidence", "answers"} <= set(body)
    assert body["answerable"] is True and 0.5 <= body["confidence"] <= 1
    assert 0 < len(body["answers"]) <= 5
    for answer in body["answers"]:
        assert RESULT_FIELDS | {"answer"} <= set(answer)
        assert answer["answer"] and '<mark class="answer">' in answer["highlight"]


def test_ask_refuses_a_question_the_documents_do_not_answer(client):
    body = client.get("/api/ask?q=上海的个人所得税起征点是多少？&k=3").get_json()
    assert body["answerable"] is False and body["answers"] == []
    assert len(body["related"]) <= 3


# -- documents, health ------------------------------------------------------------------------
def test_documents_list_with_metadata_and_passage_counts(client, engine):
    documents = client.get("/api/documents").get_json()
    assert [d["id"] for d in documents] == [d.id for d in engine.documents()]
    for d in documents:
        assert {"id", "title", "district", "date", "issuer", "doc_number", "kind", "passages"} <= set(d)
    fuling = next(d for d in documents if d["id"] == "fuling-plan")
    assert fuling["passages"] == len(engine.document("fuling-plan").passages) > 0
    assert fuling["issuer"] == "重庆市涪陵区人民政府" and fuling["date"] == "2021-12-29"


def test_document_view(client, engine):
    body = client.get("/api/documents/beibei-plan").get_json()
    assert body["document"]["title"] == "北碚区科技创新“十四五”规划"
    assert [p["id"] for p in body["passages"]] == [p.id for p in engine.document("beibei-plan").passages]
    assert body["outline"] and {"text", "level", "heading_path", "passage_id"} <= set(body["outline"][0])
    assert any(p["kind"] == "table_row" and p["cells"] for p in body["passages"])


def test_health(client):
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok" and body["passages"] > 0 and body["semantic"] is True


def test_api_index_lists_the_endpoints(client):
    body = client.get("/api/").get_json()
    assert "GET /api/search" in body["endpoints"] and "POST /api/verify" in body["endpoints"]


def test_no_index_is_a_503_with_the_rebuild_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANSEARCH_INDEX", str(tmp_path / "empty"))
    client = create_app({"TESTING": True}).test_client()
    assert "plansearch build" in error_of(client.get("/api/health"), 503)
    page = client.get("/search?q=规划")
    assert page.status_code == 503 and "plansearch build" in page.get_data(as_text=True)


# -- verify ------------------------------------------------------------------------------------
def test_verify_reports_each_quote_in_order(client, engine):
    exact = sentence_of(engine, "fuling-plan")
    changed = exact[:6] + "大力" + exact[8:]
    draft = f"规划指出：“{exact}”又说：“{changed}”还有“这是一句在任何文件里都不存在的编造引文内容”。"
    quotes = client.post("/api/verify", json={"text": draft}).get_json()["quotes"]
    assert [q["status"] for q in quotes] == ["verbatim", "differs", "not_found"]
    verbatim, differs, missing = quotes
    assert verbatim["text"] == exact and verbatim["source"]["document"]["id"] == "fuling-plan"
    assert verbatim["source"]["citation"] and verbatim["span"] and verbatim["citation_full"]
    assert differs["diff"] and any(piece["op"] != "equal" for piece in differs["diff"])
    assert missing["source"] is None and missing["span"] is None


@pytest.mark.parametrize("body, expected", [
    (b"", "JSON object"),
    (b"{not json", "JSON object"),
    (b"[1, 2]", "JSON object"),
    (b'{"draft": "x"}', '"text"'),
    (b'{"text": 42}', '"text"'),
    (b'{"text": ["a"]}', '"text"'),
    (b'{"text": "   "}', "empty"),
    (b'{"text": "\\ud800abc"}', "surrogate"),
    (b"\xff\xfe{}", "JSON object"),
])
def test_verify_rejects_bad_bodies(client, body, expected):
    response = client.post("/api/verify", data=body, content_type="application/json")
    assert expected in error_of(response, 400)


def test_verify_states_its_length_limit(client):
    message = error_of(client.post("/api/verify", json={"text": "字" * (MAX_DRAFT_CHARS + 1)}), 413)
    assert f"{MAX_DRAFT_CHARS:,}" in message


def test_oversized_body_is_413(client):
    response = client.post("/api/verify", data=b"x" * (3 * 1024 * 1024), content_type="application/json")
    assert "2,097,152 bytes" in error_of(response, 413)


# -- export ------------------------------------------------------------------------------------
def test_export_docx_holds_each_quote_and_its_citation(client):
    quotes = [{"text": "推动科技创新\x00与产业创新深度融合", "citation": "《涪陵区科技创新“十四五”规划（2021—2025年）》前言"},
              {"text": "打造科技型企业“雁阵”", "citation": "《北碚区科技创新“十四五”规划》第一章"}]
    response = client.post("/api/export.docx", json={"quotes": quotes})
    assert response.status_code == 200 and response.mimetype == DOCX_TYPE
    assert response.headers["Content-Disposition"].startswith("attachment")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(response.data)).paragraphs]
    assert "“推动科技创新与产业创新深度融合”" in paragraphs  # the NUL (not XML) is dropped
    assert paragraphs.index("“打造科技型企业“雁阵””") + 1 == paragraphs.index(quotes[1]["citation"])


@pytest.mark.parametrize("body, expected", [
    ({"quotes": []}, "non-empty list"),
    ({"quotes": "x"}, "non-empty list"),
    ({"quotes": ["x"]}, "quote 1"),
    ({"quotes": [{"text": "a"}]}, "citation of quote 1"),
    ({"quotes": [{"text": "a", "citation": "b"}, {"text": 3, "citation": "b"}]}, "text of quote 2"),
    ({"quotes": [{"text": "a", "citation": "b"}] * 501}, "at most 500"),
])
def test_export_rejects_bad_bodies(client, body, expected):
    assert expected in error_of(client.post("/api/export.docx", json=body), 400)


# -- errors: every known bad input is a 4xx JSON error, never the 500 handler ------------------
@pytest.mark.parametrize("url, status, expected", [
    ("/api/search?q=", 400, "empty"),
    ("/api/search", 400, "empty"),
    ("/api/search?q=%20%20%E3%80%80", 400, "empty"),
    (f"/api/search?q={'规' * (MAX_QUERY_CHARS + 1)}", 400, str(MAX_QUERY_CHARS)),
    ("/api/search?q=规划&k=abc", 400, "k must be"),
    ("/api/search?q=规划&k=0", 400, "k must be"),
    ("/api/search?q=规划&k=101", 400, "k must be"),
    ("/api/search?q=规划&k=-1", 400, "k must be"),
    ("/api/search?q=规划&k=1.5", 400, "k must be"),
    ("/api/search?q=规划&k=99999999999999999999", 400, "k must be"),
    ("/api/search?q=规划&page=0", 400, "page must be"),
    ("/api/search?q=规划&page=51", 400, "page must be"),
    ("/api/search?q=规划&page=二", 400, "page must be"),
    ("/api/search?q=规划&mode=fuzzy", 400, "mode"),
    ("/api/search?q=规划&mode=ask", 400, "mode"),
    ("/api/search?q=%FF%FE", 400, "'q' is not valid UTF-8"),
    ("/api/search?q=%E4%B8", 400, "'q' is not valid UTF-8"),
    ("/api/search?q=规划&district=%C0", 400, "'district' is not valid UTF-8"),
    ("/api/search?q=规划&district=火星", 400, "district"),
    ("/api/search?q=规划&doc=no-such-doc", 404, "no-such-doc"),
    ("/api/search?q=%00", 400, ""),
    ("/api/ask?q=", 400, "empty"),
    ("/api/ask?q=规划&k=x", 400, "k must be"),
    ("/api/ask?q=%E4%B8", 400, "not valid UTF-8"),
    ("/api/documents/no-such-doc", 404, "no-such-doc"),
    ("/api/documents/%FF", 404, ""),
    ("/api/no-such-route", 404, ""),
])
def test_bad_requests_are_json_errors(client, url, status, expected):
    assert expected in error_of(client.get(url), status)


@pytest.mark.parametrize("method, url, allowed", [
    ("get", "/api/verify", "POST"),
    ("get", "/api/export.docx", "POST"),
    ("post", "/api/search?q=规划", "GET"),
    ("delete", "/api/documents", "GET"),
])
def test_wrong_method_is_405_json(client, method, url, allowed):
    response = getattr(client, method)(url)
    error_of(response, 405)
    assert allowed in response.headers["Allow"]


def test_unexpected_errors_are_a_generic_500_without_details(client, engine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(engine, "search", broken)
    message = error_of(client.get("/api/search?q=规划"), 500)
    assert "secret" not in message
    page = client.get("/search?q=规划&mode=keyword")
    assert page.status_code == 500 and "secret" not in page.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/api/search?q=专精特新&mode=keyword", "/api/nope", "/static/app.js", "/"])
def test_security_headers_on_every_response(client, url):
    with client.get(url) as response:  # closes the static file
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
