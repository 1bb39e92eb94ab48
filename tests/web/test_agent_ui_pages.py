"""The agent UI's pages: search, the account with its reasons, quotes and plans, waivers and
approvals, disputes, disasters with their scans, the audit view, languages and labels."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.jobs import wait_for_inline_scans
from app.services import clock
from app.services.policies import PolicyStore
from app.web import i18n
from app.web.common import TEMPLATE_DIR
from tests.conftest import Database
from tests.factories import business_today, make_account, make_disaster_event, make_statement
from tests.web.helpers import error_boxes, field_errors, flashes, login, make_user

POLICY = PolicyStore.load().in_force(business_today())


def test_search_by_account_ref_opens_the_account(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")

    response = client.get("/agent/search", params={"q": "A-1"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/agent/accounts/A-1"


def test_search_by_customer_ref_lists_the_customers_accounts_masked(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", customer_ref="CUST-777")
        make_account(s, "A-2", customer_ref="CUST-777")
        make_account(s, "B-1", customer_ref="CUST-888")
    login(client, "ann")

    page = client.get("/agent/search", params={"q": "CUST-777"}).text

    assert "/agent/accounts/A-1" in page and "/agent/accounts/A-2" in page
    assert "B-1" not in page
    assert "CUST-777" not in page.split("<main", 1)[1].replace('value="CUST-777"', "")  # masked in the list


def test_recent_accounts_are_kept_for_the_session(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        make_account(s, "A-2")
    login(client, "ann")
    client.get("/agent/accounts/A-1")
    client.get("/agent/accounts/A-2")

    home = client.get("/agent/").text

    assert home.index("/agent/accounts/A-2") < home.index("/agent/accounts/A-1")


def test_the_account_page_shows_every_program_with_reason_codes_and_plain_words(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", status="closed", fee_balance="0.00", customer_ref="CUST-000123")
        make_statement(s, account)
    login(client, "ann")

    page = client.get("/agent/accounts/A-1").text

    for program in ("installment_plan", "fee_waiver", "disaster_deferral"):
        assert f'id="prog-{program}"' in page
    for code in ("ACCOUNT_STATUS_INELIGIBLE", "NO_FEES_OUTSTANDING", "NO_OPEN_DISASTER"):
        assert f"<code>{code}</code> {POLICY.reason_message(code, 'zh')}" in page
    # Before the agent has asked anything, the page prompts for the reason instead of refusing.
    assert "<code>HARDSHIP_REASON_REQUIRED</code>" not in page
    assert "请询问持卡人的困难原因" in page
    assert "CUST-000123" not in page  # the customer ref is masked
    assert "0123" in page


def test_the_account_page_speaks_english_after_one_click(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="closed")
    login(client, "ann")

    switched = client.get("/agent/prefs/lang", params={"to": "en", "next": "/agent/accounts/A-1"})

    assert switched.url.path == "/agent/accounts/A-1"
    assert '<html lang="en"' in switched.text
    assert "Account snapshot" in switched.text
    assert POLICY.reason_message("ACCOUNT_STATUS_INELIGIBLE", "en") in switched.text
    back = client.get("/agent/prefs/lang", params={"to": "zh", "next": "/agent/accounts/A-1"})
    assert '<html lang="zh-CN"' in back.text


def test_the_large_text_mode_is_remembered(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    login(client, "ann")

    page = client.get("/agent/prefs/text", params={"to": "large", "next": "/agent/"})

    assert 'class="large-text"' in page.text


def test_an_eligibility_check_with_a_reason_and_income_offers_a_plan(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")

    page = client.get("/agent/accounts/A-1", params={"reason": "illness", "income": "4000"}).text

    installment = page.split('id="prog-installment_plan"', 1)[1].split("</article>", 1)[0]
    assert "HARDSHIP_REASON_REQUIRED" not in installment
    assert "10,000.00" in installment  # the principal to spread


def test_an_unreadable_income_is_shown_next_to_the_form(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")

    response = client.get("/agent/accounts/A-1", params={"income": "12.345"})

    assert response.status_code == 200
    assert 'class="error-box" role="alert"' in response.text


def test_the_account_page_is_fast(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1")
        for months in range(12):
            make_statement(s, account, statement_date=business_today() - timedelta(days=30 * months + 20))
    login(client, "ann")
    client.get("/agent/accounts/A-1")

    started = time.perf_counter()
    response = client.get("/agent/accounts/A-1", params={"reason": "illness", "income": "5000"})
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed < 1.0


def test_quotes_are_side_by_side_with_the_recommended_term(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    login(client, "ann")

    page = client.get("/agent/accounts/A-1/quotes", params={"income": "2000"}).text

    for term in POLICY.installment.quote_terms:
        assert f'id="quote-{term}"' in page
    recommended = re.search(r'class="quote recommended" id="quote-(\d+)"', page)
    assert recommended is not None
    # The shortest term whose installment is at most 50 % of 2,000.00: 10,000.00 / 10 = 1,000.00.
    assert int(recommended.group(1)) == 10


def test_a_plan_needs_the_agreement_ticked_and_a_recording_for_a_phone_call(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    form = {"csrf_token": token, "term_months": "12", "reason": "illness", "channel": "agent_phone"}

    unticked = client.post("/agent/accounts/A-1/plans", data={**form, "recording_ref": "REC-1"})
    no_recording = client.post(
        "/agent/accounts/A-1/plans", data={**form, "commitment": "yes", "terms_read": "yes"}
    )
    created = client.post(
        "/agent/accounts/A-1/plans",
        data={**form, "commitment": "yes", "terms_read": "yes", "recording_ref": "REC-2025-0001"},
    )

    # A refused form comes back with its values and the error beside its field.
    assert unticked.status_code == 422 and "plan-terms_read" in field_errors(unticked.text)
    assert 'value="REC-1"' in unticked.text
    assert no_recording.status_code == 422 and "plan-recording_ref" in field_errors(no_recording.text)
    assert re.search(r'name="terms_read" value="yes" required checked', no_recording.text)
    assert re.fullmatch(r"/agent/plans/\d+", created.url.path)
    assert "REC-2025-0001" in created.text
    assert created.text.count('<td class="num">12</td>') == 1  # twelve installments in the schedule
    assert "833.33" in created.text


def test_a_refused_plan_shows_the_reason_codes(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="charged_off")
    token = login(client, "ann")

    response = client.post(
        "/agent/accounts/A-1/plans",
        data={
            "csrf_token": token,
            "term_months": "12",
            "reason": "illness",
            "channel": "agent_branch",
            "commitment": "yes",
            "terms_read": "yes",
        },
    )

    assert response.status_code == 422
    text = " ".join(error_boxes(response.text))
    assert "ACCOUNT_STATUS_INELIGIBLE" in text
    assert POLICY.reason_message("ACCOUNT_STATUS_INELIGIBLE", "zh") in text


def test_a_waiver_within_authority_is_applied(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    token = login(client, "ann")

    page = client.post(
        "/agent/accounts/A-1/waivers", data={"csrf_token": token, "fee_amount": "100.00", "reason": "illness"}
    )

    assert flashes(page.text)[0][0] == "ok"
    assert "200.00" in page.text  # the fee balance after the waiver


def test_a_waiver_beyond_authority_waits_for_another_supervisor(db: Database, app: object) -> None:
    make_user(db.engine, "sue", "supervisor")
    make_user(db.engine, "sam", "supervisor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="6000.00")
    with TestClient(app) as maker, TestClient(app) as checker:  # type: ignore[arg-type]
        token = login(maker, "sue")
        sent = maker.post(
            "/agent/accounts/A-1/waivers",
            data={"csrf_token": token, "fee_amount": "5500.00", "reason": "illness"},
        )
        assert flashes(sent.text)[0][0] == "warn"
        queue = maker.get("/agent/approvals").text
        approval_id = re.search(r"/agent/approvals/(\d+)/approve", queue).group(1)  # type: ignore[union-attr]

        own = maker.post(
            f"/agent/approvals/{approval_id}/approve",
            data={"csrf_token": token, "note": "mine", "confirm": "yes"},
        )
        assert flashes(own.text)[0][0] == "error"
        assert "双人复核" in flashes(own.text)[0][1]

        other_token = login(checker, "sam")
        approved = checker.post(
            f"/agent/approvals/{approval_id}/approve",
            data={"csrf_token": other_token, "note": "documents seen", "confirm": "yes"},
        )
        assert flashes(approved.text)[0][0] == "ok"
        assert "500.00" in checker.get("/agent/accounts/A-1").text


def test_an_agent_records_a_dispute_and_overdue_ones_are_highlighted(
    db: Database, client: TestClient
) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    today = business_today()

    page = client.post(
        "/agent/accounts/A-1/disputes",
        data={
            "csrf_token": token,
            "bureau": "PBOC_CRC",
            "reason_code": "DISASTER_RELIEF",
            "period_start": (today - timedelta(days=40)).isoformat(),
            "period_end": today.isoformat(),
        },
    )
    assert flashes(page.text)[0][0] == "ok"
    listing = client.get("/agent/disputes").text
    assert "/agent/accounts/A-1" in listing
    assert 'class="overdue"' not in listing

    later = clock.utcnow() + timedelta(days=POLICY.disputes.due_days + 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "utcnow", lambda: later)
        overdue = client.get("/agent/disputes").text
    assert 'class="overdue"' in overdue


def test_the_dispute_csv_neutralises_formulas(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    client.post(
        "/agent/accounts/A-1/disputes",
        data={
            "csrf_token": token,
            "bureau": "PBOC_CRC",
            "reason_code": "=HYPERLINK(1)",
            "period_start": "2025-01-01",
            "period_end": "2025-02-01",
        },
    )

    response = client.get("/agent/disputes.csv")

    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "'=HYPERLINK(1)" in response.text


def test_an_operator_declares_scans_and_reports_a_disaster(db: Database, client: TestClient) -> None:
    make_user(db.engine, "oli", "batch_operator")
    today = business_today()
    with unit_of_work(db.engine) as s:
        hit = make_account(s, "A-1", region_code="622927")
        make_statement(s, hit, statement_date=today - timedelta(days=5), due_date=today + timedelta(days=15))
        make_account(s, "A-2", region_code="110101")
    token = login(client, "oli")

    declared = client.post(
        "/agent/disasters",
        data={
            "csrf_token": token,
            "code": "EQ-1",
            "name": "Jishishan earthquake",
            "kind": "earthquake",
            "occurred_on": (today - timedelta(days=10)).isoformat(),
            "relief_start": (today - timedelta(days=10)).isoformat(),
            "relief_end": (today + timedelta(days=60)).isoformat(),
            "deferral_months": "3",
            "region_codes": "622927, 622921",
        },
    )
    assert declared.url.path == "/agent/disasters/EQ-1"

    started = client.post("/agent/disasters/EQ-1/scans", data={"csrf_token": token, "mode": "dry_run"})
    assert re.fullmatch(r"/agent/scans/\d+", started.url.path)
    assert wait_for_inline_scans(30)
    progress = client.get(started.url.path + "/progress").text
    assert 'data-status="succeeded"' in progress
    assert "hx-trigger" not in progress  # polling stops once the scan is done

    refused = client.post("/agent/disasters/EQ-1/scans", data={"csrf_token": token, "mode": "enroll"})
    assert flashes(refused.text)[0][0] == "error"  # the confirmation box was not ticked
    client.post("/agent/disasters/EQ-1/scans", data={"csrf_token": token, "mode": "enroll", "confirm": "yes"})
    assert wait_for_inline_scans(30)

    report = client.get("/agent/disasters/EQ-1").text
    assert "<rect" in report and "622927" in report
    csv = client.get(started.url.path + "/results.csv")
    assert csv.text.splitlines()[0].startswith("account_ref,customer_ref")
    assert "A-1,C-A-1," in csv.text  # the operator who acts on the list sees the customer
    eligible_csv = client.get(started.url.path + "/results.csv", params={"eligible": "true"})
    names = {csv.headers["content-disposition"], eligible_csv.headers["content-disposition"]}
    assert len(names) == 2 and any("-eligible.csv" in n for n in names)
    client.post("/agent/logout", data={"csrf_token": token})
    make_user(db.engine, "sue", "supervisor")
    login(client, "sue")
    masked = client.get(started.url.path + "/results.csv").text
    assert "C-A-1" not in masked and "A-1," in masked  # reviewers see the customer masked
    token = login(client, "oli")

    amended = client.post(
        "/agent/disasters/EQ-1/amend",
        data={"csrf_token": token, "deferral_months": "4", "add_region_codes": ""},
    )
    assert flashes(amended.text)[0][0] == "ok"


def test_a_running_scan_asks_to_be_polled(db: Database, client: TestClient) -> None:
    from app.persistence.models import Scan

    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        event = make_disaster_event(s, "EV-1")
        s.add(
            Scan(
                disaster_id=event.id,
                mode="dry_run",
                status="running",
                executor="inline",
                event_version=1,
                policy_version=POLICY.version,
                chunks_total=4,
                chunks_done=1,
                requested_by="test",
                created_at=clock.utcnow(),
            )
        )
    login(client, "sue")
    scan_id = client.get("/agent/disasters/EV-1").text.split("/agent/scans/", 1)[1].split('"', 1)[0]

    fragment = client.get(f"/agent/scans/{scan_id}/progress").text

    assert 'hx-trigger="every 1s"' in fragment
    assert 'value="25"' in fragment


def test_a_bad_declaration_is_explained(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    token = login(client, "sue")

    page = client.post(
        "/agent/disasters",
        data={
            "csrf_token": token,
            "code": "EV-2",
            "name": "x",
            "kind": "flood",
            "occurred_on": "2025-05-01",
            "relief_start": "2025-05-01",
            "relief_end": "2025-06-01",
            "deferral_months": "3",
            "region_codes": "12345",
        },
    )

    (kind, text), *_ = flashes(page.text)
    assert kind == "error" and "region" in text


# --- labels ----------------------------------------------------------------------------------------

LABEL_IN_TEMPLATE = re.compile(r"""\bt\(\s*'([a-z_.]*[a-z_])'\s*[,)]""")
LABEL_IN_CODE = re.compile(r"""translate\(\s*"([a-z_.]*[a-z_])"\s*[,)]""")


def test_every_label_a_page_uses_exists_in_both_languages() -> None:
    templates = Path(TEMPLATE_DIR).rglob("*.html")
    code = Path(TEMPLATE_DIR).parent.rglob("*.py")
    used = {key for path in templates for key in LABEL_IN_TEMPLATE.findall(path.read_text())}
    used |= {key for path in code for key in LABEL_IN_CODE.findall(path.read_text())}

    missing = sorted(key for key in used if key not in i18n.LABELS)

    assert used and not missing
    assert all(zh.strip() and en.strip() for zh, en in i18n.LABELS.values())


def test_each_label_is_defined_in_exactly_one_area_of_the_catalog() -> None:
    from app.web import labels

    keys = [key for area in labels.AREAS for key in area.LABELS]

    assert len(keys) == len(set(keys)) == len(i18n.LABELS)


def test_status_and_reason_labels_cover_the_domain() -> None:
    from app.domain.disputes import DisputeStatus
    from app.domain.reasons import AccountStatus, HardshipReason, Program

    for value in [*AccountStatus, *DisputeStatus]:
        assert f"status.{value.value}" in i18n.LABELS
    for reason in HardshipReason:
        assert f"reason.{reason.value}" in i18n.LABELS
    for program in Program:
        assert f"program.{program.value}" in i18n.LABELS


# --- what else the API lets agents and supervisors do ----------------------------------------------


def _create_plan(client: TestClient, token: str, ref: str = "A-1") -> str:
    created = client.post(
        f"/agent/accounts/{ref}/plans",
        data={
            "csrf_token": token,
            "term_months": "12",
            "reason": "illness",
            "channel": "agent_branch",
            "commitment": "yes",
            "terms_read": "yes",
        },
    )
    assert re.fullmatch(r"/agent/plans/\d+", created.url.path), flashes(created.text)
    return created.url.path


def test_an_agent_cancels_a_plan_with_a_reason(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    plan_path = _create_plan(client, token)

    without_reason = client.post(plan_path + "/cancel", data={"csrf_token": token})
    unconfirmed = client.post(
        plan_path + "/cancel", data={"csrf_token": token, "note": "customer paid in full"}
    )
    cancelled = client.post(
        plan_path + "/cancel", data={"csrf_token": token, "note": "customer paid in full", "confirm": "yes"}
    )

    assert without_reason.status_code == 422 and "cancel-note" in field_errors(without_reason.text)
    assert unconfirmed.status_code == 422 and "cancel-confirm" in field_errors(unconfirmed.text)
    assert "customer paid in full" in unconfirmed.text  # the note is kept
    assert flashes(cancelled.text)[0][0] == "ok"
    assert "customer paid in full" in cancelled.text
    assert 'action="' + plan_path + '/cancel"' not in cancelled.text  # no longer active


def test_a_broken_plan_blocks_a_new_one(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "ann")
    plan_path = _create_plan(client, token)

    client.post(
        plan_path + "/break",
        data={"csrf_token": token, "note": "three installments missed", "confirm": "yes"},
    )
    page = client.get("/agent/accounts/A-1", params={"reason": "illness"}).text

    assert "RECENT_BROKEN_PLAN" in page


def test_a_supervisor_reverses_an_applied_waiver(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    token = login(client, "sue")
    applied = client.post(
        "/agent/accounts/A-1/waivers", data={"csrf_token": token, "fee_amount": "100.00", "reason": "illness"}
    )
    waiver_id = re.search(r"/agent/waivers/(\d+)/reverse", applied.text).group(1)  # type: ignore[union-attr]

    reversed_page = client.post(
        f"/agent/waivers/{waiver_id}/reverse",
        data={"csrf_token": token, "note": "applied to the wrong account", "confirm": "yes"},
        headers={"referer": "http://testserver/agent/accounts/A-1"},
    )

    assert flashes(reversed_page.text)[0][0] == "ok"
    assert reversed_page.url.path == "/agent/accounts/A-1"
    assert "300.00" in reversed_page.text


def test_an_agent_cannot_reverse_a_waiver(db: Database, client: TestClient) -> None:
    make_user(db.engine, "ann", "agent")
    token = login(client, "ann")

    assert client.post("/agent/waivers/1/reverse", data={"csrf_token": token}).status_code == 403


def test_a_supervisor_reads_and_replays_a_decision(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="closed")
    token = login(client, "sue")
    account_page = client.get("/agent/accounts/A-1").text
    decision_path = re.search(r'href="(/agent/decisions/\d+)"', account_page).group(1)  # type: ignore[union-attr]

    decision = client.get(decision_path).text
    replayed = client.post(decision_path + "/replay", data={"csrf_token": token})

    assert "ACCOUNT_STATUS_INELIGIBLE" in decision
    assert POLICY.version in decision
    assert flashes(replayed.text)[0][0] == "ok"


def test_a_supervisor_moves_a_dispute_along_its_lifecycle(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    token = login(client, "sue")
    client.post(
        "/agent/accounts/A-1/disputes",
        data={
            "csrf_token": token,
            "bureau": "PBOC_CRC",
            "reason_code": "DISASTER_RELIEF",
            "period_start": "2025-01-01",
            "period_end": "2025-02-01",
        },
    )
    listing = client.get("/agent/disputes").text
    dispute_id = re.search(r"/agent/disputes/(\d+)/transition", listing).group(1)  # type: ignore[union-attr]

    moved = client.post(
        f"/agent/disputes/{dispute_id}/transition",
        data={"csrf_token": token, "target_status": "under_review", "confirm": "yes"},
        headers={"referer": "http://testserver/agent/disputes"},
    )
    wrong = client.post(
        f"/agent/disputes/{dispute_id}/transition",
        data={"csrf_token": token, "target_status": "submitted", "confirm": "yes"},
        headers={"referer": "http://testserver/agent/disputes"},
    )

    assert flashes(moved.text)[0][0] == "ok"
    assert flashes(wrong.text)[0][0] == "error"


def test_a_supervisor_closes_a_disaster_after_confirming(db: Database, client: TestClient) -> None:
    make_user(db.engine, "sue", "supervisor")
    with unit_of_work(db.engine) as s:
        make_disaster_event(s, "EV-1")
    token = login(client, "sue")

    unconfirmed = client.post("/agent/disasters/EV-1/close", data={"csrf_token": token})
    closed = client.post("/agent/disasters/EV-1/close", data={"csrf_token": token, "confirm": "yes"})

    assert flashes(unconfirmed.text)[0][0] == "error"
    assert flashes(closed.text)[0][0] == "ok"
    assert 'action="/agent/disasters/EV-1/close"' not in closed.text


def test_every_template_compiles() -> None:
    from app.web.common import template_env

    names = [str(p.relative_to(TEMPLATE_DIR)) for p in Path(TEMPLATE_DIR).rglob("*.html")]

    assert len(names) > 10
    for name in names:
        template_env().get_template(name)
