"""Tables of the operational store (SQLAlchemy Core). Migrations create them; code reads
and writes through these definitions."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # admin, analyst, team_lead, agent
    sa.Column("team_id", sa.String(100)),
    sa.Column("agent_id", sa.String(100)),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True),
    sa.Column("ts", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("detail", sa.JSON),
)

coaching_pairs = sa.Table(
    "coaching_pairs",
    metadata,
    sa.Column("pair_id", sa.Integer, primary_key=True),
    sa.Column("mentee", sa.String(100), nullable=False),
    sa.Column("mentor", sa.String(100), nullable=False),
    sa.Column("area", sa.String(200), nullable=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date),
    sa.Column("created_by", sa.String(320), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("note", sa.Text),
    sa.Index("ix_coaching_pairs_mentee", "mentee"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(500), nullable=False, unique=True),
    sa.Column("metric", sa.String(100), nullable=False),
    sa.Column("segment_key", sa.String(400), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # open, acknowledged, fixing, ...
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("finding", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_alerts_state", "state"),
    sa.Index("ix_alerts_metric_segment", "metric", "segment_key"),
)

alert_fingerprints = sa.Table(
    "alert_fingerprints",
    metadata,
    sa.Column("fingerprint", sa.String(500), primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("who", sa.String(320), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("from_state", sa.String(20)),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("effective_on", sa.Date),  # the day it took effect (v0004), e.g. a fix went live
    sa.Index("ix_alert_events_alert", "alert_id"),
)

#: one row per (notifier, item) claimed before sending: item ``event:ID`` (a state change)
#: or ``digest:YYYY-MM-DD`` (a daily digest); v0004, replaces ``alert_notifications``
notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    sa.Column("notifier", sa.String(100), primary_key=True),
    sa.Column("item", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("alert_events.event_id")),
    sa.Column("state", sa.String(20), nullable=False),  # sending, sent, failed, dropped
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_notification_deliveries_state", "notifier", "state"),
)

#: labels a person gave a text in the product (issue 4): its sentiment, or its themes (a
#: JSON list), one current label per task and text; they teach the text models
#: (``smokejumper enrich --corrections``). ``text`` is the text as stored: redacted.
text_labels = sa.Table(
    "text_labels",
    metadata,
    sa.Column("label_id", sa.Integer, primary_key=True),
    sa.Column("task", sa.String(20), nullable=False),  # sentiment | themes
    sa.Column("source_table", sa.String(20), nullable=False),  # responses | interactions
    sa.Column("text_id", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("value", sa.JSON, nullable=False),  # "negative" or ["billing", "staff"]
    sa.Column("labelled_by", sa.String(320), nullable=False),
    sa.Column("labelled_at", sa.DateTime, nullable=False),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("task", "source_table", "text_id", name="uq_text_labels_text"),
)


#: the sample of texts ``enrich --adapt N`` adapted the models to (issue 4), by the SHA-256
#: of each text: a later run with the same sources and N adapts to the same texts again
#: (the same model versions, so only new texts are enriched) until ``--readapt`` draws a
#: fresh sample.
adaptation_pools = sa.Table(
    "adaptation_pools",
    metadata,
    sa.Column("pool_id", sa.Integer, primary_key=True),
    sa.Column("sources", sa.String(100), nullable=False),  # e.g. "interactions,responses"
    sa.Column("size", sa.Integer, nullable=False),  # the N asked for
    sa.Column("text_hashes", sa.JSON, nullable=False),
    sa.Column("drawn_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("sources", "size", name="uq_adaptation_pools_sample"),
)
