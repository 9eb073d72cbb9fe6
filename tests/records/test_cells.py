"""records/cells.py is the only way a value goes into a worksheet cell, and what it writes reads back as text.

The scan looks at every module of the product (bot/, knowledge/, records/, retrieval/, bench/): a worksheet
(from `create_sheet`, `.active`, or a parameter typed as one) may only get rows through `cells.append` /
`ws.append(cells.row(...))`, and nobody but records/cells.py builds `Cell` objects or sets `.value`.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from records import cells

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "knowledge", "records", "retrieval", "bench")
SHEET_TYPES = {"Worksheet", "WriteOnlyWorksheet", "Sheet"}
CELL_BUILDERS = {"Cell", "WriteOnlyCell", "MergedCell"}
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+84 90",
    "-1+2",
    "@SUM(A1)",
    "Nguyễn\x00 Văn\x1f A\x0b",
    "x" * 40_000,
]


def _is_cells_call(node: ast.AST) -> bool:
    """`cells.row(...)` / `cells.cell(...)` (or a list of `cells.cell(...)`)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return isinstance(node.func.value, ast.Name) and node.func.value.id == "cells"
    if isinstance(node, ast.List | ast.ListComp):
        elts = node.elts if isinstance(node, ast.List) else [node.elt]
        return bool(elts) and all(_is_cells_call(e) for e in elts)
    return False


def _annotation_names(node: ast.AST | None) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node is not None else set()


def violations(source: str, name: str = "<module>") -> list[str]:
    """Places in `source` that put a value into a worksheet without records/cells.py."""
    tree = ast.parse(source)
    sheets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                if _annotation_names(arg.annotation) & SHEET_TYPES:
                    sheets.add(arg.arg)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            from_sheet = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr == "create_sheet"
            ) or (isinstance(value, ast.Attribute) and value.attr == "active")
            typed = isinstance(node, ast.AnnAssign) and bool(_annotation_names(node.annotation) & SHEET_TYPES)
            if from_sheet or typed:
                sheets |= {t.id for t in targets if isinstance(t, ast.Name)}
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in CELL_BUILDERS:
                found.append(f"{where} builds a {func.id}")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in sheets
            ):
                if func.attr == "append" and not (node.args and _is_cells_call(node.args[0])):
                    found.append(f"{where} appends a row to {func.value.id} without cells.row")
                if func.attr == "cell" and (
                    len(node.args) > 2 or any(k.arg == "value" for k in node.keywords)
                ):
                    found.append(f"{where} writes {func.value.id}.cell(value=...)")
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "value":
                    found.append(f"{where} sets a .value")
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in sheets
                ):
                    found.append(f"{where} assigns {target.value.id}[...]")
    return found


def test_the_scan_catches_every_other_way_of_writing_a_cell() -> None:
    bad = """
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet.worksheet import Worksheet

def table(ws: Worksheet, name: str) -> None:
    ws.append([name])
    ws.cell(row=1, column=1, value=name)
    ws.cell(1, 2, name)

def book(name: str) -> None:
    wb = Workbook()
    sheet = wb.active
    sheet["A1"] = name
    sheet["A2"].value = name
    other = wb.create_sheet("x")
    other.append([WriteOnlyCell(other, value=name)])
"""
    found = violations(bad)
    assert len(found) == 7, found
    good = """
from records import cells
from openpyxl.worksheet.worksheet import Worksheet

def table(ws: Worksheet, name: str, rows: list[str]) -> None:
    cells.append(ws, [name])
    ws.append(cells.row(ws, [name]))
    ws.append([cells.cell(ws, name, font=None)])
    ws.cell(row=1, column=1).font = None
    rows.append(name)  # a plain list, not a sheet
"""
    assert violations(good) == []


def test_no_module_writes_cells_except_records_cells() -> None:
    checked, found = 0, []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "records" / "cells.py":
                continue
            source = path.read_text(encoding="utf-8")
            checked += "openpyxl" in source
            found += violations(source, str(path.relative_to(ROOT)))
    assert checked >= 2, "the workbook writers were not found: the scan looks in the wrong place"
    assert found == []


@pytest.mark.parametrize("write_only", [True, False])
def test_text_reads_back_as_text_without_illegal_characters(write_only: bool) -> None:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("t") if write_only else wb.active
    assert ws is not None
    for text in HOSTILE:
        cells.append(ws, [text, 7])
    buf = io.BytesIO()
    wb.save(buf)
    back = load_workbook(io.BytesIO(buf.getvalue()))["t" if write_only else wb.sheetnames[0]]
    rows = list(back.iter_rows())
    assert [r[0].value for r in rows[:5]] == [
        '=HYPERLINK("http://x","y")',
        "+84 90",
        "-1+2",
        "@SUM(A1)",
        "Nguyễn Văn A",
    ]
    assert all(r[0].data_type == "s" and r[1].value == 7 for r in rows)  # text stays text, numbers numbers
    assert all(r[0].quotePrefix for r in rows[:4]) and not rows[4][0].quotePrefix
    assert len(rows[5][0].value) == cells.MAX_CELL_TEXT and rows[5][0].value.endswith("…")
