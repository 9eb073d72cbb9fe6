"""`canbo programmes export-public` end to end on a temp data dir: the workbook of public programmes only, dated
by the workflow clock in the configured zone, and the refusals (unknown unit, unwritable path, no schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from records.db import make_engine, session_scope
from records.people import find_person_by_code
from records.programmes import (
    ItemInput,
    ProgrammeInput,
    close_programme,
    confirm_programme,
    create_programme,
    record_progress,
    submit_programme,
)
from records.schema import Publicity
from tests.records.org import ROSTER_CSV

AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
CLOSED = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # already 01/12/2026 in Hà Nội
ENDED = "Phó Trưởng ban Tổ chức Quận ủy"  # BD03, public, its term ended (closed)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CANBO_NOW", "2026-12-06T23:30:00+00:00")  # already 07/12/2026 in Hà Nội
    monkeypatch.delenv("CANBO_NOW_FILE", raising=False)
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    monkeypatch.delenv("CANBO_RULES_FILE", raising=False)
    monkeypatch.delenv("CANBO_TIMEZONE", raising=False)
    roster = tmp_path / "danh-sach.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    assert main(["db", "upgrade"]) == 0
    assert main(["roster", "import", str(roster)]) == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'canbo.db'}")
    try:
        for code, post, publicity in (
            ("PX02", "Phó Bí thư Phường Phúc Xá", Publicity.PUBLIC),
            ("PX02", "Bí thư chi bộ khu dân cư số 2", Publicity.PARTY_CELL),
            ("BD04", "Tổ trưởng tổ công tác số hóa", Publicity.INTERNAL),
        ):
            _confirmed(engine, code, post, publicity)
        _confirmed(engine, "BD03", ENDED, Publicity.PUBLIC, closed=CLOSED)
    finally:
        engine.dispose()
    capsys.readouterr()
    return tmp_path


def _confirmed(  # type: ignore[no-untyped-def]
    engine, code: str, post: str, publicity: Publicity, *, closed: datetime | None = None
) -> None:
    with session_scope(engine) as session:
        owner = find_person_by_code(session, cadre_code=code)
        head = find_person_by_code(session, cadre_code="PX01" if code.startswith("PX") else "BD01")
        assert owner is not None and head is not None
        view = create_programme(
            session,
            actor_id=owner.id,
            person_id=owner.id,
            data=ProgrammeInput(
                post=post,
                term_start=date(2026, 10, 1),
                term_end=date(2029, 9, 30),
                publicity=publicity,
                items=(
                    ItemInput(
                        commitment=f"Cam kết {post}", target="90% hồ sơ số hóa", deadline=date(2027, 6, 30)
                    ),
                ),
            ),
            now=AT,
        )
        submit_programme(session, actor_id=owner.id, programme_id=view.id, now=AT)
        confirm_programme(session, actor_id=head.id, programme_id=view.id, now=AT)
        record_progress(
            session, actor_id=owner.id, item_id=view.items[0].id, percent=40, note="đang làm", now=AT
        )
        if closed is not None:
            close_programme(
                session, actor_id=owner.id, programme_id=view.id, closing_assessment="Đã xong", now=closed
            )


def test_the_public_programmes_of_a_district_are_written_to_a_workbook(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_dir / "ct-BD.xlsx"
    assert main(["programmes", "export-public", "--unit", "bd", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "Chương trình hành động công khai đang thực hiện của Quận ủy Ba Đình (BD) và các đơn vị trực thuộc: "
        "1 chương trình, 1 cam kết." in printed
    )
    assert (
        "Không gồm 1 chương trình đã kết thúc nhiệm kỳ; muốn có cả các chương trình đó, chạy lại với "
        "--include-ended." in printed
    )
    assert f"Đã ghi {out}" in printed
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "Chương trình hành động công khai — Quận ủy Ba Đình — lập ngày 07/12/2026"
    body = rows[5:]
    assert len(body) == 1
    assert body[0][1:4] == ("Đỗ Văn Giang", "Phó Bí thư Phường Phúc Xá", "Phường Phúc Xá (PX)")
    assert body[0][9:] == (40, datetime(2026, 11, 3), "đang làm")
    texts = " ".join(str(c) for r in rows for c in r if c is not None)
    assert "chi bộ khu dân cư" not in texts and "Tổ trưởng tổ công tác" not in texts
    assert ENDED not in texts
    assert str(rows[3][0]).startswith("Không gồm 1 chương trình đã kết thúc nhiệm kỳ.")
    assert "--unit BD --include-ended" in str(rows[3][0])


def test_include_ended_adds_the_ended_programmes_with_their_state_and_end_day(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_dir / "ct-BD-tat-ca.xlsx"
    assert main(["programmes", "export-public", "--unit", "BD", "--include-ended", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "Chương trình hành động công khai của Quận ủy Ba Đình (BD) và các đơn vị trực thuộc: "
        "2 chương trình, 2 cam kết." in printed
    )
    assert "Không gồm" not in printed
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert rows[2][0] == "Số chương trình: 2 (đang thực hiện: 1; đã kết thúc nhiệm kỳ: 1); số cam kết: 2."
    assert rows[4][5:7] == ("Trạng thái", "Ngày kết thúc")
    assert [(r[2], r[5], r[6]) for r in rows[5:]] == [
        (ENDED, "Đã kết thúc nhiệm kỳ", datetime(2026, 12, 1)),
        ("Phó Bí thư Phường Phúc Xá", "Đang thực hiện", None),
    ]


def test_an_unknown_unit_and_an_unwritable_path_are_refused_in_vietnamese(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_dir / "x.xlsx"
    assert main(["programmes", "export-public", "--unit", "XY", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "Không có đơn vị mã «XY»" in err and not out.exists()
    missing = data_dir / "khong-co" / "ct.xlsx"
    assert main(["programmes", "export-public", "--unit", "BD", "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"Không ghi được tệp {missing}" in err and "Kiểm tra thư mục và quyền ghi." in err
    with pytest.raises(SystemExit) as usage:  # --out is required
        main(["programmes", "export-public", "--unit", "BD"])
    assert usage.value.code == 2


def test_a_database_not_upgraded_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    assert main(["programmes", "export-public", "--unit", "BD", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "canbo db upgrade" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
