"""A full run through the API, as the bank's callers make it: accounts from the card system,
eligibility, a quote, a plan, waivers with an approval, a disaster with a dry-run and an enroll
scan, credit-report disputes and the CSV exports.

Every step is taken only when its endpoint is mounted, so the scenario grows with the app.  It
returns what it created (refs and ids), for the fuzzer's path parameters and for assertions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services import clock
from tests.fuzz.apimap import has_route

REGION = "622927"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def account_body(
    *,
    customer_ref: str,
    today: date,
    status: str = "active",
    delinquent_days: int | None = None,
    fee_balance: str = "800.00",
    region_code: str = REGION,
) -> dict[str, Any]:
    """An account owing about 12,000.00 with three statements, the last due in ten days."""
    statements = []
    for back in (2, 1, 0):
        statement_date = today - timedelta(days=20 + 30 * back)
        statements.append(
            {
                "statement_date": statement_date.isoformat(),
                "due_date": (statement_date + timedelta(days=30)).isoformat(),
                "statement_balance": "3000.00",
                "minimum_due": "300.00",
                "paid_amount": "0.00" if back == 0 else "300.00",
            }
        )
    return {
        "customer_ref": customer_ref,
        "product_code": "STD_CLASSIC",
        "status": status,
        "region_code": region_code,
        "opened_on": (today - timedelta(days=900)).isoformat(),
        "credit_limit": "50000.00",
        "principal_balance": "11000.00",
        "interest_balance": "600.00",
        "fee_balance": fee_balance,
        "delinquent_since": (
            (today - timedelta(days=delinquent_days)).isoformat() if delinquent_days is not None else None
        ),
        "last_payment_on": (today - timedelta(days=40)).isoformat(),
        "statements": statements,
    }


@dataclass
class ScenarioResult:
    account_refs: list[str] = field(default_factory=list)
    ids: dict[str, list[Any]] = field(default_factory=dict)
    csv_bodies: dict[str, str] = field(default_factory=dict)
    responses: list[tuple[str, int]] = field(default_factory=list)

    def add(self, name: str, value: Any) -> None:
        if value is not None:
            self.ids.setdefault(name, []).append(value)

    def first(self, name: str) -> Any:
        values = self.ids.get(name) or []
        return values[0] if values else None


def wait_for_scan(client: TestClient, token: str, scan_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        scan = client.get(f"/v1/scans/{scan_id}", headers=bearer(token)).json()
        if scan.get("status") in ("succeeded", "failed") or time.monotonic() > deadline:
            return scan
        time.sleep(0.05)


def wait_for_background_work(timeout: float = 60.0) -> None:
    """Inline scans run in threads of this process; let them finish before the tables are emptied."""
    try:
        from app.jobs.executors import wait_for_inline_scans
    except ImportError:  # pragma: no cover - no scans yet
        return
    wait_for_inline_scans(timeout)


def run_scenario(
    app: FastAPI,
    client: TestClient,
    keys: dict[str, str],
    *,
    accounts: int = 4,
    customer_refs: list[str] | None = None,
    account_refs: list[str] | None = None,
    prefix: str = "SC",
) -> ScenarioResult:
    """Drives every mounted endpoint of the happy path once; returns what was created."""
    result = ScenarioResult()
    with app.state.session_factory() as session:
        today = clock.today(session)

    def call(method: str, template: str, path: str, role: str, **kwargs: Any) -> Any:
        if not has_route(app, method, template):
            return None
        headers = {**bearer(keys[role]), **kwargs.pop("headers", {})}
        response = client.request(method, path, headers=headers, **kwargs)
        result.responses.append((f"{method} {template}", response.status_code))
        return response

    # Accounts from the card system (the last one delinquent for 20 days: disputes need that).
    for n in range(accounts):
        ref = account_refs[n] if account_refs and n < len(account_refs) else f"{prefix}-{n + 1:04d}"
        customer = customer_refs[n] if customer_refs and n < len(customer_refs) else f"{prefix}-C{n + 1:04d}"
        body = account_body(
            customer_ref=customer, today=today, delinquent_days=5 if n == accounts - 1 else None
        )
        r = call("PUT", "/v1/accounts/{account_ref}", f"/v1/accounts/{ref}", "admin", json=body)
        if r is not None and r.status_code in (200, 201):
            result.account_refs.append(ref)
    refs = result.account_refs
    if not refs:
        return result
    first = refs[0]

    r = call(
        "POST",
        "/v1/accounts/{account_ref}/eligibility",
        f"/v1/accounts/{first}/eligibility",
        "channel",
        json={"reason": "illness", "monthly_income": "8000.00"},
    )
    if r is not None and r.status_code == 200:
        result.add("decision_id", r.json().get("decision_id"))
    call(
        "POST",
        "/v1/quotes/installment-plan",
        "/v1/quotes/installment-plan",
        "agent",
        json={"account_ref": first, "terms": [6, 12, 24]},
    )
    r = call(
        "POST",
        "/v1/accounts/{account_ref}/installment-plans",
        f"/v1/accounts/{first}/installment-plans",
        "agent",
        json={"term_months": 12, "reason": "illness", "commitment_accepted": True},
        headers={"Idempotency-Key": f"{prefix}-plan-1"},
    )
    if r is not None and r.status_code == 201:
        result.add("plan_id", r.json().get("id"))
    if len(refs) > 1:
        # A small waiver an agent may grant, and one beyond the agent's authority (an approval).
        for amount in ("100.00", "600.00"):
            r = call(
                "POST",
                "/v1/accounts/{account_ref}/fee-waivers",
                f"/v1/accounts/{refs[1]}/fee-waivers",
                "agent",
                json={"fee_amount": amount, "interest_amount": "0.00", "reason": "disaster"},
            )
            if r is not None and r.status_code == 201:
                result.add("waiver_id", r.json().get("id"))
                result.add("approval_id", r.json().get("approval_id"))
        approval = result.first("approval_id")
        if approval is not None:
            call(
                "POST",
                "/v1/approvals/{approval_id}/approve",
                f"/v1/approvals/{approval}/approve",
                "supervisor",
                json={"note": "checked"},
            )

    code = f"{prefix}-FLOOD-{today:%Y%m%d}"
    r = call(
        "POST",
        "/v1/disasters",
        "/v1/disasters",
        "batch_operator",
        json={
            "code": code,
            "name": "Flood",
            "kind": "flood",
            "occurred_on": (today - timedelta(days=10)).isoformat(),
            "relief_start": (today - timedelta(days=10)).isoformat(),
            "relief_end": (today + timedelta(days=60)).isoformat(),
            "deferral_months": 3,
            "region_codes": [REGION],
        },
    )
    if r is not None and r.status_code == 201:
        result.add("code", code)
        for mode in ("dry_run", "enroll"):
            r = call(
                "POST",
                "/v1/disasters/{code}/scans",
                f"/v1/disasters/{code}/scans",
                "batch_operator",
                json={"mode": mode},
            )
            if r is not None and r.status_code == 202:
                scan_id = r.json()["id"]
                result.add("scan_id", scan_id)
                wait_for_scan(client, keys["batch_operator"], scan_id)
        call(
            "POST",
            "/v1/disasters/{code}/credit-disputes",
            f"/v1/disasters/{code}/credit-disputes",
            "batch_operator",
            json={},
        )
        call("GET", "/v1/disasters/{code}/report", f"/v1/disasters/{code}/report", "supervisor")
    r = call("GET", "/v1/credit-disputes", "/v1/credit-disputes", "supervisor")
    if r is not None and r.status_code == 200:
        for item in r.json().get("items", []):
            result.add("dispute_id", item.get("id"))
    for ref in refs:
        call("GET", "/v1/accounts/{account_ref}", f"/v1/accounts/{ref}", "agent")
    collect_csv_exports(app, client, keys, result)
    wait_for_background_work()
    return result


def csv_exports(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every operation whose OpenAPI answer offers text/csv."""
    document = app.openapi()
    found = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            for response in operation.get("responses", {}).values():
                if any(ct.startswith("text/csv") for ct in response.get("content", {})):
                    found.append((method.upper(), path))
                    break
    return found


