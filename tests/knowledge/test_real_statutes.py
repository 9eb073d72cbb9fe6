"""The parser on real Vietnamese statutes (the ALQAC peer benchmark, when present on the machine)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from knowledge import parse_text
from knowledge.loaders import clean_text

ALQAC_CORPUS = Path("/work/shared/bench/alqac/corpus.jsonl")

pytestmark = pytest.mark.skipif(not ALQAC_CORPUS.exists(), reason="ALQAC corpus not on this machine")


def _laws() -> dict[str, list[dict[str, str]]]:
    laws: dict[str, list[dict[str, str]]] = defaultdict(list)
    with ALQAC_CORPUS.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            laws[row["law_id"]].append(row)
    return laws


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_every_article_of_every_statute_is_recovered_with_its_text() -> None:
    """Each law is reassembled into one text ("Điều N. title" + body) and parsed back."""
    total = recovered = complete = 0
    for law, rows in _laws().items():
        text = "\n".join([law.upper(), ""] + [part for row in rows for part in (row["title"], row["text"])])
        doc = parse_text(text, source_name=f"{law}.txt")
        by_article: dict[object, list[str]] = defaultdict(list)
        for chunk in doc.chunks:
            by_article[chunk.article].append(chunk.text)
            assert len(chunk.text) <= 1200
        for row in rows:
            total += 1
            key: object = int(row["article_id"]) if row["article_id"].isdigit() else row["article_id"]
            if key not in by_article:
                continue
            recovered += 1
            # NFC-normalise the source too: some rows use combining tone marks
            expected = _words(clean_text(row["text"]))
            complete += expected <= _words("\n".join(by_article[key]))
    assert total > 3000
    assert recovered == total
    # a few source rows run into the next article or part: their words then sit in the next chunk
    assert complete / total >= 0.99
