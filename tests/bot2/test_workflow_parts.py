"""Fast tests of the workflow features' pieces: input parsing, the clock seam, rendering, reminder planning on SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from bot.features import evaluation, programme, reminders, workflow
from bot.settings import Settings
from records.db import make_engine, session_scope
from records.evaluations import TaskInput, open_evaluation, plan_tasks, save_self_assessment
from records.migrate import upgrade
from records.people import find_person_by_code, find_unit_by_code, link_telegram
from records.periods import Period
from records.programmes import ItemInput
from records.roster import import_roster
from records.rotations import RotationInput, start_rotation
from records.rules import default_rules

ROSTER = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
TT01,Trần Thủ Trưởng,0902000002,Bí thư,BD,Quận ủy Ba Đình,,,thủ trưởng,BD
NX01,Lê Nhận Xét,0903000003,Trưởng phòng,BD,,,TT01,người nhận xét,BD
CB01,Phạm Cán Bộ,0904000004,Chuyên viên,BD,,,NX01,cán bộ,
CB02,Hoàng Chưa Nộp,0905000005,Chuyên viên,BD,,,NX01,cán bộ,
CB03,Ngô Không Dùng Bot,0906000006,Chuyên viên,BD,,,NX01,cán bộ,
"""
RULES = default_rules()
OCTOBER = Period("month", 2026, 10)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        import_roster(session, data=ROSTER.encode(), filename="r.csv", now=datetime(2026, 10, 1, tzinfo=UTC))
        for code, uid in (("TT01", 501), ("NX01", 502), ("CB01", 503), ("CB02", 504)):
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            link_telegram(session, person_id=person.id, telegram_user_id=uid, chat_id=uid)
    return engine


def _id(engine: Engine, code: str) -> int:
    with session_scope(engine) as session:
        person = find_person_by_code(session, cadre_code=code)
        assert person is not None
        return person.id


# --- parsing ----------------------------------------------------------------------------------------------


def test_task_line_parsing_names_what_is_wrong() -> None:
    task = evaluation.parse_task_line("Báo cáo quý | Trình Thường trực | 25/10", OCTOBER)
    assert isinstance(task, TaskInput)
    assert (task.title, task.expected_result, task.deadline) == (
        "Báo cáo quý",
        "Trình Thường trực",
        date(2026, 10, 25),
    )
    only_title = evaluation.parse_task_line("  Rà soát hồ sơ  ", OCTOBER)
    assert isinstance(only_title, TaskInput) and only_title.deadline is None
    assert "không đúng" in str(evaluation.parse_task_line("A | B | 31/02", OCTOBER))
    assert "nằm ngoài kỳ 2026-10" in str(evaluation.parse_task_line("A | B | 01/11/2026", OCTOBER))
    assert "trống" in str(evaluation.parse_task_line(" | B", OCTOBER))
    assert "500" in str(evaluation.parse_task_line("x" * 501, OCTOBER))


def test_numbers_and_periods_typed_on_a_phone() -> None:
    assert workflow.parse_number("17,5") == 17.5
    assert workflow.parse_number(" 18 ") == 18.0
    assert workflow.parse_number("mười") is None
    assert workflow.parse_number("nan") is None
    assert workflow.parse_period("10/2026", RULES) == OCTOBER
    assert workflow.parse_period("2026-10", RULES) == OCTOBER
    assert workflow.parse_period("2026-Q4", RULES) is None  # monthly rules
    assert workflow.parse_period("2026-13", RULES) is None


def test_dates_typed_with_a_two_digit_year_are_20xx_everywhere() -> None:
    assert workflow.parse_day("1/10/26") == date(2026, 10, 1)
    assert workflow.parse_day("01.10.2026") == date(2026, 10, 1)
    assert workflow.parse_day("1/10") is None  # a year is needed unless a default is given
    assert workflow.parse_day("1/10", default_year=2026) == date(2026, 10, 1)
    assert workflow.parse_day("1/10/202") is None and workflow.parse_day("1/10/6") is None
    assert programme.parse_post("Bí thư | 1/11/26 | 31/10/29") == (
        "Bí thư",
        date(2026, 11, 1),
        date(2029, 10, 31),
    )
    task = evaluation.parse_task_line("A | B | 25/10/26", OCTOBER)
    assert isinstance(task, TaskInput) and task.deadline == date(2026, 10, 25)
    assert "không đúng" in str(evaluation.parse_task_line("A | B | 25/10/202", OCTOBER))


