"""Notification deliveries claimed before they are sent (one message per state change and
notifier, even with several ``notify`` runs at once), daily digests recorded the same
way, and the day a state change took effect (e.g. the day a fix went live) (issue 3).

Replaces ``alert_notifications`` (rows copied over as sent).

Revision ID: v0004
Revises: v0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "v0004"
down_revision = "v0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert_events", sa.Column("effective_on", sa.Date))
    op.create_table(
        "notification_deliveries",
        sa.Column("notifier", sa.String(100), primary_key=True),
        sa.Column("item", sa.String(100), primary_key=True),  # event:ID or digest:DAY
        sa.Column("event_id", sa.Integer, sa.ForeignKey("alert_events.event_id")),
        sa.Column("state", sa.String(20), nullable=False),  # sending, sent, failed, dropped
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_notification_deliveries_state", "notification_deliveries",
                    ["notifier", "state"])
    op.execute(
        "INSERT INTO notification_deliveries (notifier, item, event_id, state, attempts, "
        "claimed_by, claimed_at, sent_at) SELECT notifier, 'event:' || CAST(event_id AS "
        "VARCHAR(20)), event_id, 'sent', 1, 'v0003', sent_at, sent_at FROM alert_notifications")
    op.drop_table("alert_notifications")


def downgrade() -> None:
    op.create_table(
        "alert_notifications",
        sa.Column("event_id", sa.Integer, sa.ForeignKey("alert_events.event_id"),
                  primary_key=True),
        sa.Column("notifier", sa.String(100), primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )
    op.execute(
        "INSERT INTO alert_notifications (event_id, notifier, sent_at) SELECT event_id, "
        "notifier, sent_at FROM notification_deliveries WHERE state = 'sent' AND event_id "
        "IS NOT NULL")
    op.drop_index("ix_notification_deliveries_state", "notification_deliveries")
    op.drop_table("notification_deliveries")
    # plain SQL (SQLite >= 3.35 and PostgreSQL): a batch copy of alert_events would break
    # the foreign key from alert_notifications
    op.execute("ALTER TABLE alert_events DROP COLUMN effective_on")
