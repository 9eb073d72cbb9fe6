"""A person's own-data export (JSON and XLSX) and the anonymisation of a person who leaves."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import delete, or_, update
from sqlmodel import Session, SQLModel, col, select

from records import cells
from records.access import has_role, role_holders
from records.audit import record_audit
from records.clock import utc_now
from records.errors import NotFound, PermissionDenied, ValidationFailed
from records.localtime import local_iso
from records.schema import (
    ActionItem,
    ActionProgramme,
    ActionProgress,
    AuditEntry,
    Evaluation,
    EvaluationTask,
    InviteCode,
    Person,
    Role,
    RoleAssignment,
    Rotation,
    RotationReview,
    TelegramLink,
    Unit,
)

log = logging.getLogger(__name__)

EXPORT_FORMAT = "canbo.personal-data/1"
CORRECTION_MIN_CHARS = 10
CORRECTION_MAX_CHARS = 1000
CORRECTION_HANDLERS = (Role.ADMIN, Role.STAFF)
REDACTED = "[đã ẩn danh]"
ANON_NAME = "Cán bộ đã ẩn danh"
ANON_CODE_PREFIX = "ANDANH-"
# Free-text audit detail keys that may quote what a person wrote or what was written about them.
FREE_TEXT_KEYS = ("comment", "reason", "note", "review", "assessment", "evaluation", "name", "phone", "text")
SECRET_COLUMNS = frozenset({"code_hash"})


def _plain(value: Any, tz: str) -> Any:
    """JSON-ready: instants as ISO strings in `tz` with their offset, days as ISO dates, nested values too."""
    if isinstance(value, datetime):
        return local_iso(value, tz)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, tz) for v in value]
    return value


def _row(model: SQLModel, *, drop: Iterable[str] = ()) -> dict[str, Any]:
    """The model's columns (secrets and `drop` left out), values as stored; `_plain` makes the whole JSON-ready."""
    skip = SECRET_COLUMNS | set(drop)
    return {k: v for k, v in model.model_dump().items() if k not in skip}


def _audit(session: Session, entity: str, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity == entity, col(AuditEntry.entity_id).in_(list(ids)))
        .order_by(col(AuditEntry.id))
    ).all()
    return [_row(r) for r in rows]


def _check_access(session: Session, *, actor_id: int | None, person: Person, action: str) -> None:
    """The person themself, or an admin over their unit (None: the trusted command line)."""
    if actor_id is None or actor_id == person.id:
        return
    if not has_role(session, person_id=actor_id, roles=[Role.ADMIN], unit_id=person.unit_id):
        raise PermissionDenied(f"{action}: only the person or an admin over their unit", action=action)


def _load(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id}", entity="person", id=person_id)
    return person


def _bot_tables() -> tuple[Any, Any, Any, Any, Any] | None:
    """The bot state tables when the bot's module is installed (they hold questions by Telegram id)."""
    try:
        from records.botstate import BotAnswer, BotConversation, BotFeedback, BotHandoff, BotHandoffCopy
    except ImportError:  # pragma: no cover - the bot state module ships with the product
        return None
    return BotAnswer, BotConversation, BotFeedback, BotHandoff, BotHandoffCopy


