"""Serve the Flask reference app on 127.0.0.1: ``python -m integrations.flask_app``.

It starts a local issuer and prints a demo token (minted by that throwaway issuer) to try the
routes with. Everything stays on the loopback interface.
"""

from __future__ import annotations

import argparse

from integrations.flask_app import create_app
from jwt_middleware.testing import LocalIssuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8002, help="port on 127.0.0.1 (default: 8002)")
    options = parser.parse_args(argv)
    with LocalIssuer(audience="orders-api") as issuer:
        app = create_app(issuer.verifier())
        token = issuer.mint(sub="alice", scope="orders:read orders:admin")
        print(f"try: curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{options.port}/admin/stats")
        app.run(host="127.0.0.1", port=options.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
