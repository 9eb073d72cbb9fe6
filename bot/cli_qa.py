"""`canbo ingest | docs | ask | eval | reindex`: regulation Q&A from the command line (stable for scripts)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import texts
from bot.render import listed_document_label
from bot.settings import Settings
from records.localtime import format_date

log = logging.getLogger(__name__)

# Every human-facing line of these subcommands (Vietnamese), in one place.
MSG = {
    "loading": "Đang nạp văn bản",
    "reindexing": "Đang lập lại chỉ mục",
    "added": "đã nạp",
    "updated": "đã cập nhật",
    "unchanged": "không đổi",
    "refused": "bị từ chối",
    "summary": "Tổng kết: {added} nạp mới, {updated} cập nhật, {unchanged} không đổi, {refused} bị từ chối.",
    "no_paths": "Hãy chỉ ra tệp hoặc thư mục cần nạp, hoặc dùng --samples để nạp bộ văn bản mẫu.",
    "no_docs": "Chưa có văn bản nào trong chỉ mục. Dùng `canbo ingest ĐƯỜNG_DẪN` để nạp.",
    "docs_header": "Số hiệu | Tiêu đề | Ngày ban hành | Hiệu lực | Số điều",
    "reload_header": (
        "Cần nạp lại {count} văn bản (phần mềm không lưu tệp gốc nên phải nạp lại từ tệp; trích dẫn từ các văn "
        "bản này có thể chưa đúng cho đến khi nạp lại):"
    ),
    "reload_item": (
        "⚠ {label} — tệp «{source}»: {reason}. Nạp lại đúng tệp đó: canbo ingest TỆP (hoặc gửi tệp cho bot); "
        "văn bản cũ được thay thế, không bị nhân đôi."
    ),
    "reload_item_sample": (
        "⚠ {label} (văn bản mẫu): {reason}. Nạp lại: canbo ingest --samples; văn bản cũ được thay thế, không "
        "bị nhân đôi."
    ),
    "in_force": "còn hiệu lực",
    "superseded": "đã bị thay thế bởi {by}",
    "sample": " (văn bản mẫu)",
    "ask_usage": "Hãy nhập câu hỏi, hoặc dùng --batch TỆP (mỗi dòng một câu hỏi).",
    "batch_missing": "Không đọc được tệp câu hỏi {path}.",
    "sources": "Căn cứ:",
    "nearest": "Các nội dung gần nhất:",
    "eval_done": "Đánh giá trên {n} câu hỏi:",
    "eval_by_kind": "Theo loại câu hỏi (R@k, MRR@10, tỷ lệ từ chối; «uncertain» = trả lời kèm cảnh báo):",
    "eval_unresolved": "Không tìm thấy trong chỉ mục chỗ trả lời đã ghi cho các câu: {qids}",
    "reindex_done": "Đã lập lại chỉ mục {n} đoạn bằng mô hình {model}.",
    "error": "Lỗi ({code}): {detail}",
    "error_hint_embedding_mismatch": "Chạy `canbo reindex` để lập lại chỉ mục bằng mô hình đã cấu hình.",
    "error_hint_index_unavailable": "Kiểm tra CANBO_CHROMA_URL / thư mục dữ liệu và thử lại.",
}
REASONS = {
    "file_not_found": "không tìm thấy tệp",
    "unsupported_format": "định dạng không hỗ trợ (chỉ .txt, .md, .docx, .pdf, .html)",
    "file_too_large": "tệp quá lớn",
    "unpacked_too_large": "tệp Word khi giải nén lớn bất thường (có thể bị hỏng hoặc độc hại) — mở bằng Word, lưu lại rồi nạp lại",
    "unreadable": "tệp hỏng hoặc không đọc được",
    "no_text": "không có lớp chữ (bản quét) — cần bản có chữ",
    "empty": "tệp không có nội dung",
    "classified": "văn bản mật — không được nạp nếu chưa được phép",
    "nothing_to_index": "không tìm thấy nội dung để lập chỉ mục",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this area's subcommands to the `canbo` parser."""
    p = sub.add_parser("ingest", help="nạp tệp hoặc thư mục văn bản quy định vào chỉ mục")
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="ĐƯỜNG_DẪN", help="tệp hoặc thư mục (duyệt cả thư mục con)"
    )
    p.add_argument("--samples", action="store_true", help="nạp bộ văn bản mẫu đi kèm")
    p.add_argument("--json", action="store_true", help="in mỗi tệp một đối tượng JSON")
    p.set_defaults(handler=run_ingest)

    p = sub.add_parser("docs", help="danh sách văn bản đã nạp")
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    p.set_defaults(handler=run_docs)

    p = sub.add_parser("ask", help="trả lời một câu hỏi kèm trích dẫn")
    p.add_argument("question", nargs="?", metavar="CÂU_HỎI", help="câu hỏi (tiếng Việt, có hoặc không dấu)")
    p.add_argument("--batch", type=Path, metavar="TỆP", help="tệp câu hỏi, mỗi dòng một câu")
    p.add_argument("--json", action="store_true", help="in dạng JSON (với --batch: mỗi câu một dòng)")
    p.add_argument("-k", type=int, default=5, metavar="SỐ", help="số trích dẫn (mặc định 5)")
    p.set_defaults(handler=run_ask)

    p = sub.add_parser("eval", help="đo Recall@1/5, MRR@10 và tỷ lệ từ chối trên một bộ câu hỏi (.jsonl)")
    p.add_argument("file", type=Path, metavar="TỆP", help="bộ câu hỏi .jsonl")
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    p.set_defaults(handler=run_eval)

    p = sub.add_parser("reindex", help="lập lại chỉ mục vector bằng mô hình nhúng đã cấu hình")
    p.set_defaults(handler=run_reindex)


