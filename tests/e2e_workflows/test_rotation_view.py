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
from sqlmodel import Session

from records.audit import list_audit
from records.db import make_engine
from records.people import find_person_by_code
from records.rotations import list_rotations
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


def test_staff_record_a_rotation_in_the_bot_within_their_scope(rot_flow: Flow) -> None:
    cadre_view = rot_flow.say("BD03", "/luanchuyen", "Không có việc nhận xét")
    assert "➕ Ghi nhận luân chuyển" not in cadre_view.button_texts  # only staff and admins record
    listing = rot_flow.say("TU01", "/luanchuyen", "Không có việc nhận xét")
    rot_flow.press("TU01", listing, "➕ Ghi nhận luân chuyển", "Gõ một dòng theo mẫu")
    rot_flow.say("TU01", "BD03 | HK", "Chưa đúng mẫu")
    rot_flow.say(
        "TU01", "BD03 | HK | Phó Chánh Văn phòng | 31/02/2026", "Ngày bắt đầu «31/02/2026» không hợp lệ"
    )
    rot_flow.say("TU01", "ZZ9 | HK | Phó Chánh Văn phòng | 01/11/2026", "Không có cán bộ mã «ZZ9»")
    rot_flow.say("TU01", "BD03 | QQ | Phó Chánh Văn phòng | 01/11/2026", "Không có đơn vị mã «QQ»")
    short = rot_flow.say("TU01", "BD03 | HK | Phó Chánh Văn phòng | 01/11/2026 | 12", "ít nhất 36 tháng")
    assert "kết thúc sớm nhất ngày 01/11/2029" in short.body
    preview = rot_flow.say(
        "TU01", "bd03 | hk | Phó Chánh Văn phòng | 01/11/2026", "Kiểm tra trước khi ghi nhận"
    )
    assert "Cán bộ: Phạm Thị Dung (BD03)" in preview.body
    assert "Thời hạn: 36 tháng, từ 01/11/2026 đến 01/11/2029" in preview.body
    cadre_before, head_before = rot_flow.last_id("BD03"), rot_flow.last_id("HK01")
    done = rot_flow.press("TU01", preview, "✅ Ghi nhận", "Đã ghi nhận luân chuyển Phạm Thị Dung (BD03)")
    assert "Kỳ đánh giá tiếp theo: 01/05/2027 (định kỳ 6 tháng)." in done.body
    assert "Phạm Thị Dung" in done.body.split("Đã báo cho:")[1] and "Bùi Thị Hà" in done.body
    rot_flow.wait(
        "BD03",
        "Ban Tổ chức đã ghi nhận đợt luân chuyển của bạn đến Quận ủy Hoàn Kiếm (HK)",
        after=cadre_before,
    )
    rot_flow.wait("HK01", "Phạm Thị Dung được luân chuyển đến Quận ủy Hoàn Kiếm (HK)", after=head_before)
    mine = rot_flow.say("BD03", "/luanchuyen", "Đợt luân chuyển của bạn")
    assert "Chức vụ: Phó Chánh Văn phòng" in mine.body
    engine = make_engine(rot_flow.db_url)
    try:
        with Session(engine) as session:
            person = find_person_by_code(session, cadre_code="BD03")
            staff = find_person_by_code(session, cadre_code="TU01")
            assert person is not None and staff is not None
            [rotation] = list_rotations(session, actor_id=None, person_id=person.id)
            audit = list_audit(session, entity="rotation", entity_id=rotation.id)
    finally:
        engine.dispose()
    assert person.unit_code == "HK" and [(a.action, a.actor_id) for a in audit] == [("create", staff.id)]
    # Staff of a district record only within it: BD02 leaves BD, outside HK03's scope.
    listing = rot_flow.say("HK03", "/luanchuyen", "Không có việc nhận xét")
    rot_flow.press("HK03", listing, "➕ Ghi nhận luân chuyển", "Gõ một dòng theo mẫu")
    refused = rot_flow.say(
        "HK03", "BD02 | HK | Phó Trưởng ban | 01/11/2026", "❌ Chỉ chuyên viên Ban Tổ chức"
    )
    assert "đơn vị đi (BD) và đơn vị đến (HK)" in refused.body and refused.button_texts == []
