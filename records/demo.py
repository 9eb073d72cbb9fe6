"""Deterministic, realistic demo data (units tree, people, roles, a year of evaluations) via bulk core SQL."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import JSON, Date, DateTime, bindparam, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from records.errors import ValidationFailed
from records.schema import (
    ActionItem,
    ActionProgramme,
    ActionProgress,
    AuditEntry,
    Evaluation,
    EvaluationTask,
    Person,
    RoleAssignment,
    Rotation,
    RotationReview,
    Unit,
)

log = logging.getLogger(__name__)

ROOT_CODE = "TU-HN"
BATCH = 5_000

SURNAMES = (
    ("Nguyễn", 32),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 5),
    ("Vũ", 4),
    ("Phan", 4),
    ("Đặng", 3),
    ("Bùi", 3),
    ("Đỗ", 3),
    ("Hồ", 2),
    ("Ngô", 2),
    ("Dương", 2),
    ("Lý", 1),
    ("Đinh", 2),
    ("Trịnh", 1),
    ("Đào", 1),
    ("Tạ", 1),
    ("Lương", 1),
    ("Mai", 1),
)
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Thanh", "Mạnh", "Tiến", "Công", "Đình", "Ngọc")
MIDDLE_FEMALE = (
    "Thị",
    "Thu",
    "Thanh",
    "Ngọc",
    "Minh",
    "Phương",
    "Hồng",
    "Kim",
    "Thúy",
    "Mai",
    "Bích",
    "Diệu",
)
GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Hùng", "Huy", "Khánh", "Long", "Mạnh", "Nam",
    "Phong", "Quân", "Sơn", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Lâm", "Tùng",
)  # fmt: skip
GIVEN_FEMALE = (
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai",
    "Nga", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Trang", "Tuyết", "Vân", "Yến", "Huyền",
)  # fmt: skip
DISTRICTS = (
    ("BD", "Quận ủy Ba Đình"), ("HK", "Quận ủy Hoàn Kiếm"), ("DD", "Quận ủy Đống Đa"), ("HBT", "Quận ủy Hai Bà Trưng"),
    ("TX", "Quận ủy Thanh Xuân"), ("CG", "Quận ủy Cầu Giấy"), ("TH", "Quận ủy Tây Hồ"), ("HM", "Quận ủy Hoàng Mai"),
    ("LB", "Quận ủy Long Biên"), ("HD", "Quận ủy Hà Đông"), ("NTL", "Quận ủy Nam Từ Liêm"),
    ("BTL", "Quận ủy Bắc Từ Liêm"), ("ST", "Thị ủy Sơn Tây"), ("DA", "Huyện ủy Đông Anh"), ("GL", "Huyện ủy Gia Lâm"),
    ("SS", "Huyện ủy Sóc Sơn"), ("TT", "Huyện ủy Thanh Trì"), ("ML", "Huyện ủy Mê Linh"), ("BV", "Huyện ủy Ba Vì"),
    ("TTH", "Huyện ủy Thạch Thất"), ("QO", "Huyện ủy Quốc Oai"), ("CM", "Huyện ủy Chương Mỹ"),
    ("TO", "Huyện ủy Thanh Oai"), ("TTI", "Huyện ủy Thường Tín"), ("PX", "Huyện ủy Phú Xuyên"),
    ("UH", "Huyện ủy Ứng Hòa"), ("MD", "Huyện ủy Mỹ Đức"), ("DP", "Huyện ủy Đan Phượng"), ("HDU", "Huyện ủy Hoài Đức"),
    ("PT", "Huyện ủy Phúc Thọ"),
)  # fmt: skip
DEPARTMENTS = (
    ("BTC", "Ban Tổ chức Thành ủy"), ("BTG", "Ban Tuyên giáo Thành ủy"), ("UBKT", "Ủy ban Kiểm tra Thành ủy"),
    ("SNV", "Đảng ủy Sở Nội vụ"), ("STC", "Đảng ủy Sở Tài chính"), ("SGD", "Đảng ủy Sở Giáo dục và Đào tạo"),
    ("SYT", "Đảng ủy Sở Y tế"), ("SXD", "Đảng ủy Sở Xây dựng"), ("SKH", "Đảng ủy Sở Kế hoạch và Đầu tư"),
    ("STNMT", "Đảng ủy Sở Tài nguyên và Môi trường"),
)  # fmt: skip
WARDS = (
    "Phúc Xá", "Trúc Bạch", "Vĩnh Phúc", "Cống Vị", "Liễu Giai", "Ngọc Hà", "Điện Biên", "Đội Cấn", "Kim Mã",
    "Giảng Võ", "Thành Công", "Quán Thánh", "Hàng Bạc", "Hàng Bồ", "Cửa Nam", "Tràng Tiền", "Văn Miếu",
    "Quốc Tử Giám", "Láng Thượng", "Ô Chợ Dừa", "Văn Chương", "Hàng Bột", "Khâm Thiên", "Trung Liệt",
    "Kim Liên", "Phương Mai", "Nam Đồng", "Quang Trung", "Trung Phụng", "Thịnh Quang", "Bạch Mai",
    "Minh Khai", "Đồng Tâm", "Vĩnh Tuy", "Thanh Lương", "Bách Khoa", "Yên Hòa", "Dịch Vọng", "Nghĩa Đô",
    "Mai Dịch", "Quan Hoa", "Trung Hòa", "Nhật Tân", "Quảng An", "Xuân La", "Bưởi", "Thụy Khuê", "Yên Phụ",
)  # fmt: skip
CELL_KINDS = (
    "Chi bộ khu dân cư số {n}", "Chi bộ cơ quan Ủy ban nhân dân", "Chi bộ Trường Tiểu học", "Chi bộ Trạm Y tế",
    "Chi bộ Công an", "Chi bộ Quân sự", "Chi bộ Trường Trung học cơ sở", "Chi bộ tổ dân phố số {n}",
)  # fmt: skip
DEPT_SECTIONS = ("Văn phòng", "Phòng Tổ chức cán bộ", "Phòng Tổng hợp", "Phòng Nghiệp vụ {n}", "Thanh tra")
POSITIONS = ("Chuyên viên", "Chuyên viên chính", "Cán sự", "Công chức", "Viên chức", "Nhân viên hợp đồng")
HEAD_POSITION = {0: "Bí thư Thành ủy", 1: "Bí thư", 2: "Bí thư Đảng ủy", 3: "Bí thư chi bộ"}
DEPUTY_POSITION = {0: "Phó Bí thư Thành ủy", 1: "Phó Bí thư", 2: "Phó Bí thư Đảng ủy", 3: "Phó Bí thư chi bộ"}
TASKS = (
    ("Rà soát, bổ sung quy hoạch cán bộ", "Danh sách quy hoạch trình Ban Thường vụ"),
    ("Tham mưu báo cáo sơ kết quý", "Báo cáo đúng hạn, đủ số liệu"),
    ("Cập nhật hồ sơ đảng viên trên phần mềm", "100% hồ sơ được cập nhật"),
    ("Chuẩn bị nội dung sinh hoạt chi bộ", "Đề cương sinh hoạt chuyên đề"),
    ("Giải quyết đơn thư thuộc thẩm quyền", "Không để tồn đọng quá hạn"),
    ("Kiểm tra việc thực hiện quy chế dân chủ", "Biên bản kiểm tra, kiến nghị"),
    ("Tổ chức hội nghị triển khai nghị quyết", "Hội nghị đủ thành phần, đúng kế hoạch"),
    ("Thẩm định hồ sơ bổ nhiệm cán bộ", "Tờ trình kèm hồ sơ đầy đủ"),
)
CRITERIA = ("discipline", "tasks", "bonus")  # 20 + 70 + 10 (Hà Nội monthly default)


@dataclass(frozen=True)
class DemoAccount:
    """A fixed demo person, one per role, with a stable code and phone (for the playground and docs)."""

    role: str
    cadre_code: str
    full_name: str
    phone: str
    position: str
    unit_code: str


# The fixed demo accounts (present whatever `people` and `seed`; sign in with the phone number):
#   cadre     DEMO-CADRE     0880000001  Nguyễn Văn An   in BTC-VP; manager DEMO-REVIEWER
#   reviewer  DEMO-REVIEWER  0880000002  Trần Thị Bình   reviewer of BTC-VP; manager DEMO-HEAD
#   head      DEMO-HEAD      0880000003  Lê Văn Cường    head (and reviewer) of BTC-VP
#   staff     DEMO-STAFF     0880000004  Phạm Thị Dung   staff over BTC and over the whole city (TU-HN)
#   admin     DEMO-ADMIN     0880000005  Hoàng Văn Em    admin over TU-HN
# BTC-VP = Chi bộ Văn phòng Ban Tổ chức Thành ủy, under BTC (Ban Tổ chức Thành ủy), under TU-HN (Thành ủy Hà Nội).
# Generated people have codes CB000001… and 09xxxxxxxx phones; every unit has a head, most a deputy (reviewer).
DEMO_UNIT_CODE = "BTC-VP"
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("cadre", "DEMO-CADRE", "Nguyễn Văn An", "0880000001", "Chuyên viên", DEMO_UNIT_CODE),
    DemoAccount("reviewer", "DEMO-REVIEWER", "Trần Thị Bình", "0880000002", "Trưởng phòng", DEMO_UNIT_CODE),
    DemoAccount("head", "DEMO-HEAD", "Lê Văn Cường", "0880000003", "Chánh Văn phòng", DEMO_UNIT_CODE),
    DemoAccount("staff", "DEMO-STAFF", "Phạm Thị Dung", "0880000004", "Chuyên viên Ban Tổ chức", "BTC"),
    DemoAccount("admin", "DEMO-ADMIN", "Hoàng Văn Em", "0880000005", "Quản trị hệ thống", ROOT_CODE),
)


@dataclass
class DemoReport:
    """What was generated: row counts per table, the periods, and the demo accounts."""

    seed: int
    periods: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    accounts: tuple[DemoAccount, ...] = DEMO_ACCOUNTS
    seconds: float = 0.0


@dataclass
class _Unit:
    id: int
    code: str
    name: str
    parent: int | None
    depth: int
    people: list[int] = field(default_factory=list)


@dataclass
class _Plan:
    """In-memory plan of units and people before the bulk insert."""

    units: list[_Unit] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)


def _periods_before(today: date, months: int) -> list[str]:
    """The `months` monthly periods ending with the month before `today`'s month, oldest first."""
    year, month = today.year, today.month
    out: list[str] = []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year}-{month:02d}")
    return out[::-1]


