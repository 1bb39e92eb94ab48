"""Policy as data: program parameters, limits, rates and reason texts, versioned and dated.

A bank changes the rules by shipping a new policy file, not code (DOMAIN.md, ARCHITECTURE.md).
:func:`parse_policy` reads the TOML text and validates every value, raising PolicyError that names
the bad key. Money and rates are written as strings ("500.00", "0.0005") and become Decimals; a
float anywhere in the file is refused, because a binary float cannot hold 0.05 % exactly.
The defaults below are those of DOMAIN.md; ``app/policies/v1.toml`` cites their sources.
"""

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from app.domain.errors import InvalidMoney, PolicyError
from app.domain.languages import language_of
from app.domain.money import parse_money
from app.domain.reasons import AccountStatus, HardshipReason, ReasonCode, ScheduleMethod
from app.domain.regions import find_region_code_cycle, is_valid_region_code

__all__ = [
    "ABSOLUTE_MAX_TERM_MONTHS",
    "DisasterPolicy",
    "DisputePolicy",
    "FeeWaiverPolicy",
    "InstallmentPolicy",
    "Policy",
    "PolicyError",
    "ProductTerms",
    "ReasonText",
    "ServicingPolicy",
    "parse_policy",
    "select_policy",
]

# Art. 70 of the Chinese card rules caps personalized installment at five years; FFIEC workouts
# likewise aim at 60 months. No policy may allow more.
ABSOLUTE_MAX_TERM_MONTHS = 60

_ELIGIBLE_STATUSES: tuple[str, ...] = (AccountStatus.ACTIVE, AccountStatus.DELINQUENT)
_ALL_HARDSHIP_REASONS: tuple[str, ...] = tuple(HardshipReason)


@dataclass(frozen=True, slots=True)
class InstallmentPolicy:
    """Negotiated installment plan parameters (DOMAIN.md, "Installment plan")."""

    max_term_months: int = 60
    min_term_months: int = 1
    min_installment_amount: Decimal = Decimal("100.00")
    monthly_fee_rate: Decimal = Decimal("0")
    annual_interest_rate: Decimal = Decimal("0")
    method: str = ScheduleMethod.EQUAL_PRINCIPAL
    max_days_past_due: int = 180
    min_total_balance: Decimal = Decimal("1000.00")
    eligible_statuses: tuple[str, ...] = _ELIGIBLE_STATUSES
    hardship_reasons: tuple[str, ...] = _ALL_HARDSHIP_REASONS
    broken_plan_lookback_months: int = 12
    max_income_share: Decimal = Decimal("0.50")
    quote_terms: tuple[int, ...] = (6, 12, 24, 36, 60)


@dataclass(frozen=True, slots=True)
class FeeWaiverPolicy:
    """Fee and interest waiver parameters and authority limits (DOMAIN.md, "Fee and interest waiver")."""

    agent_limit: Decimal = Decimal("500.00")
    supervisor_limit: Decimal = Decimal("5000.00")
    repeat_window_days: int = 365
    repeat_exempt_reasons: tuple[str, ...] = (HardshipReason.DISASTER,)
    authority_window_days: int = 30
    interest_waivable_share: Decimal = Decimal("0")
    eligible_statuses: tuple[str, ...] = _ELIGIBLE_STATUSES


@dataclass(frozen=True, slots=True)
class DisasterPolicy:
    """Disaster deferral parameters (DOMAIN.md, "Disaster deferral")."""

    max_days_past_due_at_event: int = 30
    daily_interest_rate: Decimal = Decimal("0.0005")
    late_fee_rate: Decimal = Decimal("0.05")
    eligible_statuses: tuple[str, ...] = _ELIGIBLE_STATUSES


@dataclass(frozen=True, slots=True)
class DisputePolicy:
    """Credit-report dispute parameters (DOMAIN.md, "Credit-report disputes for a disaster")."""

    bureau: str = "PBOC_CRC"
    reason_code: str = "DISASTER_RELIEF"
    due_days: int = 20


