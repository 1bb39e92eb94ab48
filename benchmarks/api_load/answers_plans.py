"""The answers of the plan, quote and waiver endpoints, recorded to compare two versions of the code.

    .venv/bin/python benchmarks/api_load/answers_plans.py record answers.json
    .venv/bin/python benchmarks/api_load/answers_plans.py record answers.json --database-url postgresql://...
    .venv/bin/python benchmarks/api_load/answers_plans.py compare before.json after.json
    .venv/bin/python benchmarks/api_load/answers_plans.py time --requests 2000 --rounds 3
    .venv/bin/python benchmarks/api_load/answers_plans.py serialise

``record`` makes a fresh database (a SQLite file in a temporary directory unless ``--database-url``
names an empty one), migrates it and loads the demo portfolio through the app's own functions
(``app.demo.load_demo``, deterministic), with the clock fixed at noon UTC on 2025-07-15 and that day
pinned as the business date. It then sends a fixed sequence of requests through the app in process
(quotes; plans created, negotiated, read, listed, cancelled and broken; waivers requested,
approved, rejected, reversed, read and listed; refusals and errors in Chinese and English) and
writes each answer (status, headers, body) to the file, followed by what the requests stored: the
decision rows, the audit trail and the events outbox (left out: what is random, the API keys'
prefixes and so the audit chain's hashes, and the events' ``event_id``). Every id is the
database's, from a fresh database, so two runs of the same code give the same file.

``compare`` prints the differences between two such files (exit status 1 when there are any).

``serialise`` measures the writing of one default quote's answer three ways: the dict the code wrote
by hand before, ``json_values(QuoteRead)`` (``app/schemas/fast.py``) and the model's
``model_validate(...).model_dump_json()`` (this checkout's code only).

``time`` measures the quote endpoint in process: ``--requests`` sequential requests per round through
httpx's ASGI transport, on the demo portfolio, the client included; it prints the milliseconds per
request of each round.

Run it from the checkout whose code is measured (``PYTHONPATH=.`` runs another checkout's ``app``
with this venv).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("HARDSHIP_SECRET_KEY", "answers-secret-key-not-for-production")
os.environ.setdefault("HARDSHIP_AUDIT_KEY", "answers-audit-key-not-for-production")
os.environ.setdefault("HARDSHIP_SCAN_INLINE_RECOVER_ON_START", "0")
os.environ.setdefault("HARDSHIP_EVENTS_RELAY_ON_START", "0")

ROOT = Path.cwd()
DAY = date(2025, 7, 15)
NOON = datetime(DAY.year, DAY.month, DAY.day, 12, 0, tzinfo=UTC)
LANGS = {"zh": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.8"}
# Response headers that vary with nothing the code decides.
IGNORED_HEADERS = {"date", "server"}


def _fix_clock() -> None:
    """Every module that reads the clock reads noon UTC on DAY."""
    import app.main  # noqa: F401 - loads every module that reads the clock
    from app.services import clock

    original = clock.utcnow
    for name, module in list(sys.modules.items()):
        if (name == "app" or name.startswith("app.")) and getattr(module, "utcnow", None) is original:
            module.utcnow = lambda: NOON  # type: ignore[attr-defined]


def _migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="answers-") as directory:
        yield f"sqlite:///{directory}/answers.db"


def _load(url: str, accounts: int) -> tuple[Any, dict[str, str]]:
    """The app on a migrated database with the demo portfolio; an API key per name."""
    from app.db import unit_of_work
    from app.demo import load_demo
    from app.main import create_app
    from app.services import auth
    from app.settings import Settings

    _migrate(url)
    settings = Settings(database_url=url, environment="test", log_level="WARNING")
    app = create_app(settings)
    keys: dict[str, str] = {}
    with unit_of_work(app.state.engine) as session:
        load_demo(session, accounts=accounts)
        for name, role in (
            ("channel", "channel"),
            ("agent", "agent"),
            ("agent2", "agent"),
            ("supervisor", "supervisor"),
            ("supervisor2", "supervisor"),
            ("operator", "batch_operator"),
            ("auditor", "auditor"),
            ("admin", "admin"),
        ):
            keys[name] = auth.create_api_key(session, name=f"answers-{name}", role=role).token
    return app, keys


class Recorder:
    """Sends requests and keeps their answers, in order."""

    def __init__(self, client: Any, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys
        self.answers: list[dict[str, Any]] = []

    def __call__(
        self,
        method: str,
        path: str,
        who: str,
        body: Any = None,
        *,
        lang: str = "zh",
        raw: bytes | None = None,
    ) -> Any:
        number = len(self.answers) + 1
        headers = {
            "Authorization": f"Bearer {self.keys[who]}",
            "Accept-Language": LANGS[lang],
            "X-Request-ID": f"answer-{number:05d}",
        }
        if raw is not None:
            headers["Content-Type"] = "application/json"
            response = self.client.request(method, path, content=raw, headers=headers)
        elif body is not None:
            response = self.client.request(method, path, json=body, headers=headers)
        else:
            response = self.client.request(method, path, headers=headers)
        content_type = response.headers.get("content-type", "")
        parsed = response.json() if "json" in content_type else response.text
        self.answers.append(
            {
                "request": {"method": method, "path": path, "who": who, "lang": lang, "body": body},
                "status": response.status_code,
                "headers": {k: v for k, v in sorted(response.headers.items()) if k not in IGNORED_HEADERS},
                "body": parsed,
                "bytes": response.text,
            }
        )
        return parsed if response.status_code < 300 else None

    def peek(self, path: str) -> Any:
        """A GET whose answer is not recorded (to choose what to ask next)."""
        return self.client.get(path, headers={"Authorization": f"Bearer {self.keys['agent']}"}).json()


def _plans(send: Recorder, ref: str, scenario: int) -> None:
    base = f"/v1/accounts/{ref}/installment-plans"
    if scenario == 0:
        plan = send("POST", base, "channel", {"term_months": 12, "reason": "unemployment"})
        send("POST", base, "channel", {"term_months": 6, "reason": "unemployment"}, lang="en")
        send("GET", base, "auditor")
        if plan:
            send("GET", f"/v1/installment-plans/{plan['id']}", "agent", lang="en")
            send("POST", f"/v1/installment-plans/{plan['id']}/cancel", "agent", {"note": "Wrong term"})
            send("POST", f"/v1/installment-plans/{plan['id']}/cancel", "agent", {"note": "Again"}, lang="en")
            send("POST", base, "agent", {"term_months": 24, "reason": "illness", "commitment_accepted": True})
    elif scenario == 1:
        outcome = send(
            "POST",
            f"{base}/negotiate",
            "agent",
            {
                "proposed_term_months": 13,
                "reason": "income_reduction",
                "monthly_income": "6000.00",
                "recording_ref": f"REC-{ref}",
                "commitment_accepted": True,
            },
            lang="en",
        )
        send("POST", f"{base}/negotiate", "channel", {"proposed_term_months": 61, "reason": "illness"})
        plan = outcome.get("plan") if outcome else None
        if plan:
            send("POST", f"/v1/installment-plans/{plan['id']}/break", "supervisor", {"note": "Not kept"})
            send("POST", f"/v1/installment-plans/{plan['id']}/break", "supervisor", {"note": "x"}, lang="en")
            send("POST", base, "channel", {"term_months": 12, "reason": "illness"}, lang="en")
            send("POST", base, "channel", {"term_months": 12, "reason": "illness"})
        send("GET", base, "agent")
    elif scenario == 2:
        send("POST", base, "channel", {"term_months": 12})
        send("POST", base, "channel", {"term_months": 12, "reason": "boredom"}, lang="en")
        send("POST", base, "agent", {"term_months": 12, "reason": "illness"})
        send(
            "POST",
            base,
            "agent",
            {"term_months": 12, "reason": "illness", "commitment_accepted": False},
            lang="en",
        )
        send("POST", f"{base}/negotiate", "agent", {"proposed_term_months": 12, "reason": "illness"})
        send(
            "POST", f"{base}/negotiate", "agent", {"proposed_term_months": 7, "reason": "disaster"}, lang="en"
        )
        send("POST", f"{base}/negotiate", "channel", {"proposed_term_months": 600, "reason": "other"})
        send("POST", base, "channel", {"term_months": 0, "reason": "illness"}, lang="en")
        send("POST", base, "channel", {"term_months": "12", "reason": "illness"})
        send("POST", base, "channel", raw=b'{"term_months": 12,')
        send("POST", f"{base}/negotiate", "channel", {"proposed_term_months": 3, "reason": "bereavement"})


def _waivers(send: Recorder, ref: str, scenario: int) -> None:
    base = f"/v1/accounts/{ref}/fee-waivers"
    if scenario == 3:
        first = send("POST", base, "agent", {"fee_amount": "50.00", "reason": "illness", "note": "First"})
        second = send("POST", base, "agent", {"fee_amount": "10.00", "reason": "illness"}, lang="en")
        if second and second.get("approval_id"):
            send("POST", f"/v1/approvals/{second['approval_id']}/approve", "supervisor", {"note": "OK"})
            send(
                "POST",
                f"/v1/approvals/{second['approval_id']}/approve",
                "supervisor",
                {"note": "OK"},
                lang="en",
            )
        if first:
            send("POST", f"/v1/fee-waivers/{first['id']}/reverse", "supervisor", {"note": "Posted twice"})
            send("POST", f"/v1/fee-waivers/{first['id']}/reverse", "supervisor", {}, lang="en")
            send("GET", f"/v1/fee-waivers/{first['id']}", "auditor")
        send("GET", base, "agent", lang="en")
    elif scenario == 4:
        # All the fees: beyond an agent's authority on the accounts that owe more than 500.00.
        fees = send.peek(f"/v1/accounts/{ref}")["fee_balance"]
        big = send(
            "POST", base, "agent", {"fee_amount": fees, "interest_amount": "0.00", "reason": "disaster"}
        )
        if big and big.get("approval_id"):
            send(
                "POST",
                f"/v1/approvals/{big['approval_id']}/reject",
                "supervisor",
                {"note": "Too much"},
                lang="en",
            )
            send("POST", f"/v1/fee-waivers/{big['id']}/reverse", "supervisor", {"note": "Pending"})
        own = send(
            "POST", base, "supervisor", {"fee_amount": "20.00", "interest_amount": "5.00", "reason": "other"}
        )
        if own and own.get("approval_id"):
            send("POST", f"/v1/approvals/{own['approval_id']}/approve", "supervisor", {})
            send("POST", f"/v1/approvals/{own['approval_id']}/approve", "supervisor2", {"note": "Seen"})
        send("POST", base, "agent", {"fee_amount": "10.00"}, lang="en")
        send("POST", base, "agent", {"fee_amount": "10.00", "reason": "boredom"})
        send("POST", base, "agent", {"fee_amount": "99999.00", "reason": "illness"}, lang="en")
        send(
            "POST", base, "agent", {"fee_amount": "1.00", "interest_amount": "99999.00", "reason": "illness"}
        )
        send("POST", base, "agent", {"fee_amount": 1.5, "reason": "illness"}, lang="en")
        send("GET", base, "supervisor")
    elif scenario == 5:
        plan = send(
            "POST",
            f"/v1/accounts/{ref}/installment-plans",
            "channel",
            {"term_months": 36, "reason": "illness"},
        )
        send("POST", base, "agent", {"fee_amount": "10.00", "reason": "illness"}, lang="en")
        send("POST", base, "agent", {"fee_amount": "0.00", "interest_amount": "3.00", "reason": "illness"})
        if plan:
            send("POST", f"/v1/installment-plans/{plan['id']}/cancel", "supervisor", {"note": "Changed mind"})
            send(
                "POST", base, "agent", {"fee_amount": "0.01", "interest_amount": "0.00", "reason": "illness"}
            )
        send("GET", base, "auditor", lang="en")


def _quotes(send: Recorder, ref: str, scenario: int) -> None:
    send("POST", "/v1/quotes/installment-plan", "channel", {"account_ref": ref})
    if scenario in (0, 3):
        send(
            "POST",
            "/v1/quotes/installment-plan",
            "agent",
            {"account_ref": ref, "monthly_income": "8000.00"},
            lang="en",
        )
    if scenario in (1, 4):
        send("POST", "/v1/quotes/installment-plan", "channel", {"account_ref": ref, "terms": [1, 3, 7, 60]})
    if scenario in (2, 5):
        send(
            "POST",
            "/v1/quotes/installment-plan",
            "channel",
            {"account_ref": ref, "terms": [61, 6]},
            lang="en",
        )


def _errors(send: Recorder) -> None:
    for lang in ("zh", "en"):
        send("GET", "/v1/installment-plans/999999", "agent", lang=lang)
        send("GET", "/v1/fee-waivers/999999", "agent", lang=lang)
        send("POST", "/v1/installment-plans/999999/cancel", "agent", {"note": "x"}, lang=lang)
        send("POST", "/v1/fee-waivers/999999/reverse", "supervisor", {}, lang=lang)
        send("GET", "/v1/accounts/NOPE/installment-plans", "agent", lang=lang)
        send("GET", "/v1/accounts/NOPE/fee-waivers", "agent", lang=lang)
        send(
            "POST",
            "/v1/accounts/NOPE/installment-plans",
            "channel",
            {"term_months": 6, "reason": "illness"},
            lang=lang,
        )
        send(
            "POST",
            "/v1/accounts/NOPE/installment-plans/negotiate",
            "channel",
            {"proposed_term_months": 6},
            lang=lang,
        )
        send(
            "POST",
            "/v1/accounts/NOPE/fee-waivers",
            "agent",
            {"fee_amount": "1.00", "reason": "illness"},
            lang=lang,
        )
        send("POST", "/v1/quotes/installment-plan", "channel", {"account_ref": "NOPE"}, lang=lang)
        send(
            "POST",
            "/v1/quotes/installment-plan",
            "channel",
            {"account_ref": "DEMO-00001", "extra": 1},
            lang=lang,
        )
        send("POST", "/v1/accounts/DEMO-00001/fee-waivers", "channel", {"fee_amount": "1.00"}, lang=lang)
        send("POST", "/v1/installment-plans/1/cancel", "channel", {"note": "x"}, lang=lang)


def _stored(app: Any) -> dict[str, list[dict[str, Any]]]:
    """The decision rows, the audit trail and the events outbox, as plain JSON values."""
    from sqlalchemy import select

    from app.persistence.models import AuditEvent, Decision, OutboxEvent

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal | date | datetime):
            return value.isoformat() if not isinstance(value, Decimal) else str(value)
        return value

    tables: dict[str, list[dict[str, Any]]] = {}
    with app.state.engine.connect() as connection:
        for name, model, leave_out in (
            ("decisions", Decision, set()),
            # The API keys' prefixes are random, and with them the chain's hashes.
            ("audit_events", AuditEvent, {"hash", "prev_hash"}),
            ("outbox_events", OutboxEvent, {"event_id"}),
        ):
            table = model.__table__
            rows = connection.execute(select(table).order_by(table.c.id)).mappings()
            tables[name] = [{k: plain(v) for k, v in row.items() if k not in leave_out} for row in rows]
    for event in tables["audit_events"]:
        if event["action"] == "api_key.created":
            event["after"] = {**event["after"], "prefix": "(random)"}
    return tables


def record(out: Path, url: str | None, accounts: int) -> None:
    from fastapi.testclient import TestClient

    _fix_clock()
    with _database(url) as database_url:
        app, keys = _load(database_url, accounts)
        with TestClient(app) as client:
            send = Recorder(client, keys)
            send("PUT", "/v1/business-date", "admin", {"date": DAY.isoformat()})
            send(
                "POST",
                "/v1/disasters",
                "operator",
                {
                    "code": "EV-ANSWERS",
                    "name": "Flood",
                    "kind": "flood",
                    "occurred_on": "2025-07-01",
                    "relief_start": "2025-07-01",
                    "relief_end": "2025-09-30",
                    "deferral_months": 3,
                    "region_codes": ["622927"],
                },
            )
            refs = [f"DEMO-{n:05d}" for n in range(1, accounts + 1)]
            refs += ["DEMO-FEES", "DEMO-CALLBACK", "DEMO-DISPUTE", "DEMO-CALLBACK-2"]
            for index, ref in enumerate(refs):
                scenario = index % 6
                _quotes(send, ref, scenario)
                _plans(send, ref, scenario)
                _waivers(send, ref, scenario)
            _errors(send)
            stored = _stored(app)
        app.state.engine.dispose()
    result = {"answers": send.answers, **stored}
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    statuses: dict[int, int] = {}
    for answer in send.answers:
        statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
    print(
        f"{out}: {len(send.answers)} answers {dict(sorted(statuses.items()))}, "
        + ", ".join(f"{len(rows)} {name}" for name, rows in stored.items())
    )


def compare(first: Path, second: Path, show: int = 20) -> int:
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    differences = 0
    for part in sorted(set(a) | set(b)):
        left, right = a.get(part, []), b.get(part, [])
        if len(left) != len(right):
            differences += 1
            print(f"{part}: {len(left)} entries in {first}, {len(right)} in {second}")
        for number, (x, y) in enumerate(zip(left, right, strict=False), start=1):
            if x != y:
                differences += 1
                if differences <= show:
                    print(f"{part} #{number}:")
                    print(f"  {first}: {json.dumps(x, ensure_ascii=False)[:600]}")
                    print(f"  {second}: {json.dumps(y, ensure_ascii=False)[:600]}")
        print(f"{part}: {min(len(left), len(right))} compared")
    print("identical" if not differences else f"{differences} differences")
    return 1 if differences else 0


def time_quotes(url: str | None, accounts: int, requests: int, rounds: int) -> None:
    import httpx

    _fix_clock()
    with _database(url) as database_url:
        app, keys = _load(database_url, accounts)
        refs = [f"DEMO-{n:05d}" for n in range(1, accounts + 1)]
        headers = {"Authorization": f"Bearer {keys['channel']}"}

        async def run() -> list[tuple[float, float]]:
            transport = httpx.ASGITransport(app=app)
            timings: list[tuple[float, float]] = []
            async with httpx.AsyncClient(transport=transport, base_url="http://answers") as client:
                for n in range(200):  # warm-up
                    await client.post(
                        "/v1/quotes/installment-plan",
                        json={"account_ref": refs[n % len(refs)]},
                        headers=headers,
                    )
                for _ in range(rounds):
                    started, cpu = time.perf_counter(), time.process_time()
                    for n in range(requests):
                        response = await client.post(
                            "/v1/quotes/installment-plan",
                            json={"account_ref": refs[n % len(refs)]},
                            headers=headers,
                        )
                        assert response.status_code == 200, response.text
                    wall = (time.perf_counter() - started) * 1000 / requests
                    timings.append((wall, (time.process_time() - cpu) * 1000 / requests))
            return timings

        timings = asyncio.run(run())
        app.state.engine.dispose()
    print(
        f"quote, {requests} requests per round, ms per request (client included), wall / CPU: "
        + ", ".join(f"{wall:.3f} / {cpu:.3f}" for wall, cpu in timings)
    )


def _hand_written(quote: Any) -> dict[str, Any]:
    """The quote's answer as the code wrote it by hand before json_values (the reference)."""
    from app.domain.money import format_money as m

    return {
        "account_ref": quote.account_ref,
        "policy_version": quote.policy_version,
        "currency": quote.currency,
        "restructured_principal": m(quote.restructured_principal),
        "fees_waived": m(quote.fees_waived),
        "recommended_term_months": quote.recommended_term_months,
        "quotes": [
            {
                "term_months": q.term_months,
                "first_amount": m(q.first_amount),
                "last_amount": m(q.last_amount),
                "monthly_fee": m(q.monthly_fee),
                "total_fee": m(q.total_fee),
                "total_interest": m(q.total_interest),
                "total_amount": m(q.total_amount),
                "schedule": [
                    {
                        "number": i.number,
                        "due_date": i.due_date,
                        "principal": m(i.principal),
                        "interest": m(i.interest),
                        "fee": m(i.fee),
                        "amount": m(i.amount),
                    }
                    for i in q.schedule
                ],
            }
            for q in quote.quotes
        ],
    }


