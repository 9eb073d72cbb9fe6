"""Units, people and Telegram links: look-ups for sign-in and the roster's building blocks."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from records.access import require_role
from records.audit import record_audit
from records.clock import utc_now
from records.errors import AlreadyLinked, NotFound, ValidationFailed
from records.schema import InviteCode, Person, Role, TelegramLink, Unit
from records.views import PersonView, TelegramLinkView, UnitView

log = logging.getLogger(__name__)

_PHONE_NOISE = re.compile(r"[\s.\-()/]")


def normalise_phone(raw: str | int | None) -> str | None:
    """One form for Vietnamese numbers: 0xxxxxxxxx. Accepts 0xxx, +84xxx, 84xxx, (84)…, spaces and dots.

    Returns None for an empty value; raises `ValidationFailed` (field "phone") for a malformed one.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a spreadsheet number cell
        text = text[:-2]
    text = _PHONE_NOISE.sub("", text)
    if not text:
        return None
    if text.startswith("+"):
        if not text.startswith("+84"):
            raise ValidationFailed(f"not a Vietnamese number: {raw!r}", field="phone", value=str(raw))
        text = "0" + text[3:]
    elif text.startswith("0084"):
        text = "0" + text[4:]
    elif text.startswith("84") and len(text) in (11, 12):
        text = "0" + text[2:]
    elif not text.startswith("0") and len(text) in (9, 10):  # leading zero lost in a spreadsheet
        text = "0" + text
    if not text.isdigit() or len(text) not in (10, 11) or text.startswith("00"):
        raise ValidationFailed(f"bad phone number {raw!r}", field="phone", value=str(raw))
    return text


def unit_view(unit: Unit) -> UnitView:
    assert unit.id is not None
    return UnitView(
        id=unit.id, code=unit.code, name=unit.name, parent_id=unit.parent_id, outstanding=unit.outstanding
    )


def person_view(session: Session, person: Person) -> PersonView:
    unit = session.get(Unit, person.unit_id)
    assert person.id is not None and unit is not None
    return PersonView(
        id=person.id,
        cadre_code=person.cadre_code,
        full_name=person.full_name,
        phone=person.phone,
        position=person.position,
        unit_id=person.unit_id,
        unit_code=unit.code,
        unit_name=unit.name,
        manager_id=person.manager_id,
        active=person.active,
    )


def load_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id}", entity="person", id=person_id)
    return person


def load_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id}", entity="unit", id=unit_id)
    return unit


def get_person(session: Session, *, person_id: int) -> PersonView:
    return person_view(session, load_person(session, person_id))


def find_unit_by_code(session: Session, *, code: str) -> UnitView | None:
    unit = session.exec(select(Unit).where(Unit.code == code.strip())).first()
    return unit_view(unit) if unit else None


def find_person_by_code(session: Session, *, cadre_code: str) -> PersonView | None:
    person = session.exec(select(Person).where(Person.cadre_code == cadre_code.strip())).first()
    return person_view(session, person) if person else None


def find_person_by_phone(session: Session, *, phone: str) -> PersonView | None:
    """The active person with this number in any accepted form (as Telegram shares it: 84…, +84…)."""
    try:
        normalised = normalise_phone(phone)
    except ValidationFailed:
        return None
    if normalised is None:
        return None
    person = session.exec(
        select(Person).where(Person.phone == normalised, col(Person.active).is_(True))
    ).first()
    return person_view(session, person) if person else None


def find_person_by_telegram(session: Session, *, telegram_user_id: int) -> PersonView | None:
    """The active person signed in with this Telegram account, if any."""
    link = session.exec(select(TelegramLink).where(TelegramLink.telegram_user_id == telegram_user_id)).first()
    if link is None:
        return None
    person = session.get(Person, link.person_id)
    return person_view(session, person) if person is not None and person.active else None


def _link_view(link: TelegramLink) -> TelegramLinkView:
    return TelegramLinkView(
        person_id=link.person_id,
        telegram_user_id=link.telegram_user_id,
        chat_id=link.chat_id,
        via=link.via,
        linked_at=link.linked_at,
    )


def telegram_link_of(session: Session, *, person_id: int) -> TelegramLinkView | None:
    link = session.exec(select(TelegramLink).where(TelegramLink.person_id == person_id)).first()
    return _link_view(link) if link else None


def link_telegram(
    session: Session,
    *,
    person_id: int,
    telegram_user_id: int,
    chat_id: int | None = None,
    via: str = "phone",
    now: datetime | None = None,
) -> TelegramLinkView:
    """Sign a Telegram account in as a person.

    Idempotent for the same pair. A person's previous account is replaced (audited); an account already
    linked to someone else raises `AlreadyLinked` (an admin must unlink it first).
    """
    moment = utc_now(now)
    person = load_person(session, person_id)
    if not person.active:
        raise ValidationFailed("person is not active", field="person", id=person_id)
    by_account = session.exec(
        select(TelegramLink).where(TelegramLink.telegram_user_id == telegram_user_id)
    ).first()
    if by_account is not None and by_account.person_id != person_id:
        raise AlreadyLinked(
            "this Telegram account is linked to another person", person_id=by_account.person_id
        )
    if by_account is not None:
        if chat_id is not None and by_account.chat_id != chat_id:
            by_account.chat_id = chat_id
            session.add(by_account)
            session.flush()
        return _link_view(by_account)
    previous = session.exec(select(TelegramLink).where(TelegramLink.person_id == person_id)).first()
    if previous is not None:
        record_audit(
            session,
            actor_id=person_id,
            entity="telegram_link",
            entity_id=person_id,
            action="replace",
            now=moment,
            detail={
                "old_telegram_user_id": previous.telegram_user_id,
                "new_telegram_user_id": telegram_user_id,
            },
        )
        session.delete(previous)
        session.flush()
    link = TelegramLink(
        telegram_user_id=telegram_user_id, chat_id=chat_id, person_id=person_id, via=via, linked_at=moment
    )
    session.add(link)
    try:
        session.flush()
    except IntegrityError as exc:  # a simultaneous sign-in with the same account or for the same person
        raise AlreadyLinked("this Telegram account or person was linked at the same moment") from exc
    record_audit(
        session,
        actor_id=person_id,
        entity="telegram_link",
        entity_id=person_id,
        action="link",
        now=moment,
        detail={"telegram_user_id": telegram_user_id, "via": via},
    )
    log.info("person %s linked to a Telegram account via %s", person_id, via)
    return _link_view(link)


