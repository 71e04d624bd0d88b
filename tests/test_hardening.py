"""Hostile input: fuzzed queries, query syntax, injection and path tricks never break the service.

Uses a keyword-only engine (semantic requests then get a clear 400, which is also a
path the fuzzer must not break).
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web import create_app

SYNTAX = ["AND", "OR", "NOT", "*", "?", "~", "[", "]", "{", "}", ":", "^", '"', "“", "-", "(", ")", "\\", "/"]
HOSTILE = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Lo", "Po", "Sm"]), max_size=200),
    st.lists(st.sampled_from(SYNTAX + ["专精特新", "页岩气", "AI", "2025"]), max_size=30).map(" ".join),
    st.sampled_from(["' OR 1=1 --", "\"; DROP TABLE passages; --", "<script>alert(1)</script>",
                     "<img src=x onerror=alert(1)>", "专精特新\x00\x1f", "\ud800", "\udfff专精", "a" * 100_000]),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client(keyword_engine):
    return create_app({"TESTING": True, "ENGINE": keyword_engine}).test_client()


def query_string(**params: str) -> str:
    """Percent-encode as a client would, lone surrogates included (as their UTF-8-like bytes)."""
    return "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items())


def assert_handled(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.mimetype == "application/json" and response.status_code >= 400:
        assert response.get_json()["error"]["message"]
    if response.mimetype == "text/html":
        assert "<script>alert" not in response.get_data(as_text=True)
        assert "<img src=x" not in response.get_data(as_text=True)


@FUZZ
@given(q=HOSTILE, mode=st.sampled_from(["hybrid", "keyword", "semantic", "bogus", ""]))
def test_search_api_survives_anything(client, q, mode):
    assert_handled(client.get("/api/search?" + query_string(q=q, mode=mode)))


@FUZZ
@given(q=HOSTILE)
def test_ask_api_and_pages_survive_anything(client, q):
    assert_handled(client.get("/api/ask?" + query_string(q=q)))
    assert_handled(client.get("/search?" + query_string(q=q, mode="keyword")))


@FUZZ
@given(text=HOSTILE)
def test_verify_survives_anything(client, text):
    body = json.dumps({"text": text})  # lone surrogates travel as \\udXXX escapes
    assert_handled(client.post("/api/verify", data=body, content_type="application/json"))


@pytest.mark.parametrize("raw", [b"q=%FF%FE", b"q=%E4%B8", b"q=%", b"q=%zz", b"q=%00", b"k=abc&q=a", b"page=-1&q=a"])
def test_malformed_query_strings(client, raw):
    assert_handled(client.get("/api/search?" + raw.decode("latin-1")))


def test_script_in_a_query_is_shown_as_text(client):
    page = client.get("/search", query_string={"q": "<script>alert(1)</script> 专精特新", "mode": "keyword"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


@pytest.mark.parametrize("path", [
    "/doc/..%2F..%2Fpyproject.toml", "/doc/../../etc/passwd", "/api/documents/..%2F..%2Fsearch%2Fengine.py",
    "/api/documents/%2E%2E%2Fcorpus%2Fmanifest.json", "/static/../search/engine.py", "/static/..%2F..%2Fpyproject.toml",
    "/static/%2e%2e/%2e%2e/etc/passwd",
])
def test_paths_cannot_escape(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    body = response.get_data(as_text=True)
    assert "[project]" not in body and "root:" not in body and "class Engine" not in body


def test_security_headers_on_every_kind_of_response(client):
    for path in ["/", "/search?q=专精特新&mode=keyword", "/api/health", "/api/search?q=", "/nowhere"]:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
