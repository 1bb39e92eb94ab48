"""API keys and agent-UI users.  Keys are random, shown once, stored as a SHA-256 hash (they carry
256 bits of entropy, so a slow hash adds nothing); passwords are argon2id hashes."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import event, or_, select, update
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
# A verified key is remembered in this process for KEY_CACHE_SECONDS (by the SHA-256 of the whole
# token, never the token itself), so that busy keys do not cost a query per request.  Revoking a key
# in this process (API or CLI) clears the cache at once; a revocation made by another process takes
# effect here within KEY_CACHE_SECONDS at the latest.  last_used_at is refreshed on a cache miss, so
# it lags real use by at most LAST_USED_RESOLUTION + KEY_CACHE_SECONDS.
KEY_CACHE_SECONDS = 30.0
KEY_CACHE_MAX_ENTRIES = 10_000
_hasher = PasswordHasher()


@functools.cache
def dummy_password_hash() -> str:
    """A hash to verify against when the user does not exist, so that an unknown user's login takes
    as long as a wrong password. Made once per process by the web app at start (app.main), not at
    import: an argon2 hash would cost every CLI command and chunk process ~0.1 s."""
    return _hasher.hash("not-a-real-password")


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
        clear_key_cache()
        # ...and again once the revocation is committed, in case a concurrent request re-cached the
        # key from a snapshot taken before the commit.
        event.listen(session, "after_commit", lambda _session: clear_key_cache(), once=True)
        audit.record(
            session,
            actor=actor,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key.id,
            after={"revoked_at": key.revoked_at},
        )
    return key


@dataclass(frozen=True)
class _CachedKey:
    principal: Principal
    expires: float  # time.monotonic()


_key_cache: dict[tuple[int, str], _CachedKey] = {}
_key_cache_lock = threading.Lock()


def clear_key_cache() -> None:
    """Forget every verified key (called on revocation; tests may call it too)."""
    with _key_cache_lock:
        _key_cache.clear()


def cached_principal(session: Session, token: str) -> Principal | None:
    """The principal of a key verified in this process less than KEY_CACHE_SECONDS ago, without I/O."""
    entry = _key_cache.get((_database_of(session), _hash_secret(token)))
    if entry is None or entry.expires < time.monotonic():
        return None
    return entry.principal


def authenticate_key(session: Session, token: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None.  Constant-time comparison."""
    cache_key = (_database_of(session), _hash_secret(token))
    entry = _key_cache.get(cache_key)
    if entry is not None and entry.expires >= time.monotonic():
        return entry.principal
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
        # Recorded at minute resolution so that busy keys do not write on every request; the
        # condition makes concurrent first uses of a key update the row once, not once each.
        session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    principal = Principal(kind="key", id=key.id, name=key.name, role=Role(key.role))
    with _key_cache_lock:
        if len(_key_cache) >= KEY_CACHE_MAX_ENTRIES:
            _key_cache.clear()
        _key_cache[cache_key] = _CachedKey(principal, time.monotonic() + KEY_CACHE_SECONDS)
    return principal


def _database_of(session: Session) -> int:
    """Which engine (so which database) a key was verified against: a process may talk to several,
    e.g. in tests.  The engine's identity, not its URL, whose hash renders it as text each time."""
    return id(session.get_bind().engine)


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
            _hasher.verify(dummy_password_hash(), password)
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
