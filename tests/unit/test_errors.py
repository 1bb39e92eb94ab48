"""Every domain error is a DomainError, so the HTTP layer maps them in one place."""

import pytest

from app.domain import errors


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(errors.InvalidMoney, id="invalid_money"),
        pytest.param(errors.InvalidRate, id="invalid_rate"),
        pytest.param(errors.InvalidDate, id="invalid_date"),
        pytest.param(errors.InvalidRegionCode, id="invalid_region_code"),
        pytest.param(errors.InvalidTerm, id="invalid_term"),
        pytest.param(errors.InvalidTransition, id="invalid_transition"),
        pytest.param(errors.InvalidWaiver, id="invalid_waiver"),
        pytest.param(errors.InvalidEvent, id="invalid_event"),
        pytest.param(errors.PolicyError, id="policy_error"),
    ],
)
def test_every_error_is_a_domain_error(error: type[Exception]) -> None:
    assert issubclass(error, errors.DomainError)
    assert error.__doc__


def test_money_module_reexports_invalid_money() -> None:
    from app.domain.money import InvalidMoney

    assert InvalidMoney is errors.InvalidMoney
