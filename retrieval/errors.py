"""Errors raised by indexing and retrieval."""


class RetrievalError(Exception):
    """Base error of the retrieval package. `code` is stable; bot/texts.py maps it to Vietnamese."""

    code = "retrieval"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class EmbeddingModelMismatch(RetrievalError):
    """The index was built with another embedding model; re-index with `canbo reindex`."""

    code = "embedding_mismatch"


class EmbeddingModelUnavailable(RetrievalError):
    code = "embedding_unavailable"


class DocumentNotFound(RetrievalError):
    code = "document_not_found"


class IndexUnavailable(RetrievalError):
    """The vector store (embedded or server) cannot be opened or reached."""

    code = "index_unavailable"


class ChunkNotFound(RetrievalError):
    code = "chunk_not_found"


class EmptyQuestion(RetrievalError):
    """The question has no text."""

    code = "empty_question"


class NothingToIndex(RetrievalError):
    """The document has no chunk with text."""

    code = "nothing_to_index"
