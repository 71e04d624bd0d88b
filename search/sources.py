"""Reading the corpus directory: decoding files, the manifest, and splitting a file into documents.

A source file holds one document, or several (a government gazette): the manifest says
how to split it. What the manifest does not cover is inferred from the text, so that a
new .txt or .md file dropped into corpus/ is searchable after a rebuild.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .model import Document

MANIFEST = "manifest.json"
SOURCE_SUFFIXES = (".txt", ".md")
# Chongqing's districts and counties (万盛: its 经开区): a document's district is the one its
# title names, and a question naming one is about that place (search.answers).
KNOWN_DISTRICTS = ("綦江", "南川", "北碚", "涪陵", "渝中", "江北", "沙坪坝", "九龙坡", "南岸", "渝北", "巴南",
                   "万州", "黔江", "长寿", "江津", "合川", "永川", "璧山", "铜梁", "潼南", "荣昌", "开州",
                   "梁平", "武隆", "大渡口", "大足", "万盛", "城口", "丰都", "垫江", "忠县", "云阳", "奉节",
                   "巫山", "巫溪", "石柱", "秀山", "酉阳", "彭水")


@dataclass(frozen=True)
class DocumentSource:
    """A document's metadata and the character range of its text in the source file."""

    document: Document
    text: str  # the whole decoded source file: offsets are into this string
    start: int
    end: int


def decode(path: Path, data: bytes) -> str:
    """Decode a corpus file: UTF-8 (with or without BOM), else GB18030 (covers GBK/GB2312).

    GB18030 maps almost any byte string to *something*, so a GB18030 decoding is only
    accepted when it reads as mostly Chinese text; anything else is refused by name.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise CorpusError(f"{path.name}: not valid UTF-8 or GB18030 text; save it as UTF-8") from None
    letters = [c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PNZC"]
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff")
    if letters and cjk / len(letters) < 0.3:
        raise CorpusError(f"{path.name}: not valid UTF-8, and as GB18030 it is not Chinese text; save it as UTF-8")
    return text


def load_manifest(corpus_dir: Path) -> dict:
    """The manifest's per-file entries ({} when there is no manifest)."""
    path = corpus_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise CorpusError(f"{MANIFEST}: not valid JSON ({exc})") from None


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The source files of a corpus directory, in a stable order."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist")
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)


def split_documents(path: Path, text: str, entry: dict | None) -> list[DocumentSource]:
    """The documents of one decoded source file, following its manifest entry if any."""
    entry = entry or {}
    base = _document_fields(path, text, entry)
    parts = entry.get("parts")
    if not parts:
        return [DocumentSource(Document(**base), text, 0, len(text))]
    starts = _part_starts(path, text, parts)
    sources = []
    for i, (part, start) in enumerate(zip(parts, starts)):
        if part.get("skip"):
            continue
        end = starts[i + 1] if i + 1 < len(parts) else len(text)
        fields = {**base, **{k: v for k, v in part.items() if k in Document.__dataclass_fields__}}
        fields["published_in"] = base["title"]
        sources.append(DocumentSource(Document(**fields), text, start, end))
    return sources


def _part_starts(path: Path, text: str, parts: list[dict]) -> list[int]:
    """Offsets of each part's first line; each is searched for after the previous one."""
    starts, pos = [], 0
    for part in parts:
        match = re.compile(r"^[ \t\u3000]*" + re.escape(part["start"]), re.M).search(text, pos)
        if not match:
            raise CorpusError(f"{path.name}: manifest part start {part['start']!r} not found")
        starts.append(match.start())
        pos = match.end()
    return starts


def _document_fields(path: Path, text: str, entry: dict) -> dict:
    title = entry.get("title") or _guess_title(text) or path.stem
    return {
        "id": entry.get("id") or _slug(path),
        "title": title,
        "district": entry["district"] if "district" in entry else _guess_district(title + text[:2000]),
        "source_file": path.name,
        "issuer": entry.get("issuer", ""),
        "date": entry.get("date", ""),
        "doc_number": entry.get("doc_number", ""),
        "kind": entry.get("kind", "document"),
    }


def _guess_title(text: str) -> str:
    """The first short non-empty line, without markdown '#' marks."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 60 else ""
    return ""


def _guess_district(text: str) -> str:
    found = [(text.find(d), d) for d in KNOWN_DISTRICTS if d in text]
    return min(found)[1] if found else ""


def _slug(path: Path) -> str:
    """A URL-safe document id from the file name (non-ASCII names get a short hash)."""
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    if stem:
        return stem
    return "doc-" + hashlib.sha1(path.name.encode("utf-8")).hexdigest()[:10]
