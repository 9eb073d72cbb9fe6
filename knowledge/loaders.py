"""File loaders: TXT, Markdown, DOCX, PDF (text layer) and HTML bytes → clean, NFC-normalised text."""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.errors import (
    EmptyDocument,
    FileTooLarge,
    NoTextLayer,
    UnpackedTooLarge,
    UnreadableFile,
    UnsupportedFormat,
)
from knowledge.header import classification_of

log = logging.getLogger(__name__)

FORMAT_BY_SUFFIX: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(FORMAT_BY_SUFFIX)

# A .docx whose parts declare they unpack to more than this is refused unread (a zip bomb); Python's zipfile
# never inflates a member past its declared size, so the declared sizes bound the work.
MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024

_PDF_MAGIC = b"%PDF"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, or an encrypted Office file
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def clean_text(text: str) -> str:
    """NFC, Vietnamese Đ instead of the look-alike Ð, plain spaces, "\\n" line ends, no invisible marks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = text.translate(_INVISIBLE)
    text = text.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    text = re.sub(r"[\u00a0\u2007\u202f\u3000]", " ", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _sniff(data: bytes) -> str | None:
    head = data[:1024]
    if _PDF_MAGIC in head:
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    if data.startswith(_OLE_MAGIC):
        return "ole"
    return None


def _refuse_mismatch(fmt: str, data: bytes, name: str) -> None:
    """A file whose content is another format than its extension says is refused."""
    sniffed = _sniff(data)
    expected = {"pdf": "pdf", "docx": "zip"}.get(fmt)
    if sniffed == expected:
        return
    if fmt == "docx" and sniffed == "ole":
        raise UnreadableFile(
            "the file is a legacy .doc or a password-protected Word file; save it as an unprotected .docx",
            file=name,
            reason="encrypted_or_legacy",
        )
    if sniffed is not None:
        raise UnsupportedFormat(
            f"the content is {sniffed.upper()} but the extension says {fmt}; rename or convert the file",
            file=name,
            suffix=fmt,
            detected=sniffed,
        )
    if expected is not None:
        raise UnreadableFile(
            f"the file is not a valid {fmt.upper()} file (corrupt?)", file=name, reason="corrupt"
        )


def decode_text(data: bytes, *, name: str = "") -> str:
    """Decode plain-text bytes: UTF-8 (with or without BOM), then UTF-16, then Windows-1258."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > len(data) // 4:
        even_zeros = data[0::2].count(b"\x00")
        odd_zeros = data[1::2].count(b"\x00")
        encoding = "utf-16-le" if odd_zeros >= even_zeros else "utf-16-be"
        return data.decode(encoding, errors="replace")
    controls = sum(1 for byte in data if byte < 0x20 and byte not in (0x09, 0x0A, 0x0C, 0x0D))
    if controls > max(8, len(data) // 50):
        raise UnreadableFile("the file holds binary data, not text", file=name, reason="binary")
    try:
        return data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "the text is neither UTF-8, UTF-16 nor Windows-1258; save it as UTF-8",
            file=name,
            reason="encoding",
        ) from exc


def _refuse_binary(text: str, name: str) -> None:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    if text and controls > max(8, len(text) // 50):
        raise UnreadableFile("the file holds binary data, not text", file=name, reason="binary")


_MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def markdown_to_text(text: str) -> str:
    """Strip Markdown syntax that would disturb the legal-structure parser; keep the wording."""
    out: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if re.fullmatch(r"[-*_=]{3,}", stripped) or (
            re.fullmatch(r"\|?[\s:|-]+\|?", stripped) and "-" in stripped
        ):
            out.append("")
            continue
        line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)
        line = re.sub(r"^\s*>\s?", "", line)
        line = _MD_LINK_RE.sub(r"\1", line)
        line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
        line = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", line)
        line = line.replace("`", "")
        line = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~])", r"\1", line)  # "\*" → "*"
        if stripped.startswith("|") and stripped.endswith("|"):
            line = " | ".join(cell.strip() for cell in stripped.strip("|").split("|"))
        out.append(line.rstrip("\\ ").rstrip() if line.endswith("\\") else line)
    return "\n".join(out)


