"""`canbo rotation start` end to end on a temp data dir: the record, its audit entry, scope and every refusal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.cli import main
from records.audit import list_audit
from records.db import make_engine
from records.people import find_person_by_code
from records.rotations import list_rotations
from tests.records.org import ROSTER_CSV


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CANBO_NOW", "2026-11-01T09:00:00+07:00")  # the workflow clock: the day of recording
    monkeypatch.delenv("CANBO_NOW_FILE", raising=False)
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    monkeypatch.delenv("CANBO_RULES_FILE", raising=False)
    roster = tmp_path / "danh-sach.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    assert main(["db", "upgrade"]) == 0
    assert main(["roster", "import", str(roster)]) == 0
    capsys.readouterr()
    return tmp_path


def _rotations(data_dir: Path, code: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{data_dir / 'data' / 'canbo.db'}")
    try:
        with Session(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            rows = list_rotations(session, actor_id=None, person_id=person.id)
            audit = [list_audit(session, entity="rotation", entity_id=r.id) for r in rows]
            return person, rows, audit
    finally:
        engine.dispose()


START = ["rotation", "start", "--cadre", "BD04", "--to-unit", "HK", "--post", "Phó Trưởng ban"]


def test_staff_records_a_rotation_with_its_term_reviews_and_audit(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*START, "--start", "01/11/2026", "--by", "TU01"]) == 0
    out = capsys.readouterr().out
    assert (
        "Đã ghi nhận luân chuyển Hoàng Văn Em (BD04): Quận ủy Ba Đình (BD) → Quận ủy Hoàn Kiếm (HK), "
        "chức vụ «Phó Trưởng ban», từ 01/11/2026 đến 01/11/2029 (36 tháng)." in out
    )
    assert "Kỳ đánh giá tiếp theo: 01/05/2027 (định kỳ 6 tháng)." in out
    person, [rotation], [audit] = _rotations(data_dir, "BD04")
    staff, _, _ = _rotations(data_dir, "TU01")
    assert (person.unit_code, person.position) == ("HK", "Phó Trưởng ban")
    assert rotation.decided_by_id == staff.id and rotation.planned_end == date(2029, 11, 1)
    assert len(rotation.reviews) == 6
    assert [(a.action, a.actor_id) for a in audit] == [("create", staff.id)]
    # A second rotation of the same person while this one runs is refused, saying why.
    assert (
        main(
            [
                "rotation",
                "start",
                "--cadre",
                "BD04",
                "--to-unit",
                "BD",
                "--post",
                "x",
                "--start",
                "01/12/2026",
            ]
        )
        == 2
    )
    assert (
        "Chưa ghi nhận luân chuyển: Hoàng Văn Em đang trong một đợt luân chuyển chưa kết thúc "
        "(bắt đầu ngày 01/11/2026)" in capsys.readouterr().err
    )


def test_a_longer_term_and_the_committee_without_a_recorder(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*START, "--start", "1/11/2026", "--months", "48"]) == 0
    assert "từ 01/11/2026 đến 01/11/2030 (48 tháng)" in capsys.readouterr().out
    _, [rotation], [audit] = _rotations(data_dir, "BD04")
    assert rotation.decided_by_id is None and [a.actor_id for a in audit] == [None]


def test_staff_only_within_their_unit_subtree(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roles", "grant", "HK02", "staff", "HK"]) == 0
    capsys.readouterr()
    assert main([*START, "--start", "01/11/2026", "--by", "HK02"]) == 2  # BD04 leaves BD: outside HK
    assert (
        "Chưa ghi nhận luân chuyển: chỉ chuyên viên Ban Tổ chức hoặc quản trị viên có phạm vi gồm cả "
        "đơn vị đi (BD) và đơn vị đến (HK) mới ghi nhận được luân chuyển." in capsys.readouterr().err
    )
    assert main([*START, "--start", "01/11/2026", "--by", "BD01"]) == 2  # a head is not the committee
    assert "chỉ chuyên viên Ban Tổ chức" in capsys.readouterr().err
    _, rows, _ = _rotations(data_dir, "BD04")
    assert rows == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cadre", "ZZ99", "--to-unit", "HK", "--start", "01/11/2026"], "Không có cán bộ mã «ZZ99»"),
        (["--cadre", "BD04", "--to-unit", "QQ", "--start", "01/11/2026"], "Không có đơn vị mã «QQ»"),
        (
            ["--cadre", "BD04", "--to-unit", "HK", "--start", "01/11/2026", "--by", "XX"],
            "Không có cán bộ mã «XX» (--by",
        ),
        (
            ["--cadre", "BD04", "--to-unit", "HK", "--start", "31/02/2026"],
            "Ngày bắt đầu «31/02/2026» không hợp lệ: dùng dạng NGÀY/THÁNG/NĂM, ví dụ 05/11/2023.",
        ),
        (
            ["--cadre", "BD04", "--to-unit", "HK", "--start", "2026-11-01"],
            "Ngày bắt đầu «2026-11-01» không hợp lệ",
        ),
        (
            ["--cadre", "BD04", "--to-unit", "HK", "--start", "01/11/2026", "--months", "12"],
            "Chưa ghi nhận luân chuyển: một đợt luân chuyển kéo dài ít nhất 36 tháng "
            "(kết thúc sớm nhất ngày 01/11/2029).",
        ),
        (
            ["--cadre", "BD04", "--to-unit", "HK", "--start", "01/11/2026", "--months", "0"],
            "Số tháng luân chuyển phải từ 1 đến 120",
        ),
        (
            ["--cadre", "BD04", "--to-unit", "BD", "--start", "01/11/2026"],
            "Chưa ghi nhận luân chuyển: đơn vị đến «BD» là đơn vị hiện tại của cán bộ",
        ),
    ],
)
def test_unknown_codes_and_bad_input_are_refused_in_vietnamese(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["rotation", "start", "--post", "Phó Trưởng ban", *args]) == 2
    assert message in capsys.readouterr().err
    _, rows, _ = _rotations(data_dir, "BD04")
    assert rows == []


def test_an_empty_post_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "rotation",
                "start",
                "--cadre",
                "BD04",
                "--to-unit",
                "HK",
                "--post",
                "  ",
                "--start",
                "01/11/2026",
            ]
        )
        == 2
    )
    assert "Chức vụ ở đơn vị đến không được để trống" in capsys.readouterr().err


def test_a_back_dated_rotation_leaves_the_past_reviews_out_of_the_work(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Started 05/11/2023, recorded 01/11/2026: only the final review (05/11/2026) is due, once."""
    args = ["rotation", "start", "--cadre", "HK02", "--to-unit", "BD", "--post", "Phó Trưởng ban"]
    assert main([*args, "--start", "05/11/2023", "--by", "TU01"]) == 0
    out = capsys.readouterr().out
    assert (
        "5 kỳ đánh giá đến hạn trước ngày ghi nhận 01/11/2026 (từ 05/05/2024 đến 05/05/2026) được ghi là "
        "không phải làm trên hệ thống: không nhắc, không tính là quá hạn." in out
    )
    assert "Kỳ đánh giá tiếp theo: 05/11/2026 (kết thúc luân chuyển)." in out
    assert main(["due", "--date", "2026-11-01"]) == 0
    rotation_lines = [line for line in capsys.readouterr().out.splitlines() if "luân chuyển" in line]
    assert rotation_lines == [
        "  05/11/2026 (còn 4 ngày) Ngô Văn Khoa: tự kiểm điểm luân chuyển — Ngô Văn Khoa"
    ]
