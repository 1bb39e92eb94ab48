"""The policy files in force: loaded once per process from app/policies (and HARDSHIP_POLICY_DIR),
validated by the domain, chosen by decision date, or fetched by version to replay a decision."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from app.domain.policy import Policy, PolicyError, parse_policy, select_policy

PACKAGED_POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


class PolicyStore:
    """Adopted policies (used for decisions) and drafts (what-if scans only)."""

    def __init__(self, adopted: Iterable[Policy], drafts: Iterable[Policy] = ()) -> None:
        self._adopted = {p.version: p for p in adopted}
        self._drafts = {p.version: p for p in drafts}
        if not self._adopted:
            raise PolicyError("no adopted policy file was found")

    @classmethod
    def load(cls, extra_dir: str | Path | None = None) -> PolicyStore:
        adopted: list[Policy] = []
        drafts: list[Policy] = []
        for directory in [PACKAGED_POLICY_DIR, *([Path(extra_dir)] if extra_dir else [])]:
            for path in sorted(directory.glob("*.toml")):
                adopted.append(_parse_file(path))
            for path in sorted((directory / "drafts").glob("*.toml")):
                drafts.append(_parse_file(path))
        return cls(adopted, drafts)

    def in_force(self, on: date) -> Policy:
        return select_policy(self._adopted.values(), on)

    def get(self, version: str) -> Policy | None:
        return self._adopted.get(version)

    def get_draft(self, version: str) -> Policy | None:
        return self._drafts.get(version)

    @property
    def versions(self) -> list[str]:
        return sorted(self._adopted)

    @property
    def draft_versions(self) -> list[str]:
        return sorted(self._drafts)


def _parse_file(path: Path) -> Policy:
    try:
        return parse_policy(path.read_text(encoding="utf-8"))
    except PolicyError as exc:
        raise PolicyError(f"{path.name}: {exc}") from exc
