"""The agent UI's servicing: the account page shows each plan's standing (paid, late, missed at a
glance), the plan page each installment and a broken plan's reason, and the supervisors' outcomes
report page shows the report's figures and a chart by month of start, in Chinese and English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.services import business_date, servicing
from app.services.policies import PolicyStore
from app.services.principal import SYSTEM
from tests.conftest import Database
from tests.integration.test_servicing_run import OPERATOR, make_plan
from tests.web.helpers import login, make_user

POLICIES = PolicyStore.load()


def serviced(db: Database) -> dict[str, int]:
    """A-1 paid its first installment and missed its second; A-2 broke on 2025-03-19."""
    with unit_of_work(db.engine) as s:
        ids = {
            "A-1": make_plan(s, "A-1", ["100.00", "100.00", "100.00"]),
            "A-2": make_plan(s, "A-2", ["100.00", "100.00", "100.00"]),
        }
        servicing.record_payment(
            s, account_ref="A-1", payment_ref="P-1", paid_on=date(2025, 2, 10), amount=Decimal("100.00")
        )
        business_date.pin(s, on=date(2025, 3, 19), actor=SYSTEM)
    with unit_of_work(db.engine) as s:
        servicing.run_servicing(s, actor=OPERATOR, policies=POLICIES)
    return ids


def test_the_account_page_shows_paid_late_and_missed_at_a_glance(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    serviced(db)
    login(client, "ann")

    html = client.get("/agent/accounts/A-1").text

    assert '<span class="mark-paid"' in html and '<span class="mark-missed"' in html
    assert "100.00" in html and "200.00" in html  # paid, outstanding
    broken = client.get("/agent/accounts/A-2").text
    assert "Broken on 2025-03-19 by the servicing rules" in broken


def test_the_plan_page_shows_each_installment_and_why_the_plan_broke(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    ids = serviced(db)
    login(client, "ann")

    zh = client.get(f"/agent/plans/{ids['A-2']}").text
    assert "未按时还款" in zh and 'id="broken-by-rules"' in zh and "宽限期 3 天" in zh
    en = client.get("/agent/prefs/lang", params={"to": "en", "next": f"/agent/plans/{ids['A-2']}"}).text
    assert '<html lang="en"' in en
    assert "✗ missed" in en and "within 3 grace days" in en


def test_supervisors_read_the_outcomes_page_with_its_chart(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    serviced(db)
    login(client, "sue")

    response = client.get("/agent/reports/outcomes", params={"start": "2025-01-01", "end": "2025-01-31"})

    assert response.status_code == 200
    html = response.text
    assert 'id="outcome-totals"' in html and "<svg" in html and "2025-01" in html
    assert "622900" in html and "1-6" in html
    bad = client.get("/agent/reports/outcomes", params={"start": "2025-02-01", "end": "2025-01-01"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text


def test_agents_do_not_open_the_outcomes_page(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")
    assert client.get("/agent/reports/outcomes", follow_redirects=False).status_code in (403, 303)
