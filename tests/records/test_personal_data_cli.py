"""`canbo person-data` and `canbo anonymise` on a demo database: files, confirmation, errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main


def test_person_data_and_anonymise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    assert main(["demo-data", "--people", "40", "--months", "2"]) == 0
    capsys.readouterr()

    out_json, out_xlsx = tmp_path / "an.json", tmp_path / "an.xlsx"
    assert main(["person-data", "DEMO-CADRE", "--json", str(out_json), "--xlsx", str(out_xlsx)]) == 0
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["person"]["full_name"] == "Nguyễn Văn An" and data["person"]["phone"] == "0880000001"
    assert len(data["evaluations"]) >= 1
    assert load_workbook(out_xlsx).sheetnames[0] == "Thông tin cá nhân"
    assert "Đã ghi" in capsys.readouterr().out
    assert main(["person-data", "DEMO-CADRE"]) == 0  # JSON on stdout
    assert json.loads(capsys.readouterr().out)["person"]["cadre_code"] == "DEMO-CADRE"

    assert main(["anonymise", "DEMO-CADRE"]) == 2  # needs --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["anonymise", "KHONG-CO", "--yes"]) == 3
    assert "Không có cán bộ mã «KHONG-CO»" in capsys.readouterr().err
    assert main(["anonymise", "DEMO-CADRE", "--yes"]) == 0
    assert "Đã ẩn danh cán bộ (mã mới ANDANH-" in capsys.readouterr().out
    assert main(["person-data", "DEMO-CADRE"]) == 3  # the code is gone
    assert main(["person-data", "DEMO-REVIEWER", "--json", str(tmp_path / "no" / "dir.json")]) == 2
