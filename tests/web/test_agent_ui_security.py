"""The agent UI's login, session, CSRF, role checks, security headers and error pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.db import unit_of_work
from app.persistence.models import AgentUser
from app.services.clock import utcnow
from app.web import security
from tests.conftest import Database
from tests.factories import make_account
from tests.web.helpers import PASSWORD, csrf_from, login, make_user

GUARDED_PAGES = [
    "/agent/",
    "/agent/search?q=A-1",
    "/agent/accounts/A-1",
    "/agent/accounts/A-1/quotes",
    "/agent/approvals",
    "/agent/disputes",
    "/agent/disasters",
    "/agent/audit",
    "/agent/plans/1",
    "/agent/scans/1",
]


@pytest.mark.parametrize("path", GUARDED_PAGES)
def test_a_page_without_a_session_redirects_to_the_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/agent/login")


def test_the_login_page_has_the_contract_fields_and_a_csrf_token(client: TestClient) -> None:
    page = client.get("/agent/login")

    assert page.status_code == 200
    assert 'name="username"' in page.text
    assert 'name="password"' in page.text
    assert csrf_from(page.text)


def test_the_login_keeps_the_page_asked_for(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    guarded = client.get("/agent/accounts/A-1", follow_redirects=False)
    login_page = client.get(guarded.headers["location"])

    response = client.post(
        "/agent/login",
        data={
            "username": "ann",
            "password": PASSWORD,
            "csrf_token": csrf_from(login_page.text),
            "next": "/agent/accounts/A-1",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/agent/accounts/A-1"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/elsewhere", "/agent/\\evil"]
)
def test_the_login_never_redirects_outside_the_ui(db: Database, client: TestClient, target: str) -> None:
    make_user(db.engine, "ann", "agent")
    token = csrf_from(client.get("/agent/login").text)

    response = client.post(
        "/agent/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/agent/"


def test_a_wrong_password_is_refused_with_a_friendly_page(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")

    login(client, "ann", "not-the-password", expect=401)

    assert client.get("/agent/", follow_redirects=False).status_code == 303
    page = client.get("/agent/login")
    assert "text/html" in page.headers["content-type"]


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    token = csrf_from(client.get("/agent/login").text)

    unknown = client.post(
        "/agent/login", data={"username": "nobody", "password": "x" * 12, "csrf_token": token}
    )
    wrong = client.post("/agent/login", data={"username": "ann", "password": "x" * 12, "csrf_token": token})

    assert unknown.status_code == wrong.status_code == 401
    assert 'role="alert"' in unknown.text


def test_a_user_is_locked_after_repeated_wrong_passwords(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    for _ in range(db.settings.login_max_failures - 1):
        login(client, "ann", "wrong-password-1", expect=401)
    login(client, "ann", "wrong-password-1", expect=429)  # this failure locks the user

    login(client, "ann", PASSWORD, expect=429)  # even the right password, for a while

    page = client.post(
        "/agent/login",
        data={
            "username": "ann",
            "password": PASSWORD,
            "csrf_token": csrf_from(client.get("/agent/login").text),
        },
    )
    assert "15" in page.text  # "locked ... try again in 15 minutes" (the default lockout)


def test_a_login_without_the_csrf_token_is_refused(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    client.get("/agent/login")

    response = client.post("/agent/login", data={"username": "ann", "password": PASSWORD})

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert client.get("/agent/", follow_redirects=False).status_code == 303


def test_an_action_without_the_csrf_token_changes_nothing(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    login(client, "ann")

    missing = client.post("/agent/accounts/A-1/waivers", data={"fee_amount": "10.00", "reason": "illness"})
    forged = client.post(
        "/agent/accounts/A-1/waivers",
        data={"fee_amount": "10.00", "reason": "illness", "csrf_token": "forged-" + "x" * 40},
    )

    assert missing.status_code == forged.status_code == 403
    assert "300.00" in client.get("/agent/accounts/A-1").text


def test_a_token_from_another_session_is_refused(db: Database, app: object) -> None:
    make_user(db.engine, "ann", "agent")
    make_user(db.engine, "bob", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    with TestClient(app) as first, TestClient(app) as second:  # type: ignore[arg-type]
        token_of_first = login(first, "ann")
        login(second, "bob")

        response = second.post(
            "/agent/accounts/A-1/waivers",
            data={"fee_amount": "10.00", "reason": "illness", "csrf_token": token_of_first},
        )

    assert response.status_code == 403


def test_a_session_expires_after_the_idle_time(
    db: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    now = security.now_seconds()
    monkeypatch.setattr(security, "now_seconds", lambda: now + db.settings.session_idle_seconds + 5)

    response = client.get("/agent/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/agent/login?expired=1"


def test_a_session_expires_after_the_absolute_lifetime_even_when_used(
    db: Database, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(db.engine, "ann", "agent")
    # The session clock stands still from before the login, so a slow login cannot eat into the
    # lifetime the test counts.
    start = float(int(security.now_seconds()))
    monkeypatch.setattr(security, "now_seconds", lambda: start)
    login(client, "ann")
    step = db.settings.session_idle_seconds // 2
    elapsed = 0
    while elapsed + step <= db.settings.session_max_age_seconds:
        elapsed += step
        monkeypatch.setattr(security, "now_seconds", lambda e=elapsed: start + e)
        assert client.get("/agent/", follow_redirects=False).status_code == 200
    monkeypatch.setattr(security, "now_seconds", lambda: start + db.settings.session_max_age_seconds + 1)

    assert client.get("/agent/", follow_redirects=False).status_code == 303


def test_logging_out_ends_the_session(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    token = login(client, "ann")

    response = client.post("/agent/logout", data={"csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    assert client.get("/agent/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_http_only_same_site_and_scoped_to_the_ui(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    token = csrf_from(client.get("/agent/login").text)

    response = client.post(
        "/agent/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )

    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("hardship_agent=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/agent" in cookie


def test_a_tampered_session_cookie_is_ignored(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    value = client.cookies.get("hardship_agent")
    assert value
    client.cookies.set("hardship_agent", value[:-3] + "AAA", path="/agent")

    assert client.get("/agent/", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_signed_out_at_once(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    with unit_of_work(db.engine) as s:
        s.execute(update(AgentUser).where(AgentUser.username == "ann").values(disabled_at=utcnow()))

    assert client.get("/agent/", follow_redirects=False).status_code == 303


# --- roles -----------------------------------------------------------------------------------------


def test_an_agent_cannot_see_the_approvals_queue_or_the_disaster_pages(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")

    home = client.get("/agent/").text

    assert client.get("/agent/approvals").status_code == 403
    assert client.get("/agent/disasters").status_code == 403
    assert client.get("/agent/disasters/EV-1").status_code == 403
    assert client.get("/agent/audit").status_code == 403
    assert 'href="/agent/approvals"' not in home
    assert 'href="/agent/disasters"' not in home
    assert 'href="/agent/disputes"' in home


def test_an_agent_cannot_act_beyond_the_role(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    token = login(client, "ann")

    assert client.post("/agent/approvals/1/approve", data={"csrf_token": token}).status_code == 403
    assert client.post("/agent/disasters/EV-1/scans", data={"csrf_token": token}).status_code == 403
    assert (
        client.post(
            "/agent/disputes/1/transition", data={"csrf_token": token, "target_status": "withdrawn"}
        ).status_code
        == 403
    )


def test_a_supervisor_sees_the_approvals_queue_and_the_disaster_pages(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "sue", "supervisor")
    login(client, "sue")

    home = client.get("/agent/").text

    assert client.get("/agent/approvals").status_code == 200
    assert client.get("/agent/disasters").status_code == 200
    assert 'href="/agent/approvals"' in home
    assert 'href="/agent/disasters"' in home
    assert 'href="/agent/audit"' not in home


def test_an_auditor_reads_the_audit_log_but_not_single_accounts(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ava", "auditor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ava")

    audit_page = client.get("/agent/audit")

    assert audit_page.status_code == 200
    assert "user.created" in audit_page.text
    assert client.get("/agent/accounts/A-1").status_code == 403
    assert client.get("/agent/approvals").status_code == 403


def test_a_batch_operator_runs_disasters_but_does_not_open_accounts(db: Database, client: TestClient) -> None:
    make_user(db.engine, "oli", "batch_operator")
    login(client, "oli")

    page = client.get("/agent/disasters")

    assert page.status_code == 200
    assert 'name="region_codes"' in page.text  # may declare
    assert client.get("/agent/accounts/A-1").status_code == 403


# --- headers and errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/agent/login", "/agent/static/app.css", "/agent/no-such-page"])
def test_ui_responses_carry_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


def test_pages_are_not_cached(client: TestClient) -> None:
    assert client.get("/agent/login").headers["cache-control"] == "no-store"


def test_errors_are_friendly_html_not_json_or_a_trace(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")

    missing = client.get("/agent/accounts/NO-SUCH")
    unknown = client.get("/agent/no-such-page")
    bad_number = client.get("/agent/plans/not-a-number")

    for response, status in ((missing, 404), (unknown, 404), (bad_number, 422)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text
        assert "<h1>" in response.text


def test_the_ui_uses_no_inline_script_and_no_external_resource(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")

    html = client.get("/agent/accounts/A-1").text

    vendored = ('<script src="/agent/static/htmx.min.js"', '<script src="/agent/static/desk.js"')
    for tag in vendored:
        html = html.replace(tag, "")
    assert "<script>" not in html and "<script " not in html
    assert " style=" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
