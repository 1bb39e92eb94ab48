"""The account view and eligibility answers, recorded and compared: proof that a change kept them.

Makes a deterministic demo database (the app's own functions: migrations, ``load_demo``, a pinned
business date, a fixed clock), arranges plans, fee waivers, deferrals (a disaster and an enroll scan)
and credit disputes through the API, then records a broad set of answers: GET /v1/accounts/{ref}
for every account, POST .../eligibility for each hardship reason with and without income and term
in Simplified Chinese and English, the refusals and errors of both, and GET and replay of the stored
decisions.  Each answer is kept as its status, content type and body; the file is JSON.

    .venv/bin/python benchmarks/api_load/answers_views.py answers.json
    .venv/bin/python benchmarks/api_load/answers_views.py answers.json \\
        --database-url postgresql://postgres@127.0.0.1:5432/hardship_views_answers   # an empty database
    .venv/bin/python benchmarks/api_load/answers_views.py --compare before.json after.json
    .venv/bin/python benchmarks/api_load/answers_views.py --time --accounts 20000 --requests 2000

``--time`` measures the CPU time per request in process, sequentially (the test client, client
included; the access log line off), of GET /v1/accounts/{ref} and POST .../eligibility on random
demo accounts.  Run the same file on two checkouts to compare them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HARDSHIP_SECRET_KEY", "answers-views-secret-key-not-for-production")
os.environ["HARDSHIP_SCAN_INLINE_PROCESSES"] = "1"  # scans in this process, so the fixed clock holds
os.environ["HARDSHIP_SCAN_INLINE_RECOVER_ON_START"] = "0"
os.environ["HARDSHIP_EVENTS_RELAY_ON_START"] = "0"

PINNED = date(2026, 3, 16)
FIXED_NOW = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)
DEMO_ACCOUNTS = 120
ROLES = ("channel", "agent", "supervisor", "batch_operator", "auditor", "admin")
REASONS = ("unemployment", "illness", "disaster", "income_reduction", "bereavement", "other", None, "lottery")
LANGUAGES = ("zh", "en", "en-US,en;q=0.9", "zh-CN,zh;q=0.9,en;q=0.8", "fr", None)
# Keys of an answer whose values differ from run to run whatever the code: none is expected with the
# fixed clock and a fresh database; a problem's request id would be one.
VOLATILE_KEYS = frozenset({"request_id"})


def _fix_clock() -> None:
    """Every module of the app that imported the clock reads FIXED_NOW."""
    from app.services import clock

    real = clock.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("app.") and getattr(module, "utcnow", None) is real:
            module.utcnow = lambda: FIXED_NOW  # type: ignore[attr-defined]


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/answers.db"


def _prepare(url: str, accounts: int, *, reuse: bool = False) -> tuple[Any, dict[str, str]]:
    """Migrate, pin the business date, load the demo portfolio (unless ``reuse`` and it is there) and
    make one API key per role."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import func, select

    from app.db import get_engine, unit_of_work
    from app.demo import load_demo
    from app.main import create_app
    from app.persistence.models import CardAccount
    from app.services import auth, business_date
    from app.services.principal import SYSTEM
    from app.settings import Settings

    settings = Settings(database_url=url, environment="test")
    engine = get_engine(settings)
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    app = create_app(settings)
    _fix_clock()
    for logger in ("hardship.access", "httpx"):  # a log line per request is not what is measured
        logging.getLogger(logger).disabled = True
    with unit_of_work(engine) as session:
        business_date.pin(session, on=PINNED, actor=SYSTEM)
    with unit_of_work(engine) as session:
        if not (reuse and session.scalar(select(func.count()).select_from(CardAccount)) >= accounts):
            load_demo(session, accounts=accounts)
        keys = {role: auth.create_api_key(session, name=f"answers-{role}", role=role).token for role in ROLES}
    return app, keys


class Recorder:
    def __init__(self, client: Any, keys: dict[str, str]) -> None:
        self.client, self.keys = client, keys
        self.answers: list[dict[str, Any]] = []

    def call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        role: str | None = "channel",
        lang: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        keep: bool = True,
    ) -> Any:
        headers: dict[str, str] = {}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        if lang is not None:
            headers["Accept-Language"] = lang
        if content_type is not None:
            headers["Content-Type"] = content_type
        if raw is not None:
            response = self.client.request(method, path, headers=headers, content=raw)
        elif body is not None:
            response = self.client.request(method, path, headers=headers, json=body)
        else:
            response = self.client.request(method, path, headers=headers)
        if keep:
            self.answers.append(
                {
                    "name": name,
                    "request": f"{method} {path}",
                    "role": role,
                    "lang": lang,
                    "body": body if raw is None else raw.decode(errors="replace"),
                    "status": response.status_code,
                    "content_type": response.headers.get("content-type"),
                    "answer": _normalised(response.content),
                }
            )
        try:
            return response.json()
        except ValueError:
            return None


