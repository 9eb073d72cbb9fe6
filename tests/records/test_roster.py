"""Roster import: CSV and XLSX, tolerant headers, idempotent re-import, row report, all-or-nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from records.access import grant_role, roles_of
from records.audit import list_audit
from records.db import session_scope
from records.errors import ImportRejected, PermissionDenied
from records.people import find_person_by_code, find_unit_by_code
from records.roster import RosterReport, import_roster
from records.schema import Person, RoleAssignment, Unit
from tests.records.org import ROSTER_CSV, Org


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _rejected(engine: Engine, data: bytes, filename: str = "roster.csv") -> RosterReport:
    with pytest.raises(ImportRejected) as info, session_scope(engine) as session:
        import_roster(session, data=data, filename=filename)
    report = info.value.params["report"]
    assert isinstance(report, RosterReport) and not report.accepted
    return report


def test_import_builds_tree_people_managers_and_roles(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session:
        px = find_unit_by_code(session, code="PX")
        assert px is not None and px.parent_id == org.units["BD"] and px.name == "Phường Phúc Xá"
        dung = find_person_by_code(session, cadre_code="BD03")
        assert dung is not None
        assert dung.phone == "0904000004" and dung.manager_id == org.people["BD02"]
        assert dung.full_name == "Phạm Thị Dung"
        scopes = {(r.role, r.unit_code) for r in roles_of(session, person_id=org.people["TU01"])}
        assert scopes == {("admin", "TU"), ("staff", "TU")}


def test_reimport_updates_and_never_duplicates(db_engine: Engine, org: Org) -> None:
    people, units, roles = (
        _count(db_engine, Person),
        _count(db_engine, Unit),
        _count(db_engine, RoleAssignment),
    )
    changed = ROSTER_CSV.replace(
        "Phạm Thị Dung,0904.000.004,Chuyên viên", "Phạm Thị Dung,0904000044,Phó phòng"
    )
    with session_scope(db_engine) as session:
        report = import_roster(session, data=changed.encode(), filename="roster.csv")
    assert report.accepted and report.people_created == 0 and report.units_created == 0
    assert report.people_updated == 1 and report.people_unchanged == 8 and report.roles_granted == 0
    assert (_count(db_engine, Person), _count(db_engine, Unit), _count(db_engine, RoleAssignment)) == (
        people,
        units,
        roles,
    )
    with Session(db_engine) as session:
        dung = find_person_by_code(session, cadre_code="BD03")
        assert dung is not None and dung.position == "Phó phòng" and dung.phone == "0904000044"


def test_headers_without_diacritics_any_case_and_order_from_xlsx(db_engine: Engine) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["HO VA TEN", "ma don vi", "Ma Can Bo", "so dien thoai", "ten don vi", "Vai tro"])
    sheet.append(["Nguyễn Thị Lan", "QX", "X001", 912345678, "Quận X", "can bo"])  # phone lost its 0 in Excel
    sheet.append(["Trần Văn Minh", "QX", 1002, "+84912345679", None, "Thủ trưởng"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with session_scope(db_engine) as session:
        report = import_roster(session, data=buffer.getvalue(), filename="DanhSach.XLSX")
    assert (
        report.accepted
        and report.people_created == 2
        and report.units_created == 1
        and report.roles_granted == 2
    )
    with Session(db_engine) as session:
        lan = find_person_by_code(session, cadre_code="X001")
        minh = find_person_by_code(session, cadre_code="1002")
        assert lan is not None and lan.phone == "0912345678" and lan.unit_name == "Quận X"
        assert minh is not None and minh.phone == "0912345679"
        assert {r.role for r in roles_of(session, person_id=minh.id)} == {"head"}


def test_semicolon_csv_in_windows_vietnamese_encoding(db_engine: Engine) -> None:
    text = "Mã cán bộ;Họ và tên;Mã đơn vị;Tên đơn vị\nA1;Lê Thị Hoa;U1;Chi bộ 1\n"
    with session_scope(db_engine) as session:
        report = import_roster(session, data=text.encode("utf-8-sig"), filename="a.csv")
    assert report.people_created == 1
    with Session(db_engine) as session:
        hoa = find_person_by_code(session, cadre_code="A1")
        assert hoa is not None and hoa.full_name == "Lê Thị Hoa"


def test_row_report_lists_every_problem_and_nothing_is_written(db_engine: Engine, org: Org) -> None:
    before = (_count(db_engine, Person), _count(db_engine, Unit), _count(db_engine, RoleAssignment))
    bad = (
        "Mã cán bộ,Họ và tên,Số điện thoại,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò\n"
        "N1,Người Mới,0911111111,NEW,Đơn vị mới,TU,,cán bộ\n"  # valid on its own
        "N2,,0911111112,BD,,,,\n"  # missing name
        "N1,Trùng Mã,0911111113,BD,,,,\n"  # duplicate code
        "N3,Số Sai,12345,BD,,,,\n"  # bad phone
        "N4,Không Đơn Vị,,NOWHERE,,,,\n"  # unknown unit (no name to create it)
        "N5,Quản Lý Lạ,,BD,,,ZZ99,\n"  # unknown manager
        "N6,Vai Lạ,,BD,,,,hoàng đế\n"  # unknown role
        "N7,Trùng Số,0901000001,BD,,,,\n"  # phone of TU01 in the database
        "N8,Cấp Trên Lạ,,NEW2,Đơn vị 2,XX,,\n"  # unknown parent unit
    )
    report = _rejected(db_engine, bad.encode())
    found = {(i.row, i.code) for i in report.issues}
    assert found == {
        (3, "missing_value"),
        (4, "duplicate_code"),
        (5, "bad_phone"),
        (6, "unknown_unit"),
        (7, "unknown_manager"),
        (8, "unknown_role"),
        (9, "phone_taken"),
        (10, "unknown_parent"),
    }
    assert next(i for i in report.issues if i.code == "missing_value").column == "Họ và tên"
    assert (_count(db_engine, Person), _count(db_engine, Unit), _count(db_engine, RoleAssignment)) == before


def test_missing_columns_empty_and_unsupported_files(db_engine: Engine) -> None:
    report = _rejected(db_engine, "Họ và tên,Chức vụ\nA,B\n".encode())
    assert {(i.code, i.column) for i in report.issues} == {
        ("missing_column", "Mã cán bộ"),
        ("missing_column", "Mã đơn vị"),
    }
    assert [i.code for i in _rejected(db_engine, b"").issues] == ["empty_file"]
    assert [i.code for i in _rejected(db_engine, b"%PDF-1.4", "roster.pdf").issues] == ["bad_format"]
    assert [i.code for i in _rejected(db_engine, b"not a zip", "roster.xlsx").issues] == ["unreadable"]


def test_manager_cycles_and_unit_cycles_are_refused(db_engine: Engine) -> None:
    cycle = "Mã cán bộ,Họ và tên,Mã đơn vị,Tên đơn vị,Mã người quản lý\nA,An,U,Đơn vị,B\nB,Bình,U,,A\nC,Chi,U,,C\n"
    codes = {(i.row, i.code) for i in _rejected(db_engine, cycle.encode()).issues}
    assert {(2, "manager_cycle"), (3, "manager_cycle"), (4, "self_manager")} <= codes
    units = "Mã cán bộ,Họ và tên,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên\nA,An,U1,Một,U2\nB,Bình,U2,Hai,U1\n"
    assert {i.code for i in _rejected(db_engine, units.encode()).issues} == {"unit_cycle"}


def test_manager_change_counts_once_and_is_audited(db_engine: Engine, org: Org) -> None:
    changed = ROSTER_CSV.replace(
        "BD04,Hoàng Văn Em,0905000005,Chuyên viên,BD,,,BD02",
        "BD04,Hoàng Văn Em,0905000005,Phó phòng,BD,,,BD01",
    ).replace(
        "PX02,Đỗ Văn Giang,0907000007,Cán bộ,PX,,,PX01", "PX02,Đỗ Văn Giang,0907000007,Cán bộ,PX,,,BD01"
    )
    with session_scope(db_engine) as session:
        report = import_roster(session, data=changed.encode(), filename="roster.csv")
    assert (report.people_updated, report.people_unchanged) == (2, 7)
    with Session(db_engine) as session:
        em = find_person_by_code(session, cadre_code="BD04")
        assert em is not None and em.manager_id == org.people["BD01"] and em.position == "Phó phòng"
        updates = [
            e
            for e in list_audit(session, entity="person", entity_id=org.people["BD04"])
            if e.action == "update"
        ]
    assert len(updates) == 1 and updates[0].detail is not None
    assert updates[0].detail["manager_id"] == [org.people["BD02"], org.people["BD01"]]
    assert updates[0].detail["position"] == ["Chuyên viên", "Phó phòng"]


def test_an_admin_imports_only_within_their_scope(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        grant_role(
            session, actor_id=None, person_id=org.people["BD01"], role="admin", unit_id=org.units["BD"]
        )
    inside = "Mã cán bộ,Họ và tên,Mã đơn vị,Tên đơn vị,Vai trò\nN1,Người Mới,PX,,cán bộ\n"
    with session_scope(db_engine) as session:
        assert import_roster(
            session, data=inside.encode(), filename="a.csv", actor_id=org.people["BD01"]
        ).accepted
    for outside in (
        "Mã cán bộ,Họ và tên,Mã đơn vị\nN2,Người Khác,HK\n",  # a unit outside BD
        "Mã cán bộ,Họ và tên,Mã đơn vị,Vai trò,Phạm vi\nN1,Người Mới,PX,thủ trưởng,TU\n",  # a scope above BD
        "Mã cán bộ,Họ và tên,Mã đơn vị\nHK02,Ngô Văn Khoa,BD\n",  # pulling someone in from HK
    ):
        with pytest.raises(PermissionDenied), session_scope(db_engine) as session:
            import_roster(session, data=outside.encode(), filename="b.csv", actor_id=org.people["BD01"])
    with Session(db_engine) as session:
        khoa = find_person_by_code(session, cadre_code="HK02")
        assert khoa is not None and khoa.unit_code == "HK"
