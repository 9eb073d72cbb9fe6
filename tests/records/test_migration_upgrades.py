"""Upgrading a database written by an older version: from each revision 0001 … 0007, rows inserted with plain SQL
valid for that revision are still there after `canbo db upgrade` (ids and values), and the product reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from bot.cli import main
from records.botstate import (
    get_answer,
    get_handoff,
    handoff_copies,
    list_jobs,
    load_conversation,
    record_answer,
)
from records.db import make_engine, session_scope
from records.evaluations import evaluation_history, list_evaluations, open_evaluation
from records.migrate import current_revision, head_revision, upgrade
from records.people import find_person_by_telegram, list_people
from records.rules import default_rules

OLDER_REVISIONS = ["0001", "0002", "0003", "0004", "0005", "0006", "0007"]

T0 = datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
T1 = datetime(2026, 10, 20, 2, 15, 7, 123456, tzinfo=UTC)
T2 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 5, 16, 45, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Ref:
    """The id the database gave an earlier row."""

    name: str


@dataclass(frozen=True)
class Row:
    since: str  # the first revision whose schema holds this row
    name: str
    table: str
    values: dict[str, Any]
    key: tuple[str, ...] = ("id",)  # primary key columns; ("id",) means the database assigns it
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # revision → columns added then


ROWS: list[Row] = [
    Row("0001", "tu", "unit", {"code": "TU", "name": "Thành ủy", "parent_id": None, "outstanding": False,
                               "created_at": T0, "updated_at": T0}),
    Row("0001", "bd", "unit", {"code": "BD", "name": "Quận ủy Ba Đình", "parent_id": Ref("tu"), "outstanding": True,
                               "created_at": T0, "updated_at": T1}),
    Row("0001", "tu01", "person", {"cadre_code": "TU01", "full_name": "Nguyễn Văn Tổ", "phone": None,
                                   "position": "Chuyên viên", "unit_id": Ref("tu"), "manager_id": None,
                                   "active": True, "created_at": T0, "updated_at": T0}),
    Row("0001", "bd01", "person", {"cadre_code": "BD01", "full_name": "Trần Văn Bình", "phone": "0912000001",
                                   "position": "Bí thư", "unit_id": Ref("bd"), "manager_id": None,
                                   "active": True, "created_at": T0, "updated_at": T0}),
    Row("0001", "bd02", "person", {"cadre_code": "BD02", "full_name": "Lê Thị Hoa", "phone": "0912000002",
                                   "position": "Chuyên viên", "unit_id": Ref("bd"), "manager_id": Ref("bd01"),
                                   "active": True, "created_at": T0, "updated_at": T1}),
    Row("0001", "bd03", "person", {"cadre_code": "BD03", "full_name": "Phạm Đức Cường", "phone": None,
                                   "position": "Chuyên viên", "unit_id": Ref("bd"), "manager_id": Ref("bd01"),
                                   "active": False, "created_at": T0, "updated_at": T2}),
    Row("0001", "role_staff", "role_assignment", {"person_id": Ref("tu01"), "role": "staff", "unit_id": Ref("tu"),
                                                  "granted_at": T0, "granted_by_id": None, "revoked_at": None,
                                                  "revoked_by_id": None}),
    Row("0001", "role_head", "role_assignment", {"person_id": Ref("bd01"), "role": "head", "unit_id": Ref("bd"),
                                                 "granted_at": T0, "granted_by_id": Ref("tu01"), "revoked_at": None,
                                                 "revoked_by_id": None}),
    Row("0001", "role_old", "role_assignment", {"person_id": Ref("bd02"), "role": "reviewer", "unit_id": Ref("bd"),
                                                "granted_at": T0, "granted_by_id": Ref("tu01"), "revoked_at": T1,
                                                "revoked_by_id": Ref("tu01")}),
    Row("0001", "link", "telegram_link", {"telegram_user_id": 7_000_000_002, "chat_id": 7_000_000_002,
                                          "person_id": Ref("bd02"), "via": "phone", "linked_at": T1}),
    Row("0001", "invite", "invite_code", {"code_hash": "a" * 64, "person_id": Ref("bd01"), "issued_by_id": Ref("tu01"),
                                          "created_at": T0, "expires_at": T2, "redeemed_at": None,
                                          "redeemed_telegram_id": None}),
    Row("0001", "eval", "evaluation", {
        "person_id": Ref("bd02"), "unit_id": Ref("bd"), "period": "2026-10", "period_kind": "month",
        "state": "decided", "plan_registered_at": T0,
        "self_points": {"chinh_tri": 18.0, "chuyen_mon": 62.5, "trach_nhiem": 9.0}, "self_total": 89.5,
        "proposed_grade": "B", "self_comment": "Hoàn thành tốt nhiệm vụ được giao", "submitted_at": T1,
        "late": False, "reviewer_id": Ref("bd01"),
        "review_points": {"chinh_tri": 18.0, "chuyen_mon": 60.0, "trach_nhiem": 9.0}, "review_total": 87.0,
        "review_grade": "B", "review_comment": "Đồng ý", "reviewed_at": T2, "return_reason": None,
        "returned_at": None, "decided_by_id": Ref("bd01"), "final_grade": "B", "final_total": 87.0,
        "decision_comment": "Xếp loại B", "decided_at": T3, "reopen_count": 0, "version": 4,
        "created_at": T0, "updated_at": T3}),
    Row("0001", "task", "evaluation_task", {"evaluation_id": Ref("eval"), "position": 0,
                                            "title": "Tham mưu báo cáo quý III", "expected_result": "Báo cáo",
                                            "deadline": date(2026, 10, 25), "result": "on_time",
                                            "result_note": None, "copied_from_id": None, "action_item_id": None,
                                            "created_at": T0}),
    Row("0001", "a_open", "audit_log", {"at": T0, "actor_id": Ref("bd02"), "entity": "evaluation",
                                        "entity_id": Ref("eval"), "action": "open", "from_state": None,
                                        "to_state": "draft", "detail": None}),
    Row("0001", "a_submit", "audit_log", {"at": T1, "actor_id": Ref("bd02"), "entity": "evaluation",
                                          "entity_id": Ref("eval"), "action": "submit", "from_state": "draft",
                                          "to_state": "submitted", "detail": {"self_total": 89.5, "late": False}}),
    Row("0001", "a_review", "audit_log", {"at": T2, "actor_id": Ref("bd01"), "entity": "evaluation",
                                          "entity_id": Ref("eval"), "action": "approve", "from_state": "submitted",
                                          "to_state": "reviewed", "detail": {"review_total": 87.0}}),
    Row("0001", "a_decide", "audit_log", {"at": T3, "actor_id": Ref("bd01"), "entity": "evaluation",
                                          "entity_id": Ref("eval"), "action": "decide", "from_state": "reviewed",
                                          "to_state": "decided", "detail": {"grade": "B", "ghi_chú": "đúng hạn"}}),
    Row("0001", "prog", "action_programme", {
        "person_id": Ref("bd01"), "unit_id": Ref("bd"), "post": "Bí thư", "term_start": date(2025, 10, 1),
        "term_end": date(2030, 9, 30), "publicity": "public", "state": "confirmed", "submitted_at": T0,
        "confirmed_by_id": Ref("tu01"), "confirmed_at": T1, "return_reason": None, "returned_at": None,
        "closing_assessment": None, "closed_at": None, "version": 3, "created_at": T0, "updated_at": T1}),
    Row("0001", "item", "action_item", {"programme_id": Ref("prog"), "position": 0,
                                        "commitment": "Nâng cao chất lượng sinh hoạt chi bộ",
                                        "target": "100% chi bộ sinh hoạt chuyên đề", "deadline": date(2027, 6, 30),
                                        "progress_percent": 40, "last_progress_at": T2, "created_at": T0}),
    Row("0001", "progress", "action_progress", {"item_id": Ref("item"), "percent": 40, "note": "Đã làm 4/10 chi bộ",
                                                "by_person_id": Ref("bd01"), "at": T2}),
    Row("0001", "rot", "rotation", {
        "person_id": Ref("bd03"), "from_unit_id": Ref("bd"), "to_unit_id": Ref("tu"), "from_post": "Chuyên viên",
        "to_post": "Phó Trưởng ban", "start_date": date(2026, 9, 1), "planned_end": date(2029, 9, 1),
        "direction": "up", "state": "active", "ended_on": None, "decided_by_id": Ref("tu01"), "version": 1,
        "created_at": T0, "updated_at": T0}),
    Row("0001", "review", "rotation_review", {
        "rotation_id": Ref("rot"), "kind": "periodic", "due_date": date(2027, 3, 1), "state": "pending",
        "self_review": None, "self_reviewed_at": None, "receiving_comment": None, "receiving_by_id": None,
        "received_at": None, "evaluation": None, "evaluation_grade": None, "evaluated_by_id": None,
        "evaluated_at": None, "version": 1, "created_at": T0}),
    Row("0002", "answer", "bot_answer", {"chat_id": 7_000_000_002, "user_id": 7_000_000_002,
                                         "question": "Điều kiện luân chuyển cán bộ là gì?", "found": True,
                                         "chunk_ids": '["doc-1:3", "doc-1:4"]', "created_at": T1}),
    Row("0002", "feedback", "bot_feedback", {"answer_id": Ref("answer"), "user_id": 7_000_000_002, "vote": 1,
                                             "created_at": T1, "updated_at": T2}, key=("answer_id", "user_id")),
    Row("0002", "handoff", "bot_handoff", {"answer_id": Ref("answer"), "asker_chat_id": 7_000_000_002,
                                           "asker_user_id": 7_000_000_002, "question": "Hỏi thêm về thời hạn?",
                                           "status": "open", "answered_by": None, "reply": None,
                                           "created_at": T2, "answered_at": None}),
    Row("0002", "conversation", "bot_conversation", {
        "chat_id": 7_000_000_002, "user_id": 7_000_000_002, "state": "EVAL_POINTS",
        "data": json.dumps({"evaluation_id": 1, "criterion": "chuyen_mon", "ghi_chú": "đang nhập"},
                           ensure_ascii=False), "updated_at": T3}, key=("chat_id", "user_id")),
    Row("0002", "job", "bot_job", {"name": "summary:TU:monthly", "kind": "summary", "run_at": T3,
                                   "interval_s": 86400, "data": '{"unit": "TU"}', "created_at": T0}, key=("name",)),
    Row("0002", "update", "bot_update", {"update_id": 900_000_123, "run_id": "run-old", "status": "done",
                                         "created_at": T3}, key=("update_id",)),
    Row("0004", "upload", "roster_upload", {"filename": "danh-sach.csv", "data": "Mã cán bộ\nBD04\n".encode(),
                                            "uploaded_by_id": Ref("tu01"), "state": "pending", "created_at": T2,
                                            "decided_at": None, "mode": None}),
    Row("0005", "lease", "bot_lease", {"name": "job:workflow-tick", "holder": "run-old", "acquired_at": T2,
                                       "expires_at": T3}, key=("name",)),
    Row("0006", "copy", "bot_handoff_copy", {"handoff_id": Ref("handoff"), "chat_id": 7_000_000_001,
                                             "message_id": 4242, "created_at": T2}),
    Row("0007", "eval_nov", "evaluation", {
        "person_id": Ref("bd02"), "unit_id": Ref("bd"), "period": "2026-11", "period_kind": "month",
        "state": "draft", "plan_registered_at": T2, "plan_sent_digest": "f" * 64, "plan_sent_at": T2,
        "plan_change_reason": "Bổ sung kết quả cụ thể", "plan_change_requested_at": T3, "self_points": None,
        "self_total": None, "proposed_grade": None, "self_comment": None, "submitted_at": None, "late": False,
        "reviewer_id": None, "review_points": None, "review_total": None, "review_grade": None,
        "review_comment": None, "reviewed_at": None, "return_reason": None, "returned_at": None,
        "decided_by_id": None, "final_grade": None, "final_total": None, "decision_comment": None,
        "decided_at": None, "reopen_count": 0, "version": 2, "created_at": T2, "updated_at": T3}),
]  # fmt: skip


def _bind(value: Any, dialect: str) -> Any:
    """A value as the older version's SQLAlchemy wrote it, for a plain-SQL INSERT."""
    if isinstance(value, datetime):
        # SQLite: SQLAlchemy's storage format (UTC, no offset); PostgreSQL: timestamptz.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value
    if isinstance(value, date):
        return value.isoformat() if dialect == "sqlite" else value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _insert_rows(connection: Connection, revision: str) -> dict[str, dict[str, Any]]:
    """Insert the rows valid at `revision`; returns each row's values with its key, references resolved."""
    dialect = connection.dialect.name
    ids: dict[str, int] = {}
    stored: dict[str, dict[str, Any]] = {}
    for row in ROWS:
        if row.since > revision:
            continue
        values = {k: ids[v.name] if isinstance(v, Ref) else v for k, v in row.values.items()}
        columns = ", ".join(values)
        params = ", ".join(f":{c}" for c in values)
        sql = f"INSERT INTO {row.table} ({columns}) VALUES ({params})"
        if row.key == ("id",):
            sql += " RETURNING id"
        result = connection.execute(sa.text(sql), {k: _bind(v, dialect) for k, v in values.items()})
        if row.key == ("id",):
            ids[row.name] = int(result.scalar_one())
            values = {"id": ids[row.name], **values}
        stored[row.name] = values
    return stored


