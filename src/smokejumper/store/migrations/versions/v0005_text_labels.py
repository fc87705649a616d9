"""Text labels given in the product: a text's sentiment or themes as a person corrected
them, which teach the text models (issue 4).

Revision ID: v0005
Revises: v0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "v0005"
down_revision = "v0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_labels",
        sa.Column("label_id", sa.Integer, primary_key=True),
        sa.Column("task", sa.String(20), nullable=False),
        sa.Column("source_table", sa.String(20), nullable=False),
        sa.Column("text_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("labelled_by", sa.String(320), nullable=False),
        sa.Column("labelled_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("task", "source_table", "text_id", name="uq_text_labels_text"),
    )


def downgrade() -> None:
    op.drop_table("text_labels")
