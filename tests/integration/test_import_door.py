"""Checks at the door (DOMAIN.md, "Data that breaks a rule's arithmetic"; issue "bad input never
stops the service"): the CSV import and the single-account upsert refuse, naming the line or the
field, a delinquency that starts after the business date, a due date more than 120 days after its
statement, and a reference the API cannot address."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.domain.records import MAX_DAYS_FROM_STATEMENT_TO_DUE
from app.persistence.models import CardAccount, Statement
from app.services import business_date, imports
from app.services.imports import ImportRejected
from app.services.principal import SYSTEM
from tests.api.test_foundation import ACCOUNT, STATEMENT, assert_problem
from tests.conftest import Database, bearer
from tests.integration.test_import import A1, HEADER, STATEMENT_HEADER, assert_rejected, count, lines, write

BUSINESS_DATE = date(2025, 8, 1)


@pytest.fixture
def pinned(db: Database) -> Database:
    with unit_of_work(db.engine) as s:
        business_date.pin(s, on=BUSINESS_DATE, actor=SYSTEM)
    return db


def with_ref(ref: str, row: str = A1) -> str:
    return ",".join([_csv(ref), *row.split(",")[1:]])


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


UNADDRESSABLE = {
    "slash": ("A/1", "account_ref must not contain '/', '?', '#' or '%'"),
    "question_mark": ("A?1", "account_ref must not contain"),
    "hash": ("A#1", "account_ref must not contain"),
    "percent": ("A%201", "account_ref must not contain"),
    "leading_space": (" A1", "account_ref must not begin or end with spaces"),
    "trailing_space": ("A1 ", "account_ref must not begin or end with spaces"),
    "ideographic_space": ("A1\u3000", "account_ref must not begin or end with spaces"),
    "control_character": ("A\x071", "account_ref has control characters"),
    "tab_inside": ("A\t1", "account_ref has control characters"),
    "dot": (".", "account_ref must not be '.' or '..'"),
    "dot_dot": ("..", "account_ref must not be '.' or '..'"),
}


@pytest.mark.parametrize(("ref", "fragment"), UNADDRESSABLE.values(), ids=UNADDRESSABLE.keys())
def test_an_account_ref_the_api_cannot_address_is_a_bad_line(
    pinned: Database, session: Session, tmp_path: Path, ref: str, fragment: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(
            session, "accounts", write(tmp_path, lines(HEADER, with_ref("OK1"), with_ref(ref)))
        )
    assert_rejected(caught.value, 3, fragment)
    assert count(session, CardAccount) == 0


def test_a_customer_ref_the_api_cannot_address_is_a_bad_line(
    pinned: Database, session: Session, tmp_path: Path
) -> None:
    row = A1.replace(",C1,", ",C/1,")
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, row)))
    assert_rejected(caught.value, 2, "customer_ref must not contain '/', '?', '#' or '%'")


def test_refs_with_other_punctuation_and_letters_are_addressable(
    pinned: Database, session: Session, tmp_path: Path, client: TestClient, keys: dict[str, str]
) -> None:
    refs = ["A-1.2_3", "卡 001", "A+B=C", "x..y"]
    imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, *(with_ref(r) for r in refs))))
    session.commit()
    for ref in refs:
        assert client.get(f"/v1/accounts/{ref}", headers=bearer(keys["agent"])).status_code == 200, ref


def test_a_delinquency_after_the_business_date_is_a_bad_line(
    pinned: Database, session: Session, tmp_path: Path
) -> None:
    on_the_day = A1.replace(",,2025-06-01", ",2025-08-01,2025-06-01")
    after = A1.replace("A1,", "A2,").replace(",,2025-06-01", ",2025-08-02,2025-06-01")
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, on_the_day, after)))
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (3, "delinquent_since 2025-08-02 is after the business date 2025-08-01")
    ]
    imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, on_the_day), "good.csv"))


def test_a_due_date_more_than_120_days_after_the_statement_is_a_bad_line(
    pinned: Database, session: Session, tmp_path: Path
) -> None:
    assert MAX_DAYS_FROM_STATEMENT_TO_DUE == 120
    imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1)))
    day_120 = "A1,2025-06-08,2025-10-06,10,1,0"
    day_121 = "A1,2025-07-08,2025-11-06,10,1,0"
    far = "A1,2025-05-08,9999-12-31,10,1,0"
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(
            session,
            "statements",
            write(tmp_path, lines(STATEMENT_HEADER, day_120, day_121, far), "statements.csv"),
        )
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (3, "due_date must be at most 120 days after statement_date, got 2025-11-06"),
        (4, "due_date must be at most 120 days after statement_date, got 9999-12-31"),
    ]
    assert count(session, Statement) == 0
    imports.import_file(session, "statements", write(tmp_path, lines(STATEMENT_HEADER, day_120), "good.csv"))
    assert count(session, Statement) == 1


# --- the same checks in PUT /v1/accounts/{account_ref} ------------------------------------------------


@pytest.mark.parametrize(
    ("path_ref", "fragment"),
    [
        ("A%3F1", "must not contain"),
        ("A%231", "must not contain"),
        ("A%251", "must not contain"),
        ("%20A1", "must not begin or end with spaces"),
        ("A1%20", "must not begin or end with spaces"),
    ],
)
def test_put_refuses_an_account_ref_the_api_cannot_address(
    pinned: Database, client: TestClient, keys: dict[str, str], path_ref: str, fragment: str
) -> None:
    body = assert_problem(
        client.put(f"/v1/accounts/{path_ref}", json=ACCOUNT, headers=bearer(keys["admin"])), 422
    )
    assert [e["field"] for e in body["errors"]] == ["path.account_ref"]
    assert fragment in body["errors"][0]["message"]


def test_put_refuses_a_customer_ref_the_api_cannot_address(
    pinned: Database, client: TestClient, keys: dict[str, str]
) -> None:
    response = client.put(
        "/v1/accounts/A1", json={**ACCOUNT, "customer_ref": "C/1"}, headers=bearer(keys["admin"])
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["body.customer_ref"]


def test_put_refuses_a_delinquency_after_the_business_date(
    pinned: Database, client: TestClient, keys: dict[str, str]
) -> None:
    admin = bearer(keys["admin"])
    late = client.put("/v1/accounts/A1", json={**ACCOUNT, "delinquent_since": "2025-08-02"}, headers=admin)
    body = assert_problem(late, 422)
    assert body["errors"] == [
        {
            "field": "body.delinquent_since",
            "message": "delinquent_since 2025-08-02 is after the business date 2025-08-01",
        }
    ]
    assert (
        client.put(
            "/v1/accounts/A1", json={**ACCOUNT, "delinquent_since": "2025-08-01"}, headers=admin
        ).status_code
        == 201
    )


def test_put_refuses_a_due_date_more_than_120_days_after_the_statement(
    pinned: Database, client: TestClient, keys: dict[str, str]
) -> None:
    statement = {**STATEMENT, "statement_date": "2025-07-08", "due_date": "2025-11-06"}
    response = client.put(
        "/v1/accounts/A1", json={**ACCOUNT, "statements": [statement]}, headers=bearer(keys["admin"])
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"].startswith("body.statements.0")
    assert "at most 120 days after statement_date" in body["errors"][0]["message"]
