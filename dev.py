"""Project runner behind the README's commands; needs nothing but Python 3.11.

    python3 dev.py demo    # the protected demo app against the built-in local issuer
    python3 dev.py test    # ruff, mypy --strict and the whole test suite
    python3 dev.py bench   # the benchmarks, with the peer libraries installed beside ours
    python3 dev.py mutate  # mutation testing of the safety-critical modules (slow; tests/MUTATION.md)

Each command creates (once) the virtual environment it needs inside the checkout and re-installs
only when the packaging files change, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent

ENVIRONMENTS = {
    # name: (folder, what pip installs into it)
    "dev": (ROOT / ".venv", ["-e", f"{ROOT}[all,dev]"]),
    "bench": (
        ROOT / ".venv-bench",
        ["-e", f"{ROOT}[all]", "-r", str(ROOT / "benchmarks" / "requirements.txt")],
    ),
    # The dev tools plus the pinned mutation tester (setup.cfg's "mutate" extra).
    "mutate": (ROOT / ".venv-mutate", ["-e", f"{ROOT}[all,dev,mutate]"]),
}


#: System programs the test suite drives, and the Debian package that provides each. The browser
#: tests use Debian's Chromium and its driver (selenium never downloads a browser of its own); the
#: revocation tests and benchmarks start their own Redis servers on free loopback ports.
SYSTEM_PROGRAMS = {
    "test": {
        "/usr/bin/chromium": "chromium",
        "/usr/bin/chromedriver": "chromium-driver",
        "/usr/bin/redis-server": "redis-server",
    },
    "bench": {
        "/usr/bin/redis-server": "redis-server",
    },
}


def _ensure_system_programs(command: str) -> bool:
    """Install the missing Debian packages ``command`` needs (apt, as root); else say what to run."""
    missing = sorted(
        {package for path, package in SYSTEM_PROGRAMS.get(command, {}).items() if not Path(path).exists()}
    )
    if not missing:
        return True
    install = ["apt-get", "install", "-y", "-q", *missing]
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"[dev] installing {' '.join(missing)} with apt-get (first run only)", file=sys.stderr)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt_get = shutil.which("apt-get") or "apt-get"
        updated = subprocess.run([apt_get, "update", "-q"], env=environment, check=False).returncode == 0
        if updated and subprocess.run(install, env=environment, check=False).returncode == 0:
            return True
    print(
        f"[dev] {command} needs {', '.join(missing)}. Install them, then run this again:\n"
        f"    sudo apt-get update && sudo {' '.join(install)}",
        file=sys.stderr,
    )
    return False


def _fingerprint(requirements: list[str]) -> str:
    digest = hashlib.sha256(" ".join(requirements).encode())
    for name in ("setup.cfg", "pyproject.toml", "benchmarks/requirements.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _python(environment: str) -> Path:
    """Return the interpreter of the named environment, creating or updating it when needed."""
    folder, requirements = ENVIRONMENTS[environment]
    python = folder / "bin" / "python"
    stamp = folder / ".installed"
    wanted = _fingerprint(requirements)
    if not python.exists():
        print(f"[dev] creating {folder.name} (first run only)", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"[dev] installing into {folder.name}", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip", "setuptools", "wheel"], check=True)
        subprocess.run([*pip, *requirements], check=True)
        stamp.write_text(wanted)
    return python


def _call(command: list[str]) -> int:
    """Run ``command`` to its end and return its exit status, as a shell would.

    Ctrl-C in a terminal interrupts the whole foreground process group: the command gets it too
    and decides how to end (the demo prints "stopped" and exits 0), so here it only means "keep
    waiting", never a traceback of our own.
    """
    process = subprocess.Popen(command)
    while True:
        try:
            status = process.wait()
        except KeyboardInterrupt:
            continue
        return status if status >= 0 else 128 - status  # killed by a signal: 128 + its number


def _mutate(python: Path, rest: list[str]) -> int:
    """``mutmut run`` (what to mutate and which tests: pyproject.toml's ``[tool.mutmut]``), then results.

    At low priority and on two workers, since the machines are shared; mutmut keeps its work in
    ``mutants/`` and resumes there. Arguments other than the default are passed to mutmut itself
    (``python3 dev.py mutate results``, ``... show NAME``, ``... run NAME``).
    """
    mutmut = ["nice", "-n", "10", str(python), "-m", "mutmut"]
    if rest:
        return _call([*mutmut, *rest])
    status = _call([*mutmut, "run", "--max-children", "2"])
    _call([*mutmut, "results"])
    return status


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "bench", "mutate"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "test":
        if not _ensure_system_programs(command):
            return 1
        python = _python("dev")
        return _call([str(python), "-m", "pytest", *rest])
    if command == "demo":
        python = _python("dev")
        return _call([str(python), "-m", "integrations.demo", *rest])
    if command == "mutate":
        return _mutate(_python("mutate"), rest)
    if not _ensure_system_programs(command):
        return 1
    python = _python("bench")
    return _call([str(python), "-m", "benchmarks", *rest])


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # while creating an environment: nothing half-done to report
        print("[dev] interrupted", file=sys.stderr)
        raise SystemExit(130) from None
