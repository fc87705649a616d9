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
