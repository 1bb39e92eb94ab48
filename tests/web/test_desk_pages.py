"""The agent desk's pages without a browser: the work queue by role, contacts and callbacks, the
relief timeline and the customer view, the agreement to print, and refused forms that keep every
value with the error beside its field, in Chinese and in English."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from app.db import unit_of_work
from tests.conftest import Database
from tests.factories import business_today, make_account, make_statement
from tests.web.helpers import error_boxes, field_errors, flashes, login, make_user


def _english(client: TestClient) -> None:
    client.get("/agent/prefs/lang", params={"to": "en", "next": "/agent/"})


def _plan(client: TestClient, token: str, ref: str = "A-1") -> str:
    created = client.post(
        f"/agent/accounts/{ref}/plans",
        data={
            "csrf_token": token,
            "term_months": "12",
            "reason": "illness",
            "channel": "agent_phone",
            "recording_ref": "REC-2026-0042",
            "commitment": "yes",
            "terms_read": "yes",
        },
    )
    assert re.fullmatch(r"/agent/plans/\d+", created.url.path), created.text[:300]
    return created.url.path


def test_a_contact_with_a_callback_today_comes_back_in_the_agents_queue(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    today = business_today().isoformat()

    saved = client.post(
        "/agent/accounts/A-1/contacts",
        data={
            "csrf_token": token,
            "channel": "outbound_call",
            "outcome": "callback_requested",
            "note": "call back after lunch",
            "callback_on": today,
        },
    )
    queue = client.get("/agent/").text

    assert flashes(saved.text)[0][0] == "ok"
    assert "call back after lunch" in saved.text  # on the timeline
    section = queue[queue.index('id="q-callbacks"') :]
    assert "/agent/accounts/A-1" in section.split("</section>")[0]
    assert "call back after lunch" in section.split("</section>")[0]


def test_a_refused_contact_keeps_its_values_and_names_the_field_in_chinese_and_english(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    past = (business_today() - timedelta(days=3)).isoformat()
    form = {
        "csrf_token": token,
        "channel": "branch",
        "outcome": "promise_to_pay",
        "note": "will pay on the 5th",
        "callback_on": past,
    }

    zh = client.post("/agent/accounts/A-1/contacts", data=form)
    _english(client)
    en = client.post("/agent/accounts/A-1/contacts", data=form)

    for page in (zh, en):
        assert page.status_code == 422
        assert "will pay on the 5th</textarea>" in page.text
        assert f'value="{past}"' in page.text
        assert '<option value="branch" selected>' in page.text
        assert '<option value="promise_to_pay" selected>' in page.text
        assert 'aria-invalid="true" aria-describedby="contact-callback_on-error" autofocus' in page.text
    assert "回访日期须在" in field_errors(zh.text)["contact-callback_on"]
    assert "The callback date must lie from" in field_errors(en.text)["contact-callback_on"]


def test_a_waiver_above_the_fee_balance_keeps_the_note_and_speaks_chinese(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="396.14")
    token = login(client, "ann")

    page = client.post(
        "/agent/accounts/A-1/waivers",
        data={
            "csrf_token": token,
            "fee_amount": "800.00",
            "reason": "unemployment",
            "note": "lost job in May",
        },
    )

    assert page.status_code == 422
    assert "lost job in May</textarea>" in page.text
    assert 'value="800.00"' in page.text
    error = field_errors(page.text)["waiver-fee_amount"]
    assert "减免费用 800.00 元超过费用余额 396.14 元" in error
    assert "exceed" not in page.text  # no English service text on a Chinese page


def test_the_account_page_hides_what_cannot_succeed(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "F-1", status="fraud")
        make_account(s, "N-1", interest_balance="0.00")
    login(client, "ann")

    fraud = client.get("/agent/accounts/F-1").text
    no_interest = client.get("/agent/accounts/N-1").text

    assert 'action="/agent/accounts/F-1/waivers"' not in fraud
    assert "/agent/accounts/F-1/quotes" not in fraud
    assert "ACCOUNT_STATUS_INELIGIBLE" in fraud
    assert re.search(r'id="w-interest"[^>]*disabled', no_interest)


def test_an_active_plan_stands_at_the_top_of_the_account_page(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    _plan(client, token)

    page = client.get("/agent/accounts/A-1").text

    assert page.index('id="active-plan"') < page.index('id="snapshot-h"')
    assert "/agent/accounts/A-1/quotes" not in page


def test_the_agreement_prints_every_term_in_the_pages_language(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", customer_ref="CUST-778899")
    token = login(client, "ann")
    plan_path = _plan(client, token)
    plan_id = plan_path.rsplit("/", 1)[1]

    zh = client.get(f"/agent/installment-plans/{plan_id}/agreement")
    _english(client)
    en = client.get(f"/agent/installment-plans/{plan_id}/agreement").text

    assert zh.status_code == 200
    for text in (
        "不向任何银行申请新的信用卡",
        "REC-2026-0042",
        "A-1",
        "持卡人签字",
        "人民币",
        "宽限期",
        "停止催收",
    ):
        assert text in zh.text, text
    assert "CUST-778899" not in zh.text and "8899" in zh.text
    assert zh.text.count('<td class="num">833.33</td>') == 22  # principal and amount of installments 1-11
    for text in ("not to apply for a credit card at any bank", "Cardholder&#39;s signature", "days of grace"):
        assert text in en, text


def test_a_supervisor_sees_the_waiting_count_and_the_context_of_each_approval(
    db: Database, app: object
) -> None:
    make_user(db.engine, "ann", "agent")
    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="900.00")
    with TestClient(app) as agent, TestClient(app) as boss:  # type: ignore[arg-type]
        token = login(agent, "ann")
        sent = agent.post(
            "/agent/accounts/A-1/waivers",
            data={"csrf_token": token, "fee_amount": "800.00", "reason": "illness", "note": "hospital bills"},
        )
        assert flashes(sent.text)[0][0] == "warn"
        again = agent.get("/agent/accounts/A-1").text
        assert 'id="pending-waiver"' in again  # the amount waiting is not offered as new

        boss_token = login(boss, "sue")
        desk = boss.get("/agent/").text
        assert re.search(r'<span class="count"[^>]*>1</span>', desk)
        approvals = boss.get("/agent/approvals").text
        assert "hospital bills" in approvals and "已等待" in approvals
        approval_id = re.search(r"/agent/approvals/(\d+)/approve", approvals).group(1)  # type: ignore[union-attr]

        no_note = boss.post(
            f"/agent/approvals/{approval_id}/approve", data={"csrf_token": boss_token, "confirm": "yes"}
        )
        assert no_note.status_code == 422 and f"decide-{approval_id}-note" in field_errors(no_note.text)
        approved = boss.post(
            f"/agent/approvals/{approval_id}/approve",
            data={"csrf_token": boss_token, "note": "bills seen", "confirm": "yes"},
        )
        assert flashes(approved.text)[0][0] == "ok"

        mine = agent.get("/agent/").text
        decided = mine[mine.index('id="q-mine"') :]
        assert "sue" in decided and "bills seen" in decided


def test_the_customer_view_lists_every_account_and_the_timeline(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", customer_ref="CUST-1")
        other = make_account(s, "A-2", customer_ref="CUST-1", region_code="630222")
        make_statement(s, other)
    token = login(client, "ann")
    client.post(
        "/agent/accounts/A-2/contacts",
        data={
            "csrf_token": token,
            "channel": "online",
            "outcome": "information_given",
            "note": "sent the form",
        },
    )

    page = client.get("/agent/accounts/A-1/customer")

    assert page.status_code == 200
    assert "/agent/accounts/A-1" in page.text and "/agent/accounts/A-2" in page.text
    assert "民和回族土族自治县" in page.text  # names beside codes
    assert "sent the form" in page.text
    assert client.get("/agent/customers/CUST-1").status_code == 200
    assert client.get("/agent/customers/NOBODY").status_code == 404


def test_the_header_shows_the_business_date_and_the_favicon_exists(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")

    home = client.get("/agent/").text

    assert business_today().isoformat() in home and 'id="business-date"' in home
    assert "autofocus" in home.split('id="q"')[1].split(">")[0]  # the search box has the focus
    assert client.get("/agent/favicon.ico").status_code == 200
    assert client.get("/agent/static/favicon.svg").status_code == 200


def test_operators_and_auditors_get_their_own_queue_without_dead_ends(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ava", "auditor")
    login(client, "ava")

    home = client.get("/agent/").text

    assert 'id="q-events"' in home
    assert 'id="q"' not in home  # no search box for a role that cannot open accounts


def test_a_plan_error_keeps_the_chosen_term_and_both_commitments(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")

    page = client.post(
        "/agent/accounts/A-1/plans",
        data={
            "csrf_token": token,
            "term_months": "24",
            "reason": "illness",
            "channel": "agent_phone",
            "commitment": "yes",
            "terms_read": "yes",
            "income": "3000",
        },
    )

    assert page.status_code == 422
    assert re.search(r'name="term_months" value="24" required checked', page.text)
    assert re.search(r'name="commitment" value="yes" required checked', page.text)
    assert re.search(r'name="terms_read" value="yes" required checked', page.text)
    assert "电话办理须填写录音编号" in field_errors(page.text)["plan-recording_ref"]
    assert not error_boxes(page.text) or all("recording" not in box for box in error_boxes(page.text))


def test_the_audit_view_is_newest_first_filtered_by_account_masked_and_exportable(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    make_user(db.engine, "ava", "auditor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        make_account(s, "B-2")
    token = login(client, "ann")
    for ref in ("A-1", "B-2"):
        client.post(
            f"/agent/accounts/{ref}/contacts",
            data={"csrf_token": token, "channel": "online", "outcome": "no_answer", "note": f"note {ref}"},
        )
    client.post("/agent/logout", data={"csrf_token": token})
    login(client, "ava")

    page = client.get("/agent/audit").text
    only_a = client.get("/agent/audit", params={"account": "A-1", "action": "contact"}).text
    csv = client.get("/agent/audit.csv", params={"account": "B-2"})

    assert page.index("note B-2") < page.index("note A-1")  # newest first
    assert "note A-1" in only_a and "note B-2" not in only_a
    assert csv.status_code == 200 and "note B-2" in csv.text and "note A-1" not in csv.text
    assert 'filename="audit-events.csv"' in csv.headers["content-disposition"]


def test_the_timeline_keeps_one_check_a_day_per_stated_reason(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")
    for _ in range(3):
        client.get("/agent/accounts/A-1")
        client.get("/agent/accounts/A-1", params={"reason": "illness"})

    page = client.get("/agent/accounts/A-1", params={"reason": "illness"}).text
    timeline = page[page.index('id="timeline-h"') :]

    assert timeline.count('class="tl tl-decision"') == 1
