"""API keys and agent-UI users.  Keys are random, shown once, stored as a SHA-256 hash (they carry
256 bits of entropy, so a slow hash adds nothing); passwords are argon2id hashes."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.access import Role, parse_role
from app.persistence.models import AgentUser, ApiKey
from app.services import audit
from app.services.clock import utcnow
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.principal import SYSTEM, Principal

KEY_PREFIX = "hsk"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_hasher = PasswordHasher()
# Verifying against this keeps the time of an unknown-user login equal to a known one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    id: int
    name: str
    role: Role
    token: str


def create_api_key(session: Session, *, name: str, role: str, actor: Principal = SYSTEM) -> CreatedKey:
    """A new key; the token is returned once and never stored."""
    parsed = parse_role(role)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        role=parsed.value,
        prefix=prefix,
        key_hash=_hash_secret(secret),
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key.id,
        after={"name": name, "role": parsed.value, "prefix": prefix},
    )
    return CreatedKey(id=key.id, name=name, role=parsed, token=f"{KEY_PREFIX}_{prefix}_{secret}")


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, *, key_id: int, actor: Principal = SYSTEM) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key.id,
            after={"revoked_at": key.revoked_at},
        )
    return key


def authenticate_key(session: Session, token: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None.  Constant-time comparison."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _hash_secret(secret)):
        return None
    now = utcnow()
    last = key.last_used_at
    if last is None or _naive(now) - _naive(last) > LAST_USED_RESOLUTION:
        # Recorded at minute resolution so that busy keys do not write on every request.
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Principal(kind="key", id=key.id, name=key.name, role=Role(key.role))


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


# --- users ----------------------------------------------------------------------------------------

MIN_PASSWORD_LENGTH = 10


def create_user(
    session: Session, *, username: str, role: str, password: str, actor: Principal = SYSTEM
) -> AgentUser:
    parsed = parse_role(role)
    username = username.strip()
    if not 1 <= len(username) <= 64:
        raise InvalidInput("username must be 1 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = AgentUser(
        username=username,
        role=parsed.value,
        password_hash=_hasher.hash(password),
        created_at=utcnow(),
        failed_logins=0,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a user named {username!r} exists already") from None
    audit.record(
        session,
        actor=actor,
        action="user.created",
        entity_type="agent_user",
        entity_id=user.id,
        after={"username": username, "role": parsed.value},
    )
    return user


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None
    locked: bool = False


def authenticate_user(
    session: Session, *, username: str, password: str, max_failures: int, lockout: timedelta
) -> LoginOutcome:
    """Checks a password; after max_failures wrong ones in a row the user is locked for a while."""
    user = session.scalar(select(AgentUser).where(AgentUser.username == username))
    now = utcnow()
    if user is None or user.disabled_at is not None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return LoginOutcome(None)
    if user.locked_until is not None and _naive(user.locked_until) > _naive(now):
        return LoginOutcome(None, locked=True)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            audit.record(
                session,
                actor=SYSTEM,
                action="user.locked",
                entity_type="agent_user",
                entity_id=user.id,
                after={"locked_until": user.locked_until},
            )
        return LoginOutcome(
            None, locked=user.locked_until is not None and _naive(user.locked_until) > _naive(now)
        )
    user.failed_logins = 0
    user.locked_until = None
    return LoginOutcome(Principal(kind="user", id=user.id, name=user.username, role=Role(user.role)))


def load_user_principal(session: Session, user_id: int) -> Principal | None:
    user = session.get(AgentUser, user_id)
    if user is None or user.disabled_at is not None:
        return None
    return Principal(kind="user", id=user.id, name=user.username, role=Role(user.role))