def _name(rng: random.Random) -> str:
    surname = rng.choices([s for s, _ in SURNAMES], weights=[w for _, w in SURNAMES])[0]
    if rng.random() < 0.5:
        return f"{surname} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return f"{surname} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"


def _phone(index: int, seed: int) -> str:
    # A bijection of the index onto 8 digits (7919 is prime to 10**8): unique, realistic 09x numbers.
    return f"09{(index * 7919 + seed) % 100_000_000:08d}"


def _build_units(n_people: int, rng: random.Random) -> list[_Unit]:
    """Thành ủy → quận/huyện ủy and sở/ban → phường/xã or phòng → chi bộ, sized for ~12 people per unit."""
    target_units = max(8, n_people // 12)
    n_top = min(len(DISTRICTS), max(2, round((target_units / 20) ** 0.5)))
    n_depts = min(len(DEPARTMENTS), max(1, n_top // 3))
    units: list[_Unit] = [_Unit(1, ROOT_CODE, "Thành ủy Hà Nội", None, 0)]

    def add(code: str, name: str, parent: _Unit) -> _Unit:
        unit = _Unit(len(units) + 1, code, name, parent.id, parent.depth + 1)
        units.append(unit)
        return unit

    root = units[0]
    tops = [add(code, name, root) for code, name in DEPARTMENTS[:n_depts]]
    tops += [add(f"Q-{code}", name, root) for code, name in DISTRICTS[:n_top]]
    remaining = max(0, target_units - len(units))
    per_top = max(1, remaining // len(tops))
    wards_per_top = max(1, round(per_top**0.5))
    cells_per_ward = max(1, per_top // wards_per_top - 1)
    n_wards = 0
    for top in tops:
        dept = not top.code.startswith("Q-")
        for w in range(wards_per_top):
            if dept:
                section = (
                    DEPT_SECTIONS[w].format(n=w + 1) if w < len(DEPT_SECTIONS) else f"Phòng Nghiệp vụ {w + 1}"
                )
                code = "BTC-VP" if top.code == "BTC" and w == 0 else f"{top.code}-P{w + 1:02d}"
                ward = add(code, f"Chi bộ {section} {top.name.removeprefix('Đảng ủy ')}", top)
                continue
            ward_name = WARDS[n_wards % len(WARDS)] + (
                f" {n_wards // len(WARDS) + 1}" if n_wards >= len(WARDS) else ""
            )
            n_wards += 1
            ward = add(f"{top.code}-W{w + 1:02d}", f"Đảng ủy phường {ward_name}", top)
            for c in range(cells_per_ward):
                kind = CELL_KINDS[c % len(CELL_KINDS)].format(n=c // len(CELL_KINDS) + 1)
                add(f"{ward.code}-C{c + 1:02d}", f"{kind} phường {ward_name}", ward)
    if not any(u.code == DEMO_UNIT_CODE for u in units):
        btc = next(u for u in units if u.code == "BTC")
        add(DEMO_UNIT_CODE, "Chi bộ Văn phòng Ban Tổ chức Thành ủy", btc)
    return units


def _plan(n_people: int, seed: int, now: datetime) -> _Plan:
    rng = random.Random(seed)
    plan = _Plan(units=_build_units(n_people, rng))
    by_code = {u.code: u for u in plan.units}
    parents = {u.parent for u in plan.units}
    leaves = [u for u in plan.units if u.id not in parents] or plan.units
    heads: dict[int, int] = {}  # unit id → head person id

    def add_person(code: str, name: str, phone: str, position: str, unit: _Unit) -> int:
        pid = len(plan.people) + 1
        plan.people.append(
            {
                "id": pid,
                "cadre_code": code,
                "full_name": name,
                "phone": phone,
                "position": position,
                "unit_id": unit.id,
                "manager_id": None,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        unit.people.append(pid)
        return pid

    def grant(pid: int, role: str, unit: _Unit) -> None:
        plan.roles.append(
            {"person_id": pid, "role": role, "unit_id": unit.id, "granted_at": now, "granted_by_id": None}
        )

    # Fixed demo accounts first (stable ids 1..5 on an empty database).
    account_ids = {}
    for acc in DEMO_ACCOUNTS:
        account_ids[acc.role] = add_person(
            acc.cadre_code, acc.full_name, acc.phone, acc.position, by_code[acc.unit_code]
        )
    # Every unit gets a head (and a deputy where people allow) before the rank and file.
    n_index = 0
    for unit in plan.units:
        if unit.code == DEMO_UNIT_CODE:
            heads[unit.id] = account_ids["head"]
            continue
        n_index += 1
        heads[unit.id] = add_person(
            f"CB{n_index:06d}", _name(rng), _phone(n_index, seed), HEAD_POSITION[min(unit.depth, 3)], unit
        )
    deputies: dict[int, int] = {by_code[DEMO_UNIT_CODE].id: account_ids["reviewer"]}
    for unit in plan.units:
        if unit.id in deputies or len(plan.people) >= n_people:
            continue
        n_index += 1
        deputies[unit.id] = add_person(
            f"CB{n_index:06d}", _name(rng), _phone(n_index, seed), DEPUTY_POSITION[min(unit.depth, 3)], unit
        )
    while len(plan.people) < n_people:
        n_index += 1
        unit = leaves[rng.randrange(len(leaves))]
        add_person(f"CB{n_index:06d}", _name(rng), _phone(n_index, seed), rng.choice(POSITIONS), unit)

    # Managers: the deputy (or head) leads the rank and file; a deputy reports to the head; a head to the
    # head of the parent unit.
    people = plan.people
    for unit in plan.units:
        head, deputy = heads[unit.id], deputies.get(unit.id)
        parent_head = heads.get(unit.parent) if unit.parent else None
        for pid in unit.people:
            row = people[pid - 1]
            if pid == head:
                row["manager_id"] = parent_head
            elif pid == deputy:
                row["manager_id"] = head
            else:
                row["manager_id"] = deputy or head
        grant(head, "head", unit)
        grant(head, "reviewer", unit)
        if deputy:
            grant(deputy, "reviewer", unit)
    for row in people:
        grant(row["id"], "cadre", plan.units[row["unit_id"] - 1])
    grant(account_ids["staff"], "staff", by_code["BTC"])
    grant(account_ids["staff"], "staff", by_code[ROOT_CODE])
    grant(account_ids["admin"], "admin", by_code[ROOT_CODE])
    people[account_ids["staff"] - 1]["manager_id"] = heads[by_code["BTC"].id]
    people[account_ids["admin"] - 1]["manager_id"] = heads[by_code[ROOT_CODE].id]
    # A Ban Tổ chức staff member for every district.
    for unit in plan.units:
        if unit.depth == 1 and unit.code.startswith("Q-") and deputies.get(unit.id):
            grant(deputies[unit.id], "staff", unit)
    return plan


def _chunks(rows: Sequence[dict[str, Any]], size: int = BATCH) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk insert: COPY on Postgres (psycopg), batched executemany elsewhere; same transaction either way."""
    if not rows:
        return 0
    driver = conn.connection.driver_connection
    if isinstance(driver, psycopg.Connection):
        columns = list(rows[0])
        json_columns = {c.name for c in table.__table__.columns if isinstance(c.type, JSON)}
        names = ", ".join(f'"{c}"' for c in columns)
        with driver.cursor() as cur, cur.copy(f'COPY "{table.__tablename__}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[c]) if c in json_columns and row[c] is not None else row[c]
                        for c in columns
                    ]
                )
        return len(rows)
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn, table, rows)
        return len(rows)
    for chunk in _chunks(rows):
        conn.execute(insert(table), list(chunk))
    return len(rows)


def _sqlite_datetime(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DATETIME stores (UTC, microseconds, no offset).
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _insert_sqlite(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """executemany on the driver with values converted per column type once (SQLAlchemy's per-value bind
    processing costs more than the insert itself at this size)."""
    columns = list(rows[0])
    types = {c.name: c.type for c in table.__table__.columns}
    converters: list[Any] = []
    for name in columns:
        kind = types[name]
        if isinstance(kind, JSON):
            converters.append(lambda v: None if v is None else json.dumps(v))
        elif isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
            converters.append(lambda v: None if v is None else _sqlite_datetime(v))
        elif isinstance(kind, Date):
            converters.append(lambda v: None if v is None else v.isoformat())
        else:
            converters.append(None)
    pairs = list(zip(columns, converters, strict=True))
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.__tablename__}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    for chunk in _chunks(rows, 20_000):
        conn.exec_driver_sql(
            sql, [tuple(conv(row[c]) if conv else row[c] for c, conv in pairs) for row in chunk]
        )


def _deadline(period: str, day: int) -> datetime:
    year, month = int(period[:4]), int(period[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, day, 17, 0, tzinfo=UTC)


def _grade(total: float) -> str:
    return "A" if total >= 90 else "B" if total >= 70 else "C" if total >= 50 else "D"


def _evaluations(
    plan: _Plan, periods: Sequence[str], rng: random.Random, *, with_tasks: bool, due_day: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A year of evaluations: older periods mostly decided; the newest in every state; some late/returned."""
    evaluations: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    people = plan.people
    unit_bias = {u.id: rng.gauss(0, 4) for u in plan.units}  # some units grade generously (quota breaches)
    newest = periods[-1]
    for period in periods:
        deadline = _deadline(period, due_day)
        opened = deadline - timedelta(days=35)
        current = period == newest
        for person in people:
            pid, unit_id = person["id"], person["unit_id"]
            roll = rng.random()
            if current:
                state = (
                    "missing" if roll < 0.10 else "draft" if roll < 0.16 else "submitted" if roll < 0.36
                    else "returned" if roll < 0.42 else "reviewed" if roll < 0.60 else "decided"
                )  # fmt: skip
            else:
                state = "missing" if roll < 0.02 else "decided"
            if state == "missing":
                continue
            discipline = min(20.0, max(8.0, round(rng.gauss(18.5, 1.5), 1)))
            results = min(70.0, max(20.0, round(rng.gauss(60 + unit_bias[unit_id], 6), 1)))
            bonus = min(10.0, max(0.0, round(rng.gauss(4, 3), 1)))
            total = round(discipline + results + bonus, 1)
            late = state != "draft" and rng.random() < 0.12
            submitted_at = None
            if state != "draft":
                offset = timedelta(days=rng.uniform(0.5, 6)) if late else -timedelta(days=rng.uniform(0, 8))
                submitted_at = deadline + offset
            eid = len(evaluations) + 1
            row: dict[str, Any] = {
                "id": eid,
                "person_id": pid,
                "unit_id": unit_id,
                "period": period,
                "period_kind": "month",
                "state": state,
                "plan_registered_at": opened,
                "self_points": {"discipline": discipline, "tasks": results, "bonus": bonus},
                "self_total": total,
                "proposed_grade": _grade(total),
                "self_comment": "Hoàn thành các nhiệm vụ được giao theo kế hoạch tháng.",
                "submitted_at": submitted_at,
                "late": late,
                "reviewer_id": None,
                "review_points": None,
                "review_total": None,
                "review_grade": None,
                "review_comment": None,
                "reviewed_at": None,
                "return_reason": None,
                "returned_at": None,
                "decided_by_id": None,
                "final_grade": None,
                "final_total": None,
                "decision_comment": None,
                "decided_at": None,
                "reopen_count": 0,
                "version": 1,
                "created_at": opened,
                "updated_at": submitted_at or opened,
            }
            if state == "returned" or (state != "draft" and rng.random() < 0.05):
                row["return_reason"] = "Đề nghị bổ sung minh chứng kết quả công việc."
                row["returned_at"] = (submitted_at or deadline) + timedelta(days=1)
                row["version"] += 2
            if state in ("reviewed", "decided"):
                adjusted = round(min(100.0, max(0.0, total - rng.choice((0, 0, 0, 1.5, 3, 5)))), 1)
                row.update(
                    reviewer_id=person["manager_id"],
                    review_points={"discipline": discipline, "tasks": round(adjusted - discipline - bonus, 1),
                                   "bonus": bonus},
                    review_total=adjusted,
                    review_grade=_grade(adjusted),
                    review_comment="Đồng ý với kết quả tự đánh giá.",
                    reviewed_at=(submitted_at or deadline) + timedelta(days=2),
                    version=row["version"] + 1,
                )  # fmt: skip
            if state == "decided":
                row.update(
                    decided_by_id=person["manager_id"],
                    final_grade=row["review_grade"],
                    final_total=row["review_total"],
                    decided_at=(submitted_at or deadline) + timedelta(days=4),
                    version=row["version"] + 1,
                )
            row["updated_at"] = (
                row["decided_at"] or row["reviewed_at"] or row["returned_at"] or row["updated_at"]
            )
            evaluations.append(row)
            if with_tasks:
                for position in range(rng.randint(2, 4)):
                    title, expected = TASKS[rng.randrange(len(TASKS))]
                    result = None
                    if state != "draft":
                        result = rng.choices(("on_time", "late", "not_done"), weights=(85, 10, 5))[0]
                    tasks.append(
                        {
                            "evaluation_id": eid,
                            "position": position,
                            "title": title,
                            "expected_result": expected,
                            "deadline": (deadline - timedelta(days=rng.randint(7, 30))).date(),
                            "result": result,
                            "result_note": None,
                            "copied_from_id": None,
                            "action_item_id": None,
                            "created_at": opened,
                        }
                    )
    return evaluations, tasks


def _programmes_and_rotations(
    plan: _Plan, rng: random.Random, today: date, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Action programmes for heads and some deputies; rotations of ~1% of people down or up the tree."""
    out: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("programmes", "items", "progress", "rotations", "reviews")
    }
    people = plan.people
    heads = [r["person_id"] for r in plan.roles if r["role"] == "head"]
    states = ("draft", "submitted", "returned", "confirmed", "confirmed", "confirmed", "closed")
    for n, pid in enumerate(heads[: max(5, len(people) // 20)]):
        person = people[pid - 1]
        start = date(today.year - rng.randint(0, 2), rng.choice((1, 4, 7, 10)), 1)
        state = states[n % len(states)]
        prog_id = len(out["programmes"]) + 1
        confirmed = state in ("confirmed", "closed")
        out["programmes"].append(
            {
                "id": prog_id,
                "person_id": pid,
                "unit_id": person["unit_id"],
                "post": person["position"],
                "term_start": start,
                "term_end": date(start.year + 5, start.month, 1),
                "publicity": rng.choice(("internal", "party_cell", "public")),
                "state": state,
                "submitted_at": now - timedelta(days=300) if state != "draft" else None,
                "confirmed_by_id": person["manager_id"] if confirmed else None,
                "confirmed_at": now - timedelta(days=290) if confirmed else None,
                "return_reason": "Chỉ tiêu chưa đo lường được." if state == "returned" else None,
                "returned_at": now - timedelta(days=295) if state == "returned" else None,
                "closing_assessment": "Hoàn thành các cam kết đã đăng ký." if state == "closed" else None,
                "closed_at": now - timedelta(days=5) if state == "closed" else None,
                "version": 1,
                "created_at": now - timedelta(days=310),
                "updated_at": now - timedelta(days=5),
            }
        )
        for position, (title, target) in enumerate(rng.sample(TASKS, 3)):
            item_id = len(out["items"]) + 1
            percent = rng.choice((0, 20, 40, 60, 80, 100)) if confirmed else 0
            out["items"].append(
                {
                    "id": item_id,
                    "programme_id": prog_id,
                    "position": position,
                    "commitment": title,
                    "target": target,
                    "deadline": date(start.year + 1 + position, 12, 31),
                    "progress_percent": percent,
                    "last_progress_at": now - timedelta(days=30) if percent else None,
                    "created_at": now - timedelta(days=310),
                }
            )
            if percent:
                out["progress"].append(
                    {
                        "item_id": item_id,
                        "percent": percent,
                        "note": "Cập nhật tiến độ định kỳ.",
                        "by_person_id": pid,
                        "at": now - timedelta(days=30),
                    }
                )
    depth = {u.id: u.depth for u in plan.units}
    cells = [u for u in plan.units if u.depth >= 2]
    candidates = [r for r in people if depth[r["unit_id"]] <= 2 and r["cadre_code"].startswith("CB")]
    for person in rng.sample(candidates, min(len(candidates), max(3, len(people) // 100))):
        dest = cells[rng.randrange(len(cells))] if cells else plan.units[0]
        if dest.id == person["unit_id"]:
            continue
        start = date(today.year - rng.randint(0, 3), rng.randint(1, 12), 1)
        planned_end = date(start.year + 3, start.month, 1)
        completed = planned_end < today
        rot_id = len(out["rotations"]) + 1
        diff = dest.depth - depth[person["unit_id"]]
        out["rotations"].append(
            {
                "id": rot_id,
                "person_id": person["id"],
                "from_unit_id": person["unit_id"],
                "to_unit_id": dest.id,
                "from_post": person["position"],
                "to_post": "Phó Bí thư Đảng ủy",
                "start_date": start,
                "planned_end": planned_end,
                "direction": "down" if diff > 0 else "up" if diff < 0 else "lateral",
                "state": "completed" if completed else "active",
                "ended_on": planned_end if completed else None,
                "decided_by_id": 5,  # the demo admin signs as the deciding authority
                "version": 1,
                "created_at": datetime(start.year, start.month, 1, tzinfo=UTC),
                "updated_at": now,
            }
        )
        due = start
        while True:
            month = due.month + 6
            due = date(due.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            final = due >= planned_end
            due = min(due, planned_end)
            past = due < today
            out["reviews"].append(
                {
                    "rotation_id": rot_id,
                    "kind": "final" if final else "periodic",
                    "due_date": due,
                    "state": "evaluated" if past else "pending",
                    "self_review": "Hoàn thành nhiệm vụ tại đơn vị tiếp nhận." if past else None,
                    "self_reviewed_at": datetime(due.year, due.month, due.day, tzinfo=UTC) if past else None,
                    "receiving_comment": "Tập thể đơn vị tiếp nhận đánh giá tốt." if past else None,
                    "receiving_by_id": None,
                    "received_at": datetime(due.year, due.month, due.day, tzinfo=UTC) if past else None,
                    "evaluation": "Hoàn thành tốt nhiệm vụ." if past else None,
                    "evaluation_grade": "B" if past else None,
                    "evaluated_by_id": 5 if past else None,
                    "evaluated_at": datetime(due.year, due.month, due.day, tzinfo=UTC) if past else None,
                    "version": 1,
                    "created_at": datetime(start.year, start.month, 1, tzinfo=UTC),
                }
            )
            if final:
                break
    return out


def _reset_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """After inserting explicit ids on Postgres, move each id sequence past the largest id."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}")
        )


def generate_demo_data(
    engine: Engine,
    *,
    people: int = 2_000,
    seed: int = 2026,
    months: int = 12,
    today: date | None = None,
    with_tasks: bool | None = None,
    due_day: int = 3,
) -> DemoReport:
    """Fill an empty, migrated database with a deterministic demo organisation.

    `people` (at least 20) are spread over a units tree sized to them (~12 per unit) with heads, deputies
    (reviewers), staff and the fixed `DEMO_ACCOUNTS`; `months` monthly periods up to the month before `today`
    get evaluations (the newest in every state, some late or returned; older ones decided); heads get action
    programmes, ~1% of people rotations. Tasks are generated when `with_tasks` (default: up to 20,000 people).
    Refuses a database that already has units (nothing is changed then).
    """
    if people < 20:
        raise ValidationFailed("demo data needs at least 20 people", field="people", minimum=20)
    if not 1 <= months <= 36:
        raise ValidationFailed("months must be 1..36", field="months", minimum=1, maximum=36)
    started = datetime.now(UTC)
    today = today or started.date()
    now = datetime(today.year, today.month, today.day, 8, 0, tzinfo=UTC)
    since = now - timedelta(days=31 * (months + 1))  # the roster predates every generated period
    with_tasks = people <= 20_000 if with_tasks is None else with_tasks
    rng = random.Random(seed)
    plan = _plan(people, seed, since)
    periods = _periods_before(today, months)
    evaluations, tasks = _evaluations(
        plan, periods, random.Random(seed + 1), with_tasks=with_tasks, due_day=due_day
    )
    extra = _programmes_and_rotations(plan, rng, today, now)
    unit_rows = [
        {
            "id": u.id,
            "code": u.code,
            "name": u.name,
            "parent_id": u.parent,
            "outstanding": u.depth == 1 and u.id % 7 == 0,
            "created_at": since,
            "updated_at": since,
        }
        for u in plan.units
    ]
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(Unit)).scalar_one():
            raise ValidationFailed("the database already has units: demo data goes into an empty database")
        counts["units"] = _insert(conn, Unit, unit_rows)
        # A few managers (of the fixed demo accounts) come later in the table: set those afterwards.
        later = [
            (r["id"], r["manager_id"]) for r in plan.people if r["manager_id"] and r["manager_id"] > r["id"]
        ]
        person_rows = [
            {**r, "manager_id": r["manager_id"] if r["manager_id"] and r["manager_id"] < r["id"] else None}
            for r in plan.people
        ]
        counts["people"] = _insert(conn, Person, person_rows)
        _set_managers(conn, later)
        counts["role_assignments"] = _insert(conn, RoleAssignment, plan.roles)
        counts["evaluations"] = _insert(conn, Evaluation, evaluations)
        counts["evaluation_tasks"] = _insert(conn, EvaluationTask, tasks)
        counts["action_programmes"] = _insert(conn, ActionProgramme, extra["programmes"])
        counts["action_items"] = _insert(conn, ActionItem, extra["items"])
        counts["action_progress"] = _insert(conn, ActionProgress, extra["progress"])
        counts["rotations"] = _insert(conn, Rotation, extra["rotations"])
        counts["rotation_reviews"] = _insert(conn, RotationReview, extra["reviews"])
        conn.execute(
            insert(AuditEntry),
            [
                {
                    "at": started,
                    "actor_id": None,
                    "entity": "demo",
                    "entity_id": seed,
                    "action": "seed_demo_data",
                    "from_state": None,
                    "to_state": None,
                    "detail": {"seed": seed, "people": people, "periods": list(periods)},
                }
            ],
        )
        _reset_sequences(
            conn, ["unit", "person", "evaluation", "action_programme", "action_item", "rotation"]
        )
    report = DemoReport(seed=seed, periods=tuple(periods), counts=counts)
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    log.info(
        "demo data: seed=%d people=%d evaluations=%d in %.1fs", seed, people, len(evaluations), report.seconds
    )
    return report


def _set_managers(conn: Connection, managers: Sequence[tuple[int, int]]) -> None:
    table = Person.__table__  # type: ignore[attr-defined]
    stmt = table.update().where(table.c.id == bindparam("pid")).values(manager_id=bindparam("mid"))
    if managers:
        conn.execute(stmt, [{"pid": p, "mid": m} for p, m in managers])
