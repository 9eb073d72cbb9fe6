"""After an upgrade, documents indexed by an older structure version: `canbo docs`, `canbo health` and the
admin's /vanban name the one to load again and say why and how; loading the same file again (`canbo ingest`
or an upload to the bot) replaces it. The index is the sample corpus plus a decision issuing two texts, all
rewritten as the code before per-chunk attachment labels wrote it (tests/retrieval/old_index.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_ID, CADRE_ID, QUIET_CLOCK, REPO_ROOT, BotWorld, fresh_data_dir, sign_in
from tests.fakes.telegram import BotProcess, FakeTelegram
from tests.retrieval.old_index import chunk_count, write_as_version_1
from tests.retrieval.test_attached_citations import ISSUED_WITH, QUESTION, TWO_ATTACHED

pytestmark = pytest.mark.slow

NAME = "hai-van-ban.txt"
LABEL = "77/QĐ-UBND (QUYẾT ĐỊNH Ban hành Quy định và Hướng dẫn về công chức)"
WHY = "nếu quyết định ban hành nhiều văn bản, trích dẫn có thể ghi nhầm tên văn bản kèm theo"
RIGHT = "Theo Điều 4 Hướng dẫn chấm điểm công chức hằng quý " + ISSUED_WITH


def canbo(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
    env.update(CANBO_DATA_DIR=str(data_dir), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def old_data(tmp_path_factory: pytest.TempPathFactory, sample_data_template: Path) -> Path:
    """The data directory of an older version: samples and the two-text decision, index in the old format."""
    data_dir = fresh_data_dir(sample_data_template, tmp_path_factory.mktemp("stale") / "data")
    source = data_dir.parent / NAME
    source.write_text(TWO_ATTACHED, encoding="utf-8")
    loaded = canbo(data_dir, "ingest", str(source))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    write_as_version_1(data_dir / "index")
    return data_dir


def test_docs_and_health_name_the_document_to_load_again_and_ingest_replaces_it(
    old_data: Path, tmp_path: Path
) -> None:

    data_dir = Path(shutil.copytree(old_data, tmp_path / "data"))
    # Before any engine of this version opened the index (read from the chunks), then after (the registry).
    health = canbo(data_dir, "health")
    assert health.returncode == 0, health.stdout  # a warning: the bot still answers
    assert "Cơ sở dữ liệu: tốt" in health.stdout
    assert "Cần nạp lại 3 văn bản" in health.stdout and f"⚠ {LABEL} — tệp «{NAME}»" in health.stdout
    docs = canbo(data_dir, "docs")
    assert docs.returncode == 0, docs.stderr
    warnings = {line.split(" ", 2)[1]: line for line in docs.stdout.splitlines() if line.startswith("⚠")}
    # Every document with attached texts (which ones issue several is not stored); the other samples are
    # exact as stored and only stamped.
    assert sorted(warnings) == ["1841-QĐ/TU", "3814-QĐ/TU", "77/QĐ-UBND"], docs.stdout
    mine = warnings["77/QĐ-UBND"]
    assert mine.startswith(f"⚠ {LABEL} — tệp «{NAME}»: được nạp bằng phiên bản cũ") and WHY in mine
    assert "Nạp lại đúng tệp đó: canbo ingest TỆP" in mine and "không bị nhân đôi" in mine
    assert "(văn bản mẫu)" in warnings["1841-QĐ/TU"] and "canbo ingest --samples" in warnings["1841-QĐ/TU"]
    assert "Cần nạp lại 3 văn bản" in docs.stdout

    assert canbo(data_dir, "health").stdout == health.stdout
    samples = canbo(data_dir, "ingest", "--samples")
    assert samples.returncode == 0 and "2 cập nhật" in samples.stdout, samples.stdout

    chunks = chunk_count(data_dir / "index")
    again = canbo(data_dir, "ingest", str(old_data.parent / NAME))
    assert again.returncode == 0 and f"✓ {NAME}: " in again.stdout, again.stdout
    assert "1 cập nhật" in again.stdout
    assert chunk_count(data_dir / "index") == chunks  # replaced, not added beside
    after = canbo(data_dir, "docs")
    assert "⚠" not in after.stdout and "Cần nạp lại" not in after.stdout
    assert sum(1 for line in after.stdout.splitlines() if line.startswith("77/QĐ-UBND")) == 1
    healthy = canbo(data_dir, "health")
    assert healthy.returncode == 0 and "Cần nạp lại" not in healthy.stdout
    answer = canbo(data_dir, "ask", QUESTION)
    assert answer.stdout.startswith(RIGHT), answer.stdout


@pytest.fixture(scope="module")
def stale_world(old_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotWorld]:

    data_dir = Path(shutil.copytree(old_data, tmp_path_factory.mktemp("stale-bot") / "data"))
    with FakeTelegram() as telegram:
        telegram.world.add_user(ADMIN_ID, "Quản Trị", phone_number="+84901000001")
        telegram.world.add_user(CADRE_ID, "Cán", phone_number="+84901000003")
        world = BotWorld(
            telegram=telegram,
            bot=BotProcess(telegram, data_dir, env=QUIET_CLOCK).start(timeout=120),
            data_dir=data_dir,
        )
        try:
            yield world
        finally:
            world.bot.stop()


def test_the_admin_document_list_names_it_and_an_upload_of_the_same_file_replaces_it(
    stale_world: BotWorld, old_data: Path
) -> None:
    world = stale_world.telegram.world
    sign_in(stale_world, ADMIN_ID)
    sign_in(stale_world, CADRE_ID)
    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = stale_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    assert "Cần nạp lại 3 văn bản" in listing.body, listing.body
    assert f"{LABEL} — tệp «{NAME}»" in listing.body and WHY in listing.body
    assert "Gửi lại đúng tệp đó cho bot" in listing.body
    sent = world.send_text(CADRE_ID, "/vanban")
    cadre = stale_world.telegram.wait_for_text(CADRE_ID, "Văn bản đã nạp", after=sent.message_id)
    assert "Cần nạp lại" not in cadre.body  # the operator's task, not the reader's

    sent = world.upload_document(
        ADMIN_ID, (old_data.parent / NAME).read_bytes(), NAME, mime_type="text/plain"
    )
    done = stale_world.telegram.wait_for(
        ADMIN_ID, lambda m: "Đã cập nhật văn bản" in m.body, after=sent.message_id, timeout=60
    )
    assert "77/QĐ-UBND" in done.body

    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = stale_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    assert "Cần nạp lại 2 văn bản" in listing.body  # the samples, until `canbo ingest --samples`
    assert f"tệp «{NAME}»" not in listing.body and "canbo ingest --samples" in listing.body
    assert listing.body.count("77/QĐ-UBND") == 1
    sent = world.send_text(CADRE_ID, QUESTION)
    answer = stale_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "Hướng dẫn chấm điểm công chức hằng quý" in answer.body, answer.body