def build_engine(settings: Settings, *, for_reindex: bool = False) -> Any:
    from retrieval import LLMSettings, make_engine

    llm = None
    if settings.llm_base_url:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none"
        llm = LLMSettings(
            base_url=settings.llm_base_url,
            api_key=key,
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_s,
        )
    return make_engine(
        index_dir=settings.index_dir,
        chroma_url=settings.chroma_url,
        embedding_model=settings.embedding_model,
        embedding_threads=settings.embedding_threads,
        query_threads=settings.query_threads or None,
        llm=llm,
        for_reindex=for_reindex,
    )


def _guarded(
    fn: Callable[[argparse.Namespace, Settings], int],
) -> Callable[[argparse.Namespace, Settings], int]:
    """Map the lower packages' errors to a Vietnamese line and exit code 1 (no traceback)."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        from knowledge.errors import KnowledgeError
        from retrieval.errors import RetrievalError

        try:
            return fn(args, settings)
        except (RetrievalError, KnowledgeError) as exc:
            print(MSG["error"].format(code=exc.code, detail=exc.detail or exc), file=sys.stderr)
            hint = MSG.get(f"error_hint_{exc.code}")
            if hint:
                print(hint, file=sys.stderr)
            return 1

    run.__name__ = fn.__name__
    return run


def _reason(code: str | None) -> str:
    return REASONS.get(code or "", code or "")


def _progress_bar(label: str) -> tuple[Callable[[int, int, str], None], Callable[[], None]]:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int, name: str) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="tệp", file=sys.stderr, leave=False)
        bar["bar"].n = done
        bar["bar"].set_postfix_str(name[:40])
        bar["bar"].refresh()

    def close() -> None:
        if "bar" in bar:
            bar["bar"].close()

    return update, close


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    return _guarded(_ingest)(args, settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    paths = list(args.paths)
    if args.samples:
        import knowledge

        paths.extend(knowledge.sample_corpus_paths())
    if not paths:
        print(MSG["no_paths"], file=sys.stderr)
        return 2
    engine = build_engine(settings)
    update, close = _progress_bar(MSG["loading"])
    try:
        outcomes = engine.ingest_paths(
            paths,
            allow_classified=settings.allow_classified,
            max_bytes=settings.max_upload_mb * 1024 * 1024,
            progress=update,
        )
    finally:
        close()
    counts = {s: sum(o.status == s for o in outcomes) for s in ("added", "updated", "unchanged", "refused")}
    for o in outcomes:
        if args.json:
            doc = o.document
            print(
                json.dumps(
                    {
                        "source": o.source,
                        "status": o.status,
                        "doc_id": doc.doc_id if doc else None,
                        "number": doc.number if doc else None,
                        "error_code": o.error_code,
                        "error_detail": o.error_detail,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        name = Path(o.source).name
        if o.status == "refused":
            print(f"✗ {name}: {MSG['refused']} — {_reason(o.error_code)}")
        else:
            label = o.document.number or o.document.title if o.document else ""
            print(f"✓ {name}: {MSG[o.status]} ({label})")
    print((MSG["summary"]).format(**counts), file=sys.stderr if args.json else sys.stdout)
    return 1 if counts["refused"] else 0


def reload_lines(docs: Sequence[Any]) -> list[str]:
    """The lines naming each document to load again, why and how (none when every document is current)."""
    stale = [d for d in docs if getattr(d, "reload_reason", None)]
    if not stale:
        return []
    lines = [MSG["reload_header"].format(count=len(stale))]
    for d in stale:
        reason = texts.DOC_RELOAD_REASONS.get(d.reload_reason, texts.DOC_RELOAD_REASON_OTHER)
        item = MSG["reload_item_sample"] if d.is_sample else MSG["reload_item"]
        lines.append(item.format(label=listed_document_label(d), source=d.source_name, reason=reason))
    return lines


def run_docs(args: argparse.Namespace, settings: Settings) -> int:
    return _guarded(_docs)(args, settings)


def _docs(args: argparse.Namespace, settings: Settings) -> int:
    engine = build_engine(settings)
    docs = engine.documents()
    if args.json:
        for d in docs:
            print(
                json.dumps(
                    {
                        "doc_id": d.doc_id,
                        "number": d.number,
                        "doc_type": d.doc_type,
                        "title": d.title,
                        "issued": d.issued.isoformat() if d.issued else None,
                        "status": d.status,
                        "replaced_by": d.replaced_by,
                        "articles": d.articles,
                        "chunks": d.chunks,
                        "source_name": d.source_name,
                        "is_sample": d.is_sample,
                        "reload_reason": d.reload_reason,
                    },
                    ensure_ascii=False,
                )
            )
        return 0
    if not docs:
        print(MSG["no_docs"])
        return 0
    print(MSG["docs_header"])
    for d in docs:
        status = MSG["in_force"] if d.status == "in_force" else (MSG["superseded"]).format(by=d.replaced_by)
        issued = format_date(d.issued) if d.issued else "—"
        sample = MSG["sample"] if d.is_sample else ""
        print(f"{d.number or '—'} | {d.title}{sample} | {issued} | {status} | {d.articles}")
    for line in reload_lines(docs):
        print(line)
    return 0


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    return _guarded(_ask)(args, settings)


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        return
    print(answer.answer)
    if answer.found and answer.citations:
        from retrieval import wording

        print()
        print(MSG["sources"])
        for i, c in enumerate(answer.citations, start=1):
            print(f"[{i}] {wording.source_phrase(c)} — {c.score:.3f}")


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch is None and not (args.question or "").strip():
        print(MSG["ask_usage"], file=sys.stderr)
        return 2
    if args.batch is not None:
        try:
            questions = [q.strip() for q in args.batch.read_text(encoding="utf-8").splitlines() if q.strip()]
        except (OSError, UnicodeDecodeError):
            print((MSG["batch_missing"]).format(path=args.batch), file=sys.stderr)
            return 2
    else:
        questions = [args.question]
    engine = build_engine(settings)
    for question in questions:
        _print_answer(engine.ask(question, k=args.k), args.json)
    return 0


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    return _guarded(_eval)(args, settings)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.evaluation import evaluate, load_questions

    questions = load_questions(args.file)
    engine = build_engine(settings)
    report = evaluate(engine, questions)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print((MSG["eval_done"]).format(n=len(questions)))
        print(f"  Recall@1  {report.recall_at_1:.3f}")
        print(f"  Recall@5  {report.recall_at_5:.3f}")
        print(f"  MRR@10    {report.mrr_at_10:.3f}")
        print(f"  câu ngoài phạm vi bị từ chối  {report.unanswerable_refused:.1%} ({report.unanswerable})")
        print(f"  câu có đáp án bị từ chối nhầm {report.answerable_refused:.1%} ({report.answerable})")
        print(MSG["eval_by_kind"])
        for split in report.splits():
            if split:
                print(f" [{split}]")
            print(report.table(split=split or None))
        if report.unresolved:
            print((MSG["eval_unresolved"]).format(qids=", ".join(report.unresolved)))
    return 0


def run_reindex(args: argparse.Namespace, settings: Settings) -> int:
    return _guarded(_reindex)(args, settings)


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    engine = build_engine(settings, for_reindex=True)
    update, close = _progress_bar(MSG["reindexing"])
    try:
        n = engine.reindex(progress=update)
    finally:
        close()
    print((MSG["reindex_done"]).format(n=n, model=engine.embedder.name))
    return 0
