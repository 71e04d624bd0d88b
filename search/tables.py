"""Rebuilding the indicator tables that the source files flatten.

Two layouts occur: one cell per tab-prefixed line with rows separated by blank lines
(header cells may wrap onto an untabbed line), and one row per line of tab-separated
cells (the gazette). Each row becomes a passage that names its columns, e.g.
``指标名称：高新技术企业数；单位：家；2020年：98；2025年：200``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser imports this module; avoid a cycle at run time
    from .parser import Line

MAX_CONTINUATION_CHARS = 8  # a wrapped header cell ("指标值") is short
MAX_CELL_CHARS = 40  # a longer tab-prefixed line is a box item, not a cell
NUMBER_COLUMN = re.compile(r"^(序号|编号|序)$")
NAME_COLUMN = re.compile(r"指标|名称|事项")
UNIT_COLUMN = re.compile(r"^单位$")
SUB_ROW = re.compile(r"^其中")  # 其中，市级以上科技企业孵化器: part of the row above
CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff“”])\s+(?=[\u4e00-\u9fff“”])")


@dataclass
class Cell:
    text: str
    start: int
    end: int


@dataclass
class Row:
    cells: list[Cell] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.cells[0].start

    @property
    def end(self) -> int:
        return self.cells[-1].end

    def values(self) -> list[str]:
        return [c.text for c in self.cells]

    def named_cells(self, columns: list[str]) -> list[tuple[str, str]]:
        """(column, value) pairs, without the row number and empty cells."""
        pairs = []
        for i, cell in enumerate(self.cells):
            column = columns[i] if i < len(columns) else f"列{i + 1}"
            if cell.text and not NUMBER_COLUMN.match(column):
                pairs.append((column, cell.text))
        return pairs


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]


def is_cell_text(text: str) -> bool:
    return 0 < len(text) <= MAX_CELL_CHARS


def cell_text(text: str) -> str:
    """A cell's text: OCR line-wrap blanks between Chinese characters removed."""
    return CJK_GAP.sub("", text.strip())


def column_name(text: str) -> str:
    """Header names lose all blanks: '指    标    名     称' → '指标名称'."""
    return re.sub(r"\s+", "", text)


def row_text(cells: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    """The passage text of a table row."""
    return "；".join(f"{column}：{value}" for column, value in cells)


def _cell(line: "Line", text: str) -> Cell:
    offset = line.start + line.raw.index(text) if text else line.span()[0]
    return Cell(cell_text(text), offset, offset + len(text))


def parse_table(lines: list["Line"], i: int) -> tuple[Table, int]:
    """Parse the table starting at lines[i]; return it and the index after it."""
    if lines[i].raw.startswith("\t"):
        rows, i = _cell_per_line_rows(lines, i)
    else:
        rows, i = _tab_separated_rows(lines, i)
    header, body = rows[0], rows[1:]
    columns = [column_name(c.text) or f"列{n + 1}" for n, c in enumerate(header.cells)]
    body = [r for r in body if r.values() != header.values()]  # headers repeated after page breaks
    _fill_merged_cells(columns, body)
    _fill_sub_row_units(columns, body)
    return Table(columns, body), i


def _cell_per_line_rows(lines: list["Line"], i: int) -> tuple[list[Row], int]:
    rows: list[Row] = []
    blank_since_cell = True
    while i < len(lines):
        line = lines[i]
        cell = line.raw.strip()
        if line.raw.startswith("\t") and (not cell or is_cell_text(cell)):  # "\t" alone: an empty cell
            if blank_since_cell or not rows:
                rows.append(Row())
            rows[-1].cells.append(_cell(line, cell))
            blank_since_cell = False
        elif not line.text:
            blank_since_cell = True
        elif _is_continuation(lines, i) and rows and rows[-1].cells:
            cell = rows[-1].cells[-1]
            cell.text += line.text
            cell.end = line.span()[1]
            blank_since_cell = False
        else:
            break
        i += 1
    return rows, i


def _is_continuation(lines: list["Line"], i: int) -> bool:
    """An untabbed short line inside a table continues the cell above it."""
    if len(lines[i].text) > MAX_CONTINUATION_CHARS:
        return False
    j = i + 1
    while j < len(lines) and not lines[j].text:
        j += 1
    return j < len(lines) and lines[j].raw.startswith("\t")


def _tab_separated_rows(lines: list["Line"], i: int) -> tuple[list[Row], int]:
    rows: list[Row] = []
    while i < len(lines) and (not lines[i].text or "\t" in lines[i].raw):
        line = lines[i]
        if line.text:
            row, pos = Row(), line.start
            for part in line.raw.split("\t"):
                stripped = part.strip()
                offset = pos + (part.index(stripped) if stripped else 0)
                row.cells.append(Cell(cell_text(stripped), offset, offset + len(stripped)))
                pos += len(part) + 1
            rows.append(row)
        i += 1
    return rows, i


def _fill_merged_cells(columns: list[str], rows: list[Row]) -> None:
    """Merged grouping cells (类别) are empty below their first row: fill them down.

    Only columns left of the indicator-name column group rows; an empty cell further
    right (a blank remark) means "nothing", not "same as above".
    """
    name_col = next((n for n, c in enumerate(columns) if NAME_COLUMN.search(c)), 0)
    for col in range(name_col):
        if NUMBER_COLUMN.match(columns[col]):
            continue
        above = ""
        for row in rows:
            if col < len(row.cells):
                if row.cells[col].text:
                    above = row.cells[col].text
                else:
                    row.cells[col].text = above


def _fill_sub_row_units(columns: list[str], rows: list[Row]) -> None:
    """A sub-row (其中，…) counts part of the row above it, so a blank unit cell there is
    the unit above (涪陵's 其中，市级以上科技企业孵化器 is counted in 个, like 孵化载体)."""
    name_col = next((n for n, c in enumerate(columns) if NAME_COLUMN.search(c)), 0)
    unit_col = next((n for n, c in enumerate(columns) if UNIT_COLUMN.match(c)), None)
    if unit_col is None:
        return
    for above, row in zip(rows, rows[1:]):
        if (max(name_col, unit_col) < min(len(row.cells), len(above.cells))
                and SUB_ROW.match(row.cells[name_col].text) and not row.cells[unit_col].text):
            row.cells[unit_col].text = above.cells[unit_col].text
