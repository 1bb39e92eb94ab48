"""No API key, card number or customer name in any log line.

A full run (keys made with the CLI, a CSV import, then eligibility, a quote, a plan, waivers and an
approval, a disaster with scans and disputes, the CSV exports, agent-UI logins and a handful of
failures) is made with card-like 16-digit account refs and customer refs that carry a name; every
record any server-side logger emits is formatted with the service's JSON formatter and searched."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.main import create_app
from app.observability import JsonFormatter
from app.services import auth
from tests.conftest import Database
from tests.fuzz.cli import invoke_cli
from tests.fuzz.scenario import bearer, run_scenario
from tests.support import business_today

pytestmark = pytest.mark.slow

CARD_NUMBERS = ["6222021234567890", "6222029876543210", "4111111111111111", "6212261000000001"]
NAMES = ["WANG Xiaoming 王小明", "ZHANG Wei 张伟", "LI Na 李娜", "CHEN Jing 陈静"]
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)|(?<!\d)\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?!\d)")
REQUEST_ID = re.compile(r'"request_id": "[0-9a-f]{32}"')
# The test's own HTTP client logs the URLs it calls; it is not the service.
CLIENT_SIDE = ("httpx", "httpcore")
PASSWORD = "correct horse battery staple 42"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_SIDE):
            return
        self.lines.append(self.format(record))


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def import_portfolio(db: Database, tmp_path: Path) -> None:
    today = business_today(db.engine)
    header = (
        "account_ref,customer_ref,product_code,status,region_code,opened_on,credit_limit,"
        "principal_balance,interest_balance,fee_balance,delinquent_since,last_payment_on"
    )
    lines = [header]
    for n, (card, name) in enumerate(zip(CARD_NUMBERS, NAMES, strict=True)):
        lines.append(
            f"{card}9,{name} no.{n},STD_CLASSIC,active,622927,{today - timedelta(days=700)},50000.00,"
            f"8000.00,100.00,50.00,,"
        )
    lines.append("BAD-1,x,STD,unknown,622927,2020-01-01,1,1,1,1,,")  # a rejected file too
    bad = tmp_path / "accounts-bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert invoke_cli(db.url, "import", "accounts", bad.name, cwd=tmp_path).returncode == 2
    good = tmp_path / "accounts.csv"
    good.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert invoke_cli(db.url, "import", "accounts", good.name, cwd=tmp_path).returncode == 0


def test_a_full_run_logs_no_key_card_number_or_name(
    db: Database, capture: Capture, keys: dict[str, str], tmp_path: Path
) -> None:
    app = create_app(db.settings)  # configures logging: add the capture again after it
    logging.getLogger().addHandler(capture)
    tokens = list(keys.values())
    made = invoke_cli(db.url, "keys", "create", "--role", "agent", "--name", "log-test", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    tokens.append(made.stdout.strip().splitlines()[-1])
    import_portfolio(db, tmp_path)
    with unit_of_work(db.engine) as s:
        auth.create_user(s, username="agent-log", role="agent", password=PASSWORD)

    with TestClient(app, raise_server_exceptions=False) as client:
        scenario = run_scenario(
            app, client, keys, accounts=len(CARD_NUMBERS), account_refs=CARD_NUMBERS, customer_refs=NAMES
        )
        assert scenario.account_refs == CARD_NUMBERS, scenario.responses
        # Failures log too: unknown card, bad key, bad input, revoked key.
        client.get("/v1/accounts/6222020000000000", headers=bearer(tokens[0]))
        client.get(f"/v1/accounts/{CARD_NUMBERS[0]}", headers=bearer(tokens[-1] + "x"))
        client.post(
            f"/v1/accounts/{CARD_NUMBERS[0]}/eligibility",
            json={"monthly_income": 1.5},
            headers=bearer(tokens[-1]),
        )
        client.post(
            f"/v1/accounts/{CARD_NUMBERS[1]}/installment-plans",
            json={"term_months": 999, "reason": NAMES[1]},
            headers={**bearer(keys["agent"]), "Idempotency-Key": CARD_NUMBERS[1]},
        )
        if any(route.path == "/agent" for route in app.routes if hasattr(route, "path")):
            for password in (PASSWORD + "!", PASSWORD):
                page = client.get("/agent/login").text
                csrf = CSRF_FIELD.search(page)
                client.post(
                    "/agent/login",
                    data={
                        "username": "agent-log",
                        "password": password,
                        "csrf_token": csrf.group(1) if csrf else "",
                    },
                )
            client.get(f"/agent/accounts/{CARD_NUMBERS[0]}")

    lines = capture.lines
    assert len(lines) >= len(scenario.responses), "the capture saw too few log lines to prove anything"
    secrets = list(tokens) + [t.split("_", 2)[-1] for t in tokens] + [PASSWORD]
    leaks: list[str] = []
    for line in lines:
        leaks += [f"secret in: {line[:300]}" for secret in secrets if secret in line]
        without_ids = REQUEST_ID.sub("", line)  # a random hex id may hold 16 digits in a row
        leaks += [f"card-like number in: {line[:300]}" for _ in SIXTEEN_DIGITS.finditer(without_ids)]
        leaks += [f"name in: {line[:300]}" for name in NAMES if name.split()[0] in line or name[-3:] in line]
    assert not leaks, "\n".join(leaks[:20])
