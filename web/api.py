"""The JSON API under /api: the same data as the HTML pages, straight from the engine."""
from __future__ import annotations

import io

from flask import Blueprint, jsonify, send_file

from search.engine import MAX_K, MAX_PAGE

from .context import document_list, engine
from .export import DOCX_MIMETYPE, quotes_docx, quotes_from
from .params import MAX_TEXT_CHARS, checked_text, expand, filters, json_object, query, search_mode, whole_number

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/")
def index():
    """What the API offers, for someone exploring it with curl."""
    return jsonify({
        "endpoints": {
            "GET /api/search": f"q, mode=hybrid|keyword|semantic, k (1-{MAX_K}, default 10), page (1-{MAX_PAGE}), "
                               "district, doc, expand=1|0 (hybrid, semantic: also search the thesaurus's terms)",
            "GET /api/ask": f"q (a question), k (1-{MAX_K}, default 5), district, doc",
            "GET /api/documents": "every document with its passage count",
            "GET /api/documents/<id>": "a document, its outline and passages in reading order",
            "GET /api/health": "index status",
            "POST /api/verify": f'{{"text": "…"}} (at most {MAX_TEXT_CHARS:,} characters): '
                                'check the quotations of a draft',
            "POST /api/export.docx": '{"quotes": [{"text": "…", "citation": "…"}]}: a Word file',
        },
    })


@api.get("/search")
def search():
    """Ranked passages: GET /api/search?q=&mode=&k=&page=&district=&doc=&expand=."""
    result = engine().search(query(), mode=search_mode(), k=whole_number("k", 10, MAX_K),
                             page=whole_number("page", 1, MAX_PAGE), expand=expand(), **filters())
    return jsonify(result.to_dict())


@api.get("/ask")
def ask():
    """Answers to a question, or a refusal with related passages: GET /api/ask?q=&k=&district=&doc=."""
    return jsonify(engine().ask(query(), k=whole_number("k", 5, MAX_K), **filters()).to_dict())


@api.get("/documents")
def documents():
    """Every document's metadata and passage count."""
    return jsonify(document_list())


@api.get("/documents/<doc_id>")
def document(doc_id: str):
    """A document with its outline and passages in reading order."""
    return jsonify(engine().document(doc_id).to_dict())


@api.get("/health")
def health():
    """Index status (503 when there is no index)."""
    return jsonify(engine().health())


@api.post("/verify")
def verify():
    """The quotations of {"text": draft} checked against the documents, in draft order."""
    text = checked_text(json_object().get("text"))
    return jsonify({"quotes": [check.to_dict() for check in engine().verify(text)]})


@api.post("/export.docx")
def export_docx():
    """{"quotes": [{"text", "citation"}]} as a Word file."""
    body = quotes_docx(quotes_from(json_object()))
    return send_file(io.BytesIO(body), mimetype=DOCX_MIMETYPE, as_attachment=True,
                     download_name="plansearch-quotes.docx")
