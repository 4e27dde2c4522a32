"""Project runner behind the README's commands; needs nothing but Python 3.11.

    python3 dev.py demo    # the protected demo app against the built-in local issuer
    python3 dev.py test    # ruff, mypy --strict and the whole test suite
    python3 dev.py bench   # the benchmarks, with the peer libraries installed beside ours

Each command creates (once) the virtual environment it needs inside the checkout and re-installs
only when the packaging files change, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
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
}


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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "bench"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "test":
        python = _python("dev")
        return subprocess.call([str(python), "-m", "pytest", *rest])
    if command == "demo":
        python = _python("dev")
        return subprocess.call([str(python), "-m", "integrations.demo", *rest])
    python = _python("bench")
    return subprocess.call([str(python), "-m", "benchmarks", *rest])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
