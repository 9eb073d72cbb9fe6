"""A chunk's text cut into the pieces an answer can point at: khoản, điểm, or sentences of plain text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.structure import _classify

_SENTENCE_END_RE = re.compile(r"(?<=[.;!?])\s+(?=[A-ZĐÀ-Ỹ0-9(])")
_MIN_SENTENCE_SPLIT = 320  # a plain paragraph longer than this is pointed at sentence by sentence


@dataclass(frozen=True)
class Segment:
    """One pointable piece of a chunk: its khoản and điểm labels (when numbered) and its verbatim text.

    `lead` is the first line of the khoản a điểm belongs to ("2. Cán bộ được quy hoạch phải:"), so a
    quote of the điểm can be read on its own."""

    clause: str | None
    point: str | None
    text: str
    lead: str = ""


def split_passage(text: str, *, heading: str = "", clause: str | None = None) -> list[Segment]:
    """The segments of a chunk's text in order; the article heading printed at its top is left out.

    `clause` is the chunk's own khoản (a chunk cut from a long khoản holds only its điểm)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if heading:
        head = heading.strip()
        for i, line in enumerate(lines[:4]):
            if line == head:
                lines = lines[i + 1 :]
                break
    segments: list[Segment] = []
    current: list[str] = []
    label: tuple[str | None, str | None] = (clause, None)
    lead = ""
    clause_lead = ""

    def flush() -> None:
        if current:
            segments.append(Segment(label[0], label[1], "\n".join(current), lead))
            current.clear()

    for line in lines:
        kind, value, _ = _classify(line)
        if kind in ("clause", "subclause"):
            flush()
            label, lead, clause_lead = (value, None), "", line
            current.append(line)
        elif kind == "point":
            if not clause_lead and current and label[1] is None:
                clause_lead = current[-1]  # "… thực hiện như sau:" introducing the points
            flush()
            label, lead = (label[0], value), clause_lead
            current.append(line)
        else:
            current.append(line)
    flush()
    out: list[Segment] = []
    for seg in segments:
        lines = seg.text.split("\n")
        if len(seg.text) > _MIN_SENTENCE_SPLIT and len(lines) > 2:
            # a long khoản written as lines ("Bước 1: …", "- …"): each line, read after the khoản's first line
            out.append(Segment(seg.clause, seg.point, lines[0], seg.lead))
            lead = lines[0] if not seg.lead else f"{seg.lead} … {lines[0]}"
            out.extend(Segment(seg.clause, seg.point, line, lead) for line in lines[1:])
        elif seg.clause is None and seg.point is None and len(seg.text) > _MIN_SENTENCE_SPLIT:
            out.extend(Segment(None, None, part) for part in _SENTENCE_END_RE.split(seg.text) if part.strip())
        else:
            out.append(seg)
    return out
