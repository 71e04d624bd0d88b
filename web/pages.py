"""The HTML pages: search and ask, the reader, the quote basket and quote checking."""
from __future__ import annotations

import math
from functools import partial

from flask import Blueprint, render_template, request, url_for

from search.citations import citation
from search.engine import MAX_K, MAX_PAGE, MAX_QUERY_CHARS
from search.errors import QueryError

from .context import document_list, engine
from .errors import status_of
from .params import MAX_TEXT_CHARS, checked_text, expand, filters, query, search_mode, whole_number
from .reader import reading_blocks

pages = Blueprint("pages", __name__)

# The mode switch; "semantic" is accepted too (the API's third mode) but has no tab.
MODE_TABS = (("hybrid", "综合"), ("keyword", "关键词"), ("ask", "语义问答"))
# What to try on an empty page: (query, mode, why).
EXAMPLES = (
    ("专精特新", "hybrid", "一个政策用语"),
    ("页岩气 制氢", "hybrid", "几个词同时出现"),
    ("\"科技特派员\"", "keyword", "引号内为精确短语"),
    ("涪陵打算怎么吸引海外人才？", "ask", "直接提问"),
)
STATUS_LABELS = {"verbatim": "原文一致", "differs": "有出入", "not_found": "未找到"}
SEARCH_ARGS = ("q", "mode", "k", "page", "district", "doc", "expand")
ASK_ARGS = ("q", "k", "district", "doc")


@pages.app_context_processor
def shared_context() -> dict:
    """Values every template may use."""
    return {"mode_tabs": MODE_TABS, "examples": EXAMPLES, "max_query_chars": MAX_QUERY_CHARS}


@pages.get("/")
@pages.get("/search")
def search():
    """The search page: results for q in the chosen mode, or the start page without q."""
    current = engine()
    choices = {"districts": current.districts(), "documents": document_list()}
    if "q" not in request.args:
        return render_template("home.html", **choices, json_url=url_for("api.documents"))
    mode = search_mode()
    if mode == "ask":
        result = current.ask(query(), k=whole_number("k", 5, MAX_K), **filters())
        return render_template("ask.html", result=result.to_dict(), mode=mode, **choices,
                               json_url=_same_args("api.ask", ASK_ARGS))
    k = whole_number("k", 10, MAX_K)
    result = current.search(query(), mode=mode, k=k, page=whole_number("page", 1, MAX_PAGE),
                            expand=expand(), **filters())
    return render_template("search.html", result=result.to_dict(), mode=mode, **choices,
                           pages=min(math.ceil(result.total / k), MAX_PAGE),
                           page_url=partial(_same_args, "pages.search", SEARCH_ARGS),
                           json_url=_same_args("api.search", SEARCH_ARGS))


@pages.get("/doc/<doc_id>")
def document(doc_id: str):
    """The reader: the whole document with its outline; every passage is a #passage-id anchor."""
    view = engine().document(doc_id)
    return render_template("doc.html", document=view.document, outline=view.outline,
                           blocks=reading_blocks(view.passages, view.outline),
                           citations={p.id: citation(view.document, p.heading_path) for p in view.passages},
                           json_url=url_for("api.document", doc_id=doc_id))


@pages.get("/basket")
def basket():
    """The quote basket; its contents live in the browser (localStorage), so app.js renders them."""
    return render_template("basket.html")


@pages.route("/verify", methods=["GET", "POST"])
def verify():
    """Paste a draft; every quotation in it is checked against the documents."""
    text, checks, error, status = "", None, None, 200
    if request.method == "POST":
        text = request.form.get("text", "")
        try:
            checks = [_with_source_wording(c.to_dict()) for c in engine().verify(checked_text(text))]
        except QueryError as exc:  # shown beside the text so that nothing pasted is lost
            error, status = str(exc), status_of(exc)
    return render_template("verify.html", text=text, checks=checks, error=error,
                           max_chars=MAX_TEXT_CHARS, status_labels=STATUS_LABELS), status


def _same_args(endpoint: str, names: tuple[str, ...], **changes) -> str:
    """A URL with the current request's parameters `names` (and `changes`): the JSON twin
    of a page, or another page of its results."""
    return url_for(endpoint, **{**{n: request.args[n] for n in names if request.args.get(n)}, **changes})


def _with_source_wording(check: dict) -> dict:
    """A quote check with "source_wording": the source's own wording of a found quote (its
    "quotation" “…”（citation） unwrapped), which is what is copied and exported, so that
    a copied quote is always correct."""
    quotation, cite = check.get("quotation"), check.get("citation")
    suffix = f"”（{cite}）"
    found = bool(quotation and cite and quotation.startswith("“") and quotation.endswith(suffix))
    return {**check, "source_wording": quotation[1:-len(suffix)] if found else None}
