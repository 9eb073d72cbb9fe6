"""bot/texts.py is complete: every stable error code, roster issue and command has Vietnamese wording."""

from __future__ import annotations

import inspect
import re
import string

import knowledge.errors
import records.errors
import retrieval.errors
from bot import texts
from bot.app import FEATURES
from records import roster

VIETNAMESE_MARKS = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)


def _codes(module: object) -> set[str]:
    return {
        cls.code
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if isinstance(getattr(cls, "code", None), str) and issubclass(cls, Exception)
    }


def test_every_lower_package_error_code_has_wording() -> None:
    codes = _codes(knowledge.errors) | _codes(retrieval.errors) | _codes(records.errors)
    assert codes, "no error codes found"
    missing = sorted(code for code in codes if code not in texts.ERROR_CODES)
    assert not missing, f"bot/texts.py ERROR_CODES lacks: {missing}"
    assert texts.describe_error("no_such_code") == texts.ERROR_CODE_FALLBACK


def test_every_roster_issue_code_has_wording() -> None:
    source = inspect.getsource(roster)
    codes = set(re.findall(r'code="([a-z_]+)"', source))
    assert codes and not sorted(codes - set(texts.ROSTER_ISSUES))


def test_every_command_has_an_ascii_name_and_a_vietnamese_description() -> None:
    names = [spec.name for feature in FEATURES for spec in feature.commands]
    assert len(names) == len(set(names))
    for feature in FEATURES:
        for spec in feature.commands:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", spec.name)
            assert 3 <= len(spec.description) <= 256 and VIETNAMESE_MARKS.search(spec.description)


def test_user_facing_strings_are_vietnamese_with_diacritics_and_valid_placeholders() -> None:
    formatter = string.Formatter()
    strings = {
        name: value for name, value in vars(texts).items() if name.isupper() and isinstance(value, str)
    }
    assert len(strings) > 60
    for name, value in strings.items():
        words = re.sub(r"\{[a-z_]*\}|<[^>]+>", " ", value)
        if len(re.findall(r"[^\W\d_]", words)) >= 8:  # real wording, not a pure template
            assert VIETNAMESE_MARKS.search(value), f"{name} has no Vietnamese diacritics"
        for _, field, _, _ in formatter.parse(value):
            assert field is None or re.fullmatch(r"[a-z_]+", field), f"{name}: bad placeholder {field!r}"
        assert value.count("<b>") == value.count("</b>") and value.count("<i>") == value.count("</i>"), name


def test_no_notice_ends_in_a_double_full_stop() -> None:
    from bot import texts_workflows as tw
    from bot.messages import clause

    for proposed in ("", tw.NOTIFY_REVIEWED_PROPOSED.format(grade="A")):
        notice = tw.NOTIFY_REVIEWED.format(period="10/2026", grade="B", proposed=proposed)
        assert notice.endswith(".") and not notice.endswith(".."), notice
    # The reviewer's comment is quoted on its own line: its own full stop stays inside the quotes.
    assert tw.NOTIFY_REVIEWED_COMMENT.format(comment="Tốt.") == "Nhận xét: «Tốt.»"
    assert clause("<b>x</b>.") == "&lt;b&gt;x&lt;/b&gt;"  # still escaped
