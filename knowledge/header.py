"""The header block of a Vietnamese regulation: issuer, number, place, date, type, title, markings."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from knowledge.numbers import NUMBER_PATTERN, find_numbers, normalise_number

# Document types as printed on the type line, longest first so "QUYẾT ĐỊNH" wins over "QUY ĐỊNH".
DOC_TYPES: tuple[str, ...] = (
    "QUYẾT ĐỊNH",
    "QUY ĐỊNH",
    "QUY CHẾ",
    "HƯỚNG DẪN",
    "ĐỀ ÁN",
    "NGHỊ QUYẾT",
    "NGHỊ ĐỊNH",
    "KẾT LUẬN",
    "CHỈ THỊ",
    "THÔNG TƯ LIÊN TỊCH",
    "THÔNG TƯ",
    "BỘ LUẬT",
    "LUẬT",
    "HIẾN PHÁP",
    "PHÁP LỆNH",
    "KẾ HOẠCH",
    "CHƯƠNG TRÌNH",
    "THÔNG BÁO",
    "CÔNG VĂN",
    "ĐIỀU LỆ",
    "BÁO CÁO",
    "TỜ TRÌNH",
    "QUY TRÌNH",
)
# The type implied by the code in a number, used when the header has no type line.
TYPE_BY_CODE: dict[str, str] = {
    "QĐi": "QUY ĐỊNH",
    "NĐ": "NGHỊ ĐỊNH",
    "HD": "HƯỚNG DẪN",
    "ĐA": "ĐỀ ÁN",
    "NQ": "NGHỊ QUYẾT",
    "KL": "KẾT LUẬN",
    "CT": "CHỈ THỊ",
    "TT": "THÔNG TƯ",
    "KH": "KẾ HOẠCH",
    "CTr": "CHƯƠNG TRÌNH",
    "TB": "THÔNG BÁO",
    "QC": "QUY CHẾ",
}
# Types whose title is a name ("LUẬT VIÊN CHỨC" → "Luật Viên chức"), not a subject line ("về ...").
NAMED_TYPES = frozenset({"BỘ LUẬT", "LUẬT", "HIẾN PHÁP", "PHÁP LỆNH", "ĐIỀU LỆ"})
CLASSIFICATIONS = ("TUYỆT MẬT", "TỐI MẬT", "MẬT")
SAMPLE_MARK = "VĂN BẢN MẪU MINH HỌA"

_MOTTOS = (
    "ĐẢNG CỘNG SẢN VIỆT NAM",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "ĐỘC LẬP - TỰ DO - HẠNH PHÚC",
    "ĐỘC LẬP – TỰ DO – HẠNH PHÚC",
)
_MOTTO_STARTS = ("ĐỘC LẬP", "CỘNG HÒA", "CỘNG HOÀ")
_DEPARTMENTS = ("BAN ", "VĂN PHÒNG", "ỦY BAN KIỂM TRA", "UỶ BAN KIỂM TRA", "ĐẢNG ĐOÀN", "BAN CÁN SỰ")
_LOCALITY_PREFIXES = ("THÀNH PHỐ", "TỈNH", "QUẬN", "HUYỆN", "THỊ XÃ", "XÃ", "PHƯỜNG", "TP.", "TP ")
_SEGMENT_SPLIT_RE = re.compile(r"\t+|\s{3,}|\s+\|\s+")
_DATE_WORDS_RE = re.compile(
    r"ngày\s+(\d{1,2})\s*(?:tháng\s+|[/.-]\s*)(\d{1,2})\s*(?:năm\s+|[/.-]\s*)(\d{4})", re.IGNORECASE
)
_DATE_NUMERIC_RE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)")
_NUMBER_LINE_RE = re.compile(rf"^\s*số\s*[:.]?\s*({NUMBER_PATTERN})", re.IGNORECASE)
_BODY_START_RE = re.compile(
    r"^\s*(?:căn cứ|thực hiện|xét đề nghị|theo đề nghị|(?:phần|chương|mục)\s+(?:thứ\s+\w+|[IVXLC]+|\d+)\b"
    r"|điều\s+\d+|[IVXLC]+\s*[.)]\s|\d{1,2}\s*[.)]\s)",
    re.IGNORECASE,
)
# A title line may start with "thực hiện" ("Hướng dẫn thực hiện Quy định ..."); a preamble starts in capitals.
_TITLE_STOP_RE = re.compile(
    r"^\s*(?:Căn cứ|CĂN CỨ|Thực hiện|THỰC HIỆN|Xét đề nghị|Theo đề nghị"
    r"|(?:[Pp]hần|PHẦN|[Cc]hương|CHƯƠNG|[Mm]ục|MỤC)\s+(?:thứ\s+\w+|[IVXLC]+|\d+)\b"
    r"|(?:Điều|ĐIỀU)\s+\d+|[IVXLC]+\s*[.)]\s|\d{1,2}\s*[.)]\s)"
)
_ATTACHED_TO_RE = re.compile(
    rf"^\s*\(?\s*(?:ban hành\s+)?kèm theo\s+(quyết định|nghị định|nghị quyết|thông tư|chỉ thị|công văn)"
    rf"\s+(?:số\s*[:.]?\s*)?({NUMBER_PATTERN})?(.*)$",
    re.IGNORECASE,
)
_DECORATION_RE = re.compile(r"^[\s*\-–—_=~.•]*$")


@dataclass
class Header:
    """What the header block says; `body_start` is the index of the first line after it."""

    number: str | None = None
    doc_type: str | None = None
    title: str = ""
    issuer: str | None = None
    issued: date | None = None
    place: str | None = None
    classification: str | None = None
    is_sample: bool = False
    body_start: int = 0
    header_lines: list[str] = field(default_factory=list)
    # A regulation saved on its own under "(Ban hành kèm theo Quyết định số ... ngày ...)"
    parent_type: str | None = None
    parent_number: str | None = None
    parent_issued: date | None = None


def make_date(day: str, month: str, year: str) -> date | None:
    """A date from its printed parts, None when impossible ("31 tháng 2")."""
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def find_date(text: str) -> date | None:
    """The first "ngày 28 tháng 4 năm 2022" (or "28/4/2022") in `text`."""
    match = _DATE_WORDS_RE.search(text) or _DATE_NUMERIC_RE.search(text)
    return make_date(*match.groups()) if match else None


def is_upper_text(text: str) -> bool:
    """True when `text` has letters and all of them are upper case."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def fold(text: str) -> str:
    """Lower case without diacritics, for marker comparisons ("Mẫu" → "mau")."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)).lower()


_FOLDED_SAMPLE = fold(SAMPLE_MARK)


def match_type_line(segment: str) -> tuple[str, str] | None:
    """("QUY ĐỊNH", "về ...") when `segment` is a type line: the type in capitals, then maybe a title."""
    stripped = segment.strip().strip("*").strip()
    for doc_type in DOC_TYPES:
        if stripped.upper().startswith(doc_type) and stripped[: len(doc_type)].isupper():
            rest = stripped[len(doc_type) :]
            if rest and rest[0].isalnum():
                continue  # "QUY ĐỊNHX" or "QUY CHẾ" inside a longer word
            rest = rest.strip(" :.-–")
            if rest.endswith(":") or stripped.endswith(":"):
                return None  # "QUYẾT ĐỊNH:" introduces the articles of a decision
            if rest and not (
                is_upper_text(rest)
                or rest[:1].islower()
                or fold(rest).startswith(("ve ", "ban hanh"))
                or (doc_type in NAMED_TYPES and not any(ch.isalpha() for ch in rest))  # "HIẾN PHÁP 2013"
            ):
                continue
            return doc_type, rest
    return None


def display_title(title: str, doc_type: str | None) -> str:
    """A title printed in capitals, as it reads in a sentence: "VỀ LUÂN CHUYỂN CÁN BỘ" → "về luân chuyển
    cán bộ", "VIÊN CHỨC 2010" (of a LUẬT) → "Viên chức 2010". Codes and numbers ("01/VBHN-VPQH") are kept."""
    if not is_upper_text(title):
        return title
    words = []
    depth = 0
    for word in title.split():
        depth += word.count("(")
        keep = depth > 0 or any(ch.isdigit() for ch in word) or "/" in word or "-" in word.strip("-–")
        words.append(word if keep else word.lower())
        depth = max(0, depth - word.count(")"))
    text = " ".join(words)
    if doc_type in NAMED_TYPES and text[:1].isalpha():
        text = text[0].upper() + text[1:]
    return text