def time_serialising(number: int = 500, repeat: int = 15) -> None:
    """CPU time to write one default quote's answer: by hand, by json_values, through the model."""
    import timeit

    from pydantic_core import to_json

    from app.domain.installments import build_policy_schedule, select_quote_terms
    from app.schemas.fast import json_values
    from app.schemas.plans import QuoteRead
    from app.services.plans import PlanQuote, _term_quote
    from app.services.policies import PolicyStore
    from app.settings import get_settings

    policy = PolicyStore.load(get_settings().policy_dir).in_force(DAY)
    principal = Decimal("18420.00")
    terms = sorted(set(select_quote_terms(principal, policy.installment)) | {9})
    schedules = [build_policy_schedule(principal, term, DAY, policy.installment) for term in terms]
    quote = PlanQuote("DEMO-00001", policy.version, "CNY", principal, Decimal("180.00"), 9, [])
    quote.quotes.extend(_term_quote(schedule) for schedule in schedules)
    values = json_values(QuoteRead)

    def through_model(quote: PlanQuote) -> bytes:
        return QuoteRead.model_validate(quote).model_dump_json().encode()

    cases = {
        "hand-written dict (before)": lambda: to_json(_hand_written(quote)),
        "json_values(QuoteRead)": lambda: to_json(values(quote)),
        "QuoteRead.model_validate(...).model_dump_json()": lambda: through_model(quote),
    }
    assert len({fn() for fn in cases.values()}) == 1, "the three must write the same bytes"
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(repeat):  # interleaved, so that the load of the machine falls on all three alike
        for name, fn in cases.items():
            spent = timeit.Timer(fn, timer=time.process_time).timeit(number=number)
            best[name] = min(best[name], spent / number * 1e6)
    installments = sum(len(schedule.installments) for schedule in schedules)
    print(f"one default quote's answer ({installments} installments), CPU µs, best of {repeat} x {number}:")
    for name, spent in best.items():
        print(f"  {name}: {spent:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="record the answers to a JSON file")
    recording.add_argument("out", type=Path)
    comparing = commands.add_parser("compare", help="compare two recordings")
    comparing.add_argument("first", type=Path)
    comparing.add_argument("second", type=Path)
    commands.add_parser("serialise", help="CPU time to write one quote's answer, three ways")
    timing = commands.add_parser("time", help="CPU time per quote request, in process")
    timing.add_argument("--requests", type=int, default=2000)
    timing.add_argument("--rounds", type=int, default=3)
    for sub, accounts in ((recording, 60), (timing, 2000)):
        sub.add_argument("--database-url", default=None, help="an empty database (default: a SQLite file)")
        sub.add_argument("--accounts", type=int, default=accounts, help=f"demo accounts (default {accounts})")
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.database_url, args.accounts)
        return 0
    if args.command == "compare":
        return compare(args.first, args.second)
    if args.command == "serialise":
        time_serialising()
        return 0
    time_quotes(args.database_url, args.accounts, args.requests, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