PATH_VALUES = {
    "code": "code",
    "scan_id": "scan_id",
    "dispute_id": "dispute_id",
    "plan_id": "plan_id",
    "waiver_id": "waiver_id",
    "approval_id": "approval_id",
    "decision_id": "decision_id",
}


def collect_csv_exports(
    app: FastAPI, client: TestClient, keys: dict[str, str], result: ScenarioResult
) -> None:
    """Calls every CSV export with Accept: text/csv, filling path parameters from what was created."""
    from tests.fuzz.apimap import find

    for method, template in csv_exports(app):
        op = find(app, method, template)
        if op is None or op.role is None:
            continue
        values: dict[str, Any] = {}
        for name in _path_params(template):
            if name == "account_ref" and result.account_refs:
                values[name] = result.account_refs[0]
            elif result.first(PATH_VALUES.get(name, name)) is not None:
                values[name] = result.first(PATH_VALUES.get(name, name))
        if len(values) != len(_path_params(template)):
            continue
        # An enroll scan's list is the interesting one (the last scan started).
        if "scan_id" in values and result.ids.get("scan_id"):
            values["scan_id"] = result.ids["scan_id"][-1]
        path = template.format(**values)
        response = client.request(
            method,
            path,
            params=_csv_query(template),
            headers={**bearer(keys[op.role.value]), "Accept": "text/csv"},
        )
        result.responses.append((f"{method} {template} (csv)", response.status_code))
        if response.status_code == 200:
            result.csv_bodies[f"{method} {template}"] = response.text


def _csv_query(template: str) -> dict[str, str]:
    """The query a CSV export needs: a period that holds everything made today, or today itself."""
    from tests.factories import business_today

    today = business_today().isoformat()
    if template == "/v1/reports/outcomes":
        return {"from": "2000-01-01", "to": today}
    if template == "/v1/instructions":
        return {"date": today}
    return {}


def _path_params(template: str) -> list[str]:
    import re

    return re.findall(r"{([^}]+)}", template)
