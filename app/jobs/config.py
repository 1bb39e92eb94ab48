"""The settings scan workers read: the service settings, read afresh each time (cheap, and tests
change the environment between runs)."""

from __future__ import annotations

from app.settings import Settings


def get_job_settings() -> Settings:
    return Settings()
