"""The distribution is ours: one name, the README installs only it, and a built wheel works.

The index name ``jwt-middleware`` belongs to an unrelated project (issue 12, section 1), so the
distribution is ``jwt-bearer-middleware`` while the import package stays ``jwt_middleware`` and the
command ``jwt-middleware``.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from jwt_middleware._version import DISTRIBUTION, __version__
from jwt_middleware.fetching import default_client_factory, fetch_json
from jwt_middleware.testing.server import LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "SECURITY.md")


def _setup_cfg() -> configparser.ConfigParser:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    return setup


EXTRAS = frozenset(_setup_cfg()["options.extras_require"])


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def test_the_distribution_name_is_one_constant_that_setup_cfg_repeats() -> None:
    assert _setup_cfg()["metadata"]["name"] == DISTRIBUTION
    assert _normalise(DISTRIBUTION) != "jwt-middleware"  # the unrelated project's name


# -- the README's install lines ------------------------------------------------------------------------

_PIP_INSTALL = re.compile(r"pip3? install (?P<arguments>[^`\n#]*)")
_REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[^\]]*)\])?(?P<version>.*)")
_LOCAL = re.compile(r"(?P<path>\.{1,2}(?:/[^\[]*)?|/[^\[]+)(?:\[(?P<extras>[^\]]*)\])?")
_FLAGS = frozenset({"-U", "--upgrade", "-q", "--quiet"})


def install_problems(text: str) -> list[str]:
    """What each ``pip install`` in ``text`` would install that is not this project."""
    problems = []
    for match in _PIP_INSTALL.finditer(text):
        words = shlex.split(match["arguments"])
        if not words:
            problems.append(f"nothing to install in {match[0]!r}")
        for word in words:
            if word in ("-e", "--editable") or word in _FLAGS:
                continue
            if word.startswith("-"):
                problems.append(f"{word}: an option that may install other projects ({match[0]!r})")
                continue
            local = _LOCAL.fullmatch(word)
            requirement = _REQUIREMENT.fullmatch(word)
            if local is not None:
                extras = local["extras"]
            elif requirement is not None and _normalise(requirement["name"]) == _normalise(DISTRIBUTION):
                extras = requirement["extras"]
            else:
                problems.append(f"{word}: not {DISTRIBUTION} nor a local path ({match[0]!r})")
                continue
            unknown = {extra.strip() for extra in (extras or "").split(",") if extra.strip()} - EXTRAS
            if unknown:
                problems.append(f"{word}: no such extra {sorted(unknown)}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_documents_install_only_this_project(document: str) -> None:
    assert install_problems((ROOT / document).read_text(encoding="utf-8")) == []


def test_the_readme_installs_from_a_checkout_and_names_the_distribution_for_later() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    arguments = [word for match in _PIP_INSTALL.finditer(text) for word in shlex.split(match["arguments"])]
    assert ".[fastapi]" in arguments
    assert f"{DISTRIBUTION}[fastapi]" in arguments


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ('pip install "jwt-middleware[fastapi]"', True),  # the unrelated project (issue 12)
        ("pip install jwt_middleware", True),
        ("pip install mangum", True),
        ("pip install -r requirements.txt", True),
        ('pip install ".[nosuchextra]"', True),
        ('pip install ".[fastapi]"', False),
        ("pip install -e .", False),
        ('pip install "jwt-bearer-middleware[django,drf]>=0.1"', False),
        ("pip install Jwt_Bearer.Middleware", False),
    ],
)
def test_the_check_tells_our_installs_from_others(line: str, flagged: bool) -> None:
    assert bool(install_problems(f"```sh\n{line}\n```")) is flagged


# -- the name on the wire ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fetches_introduce_themselves_by_the_distribution_name() -> None:
    seen: list[str] = []

    def answer(request: Request) -> Response:
        seen.append(request.headers.get("user-agent", ""))
        return Response.json({"keys": []})

    with LoopbackServer() as server:
        server.route("/jwks", answer)
        async with default_client_factory() as client:
            await fetch_json(client, server.url_for("/jwks"), timeout=10, max_bytes=10_000)
    assert seen == [f"{DISTRIBUTION}/{__version__}"]


# -- a wheel of the checkout, in a fresh environment, offline ----------------------------------------

_SMOKE = """
import importlib.metadata, sys
import jwt_middleware
from jwt_middleware import JWTAuthMiddleware
from jwt_middleware.integrations.fastapi import JWTBearer
assert jwt_middleware.__file__.startswith(sys.prefix), jwt_middleware.__file__
assert importlib.metadata.version({name!r}) == jwt_middleware.__version__
print(JWTAuthMiddleware.__module__, JWTBearer.__module__)
"""


@pytest.mark.slow
def test_a_wheel_of_the_checkout_works_in_a_fresh_environment(tmp_path: Path) -> None:
    """Build from only what packaging reads, install with no index and no dependencies into a new
    venv, and import from it; the dependencies come from this test environment (a path entry, not
    a site directory, so its editable install of the checkout stays out of the way)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "jwt_middleware", source / "jwt_middleware", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    wheels = tmp_path / "wheels"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith(f"{DISTRIBUTION.replace('-', '_')}-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert {"jwt_middleware/py.typed", "jwt_middleware/_version.py", "jwt_middleware/__init__.py"} <= names
    assert f"Name: {DISTRIBUTION}\n" in metadata
    assert all(f"Provides-Extra: {extra}\n" in metadata for extra in EXTRAS)
    assert "jwt-middleware = jwt_middleware.cli:main" in entry_points
    assert "jwt_middleware = jwt_middleware.testing.pytest_plugin" in entry_points

    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_packages) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    smoke = subprocess.run(
        [str(python), "-c", _SMOKE.format(name=DISTRIBUTION)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert smoke.returncode == 0, smoke.stderr
    assert smoke.stdout.split() == ["jwt_middleware.asgi", "jwt_middleware.integrations.fastapi"]
    version = subprocess.run(
        [str(environment / "bin" / "jwt-middleware"), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert version.stdout.startswith(f"jwt-middleware {__version__}"), version.stdout + version.stderr
