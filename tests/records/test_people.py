"""Sign-in look-ups, Telegram links, roles with subtree scopes, invite codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.access import grant_role, has_role, revoke_role, roles_of, scope_units
from records.audit import list_audit
from records.db import session_scope
from records.errors import (
    AlreadyLinked,
    InviteExpired,
    InviteInvalid,
    InviteUsed,
    PermissionDenied,
    ValidationFailed,
)
from records.invites import issue_invite, redeem_invite
from records.people import (
    find_person_by_phone,
    find_person_by_telegram,
    link_telegram,
    list_people,
    normalise_phone,
    set_person_active,
    telegram_link_of,
    telegram_links,
    unlink_telegram,
)
from tests.records.org import Org

T0 = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912345678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("84912345678", "0912345678"),
        ("+84 91 234 5678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("912345678", "0912345678"),
        ("912345678.0", "0912345678"),
        ("(024) 3825 1234", "02438251234"),
        ("", None),
    ],
)
def test_phone_forms_normalise_to_one(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "+1 202 555 0100", "09123456789012", "09x2345678", "0012345678"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        normalise_phone(raw)
    assert info.value.params["field"] == "phone"


def test_find_by_phone_in_the_forms_telegram_shares(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session:
        for shared in ("84902000002", "+84902000002", "0902000002"):
            person = find_person_by_phone(session, phone=shared)
            assert person is not None and person.cadre_code == "BD01"
            assert person.unit_code == "BD"
        assert find_person_by_phone(session, phone="0999999999") is None
        assert find_person_by_phone(session, phone="garbage") is None


def test_link_telegram_then_find_and_relink_rules(db_engine: Engine, org: Org) -> None:
    big_id = 7_000_000_001  # beyond a 32-bit INTEGER: must survive on Postgres
    with session_scope(db_engine) as session:
        link = link_telegram(
            session, person_id=org.people["BD03"], telegram_user_id=big_id, chat_id=big_id, now=T0
        )
        assert link.telegram_user_id == big_id
        # Same pair again: idempotent.
        link_telegram(session, person_id=org.people["BD03"], telegram_user_id=big_id, now=T0)
    with Session(db_engine) as session:
        person = find_person_by_telegram(session, telegram_user_id=big_id)
        assert person is not None and person.cadre_code == "BD03"
        with pytest.raises(AlreadyLinked):
            link_telegram(session, person_id=org.people["BD04"], telegram_user_id=big_id, now=T0)
    with session_scope(db_engine) as session:
        # The person's new account replaces the old one.
        link_telegram(session, person_id=org.people["BD03"], telegram_user_id=big_id + 1, now=T0)
    with Session(db_engine) as session:
        assert find_person_by_telegram(session, telegram_user_id=big_id) is None
        link_view = telegram_link_of(session, person_id=org.people["BD03"])
        assert link_view is not None and link_view.telegram_user_id == big_id + 1
        actions = [
            e.action for e in list_audit(session, entity="telegram_link", entity_id=org.people["BD03"])
        ]
        assert actions == ["link", "replace", "link"]
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        unlink_telegram(session, actor_id=org.people["BD04"], person_id=org.people["BD03"])
    with session_scope(db_engine) as session:
        assert unlink_telegram(session, actor_id=org.people["TU01"], person_id=org.people["BD03"], now=T0)
    with Session(db_engine) as session:
        assert telegram_link_of(session, person_id=org.people["BD03"]) is None


def test_roles_cover_the_unit_subtree(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session:
        head_bd = org.people["BD01"]
        assert has_role(session, person_id=head_bd, roles=["head"], unit_id=org.units["PX"])  # below BD
        assert not has_role(session, person_id=head_bd, roles=["head"], unit_id=org.units["HK"])  # sibling
        assert not has_role(session, person_id=head_bd, roles=["head"], unit_id=org.units["TU"])  # above
        assert scope_units(session, person_id=head_bd, roles=["head"]) == {org.units["BD"], org.units["PX"]}
        staff = org.people["TU01"]
        assert scope_units(session, person_id=staff, roles=["staff"]) == set(org.units.values())
        assert {r.role for r in roles_of(session, person_id=org.people["PX01"])} == {"head", "cadre"}


def test_grant_and_revoke_need_an_admin_over_the_unit(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        with pytest.raises(PermissionDenied) as info:
            grant_role(
                session,
                actor_id=org.people["BD01"],
                person_id=org.people["BD03"],
                role="reviewer",
                unit_id=org.units["BD"],
            )
        assert "admin" in info.value.detail
    with session_scope(db_engine) as session:
        view = grant_role(
            session,
            actor_id=org.people["TU01"],
            person_id=org.people["BD03"],
            role="reviewer",
            unit_id=org.units["BD"],
            now=T0,
        )
        again = grant_role(
            session,
            actor_id=org.people["TU01"],
            person_id=org.people["BD03"],
            role="reviewer",
            unit_id=org.units["BD"],
            now=T0,
        )
        assert again.id == view.id
        with pytest.raises(ValidationFailed):
            grant_role(
                session, actor_id=None, person_id=org.people["BD03"], role="emperor", unit_id=org.units["BD"]
            )
    with session_scope(db_engine) as session:
        assert (
            revoke_role(
                session,
                actor_id=None,
                person_id=org.people["BD03"],
                role="reviewer",
                unit_id=org.units["BD"],
                now=T0,
            )
            == 1
        )
    with Session(db_engine) as session:
        assert "reviewer" not in {r.role for r in roles_of(session, person_id=org.people["BD03"])}
        history = list_audit(session, entity="role_assignment", entity_id=view.id)
        assert [e.action for e in history] == ["grant", "revoke"]  # revoked rows stay as history


def test_invite_is_one_time_and_expires(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        with pytest.raises(PermissionDenied):
            issue_invite(session, actor_id=org.people["BD03"], person_id=org.people["BD04"])
        invite = issue_invite(session, actor_id=org.people["TU01"], person_id=org.people["BD04"], now=T0)
        expiring = issue_invite(
            session, actor_id=None, person_id=org.people["HK02"], ttl=timedelta(hours=1), now=T0
        )
    assert len(invite.code) == 9 and invite.code[4] == "-"
    with session_scope(db_engine) as session:
        person = redeem_invite(
            session, code=invite.code.lower().replace("-", " "), telegram_user_id=42, now=T0
        )
        assert person.cadre_code == "BD04"
    with Session(db_engine) as session:
        found = find_person_by_telegram(session, telegram_user_id=42)
        assert found is not None and found.id == org.people["BD04"]
        with pytest.raises(InviteUsed):
            redeem_invite(session, code=invite.code, telegram_user_id=43, now=T0)
        with pytest.raises(InviteExpired):
            redeem_invite(session, code=expiring.code, telegram_user_id=44, now=T0 + timedelta(hours=2))
        with pytest.raises(InviteInvalid):
            redeem_invite(session, code="ABCD-EFGH", telegram_user_id=45, now=T0)
        with pytest.raises(InviteInvalid):
            redeem_invite(session, code="short", telegram_user_id=45, now=T0)


def test_deactivated_people_cannot_sign_in_and_keep_history(db_engine: Engine, org: Org) -> None:
    em = org.people["BD04"]
    with session_scope(db_engine) as session:
        link_telegram(session, person_id=em, telegram_user_id=77, now=T0)
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        set_person_active(session, actor_id=org.people["BD01"], person_id=em, active=False)
    with session_scope(db_engine) as session:
        view = set_person_active(session, actor_id=org.people["TU01"], person_id=em, active=False, now=T0)
    assert not view.active
    with Session(db_engine) as session:
        assert find_person_by_telegram(session, telegram_user_id=77) is None
        assert find_person_by_phone(session, phone="0905000005") is None
        assert em not in {p.id for p in list_people(session)}
        assert [e.action for e in list_audit(session, entity="person", entity_id=em)][-1] == "deactivate"
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed):
        link_telegram(session, person_id=em, telegram_user_id=78)


def test_telegram_links_in_one_query(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        for offset, code in enumerate(("BD02", "BD03")):
            link_telegram(
                session, person_id=org.people[code], telegram_user_id=900 + offset, chat_id=800 + offset
            )
    with Session(db_engine) as session:
        links = telegram_links(session)
        assert {pid: link.chat_id for pid, link in links.items()} == {
            org.people["BD02"]: 800,
            org.people["BD03"]: 801,
        }
        assert set(telegram_links(session, person_ids={org.people["BD03"], org.people["HK02"]})) == {
            org.people["BD03"]
        }
