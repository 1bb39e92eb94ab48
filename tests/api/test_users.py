"""Admins list agent-UI users and end their sessions through the API (CONTRACT.md, "People and
credentials"): a lost laptop is dealt with without shell access to a server."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import unit_of_work
from app.persistence.models import AuditEvent
from app.services import auth
from tests.conftest import Database, bearer
from tests.web.helpers import login, make_user


def signed_in(client: TestClient) -> bool:
    return client.get("/agent/", follow_redirects=False).status_code == 200


def users(client: TestClient, token: str) -> dict[str, dict[str, object]]:
    response = client.get("/v1/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    return {item["username"]: item for item in response.json()["items"]}


def test_an_admin_sees_each_user_with_their_open_sessions(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    make_user(db.engine, "ann", "agent")
    make_user(db.engine, "bob", "supervisor")
    login(client, "ann")
    listed = users(client, keys["admin"])
    assert list(listed) == ["ann", "bob"]
    assert listed["ann"]["sessions_open"] == 1 and listed["ann"]["role"] == "agent"
    assert listed["bob"]["sessions_open"] == 0 and listed["bob"]["disabled_at"] is None


def test_ending_a_users_sessions_signs_them_out_everywhere_and_is_audited(
    db: Database, client: TestClient, app: object, keys: dict[str, str]
) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    with TestClient(app) as api:  # type: ignore[arg-type]
        response = api.post("/v1/users/ann/end-sessions", headers=bearer(keys["admin"]))
        assert response.status_code == 200, response.text
        assert response.json() == {"username": "ann", "sessions_ended": 1}
        assert not signed_in(client)
        assert users(api, keys["admin"])["ann"]["sessions_open"] == 0
        again = api.post("/v1/users/ann/end-sessions", headers=bearer(keys["admin"]))
        assert again.json()["sessions_ended"] == 0
    with unit_of_work(db.engine) as s:
        ended = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended")).all()
        assert [e.actor_role for e in ended] == ["admin", "admin"]


def test_disabling_a_user_ends_their_sessions_and_stops_their_keys(
    db: Database, client: TestClient, app: object, keys: dict[str, str]
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        anns_key = auth.create_api_key(s, name="ann-key", role="agent", username="ann").token
    login(client, "ann")
    with TestClient(app) as api:  # type: ignore[arg-type]
        assert api.get("/v1/business-date", headers=bearer(anns_key)).status_code == 200
        response = api.post("/v1/users/ann/disable", headers=bearer(keys["admin"]))
        assert response.status_code == 200, response.text
        assert response.json()["disabled_at"] is not None and response.json()["sessions_open"] == 0
        assert not signed_in(client)
        assert api.get("/v1/business-date", headers=bearer(anns_key)).status_code == 401


def test_only_admins_manage_users_and_unknown_users_are_named(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    make_user(db.engine, "ann", "agent")
    for role in ("agent", "supervisor", "auditor", "channel", "batch_operator"):
        assert client.get("/v1/users", headers=bearer(keys[role])).status_code == 403
        assert client.post("/v1/users/ann/end-sessions", headers=bearer(keys[role])).status_code == 403
    missing = client.post("/v1/users/nobody/end-sessions", headers=bearer(keys["admin"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "nobody" in missing.json()["detail"]
