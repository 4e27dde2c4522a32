"""Importing the library loads no web framework and no HTTP client (issue 12, section 2).

Each module is imported in a fresh interpreter, because the test process itself has long since
loaded everything. Every module of the package is checked, not only a list, so a new module that
imports Starlette or httpx2 at module level fails here until it either defers the import or is
listed below, with what it may load and why.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import jwt_middleware

ROOT = Path(__file__).resolve().parents[2]

#: What must never be loaded as a side effect of importing a core module.
HEAVY = (
    "starlette",
    "httpx2",
    "httpx",
    "httpcore",
    "anyio._backends",
    "fastapi",
    "django",
    "rest_framework",
    "flask",
    "werkzeug",
    "uvicorn",
    "pytest",
    "_pytest",
)

#: The modules that exist to bind a framework or a client, and what each may load.
FRAMEWORK_BOUND: dict[str, frozenset[str]] = {
    "jwt_middleware.asgi": frozenset({"starlette"}),
    "jwt_middleware.aws.gateway_trust": frozenset({"starlette"}),
    "jwt_middleware.integrations.starlette": frozenset({"starlette"}),
    "jwt_middleware.integrations.fastapi": frozenset({"starlette", "fastapi"}),
    "jwt_middleware.integrations.django": frozenset({"django"}),
    "jwt_middleware.integrations.drf": frozenset({"django", "rest_framework"}),
    "jwt_middleware.integrations.flask": frozenset({"flask", "werkzeug"}),
    # The command line's mint client talks HTTP to the dev issuer.
    "jwt_middleware.cli.issuer": frozenset({"httpx2", "httpcore"}),
    "jwt_middleware.cli.mint_endpoint": frozenset({"httpx2", "httpcore"}),
    # Sign-in talks OAuth to the provider (Authlib's client over httpx2); its glue binds a framework.
    "jwt_middleware.signin.core": frozenset({"httpx2", "httpcore"}),
    "jwt_middleware.signin.starlette": frozenset({"starlette"}),
    # Outgoing calls are httpx2 Auth objects (the token cache and introspection load it on use).
    "jwt_middleware.oauth.client_credentials": frozenset({"httpx2", "httpcore"}),
    "jwt_middleware.oauth.forwarding": frozenset({"httpx2", "httpcore"}),
    # The MCP integration binds the mcp SDK, which loads Starlette, httpx2 and uvicorn.
    "jwt_middleware.integrations.mcp": frozenset({"starlette", "httpx2", "httpcore", "uvicorn"}),
    # The test kit's DPoP client is an httpx2.Auth; DPoPKey loads it only when .auth() is called.
    "jwt_middleware.testing.dpop_auth": frozenset({"httpx2", "httpcore"}),
    # A pytest plugin may load pytest, and nothing else (see test_pytest_plugin_is_light).
    "jwt_middleware.testing.pytest_plugin": frozenset({"pytest", "_pytest"}),
}

#: The issue's own list: these must stay light whatever else changes.
CORE = (
    "jwt_middleware",
    "jwt_middleware.algorithms",
    "jwt_middleware.authenticator",
    "jwt_middleware.b64",
    "jwt_middleware.bearer",
    "jwt_middleware.challenge",
    "jwt_middleware.claims",
    "jwt_middleware.cognito",
    "jwt_middleware.discovery",
    "jwt_middleware.errors",
    "jwt_middleware.events",
    "jwt_middleware.fetching",
    "jwt_middleware.jwk",
    "jwt_middleware.jwks_cache",
    "jwt_middleware.jwks_state",
    "jwt_middleware.jws",
    "jwt_middleware.keysource",
    "jwt_middleware.policy",
    "jwt_middleware.request_view",
    "jwt_middleware.safe_json",
    "jwt_middleware.token_cache",
    "jwt_middleware.verifier",
    "jwt_middleware.wsgi",
    "jwt_middleware.aws",
    "jwt_middleware.aws.gateway_authenticator",
    "jwt_middleware.integrations.aws_lambda",
    "jwt_middleware.oauth",
    "jwt_middleware.oauth.introspection",
    "jwt_middleware.oauth.token_source",
    "jwt_middleware.single_flight",
    "jwt_middleware.signing",
    "jwt_middleware.testing",
)

_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
heavy = {heavy!r}
print(json.dumps(sorted({{h for h in heavy for m in sys.modules if m == h or m.startswith(h + ".")}})))
"""


