"""The admins' webhook page in the agent UI: add (the secret shown once), list, deliveries, delete."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Database
from tests.web.helpers import login, make_user


def test_an_admin_adds_sees_and_deletes_an_endpoint(db: Database, client: TestClient) -> None:
    make_user(db.engine, "root", "admin")
    make_user(db.engine, "sup", "supervisor")
    token = login(client, "root")
    page = client.get("/agent/webhooks")
    assert page.status_code == 200 and "hardship.deferral.granted" in page.text
    bad = client.post("/agent/webhooks", data={"url": "ftp://nope", "csrf_token": token})
    assert bad.status_code == 200 and "ftp://nope" in bad.text and "field-error" in bad.text
    added = client.post(
        "/agent/webhooks",
        data={
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["hardship.plan.created"],
            "csrf_token": token,
        },
    )
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', added.text)
    assert added.status_code == 200 and secret
    assert secret.group(1) not in client.get("/agent/webhooks").text  # shown once
    assert client.get("/agent/webhooks/1").status_code == 200
    gone = client.post("/agent/webhooks/1/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert "http://127.0.0.1:9/hook" not in client.get("/agent/webhooks").text
    client.post("/agent/logout", data={"csrf_token": token})
    login(client, "sup")
    assert client.get("/agent/webhooks").status_code == 403


def test_the_navigation_links_to_the_webhooks_page_for_admins_only(db: Database, client: TestClient) -> None:
    make_user(db.engine, "root", "admin")
    make_user(db.engine, "sup", "supervisor")
    token = login(client, "root")
    link = 'href="/agent/webhooks"'
    assert link in client.get("/agent/").text
    page = client.get("/agent/webhooks").text
    assert '<a href="/agent/webhooks" aria-current="page">' in page
    client.post("/agent/logout", data={"csrf_token": token})
    login(client, "sup")
    assert link not in client.get("/agent/").text
