"""Real test files built on the fly: text-layer, image-only and encrypted PDFs, DOCX with numbering."""

from __future__ import annotations

import io

import docx
import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from pypdf import PdfReader, PdfWriter

matplotlib.use("Agg")
# Type 42 embeds DejaVu Sans as TrueType with a ToUnicode map, so pypdf can read Vietnamese back.
matplotlib.rcParams["pdf.fonttype"] = 42


def make_text_pdf(pages: list[list[str]], *, header: str = "", footer_numbers: bool = False) -> bytes:
    """A PDF with one text line per entry, an optional running header and page numbers."""
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        for number, lines in enumerate(pages, start=1):
            figure = Figure(figsize=(8.27, 11.69))
            top = 0.95
            if header:
                figure.text(0.1, 0.97, header, fontsize=9, family="DejaVu Sans")
                top = 0.93
            for index, line in enumerate(lines):
                # "left\tright" prints two columns on one baseline, like a regulation's header block
                for column, part in zip((0.08, 0.55), line.split("\t"), strict=False):
                    figure.text(column, top - index * 0.022, part, fontsize=10, family="DejaVu Sans")
            if footer_numbers:
                figure.text(0.5, 0.03, f"- {number} -", fontsize=9, family="DejaVu Sans")
            pdf.savefig(figure)
    return buffer.getvalue()


def make_image_pdf(pages: int = 2) -> bytes:
    """A 'scanned' PDF: raster images only, no text layer."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(7)
    with PdfPages(buffer) as pdf:
        for _ in range(pages):
            figure = Figure(figsize=(4, 5))
            figure.figimage(rng.random((120, 90)), cmap="gray")
            pdf.savefig(figure)
    return buffer.getvalue()


def encrypt_pdf(data: bytes, *, password: str = "mat-khau") -> bytes:
    """The same PDF protected by a user password (RC4, which pypdf handles without extra packages)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(paragraphs: list[str | tuple[str, str]], *, table: list[list[str]] | None = None) -> bytes:
    """A DOCX from paragraphs (text, or (text, style) such as "List Number"), then an optional table."""
    document = docx.Document()
    for item in paragraphs:
        if isinstance(item, tuple):
            document.add_paragraph(item[0], style=item[1])
        else:
            document.add_paragraph(item)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
