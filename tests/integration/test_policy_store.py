"""The policy store: packaged policies load, the one in force is chosen by date, drafts stay apart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.domain.policy import PolicyError
from app.services.policies import PolicyStore


def test_packaged_policy_loads_and_is_in_force_today() -> None:
    store = PolicyStore.load()
    assert "2025.1" in store.versions
    assert store.in_force(date(2026, 1, 1)).version == store.versions[-1]


def test_a_later_policy_file_takes_over_from_its_effective_date(tmp_path: Path) -> None:
    packaged = (Path(__file__).resolve().parents[2] / "app/policies/v1.toml").read_text(encoding="utf-8")
    later = packaged.replace('version = "2025.1"', 'version = "2027.1"').replace(
        "effective_on = 2020-01-01", "effective_on = 2027-01-01"
    )
    assert later != packaged
    (tmp_path / "v2.toml").write_text(later, encoding="utf-8")
    store = PolicyStore.load(tmp_path)
    assert store.in_force(date(2026, 12, 31)).version == "2025.1"
    assert store.in_force(date(2027, 1, 1)).version == "2027.1"
    assert store.get("2025.1") is not None


def test_a_draft_policy_is_never_in_force(tmp_path: Path) -> None:
    packaged = (Path(__file__).resolve().parents[2] / "app/policies/v1.toml").read_text(encoding="utf-8")
    (tmp_path / "drafts").mkdir()
    draft = packaged.replace('version = "2025.1"', 'version = "draft-1"')
    (tmp_path / "drafts" / "what-if.toml").write_text(draft, encoding="utf-8")
    store = PolicyStore.load(tmp_path)
    assert store.get_draft("draft-1") is not None
    assert store.get("draft-1") is None
    assert store.in_force(date(2030, 1, 1)).version == "2025.1"


def test_a_broken_policy_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('version = "x"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"broken\.toml"):
        PolicyStore.load(tmp_path)
