"""Policy files: the default loads with the DOMAIN.md defaults; broken files are refused by key."""

import dataclasses
import pickle
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.errors import PolicyError
from app.domain.policy import (
    FeeWaiverPolicy,
    InstallmentPolicy,
    Policy,
    parse_policy,
    select_policy,
)
from app.domain.reasons import ReasonCode

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "app" / "policies" / "v1.toml"
DEFAULT_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def default_policy() -> Policy:
    return parse_policy(DEFAULT_TEXT)


def edited(old: str, new: str) -> str:
    """The default policy text with one exact passage replaced (the passage must exist)."""
    assert old in DEFAULT_TEXT, old
    return DEFAULT_TEXT.replace(old, new, 1)


def without_block(header: str) -> str:
    """The default policy text without one table (its header and its keys)."""
    start = DEFAULT_TEXT.index(header)
    end = DEFAULT_TEXT.find("\n[", start + len(header))
    return DEFAULT_TEXT[:start] + (DEFAULT_TEXT[end + 1 :] if end != -1 else "")


def test_the_default_policy_loads() -> None:
    policy = default_policy()
    assert policy.version == "2025.1"
    assert policy.effective_on == date(2020, 1, 1)
    assert policy.currency == "CNY"


def test_the_default_policy_has_the_domain_defaults() -> None:
    policy = default_policy()
    assert policy.installment == InstallmentPolicy()
    assert policy.fee_waiver == FeeWaiverPolicy()
    assert policy.disaster.max_days_past_due_at_event == 30
    assert policy.disaster.daily_interest_rate == Decimal("0.0005")
    assert policy.disaster.late_fee_rate == Decimal("0.05")
    assert policy.disputes.bureau == "PBOC_CRC"
    assert policy.disputes.reason_code == "DISASTER_RELIEF"
    assert policy.disputes.due_days == 20
    assert policy.installment.max_term_months == 60
    assert policy.fee_waiver.agent_limit == Decimal("500.00")
    assert policy.fee_waiver.supervisor_limit == Decimal("5000.00")


def test_the_default_policy_has_the_products() -> None:
    products = default_policy().products
    assert {"STD_CLASSIC", "STD_GOLD", "PLATINUM"} <= set(products)
    assert all(isinstance(product.annual_interest_rate, Decimal) for product in products.values())
    assert default_policy().product_terms("STD_CLASSIC") == products["STD_CLASSIC"]
    assert default_policy().product_terms("UNKNOWN") is None


def test_the_default_policy_maps_minhe_to_its_current_code() -> None:
    changes = default_policy().region_code_changes
    assert changes["632122"] == "630222"
    assert changes["632123"] == "630202"


def _walk(value: object) -> list[object]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            value,
            *(item for field in dataclasses.fields(value) for item in _walk(getattr(value, field.name))),
        ]
    if isinstance(value, Mapping):
        return [value, *(item for entry in value.values() for item in _walk(entry))]
    if isinstance(value, tuple):
        return [value, *(item for entry in value for item in _walk(entry))]
    return [value]


def test_the_default_policy_holds_no_float() -> None:
    assert not any(isinstance(value, float) for value in _walk(default_policy()))


def test_every_reason_code_has_words_in_chinese_and_english() -> None:
    policy = default_policy()
    for code in ReasonCode:
        text = policy.reason_texts[code.value]
        assert text.zh.strip()
        assert text.en.strip()
        assert text.zh != text.en
        assert any("\u4e00" <= char <= "\u9fff" for char in text.zh), code
        assert text.en.isascii(), code


def test_account_status_ineligible_words() -> None:
    policy = default_policy()
    assert policy.reason_message(ReasonCode.ACCOUNT_STATUS_INELIGIBLE, "en") == (
        "The account is closed, charged off or under fraud review, so it cannot receive this relief."
    )
    assert policy.reason_message(ReasonCode.ACCOUNT_STATUS_INELIGIBLE, "zh") == (
        "该账户已销户、已核销或处于欺诈调查中，无法办理此项纾困。"
    )


def test_reason_message_of_a_hand_built_policy_without_texts_is_the_code() -> None:
    policy = Policy(version="test", effective_on=date(2020, 1, 1))
    assert policy.reason_message(ReasonCode.BALANCE_TOO_LOW) == "BALANCE_TOO_LOW"