def classification_of(segment: str) -> str | None:
    """The marking when `segment` is a classification stamp ("MẬT", "Độ mật: TỐI MẬT"), else None."""
    stripped = segment.strip().strip("*()[]\"'“”").strip()
    upper = re.sub(r"\s+", " ", stripped.upper())
    upper = re.sub(r"^(?:MỨC\s+)?ĐỘ MẬT\s*[:.]?\s*|^TÀI LIỆU\s+", "", upper)
    return upper if upper in CLASSIFICATIONS else None


def split_segments(line: str) -> list[str]:
    """A header line may hold both columns ("BỘ CHÍNH TRỊ      ĐẢNG CỘNG SẢN VIỆT NAM")."""
    return [part.strip() for part in _SEGMENT_SPLIT_RE.split(line) if part.strip()]


def _pick_issuer(candidates: list[str]) -> str | None:
    if not candidates:
        return None
    last = candidates[-1]
    if len(candidates) > 1 and last.startswith(_LOCALITY_PREFIXES):
        return f"{candidates[-2]} {last}"
    parent = candidates[-2] if len(candidates) > 1 else ""
    if parent and last.startswith(_DEPARTMENTS) and not last.endswith(("ỦY", "ƯƠNG")):
        # "BAN CHẤP HÀNH TRUNG ƯƠNG" over "BAN TỔ CHỨC" → "BAN TỔ CHỨC TRUNG ƯƠNG"
        if parent == "BAN CHẤP HÀNH TRUNG ƯƠNG":
            return f"{last} TRUNG ƯƠNG"
        if not parent.startswith("ĐẢNG BỘ"):
            return f"{last} {parent}"
    if last.endswith("ỦY") and parent.startswith("ĐẢNG BỘ "):
        # "ĐẢNG BỘ THÀNH PHỐ HÀ NỘI" over "THÀNH ỦY" → "THÀNH ỦY HÀ NỘI"
        locality = parent.removeprefix("ĐẢNG BỘ ").strip()
        for prefix in ("THÀNH PHỐ ", "TỈNH ", "QUẬN ", "HUYỆN ", "THỊ XÃ ", "TP. ", "TP "):
            locality = locality.removeprefix(prefix)
        return f"{last} {locality}".strip()
    return last


