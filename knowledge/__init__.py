"""Documents to structured articles and chunks: loaders, the legal-structure parser, relations, samples."""

from knowledge.documents import (
    DEFAULT_MAX_BYTES,
    load_document,
    load_documents,
    make_doc_id,
    parse_text,
    sample_corpus_paths,
)
from knowledge.loaders import SUPPORTED_SUFFIXES
from knowledge.numbers import find_numbers, normalise_number

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "find_numbers",
    "load_document",
    "load_documents",
    "make_doc_id",
    "normalise_number",
    "parse_text",
    "sample_corpus_paths",
]