@dataclass(frozen=True, slots=True)
class ServicingPolicy:
    """How a plan is followed to its end (DOMAIN.md, "Servicing"): an installment not covered in full
    before ``due_date + grace_days + 1`` is a miss; the plan breaks at ``break_after_consecutive_missed``
    misses in a row or ``break_after_total_missed`` misses in all."""

    grace_days: int = 3
    break_after_consecutive_missed: int = 2
    break_after_total_missed: int = 3


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """A card product's contractual terms (shown annualized, as the 2021 pricing rules require)."""

    name: str
    annual_interest_rate: Decimal


@dataclass(frozen=True, slots=True)
class ReasonText:
    """The plain words of one reason code, in Simplified Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Policy:
    """One version of the whole policy, in force from ``effective_on``."""

    version: str
    effective_on: date
    currency: str = "CNY"
    installment: InstallmentPolicy = field(default_factory=InstallmentPolicy)
    fee_waiver: FeeWaiverPolicy = field(default_factory=FeeWaiverPolicy)
    disaster: DisasterPolicy = field(default_factory=DisasterPolicy)
    disputes: DisputePolicy = field(default_factory=DisputePolicy)
    servicing: ServicingPolicy = field(default_factory=ServicingPolicy)
    # Plain dicts behind a read-only Mapping type: a Policy pickles (worker processes) and, with
    # these fields left out of the hash, can key a cache.
    products: Mapping[str, ProductTerms] = field(default_factory=dict, hash=False)
    region_code_changes: Mapping[str, str] = field(default_factory=dict, hash=False)
    reason_texts: Mapping[str, ReasonText] = field(default_factory=dict, hash=False)

    def reason_message(self, code: str, lang: str = "zh") -> str:
        """The words for a reason code in ``lang`` ("zh" or "en", e.g. "en-US"; anything else -> zh).

        A parsed policy has words for every ReasonCode; a hand-built policy without them answers
        with the code itself rather than failing a decision.
        """
        text = self.reason_texts.get(str(code))
        if text is None:
            return str(code)
        return text.en if language_of(lang) == "en" else text.zh

    def product_terms(self, product_code: str) -> ProductTerms | None:
        """The terms of a card product, or None when the policy does not know it."""
        return self.products.get(product_code)


_MISSING = object()
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Z][A-Z0-9_]{0,63}", re.ASCII)
_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _refuse_floats(value: object, path: str) -> None:
    """Raise PolicyError naming the first float anywhere in the parsed document."""
    if isinstance(value, float):
        raise PolicyError(
            f'{path}: floats are not allowed; write money and rates as strings, e.g. "500.00" or "0.0005"'
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, _join(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")


class _Table:
    """Typed access to one TOML table; every error names the full dotted key; unknown keys refused."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise PolicyError(f"{path}: must be a table")
        self._data: dict[str, object] = data
        self._path = path
        self._used: set[str] = set()

    def name(self, key: str) -> str:
        return _join(self._path, key)

    def all_keys(self) -> list[str]:
        self._used.update(self._data)
        return list(self._data)

    def get(self, key: str, default: object = _MISSING) -> object:
        self._used.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise PolicyError(f"{self.name(key)}: missing")
        return default

    def has(self, key: str) -> bool:
        return key in self._data

    def string(self, key: str, default: object = _MISSING, *, pattern: re.Pattern[str] | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{self.name(key)}: must be a non-empty string")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise PolicyError(f"{self.name(key)}: {value!r} does not match {pattern.pattern}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{self.name(key)}: must be an integer")
        if not low <= value <= high:
            raise PolicyError(f"{self.name(key)}: {value} is outside {low}..{high}")
        return value

    def money(self, key: str, default: Decimal) -> Decimal:
        value = self.get(key, default)
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            raise PolicyError(f'{self.name(key)}: money must be a string like "500.00"')
        try:
            return parse_money(value)
        except InvalidMoney as error:
            raise PolicyError(f"{self.name(key)}: {error}") from error

    def rate(
        self, key: str, default: Decimal, *, low: Decimal = Decimal(0), high: Decimal = Decimal(1)
    ) -> Decimal:
        value = self.get(key, default)
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str) or _RATE.fullmatch(value) is None:
            raise PolicyError(f'{self.name(key)}: a rate must be a decimal string like "0.0005"')
        rate = Decimal(value)
        if not low <= rate <= high:
            raise PolicyError(f"{self.name(key)}: {value} is outside {low}..{high}")
        return rate

    def choices(
        self, key: str, default: tuple[str, ...], *, allowed: Iterable[str], empty_ok: bool
    ) -> tuple[str, ...]:
        value = self.get(key, default)
        if isinstance(value, tuple):
            return value
        allowed_values = sorted(str(item) for item in allowed)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise PolicyError(f"{self.name(key)}: must be a list of strings")
        if not value and not empty_ok:
            raise PolicyError(f"{self.name(key)}: must not be empty")
        unknown = [item for item in value if item not in allowed_values]
        if unknown:
            raise PolicyError(f"{self.name(key)}: unknown values {unknown!r}; allowed: {allowed_values!r}")
        if len(set(value)) != len(value):
            raise PolicyError(f"{self.name(key)}: values repeat")
        return tuple(value)

    def table(self, key: str) -> "_Table":
        return _Table(self.get(key, {}), self.name(key))

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            raise PolicyError(f"{self.name(unknown[0])}: unknown key")


