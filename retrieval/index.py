"""The in-memory, immutable view of the index that queries run against: chunks, vectors, units, BM25, status.

Chroma is the store of record; a Snapshot is rebuilt from it on open and after each change, and swapped
in atomically, so concurrent questions always see one consistent index.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from knowledge.model import Relation, RelationKind
from retrieval.analysis import DiacriticRestorer, marked_syllables, strip_diacritics
from retrieval.lexical import LexicalIndex


def number_key(number: str | None) -> str:
    """Accent-free alphanumeric key for comparing document numbers: "65-QĐ/TW" → "65 qd tw"."""
    if not number:
        return ""
    return " ".join(re.findall(r"[a-z0-9]+", strip_diacritics(number).lower()))


@dataclass
class DocRecord:
    """One registered document (the registry entry, plus status computed across all documents)."""

    doc_id: str
    number: str | None
    doc_type: str | None
    title: str
    issuer: str | None
    issued: date | None
    effective: date | None
    source_name: str
    source_sha256: str
    is_sample: bool
    attachment_type: str | None
    attachment_title: str | None
    relations: list[Relation]
    manual_replaced_by: str | None
    articles: int
    chunks: int
    status: str = "in_force"
    replaced_by: str | None = None
    # The structure version it was indexed with (retrieval.upgrades; 0: written before versions were stamped)
    # and, when an older version's labels cannot be put right in place, why it must be loaded again.
    structure: int = 0
    reload_reason: str | None = None

    def to_metadata(self) -> dict[str, str | int | float | bool]:
        stamp: dict[str, str | int | float | bool] = {"structure": self.structure} if self.structure else {}
        stamp["reload"] = self.reload_reason or ""  # always written: Chroma merges an upsert into the entry
        return stamp | {
            "number": self.number or "",
            "doc_type": self.doc_type or "",
            "title": self.title,
            "issuer": self.issuer or "",
            "issued": self.issued.isoformat() if self.issued else "",
            "effective": self.effective.isoformat() if self.effective else "",
            "source_name": self.source_name,
            "source_sha256": self.source_sha256,
            "is_sample": self.is_sample,
            "attachment_type": self.attachment_type or "",
            "attachment_title": self.attachment_title or "",
            "relations": json.dumps(
                [
                    {"kind": str(r.kind), "target": r.target_number, "evidence": r.evidence}
                    for r in self.relations
                ],
                ensure_ascii=False,
            ),
            "manual_replaced_by": self.manual_replaced_by or "",
            "articles": self.articles,
            "chunks": self.chunks,
        }

    @classmethod
    def from_metadata(cls, doc_id: str, meta: dict[str, str | int | float | bool]) -> DocRecord:
        def text(key: str) -> str | None:
            value = str(meta.get(key, "") or "")
            return value or None

        def day(key: str) -> date | None:
            value = text(key)
            return date.fromisoformat(value) if value else None

        relations = [
            Relation(kind=RelationKind(r["kind"]), target_number=r["target"], evidence=r.get("evidence", ""))
            for r in json.loads(str(meta.get("relations") or "[]"))
        ]
        return cls(
            doc_id=doc_id,
            number=text("number"),
            doc_type=text("doc_type"),
            title=str(meta.get("title", "")),
            issuer=text("issuer"),
            issued=day("issued"),
            effective=day("effective"),
            source_name=str(meta.get("source_name", "")),
            source_sha256=str(meta.get("source_sha256", "")),
            is_sample=bool(meta.get("is_sample", False)),
            attachment_type=text("attachment_type"),
            attachment_title=text("attachment_title"),
            relations=relations,
            manual_replaced_by=text("manual_replaced_by"),
            articles=int(meta.get("articles", 0) or 0),
            chunks=int(meta.get("chunks", 0) or 0),
            structure=int(meta.get("structure", 0) or 0),
            reload_reason=text("reload"),
        )


def compute_status(docs: dict[str, DocRecord]) -> None:
    """Set status/replaced_by on every document from "thay thế" relations across all documents."""
    by_key: dict[str, list[DocRecord]] = {}
    for doc in docs.values():
        for rel in doc.relations:
            if rel.kind == RelationKind.REPLACES:
                by_key.setdefault(number_key(rel.target_number), []).append(doc)
    for doc in docs.values():
        doc.status, doc.replaced_by = "in_force", None
        if doc.manual_replaced_by:
            doc.status, doc.replaced_by = "superseded", doc.manual_replaced_by
            continue
        replacers = [d for d in by_key.get(number_key(doc.number), []) if d.doc_id != doc.doc_id]
        if doc.number and replacers:
            newest = max(replacers, key=lambda d: (d.issued or date.min, d.number or ""))
            doc.status, doc.replaced_by = "superseded", newest.number or newest.title


@dataclass
class ChunkRow:
    """A chunk as stored, with its analysed tokens."""

    store_id: str
    chunk_id: str
    doc_id: str
    position: int
    text: str
    article: int | str | None
    article_heading: str
    clause: str | None
    point: str | None
    in_attachment: bool
    words: list[str]
    syllables: list[str]
    head_words: list[str]
    head_syllables: list[str]
    attachment_type: str | None = (
        None  # the attached text's own kind and title (a decision may issue several)
    )
    attachment_title: str | None = None

    @property
    def unit_key(self) -> tuple[str, str, str]:
        if self.article is None:
            return (self.doc_id, "chunk", self.chunk_id)
        part = f"att:{self.attachment_title or ''}" if self.in_attachment else "main"
        return (self.doc_id, part, str(self.article))


@dataclass
class Unit:
    """A retrieval unit: one Điều (or section) of one document; chunks[first:last] belong to it."""

    doc_id: str
    first: int
    last: int


_TITLE_NOISE = re.compile(r"\(.*?\)|\d+")
# Types whose title is a name: the name is read with its type ("Luật Viên chức", "Bộ luật Hình sự").
_NAMED_TYPES = {"LUẬT", "BỘ LUẬT", "HIẾN PHÁP", "PHÁP LỆNH", "ĐIỀU LỆ"}


def title_bigrams(title: str, doc_type: str | None = None) -> set[str]:
    """Accent-free syllable bigrams of a document's name without years and parentheses: its title ("về …"
    dropped), with its type in front for laws and codes ("luật viên chức")."""
    if doc_type and doc_type.upper() in _NAMED_TYPES:
        title = f"{doc_type} {title}"
    syl = re.findall(r"[a-z]+", strip_diacritics(_TITLE_NOISE.sub(" ", title.lower())))
    if syl and syl[0] == "ve":
        syl = syl[1:]
    return {f"{a}_{b}" for a, b in itertools.pairwise(syl)}


# "Sửa đổi, bổ sung khoản 2 Điều 8 như sau", "Bãi bỏ điểm c khoản 1 Điều 5", "Bổ sung Điều 12a".
_AMEND_RE = re.compile(
    r"(sửa đổi|bổ sung|bãi bỏ|thay thế|thay cụm từ)[^.:;\n]{0,60}?"
    r"(?:điểm\s+([a-zđ])\s*,?\s*)?(?:khoản\s+(\d{1,2})\s*,?\s*)?điều\s+(\d{1,3}[a-zđ]?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amendment:
    """An article of one document changed by a passage of another ("Sửa đổi khoản 2 Điều 8 như sau: …")."""

    target_doc: str  # doc_id of the amended document
    article: str  # the amended Điều ("8", "12a")
    clause: str | None
    point: str | None
    action: str  # "sửa đổi" | "bổ sung" | "bãi bỏ" | "thay thế" …
    by_doc: str  # doc_id of the amending document
    by_chunk: int  # index of the amending chunk in the snapshot


def find_amendments(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """(action, article, clause, point) of every article a passage says it changes."""
    out = []
    for m in _AMEND_RE.finditer(text):
        out.append((m.group(1).lower(), m.group(4), m.group(3), m.group(2)))
    return out


@dataclass
class Snapshot:
    docs: dict[str, DocRecord]
    chunks: list[ChunkRow]
    embeddings: np.ndarray  # (n_chunks, dim), rows in `chunks` order
    unit_embeddings: np.ndarray  # (n_units, dim): the normalised mean of each unit's chunk vectors
    units: list[Unit]
    unit_starts: np.ndarray
    unit_doc: np.ndarray  # unit -> index into doc_order
    doc_order: list[str]
    unit_superseded: np.ndarray
    lexical: LexicalIndex
    chunk_index: dict[str, int] = field(default_factory=dict)
    doc_title_bigrams: list[set[str]] = field(default_factory=list)
    doc_number_syllables: list[list[str]] = field(default_factory=list)
    doc_replaces: list[list[list[str]]] = field(default_factory=list)  # numbers each document replaces
    doc_amends: list[list[list[str]]] = field(default_factory=list)  # numbers each document amends
    restorer: DiacriticRestorer = field(default_factory=lambda: DiacriticRestorer([]))
    # unit index -> the passages of other documents that changed it
    amendments: dict[int, list[Amendment]] = field(default_factory=dict)
    unit_amended: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    unit_of_chunk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Derived per-chunk and per-unit data computed on first use (the snapshot never changes once built).
    memo: dict[tuple[str, int], object] = field(default_factory=dict)

    def unit_key(self, unit: int) -> tuple[str, bool, str]:
        """(doc_id, in attachment, article) of a unit."""
        row = self.chunks[self.units[unit].first]
        return (row.doc_id, row.in_attachment, str(row.article))

    def replacer(self, doc_id: str) -> DocRecord | None:
        """The loaded document that replaced `doc_id`, if any."""
        doc = self.docs.get(doc_id)
        if doc is None or doc.status != "superseded" or not doc.replaced_by:
            return None
        key = number_key(doc.replaced_by)
        return next((d for d in self.docs.values() if d.number and number_key(d.number) == key), None)

    @property
    def empty(self) -> bool:
        return not self.chunks


def build_snapshot(
    docs: dict[str, DocRecord], rows: list[ChunkRow], embeddings: np.ndarray, dim: int
) -> Snapshot:
    """Order chunks by document and unit, then build the unit arrays and the lexical index."""
    compute_status(docs)
    doc_order = sorted(docs)
    doc_pos = {d: i for i, d in enumerate(doc_order)}
    first_pos: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = row.unit_key
        first_pos[key] = min(first_pos.get(key, row.position), row.position)
    order = sorted(
        range(len(rows)),
        key=lambda i: (doc_pos.get(rows[i].doc_id, -1), first_pos[rows[i].unit_key], rows[i].position),
    )
    rows = [rows[i] for i in order]
    embeddings = embeddings[order] if len(order) else np.zeros((0, dim), dtype=np.float32)
    units: list[Unit] = []
    unit_words: list[list[str]] = []
    unit_syllables: list[list[str]] = []
    previous: tuple[str, str, str] | None = None
    for i, row in enumerate(rows):
        if row.unit_key != previous:
            units.append(Unit(doc_id=row.doc_id, first=i, last=i + 1))
            unit_words.append(list(row.head_words))
            unit_syllables.append(list(row.head_syllables))
            previous = row.unit_key
        units[-1].last = i + 1
        unit_words[-1].extend(row.words)
        unit_syllables[-1].extend(row.syllables)
    lexical = LexicalIndex(unit_words, unit_syllables)
    unit_doc = np.asarray([doc_pos[u.doc_id] for u in units], dtype=np.int64)
    unit_of_chunk = np.zeros(len(rows), dtype=np.int64)
    for ui, u in enumerate(units):
        unit_of_chunk[u.first : u.last] = ui
    amendments = _amendments(docs, rows, units, unit_of_chunk)
    unit_amended = np.zeros(len(units), dtype=bool)
    for ui in amendments:
        unit_amended[ui] = True
    superseded_docs = np.asarray([docs[d].status == "superseded" for d in doc_order], dtype=bool)
    return Snapshot(
        docs=docs,
        chunks=rows,
        embeddings=np.ascontiguousarray(embeddings, dtype=np.float32),
        units=units,
        unit_embeddings=_unit_means(embeddings, units, dim),
        unit_starts=np.asarray([u.first for u in units], dtype=np.int64),
        unit_doc=unit_doc,
        doc_order=doc_order,
        unit_superseded=superseded_docs[unit_doc] if len(units) else np.zeros(0, dtype=bool),
        lexical=lexical,
        chunk_index={row.chunk_id: i for i, row in enumerate(rows)},
        restorer=DiacriticRestorer(
            (marked_syllables(r.head_words + r.words) for r in rows),
            words=(w for r in rows for w in r.head_words + r.words),
        ),
        doc_title_bigrams=[title_bigrams(docs[d].title, docs[d].doc_type) for d in doc_order],
        doc_number_syllables=[number_key(docs[d].number).split() for d in doc_order],
        doc_replaces=[
            [
                number_key(r.target_number).split()
                for r in docs[d].relations
                if r.kind == RelationKind.REPLACES
            ]
            for d in doc_order
        ],
        doc_amends=[
            [number_key(r.target_number).split() for r in docs[d].relations if r.kind == RelationKind.AMENDS]
            for d in doc_order
        ],
        amendments=amendments,
        unit_amended=unit_amended,
        unit_of_chunk=unit_of_chunk,
    )


def _unit_means(embeddings: np.ndarray, units: list[Unit], dim: int) -> np.ndarray:
    """Each unit's chunk vectors averaged and renormalised: the article read as a whole."""
    if not units:
        return np.zeros((0, dim), dtype=np.float32)
    starts = np.asarray([u.first for u in units], dtype=np.int64)
    sums = np.add.reduceat(np.asarray(embeddings, dtype=np.float32), starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(sums / norms, dtype=np.float32)


def _amendments(
    docs: dict[str, DocRecord], rows: list[ChunkRow], units: list[Unit], unit_of_chunk: np.ndarray
) -> dict[int, list[Amendment]]:
    """Which units are changed by passages of documents that "sửa đổi, bổ sung" them (both loaded)."""
    by_number = {number_key(d.number): d.doc_id for d in docs.values() if d.number}
    unit_by_key: dict[tuple[str, str], list[int]] = {}
    for ui, u in enumerate(units):
        row = rows[u.first]
        if row.article is not None:
            unit_by_key.setdefault((row.doc_id, str(row.article)), []).append(ui)
    out: dict[int, list[Amendment]] = {}
    for doc in docs.values():
        targets = [
            by_number[number_key(r.target_number)]
            for r in doc.relations
            if r.kind == RelationKind.AMENDS and number_key(r.target_number) in by_number
        ]
        targets = [t for t in dict.fromkeys(targets) if t != doc.doc_id]
        if len(targets) != 1:
            continue  # none loaded, or several: which article of which document is not clear
        target = targets[0]
        # A decision issuing a Quy định is amended in its Quy định: "sửa đổi … của Quy định ban hành kèm theo …"
        attached_only = any(
            r.in_attachment for r in rows if r.doc_id == target
        ) and "quy dinh" in strip_diacritics(doc.title.lower())
        for ci, row in enumerate(rows):
            if row.doc_id != doc.doc_id:
                continue
            for action, article, clause, point in find_amendments(row.text):
                for ui in unit_by_key.get((target, article), []):
                    if attached_only and not rows[units[ui].first].in_attachment:
                        continue
                    amendment = Amendment(target, article, clause, point, action, doc.doc_id, ci)
                    if amendment not in out.setdefault(ui, []):
                        out[ui].append(amendment)
    return out
