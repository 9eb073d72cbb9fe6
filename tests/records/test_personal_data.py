"""Own-data export is complete (JSON and XLSX) and anonymisation leaves no name, phone or Telegram id."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sqlmodel_select

from records.botstate import open_handoff, record_answer, record_handoff_copy
from records.demo import generate_demo_data
from records.errors import PermissionDenied
from records.evaluations import (
    TaskInput,
    TaskResultInput,
    approve_review,
    comment_on_plan,
    decide_evaluation,
    plan_tasks,
    request_plan_changes,
    return_for_revision,
    send_plan,
    submit_self_assessment,
)
from records.invites import issue_invite, redeem_invite
from records.people import find_person_by_code, link_telegram
from records.personal_data import (
    ANON_NAME,
    anonymise_person,
    export_person_data,
    personal_data_json,
    personal_data_xlsx_bytes,
)
from records.roster import import_roster
from records.rules import default_rules
from records.schema import Evaluation
from records.summary import summarize_period

NAME, PHONE, CODE = "Quách Thị Ẩn Danh", "0871234567", "TEST-AD-01"
TELEGRAM_ID, OLD_TELEGRAM_ID = 5_550_001_234, 5_550_009_876
HANOI = "Asia/Ho_Chi_Minh"
ROSTER = (
    "Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi\n"
    f"{CODE},{NAME},{PHONE},Chuyên viên,BTC-VP,Chi bộ Văn phòng Ban Tổ chức Thành ủy,BTC,DEMO-REVIEWER,cadre,BTC-VP\n"
)


def _at(day: int) -> datetime:
    return datetime(2026, 12, day, 9, 0, tzinfo=UTC)


def _ids(session: Session) -> dict[str, int]:
    out = {}
    for code in (CODE, "DEMO-REVIEWER", "DEMO-HEAD", "DEMO-ADMIN", "DEMO-CADRE"):
        view = find_person_by_code(session, cadre_code=code)
        assert view is not None
        out[code] = view.id
    return out


def _seed(engine: Engine) -> dict[str, int]:
    """Demo organisation + one test person with a full month of workflow, a Telegram link, bot questions."""
    generate_demo_data(engine, people=40, seed=9, months=2, today=date(2026, 11, 15))
    rules = default_rules()
    with Session(engine, expire_on_commit=False) as s:
        import_roster(s, data=ROSTER.encode(), filename="roster.csv", now=_at(1))
        ids = _ids(s)
        me, reviewer, head = ids[CODE], ids["DEMO-REVIEWER"], ids["DEMO-HEAD"]
        invite = issue_invite(s, actor_id=None, person_id=me, now=_at(1))
        redeem_invite(s, code=invite.code, telegram_user_id=OLD_TELEGRAM_ID, now=_at(1))
        link_telegram(s, person_id=me, telegram_user_id=TELEGRAM_ID, chat_id=TELEGRAM_ID, now=_at(1))
        view = plan_tasks(s, actor_id=me, person_id=me, period="2026-11",
                          tasks=[TaskInput(title="Rà soát hồ sơ đảng viên", expected_result="Đủ hồ sơ")],
                          rules=rules, now=_at(1))  # fmt: skip
        send_plan(s, actor_id=me, evaluation_id=view.id, now=_at(1))
        comment_on_plan(
            s, actor_id=reviewer, evaluation_id=view.id, comment=f"{NAME} nêu rõ sản phẩm", now=_at(1)
        )
        request_plan_changes(s, actor_id=reviewer, evaluation_id=view.id, reason=f"Đề nghị {NAME} thêm hạn",
                             now=_at(1))  # fmt: skip
        results = [TaskResultInput(task_id=view.tasks[0].id, result="on_time", note=f"{NAME} đã làm xong")]
        points = {"discipline": 18, "tasks": 60, "bonus": 5}
        submit_self_assessment(s, actor_id=me, evaluation_id=view.id, rules=rules, results=results,
                               points=points, comment=f"Tôi là {NAME}, ĐT {PHONE}", now=_at(2))  # fmt: skip
        return_for_revision(s, actor_id=reviewer, evaluation_id=view.id, reason=f"Đề nghị đồng chí {NAME} bổ sung",
                            now=_at(3))  # fmt: skip
        submit_self_assessment(s, actor_id=me, evaluation_id=view.id, rules=rules, results=results,
                               points=points, comment="Đã bổ sung minh chứng", now=_at(4))  # fmt: skip
        approve_review(s, actor_id=reviewer, evaluation_id=view.id, rules=rules, comment=f"{NAME} làm tốt",
                       now=_at(5))  # fmt: skip
        decide_evaluation(s, actor_id=head, evaluation_id=view.id, rules=rules, now=_at(6))
        s.commit()
    record_answer(engine, chat_id=TELEGRAM_ID, user_id=TELEGRAM_ID, question="Quy định về luân chuyển cán bộ?",
                  found=True, chunk_ids=["c1"])  # fmt: skip
    # Someone else's question handed off to staff, a copy of it in this person's chat.
    other = record_answer(engine, chat_id=5_550_001, user_id=5_550_001, question="Câu hỏi khác?", found=False,
                          chunk_ids=[])  # fmt: skip
    handoff, _created = open_handoff(engine, answer_id=other.id)
    record_handoff_copy(engine, handoff_id=handoff.id, chat_id=TELEGRAM_ID, message_id=77)
    return ids


def test_own_data_export_is_complete(db_engine: Engine) -> None:
    ids = _seed(db_engine)
    me = ids[CODE]
    with Session(db_engine) as s:
        data = export_person_data(s, person_id=me, tz=HANOI, actor_id=me, now=_at(10))
        by_admin = export_person_data(s, person_id=me, tz=HANOI, actor_id=ids["DEMO-ADMIN"], now=_at(10))
        with pytest.raises(PermissionDenied):
            export_person_data(s, person_id=me, tz=HANOI, actor_id=ids["DEMO-CADRE"])
        s.commit()
        n_records = len(s.exec(sqlmodel_select(Evaluation).where(Evaluation.person_id == me)).all())
    assert by_admin["person"] == data["person"]
    person = data["person"]
    assert (person["full_name"], person["phone"], person["cadre_code"]) == (NAME, PHONE, CODE)
    assert person["unit"]["code"] == "BTC-VP" and person["manager"]["cadre_code"] == "DEMO-REVIEWER"
    assert [r["role"] for r in data["roles"]] == ["cadre"]
    assert [link["telegram_user_id"] for link in data["telegram_links"]] == [TELEGRAM_ID]
    assert len(data["invites"]) == 1 and "code_hash" not in data["invites"][0]
    assert len(data["evaluations"]) == n_records == 1
    evaluation = data["evaluations"][0]
    assert (evaluation["period"], evaluation["state"], evaluation["final_grade"]) == (
        "2026-11",
        "decided",
        "B",
    )
    assert evaluation["tasks"][0]["title"] == "Rà soát hồ sơ đảng viên"
    actions = [h["action"] for h in evaluation["history"]]
    assert actions.count("submit") == 2 and "decide" in actions and any("return" in a for a in actions)
    about = {e["entity"] for e in data["audit_about_person"]}
    assert {"person", "telegram_link", "invite_code", "role_assignment"} <= about
    assert {a["action"] for a in data["actions_by_person"]} >= {"submit"}
    assert data["bot"]["questions"][0]["question"] == "Quy định về luân chuyển cán bộ?"
    # Times are Hà Nội's with their offset: 09:00 UTC on the 10th is 16:00 there; no bare UTC anywhere.
    assert data["generated_at"] == "2026-12-10T16:00:00+07:00"
    assert evaluation["submitted_at"] == "2026-12-04T16:00:00+07:00"
    assert {h["at"] for h in evaluation["history"] if h["action"] == "decide"} == {
        "2026-12-06T16:00:00+07:00"
    }
    assert data["bot"]["questions"][0]["asked_at"].endswith("+07:00")
    times = _stored_times(data)
    assert len(times) > 20 and all(t.endswith("+07:00") for t in times), times
    text = personal_data_json(data)
    assert NAME in text and json.loads(text)["format"] == "canbo.personal-data/1"
    wb = load_workbook(io.BytesIO(personal_data_xlsx_bytes(data)))
    assert wb.sheetnames[:4] == ["Thông tin cá nhân", "Vai trò", "Liên kết Telegram", "Đánh giá hằng kỳ"]
    profile = {r[0]: r[1] for r in wb["Thông tin cá nhân"].iter_rows(min_row=2, values_only=True)}
    assert profile["full_name"] == NAME and profile["phone"] == PHONE
    assert wb["Đánh giá hằng kỳ"].max_row == 2
    # Demo people keep their own data: a demo cadre's export holds a record per generated period.
    with Session(db_engine) as s:
        demo = export_person_data(s, person_id=ids["DEMO-CADRE"], tz=HANOI)
    assert [e["period"] for e in demo["evaluations"]] in (["2026-09", "2026-10"], ["2026-09"], ["2026-10"])


def _stored_times(value: Any) -> list[str]:
    """Every `…_at` / `at` value of an export, outside audit details (those hold what was recorded, verbatim)."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if (k == "at" or k.endswith("_at")) and isinstance(v, str)]
        return found + [t for k, v in value.items() if k != "detail" for t in _stored_times(v)]
    if isinstance(value, list):
        return [t for v in value for t in _stored_times(v)]
    return []


