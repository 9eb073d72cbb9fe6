"""`canbo reindex` (the real command, as the operator runs it) keeps what a load stamped on each chunk.

A decision issuing two texts («Quy định …», «Hướng dẫn …» ban hành kèm theo Quyết định …) is loaded; its chunks
carry their attached text's own kind and title and the structure version (retrieval.upgrades). Re-embedding
the index must write them back unchanged: the same citations, the same embedding input (so the same vectors
with the same model), and `canbo docs` / `canbo health` do not name the document as to be loaded again. A
document an older version indexed stays named after a reindex: re-embedding does not put its labels right.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from retrieval import documents_to_reload
from retrieval.upgrades import RELOAD_ATTACHMENT_LABELS, STRUCTURE_VERSION
from tests.retrieval.old_index import old_chunks, registry_metadata, write_as_version_1
from tests.retrieval.test_attached_citations import ISSUED_WITH, QUESTION, TWO_ATTACHED
from tests.retrieval.test_cli import run
from tests.retrieval.test_structure_upgrade import PLAIN

FIRST_QUESTION = "Hội đồng tuyển dụng công chức gồm bao nhiêu thành viên?"
RELOAD_HEADER = "Cần nạp lại"

pytestmark = pytest.mark.slow  # a dozen `canbo` processes, each loading the model


def _loaded(tmp_path: Path) -> Path:
    """A data directory with the two-text decision and a plain one loaded by `canbo ingest`."""
    data = tmp_path / "data"
    data.mkdir()
    two, plain = tmp_path / "hai-van-ban.txt", tmp_path / "khen-thuong.txt"
    two.write_text(TWO_ATTACHED, encoding="utf-8")
    plain.write_text(PLAIN, encoding="utf-8")
    loaded = run(data, "ingest", str(two), str(plain))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert run(data, "db", "upgrade").returncode == 0  # `canbo health` checks the database first
    return data


def _ask(data: Path, question: str) -> dict[str, Any]:
    asked = run(data, "ask", question, "--json")
    assert asked.returncode == 0, asked.stderr
    answer: dict[str, Any] = json.loads(asked.stdout)
    return answer


def _without_scores(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer but its scores (re-embedding may move them in the last digits)."""

    def strip(citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k != "score"} for c in citations]

    out = {k: v for k, v in answer.items() if k != "confidence"}
    return out | {"citations": strip(answer["citations"]), "nearest": strip(answer["nearest"])}


def _docs(data: Path) -> list[dict[str, Any]]:
    listed = run(data, "docs", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def _chunks(index: Path) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    page = old_chunks(index)
    return {
        sid: (text, dict(meta), [float(x) for x in emb])
        for sid, text, meta, emb in zip(
            page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True
        )
    }


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


def _reindex(data: Path, chunks: int) -> None:
    done = run(data, "reindex")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Đã lập lại chỉ mục {chunks} đoạn" in done.stdout, done.stdout


def test_reindex_keeps_the_attachment_labels_and_the_structure_version(tmp_path: Path) -> None:
    data = _loaded(tmp_path)
    index = data / "index"
    second, first = _ask(data, QUESTION), _ask(data, FIRST_QUESTION)
    assert second["answer"].startswith("Theo Điều 4 Hướng dẫn chấm điểm công chức hằng quý " + ISSUED_WITH)
    assert first["answer"].startswith("Theo Điều 2 Quy định về tuyển dụng công chức " + ISSUED_WITH)
    docs, chunks = _docs(data), _chunks(index)
    two = next(d for d in docs if d["source_name"] == "hai-van-ban.txt")
    labelled = {
        (m["attachment_type"], m["attachment_title"]) for _, m, _ in chunks.values() if m["in_attachment"]
    }
    assert len(labelled) == 2  # each attached text its own label
    assert {m["structure"] for _, m, _ in chunks.values()} == {STRUCTURE_VERSION}

    _reindex(data, len(chunks))

    after = _chunks(index)
    assert after.keys() == chunks.keys()
    for sid, (text, meta, vector) in chunks.items():
        assert after[sid][:2] == (text, meta), sid  # labels, stamp, tokens: as the load wrote them
        assert _cosine(after[sid][2], vector) > 0.999, sid  # the same embedding input as the load's
    assert registry_metadata(index, two["doc_id"])["structure"] == STRUCTURE_VERSION
    assert _docs(data) == docs and all(d["reload_reason"] is None for d in docs)
    assert _without_scores(_ask(data, QUESTION)) == _without_scores(second)
    assert _without_scores(_ask(data, FIRST_QUESTION)) == _without_scores(first)
    listed = run(data, "docs")
    assert listed.returncode == 0 and RELOAD_HEADER not in listed.stdout, listed.stdout
    health = run(data, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    assert RELOAD_HEADER not in health.stdout, health.stdout
    assert documents_to_reload(index_dir=index) == []


def test_reindex_does_not_hide_a_document_an_older_version_indexed(tmp_path: Path) -> None:
    data = _loaded(tmp_path)
    index = data / "index"
    write_as_version_1(index)  # the labels of the two-text decision are now the first text's for both
    chunks = _chunks(index)

    _reindex(data, len(chunks))

    stale = {d["source_name"]: d["reload_reason"] for d in _docs(data)}
    assert stale == {"hai-van-ban.txt": RELOAD_ATTACHMENT_LABELS, "khen-thuong.txt": None}
    listed = run(data, "docs")
    assert f"{RELOAD_HEADER} 1 văn bản" in listed.stdout and "«hai-van-ban.txt»" in listed.stdout, (
        listed.stdout
    )
    health = run(data, "health")
    assert health.returncode == 0 and f"{RELOAD_HEADER} 1 văn bản" in health.stdout, health.stdout
    assert {k: v[:2] for k, v in _chunks(index).items()} == {k: v[:2] for k, v in chunks.items()}
