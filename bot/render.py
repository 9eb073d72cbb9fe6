"""Answers, citations, documents and import reports rendered as Telegram HTML (everything escaped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

from bot import texts
from bot.messages import escape


class CitationLike(Protocol):
    """The fields of `retrieval.Citation` the bot renders."""

    doc_number: str | None
    doc_title: str
    doc_type: str | None
    issued: date | None
    article: int | str | None
    article_heading: str
    clause: str | None
    point: str | None
    in_attachment: bool
    attachment_title: str | None
    attachment_type: str | None
    status: str
    replaced_by: str | None
    is_sample: bool
    chunk_id: str


def format_date(value: date | None) -> str:
    """Vietnamese short date: 28/4/2022."""
    return f"{value.day}/{value.month}/{value.year}" if value else ""


def _type_name(doc_type: str | None) -> str:
    return doc_type.strip().capitalize() if doc_type and doc_type.strip() else texts.CITE_DOC_DEFAULT_TYPE


def article_label(article: int | str | None) -> str:
    """'Điều 5' for an article number, 'mục II.3' for a section label, '' when unknown."""
    if isinstance(article, int) or (isinstance(article, str) and article.isdigit()):
        return texts.CITE_ARTICLE.format(article=article)
    if article:
        return texts.CITE_SECTION.format(article=article)
    return ""


def where_label(citation: CitationLike) -> str:
    """'khoản 2 Điều 5', 'điểm a khoản 1 Điều 3', 'mục II.3' (plain text, not escaped)."""
    parts: list[str] = []
    if citation.point:
        parts.append(texts.CITE_POINT.format(point=citation.point))
    if citation.clause:
        parts.append(texts.CITE_CLAUSE.format(clause=citation.clause))
    article = article_label(citation.article)
    if article:
        parts.append(article)
    label = " ".join(parts)
    return label[:1].upper() + label[1:] if label else ""


def attachment_name(citation: CitationLike) -> str:
    """'Quy định đánh giá, xếp loại hằng tháng': the kind and title of a text issued with a decision."""
    kind = _type_name(citation.attachment_type or texts.CITE_ATTACHMENT_DEFAULT_TYPE)
    title = (citation.attachment_title or "").strip()
    return f"{kind} {title}" if title else kind


def document_label(citation: CitationLike) -> str:
    """The cited document with its date (plain text): 'Quy định số 65-QĐ/TW ngày 28/4/2022', or for a text
    issued with a decision 'Quy định đánh giá, … (ban hành kèm theo Quyết định số 3814-QĐ/TU ngày 16/5/2018)'."""
    if citation.doc_number:
        doc = texts.CITE_DOC_WITH_NUMBER.format(
            doc_type=_type_name(citation.doc_type), number=citation.doc_number
        )
    else:
        doc = texts.CITE_DOC_NO_NUMBER.format(
            doc_type=_type_name(citation.doc_type), title=citation.doc_title
        )
    issued = format_date(citation.issued)
    if issued:
        doc += " " + texts.CITE_DATE.format(date=issued)
    if citation.in_attachment:
        return texts.CITE_ATTACHMENT.format(attachment=attachment_name(citation), doc=doc)
    return doc


def render_citation(index: int, citation: CitationLike) -> str:
    """One numbered citation line (HTML)."""
    where = where_label(citation)
    return texts.CITE_ITEM.format(
        index=index,
        where=f"<b>{escape(where)}</b>" if where else "",
        doc=escape(document_label(citation)),
        sample=texts.SAMPLE_MARK if citation.is_sample else "",
    ).replace("  ", " ")


def superseded_warnings(citations: Iterable[CitationLike]) -> list[str]:
    """One warning per distinct superseded document among `citations` (HTML)."""
    seen: set[str] = set()
    lines: list[str] = []
    for c in citations:
        if c.status != "superseded":
            continue
        number = c.doc_number or c.doc_title
        if number in seen:
            continue
        seen.add(number)
        if c.replaced_by:
            lines.append(
                texts.SUPERSEDED_WARNING.format(
                    number=f"<b>{escape(number)}</b>", replaced_by=f"<b>{escape(c.replaced_by)}</b>"
                )
            )
        else:
            lines.append(texts.SUPERSEDED_WARNING_UNKNOWN.format(number=f"<b>{escape(number)}</b>"))
    return lines


def render_answer(
    *,
    found: bool,
    answer: str,
    citations: Sequence[CitationLike],
    nearest: Sequence[CitationLike],
    unmentioned: Sequence[str] = (),
    missing_documents: Sequence[str] = (),
    generated: bool = False,
) -> str:
    """The full reply to a question (HTML, possibly longer than one message: split it before sending).

    An extractive answer already carries its notes (one warning per replaced document, amendments); an
    LLM-written one gets the warnings here."""
    if not found:
        blocks = [texts.NOT_FOUND]
        if missing_documents:
            blocks.append(
                texts.MISSING_DOCUMENTS.format(docs=", ".join(f"«{escape(d)}»" for d in missing_documents))
            )
        if unmentioned:
            blocks.append(texts.UNMENTIONED.format(words=", ".join(f"«{escape(w)}»" for w in unmentioned)))
        if nearest:
            blocks.append(
                "\n".join([texts.NEAREST_HEADER] + [render_citation(i, c) for i, c in enumerate(nearest, 1)])
            )
        return "\n\n".join(blocks)
    blocks = [escape(answer.strip())]
    warnings = superseded_warnings(citations) if generated else []
    if warnings:
        blocks.append("\n".join(warnings))
    if citations:
        blocks.append(
            "\n".join([texts.CITATIONS_HEADER] + [render_citation(i, c) for i, c in enumerate(citations, 1)])
        )
    return "\n\n".join(blocks)


def render_article(citation: CitationLike, full_text: str) -> str:
    """The whole Điều (or section) behind a citation (HTML). An article whose text opens with its heading
    ("Điều 4. Mức xếp loại") gets that heading as the title, once, and the document below it."""
    article = article_label(citation.article)
    article = article[:1].upper() + article[1:]
    heading = citation.article_heading.strip()
    first, _, rest = full_text.strip().partition("\n")
    if article and heading and first.strip() == heading and heading.startswith(article):
        title = texts.ARTICLE_HEADER_NAMED.format(
            heading=escape(heading), document=escape(document_label(citation))
        )
        body = rest.strip()
    else:
        label = " ".join(x for x in (article, document_label(citation)) if x)
        title = texts.ARTICLE_HEADER.format(label=escape(label))
        body = full_text.strip()
    blocks = [title, *superseded_warnings([citation])]
    if body:
        blocks.append(escape(body))
    return "\n\n".join(blocks)


def article_button_label(citation: CitationLike) -> str:
    """Short label of a citation's article for a button ('Điều 5' or 'mục II.3')."""
    label = article_label(citation.article)
    label = label[:1].upper() + label[1:]
    number = citation.doc_number or ""
    return f"{label} {number}".strip()[:40]