def _parse_installment(table: _Table) -> InstallmentPolicy:
    defaults = InstallmentPolicy()
    max_term = table.integer(
        "max_term_months", defaults.max_term_months, low=1, high=ABSOLUTE_MAX_TERM_MONTHS
    )
    min_term = table.integer("min_term_months", defaults.min_term_months, low=1, high=max_term)
    quote_terms_value = table.get("quote_terms", list(defaults.quote_terms))
    if (
        not isinstance(quote_terms_value, list)
        or not quote_terms_value
        or not all(isinstance(term, int) and not isinstance(term, bool) for term in quote_terms_value)
    ):
        raise PolicyError(f"{table.name('quote_terms')}: must be a non-empty list of integers")
    quote_terms = tuple(int(term) for term in quote_terms_value)
    if (
        list(quote_terms) != sorted(set(quote_terms))
        or not min_term <= quote_terms[0] <= quote_terms[-1] <= max_term
    ):
        raise PolicyError(
            f"{table.name('quote_terms')}: must increase strictly and lie within {min_term}..{max_term}"
        )
    method = table.string("method", defaults.method)
    if method not in tuple(ScheduleMethod):
        raise PolicyError(f"{table.name('method')}: must be one of {[str(m) for m in ScheduleMethod]!r}")
    policy = InstallmentPolicy(
        max_term_months=max_term,
        min_term_months=min_term,
        min_installment_amount=table.money("min_installment_amount", defaults.min_installment_amount),
        monthly_fee_rate=table.rate("monthly_fee_rate", defaults.monthly_fee_rate),
        annual_interest_rate=table.rate("annual_interest_rate", defaults.annual_interest_rate),
        method=ScheduleMethod(method),
        max_days_past_due=table.integer("max_days_past_due", defaults.max_days_past_due, low=0, high=3650),
        min_total_balance=table.money("min_total_balance", defaults.min_total_balance),
        eligible_statuses=table.choices(
            "eligible_statuses", defaults.eligible_statuses, allowed=AccountStatus, empty_ok=False
        ),
        hardship_reasons=table.choices(
            "hardship_reasons", defaults.hardship_reasons, allowed=HardshipReason, empty_ok=False
        ),
        broken_plan_lookback_months=table.integer(
            "broken_plan_lookback_months", defaults.broken_plan_lookback_months, low=0, high=120
        ),
        max_income_share=table.rate("max_income_share", defaults.max_income_share, low=Decimal("0.01")),
        quote_terms=quote_terms,
    )
    table.finish()
    return policy


