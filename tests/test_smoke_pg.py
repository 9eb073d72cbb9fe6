"""The throwaway Postgres cluster starts and accepts SQL."""

import pytest
from sqlalchemy import text

from records.db import make_engine


@pytest.mark.postgres
def test_postgres_cluster_answers(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("select 6 * 7")).scalar() == 42
    engine.dispose()
