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
