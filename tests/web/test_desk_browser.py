"""The agent desk in a real browser (Debian's chromium through Playwright), with the keyboard alone:
a whole call (find, explain, quote, create a plan, print its agreement, record the contact with a
callback), the supervisor's approval with a note, and a refused form that keeps its values, in
Chinese and in English. Set HARDSHIP_UI_SCREENSHOTS to a folder to keep a screenshot of each page."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.db import get_engine, unit_of_work
from app.demo import load_demo
from app.domain.access import Role
from app.main import create_app
from app.persistence.models import AgentUser
from app.services import contacts
from app.services.principal import Principal
from app.settings import Settings
from tests.factories import business_today, make_account, make_statement
from tests.support import migrate
from tests.web.test_browser import (  # noqa: F401 - fixtures shared with the first browser tests
    CHROMIUM,
    _free_port,
    browser,
    new_page,
    sign_in,
    watch,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing (/usr/bin/chromium)"),
]
SHOTS = os.environ.get("HARDSHIP_UI_SCREENSHOTS")
WORDS = {
    "zh": {
        "saved": "已保存联系记录",
        "plan": "已创建分期计划",
        "approved": "已批准",
        "heading": "信用卡个性化分期还款协议",
    },
    "en": {
        "saved": "The contact is recorded",
        "plan": "",
        "approved": "",
        "heading": "personalized installment agreement",
    },
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on demo data, with one account per language for each walk."""
    import uvicorn

    folder = tmp_path_factory.mktemp("desk-browser")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'desk.db'}",
        environment="test",
        secret_key="desk-browser-test-secret-key-0123456789",
    )
    engine = get_engine(settings)
    migrate(engine)
    today = business_today()
    with unit_of_work(engine) as session:
        load_demo(session, accounts=20)
        for lang in ("zh", "en"):
            call = make_account(session, f"CALL-{lang.upper()}", customer_ref=f"CUST-CALL-{lang.upper()}")
            make_statement(session, call)
            make_account(
                session,
                f"FEES-{lang.upper()}",
                customer_ref=f"CUST-FEES-{lang.upper()}",
                fee_balance="1280.00",
            )
            make_account(
                session,
                f"FORM-{lang.upper()}",
                customer_ref=f"CUST-FORM-{lang.upper()}",
                fee_balance="396.14",
            )
        user = session.query(AgentUser).filter_by(username="agent").one()
        agent = Principal(kind="user", id=user.id, name=user.username, role=Role(user.role))
        for lang in ("zh", "en"):
            contacts.record_contact(
                session,
                account_ref=f"CALL-{lang.upper()}",
                channel="outbound_call",
                outcome="callback_requested",
                note=f"call back {lang}",
                callback_on=today,
                actor=agent,
            )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def focused(page: Any) -> str:
    return str(
        page.evaluate(
            "document.activeElement ? document.activeElement.id || document.activeElement.name || '' : ''"
        )
    )


def tab_to(page: Any, element_id: str, *, limit: int = 80) -> None:
    """Press Tab until the element has the focus (the keyboard's only way through a page)."""
    for _ in range(limit):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached #{element_id}")


def choose(page: Any, element_id: str, value: str) -> None:
    """Pick an option of a focused select with the arrow keys."""
    tab_to(page, element_id)
    page.keyboard.press("Home")
    for _ in range(30):
        if page.eval_on_selector(f"#{element_id}", "e => e.value") == value:
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"#{element_id} has no option {value}")


def set_language(page: Any, lang: str) -> None:
    page.goto(f"/agent/prefs/lang?to={lang}&next=/agent/")


