"""Disaster scans through the services and the inline executor, on SQLite and PostgreSQL.

Every eligibility rule at its boundary, the exact amounts, idempotent re-scans, chunking, amendments,
failure and resume. The helpers at the top are shared by the other scan, dispute and report tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

import app.jobs  # registers the executors; run_scan_inline below
from app.db import unit_of_work
from app.domain.access import Role
from app.domain.policy import parse_policy
from app.jobs import chunk as chunk_module
from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.executors import wait_for_inline_scans
from app.jobs.planner import plan_scan
from app.persistence.models import CardAccount, Deferral, DeferralLine, Scan, ScanChunk, ScanResult
from app.services import accounts as account_rows
from app.services import deferrals, disasters, regions, scans
from app.services.errors import Conflict, InvalidInput
from app.services.policies import PACKAGED_POLICY_DIR, PolicyStore
from app.services.principal import Principal
from app.settings import Settings
from tests.conftest import Database

OPERATOR = Principal(kind="key", id=1, name="test-operator", role=Role.BATCH_OPERATOR)
POLICIES = PolicyStore.load()

# The contract-smoke portfolio and event (CONTRACT.md checks).
SMOKE_EVENT: dict[str, Any] = {
    "code": "SMK-FLOOD",
    "name": "smoke flood",
    "kind": "flood",
    "occurred_on": date(2025, 6, 15),
    "relief_start": date(2025, 6, 16),
    "relief_end": date(2025, 8, 31),
    "deferral_months": 3,
    "region_codes": ["653100"],
}


def account(
    ref: str,
    *,
    customer: str | None = None,
    status: str = "active",
    region: str = "653101",
    opened: str = "2020-03-01",
    delinquent: str | None = None,
    statements: Iterable[tuple[str, str, str, str, str]] = (),
) -> dict[str, Any]:
    """An account row; statements are (statement_date, due_date, balance, minimum_due, paid)."""
    return {
        "account_ref": ref,
        "customer_ref": customer or f"C-{ref}",
        "product_code": "STD_CLASSIC",
        "status": status,
        "region_code": region,
        "opened_on": date.fromisoformat(opened),
        "credit_limit": Decimal("20000.00"),
        "principal_balance": Decimal("5000.00"),
        "interest_balance": Decimal("0.00"),
        "fee_balance": Decimal("0.00"),
        "delinquent_since": date.fromisoformat(delinquent) if delinquent else None,
        "last_payment_on": None,
        "statements": list(statements),
    }


def statement(due: str, balance: str = "1000.00", minimum: str = "100.00", paid: str = "0.00") -> tuple:
    """A statement due on ``due``, issued 20 days before."""
    due_date = date.fromisoformat(due)
    return ((due_date - timedelta(days=20)).isoformat(), due, balance, minimum, paid)


def smoke_portfolio() -> list[dict[str, Any]]:
    return [
        account(
            "SMK-1",
            statements=[
                ("2025-06-08", "2025-06-28", "3200.00", "320.00", "0.00"),
                ("2025-07-08", "2025-07-31", "2100.40", "210.04", "100.00"),
            ],
        ),
        account(
            "SMK-2",
            status="delinquent",
            delinquent="2025-06-10",
            statements=[("2025-06-08", "2025-06-28", "1800.00", "180.00", "0.00")],
        ),
        account(
            "SMK-3", status="closed", statements=[("2025-06-08", "2025-06-28", "900.00", "90.00", "0.00")]
        ),
        account(
            "SMK-4", region="110101", statements=[("2025-06-08", "2025-06-28", "700.00", "70.00", "0.00")]
        ),
    ]


def load_portfolio(engine: Engine, accounts: list[dict[str, Any]]) -> None:
    with unit_of_work(engine) as session:
        account_rows.upsert_account_rows(
            session, [{k: v for k, v in a.items() if k != "statements"} for a in accounts]
        )
        ids = {ref: id_ for ref, id_ in session.execute(select(CardAccount.account_ref, CardAccount.id))}
        rows = [
            {
                "account_ref": a["account_ref"],
                "statement_date": date.fromisoformat(s[0]),
                "due_date": date.fromisoformat(s[1]),
                "statement_balance": Decimal(s[2]),
                "minimum_due": Decimal(s[3]),
                "paid_amount": Decimal(s[4]),
            }
            for a in accounts
            for s in a["statements"]
        ]
        if rows:
            account_rows.upsert_statement_rows(session, rows, ids)


def declare(engine: Engine, **overrides: Any) -> str:
    values = {**SMOKE_EVENT, **overrides}
    with unit_of_work(engine) as session:
        disasters.declare_event(session, actor=OPERATOR, **values)
    return str(values["code"])


def scan_settings(db: Database, chunk_size: int = 5000, max_attempts: int = 3) -> Settings:
    return db.settings.model_copy(
        update={
            "scan_chunk_size": chunk_size,
            "scan_chunk_max_attempts": max_attempts,
            "scan_executor": "inline",
        }
    )


def run_scan(
    db: Database,
    code: str,
    mode: str = "dry_run",
    *,
    chunk_size: int = 5000,
    max_attempts: int = 3,
    policies: PolicyStore = POLICIES,
    draft: str | None = None,
) -> scans.ScanView:
    """Start a scan, let the inline executor finish it, and read it back."""
    with unit_of_work(db.engine) as session:
        scan = scans.start_scan(
            session,
            disaster_code=code,
            mode=mode,
            actor=OPERATOR,
            policies=policies,
            draft_policy_version=draft,
            settings=scan_settings(db, chunk_size, max_attempts),
        )
        scan_id = scan.id
    assert wait_for_inline_scans(60), "the inline scan did not finish"
    with unit_of_work(db.engine) as session:
        return scans.get_scan(session, scan_id, policies=policies)


def results(db: Database, scan_id: int) -> dict[str, scans.ResultView]:
    with unit_of_work(db.engine) as session:
        return {r.account_ref: r for r in scans.list_results(session, scan_id=scan_id, limit=1000)}


def account_deferrals(db: Database, ref: str) -> list[deferrals.DeferralView]:
    with unit_of_work(db.engine) as session:
        return deferrals.list_deferrals(session, account_ref=ref)


def count(db: Database, model: Any) -> int:
    with unit_of_work(db.engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- the contract-smoke portfolio -------------------------------------------------------------------


def test_enroll_scan_of_the_smoke_portfolio_counts_and_amounts_are_exact(db: Database) -> None:
    load_portfolio(db.engine, smoke_portfolio())
    code = declare(db.engine)
    scan = run_scan(db, code, "enroll")
    assert scan.status == "succeeded" and scan.error is None
    assert (scan.accounts_scanned, scan.accounts_eligible, scan.customers_eligible) == (4, 2, 2)
    assert scan.accounts_enrolled == 2
    # SMK-1: 3200.00 x 0.0005 x 92 = 147.20 and 2000.40 x 0.0005 x 92 = 92.0184 -> 92.02;
    # late fees 320.00 x 5 % = 16.00 and (210.04 - 100.00) x 5 % = 5.502 -> 5.50. SMK-2: 82.80, 9.00.
    assert scan.total_deferred_amount == Decimal("7000.40")
    assert scan.total_interest_waived == Decimal("322.02")
    assert scan.total_late_fees_waived == Decimal("30.50")
    assert scan.reason_counts == {"REGION_NOT_AFFECTED": 1, "ACCOUNT_STATUS_INELIGIBLE": 1}
    assert (scan.chunks_total, scan.chunks_done, scan.percent) == (1, 1, 100)
    assert scan.started_at is not None and scan.finished_at is not None
    assert scan.draft is False and scan.policy_version == "2025.1" and scan.event_version == 1

    [deferral] = account_deferrals(db, "SMK-1")
    assert deferral.disaster_code == code
    by_due = {line.due_date: line for line in deferral.lines}
    assert by_due[date(2025, 7, 31)].new_due_date == date(2025, 10, 31)
    assert by_due[date(2025, 6, 28)].new_due_date == date(2025, 9, 28)
    assert by_due[date(2025, 7, 31)].deferred_amount == Decimal("2000.40")
    assert by_due[date(2025, 7, 31)].interest_waived == Decimal("92.02")
    assert by_due[date(2025, 7, 31)].late_fee_waived == Decimal("5.50")
    assert deferral.deferred_amount == Decimal("5200.40")
    assert deferral.interest_waived == Decimal("239.22")
    assert deferral.late_fees_waived == Decimal("21.50")

    listed = results(db, scan.id)
    assert set(listed) == {"SMK-1", "SMK-2", "SMK-3"}  # SMK-4 is outside the regions: counted, not listed
    assert listed["SMK-3"].reasons == ["ACCOUNT_STATUS_INELIGIBLE"] and not listed["SMK-3"].eligible
    assert listed["SMK-1"].enrolled and listed["SMK-1"].deferred_amount == Decimal("5200.40")


def test_a_repeated_enroll_scan_finds_everyone_already_enrolled_and_writes_nothing(db: Database) -> None:
    load_portfolio(db.engine, smoke_portfolio())
    code = declare(db.engine)
    first = run_scan(db, code, "enroll")
    second = run_scan(db, code, "enroll")
    assert (first.accounts_enrolled, second.accounts_enrolled) == (2, 0)
    assert (second.accounts_scanned, second.accounts_eligible, second.customers_eligible) == (4, 0, 0)
    assert second.total_deferred_amount == Decimal("0.00")
    assert second.reason_counts["ALREADY_ENROLLED"] == 2
    assert count(db, Deferral) == 2
    assert count(db, DeferralLine) == 3
    dry = run_scan(db, code, "dry_run")
    assert dry.accounts_eligible == 0 and dry.reason_counts["ALREADY_ENROLLED"] == 2


def test_a_dry_run_reports_totals_but_enrolls_nothing(db: Database) -> None:
    load_portfolio(db.engine, smoke_portfolio())
    code = declare(db.engine)
    scan = run_scan(db, code, "dry_run")
    assert (scan.accounts_eligible, scan.customers_eligible, scan.accounts_enrolled) == (2, 2, 0)
    assert scan.total_deferred_amount == Decimal("7000.40")
    assert count(db, Deferral) == 0
    assert not any(r.enrolled for r in results(db, scan.id).values())


# --- every rule at its boundary ------------------------------------------------------------------------

IN_WINDOW = [statement("2025-07-10")]
BOUNDARY_CASES: list[tuple[dict[str, Any], list[str]]] = [
    (account("DPD-30", status="delinquent", delinquent="2025-05-16", statements=IN_WINDOW), []),
    (
        account("DPD-31", status="delinquent", delinquent="2025-05-15", statements=IN_WINDOW),
        ["PRE_EVENT_DELINQUENCY"],
    ),
    (account("DPD-AFTER", status="delinquent", delinquent="2025-06-20", statements=IN_WINDOW), []),
    (account("OPENED-DAY-BEFORE", opened="2025-06-14", statements=IN_WINDOW), []),
    (account("OPENED-ON-EVENT", opened="2025-06-15", statements=IN_WINDOW), ["OPENED_AFTER_EVENT"]),
    (account("DUE-ON-START", statements=[statement("2025-06-16")]), []),
    (account("DUE-ON-END", statements=[statement("2025-08-31")]), []),
    (account("DUE-DAY-BEFORE", statements=[statement("2025-06-15")]), ["NO_AMOUNT_DUE_IN_WINDOW"]),
    (account("DUE-DAY-AFTER", statements=[statement("2025-09-01")]), ["NO_AMOUNT_DUE_IN_WINDOW"]),
    (
        account("PAID-IN-FULL", statements=[statement("2025-07-10", paid="1000.00")]),
        ["NO_AMOUNT_DUE_IN_WINDOW"],
    ),
    (account("ONE-FEN-UNPAID", statements=[statement("2025-07-10", paid="999.99")]), []),
    (account("NO-STATEMENTS"), ["NO_AMOUNT_DUE_IN_WINDOW"]),
    (account("CHARGED-OFF", status="charged_off", statements=IN_WINDOW), ["ACCOUNT_STATUS_INELIGIBLE"]),
    (account("FRAUD", status="fraud", statements=IN_WINDOW), ["ACCOUNT_STATUS_INELIGIBLE"]),
    (
        account("CLOSED-NEW-LATE", status="closed", opened="2025-06-20", delinquent="2025-01-01"),
        [
            "ACCOUNT_STATUS_INELIGIBLE",
            "OPENED_AFTER_EVENT",
            "PRE_EVENT_DELINQUENCY",
            "NO_AMOUNT_DUE_IN_WINDOW",
        ],
    ),
    (account("COUNTY-EXACT", region="622927", statements=IN_WINDOW), []),
    (account("MINHE-OLD-CODE", region="632122", statements=IN_WINDOW), []),
    (account("MINHE-NEW-CODE", region="630222", statements=IN_WINDOW), []),
]
NOT_COVERED = [
    account("NEIGHBOUR-COUNTY", region="622926", statements=IN_WINDOW),
    account("OTHER-PREFECTURE", region="653201", statements=IN_WINDOW),
    account("OTHER-HAIDONG-COUNTY", region="632123", statements=IN_WINDOW),
]


def test_every_rule_at_its_boundary(db: Database) -> None:
    load_portfolio(db.engine, [a for a, _ in BOUNDARY_CASES] + NOT_COVERED)
    # 653100 covers its prefecture, 622927 exactly one county, 630222 is Minhe's current code.
    code = declare(db.engine, region_codes=["653100", "622927", "630222"])
    scan = run_scan(db, code, "dry_run", chunk_size=4)
    listed = results(db, scan.id)
    for acct, expected in BOUNDARY_CASES:
        ref = acct["account_ref"]
        assert listed[ref].reasons == expected, ref
        assert listed[ref].eligible is (not expected), ref
    assert not {a["account_ref"] for a in NOT_COVERED} & set(listed)
    eligible = sum(1 for _, expected in BOUNDARY_CASES if not expected)
    assert scan.accounts_scanned == len(BOUNDARY_CASES) + len(NOT_COVERED)
    assert (scan.accounts_eligible, scan.customers_eligible) == (eligible, eligible)
    assert scan.reason_counts["REGION_NOT_AFFECTED"] == len(NOT_COVERED)
    assert scan.reason_counts["NO_AMOUNT_DUE_IN_WINDOW"] == 5
    assert scan.chunks_total == 5  # the 18 covered accounts, 4 to a chunk: the 3 others need none


def test_an_event_declared_with_an_old_code_covers_customers_with_the_new_code(db: Database) -> None:
    load_portfolio(
        db.engine,
        [
            account("NEW", region="630222", statements=IN_WINDOW),
            account("OLD", region="632122", statements=IN_WINDOW),
            account("PROVINCE-MATCH", region="622927", statements=IN_WINDOW),
        ],
    )
    minhe = run_scan(db, declare(db.engine, code="MINHE", region_codes=["632122"]))
    assert set(results(db, minhe.id)) == {"NEW", "OLD"}
    province = run_scan(db, declare(db.engine, code="GANSU", region_codes=["620000"]))
    assert set(results(db, province.id)) == {"PROVINCE-MATCH"} and province.accounts_eligible == 1


def test_an_operators_region_code_change_extends_the_policy_table(db: Database) -> None:
    load_portfolio(db.engine, [account("RENAMED", region="659999", statements=IN_WINDOW)])
    policy = POLICIES.in_force(date(2025, 6, 15))
    with unit_of_work(db.engine) as session:
        regions.create_region_code_change(
            session,
            old_code="659999",
            new_code="653101",
            effective_on=None,
            note="test",
            actor=OPERATOR,
            policy=policy,
        )
    with unit_of_work(db.engine) as session, pytest.raises(InvalidInput):
        regions.create_region_code_change(
            session,
            old_code="653101",
            new_code="659999",
            effective_on=None,
            note=None,
            actor=OPERATOR,
            policy=policy,
        )
    with unit_of_work(db.engine) as session, pytest.raises(Conflict):
        regions.create_region_code_change(
            session,
            old_code="659999",
            new_code="653102",
            effective_on=None,
            note=None,
            actor=OPERATOR,
            policy=policy,
        )
    with unit_of_work(db.engine) as session:
        table = regions.list_region_code_changes(session, policy=policy)
    assert {(e.old_code, e.new_code, e.source) for e in table} >= {
        ("659999", "653101", "operator"),
        ("632122", "630222", "policy"),
    }
    scan = run_scan(db, declare(db.engine))
    assert results(db, scan.id)["RENAMED"].eligible


# --- exact amounts -----------------------------------------------------------------------------------


def test_month_end_and_leap_day_due_dates(db: Database) -> None:
    load_portfolio(
        db.engine,
        [
            account(
                "LEAP", opened="2019-01-01", statements=[statement("2024-01-31", "1000.00", "100.00", "0.00")]
            ),
            account(
                "PLAIN",
                opened="2019-01-01",
                statements=[statement("2025-01-31", "1000.00", "100.00", "40.00")],
            ),
        ],
    )
    leap = declare(
        db.engine,
        code="LEAP",
        occurred_on=date(2024, 1, 20),
        relief_start=date(2024, 1, 20),
        relief_end=date(2024, 2, 20),
        deferral_months=1,
    )
    plain = declare(
        db.engine,
        code="PLAIN",
        occurred_on=date(2025, 1, 20),
        relief_start=date(2025, 1, 20),
        relief_end=date(2025, 2, 20),
        deferral_months=1,
    )
    assert run_scan(db, leap, "enroll").accounts_enrolled == 1
    assert run_scan(db, plain, "enroll").accounts_enrolled == 1
    [leap_deferral] = account_deferrals(db, "LEAP")
    [line] = leap_deferral.lines
    # 2024-01-31 + 1 month = 2024-02-29: 29 days x 0.05 % x 1000.00 = 14.50; 5 % of 100.00 = 5.00.
    assert (line.new_due_date, line.interest_waived, line.late_fee_waived) == (
        date(2024, 2, 29),
        Decimal("14.50"),
        Decimal("5.00"),
    )
    [plain_deferral] = account_deferrals(db, "PLAIN")
    [line] = plain_deferral.lines
    # 2025-01-31 + 1 month = 2025-02-28: 28 days x 0.05 % x 960.00 = 13.44; 5 % of 60.00 = 3.00.
    assert (line.new_due_date, line.deferred_amount, line.interest_waived, line.late_fee_waived) == (
        date(2025, 2, 28),
        Decimal("960.00"),
        Decimal("13.44"),
        Decimal("3.00"),
    )


# --- chunks ------------------------------------------------------------------------------------------


def test_totals_do_not_depend_on_the_chunk_size_and_customers_are_counted_once(db: Database) -> None:
    accounts = [
        account(
            f"A{n:02d}", customer=f"C{n // 3}", statements=[statement("2025-07-10", f"{100 + n}.37", "10.00")]
        )
        for n in range(11)
    ] + [account("FAR", region="110101", statements=IN_WINDOW)]
    load_portfolio(db.engine, accounts)
    code = declare(db.engine)
    whole = run_scan(db, code, "dry_run", chunk_size=1000)
    chunked = run_scan(db, code, "dry_run", chunk_size=2)
    assert chunked.chunks_total == 6
    fields = ("accounts_scanned", "accounts_eligible", "customers_eligible", "total_deferred_amount")
    assert [getattr(chunked, f) for f in fields] == [getattr(whole, f) for f in fields]
    assert (whole.accounts_scanned, whole.accounts_eligible, whole.customers_eligible) == (12, 11, 4)
    assert whole.total_interest_waived == chunked.total_interest_waived
    enrolled = run_scan(db, code, "enroll", chunk_size=3)
    assert (enrolled.accounts_enrolled, enrolled.customers_eligible) == (11, 4)
    assert enrolled.total_deferred_amount == whole.total_deferred_amount


def test_a_chunk_failing_too_often_fails_the_scan_and_resume_finishes_it_exactly(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_portfolio(db.engine, [account(f"F{n}", statements=IN_WINDOW) for n in range(6)])
    code = declare(db.engine)
    calls = {"n": 0}
    real_insert = chunk_module._insert_deferrals

    def flaky(session: Any, ctx: Any, offers: Any) -> Any:
        calls["n"] += 1
        if calls["n"] in (2, 3):  # the second chunk fails twice: its attempts are used up
            raise RuntimeError("disk on fire")
        return real_insert(session, ctx, offers)

    monkeypatch.setattr(chunk_module, "_insert_deferrals", flaky)
    failed = run_scan(db, code, "enroll", chunk_size=2, max_attempts=2)
    assert failed.status == "failed"
    assert (
        failed.error is not None
        and "chunk 2 failed 2 times" in failed.error
        and "disk on fire" in failed.error
    )
    assert failed.chunks_done == 1 and failed.accounts_enrolled == 2
    with unit_of_work(db.engine) as session:
        scans.resume_scan(
            session, scan_id=failed.id, actor=OPERATOR, policies=POLICIES, settings=scan_settings(db, 2, 2)
        )
    assert wait_for_inline_scans(60)
    with unit_of_work(db.engine) as session:
        done = scans.get_scan(session, failed.id)
    assert done.status == "succeeded" and done.error is None
    assert (done.accounts_scanned, done.accounts_enrolled, done.customers_eligible, done.chunks_done) == (
        6,
        6,
        6,
        3,
    )
    assert count(db, Deferral) == 6
    with unit_of_work(db.engine) as session, pytest.raises(Conflict):
        scans.resume_scan(session, scan_id=failed.id, actor=OPERATOR, policies=POLICIES)


def test_a_stale_claim_is_taken_over_and_the_old_worker_cannot_commit(db: Database) -> None:
    load_portfolio(db.engine, [account(f"S{n}", statements=IN_WINDOW) for n in range(3)])
    code = declare(db.engine)
    with unit_of_work(db.engine) as session:
        scan = scans.start_scan(session, disaster_code=code, mode="enroll", actor=OPERATOR, policies=POLICIES)
        scan_id = scan.id
        session.info.clear()  # no executor: this test drives the chunk by hand
    assert plan_scan(db.engine, scan_id, 10)
    with unit_of_work(db.engine) as session:
        chunk_id = session.scalar(select(ScanChunk.id).where(ScanChunk.scan_id == scan_id))
    # A worker claimed the chunk a minute ago and died: its claim is stale after 30 s.
    with unit_of_work(db.engine) as session:
        session.execute(
            update(ScanChunk)
            .where(ScanChunk.id == chunk_id)
            .values(status="running", attempts=1, started_at=func.current_timestamp())
        )
    kwargs: dict[str, Any] = {
        "scan_id": scan_id,
        "chunk_id": chunk_id,
        "policies": POLICIES,
        "max_attempts": 3,
    }
    assert process_chunk(db.engine, stale_seconds=3600, **kwargs) is ChunkOutcome.BUSY
    old_claim = 1
    assert process_chunk(db.engine, stale_seconds=0.000001, **kwargs) is ChunkOutcome.DONE
    assert process_chunk(db.engine, stale_seconds=0.000001, **kwargs) is ChunkOutcome.ALREADY_DONE
    with unit_of_work(db.engine) as session:
        chunk = session.get(ScanChunk, chunk_id)
        assert chunk is not None and (chunk.status, chunk.attempts) == ("done", 2)
        assert old_claim != chunk.attempts  # the dead worker's claim no longer matches: it could not commit
        scan_row = session.get(Scan, scan_id)
        assert scan_row is not None and (scan_row.status, scan_row.accounts_enrolled) == ("succeeded", 3)
    assert count(db, Deferral) == 3 and count(db, ScanResult) == 3


# --- amendments --------------------------------------------------------------------------------------


def test_after_an_amendment_an_enroll_scan_enrolls_new_regions_and_extends_deferrals(db: Database) -> None:
    load_portfolio(
        db.engine,
        [
            account(
                "OLD", statements=[statement("2025-07-10", "1000.00"), statement("2025-09-10", "500.00")]
            ),
            account("NEW-REGION", region="622927", statements=[statement("2025-07-10", "800.00")]),
        ],
    )
    code = declare(db.engine)
    first = run_scan(db, code, "enroll")
    assert first.accounts_enrolled == 1
    [before] = account_deferrals(db, "OLD")
    assert [line.new_due_date for line in before.lines] == [date(2025, 10, 10)]
    with unit_of_work(db.engine) as session:
        event = disasters.amend_event(
            session,
            code=code,
            add_region_codes=["622927"],
            relief_end=date(2025, 9, 30),
            deferral_months=4,
            actor=OPERATOR,
        )
    assert event.version == 2 and event.amendments[0].changes["deferral_months"] == {"from": 3, "to": 4}
    second = run_scan(db, code, "enroll")
    assert second.event_version == 2
    assert (second.accounts_enrolled, second.deferrals_extended) == (1, 1)
    # The totals cover what this scan enrolled now: the new region's account only.
    assert second.total_deferred_amount == Decimal("800.00")
    [after] = account_deferrals(db, "OLD")
    assert after.id == before.id and after.event_version == 2
    assert [(line.due_date, line.new_due_date) for line in after.lines] == [
        (date(2025, 7, 10), date(2025, 11, 10)),
        (date(2025, 9, 10), date(2026, 1, 10)),
    ]
    # 1000.00 x 0.0005 x 123 days = 61.50; 500.00 x 0.0005 x 122 days = 30.50.
    assert after.deferred_amount == Decimal("1500.00")
    assert after.interest_waived == Decimal("92.00")
    listed = results(db, second.id)
    assert listed["OLD"].reasons == ["ALREADY_ENROLLED"] and listed["OLD"].enrolled
    assert count(db, Deferral) == 2
    third = run_scan(db, code, "enroll")
    assert (third.accounts_enrolled, third.deferrals_extended, third.accounts_eligible) == (0, 0, 0)
    assert count(db, DeferralLine) == 3


def test_amendments_only_widen_and_closed_events_refuse_them(db: Database) -> None:
    code = declare(db.engine)
    with unit_of_work(db.engine) as session, pytest.raises(InvalidInput):
        disasters.amend_event(session, code=code, deferral_months=2, actor=OPERATOR)
    with unit_of_work(db.engine) as session, pytest.raises(InvalidInput):
        disasters.amend_event(session, code=code, relief_end=date(2025, 8, 30), actor=OPERATOR)
    with unit_of_work(db.engine) as session:
        same = disasters.amend_event(session, code=code, add_region_codes=["653100"], actor=OPERATOR)
    assert same.version == 1 and same.amendments == []
    with unit_of_work(db.engine) as session:
        disasters.close_event(session, code=code, actor=OPERATOR)
    with unit_of_work(db.engine) as session, pytest.raises(Conflict):
        disasters.amend_event(session, code=code, deferral_months=4, actor=OPERATOR)
    with unit_of_work(db.engine) as session, pytest.raises(Conflict):
        scans.start_scan(session, disaster_code=code, mode="enroll", actor=OPERATOR, policies=POLICIES)


# --- draft policies ----------------------------------------------------------------------------------


def test_a_dry_run_under_a_draft_policy_shows_what_the_draft_would_change(db: Database) -> None:
    text = (PACKAGED_POLICY_DIR / "v1.toml").read_text(encoding="utf-8")
    draft = parse_policy(
        text.replace('version = "2025.1"', 'version = "2025.2-draft"').replace(
            "max_days_past_due_at_event = 30", "max_days_past_due_at_event = 60"
        )
    )
    store = PolicyStore([POLICIES.in_force(date(2025, 6, 15))], [draft])
    load_portfolio(
        db.engine, [account("LATE-45", status="delinquent", delinquent="2025-05-01", statements=IN_WINDOW)]
    )
    code = declare(db.engine)
    adopted = run_scan(db, code, policies=store)
    what_if = run_scan(db, code, policies=store, draft="2025.2-draft")
    assert (adopted.accounts_eligible, what_if.accounts_eligible) == (0, 1)
    assert what_if.draft and what_if.policy_version == "2025.2-draft" and not adopted.draft
    with unit_of_work(db.engine) as session, pytest.raises(InvalidInput):
        scans.start_scan(
            session,
            disaster_code=code,
            mode="enroll",
            actor=OPERATOR,
            policies=store,
            draft_policy_version="2025.2-draft",
        )
    with unit_of_work(db.engine) as session, pytest.raises(InvalidInput):
        scans.start_scan(
            session,
            disaster_code=code,
            mode="dry_run",
            actor=OPERATOR,
            policies=store,
            draft_policy_version="nope",
        )


def test_an_empty_portfolio_scan_succeeds_with_zero_counts(db: Database) -> None:
    scan = run_scan(db, declare(db.engine))
    assert (scan.status, scan.accounts_scanned, scan.chunks_total, scan.percent) == ("succeeded", 0, 0, 100)


def test_a_scan_judges_by_the_event_version_it_started_with(db: Database) -> None:
    load_portfolio(
        db.engine,
        [
            account("OLD", statements=[statement("2025-07-10")]),
            account("ADDED", region="622927", statements=[statement("2025-07-10")]),
        ],
    )
    code = declare(db.engine)
    with unit_of_work(db.engine) as session:
        scan = scans.start_scan(session, disaster_code=code, mode="enroll", actor=OPERATOR, policies=POLICIES)
        scan_id = scan.id
        session.info.clear()  # no executor yet: the event is amended before the chunks run
    with unit_of_work(db.engine) as session:
        disasters.amend_event(
            session, code=code, add_region_codes=["622927"], deferral_months=6, actor=OPERATOR
        )
    app.jobs.run_scan_inline(db.engine, scan_id, policies=POLICIES, chunk_size=1, max_attempts=3)
    with unit_of_work(db.engine) as session:
        view = scans.get_scan(session, scan_id)
    assert (view.status, view.event_version, view.accounts_enrolled) == ("succeeded", 1, 1)
    [deferral] = account_deferrals(db, "OLD")
    assert deferral.event_version == 1 and deferral.lines[0].new_due_date == date(2025, 10, 10)
    assert account_deferrals(db, "ADDED") == []
    later = run_scan(db, code, "enroll")
    assert (later.event_version, later.accounts_enrolled, later.deferrals_extended) == (2, 1, 1)
    assert account_deferrals(db, "OLD")[0].lines[0].new_due_date == date(2026, 1, 10)
