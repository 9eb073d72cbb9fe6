"""A question's embedding uses the spare core only while other programs leave it idle (issue #10, ask p95)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from retrieval.embedding import CpuMeter, E5Embedder, choose_query_threads


@pytest.mark.parametrize(
    ("others_busy", "concurrent", "cores", "expected"),
    [
        (0.0, 0, 2, 2),  # quiet server: the spare core helps
        (0.2, 0, 2, 2),
        (0.5, 0, 2, 1),  # half a core taken elsewhere: a second OpenMP thread would wait for it
        (1.0, 0, 2, 1),  # another program keeps a core busy
        (0.0, 1, 2, 1),  # another embedding runs in this process (ingest, a second question)
        (None, 0, 2, 1),  # counters unreadable: stay steady
        (0.0, 0, 1, 1),  # one core: nothing to spare
    ],
)
def test_choose_query_threads(others_busy: float | None, concurrent: int, cores: int, expected: int) -> None:
    got = choose_query_threads(base=1, most=2, others_busy=others_busy, concurrent=concurrent, cores=cores)
    assert got == expected


def test_never_fewer_than_the_configured_threads() -> None:
    assert choose_query_threads(base=2, most=1, others_busy=0.0, concurrent=0, cores=4) == 2
    assert choose_query_threads(base=2, most=4, others_busy=3.0, concurrent=0, cores=4) == 2
    assert choose_query_threads(base=1, most=4, others_busy=0.0, concurrent=0, cores=4) == 4


def _busy_children(count: int = 1) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.kill()
        child.wait()


def test_the_meter_sees_another_program_but_not_this_one() -> None:
    if CpuMeter().others_busy() is None:
        pytest.skip("no /proc/stat on this system")
    meter = CpuMeter(window_s=0.4)
    meter.others_busy()
    # This process keeps a core busy: that is the question being answered, not another program.
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        pass
    own = meter.others_busy()
    children = _busy_children()
    try:
        time.sleep(0.6)
        meter.others_busy()
        time.sleep(0.6)
        others = meter.others_busy()
    finally:
        _stop(children)
    assert own is not None and others is not None
    assert others > 0.6, others
    assert others - own > 0.4, (own, others)


def test_a_busy_machine_keeps_one_thread_and_vectors_do_not_depend_on_threads() -> None:
    embedder = E5Embedder(instances=1, query_threads=2)
    text = "thời gian tập sự của công chức loại C là bao nhiêu tháng"
    with embedder._model(1) as model:
        one = np.asarray(model.query(text), dtype=np.float32).reshape(-1)
    with embedder._model(2) as model:
        two = np.asarray(model.query(text), dtype=np.float32).reshape(-1)
    assert np.allclose(one, two, atol=1e-5)
    # Other programs keep every core but this question's busy.
    children = _busy_children(max(1, (os.cpu_count() or 1) - 1))
    try:
        time.sleep(0.7)
        assert embedder._meter is not None
        embedder._meter.others_busy()
        time.sleep(0.6)
        vec = embedder.embed_query(text)
        assert embedder.last_query_threads == 1
    finally:
        _stop(children)
    assert np.allclose(vec, one, atol=1e-5)
