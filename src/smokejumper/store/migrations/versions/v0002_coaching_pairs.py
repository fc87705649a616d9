"""Coaching pairs: who coaches whom, in which area, from when (frontline, issue 6).

Revision ID: v0002
Revises: v0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "v0002"
down_revision = "v0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_pairs",
        sa.Column("pair_id", sa.Integer, primary_key=True),
        sa.Column("mentee", sa.String(100), nullable=False),
        sa.Column("mentor", sa.String(100), nullable=False),
        sa.Column("area", sa.String(200), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_coaching_pairs_mentee", "coaching_pairs", ["mentee"])


def downgrade() -> None:
    op.drop_index("ix_coaching_pairs_mentee", table_name="coaching_pairs")
    op.drop_table("coaching_pairs")