def _tables_at(connection: Connection) -> list[str]:
    return sorted(t for t in sa.inspect(connection).get_table_names() if t != "alembic_version")


def _raw_dump(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows as the driver returns them (no type processing), ordered by all columns."""
    dump: dict[str, list[dict[str, Any]]] = {}
    for table in _tables_at(connection):
        rows = connection.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
        dump[table] = sorted(
            (dict(r) for r in rows), key=lambda r: json.dumps(r, default=str, sort_keys=True)
        )
    return dump


def _typed_row(connection: Connection, row: Row, values: dict[str, Any]) -> dict[str, Any]:
    """The row as the product's models read it (SQLModel metadata: dates, aware datetimes, JSON, booleans)."""
    table = SQLModel.metadata.tables[row.table]
    where = [table.c[k] == values[k] for k in row.key]
    found = connection.execute(sa.select(table).where(*where)).mappings().all()
    assert len(found) == 1, (row.name, found)
    return dict(found[0])


@pytest.mark.parametrize("revision", OLDER_REVISIONS)
def test_rows_of_an_older_revision_survive_the_upgrade_and_are_read(
    revision: str, empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(empty_db_url, revision=revision)
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) == revision
        with engine.begin() as connection:
            stored = _insert_rows(connection, revision)
        with engine.connect() as connection:
            before = _raw_dump(connection)
        assert {n for n, rows in before.items() if rows} == {r.table for r in ROWS if r.since <= revision}

        # The product's own upgrade path, as an operator runs it.
        monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("CANBO_DATABASE_URL", empty_db_url)
        assert main(["db", "upgrade"]) == 0
        assert current_revision(engine) == head_revision()

        with engine.connect() as connection:
            after = _raw_dump(connection)
            # Every row of every table is still there with the same raw values (columns added later aside).
            for table, rows in before.items():
                old_columns = set(rows[0]) if rows else set()
                assert [{k: r[k] for k in old_columns} for r in after[table]] == rows, table
            # Tables created by later revisions start empty.
            assert all(not after[t] for t in set(after) - set(before))
            # The product's models read each row back with its id and values.
            for row in ROWS:
                if row.since > revision:
                    continue
                got = _typed_row(connection, row, stored[row.name])
                assert {k: got[k] for k in stored[row.name]} == stored[row.name], row.name
            if revision < "0007":  # the plan columns of 0007 are empty on older records
                october = next(r for r in ROWS if r.name == "eval")
                evaluation = _typed_row(connection, october, stored["eval"])
                plan = ("plan_sent_digest", "plan_sent_at", "plan_change_reason", "plan_change_requested_at")
                assert [evaluation[c] for c in plan] == [None] * len(plan)
        _check_the_product_reads(engine, revision, stored)
    finally:
        engine.dispose()


def _check_the_product_reads(engine: Engine, revision: str, stored: dict[str, dict[str, Any]]) -> None:
    with session_scope(engine) as session:
        people = list_people(session)
        assert [(p.cadre_code, p.full_name, p.unit_code) for p in people] == [
            ("BD01", "Trần Văn Bình", "BD"),
            ("BD02", "Lê Thị Hoa", "BD"),
            ("TU01", "Nguyễn Văn Tổ", "TU"),
        ]  # BD03 is inactive
        signed_in = find_person_by_telegram(session, telegram_user_id=7_000_000_002)
        assert signed_in is not None and signed_in.id == stored["bd02"]["id"]
        (october,) = list_evaluations(session, actor_id=stored["tu01"]["id"], period="2026-10")
        assert (october.id, october.state, october.final_grade, october.self_total, october.cadre_code) == (
            stored["eval"]["id"],
            "decided",
            "B",
            89.5,
            "BD02",
        )
        assert october.self_points == {"chinh_tri": 18.0, "chuyen_mon": 62.5, "trach_nhiem": 9.0}
        assert [t.title for t in october.tasks] == ["Tham mưu báo cáo quý III"]
        history = evaluation_history(session, actor_id=stored["bd02"]["id"], evaluation_id=october.id)
        assert [(h.id, h.action, h.at) for h in history] == [
            (stored[n]["id"], stored[n]["action"], stored[n]["at"])
            for n in ("a_open", "a_submit", "a_review", "a_decide")
        ]
        assert history[-1].detail == {"grade": "B", "ghi_chú": "đúng hạn"}
        if revision >= "0007":
            (november,) = list_evaluations(session, actor_id=stored["tu01"]["id"], period="2026-11")
            assert (november.plan_sent_digest, november.plan_change_reason) == (
                "f" * 64,
                "Bổ sung kết quả cụ thể",
            )
        else:  # the product writes to the upgraded database: a new record, new ids after the old ones
            november_view = open_evaluation(
                session, actor_id=stored["bd02"]["id"], person_id=stored["bd02"]["id"], period="2026-11",
                rules=default_rules(), now=T2,
            )  # fmt: skip
            assert november_view.id > stored["eval"]["id"] and november_view.plan_sent_digest is None
    if revision >= "0002":
        conversation = load_conversation(engine, chat_id=7_000_000_002, user_id=7_000_000_002)
        assert conversation is not None and conversation.state == "EVAL_POINTS"
        assert conversation.data == {"evaluation_id": 1, "criterion": "chuyen_mon", "ghi_chú": "đang nhập"}
        assert (
            get_answer(engine, answer_id=stored["answer"]["id"]).question
            == "Điều kiện luân chuyển cán bộ là gì?"
        )
        handoff = get_handoff(engine, handoff_id=stored["handoff"]["id"])
        assert (handoff.status, handoff.question) == ("open", "Hỏi thêm về thời hạn?")
        assert [(j.name, j.kind) for j in list_jobs(engine)] == [("summary:TU:monthly", "summary")]
        new_answer = record_answer(
            engine, chat_id=1, user_id=1, question="Câu hỏi sau nâng cấp", found=False, chunk_ids=[]
        )
        assert new_answer.id > stored["answer"]["id"]
    if revision >= "0006":
        assert [
            (c.chat_id, c.message_id) for c in handoff_copies(engine, handoff_id=stored["handoff"]["id"])
        ] == [(7_000_000_001, 4242)]
