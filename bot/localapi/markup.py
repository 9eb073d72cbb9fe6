"""Telegram's HTML parse mode: validates like the Bot API and yields plain text, entities and safe page HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

# Tag -> entity type (None: decided by attributes).
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_PAGE_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>", re.DOTALL)
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ParseEntitiesError(ValueError):
    """The text is not valid Telegram HTML; the message is Telegram's own wording."""


@dataclass
class ParsedText:
    """Text as Telegram stores it after parsing, plus HTML safe to show on the playground page."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    page_html: str = ""


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entities(chunk: str, source: str, start: int) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
            if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code)
        elif name.lower() in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[name.lower()]
        raise ParseEntitiesError(
            f'Bad Request: can\'t parse entities: Unsupported HTML entity "&{name};" '
            f"at byte offset {_byte_offset(source, start + match.start())}"
        )

    return _ENTITY_RE.sub(replace, chunk)


def _attributes(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if value is None:
            value = match.group(4) or ""
        attrs[match.group(1).lower()] = html.unescape(value)
    return attrs


def _page_link(url: str) -> str | None:
    return url if re.match(r"^(https?|tg|mailto):", url, re.IGNORECASE) else None


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML; raise ParseEntitiesError with Telegram's description when it would be refused."""
    text_parts: list[str] = []
    page_parts: list[str] = []
    entities: list[dict[str, Any]] = []
    # Open tags: (tag name, entity dict or None, utf16 start, page closing tag)
    stack: list[tuple[str, dict[str, Any] | None, int, str]] = []
    offset16 = 0
    pos = 0

    def add_text(chunk: str, at: int) -> None:
        nonlocal offset16
        if not chunk:
            return
        decoded = _decode_entities(chunk, source, at)
        text_parts.append(decoded)
        page_parts.append(html.escape(decoded, quote=False))
        offset16 += utf16_length(decoded)

    while pos < len(source):
        lt = source.find("<", pos)
        if lt < 0:
            add_text(source[pos:], pos)
            break
        add_text(source[pos:lt], pos)
        match = _TAG_RE.match(source, lt)
        if match is None:
            raise ParseEntitiesError(
                "Bad Request: can't parse entities: Unexpected end of name token at byte offset "
                f"{_byte_offset(source, lt)}"
            )
        closing, name, raw_attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if closing:
            if not stack:
                raise ParseEntitiesError(
                    "Bad Request: can't parse entities: Unexpected end tag at byte offset "
                    f"{_byte_offset(source, lt)}"
                )
            open_name, entity, start16, page_close = stack.pop()
            if open_name != name:
                raise ParseEntitiesError(
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{_byte_offset(source, lt)}, expected "</{open_name}>", found "</{name}>"'
                )
            if entity is not None and offset16 > start16:
                entity["offset"] = start16
                entity["length"] = offset16 - start16
                entities.append(entity)
            page_parts.append(page_close)
        else:
            attrs = _attributes(raw_attrs)
            entity, page_open, page_close = _open_tag(name, attrs, stack, source, lt)
            stack.append((name, entity, offset16, page_close))
            page_parts.append(page_open)
        pos = match.end()

    if stack:
        raise ParseEntitiesError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1][0]}\""
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(text="".join(text_parts), entities=entities, page_html="".join(page_parts))


def _open_tag(
    name: str,
    attrs: dict[str, str],
    stack: list[tuple[str, dict[str, Any] | None, int, str]],
    source: str,
    at: int,
) -> tuple[dict[str, Any] | None, str, str]:
    """Entity template, page opening tag and page closing tag for one start tag."""
    if name == "a":
        href = attrs.get("href", "")
        if not href:
            return None, "", ""
        link = _page_link(href)
        page_open = (
            f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer">' if link else "<span>"
        )
        return {"type": "text_link", "url": href}, page_open, "</a>" if link else "</span>"
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise ParseEntitiesError(
                f'Bad Request: can\'t parse entities: Tag "span" must have class "tg-spoiler" '
                f"at byte offset {_byte_offset(source, at)}"
            )
        return {"type": "spoiler"}, '<span class="tg-spoiler">', "</span>"
    if name == "tg-emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}, "<span>", "</span>"
    if name not in _SIMPLE_TAGS:
        raise ParseEntitiesError(
            f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte offset '
            f"{_byte_offset(source, at)}"
        )
    kind = _SIMPLE_TAGS[name]
    if kind == "spoiler":
        return {"type": "spoiler"}, '<span class="tg-spoiler">', "</span>"
    if kind == "code" and stack and stack[-1][0] == "pre" and stack[-1][1] is not None:
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][1]["language"] = language[len("language-") :]
        return None, "<code>", "</code>"
    if kind == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    tag = _PAGE_TAGS[kind]
    return {"type": kind}, f"<{tag}>", f"</{tag}>"


def plain_text(text: str) -> ParsedText:
    """A message without parse mode: the text as is."""
    return ParsedText(text=text, entities=[], page_html=html.escape(text, quote=False))


def parse_text(text: str, parse_mode: str | None, *, limit: int = MAX_TEXT_LENGTH) -> ParsedText:
    """Validate a message text (or caption) as the Bot API does for the given parse mode."""
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        parsed = parse_html(text)
    elif mode in ("", "none"):
        parsed = plain_text(text)
    elif mode in ("markdown", "markdownv2"):
        parsed = plain_text(text)  # kept verbatim: the product uses HTML
    else:
        raise ParseEntitiesError(f"Bad Request: unsupported parse_mode {parse_mode!r}")
    if utf16_length(parsed.text) > limit:
        raise ParseEntitiesError(
            "Bad Request: message is too long"
            if limit == MAX_TEXT_LENGTH
            else "Bad Request: message caption is too long"
        )
    return parsed
