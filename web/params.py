"""Reading and checking request input: one place for the rules and their messages.

Invalid input raises QueryError (shown as 400) or TextTooLong (413), so the error
handlers turn it into the same JSON or HTML error as the library's own errors.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import request

from search.errors import QueryError
from search.quotes import MAX_DRAFT_CHARS

from .context import engine

MAX_TEXT_CHARS = MAX_DRAFT_CHARS  # the longest draft the quote checker takes (also caps exported quotes)
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks are allowed


class TextTooLong(QueryError):
    """A text over its length limit (shown as 413)."""


def check_query_string() -> None:
    """QueryError naming the parameter when the raw query string is not UTF-8 or holds
    control characters.

    Werkzeug decodes bad bytes (q=%FF%FE, a truncated q=%E4%B8) to U+FFFD, which would
    quietly search for replacement characters; the user should rather hear the link is broken.
    """
    for part in request.query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        label = unquote_to_bytes(name).decode("utf-8", "replace")
        try:
            decoded = [unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8") for piece in (name, value)]
        except UnicodeDecodeError:
            raise QueryError(f"the parameter {label!r} is not valid UTF-8: percent-encode the text as UTF-8 "
                             "(e.g. 专精特新 is %E4%B8%93%E7%B2%BE%E7%89%B9%E6%96%B0)") from None
        if any(_CONTROL.search(piece) for piece in decoded):
            raise QueryError(f"the parameter {label!r} contains control characters (such as %00)")


def query() -> str:
    """The q parameter as given (the engine strips it and checks it is not empty or too long)."""
    return request.args.get("q", "")


def whole_number(name: str, default: int, high: int) -> int:
    """The integer parameter `name` (default when absent or empty); QueryError naming it otherwise.

    Only the syntax is checked here: the engine checks the range (with the same wording).
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise QueryError(f"{name} must be a whole number from 1 to {high}, not {raw!r}")
    return int(raw)


def search_mode() -> str:
    """The mode parameter; by default hybrid, or keyword when semantic search is unavailable
    (PLANSEARCH_MODEL=none), so a plain search works on every installation."""
    mode = request.args.get("mode", "").strip()
    return mode or ("hybrid" if engine().semantic_available else "keyword")


def expand() -> bool:
    """The expand parameter: 0 searches only the words typed, without the thesaurus's terms."""
    raw = request.args.get("expand", "").strip().lower()
    if raw in ("", "1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise QueryError(f"expand must be 1 or 0, not {raw!r}")


def filters() -> dict[str, str | None]:
    """The district and doc filters (the engine checks that they exist)."""
    return {"district": request.args.get("district") or None, "doc": request.args.get("doc") or None}


def checked_text(text: object, what: str = "text", limit: int = MAX_TEXT_CHARS) -> str:
    """A user-supplied text: a non-empty string of at most `limit` characters, without lone
    surrogates (which JSON allows but no encoder or index can handle)."""
    if not isinstance(text, str):
        raise QueryError(f'"{what}" is missing or is not a string')
    if len(text) > limit:
        raise TextTooLong(f"the {what} is {len(text):,} characters long; the limit is {limit:,} characters")
    if not text.strip():
        raise QueryError(f"the {what} is empty")
    if _SURROGATE.search(text):
        raise QueryError(f"the {what} contains invalid characters (unpaired UTF-16 surrogates)")
    return text


def json_object() -> dict:
    """The request body as a JSON object, whatever its Content-Type (curl -d sends form type)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise QueryError("the request body must be a JSON object, e.g. {\"text\": \"…\"}")
    return data
