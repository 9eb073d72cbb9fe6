"""Roster import from CSV or XLSX: validated row by row, authoritative for its units, previewed, all-or-nothing."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from records.access import require_role, scope_units
from records.audit import record_audit, record_audits
from records.clock import utc_now
from records.errors import ConcurrentUpdate, ImportRejected, PermissionDenied, ValidationFailed
from records.people import normalise_phone, void_invites
from records.schema import (
    Person,
    Role,
    RoleAssignment,
    RosterUpload,
    RosterUploadState,
    TelegramLink,
    Unit,
)

log = logging.getLogger(__name__)

MAX_ROWS = 50_000
# An .xlsx whose worksheets, or whose other parts, declare they unpack to more is refused unread (zip bomb).
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_UNPACKED_PARTS_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 64  # cells read per row (a roster has a dozen columns; a sheet may claim 16,384)
NAMES_SHOWN = 20  # deactivated people named in a report (the count is always exact)
STAGED_TTL = timedelta(hours=24)  # a roster waiting for confirmation expires after this

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
    # | unpacked_too_large | bad_encoding
    # | last_admin | self_deactivation | self_admin_revoked
    column: str | None = None
    value: str | None = None


@dataclass
class RosterReport:
    """What an import did (or, with `dry_run`, would do). `deactivated` names the first `NAMES_SHOWN` people."""

    accepted: bool
    rows: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0
    people_reactivated: int = 0
    people_deactivated: int = 0
    deactivated: list[str] = field(default_factory=list)  # "Full Name (CODE)"
    units_created: int = 0
    units_updated: int = 0
    roles_granted: int = 0
    roles_revoked: int = 0  # all revocations: the deactivated people's roles and the unlisted ones
    roles_revoked_unlisted: int = 0  # of which: held by people in the file, no longer in their "Vai trò"
    roles_kept_outside_scope: int = 0  # not listed, but scoped beyond the importing admin's reach
    links_removed: int = 0
    invites_voided: int = 0
    telegram_user_ids: list[int] = field(default_factory=list)  # accounts whose access changed (caches)
    dry_run: bool = False
    authoritative: bool = True

    @property
    def destructive(self) -> bool:
        """Whether applying takes anything away (someone deactivated or a role revoked)."""
        return self.people_deactivated > 0 or self.roles_revoked > 0


@dataclass
class _Row:
    number: int
    values: dict[str, str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # NFC: a Windows-1258 file writes the tone as a combining mark after the letter
    return unicodedata.normalize("NFC", " ".join(str(value).split()))


def _non_empty(rows: Iterable[Iterable[Any]]) -> list[list[str]]:
    """The non-empty rows as text, read no further than one past the header and MAX_ROWS (a million-row file
    costs what a 50,001-row one does: the caller reports it as too long)."""
    out: list[list[str]] = []
    for row in rows:
        cells = [_cell(v) for v in row]
        if any(cells):
            out.append(cells)
            if len(out) > MAX_ROWS + 1:
                break
    return out


def _unpacks_too_large(data: bytes) -> bool:
    """Whether the parts of an .xlsx declare they unpack to more than the limits (Python's zipfile never
    inflates past what a part declares). Worksheets are streamed and read no further than MAX_ROWS, so they
    may be large; the other parts (shared strings, styles) are read whole into memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # not a zip: openpyxl reports it as unreadable
    sheets = sum(i.file_size for i in infos if i.filename.startswith("xl/worksheets/"))
    others = sum(i.file_size for i in infos if not i.filename.startswith("xl/worksheets/"))
    return sheets > MAX_UNPACKED_BYTES or others > MAX_UNPACKED_PARTS_BYTES


