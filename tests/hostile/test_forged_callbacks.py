"""Callback data forged by a modified client: every button family aimed at another unit's records, by
people of a sibling unit, a stranger and a reviewer whose role was just revoked. Each gets a clear refusal,
reads nothing of the other unit and changes nothing."""

from __future__ import annotations

import pytest

from bot import texts
from bot import texts_workflows as tw
from records.access import revoke_role
from records.db import make_engine, session_scope
from records.people import find_person_by_code, find_unit_by_code
from tests.hostile.conftest import BD_NAMES, STRANGER, USERS, Arena, Seeded

pytestmark = pytest.mark.slow

# What a refused press may answer (toast, alert or message), all in Vietnamese and saying what to do.
REFUSALS = (
    tw.RECORD_GONE,
    tw.NOT_YOUR_REVIEW,
    tw.ACTION_NOT_ALLOWED,
    texts.BUTTON_EXPIRED,
    texts.ANSWER_EXPIRED,
    "Bạn không có quyền dùng chức năng này",
    "Bạn cần đăng nhập để dùng chức năng này",
    "nằm ngoài phạm vi bạn phụ trách",  # the public-programmes export of a unit outside the presser's scope
    # the owner's own record with an id or a value that does not fit (shown as a sentence, capitalised)
    texts.ERROR_CODES["validation"][:1].upper() + texts.ERROR_CODES["validation"][1:],
)


def aimed_at_bd(s: Seeded) -> list[str]:
    """Every button family with the ids of unit BD's records (and a few malformed shapes)."""
    e, v, d, dt = s.submitted_eid, s.submitted_version, s.draft_eid, s.draft_task_id
    p, pv, item = s.programme_id, s.programme_version, s.item_id
    r = s.rotation_review_ids[0]
    return [
        f"kh:del:2026-10:{s.task_id}",
        f"kh:del:2026-10:{dt}",
        "kh:add:2099-99",
        f"dg:card:{e}",
        f"dg:task:{d}:{dt}",
        f"dg:res:{d}:{dt}:on_time",
        f"dg:val:{d}:tasks:70",
        f"dg:cmt:{d}",
        f"dg:send:{d}:1",
        f"dg:wd:{e}:{v}",
        f"dy:open:{e}",
        f"dy:ok:{e}:{v}",
        f"dy:adjk:{e}:tasks",
        f"dy:ret:{e}:{v}",
        f"dy:dec:{e}:A",
        f"dy:decok:{e}:A:{v}",
        f"dy:decover:{e}:A:{v}",
        f"dy:reopen:{e}",
        f"dy:pcmt:{d}",
        f"dy:pchg:{d}:0123456789abcdef",
        f"dy:pchg:{e}:0123456789abcdef",
        "kh:open:2026-10",
        f"ct:open:{p}",
        f"ct:item:{p}",
        f"ct:check:{p}",
        f"ct:send:{p}:{pv}",
        f"ct:prog:{p}:{item}",
        f"ct:ok:{p}:{pv}",
        f"ct:ret:{p}:{pv}",
        f"ct:xls:{s.unit_id}",
        f"lc:fill:{r}:s",
        f"lc:fill:{r}:c",
        f"lc:grade:{r}:A",
        f"kq:hist:{e}",
        f"qa:art:{s.answer_id}:0",
        f"qa:fb:{s.answer_id}:down",
        f"qa:handoff:{s.answer_id}",
        "doc:rmok:0123456789ab",
        f"roster:full:{s.upload_id}",
        f"roster:add:{s.upload_id}",
        f"roster:no:{s.upload_id}",
        # mangled shapes
        "kh:del:2026-10:abc",
        f"dg:task:{d}:x",
        f"dy:ok:{e}:x",
        f"ct:ok:{p}:x",
        "lc:fill:x:s",
        "qa:fb:1:up:extra",
        "zz:1",
        "x" * 64,
    ]


def check_refused(arena: Arena, who: str, uid: int, data: str) -> None:
    outcome = arena.forge(uid, data)
    everything = outcome.everything
    # A plan button only ever opens the presser's own plan: a task id from elsewhere leaves it as it was.
    accepted = (*REFUSALS, "🗓 Kế hoạch công việc kỳ 2026-10") if data.startswith("kh:") else REFUSALS
    assert any(r in everything for r in accepted), f"{who} {data}: {outcome.texts!r}"
    leaked = [name for name in BD_NAMES if name in everything]
    assert not leaked, f"{who} {data} read {leaked}: {outcome.texts!r}"


def test_forged_buttons_from_a_sibling_unit_and_a_stranger_change_and_reveal_nothing(arena: Arena) -> None:
    attackers = {"HK01": USERS["HK01"], "HK02": USERS["HK02"], "HK04": USERS["HK04"], "stranger": STRANGER}
    for uid in [*attackers.values(), USERS["HK03"]]:  # a plan button opens (creates) the presser's own plan
        arena.forge(uid, "kh:done:2026-10")
    before = arena.digest()
    cases = aimed_at_bd(arena.seeded)
    for who, uid in attackers.items():
        for data in cases:
            check_refused(arena, who, uid, data)
    # Committee staff of the sibling unit: no reply to a hand-off is needed to test, the rest must hold.
    for data in cases:
        if not data.startswith("qa:reply"):
            check_refused(arena, "HK03", USERS["HK03"], data)
    check_refused(arena, "stranger", STRANGER, "md:fix")
    check_refused(arena, "stranger", STRANGER, f"qa:reply:{arena.seeded.handoff_id}")
    check_refused(arena, "HK02", USERS["HK02"], f"qa:reply:{arena.seeded.handoff_id}")
    after = arena.digest()
    assert {k for k in before if before[k] != after[k]} == set()


def test_the_owner_with_mangled_ids_and_a_revoked_reviewer_are_refused(arena: Arena) -> None:
    s = arena.seeded
    before = arena.digest()
    for data in (
        f"dg:task:{s.draft_eid}:x",
        f"dg:res:{s.draft_eid}:999999:on_time",
        f"dg:val:{s.draft_eid}:tasks:9999",
    ):
        outcome = arena.forge(USERS["BD04"], data)
        assert any(r in outcome.everything for r in REFUSALS), (data, outcome.texts)
    outcome = arena.forge(USERS["BD03"], f"ct:prog:{s.programme_id}:999999")
    assert outcome.texts, "the owner's press on a stranger item got no answer"
    assert arena.digest() == before

    engine = make_engine(arena.db_url)
    try:
        with session_scope(engine) as session:
            admin = find_person_by_code(session, cadre_code="QT01")
            reviewer = find_person_by_code(session, cadre_code="BD06")  # a reviewer, not the manager
            unit = find_unit_by_code(session, code="BD")
            assert admin is not None and reviewer is not None and unit is not None
            assert revoke_role(
                session, actor_id=admin.id, person_id=reviewer.id, role="reviewer", unit_id=unit.id
            )
    finally:
        engine.dispose()
    before = arena.digest()
    for data in (
        f"dy:ok:{s.submitted_eid}:{s.submitted_version}",
        f"dy:ret:{s.submitted_eid}:{s.submitted_version}",
    ):
        outcome = arena.forge(USERS["BD06"], data)
        assert any(r in outcome.everything for r in REFUSALS), (data, outcome.texts)
    # Returning needs a reason typed next: no step was started, so the text is only a question to the Q&A.
    arena.say(USERS["BD06"], "Lý do trả lại")
    after = arena.digest()
    assert {k for k in before if before[k] != after[k]} == {"bot_answer"}
