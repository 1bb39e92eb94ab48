"""Login throttling, checked before any password is hashed (the `limits` library).

- Per client address: at most ``login_rate_per_address`` attempts (default 20 per minute). A flood
  of bogus logins from one address is answered 429 without touching argon2, so it cannot starve the
  API of CPU.
- Per user and address: after ``login_max_failures`` wrong passwords for one username from one
  address within ``login_lockout_seconds``, that address waits (429) until the window moves on.
  Other addresses are not affected, so anonymous requests cannot lock a supervisor out. The count is
  kept for any username, known or not, so the answer never tells whether a user exists.

Counters live in memory (one process) by default, in Redis when HARDSHIP_RATE_LIMIT_STORAGE_URL is
set (every process shares them: use it in production)."""

from __future__ import annotations

import hashlib
import time

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

NAMESPACE = "hardship-login"


class LoginLimiter:
    def __init__(
        self,
        *,
        per_address: str,
        max_failures: int,
        failure_window_seconds: int,
        storage_url: str | None = None,
    ) -> None:
        storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        if not isinstance(storage, Storage):
            raise ValueError(f"not a synchronous limits storage: {storage_url!r}")
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_address: RateLimitItem = parse(per_address)
        self.failures: RateLimitItem = RateLimitItemPerSecond(max_failures, failure_window_seconds)

    @staticmethod
    def _user(username: str) -> str:
        # The username is hashed: the counter keys never carry what a user typed.
        return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]

    def allow_attempt(self, address: str) -> bool:
        """Counts one attempt from the address; False when it is over the address's rate."""
        return self.limiter.hit(self.per_address, NAMESPACE, "address", address)

    def backed_off(self, username: str, address: str) -> bool:
        """True while this username has had too many wrong passwords from this address."""
        return not self.limiter.test(self.failures, NAMESPACE, "failure", self._user(username), address)

    def record_failure(self, username: str, address: str) -> None:
        self.limiter.hit(self.failures, NAMESPACE, "failure", self._user(username), address)

    def record_success(self, username: str, address: str) -> None:
        self.limiter.clear(self.failures, NAMESPACE, "failure", self._user(username), address)

    def retry_after_seconds(self, username: str, address: str) -> int:
        reset, _ = self.limiter.get_window_stats(
            self.failures, NAMESPACE, "failure", self._user(username), address
        )
        return max(1, int(reset - time.time()))
