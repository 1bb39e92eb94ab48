"""The hand-written set-based SQL baseline: the least a set-based SQL must do for the scan's result.

Three statements in one transaction: the deferral insert (the disaster selection, amounts computed
in SQL on integer fen: 0.05 % a day, 5 % late fee, half-up rounding, month-end clamping), the lines,
and the counts the scan reports (each reason code over the covered accounts, the accounts of the
whole portfolio for ``accounts_scanned`` and REGION_NOT_AFFECTED, the distinct customers). The
covered accounts are selected with the same region code ranges as the scan, which the region code
index serves. It writes no per-account results and keeps no audit trail: it is the floor the scan is
measured against, and a cross-check of its totals and reason counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from app.domain.regions import coverage_prefixes, coverage_ranges
from app.services.policies import PolicyStore

LINES_SQLITE = """
lines AS (
    SELECT s.account_id, s.statement_date, s.due_date, n.new_due,
           s.statement_balance_fen - s.paid_amount_fen AS deferred,
           CAST(julianday(n.new_due) - julianday(s.due_date) AS INTEGER) AS days,
           MAX(0, s.minimum_due_fen - s.paid_amount_fen) AS unpaid_minimum
    FROM statement s
    JOIN (
        SELECT id,
               CASE WHEN CAST(strftime('%d', date(due_date, :plus)) AS INTEGER)
                         < CAST(strftime('%d', due_date) AS INTEGER)
                    THEN date(due_date, 'start of month', :plus_one, '-1 day')
                    ELSE date(due_date, :plus) END AS new_due
        FROM statement
        WHERE due_date BETWEEN :relief_start AND :relief_end
    ) n ON n.id = s.id
    WHERE s.statement_balance_fen > s.paid_amount_fen
)"""
LINES_POSTGRESQL = """
lines AS (
    SELECT s.account_id, s.statement_date, s.due_date,
           (s.due_date + make_interval(months => :months))::date AS new_due,
           s.statement_balance_fen - s.paid_amount_fen AS deferred,
           (s.due_date + make_interval(months => :months))::date - s.due_date AS days,
           GREATEST(0, s.minimum_due_fen - s.paid_amount_fen) AS unpaid_minimum
    FROM statement s
    WHERE s.due_date BETWEEN :relief_start AND :relief_end
      AND s.statement_balance_fen > s.paid_amount_fen
)"""
# interest = round_half_up(deferred x 0.0005 x days) = (deferred x 5 x days + 5000) div 10000 in fen;
# late fee = round_half_up(unpaid minimum x 0.05) = (unpaid minimum x 5 + 50) div 100.
AMOUNTS = """
amounts AS (
    SELECT account_id, statement_date, due_date, new_due, deferred,
           (deferred * 5 * days + 5000) / 10000 AS interest,
           (unpaid_minimum * 5 + 50) / 100 AS fee
    FROM lines
)"""
INSERT_DEFERRALS = """
INSERT INTO deferral (account_id, disaster_id, scan_id, event_version, policy_version, deferred_fen,
                      interest_waived_fen, late_fees_waived_fen, created_at, updated_at)
SELECT a.id, :disaster_id, NULL, 1, :policy_version, SUM(m.deferred), SUM(m.interest), SUM(m.fee), :now, :now
FROM card_account a
JOIN amounts m ON m.account_id = a.id
WHERE ({covered})
  AND a.status IN ('active', 'delinquent')
  AND a.opened_on < :occurred_on
  AND (a.delinquent_since IS NULL OR a.delinquent_since >= :earliest_delinquency)
  AND (a.delinquent_since IS NULL OR a.delinquent_since <= :today)
  AND NOT EXISTS (SELECT 1 FROM deferral d WHERE d.account_id = a.id AND d.disaster_id = :disaster_id)
GROUP BY a.id
ON CONFLICT (account_id, disaster_id) DO NOTHING"""
INSERT_LINES = """
INSERT INTO deferral_line (deferral_id, statement_date, due_date, new_due_date, deferred_fen,
                           interest_waived_fen, late_fee_waived_fen)
SELECT d.id, m.statement_date, m.due_date, m.new_due, m.deferred, m.interest, m.fee
FROM deferral d
JOIN amounts m ON m.account_id = d.account_id
WHERE d.disaster_id = :disaster_id"""


# The reasons of DOMAIN.md for each covered account, counted; ALREADY_ENROLLED is judged before this
# transaction's insert (as the scan reads the deferrals before writing). DATA_INVALID: a delinquency
# after the business date (the generated due dates cannot leave the calendar).
REASON_COUNTS = """
SELECT
  COUNT(*) FILTER (WHERE NOT status_ok),
  COUNT(*) FILTER (WHERE NOT opened_ok),
  COUNT(*) FILTER (WHERE NOT delinquency_ok),
  COUNT(*) FILTER (WHERE NOT due_ok),
  COUNT(*) FILTER (WHERE enrolled),
  COUNT(*) FILTER (WHERE NOT data_ok),
  COUNT(*),
  (SELECT COUNT(*) FROM card_account)
