"""Hostile file arguments to `hardship import`: a path that climbs out of the working directory, a
directory, a device, a symlink to a system file, binary junk.  Each gives a clear error on the
terminal (no traceback), a non-zero exit, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.fuzz.cli import invoke_cli
from tests.fuzz.test_hostile_input import table_counts


def climbing_path_to(target: str, cwd: Path) -> str:
    """A relative path such as ../../../etc/passwd, from cwd to target."""
    return os.path.relpath(target, cwd)


def hostile_arguments(cwd: Path) -> dict[str, str]:
    link = cwd / "innocent.csv"
    link.symlink_to("/etc/passwd")
    junk = cwd / "junk.csv"
    junk.write_bytes(b"\x00\xff\xfe" * 1000 + b"\n\x89PNG\r\n\x1a\n")
    empty = cwd / "empty.csv"
    empty.write_bytes(b"")
    return {
        "climbing_to_etc_passwd": climbing_path_to("/etc/passwd", cwd),
        "climbing_to_a_directory": climbing_path_to("/", cwd),
        "absolute_directory": "/etc",
        "device": "/dev/zero",
        "missing": "../../no/such/accounts.csv",
        "symlink_to_etc_passwd": link.name,
        "binary_junk": junk.name,
        "empty_file": empty.name,
        "markup_in_a_missing_name": "[/]no-such[bold].csv",
    }


@pytest.mark.parametrize("kind", ["accounts", "statements"])
def test_hostile_file_arguments_give_a_clear_error_and_write_nothing(
    db: Database, tmp_path: Path, kind: str
) -> None:
    before = table_counts(db.engine)
    for name, argument in hostile_arguments(tmp_path).items():
        # (The header of a file that is not ours is quoted back as "unknown column(s)": the command
        # runs with the operator's own rights, who may read that file anyway.)
        result = invoke_cli(db.url, "import", kind, argument, cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"{name}: exit 0\n{output}"
        assert "Traceback" not in output, f"{name}: a traceback instead of a clear error\n{output}"
        assert output.strip(), f"{name}: no message at all"
        assert any(word in output.lower() for word in ("error", "rejected", "no such file")), output
    assert table_counts(db.engine) == before


def test_file_content_that_looks_like_terminal_markup_is_printed_as_it_is(
    db: Database, tmp_path: Path
) -> None:
    """The bad-line report quotes the file; rich must not read it as markup ('[/]' used to crash
    the command with a traceback) nor as emoji codes (':x:')."""
    header = (
        "account_ref,customer_ref,product_code,status,region_code,opened_on,credit_limit,"
        "principal_balance,interest_balance,fee_balance,delinquent_since,last_payment_on"
    )
    rows = [
        "A1,C1,STD,[/],622927,2020-01-01,1.00,1.00,1.00,1.00,,",
        "A2,C2,STD,:x: [bold]loud,622927,2020-01-01,1.00,1.00,1.00,1.00,,",
    ]
    file = tmp_path / "[red]accounts.csv"
    file.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    before = table_counts(db.engine)

    result = invoke_cli(db.url, "import", "accounts", file.name, cwd=tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert "got '[/]'" in result.stdout
    assert "got ':x: [bold]loud'" in result.stdout
    assert "line 2" in result.stdout and "line 3" in result.stdout
    assert table_counts(db.engine) == before