def _read_rows(data: bytes, filename: str) -> list[list[str]]:
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        if _unpacks_too_large(data):
            raise ValidationFailed("spreadsheet unpacks too large", field="file", reason="unpacked_too_large")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a corrupt file
            raise ValidationFailed("unreadable spreadsheet", field="file", reason=type(exc).__name__) from exc
        try:
            sheet = workbook.worksheets[0]
            return _non_empty(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
        except Exception as exc:  # a damaged sheet part fails while streaming
            raise ValidationFailed("unreadable spreadsheet", field="file", reason=type(exc).__name__) from exc
        finally:
            workbook.close()
    if suffix in (".csv", ".txt", ""):
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
            data = data.decode("utf-16", errors="replace").encode("utf-8")
        if b"\x00" in data[:65536]:  # no text encoding a roster uses has NUL bytes: a binary file renamed
            raise ValidationFailed("binary data in a text file", field="file", reason="binary")
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # bytes cp1258 leaves undefined: another encoding, or not text at all
            raise ValidationFailed("unknown text encoding", field="file", reason="bad_encoding")
        sample = text[:4096]
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        try:
            return _non_empty(csv.reader(io.StringIO(text), dialect))
        except csv.Error as exc:  # a NUL byte, a field over the csv module's limit: a binary file renamed
            raise ValidationFailed("unreadable text file", field="file", reason="csv") from exc
    raise ValidationFailed(
        f"unsupported roster format {suffix!r}: use .csv or .xlsx", field="file", suffix=suffix
    )


def parse_roster(data: bytes, filename: str) -> tuple[list[_Row], list[RowIssue]]:
    """Rows as {field: text} plus header-level issues."""
    try:
        table = _read_rows(data, filename)
    except ValidationFailed as exc:
        if exc.params.get("suffix") is not None:
            code = "bad_format"
        elif exc.params.get("reason") in ("unpacked_too_large", "bad_encoding"):
            code = str(exc.params["reason"])
        else:
            code = "unreadable"
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
    if len(table) - 1 > MAX_ROWS:  # refused as a whole: its rows are not checked one by one
        return [], [*issues, RowIssue(row=0, code="too_many_rows", value=str(MAX_ROWS))]
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
    dry_run: bool = False,
    authoritative: bool = False,
) -> RosterReport:
    """Validate then apply a roster file; returns the report when applied.

    Raises `ImportRejected` (with `.params["report"]`) when any row is invalid: nothing is written.
    Re-importing updates people and units by code. With `authoritative=True` (what the bot and the command line
    always use, through `import_or_stage` / `apply_staged_roster`) the file is the whole truth for the units of
    its rows: an active person of those units missing from the file is deactivated (roles
    revoked, Telegram link removed, unused invites voided; history kept), and for a person in the file the
    "Vai trò" column (when the file has it) is the complete list of their roles: unlisted ones are revoked,
    except those scoped beyond the importing admin's reach. `authoritative=False` (the default for scripts and
    supplementary files) only adds and updates, as before. The import is refused (row issues) when it would leave no admin at all, deactivate the
    importing admin or take their admin role away. `dry_run=True` computes the same report and writes nothing
    (everything runs inside a savepoint that is rolled back).
    """
    if not dry_run:
        return _import(
            session, data=data, filename=filename, actor_id=actor_id, now=now, authoritative=authoritative
        )
    savepoint = session.begin_nested()
    try:
        report = _import(
            session,
            data=data,
            filename=filename,
            actor_id=actor_id,
            now=now,
            authoritative=authoritative,
            dry_run=True,
        )
    finally:
        savepoint.rollback()
    report.dry_run = True
    return report