def _parse_fee_waiver(table: _Table) -> FeeWaiverPolicy:
    defaults = FeeWaiverPolicy()
    agent_limit = table.money("agent_limit", defaults.agent_limit)
    supervisor_limit = table.money("supervisor_limit", defaults.supervisor_limit)
    if supervisor_limit < agent_limit:
        raise PolicyError(f"{table.name('supervisor_limit')}: must not be below agent_limit")
    policy = FeeWaiverPolicy(
        agent_limit=agent_limit,
        supervisor_limit=supervisor_limit,
        repeat_window_days=table.integer("repeat_window_days", defaults.repeat_window_days, low=0, high=3660),
        repeat_exempt_reasons=table.choices(
            "repeat_exempt_reasons", defaults.repeat_exempt_reasons, allowed=HardshipReason, empty_ok=True
        ),
        authority_window_days=table.integer(
            "authority_window_days", defaults.authority_window_days, low=1, high=3660
        ),
        interest_waivable_share=table.rate("interest_waivable_share", defaults.interest_waivable_share),
        eligible_statuses=table.choices(
            "eligible_statuses", defaults.eligible_statuses, allowed=AccountStatus, empty_ok=False
        ),
    )
    table.finish()
    return policy


def _parse_disaster(table: _Table) -> DisasterPolicy:
    defaults = DisasterPolicy()
    policy = DisasterPolicy(
        max_days_past_due_at_event=table.integer(
            "max_days_past_due_at_event", defaults.max_days_past_due_at_event, low=0, high=3650
        ),
        daily_interest_rate=table.rate("daily_interest_rate", defaults.daily_interest_rate),
        late_fee_rate=table.rate("late_fee_rate", defaults.late_fee_rate),
        eligible_statuses=table.choices(
            "eligible_statuses", defaults.eligible_statuses, allowed=AccountStatus, empty_ok=False
        ),
    )
    table.finish()
    return policy


def _parse_disputes(table: _Table) -> DisputePolicy:
    defaults = DisputePolicy()
    policy = DisputePolicy(
        bureau=table.string("bureau", defaults.bureau, pattern=_IDENTIFIER),
        reason_code=table.string("reason_code", defaults.reason_code, pattern=_IDENTIFIER),
        due_days=table.integer("due_days", defaults.due_days, low=1, high=365),
    )
    table.finish()
    return policy


def _parse_servicing(table: _Table) -> ServicingPolicy:
    defaults = ServicingPolicy()
    policy = ServicingPolicy(
        grace_days=table.integer("grace_days", defaults.grace_days, low=0, high=60),
        break_after_consecutive_missed=table.integer(
            "break_after_consecutive_missed", defaults.break_after_consecutive_missed, low=1, high=60
        ),
        break_after_total_missed=table.integer(
            "break_after_total_missed", defaults.break_after_total_missed, low=1, high=60
        ),
    )
    table.finish()
    return policy


def _parse_products(table: _Table) -> Mapping[str, ProductTerms]:
    products: dict[str, ProductTerms] = {}
    for code in table.all_keys():
        if _IDENTIFIER.fullmatch(code) is None:
            raise PolicyError(f"{table.name(code)}: a product code must match {_IDENTIFIER.pattern}")
        product = _Table(table.get(code), table.name(code))
        products[code] = ProductTerms(
            name=product.string("name"),
            annual_interest_rate=_required_rate(product, "annual_interest_rate"),
        )
        product.finish()
    return products


def _required_rate(table: _Table, key: str) -> Decimal:
    if not table.has(key):
        raise PolicyError(f"{table.name(key)}: missing")
    return table.rate(key, Decimal(0))


