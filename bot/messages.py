"""Telegram HTML: escaping user/document text and splitting long messages on paragraph boundaries."""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
_TOKEN = re.compile(r"(<[^>]*>|&[#a-zA-Z0-9]+;)")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9-]+)[^>]*>")


def escape(text: object) -> str:
    """Escape any value for Telegram's HTML parse mode (only &, <, > and quotes matter)."""
    return html.escape(str(text), quote=True)


def clause(text: object) -> str:
    """User text placed inside a sentence of ours, escaped, without its own closing full stops.

    A reviewer's comment "Tốt." inside "…: loại B; {comment}." would otherwise end the notice in "..".
    """
    return escape(str(text).strip().rstrip(".…").rstrip())


def _visible_length(fragment: str) -> int:
    """Telegram counts the message length after entity parsing: tags vanish, entities count as one."""
    length = 0
    for part in _TOKEN.split(fragment):
        if not part:
            continue
        if part.startswith("<") and part.endswith(">"):
            continue
        if part.startswith("&") and part.endswith(";"):
            length += 1
            continue
        length += len(part)
    return length


def _raw_units(text: str) -> list[str]:
    """Text split into indivisible units: tags, entities, and single characters."""
    units: list[str] = []
    for part in _TOKEN.split(text):
        if not part:
            continue
        if _TOKEN.fullmatch(part):
            units.append(part)
        else:
            units.extend(part)
    return units


def _open_stack(units: list[str]) -> list[tuple[str, str]]:
    """The tags still open after `units`, outermost first, as (name, opening tag)."""
    stack: list[tuple[str, str]] = []
    for unit in units:
        m = _TAG.fullmatch(unit)
        if not m:
            continue
        name = m.group(2).lower()
        if not m.group(1):
            stack.append((name, unit))
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == name:
                del stack[i]
                break
    return stack


def _hard_split(paragraph: str, limit: int) -> list[str]:
    """Split one oversized HTML paragraph at whitespace, closing and reopening open tags at the cut."""
    pieces: list[str] = []
    current: list[str] = []
    visible = 0
    for unit in _raw_units(paragraph):
        is_tag = _TAG.fullmatch(unit) is not None
        if not is_tag and visible + 1 > limit:
            spaces = [i for i, u in enumerate(current) if u.isspace()]
            cut = spaces[-1] + 1 if spaces and spaces[-1] > len(current) // 2 else len(current)
            head, tail = current[:cut], current[cut:]
            stack = _open_stack(head)
            pieces.append("".join(head).rstrip() + "".join(f"</{n}>" for n, _ in reversed(stack)))
            current = [opening for _, opening in stack] + tail
            visible = _visible_length("".join(current))
        current.append(unit)
        if not is_tag:
            visible += 1
    if current:
        pieces.append("".join(current))
    return [p for p in pieces if _visible_length(p) > 0]


def split_message(text: str, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split HTML `text` into messages of at most `limit` visible characters.

    Cuts fall on paragraph boundaries (blank lines), then line breaks, then whitespace; a paragraph is
    never cut inside a tag or entity, and tags open at a cut are closed and reopened.
    """
    if limit < 16:
        raise ValueError("limit too small")
    if _visible_length(text) <= limit:
        return [text]
    blocks: list[str] = []
    for paragraph in re.split(r"\n{2,}", text):
        if _visible_length(paragraph) <= limit:
            blocks.append(paragraph)
            continue
        lines = paragraph.split("\n")
        if all(_visible_length(line) <= limit for line in lines) and not _has_open_tag_across(lines):
            blocks.extend(lines)
        else:
            blocks.extend(_hard_split(paragraph, limit))
    messages: list[str] = []
    current = ""
    for block in blocks:
        if not block.strip():
            continue
        candidate = f"{current}\n\n{block}" if current else block
        if _visible_length(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def _has_open_tag_across(lines: list[str]) -> bool:
    """True when some tag opens on one line and closes on another (so lines cannot be split apart)."""
    for line in lines:
        depth = 0
        for m in _TAG.finditer(line):
            depth += -1 if m.group(1) else 1
        if depth != 0:
            return True
    return False
