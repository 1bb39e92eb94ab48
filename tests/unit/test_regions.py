"""Region matching: province / prefecture / county prefixes and the table of code changes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import InvalidRegionCode
from app.domain.regions import (
    coverage_prefix,
    coverage_prefixes,
    coverage_ranges,
    covers,
    current_region_code,
    find_region_code_cycle,
    is_covered,
    is_valid_region_code,
)

FAST = settings(max_examples=300, deadline=None)

# The 2013 Haidong changes and the 2015 Ping'an change, as in the default policy.
CHANGES = {
    "632100": "630200",
    "632121": "630221",
    "632122": "630222",
    "632123": "630202",
    "632126": "630223",
    "632127": "630224",
    "632128": "630225",
    "630221": "630203",
}


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        pytest.param("622927", True, id="county"),
        pytest.param("620000", True, id="province"),
        pytest.param("62292", False, id="five_digits"),
        pytest.param("6229271", False, id="seven_digits"),
        pytest.param("62292a", False, id="letter"),
        pytest.param("６２２９２７", False, id="full_width_digits"),
        pytest.param(" 62292", False, id="space"),
        pytest.param("", False, id="empty"),
        pytest.param(622927, False, id="integer_not_text"),
    ],
)
def test_is_valid_region_code_wants_six_ascii_digits(code: object, valid: bool) -> None:
    assert is_valid_region_code(code) is valid  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event_code", "prefix"),
    [
        pytest.param("620000", "62", id="province"),
        pytest.param("622900", "6229", id="prefecture"),
        pytest.param("622927", "622927", id="county"),
        pytest.param("110100", "1101", id="municipal_districts"),
    ],
)
def test_coverage_prefix(event_code: str, prefix: str) -> None:
    assert coverage_prefix(event_code) == prefix


@pytest.mark.parametrize("code", [pytest.param("6229", id="short"), pytest.param("62292x", id="letter")])
def test_coverage_prefix_refuses_malformed_codes(code: str) -> None:
    with pytest.raises(InvalidRegionCode):
        coverage_prefix(code)


@pytest.mark.parametrize(
    ("event_code", "customer_code", "covered"),
    [
        pytest.param("622927", "622927", True, id="county_covers_itself"),
        pytest.param("622927", "622926", False, id="county_622927_does_not_cover_622926"),
        pytest.param("620000", "622927", True, id="province_620000_covers_622927"),
        pytest.param("622900", "622927", True, id="prefecture_622900_covers_622927"),
        pytest.param("622900", "622827", False, id="prefecture_does_not_cover_a_neighbour"),
        pytest.param("620000", "630222", False, id="gansu_does_not_cover_qinghai"),
        pytest.param("630000", "630222", True, id="qinghai_covers_minhe"),
        pytest.param("630200", "630222", True, id="haidong_covers_minhe"),
        pytest.param("630222", "630225", False, id="minhe_does_not_cover_xunhua"),
        pytest.param("622927", "62292", False, id="malformed_customer_code_is_not_covered"),
    ],
)
def test_covers(event_code: str, customer_code: str, covered: bool) -> None:
    assert covers(event_code, customer_code) is covered


def test_covers_refuses_a_malformed_event_code() -> None:
    with pytest.raises(InvalidRegionCode):
        covers("62", "622927")


@pytest.mark.parametrize(
    ("code", "changes", "current"),
    [
        pytest.param("632122", CHANGES, "630222", id="minhe_632122_is_630222"),
        pytest.param("632121", CHANGES, "630203", id="pingan_follows_the_chain_to_630203"),
        pytest.param("630221", CHANGES, "630203", id="intermediate_code_moves_on"),
        pytest.param("622927", CHANGES, "622927", id="unchanged_code"),
        pytest.param("632122", {}, "632122", id="empty_table"),
        pytest.param("111111", {"111111": "222222", "222222": "111111"}, "222222", id="cycle_stops"),
        pytest.param("111111", {"111111": "111111"}, "111111", id="self_loop_stops"),
    ],
)
def test_current_region_code(code: str, changes: dict[str, str], current: str) -> None:
    assert current_region_code(code, changes) == current


@pytest.mark.parametrize(
    ("changes", "has_cycle"),
    [
        pytest.param(CHANGES, False, id="default_table"),
        pytest.param({"111111": "222222", "222222": "111111"}, True, id="two_codes"),
        pytest.param(
            {"111111": "222222", "222222": "333333", "333333": "222222"}, True, id="tail_into_cycle"
        ),
        pytest.param({"111111": "111111"}, True, id="self_loop"),
        pytest.param({}, False, id="empty"),
    ],
)
def test_find_region_code_cycle(changes: dict[str, str], has_cycle: bool) -> None:
    assert (find_region_code_cycle(changes) is not None) is has_cycle


@pytest.mark.parametrize(
    ("customer_code", "event_codes", "changes", "covered"),
    [
        pytest.param("632122", ["630222"], CHANGES, True, id="minhe_632122_covered_by_event_630222"),
        pytest.param("632122", ["630000"], CHANGES, True, id="minhe_632122_covered_by_qinghai_630000"),
        pytest.param("632122", ["630200"], CHANGES, True, id="minhe_632122_covered_by_haidong_630200"),
        pytest.param("632122", ["630222"], {}, False, id="without_the_table_old_minhe_is_missed"),
        pytest.param("632122", ["630225"], CHANGES, False, id="minhe_not_covered_by_xunhua"),
        pytest.param("632122", ["632122"], CHANGES, True, id="old_code_covers_itself"),
        pytest.param("630222", ["632122"], CHANGES, True, id="event_declared_with_the_old_code"),
        pytest.param("630222", ["632100"], CHANGES, True, id="event_declared_with_old_haidong"),
        pytest.param("632121", ["630203"], CHANGES, True, id="chain_pingan"),
        pytest.param("622927", ["622927", "630222"], CHANGES, True, id="jishishan_in_a_two_province_event"),
        pytest.param("622926", ["622927", "630222"], CHANGES, False, id="neighbour_county_not_covered"),
        pytest.param("622927", [], CHANGES, False, id="no_event_codes"),
    ],
)
def test_is_covered_maps_old_codes_first(
    customer_code: str, event_codes: list[str], changes: dict[str, str], covered: bool
) -> None:
    assert is_covered(customer_code, event_codes, changes) is covered


def test_coverage_prefixes_include_old_codes_of_covered_regions() -> None:
    prefixes = coverage_prefixes(["630200"], CHANGES)
    assert "6302" in prefixes
    assert "632122" in prefixes
    assert "632121" in prefixes
    assert "630221" in prefixes
    assert "632100" in prefixes


# A small pool so that the random codes hit each other often.
_POOL = [
    "620000",
    "622900",
    "622927",
    "622926",
    "630000",
    "630200",
    "630222",
    "630225",
    "630203",
    *CHANGES,
]


@FAST
@given(customer=st.sampled_from(_POOL), events=st.lists(st.sampled_from(_POOL), max_size=3))
def test_coverage_prefixes_select_exactly_the_covered_codes(customer: str, events: list[str]) -> None:
    prefixes = coverage_prefixes(events, CHANGES)
    assert any(customer.startswith(prefix) for prefix in prefixes) is is_covered(customer, events, CHANGES)


def _covered_pairwise(customer: str, events: list[str], changes: dict[str, str]) -> bool:
    """The definition, one pair of codes at a time: is_covered must give the same answer."""
    customers = {customer, current_region_code(customer, changes)}
    return any(
        covers(event, code)
        for event_code in events
        for event in (event_code, current_region_code(event_code, changes))
        for code in customers
    )


@FAST
@given(
    customer=st.sampled_from([*_POOL, "62292", "abcdef", "６２００００"]),
    events=st.lists(st.sampled_from(_POOL), max_size=3),
)
def test_is_covered_is_the_pairwise_definition(customer: str, events: list[str]) -> None:
    assert is_covered(customer, events, CHANGES) is _covered_pairwise(customer, events, CHANGES)


@FAST
@given(
    st.lists(st.from_regex(r"[0-9]{2}|[0-9]{4}|[0-9]{6}", fullmatch=True), min_size=1, max_size=6),
    st.data(),
)
def test_coverage_ranges_select_exactly_the_codes_with_a_prefix(
    prefixes: list[str], data: st.DataObject
) -> None:
    # Most codes start with one of the prefixes, the others are any six digits.
    start = data.draw(st.sampled_from(["", *prefixes]))
    code = start + data.draw(st.from_regex(f"[0-9]{{{6 - len(start)}}}", fullmatch=True))
    ranges = coverage_ranges(prefixes)
    in_range = [low <= code and (high is None or code < high) for low, high in ranges]
    assert any(in_range) == code.startswith(tuple(prefixes))
    assert sum(in_range) <= 1  # disjoint


def test_coverage_ranges_drop_nested_prefixes_and_carry_into_the_next_digit() -> None:
    assert coverage_ranges(["622927", "62", "632122", "6299", "99"]) == (
        ("62", "63"),
        ("632122", "632123"),
        ("99", None),
    )
    assert coverage_ranges(["6299"]) == (("6299", "6300"),)
