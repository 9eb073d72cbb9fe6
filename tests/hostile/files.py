"""Hostile files built on the fly: zip bombs (DOCX, XLSX), an XLSX of a million rows or 16,384 columns, CSV in
Windows Vietnamese (cp1258, tones as combining marks), UTF-16 and bytes no Vietnamese encoding has."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
_SHAPE_MARKS = "\u0302\u0306\u031b"  # circumflex, breve, horn: part of the letter in cp1258 (â ă ê ô ơ ư)


def cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: the base letter precomposed, the tone a combining mark after it."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        shape = "".join(m for m in decomposed[1:] if m in _SHAPE_MARKS)
        tones = "".join(m for m in decomposed[1:] if m not in _SHAPE_MARKS)
        out += (unicodedata.normalize("NFC", decomposed[0] + shape) + tones).encode("cp1258")
    return bytes(out)


def _template_parts() -> dict[str, bytes]:
    """The parts of a real one-sheet workbook written by openpyxl."""
    buffer = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["x"])
    workbook.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _xlsx(sheet_chunks: Iterable[str]) -> bytes:
    """A workbook whose first sheet's XML is streamed from `sheet_chunks` (the other parts are openpyxl's)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _template_parts().items():
            if name == SHEET:
                with archive.open(SHEET, "w", force_zip64=True) as part:
                    for chunk in sheet_chunks:
                        part.write(chunk.encode())
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


_OPEN = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


@cache  # a million rows take seconds to write: built once per test run
def xlsx_rows(header: tuple[str, ...], row: tuple[str, ...], count: int) -> bytes:
    """A roster sheet: the header then `count` copies of `row` (each with its own cadre code)."""
    letters = [chr(ord("A") + i) for i in range(len(header))]

    def chunks() -> Iterator[str]:
        yield f'{_OPEN}<dimension ref="A1:{letters[-1]}{count + 1}"/><sheetData>'
        yield (
            '<row r="1">'
            + "".join(_cell(f"{c}1", v) for c, v in zip(letters, header, strict=True))
            + "</row>"
        )
        batch: list[str] = []
        for number in range(2, count + 2):
            values = [f"X{number}", *row[1:]]
            cells = "".join(_cell(f"{c}{number}", v) for c, v in zip(letters, values, strict=True))
            batch.append(f'<row r="{number}">{cells}</row>')
            if len(batch) == 10_000:
                yield "".join(batch)
                batch = []
        yield "".join(batch) + "</sheetData></worksheet>"

    return _xlsx(chunks())


def xlsx_wide(header: tuple[str, ...], row: tuple[str, ...]) -> bytes:
    """The header and one row, each also holding a cell in the sheet's last column (XFD, the 16,384th)."""
    letters = [chr(ord("A") + i) for i in range(len(header))]
    rows = []
    for number, values in ((1, header), (2, row)):
        cells = "".join(_cell(f"{c}{number}", v) for c, v in zip(letters, values, strict=True))
        rows.append(f'<row r="{number}">{cells}{_cell(f"XFD{number}", "z")}</row>')
    return _xlsx([f'{_OPEN}<dimension ref="A1:XFD2"/><sheetData>{"".join(rows)}</sheetData></worksheet>'])


def zip_bomb(parts: dict[str, bytes], *, bomb_part: str, unpacked: int) -> bytes:
    """A real Office container whose `bomb_part` is replaced by `unpacked` bytes of spaces (about 1,000:1)."""
    buffer = io.BytesIO()
    block = b" " * (1 << 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != bomb_part:
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as part:
                part.write(data[: data.rindex(b">") + 1])
                for _ in range(unpacked // len(block)):
                    part.write(block)
    return buffer.getvalue()


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xlsx_bomb(part: str, unpacked: int) -> bytes:
    return zip_bomb(_template_parts(), bomb_part=part, unpacked=unpacked)


def docx_bomb(docx_bytes: bytes, unpacked: int) -> bytes:
    return zip_bomb(parts_of(docx_bytes), bomb_part="word/document.xml", unpacked=unpacked)
