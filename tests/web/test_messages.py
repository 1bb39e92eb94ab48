"""The UI's message catalog covers every code the services and the domain raise, in both languages,
and an error without a code never puts the API's English words on a Chinese page."""

from __future__ import annotations

import re
from pathlib import Path

from app.services.errors import Conflict, InvalidInput
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
    from app.services.errors import FieldError

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
