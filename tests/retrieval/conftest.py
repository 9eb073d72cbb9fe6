"""Retrieval fixtures: one real e5-small model per session and small real indexes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.embedding import E5Embedder, Embedder, make_embedder


@pytest.fixture(scope="session")
def e5() -> Embedder:
    """The bundled multilingual-e5-small (real model; loads in milliseconds)."""
    embedder = make_embedder("e5-small", threads=1)
    assert isinstance(embedder, E5Embedder)
    return embedder


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("index")