def _import(
    session: Session,
    *,
    data: bytes,
    filename: str,
    actor_id: int | None,
    now: datetime | None,
    authoritative: bool,
    dry_run: bool = False,
) -> RosterReport:
    moment = utc_now(now)
    rows, issues = parse_roster(data, filename)
    report = RosterReport(accepted=False, rows=len(rows), issues=issues, authoritative=authoritative)
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

    if not issues and actor_id is not None:  # permission before anything about the plan is revealed
        for code in sorted(_units_touched(rows, unit_decl=unit_decl, people_db=people_db, units_db=units_db)):
            if code in units_db:
                require_role(
                    session,
                    actor_id=actor_id,
                    roles=[Role.ADMIN],
                    unit_id=units_db[code].id or 0,
                    action="import_roster",
                )
    if not issues:
        plan = _plan_removals(
            session,
            rows=rows,
            parsed_roles=parsed_roles,
            units_db=units_db,
            people_db=people_db,
            unit_codes=set(unit_decl),
            actor_id=actor_id,
            authoritative=authoritative,
        )
        issues.extend(plan.issues)
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
    if actor_id is not None:  # the units created just now (existing ones were checked before planning)
        for code in sorted(_units_touched(rows, unit_decl=unit_decl, people_db=people_db, units_db=units_db)):
            if units_db[code].created_at == moment:
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
    reactivated: list[Person] = []
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
        if changes.pop("active", None) is not None:
            reactivated.append(person)
            person.active = True
            person.updated_at = moment
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
        ]
        + [
            {
                "entity": "person",
                "entity_id": p.id,
                "action": "activate",
                "detail": {"cadre_code": p.cadre_code, "source": "roster", "active": [False, True]},
            }
            for p in reactivated
        ],
    )
    reactivated_ids = {p.id for p in reactivated if p.id is not None}
    report.people_created = len(created)
    report.people_updated = len(updated)
    report.people_reactivated = len(reactivated)
    report.people_unchanged = (
        len(rows) - len(created) - len(set(updated) | {p.cadre_code for p in reactivated})
    )
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
    _apply_removals(session, plan=plan, report=report, actor_id=actor_id, moment=moment)
    changed_people = {a.person_id for a in granted} | {a.person_id for a in plan.revoke} | reactivated_ids
    if changed_people:
        report.telegram_user_ids = sorted(
            set(report.telegram_user_ids)
            | set(
                session.exec(
                    select(TelegramLink.telegram_user_id).where(
                        col(TelegramLink.person_id).in_(changed_people)
                    )
                ).all()
            )
        )
    report.accepted = True
    log.info(
        "roster %s: %s rows, %s people created, %s updated, %s reactivated, %s deactivated, %s units created,"
        " %s roles granted, %s revoked",
        "planned" if dry_run else "imported",
        report.rows,
        report.people_created,
        report.people_updated,
        report.people_reactivated,
        report.people_deactivated,
        report.units_created,
        report.roles_granted,
        report.roles_revoked,
    )
    return report


def _units_touched(
    rows: list[_Row],
    *,
    unit_decl: dict[str, tuple[str, str, int]],
    people_db: dict[str, Person],
    units_db: dict[str, Unit],
) -> set[str]:
    """Codes of the units an import changes: its rows' units, the roles' scopes, the units people leave."""
    scope_codes = {r.values["scope_code"] for r in rows if r.values.get("scope_code")}
    code_of_unit = {u.id: c for c, u in units_db.items()}
    moved_from = set()
    for r in rows:
        existing = people_db.get(r.values["cadre_code"])
        if existing is not None and existing.unit_id in code_of_unit:
            moved_from.add(code_of_unit[existing.unit_id])
    return set(unit_decl) | scope_codes | moved_from


@dataclass
class _Removals:
    """What an authoritative import takes away, computed before anything is written."""

    deactivate: list[Person] = field(default_factory=list)
    revoke: list[RoleAssignment] = field(default_factory=list)
    revoke_reason: dict[int, str] = field(
        default_factory=dict
    )  # assignment id → "deactivated" | "not_listed"
    kept_outside_scope: int = 0
    issues: list[RowIssue] = field(default_factory=list)


