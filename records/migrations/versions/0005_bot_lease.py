"""bot lease: one process runs a job at a time; live processes are known

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_lease",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("acquired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("bot_lease", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_lease_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_lease", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_lease_expires_at"))
    op.drop_table("bot_lease")
