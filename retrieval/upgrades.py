"""Index structure versions: which stored chunks belong to their document, which documents an older version
indexed, and of those which are brought up to date in place and which must be loaded again.

Every document's registry entry and every chunk carry `structure` (`STRUCTURE_VERSION` when written). Entries
written before the stamp existed have none; their version is read from what they store:

1. before per-chunk attachment labels: a decision issuing several texts («Quy định …», «Hướng dẫn …» ban hành
   kèm theo Quyết định …) had every attached passage labelled with the first text's kind and title, and the
   articles of its texts merged by number. The chunks have no `attachment_title` key. Which passage belongs to
   which attached text is not stored (only the chunk texts are, not the lines naming each attached text, and
   the uploaded original is not kept), so the labels cannot be re-derived exactly: such a document must be
   loaded again from its file. A version-1 document without attached passages stores exactly what version 2
   would, so it is only stamped.
2. each chunk carries its attached text's own kind and title (`attachment_type`, `attachment_title`).

A re-load of the same file writes new chunks (new store ids) before the registry entry and deletes the old
ones after it; a crash in between leaves two sets for one document with the same file digest, told apart by
their stamps: the chunks whose stamp is the registry's belong, and only when none has it do unstamped chunks
belong (a document stamped in place keeps its unstamped chunks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from retrieval.index import DocRecord
from retrieval.store import Metadata

STRUCTURE_VERSION = 2
STRUCTURE_KEY = "structure"
# Why a document must be loaded again (codes; bot/ words them in Vietnamese).
RELOAD_ATTACHMENT_LABELS = "attachment_labels"


def stamp_of(meta: Mapping[str, object]) -> int:
    """The structure version written in a registry entry or chunk's metadata; 0 when none was written."""
    raw = meta.get(STRUCTURE_KEY, 0)
    return int(raw) if isinstance(raw, int | float | str) and str(raw).isdigit() else 0


def unstamped_version(meta: Mapping[str, object]) -> int:
    """The version of a chunk written before the stamp existed, from the keys it stores."""
    return 2 if "attachment_title" in meta else 1


@dataclass
class DocumentStructure:
    """What the index holds of one document: its structure version, and what to do about an older one."""

    version: int
    reload_reason: str | None = None  # must be loaded again from its file (a RELOAD_* code)
    stamp_in_place: bool = False  # exact as stored: only its registry stamp is to be written


@dataclass
class Assessment:
    orphans: list[str] = field(default_factory=list)  # store ids of chunks that belong to no document
    documents: dict[str, DocumentStructure] = field(default_factory=dict)


def assess(docs: Mapping[str, DocRecord], chunks: Sequence[tuple[str, Metadata]]) -> Assessment:
    """Sort `chunks` (store id, metadata) into their documents' and orphans, and read each document's version.

    A chunk is an orphan when its document is not registered or was registered from other bytes (left behind
    by an interrupted update), or when it is the other set of an interrupted re-load of the same file."""
    out = Assessment()
    by_doc: dict[str, list[tuple[str, Metadata]]] = {}
    for store_id, meta in chunks:
        doc = docs.get(str(meta.get("doc_id", "")))
        if doc is None or meta.get("source_sha256") != doc.source_sha256:
            out.orphans.append(store_id)
            continue
        by_doc.setdefault(doc.doc_id, []).append((store_id, meta))
    for doc_id, rows in by_doc.items():
        registered = docs[doc_id].structure
        wanted = registered if any(stamp_of(m) == registered for _, m in rows) else 0
        kept = [m for _, m in rows if stamp_of(m) == wanted]
        out.orphans.extend(sid for sid, m in rows if stamp_of(m) != wanted)
        version = registered or min((unstamped_version(m) for m in kept), default=STRUCTURE_VERSION)
        reason = None
        if version < 2 and any(bool(m.get("in_attachment", False)) for m in kept):
            reason = RELOAD_ATTACHMENT_LABELS
        out.documents[doc_id] = DocumentStructure(
            version=version,
            reload_reason=reason,
            stamp_in_place=reason is None and registered < STRUCTURE_VERSION,
        )
    return out