def _modules() -> list[str]:
    found = ["jwt_middleware"]
    found += [info.name for info in pkgutil.walk_packages(jwt_middleware.__path__, "jwt_middleware.")]
    return sorted(found)


def loaded_by(*modules: str) -> set[str]:
    """The heavy packages a fresh interpreter has loaded after importing ``modules``."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def test_the_core_modules_are_all_checked() -> None:
    modules = set(_modules())
    assert set(CORE) <= modules
    assert not set(CORE) & set(FRAMEWORK_BOUND)
    assert set(FRAMEWORK_BOUND) <= modules, "a FRAMEWORK_BOUND entry names a module that is gone"


@pytest.mark.parametrize("module", _modules())
def test_importing_a_module_loads_only_what_it_binds(module: str) -> None:
    allowed = FRAMEWORK_BOUND.get(module, frozenset())
    unexpected = loaded_by(module) - allowed
    assert not unexpected, (
        f"importing {module} loads {sorted(unexpected)}: import them where they are used "
        "(or under TYPE_CHECKING), or list the module in FRAMEWORK_BOUND if binding them is its job"
    )


def test_the_issues_acceptance_command() -> None:
    # Verbatim from issue 12.
    code = (
        "import sys, jwt_middleware, jwt_middleware.jws; "
        "assert 'starlette' not in sys.modules and 'httpx2' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_the_probe_sees_a_framework_when_one_is_loaded() -> None:
    # The checks above can fail: a top-level name that needs Starlette does load it.
    assert "starlette" in loaded_by("jwt_middleware.asgi")
    assert "httpx2" in loaded_by("jwt_middleware.cli.mint_endpoint")


_PLUGIN_PROBE = """
import json, sys
import pytest
before = set(sys.modules)
import jwt_middleware.testing.pytest_plugin
print(json.dumps(sorted(set(sys.modules) - before)))
"""

#: Our own modules the plugin needs to exist at all; each imports only the standard library.
PLUGIN_OWN = {
    "jwt_middleware",
    "jwt_middleware._lazy",
    "jwt_middleware._version",
    "jwt_middleware.testing",
    "jwt_middleware.testing.pytest_plugin",
}


def test_pytest_plugin_is_light() -> None:
    """Loading the plugin (done by every pytest run of every project that installs us) adds only the
    standard library and the plugin's own small modules; the fixtures import the rest when used."""
    result = subprocess.run(
        [sys.executable, "-c", _PLUGIN_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    added = set(json.loads(result.stdout))
    foreign = {name for name in added - PLUGIN_OWN if name.split(".")[0] not in sys.stdlib_module_names}
    assert not foreign, f"the pytest plugin loads {sorted(foreign)} on import"


def test_a_pytest_run_without_our_fixtures_loads_nothing_of_ours_beyond_the_plugin(tmp_path: Path) -> None:
    """Through the real ``pytest11`` entry point, as in a user's project."""
    (tmp_path / "test_user.py").write_text(
        "import sys\n"
        "def test_nothing_heavy():\n"
        "    loaded = {m.split('.')[0] for m in sys.modules}\n"
        "    assert not loaded & {'starlette', 'httpx2', 'cryptography'}, loaded\n"
        f"    assert {{m for m in sys.modules if m.startswith('jwt_middleware')}} <= {PLUGIN_OWN!r}\n"
        "    assert 'jwt_middleware.testing.pytest_plugin' in sys.modules\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_user.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
