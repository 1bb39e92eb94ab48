"""The transactional outbox: every change of relief state commits its event with it, the data is the
resource as its GET answers it, ``seq`` increases per subject, and a rolled-back change leaves none."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import unit_of_work
from app.domain.events import EventType
from app.persistence.models import EventSubjectSeq, FeeWaiver, InstallmentPlan, OutboxEvent
from app.services import disasters, events, plans, waivers
from app.services.principal import SYSTEM
from tests.api.test_scans import finished_scan, setup_smoke
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_key

TODAY = date(2025, 7, 1)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def outbox(db: Database, *types: EventType, subject: str | None = None) -> list[OutboxEvent]:
    with unit_of_work(db.engine) as s:
        return events.events_of(s, subject=subject, types=[t.value for t in types])


def only(db: Database, type_: EventType, subject: str | None = None) -> OutboxEvent:
    rows = outbox(db, type_, subject=subject)
    assert len(rows) == 1, [r.type for r in rows]
    return rows[0]


def count(db: Database) -> int:
    with unit_of_work(db.engine) as s:
        return int(s.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


def get(client: TestClient, keys: dict[str, str], path: str, role: str = "supervisor") -> Any:
    response = client.get(path, headers=bearer(keys[role]))
    assert response.status_code == 200, response.text
    return response.json()


def test_plan_created_cancelled_and_broken_carry_the_plan_as_get_answers_it(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        make_account(s, "A-2")
    body = {"term_months": 6, "reason": "illness", "commitment_accepted": True}
    one = client.post("/v1/accounts/A-1/installment-plans", json=body, headers=bearer(keys["agent"])).json()
    two = client.post("/v1/accounts/A-2/installment-plans", json=body, headers=bearer(keys["agent"])).json()
    created = only(db, EventType.PLAN_CREATED, "A-1")
    assert created.data == get(client, keys, f"/v1/installment-plans/{one['id']}")
    assert (
        client.post(
            f"/v1/installment-plans/{one['id']}/cancel", json={"note": "n"}, headers=bearer(keys["agent"])
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/v1/installment-plans/{two['id']}/break", json={"note": "n"}, headers=bearer(keys["agent"])
        ).status_code
        == 200
    )
    cancelled = only(db, EventType.PLAN_CANCELLED, "A-1")
    broken = only(db, EventType.PLAN_BROKEN, "A-2")
    assert cancelled.data == get(client, keys, f"/v1/installment-plans/{one['id']}")
    assert broken.data["status"] == "broken"
    assert (created.seq, cancelled.seq) == (1, 2)
    # A refused change (the plan is no longer active) writes no event.
    before = count(db)
    again = client.post(
        f"/v1/installment-plans/{one['id']}/cancel", json={"note": "n"}, headers=bearer(keys["agent"])
    )
    assert again.status_code == 409 and count(db) == before


def test_waiver_events_follow_applied_pending_rejected_approved_and_reversed(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="9000.00")
        second = make_key(s, "supervisor", "second")

    def waive(token: str, amount: str) -> dict[str, Any]:
        body = {"fee_amount": amount, "reason": "disaster"}
        response = client.post("/v1/accounts/A-1/fee-waivers", json=body, headers=bearer(token))
        assert response.status_code == 201, response.text
        return dict(response.json())

    applied = waive(keys["agent"], "100.00")
    assert only(db, EventType.WAIVER_APPLIED).data == get(client, keys, f"/v1/fee-waivers/{applied['id']}")
    pending = waive(keys["agent"], "800.00")
    to_reject = waive(keys["agent"], "700.00")
    assert len(outbox(db, EventType.WAIVER_PENDING_APPROVAL)) == 2
    approve = client.post(
        f"/v1/approvals/{pending['approval_id']}/approve", json={}, headers=bearer(keys["supervisor"])
    )
    reject = client.post(f"/v1/approvals/{to_reject['approval_id']}/reject", json={}, headers=bearer(second))
    reverse = client.post(
        f"/v1/fee-waivers/{applied['id']}/reverse", json={"note": "error"}, headers=bearer(keys["supervisor"])
    )
    assert (approve.status_code, reject.status_code, reverse.status_code) == (200, 200, 200)
    applied_events = outbox(db, EventType.WAIVER_APPLIED)
    assert [e.data["id"] for e in applied_events] == [applied["id"], pending["id"]]
    assert applied_events[1].data == get(client, keys, f"/v1/fee-waivers/{pending['id']}")
    assert applied_events[1].data["approval_status"] == "approved"
    assert only(db, EventType.WAIVER_REJECTED).data == get(client, keys, f"/v1/fee-waivers/{to_reject['id']}")
    assert only(db, EventType.WAIVER_REVERSED).data == get(client, keys, f"/v1/fee-waivers/{applied['id']}")
    seqs = [e.seq for e in outbox(db, subject="A-1")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_disaster_scan_deferral_and_dispute_events(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    setup_smoke(client, keys, db)
    declared = only(db, EventType.DISASTER_DECLARED, "SMK-FLOOD")
    assert declared.data["code"] == "SMK-FLOOD" and declared.data["version"] == 1
    scan = finished_scan(client, keys)
    finished = only(db, EventType.SCAN_FINISHED, "SMK-FLOOD")
    assert finished.data == get(client, keys, f"/v1/scans/{scan['id']}", "auditor")
    granted = outbox(db, EventType.DEFERRAL_GRANTED)
    assert len(granted) == scan["accounts_enrolled"] == 2
    for event in granted:
        assert event.data == get(client, keys, f"/v1/accounts/{event.subject}/deferrals")["items"][0]
    # Amend (longer deferral), enroll again: the deferral is extended, with its event.
    amend = client.patch(
        "/v1/disasters/SMK-FLOOD", json={"deferral_months": 6}, headers=bearer(keys["supervisor"])
    )
    assert amend.status_code == 200
    assert only(db, EventType.DISASTER_AMENDED).data == amend.json()
    finished_scan(client, keys)
    extended = only(db, EventType.DEFERRAL_EXTENDED, "SMK-1")
    assert extended.data["lines"] != outbox(db, EventType.DEFERRAL_GRANTED, subject="SMK-1")[0].data["lines"]
    assert extended.data == get(client, keys, "/v1/accounts/SMK-1/deferrals")["items"][0]
    assert [e.seq for e in outbox(db, subject="SMK-1")] == [1, 2]
    # Disputes: bulk, single, status change.
    bulk = client.post("/v1/disasters/SMK-FLOOD/credit-disputes", json={}, headers=bearer(keys["supervisor"]))
    assert bulk.status_code == 201
    recorded = outbox(db, EventType.DISPUTE_RECORDED)
    assert len(recorded) == bulk.json()["created"]
    single = client.post(
        "/v1/credit-disputes",
        json={
            "account_ref": "SMK-4",
            "reason_code": "X",
            "period_start": "2025-06-01",
            "period_end": "2025-06-30",
        },
        headers=bearer(keys["agent"]),
    )
    assert single.status_code == 201, single.text
    assert outbox(db, EventType.DISPUTE_RECORDED, subject="SMK-4")[0].data == single.json()
    moved = client.post(
        f"/v1/credit-disputes/{single.json()['id']}/transitions",
        json={"status": "under_review"},
        headers=bearer(keys["supervisor"]),
    )
    assert moved.status_code == 200, moved.text
    assert only(db, EventType.DISPUTE_STATUS_CHANGED).data == moved.json()
    close = client.post("/v1/disasters/SMK-FLOOD/close", headers=bearer(keys["supervisor"]))
    assert close.status_code == 200
    assert only(db, EventType.DISASTER_CLOSED).data == close.json()
    assert [e.seq for e in outbox(db, subject="SMK-FLOOD")] == list(range(1, 6))


@pytest.mark.parametrize("rounds", [1, 40], ids=["few rows", "rows enough for COPY"])
def test_a_batch_numbers_each_subject_in_the_order_given_after_its_earlier_events(
    db: Database, rounds: int
) -> None:
    granted, extended = EventType.DEFERRAL_GRANTED.value, EventType.DEFERRAL_EXTENDED.value
    with unit_of_work(db.engine) as s:
        events.emit(s, type=EventType.PLAN_CREATED, subject="B-1", data={"n": 0})
    order = ["B-1", "A-1", "B-1", "C-1", "A-1", "B-1"] * rounds
    batch = events.EventBatch(granted, order, iter(f'{{"n":{n}}}' for n in range(1, len(order) + 1)))
    drafts = [events.EventDraft(extended, "C-1", {"n": -1}), events.EventDraft(extended, "D-1", {"n": -2})]
    with unit_of_work(db.engine) as s:
        ids = events.write_events(s, batch, drafts)
    rows = outbox(db, EventType.DEFERRAL_GRANTED, EventType.DEFERRAL_EXTENDED)
    assert [r.event_id for r in rows] == ids and len(set(ids)) == len(ids)  # written in the order given
    seen: dict[str, int] = {"B-1": 1}
    expected = []
    for n, subject in [*enumerate(order, start=1), (-1, "C-1"), (-2, "D-1")]:
        seen[subject] = seen.get(subject, 0) + 1
        expected.append((subject, seen[subject], n))
    assert [(r.subject, r.seq, r.data["n"]) for r in rows] == expected
    with unit_of_work(db.engine) as s:
        counters = dict(s.execute(select(EventSubjectSeq.subject, EventSubjectSeq.seq)).all())
    assert counters == seen
    assert rows[0].data == {"n": 1} and isinstance(rows[0].data, dict)  # the text stored as JSON


@pytest.mark.parametrize("first", ["chunk", "plan"])
def test_seq_follows_commit_order_when_a_chunk_and_a_plan_write_events_of_one_account_at_once(
    db: Database, first: str
) -> None:
    """The second writer of a subject waits on its counter row until the first commits, so it takes
    the next number: a scan chunk's events (one statement for many subjects) and a plan's event."""
    if db.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from app.db import session_factory

    granted = EventType.DEFERRAL_GRANTED.value
    chunk_drafts = [events.EventDraft(granted, subject, events.RawJson("{}")) for subject in ("A-1", "A-2")]

    def chunk(s: Any) -> None:
        events.write_events(s, chunk_drafts)

    def plan(s: Any) -> None:
        events.emit(s, type=EventType.PLAN_CREATED, subject="A-2", data={})

    writers = {"chunk": chunk, "plan": plan}
    second_name = "plan" if first == "chunk" else "chunk"
    holder = session_factory(db.engine)()
    writers[first](holder)  # holds the counter rows until it commits
    done = threading.Event()
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with unit_of_work(db.engine) as s:
                writers[second_name](s)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        assert not done.wait(0.5)  # waiting for the first writer's commit
        holder.commit()
    finally:
        holder.close()
    thread.join(10)
    assert done.is_set() and not failures, failures
    rows = outbox(db, subject="A-2")
    expected = [EventType.DEFERRAL_GRANTED.value, EventType.PLAN_CREATED.value]
    assert [r.type for r in rows] == (expected if first == "chunk" else expected[::-1])
    assert [r.seq for r in rows] == [1, 2]


def test_every_contract_type_is_known() -> None:
    contract = {
        "plan.created", "plan.cancelled", "plan.broken", "plan.completed", "waiver.applied",
        "waiver.pending_approval", "waiver.rejected", "waiver.reversed", "deferral.granted",
        "deferral.extended", "dispute.recorded", "dispute.status_changed", "disaster.declared",
        "disaster.amended", "disaster.closed", "scan.finished",
    }  # fmt: skip
    assert {t.value for t in EventType} == {f"hardship.{name}" for name in contract}


@pytest.mark.parametrize(
    "change",
    ["plan.created", "plan.cancelled", "plan.completed", "waiver.applied", "waiver.pending_approval",
     "waiver.rejected", "waiver.reversed", "disaster.declared", "disaster.amended", "disaster.closed"],
)  # fmt: skip
def test_a_rolled_back_change_leaves_no_event(db: Database, change: str) -> None:
    from app.services.policies import PolicyStore

    policies = PolicyStore.load(None)
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="9000.00")
        make_account(s, "W-1", fee_balance="9000.00")
        plan = plans.create_plan(
            s, account_ref="A-1", term_months=6, hardship_reason="illness", actor=SYSTEM, policies=policies,
            lang="en", channel="agent", recording_ref=None, commitment_accepted=True,
        )  # fmt: skip
        disasters.declare_event(
            s, code="EV", name="n", kind="flood", occurred_on=date(2025, 6, 1), relief_start=date(2025, 6, 2),
            relief_end=date(2025, 8, 1), deferral_months=3, region_codes=["653100"], actor=SYSTEM,
        )  # fmt: skip
        waiver = waivers.request_waiver(
            s, account_ref="W-1", fee_amount=money_("10.00"), interest_amount=money_("0.00"),
            hardship_reason="disaster", note=None, actor=agent("supervisor"), policies=policies,
                lang="en",
        )  # fmt: skip
        pending = FeeWaiver(**{c: getattr(waiver, c) for c in ("account_id", "fee_amount", "interest_amount",
            "total_amount", "hardship_reason", "note", "policy_version", "requested_by", "requested_role",
            "created_at")}, status="pending_approval")  # fmt: skip
        s.add(pending)
    before = count(db)
    from app.db import session_factory

    session = session_factory(db.engine)()
    try:
        if change == "plan.created":
            make_account(session, "A-2")
            plans.create_plan(
                session, account_ref="A-2", term_months=6, hardship_reason="illness", actor=SYSTEM,
                policies=policies, lang="en", channel="agent", recording_ref=None, commitment_accepted=True,
            )  # fmt: skip
        elif change == "plan.cancelled":
            plans.cancel_plan(session, plan_id=plan.id, actor=SYSTEM, note="n")
        elif change == "plan.completed":
            plan_row = session.get(InstallmentPlan, plan.id)
            assert plan_row is not None
            plan_row.status = "completed"
            session.flush()
            plans.emit_plan_event(session, plan_row, EventType.PLAN_COMPLETED)
        elif change == "waiver.applied":
            waivers.request_waiver(
                session, account_ref="W-1", fee_amount=money_("10.00"), interest_amount=money_("0.00"),
                hardship_reason="disaster", note=None, actor=agent("supervisor"), policies=policies,
                lang="en",
            )  # fmt: skip
        elif change == "waiver.pending_approval":
            waivers.request_waiver(
                session, account_ref="W-1", fee_amount=money_("8000.00"), interest_amount=money_("0.00"),
                hardship_reason="disaster", note=None, actor=agent(), policies=policies, lang="en",
            )  # fmt: skip
        elif change == "waiver.rejected":
            waivers.reject_pending_waiver(session, waiver_id=pending.id, actor=SYSTEM, note=None)
        elif change == "waiver.reversed":
            waivers.reverse_waiver(session, waiver_id=waiver.id, actor=SYSTEM, note=None)
        elif change == "disaster.declared":
            disasters.declare_event(
                session, code="EV2", name="n", kind="flood", occurred_on=date(2025, 6, 1),
                relief_start=date(2025, 6, 2), relief_end=date(2025, 8, 1), deferral_months=3,
                region_codes=["653100"], actor=SYSTEM,
            )  # fmt: skip
        elif change == "disaster.amended":
            disasters.amend_event(session, code="EV", deferral_months=6, actor=SYSTEM)
        elif change == "disaster.closed":
            disasters.close_event(session, code="EV", actor=SYSTEM)
        inside = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == f"hardship.{change}")
        )
        assert inside and inside >= 1  # the event is there with its change
    finally:
        session.rollback()
        session.close()
    assert count(db) == before
    with unit_of_work(db.engine) as s:
        seqs = dict(s.execute(select(EventSubjectSeq.subject, EventSubjectSeq.seq)).all())
    assert seqs == {"A-1": 1, "W-1": 1, "EV": 1}  # the counters rolled back with the events


def money_(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def agent(role: str = "agent") -> Any:
    from app.domain.access import Role
    from app.services.principal import Principal

    return Principal(kind="key", id=99, name=f"{role}-99", role=Role(role))
