"""Message splitting and escaping: limits, paragraph boundaries, balanced tags, nothing lost."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages import TELEGRAM_LIMIT, escape, split_message

TAG = re.compile(r"<[^>]+>")


def visible(html: str) -> str:
    return re.sub(r"&[a-z]+;|&#\d+;|&#x[0-9a-fA-F]+;", "x", TAG.sub("", html))


def balanced(html: str) -> bool:
    stack: list[str] = []
    for m in re.finditer(r"<(/?)([a-z]+)[^>]*>", html):
        if m.group(1):
            if not stack or stack.pop() != m.group(2):
                return False
        else:
            stack.append(m.group(2))
    return not stack


def test_escape_neutralises_html() -> None:
    assert escape('<b>"Điều 5" & khoản</b>') == "&lt;b&gt;&quot;Điều 5&quot; &amp; khoản&lt;/b&gt;"
    assert escape(12) == "12"


def test_short_text_is_one_message() -> None:
    assert split_message("Xin chào") == ["Xin chào"]


def test_split_prefers_paragraph_boundaries() -> None:
    paragraphs = [f"Đoạn {i}: " + "nội dung quy định " * 40 for i in range(30)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) > 1
    for part in parts:
        assert len(visible(part)) <= TELEGRAM_LIMIT
        assert part.startswith("Đoạn ")  # every message starts at a paragraph
    assert "\n\n".join(parts) == "\n\n".join(paragraphs)


def test_oversized_paragraph_is_cut_at_spaces_with_tags_reopened() -> None:
    text = "<b>" + "cán bộ luân chuyển " * 600 + "</b>"
    parts = split_message(text, limit=1000)
    assert len(parts) >= 10
    for part in parts:
        assert len(visible(part)) <= 1000
        assert balanced(part) and part.startswith("<b>") and part.endswith("</b>")
    joined = "".join(visible(p) for p in parts).replace(" ", "")
    assert joined == visible(text).replace(" ", "")


def test_entities_are_never_cut() -> None:
    text = "a&amp;b " * 3000
    for part in split_message(text, limit=500):
        assert not re.search(r"&[a-z]*$", part) and not re.match(r"^[a-z]*;", part)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["", "b", "i", "code"]), st.text(min_size=0, max_size=400)),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=50, max_value=600),
)
def test_any_escaped_html_splits_within_limit_and_balanced(blocks: list[tuple[str, str]], limit: int) -> None:
    html = "\n\n".join(f"<{t}>{escape(s)}</{t}>" if t else escape(s) for t, s in blocks)
    parts = split_message(html, limit=limit)
    for part in parts:
        assert len(visible(part)) <= limit
        assert balanced(part)
    original = re.sub(r"\s", "", visible(html))
    assert re.sub(r"\s", "", "".join(visible(p) for p in parts)) == original
