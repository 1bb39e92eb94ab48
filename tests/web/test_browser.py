"""The agent UI in a real browser: Debian's chromium driven by Playwright, against the service on a
free port of 127.0.0.1 with a temporary SQLite database holding the demo portfolio.

Every test records each request the page makes and checks that none leaves 127.0.0.1, and that the
strict Content-Security-Policy reported no violation (no inline script or style anywhere)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.db import get_engine, unit_of_work
from app.demo import DEMO_PASSWORD, load_demo
from app.main import create_app
from app.services.policies import PolicyStore
from app.settings import Settings
from tests.factories import business_today, make_account, make_statement
from tests.support import migrate

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing (/usr/bin/chromium)"),
]
playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POLICY = PolicyStore.load().in_force(business_today())
TIMEOUT_MS = 15_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole service (API and UI) served by uvicorn in a thread, on demo data."""
    import uvicorn

    folder = tmp_path_factory.mktemp("browser")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'ui.db'}",
        environment="test",
        secret_key="browser-test-secret-key-0123456789",
    )
    engine = get_engine(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        load_demo(session, accounts=40)
        plan = make_account(session, "UI-PLAN", customer_ref="CUST-UI-1")
        make_statement(session, plan)
        make_account(session, "UI-WAIVE", customer_ref="CUST-UI-2", fee_balance="6000.00")
        today = business_today()
        hit = make_account(session, "UI-FLOOD", customer_ref="CUST-UI-3", region_code="622927")
        due = today + timedelta(days=15)
        make_statement(session, hit, statement_date=today - timedelta(days=5), due_date=due)
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What the pages asked for, and what the browser complained about."""

    urls: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture
def watch(browser: Any, base_url: str) -> Iterator[Watch]:
    seen = Watch()
    yield seen
    outside = [url for url in seen.urls if not url.startswith(base_url + "/")]
    assert seen.urls, "no request was recorded"
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not seen.csp_violations, seen.csp_violations


@pytest.fixture
def new_page(browser: Any, base_url: str, watch: Watch) -> Iterator[Any]:
    """Pages in their own browser contexts (one per user), all recorded."""
    contexts: list[Any] = []

    def make(width: int = 1280) -> Any:
        context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)

        def record(route: Any) -> None:
            watch.urls.append(route.request.url)
            if route.request.url.startswith(base_url + "/"):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", record)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                watch.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """With the keyboard only: the username field has the focus, Tab to the password, Enter."""
    page.goto("/agent/login")
    # autofocus is applied after the load event: on a busy machine keys typed before it are lost.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/agent/$"))


def flash_text(page: Any) -> str:
    return str(page.locator(".flash").first.inner_text())


def test_the_login_guard_and_a_wrong_password(new_page: Any) -> None:
    page = new_page()

    page.goto("/agent/accounts/DEMO-00001")
    assert "/agent/login" in page.url
    page.get_by_label("用户名").fill("agent")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()

    alert = page.locator("#login-error")
    assert alert.is_visible()
    assert "不正确" in alert.inner_text()
    assert "/agent/login" in page.url


def test_an_agent_searches_reads_the_reasons_quotes_and_creates_a_plan(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "agent")

    page.get_by_label("账户号或客户号").fill("CUST-UI-1")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="UI-PLAN").click()
    page.wait_for_url(re.compile(r".*/agent/accounts/UI-PLAN$"))

    installment = page.locator("#programs article").first
    assert "请询问持卡人的困难原因" in installment.inner_text()  # asked for, not refused
    disaster = page.locator("#programs article").nth(2)
    assert "NO_OPEN_DISASTER" in disaster.inner_text()

    page.get_by_label("困难原因").first.select_option("illness")
    page.get_by_label("月收入（元，可选）").fill("3000")
    page.get_by_role("button", name="判断资格").click()
    assert "HARDSHIP_REASON_REQUIRED" not in page.locator("#programs article").first.inner_text()

    page.get_by_role("link", name="试算分期方案").click()
    assert page.locator(".quote").count() >= len(POLICY.installment.quote_terms)
    assert page.locator(".quote.recommended").count() == 1
    page.get_by_label("困难原因").select_option("illness")
    page.get_by_label("电话录音编号（电话办理时必填）").fill("REC-UI-0001")
    page.locator("input[name=terms_read]").check()
    page.locator("input[name=commitment]").check()
    page.get_by_role("button", name="确认办理").click()

    page.wait_for_url(re.compile(r".*/agent/plans/\d+$"))
    assert "已创建分期计划" in flash_text(page)
    assert page.locator("tbody tr").count() >= 1
    assert "REC-UI-0001" in page.content()


def test_a_waiver_beyond_authority_is_approved_by_a_second_supervisor(new_page: Any) -> None:
    maker = new_page()
    sign_in(maker, "supervisor")
    maker.goto("/agent/accounts/UI-WAIVE")
    maker.get_by_label("减免费用（元）").fill("5500.00")
    maker.locator("#w-reason").select_option("illness")
    maker.get_by_role("button", name="提交减免").click()
    assert "已提交主管审批" in flash_text(maker)

    maker.get_by_role("navigation").get_by_role("link", name="审批队列").click()
    card = maker.locator("article", has_text="UI-WAIVE").first
    card.get_by_label("审批意见").fill("my own request")
    card.locator("input[name=confirm]").check()
    card.get_by_role("button", name="批准").click()
    assert "双人复核" in flash_text(maker)  # nobody approves their own request

    checker = new_page()
    sign_in(checker, "supervisor2")
    checker.get_by_role("navigation").get_by_role("link", name="审批队列").click()
    card = checker.locator("article", has_text="UI-WAIVE").first
    card.get_by_label("审批意见").fill("hospital invoice seen")
    card.locator("input[name=confirm]").check()
    card.get_by_role("button", name="批准").click()
    assert "已批准" in flash_text(checker)

    checker.goto("/agent/accounts/UI-WAIVE")
    assert "500.00" in checker.locator("dl.facts").first.inner_text()


def test_an_operator_runs_a_disaster_scan_to_completion(new_page: Any, base_url: str) -> None:
    page = new_page()
    sign_in(page, "operator")
    today = business_today()

    page.get_by_role("navigation").get_by_role("link", name="灾害事件").click()
    page.get_by_label("事件代码").fill("UI-EQ")
    page.get_by_label("名称").fill("积石山地震")
    page.get_by_label("类型").select_option("earthquake")
    page.get_by_label("发生日期").fill((today - timedelta(days=10)).isoformat())
    page.get_by_label("纾困期开始").fill((today - timedelta(days=10)).isoformat())
    page.get_by_label("纾困期结束").fill((today + timedelta(days=60)).isoformat())
    page.get_by_label("延期月数").fill("3")
    page.get_by_label("受灾地区代码（6 位，空格或逗号分隔）").fill("622927")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_url(re.compile(r".*/agent/disasters/UI-EQ$"))

    page.get_by_role("button", name="试运行扫描（不入账）").click()
    page.wait_for_url(re.compile(r".*/agent/scans/\d+$"))
    page.wait_for_selector('#scan-status[data-status="succeeded"]', timeout=30_000)  # htmx polling
    eligible = int(page.locator("dl.facts div", has_text="符合条件账户").locator("dd").inner_text())
    assert eligible >= 1
    with page.expect_download() as download:
        page.get_by_role("link", name="下载结果 CSV").click()
    assert Path(download.value.path()).read_text().startswith("account_ref,customer_ref")

    page.get_by_role("link", name="返回事件 UI-EQ").click()
    page.get_by_label("我已核对试运行结果，确认为符合条件的账户办理延期。").check()
    page.get_by_role("button", name="正式扫描并办理延期").click()
    page.wait_for_selector('#scan-status[data-status="succeeded"]', timeout=30_000)
    page.get_by_role("link", name="返回事件 UI-EQ").click()
    assert page.locator("figure.chart svg rect").count() >= 1  # relief by region
    assert "622927" in page.locator("figure.chart").inner_text()
    if folder := os.environ.get("HARDSHIP_UI_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / "disaster.png"), full_page=True)


def test_the_language_switches_with_one_click(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "agent")
    page.goto("/agent/accounts/UI-PLAN")
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    page.get_by_role("link", name="English").click()

    page.wait_for_url(re.compile(r".*/agent/accounts/UI-PLAN$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Account snapshot").is_visible()
    assert "Ask the cardholder's reason" in page.content()
    page.get_by_role("link", name="中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"


@pytest.mark.skipif(
    not os.environ.get("HARDSHIP_UI_SCREENSHOTS"),
    reason="set HARDSHIP_UI_SCREENSHOTS to a folder to keep screenshots",
)
def test_screenshots_for_review(new_page: Any) -> None:
    """Writes the login and account pages (also at 200 % zoom) to the folder HARDSHIP_UI_SCREENSHOTS."""
    out = Path(os.environ["HARDSHIP_UI_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    page = new_page()
    page.goto("/agent/login")
    page.screenshot(path=str(out / "login.png"), full_page=True)
    sign_in(page, "agent")
    page.goto("/agent/accounts/UI-PLAN?reason=illness&income=3000")
    page.screenshot(path=str(out / "account.png"), full_page=True)
    page.goto("/agent/prefs/lang?to=en&next=/agent/accounts/UI-PLAN%3Freason%3Dillness")
    page.screenshot(path=str(out / "account-en.png"), full_page=True)
    page.goto("/agent/prefs/lang?to=zh&next=/agent/")
    page.goto("/agent/accounts/UI-PLAN/quotes?income=3000&reason=illness")
    page.screenshot(path=str(out / "quotes.png"), full_page=True)
    # A 1280-pixel window at 200 % zoom lays out like a 640-pixel one; with the large-text mode on top.
    zoomed = new_page(640)
    sign_in(zoomed, "agent")
    zoomed.goto("/agent/prefs/text?to=large&next=/agent/accounts/UI-PLAN")
    zoomed.screenshot(path=str(out / "account-zoom.png"), full_page=True)
    assert zoomed.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
