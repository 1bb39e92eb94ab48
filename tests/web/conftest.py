"""Agent UI tests: argon2 with cheap parameters, so that the many logins stay fast.

The parameters travel inside each hash, so verification is the same code path as in production;
only the cost of hashing and verifying the test passwords is lower."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.services import auth


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
