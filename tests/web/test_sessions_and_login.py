"""Agent-UI sessions kept on the server and login throttling (issue 10, "Sessions and login")."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import unit_of_work
from app.persistence.models import AgentSession, AuditEvent
from app.services import auth
from tests.conftest import Database
from tests.web.helpers import PASSWORD, csrf_from, login, make_user


def copy_of_cookies(client: TestClient, app_client: TestClient) -> TestClient:
    for name, value in client.cookies.items():
        app_client.cookies.set(name, value)
    return app_client


def signed_in(client: TestClient) -> bool:
    return client.get("/agent/", follow_redirects=False).status_code == 200


def test_a_copied_cookie_stops_working_after_logout(db: Database, client: TestClient, app: object) -> None:
    make_user(db.engine, "ann", "agent")
    token = login(client, "ann")
    with TestClient(app) as thief:  # type: ignore[arg-type]
        copy_of_cookies(client, thief)
        assert signed_in(thief)
        client.post("/agent/logout", data={"csrf_token": token}, follow_redirects=False)
        assert not signed_in(thief)
    with unit_of_work(db.engine) as s:
        row = s.scalars(select(AgentSession)).one()
        assert row.ended_at is not None and row.end_reason == "logout"


def test_the_cookie_carries_a_session_reference_not_the_user(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    with unit_of_work(db.engine) as s:
        row = s.scalars(select(AgentSession)).one()
    cookie = client.cookies.get("hardship_agent") or ""
    import base64
    import json

    payload = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    assert "uid" not in payload and payload["sid"].startswith(f"{row.id}.")
    assert payload["sid"].split(".", 1)[1] not in row.secret_hash


@pytest.mark.parametrize("how", ["disable", "password", "end_sessions"])
def test_disabling_a_password_change_or_an_admin_ends_every_session(
    db: Database, client: TestClient, how: str
) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    assert signed_in(client)
    with unit_of_work(db.engine) as s:
        if how == "disable":
            auth.disable_user(s, username="ann")
        elif how == "password":
            auth.set_password(s, username="ann", password="another long password")
        else:
            auth.end_user_sessions(s, user_id=auth.get_user_by_name(s, "ann").id)
    assert not signed_in(client)


def _post_login(client: TestClient, username: str, password: str) -> int:
    token = csrf_from(client.get("/agent/login").text)
    response = client.post(
        "/agent/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_logins_are_limited_per_address_before_any_password_is_hashed(
    db: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(db.engine, "ann", "agent")
    hashed: list[int] = []
    original = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
        hashed.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    answers = [_post_login(client, f"bogus{n}", "wrong password!") for n in range(30)]
    assert answers[:20] == [401] * 20
    assert set(answers[20:]) == {429}
    assert len(hashed) == 20  # the attempts over the rate cost no hashing
    assert _post_login(client, "ann", PASSWORD) == 429  # the address waits, whoever it is


def test_wrong_passwords_back_off_one_user_from_one_address_only(
    db: Database, client: TestClient, app: object
) -> None:
    """Five anonymous requests do not lock a supervisor out: the back-off is per user and address."""
    make_user(db.engine, "boss", "supervisor")
    answers = [_post_login(client, "boss", "wrong password!") for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    assert _post_login(client, "boss", PASSWORD) == 429  # from this address, for a while
    with TestClient(app, client=("10.0.0.7", 50000)) as elsewhere:  # type: ignore[arg-type]
        assert _post_login(elsewhere, "boss", PASSWORD) == 303


def test_unknown_and_known_usernames_get_the_same_answers_and_the_same_work(
    db: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same answers, and the same work behind them (so the same time): one argon2 verification per
    checked attempt whether the user exists or not, none once backed off. Counted rather than
    timed, so that a busy machine cannot make the test fail by chance."""
    make_user(db.engine, "boss", "supervisor")
    verified: list[str] = []
    original = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
        verified.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    def attempts(username: str) -> tuple[list[int], int]:
        before = len(verified)
        answers = [_post_login(client, username, "wrong password!") for _ in range(6)]
        return answers, len(verified) - before

    known, unknown = attempts("boss"), attempts("nobody-here")
    assert known == unknown == ([401, 401, 401, 401, 429, 429], 5)
    assert auth.dummy_password_hash() in verified  # the unknown user paid for a real verification


def test_logins_are_audited_without_the_password(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    _post_login(client, "ann", "wrong password!")
    _post_login(client, "nobody", "another wrong one")
    login(client, "ann")
    with unit_of_work(db.engine) as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("user.login%")).order_by(AuditEvent.id)
        ).all()
    assert [(r.action, r.after["username"]) for r in rows] == [
        ("user.login_failed", "ann"),
        ("user.login_failed", "nobody"),
        ("user.login", "ann"),
    ]
    text = " ".join(str(r.after) + str(r.before) for r in rows)
    assert "wrong password!" not in text and PASSWORD not in text and "another wrong one" not in text