def _parse_region_code_changes(table: _Table) -> Mapping[str, str]:
    changes: dict[str, str] = {}
    for old_code in table.all_keys():
        new_code = table.get(old_code)
        if not is_valid_region_code(old_code):
            raise PolicyError(f"{table.name(old_code)}: an old region code must be 6 digits")
        if not isinstance(new_code, str) or not is_valid_region_code(new_code):
            raise PolicyError(f"{table.name(old_code)}: the new region code must be a 6-digit string")
        if new_code == old_code:
            raise PolicyError(f"{table.name(old_code)}: maps a code to itself")
        changes[old_code] = new_code
    cycle = find_region_code_cycle(changes)
    if cycle is not None:
        raise PolicyError(f"{table.name(cycle[0])}: region code changes form a cycle {' -> '.join(cycle)}")
    return changes


def _parse_reason_texts(table: _Table) -> Mapping[str, ReasonText]:
    known = {str(code) for code in ReasonCode}
    texts: dict[str, ReasonText] = {}
    for code in table.all_keys():
        if code not in known:
            raise PolicyError(f"{table.name(code)}: unknown reason code")
        entry = _Table(table.get(code), table.name(code))
        texts[code] = ReasonText(zh=entry.string("zh"), en=entry.string("en"))
        entry.finish()
    for code in ReasonCode:
        if code not in texts:
            raise PolicyError(f"{table.name(code)}: missing (every reason code needs zh and en words)")
    return {code.value: texts[code.value] for code in ReasonCode}


def _parse_effective_on(table: _Table) -> date:
    value = table.get("effective_on")
    if isinstance(value, datetime):
        raise PolicyError("effective_on: must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError("effective_on: must be a date (YYYY-MM-DD)")


def parse_policy(text: str) -> Policy:
    """Parse and validate a TOML policy; PolicyError names the bad key.

    Required: ``version``, ``effective_on``, ``currency`` and ``[reason_texts.<CODE>]`` with ``zh``
    and ``en`` for every ReasonCode. The tables ``installment``, ``fee_waiver``, ``disaster``,
    ``disputes``, ``servicing``, ``products`` and ``region_code_changes`` may leave keys out
    (DOMAIN.md defaults apply). Unknown keys, floats, negative or out-of-range values, and cycles in
    the region code changes are refused.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not valid TOML: {error}") from error
    _refuse_floats(document, "")
    root = _Table(document, "")
    policy = Policy(
        version=root.string("version", pattern=_VERSION),
        effective_on=_parse_effective_on(root),
        currency=root.string("currency", pattern=_CURRENCY),
        installment=_parse_installment(root.table("installment")),
        fee_waiver=_parse_fee_waiver(root.table("fee_waiver")),
        disaster=_parse_disaster(root.table("disaster")),
        disputes=_parse_disputes(root.table("disputes")),
        servicing=_parse_servicing(root.table("servicing")),
        products=_parse_products(root.table("products")),
        region_code_changes=_parse_region_code_changes(root.table("region_code_changes")),
        reason_texts=_parse_reason_texts(root.table("reason_texts")),
    )
    root.finish()
    return policy


def select_policy(policies: Iterable[Policy], on: date) -> Policy:
    """The policy in force on ``on``: the latest ``effective_on`` not after ``on``.

    PolicyError when none is in force yet, or when two different versions share that date.
    """
    in_force = [policy for policy in policies if policy.effective_on <= on]
    if not in_force:
        raise PolicyError(f"no policy is in force on {on.isoformat()}")
    latest = max(policy.effective_on for policy in in_force)
    candidates = {policy.version: policy for policy in in_force if policy.effective_on == latest}
    if len(candidates) > 1:
        raise PolicyError(
            f"versions {sorted(candidates)!r} are all effective on {latest.isoformat()}: ambiguous"
        )
    return next(iter(candidates.values()))
