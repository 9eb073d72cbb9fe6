"""Demo data: deterministic per seed, every state present, the fixed accounts, refuses a non-empty database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from records.demo import DEMO_ACCOUNTS, ROOT_CODE, generate_demo_data
from records.errors import ValidationFailed
from records.schema import Person, Unit

TODAY = date(2026, 11, 15)


def _fingerprint(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        people = conn.execute(
            text("SELECT cadre_code, full_name, phone, unit_id, manager_id FROM person ORDER BY id")
        )
        evals = conn.execute(
            text(
                "SELECT person_id, period, state, late, final_grade FROM evaluation ORDER BY person_id, period"
            )
        )
        return [tuple(r) for r in people] + [tuple(r) for r in evals]


def test_demo_data_is_realistic_and_complete(db_engine: Engine) -> None:
    report = generate_demo_data(db_engine, people=150, seed=7, months=3, today=TODAY)
    assert report.periods == ("2026-08", "2026-09", "2026-10")
    assert report.counts["people"] == 150
    with db_engine.connect() as conn:
        states = dict(
            conn.execute(
                text("SELECT state, COUNT(*) FROM evaluation WHERE period = '2026-10' GROUP BY state")
            ).all()
        )
        assert set(states) == {"draft", "submitted", "returned", "reviewed", "decided"}
        assert conn.execute(text("SELECT COUNT(*) FROM evaluation WHERE late")).scalar_one() > 0
        assert (
            conn.execute(text("SELECT COUNT(*) FROM evaluation WHERE return_reason IS NOT NULL")).scalar_one()
            > 0
        )
        # Some people have no record at all for the newest period (missing), older periods are decided.
        missing = conn.execute(
            text(
                "SELECT COUNT(*) FROM person p WHERE NOT EXISTS "
                "(SELECT 1 FROM evaluation e WHERE e.person_id = p.id AND e.period = '2026-10')"
            )
        ).scalar_one()
        assert 0 < missing < 60
        older = dict(
            conn.execute(
                text("SELECT state, COUNT(*) FROM evaluation WHERE period = '2026-08' GROUP BY state")
            ).all()
        )
        assert set(older) == {"decided"}
        roles = dict(conn.execute(text("SELECT role, COUNT(*) FROM role_assignment GROUP BY role")).all())
        assert roles["cadre"] == 150 and roles["head"] >= 8 and roles["staff"] >= 1 and roles["admin"] == 1
        depth_ok = conn.execute(text("SELECT COUNT(*) FROM unit WHERE parent_id IS NULL")).scalar_one()
        assert depth_ok == 1
        for table in ("action_programme", "action_item", "rotation", "rotation_review"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() > 0, table
        # Every manager is a person of the same or the parent unit.
        orphans = conn.execute(
            text(
                "SELECT COUNT(*) FROM person p JOIN person m ON m.id = p.manager_id "
                "JOIN unit u ON u.id = p.unit_id WHERE m.unit_id <> p.unit_id AND m.unit_id <> u.parent_id"
            )
        ).scalar_one()
        assert orphans == 0
    with Session(db_engine) as session:
        for account in DEMO_ACCOUNTS:
            person = session.exec(select(Person).where(Person.cadre_code == account.cadre_code)).one()
            assert (person.full_name, person.phone) == (account.full_name, account.phone)
            unit = session.get(Unit, person.unit_id)
            assert unit is not None and unit.code == account.unit_code
        # Ids continue after the bulk insert (Postgres sequences were moved past the explicit ids).
        root = session.exec(select(Unit).where(Unit.code == ROOT_CODE)).one()
        now = datetime.now(UTC)
        extra = Person(cadre_code="NEW-1", full_name="Người Mới", position="", unit_id=root.id or 0,
                       created_at=now, updated_at=now)  # fmt: skip
        session.add(extra)
        session.commit()
        assert extra.id == 151


def test_same_seed_same_data_and_non_empty_database_refused(sqlite_engine: Engine, tmp_path) -> None:
    from records.db import make_engine
    from records.migrate import upgrade

    generate_demo_data(sqlite_engine, people=60, seed=3, months=2, today=TODAY)
    first = _fingerprint(sqlite_engine)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = make_engine(other_url)
    generate_demo_data(other, people=60, seed=3, months=2, today=TODAY)
    assert _fingerprint(other) == first
    other.dispose()
    with pytest.raises(ValidationFailed):
        generate_demo_data(sqlite_engine, people=60, seed=3, months=2, today=TODAY)
    assert _fingerprint(sqlite_engine) == first  # nothing changed by the refused run
    with pytest.raises(ValidationFailed) as err:
        generate_demo_data(sqlite_engine, people=5)
    assert err.value.params["field"] == "people"