def test_common_point_values_stay_within_the_criterion() -> None:
    for criterion in RULES.criteria:
        values = evaluation.common_values(criterion.max_points)
        assert values[0] == criterion.max_points
        assert all(0 <= v <= criterion.max_points for v in values)
        assert len(values) == len(set(values))


def test_programme_inputs() -> None:
    assert programme.parse_post("Bí thư | 01/11/2026 | 31/10/2029") == (
        "Bí thư",
        date(2026, 11, 1),
        date(2029, 10, 31),
    )
    assert "sau ngày bắt đầu" in str(programme.parse_post("Bí thư | 01/11/2026 | 01/11/2025"))
    item = programme.parse_item("Cam kết | 95% | 31/12/2027", start=date(2026, 11, 1), end=date(2029, 10, 31))
    assert isinstance(item, ItemInput) and item.deadline == date(2027, 12, 31)
    outside = programme.parse_item(
        "Cam kết | 95% | 31/12/2030", start=date(2026, 11, 1), end=date(2029, 10, 31)
    )
    assert "ngoài nhiệm kỳ" in str(outside)
    assert "3 phần" in str(programme.parse_item("Cam kết", start=date(2026, 11, 1), end=date(2029, 10, 31)))


def _settings(env: dict[str, str]) -> Settings:
    """Settings from these variables only (no `.env` file)."""
    return Settings(_env_file=None, **env)  # type: ignore[arg-type,call-arg]


def test_clock_file_moves_time_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "now.txt"
    path.write_text("2026-10-02T09:00:00+07:00")
    clock = workflow.Clock.from_settings(_settings({"CANBO_NOW_FILE": str(path)}))
    assert clock.now() == datetime(2026, 10, 2, 2, 0, tzinfo=UTC)
    path.write_text("2026-11-04T09:00:00+07:00")
    assert clock.now() == datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    path.write_text("")  # caught mid-rewrite: the last value holds, time does not jump to the real date
    assert clock.now() == datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    path.write_text("2026-11-05T09:00:00+07:00")
    assert clock.now() == datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    fixed = workflow.Clock.from_settings(_settings({"CANBO_NOW": "2026-05-01T00:00:00"}))
    assert fixed.now() == datetime(2026, 5, 1, tzinfo=UTC)
    real = workflow.Clock.from_settings(_settings({"CANBO_NOW": "", "CANBO_NOW_FILE": ""}))
    assert abs((real.now() - datetime.now(UTC)).total_seconds()) < 5


def test_clock_and_tick_settings_reject_bad_values() -> None:
    with pytest.raises(ValidationError) as bad_now:
        _settings({"CANBO_NOW": "ngày mai"})
    assert "CANBO_NOW" in str(bad_now.value)
    with pytest.raises(ValidationError) as bad_tick:
        _settings({"CANBO_WORKFLOW_TICK_S": "0"})
    assert "CANBO_WORKFLOW_TICK_S" in str(bad_tick.value)
    assert _settings({"CANBO_WORKFLOW_TICK_S": "5"}).workflow_tick_s == 5
    with pytest.raises(ValidationError) as bad_zone:
        _settings({"CANBO_TIMEZONE": "Asia/Ha_Noi"})
    assert "CANBO_TIMEZONE" in str(bad_zone.value) and "Asia/Ho_Chi_Minh" in str(bad_zone.value)
    assert _settings({"CANBO_TIMEZONE": " Asia/Bangkok "}).timezone == "Asia/Bangkok"


# --- rendering and reminder planning on a real database -----------------------------------------------------


