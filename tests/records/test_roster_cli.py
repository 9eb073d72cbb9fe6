"""`canbo roster import` previews what a full roster takes away and applies it only with --yes; Vietnamese help."""

from __future__ import annotations

import argparse
import io
import logging
from pathlib import Path

import pytest
from sqlmodel import Session, select
from tqdm import tqdm

from bot.cli import TqdmAwareHandler, build_parser, main
from records.db import make_engine
from records.schema import Person
from tests.records.org import ROSTER_CSV

WITHOUT_EM = "\n".join(line for line in ROSTER_CSV.splitlines() if not line.startswith("BD04,")) + "\n"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANBO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    return tmp_path


def _active(data_dir: Path) -> dict[str, bool]:
    engine = make_engine(f"sqlite:///{data_dir / 'data' / 'canbo.db'}")
    try:
        with Session(engine) as session:
            return {p.cadre_code: p.active for p in session.exec(select(Person)).all()}
    finally:
        engine.dispose()


def test_preview_needs_yes_and_bo_sung_only_adds(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full, partial, extra = data_dir / "du.csv", data_dir / "thieu.csv", data_dir / "bo-sung.csv"
    full.write_text(ROSTER_CSV, encoding="utf-8")
    partial.write_text(WITHOUT_EM, encoding="utf-8")
    extra.write_text("Mã cán bộ,Họ và tên,Mã đơn vị,Vai trò\nBD09,Người Mới,BD,cán bộ\n", encoding="utf-8")
    assert main(["db", "upgrade"]) == 0 and main(["roster", "import", str(full)]) == 0
    capsys.readouterr()

    assert main(["roster", "import", str(partial)]) == 3
    out = capsys.readouterr().out
    assert "XEM TRƯỚC" in out and "Ngừng kích hoạt 1 người" in out and "Hoàng Văn Em (BD04)" in out
    assert "--yes" in out and _active(data_dir)["BD04"]

    assert main(["roster", "import", str(extra), "--bo-sung"]) == 0
    assert "thêm 1" in capsys.readouterr().out
    assert all(_active(data_dir).values())

    assert main(["roster", "import", str(partial), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Đã nhập danh sách" in out and "Hoàng Văn Em (BD04)" in out
    active = _active(data_dir)
    assert not active["BD04"] and not active["BD09"] and active["BD03"]  # BD09 was not in the full file

    assert main(["roster", "import", str(full)]) == 0  # BD04 back: nothing taken away, applied at once
    assert "Kích hoạt lại 1 người" in capsys.readouterr().out and _active(data_dir)["BD04"]


def test_removing_the_last_admin_is_refused_with_a_hint(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full, no_admin = data_dir / "du.csv", data_dir / "khong-quan-tri.csv"
    full.write_text(ROSTER_CSV, encoding="utf-8")
    no_admin.write_text(ROSTER_CSV.replace("admin;staff", "staff"), encoding="utf-8")
    assert main(["db", "upgrade"]) == 0 and main(["roster", "import", str(full)]) == 0
    capsys.readouterr()
    assert main(["roster", "import", str(no_admin), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "Dòng 2" in err and "quản trị viên cuối cùng" in err and "--bo-sung" in err


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
OTHERS: set[str] = set()


def test_every_help_line_is_vietnamese() -> None:
    for prog, parser in _parsers(build_parser()):
        if set(prog.split()) & OTHERS:
            continue
        assert parser._optionals.title == "tùy chọn" and parser._positionals.title == "tham số", prog
        for action in parser._actions:
            if action.help and action.help != argparse.SUPPRESS:
                assert VIETNAMESE & set(action.help.lower()), (prog, action.help)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if choice.dest not in OTHERS:
                        assert VIETNAMESE & set((choice.help or "").lower()), (prog, choice.dest)
        if parser.description:
            assert VIETNAMESE & set(parser.description.lower()), prog


def test_log_lines_do_not_land_inside_a_progress_bar() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.progress")
    handler = TqdmAwareHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with tqdm(total=3, file=stream, desc="Đang nạp", ncols=60, mininterval=0) as bar:
            bar.update(1)
            logger.warning("đã nạp %s tệp", 1)
            bar.update(1)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    # tqdm clears the bar, writes the line on its own, then redraws the bar below it.
    assert "\nWARNING đã nạp 1 tệp\n" in text or "\rWARNING đã nạp 1 tệp\n" in text
    before, _, after = text.partition("WARNING đã nạp 1 tệp")
    assert "Đang nạp" in before and "Đang nạp" in after
