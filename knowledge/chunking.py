"""Units of a parsed body → citable chunks: one per khoản (text before the first khoản joins it), one per
Điều without khoản, per điểm when a khoản is long; each chunk repeats its article heading."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.model import Chunk
from knowledge.structure import Block, Body, Unit

DEFAULT_MAX_CHUNK_CHARS = 1200
_SENTENCE_RE = re.compile(r"(?<=[.;!?:])\s+")


@dataclass
class _Piece:
    text: str
    clause: str | None = None
    point: str | None = None


def _block_lines(block: Block) -> list[str]:
    lines = list(block.lines)
    for _, point_lines in block.points:
        lines.extend(point_lines)
    return lines


def _join(prefix: list[str], lines: list[str]) -> str:
    return "\n".join(line for line in [*prefix, *lines] if line)


def _split_long(prefix: list[str], lines: list[str], max_chars: int) -> list[str]:
    """Greedy groups of lines (then sentences, then words) so each text stays under `max_chars`."""
    budget = max(200, max_chars - len(_join(prefix, [])) - 1)
    pieces: list[str] = []
    for line in lines:
        if len(line) <= budget:
            pieces.append(line)
            continue
        for sentence in _SENTENCE_RE.split(line):
            while len(sentence) > budget:
                cut = sentence.rfind(" ", 0, budget)
                cut = cut if cut > budget // 2 else budget
                pieces.append(sentence[:cut].rstrip())
                sentence = sentence[cut:].lstrip()
            if sentence:
                pieces.append(sentence)
    groups: list[list[str]] = [[]]
    size = 0
    for piece in pieces:
        if groups[-1] and size + len(piece) + 1 > budget:
            groups.append([])
            size = 0
        groups[-1].append(piece)
        size += len(piece) + 1
    return [_join(prefix, group) for group in groups if group]


def _block_pieces(prefix: list[str], block: Block, max_chars: int) -> list[_Piece]:
    whole = _join(prefix, _block_lines(block))
    if len(whole) <= max_chars:
        return [_Piece(whole, block.label)]
    if not block.points:
        return [_Piece(text, block.label) for text in _split_long(prefix, block.lines, max_chars)]
    pieces: list[_Piece] = []
    head = [*prefix, *block.lines]
    if len(_join(head, [])) > max_chars // 2:
        pieces.extend(_Piece(text, block.label) for text in _split_long(prefix, block.lines, max_chars))
        head = [*prefix, block.lines[0][:200]] if block.lines else list(prefix)
    group: list[tuple[str, list[str]]] = []

    def flush() -> None:
        if not group:
            return
        point = group[0][0] if len(group) == 1 else None
        lines = [line for _, point_lines in group for line in point_lines]
        text = _join(head, lines)
        if len(text) <= max_chars:
            pieces.append(_Piece(text, block.label, point))
        else:
            pieces.extend(_Piece(part, block.label, point) for part in _split_long(head, lines, max_chars))
        group.clear()

    for letter, point_lines in block.points:
        candidate = _join(head, [line for _, lines in group for line in lines] + point_lines)
        if group and len(candidate) > max_chars:
            flush()
        group.append((letter, point_lines))
    flush()
    return pieces


def _unit_pieces(unit: Unit, max_chars: int) -> list[_Piece]:
    prefix = [*unit.heading_lines, unit.heading] if unit.heading else list(unit.heading_lines)
    all_lines = [line for block in unit.blocks for line in _block_lines(block)]
    whole = _join(prefix, all_lines)
    numbered = [block for block in unit.blocks if block.label]
    if len(whole) <= max_chars and len(numbered) < 2:
        intro = unit.blocks[0]
        only = numbered[0].label if len(numbered) == 1 and not intro.lines and not intro.points else None
        return [_Piece(whole, only)]
    pieces: list[_Piece] = []
    carried: list[str] = []  # a short lead-in ("… gồm các nội dung sau:") is read with the first khoản
    for i, block in enumerate(unit.blocks):
        if not block.lines and not block.points:
            continue
        if (
            i == 0
            and block.label is None
            and not block.points
            and len(unit.blocks) > 1
            and len(_join([], block.lines)) <= 300
        ):
            carried = list(block.lines)
            continue
        if carried and len(_join([*prefix, *carried], _block_lines(block))) > max_chars:
            pieces.append(_Piece(_join(prefix, carried)))  # too long together: the lead-in stands alone
            carried = []
        pieces.extend(_block_pieces([*prefix, *carried], block, max_chars))
        carried = []
    return pieces


def build_chunks(body: Body, *, doc_id: str, max_chars: int = DEFAULT_MAX_CHUNK_CHARS) -> list[Chunk]:
    """Chunks in document order with stable ids `"{doc_id}:{position}"`."""
    chunks: list[Chunk] = []
    for unit in body.units:
        path = [*unit.path, *unit.heading_lines] + ([unit.heading] if unit.heading else [])
        for piece in _unit_pieces(unit, max_chars):
            if not piece.text.strip():
                continue
            position = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}:{position}",
                    doc_id=doc_id,
                    position=position,
                    text=piece.text,
                    article=unit.article,
                    article_heading=unit.heading,
                    clause=piece.clause,
                    point=piece.point,
                    heading_path=list(path),
                    in_attachment=unit.in_attachment,
                    attachment_type=unit.attachment_type,
                    attachment_title=unit.attachment_title,
                )
            )
    return chunks
