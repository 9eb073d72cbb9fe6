"""ALQAC corpus and questions as ParsedDocument objects (rows are articles already) plus the split protocol."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from knowledge.model import Chunk, DocumentMeta, ParsedDocument

ALQAC_DIR = Path("/work/shared/bench/alqac")
_CLAUSE_START = re.compile(r"^\s*(\d{1,3})\.\s")


@dataclass
class Question:
    qid: str
    text: str
    split: str  # "dev" | "test"
    relevant: set[tuple[str, str]]  # (law_id, article_id)


def _doc_id(law_id: str) -> str:
    return "alqac-" + hashlib.sha1(law_id.encode()).hexdigest()[:10]


def _split_clauses(text: str) -> list[tuple[str | None, str]]:
    """Cut an article body at lines opening with "1.", "2." …; text before the first khoản joins it."""
    pieces: list[tuple[str | None, list[str]]] = []
    intro: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _CLAUSE_START.match(line)
        if match:
            pieces.append((match.group(1), [line]))
        elif pieces:
            pieces[-1][1].append(line)
        else:
            intro.append(line)
    if not pieces:
        return [(None, "\n".join(intro))]
    if intro:
        first_no, first_lines = pieces[0]
        pieces[0] = (first_no, intro + first_lines)
    return [(no, "\n".join(lines)) for no, lines in pieces]


def load_corpus(path: Path = ALQAC_DIR / "corpus.jsonl") -> list[ParsedDocument]:
    rows_by_law: dict[str, list[dict]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            rows_by_law[row["law_id"]].append(row)
    docs = []
    for law_id, rows in rows_by_law.items():
        doc_id = _doc_id(law_id)
        meta = DocumentMeta(doc_id=doc_id, number=None, doc_type=None, title=law_id)
        chunks: list[Chunk] = []
        for row in rows:
            body = (row.get("text") or "").strip() or "(bãi bỏ)"
            for clause, text in _split_clauses(body):
                chunks.append(
                    Chunk(
                        chunk_id=f"{doc_id}:{len(chunks)}",
                        doc_id=doc_id,
                        position=len(chunks),
                        text=text,
                        article=row["article_id"],
                        article_heading=row["title"],
                        clause=clause,
                    )
                )
        full = "\n".join(f"{r['title']}\n{r.get('text') or ''}" for r in rows)
        docs.append(
            ParsedDocument(
                meta=meta,
                chunks=chunks,
                text=full,
                source_path=f"alqac/{law_id}",
                source_sha256=hashlib.sha256(full.encode()).hexdigest(),
                source_format="txt",
            )
        )
    return docs


def law_file_name(law_id: str) -> str:
    return law_id.replace("/", "-") + ".txt"


def write_law_files(
    folder: Path, path: Path = ALQAC_DIR / "corpus.jsonl", *, laws: set[str] | None = None
) -> dict[str, str]:
    """Each law as the plain-text file a committee would load: its name in capitals, then "Điều N. …" and the
    body of every article. Returns {file name: law_id}; `laws` keeps only those laws."""
    rows_by_law: dict[str, list[dict]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            rows_by_law[row["law_id"]].append(row)
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for law_id, rows in rows_by_law.items():
        if laws is not None and law_id not in laws:
            continue
        parts = [law_id.upper(), ""]
        for row in rows:
            parts.extend([row["title"], (row.get("text") or "").strip() or "(Bãi bỏ)", ""])
        name = law_file_name(law_id)
        (folder / name).write_text("\n".join(parts), encoding="utf-8")
        names[name] = law_id
    return names


def load_questions(path: Path = ALQAC_DIR / "questions.jsonl") -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not row.get("relevant"):
                continue
            is_test = (row["source"] == "alqac2023" and row["split"] == "private_test") or (
                row["source"] == "new_data_102023" and row["split"] == "test"
            )
            rel = {(r["law_id"], str(r["article_id"])) for r in row["relevant"]}
            out.append(Question(row["qid"], row["question"], "test" if is_test else "dev", rel))
    return out


def law_id_of(doc_id: str, docs: list[ParsedDocument]) -> str:
    for d in docs:
        if d.meta.doc_id == doc_id:
            return d.meta.title
    raise KeyError(doc_id)
