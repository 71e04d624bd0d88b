"""Parsing one document's text into an outline of headings and a flat list of cited passages.

The heading hierarchy is inferred from the heading text (第X章 > 第X节 > 一、 > （一） > 1. >
（1）, plus 第X条 articles, 专栏 boxes and table captions), never from markdown '#'
levels, which are inconsistent OCR in the gazette. Paragraphs cut in two by the
gazette's page breaks are joined again; indicator tables are rebuilt row by row.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace

from .model import Document, Heading, Passage
from .sources import DocumentSource
from .tables import Table, is_cell_text, parse_table, row_text

CN_NUM = "[一二三四五六七八九十百零〇两]+"
# (pattern, level): lower levels enclose higher ones.
HEADING_PATTERNS: list[tuple[re.Pattern, int]] = [
    (re.compile(rf"^第{CN_NUM}章"), 1),
    (re.compile(rf"^第{CN_NUM}节"), 2),
    (re.compile(rf"^{CN_NUM}、"), 3),
    (re.compile(rf"^第{CN_NUM}条"), 3),
    (re.compile(rf"^[（(]{CN_NUM}[）)]"), 4),
    (re.compile(r"^\d{1,2}\s*[.．、](?!\d)"), 5),
    (re.compile(r"^[（(]\d{1,2}[）)]"), 6),
    (re.compile(r"^专栏\s*\d+"), 7),
]
# 前言 and the like (a glossary, an appendix at the end) stand beside the numbered parts:
# any later heading closes them.
STANDALONE_HEADING = re.compile(r"^(前\s*言|序\s*言|结\s*束\s*语|名\s*词\s*(?:解\s*释|释\s*义)|附\s*录)$")
# A title set in spaced-out characters (前 言, 名 词 解 释): cited as the word it spells.
LETTER_SPACED = re.compile(r"[\u4e00-\u9fff](?: [\u4e00-\u9fff])+")
UNNUMBERED_LEVEL = 1  # a markdown '#' heading with no number (gazette news items)
CAPTION_LEVEL = 8
TABLE_CAPTION = re.compile(r"^表\s*\d+")
ARTICLE_INLINE = re.compile(rf"^\*\*(第{CN_NUM}条)\*\*\s*(.*)$")
MARKUP = re.compile(r"</?b>|\*\*")
SENTENCE_END = "。！？!?；;…"
FULL_STOP = "。！？!?"  # long paragraphs are split only here, never at ；
LINE_END = SENTENCE_END + "：:"  # a line ending so is complete: never joined to the next
CLOSERS = "”’」』）)"
LIST_START = re.compile(rf"^(——|△|\d{{1,2}}\s*[.．、]|[（(]{CN_NUM}[）)]|[（(]\d{{1,2}}[）)]|{CN_NUM}、|第{CN_NUM}[章节条])")
MAX_HEADING_CHARS = 45
MAX_PASSAGE_CHARS = 320  # longer paragraphs are split at sentence ends
PAGE_BREAK_MIN_CHARS = 40  # only long lines can be a paragraph cut by a page break
TITLE_BLOCK_MAX_CHARS = 40
# A document's closing lines (落款): issuing office, date, "（此件公开发布）". They stay
# passages (a quotation or a date can be checked against them) but say nothing a
# question could be about.
SIGN_OFF_DATE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(印发)?$")
SIGN_OFF_NOTE = re.compile(r"^[（(]此件公开发布[）)]$")
ISSUER_MAX_CHARS = 30


def clean(line: str) -> str:
    """A line without markdown/HTML emphasis, '#' marks and surrounding or repeated blanks."""
    line = MARKUP.sub("", line).strip().lstrip("#").strip()
    return re.sub(r"[ \t\u3000]+", " ", line)


def unspaced(text: str) -> str:
    """A heading's text, without the spaces between the characters of a spaced-out title."""
    return text.replace(" ", "") if LETTER_SPACED.fullmatch(text) else text


