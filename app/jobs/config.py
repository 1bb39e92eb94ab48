"""Settings of the scan workers that the service settings do not carry (env prefix HARDSHIP_).

- ``HARDSHIP_SCAN_QUEUE``: the Celery queue of scan tasks (default ``hardship-scans``).
- ``HARDSHIP_SCAN_CHUNK_STALE_SECONDS``: a chunk ``running`` for longer than this is taken to belong
  to a dead worker and may be claimed again (default 300; keep it well above the time of one chunk).
- ``HARDSHIP_SCAN_VISIBILITY_TIMEOUT_SECONDS``: the Redis broker's visibility timeout: a task taken
  by a worker that died is handed out again after this long (default 1800).
- ``HARDSHIP_SCAN_CHUNK_DELAY_SECONDS``: test only; each chunk sleeps this long inside its
  transaction, so that a test can kill a worker in the middle of a chunk (default 0).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDSHIP_", env_file=".env", extra="ignore")

    scan_queue: str = Field(default="hardship-scans", min_length=1, max_length=100)
    scan_chunk_stale_seconds: float = Field(default=300.0, gt=0)
    scan_visibility_timeout_seconds: int = Field(default=1800, ge=1)
    scan_chunk_delay_seconds: float = Field(default=0.0, ge=0)


def get_job_settings() -> JobSettings:
    """Read afresh each time: cheap, and tests change the environment between runs."""
    return JobSettings()
