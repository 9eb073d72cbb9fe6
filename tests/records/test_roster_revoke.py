"""Roster re-import is authoritative: deactivation, reactivation, role revocation, lock-out refusals, preview, staging."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from records.access import grant_role, roles_of
from records.audit import list_audit
from records.db import session_scope
from records.errors import ConcurrentUpdate, ImportRejected, InviteExpired, PermissionDenied, ValidationFailed
from records.invites import issue_invite, redeem_invite
from records.people import find_person_by_code, find_person_by_telegram, link_telegram, set_person_active
from records.roster import (
    RosterReport,
    apply_staged_roster,
    cancel_staged_roster,
    import_or_stage,
    import_roster,
)
from records.schema import AuditEntry, Person, RoleAssignment, RosterUpload, TelegramLink
from tests.records.org import ROSTER_CSV, Org

LATER = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
WITHOUT_EM = "\n".join(line for line in ROSTER_CSV.splitlines() if not line.startswith("BD04,")) + "\n"


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _import(engine: Engine, text: str, **kwargs: object) -> RosterReport:
    kwargs.setdefault("authoritative", True)
    with session_scope(engine) as session:
        return import_roster(session, data=text.encode(), filename="roster.csv", now=LATER, **kwargs)  # type: ignore[arg-type]


def _rejected(engine: Engine, text: str, **kwargs: object) -> RosterReport:
    kwargs.setdefault("authoritative", True)
    with pytest.raises(ImportRejected) as info, session_scope(engine) as session:
        import_roster(session, data=text.encode(), filename="roster.csv", now=LATER, **kwargs)  # type: ignore[arg-type]
    report = info.value.params["report"]
    assert isinstance(report, RosterReport)
    return report


def _snapshot(engine: Engine) -> tuple[Any, ...]:
    with Session(engine) as session:
        people = tuple(
            session.exec(select(Person.cadre_code, Person.active).order_by(Person.cadre_code)).all()
        )
        roles = tuple(
            session.exec(
                select(RoleAssignment.id, RoleAssignment.revoked_at).order_by(col(RoleAssignment.id))
            ).all()
        )
        links = tuple(
            session.exec(select(TelegramLink.telegram_user_id).order_by(col(TelegramLink.id))).all()
        )
    return people, roles, links, _count(engine, AuditEntry), _count(engine, RosterUpload)


def _sign_in(engine: Engine, org: Org, code: str, telegram_user_id: int) -> None:
    with session_scope(engine) as session:
        link_telegram(session, person_id=org.people[code], telegram_user_id=telegram_user_id)


def test_a_person_missing_from_their_units_file_is_deactivated_signed_out_and_keeps_history(
    db_engine: Engine, org: Org
) -> None:
    _sign_in(db_engine, org, "BD04", 9_000_000_004)
    with session_scope(db_engine) as session:
        invite = issue_invite(
            session, actor_id=None, person_id=org.people["BD04"], now=LATER - timedelta(days=1)
        )
    report = _import(db_engine, WITHOUT_EM)
    assert (report.people_deactivated, report.deactivated) == (1, ["Hoàng Văn Em (BD04)"])
    assert (report.roles_revoked, report.links_removed, report.invites_voided) == (1, 1, 1)
    assert report.telegram_user_ids == [9_000_000_004]
    assert report.people_unchanged == 8 and report.people_updated == 0
    with Session(db_engine) as session:
        em = session.get(Person, org.people["BD04"])
        assert em is not None and not em.active and em.full_name == "Hoàng Văn Em"  # kept, inactive
        assert find_person_by_telegram(session, telegram_user_id=9_000_000_004) is None
        assert roles_of(session, person_id=org.people["BD04"]) == []
        revoked = session.exec(
            select(RoleAssignment).where(RoleAssignment.person_id == org.people["BD04"])
        ).one()
        assert revoked.revoked_at is not None and revoked.revoked_by_id is None
        actions = [e.action for e in list_audit(session, entity="person", entity_id=org.people["BD04"])]
        assert actions[-1] == "deactivate"
        assert [
            e.action for e in list_audit(session, entity="role_assignment", entity_id=revoked.id or 0)
        ] == [
            "grant",
            "revoke",
        ]
        assert "void" in [e.action for e in list_audit(session, entity="invite_code", entity_id=1)]
        assert "unlink" in [
            e.action for e in list_audit(session, entity="telegram_link", entity_id=org.people["BD04"])
        ]
        # The other units' people (PX, HK, TU) are not in BD: untouched.
        assert all(p.active for p in session.exec(select(Person).where(Person.cadre_code != "BD04")).all())
    with pytest.raises(InviteExpired), session_scope(db_engine) as session:
        redeem_invite(session, code=invite.code, telegram_user_id=9_000_000_104, now=LATER)


def test_back_on_the_roster_means_active_again_with_the_listed_roles(db_engine: Engine, org: Org) -> None:
    _import(db_engine, WITHOUT_EM)
    with session_scope(db_engine) as session:
        report = import_roster(
            session,
            data=ROSTER_CSV.encode(),
            filename="r.csv",
            now=LATER + timedelta(days=30),
            authoritative=True,
        )
    assert (report.people_reactivated, report.people_deactivated, report.roles_granted) == (1, 0, 1)
    assert report.people_updated == 0 and report.people_unchanged == 8
    with Session(db_engine) as session:
        em = find_person_by_code(session, cadre_code="BD04")
        assert em is not None and em.active
        assert {r.role for r in roles_of(session, person_id=em.id)} == {"cadre"}
        assert [e.action for e in list_audit(session, entity="person", entity_id=em.id)][-2:] == [
            "deactivate",
            "activate",
        ]
    assert _import(db_engine, ROSTER_CSV).destructive is False  # idempotent


def test_vai_tro_is_the_whole_truth_for_people_in_the_file(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:  # a manual grant, then the roster says otherwise
        grant_role(
            session, actor_id=None, person_id=org.people["BD03"], role="staff", unit_id=org.units["BD"]
        )
    changed = ROSTER_CSV.replace(
        "BD01,Trần Thị Bình,+84 902 000 002,Bí thư,BD,Quận ủy Ba Đình,TU,,thủ trưởng,",
        "BD01,Trần Thị Bình,+84 902 000 002,Bí thư,BD,Quận ủy Ba Đình,TU,,cán bộ,",
    )
    report = _import(db_engine, changed)
    assert (report.roles_revoked, report.roles_granted, report.people_deactivated) == (2, 1, 0)
    with Session(db_engine) as session:
        assert {r.role for r in roles_of(session, person_id=org.people["BD01"])} == {"cadre"}
        assert {r.role for r in roles_of(session, person_id=org.people["BD03"])} == {"cadre"}
        reasons = [
            e.detail["reason"]
            for e in session.exec(select(AuditEntry).where(AuditEntry.action == "revoke")).all()
            if e.detail
        ]
        assert reasons == ["not_listed", "not_listed"]
    # Without a "Vai trò" column the roles are left alone.
    no_roles = "Mã cán bộ,Họ và tên,Mã đơn vị\n" + "\n".join(
        ",".join(line.split(",")[i] for i in (0, 1, 4)) for line in ROSTER_CSV.splitlines()[1:]
    )
    report = _import(db_engine, no_roles)
    assert (report.roles_revoked, report.roles_granted, report.people_deactivated) == (0, 0, 0)


def test_a_supplementary_file_only_adds(db_engine: Engine, org: Org) -> None:
    extra = "Mã cán bộ,Họ và tên,Mã đơn vị,Vai trò\nBD09,Người Mới,BD,cán bộ\n"
    report = _import(db_engine, extra, authoritative=False)
    assert (report.people_created, report.people_deactivated, report.roles_revoked) == (1, 0, 0)
    preview = _import(db_engine, extra, dry_run=True)
    assert preview.people_deactivated == 4 and preview.dry_run


def test_the_last_admin_and_the_importing_admin_are_protected(db_engine: Engine, org: Org) -> None:
    before = _snapshot(db_engine)
    no_admin = ROSTER_CSV.replace("admin;staff", "staff")
    report = _rejected(db_engine, no_admin)
    assert [(i.row, i.code, i.value) for i in report.issues] == [(2, "last_admin", "TU01")]
    without_tu01 = "\n".join(line for line in ROSTER_CSV.splitlines() if not line.startswith("TU01,")) + "\n"
    tu02_instead = without_tu01 + "TU02,Người Thay,0901000012,Trưởng ban,TU,,,,chuyên viên,\n"
    report = _rejected(db_engine, tu02_instead, dry_run=True)
    assert [(i.row, i.code, i.value) for i in report.issues] == [(0, "last_admin", "TU01")]
    assert _snapshot(db_engine) == before
    # With a second admin (HK01 over HK, from the file), TU01 may drop admin, but not by their own hand.
    hk_admin = ROSTER_CSV.replace("TU,,thủ trưởng,\nHK02", "TU,,thủ trưởng;quản trị,\nHK02")
    assert _import(db_engine, hk_admin).roles_granted == 1
    before = _snapshot(db_engine)
    no_tu_admin = hk_admin.replace("admin;staff", "staff")
    report = _rejected(db_engine, no_tu_admin, actor_id=org.people["TU01"])
    assert [(i.row, i.code) for i in report.issues] == [(2, "self_admin_revoked")]
    hk_without_hk01 = (
        ROSTER_CSV.splitlines()[0] + "\nHK02,Ngô Văn Khoa,0909000009,Chuyên viên,HK,,,,cán bộ,\n"
    )
    report = _rejected(db_engine, hk_without_hk01, actor_id=org.people["HK01"])
    assert [(i.row, i.code, i.value) for i in report.issues] == [(0, "self_deactivation", "HK01")]
    assert _snapshot(db_engine) == before
    assert _import(db_engine, no_tu_admin).roles_revoked == 1


def test_roles_beyond_the_importing_admins_reach_are_kept(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        grant_role(
            session, actor_id=None, person_id=org.people["BD01"], role="admin", unit_id=org.units["BD"]
        )
        grant_role(
            session, actor_id=None, person_id=org.people["BD03"], role="staff", unit_id=org.units["TU"]
        )
    bd_only = (
        "\n".join(line for line in ROSTER_CSV.splitlines() if line.startswith(("Mã", "BD"))).replace(
            ",thủ trưởng,", ",thủ trưởng;quản trị,"
        )
        + "\n"
    )
    report = _import(db_engine, bd_only, actor_id=org.people["BD01"])
    assert (report.roles_kept_outside_scope, report.roles_revoked, report.people_deactivated) == (1, 0, 0)
    with Session(db_engine) as session:
        assert ("staff", "TU") in {
            (r.role, r.unit_code) for r in roles_of(session, person_id=org.people["BD03"])
        }
    with pytest.raises(PermissionDenied), session_scope(db_engine) as session:  # HK is not BD01's
        import_roster(
            session,
            data="Mã cán bộ,Họ và tên,Mã đơn vị\nX,Y,HK\n".encode(),
            filename="r.csv",
            actor_id=org.people["BD01"],
            dry_run=True,
        )


def test_a_dry_run_writes_nothing_and_predicts_the_import(db_engine: Engine, org: Org) -> None:
    _sign_in(db_engine, org, "BD04", 9_000_000_004)
    before = _snapshot(db_engine)
    with session_scope(db_engine) as session:
        preview = import_roster(
            session, data=WITHOUT_EM.encode(), filename="r.csv", now=LATER, dry_run=True, authoritative=True
        )
    assert _snapshot(db_engine) == before
    applied = _import(db_engine, WITHOUT_EM)
    assert preview.dry_run and not applied.dry_run
    for name in ("people_deactivated", "deactivated", "roles_revoked", "links_removed", "people_unchanged"):
        assert getattr(preview, name) == getattr(applied, name), name


def test_a_destructive_upload_waits_for_one_confirmation(db_engine: Engine, org: Org) -> None:
    admin = org.people["TU01"]
    before = _snapshot(db_engine)
    with session_scope(db_engine) as session:
        outcome = import_or_stage(
            session, data=WITHOUT_EM.encode(), filename="r.csv", actor_id=admin, now=LATER
        )
    assert outcome.upload_id is not None and outcome.report.people_deactivated == 1
    people, roles, links, audits, uploads = _snapshot(db_engine)
    assert (people, roles, links, uploads) == (*before[:3], 1) and audits == before[3] + 1  # only "stage"
    with pytest.raises(PermissionDenied), session_scope(db_engine) as session:
        apply_staged_roster(session, upload_id=outcome.upload_id, actor_id=org.people["BD01"], now=LATER)
    with session_scope(db_engine) as session:
        report = apply_staged_roster(session, upload_id=outcome.upload_id, actor_id=admin, now=LATER)
    assert report.people_deactivated == 1 and not report.dry_run
    with pytest.raises(ConcurrentUpdate) as info, session_scope(db_engine) as session:
        apply_staged_roster(session, upload_id=outcome.upload_id, actor_id=admin, now=LATER)
    assert info.value.params["state"] == "applied"
    with Session(db_engine) as session:
        upload = session.get(RosterUpload, outcome.upload_id)
        assert upload is not None and upload.data == b"" and upload.mode == "full"
        assert _count(db_engine, Person) == 9


def test_a_harmless_upload_applies_at_once_and_supplement_mode_keeps_everyone(
    db_engine: Engine, org: Org
) -> None:
    with session_scope(db_engine) as session:
        outcome = import_or_stage(
            session, data=ROSTER_CSV.encode(), filename="r.csv", actor_id=None, now=LATER
        )
    assert outcome.upload_id is None and outcome.report.accepted and _count(db_engine, RosterUpload) == 0
    extra = "Mã cán bộ,Họ và tên,Mã đơn vị,Vai trò\nBD09,Người Mới,BD,cán bộ\n"
    with session_scope(db_engine) as session:
        staged = import_or_stage(session, data=extra.encode(), filename="r.csv", actor_id=None, now=LATER)
    assert staged.upload_id is not None and staged.report.people_deactivated == 4
    with session_scope(db_engine) as session:
        report = apply_staged_roster(
            session, upload_id=staged.upload_id, actor_id=None, mode="supplement", now=LATER
        )
    assert (report.people_created, report.people_deactivated) == (1, 0)


def test_cancel_expiry_and_superseded_uploads(db_engine: Engine, org: Org) -> None:
    admin = org.people["TU01"]

    def stage(at: datetime) -> int:
        with session_scope(db_engine) as session:
            outcome = import_or_stage(
                session, data=WITHOUT_EM.encode(), filename="r.csv", actor_id=admin, now=at
            )
        assert outcome.upload_id is not None
        return outcome.upload_id

    first = stage(LATER)
    second = stage(LATER)  # supersedes the first
    with pytest.raises(ConcurrentUpdate) as info, session_scope(db_engine) as session:
        apply_staged_roster(session, upload_id=first, actor_id=admin, now=LATER)
    assert info.value.params["state"] == "cancelled"
    with session_scope(db_engine) as session:
        cancel_staged_roster(session, upload_id=second, actor_id=admin, now=LATER)
    with pytest.raises(ConcurrentUpdate), session_scope(db_engine) as session:
        cancel_staged_roster(session, upload_id=second, actor_id=admin, now=LATER)
    third = stage(LATER)
    with pytest.raises(ValidationFailed) as expired, session_scope(db_engine) as session:
        apply_staged_roster(session, upload_id=third, actor_id=admin, now=LATER + timedelta(days=2))
    assert expired.value.params == {"field": "roster_upload", "reason": "expired"}
    with Session(db_engine) as session:
        assert session.get(Person, org.people["BD04"]).active  # type: ignore[union-attr]
        assert [u.data == b"" for u in session.exec(select(RosterUpload).order_by(col(RosterUpload.id)))] == [
            True,
            True,
            False,
        ]


def test_two_confirmations_at_once_apply_once(db_engine: Engine, org: Org) -> None:
    admin = org.people["TU01"]
    with session_scope(db_engine) as session:
        outcome = import_or_stage(
            session, data=WITHOUT_EM.encode(), filename="r.csv", actor_id=admin, now=LATER
        )
    assert outcome.upload_id is not None
    upload_id = outcome.upload_id
    results: list[str] = []
    barrier = threading.Barrier(2)

    def tap() -> None:
        barrier.wait()
        try:
            with session_scope(db_engine) as session:
                apply_staged_roster(session, upload_id=upload_id, actor_id=admin, now=LATER)
            results.append("applied")
        except ConcurrentUpdate:
            results.append("refused")

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["applied", "refused"]
    with Session(db_engine) as session:
        deactivations = session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deactivate")
        ).one()
    assert deactivations == 1


def test_a_file_that_would_lock_the_admin_out_is_staged_for_add_only(db_engine: Engine, org: Org) -> None:
    admin = org.people["TU01"]
    newcomer = ROSTER_CSV.splitlines()[0] + "\nTU09,Người Mới,0901000099,Chuyên viên,TU,,,,cán bộ,\n"
    with session_scope(db_engine) as session:
        outcome = import_or_stage(
            session, data=newcomer.encode(), filename="r.csv", actor_id=admin, now=LATER
        )
    assert outcome.upload_id is not None
    assert {i.code for i in outcome.blocked} == {"last_admin", "self_deactivation"}
    assert (outcome.report.people_created, outcome.report.people_deactivated) == (1, 0)
    with pytest.raises(ImportRejected), session_scope(db_engine) as session:  # full mode stays refused
        apply_staged_roster(session, upload_id=outcome.upload_id, actor_id=admin, now=LATER)
    with session_scope(db_engine) as session:
        report = apply_staged_roster(
            session, upload_id=outcome.upload_id, actor_id=admin, mode="supplement", now=LATER
        )
    assert report.people_created == 1 and _count(db_engine, Person) == 10


def test_deactivating_by_hand_also_voids_unused_invites(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    with session_scope(db_engine) as session:
        invite = issue_invite(session, actor_id=None, person_id=dung, now=LATER)
        set_person_active(session, actor_id=org.people["TU01"], person_id=dung, active=False, now=LATER)
    with pytest.raises(InviteExpired), session_scope(db_engine) as session:
        redeem_invite(session, code=invite.code, telegram_user_id=9_000_000_203, now=LATER)


def test_a_roster_file_nobody_confirms_is_erased_after_it_expires(db_engine: Engine, org: Org) -> None:
    from records.roster import purge_expired_uploads

    admin = org.people["TU01"]
    with session_scope(db_engine) as session:
        outcome = import_or_stage(
            session, data=WITHOUT_EM.encode(), filename="r.csv", actor_id=admin, now=LATER
        )
    assert outcome.upload_id is not None
    with session_scope(db_engine) as session:  # still within the day: kept for the admin to confirm
        assert purge_expired_uploads(session, now=LATER + timedelta(hours=23)) == 0
    with session_scope(db_engine) as session:
        assert purge_expired_uploads(session, now=LATER + timedelta(hours=25)) == 1
    with Session(db_engine) as session:
        upload = session.get(RosterUpload, outcome.upload_id)
        assert upload is not None and upload.data == b"" and upload.state == "cancelled"
    with pytest.raises(ConcurrentUpdate), session_scope(db_engine) as session:
        apply_staged_roster(
            session, upload_id=outcome.upload_id, actor_id=admin, now=LATER + timedelta(hours=25)
        )
