"""`canbo demo-data` and `canbo report` end to end on a temp data dir: output, files, errors, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main


def test_demo_data_then_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    monkeypatch.delenv("CANBO_RULES_FILE", raising=False)
    assert main(["demo-data", "--people", "120", "--seed", "11", "--months", "2"]) == 0
    out = capsys.readouterr().out
    assert "DEMO-STAFF" in out and "0880000004" in out
    assert re.search(r"trong \d+(,\d)? giây", out), out.splitlines()[0]  # «3,2 giây», not «3.2 giây»
    assert main(["demo-data", "--people", "120"]) == 2  # the database is no longer empty
    assert "dữ liệu mẫu chỉ tạo vào cơ sở dữ liệu trống" in capsys.readouterr().err

    periods = [line for line in out.splitlines() if line.startswith("Các kỳ đánh giá")]
    last = periods[0].rstrip(".").split("… ")[-1]
    xlsx, png = tmp_path / "bao-cao.xlsx", tmp_path / "bieu-do.png"
    assert main(["report", "--period", last, "--xlsx", str(xlsx), "--png", str(png), "--year"]) == 0
    out = capsys.readouterr().out
    assert f"TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ {last}" in out
    assert "Số người phải đánh giá: 120" in out
    wb = load_workbook(xlsx)
    assert wb.sheetnames[0] == "Tổng hợp" and wb.sheetnames[-1].startswith("Cả năm")
    people_rows = sum(ws.max_row - 2 for ws in wb.worksheets[1:-1])
    assert people_rows == 120
    assert png.read_bytes().startswith(b"\x89PNG")

    assert main(["report", "--period", last, "--unit", "BTC"]) == 0
    assert "Đơn vị: Ban Tổ chức Thành ủy (BTC)" in capsys.readouterr().out
    assert main(["report", "--period", "2026-13"]) == 2
    assert "NĂM-THÁNG" in capsys.readouterr().err
    assert main(["report", "--period", last, "--unit", "KHONG-CO"]) == 3
    assert "Không có đơn vị mã «KHONG-CO»" in capsys.readouterr().err
    assert main(["report", "--period", "2026-Q1"]) == 2
    assert main(["report", "--period", last, "--xlsx", str(tmp_path / "no" / "such" / "dir.xlsx")]) == 2
    assert "Không ghi được tệp" in capsys.readouterr().err
    assert main(["demo-data", "--people", "3"]) == 2


def test_report_on_a_database_never_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    assert main(["report", "--period", "2026-10", "--unit", "X"]) == 4
    assert "canbo db upgrade" in capsys.readouterr().err
