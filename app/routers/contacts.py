"""Contacts with the cardholder: recorded by agents and supervisors, audited, read back newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.common import AccountRef
from app.schemas.contacts import ContactCreate, ContactList, ContactRead
from app.services import contacts
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/accounts", tags=["contacts"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.post(
    "/{account_ref}/contacts",
    status_code=201,
    operation_id="contacts-create",
    responses=problem_responses(404),
)
def create_contact(
    body: ContactCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.CONTACT_RECORD))],
    account_ref: str = AccountRef,
) -> ContactRead:
    """Record a contact with the cardholder; a callback date brings the account back into the
    recorder's work queue on that business date."""
    view = contacts.record_contact(
        session,
        account_ref=account_ref,
        channel=body.channel.value,
        outcome=body.outcome.value,
        note=body.note,
        callback_on=body.callback_on,
        actor=principal,
    )
    return ContactRead.model_validate(view)


@router.get("/{account_ref}/contacts", operation_id="contacts-list", responses=problem_responses(404))
def list_contacts(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.CONTACT_READ))],
    account_ref: str = AccountRef,
) -> ContactList:
    """The account's contacts, newest first."""
    return ContactList(
        items=[
            ContactRead.model_validate(c) for c in contacts.list_contacts(session, account_ref=account_ref)
        ]
    )