def _normalised(content: bytes) -> str:
    """The body as text; a JSON body with volatile keys gets them replaced (the key order is kept)."""
    text = content.decode(errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("<volatile>" if k in VOLATILE_KEYS else scrub(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    cleaned = scrub(data)
    return text if cleaned == data else json.dumps(cleaned, ensure_ascii=False)


def _arrange(rec: Recorder, refs: list[str]) -> None:
    """Disasters with an enroll scan (deferrals), plans, waivers and disputes on some accounts."""
    day = PINNED.isoformat
    for code, regions, occurred in (
        ("EV-VIEWS", ["622900"], PINNED - timedelta(days=10)),
        ("EV-OPEN", ["110101", "630222"], PINNED - timedelta(days=3)),
    ):
        rec.call(
            f"declare {code}",
            "POST",
            "/v1/disasters",
            role="supervisor",
            body={
                "code": code,
                "name": f"Answers {code}",
                "kind": "flood",
                "occurred_on": occurred.isoformat(),
                "relief_start": occurred.isoformat(),
                "relief_end": (PINNED + timedelta(days=60)).isoformat(),
                "deferral_months": 3,
                "region_codes": regions,
            },
        )
    scan = rec.call(
        "scan", "POST", "/v1/disasters/EV-VIEWS/scans", role="batch_operator", body={"mode": "enroll"}
    )
    _wait_for_scan(rec, scan["id"])
    for n, ref in enumerate(refs[:40]):
        if n % 3 == 0:
            rec.call(
                "plan",
                "POST",
                f"/v1/accounts/{ref}/installment-plans",
                body={"term_months": 6 + n % 12, "reason": REASONS[n % 6]},
            )
        if n % 4 == 1:
            rec.call(
                "waiver",
                "POST",
                f"/v1/accounts/{ref}/fee-waivers",
                role="agent",
                body={"fee_amount": "10.50", "reason": REASONS[n % 6]},
            )
        if n % 5 == 2:
            rec.call(
                "dispute",
                "POST",
                "/v1/credit-disputes",
                role="agent",
                body={
                    "account_ref": ref,
                    "reason_code": "DATA_ERROR",
                    "period_start": (PINNED - timedelta(days=60 - n)).isoformat(),
                    "period_end": day(),
                },
            )
    rec.call("large waiver", "POST", "/v1/accounts/DEMO-FEES/fee-waivers", role="agent",
             body={"fee_amount": "900.00", "interest_amount": "100.00", "reason": "illness"})  # fmt: skip


def _wait_for_scan(rec: Recorder, scan_id: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        scan = rec.call("scan status", "GET", f"/v1/scans/{scan_id}", role="batch_operator", keep=False)
        if scan.get("status") in ("succeeded", "failed"):
            return
        time.sleep(0.05)
    raise SystemExit(f"scan {scan_id} did not finish")


def _accounts(rec: Recorder, refs: list[str]) -> None:
    for ref in refs:
        rec.call("account", "GET", f"/v1/accounts/{ref}")
    rec.call("account unknown", "GET", "/v1/accounts/NO-SUCH-ACCOUNT")
    rec.call("account ref too long", "GET", "/v1/accounts/" + "X" * 65)
    rec.call("account no key", "GET", f"/v1/accounts/{refs[0]}", role=None)
    rec.call("account role refused", "GET", f"/v1/accounts/{refs[0]}", role="auditor")
    rec.call("account as agent", "GET", f"/v1/accounts/{refs[1]}", role="agent")


def _eligibility(rec: Recorder, refs: list[str]) -> list[int]:
    decision_ids: list[int] = []
    for n, ref in enumerate(refs):
        body: dict[str, Any] = {}
        reason = REASONS[n % len(REASONS)]
        if reason is not None:
            body["reason"] = reason
        if n % 3 != 0:
            body["monthly_income"] = ("800.00", "5000", "12000.50", "0.01")[n % 4]
        if n % 4 == 1:
            body["term_months"] = (1, 6, 12, 36, 60, 61)[n % 6]
        for lang in (LANGUAGES[n % len(LANGUAGES)], "en" if n % 2 else "zh"):
            answer = rec.call("eligibility", "POST", f"/v1/accounts/{ref}/eligibility", lang=lang, body=body)
            if isinstance(answer, dict) and "decision_id" in answer:
                decision_ids.append(answer["decision_id"])
    path = f"/v1/accounts/{refs[0]}/eligibility"
    for name, kwargs in (
        ("unknown account", {"body": {"reason": "illness"}}),
        ("money as float", {"body": {"reason": "illness", "monthly_income": 5000.5}}),
        ("money with three decimals", {"body": {"monthly_income": "1.234"}}),
        ("term zero", {"body": {"term_months": 0}}),
        ("term as text", {"body": {"term_months": "12"}}),
        ("unknown field", {"body": {"reason": "illness", "salary": "1"}}),
        ("reason too long", {"body": {"reason": "x" * 201}}),
        ("not json", {"raw": b"reason=illness", "content_type": "application/x-www-form-urlencoded"}),
        ("broken json", {"raw": b'{"reason": ', "content_type": "application/json"}),
        ("empty body", {"raw": b"", "content_type": "application/json"}),
        ("no key", {"body": {"reason": "illness"}, "role": None}),
        ("role refused", {"body": {"reason": "illness"}, "role": "auditor"}),
    ):
        for lang in ("zh", "en"):
            target = "/v1/accounts/NO-SUCH-ACCOUNT/eligibility" if name == "unknown account" else path
            rec.call(f"eligibility {name}", "POST", target, lang=lang, **kwargs)  # type: ignore[arg-type]
    return decision_ids


def _decisions(rec: Recorder, decision_ids: list[int]) -> None:
    for n, decision_id in enumerate(decision_ids[::3]):
        rec.call("decision", "GET", f"/v1/decisions/{decision_id}", role="agent")
        rec.call("replay", "POST", f"/v1/decisions/{decision_id}/replay", role="supervisor",
                 lang=("zh", "en")[n % 2])  # fmt: skip
    rec.call("decision unknown", "GET", "/v1/decisions/999999999", role="auditor")
    rec.call("decision bad id", "GET", "/v1/decisions/0", role="auditor")
    rec.call("replay unknown", "POST", "/v1/decisions/999999999/replay", role="auditor")
    rec.call("decision role refused", "GET", f"/v1/decisions/{decision_ids[0]}", role="channel")


def record(out: Path, url: str | None, accounts: int) -> None:
    from fastapi.testclient import TestClient

    with _database(url) as database_url:
        app, keys = _prepare(database_url, accounts)
        with TestClient(app) as client:
            rec = Recorder(client, keys)
            refs = _account_refs(database_url)
            _arrange(rec, refs)
            _accounts(rec, refs)
            decision_ids = _eligibility(rec, refs)
            _decisions(rec, decision_ids)
        from app.jobs.executors import wait_for_inline_scans

        wait_for_inline_scans(60)
    out.write_text(json.dumps(rec.answers, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    statuses: dict[int, int] = {}
    for answer in rec.answers:
        statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
    print(f"{len(rec.answers)} answers -> {out}; statuses {dict(sorted(statuses.items()))}")


def _account_refs(url: str) -> list[str]:
    from sqlalchemy import select

    from app.db import get_engine, unit_of_work
    from app.persistence.models import CardAccount
    from app.settings import Settings

    with unit_of_work(get_engine(Settings(database_url=url, environment="test"))) as session:
        return list(session.scalars(select(CardAccount.account_ref).order_by(CardAccount.account_ref)))


def compare(first: Path, second: Path) -> int:
    a = json.loads(first.read_text(encoding="utf-8"))
    b = json.loads(second.read_text(encoding="utf-8"))
    if len(a) != len(b):
        print(f"different number of answers: {len(a)} and {len(b)}")
    differences = 0
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            differences += 1
            if differences <= 10:
                print(f"answer {n} ({x['name']}, {x['request']}, lang {x['lang']}):")
                for key in x:
                    if x[key] != y.get(key):
                        print(f"  {key}:\n    {x[key]!r}\n    {y.get(key)!r}")
    same = differences == 0 and len(a) == len(b)
    print(f"{len(a)} and {len(b)} answers: " + ("identical" if same else f"{differences} differ"))
    return 0 if same else 1


def measure(url: str | None, accounts: int, requests: int, repeat: int) -> None:
    from fastapi.testclient import TestClient

    with _database(url) as database_url:
        app, keys = _prepare(database_url, accounts, reuse=True)
        refs = [r for r in _account_refs(database_url) if r.startswith("DEMO-0")]
        headers = {"Authorization": f"Bearer {keys['channel']}"}
        body = {"reason": "illness", "monthly_income": "8000.00"}
        with TestClient(app) as client:
            for name, send in (
                ("GET /v1/accounts/{ref}", lambda ref: client.get(f"/v1/accounts/{ref}", headers=headers)),
                (
                    "POST /v1/accounts/{ref}/eligibility",
                    lambda ref: client.post(f"/v1/accounts/{ref}/eligibility", json=body, headers=headers),
                ),
            ):
                rng = random.Random(7)
                for ref in refs[:50]:
                    assert send(ref).status_code == 200  # warm-up
                figures = []
                for _ in range(repeat):
                    picks = [rng.choice(refs) for _ in range(requests)]
                    started = time.process_time()
                    for ref in picks:
                        send(ref)
                    figures.append((time.process_time() - started) / requests * 1000)
                print(f"{name}: CPU ms per request " + ", ".join(f"{f:.3f}" for f in figures))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, nargs="?", help="record the answers to this JSON file")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"), help="compare two files")
    parser.add_argument("--time", action="store_true", help="CPU time per request in process")
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--accounts", type=int, help=f"demo accounts ({DEMO_ACCOUNTS}; 20000 with --time)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint and round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.time:
        measure(args.database_url, args.accounts or 20000, args.requests, args.repeat)
        return 0
    if args.out is None:
        parser.error("give a file to record to, --compare A B or --time")
    record(args.out, args.database_url, args.accounts or DEMO_ACCOUNTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
