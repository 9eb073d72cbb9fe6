"""Action programmes: commitments for a new post, confirmed by the head, tracked over the term, used as evidence."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from records.access import has_role, require_role, unit_chain, unit_subtree
from records.audit import list_audit, record_audit
from records.clock import utc_now
from records.errors import ConcurrentUpdate, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from records.guard import claim_version
from records.people import load_person
from records.periods import Period
from records.schema import (
    ActionItem,
    ActionProgramme,
    ActionProgress,
    Person,
    ProgrammeState,
    Publicity,
    Role,
    RoleAssignment,
    Unit,
)
from records.views import (
    ActionItemView,
    AuditView,
    EvidenceItem,
    ProgrammeDigest,
    ProgrammeView,
    ProgressView,
    PublicProgrammes,
)

log = logging.getLogger(__name__)

P = ProgrammeState
EDITABLE = (P.DRAFT.value, P.RETURNED.value)
SHARED = (P.CONFIRMED.value, P.CLOSED.value)  # the states in which a programme is shown to other readers
MAX_ITEMS = 30
PUBLIC_EXPORT_ROLES = (Role.STAFF, Role.HEAD, Role.ADMIN)  # who hands the public list to supervisors


class ItemInput(BaseModel):
    """One commitment; give `id` to keep an existing item when editing."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    id: int | None = None
    commitment: str = Field(min_length=1, max_length=1000)
    target: str = Field(min_length=1, max_length=500)
    deadline: date


class ProgrammeInput(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    post: str = Field(min_length=1, max_length=300)
    term_start: date
    term_end: date
    publicity: Publicity = Publicity.INTERNAL
    items: tuple[ItemInput, ...] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _dates(self) -> ProgrammeInput:
        if self.term_end <= self.term_start:
            raise ValueError("term_end must be after term_start")
        for item in self.items:
            if not self.term_start <= item.deadline <= self.term_end:
                raise ValueError(f"item deadline {item.deadline} is outside the term")
        return self


def _load(session: Session, programme_id: int) -> ActionProgramme:
    row = session.get(ActionProgramme, programme_id)
    if row is None:
        raise NotFound(f"programme {programme_id}", entity="action_programme", id=programme_id)
    return row


def _items(session: Session, programme_id: int) -> list[ActionItem]:
    return list(
        session.exec(
            select(ActionItem)
            .where(ActionItem.programme_id == programme_id)
            .order_by(col(ActionItem.position), col(ActionItem.id))
        ).all()
    )


def _view(session: Session, row: ActionProgramme) -> ProgrammeView:
    assert row.id is not None
    person = load_person(session, row.person_id)
    return ProgrammeView(
        id=row.id,
        person_id=row.person_id,
        person_name=person.full_name,
        unit_id=row.unit_id,
        post=row.post,
        term_start=row.term_start,
        term_end=row.term_end,
        publicity=row.publicity,
        state=row.state,
        version=row.version,
        items=tuple(ActionItemView.model_validate(i, from_attributes=True) for i in _items(session, row.id)),
        submitted_at=row.submitted_at,
        confirmed_by_id=row.confirmed_by_id,
        confirmed_at=row.confirmed_at,
        return_reason=row.return_reason,
        closing_assessment=row.closing_assessment,
        closed_at=row.closed_at,
    )


def _may_confirm(session: Session, actor_id: int, row: ActionProgramme) -> bool:
    return actor_id != row.person_id and has_role(
        session, person_id=actor_id, roles=[Role.HEAD], unit_id=row.unit_id
    )


def may_read_programme(session: Session, *, actor_id: int | None, row: ActionProgramme) -> bool:
    """Owner, heads/staff/reviewers over the unit; a public programme anyone signed in; party-cell level the unit."""
    if actor_id is None or actor_id == row.person_id:
        return True
    if has_role(
        session, person_id=actor_id, roles=[Role.HEAD, Role.STAFF, Role.REVIEWER], unit_id=row.unit_id
    ):
        return True
    if row.publicity == Publicity.PUBLIC.value:
        return True
    if row.publicity == Publicity.PARTY_CELL.value:
        return load_person(session, actor_id).unit_id == row.unit_id
    return False


def _require_owner(actor_id: int | None, row: ActionProgramme, action: str) -> None:
    if actor_id is not None and actor_id != row.person_id:
        raise PermissionDenied(f"{action}: only the programme's owner may do this", action=action)


def _transition(
    session: Session,
    row: ActionProgramme,
    *,
    to: str,
    actor_id: int | None,
    action: str,
    now: datetime,
    allowed_from: tuple[str, ...],
    detail: dict | None = None,
) -> None:
    if row.state not in allowed_from:
        raise InvalidTransition(
            f"cannot {action} a programme in state {row.state}", state=row.state, action=action
        )
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="action_programme",
        entity_id=row.id,
        action=action,
        from_state=row.state,
        to_state=to,
        now=now,
        detail=detail,
    )
    row.state = to
    row.updated_at = now


