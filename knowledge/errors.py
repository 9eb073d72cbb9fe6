"""Errors raised while reading and parsing documents."""


class KnowledgeError(Exception):
    """Base error of the knowledge package. `code` is stable; bot/texts.py maps it to Vietnamese."""

    code = "knowledge"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class UnsupportedFormat(KnowledgeError):
    code = "unsupported_format"


class FileTooLarge(KnowledgeError):
    code = "file_too_large"


class UnpackedTooLarge(FileTooLarge):
    """A container (.docx) whose parts unpack to far more than any real document: a zip bomb or a damaged file."""

    code = "unpacked_too_large"


class UnreadableFile(KnowledgeError):
    """Corrupt, encrypted or otherwise unreadable."""

    code = "unreadable"


class NoTextLayer(KnowledgeError):
    """A scanned PDF (images only) or a file with no extractable text."""

    code = "no_text"


class EmptyDocument(KnowledgeError):
    code = "empty"


class ClassifiedDocument(KnowledgeError):
    """Marked MẬT / TỐI MẬT / TUYỆT MẬT and classified indexing is not allowed."""

    code = "classified"
