"""Webhooks: endpoints over the API, signed deliveries verified with the Standard Webhooks library,
retries on the schedule, failed at its end, replay, and the server-side request forgery guard."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from app.db import unit_of_work
from app.jobs.events import run_round
from app.persistence.models import WebhookDelivery
from app.services import webhooks
from app.settings import Settings
from tests.conftest import Database, bearer
from tests.events.receiver import receiver
from tests.factories import freeze_today, make_account


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, date(2025, 7, 1))


def fast(db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"webhook_retry_schedule": "1,1,1", "webhook_timeout_seconds": 2.0}
    values.update(overrides)
    return db.settings.model_copy(update=values)


def subscribe(client: TestClient, keys: dict[str, str], url: str, types: list[str] | None = None) -> Any:
    response = client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": types or ["*"]},
        headers=bearer(keys["admin"]),
    )
    assert response.status_code == 201, response.text
    return response.json()


def make_plan(db: Database, client: TestClient, keys: dict[str, str], ref: str = "A-1") -> dict[str, Any]:
    with unit_of_work(db.engine) as s:
        make_account(s, ref)
    body = {"term_months": 6, "reason": "illness", "commitment_accepted": True}
    response = client.post(f"/v1/accounts/{ref}/installment-plans", json=body, headers=bearer(keys["agent"]))
    assert response.status_code == 201
    return dict(response.json())


def pump(db: Database, settings: Settings, until: Any, timeout: float = 20.0) -> None:
    """Run relay rounds until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out"
        if not run_round(db.engine, settings).busy:
            time.sleep(0.2)


def deliveries(client: TestClient, keys: dict[str, str], endpoint_id: int, status: str = "") -> list[Any]:
    query = f"?status={status}" if status else ""
    response = client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries{query}", headers=bearer(keys["admin"])
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_endpoints_are_managed_by_admins_and_the_secret_is_shown_once(
    client: TestClient, keys: dict[str, str]
) -> None:
    created = subscribe(client, keys, "http://127.0.0.1:9/hooks", ["hardship.plan.created"])
    assert created["secret"].startswith("whsec_") and set(created) == {
        "id", "url", "event_types", "secret", "created_by", "created_at"
    }  # fmt: skip
    listed = client.get("/v1/webhook-endpoints", headers=bearer(keys["admin"])).json()["items"]
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    bad = client.post(
        "/v1/webhook-endpoints",
        json={"url": "ftp://x", "event_types": ["nope"]},
        headers=bearer(keys["admin"]),
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"url", "event_types"}
    assert client.get("/v1/webhook-endpoints", headers=bearer(keys["supervisor"])).status_code == 403
    gone = client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=bearer(keys["admin"]))
    assert gone.status_code == 204
    assert client.get("/v1/webhook-endpoints", headers=bearer(keys["admin"])).json()["items"] == []