def export_person_data(
    session: Session, *, person_id: int, tz: str, actor_id: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything held about a person, JSON-ready: profile, roles (with revoked ones), Telegram links,
    invites (never their secrets), every evaluation with tasks and history, action programmes with items
    and progress, rotations with reviews, audit entries about them and a list of their own actions, and the
    questions they asked the bot. Every time is ISO 8601 in the zone `tz` with its offset
    ("2026-10-02T09:00:00+07:00"). The export itself is recorded in the audit log (an access record)."""
    moment = utc_now(now)
    person = _load(session, person_id)
    _check_access(session, actor_id=actor_id, person=person, action="export_personal_data")
    unit = session.get(Unit, person.unit_id)
    manager = session.get(Person, person.manager_id) if person.manager_id else None
    units = {u.id: u for u in session.exec(select(Unit)).all()}

    roles = session.exec(
        select(RoleAssignment).where(RoleAssignment.person_id == person_id).order_by(col(RoleAssignment.id))
    ).all()
    links = session.exec(select(TelegramLink).where(TelegramLink.person_id == person_id)).all()
    invites = session.exec(select(InviteCode).where(InviteCode.person_id == person_id)).all()
    evaluations = session.exec(
        select(Evaluation).where(Evaluation.person_id == person_id).order_by(col(Evaluation.period))
    ).all()
    eval_ids = [e.id for e in evaluations if e.id is not None]
    tasks: dict[int, list[dict[str, Any]]] = {}
    if eval_ids:
        for task in session.exec(
            select(EvaluationTask)
            .where(col(EvaluationTask.evaluation_id).in_(eval_ids))
            .order_by(col(EvaluationTask.evaluation_id), col(EvaluationTask.position))
        ).all():
            tasks.setdefault(task.evaluation_id, []).append(_row(task))
    eval_history: dict[int, list[dict[str, Any]]] = {}
    for entry in _audit(session, "evaluation", eval_ids):
        eval_history.setdefault(entry["entity_id"], []).append(entry)

    programmes = session.exec(
        select(ActionProgramme)
        .where(ActionProgramme.person_id == person_id)
        .order_by(col(ActionProgramme.id))
    ).all()
    prog_ids = [p.id for p in programmes if p.id is not None]
    items = (
        session.exec(
            select(ActionItem)
            .where(col(ActionItem.programme_id).in_(prog_ids))
            .order_by(col(ActionItem.position))
        ).all()
        if prog_ids
        else []
    )
    item_ids = [i.id for i in items if i.id is not None]
    progress = (
        session.exec(
            select(ActionProgress)
            .where(col(ActionProgress.item_id).in_(item_ids))
            .order_by(col(ActionProgress.id))
        ).all()
        if item_ids
        else []
    )
    rotations = session.exec(
        select(Rotation).where(Rotation.person_id == person_id).order_by(col(Rotation.start_date))
    ).all()
    rot_ids = [r.id for r in rotations if r.id is not None]
    reviews = (
        session.exec(
            select(RotationReview)
            .where(col(RotationReview.rotation_id).in_(rot_ids))
            .order_by(col(RotationReview.due_date))
        ).all()
        if rot_ids
        else []
    )

    about: list[dict[str, Any]] = []
    about += _audit(session, "person", [person_id])
    about += _audit(session, "role_assignment", [r.id for r in roles if r.id is not None])
    about += _audit(session, "telegram_link", [person_id])  # link entries are keyed by the person id
    about += _audit(session, "invite_code", [i.id for i in invites if i.id is not None])
    about.sort(key=lambda e: e["id"])
    by_them = session.exec(
        select(AuditEntry.at, AuditEntry.entity, AuditEntry.entity_id, AuditEntry.action)
        .where(AuditEntry.actor_id == person_id)
        .order_by(col(AuditEntry.id))
    ).all()

    def unit_ref(unit_id: int | None) -> dict[str, Any] | None:
        u = units.get(unit_id) if unit_id is not None else None
        return {"code": u.code, "name": u.name} if u is not None else None

    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": moment,
        "person": {
            **_row(person, drop=("unit_id", "manager_id")),
            "unit": unit_ref(unit.id if unit else None),
            "manager": {"cadre_code": manager.cadre_code, "full_name": manager.full_name}
            if manager
            else None,
        },
        "roles": [{**_row(r, drop=("unit_id",)), "unit": unit_ref(r.unit_id)} for r in roles],
        "telegram_links": [_row(link) for link in links],
        "invites": [_row(i) for i in invites],
        "evaluations": [
            {
                **_row(e, drop=("unit_id",)),
                "unit": unit_ref(e.unit_id),
                "tasks": tasks.get(e.id or 0, []),
                "history": eval_history.get(e.id or 0, []),
            }
            for e in evaluations
        ],
        "action_programmes": [
            {
                **_row(p, drop=("unit_id",)),
                "unit": unit_ref(p.unit_id),
                "items": [
                    {**_row(i), "progress": [_row(g) for g in progress if g.item_id == i.id]}
                    for i in items
                    if i.programme_id == p.id
                ],
                "history": _audit(session, "action_programme", [p.id] if p.id else []),
            }
            for p in programmes
        ],
        "rotations": [
            {
                **_row(r, drop=("from_unit_id", "to_unit_id")),
                "from_unit": unit_ref(r.from_unit_id),
                "to_unit": unit_ref(r.to_unit_id),
                "reviews": [_row(v) for v in reviews if v.rotation_id == r.id],
                "history": _audit(session, "rotation", [r.id] if r.id else []),
            }
            for r in rotations
        ],
        "audit_about_person": about,
        "actions_by_person": [
            {"at": at, "entity": entity, "entity_id": entity_id, "action": action}
            for at, entity, entity_id, action in by_them
        ],
        "bot": _bot_data(session, [link.telegram_user_id for link in links]),
    }
    record_audit(
        session,
        actor_id=actor_id,
        entity="person",
        entity_id=person_id,
        action="export_personal_data",
        now=moment,
        detail={"sections": [k for k, v in data.items() if isinstance(v, list) and v]},
    )
    session.flush()
    log.info("personal data exported: person=%s evaluations=%d", person_id, len(evaluations))
    plain: dict[str, Any] = _plain(data, tz)
    return plain


def _bot_data(session: Session, telegram_ids: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    tables = _bot_tables()
    if tables is None or not telegram_ids:
        return {"questions": [], "feedback": [], "handoffs": []}
    answer, _conversation, feedback, handoff, _copies = tables
    ids = list(telegram_ids)
    return {
        "questions": [
            {"asked_at": a.created_at, "question": a.question, "found": a.found}
            for a in session.exec(
                select(answer).where(col(answer.user_id).in_(ids)).order_by(answer.id)
            ).all()
        ],
        "feedback": [
            {"answer_id": f.answer_id, "vote": f.vote, "at": f.updated_at}
            for f in session.exec(select(feedback).where(col(feedback.user_id).in_(ids))).all()
        ],
        "handoffs": [
            {"question": h.question, "status": h.status, "reply": h.reply, "created_at": h.created_at}
            for h in session.exec(select(handoff).where(col(handoff.asker_user_id).in_(ids))).all()
        ],
    }


def personal_data_json(data: Mapping[str, Any]) -> str:
    """The export as pretty UTF-8 JSON text (Vietnamese kept readable)."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


SECTION_TITLES = {
    "person": "Thông tin cá nhân",
    "roles": "Vai trò",
    "telegram_links": "Liên kết Telegram",
    "invites": "Mã mời",
    "evaluations": "Đánh giá hằng kỳ",
    "tasks": "Nhiệm vụ đăng ký",
    "history": "Lịch sử thay đổi",
    "action_programmes": "Chương trình hành động",
    "rotations": "Luân chuyển",
    "audit_about_person": "Nhật ký về cá nhân",
    "actions_by_person": "Thao tác đã thực hiện",
    "questions": "Câu hỏi đã gửi",
}


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return value  # cells.cell drops what a worksheet cannot hold and keeps «=…» as text


def _table(wb: Workbook, title: str, rows: Sequence[Mapping[str, Any]]) -> None:
    ws = wb.create_sheet(title[:31])
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and not isinstance(row[k], list)]
    cells.append(ws, [cells.cell(ws, key, font=Font(bold=True)) for key in keys])
    for col_index in range(1, len(keys) + 1):
        ws.column_dimensions[get_column_letter(col_index)].width = 18
    for row in rows:
        cells.append(ws, [_cell(row.get(k)) for k in keys])
    ws.freeze_panes = "A2"


