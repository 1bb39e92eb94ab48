"""Security headers on every /agent page (signed in or not): a CSP that allows no inline script, no
framing, no MIME sniffing."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.services import auth
from tests.conftest import Database
from tests.fuzz.scenario import account_body, bearer
from tests.support import business_today

PASSWORD = "agent-password-for-headers"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def mounted_agent_ui(app: FastAPI) -> bool:
    return any(getattr(route, "path", None) == "/agent" for route in app.routes)


def assert_security_headers(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers.get("content-security-policy", "")
    assert csp, f"{where}: no Content-Security-Policy"
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src") or directives.get("default-src", "")
    assert script, f"{where}: the CSP does not govern scripts: {csp}"
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, f"{where}: {script}"
    assert re.search(r"\*(\s|$)", script) is None, f"{where}: scripts from anywhere: {script}"
    framing = headers.get("x-frame-options", "").upper() == "DENY" or "frame-ancestors 'none'" in csp
    assert framing, f"{where}: the page may be framed"
    assert headers.get("x-content-type-options", "").lower() == "nosniff", where


@pytest.fixture
def signed_in(db: Database, app: FastAPI, client: TestClient, keys: dict[str, str]) -> TestClient:
    if not mounted_agent_ui(app):
        pytest.skip("the agent UI (app/web) is not mounted yet")
    with unit_of_work(db.engine) as s:
        auth.create_user(s, username="header-agent", role="agent", password=PASSWORD)
    body = account_body(customer_ref="C-HDR", today=business_today(db.engine))
    assert client.put("/v1/accounts/HDR-1", json=body, headers=bearer(keys["admin"])).status_code == 201
    return client


def test_agent_pages_carry_the_security_headers(signed_in: TestClient) -> None:
    client = signed_in
    anonymous = [client.get("/agent/login"), client.get("/agent/accounts/HDR-1", follow_redirects=False)]
    for response in anonymous:
        assert_security_headers(response, f"anonymous {response.request.url.path} ({response.status_code})")
    form = CSRF_FIELD.search(anonymous[0].text)
    login = client.post(
        "/agent/login",
        data={"username": "header-agent", "password": PASSWORD, "csrf_token": form.group(1) if form else ""},
        follow_redirects=False,
    )
    assert login.status_code in (302, 303), login.text[:300]
    assert_security_headers(login, "login answer")
    cookie = login.headers.get("set-cookie", "").lower()
    assert "httponly" in cookie and "samesite" in cookie, cookie
    for path in ("/agent/accounts/HDR-1", "/agent/accounts/NO-SUCH-ACCOUNT", "/agent/nope"):
        response = client.get(path)
        assert response.status_code < 500, path
        assert_security_headers(response, f"{path} ({response.status_code})")
    static = client.get("/agent/static/app.css")
    if static.status_code == 200:
        assert static.headers.get("x-content-type-options", "").lower() == "nosniff"
