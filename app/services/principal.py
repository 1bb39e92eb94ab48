"""The authenticated caller, as the services see it."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.access import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key (kind "key") or a web user (kind "user")."""

    kind: str
    id: int
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """The audit name: never a secret, stable per caller."""
        return f"{self.kind}:{self.name}"

    @property
    def fingerprint(self) -> str:
        """What idempotency keys are bound to."""
        return f"{self.kind}:{self.id}"


SYSTEM = Principal(kind="system", id=0, name="system", role=Role.ADMIN)
