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
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.access import Role, parse_role
from app.persistence.models import AgentSession, AgentUser, ApiKey
from app.services import audit
from app.services.clock import utcnow
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.principal import SYSTEM, Principal, user_person

KEY_PREFIX = "hsk"
KEY_SEPARATOR = "_"
# Roles that act for a person: in production their keys must be issued to an agent-UI user
# (CONTRACT.md, "People and credentials"). Channel and batch keys belong to systems.
PERSON_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})
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
    username: str | None = None


def new_key_token(prefix: str) -> tuple[str, str]:
    """(token, secret): ``hsk_<12 hex>_<64 hex>``. Neither the prefix nor the secret contains the
    separator, so the token splits into exactly three parts. Keys made before (whose base64url
    secret may contain ``_``) still verify: the token is split at its first two separators only."""
    secret = secrets.token_hex(32)
    return KEY_SEPARATOR.join((KEY_PREFIX, prefix, secret)), secret


def create_api_key(
    session: Session,
    *,
    name: str,
    role: str,
    actor: Principal = SYSTEM,
    username: str | None = None,
    require_person: bool = False,
) -> CreatedKey:
    """A new key; the token is returned once and never stored.

    ``username`` issues the key to that agent-UI user: the key then acts as that person. With
    ``require_person`` (production), keys for the person roles must name a user (InvalidInput)."""
    parsed = parse_role(role)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters")
    if _has_control_characters(name):
        raise InvalidInput("name must not contain control characters")
    user: AgentUser | None = None
    if username is not None:
        user = session.scalar(select(AgentUser).where(AgentUser.username == username.strip()))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        if user.disabled_at is not None:
            raise Conflict(f"the user {username!r} is disabled")
    elif require_person and parsed in PERSON_ROLES:
        raise InvalidInput(
            f"a key for the role {parsed.value!r} must be issued to a user in production (--user USERNAME)"
        )
    prefix = secrets.token_hex(6)
    token, secret = new_key_token(prefix)
    key = ApiKey(
        name=name,
        role=parsed.value,
        prefix=prefix,
        key_hash=_hash_secret(secret),
        created_at=utcnow(),
        user_id=None if user is None else user.id,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key.id,
        after={
            "name": name,
            "role": parsed.value,
            "prefix": prefix,
            "person": user_person(user.id) if user is not None else f"key:{key.id}",
        },
    )
    return CreatedKey(
        id=key.id,
        name=name,
        role=parsed,
        token=token,
        username=None if user is None else user.username,
    )


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
    parts = token.split(KEY_SEPARATOR, 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if key.user_id is not None:
        # A key issued to a user acts as that person: it stops when the user is disabled.
        disabled = session.scalar(select(AgentUser.disabled_at).where(AgentUser.id == key.user_id))
        if disabled is not None:
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
    principal = Principal(
        kind="key",
        id=key.id,
        name=key.name,
        role=Role(key.role),
        person_id=None if key.user_id is None else user_person(key.user_id),
    )
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


def _has_control_characters(value: str) -> bool:
    """Control, format and separator characters other than the plain space (Unicode categories C*
    and Z* but " "): they make a name print as something it is not."""
    return any(
        unicodedata.category(char)[0] == "C" or (unicodedata.category(char)[0] == "Z" and char != " ")
        for char in value
    )


def _user_principal(user: AgentUser) -> Principal:
    return Principal(
        kind="user", id=user.id, name=user.username, role=Role(user.role), person_id=user_person(user.id)
    )


def create_user(
    session: Session, *, username: str, role: str, password: str, actor: Principal = SYSTEM
) -> AgentUser:
    parsed = parse_role(role)
    username = username.strip()
    if not 1 <= len(username) <= 64:
        raise InvalidInput("username must be 1 to 64 characters")
    if _has_control_characters(username):
        raise InvalidInput("username must not contain control characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = AgentUser(
        username=username,
        role=parsed.value,
        password_hash=_hasher.hash(password),
        created_at=utcnow(),
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


def get_user_by_name(session: Session, username: str) -> AgentUser:
    user = session.scalar(select(AgentUser).where(AgentUser.username == username.strip()))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    sessions_open: int


def list_users(session: Session, *, now: datetime, max_age: timedelta, idle: timedelta) -> list[UserView]:
    """Every agent-UI user by name, with the sessions of theirs that would still let them in now
    (not ended, within the absolute and idle limits)."""
    live = (
        select(AgentSession.user_id, func.count().label("open"))
        .where(
            AgentSession.ended_at.is_(None),
            AgentSession.created_at > now - max_age,
            AgentSession.last_seen_at > now - idle,
        )
        .group_by(AgentSession.user_id)
        .subquery()
    )
    rows = session.execute(
        select(AgentUser, func.coalesce(live.c.open, 0))
        .outerjoin(live, live.c.user_id == AgentUser.id)
        .order_by(AgentUser.username)
    ).all()
    return [
        UserView(
            username=user.username,
            role=user.role,
            created_at=user.created_at,
            disabled_at=user.disabled_at,
            sessions_open=int(open_count),
        )
        for user, open_count in rows
    ]


def disable_user(session: Session, *, username: str, actor: Principal = SYSTEM) -> AgentUser:
    """Disable a user: their sessions end and the keys issued to them stop working at once."""
    user = get_user_by_name(session, username)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        session.flush()
        clear_key_cache()
        event.listen(session, "after_commit", lambda _session: clear_key_cache(), once=True)
        audit.record(
            session,
            actor=actor,
            action="user.disabled",
            entity_type="agent_user",
            entity_id=user.id,
            after={"username": user.username, "disabled_at": user.disabled_at},
        )
    end_user_sessions(session, user_id=user.id, reason="user_disabled", actor=actor)
    return user


def set_password(session: Session, *, username: str, password: str, actor: Principal = SYSTEM) -> AgentUser:
    """A new password for a user; every session of theirs ends."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = get_user_by_name(session, username)
    user.password_hash = _hasher.hash(password)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.password_changed",
        entity_type="agent_user",
        entity_id=user.id,
        after={"username": user.username},
    )
    end_user_sessions(session, user_id=user.id, reason="password_changed", actor=actor)
    return user


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None


def authenticate_user(
    session: Session, *, username: str, password: str, address: str | None = None
) -> LoginOutcome:
    """Checks a password and audits the attempt (successful or failed, never the password).

    An unknown or disabled user costs the same argon2 verification as a wrong password and writes
    the same audit event, so that neither the answer nor its timing tells who exists. Throttling
    (per client address, and per user and address) happens before this is called
    (app.services.login_limits)."""
    user = session.scalar(select(AgentUser).where(AgentUser.username == username))
    verified = False
    if user is None or user.disabled_at is not None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(dummy_password_hash(), password)
    else:
        try:
            verified = _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            verified = False
    principal = _user_principal(user) if verified and user is not None else None
    audit.record(
        session,
        actor=principal or SYSTEM,
        action="user.login" if principal is not None else "user.login_failed",
        entity_type="agent_user",
        entity_id=user.id if user is not None else "unknown",
        after={"username": username[:64], "address": address},
    )
    return LoginOutcome(principal)


def load_user_principal(session: Session, user_id: int) -> Principal | None:
    user = session.get(AgentUser, user_id)
    if user is None or user.disabled_at is not None:
        return None
    return _user_principal(user)


# --- agent-UI sessions, kept on the server ----------------------------------------------------------

SEEN_RESOLUTION = timedelta(seconds=15)


def start_session(session: Session, *, user_id: int, now: datetime) -> str:
    """A new server-side session for the user; returns its reference for the cookie,
    ``<id>.<random secret>``. Only the secret's SHA-256 is stored."""
    secret = secrets.token_urlsafe(32)
    row = AgentSession(secret_hash=_hash_secret(secret), user_id=user_id, created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return f"{row.id}.{secret}"


def _session_row(session: Session, token: str) -> AgentSession | None:
    """The session a cookie's reference names, when its secret matches (constant-time)."""
    row_id, _, secret = token.partition(".")
    if not row_id.isascii() or not row_id.isdigit() or len(row_id) > 18 or not secret:
        return None
    row = session.get(AgentSession, int(row_id))
    if row is None or not hmac.compare_digest(row.secret_hash, _hash_secret(secret)):
        return None
    return row


@dataclass(frozen=True)
class SessionCheck:
    principal: Principal | None
    expired: bool


def resolve_session(
    session: Session, *, token: str, now: datetime, max_age: timedelta, idle: timedelta
) -> SessionCheck:
    """The user of a live session: not ended, within its absolute and idle limits, user enabled."""
    agent_session = _session_row(session, token)
    if agent_session is None:
        return SessionCheck(None, expired=True)
    user = session.get(AgentUser, agent_session.user_id)
    if user is None or agent_session.ended_at is not None or user.disabled_at is not None:
        return SessionCheck(None, expired=True)
    now_naive = _naive(now)
    if (
        now_naive - _naive(agent_session.created_at) > max_age
        or now_naive - _naive(agent_session.last_seen_at) > idle
    ):
        agent_session.ended_at = now
        agent_session.end_reason = "expired"
        return SessionCheck(None, expired=True)
    if now_naive - _naive(agent_session.last_seen_at) >= SEEN_RESOLUTION:
        agent_session.last_seen_at = now
    return SessionCheck(_user_principal(user), expired=False)


def end_session(session: Session, *, token: str, now: datetime, reason: str = "logout") -> None:
    row = _session_row(session, token)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        row.end_reason = reason
        session.flush()


def end_user_sessions(
    session: Session, *, user_id: int, reason: str = "ended_by_admin", actor: Principal = SYSTEM
) -> int:
    """End every open session of the user (logout everywhere); returns how many were open."""
    result = session.execute(
        update(AgentSession)
        .where(AgentSession.user_id == user_id, AgentSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    audit.record(
        session,
        actor=actor,
        action="user.sessions_ended",
        entity_type="agent_user",
        entity_id=user_id,
        after={"sessions_ended": ended, "reason": reason},
    )
    return ended
