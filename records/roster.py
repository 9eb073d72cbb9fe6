"""Roster import from CSV or XLSX: validated row by row, applied in one transaction, idempotent."""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlmodel import Session, col, select

from records.access import require_role
from records.audit import record_audit, record_audits
from records.clock import utc_now
from records.errors import ImportRejected, ValidationFailed
from records.people import normalise_phone
from records.schema import Person, Role, RoleAssignment, Unit

log = logging.getLogger(__name__)

MAX_ROWS = 50_000

# Normalised header (lower case, no diacritics, single spaces) → field.
HEADERS: dict[str, str] = {
    "ma can bo": "cadre_code",
    "ma cb": "cadre_code",
    "ho va ten": "full_name",
    "ho ten": "full_name",
    "so dien thoai": "phone",
    "dien thoai": "phone",
    "sdt": "phone",
    "chuc vu": "position",
    "ma don vi": "unit_code",
    "ten don vi": "unit_name",
    "don vi cap tren": "parent_code",
    "ma don vi cap tren": "parent_code",
    "ma nguoi quan ly": "manager_code",
    "nguoi quan ly": "manager_code",
    "vai tro": "roles",
    "pham vi": "scope_code",
}
REQUIRED = ("cadre_code", "full_name", "unit_code")
COLUMN_LABELS = {
    "cadre_code": "Mã cán bộ",
    "full_name": "Họ và tên",
    "phone": "Số điện thoại",
    "position": "Chức vụ",
    "unit_code": "Mã đơn vị",
    "unit_name": "Tên đơn vị",
    "parent_code": "Đơn vị cấp trên",
    "manager_code": "Mã người quản lý",
    "roles": "Vai trò",
    "scope_code": "Phạm vi",
}
# Role words as typed in a roster (normalised like headers) → role.
ROLE_WORDS: dict[str, Role] = {
    "cadre": Role.CADRE,
    "can bo": Role.CADRE,
    "cb": Role.CADRE,
    "reviewer": Role.REVIEWER,
    "nguoi nhan xet": Role.REVIEWER,
    "nhan xet": Role.REVIEWER,
    "quan ly": Role.REVIEWER,
    "nguoi quan ly": Role.REVIEWER,
    "head": Role.HEAD,
    "thu truong": Role.HEAD,
    "nguoi dung dau": Role.HEAD,
    "staff": Role.STAFF,
    "chuyen vien": Role.STAFF,
    "chuyen vien ban to chuc": Role.STAFF,
    "admin": Role.ADMIN,
    "quan tri": Role.ADMIN,
}


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), single spaces: for matching headers and words."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().replace("_", " ").split())


@dataclass(frozen=True)
class RowIssue:
    """One problem: `row` is the spreadsheet row number (1 = header); `code` is stable for messages."""

    row: int
    code: str  # missing_column | missing_value | duplicate_code | duplicate_phone | phone_taken | bad_phone
    # | unknown_unit | unknown_parent | unit_conflict | unit_cycle | unknown_manager | self_manager
    # | manager_cycle | unknown_role | unknown_scope | empty_file | too_many_rows | unreadable | bad_format
    column: str | None = None
    value: str | None = None


@dataclass
class RosterReport:
    accepted: bool
    rows: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0
    units_created: int = 0
    units_updated: int = 0
    roles_granted: int = 0


@dataclass
class _Row:
    number: int
    values: dict[str, str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _read_rows(data: bytes, filename: str) -> list[list[str]]:
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a corrupt file
            raise ValidationFailed("unreadable spreadsheet", field="file", reason=type(exc).__name__) from exc
        try:
            sheet = workbook.worksheets[0]
            return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    if suffix in (".csv", ".txt", ""):
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - cp1258 decodes almost anything
            raise ValidationFailed("unreadable text encoding", field="file")
        sample = text[:4096]
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text), dialect)]
    raise ValidationFailed(
        f"unsupported roster format {suffix!r}: use .csv or .xlsx", field="file", suffix=suffix
    )