def _plan_removals(
    session: Session,
    *,
    rows: list[_Row],
    parsed_roles: dict[int, list[Role]],
    units_db: dict[str, Unit],
    people_db: dict[str, Person],
    unit_codes: set[str],
    actor_id: int | None,
    authoritative: bool,
) -> _Removals:
    """People to deactivate and roles to revoke, plus the lock-out issues (last admin, the importer themself)."""
    plan = _Removals()
    assignments = list(
        session.exec(select(RoleAssignment).where(col(RoleAssignment.revoked_at).is_(None))).all()
    )
    by_id = {p.id: p for p in people_db.values()}
    code_of_unit = {u.id: code for code, u in units_db.items()}
    row_of = {r.values["cadre_code"]: r.number for r in rows}
    listed: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        scope = row.values.get("scope_code") or row.values["unit_code"]
        listed[row.values["cadre_code"]] = {(role.value, scope) for role in parsed_roles[row.number]}
    if authoritative:
        unit_ids = {units_db[code].id for code in unit_codes if code in units_db}
        plan.deactivate = sorted(
            (
                p
                for p in people_db.values()
                if p.active and p.unit_id in unit_ids and p.cadre_code not in row_of
            ),
            key=lambda p: p.cadre_code,
        )
        gone = {p.id for p in plan.deactivate}
        roles_column = bool(rows) and "roles" in rows[0].values
        reach = None if actor_id is None else scope_units(session, person_id=actor_id, roles=[Role.ADMIN])
        for assignment in assignments:
            person = by_id.get(assignment.person_id)
            if person is None or assignment.id is None:
                continue
            if assignment.person_id in gone:
                plan.revoke.append(assignment)
                plan.revoke_reason[assignment.id] = "deactivated"
            elif roles_column and person.cadre_code in listed:
                key = (assignment.role, code_of_unit.get(assignment.unit_id, ""))
                if key in listed[person.cadre_code]:
                    continue
                if reach is not None and assignment.unit_id not in reach:
                    plan.kept_outside_scope += 1
                    continue
                plan.revoke.append(assignment)
                plan.revoke_reason[assignment.id] = "not_listed"
    # Lock-out checks: somebody must still administer the system, and an admin never removes themself.
    revoked_ids = {a.id for a in plan.revoke}
    gone = {p.id for p in plan.deactivate}
    admins_before = sorted(
        {
            by_id[a.person_id].cadre_code
            for a in assignments
            if a.role == Role.ADMIN.value and a.person_id in by_id and by_id[a.person_id].active
        }
    )
    admins_after = {
        by_id[a.person_id].cadre_code
        for a in assignments
        if a.role == Role.ADMIN.value
        and a.id not in revoked_ids
        and a.person_id in by_id
        and a.person_id not in gone
        and (by_id[a.person_id].active or by_id[a.person_id].cadre_code in row_of)
    } | {code for code, roles in listed.items() if any(role == Role.ADMIN.value for role, _ in roles)}
    if admins_before and not admins_after:
        last = admins_before[0]
        plan.issues.append(
            RowIssue(row=row_of.get(last, 0), code="last_admin", column=COLUMN_LABELS["roles"], value=last)
        )
    actor = by_id.get(actor_id) if actor_id is not None else None
    if actor is not None:
        if actor.id in gone:
            plan.issues.append(RowIssue(row=0, code="self_deactivation", value=actor.cadre_code))
        elif actor.cadre_code not in admins_after:
            plan.issues.append(
                RowIssue(
                    row=row_of.get(actor.cadre_code, 0),
                    code="self_admin_revoked",
                    column=COLUMN_LABELS["roles"],
                    value=actor.cadre_code,
                )
            )
    return plan


def _apply_removals(
    session: Session, *, plan: _Removals, report: RosterReport, actor_id: int | None, moment: datetime
) -> None:
    """Deactivate, sign out, void invites and revoke roles as planned; one audit entry for each."""
    entries: list[dict[str, Any]] = []
    gone_ids = [p.id for p in plan.deactivate if p.id is not None]
    for person in plan.deactivate:
        person.active = False
        person.updated_at = moment
        session.add(person)
        entries.append(
            {
                "entity": "person",
                "entity_id": person.id,
                "action": "deactivate",
                "detail": {"cadre_code": person.cadre_code, "source": "roster", "active": [True, False]},
            }
        )
    report.people_deactivated = len(plan.deactivate)
    report.deactivated = [f"{p.full_name} ({p.cadre_code})" for p in plan.deactivate[:NAMES_SHOWN]]
    if gone_ids:
        links = list(
            session.exec(select(TelegramLink).where(col(TelegramLink.person_id).in_(gone_ids))).all()
        )
        for link in links:
            entries.append(
                {
                    "entity": "telegram_link",
                    "entity_id": link.person_id,
                    "action": "unlink",
                    "detail": {"telegram_user_id": link.telegram_user_id, "source": "roster"},
                }
            )
            session.delete(link)
        report.links_removed = len(links)
        report.telegram_user_ids = sorted(link.telegram_user_id for link in links)
        report.invites_voided = void_invites(
            session, actor_id=actor_id, person_ids=gone_ids, now=moment, source="roster"
        )
    for assignment in plan.revoke:
        assignment.revoked_at = moment
        assignment.revoked_by_id = actor_id
        session.add(assignment)
        assert assignment.id is not None
        entries.append(
            {
                "entity": "role_assignment",
                "entity_id": assignment.id,
                "action": "revoke",
                "detail": {
                    "person_id": assignment.person_id,
                    "role": assignment.role,
                    "unit_id": assignment.unit_id,
                    "source": "roster",
                    "reason": plan.revoke_reason[assignment.id],
                },
            }
        )
    report.roles_revoked = len(plan.revoke)
    report.roles_revoked_unlisted = sum(1 for reason in plan.revoke_reason.values() if reason == "not_listed")
    report.roles_kept_outside_scope = plan.kept_outside_scope
    session.flush()
    record_audits(session, actor_id=actor_id, now=moment, entries=entries)


