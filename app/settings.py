"""Service settings: environment variables with the HARDSHIP_ prefix (DATABASE_URL is also accepted)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./hardship.db"
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}
DEVELOPMENT_AUDIT_BASE = "hardship development audit chain (not a secret)"
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 10


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDSHIP_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("HARDSHIP_DATABASE_URL", "DATABASE_URL"),
    )
    # Pools sized to the cores: on a 2-core machine a large pool made p99 latency far worse.  At most
    # 10 connections a process, all kept open: overflow connections are closed as soon as they are
    # returned, so under bursts a pool of 5 + 5 overflow opened a new PostgreSQL connection (a backend
    # process) every few requests (benchmarks/README.md, "API load").
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    # Login throttling (app/services/login_limits.py): wrong passwords per user and client address
    # within the window, then that address waits; attempts per address, before any hashing.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    login_rate_per_address: str = "20/minute"
    # Where the login counters live: memory (one process) by default; a redis:// URL in production.
    rate_limit_storage_url: str | None = None
    # The audit chain's HMAC key, kept outside the database. Outside production it defaults to a key
    # derived from HARDSHIP_SECRET_KEY; in production it must be set.
    audit_key: str | None = None
    # /metrics: with a token set, only `Authorization: Bearer <token>` reads it; in production
    # without a token it is not served.
    metrics_token: str | None = None
    # Trust X-Forwarded-Proto from the proxy in front (for HSTS behind a TLS-terminating proxy).
    trust_forwarded_proto: bool = False

    idempotency_ttl_hours: int = Field(default=24, ge=1)
    idempotency_lease_seconds: int = Field(default=60, ge=1)

    scan_executor: Literal["inline", "celery"] = "inline"
    scan_chunk_size: int = Field(default=5000, ge=1)
    scan_chunk_max_attempts: int = Field(default=3, ge=1)
    # Inline executor: processes that run a scan's chunks side by side. 0: one per core, at most 4.
    # On SQLite always 1 (one writer at a time).
    scan_inline_processes: int = Field(default=0, ge=0, le=64)
    # At start-up the service runs again the inline scans that a stopped process left unfinished.
    scan_inline_recover_on_start: bool = True
    celery_broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("HARDSHIP_CELERY_BROKER_URL", "CELERY_BROKER_URL"),
    )

    scan_queue: str = Field(default="hardship-scans", min_length=1, max_length=100)
    # A chunk `running` longer than this belongs to a dead worker and may be claimed again
    # (keep it well above the time of one chunk).
    scan_chunk_stale_seconds: float = Field(default=300.0, gt=0)
    # Redis broker: a task taken by a worker that died is handed out again after this long.
    scan_visibility_timeout_seconds: int = Field(default=1800, ge=1)
    # Tests only: each chunk sleeps this long inside its transaction, so a worker can be killed mid-chunk.
    scan_chunk_delay_seconds: float = Field(default=0.0, ge=0)

    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    import_max_reported_errors: int = Field(default=100, ge=1)
    # The bank's calendar day is the date in this zone (DOMAIN.md, "The business date").
    business_timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    policy_dir: str | None = None

    # Events out (CONTRACT.md): where the relay (webhook fan-out and delivery, AMQP publishing) runs.
    # "inline": a background thread of each service process (started with the app); "celery": a
    # thread of each `hardship worker`. Claims with leases keep any number of them from delivering
    # one event twice.
    events_executor: Literal["inline", "celery"] = "inline"
    events_relay_on_start: bool = True
    events_poll_seconds: float = Field(default=1.0, gt=0)
    events_amqp_url: str | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_retry_schedule: str = "5,30,120,600,3600,21600,43200"
    # Server-side request forgery: production refuses private, loopback and link-local addresses.
    webhook_allow_private_urls: bool = False
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    webhook_concurrency: int = Field(default=8, ge=1, le=64)

    @field_validator("database_url")
    @classmethod
    def normalise_database_url(cls, value: str) -> str:
        """Accept the usual postgres:// spellings and use the psycopg 3 driver for them."""
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("business_timezone")
    @classmethod
    def known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def known_retry_schedule(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() and int(part) > 0 for part in parts):
            raise ValueError("HARDSHIP_WEBHOOK_RETRY_SCHEDULE: positive whole seconds, comma-separated")
        return value

    @property
    def business_zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @field_validator("secret_key", "audit_key")
    @classmethod
    def refuse_weak_secret(cls, value: str | None) -> str | None:
        """At least 32 characters and 10 distinct ones: `secrets.token_urlsafe(32)` passes, a
        placeholder or 32 x "a" does not."""
        if value is None:
            return None
        if (
            value.strip().lower() in PLACEHOLDER_SECRETS
            or len(value) < MIN_SECRET_LENGTH
            or len(set(value)) < MIN_SECRET_DISTINCT_CHARACTERS
        ):
            raise ValueError(
                f"must be a random string of at least {MIN_SECRET_LENGTH} characters with at least "
                f"{MIN_SECRET_DISTINCT_CHARACTERS} distinct ones (e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @model_validator(mode="after")
    def production_needs_its_secrets(self) -> Settings:
        """In production every process must share the secret key (agent sessions, CSRF) and the audit
        key: a key invented per process would break both, so starting without them is refused."""
        if self.environment == "production":
            missing = [
                name
                for name, field in (
                    ("HARDSHIP_SECRET_KEY", "secret_key"),
                    ("HARDSHIP_AUDIT_KEY", "audit_key"),
                )
                if field not in self.model_fields_set
            ]
            if missing:
                raise ValueError(f"production needs {' and '.join(missing)} set explicitly")
        return self

    @property
    def audit_hmac_key(self) -> bytes:
        """The key of the audit chain's HMAC (HARDSHIP_AUDIT_KEY, else derived from the secret key)."""
        if self.audit_key is not None:
            return self.audit_key.encode()
        # Outside production only (production refuses to start without HARDSHIP_AUDIT_KEY). Without a
        # secret key set either, a fixed development key, so that every process (the server, the
        # CLI's `audit verify`) agrees on it.
        base = self.secret_key if "secret_key" in self.model_fields_set else DEVELOPMENT_AUDIT_BASE
        return hmac.new(base.encode(), b"hardship audit chain v2", hashlib.sha256).digest()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
