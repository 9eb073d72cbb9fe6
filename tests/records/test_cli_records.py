"""The records subcommands end to end on a temp data dir: output, errors and exit codes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from bot.cli import main
from records.db import make_engine
from records.export_xlsx import SUMMARY_SHEET
from records.rules import DEFAULT_RULES_PATH
from records.schema import AuditEntry, InviteCode
from tests.records.org import ROSTER_CSV


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    monkeypatch.delenv("CANBO_RULES_FILE", raising=False)
    return tmp_path


def test_upgrade_import_invite_roles_due(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = data_dir / "danh-sach.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    assert main(["roster", "import", str(roster)]) == 2  # not upgraded yet
    assert "canbo db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert "phiên bản" in capsys.readouterr().out
    assert main(["roster", "import", str(roster)]) == 0
    assert "thêm 9" in capsys.readouterr().out
    assert main(["roster", "import", str(roster)]) == 0  # idempotent
    assert "thêm 0, cập nhật 0, không đổi 9" in capsys.readouterr().out

    assert main(["invite", "BD03", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "Phạm Thị Dung" in out and out.count("-") >= 1
    assert main(["invite", "NOPE"]) == 2
    assert "Không có cán bộ mã «NOPE»" in capsys.readouterr().err
    assert main(["invite", "BD03", "--days", "0"]) == 2

    assert main(["roles", "grant", "BD03", "reviewer", "BD"]) == 0
    assert main(["roles", "list", "BD03"]) == 0
    assert "reviewer — phạm vi BD" in capsys.readouterr().out
    assert main(["roles", "revoke", "BD03", "reviewer", "BD"]) == 0
    assert "Đã thu hồi 1" in capsys.readouterr().out
    assert main(["roles", "grant", "BD03", "reviewer", "ZZ"]) == 2
    assert "Không có đơn vị mã «ZZ»" in capsys.readouterr().err

    assert main(["due", "--date", "2030-01-02"]) == 0
    assert "đăng ký kế hoạch công tác" in capsys.readouterr().out
    assert main(["due", "--date", "02/01/2030"]) == 2
    assert "NĂM-THÁNG-NGÀY" in capsys.readouterr().err


def test_rejected_roster_prints_rows_and_fails(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    bad = data_dir / "loi.csv"
    bad.write_text("Mã cán bộ,Họ và tên,Mã đơn vị,Số điện thoại\nA,,U,123\n", encoding="utf-8")
    assert main(["roster", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert (
        "chưa nhập dòng nào" in err and "Dòng 2" in err and "«Họ và tên» để trống" in err and "«123»" in err
    )
    assert main(["roster", "import", str(data_dir / "missing.csv")]) == 2
    assert "Không đọc được tệp" in capsys.readouterr().err


def test_rules_check(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check"]) == 0
    assert "Hà Nội" in capsys.readouterr().out
    broken = data_dir / "r.toml"
    broken.write_text('name = "x"\nperiod = "week"\n', encoding="utf-8")
    assert main(["rules", "check", str(broken)]) == 2
    assert "period" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            'max_share = 0.30\nrounding = "len"',
            "r.toml: mục «rounding» của khối [[quotas]] thứ 1 phải là một trong các giá trị 'down', 'nearest' "
            "hoặc 'up' (đang là «len»).",
        ),
        (
            "max_share = 0.30\nat_least = -1",
            "mục «at_least» của khối [[quotas]] thứ 1 phải lớn hơn hoặc bằng 0",
        ),
        (
            'max_share = 0.30\nrouding = "up"',
            "mục «rouding» của khối [[quotas]] thứ 1 không phải mục được biết",
        ),
        ('period = "month"', None),  # unchanged: valid
    ],
)
def test_a_bad_quota_setting_is_named_in_vietnamese(
    data_dir: Path, capsys: pytest.CaptureFixture[str], change: str, said: str | None
) -> None:
    """The quota rounding settings (#11) typed wrong: which entry, what it must be, what it holds — in
    Vietnamese, not pydantic's English."""
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    key = change.split("\n")[0]
    assert key in text
    broken = data_dir / "r.toml"
    broken.write_text(text.replace(key, change, 1), encoding="utf-8")
    if said is None:
        assert main(["rules", "check", str(broken)]) == 0
        return
    assert main(["rules", "check", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Tệp quy tắc đánh giá không hợp lệ: ") and said in err
    assert "Input should" not in err and "Extra inputs" not in err
    assert "canbo rules check TỆP" in err


def test_an_unreadable_or_malformed_rules_file_is_said_in_vietnamese(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "check", str(data_dir / "khong-co.toml")]) == 2
    assert "khong-co.toml (không có tệp này)." in capsys.readouterr().err
    broken = data_dir / "r.toml"
    broken.write_text("name = [x", encoding="utf-8")
    assert main(["rules", "check", str(broken)]) == 2
    assert "tệp r.toml sai cú pháp TOML (ở dòng 1, cột 9)" in capsys.readouterr().err


def test_invite_expiry_and_due_day_are_in_the_configured_zone(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["db", "upgrade"]) == 0
    # With no --date, «today» is the day in CANBO_TIMEZONE, not the machine's: one of two zones 25 hours apart
    # is always on another day than the machine.
    zone = next(
        z
        for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
        if datetime.now(ZoneInfo(z)).date() != date.today()
    )
    monkeypatch.setenv("CANBO_TIMEZONE", zone)
    capsys.readouterr()
    assert main(["due"]) == 0  # nobody on the roster yet: the message names the day
    assert capsys.readouterr().out.strip() == (
        f"Không còn việc nào đến hạn vào ngày {datetime.now(ZoneInfo(zone)).date().isoformat()}."
    )

    monkeypatch.setenv("CANBO_TIMEZONE", "Asia/Ho_Chi_Minh")
    roster = data_dir / "danh-sach.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    assert main(["roster", "import", str(roster)]) == 0
    capsys.readouterr()
    assert main(["invite", "BD03", "--days", "3"]) == 0
    out = capsys.readouterr().out
    engine = make_engine(f"sqlite:///{data_dir / 'data' / 'canbo.db'}")
    try:
        with Session(engine) as session:
            expires = session.exec(select(InviteCode.expires_at)).one()
    finally:
        engine.dispose()
    hanoi = expires.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert f"Hết hạn lúc {hanoi:%H:%M} ngày {hanoi:%d/%m/%Y}." in out
    assert "UTC" not in out


def test_settings_left_empty_in_the_env_file_mean_the_defaults(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CANBO_RULES_FILE", "CANBO_DATABASE_URL", "CANBO_CHROMA_URL", "CANBO_HEALTH_PORT"):
        monkeypatch.setenv(name, "")  # as in a copied .env.example with the optional lines left blank
    assert main(["db", "upgrade"]) == 0
    assert (data_dir / "data" / "canbo.db").exists()  # the default SQLite file, not a URL ""
    capsys.readouterr()
    assert main(["due", "--date", "2030-01-02"]) == 0  # the default Hà Nội rules, not the directory ""
    assert "ngày 2030-01-02" in capsys.readouterr().out


def test_invite_expires_on_the_workflow_clock(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`canbo invite` counts the lifetime from the bot's clock (CANBO_NOW, else the CANBO_NOW_FILE), not the machine's
    time, so the bot that checks the code on sign-in agrees; the expiry is printed in CANBO_TIMEZONE."""
    monkeypatch.setenv("CANBO_TIMEZONE", "Asia/Ho_Chi_Minh")
    monkeypatch.delenv("CANBO_NOW_FILE", raising=False)
    # Late evening in Hà Nội, still afternoon in UTC.
    monkeypatch.setenv("CANBO_NOW", "2026-11-30T23:30:00+07:00")
    assert main(["db", "upgrade"]) == 0
    roster = data_dir / "danh-sach.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    assert main(["roster", "import", str(roster)]) == 0
    capsys.readouterr()

    assert main(["invite", "BD03", "--days", "3"]) == 0
    assert "Hết hạn lúc 23:30 ngày 03/12/2026." in capsys.readouterr().out

    clock = data_dir / "now.txt"
    clock.write_text("2027-01-10T08:15:00+00:00\n", encoding="utf-8")
    monkeypatch.delenv("CANBO_NOW")
    monkeypatch.setenv("CANBO_NOW_FILE", str(clock))
    assert main(["invite", "BD03", "--days", "1"]) == 0
    assert "Hết hạn lúc 15:15 ngày 11/01/2027." in capsys.readouterr().out

    engine = make_engine(f"sqlite:///{data_dir / 'data' / 'canbo.db'}")
    try:
        with Session(engine) as session:
            rows = session.exec(select(InviteCode.created_at, InviteCode.expires_at)).all()
    finally:
        engine.dispose()
    utc = ZoneInfo("UTC")
    stored = sorted((c.replace(tzinfo=c.tzinfo or utc), e.replace(tzinfo=e.tzinfo or utc)) for c, e in rows)
    assert stored == [
        (datetime(2026, 11, 30, 16, 30, tzinfo=utc), datetime(2026, 12, 3, 16, 30, tzinfo=utc)),
        (datetime(2027, 1, 10, 8, 15, tzinfo=utc), datetime(2027, 1, 11, 8, 15, tzinfo=utc)),
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_db_url(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database the commands use: the data directory's SQLite file, or a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{data_dir / 'data' / 'canbo.db'}"
    url: str = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("CANBO_DATABASE_URL", url)
    return url


def test_due_report_and_personal_data_follow_the_workflow_clock(
    data_dir: Path, cli_db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`canbo due`'s «today», `canbo report`'s «Lập lúc», `canbo person-data`'s export time and `canbo
    anonymise`'s stamp come from the bot's clock (CANBO_NOW), as `canbo invite`'s expiry and every bot
    workflow do, not from the machine's (#11). 06:30 on 1 November in Hà Nội is still 31 October in UTC, and
    weeks before the machine's clock."""
    monkeypatch.setenv("CANBO_TIMEZONE", "Asia/Ho_Chi_Minh")
    monkeypatch.delenv("CANBO_NOW_FILE", raising=False)
    monkeypatch.setenv("CANBO_NOW", "2026-11-01T06:30:00+07:00")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["due"]) == 0  # nobody on the roster yet: the message names the day
    assert capsys.readouterr().out.strip() == "Không còn việc nào đến hạn vào ngày 2026-11-01."

    assert main(["demo-data", "--people", "20", "--months", "1"]) == 0
    out = capsys.readouterr().out
    period = next(line for line in out.splitlines() if line.startswith("Các kỳ đánh giá"))
    period = period.rstrip(".").split()[-1]
    xlsx = data_dir / "bao-cao.xlsx"
    assert main(["report", "--period", period, "--xlsx", str(xlsx)]) == 0
    assert load_workbook(xlsx)[SUMMARY_SHEET]["A3"].value == "Lập lúc: 01/11/2026 06:30"

    out_json = data_dir / "an.json"
    assert main(["person-data", "DEMO-CADRE", "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text(encoding="utf-8"))["generated_at"] == "2026-11-01T06:30:00+07:00"
    assert main(["anonymise", "DEMO-CADRE", "--yes"]) == 0
    engine = make_engine(cli_db_url)
    try:
        with Session(engine) as session:
            stamps = session.exec(
                select(AuditEntry.action, AuditEntry.at).where(
                    col(AuditEntry.action).in_(["export_personal_data", "anonymise"])
                )
            ).all()
    finally:
        engine.dispose()
    utc = ZoneInfo("UTC")
    assert sorted((a, at.replace(tzinfo=at.tzinfo or utc)) for a, at in stamps) == [
        ("anonymise", datetime(2026, 10, 31, 23, 30, tzinfo=utc)),
        ("export_personal_data", datetime(2026, 10, 31, 23, 30, tzinfo=utc)),
    ]
