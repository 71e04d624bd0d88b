"""A document's passages laid out for reading: headings where the heading path changes,
paragraphs, and consecutive table rows gathered into tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from search.model import Heading, Passage
from search.parser import CAPTION_LEVEL


@dataclass
class HeadingBlock:
    kind: ClassVar[str] = "heading"
    text: str
    tag: str  # h2…h6, by depth in the heading path


@dataclass
class ParagraphBlock:
    kind: ClassVar[str] = "paragraph"
    passage: Passage


@dataclass
class TableBlock:
    kind: ClassVar[str] = "table"
    caption: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Passage, list[str]]] = field(default_factory=list)  # (row, value per column)


def heading_tag(depth: int) -> str:
    """h2 for a top-level heading (h1 is the document title), down to h6."""
    return f"h{min(depth + 1, 6)}"


def reading_blocks(passages: list[Passage], outline: list[Heading]) -> list:
    """The blocks of a document in reading order.

    Table rows with the same heading path in a row form one table; its caption is the
    table's own caption heading (表1 …) when the parser found one.
    """
    captions = {h.path for h in outline if h.level == CAPTION_LEVEL}
    blocks: list = []
    previous: tuple[str, ...] = ()
    for passage in passages:
        path = passage.heading_path
        is_row = passage.kind == "table_row" and bool(passage.cells)
        continues_table = is_row and path == previous and blocks and isinstance(blocks[-1], TableBlock)
        if not continues_table:
            shared = _shared_prefix(previous, path)
            caption = path[-1] if is_row and path in captions and shared < len(path) else ""
            for depth in range(shared + 1, len(path) + 1 - bool(caption)):
                blocks.append(HeadingBlock(path[depth - 1], heading_tag(depth)))
            if is_row:
                blocks.append(TableBlock(caption))
        if is_row:
            _add_row(blocks[-1], passage)
        else:
            blocks.append(ParagraphBlock(passage))
        previous = path
    return blocks


def _shared_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _add_row(table: TableBlock, row: Passage) -> None:
    cells = dict(row.cells)
    new_columns = [c for c in cells if c not in table.columns]
    if new_columns:  # a later row with an extra column: earlier rows get an empty cell
        table.columns.extend(new_columns)
        table.rows = [(p, values + [""] * len(new_columns)) for p, values in table.rows]
    table.rows.append((row, [cells.get(c, "") for c in table.columns]))
