"""The legal structure of a body: Phần/Chương/Mục, Điều/khoản/điểm or I./1./a) sections, attachments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from knowledge.header import NAMED_TYPES, display_title, is_upper_text, match_type_line

POINT_LETTERS = "abcdđeghiklmnopqrstuvxy"

_PART_RE = re.compile(r"^(phần)\s+(thứ\s+[^\s.:]+|[IVXLC]+|\d+)\b\s*[.:\-–]?\s*(.*)$", re.IGNORECASE)
_CHAPTER_RE = re.compile(r"^(chương)\s+([IVXLC]+|\d+)\b\s*[.:\-–]?\s*(.*)$", re.IGNORECASE)
_MUC_RE = re.compile(r"^(mục)\s+([IVXLC]+|\d+)\b\s*[.:\-–]?\s*(.*)$", re.IGNORECASE)
_ARTICLE_RE = re.compile(r"^điều\s+(\d{1,3}[a-zđ]?)\s*([.:\-–]\s*|\s+(?=\S)|$)(.*)$", re.IGNORECASE)
_ROMAN_RE = re.compile(r"^([IVXLC]{1,6})\s*[.)/\-–]\s*(.*)$")
_CLAUSE_RE = re.compile(r"^(?:khoản\s+)?(\d{1,2})\s*(?:[.)]|\s*:|-\s)\s*(.*)$", re.IGNORECASE)
_SUBCLAUSE_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){1,3})\s*[.)\-]?\s+(.*)$")
_POINT_RE = re.compile(r"^(?:điểm\s+)?([a-zđ])\s*(?:\)|-\s)\s*(.*)$", re.IGNORECASE)
_POINT_DOT_RE = re.compile(r"^([a-zđ])\.\s+(.*)$")  # "a. ..." in lower case only ("Q. Ba Đình" is a place)
_TRAILER_RE = re.compile(r"^(?:nơi nhận\s*:|(?:t/m|tm\.?|k/t|kt\.?|tl\.?|q\.)\s+[A-ZĐ])", re.IGNORECASE)
_ATTACH_RE = re.compile(
    r"^\(?\s*(?:ban hành\s+)?kèm theo\s+(?:quyết định|nghị định|nghị quyết|thông tư|công văn)\b.*(?:số|ngày)",
    re.IGNORECASE,
)
_TERMINAL = '.:;!?…"”)'
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def article_key(label: str) -> tuple[int, str]:
    """Order of article labels: "21" < "21a" < "22"."""
    digits = re.match(r"\d+", label)
    return (int(digits.group(0)) if digits else 0, label[digits.end() :] if digits else label)


def roman_value(label: str) -> int | None:
    """The value of a well-formed Roman numeral, else None ("IIII" and "VX" are rejected)."""
    total = 0
    previous = 0
    for ch in reversed(label):
        value = _ROMAN_VALUES.get(ch)
        if value is None:
            return None
        total = total - value if value < previous else total + value
        previous = max(previous, value)
    canonical = ""
    remaining = total
    for arabic, letters in [(100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX")]:
        while remaining >= arabic:
            canonical += letters
            remaining -= arabic
    for arabic, letters in [(5, "V"), (4, "IV"), (1, "I")]:
        while remaining >= arabic:
            canonical += letters
            remaining -= arabic
    return total if canonical == label and total > 0 else None


@dataclass
class Block:
    """A numbered piece under a unit: a khoản (or a "2.1" sub-section) with its điểm."""

    label: str | None  # khoản number, or None for text before the first khoản
    lines: list[str] = field(default_factory=list)  # the khoản line itself and text before its first điểm
    points: list[tuple[str, list[str]]] = field(default_factory=list)  # (letter, lines)


@dataclass
class Unit:
    """An article-level piece: one Điều, one "II.2" section, or one group of paragraphs."""

    article: int | str | None
    heading: str  # "Điều 5. Thời gian luân chuyển", "2. Xác nhận chương trình"
    heading_lines: list[str]  # lines printed before the body (section heading above a sub-section)
    path: list[str]  # Phần / Chương / Mục (and the attachment) above it
    blocks: list[Block] = field(default_factory=list)
    in_attachment: bool = False
    # The kind and title of the attached text it belongs to: a decision may issue several.
    attachment_type: str | None = None
    attachment_title: str | None = None


@dataclass
class Body:
    units: list[Unit]
    attachment_type: str | None = None
    attachment_title: str | None = None
    mode: str = "articles"  # "articles" | "sections" | "numbered" | "paragraphs"


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Re-join a line broken mid-sentence when the next line continues in lower case."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if out and out[-1] and line and line[0].islower():
            previous = out[-1]
            heading_only = bool(
                _PART_RE.match(previous) or _CHAPTER_RE.match(previous) or _MUC_RE.match(previous)
            )
            if (
                previous[-1] not in _TERMINAL
                and not is_upper_text(previous)
                and not heading_only
                and not (_POINT_RE.match(line) or _POINT_DOT_RE.match(line))
                and not _TRAILER_RE.match(previous)
            ):
                out[-1] = f"{previous} {line}"
                continue
        out.append(line)
    return out


def _classify(line: str) -> tuple[str, str, str]:
    """(kind, label, rest) of one line."""
    for kind, regex in (("part", _PART_RE), ("chapter", _CHAPTER_RE), ("muc", _MUC_RE)):
        match = regex.match(line)
        if match:
            return kind, f"{match.group(1).capitalize()} {match.group(2)}", match.group(3).strip()
    match = _ARTICLE_RE.match(line)
    if match:
        # "Điều 5 của Quy định này ..." at the start of a wrapped line is prose, not a heading
        loose = not match.group(2).strip() and match.group(3)[:1].islower()
        if not loose:
            return "article", match.group(1), match.group(3).strip()
    match = _ROMAN_RE.match(line)
    if match and roman_value(match.group(1)) and (match.group(2) or line.rstrip().endswith((".", ")"))):
        return "roman", match.group(1), match.group(2).strip()
    match = _SUBCLAUSE_RE.match(line)
    if match:
        return "subclause", match.group(1), match.group(2).strip()
    match = _CLAUSE_RE.match(line)
    if match and not re.match(r"^\d{1,2}\s*[.)]\s*\d", line):
        return "clause", match.group(1), match.group(2).strip()
    match = _POINT_RE.match(line) or _POINT_DOT_RE.match(line)
    if match and match.group(1).lower() in POINT_LETTERS:
        return "point", match.group(1).lower(), match.group(2).strip()
    trailer = _TRAILER_RE.match(line)
    if trailer and (line[:1] in "Nn" or is_upper_text(line[trailer.end() - 1 :])):
        return "trailer", "", line  # "Nơi nhận:", "TM. BAN THƯỜNG VỤ", not "Q. Ba Đình thực hiện."
    if _ATTACH_RE.match(line):
        return "attach", "", line
    return "text", "", line


def _heading_text(kind: str, label: str, rest: str) -> str:
    """The canonical heading of an article ("Điều 5. Thời gian") or a Roman section ("II. NỘI DUNG")."""
    if kind == "article":
        return f"Điều {label}. {rest}" if rest else f"Điều {label}"
    return f"{label}. {rest}" if rest else f"{label}."


class _Builder:
    """Turns classified lines into units according to the document's numbering mode."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.units: list[Unit] = []
        self.path: list[tuple[str, str]] = []  # (kind, heading)
        self.attachment: str | None = None
        self.in_attachment = False
        self.attached: AttachmentLabel | None = None
        self.unit: Unit | None = None
        self.block: Block | None = None
        self.point: list[str] | None = None
        self.last_article: tuple[int, str] = (0, "")
        self.roman: str | None = None
        self.last_sub = 0  # last "1." sub-section number under the current Roman section (or at top)
        self.roman_heading = ""
        self.trailer = False
        # (units before it, index in the path, path) of every Phần/Chương/Mục heading, to keep empty ones
        self.path_marks: list[tuple[int, int, list[str]]] = []

    def retitle(self, kind: str, heading: str) -> None:
        """Complete the last Phần/Chương/Mục heading with its title line."""
        self.path[-1] = (kind, heading)
        position, index, _ = self.path_marks[-1]
        self.path_marks[-1] = (position, index, self.path_strings())

    def path_strings(self) -> list[str]:
        prefix = [self.attachment] if self.in_attachment and self.attachment else []
        return prefix + [heading for _, heading in self.path]

    def open_unit(self, article: int | str | None, heading: str, heading_lines: list[str]) -> None:
        attached = self.attached if self.in_attachment else None
        self.unit = Unit(
            article,
            heading,
            heading_lines,
            self.path_strings(),
            in_attachment=self.in_attachment,
            attachment_type=attached.kind if attached else None,
            attachment_title=(attached.title or None) if attached else None,
        )
        self.units.append(self.unit)
        self.block = Block(None, [])
        self.unit.blocks.append(self.block)
        self.point = None

    def ensure_unit(self) -> None:
        if self.unit is None:
            self.open_unit(None, "", [])

    def add_text(self, line: str) -> None:
        self.ensure_unit()
        assert self.block is not None
        if self.point is not None:
            self.point.append(line)
        else:
            self.block.lines.append(line)

    def set_path(self, kind: str, heading: str) -> None:
        order = ["part", "chapter", "muc"]
        level = order.index(kind)
        self.path = [(k, h) for k, h in self.path if order.index(k) < level] + [(kind, heading)]
        self.path_marks.append((len(self.units), len(self.path) - 1, self.path_strings()))
        self.unit = None
        self.block = None
        self.point = None

    def start_attachment(self, label: str | None, attached: AttachmentLabel | None = None) -> None:
        self.in_attachment = True
        self.attachment = label
        self.attached = attached
        self.path = []
        self.unit = None
        self.block = None
        self.point = None
        self.last_article = (0, "")
        self.roman = None
        self.last_sub = 0
        self.trailer = False

    def add_clause(self, label: str, line: str) -> None:
        assert self.unit is not None
        self.block = Block(label, [line])
        self.unit.blocks.append(self.block)
        self.point = None

    def add_point(self, letter: str, line: str) -> bool:
        if self.block is None:
            return False
        position = POINT_LETTERS.find(letter)
        if self.block.points:
            previous = POINT_LETTERS.find(self.block.points[-1][0])
            if not previous < position <= previous + 2:  # tolerate "d) e)" without "đ)"
                return False
        elif position != 0:
            return False
        self.point = [line]
        self.block.points.append((letter, self.point))
        return True


