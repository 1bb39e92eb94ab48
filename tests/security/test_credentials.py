"""API keys and agent passwords: the database never holds a key or a password, a key is shown once,
works until it is revoked (401 at once after), records when it was last used; passwords are argon2id
hashes; secrets are compared in constant time."""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.db import unit_of_work
from app.persistence.models import AgentUser, ApiKey, Base
from app.services import auth
from tests.conftest import Database
from tests.fuzz.cli import invoke_cli
from tests.fuzz.scenario import account_body, bearer
from tests.support import business_today

APP_DIR = Path(__file__).resolve().parents[2] / "app"
PASSWORD = "a long and secret passphrase"


def every_stored_value(engine: Engine) -> str:
    """All rows of all tables, as one text to search."""
    chunks: list[str] = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def create_key_with_cli(
    db: Database, tmp_path: Path, role: str = "agent", name: str = "sec"
) -> tuple[str, str]:
    result = invoke_cli(db.url, "keys", "create", "--role", role, "--name", name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"hsk_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", token), token
    return token, result.stdout + result.stderr


def key_row(db: Database, token: str) -> ApiKey:
    prefix = token.split("_", 2)[1]
    with unit_of_work(db.engine) as s:
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        assert row is not None
        return row


def test_the_database_holds_only_a_hash_of_the_key(db: Database, tmp_path: Path) -> None:
    token, printed = create_key_with_cli(db, tmp_path)
    secret = token.split("_", 2)[2]
    assert printed.count(secret) == 1, "the key is printed exactly once"
    row = key_row(db, token)
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    everything = every_stored_value(db.engine)
    assert secret not in everything
    assert token not in everything


def test_a_key_is_never_shown_again(db: Database, tmp_path: Path) -> None:
    token, _ = create_key_with_cli(db, tmp_path, name="shown-once")
    listed = invoke_cli(db.url, "keys", "list", cwd=tmp_path)
    assert listed.returncode == 0
    assert "shown-once" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout + listed.stderr


def test_a_revoked_key_is_refused_at_once_and_last_use_is_recorded(
    db: Database, client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    token, _ = create_key_with_cli(db, tmp_path, role="admin", name="to-revoke")
    assert key_row(db, token).last_used_at is None
    body = account_body(customer_ref="C-SEC", today=business_today(db.engine))
    assert client.put("/v1/accounts/SEC-1", json=body, headers=bearer(token)).status_code == 201
    assert key_row(db, token).last_used_at is not None

    revoked = invoke_cli(db.url, "keys", "revoke", str(key_row(db, token).id), cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr

    for response in (
        client.get("/v1/accounts/SEC-1", headers=bearer(token)),
        client.put("/v1/accounts/SEC-1", json=body, headers=bearer(token)),
        client.post(
            "/v1/accounts/SEC-1/eligibility",
            json={"reason": "illness"},
            headers={**bearer(token), "Idempotency-Key": "revoked-1"},
        ),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert client.get("/v1/accounts/SEC-1", headers=bearer(keys["admin"])).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer", id="empty_bearer"),
        pytest.param("Basic YWRtaW46YWRtaW4=", id="basic"),
        pytest.param("Bearer hsk_000000000000_nope", id="unknown_prefix"),
        pytest.param("Bearer not-a-key", id="garbage"),
        pytest.param("Bearer hsk__", id="empty_parts"),
    ],
)
def test_anything_but_a_valid_key_is_a_401(
    client: TestClient, keys: dict[str, str], header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/v1/accounts/X", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_a_401(
    client: TestClient, keys: dict[str, str]
) -> None:
    token = keys["admin"]
    kind, prefix, secret = token.split("_", 2)
    prefix = f"{kind}_{prefix}"
    for wrong in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), secret[:-1], secret + "A", ""):
        response = client.get("/v1/accounts/X", headers=bearer(f"{prefix}_{wrong}"))
        assert response.status_code == 401, wrong


def test_user_passwords_are_argon2id_hashes_and_never_stored(db: Database, tmp_path: Path) -> None:
    made = invoke_cli(
        db.url,
        "users",
        "create",
        "--role",
        "agent",
        "--username",
        "sec-user",
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    with unit_of_work(db.engine) as s:
        user = s.scalar(select(AgentUser).where(AgentUser.username == "sec-user"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in every_stored_value(db.engine)
    with unit_of_work(db.engine) as s:
        ok = auth.authenticate_user(s, username="sec-user", password=PASSWORD)
        assert ok.principal is not None
        bad = auth.authenticate_user(s, username="sec-user", password=PASSWORD + "x")
        assert bad.principal is None


# --- constant-time comparison (a code-level check) ---------------------------------------------------

SECRET_NAMES = r"(key_hash|password_hash|secret|token|csrf|signature|digest)"
PLAIN_COMPARISON = re.compile(rf"\b{SECRET_NAMES}\w*\s*(==|!=)|(==|!=)\s*[\w.]*{SECRET_NAMES}\w*\b")


def test_key_checks_use_a_constant_time_comparison() -> None:
    source = inspect.getsource(auth.authenticate_key)
    assert "hmac.compare_digest" in source
    assert not PLAIN_COMPARISON.search(source), "compare secrets with hmac.compare_digest, not =="


def test_no_secret_is_compared_with_equals_anywhere_in_the_app() -> None:
    """A plain == on a hash, token or CSRF value leaks timing; every such check uses compare_digest."""
    offenders = []
    for path in APP_DIR.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if PLAIN_COMPARISON.search(code) and "is None" not in code and "request_hash" not in code:
                offenders.append(f"{path.relative_to(APP_DIR.parent)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_a_key_in_the_old_format_keeps_working(db: Database) -> None:
    """Keys made before the format change carried a base64url secret, which may contain `_`."""
    import hashlib
    import secrets as secrets_module

    from app.persistence.models import ApiKey
    from app.services.clock import utcnow

    prefix, secret = secrets_module.token_hex(6), "_old_style-secret_" + secrets_module.token_urlsafe(24)
    with unit_of_work(db.engine) as s:
        s.add(
            ApiKey(
                name="old",
                role="auditor",
                prefix=prefix,
                key_hash=hashlib.sha256(secret.encode()).hexdigest(),
                created_at=utcnow(),
            )
        )
    with unit_of_work(db.engine) as s:
        principal = auth.authenticate_key(s, f"hsk_{prefix}_{secret}")
    assert principal is not None and principal.name == "old"


def test_new_keys_split_into_exactly_three_parts(db: Database) -> None:
    with unit_of_work(db.engine) as s:
        tokens = [auth.create_api_key(s, name=f"k{n}", role="auditor").token for n in range(50)]
    for token in tokens:
        kind, prefix, secret = token.split("_")
        assert kind == "hsk" and len(prefix) == 12 and len(secret) == 64 and secret.isalnum()


def test_login_counters_can_live_in_redis() -> None:
    from app.services.login_limits import LoginLimiter
    from tests.support import redis_url

    url = redis_url()
    if url is None:
        pytest.skip("no Redis (TEST_REDIS_URL)")
    limiter = LoginLimiter(per_address="2/minute", max_failures=1, failure_window_seconds=60, storage_url=url)
    limiter.storage.reset()
    assert limiter.allow_attempt("10.1.1.1") and limiter.allow_attempt("10.1.1.1")
    assert not limiter.allow_attempt("10.1.1.1")
    limiter.record_failure("boss", "10.1.1.1")
    assert limiter.backed_off("boss", "10.1.1.1") and not limiter.backed_off("boss", "10.1.1.2")
    limiter.storage.reset()
