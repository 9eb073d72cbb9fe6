"""A rotation recorded with `canbo rotation start` against the running bot's database, then /luanchuyen.

The walk of 07/12/2026 (docs/walk-2026-12-07.md §3, items 3 and 4): a rotation started 05/11/2023 and recorded
on 30/10/2026 listed six overdue forms and asked the receiving head for a comment «hạn 05/05/2024».
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e_workflows.conftest import Flow, running_flow
from tests.fakes.telegram import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def rot_flow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """One bot for the module's tests on 30/10/2026, on SQLite and on a fresh Postgres database."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"t_rot_{uuid.uuid4().hex[:10]}")
    root = tmp_path_factory.mktemp(f"rot-{request.param}")
    with running_flow(root, start="2026-10-30T09:00:00+07:00", database_url=url) as world:
        yield world


def canbo(flow: Flow, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `canbo` command line against the running bot's database and workflow clock."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=flow.bot.environment(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_back_dated_rotation_asks_only_for_the_review_after_it_was_recorded(rot_flow: Flow) -> None:
    result = canbo(
        rot_flow,
        *("rotation", "start", "--cadre", "HK02", "--to-unit", "BD", "--post", "Phó Trưởng ban"),
        *("--start", "05/11/2023", "--by", "TU01"),
    )
    assert result.returncode == 0, result.stderr
    assert "Kỳ đánh giá tiếp theo: 05/11/2026 (kết thúc luân chuyển)." in result.stdout
    due = rot_flow.say("HK02", "/luanchuyen", "Đánh giá cán bộ luân chuyển đến hạn")
    assert "1. Tự nhận xét của Ngô Văn Khoa (kỳ kết thúc luân chuyển) — hạn 05/11/2026" in due.body
    assert "2024" not in due.body and "05/05/2026" not in due.body
    assert due.button_texts == ["✍️ 1. Điền phiếu"]
    rot_flow.press("HK02", due, "✍️ 1.", "Gõ bản tự nhận xét")
    head_before = rot_flow.last_id("BD01")
    rot_flow.say("HK02", "Hoàn thành nhiệm vụ ba năm luân chuyển", "Đã lưu")
    notice = rot_flow.wait("BD01", "chờ bạn: Nhận xét của tập thể nơi đến", after=head_before)
    assert notice.button_texts == ["✍️ Nhận xét Ngô Văn Khoa (hạn 05/11/2026)"]
    # The cadre sees the rotation itself, with the next review and whose turn it is; the past ones are named.
    mine = rot_flow.say("HK02", "/luanchuyen", "Đợt luân chuyển của bạn")
    assert "Đơn vị tiếp nhận: Quận ủy Ba Đình (BD)" in mine.body
    assert "Thời hạn: 36 tháng, từ 05/11/2023 đến 05/11/2026" in mine.body
    assert (
        "Kỳ đánh giá tiếp theo: 05/11/2026 (kết thúc luân chuyển) — chờ nhận xét của tập thể nơi đến, còn 6 ngày"
        in mine.body
    )
    assert (
        "5 kỳ đánh giá đến hạn trước ngày ghi nhận đợt luân chuyển (30/10/2026) không phải làm trên hệ thống"
        in mine.body
    )
    assert "Không có việc nhận xét, đánh giá luân chuyển nào đến hạn với bạn." in mine.body
    # The receiving head sees whom the unit receives, besides the comment form now due.
    head = rot_flow.say("BD01", "/luanchuyen", "Cán bộ luân chuyển đến đơn vị bạn phụ trách")
    assert (
        "1. Ngô Văn Khoa — Phó Trưởng ban, Quận ủy Ba Đình (BD); 36 tháng, từ 05/11/2023 đến 05/11/2026"
        in head.body
    )
    assert (
        "Nhận xét của tập thể nơi đến về Ngô Văn Khoa (kỳ kết thúc luân chuyển) — hạn 05/11/2026" in head.body
    )
    assert head.button_texts == ["✍️ 1. Điền phiếu"]


def test_the_rotated_cadre_and_the_receiving_head_see_the_rotation_before_any_review_is_due(
    rot_flow: Flow,
) -> None:
    result = canbo(
        rot_flow,
        *("rotation", "start", "--cadre", "BD04", "--to-unit", "HK", "--post", "Phó Trưởng ban"),
        *("--start", "30/10/2026", "--by", "TU01"),
    )
    assert result.returncode == 0, result.stderr
    mine = rot_flow.say("BD04", "/luanchuyen", "Đợt luân chuyển của bạn")
    assert (
        "Đơn vị tiếp nhận: Quận ủy Hoàn Kiếm (HK)\n"
        "Chức vụ: Phó Trưởng ban\n"
        "Nơi đi: Quận ủy Ba Đình (BD), Chuyên viên\n"
        "Thời hạn: 36 tháng, từ 30/10/2026 đến 30/10/2029\n"
        "Kỳ đánh giá tiếp theo: 30/04/2027 (định kỳ 6 tháng) — chờ bạn tự nhận xét, còn 182 ngày" in mine.body
    )
    assert "không phải làm" not in mine.body
    assert mine.body.endswith("Không có việc nhận xét, đánh giá luân chuyển nào đến hạn với bạn.")
    assert mine.button_texts == []
    head = rot_flow.say("HK01", "/luanchuyen", "Cán bộ luân chuyển đến đơn vị bạn phụ trách")
    assert (
        "1. Hoàng Văn Em — Phó Trưởng ban, Quận ủy Hoàn Kiếm (HK); 36 tháng, từ 30/10/2026 đến 30/10/2029\n"
        "    Kỳ đánh giá tiếp theo: 30/04/2027 (định kỳ 6 tháng) — chờ cán bộ tự nhận xét, còn 182 ngày"
        in head.body
    )
    # Neither another unit's head nor a cadre without a rotation sees it.
    other = rot_flow.say("BD03", "/luanchuyen", "Không có việc nhận xét")
    assert "Hoàng Văn Em" not in other.body and "Đợt luân chuyển" not in other.body
    bd_head = rot_flow.say("BD01", "/luanchuyen", "Cán bộ luân chuyển đến đơn vị bạn phụ trách")
    assert "Hoàng Văn Em" not in bd_head.body