# --- DOCX -------------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _roman(value: int) -> str:
    numerals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L")]
    numerals += [(40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for arabic, letters in numerals:
        while value >= arabic:
            out += letters
            value -= arabic
    return out


def _format_counter(value: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = "abcdefghijklmnopqrstuvwxyz"
        label = letters[(value - 1) % 26] * ((value - 1) // 26 + 1)
        return label.upper() if fmt == "upperLetter" else label
    if fmt == "upperRoman":
        return _roman(value)
    if fmt == "lowerRoman":
        return _roman(value).lower()
    if fmt in ("bullet", "none"):
        return ""
    return str(value)


class _Numbering:
    """Renders Word's automatic paragraph numbering ("1.", "a)", "Điều 3.") that python-docx omits."""

    def __init__(self, document: object) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element  # type: ignore[attr-defined]
        except (KeyError, AttributeError, NotImplementedError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for node in root.iter(f"{_W}abstractNum"):
            levels: dict[int, tuple[str, str, int]] = {}
            for lvl in node.iter(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0"))
                fmt = lvl.find(f"{_W}numFmt")
                text = lvl.find(f"{_W}lvlText")
                start = lvl.find(f"{_W}start")
                levels[ilvl] = (
                    fmt.get(f"{_W}val", "decimal") if fmt is not None else "decimal",
                    text.get(f"{_W}val", "") if text is not None else "",
                    int(start.get(f"{_W}val", "1")) if start is not None else 1,
                )
            abstract[node.get(f"{_W}abstractNumId", "")] = levels
        for num in root.iter(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is not None:
                self.levels[num.get(f"{_W}numId", "")] = abstract.get(ref.get(f"{_W}val", ""), {})

    def label(self, paragraph: object) -> str:
        p_pr = paragraph._p.pPr  # type: ignore[attr-defined]
        num_pr = p_pr.numPr if p_pr is not None else None
        if num_pr is None:
            style = getattr(paragraph, "style", None)
            style_pr = getattr(getattr(style, "element", None), "pPr", None)
            num_pr = style_pr.numPr if style_pr is not None else None
        if num_pr is None or num_pr.numId is None:
            return ""
        num_id = str(num_pr.numId.val)
        ilvl = int(num_pr.ilvl.val) if num_pr.ilvl is not None else 0
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        fmt, template, _ = levels[ilvl]
        if fmt == "bullet":
            return "-"

        def render(match: re.Match[str]) -> str:
            level = int(match.group(1)) - 1
            level_fmt, _, level_start = levels.get(level, ("decimal", "", 1))
            return _format_counter(counters.get(level, level_start), level_fmt)

        return re.sub(r"%(\d)", render, template).strip()


_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _textbox_lines(paragraph_element: Any) -> list[str]:
    """Text of the text boxes anchored in a paragraph (header blocks are often drawn in them)."""
    out: list[str] = []
    for box in paragraph_element.iter(f"{_W}txbxContent"):
        if any(ancestor.tag == _MC_FALLBACK for ancestor in box.iterancestors()):
            continue  # the legacy copy of a box already read from its modern form
        for inner in box.iter(f"{_W}p"):
            out.append("".join(node.text or "" for node in inner.iter(f"{_W}t")))
    return out


def unpacked_size(data: bytes) -> int:
    """What the parts of a zip container declare they unpack to (0 when it is not a zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0  # not a zip: python-docx reports the file as unreadable


def docx_to_text(data: bytes, *, name: str = "") -> str:
    """Paragraphs and tables in document order; numbered paragraphs get their rendered numbers."""
    import docx  # python-docx; imported here so other formats do not pay for it
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    unpacked = unpacked_size(data)
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise UnpackedTooLarge(
            f"{name or 'the .docx'} unpacks to {unpacked} bytes (> {MAX_DOCX_UNPACKED_BYTES}): a zip bomb?",
            file=name,
            size=unpacked,
            limit=MAX_DOCX_UNPACKED_BYTES,
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile("the Word file is corrupt or not a .docx", file=name, reason="corrupt") from exc
    except Exception as exc:  # python-docx raises assorted lxml/package errors on damaged files
        raise UnreadableFile("the Word file is corrupt or not a .docx", file=name, reason="corrupt") from exc
    numbering = _Numbering(document)
    lines: list[str] = []

    def paragraph_line(paragraph: Paragraph) -> str:
        label = numbering.label(paragraph)
        text = paragraph.text.replace("\t", "    ")
        return f"{label} {text}".strip() if label else text

    def table_lines(table: Table) -> None:
        for row in table.rows:
            seen: set[int] = set()
            cells = []
            for cell in row.cells:
                if id(cell._tc) in seen:
                    continue  # a merged cell is repeated by python-docx
                seen.add(id(cell._tc))
                cells.append(cell)
            multi = any(len([p for p in cell.paragraphs if p.text.strip()]) > 1 for cell in cells)
            if multi or len(cells) == 1:
                for cell in cells:
                    lines.extend(paragraph_line(p) for p in cell.paragraphs)
                    for inner in cell.tables:
                        table_lines(inner)
                    lines.append("")
            else:
                lines.append(" | ".join(cell.text.strip().replace("\n", " ") for cell in cells))
        lines.append("")

    # A classification stamp is often typed in the page header, which the body does not contain.
    for section in document.sections[:1]:
        for paragraph in section.header.paragraphs:
            if classification_of(paragraph.text):
                lines.append(paragraph.text.strip())

    def blocks(container: Any) -> Iterator[Paragraph | Table]:
        # paragraphs and tables in order, including those inside content controls (w:sdt)
        for child in container.iterchildren():
            if child.tag == f"{_W}p":
                yield Paragraph(child, document._body)
            elif child.tag == f"{_W}tbl":
                yield Table(child, document._body)
            elif child.tag == f"{_W}sdt":
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    yield from blocks(content)

    for block in blocks(document.element.body):
        if isinstance(block, Paragraph):
            lines.extend(_textbox_lines(block._p))
            lines.append(paragraph_line(block))
        else:
            table_lines(block)
    text = "\n".join(lines)
    if not text.strip():
        has_images = any("image" in rel.reltype for rel in document.part.rels.values())
        if has_images:
            raise NoTextLayer("the Word file holds only images (a scan?); attach a text version", file=name)
    return text


# --- PDF --------------------------------------------------------------------------------------------

_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:trang\s+)?\d{1,4}(?:\s*/\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.I
)
_TERMINAL = '.:;!?…"”)'
_MARKER_RE = re.compile(
    r"^\s*(?:(?:phần|chương|mục|điều|khoản)\s+\S+|[IVXLC]+\s*[.)]|\d+(?:\.\d+)*\s*[.)]|[a-zđ]\s*\)|[-–+•*])",
    re.IGNORECASE,
)


def _strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers and headers/footers repeated on most pages."""
    if len(pages) >= 3:
        edge_counts: Counter[str] = Counter()
        for lines in pages:
            content = [line for line in lines if line.strip()]
            edges = {re.sub(r"\d+", "#", line.strip()) for line in content[:2] + content[-2:]}
            edge_counts.update(edges)
        running = {key for key, count in edge_counts.items() if count >= max(3, len(pages) * 0.6)}
    else:
        running = set()
    out: list[list[str]] = []
    stamp_kept = False
    for lines in pages:
        content_idx = [i for i, line in enumerate(lines) if line.strip()]
        edge_idx = set(content_idx[:2] + content_idx[-2:])
        kept = []
        for i, line in enumerate(lines):
            if classification_of(line) and not stamp_kept:
                stamp_kept = True  # a MẬT stamp printed on every page must survive once
                kept.append(line)
                continue
            if i in edge_idx and (
                re.sub(r"\d+", "#", line.strip()) in running or _PAGE_NUMBER_RE.match(line)
            ):
                continue
            kept.append(line)
        out.append(kept)
    return out


def unwrap_pdf_lines(lines: list[str]) -> list[str]:
    """Re-join lines a PDF wrapped mid-sentence, including words hyphenated across a line break."""
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return lines
    wide = lengths[int(len(lengths) * 0.9) - 1 if len(lengths) > 1 else 0]
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and out[-1].strip() and stripped:
            previous = out[-1].rstrip()
            if re.search(r"[a-zà-ỹđ]-$", previous) and stripped[:1].islower():
                out[-1] = previous[:-1] + stripped
                continue
            wrapped = len(previous) >= 0.7 * wide and previous[-1] not in _TERMINAL
            if wrapped and not _MARKER_RE.match(stripped) and not stripped.isupper():
                out[-1] = f"{previous} {stripped}"
                continue
        out.append(stripped)
    return out


def pdf_to_text(data: bytes, *, name: str = "") -> str:
    """The text layer of every page, headers/footers and page numbers removed, wrapped lines re-joined."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                raise UnreadableFile(
                    "the PDF is password-protected; remove the password and upload it again",
                    file=name,
                    reason="encrypted",
                ) from exc
            if not opened:
                raise UnreadableFile(
                    "the PDF is password-protected; remove the password and upload it again",
                    file=name,
                    reason="encrypted",
                )
        pages = [(page.extract_text() or "") for page in reader.pages]
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile("the PDF is corrupt and cannot be read", file=name, reason="corrupt") from exc
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise UnreadableFile("the PDF is corrupt and cannot be read", file=name, reason="corrupt") from exc
    if not pages:
        raise EmptyDocument("the PDF has no pages", file=name)
    letters = sum(ch.isalpha() for page in pages for ch in page)
    if letters < 20 * len(pages) and letters < 200:
        raise NoTextLayer(
            "the PDF has no text layer (a scan?); run OCR or attach a text version",
            file=name,
            pages=len(pages),
        )
    page_lines = _strip_running_lines([clean_text(page).split("\n") for page in pages])
    lines: list[str] = []
    for page in page_lines:
        lines.extend(page)
    return "\n".join(unwrap_pdf_lines(lines))


# --- HTML -------------------------------------------------------------------------------------------

_BLOCK_TAGS = [
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "thead",
    "tbody",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "center",
    "main",
    "aside",
    "figure",
    "figcaption",
    "caption",
]


def html_to_text(data: bytes, *, name: str = "") -> str:
    """Visible text with block elements on their own lines and table cells separated by tabs."""
    from bs4 import BeautifulSoup

    if data.count(b"\x00") > 16:
        raise UnreadableFile("the HTML file holds binary data", file=name, reason="binary")
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:
        raise UnreadableFile("the HTML file cannot be parsed", file=name, reason="corrupt") from exc
    chrome = ["script", "style", "noscript", "template", "nav", "head", "svg", "iframe", "form", "button"]
    for tag in soup([*chrome, "header", "footer", "aside", "menu"]):  # site chrome, not the document
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after("\t")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text("")
    lines = [re.sub(r"[ \u00a0]+", " ", line).strip(" ") for line in text.split("\n")]
    lines = [re.sub(r"\s*\t\s*", "\t", line).strip("\t ") for line in lines]
    return "\n".join(lines)


# --- entry point ------------------------------------------------------------------------------------


_SCAN_HINT = "it looks like a scan: run OCR or attach a text version (.docx, .pdf with text)"
_CONVERSION_HINTS: dict[str, str] = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx",
    ".odt": "save it as .docx",
    ".mht": "save the page as .html",
    ".mhtml": "save the page as .html",
    ".jpg": _SCAN_HINT,
    ".jpeg": _SCAN_HINT,
    ".png": _SCAN_HINT,
    ".tif": _SCAN_HINT,
    ".tiff": _SCAN_HINT,
}


def read_text(path: Path, *, max_bytes: int) -> tuple[str, str, bytes]:
    """Read `path` and return (clean text, format, raw bytes); refuse what cannot be used."""
    name = path.name
    suffix = path.suffix.lower()
    fmt = FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        hint = _CONVERSION_HINTS.get(suffix, "convert it to one of " + ", ".join(sorted(SUPPORTED_SUFFIXES)))
        raise UnsupportedFormat(
            f"files of type '{suffix or '(none)'}' are not supported; {hint}",
            file=name,
            suffix=suffix,
            supported=sorted(SUPPORTED_SUFFIXES),
            hint=hint,
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile("the file cannot be opened", file=name, reason="missing") from exc
    if not path.is_file():
        raise UnreadableFile("the path is not a regular file", file=name, reason="not_a_file")
    if size > max_bytes:
        raise FileTooLarge(
            f"the file has {size} bytes, over the limit of {max_bytes}",
            file=name,
            size=size,
            max_bytes=max_bytes,
        )
    if size == 0:
        raise EmptyDocument("the file is empty", file=name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile("the file cannot be read", file=name, reason="io") from exc
    if fmt in ("pdf", "docx"):
        _refuse_mismatch(fmt, data, name)
        text = pdf_to_text(data, name=name) if fmt == "pdf" else docx_to_text(data, name=name)
    elif fmt == "html":
        sniffed = _sniff(data)
        if sniffed is not None:
            _refuse_mismatch(fmt, data, name)
        text = html_to_text(data, name=name)
    else:
        sniffed = _sniff(data)
        if sniffed is not None:
            _refuse_mismatch(fmt, data, name)
        text = decode_text(data, name=name)
        _refuse_binary(text, name)
        if fmt == "md":
            text = markdown_to_text(text)
    text = clean_text(text)
    if not any(ch.isalpha() for ch in text):
        raise EmptyDocument("the file contains no text", file=name)
    log.debug("read %s: format=%s bytes=%d chars=%d", name, fmt, size, len(text))
    return text, fmt, data
