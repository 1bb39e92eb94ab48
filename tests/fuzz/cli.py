"""Runs the `hardship` command against a test database: in this process (fast; settings re-read from
the environment for the call) or in a child process (exactly as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings

ENTRY = "from app.cli import main; main()"
SECRET = "test-secret-key-not-for-production"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def invoke_cli(database_url: str, *args: str, cwd: Path, stdin: str = "") -> CliResult:
    """The command in this process; an uncaught exception shows up as a traceback in stderr."""
    previous = Path.cwd()
    os.chdir(cwd)
    get_settings.cache_clear()
    try:
        runner = CliRunner(env={"HARDSHIP_DATABASE_URL": database_url, "DATABASE_URL": None})
        result = runner.invoke(cli, list(args), input=stdin)
    finally:
        os.chdir(previous)
        get_settings.cache_clear()
    stderr = result.stderr if result.stderr_bytes is not None else ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return CliResult(result.exit_code, result.stdout, stderr)


def run_cli(database_url: str, *args: str, cwd: Path, stdin: str = "") -> CliResult:
    """The command in a child process, as an operator runs it."""
    env = {**os.environ, "HARDSHIP_DATABASE_URL": database_url, "HARDSHIP_SECRET_KEY": SECRET}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