# --- Documents -------------------------------------------------------------------------------------


def render_document_info(info: Any) -> str:
    """What was found in an ingested document (a `retrieval.DocumentInfo`), as HTML lines."""
    lines = [texts.DOC_LINE_NUMBER.format(number=escape(info.number or texts.DOC_NO_NUMBER))]
    title = " ".join(x for x in (info.doc_type or "", info.title or "") if x).strip()
    if title:
        lines.append(escape(title))
    lines.append(texts.DOC_LINE_ISSUED.format(issued=escape(format_date(info.issued) or texts.DOC_NO_DATE)))
    lines.append(texts.DOC_LINE_ARTICLES.format(articles=int(info.articles), chunks=int(info.chunks)))
    for relation in getattr(info, "relations", None) or []:
        kind = texts.RELATION_NAMES.get(str(relation.kind), str(relation.kind))
        lines.append(
            texts.DOC_LINE_RELATION.format(
                kind=escape(kind), target=f"<b>{escape(relation.target_number)}</b>"
            )
        )
    if info.status == "superseded":
        lines.append(
            texts.DOC_LINE_STATUS_SUPERSEDED.format(replaced_by=f"<b>{escape(info.replaced_by or '?')}</b>")
        )
    else:
        lines.append(texts.DOC_LINE_STATUS_IN_FORCE)
    if getattr(info, "is_sample", False):
        lines[0] += texts.SAMPLE_MARK
    return "\n".join(lines)


def render_document_list(documents: Sequence[Any]) -> str:
    """`/vanban`: every document with its status (HTML)."""
    if not documents:
        return texts.DOCS_NONE
    lines = [texts.DOCS_HEADER.format(count=len(documents))]
    for index, info in enumerate(documents, 1):
        status = (
            texts.DOC_STATUS_SUPERSEDED.format(replaced_by=escape(info.replaced_by or "?"))
            if info.status == "superseded"
            else texts.DOC_STATUS_IN_FORCE
        )
        lines.append(
            texts.DOCS_ITEM.format(
                index=index,
                number=escape(info.number or texts.DOC_NO_NUMBER),
                title=escape(" ".join(x for x in (info.doc_type or "", info.title or "") if x).strip()),
                issued=escape(format_date(info.issued) or texts.DOC_NO_DATE),
                status=status,
                sample=texts.SAMPLE_MARK if getattr(info, "is_sample", False) else "",
            )
        )
    return "\n".join(lines)


def listed_document_label(doc: Any) -> str:
    """ "77/QĐ-UBND (QUYẾT ĐỊNH Ban hành …)", plain text: a document as the operator finds it in the list."""
    title = " ".join(x for x in (doc.doc_type or "", doc.title or "") if x).strip()
    return f"{doc.number} ({title})" if doc.number else title or doc.doc_id


def render_documents_to_reload(documents: Sequence[Any]) -> str:
    """`/vanban` for admins: the documents an older version indexed that must be loaded again ("" if none)."""
    stale = [d for d in documents if getattr(d, "reload_reason", None)]
    if not stale:
        return ""
    lines = [texts.DOCS_RELOAD_HEADER.format(count=len(stale))]
    for d in stale:
        reason = texts.DOC_RELOAD_REASONS.get(d.reload_reason, texts.DOC_RELOAD_REASON_OTHER)
        label = listed_document_label(d)
        item = texts.DOCS_RELOAD_ITEM_SAMPLE if d.is_sample else texts.DOCS_RELOAD_ITEM
        lines.append(item.format(label=escape(label), source=escape(d.source_name), reason=escape(reason)))
    return "\n".join(lines)
