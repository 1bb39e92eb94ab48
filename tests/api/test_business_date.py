"""The business date: the bank's calendar day, pinned and unpinned by admins (CONTRACT.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain.dates import business_date
from tests.conftest import bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("utc_instant", "expected"),
    [
        pytest.param(datetime(2026, 3, 9, 15, 59, tzinfo=UTC), date(2026, 3, 9), id="23:59-beijing-same-day"),
        pytest.param(datetime(2026, 3, 9, 16, 0, tzinfo=UTC), date(2026, 3, 10), id="00:00-beijing-next-day"),
        pytest.param(
            datetime(2026, 3, 9, 23, 59, tzinfo=UTC), date(2026, 3, 10), id="07:59-beijing-utc-yesterday"
        ),
        pytest.param(
            datetime(2026, 3, 10, 0, 0, tzinfo=UTC), date(2026, 3, 10), id="08:00-beijing-utc-same-day"
        ),
    ],
)
def test_business_date_is_the_calendar_day_in_the_banks_zone(utc_instant: datetime, expected: date) -> None:
    assert business_date(utc_instant, SHANGHAI) == expected


def test_a_pinned_date_wins_over_the_clock() -> None:
    assert business_date(datetime(2026, 3, 9, 16, 0, tzinfo=UTC), SHANGHAI, date(2020, 1, 2)) == date(
        2020, 1, 2
    )


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        business_date(datetime(2026, 3, 9, 16, 0), SHANGHAI)


def test_every_role_reads_the_business_date_and_only_admins_pin_it(client, keys) -> None:
    for role, key in keys.items():
        answer = client.get("/v1/business-date", headers=bearer(key))
        assert answer.status_code == 200, role
        body = answer.json()
        assert set(body) == {"date", "timezone", "pinned"}
        assert body["timezone"] == "Asia/Shanghai" and body["pinned"] is False
        assert body["date"] == datetime.now(SHANGHAI).date().isoformat()
    for role in ("agent", "supervisor", "channel", "batch_operator", "auditor"):
        refused = client.put("/v1/business-date", json={"date": "2025-07-01"}, headers=bearer(keys[role]))
        assert refused.status_code == 403, role


def test_a_pin_holds_for_every_rule_until_unpinned_and_both_are_audited(client, keys) -> None:
    admin = bearer(keys["admin"])
    pinned = client.put("/v1/business-date", json={"date": "2025-07-01"}, headers=admin)
    assert pinned.status_code == 200
    assert pinned.json() == {"date": "2025-07-01", "timezone": "Asia/Shanghai", "pinned": True}
    assert client.get("/v1/business-date", headers=bearer(keys["agent"])).json()["date"] == "2025-07-01"
    unpinned = client.delete("/v1/business-date", headers=admin)
    assert unpinned.status_code == 200 and unpinned.json()["pinned"] is False
    assert unpinned.json()["date"] == datetime.now(SHANGHAI).date().isoformat()
    events = client.get("/v1/audit-events", headers=bearer(keys["auditor"])).json()["items"]
    actions = [e["action"] for e in events]
    assert "business_date.pinned" in actions and "business_date.unpinned" in actions


def test_a_bad_pin_is_a_422_naming_the_field(client, keys) -> None:
    answer = client.put("/v1/business-date", json={"date": "2025-02-30"}, headers=bearer(keys["admin"]))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_hot_paths_take_the_pin_from_their_first_query(db, client, keys) -> None:
    """GET account and eligibility read the pin inside their account query (one round trip fewer):
    the pinned day is still the one their rules count from."""
    from app.db import unit_of_work
    from tests.factories import make_account

    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="delinquent", delinquent_since=date(2025, 6, 1))
    client.put("/v1/business-date", json={"date": "2025-07-01"}, headers=bearer(keys["admin"]))
    view = client.get("/v1/accounts/A-1", headers=bearer(keys["agent"]))
    assert view.status_code == 200 and view.json()["days_past_due"] == 30
    judged = client.post("/v1/accounts/A-1/eligibility", json={}, headers=bearer(keys["agent"]))
    assert judged.status_code == 200, judged.text
    stored = client.get(f"/v1/decisions/{judged.json()['decision_id']}", headers=bearer(keys["agent"]))
    assert stored.json()["decided_on"] == "2025-07-01"
    client.put("/v1/business-date", json={"date": "2025-07-11"}, headers=bearer(keys["admin"]))
    assert client.get("/v1/accounts/A-1", headers=bearer(keys["agent"])).json()["days_past_due"] == 40
