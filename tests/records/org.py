"""A small sample organisation loaded through the real roster import, shared by the records tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.people import find_person_by_code, find_unit_by_code
from records.roster import import_roster

ROSTER_CSV = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
TU01,Nguyễn Văn Thành,0901000001,Trưởng ban,TU,Thành ủy Hà Nội,,,admin;staff,
BD01,Trần Thị Bình,+84 902 000 002,Bí thư,BD,Quận ủy Ba Đình,TU,,thủ trưởng,
BD02,Lê Văn Cường,84903000003,Trưởng phòng,BD,,,BD01,người nhận xét,
BD03,Phạm Thị Dung,0904.000.004,Chuyên viên,BD,,,BD02,cán bộ,
BD04,Hoàng Văn Em,0905000005,Chuyên viên,BD,,,BD02,cán bộ,
PX01,Vũ Thị Phương,0906000006,Bí thư,PX,Phường Phúc Xá,BD,BD01,thủ trưởng;cán bộ,
PX02,Đỗ Văn Giang,0907000007,Cán bộ,PX,,,PX01,cán bộ,
HK01,Bùi Thị Hà,0908000008,Bí thư,HK,Quận ủy Hoàn Kiếm,TU,,thủ trưởng,
HK02,Ngô Văn Khoa,0909000009,Chuyên viên,HK,,,HK01,cán bộ,
"""

ROSTER_TIME = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Org:
    """Person and unit ids by code."""

    people: dict[str, int]
    units: dict[str, int]


def load_org(engine: Engine) -> Org:
    with session_scope(engine) as session:
        import_roster(session, data=ROSTER_CSV.encode(), filename="roster.csv", now=ROSTER_TIME)
    with Session(engine) as session:
        people = {}
        for line in ROSTER_CSV.splitlines()[1:]:
            code = line.split(",")[0]
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            people[code] = person.id
        units = {}
        for code in ("TU", "BD", "PX", "HK"):
            unit = find_unit_by_code(session, code=code)
            assert unit is not None
            units[code] = unit.id
    return Org(people=people, units=units)
