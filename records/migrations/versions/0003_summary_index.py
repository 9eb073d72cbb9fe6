"""summary index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:38:33.617222

A covering index for the period summary (records.summary): `WHERE period = ? [AND unit_id IN …]
GROUP BY unit_id` counting state, late and final_grade reads the index alone, in unit order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_evaluation_summary",
        "evaluation",
        ["period", "unit_id", "state", "late", "final_grade"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_evaluation_summary", table_name="evaluation")