def squash(text: str) -> str:
    """Text reduced for comparisons: NFKC, no whitespace and no punctuation."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] != "P")


@dataclass
class Line:
    text: str  # cleaned
    raw: str  # the line as in the file, without its newline
    start: int  # offset of raw[0] in the source file

    @property
    def end(self) -> int:
        return self.start + len(self.raw)

    def span(self) -> tuple[int, int]:
        """Offsets of the line's visible content (leading/trailing blanks excluded)."""
        stripped = self.raw.lstrip()
        lead = len(self.raw) - len(stripped)
        return self.start + lead, self.start + lead + len(stripped.rstrip())


@dataclass
class ParsedDocument:
    """A document with its outline and passages."""

    document: Document
    passages: list[Passage] = field(default_factory=list)
    outline: list[Heading] = field(default_factory=list)
    tables: int = 0


def split_lines(text: str, start: int, end: int) -> list[Line]:
    """The lines of text[start:end] with their offsets (\\r dropped)."""
    lines = []
    for m in re.finditer(r"[^\n]*\n?", text[start:end]):
        raw = m.group().rstrip("\n").rstrip("\r")
        if m.group():
            lines.append(Line(clean(raw), raw, start + m.start()))
    return lines


def heading_level(text: str, raw: str) -> int | None:
    """The level of a heading line, or None when the line is body text.

    A heading is short and not a sentence: list items such as
    "（一）政治立场鲜明,主题积极向上。" or "2.未来农业前沿研究中心。围绕……" are paragraphs.
    """
    if not text or len(text) > MAX_HEADING_CHARS or text[-1] in "：:":
        return None
    body = text.rstrip("。")
    if any(c in body for c in "。；;！？"):
        return None
    if text.endswith("。") and (re.search("[，,]", text) or not raw.lstrip().startswith("#")):
        return None  # a short list item; only the gazette's '#' headings end with a stray 。
    level = numbered_level(text)
    if level is not None:
        return level
    if TABLE_CAPTION.match(text):
        return CAPTION_LEVEL
    if raw.lstrip().startswith("#") or STANDALONE_HEADING.match(text):
        return UNNUMBERED_LEVEL
    return None


def numbered_level(text: str) -> int | None:
    """The level of a heading numbered 第X章, 一、, （一）…, or None."""
    return next((level for pattern, level in HEADING_PATTERNS if pattern.match(text)), None)


def ends_sentence(text: str, ends: str = SENTENCE_END) -> bool:
    text = text.rstrip(CLOSERS)
    return bool(text) and text[-1] in ends


def is_table_line(line: Line) -> bool:
    """A table cell line (tab-prefixed, short) or a row of tab-separated cells.

    Boxes (专栏) are also tab-prefixed in some files, one long item per line: those are
    paragraphs, and their title is a heading.
    """
    if "\t" not in line.raw or not line.text:
        return False
    if line.raw.startswith("\t"):
        cell = line.raw.strip()
        return is_cell_text(cell) and not ends_sentence(cell) and heading_level(cell, "") is None
    return sum(1 for c in line.raw.split("\t") if c.strip()) >= 2


def is_toc_title(text: str) -> bool:
    return squash(text) == "目录"


