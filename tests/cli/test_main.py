"""The entry point itself: exit codes of parsing, and the real console script in a subprocess."""

from __future__ import annotations

import json
import subprocess

from jwt_middleware import __version__
from jwt_middleware.testing import LocalIssuer
from tests.cli.conftest import CONSOLE_SCRIPT, Run


def test_help_exits_0_and_documents_exit_codes(cli: Run) -> None:
    result = cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out
    for command in ("inspect", "verify", "issuer"):
        assert command in result.out
    verify_help = cli("verify", "--help")
    assert verify_help.code == 0
    assert "--no-audience" in verify_help.out
    assert "--cognito-pool" in verify_help.out


def test_no_command_is_a_usage_error(cli: Run) -> None:
    result = cli()
    assert result.code == 2
    assert "required" in result.err
    assert cli("issuer").code == 2


def test_version(cli: Run) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith(f"jwt-middleware {__version__}")


def test_console_script_inspects_stdin(issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="subprocess")
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "inspect", "--json"],
        input=token,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["claims"]["sub"] == "subprocess"
    assert token not in completed.stdout + completed.stderr


def test_console_script_verify_exit_code(issuer: LocalIssuer) -> None:
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "verify", "-", "--issuer", issuer.issuer, "--audience", "orders-api"],
        input=issuer.mint_expired(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout.startswith("REJECTED: the token expired")
    assert completed.stderr == ""