def _detect_mode(kinds: list[tuple[str, str, str]]) -> str:
    articles = [label for kind, label, _ in kinds if kind == "article"]
    if articles:
        return "articles"
    if sum(1 for kind, _, _ in kinds if kind == "roman") >= 1:
        return "sections"
    if sum(1 for kind, _, _ in kinds if kind == "clause") >= 2:
        return "numbered"
    return "paragraphs"


def _is_structural(line: str) -> bool:
    return _classify(line)[0] in ("part", "chapter", "muc", "article", "roman", "attach", "clause", "trailer")


@dataclass(frozen=True)
class AttachmentLabel:
    """The kind and title an attached text opens with: ("QUY ĐỊNH", "đánh giá, xếp loại hằng tháng")."""

    kind: str
    title: str  # as it reads after its kind in a sentence; "" when the text has no title line
    printed: str  # the title as printed, for the heading path

    @property
    def label(self) -> str:
        return f"{self.kind} {self.printed}".strip()


def attached_title(title: str, kind: str) -> str:
    """The title of an attached text as it reads after its kind ("Quy định " + title): a title printed in
    capitals reads in lower case, and a sentence-case one loses its capital ("Tiêu chí và thang điểm …"
    → "tiêu chí và thang điểm …"); acronyms and codes ("KPI …", "01/VBHN …") and the names of named
    kinds ("ĐIỀU LỆ" / "Hội Cựu chiến binh") are kept."""
    text = display_title(re.sub(r"\s+", " ", title).strip(), kind)
    first = text.split(" ", 1)[0]
    if kind not in NAMED_TYPES and first[:1].isupper() and first[1:].islower() and first.isalpha():
        text = text[0].lower() + text[1:]
    return text