def parse_roster(data: bytes, filename: str) -> tuple[list[_Row], list[RowIssue]]:
    """Rows as {field: text} plus header-level issues."""
    try:
        table = _read_rows(data, filename)
    except ValidationFailed as exc:
        code = "bad_format" if exc.params.get("suffix") is not None else "unreadable"
        return [], [RowIssue(row=0, code=code, value=filename)]
    table = [row for row in table if any(cell for cell in row)]
    if not table:
        return [], [RowIssue(row=0, code="empty_file")]
    header_cells = table[0]
    columns: dict[int, str] = {}
    for index, name in enumerate(header_cells):
        key = HEADERS.get(fold(name))
        if key is not None and key not in columns.values():
            columns[index] = key
    issues = [
        RowIssue(row=1, code="missing_column", column=COLUMN_LABELS[req])
        for req in REQUIRED
        if req not in columns.values()
    ]
    if len(table) - 1 > MAX_ROWS:
        issues.append(RowIssue(row=0, code="too_many_rows", value=str(len(table) - 1)))
    if len(table) == 1:
        issues.append(RowIssue(row=1, code="empty_file"))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {key: (cells[i] if i < len(cells) else "") for i, key in columns.items()}
        rows.append(_Row(number=number, values=values))
    return rows, issues


def _split_words(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def import_roster(
    session: Session,
    *,
    data: bytes,
    filename: str,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> RosterReport:
    """Validate then apply a roster file; returns the report when applied.

    Raises `ImportRejected` (with `.params["report"]`) when any row is invalid: nothing is written.
    Re-importing updates people and units by code; roles in the file are added, never removed.
    """
    moment = utc_now(now)
    rows, issues = parse_roster(data, filename)
    report = RosterReport(accepted=False, rows=len(rows), issues=issues)
    if issues:
        raise ImportRejected(f"roster rejected: {len(issues)} issue(s)", report=report)

    units_db = {u.code: u for u in session.exec(select(Unit)).all()}
    people_db = {p.cadre_code: p for p in session.exec(select(Person)).all()}

    # --- units declared in the file ----------------------------------------------------------
    unit_decl: dict[str, tuple[str, str, int]] = {}  # code -> (name, parent code, first row)
    for row in rows:
        code = row.values.get("unit_code", "")
        if not code:
            continue
        name = row.values.get("unit_name", "")
        parent = row.values.get("parent_code", "")
        if code in unit_decl:
            old_name, old_parent, _ = unit_decl[code]
            if (name and old_name and name != old_name) or (parent and old_parent and parent != old_parent):
                issues.append(
                    RowIssue(
                        row=row.number, code="unit_conflict", column=COLUMN_LABELS["unit_code"], value=code
                    )
                )
            unit_decl[code] = (old_name or name, old_parent or parent, unit_decl[code][2])
        else:
            unit_decl[code] = (name, parent, row.number)
    known_units = set(units_db) | set(unit_decl)
    for code, (name, parent, number) in unit_decl.items():
        if code not in units_db and not name:
            issues.append(
                RowIssue(row=number, code="unknown_unit", column=COLUMN_LABELS["unit_name"], value=code)
            )
        if parent and parent not in known_units:
            issues.append(
                RowIssue(row=number, code="unknown_parent", column=COLUMN_LABELS["parent_code"], value=parent)
            )
    parents = {code: (unit.parent_id, unit) for code, unit in units_db.items()}
    by_id = {unit.id: code for code, unit in units_db.items()}
    parent_of: dict[str, str | None] = {code: by_id.get(pid) for code, (pid, _) in parents.items()}
    for code, (_, parent, _) in unit_decl.items():
        if parent:
            parent_of[code] = parent
    for code, (_, _, number) in unit_decl.items():
        seen = {code}
        current = parent_of.get(code)
        while current is not None:
            if current in seen:
                issues.append(
                    RowIssue(row=number, code="unit_cycle", column=COLUMN_LABELS["parent_code"], value=code)
                )
                break
            seen.add(current)
            current = parent_of.get(current)

    # --- people ------------------------------------------------------------------------------
    codes_seen: dict[str, int] = {}
    phones_seen: dict[str, str] = {}
    file_codes = {row.values.get("cadre_code", "") for row in rows}
    parsed_phones: dict[int, str | None] = {}
    parsed_roles: dict[int, list[Role]] = {}
    for row in rows:
        v = row.values
        for req in REQUIRED:
            if not v.get(req):
                issues.append(RowIssue(row=row.number, code="missing_value", column=COLUMN_LABELS[req]))
        code = v.get("cadre_code", "")
        if code:
            if code in codes_seen:
                issues.append(
                    RowIssue(
                        row=row.number, code="duplicate_code", column=COLUMN_LABELS["cadre_code"], value=code
                    )
                )
            codes_seen.setdefault(code, row.number)
        try:
            phone = normalise_phone(v.get("phone") or None)
        except ValidationFailed:
            issues.append(
                RowIssue(
                    row=row.number, code="bad_phone", column=COLUMN_LABELS["phone"], value=v.get("phone")
                )
            )
            phone = None
        parsed_phones[row.number] = phone
        if phone:
            if phone in phones_seen and phones_seen[phone] != code:
                issues.append(
                    RowIssue(
                        row=row.number, code="duplicate_phone", column=COLUMN_LABELS["phone"], value=phone
                    )
                )
            phones_seen.setdefault(phone, code)
        manager = v.get("manager_code", "")
        if manager:
            if manager == code:
                issues.append(
                    RowIssue(
                        row=row.number,
                        code="self_manager",
                        column=COLUMN_LABELS["manager_code"],
                        value=manager,
                    )
                )
            elif manager not in file_codes and manager not in people_db:
                issues.append(
                    RowIssue(
                        row=row.number,
                        code="unknown_manager",
                        column=COLUMN_LABELS["manager_code"],
                        value=manager,
                    )
                )
        roles: list[Role] = []
        for word in _split_words(v.get("roles", "")):
            role = ROLE_WORDS.get(fold(word))
            if role is None:
                issues.append(
                    RowIssue(row=row.number, code="unknown_role", column=COLUMN_LABELS["roles"], value=word)
                )
            elif role not in roles:
                roles.append(role)
        parsed_roles[row.number] = roles
        scope = v.get("scope_code", "")
        if scope and scope not in known_units:
            issues.append(
                RowIssue(
                    row=row.number, code="unknown_scope", column=COLUMN_LABELS["scope_code"], value=scope
                )
            )
    # A phone already held by someone the file does not re-assign.
    by_phone = {p.phone: p for p in people_db.values() if p.phone}
    for phone, code in phones_seen.items():
        holder = by_phone.get(phone)
        if holder is not None and holder.cadre_code != code:
            holder_new_phone = next(
                (parsed_phones[r.number] for r in rows if r.values.get("cadre_code") == holder.cadre_code),
                phone,
            )
            if holder_new_phone == phone:
                number = next(r.number for r in rows if r.values.get("cadre_code") == code)
                issues.append(
                    RowIssue(row=number, code="phone_taken", column=COLUMN_LABELS["phone"], value=phone)
                )
    # Manager cycles (A manages B manages A) across the file and the database.
    manager_of: dict[str, str | None] = {}
    id_to_code = {p.id: c for c, p in people_db.items()}
    for c, p in people_db.items():
        manager_of[c] = id_to_code.get(p.manager_id) if p.manager_id else None
    for row in rows:
        if row.values.get("cadre_code"):
            manager_of[row.values["cadre_code"]] = row.values.get("manager_code") or None
    for row in rows:
        start = row.values.get("cadre_code", "")
        seen_people = {start}
        current = manager_of.get(start)
        while current:
            if current in seen_people:
                if current != start or manager_of.get(start) != start:
                    issues.append(
                        RowIssue(
                            row=row.number,
                            code="manager_cycle",
                            column=COLUMN_LABELS["manager_code"],
                            value=start,
                        )
                    )
                break
            seen_people.add(current)
            current = manager_of.get(current)

    if issues:
        issues.sort(key=lambda i: (i.row, i.code))
        raise ImportRejected(f"roster rejected: {len(issues)} issue(s)", report=report)

    # --- apply (the caller's transaction; nothing is committed here) -------------------------
    for code, (name, _parent, _) in unit_decl.items():
        unit = units_db.get(code)
        if unit is None:
            unit = Unit(code=code, name=name, created_at=moment, updated_at=moment)
            session.add(unit)
            session.flush()
            units_db[code] = unit
            report.units_created += 1
            assert unit.id is not None
            record_audit(
                session,
                actor_id=actor_id,
                entity="unit",
                entity_id=unit.id,
                action="create",
                now=moment,
                detail={"code": code, "source": "roster"},
            )
        elif name and name != unit.name:
            record_audit(
                session,
                actor_id=actor_id,
                entity="unit",
                entity_id=unit.id or 0,
                action="update",
                now=moment,
                detail={"name": [unit.name, name]},
            )
            unit.name = name
            unit.updated_at = moment
            session.add(unit)
            report.units_updated += 1
    for code, (_, parent, _) in unit_decl.items():
        unit = units_db[code]
        if parent:
            parent_id = units_db[parent].id
            if unit.parent_id != parent_id:
                if unit.created_at != moment:
                    record_audit(
                        session,
                        actor_id=actor_id,
                        entity="unit",
                        entity_id=unit.id or 0,
                        action="update",
                        now=moment,
                        detail={"parent_id": [unit.parent_id, parent_id]},
                    )
                    report.units_updated += 1
                unit.parent_id = parent_id
                unit.updated_at = moment
                session.add(unit)
    if actor_id is not None:
        scope_codes = {r.values["scope_code"] for r in rows if r.values.get("scope_code")}
        code_of_unit = {u.id: c for c, u in units_db.items()}
        moved_from = set()
        for r in rows:
            existing = people_db.get(r.values["cadre_code"])
            if existing is not None and existing.unit_id in code_of_unit:
                moved_from.add(code_of_unit[existing.unit_id])
        for code in sorted(set(unit_decl) | scope_codes | moved_from):
            require_role(
                session,
                actor_id=actor_id,
                roles=[Role.ADMIN],
                unit_id=units_db[code].id or 0,
                action="import_roster",
            )
    session.flush()

    # People first without managers (a manager may come later in the file), then managers.
    created: list[Person] = []
    updated: dict[str, dict[str, Any]] = {}
    for row in rows:
        v = row.values
        code = v["cadre_code"]
        wanted: dict[str, Any] = {
            "full_name": v["full_name"],
            "phone": parsed_phones[row.number],
            "position": v.get("position", ""),
            "unit_id": units_db[v["unit_code"]].id,
            "active": True,
        }
        person = people_db.get(code)
        if person is None:
            person = Person(cadre_code=code, created_at=moment, updated_at=moment, **wanted)
            session.add(person)
            people_db[code] = person
            created.append(person)
            continue
        changes = {k: [getattr(person, k), val] for k, val in wanted.items() if getattr(person, k) != val}
        if "phone" in changes:
            changes["phone"] = ["…", "…"]  # never copy personal data into the log
        if changes:
            for key, val in wanted.items():
                setattr(person, key, val)
            person.updated_at = moment
            updated[code] = changes
    session.flush()  # one batch of inserts: ids for the new people
    for row in rows:
        code = row.values["cadre_code"]
        person = people_db[code]
        manager_code = row.values.get("manager_code") or None
        manager_id = people_db[manager_code].id if manager_code else None
        if person.manager_id != manager_id:
            if code in updated or person.created_at != moment:
                updated.setdefault(code, {})["manager_id"] = [person.manager_id, manager_id]
            person.manager_id = manager_id
            person.updated_at = moment
    record_audits(
        session,
        actor_id=actor_id,
        now=moment,
        entries=[
            {
                "entity": "person",
                "entity_id": p.id,
                "action": "create",
                "detail": {"cadre_code": p.cadre_code, "source": "roster"},
            }
            for p in created
        ]
        + [
            {"entity": "person", "entity_id": people_db[code].id, "action": "update", "detail": changes}
            for code, changes in updated.items()
        ],
    )
    report.people_created = len(created)
    report.people_updated = len(updated)
    report.people_unchanged = len(rows) - len(created) - len(updated)
    session.flush()

    # Roles: added when missing, scoped to "Phạm vi" or the person's unit.
    held: set[tuple[int, str, int]] = {
        (a.person_id, a.role, a.unit_id)
        for a in session.exec(select(RoleAssignment).where(col(RoleAssignment.revoked_at).is_(None))).all()
    }
    granted: list[RoleAssignment] = []
    for row in rows:
        person = people_db[row.values["cadre_code"]]
        scope_code = row.values.get("scope_code") or row.values["unit_code"]
        scope_id = units_db[scope_code].id or 0
        for role in parsed_roles[row.number]:
            grant_key = (person.id or 0, role.value, scope_id)
            if grant_key in held:
                continue
            held.add(grant_key)
            assignment = RoleAssignment(
                person_id=grant_key[0],
                role=role.value,
                unit_id=scope_id,
                granted_at=moment,
                granted_by_id=actor_id,
            )
            session.add(assignment)
            granted.append(assignment)
    session.flush()
    record_audits(
        session,
        actor_id=actor_id,
        now=moment,
        entries=[
            {
                "entity": "role_assignment",
                "entity_id": a.id,
                "action": "grant",
                "detail": {
                    "person_id": a.person_id,
                    "role": a.role,
                    "unit_id": a.unit_id,
                    "source": "roster",
                },
            }
            for a in granted
        ],
    )
    report.roles_granted = len(granted)
    session.flush()
    report.accepted = True
    log.info(
        "roster imported: %s rows, %s people created, %s updated, %s units created",
        report.rows,
        report.people_created,
        report.people_updated,
        report.units_created,
    )
    return report
