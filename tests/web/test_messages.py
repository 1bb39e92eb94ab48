"""The UI's message catalog covers every code the services and the domain raise, in both languages,
and an error without a code never puts the API's English words on a Chinese page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.domain.errors import InvalidTerm
from app.problems import problem_for
from app.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    RefusalReason,
    Refused,
    ServiceError,
    Unavailable,
)
from app.web.common import BadForm
from app.web.errors import describe
from app.web.forms import explain
from app.web.messages import MESSAGES, message

APP = Path(__file__).resolve().parents[2] / "app"
RAISED = re.compile(
    r'code="([a-z_]+\.[a-z_]+)"|FieldError\([^()]*?"[^"]*",\s*(?:f?"[^"]*"|[^,()]+),\s*"([a-z_]+\.[a-z_]+)"',
    re.S,
)


def test_every_code_raised_has_words_in_chinese_and_english() -> None:
    codes: set[str] = set()
    for path in [*APP.joinpath("services").glob("*.py"), *APP.joinpath("domain").glob("*.py")]:
        for first, second in RAISED.findall(path.read_text(encoding="utf-8")):
            codes.add(first or second)
    assert codes, "no coded error found"
    missing = sorted(code for code in codes if code not in MESSAGES)
    assert not missing, missing
    for code, (zh, en) in MESSAGES.items():
        assert zh and en and zh != en, code


def test_an_error_without_a_code_keeps_its_english_detail_off_a_chinese_page() -> None:
    summary, _, _ = explain(Conflict("Installment plan 3 is cancelled."), "zh")
    assert "Installment" not in summary and summary


def test_field_errors_are_translated_with_their_parameters() -> None:
    exc = InvalidInput(
        "bad",
        [
            FieldError(
                "body.callback_on",
                "x",
                "contact.callback_range",
                {"first": "2026-01-01", "last": "2026-03-31"},
            )
        ],
    )
    _, fields, _ = explain(exc, "zh")
    assert fields == {
        "callback_on": message("contact.callback_range", "zh", {"first": "2026-01-01", "last": "2026-03-31"})
    }


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(NotFound("No account X."), id="not-found"),
        pytest.param(Conflict("Plan 3 is cancelled."), id="conflict"),
        pytest.param(Forbidden("Not yours."), id="forbidden"),
        pytest.param(Unavailable("Later."), id="unavailable"),
        pytest.param(InvalidInput("Bad term.", [FieldError("term_months", "1 to 600")]), id="invalid-input"),
        pytest.param(Refused("No.", [RefusalReason("TERM_TOO_LONG", "Too long.")]), id="refused"),
        pytest.param(InvalidTerm("A term of 0 months."), id="domain-error"),
    ],
)
def test_an_error_page_has_the_status_of_the_api_s_problem_for_the_same_error(error: Exception) -> None:
    problem = problem_for(error)

    assert problem is not None
    assert describe(error, "en").status == problem[0]


def test_an_unreadable_form_value_is_invalid_input_and_anything_else_an_internal_error() -> None:
    assert describe(BadForm("Not a number."), "zh").status == 422
    assert describe(ServiceError("Something else."), "zh").status == 422
    assert describe(RuntimeError("boom"), "zh").status == 500
