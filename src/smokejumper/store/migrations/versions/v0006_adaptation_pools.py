"""The samples of texts that `enrich --adapt N` adapted the models to, kept so that a
later run adapts to the same texts (issue 4).

Revision ID: v0006
Revises: v0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "v0006"
down_revision = "v0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adaptation_pools",
        sa.Column("pool_id", sa.Integer, primary_key=True),
        sa.Column("sources", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("text_hashes", sa.JSON, nullable=False),
        sa.Column("drawn_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("sources", "size", name="uq_adaptation_pools_sample"),
    )


def downgrade() -> None:
    op.drop_table("adaptation_pools")