def _every_value(engine: Engine) -> str:
    """Every value of every table, as text (JSON decoded so escaped Vietnamese is compared as text)."""
    meta = MetaData()
    meta.reflect(engine)
    parts: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    parts.append(
                        json.dumps(value, ensure_ascii=False)
                        if isinstance(value, dict | list)
                        else str(value)
                    )
    return "\n".join(parts)


def test_anonymisation_leaves_no_name_phone_or_telegram_id(db_engine: Engine) -> None:
    ids = _seed(db_engine)
    me = ids[CODE]
    rules = default_rules()
    with Session(db_engine) as s:
        before = summarize_period(s, unit_code="BTC-VP", period="2026-11", rules=rules)
        with pytest.raises(PermissionDenied):
            anonymise_person(s, person_id=me, actor_id=ids["DEMO-CADRE"])
        with pytest.raises(PermissionDenied):
            anonymise_person(s, person_id=me, actor_id=me)
    everything = _every_value(db_engine)
    assert NAME in everything and PHONE in everything and str(TELEGRAM_ID) in everything
    with Session(db_engine) as s:
        report = anonymise_person(s, person_id=me, actor_id=ids["DEMO-ADMIN"], now=_at(20))
        s.commit()
    assert not report.already
    assert report.telegram_links_removed == 1 and report.roles_revoked == 1 and report.texts_cleared >= 2
    everything = _every_value(db_engine)
    for secret in (NAME, PHONE, CODE, str(TELEGRAM_ID), str(OLD_TELEGRAM_ID), "Ẩn Danh"):
        assert secret not in everything, secret
    with Session(db_engine) as s:
        after = summarize_period(s, unit_code="BTC-VP", period="2026-11", rules=rules)
        again = anonymise_person(s, person_id=me, actor_id=ids["DEMO-ADMIN"])
        data = export_person_data(s, person_id=me, tz=HANOI)
    assert again.already
    # Grades stay for statistics; the person is no longer expected in later periods.
    assert after.total.grades == before.total.grades and after.total.decided == before.total.decided
    assert data["person"]["full_name"] == ANON_NAME and data["person"]["phone"] is None
    assert data["evaluations"][0]["final_grade"] == "B" and data["evaluations"][0]["self_comment"] is None
    assert data["telegram_links"] == [] and data["bot"]["questions"] == []
    anonymise_entry: dict[str, Any] = next(
        e for e in data["audit_about_person"] if e["action"] == "anonymise"
    )
    assert (
        anonymise_entry["actor_id"] == ids["DEMO-ADMIN"] and anonymise_entry["detail"]["roles_revoked"] == 1
    )


def test_an_export_holds_questions_typed_with_control_characters(db_engine: Engine) -> None:
    ids = _seed(db_engine)
    record_answer(
        db_engine,
        chat_id=TELEGRAM_ID,
        user_id=TELEGRAM_ID,
        question="a\x01b\x08c\x1f lạ",
        found=False,
        chunk_ids=[],
    )
    with Session(db_engine) as s:
        data = export_person_data(s, person_id=ids[CODE], tz=HANOI, actor_id=ids[CODE], now=_at(10))
    wb = load_workbook(io.BytesIO(personal_data_xlsx_bytes(data)))
    cells = [value for row in wb["Câu hỏi đã gửi"].iter_rows(min_row=2, values_only=True) for value in row]
    assert "abc lạ" in cells, cells