def find(page: Any, ref: str) -> None:
    """From anywhere: g h to the desk, where the search box has the focus; type and Enter."""
    page.keyboard.press("g")
    page.keyboard.press("h")
    page.wait_for_url(re.compile(r".*/agent/$"))
    page.wait_for_function("document.activeElement && document.activeElement.id === 'q'")
    page.keyboard.type(ref)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/agent/accounts/{ref}$"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_whole_call_with_the_keyboard_alone(new_page: Any, lang: str) -> None:  # noqa: F811
    page = new_page()
    sign_in(page, "agent")
    set_language(page, lang)
    ref = f"CALL-{lang.upper()}"
    callbacks = page.locator("section[aria-labelledby=q-callbacks]")
    assert ref in callbacks.inner_text()  # the callback due today waits on the desk
    shot(page, f"queue-agent-{lang}")

    # find
    page.wait_for_function("document.activeElement && document.activeElement.id === 'q'")
    page.keyboard.type(ref)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/agent/accounts/{ref}$"))
    assert page.locator("#prog-installment_plan").is_visible()

    # explain: the reason and the income, then Enter
    choose(page, "reason", "unemployment")
    tab_to(page, "income")
    page.keyboard.type("3000")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*reason=unemployment.*"))
    assert "HARDSHIP_REASON_REQUIRED" not in page.locator("#programs").inner_text()
    shot(page, f"account-{lang}")

    # quote (shortcut q), create the plan
    page.keyboard.press("q")
    page.wait_for_url(re.compile(rf".*/agent/accounts/{ref}/quotes.*"))
    assert page.locator(".quote.recommended").count() == 1
    choose(page, "p-channel", "agent_phone")
    tab_to(page, "p-recording")
    page.keyboard.type(f"REC-{lang}-0001")
    tab_to(page, "terms_read")
    page.keyboard.press("Space")
    tab_to(page, "commitment")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/agent/plans/\d+$"))
    if WORDS[lang]["plan"]:
        assert WORDS[lang]["plan"] in page.locator(".flash").first.inner_text()

    # print its agreement (shortcut p): the printout has no navigation and no form
    page.keyboard.press("p")
    page.wait_for_url(re.compile(r".*/agent/installment-plans/\d+/agreement$"))
    assert WORDS[lang]["heading"] in page.locator("h1").inner_text()
    assert f"REC-{lang}-0001" in page.locator("#agreement").inner_text()
    shot(page, f"agreement-{lang}")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".no-print").is_visible()
    assert page.locator("table.schedule tbody tr").count() >= 1
    shot(page, f"agreement-print-{lang}")
    page.emulate_media(media="screen")

    # record the contact with a callback (shortcut c puts the focus in the form)
    find(page, ref)
    page.keyboard.press("c")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'c-channel'")
    choose(page, "c-outcome", "relief_agreed")
    tab_to(page, "c-callback")
    callback = (business_today() + timedelta(days=7)).isoformat()
    page.keyboard.type(callback)
    tab_to(page, "c-note")
    page.keyboard.type("plan agreed; check the first payment")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/agent/accounts/{ref}#timeline-h$"))
    assert WORDS[lang]["saved"] in page.locator(".flash").first.inner_text()
    assert "plan agreed; check the first payment" in page.locator("#timeline-h + ol").inner_text()
    shot(page, f"account-timeline-{lang}")

    # the callback is answered: it left the desk
    page.keyboard.press("g")
    page.keyboard.press("h")
    page.wait_for_url(re.compile(r".*/agent/$"))
    assert ref not in page.locator("section[aria-labelledby=q-callbacks]").inner_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_supervisor_approves_with_a_note(new_page: Any, lang: str) -> None:  # noqa: F811
    ref = f"FEES-{lang.upper()}"
    maker = new_page()
    sign_in(maker, "agent2")
    set_language(maker, lang)
    maker.goto(f"/agent/accounts/{ref}")
    maker.locator("#w-fee").fill("800.00")
    maker.locator("#w-reason").select_option("illness")
    maker.locator("#w-note").fill(f"hospital invoice {lang}")
    maker.locator("#w-note").press("Tab")
    maker.keyboard.press("Enter")
    maker.wait_for_selector("#pending-waiver")

    checker = new_page()
    sign_in(checker, "supervisor")
    set_language(checker, lang)
    assert checker.locator("nav .count").first.inner_text().strip() != ""
    shot(checker, f"queue-supervisor-{lang}")
    checker.goto("/agent/approvals")
    card = checker.locator("article", has_text=ref).first
    assert f"hospital invoice {lang}" in card.inner_text()
    shot(checker, f"approvals-{lang}")
    # without a note: refused beside the field, nothing decided
    card.locator("input[name=confirm]").check()
    card.locator("button.primary").click()
    checker.wait_for_selector(".field-error")
    card = checker.locator("article", has_text=ref).first
    assert card.locator(".field-error").first.is_visible()
    assert focused(checker).startswith("note-")
    checker.keyboard.type("invoice checked")
    card.locator("input[name=confirm]").check()
    card.locator("button.primary").click()
    checker.wait_for_selector(".flash-ok")

    maker.goto("/agent/")
    assert "invoice checked" in maker.locator("section[aria-labelledby=q-mine]").inner_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refused_form_keeps_its_values_and_focuses_the_field(new_page: Any, lang: str) -> None:  # noqa: F811
    ref = f"FORM-{lang.upper()}"
    page = new_page()
    sign_in(page, "agent")
    set_language(page, lang)
    page.goto(f"/agent/accounts/{ref}")
    page.keyboard.press("w")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'w-fee'")
    page.keyboard.type("800.00")
    choose(page, "w-reason", "unemployment")
    tab_to(page, "w-note")
    page.keyboard.type("lost job in May")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_selector("#waiver-fee_amount-error")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'w-fee'")
    assert page.locator("#w-fee").input_value() == "800.00"
    assert page.locator("#w-reason").input_value() == "unemployment"
    assert page.locator("#w-note").input_value() == "lost job in May"
    error = page.locator("#waiver-fee_amount-error").inner_text()
    assert ("超过费用余额" in error) if lang == "zh" else ("exceed the fee balance" in error)
    shot(page, f"form-error-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots_of_the_customer_view(new_page: Any, lang: str) -> None:  # noqa: F811
    page = new_page()
    sign_in(page, "agent")
    set_language(page, lang)
    page.goto("/agent/accounts/DEMO-CALLBACK/customer")
    assert page.locator("table a", has_text="DEMO-CALLBACK-2").is_visible()
    shot(page, f"customer-{lang}")
    operator = new_page()
    sign_in(operator, "auditor")
    set_language(operator, lang)
    assert operator.locator("#q-events").is_visible()
    shot(operator, f"queue-auditor-{lang}")
