"""The bot's durable state on real SQLite and Postgres: dedup, conversations, feedback, hand-offs, jobs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from records import botstate
from records.errors import ConcurrentUpdate, LeaseLost, NotFound, ValidationFailed


def test_update_claimed_once_per_run_and_reclaimed_after_crash(state_engine: Engine) -> None:
    claim = botstate.Claim
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-a") is claim.CLAIMED
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-a") is claim.HANDLED
    # A new process finds it started by a crashed run (no live "run:" lease): it may handle it again, once.
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-b") is claim.CLAIMED
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-b") is claim.HANDLED
    botstate.finish_update(state_engine, update_id=2**40)
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-c") is claim.HANDLED
    assert botstate.prune_updates(state_engine, older_than=timedelta(0)) == 1
    assert botstate.claim_update(state_engine, update_id=2**40, run_id="run-c") is claim.CLAIMED


def test_update_started_by_a_live_process_is_busy_until_it_finishes_or_dies(state_engine: Engine) -> None:
    claim = botstate.Claim
    ttl = timedelta(seconds=30)
    assert botstate.acquire_lease(
        state_engine, name=botstate.run_lease_name("run-a"), holder="run-a", ttl=ttl
    )
    assert botstate.claim_update(state_engine, update_id=5, run_id="run-a") is claim.CLAIMED
    # run-b receives the same update while run-a is alive and handling it: busy, not handled twice.
    assert botstate.claim_update(state_engine, update_id=5, run_id="run-b") is claim.BUSY
    botstate.finish_update(state_engine, update_id=5)
    assert botstate.claim_update(state_engine, update_id=5, run_id="run-b") is claim.HANDLED
    # Another update started by run-a, which then stops (its lease is released): run-b takes it over.
    assert botstate.claim_update(state_engine, update_id=6, run_id="run-a") is claim.CLAIMED
    assert botstate.claim_update(state_engine, update_id=6, run_id="run-b") is claim.BUSY
    assert botstate.release_lease(state_engine, name=botstate.run_lease_name("run-a"), holder="run-a")
    assert botstate.claim_update(state_engine, update_id=6, run_id="run-b") is claim.CLAIMED


def test_concurrent_claims_let_exactly_one_win(state_engine: Engine) -> None:
    wins: list[botstate.Claim] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        wins.append(botstate.claim_update(state_engine, update_id=77, run_id="same-run"))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [botstate.Claim.CLAIMED] + [botstate.Claim.HANDLED] * 5


def test_lease_has_one_holder_until_released_or_expired(state_engine: Engine) -> None:
    ttl = timedelta(seconds=30)
    assert botstate.acquire_lease(state_engine, name="job:x", holder="a", ttl=ttl) is True
    assert botstate.acquire_lease(state_engine, name="job:x", holder="b", ttl=ttl) is False
    assert botstate.acquire_lease(state_engine, name="job:x", holder="a", ttl=ttl) is True  # renewal
    assert botstate.lease_holder(state_engine, name="job:x") == "a"
    assert botstate.release_lease(state_engine, name="job:x", holder="b") is False  # not b's to release
    assert botstate.release_lease(state_engine, name="job:x", holder="a") is True
    assert botstate.lease_holder(state_engine, name="job:x") is None
    # An expired lease (its holder died) is free for the next one.
    assert botstate.acquire_lease(state_engine, name="job:y", holder="a", ttl=timedelta(milliseconds=1))
    time.sleep(0.01)
    assert botstate.lease_holder(state_engine, name="job:y") is None
    assert botstate.acquire_lease(state_engine, name="job:y", holder="b", ttl=ttl) is True
    assert [lease.holder for lease in botstate.live_leases(state_engine, prefix="job:")] == ["b"]
    with pytest.raises(ValidationFailed):
        botstate.acquire_lease(state_engine, name="job:z", holder="a", ttl=timedelta(0))


def test_concurrent_lease_requests_let_exactly_one_win(state_engine: Engine) -> None:
    wins: list[str] = []
    barrier = threading.Barrier(6)

    def take(holder: str) -> None:
        barrier.wait()
        if botstate.acquire_lease(state_engine, name="job:race", holder=holder, ttl=timedelta(seconds=30)):
            wins.append(holder)

    threads = [threading.Thread(target=take, args=(f"p{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and botstate.lease_holder(state_engine, name="job:race") == wins[0]


def test_progress_is_saved_only_by_the_lease_holder(state_engine: Engine) -> None:
    ttl = timedelta(seconds=30)
    at = datetime(2026, 10, 2, tzinfo=UTC)
    assert botstate.acquire_lease(state_engine, name="job:tick", holder="a", ttl=ttl)
    botstate.save_job_under_lease(
        state_engine, lease="job:tick", holder="a", ttl=ttl, name="tick", kind="k", run_at=at, data={"c": 1}
    )
    with pytest.raises(LeaseLost):
        botstate.save_job_under_lease(
            state_engine,
            lease="job:tick",
            holder="b",
            ttl=ttl,
            name="tick",
            kind="k",
            run_at=at,
            data={"c": 9},
        )
    assert [j.data for j in botstate.list_jobs(state_engine)] == [{"c": 1}]


def test_conversation_roundtrip(state_engine: Engine) -> None:
    chat, user = -(10**12), 9 * 10**11
    assert botstate.load_conversation(state_engine, chat_id=chat, user_id=user) is None
    botstate.save_conversation(
        state_engine, chat_id=chat, user_id=user, state="qa:reply", data={"id": 3, "t": "Điều"}
    )
    botstate.save_conversation(state_engine, chat_id=chat, user_id=user, state="qa:reply", data={"id": 4})
    state = botstate.load_conversation(state_engine, chat_id=chat, user_id=user)
    assert state is not None and state.state == "qa:reply" and state.data == {"id": 4}
    assert botstate.clear_conversation(state_engine, chat_id=chat, user_id=user) is True
    assert botstate.clear_conversation(state_engine, chat_id=chat, user_id=user) is False
    with pytest.raises(ValidationFailed):
        botstate.save_conversation(state_engine, chat_id=1, user_id=1, state="x", data={"big": "a" * 30_000})


def test_feedback_is_one_vote_per_user(state_engine: Engine) -> None:
    answer = botstate.record_answer(
        state_engine,
        chat_id=5,
        user_id=5,
        question="thời gian luân chuyển?",
        found=True,
        chunk_ids=["d:1", "d:2"],
    )
    assert botstate.get_answer(state_engine, answer_id=answer.id).chunk_ids == ["d:1", "d:2"]
    assert botstate.record_feedback(state_engine, answer_id=answer.id, user_id=5, vote=1) == "saved"
    assert botstate.record_feedback(state_engine, answer_id=answer.id, user_id=5, vote=1) == "unchanged"
    assert botstate.record_feedback(state_engine, answer_id=answer.id, user_id=5, vote=-1) == "changed"
    assert botstate.record_feedback(state_engine, answer_id=answer.id, user_id=6, vote=-1) == "saved"
    assert botstate.feedback_counts(state_engine) == botstate.FeedbackCounts(up=0, down=2)
    assert [a.id for a in botstate.disliked_answers(state_engine)] == [answer.id]
    with pytest.raises(ValidationFailed):
        botstate.record_feedback(state_engine, answer_id=answer.id, user_id=5, vote=0)
    with pytest.raises(NotFound):
        botstate.record_feedback(state_engine, answer_id=answer.id + 100, user_id=5, vote=1)


def test_handoff_opened_once_and_answered_once(state_engine: Engine) -> None:
    answer = botstate.record_answer(
        state_engine, chat_id=8, user_id=8, question="hỏi gì đó", found=False, chunk_ids=[]
    )
    first, created = botstate.open_handoff(state_engine, answer_id=answer.id)
    again, created_again = botstate.open_handoff(state_engine, answer_id=answer.id)
    assert created and not created_again and again.id == first.id
    assert [h.id for h in botstate.open_handoffs(state_engine)] == [first.id]
    done = botstate.answer_handoff(state_engine, handoff_id=first.id, staff_user_id=99, reply="Trả lời")
    assert done.status == "answered" and done.reply == "Trả lời" and done.asker_chat_id == 8
    with pytest.raises(ConcurrentUpdate):
        botstate.answer_handoff(state_engine, handoff_id=first.id, staff_user_id=98, reply="Lần hai")
    assert botstate.get_handoff(state_engine, handoff_id=first.id).answered_by == 99
    assert botstate.open_handoffs(state_engine) == []


def test_handoff_for_answer_finds_an_open_or_answered_handoff_only(state_engine: Engine) -> None:
    answer = botstate.record_answer(
        state_engine, chat_id=8, user_id=8, question="hỏi gì đó", found=True, chunk_ids=["c1"]
    )
    other = botstate.record_answer(
        state_engine, chat_id=8, user_id=8, question="hỏi khác", found=True, chunk_ids=["c1"]
    )
    assert botstate.handoff_for_answer(state_engine, answer_id=answer.id) is None
    handoff, _created = botstate.open_handoff(state_engine, answer_id=answer.id)
    assert botstate.handoff_for_answer(state_engine, answer_id=answer.id) == handoff
    botstate.answer_handoff(state_engine, handoff_id=handoff.id, staff_user_id=99, reply="Trả lời")
    found = botstate.handoff_for_answer(state_engine, answer_id=answer.id)
    assert found is not None and found.id == handoff.id and found.status == "answered"
    assert botstate.handoff_for_answer(state_engine, answer_id=other.id) is None
    assert botstate.handoff_for_answer(state_engine, answer_id=other.id + 1000) is None


def test_handoff_copies_are_remembered_once_per_message(state_engine: Engine) -> None:
    answer = botstate.record_answer(
        state_engine, chat_id=8, user_id=8, question="hỏi gì đó", found=False, chunk_ids=[]
    )
    handoff, _created = botstate.open_handoff(state_engine, answer_id=answer.id)
    big = 2**40  # Telegram ids are 64-bit
    botstate.record_handoff_copy(state_engine, handoff_id=handoff.id, chat_id=big, message_id=5)
    botstate.record_handoff_copy(state_engine, handoff_id=handoff.id, chat_id=big, message_id=5)  # a repeat
    botstate.record_handoff_copy(state_engine, handoff_id=handoff.id, chat_id=77, message_id=5)
    copies = botstate.handoff_copies(state_engine, handoff_id=handoff.id)
    assert [(c.chat_id, c.message_id) for c in copies] == [(big, 5), (77, 5)]
    assert botstate.handoff_copies(state_engine, handoff_id=handoff.id + 1) == []


def test_jobs_persist(state_engine: Engine) -> None:
    at = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    botstate.save_job(state_engine, name="remind:1", kind="remind", run_at=at, interval_s=3600, data={"p": 1})
    botstate.save_job(state_engine, name="remind:1", kind="remind", run_at=at, interval_s=60, data={"p": 2})
    jobs = botstate.list_jobs(state_engine)
    assert len(jobs) == 1 and jobs[0].interval_s == 60 and jobs[0].data == {"p": 2} and jobs[0].run_at == at
    assert botstate.delete_job(state_engine, name="remind:1") is True
    assert botstate.list_jobs(state_engine) == []


def test_linked_chats_with_roles_finds_signed_in_staff_only(state_engine: Engine) -> None:
    from records.db import session_scope
    from records.people import find_person_by_code, link_telegram
    from records.roster import import_roster

    roster = (
        "Mã cán bộ,Họ và tên,Số điện thoại,Mã đơn vị,Tên đơn vị,Vai trò,Phạm vi\n"
        "S1,Chuyên Viên Một,0901111111,TU,Thành ủy,chuyên viên,TU\n"
        "S2,Chuyên Viên Hai,0901111112,TU,Thành ủy,chuyên viên,TU\n"
        "A1,Quản Trị,0901111113,TU,Thành ủy,quản trị,TU\n"
    )
    with session_scope(state_engine) as session:
        import_roster(session, data=roster.encode("utf-8"), filename="r.csv")
        for code, telegram_id in (("S1", 2**40 + 1), ("A1", 2**40 + 3)):  # S2 never signed in
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            link_telegram(session, person_id=person.id, telegram_user_id=telegram_id, chat_id=telegram_id)
    assert botstate.linked_chats_with_roles(state_engine, roles=["staff"]) == [2**40 + 1]
    assert botstate.linked_chats_with_roles(state_engine, roles=["staff", "admin"]) == [2**40 + 1, 2**40 + 3]
    assert botstate.linked_chats_with_roles(state_engine, roles=["head"]) == []
