"""The database tables (SQLAlchemy Core); migrations in migrations/ create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return value.replace(tzinfo=UTC) if value is not None else None

metadata = MetaData()

repos = Table(
    "repos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("default_branch", String(255)),
    Column("pull_strategy", String(20)),
    Column("fetch_interval", Integer),
    Column("protected_branches", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("error", Text),
    Column("notify_url", Text),
    Column("notify_secret", Text),
    Column("last_fetch_at", UTCDateTime),
    Column("next_fetch_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,  # clone folders are named by id: never reuse one
)

remotes = Table(
    "remotes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("url", Text, nullable=False),
    # The URL in a form every webhook of the same repository maps to (see domain.matching).
    Column("match_key", String(500)),
    # How fetching it went: the last attempt, the last success, the last error (cleared by a
    # success) and how many attempts in a row failed (the scheduler backs off: domain.fetching).
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error_code", String(50)),
    Column("last_error_message", Text),
    Column("fetch_failures", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("repo_id", "name", name="uq_remotes_repo_name"),
    Index("ix_remotes_match_key", "match_key"),
)

# What the worker last saw in a clone: the web answers branch listings from here, never from disk.
repo_refs = Table(
    "repo_refs",
    metadata,
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A job moved refs and records them again once it has their ahead/behind; till then a
    # branch listing waits (an update of a flag costs far less than writing the snapshot twice).
    Column("pending", Boolean, nullable=False, server_default=false()),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("repo_id", Integer, nullable=False),  # no foreign key: jobs outlive a deleted repo
    Column("repo", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("result", JSON),
    Column("error_code", String(50)),
    Column("error_message", Text),
    Column("progress", JSON),
    Column("coalesce_key", String(300)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Set anew by each claim: a worker records the job's end (and renews its lease) only while
    # it is still the owner, so a job taken over by another worker has its outcome written once.
    Column("owner", String(32)),
    Column("lease_until", UTCDateTime),
    Column("sent_at", UTCDateTime),  # when the sweeper last sent it again
    Column("resends", Integer, nullable=False, server_default=text("0")),
    Column("resend_at", UTCDateTime),  # when the sweeper sends it again (see JobStore.needing_send)
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("started_by", String(100)),  # the name of the API token whose request (or dashboard session) queued it
    Index("ix_jobs_repo_id", "repo_id", "id"),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_coalesce_key", "coalesce_key", "id"),
    # While a job is queued, identical requests join it instead of adding another.
    Index(
        "uq_jobs_queued_coalesce",
        "coalesce_key",
        unique=True,
        sqlite_where=text("state = 'queued' AND coalesce_key IS NOT NULL"),
        postgresql_where=text("state = 'queued' AND coalesce_key IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Webhook deliveries, unique per forge and delivery id, with the jobs each made.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("forge", String(30), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("event", String(100), nullable=False),
    Column("job_ids", JSON, nullable=False),
    Column("ignored", Text),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("forge", "delivery_id", name="uq_deliveries_forge_delivery"),
)

# Webhook deliveries refused before they were read (no or a wrong signature or token): only the
# latest few per forge kind (service/store/refused.py prunes on insert), never a body or a header's secret.
refused_deliveries = Table(
    "refused_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("forge", String(30), nullable=False),
    Column("event", String(100), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("sender", String(100), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_refused_deliveries_forge_id", "forge", "id"),
    sqlite_autoincrement=True,
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("remote", String(100), nullable=False),
    Column("branch", String(255), nullable=False),
    Column("local_branch", String(255), nullable=False),
    Column("strategy", String(20)),
    Column("push_to", String(100)),
    Column("allow_force", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("repo_id", "name", name="uq_rules_repo_name"),
)

# One row per finished job whose repo has a notify_url: what was sent and how it went.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("state", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_notifications_job_id", "job_id"),
)

# Forges added through the API (the TOML file's entries are not stored); secrets are Fernet-encrypted.
forges = Table(
    "forges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255), nullable=False, unique=True),
    Column("kind", String(30), nullable=False),
    Column("api_url", Text, nullable=False),
    Column("token_encrypted", Text),
    Column("webhook_secret_encrypted", Text),
    Column("git_protocol", String(10), nullable=False),
    Column("username", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Backups a worker kept in a clone (real refs under refs/gitferry/): what a force push or a
# rebase replaced. The API lists them from here; a deleted one stays marked till a worker that
# holds the clone has deleted its ref.
backups = Table(
    "backups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    Column("remote", String(100)),  # None: a local branch's backup
    Column("branch", String(255), nullable=False),
    Column("ref", Text, nullable=False),
    Column("sha", String(64), nullable=False),
    Column("replaced_by", String(64)),  # the tip that took its place: a restore is leased on it
    Column("job_id", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("repo_id", "ref", name="uq_backups_repo_ref"),
    sqlite_autoincrement=True,
)
