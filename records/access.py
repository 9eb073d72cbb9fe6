"""Roles with unit scopes (a scope covers the unit's subtree) and the permission checks of every service."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from records.audit import record_audit
from records.clock import utc_now
from records.errors import NotFound, PermissionDenied, ValidationFailed
from records.schema import Person, Role, RoleAssignment, Unit
from records.views import RoleView

log = logging.getLogger(__name__)

ROLE_VALUES = frozenset(r.value for r in Role)


def unit_chain(session: Session, unit_id: int) -> list[int]:
    """The unit and its ancestors, nearest first."""
    chain: list[int] = []
    current: int | None = unit_id
    while current is not None and current not in chain:
        chain.append(current)
        unit = session.get(Unit, current)
        current = unit.parent_id if unit is not None else None
    return chain


def unit_subtree(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.exec(select(Unit.id, Unit.parent_id)).all():
        children.setdefault(parent, []).append(int(uid))  # type: ignore[arg-type]
    found: set[int] = set()
    stack = [unit_id]
    while stack:
        uid = stack.pop()
        if uid in found:
            continue
        found.add(uid)
        stack.extend(children.get(uid, []))
    return found


def unit_depth(session: Session, unit_id: int) -> int:
    """0 for a root unit, 1 for its children, …"""
    return len(unit_chain(session, unit_id)) - 1


def _active_assignments(session: Session, person_id: int) -> list[RoleAssignment]:
    return list(
        session.exec(
            select(RoleAssignment).where(
                RoleAssignment.person_id == person_id, col(RoleAssignment.revoked_at).is_(None)
            )
        ).all()
    )


def role_holders(session: Session, *, unit_id: int, roles: Iterable[Role | str]) -> list[int]:
    """Active people holding one of `roles` with a scope covering `unit_id`, nearest unit first (then by id)."""
    chain = unit_chain(session, unit_id)
    rank = {unit: i for i, unit in enumerate(chain)}
    rows = session.exec(
        select(RoleAssignment.person_id, RoleAssignment.unit_id)
        .join(Person, col(Person.id) == col(RoleAssignment.person_id))
        .where(
            col(RoleAssignment.role).in_([str(r) for r in roles]),
            col(RoleAssignment.unit_id).in_(chain),
            col(RoleAssignment.revoked_at).is_(None),
            col(Person.active).is_(True),
        )
    ).all()
    nearest: dict[int, int] = {}
    for person_id, unit in rows:
        nearest[int(person_id)] = min(nearest.get(int(person_id), len(chain)), rank[unit])
    return sorted(nearest, key=lambda pid: (nearest[pid], pid))


def has_role(session: Session, *, person_id: int, roles: Iterable[Role | str], unit_id: int) -> bool:
    """Whether the person holds one of `roles` with a scope covering `unit_id`."""
    wanted = {str(r) for r in roles}
    chain = set(unit_chain(session, unit_id))
    return any(a.role in wanted and a.unit_id in chain for a in _active_assignments(session, person_id))


def scope_units(session: Session, *, person_id: int, roles: Iterable[Role | str]) -> set[int]:
    """Every unit covered by the person's assignments of `roles`."""
    wanted = {str(r) for r in roles}
    units: set[int] = set()
    for assignment in _active_assignments(session, person_id):
        if assignment.role in wanted:
            units |= unit_subtree(session, assignment.unit_id)
    return units


def require_role(
    session: Session, *, actor_id: int | None, roles: Iterable[Role | str], unit_id: int, action: str
) -> None:
    """Raise `PermissionDenied` unless the actor holds one of `roles` over `unit_id`.

    `actor_id=None` is the trusted operator (the command line) and passes every check.
    """
    if actor_id is None:
        return
    roles = tuple(roles)
    if not has_role(session, person_id=actor_id, roles=roles, unit_id=unit_id):
        unit = session.get(Unit, unit_id)
        raise PermissionDenied(
            f"{action}: needs role {'/'.join(str(r) for r in roles)} over unit {unit.code if unit else unit_id}",
            action=action,
            roles=[str(r) for r in roles],
            unit_id=unit_id,
        )


def _role_view(session: Session, assignment: RoleAssignment) -> RoleView:
    unit = session.get(Unit, assignment.unit_id)
    assert unit is not None and assignment.id is not None
    return RoleView(
        id=assignment.id,
        person_id=assignment.person_id,
        role=assignment.role,
        unit_id=assignment.unit_id,
        unit_code=unit.code,
        unit_name=unit.name,
        granted_at=assignment.granted_at,
    )


def roles_of(session: Session, *, person_id: int) -> list[RoleView]:
    """The person's active roles with their scopes."""
    return [
        _role_view(session, a)
        for a in sorted(_active_assignments(session, person_id), key=lambda a: a.id or 0)
    ]


def grant_role(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    role: Role | str,
    unit_id: int,
    now: datetime | None = None,
) -> RoleView:
    """Give `role` over `unit_id` (idempotent: an active identical assignment is returned as is)."""
    moment = utc_now(now)
    if str(role) not in ROLE_VALUES:
        raise ValidationFailed(
            f"unknown role {role!r}", field="role", value=str(role), allowed=sorted(ROLE_VALUES)
        )
    if session.get(Person, person_id) is None:
        raise NotFound(f"person {person_id}", entity="person", id=person_id)
    if session.get(Unit, unit_id) is None:
        raise NotFound(f"unit {unit_id}", entity="unit", id=unit_id)
    require_role(session, actor_id=actor_id, roles=[Role.ADMIN], unit_id=unit_id, action="grant_role")
    for existing in _active_assignments(session, person_id):
        if existing.role == str(role) and existing.unit_id == unit_id:
            return _role_view(session, existing)
    assignment = RoleAssignment(
        person_id=person_id, role=str(role), unit_id=unit_id, granted_at=moment, granted_by_id=actor_id
    )
    session.add(assignment)
    session.flush()
    assert assignment.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="role_assignment",
        entity_id=assignment.id,
        action="grant",
        now=moment,
        detail={"person_id": person_id, "role": str(role), "unit_id": unit_id},
    )
    log.info("role %s granted to person %s over unit %s", role, person_id, unit_id)
    return _role_view(session, assignment)


def revoke_role(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    role: Role | str,
    unit_id: int,
    now: datetime | None = None,
) -> int:
    """Revoke the matching active assignments (kept as history); returns how many were revoked."""
    moment = utc_now(now)
    require_role(session, actor_id=actor_id, roles=[Role.ADMIN], unit_id=unit_id, action="revoke_role")
    count = 0
    for existing in _active_assignments(session, person_id):
        if existing.role == str(role) and existing.unit_id == unit_id:
            existing.revoked_at = moment
            existing.revoked_by_id = actor_id
            session.add(existing)
            assert existing.id is not None
            record_audit(
                session,
                actor_id=actor_id,
                entity="role_assignment",
                entity_id=existing.id,
                action="revoke",
                now=moment,
                detail={"person_id": person_id, "role": str(role), "unit_id": unit_id},
            )
            count += 1
    session.flush()
    return count