def _set_items(
    session: Session, row: ActionProgramme, items: Sequence[ItemInput], now: datetime
) -> list[dict[str, object]]:
    assert row.id is not None
    current = {i.id: i for i in _items(session, row.id)}
    kept: set[int] = set()
    for position, item in enumerate(items):
        if item.id is not None:
            existing = current.get(item.id)
            if existing is None:
                raise ValidationFailed(
                    "item does not belong to this programme", field="items", item_id=item.id
                )
            existing.commitment, existing.target, existing.deadline = (
                item.commitment,
                item.target,
                item.deadline,
            )
            existing.position = position
            session.add(existing)
            kept.add(item.id)
        else:
            session.add(
                ActionItem(
                    programme_id=row.id,
                    position=position,
                    commitment=item.commitment,
                    target=item.target,
                    deadline=item.deadline,
                    created_at=now,
                )
            )
    removed = [i for iid, i in current.items() if iid not in kept]
    for gone in removed:
        session.delete(gone)
    return [{"id": i.id, "commitment": i.commitment} for i in removed]


def create_programme(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    data: ProgrammeInput,
    now: datetime | None = None,
) -> ProgrammeView:
    """A draft programme for the person (the person themself registers it)."""
    moment = utc_now(now)
    if actor_id is not None and actor_id != person_id:
        raise PermissionDenied("a programme is registered by its owner", action="create_programme")
    person = load_person(session, person_id)
    row = ActionProgramme(
        person_id=person_id,
        unit_id=person.unit_id,
        post=data.post,
        term_start=data.term_start,
        term_end=data.term_end,
        publicity=data.publicity.value,
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    _set_items(session, row, data.items, moment)
    record_audit(
        session,
        actor_id=actor_id,
        entity="action_programme",
        entity_id=row.id,
        action="create",
        to_state=row.state,
        now=moment,
        detail={"post": data.post, "items": len(data.items)},
    )
    session.flush()
    return _view(session, row)


def update_programme(
    session: Session,
    *,
    actor_id: int | None,
    programme_id: int,
    data: ProgrammeInput,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> ProgrammeView:
    """Edit a draft or returned programme (items kept by id; removals audited)."""
    moment = utc_now(now)
    row = _load(session, programme_id)
    _require_owner(actor_id, row, "update_programme")
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"cannot edit a programme in state {row.state}", state=row.state, action="update"
        )
    claim_version(session, row, expected_version=expected_version, what="programme")
    removed = _set_items(session, row, data.items, moment)
    row.post, row.term_start, row.term_end, row.publicity = (
        data.post,
        data.term_start,
        data.term_end,
        data.publicity.value,
    )
    row.updated_at = moment
    session.add(row)
    record_audit(
        session,
        actor_id=actor_id,
        entity="action_programme",
        entity_id=programme_id,
        action="update",
        now=moment,
        detail={"items": len(data.items), "removed": removed},
    )
    session.flush()
    return _view(session, row)


def submit_programme(
    session: Session,
    *,
    actor_id: int | None,
    programme_id: int,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> ProgrammeView:
    moment = utc_now(now)
    row = _load(session, programme_id)
    _require_owner(actor_id, row, "submit_programme")
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"cannot submit a programme in state {row.state}", state=row.state, action="submit"
        )
    claim_version(session, row, expected_version=expected_version, what="programme")
    _transition(
        session,
        row,
        to=P.SUBMITTED.value,
        actor_id=actor_id,
        action="submit",
        now=moment,
        allowed_from=EDITABLE,
    )
    row.submitted_at = moment
    session.add(row)
    session.flush()
    return _view(session, row)


def _head_action(
    session: Session, actor_id: int | None, row: ActionProgramme, action: str, expected_version: int | None
) -> None:
    if actor_id is not None and not _may_confirm(session, actor_id, row):
        raise PermissionDenied("only a head over the unit may confirm or return a programme", action=action)
    if row.state in (P.CONFIRMED.value, P.RETURNED.value, P.CLOSED.value):
        raise ConcurrentUpdate(f"already {row.state}", entity="action_programme", id=row.id, state=row.state)
    if row.state != P.SUBMITTED.value:
        raise InvalidTransition(
            f"cannot {action} a programme in state {row.state}", state=row.state, action=action
        )
    claim_version(session, row, expected_version=expected_version, what="programme")


def confirm_programme(
    session: Session,
    *,
    actor_id: int | None,
    programme_id: int,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> ProgrammeView:
    """The head confirms a submitted programme; its items then count as evidence."""
    moment = utc_now(now)
    row = _load(session, programme_id)
    _head_action(session, actor_id, row, "confirm", expected_version)
    _transition(
        session,
        row,
        to=P.CONFIRMED.value,
        actor_id=actor_id,
        action="confirm",
        now=moment,
        allowed_from=(P.SUBMITTED.value,),
    )
    row.confirmed_by_id, row.confirmed_at, row.return_reason = actor_id, moment, None
    session.add(row)
    session.flush()
    return _view(session, row)


def return_programme(
    session: Session,
    *,
    actor_id: int | None,
    programme_id: int,
    reason: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> ProgrammeView:
    moment = utc_now(now)
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to return a programme", field="reason")
    row = _load(session, programme_id)
    _head_action(session, actor_id, row, "return", expected_version)
    _transition(
        session,
        row,
        to=P.RETURNED.value,
        actor_id=actor_id,
        action="return",
        now=moment,
        allowed_from=(P.SUBMITTED.value,),
        detail={"reason": reason.strip()},
    )
    row.return_reason, row.returned_at = reason.strip(), moment
    session.add(row)
    session.flush()
    return _view(session, row)


def record_progress(
    session: Session,
    *,
    actor_id: int | None,
    item_id: int,
    percent: int,
    note: str = "",
    now: datetime | None = None,
) -> ProgressView:
    """A progress update on an item of a confirmed programme (owner only; history kept)."""
    moment = utc_now(now)
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"action item {item_id}", entity="action_item", id=item_id)
    row = _load(session, item.programme_id)
    _require_owner(actor_id, row, "record_progress")
    if row.state != P.CONFIRMED.value:
        raise InvalidTransition(
            "progress is recorded on a confirmed programme", state=row.state, action="progress"
        )
    if not 0 <= percent <= 100:
        raise ValidationFailed("percent must be 0–100", field="percent", value=percent)
    if len(note) > 2000:
        raise ValidationFailed("note too long", field="note", max=2000)
    progress = ActionProgress(
        item_id=item_id, percent=percent, note=note.strip(), by_person_id=actor_id, at=moment
    )
    session.add(progress)
    record_audit(
        session,
        actor_id=actor_id,
        entity="action_item",
        entity_id=item_id,
        action="progress",
        now=moment,
        detail={"from": item.progress_percent, "to": percent},
    )
    item.progress_percent, item.last_progress_at = percent, moment
    session.add(item)
    session.flush()
    return ProgressView.model_validate(progress, from_attributes=True)


def list_progress(session: Session, *, actor_id: int | None, item_id: int) -> list[ProgressView]:
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"action item {item_id}", entity="action_item", id=item_id)
    if not may_read_programme(session, actor_id=actor_id, row=_load(session, item.programme_id)):
        raise PermissionDenied("this programme is not visible to you", action="read_programme")
    rows = session.exec(
        select(ActionProgress).where(ActionProgress.item_id == item_id).order_by(col(ActionProgress.id))
    ).all()
    return [ProgressView.model_validate(r, from_attributes=True) for r in rows]


def close_programme(
    session: Session,
    *,
    actor_id: int | None,
    programme_id: int,
    closing_assessment: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> ProgrammeView:
    """The owner's closing self-assessment at the end of the term; the programme is then closed."""
    moment = utc_now(now)
    if not closing_assessment or not closing_assessment.strip():
        raise ValidationFailed("the closing self-assessment is empty", field="closing_assessment")
    row = _load(session, programme_id)
    _require_owner(actor_id, row, "close_programme")
    if row.state != P.CONFIRMED.value:
        raise InvalidTransition(
            f"cannot close a programme in state {row.state}", state=row.state, action="close"
        )
    claim_version(session, row, expected_version=expected_version, what="programme")
    _transition(
        session,
        row,
        to=P.CLOSED.value,
        actor_id=actor_id,
        action="close",
        now=moment,
        allowed_from=(P.CONFIRMED.value,),
    )
    row.closing_assessment, row.closed_at = closing_assessment.strip(), moment
    session.add(row)
    session.flush()
    return _view(session, row)


def get_programme(session: Session, *, actor_id: int | None, programme_id: int) -> ProgrammeView:
    row = _load(session, programme_id)
    if not may_read_programme(session, actor_id=actor_id, row=row):
        raise PermissionDenied("this programme is not visible to you", action="read_programme")
    return _view(session, row)


def list_programmes(session: Session, *, actor_id: int | None, person_id: int) -> list[ProgrammeView]:
    """A person's programmes the actor may see, newest first."""
    rows = session.exec(
        select(ActionProgramme)
        .where(ActionProgramme.person_id == person_id)
        .order_by(col(ActionProgramme.id).desc())
    ).all()
    return [_view(session, r) for r in rows if may_read_programme(session, actor_id=actor_id, row=r)]


def list_waiting_confirmations(session: Session, *, head_id: int) -> list[ProgrammeView]:
    """Submitted programmes this head may confirm, oldest first."""
    rows = session.exec(
        select(ActionProgramme)
        .where(ActionProgramme.state == P.SUBMITTED.value)
        .order_by(col(ActionProgramme.submitted_at))
    ).all()
    return [_view(session, r) for r in rows if _may_confirm(session, head_id, r)]


def evidence_for_period(session: Session, *, person_id: int, period: str) -> list[EvidenceItem]:
    """Items of the person's confirmed (or closed) programmes whose term overlaps the period, soonest deadline first."""
    parsed = Period.parse(period)
    rows = session.exec(
        select(ActionProgramme, ActionItem)
        .join(ActionItem, col(ActionItem.programme_id) == ActionProgramme.id)
        .where(
            ActionProgramme.person_id == person_id,
            col(ActionProgramme.state).in_([P.CONFIRMED.value, P.CLOSED.value]),
            col(ActionProgramme.term_start) <= parsed.end,
            col(ActionProgramme.term_end) >= parsed.start,
        )
        .order_by(col(ActionItem.deadline), col(ActionItem.id))
    ).all()
    return [
        EvidenceItem(
            programme_id=programme.id or 0,
            post=programme.post,
            item_id=item.id or 0,
            commitment=item.commitment,
            target=item.target,
            deadline=item.deadline,
            progress_percent=item.progress_percent,
        )
        for programme, item in rows
    ]


def programme_history(session: Session, *, actor_id: int | None, programme_id: int) -> list[AuditView]:
    row = _load(session, programme_id)
    if not may_read_programme(session, actor_id=actor_id, row=row):
        raise PermissionDenied("this programme is not visible to you", action="read_programme")
    return list_audit(session, entity="action_programme", entity_id=programme_id)


def _latest_progress(session: Session, item_ids: Sequence[int]) -> dict[int, ProgressView]:
    latest: dict[int, ProgressView] = {}
    if not item_ids:
        return latest
    rows = session.exec(
        select(ActionProgress)
        .where(col(ActionProgress.item_id).in_(list(item_ids)))
        .order_by(col(ActionProgress.id))
    ).all()
    for r in rows:  # ascending ids: the last one per item wins
        latest[r.item_id] = ProgressView.model_validate(r, from_attributes=True)
    return latest


def _digest(session: Session, row: ActionProgramme) -> ProgrammeDigest:
    view = _view(session, row)
    person = load_person(session, row.person_id)
    unit = session.get(Unit, row.unit_id)
    return ProgrammeDigest(
        programme=view,
        person_code=person.cadre_code,
        unit_code=unit.code if unit else "",
        unit_name=unit.name if unit else "",
        latest=_latest_progress(session, [i.id for i in view.items]),
    )


def programme_digest(session: Session, *, actor_id: int | None, programme_id: int) -> ProgrammeDigest:
    """One programme with its owner, unit and each item's latest progress (read access checked)."""
    row = _load(session, programme_id)
    if not may_read_programme(session, actor_id=actor_id, row=row):
        raise PermissionDenied("this programme is not visible to you", action="read_programme")
    return _digest(session, row)


def list_unit_programmes(session: Session, *, actor_id: int | None, unit_id: int) -> list[ProgrammeDigest]:
    """Other people's confirmed or closed programmes in the unit's subtree that the actor may read.

    What «may read» means is `may_read_programme`: heads, staff and reviewers over a programme's unit read
    every level; the programme's own unit reads a party-cell one; anyone signed in reads a public one. Drafts,
    submitted and returned programmes stay with their owner and the confirming head. Ordered by unit code, then
    cadre code, newest programme first."""
    if session.get(Unit, unit_id) is None:
        raise NotFound(f"unit {unit_id}", entity="unit", id=unit_id)
    rows = session.exec(
        select(ActionProgramme, Person.cadre_code, Unit.code)
        .join(Person, col(Person.id) == col(ActionProgramme.person_id))
        .join(Unit, col(Unit.id) == col(ActionProgramme.unit_id))
        .where(
            col(ActionProgramme.unit_id).in_(sorted(unit_subtree(session, unit_id))),
            col(ActionProgramme.state).in_(SHARED),
        )
    ).all()
    ordered = sorted(rows, key=lambda r: (r[2], r[1], -(r[0].id or 0)))
    return [
        _digest(session, row)
        for row, _code, _unit in ordered
        if row.person_id != actor_id and may_read_programme(session, actor_id=actor_id, row=row)
    ]


def list_public_programmes(
    session: Session, *, actor_id: int | None, unit_id: int, include_ended: bool = False
) -> PublicProgrammes:
    """The public programmes of the unit's subtree that are in progress (confirmed), for the Fatherland Front and
    the People's Councils, who supervise what cadres are committed to now but are not on the roster: committee
    staff hand this list to them. `include_ended` adds the closed ones (term ended, closing self-assessment
    made); without it the list counts how many closed ones it left out (`ended_left_out`).

    Only «Công khai rộng rãi» programmes, whatever the actor may read otherwise (a head reads every level, but
    an internal or party-cell programme never leaves through this list); the actor's own public programme is
    included. Staff, heads and admins over the unit may make it (`actor_id=None`: the command line). Same
    order as `list_unit_programmes`, each item with its latest progress update."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id}", entity="unit", id=unit_id)
    require_role(
        session, actor_id=actor_id, roles=PUBLIC_EXPORT_ROLES, unit_id=unit_id, action="export_public"
    )
    # Read as the operator (every level, nobody's own programme left out), then keep the public ones only.
    readable = list_unit_programmes(session, actor_id=None, unit_id=unit_id)
    public = [d for d in readable if d.programme.publicity == Publicity.PUBLIC.value]
    ended = [d for d in public if d.programme.state == P.CLOSED.value]
    kept = public if include_ended else [d for d in public if d.programme.state != P.CLOSED.value]
    return PublicProgrammes(
        unit_code=unit.code,
        unit_name=unit.name,
        programmes=tuple(kept),
        include_ended=include_ended,
        ended_left_out=0 if include_ended else len(ended),
    )


def progress_followers(session: Session, *, programme_id: int) -> list[int]:
    """Who hears of a progress update: the head who confirmed the programme while they still head its unit,
    else the active heads of the nearest unit up the chain that has any (never the owner)."""
    row = _load(session, programme_id)
    confirmer = session.get(Person, row.confirmed_by_id) if row.confirmed_by_id is not None else None
    if (
        confirmer is not None
        and confirmer.id is not None
        and confirmer.active
        and confirmer.id != row.person_id
        and has_role(session, person_id=confirmer.id, roles=[Role.HEAD], unit_id=row.unit_id)
    ):
        return [confirmer.id]
    for unit in unit_chain(session, row.unit_id):
        heads = session.exec(
            select(RoleAssignment.person_id)
            .join(Person, col(Person.id) == col(RoleAssignment.person_id))
            .where(
                RoleAssignment.role == Role.HEAD.value,
                RoleAssignment.unit_id == unit,
                col(RoleAssignment.revoked_at).is_(None),
                col(Person.active).is_(True),
                col(Person.id) != row.person_id,
            )
            .order_by(col(RoleAssignment.person_id))
        ).all()
        if heads:
            return list(dict.fromkeys(int(h) for h in heads))
    return []
