"""Names beside GB/T 2260 codes: every code of the policy's change table (old and new) and of the
demo portfolio has a name in both languages; an unknown county is named by its prefecture."""

from __future__ import annotations

from app.demo import DEMO_REGIONS
from app.services.policies import PolicyStore
from app.services.region_names import region_name, table_version


def test_every_changed_code_and_every_demo_region_has_a_name_in_both_languages() -> None:
    store = PolicyStore.load()
    codes = {code for code, _ in DEMO_REGIONS}
    for version in store.versions:
        policy = store.get(version)
        assert policy is not None
        for old, new in policy.region_code_changes.items():
            codes |= {old, new}
    for code in sorted(codes):
        assert region_name(code, "zh") and region_name(code, "en"), code
        assert not region_name(code, "zh").endswith("…"), code
    assert table_version()


def test_a_county_missing_from_the_table_is_named_by_its_prefecture_then_its_province() -> None:
    assert region_name("622999", "zh") == "甘肃省临夏回族自治州 …"
    assert region_name("629999", "en") == "Gansu …"
    assert region_name("990000", "zh") == ""
    assert region_name("", "zh") == ""