class DocumentParser:
    """Turns one DocumentSource into a ParsedDocument (one instance per document)."""

    def __init__(self, source: DocumentSource):
        self.source = source
        self.doc = source.document
        self.lines = split_lines(source.text, source.start, source.end)
        self.title_key = squash(self.doc.title + self.doc.issuer)
        self.path: list[tuple[int, str]] = []  # (level, heading text)
        self.result = ParsedDocument(self.doc)
        self.pending_heading: list[int] = []  # outline entries waiting for their first passage
        self.seen_ids: dict[str, int] = {}
        self.in_title_block = True  # until the first heading or real paragraph

    # -- the main loop ------------------------------------------------------------
    def parse(self) -> ParsedDocument:
        lines, i = self.lines, 0
        while i < len(lines):
            line = lines[i]
            if not line.text or set(line.text) <= set("-—_*"):
                i += 1
            elif is_toc_title(line.text):
                i = self._skip_toc(i + 1)
            elif is_table_line(line):
                i = self._table(i)
            elif self._is_title_line(line):
                i += 1
            elif (m := ARTICLE_INLINE.match(line.raw.strip())) and m.group(2):
                self._push_heading(3, m.group(1))
                i = self._paragraph(i, (m.group(2).strip(), line.start + line.raw.index(m.group(2))))
            elif (level := self._heading_or_caption(i)) is not None:
                self._push_heading(level, unspaced(line.text))
                i += 1
            else:
                i = self._paragraph(i)
            if line.text and not self._is_title_line(line):
                self.in_title_block = False
        self._mark_sign_off()
        return self.result

    def _mark_sign_off(self) -> None:
        """Mark closing lines as kind "sign_off": dates, the publication note, and an
        issuer line (short, no punctuation) directly followed by a date."""
        passages = self.result.passages
        for i, passage in enumerate(passages):
            text = unicodedata.normalize("NFKC", passage.text).strip()
            nxt = unicodedata.normalize("NFKC", passages[i + 1].text).strip() if i + 1 < len(passages) else ""
            if (SIGN_OFF_DATE.match(text) or SIGN_OFF_NOTE.match(text)
                    or (len(text) <= ISSUER_MAX_CHARS and SIGN_OFF_DATE.match(nxt)
                        and not re.search(r"[。，,；;：:、]", text) and passage.kind == "paragraph")):
                passages[i] = replace(passage, kind="sign_off")

    # -- headings -----------------------------------------------------------------
    def _heading_or_caption(self, i: int) -> int | None:
        line = self.lines[i]
        level = heading_level(line.text, line.raw)
        if level is None and self._next_is_table(i) and len(line.text) <= MAX_HEADING_CHARS \
                and not ends_sentence(line.text):
            return CAPTION_LEVEL  # an unnumbered caption right above a table
        return level

    def _push_heading(self, level: int, text: str) -> None:
        while self.path and (self.path[-1][0] >= level or STANDALONE_HEADING.match(self.path[-1][1])):
            self.path.pop()
        self.path.append((level, text))
        self.result.outline.append(Heading(text, level, self.heading_path(), None))
        self.pending_heading.append(len(self.result.outline) - 1)

    def heading_path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.path)

    def _is_title_line(self, line: Line) -> bool:
        """Title-block lines (masthead, title, document number) restate the document's metadata.

        They are the short non-sentence lines before the first heading or paragraph, and
        later lines that repeat the title (a plan's own title under its issuing notice).
        """
        if len(line.text) > 80 or ends_sentence(line.text, LINE_END):
            return False
        if numbered_level(line.text) is not None or STANDALONE_HEADING.match(line.text):
            return False  # a numbered heading or a 前言 is never part of the title
        key = squash(line.text)
        if key.endswith("文件"):
            key = key[: -len("文件")]
        if len(key) >= 4 and key in self.title_key:
            return True
        return (self.in_title_block and len(line.text) <= TITLE_BLOCK_MAX_CHARS
                and not line.raw.lstrip().startswith("#"))

    def _skip_toc(self, i: int) -> int:
        """Skip a table of contents: entries are short lines, often with tabs and page numbers."""
        while i < len(self.lines):
            line = self.lines[i]
            text = line.text
            if text and not ("\t" in line.raw or re.search(r"\d+$", text) or heading_level(text, line.raw)):
                break
            i += 1
        return i

    # -- paragraphs ---------------------------------------------------------------
    def _paragraph(self, i: int, first: tuple[str, int] | None = None) -> int:
        """One paragraph starting at line i, joined across page breaks; returns the next index.

        ``first`` replaces line i's own text (an article line without its 第X条 label).
        """
        pieces = [first or (self.lines[i].text, self.lines[i].span()[0])]
        i += 1
        while not ends_sentence(pieces[-1][0], LINE_END) and len(pieces[-1][0]) >= PAGE_BREAK_MIN_CHARS:
            j = i
            while j < len(self.lines) and not self.lines[j].text:
                j += 1
            if j == i or j >= len(self.lines):
                break  # no blank line between: a new line is a new paragraph, not a page break
            nxt = self.lines[j]
            if (is_table_line(nxt) or LIST_START.match(nxt.text) or self._is_title_line(nxt)
                    or self._heading_or_caption(j) is not None or nxt.raw.lstrip().startswith("#")):
                break
            pieces.append((nxt.text, nxt.span()[0]))
            i = j + 1
        self._add_paragraph(pieces)
        return i

    def _add_paragraph(self, pieces: list[tuple[str, int]]) -> None:
        """Add a paragraph made of (text, source offset) pieces, split if very long."""
        text = "".join(t for t, _ in pieces)
        offsets = []
        for piece, start in pieces:
            offsets.extend(self._char_offsets(piece, start))
        for a, b in sentence_chunks(text, MAX_PASSAGE_CHARS):
            self._add_passage(text[a:b], offsets[a], offsets[b - 1] + 1)

    def _char_offsets(self, piece: str, start: int) -> list[int]:
        """Source offset of every character of a cleaned piece (cleaning may drop blanks/markup)."""
        source, out, pos = self.source.text, [], start
        for ch in piece:
            while pos < len(source) and source[pos] != ch and (ch != " " or not source[pos].isspace()):
                pos += 1
            out.append(pos)
            pos += 1
        return out

    # -- tables -------------------------------------------------------------------
    def _next_is_table(self, i: int) -> bool:
        j = i + 1
        while j < len(self.lines) and not self.lines[j].text:
            j += 1
        return j < len(self.lines) and is_table_line(self.lines[j])

    def _table(self, i: int) -> int:
        table, i = parse_table(self.lines, i)
        self._add_table(table)
        while self.path and self.path[-1][0] >= CAPTION_LEVEL:
            self.path.pop()  # the text after a table belongs to the section again
        return i

    def _add_table(self, table: Table) -> None:
        self.result.tables += 1
        for row in table.rows:
            cells = tuple(row.named_cells(table.columns))
            if cells:
                self._add_passage(row_text(cells), row.start, row.end, kind="table_row", cells=cells)

    # -- passages -----------------------------------------------------------------
    def _add_passage(self, text: str, start: int, end: int, kind: str = "paragraph",
                     cells: tuple[tuple[str, str], ...] = ()) -> None:
        path = self.heading_path()
        passage = Passage(self._passage_id(path, text), self.doc.id, path, text, start, end, kind, cells)
        self.result.passages.append(passage)
        for index in self.pending_heading:
            self.result.outline[index] = replace(self.result.outline[index], first_passage_id=passage.id)
        self.pending_heading.clear()

    def _passage_id(self, path: tuple[str, ...], text: str) -> str:
        """Stable across rebuilds of unchanged text: a hash of heading path and text."""
        key = "\x1f".join((self.doc.id, *path)) + "\x1e" + squash(text)
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
        n = self.seen_ids.get(digest, 0)
        self.seen_ids[digest] = n + 1
        return f"p-{digest}" + (f"-{n + 1}" if n else "")


def sentence_chunks(text: str, limit: int) -> list[tuple[int, int]]:
    """Split text into (start, end) chunks of at most ~limit chars, only at sentence ends."""
    if len(text) <= limit:
        return [(0, len(text))]
    ends = [m.end() for m in re.finditer(rf"[{FULL_STOP}][{CLOSERS}]*", text)]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    chunks, start, prev = [], 0, 0
    for end in ends:
        if end - start > limit and prev > start:
            chunks.append((start, prev))
            start = prev
        prev = end
    chunks.append((start, len(text)))
    return chunks


def parse_document(source: DocumentSource) -> ParsedDocument:
    """Parse one document into its outline and passages."""
    return DocumentParser(source).parse()
