"""Telegram HTML parse mode: accepted markup, entity offsets in UTF-16 units, refusals worded like Telegram."""

from __future__ import annotations

import pytest

from bot.localapi.markup import ParseEntitiesError, parse_html, parse_text, utf16_length


def test_nested_tags_give_entities_with_utf16_offsets() -> None:
    parsed = parse_html("🎉 <b>Điều <i>5</i></b> &lt;Khoản&gt; &#272;&#x1EA0;")
    assert parsed.text == "🎉 Điều 5 <Khoản> ĐẠ"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 6},
        {"type": "italic", "offset": 8, "length": 1},
    ]
    assert parsed.page_html == "🎉 <b>Điều <i>5</i></b> &lt;Khoản&gt; ĐẠ"


def test_links_pre_spoiler_blockquote() -> None:
    parsed = parse_html(
        '<a href="https://vbpl.vn/x?a=1&amp;b=2">VB</a> <pre><code class="language-python">x</code></pre>'
        ' <span class="tg-spoiler">s</span> <blockquote expandable>q</blockquote>'
    )
    assert parsed.text == "VB x s q"
    kinds = {e["type"]: e for e in parsed.entities}
    assert kinds["text_link"]["url"] == "https://vbpl.vn/x?a=1&b=2"
    assert kinds["pre"]["language"] == "python"
    assert set(kinds) == {"text_link", "pre", "spoiler", "expandable_blockquote"}
    assert 'target="_blank"' in parsed.page_html


def test_javascript_links_are_not_clickable_on_the_page() -> None:
    parsed = parse_html('<a href="javascript:alert(1)">x</a>')
    assert parsed.entities[0]["url"] == "javascript:alert(1)"
    assert "javascript" not in parsed.page_html


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("</b>", "Unexpected end tag"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<span>x</span>", "tg-spoiler"),
        ("1 < 2", "Unexpected end of name token"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("&#99999999;", "Unsupported HTML entity"),
        ("&#xD800;", "Unsupported HTML entity"),
    ],
)
def test_refusals_name_the_problem(source: str, fragment: str) -> None:
    with pytest.raises(ParseEntitiesError) as caught:
        parse_html(source)
    assert "can't parse entities" in str(caught.value)
    assert fragment in str(caught.value)


def test_length_limits_count_parsed_text_in_utf16_units() -> None:
    assert utf16_length("🎉") == 2
    assert parse_text("<b>" + "a" * 4096 + "</b>", "HTML").text == "a" * 4096
    with pytest.raises(ParseEntitiesError, match="message is too long"):
        parse_text("🎉" * 2049, None)
    with pytest.raises(ParseEntitiesError, match="caption is too long"):
        parse_text("a" * 1025, None, limit=1024)
    assert parse_text("<b>không phải HTML</b>", None).text == "<b>không phải HTML</b>"
