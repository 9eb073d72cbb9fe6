"""Server mode: the same engine against a real `chroma run` subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval import make_engine
from retrieval.embedding import Embedder
from retrieval.errors import IndexUnavailable
from tests.retrieval.corpus import monthly_evaluation, rotation_65, rotation_98


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("chroma server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_server_mode_ingests_answers_and_keeps_the_registry(
    chroma_url: str, tmp_path: Path, e5: Embedder
) -> None:
    engine = make_engine(index_dir=tmp_path, chroma_url=chroma_url, embedder=e5)
    outcomes = engine.ingest_documents([rotation_98(), rotation_65(), monthly_evaluation()])
    assert [o.status for o in outcomes] == ["added"] * 3
    answer = engine.ask("thoi gian luan chuyen can bo it nhat bao lau")
    assert answer.found and answer.citations[0].doc_number == "65-QĐ/TW"

    # A second process-like client sees the same registry and status (nothing kept in index_dir).
    other = make_engine(index_dir=tmp_path / "unused", chroma_url=chroma_url, embedder=e5)
    docs = {d.number: d for d in other.documents()}
    assert docs["98-QĐ/TW"].status == "superseded" and docs["98-QĐ/TW"].replaced_by == "65-QĐ/TW"
    assert other.ingest_document(rotation_65()).status == "unchanged"
    other.remove_document("98-qd-tw-2017")
    assert {
        d.number for d in make_engine(index_dir=tmp_path, chroma_url=chroma_url, embedder=e5).documents()
    } == {
        "65-QĐ/TW",
        "1841-QĐ/TU",
    }
    assert not (tmp_path / "unused").exists() or not any((tmp_path / "unused").iterdir())


def test_unreachable_server_is_a_clear_error(tmp_path: Path, e5: Embedder) -> None:
    with pytest.raises(IndexUnavailable) as err:
        make_engine(index_dir=tmp_path, chroma_url=f"http://127.0.0.1:{_free_port()}", embedder=e5)
    assert err.value.code == "index_unavailable"
    with pytest.raises(IndexUnavailable):
        make_engine(index_dir=tmp_path, chroma_url="ftp://example", embedder=e5)


def test_engines_sharing_a_server_see_each_others_changes(
    chroma_url: str, tmp_path: Path, e5: Embedder
) -> None:
    first = make_engine(index_dir=tmp_path, chroma_url=chroma_url, embedder=e5, refresh_interval_s=0)
    second = make_engine(index_dir=tmp_path, chroma_url=chroma_url, embedder=e5, refresh_interval_s=0)
    for doc in list(first.documents()):
        first.remove_document(doc.doc_id)
    assert second.refresh() is True and second.documents() == []
    first.ingest_document(monthly_evaluation())
    assert second.documents() == []  # automatic checks are off: nothing changes by itself
    assert second.refresh() is True
    assert [d.number for d in second.documents()] == ["1841-QĐ/TU"]
    assert second.ask("ai quyết định xếp loại hằng tháng").citations[0].doc_number == "1841-QĐ/TU"
    assert second.refresh() is False  # unchanged since
