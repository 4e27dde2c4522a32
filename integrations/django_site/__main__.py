"""Serve the Django reference project on 127.0.0.1: ``python -m integrations.django_site``.

It starts a local issuer, points ``JWT_MIDDLEWARE`` at it through the environment and prints a
demo token (minted by that throwaway issuer) to try the views with. Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import os

from jwt_middleware.testing import LocalIssuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default: 8001)")
    options = parser.parse_args(argv)
    with LocalIssuer(audience="orders-api") as issuer:
        os.environ["JWT_ISSUER"] = issuer.issuer
        os.environ["JWT_AUDIENCE"] = "orders-api"
        os.environ["JWT_JWKS_URL"] = issuer.jwks_url
        from django.core.management import call_command

        from integrations.django_site import setup

        setup()
        token = issuer.mint(sub="alice", scope="orders:read")
        print(f"try: curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{options.port}/orders")
        call_command("runserver", f"127.0.0.1:{options.port}", use_reloader=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
