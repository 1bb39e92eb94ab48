"""Domain values from stored rows: the account snapshot and its statements as the rules take them
(app.domain.model), from ORM rows or from the values of Core selects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.model import Account, Statement
from app.persistence.models import CardAccount
from app.persistence.models import Statement as StatementRow


def to_domain_account(row: CardAccount) -> Account:
    return Account(
        account_ref=row.account_ref,
        customer_ref=row.customer_ref,
        product_code=row.product_code,
        status=row.status,
        region_code=row.region_code,
        opened_on=row.opened_on,
        credit_limit=row.credit_limit,
        principal_balance=row.principal_balance,
        interest_balance=row.interest_balance,
        fee_balance=row.fee_balance,
        delinquent_since=row.delinquent_since,
        last_payment_on=row.last_payment_on,
    )


def to_domain_statement(row: StatementRow) -> Statement:
    return Statement(
        statement_date=row.statement_date,
        due_date=row.due_date,
        statement_balance=row.statement_balance,
        minimum_due=row.minimum_due,
        paid_amount=row.paid_amount,
    )


# Columns in the order of the domain's fields, for Core selects that skip the ORM's objects (the
# hot read paths: GET /v1/accounts/{ref}, eligibility).
DOMAIN_ACCOUNT_COLUMNS: tuple[Any, ...] = (
    CardAccount.account_ref,
    CardAccount.customer_ref,
    CardAccount.product_code,
    CardAccount.status,
    CardAccount.region_code,
    CardAccount.opened_on,
    CardAccount.credit_limit,
    CardAccount.principal_balance,
    CardAccount.interest_balance,
    CardAccount.fee_balance,
    CardAccount.delinquent_since,
    CardAccount.last_payment_on,
)
DOMAIN_STATEMENT_COLUMNS: tuple[Any, ...] = (
    StatementRow.statement_date,
    StatementRow.due_date,
    StatementRow.statement_balance,
    StatementRow.minimum_due,
    StatementRow.paid_amount,
)


def account_from_values(values: Sequence[Any]) -> Account:
    """The domain account from the values of DOMAIN_ACCOUNT_COLUMNS, in that order."""
    return Account(*values)


def statement_from_values(values: Sequence[Any]) -> Statement:
    """The domain statement from the values of DOMAIN_STATEMENT_COLUMNS, in that order."""
    return Statement(*values)