def unlink_telegram(
    session: Session, *, actor_id: int | None, person_id: int, now: datetime | None = None
) -> bool:
    """Sign the person's Telegram account out (the person themself or an admin over their unit)."""
    moment = utc_now(now)
    person = load_person(session, person_id)
    if actor_id != person_id:
        require_role(session, actor_id=actor_id, roles=[Role.ADMIN], unit_id=person.unit_id, action="unlink")
    link = session.exec(select(TelegramLink).where(TelegramLink.person_id == person_id)).first()
    if link is None:
        return False
    record_audit(
        session,
        actor_id=actor_id,
        entity="telegram_link",
        entity_id=person_id,
        action="unlink",
        now=moment,
        detail={"telegram_user_id": link.telegram_user_id},
    )
    session.delete(link)
    session.flush()
    return True


def list_people(
    session: Session, *, unit_ids: set[int] | None = None, active_only: bool = True
) -> list[PersonView]:
    """People, optionally restricted to a set of units, ordered by cadre code."""
    query = select(Person).order_by(col(Person.cadre_code))
    if active_only:
        query = query.where(col(Person.active).is_(True))
    if unit_ids is not None:
        query = query.where(col(Person.unit_id).in_(unit_ids))
    return [person_view(session, p) for p in session.exec(query).all()]


def list_units(session: Session) -> list[UnitView]:
    return [unit_view(u) for u in session.exec(select(Unit).order_by(col(Unit.code))).all()]


def set_unit_outstanding(
    session: Session, *, actor_id: int | None, unit_id: int, outstanding: bool, now: datetime | None = None
) -> UnitView:
    """Flag a unit for outstanding results (the higher grade-A quota applies); admin or head above it."""
    moment = utc_now(now)
    unit = load_unit(session, unit_id)
    require_role(
        session, actor_id=actor_id, roles=[Role.ADMIN, Role.STAFF], unit_id=unit_id, action="flag_unit"
    )
    if unit.outstanding != outstanding:
        record_audit(
            session,
            actor_id=actor_id,
            entity="unit",
            entity_id=unit_id,
            action="flag_outstanding",
            now=moment,
            detail={"from": unit.outstanding, "to": outstanding},
        )
        unit.outstanding = outstanding
        unit.updated_at = moment
        session.add(unit)
        session.flush()
    return unit_view(unit)


def set_person_active(
    session: Session, *, actor_id: int | None, person_id: int, active: bool, now: datetime | None = None
) -> PersonView:
    """Deactivate a person who left (kept with their history; signs them out) or reactivate them; admin only."""
    moment = utc_now(now)
    person = load_person(session, person_id)
    require_role(session, actor_id=actor_id, roles=[Role.ADMIN], unit_id=person.unit_id, action="set_active")
    if actor_id == person_id and not active:
        raise ValidationFailed("an admin cannot deactivate themself", field="person", id=person_id)
    if person.active != active:
        record_audit(
            session,
            actor_id=actor_id,
            entity="person",
            entity_id=person_id,
            action="activate" if active else "deactivate",
            now=moment,
            detail={"active": [person.active, active]},
        )
        person.active = active
        person.updated_at = moment
        session.add(person)
        if not active:
            unlink_telegram(session, actor_id=actor_id, person_id=person_id, now=moment)
            void_invites(session, actor_id=actor_id, person_ids=[person_id], now=moment)
        session.flush()
    return person_view(session, person)


def void_invites(
    session: Session, *, actor_id: int | None, person_ids: list[int], now: datetime, source: str | None = None
) -> int:
    """Expire the unused, unexpired invite codes of these people now (audited); returns how many."""
    if not person_ids:
        return 0
    invites = list(
        session.exec(
            select(InviteCode).where(
                col(InviteCode.person_id).in_(person_ids),
                col(InviteCode.redeemed_at).is_(None),
                col(InviteCode.expires_at) > now,
            )
        ).all()
    )
    for invite in invites:
        invite.expires_at = now
        session.add(invite)
        assert invite.id is not None
        record_audit(
            session,
            actor_id=actor_id,
            entity="invite_code",
            entity_id=invite.id,
            action="void",
            now=now,
            detail={"person_id": invite.person_id, **({"source": source} if source else {})},
        )
    session.flush()
    return len(invites)


def telegram_links(session: Session, *, person_ids: set[int] | None = None) -> dict[int, TelegramLinkView]:
    """Telegram links by person id in one query (for reminders and broadcasts)."""
    query = select(TelegramLink)
    if person_ids is not None:
        query = query.where(col(TelegramLink.person_id).in_(person_ids))
    return {link.person_id: _link_view(link) for link in session.exec(query).all()}
