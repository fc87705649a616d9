"""Alerts, their lifecycle (open → acknowledged → fixing → watching → closed) and the
notifications sent for each state change (issue 3).

Revision ID: v0003
Revises: v0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "v0003"
down_revision = "v0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(500), nullable=False, unique=True),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("segment_key", sa.String(400), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("finding", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_index("ix_alerts_metric_segment", "alerts", ["metric", "segment_key"])
    op.create_table(
        "alert_fingerprints",
        sa.Column("fingerprint", sa.String(500), primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    )
    op.create_table(
        "alert_events",
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
        sa.Column("who", sa.String(320), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("from_state", sa.String(20)),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_alert_events_alert", "alert_events", ["alert_id"])
    op.create_table(
        "alert_notifications",
        sa.Column("event_id", sa.Integer, sa.ForeignKey("alert_events.event_id"),
                  primary_key=True),
        sa.Column("notifier", sa.String(100), primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_notifications")
    op.drop_table("alert_events")
    op.drop_table("alert_fingerprints")
    op.drop_table("alerts")