FROM (
  SELECT a.status IN ('active', 'delinquent') AS status_ok,
         a.opened_on < :occurred_on AS opened_ok,
         (a.delinquent_since IS NULL OR a.delinquent_since >= :earliest_delinquency) AS delinquency_ok,
         EXISTS (SELECT 1 FROM statement s WHERE s.account_id = a.id
                   AND s.due_date BETWEEN :relief_start AND :relief_end
                   AND s.statement_balance_fen > s.paid_amount_fen) AS due_ok,
         EXISTS (SELECT 1 FROM deferral d WHERE d.account_id = a.id AND d.disaster_id = :disaster_id)
           AS enrolled,
         (a.delinquent_since IS NULL OR a.delinquent_since <= :today) AS data_ok
  FROM card_account a
  WHERE ({covered})
) judged"""
REASONS = (
    "ACCOUNT_STATUS_INELIGIBLE",
    "OPENED_AFTER_EVENT",
    "PRE_EVENT_DELINQUENCY",
    "NO_AMOUNT_DUE_IN_WINDOW",
    "ALREADY_ENROLLED",
    "DATA_INVALID",
)


def run_baseline(url: str, disaster_code: str) -> dict[str, Any]:
    """Enroll the event's eligible accounts with plain SQL; returns the totals as the CLI prints them."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    dialect = engine.dialect.name
    policy = PolicyStore.load().in_force(datetime.now(UTC).date())
    with engine.begin() as connection:
        event = connection.execute(
            text(
                "SELECT id, occurred_on, relief_start, relief_end, deferral_months"
                " FROM disaster_event WHERE code = :c"
            ),
            {"c": disaster_code},
        ).one()
        codes = [
            r[0]
            for r in connection.execute(
                text("SELECT region_code FROM disaster_region WHERE disaster_id = :d"), {"d": event.id}
            )
        ]
        changes = dict(policy.region_code_changes)
        for old, new in connection.execute(text("SELECT old_code, new_code FROM region_code_change")):
            changes[old] = new
        ranges = coverage_ranges(coverage_prefixes(codes, changes))
        covered = " OR ".join(
            f"(a.region_code >= :low{i}" + (f" AND a.region_code < :high{i})" if high else ")")
            for i, (_, high) in enumerate(ranges)
        )
        occurred = _date(event.occurred_on)
        params: dict[str, Any] = {
            "disaster_id": event.id,
            "policy_version": policy.version,
            # SQLite keeps timestamps as naive UTC text (as SQLAlchemy writes them).
            "now": datetime.now(UTC) if dialect == "postgresql" else datetime.now(UTC).replace(tzinfo=None),
            "occurred_on": occurred,
            "earliest_delinquency": occurred - timedelta(days=policy.disaster.max_days_past_due_at_event),
            "relief_start": _date(event.relief_start),
            "relief_end": _date(event.relief_end),
            "today": datetime.now(UTC).date(),
            **{f"low{i}": low for i, (low, _) in enumerate(ranges)},
            **{f"high{i}": high for i, (_, high) in enumerate(ranges) if high},
        }
        months = int(event.deferral_months)
        if dialect == "postgresql":
            lines, params["months"] = LINES_POSTGRESQL, months
        else:
            lines, params["plus"], params["plus_one"] = (
                LINES_SQLITE,
                f"+{months} months",
                f"+{months + 1} months",
            )
        cte = f"WITH {lines},{AMOUNTS}"
        counts = connection.execute(text(REASON_COUNTS.format(covered=covered)), params).one()
        connection.execute(text(cte + INSERT_DEFERRALS.format(covered=covered)), params)
        connection.execute(text(cte + INSERT_LINES), params)
        totals = connection.execute(
            text(
                "SELECT COUNT(*), COUNT(DISTINCT a.customer_ref), SUM(d.deferred_fen),"
                " SUM(d.interest_waived_fen), SUM(d.late_fees_waived_fen)"
                " FROM deferral d JOIN card_account a ON a.id = d.account_id"
                " WHERE d.disaster_id = :d"
            ),
            {"d": event.id},
        ).one()
    engine.dispose()

    def money(fen: Any) -> str:
        fen = int(fen or 0)
        return f"{fen // 100}.{fen % 100:02d}"

    reason_counts = dict(zip(REASONS, counts[:6], strict=True))
    reason_counts["REGION_NOT_AFFECTED"] = counts[7] - counts[6]
    return {
        "accounts_scanned": str(counts[7]),
        "reason_counts": {code: n for code, n in reason_counts.items() if n},
        "accounts_enrolled": str(totals[0]),
        "customers_eligible": str(totals[1]),
        "total_deferred_amount": money(totals[2]),
        "total_interest_waived": money(totals[3]),
        "total_late_fees_waived": money(totals[4]),
    }


def _date(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d").date()
    return value