def parse_header(lines: list[str], *, scan_lines: int = 40) -> Header:
    """Read the header block from the first lines of a document; tolerant of missing parts.

    When nothing is found at the top (a web page with its menus first), the block is searched for
    around the first "Số ..." line or stand-alone type line further down; what lies above it is noise
    and is left out of the body.
    """
    header = _scan_header(lines, start=0, scan_lines=scan_lines)
    if header.number or header.issued or header.doc_type:
        return header
    anchor = next((i for i in range(min(len(lines), 200)) if _is_anchor(lines, i)), None)
    if anchor is None or anchor < 4:
        return header
    found = _scan_header(lines, start=max(0, anchor - 6), scan_lines=scan_lines)
    return found if (found.number or found.issued or found.doc_type) else header


def _is_anchor(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if any(_NUMBER_LINE_RE.match(segment) for segment in split_segments(line)):
        return True
    typed = match_type_line(line)
    following = next((ln.strip() for ln in lines[index + 1 : index + 3] if ln.strip()), "")
    return bool(
        typed and not typed[1] and line.isupper() and following and not _BODY_START_RE.match(following)
    )


def _scan_header(lines: list[str], *, start: int, scan_lines: int) -> Header:
    header = Header()
    issuer_candidates: list[str] = []
    number_line = date_line = type_line = -1
    limit = min(len(lines), start + scan_lines)
    prose_lines = 0
    for index in range(start, limit):
        line = lines[index]
        if index < 8 and _FOLDED_SAMPLE in fold(line):
            header.is_sample = True
            continue
        if type_line >= 0 or prose_lines > 6 or _BODY_START_RE.match(line):
            break
        for segment in split_segments(line):
            marking = classification_of(segment)
            if marking:
                header.classification = header.classification or marking
                continue
            number_match = _NUMBER_LINE_RE.match(segment)
            if number_match and header.number is None:
                header.number = normalise_number(number_match.group(1))
                number_line = index
                segment = segment[number_match.end() :].strip()  # "Số 65-QĐ/TW Hà Nội, ngày ..."
                if not segment:
                    continue
            date_match = _DATE_WORDS_RE.search(segment)
            if date_match and header.issued is None:
                header.issued = make_date(*date_match.groups())
                date_line = index
                place = segment[: date_match.start()].rstrip(" ,")
                place = re.sub(rf"^.*?{NUMBER_PATTERN}", "", place).strip(" ,")
                header.place = place or None
                continue
            if re.match(r"^(?:V/v|V/V|Về việc)\s", segment) and not header.title:
                header.title = segment  # a letter's subject line ("V/v hướng dẫn ...")
                continue
            typed = match_type_line(segment)
            if typed:
                header.doc_type, header.title = typed
                type_line = index
                break
            upper = segment.upper()
            if _DECORATION_RE.match(segment) or upper in _MOTTOS or upper.startswith(_MOTTO_STARTS):
                continue
            if is_upper_text(segment) and number_line < 0 and len(segment) <= 120:
                for motto in _MOTTOS:  # both columns on one line, separated by a single space
                    segment = segment.replace(motto, " ")
                if segment.strip(" *-"):
                    issuer_candidates.append(re.sub(r"\s+", " ", segment).strip(" *-"))
            elif not is_upper_text(segment):
                prose_lines += 1
    header.issuer = _pick_issuer([c for c in issuer_candidates if c])
    if type_line >= 0:
        title_parts = [header.title] if header.title else []
        index = type_line + 1
        while index < len(lines) and len(title_parts) < 5:
            line = lines[index].strip()
            if not line:
                if title_parts:
                    index += 1
                    break
                index += 1
                continue
            if _DECORATION_RE.match(line):
                index += 1
                if title_parts:
                    break
                continue
            if _TITLE_STOP_RE.match(line) or classification_of(line) or line.endswith(":"):
                break
            if line.startswith("(") and title_parts:
                break  # "(Ban hành kèm theo ...)" or "(Dự thảo)"
            if line.startswith(("-", "+", "•")):
                break  # "- Căn cứ ..." bullets of the preamble
            if title_parts and is_upper_text(line) and not is_upper_text(title_parts[-1]):
                break  # "BỘ CHÍNH TRỊ" above the preamble of a decision
            title_parts.append(line)
            index += 1
        header.title = display_title(re.sub(r"\s+", " ", " ".join(title_parts)).strip(), header.doc_type)
        if index < len(lines):
            attached = _ATTACHED_TO_RE.match(lines[index])
            if attached:
                header.parent_type = attached.group(1).upper()
                header.parent_number = normalise_number(attached.group(2)) if attached.group(2) else None
                header.parent_issued = find_date(attached.group(3) or "")
                index += 1
        header.body_start = index
    else:
        header.body_start = max(number_line, date_line) + 1 if max(number_line, date_line) >= 0 else 0
        if header.body_start == 0 and header.is_sample:
            header.body_start = next(
                (i + 1 for i in range(min(8, len(lines))) if _FOLDED_SAMPLE in fold(lines[i])), 0
            )
    if header.doc_type is None and header.number:
        code = re.split(r"[-/]", header.number)
        for piece in code[1:]:
            if piece in TYPE_BY_CODE:
                header.doc_type = TYPE_BY_CODE[piece]
                break
    if header.number is None:
        # A number printed without "Số" stands alone on its line, above the type line.
        above = lines[: type_line if type_line >= 0 else min(header.body_start, 12)]
        for segment in (segment for line in above for segment in split_segments(line)):
            numbers = find_numbers(segment)
            if numbers and len(segment) <= len(numbers[0]) + 6:
                header.number = numbers[0]
                break
    header.header_lines = lines[: header.body_start]
    return header
