"""The hot endpoints (GET account, eligibility, quote) serialise their answer once and return it as a
Response: the bytes must be exactly what their response models (the OpenAPI schema) would give, and
those of the contract (field order, money as "1234.50", nulls, ISO dates, the words as given)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, field_serializer

from app.db import unit_of_work
from app.domain.installments import PlanStatus, build_schedule
from app.domain.model import Account, Statement
from app.routing import json_response, model_response
from app.schemas.accounts import AccountRead
from app.schemas.common import MoneyOut, ReadModel, UtcTimestamp
from app.schemas.eligibility import EligibilityRead
from app.schemas.fast import json_values
from app.schemas.plans import QuoteRead
from app.services.accounts import AccountView
from app.services.eligibility import EligibilityResult, ProgramResult, Reason, outcome_json
from app.services.plans import PlanQuote, _term_quote
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_statement

TODAY = date(2025, 7, 15)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def _view() -> AccountView:
    account = Account(
        account_ref="A-1",
        customer_ref="C-1",
        product_code="STD_CLASSIC",
        status="delinquent",
        region_code="622927",
        opened_on=date(2020, 1, 15),
        credit_limit=Decimal("50000.00"),
        principal_balance=Decimal("9500.10"),
        interest_balance=Decimal("0.00"),
        fee_balance=Decimal("-0.00"),
        delinquent_since=date(2025, 6, 1),
        last_payment_on=None,
    )
    statements = (
        Statement(date(2025, 6, 1), date(2025, 6, 26), Decimal("3000.00"), Decimal("300.00"), Decimal("0")),
        Statement(date(2025, 7, 1), date(2025, 7, 26), Decimal("10"), Decimal("1.5"), Decimal("20.00")),
    )
    arrangements = {
        "installment_plans": [
            {
                "id": 7,
                "status": "active",
                "term_months": 12,
                "start_on": date(2025, 7, 1),
                "principal_amount": Decimal("9500.10"),
                "total_amount": Decimal("9600.00"),
            }
        ],
        "fee_waivers": [
            {
                "id": 3,
                "status": "applied",
                "fee_amount": Decimal("12.30"),
                "interest_amount": Decimal("0.00"),
                "created_at": datetime(2025, 7, 2, 8, 30, tzinfo=UTC).isoformat(),
            }
        ],
        "deferrals": [
            {
                "disaster_code": "EV-1",
                "deferred_amount": Decimal("300.00"),
                "interest_waived": Decimal("4.56"),
                "late_fees_waived": Decimal("0.00"),
            }
        ],
        "credit_disputes": [
            {
                "id": 9,
                "status": "submitted",
                "bureau": "PBOC",
                "reason_code": "DISASTER_DEFERRAL",
                "due_by": date(2025, 8, 1),
                "overdue": False,
            }
        ],
    }
    return AccountView(account, statements, arrangements, date(2025, 7, 15))


ACCOUNT_ANSWER = (
    '{"account_ref":"A-1","customer_ref":"C-1","product_code":"STD_CLASSIC","status":"delinquent",'
    '"region_code":"622927","opened_on":"2020-01-15","credit_limit":"50000.00","principal_balance":"9500.10",'
    '"interest_balance":"0.00","fee_balance":"0.00","total_balance":"9500.10","delinquent_since":"2025-06-01",'
    '"last_payment_on":null,"days_past_due":44,"statements":[{"statement_date":"2025-06-01",'
    '"due_date":"2025-06-26","statement_balance":"3000.00","minimum_due":"300.00","paid_amount":"0.00",'
    '"unpaid_amount":"3000.00"},{"statement_date":"2025-07-01","due_date":"2025-07-26",'
    '"statement_balance":"10.00","minimum_due":"1.50","paid_amount":"20.00","unpaid_amount":"0.00"}],'
    '"arrangements":{"installment_plans":[{"id":7,"status":"active","term_months":12,'
    '"start_on":"2025-07-01","principal_amount":"9500.10","total_amount":"9600.00"}],'
    '"fee_waivers":[{"id":3,"status":"applied","fee_amount":"12.30","interest_amount":"0.00",'
    '"created_at":"2025-07-02T08:30:00+00:00"}],"deferrals":[{"disaster_code":"EV-1",'
    '"deferred_amount":"300.00","interest_waived":"4.56","late_fees_waived":"0.00"}],'
    '"credit_disputes":[{"id":9,"status":"submitted","bureau":"PBOC","reason_code":"DISASTER_DEFERRAL",'
    '"due_by":"2025-08-01","overdue":false}]}}'
)


def test_the_account_answer_is_the_account_model_serialised() -> None:
    view = _view()
    assert model_response(AccountRead, view).body == ACCOUNT_ANSWER.encode()
    assert AccountRead.model_validate(view).model_dump_json() == ACCOUNT_ANSWER


def test_the_account_view_reads_as_the_account() -> None:
    view = _view()
    assert (view.account_ref, view.total_balance, view.days_past_due) == ("A-1", Decimal("9500.10"), 44)
    with pytest.raises(AttributeError):
        view.no_such_field  # noqa: B018


def test_the_quote_answer_is_the_quote_model_serialised() -> None:
    schedules = [
        build_schedule(Decimal("10000.01"), term, TODAY, monthly_fee_rate=Decimal("0.006"))
        for term in (1, 6, 12)
    ] + [build_schedule(Decimal("999.99"), 5, date(2025, 1, 31), annual_interest_rate=Decimal("0.12"))]
    quote = PlanQuote(
        account_ref="A-1",
        policy_version="2025.1",
        currency="CNY",
        restructured_principal=Decimal("10000.01"),
        fees_waived=Decimal("0.00"),
        recommended_term_months=None,
        quotes=[_term_quote(schedule) for schedule in schedules],
    )
    expected = QuoteRead.model_validate(quote).model_dump_json().encode()
    assert json_response(json_values(QuoteRead)(quote)).body == expected


ELIGIBILITY_ANSWER = (
    '{"decision_id":12,"policy_version":"2025.1","programs":[{"program":"installment_plan","eligible":true,'
    '"reasons":[],"offer":{"currency":"CNY","allowed_terms":[1,2],"quote":null}},{"program":"fee_waiver",'
    '"eligible":false,"reasons":[{"code":"ACCOUNT_STATUS_INELIGIBLE","message":"账户状态不符合\\n条件"}],'
    '"offer":null},{"program":"disaster_deferral","eligible":true,"reasons":[],"offer":{"lines":'
    '[{"statement_date":"2025-07-01","deferred_amount":"300.00"}],"eligible":true}}]}'
)


def test_the_eligibility_answer_is_the_eligibility_model_serialised() -> None:
    programs = [
        ProgramResult(
            "installment_plan", True, [], {"currency": "CNY", "allowed_terms": [1, 2], "quote": None}
        ),
        ProgramResult(
            "fee_waiver", False, [Reason("ACCOUNT_STATUS_INELIGIBLE", "账户状态不符合\n条件")], None
        ),
        ProgramResult(
            "disaster_deferral",
            True,
            [],
            {"lines": [{"statement_date": "2025-07-01", "deferred_amount": "300.00"}], "eligible": True},
        ),
    ]
    result = EligibilityResult(decision_id=12, policy_version="2025.1", programs=programs)
    assert model_response(EligibilityRead, result).body == ELIGIBILITY_ANSWER.encode()
    assert EligibilityRead.model_validate(result).model_dump_json() == ELIGIBILITY_ANSWER
    # The stored outcome holds the same programs as the answer, with the language of their words.
    stored = outcome_json(programs, lang="zh")
    assert stored == {"lang": "zh", "programs": json.loads(ELIGIBILITY_ANSWER)["programs"]}


def test_get_account_answers_the_model_bytes_with_json_headers(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", fee_balance="0.00")
        make_statement(s, account, statement_date=date(2025, 6, 1), due_date=date(2025, 6, 26))
        make_statement(s, account, statement_date=date(2025, 7, 1), paid_amount="3000.00")
    response = client.get("/v1/accounts/A-1", headers=bearer(keys["channel"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    body = response.json()
    assert [s["unpaid_amount"] for s in body["statements"]] == ["3000.00", "0.00"]
    assert response.content == AccountRead.model_validate(body).model_dump_json().encode()


def test_the_fast_path_reads_dicts_and_objects_alike_and_refuses_what_it_cannot_serialise() -> None:
    class Line(BaseModel):
        amount: MoneyOut
        note: str | None
        paid: MoneyOut | None

    class Lines(BaseModel):
        lines: list[Line]

    class Either(BaseModel):
        amount: int | str

    values = json_values(Lines)
    source = {"lines": [{"amount": Decimal("1.5"), "note": None, "paid": None}]}
    assert values(source) == {"lines": [{"amount": "1.50", "note": None, "paid": None}]}
    assert values(
        SimpleNamespace(lines=[SimpleNamespace(amount=Decimal("2"), note="x", paid=Decimal("0"))])
    ) == {"lines": [{"amount": "2.00", "note": "x", "paid": "0.00"}]}
    with pytest.raises(TypeError, match="unions"):
        json_values(Either)


class _Part(ReadModel):
    number: int
    amount: MoneyOut


class _Everything(ReadModel):
    """One field of each kind ``json_values`` writes."""

    name: str
    count: int
    flag: bool
    kind: Literal["a", "b"]
    status: PlanStatus
    on: date
    at: UtcTimestamp
    maybe_at: UtcTimestamp | None
    amount: MoneyOut
    maybe_amount: MoneyOut | None
    rate: Decimal
    words: list[str]
    extra: dict[str, Any] | None
    part: _Part
    maybe_part: _Part | None
    parts: list[_Part]
    nested: list[list[_Part]]


@dataclass
class _Source:
    name: str = '名字 "quoted"'
    count: int = -3
    flag: bool = False
    kind: str = "b"
    status: Any = PlanStatus.ACTIVE
    on: date = date(2025, 2, 28)
    at: datetime = datetime(2025, 7, 15, 12, 0, 0, 123456)  # naive, as SQLite gives it back
    maybe_at: datetime | None = None
    amount: Decimal = Decimal("-0.00")
    maybe_amount: Decimal | None = Decimal("1234.50")
    rate: Decimal = Decimal("0.0060")
    words: tuple[str, ...] = ("x", "y")
    extra: dict[str, Any] | None = field(default_factory=lambda: {"a": [1, "2.00", None]})
    part: Any = field(default_factory=lambda: SimpleNamespace(number=1, amount=Decimal("10")))
    maybe_part: Any = None
    parts: Any = field(
        default_factory=lambda: [SimpleNamespace(number=n, amount=Decimal(n) / 100) for n in (1, 250)]
    )
    nested: Any = field(default_factory=lambda: [[], [SimpleNamespace(number=2, amount=Decimal("0"))]])


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"maybe_at": datetime(2025, 1, 1, tzinfo=UTC), "maybe_amount": None, "extra": None},
        {"maybe_part": SimpleNamespace(number=9, amount=Decimal("99999999.99")), "status": "broken"},
    ],
    ids=["defaults", "optionals-flipped", "optional-part"],
)
def test_json_values_are_the_model_bytes_for_every_kind_of_field(changes: dict[str, Any]) -> None:
    source = _Source(**changes)
    expected = _Everything.model_validate(source).model_dump_json().encode()
    assert json_response(json_values(_Everything)(source)).body == expected


def test_json_values_refuse_a_field_they_cannot_write_as_the_model_does() -> None:
    class Aliased(ReadModel):
        value: int = Field(alias="other")

    class Either(ReadModel):
        value: int | str

    class Serialised(ReadModel):
        value: int

        @field_serializer("value")
        def _double(self, value: int) -> int:
            return value * 2

    for model in (Aliased, Either, Serialised):
        with pytest.raises(TypeError):
            json_values(model)


def test_post_quote_answers_the_model_bytes(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", principal_balance="12345.67", interest_balance="89.01")
    response = client.post(
        "/v1/quotes/installment-plan",
        json={"account_ref": "A-1", "monthly_income": "5000.00"},
        headers=bearer(keys["channel"]),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["quotes"]
    assert response.content == QuoteRead.model_validate(response.json()).model_dump_json().encode()
