"""The bundled e5-small embedder serves concurrent questions from a pool of models, with identical vectors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from retrieval.embedding import E5Embedder

QUESTIONS = [f"thời gian luân chuyển cán bộ tối thiểu {i} năm" for i in range(24)]


def test_concurrent_queries_match_serial_ones() -> None:
    pooled = E5Embedder(instances=2)
    single = E5Embedder(instances=1)
    assert pooled.instances == 2 and single.instances == 1
    serial = [single.embed_query(q) for q in QUESTIONS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(pooled.embed_query, QUESTIONS))
    for a, b in zip(serial, concurrent, strict=True):
        assert a.shape == (single.dim,)
        assert np.allclose(a, b, atol=1e-6)
        assert abs(float(np.linalg.norm(b)) - 1.0) < 1e-3
    # Passages and token counts go through the same pool.
    passages = pooled.embed_passages(["Điều 6. Thời gian luân chuyển", "Điều 7. Đánh giá cán bộ"])
    assert passages.shape == (2, pooled.dim)
    assert pooled.count_tokens("đánh giá cán bộ hằng tháng") > 3
