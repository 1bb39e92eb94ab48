"""The authenticated caller, as the services see it."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.access import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key (kind "key") or a web user (kind "user").

    ``person_id`` is the person behind the credential (CONTRACT.md, "People and credentials"): a user
    acting through the UI or through any key issued to them is one person (``user:<id>``); a key
    issued to nobody is a person of its own (``key:<id>``). Maker-checker compares persons, never
    names."""

    kind: str
    id: int
    name: str
    role: Role
    person_id: str | None = None

    @property
    def actor(self) -> str:
        """The audit name: never a secret, stable per caller."""
        return f"{self.kind}:{self.name}"

    @property
    def person(self) -> str:
        """The person behind the credential: ``user:<id>``, ``key:<id>``, or ``<kind>:<id>``."""
        return self.person_id or f"{self.kind}:{self.id}"

    @property
    def fingerprint(self) -> str:
        """What idempotency keys are bound to."""
        return f"{self.kind}:{self.id}"


def user_person(user_id: int) -> str:
    """The person id of an agent-UI user (and of every key issued to them)."""
    return f"user:{user_id}"


SYSTEM = Principal(kind="system", id=0, name="system", role=Role.ADMIN)
