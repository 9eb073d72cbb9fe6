"""rotation reviews due before a back-dated rotation was recorded are not required

Rotations recorded before 0.2.0 scheduled every review from the start date as pending, even those already due
on the day the rotation was entered: nobody's work, yet listed as overdue and reminded. Since 0.2.0
`start_rotation` records them as `not_required`; this brings the older rows in line. A review counts as due
before recording when its due date is before the rotation's creation date in UTC (the zone of the stored
timestamp; a review due on the day of recording stays to be done, as `start_rotation` does).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 11:30:00
"""

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_rotation = sa.table("rotation", sa.column("id", sa.Integer), sa.column("created_at", sqlmodel.UTCDateTime()))
_review = sa.table(
    "rotation_review",
    sa.column("id", sa.Integer),
    sa.column("rotation_id", sa.Integer),
    sa.column("due_date", sa.Date),
    sa.column("state", sa.String),
)


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_review.c.id, _review.c.due_date, _rotation.c.created_at)
        .select_from(_review.join(_rotation, _rotation.c.id == _review.c.rotation_id))
        .where(_review.c.state == "pending")
    ).all()
    stale = [row.id for row in rows if row.created_at is not None and row.due_date < _day(row.created_at)]
    for start in range(0, len(stale), 500):
        bind.execute(
            _review.update().where(_review.c.id.in_(stale[start : start + 500])).values(state="not_required")
        )


def downgrade() -> None:
    # Which rows were pending before cannot be told from those recorded as not required since: nothing to undo.
    pass
