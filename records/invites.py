"""One-time invite codes: an admin issues one for a person; redeeming it links a Telegram account."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from records.access import require_role
from records.audit import record_audit
from records.clock import utc_now
from records.errors import InviteExpired, InviteInvalid, InviteUsed, ValidationFailed
from records.people import link_telegram, load_person, person_view
from records.schema import InviteCode, Role
from records.views import InviteView, PersonView

log = logging.getLogger(__name__)

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: easy to read aloud and type
CODE_LENGTH = 8
DEFAULT_TTL = timedelta(days=7)


def _canonical(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_canonical(code).encode()).hexdigest()


def issue_invite(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> InviteView:
    """A new code "ABCD-EFGH" for the person; only its hash is stored, so show it now or never."""
    moment = utc_now(now)
    if ttl <= timedelta(0):
        raise ValidationFailed("invite lifetime must be positive", field="ttl")
    person = load_person(session, person_id)
    require_role(
        session, actor_id=actor_id, roles=[Role.ADMIN], unit_id=person.unit_id, action="issue_invite"
    )
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    code = f"{raw[:4]}-{raw[4:]}"
    invite = InviteCode(
        code_hash=_hash(code),
        person_id=person_id,
        issued_by_id=actor_id,
        created_at=moment,
        expires_at=moment + ttl,
    )
    session.add(invite)
    session.flush()
    assert invite.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="invite_code",
        entity_id=invite.id,
        action="issue",
        now=moment,
        detail={"person_id": person_id, "expires_at": invite.expires_at.isoformat()},
    )
    log.info("invite %s issued for person %s", invite.id, person_id)
    return InviteView(
        code=code, person_id=person_id, cadre_code=person.cadre_code, expires_at=invite.expires_at
    )


def redeem_invite(
    session: Session,
    *,
    code: str,
    telegram_user_id: int,
    chat_id: int | None = None,
    now: datetime | None = None,
) -> PersonView:
    """Link the Telegram account to the invite's person; the code then stops working.

    Raises `InviteInvalid` (unknown), `InviteUsed` or `InviteExpired`, and `AlreadyLinked` from the link.
    """
    moment = utc_now(now)
    if len(_canonical(code)) != CODE_LENGTH:
        raise InviteInvalid("an invite code has 8 letters and digits")
    invite = session.exec(select(InviteCode).where(InviteCode.code_hash == _hash(code))).first()
    if invite is None:
        raise InviteInvalid("unknown invite code")
    if invite.redeemed_at is not None:
        raise InviteUsed("this invite code was already used")
    if invite.expires_at <= moment:
        raise InviteExpired("this invite code has expired", expired_at=invite.expires_at.isoformat())
    link_telegram(
        session,
        person_id=invite.person_id,
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        via="invite",
        now=moment,
    )
    assert invite.id is not None
    claimed = session.execute(
        update(InviteCode)
        .where(col(InviteCode.id) == invite.id, col(InviteCode.redeemed_at).is_(None))
        .values(redeemed_at=moment, redeemed_telegram_id=telegram_user_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteUsed("this invite code was already used")
    record_audit(
        session,
        actor_id=invite.person_id,
        entity="invite_code",
        entity_id=invite.id,
        action="redeem",
        now=moment,
        detail={"telegram_user_id": telegram_user_id},
    )
    return person_view(session, load_person(session, invite.person_id))