def test_a_receiver_that_fails_three_times_then_answers_gets_the_signed_event(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    settings = fast(db)
    with receiver(script=[500, 500, 500]) as hook:
        endpoint = subscribe(client, keys, hook.url)
        plan = make_plan(db, client, keys)
        pump(db, settings, lambda: hook.delivered_ids())
        item = deliveries(client, keys, endpoint["id"])[0]
        assert (item["status"], item["attempts"], item["last_status_code"]) == ("delivered", 4, 200)
        assert len(hook.requests) == 4 and len({r.headers["webhook-id"] for r in hook.requests}) == 1
        last = hook.requests[-1]
        event = Webhook(endpoint["secret"]).verify(last.body, last.headers)
        assert event["type"] == "hardship.plan.created" and event["id"] == item["event_id"]
        assert event["specversion"] == "1.0" and event["source"] == "/hardship" and event["seq"] == 1
        assert event["subject"] == "A-1" and event["data"]["id"] == plan["id"]
        assert all(r.body == last.body for r in hook.requests)  # the same bytes on every retry
        with pytest.raises(Exception):  # noqa: B017 - a wrong secret does not verify
            Webhook("whsec_" + "A" * 32).verify(last.body, last.headers)


def test_a_receiver_that_never_answers_ends_failed_and_can_be_replayed(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    settings = fast(db, webhook_timeout_seconds=0.3, webhook_retry_schedule="1")
    with receiver(hang_seconds=1.0) as hook:
        endpoint = subscribe(client, keys, hook.url, ["hardship.plan.created"])
        make_plan(db, client, keys)
        pump(db, settings, lambda: deliveries(client, keys, endpoint["id"], "failed"))
        failed = deliveries(client, keys, endpoint["id"], "failed")[0]
        assert failed["attempts"] == 2 and "no answer" in failed["last_error"]
        hook.hang_seconds = 0
        replay = client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay",
            json={"status": "failed"},
            headers=bearer(keys["admin"]),
        )
        assert replay.status_code == 200 and replay.json() == {"pending": 1}
        pump(db, settings, lambda: failed["event_id"] in hook.delivered_ids())
        assert deliveries(client, keys, endpoint["id"], "delivered")[0]["event_id"] == failed["event_id"]
        # One event again, by id.
        again = client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay",
            json={"event_ids": [failed["event_id"]]},
            headers=bearer(keys["admin"]),
        )
        assert again.json() == {"pending": 1}
        pump(db, settings, lambda: hook.delivered_ids().count(failed["event_id"]) == 2)


def test_only_subscribed_types_are_delivered_and_each_once(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    settings = fast(db)
    with receiver() as everything, receiver() as cancellations:
        subscribe(client, keys, everything.url)
        subscribe(client, keys, cancellations.url, ["hardship.plan.cancelled", "hardship.plan.broken"])
        plan = make_plan(db, client, keys)
        client.post(
            f"/v1/installment-plans/{plan['id']}/cancel", json={"note": "n"}, headers=bearer(keys["agent"])
        )
        pump(db, settings, lambda: len(everything.delivered_ids()) == 2 and cancellations.delivered_ids())
        for _ in range(3):
            run_round(db.engine, settings)
        assert [json.loads(r.body)["type"] for r in cancellations.requests] == ["hardship.plan.cancelled"]
        assert len(everything.requests) == 2


def test_production_refuses_private_and_loopback_urls_unless_allowed(db: Database) -> None:
    production = db.settings.model_copy(update={"environment": "production"})
    for url in ("http://127.0.0.1/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
        with pytest.raises(webhooks.UnsafeUrl):
            webhooks.check_url(url, allow_private=False)
    webhooks.check_url("http://127.0.0.1/x", allow_private=True)
    with unit_of_work(db.engine) as s:
        from app.services.errors import InvalidInput
        from app.services.principal import SYSTEM

        with pytest.raises(InvalidInput):
            webhooks.create_endpoint(
                s, url="http://localhost/x", event_types=["*"], actor=SYSTEM, settings=production
            )
        allowed = production.model_copy(update={"webhook_allow_private_urls": True})
        webhooks.create_endpoint(
            s, url="http://localhost/x", event_types=["*"], actor=SYSTEM, settings=allowed
        )


def test_two_relays_at_once_deliver_each_event_once(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    import threading

    settings = fast(db, webhook_batch_size=3, webhook_concurrency=2)
    with receiver(delay_seconds=0.05) as hook:
        subscribe(client, keys, hook.url)
        for n in range(8):
            make_plan(db, client, keys, f"A-{n}")
        done = threading.Event()

        def work() -> None:
            while not done.is_set():
                run_round(db.engine, settings)
                time.sleep(0.05)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while len(hook.delivered_ids()) < 8 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            done.set()
            for t in threads:
                t.join()
        ids = hook.delivered_ids()
        assert len(ids) == 8 == len(set(ids))
    with unit_of_work(db.engine) as s:
        assert {d.status for d in s.query(WebhookDelivery)} == {"delivered"}
