"""Errors raised by the records services."""


class RecordsError(Exception):
    """Base error of the records package. `code` is stable; bot/texts.py maps it to Vietnamese."""

    code = "records"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class NotFound(RecordsError):
    code = "not_found"


class PermissionDenied(RecordsError):
    """Outside the actor's role or unit scope."""

    code = "permission_denied"


class InvalidTransition(RecordsError):
    """The record's state does not allow this action (e.g. reviewing a draft)."""

    code = "invalid_transition"


class ConcurrentUpdate(RecordsError):
    """Someone else acted on the record first (version mismatch): e.g. 'already reviewed'."""

    code = "concurrent_update"


class LeaseLost(RecordsError):
    """Another process took over a job's lease: this one must stop running the job."""

    code = "lease_lost"


class ValidationFailed(RecordsError):
    """Input out of bounds or malformed; `params` say which field and what is allowed."""

    code = "validation"


class RulesFileInvalid(RecordsError):
    code = "rules_invalid"


class ImportRejected(RecordsError):
    """A roster file with errors: nothing was imported; `report` lists the rows."""

    code = "import_rejected"


class QuotaExceeded(ValidationFailed):
    """A decision would put more records in a grade than the quota allows; `params` give the numbers."""

    code = "quota_exceeded"


class AlreadyLinked(RecordsError):
    """This Telegram account is already signed in as another person."""

    code = "already_linked"


class InviteInvalid(RecordsError):
    """Unknown invite code (typo, or never issued)."""

    code = "invite_invalid"


class InviteExpired(InviteInvalid):
    code = "invite_expired"


class InviteUsed(InviteInvalid):
    code = "invite_used"