def personal_data_xlsx_bytes(data: Mapping[str, Any]) -> bytes:
    """A readable workbook of the export: the profile as label/value, one sheet per list section."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SECTION_TITLES["person"]
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 24, 60
    title = cells.cell(ws, "Dữ liệu cá nhân được lưu trong hệ thống", font=Font(bold=True))
    cells.append(ws, [title, data.get("generated_at")])
    for key, value in data["person"].items():
        cells.append(ws, [key, _cell(value)])
    _table(
        wb, SECTION_TITLES["roles"], [{**r, "unit": (r.get("unit") or {}).get("code")} for r in data["roles"]]
    )
    _table(wb, SECTION_TITLES["telegram_links"], data["telegram_links"])
    _table(wb, SECTION_TITLES["evaluations"], data["evaluations"])
    _table(
        wb,
        SECTION_TITLES["tasks"],
        [{"period": e["period"], **t} for e in data["evaluations"] for t in e["tasks"]],
    )
    _table(
        wb,
        SECTION_TITLES["history"],
        [h for e in data["evaluations"] for h in e["history"]]
        + [h for p in data["action_programmes"] for h in p["history"]]
        + [h for r in data["rotations"] for h in r["history"]],
    )
    _table(wb, SECTION_TITLES["action_programmes"], data["action_programmes"])
    _table(wb, SECTION_TITLES["rotations"], data["rotations"])
    _table(wb, SECTION_TITLES["audit_about_person"], data["audit_about_person"])
    _table(wb, SECTION_TITLES["actions_by_person"], data["actions_by_person"])
    _table(wb, SECTION_TITLES["questions"], data["bot"]["questions"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------------------
# Anonymisation


@dataclass(frozen=True)
class AnonymisationReport:
    """What anonymising a person changed (counts only: nothing personal)."""

    person_id: int
    already: bool
    telegram_links_removed: int = 0
    roles_revoked: int = 0
    invites_cleared: int = 0
    texts_cleared: int = 0
    audit_entries_scrubbed: int = 0
    bot_rows_detached: int = 0


def _scrub(value: Any, needles: Sequence[str], numbers: set[int], key: str = "") -> tuple[Any, bool]:
    """Replace identifying values (names, phones, codes, Telegram ids; free text) with REDACTED."""
    if isinstance(value, Mapping):
        changed = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k], c = _scrub(v, needles, numbers, str(k))
            changed |= c
        return out, changed
    if isinstance(value, list):
        results = [_scrub(v, needles, numbers, key) for v in value]
        return [r for r, _ in results], any(c for _, c in results)
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int) and value in numbers:
        return REDACTED, True
    if isinstance(value, str):
        lowered = value.casefold()
        if any(n in lowered for n in needles) or (value and any(k in key.casefold() for k in FREE_TEXT_KEYS)):
            return REDACTED, True
    return value, False


def anonymise_person(
    session: Session, *, person_id: int, actor_id: int | None = None, now: datetime | None = None
) -> AnonymisationReport:
    """Anonymise a person who left: name, code, phone and position replaced; Telegram links removed; roles
    revoked; invites cleared; free-text comments on their records cleared; audit details naming them scrubbed;
    bot questions detached from their Telegram id. Grades, points, states, dates and units stay for statistics.
    One audit entry records the anonymisation (counts only). Only an admin over their unit (or the command line).
    A second call changes nothing."""
    moment = utc_now(now)
    person = _load(session, person_id)
    if actor_id is not None and actor_id == person_id:
        raise PermissionDenied("anonymise_person: not on oneself", action="anonymise_person")
    _check_access(session, actor_id=actor_id, person=person, action="anonymise_person")
    if person.cadre_code.startswith(ANON_CODE_PREFIX):
        return AnonymisationReport(person_id=person_id, already=True)

    needles = [s.casefold() for s in (person.full_name, person.phone, person.cadre_code) if s and len(s) >= 3]
    links = session.exec(select(TelegramLink).where(TelegramLink.person_id == person_id)).all()
    invites = session.exec(select(InviteCode).where(InviteCode.person_id == person_id)).all()
    telegram_ids = {link.telegram_user_id for link in links} | {
        i.redeemed_telegram_id for i in invites if i.redeemed_telegram_id
    }
    numbers = set(telegram_ids)
    if person.phone and person.phone.isdigit():
        numbers.add(int(person.phone))

    # The person row.
    person.full_name = ANON_NAME
    person.cadre_code = f"{ANON_CODE_PREFIX}{person_id:06d}"
    person.phone = None
    person.position = ""
    person.active = False
    person.updated_at = moment
    session.add(person)

    for link in links:
        session.delete(link)
    for invite in invites:
        invite.redeemed_telegram_id = None
        if invite.redeemed_at is None:
            invite.expires_at = min(invite.expires_at, moment)
        session.add(invite)
    roles = session.exec(
        select(RoleAssignment).where(
            RoleAssignment.person_id == person_id, col(RoleAssignment.revoked_at).is_(None)
        )
    ).all()
    for role in roles:
        role.revoked_at, role.revoked_by_id = moment, actor_id
        session.add(role)

    # Free text written by or about them on their own records; numbers and grades stay.
    texts = 0
    E = Evaluation
    texts += _clear(
        session,
        E,
        E.person_id == person_id,
        ("self_comment", "review_comment", "decision_comment", "return_reason", "plan_change_reason"),
    )
    eval_ids = list(session.exec(select(E.id).where(E.person_id == person_id)).all())
    if eval_ids:
        texts += _clear(
            session, EvaluationTask, col(EvaluationTask.evaluation_id).in_(eval_ids), ("result_note",)
        )
    prog_ids = list(
        session.exec(select(ActionProgramme.id).where(ActionProgramme.person_id == person_id)).all()
    )
    texts += _clear(
        session,
        ActionProgramme,
        ActionProgramme.person_id == person_id,
        ("closing_assessment", "return_reason"),
    )
    if prog_ids:
        item_ids = list(
            session.exec(select(ActionItem.id).where(col(ActionItem.programme_id).in_(prog_ids))).all()
        )
        if item_ids:
            texts += _clear(session, ActionProgress, col(ActionProgress.item_id).in_(item_ids), ("note",))
    rot_ids = list(session.exec(select(Rotation.id).where(Rotation.person_id == person_id)).all())
    if rot_ids:
        texts += _clear(
            session,
            RotationReview,
            col(RotationReview.rotation_id).in_(rot_ids),
            ("self_review", "receiving_comment", "evaluation"),
        )

    # Audit details: entries about their records lose free text; any entry quoting them is scrubbed.
    own: dict[str, set[int | None]] = {
        "person": {person_id},
        "evaluation": set(eval_ids),
        "action_programme": set(prog_ids),
        "rotation": set(rot_ids),
        "telegram_link": {person_id},  # link entries are keyed by the person id
        "invite_code": {i.id for i in invites},
    }
    scrubbed = 0
    entries = session.exec(select(AuditEntry).where(col(AuditEntry.detail).is_not(None))).all()
    for entry in entries:
        mine = entry.entity_id in own.get(entry.entity, set())
        new, changed = (_scrub if mine else _scrub_quotes)(entry.detail, needles, numbers)
        if changed:
            entry.detail = new
            session.add(entry)
            scrubbed += 1

    bot_rows = _detach_bot_rows(session, telegram_ids, person_id)
    report = AnonymisationReport(
        person_id=person_id,
        already=False,
        telegram_links_removed=len(links),
        roles_revoked=len(roles),
        invites_cleared=len(invites),
        texts_cleared=texts,
        audit_entries_scrubbed=scrubbed,
        bot_rows_detached=bot_rows,
    )
    record_audit(
        session,
        actor_id=actor_id,
        entity="person",
        entity_id=person_id,
        action="anonymise",
        now=moment,
        from_state="active",
        to_state="anonymised",
        detail={k: v for k, v in report.__dict__.items() if k not in ("person_id", "already")},
    )
    session.flush()
    log.info("person %s anonymised: %d audit entries scrubbed", person_id, scrubbed)
    return report


def _scrub_quotes(value: Any, needles: Sequence[str], numbers: set[int]) -> tuple[Any, bool]:
    """Like `_scrub` but only for values that quote the person (other people's records keep their text)."""
    if isinstance(value, Mapping):
        changed = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k], c = _scrub_quotes(v, needles, numbers)
            changed |= c
        return out, changed
    if isinstance(value, list):
        results = [_scrub_quotes(v, needles, numbers) for v in value]
        return [r for r, _ in results], any(c for _, c in results)
    if isinstance(value, str) and any(n in value.casefold() for n in needles):
        return REDACTED, True
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
        return REDACTED, True
    return value, False