# --- uploads waiting for confirmation -------------------------------------------------------------


LOCKOUT_CODES = frozenset({"last_admin", "self_deactivation", "self_admin_revoked"})


@dataclass(frozen=True)
class RosterOutcome:
    """An upload's fate: applied (`upload_id` None) or waiting for confirmation (`report` is the preview).

    `blocked` lists the lock-out issues that forbid applying the file as the full roster: the preview is then
    the supplementary ("add only") import, the only mode that can be confirmed.
    """

    report: RosterReport
    upload_id: int | None = None
    blocked: list[RowIssue] = field(default_factory=list)


MODES = ("full", "supplement")


def _cancel_pending(session: Session, *, moment: datetime, ttl: timedelta, uploader_id: int | None) -> int:
    """Cancel and empty pending uploads older than `ttl` (and all of `uploader_id`'s, when given)."""
    stale = col(RosterUpload.created_at) < moment - ttl
    if uploader_id is not None:
        stale = stale | (col(RosterUpload.uploaded_by_id) == uploader_id)
    result = session.execute(
        update(RosterUpload)
        .where(col(RosterUpload.state) == RosterUploadState.PENDING.value, stale)
        .values(state=RosterUploadState.CANCELLED.value, decided_at=moment, data=b"")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired_uploads(
    session: Session, *, now: datetime | None = None, ttl: timedelta = STAGED_TTL
) -> int:
    """Erase the content of roster files left unconfirmed past `ttl` (they hold names and phone numbers)."""
    return _cancel_pending(session, moment=utc_now(now), ttl=ttl, uploader_id=None)


def import_or_stage(
    session: Session,
    *,
    data: bytes,
    filename: str,
    actor_id: int | None,
    now: datetime | None = None,
    ttl: timedelta = STAGED_TTL,
) -> RosterOutcome:
    """Apply the roster at once unless it takes something away; then keep the file for confirmation.

    One pass: the import runs inside a savepoint; when it would deactivate someone or revoke a role the savepoint
    is rolled back and the file is stored as a pending `RosterUpload` (the report is the preview). A file refused
    as the full roster only for lock-out reasons (`LOCKOUT_CODES`) is staged too, with `blocked` set. The actor's
    older pending uploads, and any pending upload older than `ttl`, are cancelled and emptied.
    Raises `ImportRejected` like `import_roster` (nothing stored).
    """
    moment = utc_now(now)
    blocked: list[RowIssue] = []
    savepoint = session.begin_nested()
    try:
        report = import_roster(
            session, data=data, filename=filename, actor_id=actor_id, now=moment, authoritative=True
        )
    except ImportRejected as exc:
        savepoint.rollback()
        rejected = exc.params.get("report")
        issues = rejected.issues if isinstance(rejected, RosterReport) else []
        if not issues or any(issue.code not in LOCKOUT_CODES for issue in issues):
            raise
        # Not acceptable as the full roster; maybe as a supplement (the admin decides).
        blocked = list(issues)
        report = import_roster(
            session, data=data, filename=filename, actor_id=actor_id, now=moment, dry_run=True
        )
    except BaseException:
        savepoint.rollback()
        raise
    else:
        if not report.destructive:
            savepoint.commit()
            return RosterOutcome(report=report)
        savepoint.rollback()
    report.dry_run = True
    report.telegram_user_ids = []
    _cancel_pending(session, moment=moment, ttl=ttl, uploader_id=actor_id)
    upload = RosterUpload(filename=filename, data=data, uploaded_by_id=actor_id, created_at=moment)
    session.add(upload)
    session.flush()
    assert upload.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="roster_upload",
        entity_id=upload.id,
        action="stage",
        now=moment,
        detail={
            "rows": report.rows,
            "deactivate": report.people_deactivated,
            "revoke": report.roles_revoked,
        },
    )
    log.info(
        "roster upload %s waits for confirmation: %s to deactivate, %s roles to revoke",
        upload.id,
        report.people_deactivated,
        report.roles_revoked,
    )
    return RosterOutcome(report=report, upload_id=upload.id, blocked=blocked)