def test_a_minimal_file_takes_the_domain_defaults() -> None:
    reasons = "".join(f'[reason_texts.{code}]\nzh = "中文"\nen = "English"\n' for code in ReasonCode)
    policy = parse_policy(f'version = "2030.1"\neffective_on = 2030-01-01\ncurrency = "CNY"\n{reasons}')
    assert policy.installment == InstallmentPolicy()
    assert policy.products == {}
    assert policy.region_code_changes == {}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            edited('agent_limit = "500.00"', "agent_limit = 500.0"),
            "fee_waiver.agent_limit",
            id="float_money",
        ),
        pytest.param(
            edited('daily_interest_rate = "0.0005"', "daily_interest_rate = 0.0005"),
            "disaster.daily_interest_rate",
            id="float_rate",
        ),
        pytest.param(
            edited("quote_terms = [6, 12, 24, 36, 60]", "quote_terms = [6, 12.0]"),
            "installment.quote_terms[1]",
            id="float_in_a_list",
        ),
        pytest.param(
            edited('version = "2025.1"', "version = 2025.1"), "version", id="version_written_as_a_float"
        ),
        pytest.param(edited('version = "2025.1"', "version = 2025"), "version", id="version_as_integer"),
        pytest.param(edited('version = "2025.1"', 'version = ""'), "version", id="empty_version"),
        pytest.param(
            edited('version = "2025.1"', 'version = "2025 1"'), "version", id="version_with_a_space"
        ),
        pytest.param(edited('version = "2025.1"', ""), "version", id="missing_version"),
        pytest.param(
            without_block("[reason_texts.NO_FEES_OUTSTANDING]"),
            "reason_texts.NO_FEES_OUTSTANDING",
            id="missing_reason_text",
        ),
        pytest.param(
            edited(
                'en = "There are no fees or penalty charges on the account to waive."\n',
                "",
            ),
            "reason_texts.NO_FEES_OUTSTANDING.en",
            id="missing_english_words",
        ),
        pytest.param(
            DEFAULT_TEXT + '\n[reason_texts.NOT_A_CODE]\nzh = "不"\nen = "no"\n',
            "reason_texts.NOT_A_CODE",
            id="unknown_reason_code",
        ),
        pytest.param(
            edited('agent_limit = "500.00"', 'agent_limt = "500.00"'),
            "fee_waiver.agent_limt",
            id="misspelt_key",
        ),
        pytest.param(
            edited('agent_limit = "500.00"', 'agent_limit = "500.001"'),
            "fee_waiver.agent_limit",
            id="money_with_three_decimals",
        ),
        pytest.param(
            edited('agent_limit = "500.00"', 'agent_limit = "-1.00"'),
            "fee_waiver.agent_limit",
            id="negative_money",
        ),
        pytest.param(
            edited('agent_limit = "500.00"', 'agent_limit = "5000.01"'),
            "fee_waiver.supervisor_limit",
            id="supervisor_limit_below_agent_limit",
        ),
        pytest.param(
            edited('late_fee_rate = "0.05"', 'late_fee_rate = "-0.05"'),
            "disaster.late_fee_rate",
            id="negative_rate",
        ),
        pytest.param(
            edited('late_fee_rate = "0.05"', 'late_fee_rate = "5e-2"'),
            "disaster.late_fee_rate",
            id="rate_exponent",
        ),
        pytest.param(
            edited('late_fee_rate = "0.05"', 'late_fee_rate = "1.5"'),
            "disaster.late_fee_rate",
            id="rate_above_one",
        ),
        pytest.param(
            edited("max_term_months = 60", "max_term_months = 61"),
            "installment.max_term_months",
            id="term_beyond_five_years",
        ),
        pytest.param(
            edited("max_term_months = 60", 'max_term_months = "60"'),
            "installment.max_term_months",
            id="term_as_text",
        ),
        pytest.param(
            edited("max_days_past_due = 180", "max_days_past_due = true"),
            "installment.max_days_past_due",
            id="boolean_as_integer",
        ),
        pytest.param(
            edited("quote_terms = [6, 12, 24, 36, 60]", "quote_terms = [12, 6]"),
            "installment.quote_terms",
            id="quote_terms_out_of_order",
        ),
        pytest.param(
            edited('method = "equal_principal"', 'method = "balloon"'),
            "installment.method",
            id="unknown_method",
        ),
        pytest.param(
            edited('repeat_exempt_reasons = ["disaster"]', 'repeat_exempt_reasons = ["lottery"]'),
            "fee_waiver.repeat_exempt_reasons",
            id="unknown_hardship_reason",
        ),
        pytest.param(
            edited(
                'eligible_statuses = ["active", "delinquent"]', 'eligible_statuses = ["active", "dormant"]'
            ),
            "installment.eligible_statuses",
            id="unknown_account_status",
        ),
        pytest.param(
            edited('eligible_statuses = ["active", "delinquent"]', "eligible_statuses = []"),
            "installment.eligible_statuses",
            id="no_eligible_status",
        ),
        pytest.param(edited("due_days = 20", "due_days = 0"), "disputes.due_days", id="zero_dispute_days"),
        pytest.param(
            edited('"632122" = "630222"', '"632122" = "63022"'),
            "region_code_changes.632122",
            id="malformed_new_region_code",
        ),
        pytest.param(
            edited('"632122" = "630222"', '"632122" = "630222"\n"630222" = "632122"'),
            "region_code_changes.",
            id="region_code_cycle",
        ),
        pytest.param(
            edited('annual_interest_rate = "0.1460"', ""),
            "products.PLATINUM.annual_interest_rate",
            id="product_without_a_rate",
        ),
        pytest.param(
            edited("effective_on = 2020-01-01", "effective_on = 2020-01-01T00:00:00"),
            "effective_on",
            id="effective_on_with_a_time",
        ),
        pytest.param(edited('currency = "CNY"', 'currency = "cny"'), "currency", id="lowercase_currency"),
        pytest.param(DEFAULT_TEXT + "\nstray = 1\n", "stray", id="unknown_top_level_key"),
    ],
)
def test_a_broken_policy_is_refused_with_the_key_named(text: str, key: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    assert key in str(raised.value)


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(PolicyError, match="TOML"):
        parse_policy("version = ")


def test_a_float_is_refused_with_advice() -> None:
    with pytest.raises(PolicyError, match="floats are not allowed"):
        parse_policy(edited('agent_limit = "500.00"', "agent_limit = 500.0"))


def _policy(version: str, effective_on: date) -> Policy:
    return Policy(version=version, effective_on=effective_on)


@pytest.mark.parametrize(
    ("on", "version"),
    [
        pytest.param(date(2020, 1, 1), "2020.1", id="first_day_of_the_first_policy"),
        pytest.param(date(2024, 12, 31), "2020.1", id="day_before_the_next_policy"),
        pytest.param(date(2025, 1, 1), "2025.1", id="first_day_of_the_next_policy"),
        pytest.param(date(2030, 6, 1), "2025.1", id="latest_policy_stays_in_force"),
    ],
)
def test_select_policy_takes_the_latest_in_force(on: date, version: str) -> None:
    policies = [_policy("2025.1", date(2025, 1, 1)), _policy("2020.1", date(2020, 1, 1))]
    assert select_policy(policies, on).version == version


def test_select_policy_refuses_a_date_before_any_policy() -> None:
    with pytest.raises(PolicyError, match="2019-12-31"):
        select_policy([_policy("2020.1", date(2020, 1, 1))], date(2019, 12, 31))


def test_select_policy_refuses_two_versions_on_the_same_day() -> None:
    policies = [_policy("2025.1", date(2025, 1, 1)), _policy("2025.2", date(2025, 1, 1))]
    with pytest.raises(PolicyError, match="ambiguous"):
        select_policy(policies, date(2025, 6, 1))


def test_select_policy_with_no_policy_at_all() -> None:
    with pytest.raises(PolicyError):
        select_policy([], date(2025, 6, 1))


def test_a_policy_pickles_and_hashes_for_workers_and_caches() -> None:
    policy = default_policy()
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert hash(policy) == hash(default_policy())