def _attachment_label(lines: list[str], index: int) -> tuple[int, int, AttachmentLabel | None]:
    """Look back from `index` for the type line ("QUY ĐỊNH") and title that open an attachment.

    Returns (first line of the attachment, first line after its label, its kind and title)."""
    for back in range(index - 1, max(0, index - 7) - 1, -1):
        if not lines[back]:
            continue
        typed = match_type_line(lines[back])
        if typed and is_upper_text(lines[back][: len(typed[0])]):
            doc_type, rest = typed
            title_lines = [rest] if rest else []
            end = back + 1
            while end < len(lines) and end <= index and not _is_structural(lines[end]):
                if lines[end]:
                    title_lines.append(lines[end])
                end += 1
            printed = re.sub(r"\s+", " ", " ".join(title_lines)).strip()
            return back, end, AttachmentLabel(doc_type, attached_title(printed, doc_type), printed)
        if _is_structural(lines[back]) and back != index:
            break
    return index, index, None


def _open_numbered(builder: _Builder, label: str, line: str, heading_lines: list[str]) -> None:
    """A "2. ..." section: a short line is its heading, a sentence is its first content."""
    line = line.strip()
    if len(line) > 150 or line[-1:] in ".;:":
        builder.open_unit(label, "", heading_lines)
        builder.add_text(line)
    else:
        builder.open_unit(label, line, heading_lines)