def _claim_upload(
    session: Session, *, upload_id: int, actor_id: int | None, moment: datetime, state: str, mode: str | None
) -> RosterUpload:
    """Move a pending upload to `state` exactly once (a second tap or a race gets `ConcurrentUpdate`)."""
    upload = session.get(RosterUpload, upload_id)
    if upload is None:
        raise ValidationFailed("no such roster upload", field="roster_upload", reason="unknown")
    if upload.uploaded_by_id != actor_id:
        raise PermissionDenied(
            "only the admin who uploaded the roster can confirm it", action="roster_upload"
        )
    if upload.state != RosterUploadState.PENDING.value:
        raise ConcurrentUpdate(f"roster upload already {upload.state}", state=upload.state)
    claimed = session.execute(
        update(RosterUpload)
        .where(
            col(RosterUpload.id) == upload_id,
            col(RosterUpload.state) == RosterUploadState.PENDING.value,
        )
        .values(state=state, decided_at=moment, mode=mode, data=b"")
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(upload)
        raise ConcurrentUpdate("roster upload decided at the same moment", state=upload.state)
    return upload


def apply_staged_roster(
    session: Session,
    *,
    upload_id: int,
    actor_id: int | None,
    mode: str = "full",
    now: datetime | None = None,
    ttl: timedelta = STAGED_TTL,
) -> RosterReport:
    """Apply a pending upload once: `mode` "full" (authoritative, as previewed) or "supplement" (adds/updates only).

    The database may have changed since the preview: the file is validated and planned again, in this transaction.
    Raises `ConcurrentUpdate` (params `state`: applied | cancelled) when it was already decided, `ValidationFailed`
    (field `roster_upload`, reason `expired` | `unknown`), `PermissionDenied` for anyone but the uploader, and
    whatever `import_roster` raises (the upload then stays pending).
    """
    moment = utc_now(now)
    if mode not in MODES:
        raise ValidationFailed(f"unknown mode {mode!r}", field="mode", allowed=list(MODES))
    upload = session.get(RosterUpload, upload_id)
    pending = upload is not None and upload.state == RosterUploadState.PENDING.value
    if pending and upload is not None and utc_now(upload.created_at) < moment - ttl:
        raise ValidationFailed("roster upload expired", field="roster_upload", reason="expired")
    data = bytes(upload.data) if upload is not None else b""
    claimed = _claim_upload(
        session,
        upload_id=upload_id,
        actor_id=actor_id,
        moment=moment,
        state=RosterUploadState.APPLIED.value,
        mode=mode,
    )
    report = import_roster(
        session,
        data=data,
        filename=claimed.filename,
        actor_id=actor_id,
        now=moment,
        authoritative=mode == "full",
    )
    record_audit(
        session,
        actor_id=actor_id,
        entity="roster_upload",
        entity_id=upload_id,
        action="apply",
        now=moment,
        detail={"mode": mode, "deactivated": report.people_deactivated, "revoked": report.roles_revoked},
    )
    return report


def cancel_staged_roster(
    session: Session, *, upload_id: int, actor_id: int | None, now: datetime | None = None
) -> None:
    """Drop a pending upload (its file is erased); `ConcurrentUpdate` when it was already decided."""
    moment = utc_now(now)
    _claim_upload(
        session,
        upload_id=upload_id,
        actor_id=actor_id,
        moment=moment,
        state=RosterUploadState.CANCELLED.value,
        mode=None,
    )
    record_audit(
        session, actor_id=actor_id, entity="roster_upload", entity_id=upload_id, action="cancel", now=moment
    )