def test_card_shows_missing_items_and_the_proposed_grade(engine: Engine) -> None:
    cadre = _id(engine, "CB01")
    with session_scope(engine) as session:
        plan_tasks(
            session,
            actor_id=cadre,
            person_id=cadre,
            period="2026-10",
            tasks=[TaskInput(title="Báo cáo <quý>")],
            rules=RULES,
        )
        view = open_evaluation(session, actor_id=cadre, person_id=cadre, period="2026-10", rules=RULES)
        missing = evaluation.missing_items(view, RULES)
        assert missing is not None and "kết quả việc 1" in missing and "Điểm thưởng" in missing
        view = save_self_assessment(
            session,
            actor_id=cadre,
            evaluation_id=view.id,
            rules=RULES,
            points={"discipline": 18, "tasks": 65, "bonus": 8},
        )
    card = evaluation.render_card(view, RULES, today=date(2026, 11, 5))
    assert "Báo cáo &lt;quý&gt;" in card  # user text escaped
    assert "Tổng: 91/100 — đề xuất xếp loại A (HTXSNV)" in card
    assert "Đã quá hạn tự đánh giá (03/11/2026)" in card


def test_reminders_go_to_signed_in_people_who_still_have_to_act(engine: Engine) -> None:
    cadre = _id(engine, "CB01")
    with session_scope(engine) as session:
        plan_tasks(
            session,
            actor_id=cadre,
            person_id=cadre,
            period="2026-10",
            tasks=[TaskInput(title="Việc")],
            rules=RULES,
        )
    with session_scope(engine) as session:
        planned = reminders.plan_reminders(session, on=date(2026, 10, 2), rules=RULES)
    recipients = [r.chat_id for r in planned]
    assert recipients == sorted(recipients)  # the round's stable order (person ids follow the roster)
    assert 503 not in recipients  # CB01 already planned
    assert {501, 502, 504} <= set(recipients)  # CB03 has no Telegram link: nobody to send to
    text = next(r.html for r in planned if r.chat_id == 504)
    assert "Đăng ký kế hoạch kỳ 2026-10" in text and "còn 3 ngày" in text
    with session_scope(engine) as session:
        assert (
            reminders.plan_reminders(session, on=date(2026, 10, 7), rules=RULES) == []
        )  # no offset on day 7


def test_late_lists_name_the_missing_people_to_the_head(engine: Engine) -> None:
    with session_scope(engine) as session:
        lists = reminders.plan_late_lists(session, on=date(2026, 11, 4), period=OCTOBER, rules=RULES)
    assert [r.chat_id for r in lists] == [501]
    body = lists[0].html
    assert "Hoàng Chưa Nộp" in body and "Ngô Không Dùng Bot" in body and "Trần Thủ Trưởng" not in body
    assert "hạn 03/11/2026 đã qua" in body


def test_rotation_reminders_carry_the_form_button(engine: Engine) -> None:
    with session_scope(engine) as session:
        import_roster(
            session,
            data=(
                ROSTER.splitlines()[0]
                + "\nHK01,Bùi Nơi Đến,0907000007,Bí thư,HK,Quận ủy Hoàn Kiếm,,,thủ trưởng,HK\n"
            ).encode(),
            filename="more.csv",
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
    cadre = _id(engine, "CB01")
    with session_scope(engine) as session:
        hk = find_unit_by_code(session, code="HK")
        assert hk is not None
        start_rotation(  # recorded by the committee (trusted caller)
            session,
            actor_id=None,
            data=RotationInput(
                person_id=cadre, to_unit_id=hk.id, to_post="Phó ban", start_date=date(2026, 5, 4)
            ),
            rules=RULES,
            now=datetime(2026, 5, 4, tzinfo=UTC),
        )
    with session_scope(engine) as session:
        planned = reminders.plan_reminders(session, on=date(2026, 11, 1), rules=RULES)  # review due 04/11
    mine = next(r for r in planned if r.chat_id == 503)
    assert "Tự nhận xét trong thời gian luân chuyển (/luanchuyen)" in mine.html
    assert any(data.startswith("lc:fill:") and data.endswith(":s") for _, data in mine.buttons)
