"""The one way the project puts a value into a worksheet cell (summaries, personal data, every workbook).

User text reaches workbooks from the roster, evaluations, notes and questions. Two things must not pass:
- characters a worksheet cannot hold (control characters typed or pasted in chat): openpyxl refuses them
  with `IllegalCharacterError`, so a person who once sent one could never export their data;
- text that a spreadsheet would take for a formula («=…», and «+», «-», «@» which Excel also evaluates when
  the cell is edited): it is stored as a string cell marked with a quote prefix, so it shows and stays text.

`tests/records/test_cells.py` checks that no other module writes cells another way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@")
MAX_CELL_TEXT = 32_767  # Excel's limit per cell; longer text makes Excel "repair" the file

Sheet: TypeAlias = Worksheet | WriteOnlyWorksheet


def clean_text(text: str) -> str:
    """Text without the characters a worksheet cannot hold, cut to what one cell holds."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    return text


def cell(
    ws: Sheet,
    value: object,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    alignment: Alignment | None = None,
    number_format: str | None = None,
) -> Cell:
    """A cell for `ws` (normal or write-only) holding `value`; text is cleaned and never a formula."""
    if isinstance(value, str):
        text = clean_text(value)
        out = Cell(ws, row=1, column=1, value=text)  # type: ignore[arg-type]
        if text.startswith(FORMULA_START):
            out.data_type = "s"  # openpyxl made «=…» a formula
            out.quotePrefix = True  # Excel shows it as typed and keeps it text when edited
    else:
        out = Cell(ws, row=1, column=1, value=value)  # type: ignore[arg-type]
    if font is not None:
        out.font = font
    if fill is not None:
        out.fill = fill
    if alignment is not None:
        out.alignment = alignment
    if number_format is not None:
        out.number_format = number_format
    return out


def row(ws: Sheet, values: Iterable[object]) -> list[Cell]:
    """One row of cells for `ws.append(...)`; values already made cells are kept as they are."""
    return [v if isinstance(v, Cell) else cell(ws, v) for v in values]


def append(ws: Sheet, values: Iterable[object]) -> None:
    """Append one row of values to `ws` through `cell`."""
    ws.append(row(ws, values))