def parse_body(lines: list[str]) -> Body:
    """Parse body lines (after the header) into units; every non-trailer line lands in some unit."""
    lines = join_wrapped_lines(lines)
    classified = [_classify(line) if line else ("blank", "", "") for line in lines]
    mode = _detect_mode(classified)
    builder = _Builder(mode)
    body = Body(units=builder.units, mode=mode)

    # Attachment starts: a "(Ban hành kèm theo ...)" line after some article, or Điều 1 restarting.
    attach_at: dict[int, tuple[int, AttachmentLabel | None]] = {}
    seen_unit = False
    last_article = (0, "")
    for index, (kind, label, _) in enumerate(classified):
        if kind == "attach" and seen_unit:
            start, end, attach_label = _attachment_label(lines, index)
            attach_at[start] = (max(end, index + 1), attach_label)
            seen_unit = False
            last_article = (0, "")
        elif kind == "article":
            number = article_key(label)
            if number == (1, "") and last_article >= (1, ""):
                start, end, attach_label = _attachment_label(lines, index)
                attach_at.setdefault(start, (end, attach_label))
            last_article = number
            seen_unit = True
        elif kind == "roman":
            seen_unit = True
    # The decision and each attachment choose their own numbering mode: a Quyết định with Điều may
    # issue a Hướng dẫn written in I./1./a) sections.
    bounds = [0, *sorted(attach_at), len(lines)]
    segment_modes = {a: _detect_mode(classified[a:b]) for a, b in pairwise(bounds)}
    mode = segment_modes[0] if attach_at else mode
    builder.mode = body.mode = mode
    if attach_at:
        # Kind and title as found: re-reading the joined label as a type line refused a title printed in
        # sentence case ("QUY ĐỊNH" / "Tiêu chí và thang điểm …"), and the citation lost both.
        _, first_label = attach_at[min(attach_at)]
        if first_label:
            body.attachment_type = first_label.kind
            body.attachment_title = first_label.title or None

    index = 0
    pending_title: tuple[str, str, int] | None = None  # a Chương/Mục heading still taking title lines
    while index < len(lines):
        line = lines[index]
        kind, label, rest = classified[index]
        if index in attach_at:
            end, attach_label = attach_at.pop(index)
            builder.start_attachment(attach_label.label if attach_label else "Văn bản kèm theo", attach_label)
            mode = builder.mode = segment_modes[index]
            pending_title = None
            if end > index:
                index = end
                continue
        if kind == "blank":
            index += 1
            continue
        if builder.trailer:
            index += 1
            continue
        if pending_title is not None:
            path_kind, heading, absorbed = pending_title
            pending_title = None
            upper = is_upper_text(line)
            first_short = not absorbed and len(line) <= 120 and line[-1:] not in ".;:"
            if kind == "text" and absorbed < 3 and (upper or first_short):
                joined = f"{heading} {line}" if absorbed else f"{heading}. {line}"
                if heading.endswith("."):
                    joined = f"{heading} {line}"
                builder.retitle(path_kind, joined)
                if upper:
                    pending_title = (path_kind, joined, absorbed + 1)
                index += 1
                continue
        if kind == "trailer":
            builder.trailer = True
            index += 1
            continue
        if kind in ("part", "chapter", "muc"):
            heading = f"{label}. {rest}" if rest else label
            builder.set_path(kind, heading)
            pending_title = (kind, heading, 1 if rest else 0)
            index += 1
            continue
        if kind == "article" and mode == "articles":
            number = article_key(label)
            previous_line = next((lines[i] for i in range(index - 1, -1, -1) if lines[i]), "")
            continues = previous_line[-1:] == "," or (
                previous_line[-1:].isalpha() and previous_line[-1:].islower()
            )
            loose_heading = not re.match(r"^điều\s+\d+\s*[.:\-–]", line, re.IGNORECASE)
            if number > builder.last_article and not (continues and loose_heading):
                builder.last_article = number
                heading_rest = rest
                if not heading_rest and index + 1 < len(lines):
                    next_kind = classified[index + 1][0]
                    candidate = lines[index + 1]
                    if next_kind == "text" and len(candidate) <= 120 and candidate[-1:] not in ".;":
                        heading_rest = candidate
                        index += 1
                content = ""
                if len(heading_rest) > 150 or heading_rest[-1:] in ".;":
                    heading_rest, content = "", heading_rest  # "Điều 2. Quyết định này có hiệu lực ..."
                article: int | str = int(label) if label.isdigit() else label  # "21a" in consolidated texts
                builder.open_unit(article, _heading_text("article", label, heading_rest), [])
                if content:
                    builder.add_text(content)
                index += 1
                continue
        if kind == "roman" and mode == "sections":
            builder.roman = label
            builder.last_sub = 0
            builder.roman_heading = _heading_text("roman", label, rest)
            builder.open_unit(label, builder.roman_heading, [])
            index += 1
            continue
        if kind == "clause":
            clause_number = int(label)
            if mode == "articles" and builder.unit is not None and builder.unit.article is not None:
                previous = [int(b.label) for b in builder.unit.blocks if b.label and b.label.isdigit()]
                if clause_number > (previous[-1] if previous else 0):
                    builder.add_clause(label, line)
                    index += 1
                    continue
            elif mode == "sections" and builder.roman is not None and clause_number > builder.last_sub:
                builder.last_sub = clause_number
                _open_numbered(builder, f"{builder.roman}.{label}", line, [builder.roman_heading])
                index += 1
                continue
            elif mode == "numbered" and clause_number > builder.last_sub:
                builder.last_sub = clause_number
                _open_numbered(builder, label, line, [])
                index += 1
                continue
            elif mode in ("sections", "numbered") and builder.unit is not None:
                builder.add_clause(label, line)  # a list restarting at 1 inside a section
                index += 1
                continue
        if kind == "subclause" and mode in ("sections", "numbered") and builder.unit is not None:
            builder.add_clause(label, line)
            index += 1
            continue
        if kind == "point" and builder.unit is not None and builder.add_point(label, line):
            index += 1
            continue
        builder.add_text(line)
        index += 1
    carried = {heading for unit in builder.units for heading in unit.heading_lines}
    keep = [
        any(b.lines or b.points for b in unit.blocks) or bool(unit.heading and unit.heading not in carried)
        for unit in builder.units
    ]
    used = {heading for unit, kept in zip(builder.units, keep, strict=True) if kept for heading in unit.path}
    inserts: dict[int, list[Unit]] = {}
    for position, _, path in builder.path_marks:
        if path and path[-1] not in used:
            # a heading with nothing under it (an empty chapter, a truncated excerpt): keep its words
            empty = Unit(None, path[-1], [], path[:-1], blocks=[Block(None, [])], in_attachment=False)
            inserts.setdefault(position, []).append(empty)
            used.add(path[-1])
    units: list[Unit] = []
    for position, (unit, kept) in enumerate(zip(builder.units, keep, strict=True)):
        units.extend(inserts.pop(position, []))
        if kept:
            units.append(unit)
    units.extend(unit for extra in inserts.values() for unit in extra)
    body.units = units
    return body
