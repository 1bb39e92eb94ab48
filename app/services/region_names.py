"""Names beside GB/T 2260 codes (app/policies/regions/names.toml, versioned with the policy's
code-change table). A code missing from the table is named by its prefecture, else its province."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

__all__ = ["NAMES_FILE", "region_name", "table_version"]

NAMES_FILE = Path(__file__).resolve().parent.parent / "policies" / "regions" / "names.toml"


@cache
def _table() -> tuple[str, dict[str, tuple[str, str]]]:
    data = tomllib.loads(NAMES_FILE.read_text(encoding="utf-8"))
    names = {str(code): (str(v["zh"]), str(v["en"])) for code, v in data.get("names", {}).items()}
    return str(data.get("version", "")), names


def table_version() -> str:
    return _table()[0]


def region_name(code: str | None, lang: str) -> str:
    """The division's name in ``lang`` (zh or en); "" for a code no level of which is known."""
    if not code or len(code) != 6:
        return ""
    names = _table()[1]
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):
        texts = names.get(candidate)
        if texts is not None:
            name = texts[1] if lang == "en" else texts[0]
            return name if candidate == code else f"{name} …"
    return ""