def _clear(session: Session, model: Any, where: Any, columns: Sequence[str]) -> int:
    """Set free-text `columns` to NULL where any is set; returns the number of rows changed."""
    table = model.__table__
    has_text = or_(*[table.c[c].is_not(None) for c in columns])
    result = session.execute(update(table).where(where, has_text).values({c: None for c in columns}))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _detach_bot_rows(session: Session, telegram_ids: set[int], person_id: int) -> int:
    """Questions, votes and hand-offs keep their text for statistics, no longer tied to a Telegram account;
    the conversation state and the hand-off copies sent to their chat are deleted."""
    tables = _bot_tables()
    if tables is None or not telegram_ids:
        return 0
    answer, conversation, feedback, handoff, handoff_copy = tables
    ids = list(telegram_ids)
    marker = -person_id  # never a real Telegram id: unique per anonymised person
    count = 0
    for stmt in (
        update(answer.__table__)
        .where(answer.__table__.c.user_id.in_(ids))
        .values(user_id=marker, chat_id=marker),
        update(feedback.__table__).where(feedback.__table__.c.user_id.in_(ids)).values(user_id=marker),
        update(handoff.__table__)
        .where(handoff.__table__.c.asker_user_id.in_(ids))
        .values(asker_user_id=marker, asker_chat_id=marker),
        delete(conversation.__table__).where(conversation.__table__.c.user_id.in_(ids)),
        delete(handoff_copy.__table__).where(handoff_copy.__table__.c.chat_id.in_(ids)),
    ):
        count += int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    return count


def request_correction(
    session: Session, *, person_id: int, text: str, now: datetime | None = None
) -> list[int]:
    """A person asks for their data to be corrected: recorded in the audit log about them (so it appears in
    their own export) and handed to the admins and committee staff whose scope covers their unit.

    Returns the person ids to tell, nearest unit first (never the requester). `ValidationFailed`
    (field `text`, reason `too_short` | `too_long`) for a request too short to act on or too long.
    """
    moment = utc_now(now)
    person = _load(session, person_id)
    body = " ".join(text.split())
    if len(body) < CORRECTION_MIN_CHARS:
        raise ValidationFailed("correction request too short", field="text", reason="too_short")
    if len(body) > CORRECTION_MAX_CHARS:
        raise ValidationFailed(
            "correction request too long", field="text", reason="too_long", limit=CORRECTION_MAX_CHARS
        )
    record_audit(
        session,
        actor_id=person_id,
        entity="person",
        entity_id=person_id,
        action="correction_request",
        now=moment,
        detail={"text": body},
    )
    handlers = role_holders(session, unit_id=person.unit_id, roles=CORRECTION_HANDLERS)
    return [pid for pid in handlers if pid != person_id]
